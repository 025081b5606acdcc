#!/usr/bin/env bash
# Stamp and check throughput of the full pipelines against an earlier revision, measured in the
# same run (the redesign's "within 5 % of before"): builds the `synthmark` binary at REV (default
# 40e18e2, before the redesign) and at the working tree, generates COUNT (default 300) 1-MP JPEGs
# (scripts/make-bench-jpegs.py), then times with each binary in turn, ROUNDS times (default 3):
#   stamp   `stamp` with every default layer (watermark, XMP, C2PA; no registry, no TSA);
#   check   `check` of the unlabelled JPEGs, every layer, pixels included (no registry);
#   check   the same of the stamped JPEGs (C2PA validated, watermark found).
# Prints files/s and the time ratio (new / base) per round and its median.
# Usage: scripts/pipeline-speed-vs.sh [REV] [COUNT] [ROUNDS]   (needs python3 with Pillow, numpy)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
rev="${1:-40e18e2}"
count="${2:-300}"
rounds="${3:-3}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

source scripts/build-at-rev.sh
build_at_rev "$rev" "$work" --bin synthmark
python3 scripts/make-bench-jpegs.py "$work/plain" "$count"
HOME="$work/home" "$work/new.bin" stamp -q --no-registry "$work/plain" --out "$work/stamped" 2>/dev/null

seconds() { # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  HOME="$work/home" "$@" > "$work/out" 2>/dev/null || true
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
stamp() { # binary -> seconds
  rm -rf "$work/out-stamp"
  local t
  t=$(seconds "$1" stamp -q --no-registry "$work/plain" --out "$work/out-stamp")
  [ "$(find "$work/out-stamp" -name '*.jpg' | wc -l)" -eq "$count" ] || { echo "$1 stamped too few files" >&2; exit 1; }
  echo "$t"
}
check() { # binary dir -> seconds
  local t
  t=$(seconds "$1" check -q --no-registry --format ndjson "$2")
  [ "$(wc -l < "$work/out")" -eq "$count" ] || { echo "$1 checked too few files" >&2; exit 1; }
  echo "$t"
}
echo "stamp and check with every layer: working tree against $rev ($(git rev-parse --short "$rev")), $count 1-MP JPEGs, $(nproc) cores"
: > "$work/times"
for round in $(seq 1 "$rounds"); do
  echo "stamp $round $(stamp "$work/base.bin") $(stamp "$work/new.bin")" >> "$work/times"
  echo "plain $round $(check "$work/base.bin" "$work/plain") $(check "$work/new.bin" "$work/plain")" >> "$work/times"
  echo "stamped $round $(check "$work/base.bin" "$work/stamped") $(check "$work/new.bin" "$work/stamped")" >> "$work/times"
done
python3 scripts/speed-ratios.py "$work/times" "$count" \
  "stamp=stamp (watermark, XMP, C2PA)" "plain=check, unlabelled (all layers)" \
  "stamped=check, stamped (all layers)"
