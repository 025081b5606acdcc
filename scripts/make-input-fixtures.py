#!/usr/bin/env python3
"""Writes tests/fixtures/inputs/: one synthetic "render" saved the way providers hand files over,
by the tools they use -- Pillow (libjpeg-turbo, libpng, libwebp, libtiff) and libjpeg's own
cjpeg -- in every JPEG subsampling, baseline and progressive, non-interleaved and with restart
markers, plus PNG (8/16-bit, alpha), WebP (lossy, lossless) and TIFF.

The picture has what real renders have and what trips a watermark: a smooth sky gradient, a soft
glow, saturated colour edges (chroma placement matters in 4:2:0) and fine texture.

Usage: scripts/make-input-fixtures.py [OUT_DIR]   (needs Pillow, numpy and cjpeg)
"""
import io
import os
import subprocess
import sys

import numpy as np
from PIL import Image

W, H = 512, 384


def render(w=W, h=H, seed=7):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    # Sky: a smooth vertical gradient with a soft sun glow.
    t = y / h
    img[..., 0] = 70 + 120 * t
    img[..., 1] = 120 + 90 * t
    img[..., 2] = 220 - 40 * t
    glow = np.exp(-(((x - 0.7 * w) ** 2 + (y - 0.25 * h) ** 2) / (2 * (0.12 * w) ** 2)))
    img += glow[..., None] * np.array([120, 90, 10])
    # Ground: textured band in the lower 45 %.
    ground = y > 0.55 * h + 12 * np.sin(x / 37.0)
    tex = 18 * np.sin(x / 3.1 + np.sin(y / 5.3)) + 14 * np.cos(y / 2.3) + rng.normal(0, 6, (h, w))
    for c, base in enumerate((90, 110, 50)):
        img[..., c] = np.where(ground, base + tex, img[..., c])
    # Saturated shapes with sharp edges.
    disk = (x - 0.25 * w) ** 2 + (y - 0.7 * h) ** 2 < (0.1 * h) ** 2
    img[disk] = [220, 20, 30]
    square = (abs(x - 0.55 * w) < 0.08 * w) & (abs(y - 0.75 * h) < 0.08 * h)
    img[square] = [20, 40, 230]
    return np.clip(img, 0, 255)


def save(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def pillow(image, fmt, **kwargs):
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def cjpeg(image, *args):
    ppm = pillow(image, "PPM")
    return subprocess.run(["cjpeg", *args], input=ppm, capture_output=True, check=True).stdout


def multi_picture(rgb):
    preview = rgb.resize((W // 2, H // 2), Image.LANCZOS)
    return pillow(rgb, "MPO", quality=92, save_all=True, append_images=[preview])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fixtures", "inputs")
    os.makedirs(out, exist_ok=True)
    rgb = Image.fromarray(render().astype(np.uint8))
    odd = Image.fromarray(render(W - 3, H - 5).astype(np.uint8))

    # JPEG by Pillow: subsampling 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 (the default).
    save(out, "pillow-420-q95.jpg", pillow(rgb, "JPEG", quality=95))
    save(out, "pillow-422-q90.jpg", pillow(rgb, "JPEG", quality=90, subsampling=1))
    save(out, "pillow-444-q95.jpg", pillow(rgb, "JPEG", quality=95, subsampling=0))
    save(out, "pillow-420-progressive.jpg", pillow(rgb, "JPEG", quality=92, progressive=True))
    save(out, "pillow-420-odd-size.jpg", pillow(odd, "JPEG", quality=95))
    save(out, "pillow-gray.jpg", pillow(rgb.convert("L"), "JPEG", quality=95))
    # JPEG by libjpeg's cjpeg: one scan per component (non-interleaved), restart markers,
    # progressive 4:2:0.
    scans = os.path.join(out, ".scans.txt")
    with open(scans, "w") as f:
        f.write("0;\n1;\n2;\n")
    try:
        save(out, "cjpeg-420-non-interleaved.jpg", cjpeg(rgb, "-quality", "95", "-scans", scans))
    finally:
        os.remove(scans)
    save(out, "cjpeg-420-restart.jpg", cjpeg(rgb, "-quality", "90", "-restart", "1"))
    save(out, "cjpeg-420-progressive.jpg", cjpeg(rgb, "-quality", "90", "-progressive"))
    save(out, "cjpeg-422.jpg", cjpeg(rgb, "-quality", "95", "-sample", "2x1"))
    # A camera's Multi-Picture file (CIPA DC-007): the primary image, an APP2 "MPF" index, and
    # a second JPEG (a preview) after the primary image's end of image.
    save(out, "pillow-mpo-preview.jpg", multi_picture(rgb))

    # PNG, WebP, TIFF by Pillow.
    save(out, "pillow-rgb.png", pillow(rgb, "PNG"))
    rgba = rgb.copy()
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, : W // 4] = 160
    rgba.putalpha(Image.fromarray(alpha))
    save(out, "pillow-rgba.png", pillow(rgba, "PNG"))
    deep = Image.fromarray((render().astype(np.uint16) * 257)[..., 1].astype(np.uint16))
    save(out, "pillow-gray16.png", pillow(deep, "PNG"))
    save(out, "pillow-lossy.webp", pillow(rgb, "WEBP", quality=90))
    save(out, "pillow-lossless.webp", pillow(rgb, "WEBP", lossless=True))
    save(out, "pillow.tif", pillow(rgb.resize((352, 264), Image.LANCZOS), "TIFF"))


if __name__ == "__main__":
    main()
