#!/usr/bin/env python3
"""The watermark against the tools platforms and people actually use, through the real CLI.

`scripts/robustness.sh`'s table attacks marked pixels with the Rust `image` crate, inside the
robustness example. This script checks that those figures hold when the attacks are made the
way the rest of the world makes them: the real images of the corpora are handed to
`synthmark stamp` as Pillow 4:2:0 JPEG q95 files (what providers hand over), the stamped files
are then re-saved, resized, cropped, rotated and blurred with Pillow (libjpeg-turbo, libwebp) and
ImageMagick, and every attacked file goes through `synthmark check`. A copy counts as found when
the check's watermark evidence carries the asset id `stamp` declared for that file.

Prints a Markdown table (one row per attack, with the Rust-attack row of the same name where
there is one, for comparison) and the missed files.

Usage: real_tool_attacks.py --bin SYNTHMARK --out DIR CORPUS_DIR [CORPUS_DIR...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from watermark_quality import load_corpus, run  # noqa: E402


def pil(transform, ext="png", **save):
    """An attack: a Pillow transform of the stamped image, saved as `ext` with `save` options."""
    def attack(src, dst):
        with Image.open(src) as im:
            out = transform(im.convert("RGB"))
        out.save(dst, **save)
    return attack, ext


def magick(*options, ext="jpg"):
    """An attack: ImageMagick's `convert SRC OPTIONS DST`."""
    def attack(src, dst):
        subprocess.run(["convert", src, *options, dst], check=True, capture_output=True)
    return attack, ext


def scaled(factor):
    return lambda im: im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))),
                                Image.LANCZOS)


def cropped(fraction):
    """Keeps the centre, `fraction` of each side removed in all (as the robustness example)."""
    def crop(im):
        dx, dy = round(im.width * fraction / 2), round(im.height * fraction / 2)
        return im.crop((dx, dy, im.width - dx, im.height - dy))
    return crop


def thumbnail(side):
    def fit(im):
        im = im.copy()
        im.thumbnail((side, side), Image.LANCZOS)
        return im
    return fit


# Name -> (attack, extension). Names that match a row of the robustness table are compared.
ATTACKS = {
    "jpeg75": pil(lambda im: im, "jpg", quality=75),
    "jpeg50": pil(lambda im: im, "jpg", quality=50),
    "jpeg40": pil(lambda im: im, "jpg", quality=40),
    "webp60": pil(lambda im: im, "webp", quality=60),
    "resize0.5": pil(scaled(0.5)),
    "scale1/3": pil(scaled(1 / 3)),
    "thumbnail512+jpeg85": pil(thumbnail(512), "jpg", quality=85),
    "crop20": pil(cropped(0.20)),
    "screenshot": pil(scaled(0.75), "jpg", quality=85),
    "mirror": pil(ImageOps.mirror),
    "rot+3": pil(lambda im: im.rotate(3, resample=Image.BICUBIC)),
    "rot-3": pil(lambda im: im.rotate(-3, resample=Image.BICUBIC)),
    "blur1.5": pil(lambda im: im.filter(ImageFilter.GaussianBlur(1.5))),
    "crop10+resize0.5+jpeg75": pil(lambda im: scaled(0.5)(cropped(0.10)(im)), "jpg", quality=75),
    "crop20+scale0.6+jpeg60": pil(lambda im: scaled(0.6)(cropped(0.20)(im)), "jpg", quality=60),
    "magick-jpeg50": magick("-quality", "50"),
    "magick-resize50%+jpeg75": magick("-resize", "50%", "-quality", "75"),
    "magick-strip+jpeg85": magick("-strip", "-quality", "85"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rust-table", help="the robustness example's robustness-table.md, to compare")
    ap.add_argument("corpora", nargs="+")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    inputs, stamped, attacked = (os.path.join(out, d) for d in ("inputs", "stamped", "attacked"))
    for d in (inputs, stamped, attacked):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(out, "data"),
               XDG_CONFIG_HOME=os.path.join(out, "config"))
    env.pop("SYNTHMARK_CONFIG", None)
    attacks = dict(ATTACKS)
    if shutil.which("convert") is None:
        print("note: ImageMagick's `convert` is not installed; its rows are left out", file=sys.stderr)
        attacks = {k: v for k, v in attacks.items() if not k.startswith("magick")}

    images = load_corpus(args.corpora, 2048)
    for i, (name, _, im) in enumerate(images):
        im.save(os.path.join(inputs, f"{i:03}-{name}.jpg"), quality=95)
    stamp = run([args.bin, "stamp", inputs, "--out", stamped, "--no-registry", "-q",
                 "--format", "ndjson"], env=env)
    declared = {}
    for line in (stamp.stdout + stamp.stderr).splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("status") == "stamped":
                declared[os.path.basename(record["output"])] = record["asset_id"]
    if not declared:
        sys.exit(f"stamp produced nothing: {stamp.stderr}")

    jobs = []
    for a, (name, (attack, ext)) in enumerate(attacks.items()):
        for fname in sorted(declared):
            dst = os.path.join(attacked, f"{a:02}-{os.path.splitext(fname)[0]}.{ext}")
            jobs.append((name, fname, attack, os.path.join(stamped, fname), dst))
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda j: j[2](j[3], j[4]), jobs))

    check = run([args.bin, "check", attacked, "--no-registry", "--format", "ndjson", "-q"], env=env)
    found = {}
    for line in check.stdout.splitlines():
        report = json.loads(line)
        ids = {e.get("value") for e in report.get("evidence", [])
               if e["layer"] == "watermark" and e["finding"] == "watermark"}
        found[os.path.basename(report["path"])] = ids

    rust = {}
    if args.rust_table and os.path.exists(args.rust_table):
        for line in open(args.rust_table, encoding="utf-8"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and cells[1].endswith("%"):
                rust[cells[0]] = cells[1]

    tools = "Pillow " + Image.__version__
    if "magick-jpeg50" in attacks:
        version = subprocess.run(["convert", "-version"], capture_output=True, text=True).stdout
        tools += ", " + " ".join(version.split()[1:3])
    print(f"{len(declared)} real images, stamped by the CLI from Pillow 4:2:0 JPEG q95 inputs, "
          f"attacked with {tools}, checked by the CLI.\n")
    print("| attack (Pillow / ImageMagick) | found with the declared asset id | robustness example (Rust attacks) |")
    print("|---|---|---|")
    misses = {}
    for name in attacks:
        hits, missed = 0, []
        for (n, fname, _, _, dst) in (j for j in jobs if j[0] == name):
            if declared[fname] in found.get(os.path.basename(dst), set()):
                hits += 1
            else:
                missed.append(fname)
        misses[name] = missed
        print(f"| {name} | {hits}/{len(declared)} ({100 * hits / len(declared):.1f} %) | "
              f"{rust.get(name, '–')} |")
    print("\nMissed (the corpus images, numbered in the order they were read):\n")
    for name, missed in misses.items():
        if missed:
            print(f"- {name}: {', '.join(missed)}")


if __name__ == "__main__":
    main()
