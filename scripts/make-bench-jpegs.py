#!/usr/bin/env python3
"""COUNT 1-megapixel JPEGs (1152×864, Pillow q90, 4:2:0: the default of Pillow, libjpeg and most
generators), for the benchmarks and the speed-vs scripts.

With the dev corpus beside the checkout (../shared/corpus, or CORPUS=DIR), every file is a real
photo or generator output from it: image i is a crop of corpus image i mod N at a seeded offset
and scale, resized to 1 MP, without the source's metadata. Without a corpus, shifted random
texture is used instead (and the script says so): JPEG decoding and the pixel layers cost more
on real content, so figures from the two are not comparable.

Usage: scripts/make-bench-jpegs.py OUT COUNT   (needs Pillow and numpy)
"""
import os
import sys

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 1152, 864

out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
here = os.path.dirname(os.path.abspath(__file__))
corpus = os.environ.get("CORPUS", os.path.join(here, "..", "..", "shared", "corpus"))


def corpus_images():
    """Corpus images Pillow decodes whose short side is at least 512, as RGB."""
    found = []
    for root, _, names in sorted(os.walk(corpus)):
        for name in sorted(names):
            if name.rsplit(".", 1)[-1].lower() not in ("jpg", "jpeg", "png", "webp", "tif", "tiff"):
                continue
            try:
                with Image.open(os.path.join(root, name)) as im:
                    if min(im.size) < 512:
                        continue
                    found.append(im.convert("RGB"))
            except Exception:  # a tampered or unsupported corpus file: not a bench input
                continue
    return found


rng = np.random.default_rng(7)
sources = corpus_images() if os.path.isdir(corpus) else []
if sources:
    print(f"make-bench-jpegs: {count} crops of {len(sources)} real corpus images", file=sys.stderr)
    for i in range(count):
        src = sources[i % len(sources)]
        w, h = src.size
        # A crop of 70–100 % of the largest 4:3 window, at a seeded position.
        side = min(w / WIDTH, h / HEIGHT) * rng.uniform(0.7, 1.0)
        cw, ch = int(WIDTH * side), int(HEIGHT * side)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        im = src.crop((x, y, x + cw, y + ch)).resize((WIDTH, HEIGHT), Image.LANCZOS)
        im.save(os.path.join(out, f"img{i:05d}.jpg"), quality=90)
else:
    print(f"make-bench-jpegs: no corpus at {corpus}; {count} files of random texture", file=sys.stderr)
    base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for i in range(count):
        tile = np.roll(base, i, axis=(0, 1))
        im = Image.fromarray(tile).resize((WIDTH, HEIGHT), Image.BICUBIC)
        im.save(os.path.join(out, f"img{i:05d}.jpg"), quality=90)
