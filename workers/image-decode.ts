/**
 * Decodes an image file (PNG, JPEG, WebP, GIF, BMP…) to straight-alpha RGBA with the browser's own
 * decoders, in a worker (createImageBitmap + OffscreenCanvas). Not for Node.
 */
import { checkImage, MAX_IMAGE_SIDE, type RgbaImage } from "../src/core/generate";

/** Files above this are refused before decoding; a 8192² PNG of a photo is well below it. */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

export async function decodeImageBlob(blob: Blob, name: string): Promise<RgbaImage> {
  if (blob.size === 0) throw new Error(`${name}: the file is empty`);
  if (blob.size > MAX_IMAGE_BYTES) {
    throw new Error(`${name}: the file is ${(blob.size / 2 ** 20).toFixed(0)} MB; the largest accepted is 64 MB`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch {
    throw new Error(
      `${name}: not an image this browser can decode${blob.type ? ` (type ${blob.type})` : ""}; use PNG, JPEG or WebP`,
    );
  }
  try {
    const { width, height } = bitmap;
    if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
      throw new Error(`${name}: image is ${width}×${height}; the largest accepted side is ${MAX_IMAGE_SIDE} px`);
    }
    const ctx = new OffscreenCanvas(width, height).getContext("2d");
    if (!ctx) throw new Error("OffscreenCanvas 2D context is unavailable");
    ctx.drawImage(bitmap, 0, 0);
    const image = { width, height, data: ctx.getImageData(0, 0, width, height).data };
    checkImage(image, name);
    return image;
  } finally {
    bitmap.close();
  }
}
