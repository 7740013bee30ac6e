export * from "./arch";
export * from "./denoiser";
export * from "./ops";
export * from "./optim";
export * from "./trainer";
