#!/usr/bin/env bash
# The watermark's robustness report (the Code of Practice's "documented internal testing"):
# embed -> attack -> detect over the decodable images of the dev corpus plus 40 generated ones,
# for every attack in examples/robustness.rs; then the false-positive run over 10,000 unmarked
# crops and rescalings. Writes OUT/robustness.md, OUT/robustness.svg and OUT/flat-area.png.
# Usage: scripts/robustness.sh [OUT]   (env CORPUS=DIR to use other images)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
out="${1:-target/robustness}"
corpus="${CORPUS:-../shared/corpus/dev}"
corpus_args=()
[ -d "$corpus" ] && corpus_args=(--corpus "$corpus")
# The dev profile is optimised here (Cargo.toml) and shares the test build: no second cold build.
run=(cargo run --ignore-rust-version --quiet --example robustness --)
"${run[@]}" "${corpus_args[@]}" --generated 40 --out "$out"
"${run[@]}" "${corpus_args[@]}" --generated 40 --false-positives 10000 | tee "$out/false-positives.txt"
