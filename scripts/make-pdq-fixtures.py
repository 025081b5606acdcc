#!/usr/bin/env python3
"""Regenerates tests/fixtures/pdq/expected.tsv: PDQ hashes and quality scores of the project's
own images computed by Meta's reference implementation (the C++ in ThreatExchange, through the
PyPI `pdqhash` binding, 0.2.8), and the eight dihedral hashes.

The TSV is committed, so the Rust tests never need Python. To regenerate:

    python3 -m venv ~/.cache/synthmark-pdq
    ~/.cache/synthmark-pdq/bin/pip install numpy cython setuptools wheel pillow
    # PyPI has only a source distribution for Linux; it builds with g++ in a few seconds.
    ~/.cache/synthmark-pdq/bin/pip install --no-build-isolation pdqhash==0.2.8
    ~/.cache/synthmark-pdq/bin/python scripts/make-pdq-fixtures.py

Images: the lossless samples and the invisible-watermark fixtures (PNG, so both decoders see the
same pixels), plus one JPEG (decoders may differ by one level per sample; the test allows a few
bits there). Columns: file, quality, original hash, then the seven variants in the reference's
order (rotate 90, rotate 180, rotate 270, flip x, flip y, flip +1, flip -1), 64 hex digits each.
"""

import os
import sys

import numpy as np
import pdqhash
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = [
    "samples/portrait.png",
    "samples/icon.gif",
    "samples/scan.tiff",
    "samples/landscape.jpg",
    "tests/fixtures/imwatermark/sd1.png",
    "tests/fixtures/imwatermark/sdxl-diffusers.png",
    "tests/fixtures/imwatermark/random-dwtdct.png",
]


def to_hex(bits):
    """The reference's 64-hex-digit form: the binding returns bit 255 first."""
    return "%064x" % int("".join(str(int(b)) for b in bits), 2)


def main():
    out_dir = os.path.join(ROOT, "tests", "fixtures", "pdq")
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for relative in IMAGES:
        image = np.asarray(Image.open(os.path.join(ROOT, relative)).convert("RGB"))
        bits, quality = pdqhash.compute(image)
        dihedral, dihedral_quality = pdqhash.compute_dihedral(image)
        assert dihedral_quality == quality
        assert to_hex(dihedral[0]) == to_hex(bits)
        row = [relative, str(quality), to_hex(bits)] + [to_hex(v) for v in dihedral[1:]]
        lines.append("\t".join(row))
        print(relative, quality, to_hex(bits))
    with open(os.path.join(out_dir, "expected.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
