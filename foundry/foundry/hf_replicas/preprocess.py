"""transformers' (slow, PIL-based) image processors as they turn one PIL image into pixel_values,
for the keys these fixtures use (BitImageProcessor, ViTImageProcessor, CLIPImageProcessor,
SiglipImageProcessor share the steps):

1. do_convert_rgb: `image.convert("RGB")` unless already RGB. PIL drops the alpha channel and
   keeps the colour channels as stored (no compositing over any background). Without
   do_convert_rgb an RGBA image would reach normalize with 4 channels; that is refused here.
2. do_resize, with PIL's `Image.resize((w, h), resample, reducing_gap=None)` on the uint8 image
   (the result stays uint8):
   - size {"shortest_edge": s}: the short side becomes s, the long side int(s · long / short)
     (Python int(): truncation), as get_resize_output_image_size(default_to_square=False);
   - size {"height": h, "width": w}: exactly h × w.
3. do_center_crop, crop_size {"height": ch, "width": cw}: top = (H − ch) // 2, left = (W − cw) // 2
   (floor division), rows top … top + ch − 1, columns left … left + cw − 1. (transformers pads
   with zeros when the crop is larger than the image; that case is refused here.)
4. do_rescale: float64(uint8) · rescale_factor, then cast to float32.
5. do_normalize: (x − mean) / std in float32 (mean and std cast to float32), per channel.
6. HWC → CHW with a batch axis: float32 [1, 3, H, W]."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_output_size(height: int, width: int, size: dict) -> tuple[int, int]:
    """(new_height, new_width) for a processor's `size`."""
    if "shortest_edge" in size:
        s = size["shortest_edge"]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = s, int(s * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)
    return size["height"], size["width"]


def center_crop_box(height: int, width: int, crop: dict) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of transformers' center_crop."""
    ch, cw = crop["height"], crop["width"]
    if ch > height or cw > width:
        raise ValueError(f"crop {ch}×{cw} larger than the image {height}×{width} (transformers would zero-pad)")
    top, left = (height - ch) // 2, (width - cw) // 2
    return top, left, top + ch, left + cw


def preprocess(image: Image.Image, proc: dict) -> np.ndarray:
    """pixel_values float32 [1, 3, H, W] for one image under preprocessor_config.json `proc`."""
    if image.mode != "RGB":
        if not proc.get("do_convert_rgb"):
            raise ValueError(f"a {image.mode} image without do_convert_rgb")
        image = image.convert("RGB")
    if proc.get("do_resize"):
        h, w = resize_output_size(image.height, image.width, proc["size"])
        image = image.resize((w, h), resample=proc["resample"], reducing_gap=None)
    x = np.array(image)
    if proc.get("do_center_crop"):
        top, left, bottom, right = center_crop_box(x.shape[0], x.shape[1], proc["crop_size"])
        x = x[top:bottom, left:right]
    if proc.get("do_rescale"):
        x = (x.astype(np.float64) * proc["rescale_factor"]).astype(np.float32)
    else:
        x = x.astype(np.float32)
    if proc.get("do_normalize"):
        x = (x - np.array(proc["image_mean"], np.float32)) / np.array(proc["image_std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
