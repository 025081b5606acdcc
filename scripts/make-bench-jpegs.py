#!/usr/bin/env python3
"""COUNT 1-megapixel JPEGs (1152×864, Pillow q90, 4:2:0: the default of Pillow, libjpeg and most
generators) of shifted random texture, for the speed-vs scripts.

Usage: scripts/make-bench-jpegs.py OUT COUNT   (needs Pillow and numpy)
"""
import os
import sys

import numpy as np
from PIL import Image

out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = np.random.default_rng(7)
base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
for i in range(count):
    tile = np.roll(base, i, axis=(0, 1))
    im = Image.fromarray(tile).resize((1152, 864), Image.BICUBIC)
    im.save(os.path.join(out, f"img{i:05d}.jpg"), quality=90)
