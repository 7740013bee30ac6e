/**
 * Shared pieces for benchmark scenarios: the production build served by Vite's preview server
 * and Debian's headless Chromium, both started on first use and closed at the end, and pages of a
 * Vite dev server for modules that must load unbundled.
 */
import { type Browser, chromium, type Page } from "@playwright/test";
import { build, createServer, type PreviewServer, preview } from "vite";
import { chromiumLaunchOptions } from "../e2e/chromium";

export interface BenchEnv {
  backend: string;
  adapter: string;
  cores: number;
  /** Why "auto" chose `backend`, when the studio ran with "auto". */
  auto_reason?: string;
}

export interface BenchResult {
  scenario: string;
  metrics: Record<string, unknown>;
  env: BenchEnv;
}

export interface Scenario {
  description: string;
  run(h: Harness): Promise<Omit<BenchResult, "scenario">>;
}

export class Harness {
  private server?: PreviewServer;
  private browser?: Browser;

  /** Base URL of the freshly built studio (built into `dist/`, or `$BENCH_OUT_DIR` when set). */
  async studioUrl(): Promise<string> {
    if (!this.server) {
      const outDir = process.env.BENCH_OUT_DIR || "dist";
      await build({ logLevel: "warn", build: { outDir, emptyOutDir: true } });
      this.server = await preview({ logLevel: "warn", build: { outDir }, preview: { port: 0, strictPort: false } });
    }
    const url = this.server.resolvedUrls?.local[0];
    if (!url) throw new Error("the preview server did not report a URL");
    return url;
  }

  async chromium(): Promise<Browser> {
    this.browser ??= await chromium.launch(chromiumLaunchOptions);
    return this.browser;
  }

  /** A page in a fresh browser context, so IndexedDB and localStorage start empty. */
  async freshPage(): Promise<Page> {
    const context = await (await this.chromium()).newContext();
    return context.newPage();
  }

  /**
   * Runs `fn` on a fresh page at `path` of a Vite dev server, where source modules load unbundled
   * by URL (the in-browser GPU benchmarks); the page and the server close afterwards.
   */
  async devServerPage<T>(path: string, fn: (page: Page) => Promise<T>): Promise<T> {
    const server = await createServer({ logLevel: "warn", server: { port: 0, strictPort: false } });
    try {
      await server.listen();
      const url = server.resolvedUrls?.local[0];
      if (!url) throw new Error("the Vite dev server did not report a URL");
      const page = await this.freshPage();
      try {
        await page.goto(`${url}${path}`);
        return await fn(page);
      } finally {
        await page.context().close();
      }
    } finally {
      await server.close();
    }
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.server?.close();
  }
}

/** The compute environment the studio's header reports. */
export async function studioEnv(page: Page): Promise<BenchEnv> {
  const header = page.locator(".backend[data-provider]");
  await header.waitFor();
  return {
    backend: (await header.getAttribute("data-provider")) ?? "unknown",
    adapter: (await header.getAttribute("data-adapter")) ?? "none",
    cores: Number(await header.getAttribute("data-cores")),
    ...(await autoReason(page)),
  };
}

async function autoReason(page: Page): Promise<{ auto_reason?: string }> {
  const reason = page.getByTestId("auto-reason");
  if (!(await reason.count())) return {};
  return { auto_reason: (await reason.textContent())?.trim().replace(/^\(auto: (.*)\)$/, "$1") };
}
