#!/usr/bin/env bash
# Stamping throughput and peak memory on 1,000 generated 1-megapixel JPEGs (or COUNT), each
# compared with a baseline measured in the same run:
#   0. the pixel paths (check with every pixel layer, stamp with the watermark, the service's
#      /v1/check) on 300 real 1-MP JPEGs against Pillow's decode and decode + encode of the same
#      files (scripts/pixel-ratios.sh; PIXEL_COUNT overrides 300);
#   1. in one process through the library (benches/stamp.rs), against the bare c2pa crate;
#   2. the `synthmark stamp` command end to end, with its defaults (watermark, and an entry in a
#      fresh registry) and with the metadata layers only (--no-watermark --no-registry), against
#      `cp -r` of the same files (the I/O floor);
#   3. `synthmark check` on the same files, unlabelled and stamped, metadata layers only
#      (--no-pixels --no-registry; the pixel layers are section 0's), against `cat` of the files;
#   4. the stamp command with RFC 3161 timestamps from a loopback TSA (`openssl ts -reply`, one
#      request at a time), then from the same TSA answering 50 ms late like a TSA across a network,
#      with one worker per core and with the default of four per core (latency hiding); these
#      runs stamp the metadata layers only, so that the TSA's share shows, and are compared
#      with the same command without a TSA.
#   5. the watermark alone: embed and detect on a 1-megapixel image on one thread, against a
#      JPEG decode of the same image (examples/robustness.rs --bench).
#   6. registry lookups: SQLite registries of 10k, 100k and 1M entries, nearest-neighbour PDQ
#      lookups through the multi-index, against a full scan of the same fingerprints in memory
#      (benches/registry.rs; REGISTRY_ENTRIES overrides the largest size).
# Usage: scripts/bench.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
source scripts/loopback-tsa.sh
count="${1:-1000}"
cargo_flags=(--ignore-rust-version --quiet)

echo "== pixel paths against Pillow (libjpeg-turbo), real 1-MP JPEGs =="
scripts/pixel-ratios.sh "${PIXEL_COUNT:-300}"

echo
echo "== registry: PDQ lookups at 10k, 100k, 1M entries (SQLite), against an in-memory scan =="
cargo bench "${cargo_flags[@]}" --bench registry -- "${REGISTRY_ENTRIES:-1000000}"

echo
echo "== watermark: embed and detect, 1 megapixel, one thread =="
cargo run "${cargo_flags[@]}" --release --example robustness -- --bench

echo
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
trap 'stop_loopback_tsa; rm -rf "$work"' EXIT
# The default registry of these runs is a fresh one in the work directory, not the user's.
export XDG_DATA_HOME="$work/data"
cargo bench "${cargo_flags[@]}" --bench stamp -- --generate "$work/in" "$count"
"$bin" keygen --out "$work/id" >/dev/null

measure() { # label, command... -> "seconds peak_kb"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.$label" "$@" >/dev/null
  cat "$work/time.$label"
}
read -r base_s base_kb < <(measure copy cp -r "$work/in" "$work/copy")
sign=(--cert "$work/id/cert.pem" --key "$work/id/key.pem" --generator "BenchDiffusion/1.0")
read -r mark_s mark_kb < <(measure mark "$bin" stamp -q "$work/in" --out "$work/out-mark" "${sign[@]}")
metadata=(stamp -q --no-watermark --no-registry "$work/in")
read -r stamp_s stamp_kb < <(measure stamp "$bin" "${metadata[@]}" --out "$work/out" "${sign[@]}")
for dir in out-mark out; do
  n=$(find "$work/$dir" -type f | wc -l)
  [ "$n" -eq "$count" ] || { echo "only $n of $count images stamped into $dir" >&2; exit 1; }
done

read -r cat_s cat_kb < <(measure cat sh -c "cat \"$work\"/in/* > /dev/null")
read -r check_s check_kb < <(measure check "$bin" check -q --no-pixels --no-registry --format ndjson "$work/in")
read -r checks_s checks_kb < <(measure checks "$bin" check -q --no-pixels --no-registry --format ndjson --trust "$work/id/ca.pem" "$work/out")

start_loopback_tsa "$work/tsa"
read -r tsa_s tsa_kb < <(measure tsa "$bin" "${metadata[@]}" --out "$work/out-tsa" "${sign[@]}" --tsa-url "$TSA_URL")
stop_loopback_tsa
start_loopback_tsa "$work/tsa-remote" 50
cores=$(nproc)
read -r far1_s far1_kb < <(measure far1 "$bin" "${metadata[@]}" -j "$cores" --out "$work/out-far1" "${sign[@]}" --tsa-url "$TSA_URL")
read -r far4_s far4_kb < <(measure far4 "$bin" "${metadata[@]}" --out "$work/out-far4" "${sign[@]}" --tsa-url "$TSA_URL")
for dir in out-tsa out-far1 out-far4; do
  n=$(find "$work/$dir" -type f | wc -l)
  [ "$n" -eq "$count" ] || { echo "only $n of $count images stamped with a timestamp" >&2; exit 1; }
done

awk -v n="$count" -v bs="$base_s" -v bkb="$base_kb" -v s="$stamp_s" -v kb="$stamp_kb" \
    -v ms="$mark_s" -v mkb="$mark_kb" \
    -v ts="$tsa_s" -v tkb="$tsa_kb" -v f1="$far1_s" -v f1kb="$far1_kb" -v f4="$far4_s" \
    -v f4kb="$far4_kb" -v cores="$cores" -v cs="$cat_s" -v ckb="$cat_kb" -v k="$check_s" \
    -v kkb="$check_kb" -v ks="$checks_s" -v kskb="$checks_kb" 'BEGIN {
  if (bs <= 0) bs = 0.01
  line = "%-44s %8.1f images/s  peak RSS %6.1f MB  %s\n"
  printf line, "cp -r (baseline)", n / bs, bkb / 1024, ""
  printf line, "synthmark stamp (defaults: watermark, registry)", n / ms, mkb / 1024, sprintf("%.2fx the time of cp -r", ms / bs)
  printf line, "synthmark stamp --no-watermark --no-registry", n / s, kb / 1024, sprintf("%.2fx the time of cp -r", s / bs)
  printf line, "  + loopback TSA", n / ts, tkb / 1024, sprintf("%.2fx the time without TSA", ts / s)
  printf line, sprintf("  + TSA 50 ms away, %d workers (-j %d)", cores, cores), n / f1, f1kb / 1024, sprintf("%.2fx the time without TSA", f1 / s)
  printf line, sprintf("  + TSA 50 ms away, %d workers (default)", 4 * cores), n / f4, f4kb / 1024, sprintf("%.2fx the time without TSA", f4 / s)
  if (cs <= 0) cs = 0.01
  print ""
  printf line, "cat of the same files (baseline)", n / cs, ckb / 1024, ""
  printf line, "synthmark check --no-pixels, unlabelled", n / k, kkb / 1024, sprintf("%.2fx the time of cat", k / cs)
  printf line, "synthmark check --no-pixels, stamped (C2PA)", n / ks, kskb / 1024, sprintf("%.2fx the time of cat", ks / cs)
}'
