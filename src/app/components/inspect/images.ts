/** Image files → RGBA pixels in the page, and RGBA → a square canvas as the encoder sees it. */
import { checkImage, type RgbaImage } from "../../../core/generate/image";

/** Decodes a dropped or uploaded file; anything the browser cannot decode as an image is a clear error. */
export async function decodeImageFile(file: File): Promise<RgbaImage> {
  if (file.type && !file.type.startsWith("image/")) {
    throw new Error(`${file.name} is not an image (type ${file.type}); use a PNG, JPEG or WebP file`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch {
    throw new Error(`${file.name} is not an image this browser can decode; use a PNG, JPEG or WebP file`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas context");
    ctx.drawImage(bitmap, 0, 0);
    const image = {
      width: bitmap.width,
      height: bitmap.height,
      data: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data,
    };
    checkImage(image, file.name);
    return image;
  } finally {
    bitmap.close();
  }
}

/**
 * Draws `img` into a square canvas: fitted keeping its aspect ratio and centred on `background`,
 * the same placement `imageToTensor` gives the encoder, so patch grids line up with the pixels.
 */
export function drawFitted(canvas: HTMLCanvasElement, img: RgbaImage, background = "#fff"): void {
  const side = Math.max(img.width, img.height);
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, side, side);
  const tmp = new OffscreenCanvas(img.width, img.height);
  tmp.getContext("2d")?.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  ctx.drawImage(tmp, Math.floor((side - img.width) / 2), Math.floor((side - img.height) / 2));
}
