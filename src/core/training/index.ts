export * from "./adapter-file";
export * from "./log";
export * from "./loop";
export * from "./steps";
export * from "./weights";
