/**
 * Node side of the tfjs comparison: runs bench/peer/tfjs-step.bench.ts in a page of the Vite dev
 * server (see Harness.devServerPage), with tfjs-backend-wasm's .wasm files served from
 * node_modules by the dev server itself.
 */
import type { Page } from "@playwright/test";
import type { PeerBenchOptions, PeerBenchResult } from "./tfjs-step.bench";

export async function peerInPage(
  page: Page,
  pack: string,
  options: Omit<PeerBenchOptions, "readPackFile" | "wasmPaths"> = {},
): Promise<PeerBenchResult> {
  // tsx compiles the callback below with esbuild's keepNames, which calls a `__name` helper.
  await page.evaluate("globalThis.__name = (f) => f");
  return page.evaluate(
    async ([packId, contextPath, peerPath, opts]) => {
      const { GpuContext } = await import(/* @vite-ignore */ contextPath);
      const { benchTfjsPeer } = await import(/* @vite-ignore */ peerPath);
      const ctx = await GpuContext.create(navigator.gpu);
      try {
        return await benchTfjsPeer(ctx, {
          ...opts,
          wasmPaths: "/node_modules/@tensorflow/tfjs-backend-wasm/dist/",
          readPackFile: async (name: string) =>
            new Uint8Array(await (await fetch(`/models/${packId}/${name}`)).arrayBuffer()),
        });
      } finally {
        ctx.destroy();
      }
    },
    [pack, "/src/gpu/context.ts", "/bench/peer/tfjs-step.bench.ts", options] as const,
  );
}
