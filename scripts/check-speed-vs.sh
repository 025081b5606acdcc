#!/usr/bin/env bash
# Metadata-only checking speed against an earlier revision, measured in the same run: builds
# the `synthmark` binary at REV (default 36d63fa, before the bundled trust lists, the status
# table and the JSON-parameter rule) and at the working tree, generates COUNT (default 1000)
# 1-megapixel JPEGs (Pillow, q90, 4:2:0) and a C2PA-stamped copy of them, then times
# `check --no-watermark` (the flag both revisions know; `--no-pixels` now) of both sets with
# each binary in turn, ROUNDS times (default 3), and prints files/s and the ratio per round.
# The stamped set is timed a third time with the new binary and `--no-default-trust`: the cost
# of the bundled trust lists (the `c2pa` crate parses every anchor for every signature).
# Both builds share the target directory, so REV costs one build of this crate, not of c2pa.
# Usage: scripts/check-speed-vs.sh [REV] [COUNT] [ROUNDS]   (needs python3 with Pillow, numpy)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
rev="${1:-36d63fa}"
count="${2:-1000}"
rounds="${3:-3}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

source scripts/build-at-rev.sh
build_at_rev "$rev" "$work" --bin synthmark

python3 scripts/make-bench-jpegs.py "$work/plain" "$count"
HOME="$work/home" "$work/new.bin" stamp -q --no-watermark "$work/plain" --out "$work/stamped" 2>/dev/null

timed() { # binary dir [flags...] -> seconds
  local start end bin="$1" dir="$2"
  shift 2
  start=$(date +%s.%N)
  HOME="$work/home" "$bin" check -q --no-watermark --format ndjson "$@" "$dir" > "$work/out.ndjson" || true
  end=$(date +%s.%N)
  [ "$(wc -l < "$work/out.ndjson")" -eq "$count" ] || { echo "$bin checked too few files" >&2; exit 1; }
  echo "$end - $start" | bc -l
}
echo "check --no-watermark/--no-pixels: working tree against $rev ($(git rev-parse --short "$rev")), $count 1-MP JPEGs, $(nproc) cores"
: > "$work/times"
for round in $(seq 1 "$rounds"); do
  for set in plain stamped; do
    base=$(timed "$work/base.bin" "$work/$set")
    new=$(timed "$work/new.bin" "$work/$set")
    echo "$set $round $base $new" >> "$work/times"
  done
  base=$(timed "$work/base.bin" "$work/stamped")
  new=$(timed "$work/new.bin" "$work/stamped" --no-default-trust)
  echo "own-anchors $round $base $new" >> "$work/times"
done
python3 scripts/speed-ratios.py "$work/times" "$count" --digits 0 \
  "plain=unlabelled JPEGs" "stamped=stamped (C2PA validated)" \
  "own-anchors=stamped, --no-default-trust"
