"""A diffusers-style generation loop that stamps every output before it leaves the pipeline.

With diffusers, the loop is::

    pipe = StableDiffusionPipeline.from_pretrained(MODEL)
    for prompt in prompts:
        for image in pipe(prompt, num_images_per_prompt=4).images:
            out = stamper.stamp(image)          # a PIL.Image: stamped as PNG
            out.save(path)

This example runs the same loop without downloading a model: ``ProceduralPipeline`` stands in for
``pipe`` and returns PIL images drawn with numpy (plasma-like fields, a different one per prompt
and seed). Each image is stamped with the model's name as the C2PA ``softwareAgent``, saved, and
checked again at the end.

Usage: python examples/python/diffusers_loop.py OUT_DIR [--count N] [--cert PEM --key PEM]
Without --cert/--key, it signs with a throw-away identity made by ``synthmark.keygen`` in
OUT_DIR/identity (a real pipeline passes its production certificate and key).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import numpy as np
from PIL import Image

import synthmark

MODEL = "ExampleDiffusion/2.1"
PROMPTS = [
    "a lighthouse on a cliff at dusk",
    "a bowl of ramen, studio lighting",
    "an astronaut riding a horse",
    "a watercolour map of an imaginary island",
]


@dataclass
class PipelineOutput:
    """What a diffusers pipeline returns: ``.images``, a list of PIL images."""

    images: List[Image.Image]


class ProceduralPipeline:
    """A stand-in for a diffusers pipeline: ``pipe(prompt, ...)`` -> ``PipelineOutput``."""

    def __init__(self, width: int = 768, height: int = 768) -> None:
        self.width, self.height = width, height

    def __call__(self, prompt: str, num_images_per_prompt: int = 1, seed: int = 0) -> PipelineOutput:
        base = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big")
        return PipelineOutput([self._render(base + seed * 1000 + i) for i in range(num_images_per_prompt)])

    def _render(self, seed: int) -> Image.Image:
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32) / self.width
        channels = []
        for _ in range(3):
            field = np.zeros_like(x)
            for octave in range(1, 6):
                fx, fy, phase = rng.uniform(1, 4, 3) * (octave, octave, 6.28)
                field += np.sin(x * fx * 6.28 + phase) * np.cos(y * fy * 6.28 - phase) / octave
            channels.append(field)
        rgb = np.stack(channels, axis=-1)
        rgb = (rgb - rgb.min()) / (np.ptp(rgb) + 1e-6) * 235 + rng.normal(0, 4, rgb.shape)
        return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=8, help="images in all (default 8)")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.cert and args.key:
        cert, key, trust = args.cert, args.key, []
    else:
        identity = synthmark.keygen(args.out / "identity", force=True)
        cert, key, trust = identity.cert, identity.key, [identity.ca]

    # Built once, like the pipeline itself: the signer and the C2PA context are reused.
    stamper = synthmark.Stamper(cert=cert, key=key, generator=MODEL, no_train=True)
    pipe = ProceduralPipeline()

    start = time.perf_counter()
    written = []
    generated = 0
    stamp_seconds = 0.0
    per_prompt = max(1, args.count // len(PROMPTS))
    for p, prompt in enumerate(PROMPTS):
        if generated >= args.count:
            break
        n = min(per_prompt, args.count - generated)
        for i, image in enumerate(pipe(prompt, num_images_per_prompt=n, seed=p).images):
            t = time.perf_counter()
            out = stamper.stamp(image, title=f"{p:02d}-{i:02d}.png")
            stamp_seconds += time.perf_counter() - t
            path = args.out / f"{p:02d}-{i:02d}.png"
            out.save(path, overwrite=True)
            written.append((path, out))
            generated += 1
            print(f"{path.name}  asset {out.asset_id}  sha256 {out.sha256[:16]}…  {prompt!r}")
            for warning in out.warnings:
                print(f"  warning: {warning}")
    elapsed = time.perf_counter() - start

    checker = synthmark.Checker(trust=trust)
    verdicts = {}
    for path, out in written:
        report = checker.check(path)
        verdicts[(report["verdict"], report["trust"])] = verdicts.get((report["verdict"], report["trust"]), 0) + 1
        marks = [e["value"] for e in report["evidence"] if e["finding"] == "watermark"]
        assert marks == [out.asset_id], (path, marks)
    print(
        f"{len(written)} images generated and stamped in {elapsed:.2f} s "
        f"(stamping {stamp_seconds:.2f} s, {stamp_seconds / max(1, len(written)) * 1000:.0f} ms per image)"
    )
    print("checked: " + ", ".join(f"{n} {v}/{t}" for (v, t), n in sorted(verdicts.items())))


if __name__ == "__main__":
    main()
