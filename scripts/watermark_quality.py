#!/usr/bin/env python3
"""Watermark quality and round trip on real images, through the real CLI.

For every decodable image of the corpora (short side >= 256 px; AI renders and camera photos),
writes it the way providers hand files over -- Pillow 4:2:0 JPEG q95 (Pillow's and libjpeg's
default), 4:2:2 and 4:4:4 JPEG, progressive JPEG, PNG and lossy WebP q90 -- then runs
`synthmark stamp` on all of them and measures, decoding with Pillow (libjpeg-turbo, libwebp):

* PSNR of the stamped file against the input file (RGB, 8-bit), which includes the re-encoding;
* the RMS of the luma change inside flat 8x8 blocks (original luma std < 2 grey levels);
* whether `synthmark check` finds the watermark in the stamped file with the declared asset id
  (no soft-binding-mismatch), and whether, after `exiftool -all=`, the file still reads
  unlabelled-ai by its watermark.

Also writes a panel of the flattest 128 px crops of the smoothest AI renders, original | marked,
at 200 %. Prints a Markdown report.

Usage: watermark_quality.py --bin SYNTHMARK --out DIR [--panel PNG] CORPUS_DIR [CORPUS_DIR...]
"""
import argparse
import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys

import numpy as np
from PIL import Image

VARIANTS = {
    "jpeg420": dict(ext="jpg", kwargs=dict(quality=95)),
    "jpeg422": dict(ext="jpg", kwargs=dict(quality=95, subsampling=1)),
    "jpeg444": dict(ext="jpg", kwargs=dict(quality=95, subsampling=0)),
    "jpegprog": dict(ext="jpg", kwargs=dict(quality=95, progressive=True)),
    "png": dict(ext="png", kwargs=dict()),
    "webp": dict(ext="webp", kwargs=dict(quality=90)),
}
AI_CATEGORIES = {"a1111", "comfyui", "invokeai", "novelai", "c2pa-ai", "iptc-ai"}
PHOTO_CATEGORIES = {"camera-clean", "c2pa-nonai", "c2pa-tampered"}


