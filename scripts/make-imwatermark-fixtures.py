#!/usr/bin/env python3
"""Regenerates tests/fixtures/imwatermark/: images marked by the reference `invisible-watermark`
package (PyPI invisible-watermark==0.2.0, module `imwatermark`) the way each generator's reference
code calls it, plus the bits the reference decoder reads from every fixture.

The fixtures are committed, so the Rust tests never need Python. To regenerate:

    python3 -m venv ~/.cache/synthmark-imwm
    ~/.cache/synthmark-imwm/bin/pip install --no-deps invisible-watermark==0.2.0
    ~/.cache/synthmark-imwm/bin/pip install opencv-python-headless PyWavelets numpy Pillow
    ~/.cache/synthmark-imwm/bin/python scripts/make-imwatermark-fixtures.py

`imwatermark/__init__.py` imports torch for its RivaGAN model, which the DWT methods never use;
this script puts a one-line stand-in `torch` module on the path instead of installing torch.

The pipelines simulated (see ../shared/docs/watermark.md §2.4):
- SD 1.x / 2.x `scripts/txt2img.py`: uint8 RGB -> cv2 BGR -> encode('dwtDct') -> RGB, PNG.
- SDXL in diffusers (`StableDiffusionXLWatermarker`): float32 RGB in 0..255 passed as if BGR,
  clamped and rounded to uint8, PNG.
- SDXL in generative-models (`sgm/inference/helpers.py`): float32 BGR, truncated to uint8, PNG.
- FLUX.1 reference (`src/flux/util.py`, `cli.py`): float32 BGR, 46 bits, truncated to uint8, JPEG
  q95 with 4:4:4 chroma.
- Two plain fixtures with a random 64-bit message, one per method (dwtDct and dwtDctSvd), for
  bit-exactness of the decoder.
"""

import json
import os
import sys
import tempfile

import numpy as np

# The stand-in torch module (imwatermark imports it for RivaGAN only).
STUB_DIR = tempfile.mkdtemp(prefix="torch-stub-")
with open(os.path.join(STUB_DIR, "torch.py"), "w") as f:
    f.write("# stand-in: imwatermark imports torch for RivaGAN only\n")
sys.path.insert(0, STUB_DIR)

import cv2  # noqa: E402
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402
from PIL import Image  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "imwatermark")
SIZE = 384

SDXL = 0b101100111110110010010000011110111011000110011110
FLUX = 0b001010101111111010000111100111001111010100101110


def bits_of(value):
    """The generators' own conversion: `bin(x)[2:]`, which drops leading zeros (FLUX: 46 bits)."""
    return [int(b) for b in bin(value)[2:]]


def content(seed):
    """A busy, natural-looking RGB test picture (seeded 1/f noise over a few coloured shapes)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    fy = np.fft.fftfreq(SIZE)[:, None]
    fx = np.fft.fftfreq(SIZE)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    img = np.zeros((SIZE, SIZE, 3))
    for c in range(3):
        spectrum = (rng.normal(size=(SIZE, SIZE)) + 1j * rng.normal(size=(SIZE, SIZE))) / f**1.1
        noise = np.real(np.fft.ifft2(spectrum))
        noise = (noise - noise.mean()) / noise.std()
        img[:, :, c] = 120 + 40 * noise
    for _ in range(6):
        cy, cx, r = rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(30, 90)
        colour = rng.uniform(40, 220, size=3)
        inside = (y - cy) ** 2 + (x - cx) ** 2 < r * r
        img[inside] = 0.5 * img[inside] + 0.5 * colour
    img[:, :, 2] += 0.15 * (SIZE - y)  # a bluish sky towards the top
    return np.clip(img, 0, 255).round().astype(np.uint8)


def encoder(kind, value):
    enc = WatermarkEncoder()
    enc.set_watermark(kind, value)
    return enc


def sd_txt2img(rgb, message):
    """SD 1.x/2.x `put_watermark`."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    bgr = encoder("bytes", message).encode(bgr, "dwtDct")
    return bgr[:, :, ::-1].copy()


def diffusers_sdxl(rgb):
    """diffusers: float RGB in 0..255 handed over as if it were BGR; clamp; round to uint8."""
    image = rgb.astype(np.float32)
    image = encoder("bits", bits_of(SDXL)).encode(image, "dwtDct")
    image = np.clip(image / 255.0, 0.0, 1.0)
    return (image * 255).round().astype(np.uint8)


def float_bgr(rgb, message_bits):
    """generative-models and FLUX: float BGR in 0..255; clamp; truncate to uint8."""
    image = rgb.astype(np.float32)[:, :, ::-1].copy()
    image = encoder("bits", message_bits).encode(image, "dwtDct")[:, :, ::-1]
    image = np.clip(image / 255.0, 0.0, 1.0)
    return (255.0 * image).astype(np.uint8)


def reference_bits(rgb, method, length):
    """What the reference decoder reads, in the four ways a checker must try."""
    out = {}
    for order, array in (("bgr", rgb[:, :, ::-1]), ("rgb", rgb)):
        for domain in ("uint8", "float32"):
            image = np.ascontiguousarray(array)
            if domain == "float32":
                image = image.astype(np.float32)
            bits = WatermarkDecoder("bits", length).decode(image, method)
            out[f"{order}-{domain}"] = "".join("1" if b else "0" for b in bits)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2026)
    random64 = [int(b) for b in rng.integers(0, 2, size=64)]
    fixtures = [
        ("sd1.png", "Stable Diffusion 1.x", 136, "dwtDct", sd_txt2img(content(1), b"StableDiffusionV1")),
        ("sd2.png", "Stable Diffusion 2.x", 32, "dwtDct", sd_txt2img(content(2), b"SDV2")),
        ("sdxl-diffusers.png", "SDXL", 48, "dwtDct", diffusers_sdxl(content(3))),
        ("sdxl-generative-models.png", "SDXL", 48, "dwtDct", float_bgr(content(4), bits_of(SDXL))),
        ("flux.jpg", "FLUX.1", 46, "dwtDct", float_bgr(content(5), bits_of(FLUX))),
        ("random-dwtdct.png", None, 64, "dwtDct",
         sd_txt2img(content(6), bytes(np.packbits(random64)))),
        ("random-dwtdctsvd.png", None, 64, "dwtDctSvd", None),
    ]
    # dwtDctSvd with the same random message, uint8 BGR as the package's README shows.
    bgr = cv2.cvtColor(content(7), cv2.COLOR_RGB2BGR)
    svd = encoder("bits", random64).encode(bgr, "dwtDctSvd")[:, :, ::-1].copy()
    fixtures[-1] = fixtures[-1][:4] + (svd,)

    expected = {"random64": "".join(map(str, random64)), "fixtures": []}
    for name, generator, length, method, rgb in fixtures:
        path = os.path.join(OUT, name)
        if name.endswith(".jpg"):
            Image.fromarray(rgb).save(path, quality=95, subsampling=0)
            rgb = np.array(Image.open(path).convert("RGB"))  # decode what was written
        else:
            Image.fromarray(rgb).save(path, optimize=True)
        entry = {"file": name, "generator": generator, "bits": length, "method": method,
                 "decoded": reference_bits(rgb, method, length)}
        # The other method's reading too, to test both decoders on every fixture.
        other = "dwtDctSvd" if method == "dwtDct" else "dwtDct"
        entry["decoded_" + other] = reference_bits(rgb, other, length)
        expected["fixtures"].append(entry)
        print(name, generator, {k: v.count("1") for k, v in entry["decoded"].items()})
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
