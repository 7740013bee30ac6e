export * from "./adapter-file";
export * from "./loop";
export * from "./steps";
export * from "./weights";
