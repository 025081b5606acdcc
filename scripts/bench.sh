#!/usr/bin/env bash
# Stamping throughput and peak memory on 1,000 generated 1-megapixel JPEGs (or COUNT), two ways,
# each compared with a baseline measured in the same run:
#   1. in one process through the library (benches/stamp.rs), against the bare c2pa crate;
#   2. the `synthmark stamp` command end to end, against `cp -r` of the same files (the I/O floor).
# Usage: scripts/bench.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
count="${1:-1000}"
cargo_flags=(--ignore-rust-version --quiet)

echo "== in-process: library against the bare c2pa crate =="
cargo bench "${cargo_flags[@]}" --bench stamp -- "$count" 1.0

echo
echo "== command line: synthmark stamp, one process =="
if [ ! -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null 2>&1 || { echo "install the Debian package 'time' for peak memory" >&2; exit 1; }
fi
cargo build "${cargo_flags[@]}" --release
bin="$CARGO_TARGET_DIR/release/synthmark"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo bench "${cargo_flags[@]}" --bench stamp -- --generate "$work/in" "$count"
"$bin" keygen --out "$work/id" >/dev/null

measure() { # label, command... -> "seconds peak_kb"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.$label" "$@" >/dev/null
  cat "$work/time.$label"
}
read -r base_s base_kb < <(measure copy cp -r "$work/in" "$work/copy")
read -r stamp_s stamp_kb < <(measure stamp "$bin" stamp -q "$work/in" --out "$work/out" \
  --cert "$work/id/cert.pem" --key "$work/id/key.pem" --generator "BenchDiffusion/1.0")
stamped=$(find "$work/out" -type f | wc -l)
awk -v n="$stamped" -v s="$stamp_s" -v kb="$stamp_kb" -v bs="$base_s" -v bkb="$base_kb" 'BEGIN {
  printf "cp -r (baseline)       %8.1f images/s  peak RSS %6.1f MB\n", n / (bs > 0 ? bs : 0.01), bkb / 1024
  printf "synthmark stamp        %8.1f images/s  peak RSS %6.1f MB  %.2fx the time of cp -r\n", n / s, kb / 1024, s / (bs > 0 ? bs : 0.01)
}'
[ "$stamped" -eq "$count" ] || { echo "only $stamped of $count images stamped" >&2; exit 1; }
