#!/usr/bin/env bash
# The watermark's report (the Code of Practice's "documented internal testing"), regenerated into
# docs/watermark/ and the README's table:
#  1. robustness: embed -> attack -> detect over the real images of the dev corpora (the
#     generator outputs and photos MANIFEST.tsv lists), for every attack in
#     examples/robustness/attacks.rs (robustness.md, robustness.svg, robustness-table.md); and
#     over every decodable file plus 40 generated images with flat areas (all-files/);
#  2. false positives: the detector over 10,000 unmarked crops, rescalings, JPEG re-encodings and
#     mirror images of the same images (false-positives.txt);
#  3. quality and round trip through the real CLI: the real images saved by Pillow as 4:2:0 /
#     4:2:2 / 4:4:4 / progressive JPEG, PNG and WebP, stamped, measured (PSNR, flat-block luma
#     change), checked, stripped with exiftool (quality.md) and a panel of the flattest crops of
#     the smoothest renders, original | marked at 200 % (flat-panel.png);
#  4. the attacks made with Pillow and ImageMagick on files stamped by the CLI from Pillow 4:2:0
#     JPEG inputs, and checked by the CLI, beside the Rust attacks' rows (real-tools.md).
# Usage: scripts/robustness.sh [OUT]   (default docs/watermark; CORPORA="DIR DIR" to use others;
#        FALSE_POSITIVES=N to change the count). Needs python3 with Pillow and numpy, exiftool
#        and ImageMagick (its rows are left out without it).
# Takes 20 minutes to an hour on 2 cores (20 min on an AMD EPYC Zen 5 in December 2026).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
out="${1:-docs/watermark}"
mkdir -p "$out"
corpora=(${CORPORA:-../shared/corpus/dev ../shared/corpus/dev-more})
corpus_args=()
for c in "${corpora[@]}"; do
  [ -d "$c" ] && corpus_args+=(--corpus "$c")
done

# The dev profile is optimised (Cargo.toml) and shares the test build: no second cold build.
cargo build --ignore-rust-version --quiet --bin synthmark --example robustness
robustness="$CARGO_TARGET_DIR/debug/examples/robustness"

# The real images: the generator outputs and photos the corpora's MANIFEST.tsv lists.
real="$(mktemp -d)"
trap 'rm -rf "$real"' EXIT
python3 - "$real" "${corpora[@]}" <<'EOF'
import csv, os, sys
from PIL import Image
KINDS = {"a1111", "comfyui", "invokeai", "novelai", "c2pa-ai", "iptc-ai",
         "camera-clean", "c2pa-nonai", "c2pa-tampered"}
out, corpora = sys.argv[1], sys.argv[2:]
for corpus in corpora:
    with open(os.path.join(corpus, "MANIFEST.tsv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = os.path.abspath(os.path.join(corpus, row["file"]))
            if row.get("category") not in KINDS:
                continue
            try:
                with Image.open(path) as im:
                    im.load()
                    if min(im.size) < 256:
                        continue
            except Exception:
                continue
            name = os.path.basename(corpus) + "__" + row["file"].replace("/", "__")
            os.symlink(path, os.path.join(out, name))
EOF
"$robustness" --corpus "$real" --generated 0 --out "$out" >/dev/null
# Every decodable file of the corpora (screenshots, test fixtures, tampered files...) plus 40
# generated images with flat areas: the harder, less real set.
"$robustness" "${corpus_args[@]}" --generated 40 --out "$out/all-files" >/dev/null
"$robustness" --corpus "$real" --generated 40 --false-positives "${FALSE_POSITIVES:-10000}" \
  | tee "$out/false-positives.txt"
python3 scripts/watermark_quality.py --bin "$CARGO_TARGET_DIR/debug/synthmark" \
  --out "${TMPDIR:-/tmp}/synthmark-quality" --panel "$out/flat-panel.png" "${corpora[@]}" \
  | tee "$out/quality.md"

# The same attacks made with Pillow and ImageMagick on files stamped by the CLI, checked by the
# CLI: that the example's Rust attacks are not kinder than the tools platforms use.
python3 scripts/real_tool_attacks.py --bin "$CARGO_TARGET_DIR/debug/synthmark" \
  --out "${TMPDIR:-/tmp}/synthmark-real-tools" --rust-table "$out/robustness-table.md" \
  "${corpora[@]}" | tee "$out/real-tools.md"

# The README's table, between its markers.
python3 - "$out/robustness-table.md" README.md <<'EOF'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open(sys.argv[2]).read()
start, end = "<!-- robustness-table:start -->", "<!-- robustness-table:end -->"
if start not in readme or end not in readme:
    sys.exit("README.md has no robustness-table markers")
before, rest = readme.split(start, 1)
_, after = rest.split(end, 1)
open(sys.argv[2], "w").write(f"{before}{start}\n{table}\n{end}{after}")
EOF
echo "wrote $out/{robustness.md,robustness.svg,false-positives.txt,quality.md,real-tools.md,flat-panel.png} and README.md's table"
