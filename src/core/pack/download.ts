/** Streamed download with byte progress, so large pack files show progress as they arrive. */
import { PackError } from "./errors";

export interface DownloadOptions {
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Called as chunks arrive with bytes so far and the expected total (manifest or Content-Length). */
  onBytes?: (loaded: number, total: number) => void;
  expectedBytes?: number;
  /** Names the file in error messages, e.g. "denoiser.onnx (role denoiser)". */
  label: string;
}

export async function download(url: string, opts: DownloadOptions): Promise<Uint8Array> {
  return (await fetchBody(url, opts, false)) as Uint8Array;
}

/** As `download`, but a 404 is `undefined`: a file a folder may or may not have. */
export function downloadIfPresent(url: string, opts: DownloadOptions): Promise<Uint8Array | undefined> {
  return fetchBody(url, opts, true);
}

async function fetchBody(url: string, opts: DownloadOptions, optional: boolean): Promise<Uint8Array | undefined> {
  let response: Response;
  try {
    response = await opts.fetch(url, { signal: opts.signal });
  } catch (e) {
    opts.signal?.throwIfAborted();
    throw new PackError(`${opts.label}: download from ${url} failed (${(e as Error).message})`);
  }
  if (response.status === 404 && optional) return undefined;
  if (!response.ok) throw new PackError(`${opts.label}: download from ${url} failed with HTTP ${response.status}`);
  const total = opts.expectedBytes ?? Number(response.headers.get("content-length") ?? 0);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    opts.onBytes?.(bytes.length, total);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      opts.onBytes?.(loaded, total);
    }
  } catch (e) {
    opts.signal?.throwIfAborted();
    throw new PackError(`${opts.label}: download from ${url} was interrupted (${(e as Error).message})`);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}
