/** Saves bytes the studio made (exports, adapters, encoders) as a file download. */
export function download(data: Blob | Uint8Array | ArrayBuffer, name: string, type = "application/octet-stream"): void {
  const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
