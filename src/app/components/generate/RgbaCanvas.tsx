/** Draws an RGBA image on a canvas at its own resolution; CSS scales it up without smoothing. */
import { useEffect, useRef } from "react";
import type { RgbaImage } from "../../../core/generate";

export function toImageData(img: RgbaImage): ImageData {
  // Copy: ImageData needs a plain ArrayBuffer, and images from the worker may share one.
  return new ImageData(new Uint8ClampedArray(img.data), img.width, img.height);
}

export function RgbaCanvas({ image, label, testId }: { image: RgbaImage; label: string; testId?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    ref.current?.getContext("2d")?.putImageData(toImageData(image), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      className="rgba-canvas"
      width={image.width}
      height={image.height}
      role="img"
      aria-label={label}
      data-testid={testId}
    />
  );
}

/** Encodes an image as PNG and offers it as a download. */
export async function downloadPng(image: RgbaImage, fileName: string): Promise<void> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  canvas.getContext("2d")?.putImageData(toImageData(image), 0, 0);
  const url = URL.createObjectURL(await canvas.convertToBlob({ type: "image/png" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