def luma(rgb):
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def flat_block_rms(original, marked):
    """RMS luma change over the 8x8 blocks whose original luma std is below 2."""
    y0, y1 = luma(original), luma(marked)
    h, w = (y0.shape[0] // 8) * 8, (y0.shape[1] // 8) * 8
    b0 = y0[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    b1 = y1[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    flat = b0.std(axis=1) < 2.0
    if flat.sum() == 0:
        return None, 0.0
    rms = np.sqrt(np.mean((b1[flat] - b0[flat]) ** 2, axis=1))
    return float(np.median(rms)), float(flat.mean())


def load_corpus(dirs, limit_side):
    images = []
    for corpus in dirs:
        manifest = os.path.join(corpus, "MANIFEST.tsv")
        with open(manifest, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        for row in rows:
            category = row.get("category", "")
            if category not in AI_CATEGORIES | PHOTO_CATEGORIES:
                continue
            path = os.path.join(corpus, row["file"])
            try:
                im = Image.open(path)
                im.load()
            except Exception:
                continue
            if getattr(im, "n_frames", 1) > 1:
                continue
            im = im.convert("RGB")
            if min(im.size) < 256:
                continue
            if max(im.size) > limit_side:
                scale = limit_side / max(im.size)
                im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
            kind = "ai" if category in AI_CATEGORIES else "photo"
            name = os.path.splitext(os.path.basename(row["file"]))[0][:60]
            images.append((name, kind, im))
    return images


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit-side", type=int, default=2048)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--panel", help="where to write the flat-region panel (default OUT/flat-panel.png)")
    ap.add_argument("corpora", nargs="+")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    out = os.path.abspath(args.out)
    inputs, stamped = os.path.join(out, "inputs"), os.path.join(out, "stamped")
    for d in (inputs, stamped):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(out, "data"),
               XDG_CONFIG_HOME=os.path.join(out, "config"))
    env.pop("SYNTHMARK_CONFIG", None)

    images = load_corpus(args.corpora, args.limit_side)
    meta = {}
    for name, kind, im in images:
        for v in variants:
            spec = VARIANTS[v]
            fname = f"{name}.{v}.{spec['ext']}"
            im.save(os.path.join(inputs, fname), **spec["kwargs"])
            meta[fname] = (name, kind, v)
    r = run([args.bin, "stamp", inputs, "--out", stamped, "--no-registry", "-q"], env=env)
    if r.returncode not in (0, 1):
        sys.exit(f"stamp failed: {r.stderr}")

    check = run([args.bin, "check", stamped, "--no-registry", "--format", "ndjson", "-q"], env=env)
    reports = {os.path.basename(json.loads(l)["path"]): json.loads(l) for l in check.stdout.splitlines()}
    stripped = os.path.join(out, "stripped")
    shutil.rmtree(stripped, ignore_errors=True)
    shutil.copytree(stamped, stripped)
    have_exiftool = shutil.which("exiftool") is not None
    if have_exiftool:
        run(["exiftool", "-q", "-all=", "-overwrite_original", "-r", stripped])
    check2 = run([args.bin, "check", stripped, "--no-registry", "--format", "ndjson", "-q"], env=env)
    stripped_reports = {os.path.basename(json.loads(l)["path"]): json.loads(l) for l in check2.stdout.splitlines()}

    rows = []
    for fname, (name, kind, v) in sorted(meta.items()):
        out_path = os.path.join(stamped, fname)
        if not os.path.exists(out_path):
            rows.append(dict(name=name, kind=kind, variant=v, stamped=False))
            continue
        a = np.asarray(Image.open(os.path.join(inputs, fname)).convert("RGB"))
        b = np.asarray(Image.open(out_path).convert("RGB"))
        flat, flat_share = flat_block_rms(a, b)
        rep = reports.get(fname, {})
        wm = [e for e in rep.get("evidence", []) if e["layer"] == "watermark"]
        found = any(e["finding"] == "watermark" for e in wm)
        mismatch = any(e["finding"] == "soft-binding-mismatch" for e in wm)
        srep = stripped_reports.get(fname, {})
        by_wm = srep.get("verdict") == "unlabelled-ai" and "watermark" in srep.get("rests_on", [])
        rows.append(dict(name=name, kind=kind, variant=v, stamped=True, psnr=psnr(a, b),
                         flat=flat, flat_share=flat_share, found=found and not mismatch,
                         mismatch=mismatch, stripped_ok=by_wm,
                         verdict=rep.get("verdict"), stripped_verdict=srep.get("verdict")))

    report(rows, have_exiftool)
    panel(meta, inputs, stamped, args.panel or os.path.join(out, "flat-panel.png"))


def report(rows, have_exiftool):
    ok = [r for r in rows if r["stamped"]]
    print(f"{len(rows)} files ({len({r['name'] for r in rows})} images x variants), {len(ok)} stamped\n")
    print("| input | files | PSNR median | PSNR min (AI) | flat-block RMS median | found in stamped file | after exiftool -all= |")
    print("|---|---|---|---|---|---|---|")
    for v in VARIANTS:
        sel = [r for r in ok if r["variant"] == v]
        if not sel:
            continue
        ps = [r["psnr"] for r in sel]
        ai = [r["psnr"] for r in sel if r["kind"] == "ai"]
        flats = [r["flat"] for r in sel if r["flat"] is not None]
        found = sum(r["found"] for r in sel)
        stripped = sum(r["stripped_ok"] for r in sel)
        print(f"| {v} | {len(sel)} | {statistics.median(ps):.1f} dB | "
              f"{min(ai):.1f} dB | {statistics.median(flats) if flats else float('nan'):.2f} | "
              f"{found}/{len(sel)} | {stripped}/{len(sel) if have_exiftool else 'n/a'} |")
    ps = [r["psnr"] for r in ok]
    ai = [r["psnr"] for r in ok if r["kind"] == "ai"]
    flats = [r["flat"] for r in ok if r["flat"] is not None]
    print(f"\nall: PSNR median {statistics.median(ps):.2f} dB, AI renders min {min(ai):.2f} dB; "
          f"flat-block luma RMS median {statistics.median(flats):.2f}; "
          f"found {sum(r['found'] for r in ok)}/{len(ok)}; "
          f"stripped unlabelled-ai by watermark {sum(r['stripped_ok'] for r in ok)}/{len(ok)}")
    bad = [r for r in ok if not r["found"] or not r["stripped_ok"]]
    for r in bad[:40]:
        print(f"  MISS {r['name']}.{r['variant']}: check {r['verdict']} (mismatch {r['mismatch']}), stripped {r['stripped_verdict']}")
    low = sorted(ok, key=lambda r: r["psnr"])[:8]
    for r in low:
        print(f"  low PSNR {r['psnr']:.1f} dB {r['name']}.{r['variant']} ({r['kind']})")
    missing = [r for r in rows if not r["stamped"]]
    for r in missing:
        print(f"  NOT STAMPED {r['name']}.{r['variant']}")


def panel(meta, inputs, stamped, path):
    """The flattest 128x128 crop of each of the 10 smoothest AI renders (PNG inputs), original |
    marked, at 200 %."""
    cands = []
    for fname, (name, kind, v) in meta.items():
        if kind != "ai" or v != "png" or not os.path.exists(os.path.join(stamped, fname)):
            continue
        a = np.asarray(Image.open(os.path.join(inputs, fname)).convert("RGB"))
        y = luma(a)
        best = None
        for yy in range(0, y.shape[0] - 128, 32):
            for xx in range(0, y.shape[1] - 128, 32):
                s = y[yy:yy + 128, xx:xx + 128].std()
                if best is None or s < best[0]:
                    best = (s, yy, xx)
        cands.append((best[0], fname, best[1], best[2]))
    cands.sort()
    tiles = []
    for s, fname, yy, xx in cands[:10]:
        a = Image.open(os.path.join(inputs, fname)).convert("RGB").crop((xx, yy, xx + 128, yy + 128))
        b = Image.open(os.path.join(stamped, fname)).convert("RGB").crop((xx, yy, xx + 128, yy + 128))
        row = Image.new("RGB", (128 * 4 + 8, 256), "white")
        row.paste(a.resize((256, 256), Image.NEAREST), (0, 0))
        row.paste(b.resize((256, 256), Image.NEAREST), (264, 0))
        tiles.append(row)
    if tiles:
        sheet = Image.new("RGB", (tiles[0].width, len(tiles) * 264), "white")
        for i, t in enumerate(tiles):
            sheet.paste(t, (0, i * 264))
        sheet.save(path)
        print(f"\npanel: {os.path.basename(path)} ({len(tiles)} crops; luma std of each: "
              + ", ".join(f"{c[0]:.2f}" for c in cands[:10]) + ")")


if __name__ == "__main__":
    main()
