export * from "./adapter-file";
export * from "./loop";
export * from "./losses";
export * from "./weights";
