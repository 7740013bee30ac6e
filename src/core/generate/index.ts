export * from "./image";
export * from "./pipeline";
export * from "./prompt";
