export * from "./arch";
export * from "./denoiser";
export * from "./objectives";
export * from "./ops";
export * from "./optim";
export * from "./trainer";
