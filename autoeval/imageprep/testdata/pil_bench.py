#!/usr/bin/env python3
"""Times PIL on one image the way CLIPImageProcessor uses it, for
BenchmarkPIL640x480JPEG: decode + convert("RGB") + bicubic resize of the
shortest side to 224 + centre crop 224 + rescale/normalise to float32 CHW.
Prints JSON with milliseconds per image: process CPU time (PIL and these
numpy operations run on one thread), best of 5 repeats.
"""
import io
import json
import sys
import time
import timeit

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def decode(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def full(data):
    im = decode(data)
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    nl = int(224 * long / short)
    size = (224, nl) if w <= h else (nl, 224)
    im = im.resize(size, resample=Image.BICUBIC)
    left, top = (size[0] - 224) // 2, (size[1] - 224) // 2
    u = np.asarray(im.crop((left, top, left + 224, top + 224)))
    x = (u.astype(np.float64) * (1 / 255)).astype(np.float32)
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def best_ms(fn, data, number):
    times = timeit.repeat(lambda: fn(data), number=number, repeat=5, timer=time.process_time)
    return min(times) / number * 1e3


def main():
    data = open(sys.argv[1], "rb").read()
    number = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    out = {
        "pil": Image.__version__,
        "decode_ms": best_ms(decode, data, number),
        "full_ms": best_ms(full, data, number),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
