/**
 * How the tests and benchmarks launch Chromium: Debian's /usr/bin/chromium (never a downloaded
 * browser), headless, with WebGPU enabled. On machines without a GPU these flags give
 * navigator.gpu a SwiftShader adapter ("google swiftshader"); no Vulkan or ANGLE flag is needed.
 */
import type { LaunchOptions } from "@playwright/test";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update"],
};
