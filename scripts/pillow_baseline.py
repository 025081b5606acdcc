#!/usr/bin/env python3
"""The baselines of scripts/bench.sh's pixel ratios: what Pillow (libjpeg-turbo) does with the same
files, on every core (one process each, as synthmark uses every core).

  decode DIR            decode every image (Image.load)
  recode DIR OUT Q      decode and encode again as JPEG at quality Q, 4:2:0 (Pillow's default)

Prints the number of files done; the caller times the run.
"""
import os
import sys
from multiprocessing import Pool

from PIL import Image


def decode(path):
    with Image.open(path) as im:
        im.load()


def recode(job):
    path, out, quality = job
    with Image.open(path) as im:
        im.load()
        im.save(os.path.join(out, os.path.basename(path)), quality=quality)


def main():
    mode, folder = sys.argv[1], sys.argv[2]
    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder))
    with Pool(os.cpu_count()) as pool:
        if mode == "decode":
            pool.map(decode, paths, chunksize=8)
        elif mode == "recode":
            out, quality = sys.argv[3], int(sys.argv[4])
            os.makedirs(out, exist_ok=True)
            pool.map(recode, [(p, out, quality) for p in paths], chunksize=8)
        else:
            sys.exit(f"unknown mode {mode}")
    print(len(paths))


if __name__ == "__main__":
    main()
