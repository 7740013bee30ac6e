/**
 * `quality`: the WGSL patch-quality kernel against the CPU reference on 64 pairs of 8×8×64
 * features, both in headless Chromium (the studio's WebGPU adapter), served by a Vite dev server
 * so the kernel modules load unbundled. `hover_latency_ms` and the estimator AUROCs need the
 * Inspect tab and the EmojiBench estimator check, which are not built yet.
 */
import { createServer } from "vite";
import type { Scenario } from "../harness";

export const quality: Scenario = {
  description: "WGSL patch-quality kernel vs the CPU reference (64 pairs, 8×8 patches, 64 dims)",
  async run(h) {
    const server = await createServer({ logLevel: "warn", server: { port: 0, strictPort: false } });
    try {
      await server.listen();
      const url = server.resolvedUrls?.local[0];
      if (!url) throw new Error("the Vite dev server did not report a URL");
      const page = await h.freshPage();
      // Any same-origin document will do; the bench module itself avoids booting the studio.
      await page.goto(`${url}src/gpu/kernels/quality.bench.ts`);
      const result = await page.evaluate(
        async ([contextPath, benchPath]) => {
          const { GpuContext } = await import(/* @vite-ignore */ contextPath);
          const { benchQualityKernel } = await import(/* @vite-ignore */ benchPath);
          const ctx = await GpuContext.create(navigator.gpu);
          try {
            return { metrics: await benchQualityKernel(ctx), adapter: ctx.adapter.name as string };
          } finally {
            ctx.destroy();
          }
        },
        ["/src/gpu/context.ts", "/src/gpu/kernels/quality.bench.ts"],
      );
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      await page.context().close();
      return { metrics: result.metrics, env: { backend: "webgpu", adapter: result.adapter, cores } };
    } finally {
      await server.close();
    }
  },
};
