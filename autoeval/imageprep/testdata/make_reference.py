#!/usr/bin/env python3
"""Reference tensors for the imageprep tests, computed with PIL and numpy.

It reproduces Hugging Face CLIPImageProcessor.preprocess (ViT-B/32 settings)
step by step: convert("RGB") -> resize shortest edge 224 with PIL BICUBIC ->
centre crop 224 -> float64 * (1/255) -> float32 -> (x - mean) / std in
float32. Run it from this folder after `go test -run TestGenerateTestImages
-update`; it also writes the inputs that Go cannot encode (WebP, CMYK and
grey JPEG, progressive 4:4:4 JPEG).

Outputs, kept small and lossless:
  refs/<image>.png  the 224x224 uint8 crop, the last integer step;
  refs/<variant>/<image>.png  the same for the VARIANTS configs;
  lut.bin           float32 little-endian [3][256], the normalised value of
                    each byte per channel.
The script checks that the float32 tensor equals lut[channel][crop] element
for element, so lut + crop is the reference tensor, bit for bit.
"""
import os
import sys

import numpy as np
from PIL import Image

SHORTEST_EDGE = 224
CROP = (224, 224)
RESCALE = 1 / 255
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def derive_inputs():
    """Inputs written by PIL because Go has no encoder for them."""
    im = Image.open("images/png_rgb_300x300.png").convert("RGB")
    im.save("images/webp_lossy_300x300.webp", quality=80, method=4)
    im.save("images/webp_lossless_300x300.webp", lossless=True)
    im.save("images/jpeg_prog444_300x300.jpg", quality=90, subsampling=0, progressive=True)
    rgba = Image.open("images/png_rgba_320x240.png")
    rgba.save("images/webp_rgba_lossy_320x240.webp", quality=80, method=4)
    Image.open("images/png_rgb_225x400.png").convert("CMYK").save("images/jpeg_cmyk_225x400.jpg", quality=90)
    Image.open("images/png_grey_333x250.png").save("images/jpeg_grey_333x250.jpg", quality=90)
    # The same CMYK file without its Adobe APP14 segment: PIL still reads it
    # as inverted CMYK.
    data = open("images/jpeg_cmyk_225x400.jpg", "rb").read()
    i = data.index(b"\xff\xee")
    n = int.from_bytes(data[i + 2:i + 4], "big")
    open("images/jpeg_cmyk_noadobe_225x400.jpg", "wb").write(data[:i] + data[i + 2 + n:])


# Other preprocessor configs, on a few images: a crop larger than the resized
# image along one axis (zero padding) and an exact (height, width) resize.
VARIANTS = {
    "pad": {"size": {"shortest_edge": 160}, "crop": (192, 144),
            "images": ["png_rgb_300x300.png", "jpeg_480x640.jpg", "png_rgb_100x50.png"]},
    "exact": {"size": {"height": 200, "width": 150}, "crop": (128, 128),
              "images": ["png_rgb_300x300.png", "jpeg_1000x300.jpg"]},
}


def hf_output_size(w, h, size=None):
    # get_resize_output_image_size(default_to_square=False): (height, width)
    size = size or {"shortest_edge": SHORTEST_EDGE}
    if "height" in size:
        return size["height"], size["width"]
    edge = size["shortest_edge"]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = edge, int(edge * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def center_crop(arr, ch, cw):
    # transformers.image_transforms.center_crop, channels last.
    h, w = arr.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0 and top + ch <= h and left + cw <= w:
        return arr[top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    padded = np.zeros((nh, nw) + arr.shape[2:], dtype=arr.dtype)
    tp, lp = -(-(nh - h) // 2), -(-(nw - w) // 2)
    padded[tp:tp + h, lp:lp + w] = arr
    top, left = top + tp, left + lp
    return padded[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]


def normalize(u):
    x = (u.astype(np.float64) * RESCALE).astype(np.float32)
    mean = np.array(MEAN, dtype=np.float32)
    std = np.array(STD, dtype=np.float32)
    return (x - mean) / std


def reference(path, size=None, crop=CROP):
    im = Image.open(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    arr = np.array(im)
    h, w = arr.shape[:2]
    nh, nw = hf_output_size(w, h, size)
    resized = np.array(Image.fromarray(arr).resize((nw, nh), resample=Image.BICUBIC, reducing_gap=None))
    u = center_crop(resized, *crop)
    return u, normalize(u)


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    derive_inputs()
    lut = np.stack([normalize(np.arange(256, dtype=np.uint8).reshape(256, 1).repeat(3, 1))[:, c] for c in range(3)])
    lut.astype("<f4").tofile("lut.bin")
    os.makedirs("refs", exist_ok=True)
    for name in sorted(os.listdir("images")):
        u, t = reference(os.path.join("images", name))
        for c in range(3):
            assert np.array_equal(t[..., c], lut[c][u[..., c]]), name
        Image.fromarray(u).save(os.path.join("refs", name + ".png"), optimize=True)
        print(name, u.shape, file=sys.stderr)
    for vname, v in VARIANTS.items():
        os.makedirs(os.path.join("refs", vname), exist_ok=True)
        for name in v["images"]:
            u, t = reference(os.path.join("images", name), v["size"], v["crop"])
            for c in range(3):
                assert np.array_equal(t[..., c], lut[c][u[..., c]]), name
            Image.fromarray(u).save(os.path.join("refs", vname, name + ".png"), optimize=True)
            print(vname, name, u.shape, file=sys.stderr)


if __name__ == "__main__":
    main()
