export * from "./losses";
