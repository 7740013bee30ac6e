export * from "./cache";
export * from "./download";
export * from "./errors";
export * from "./hash";
export * from "./manifest";
export * from "./signature";
export * from "./stage";
export * from "./store";
