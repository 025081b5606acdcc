#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ with a memory limit, so a decompression or allocation bomb
# counts as a failure like a panic does:
#
#   metadata  format sniffing and structure checks, XMP read/edit, PNG text chunks, EXIF, rules
#   stamp     the stamp pipeline: identify -> decode -> watermark -> re-encode -> XMP -> sign
#   coefficients  the baseline-JPEG coefficient reader and writer that stamp marks JPEGs
#             through: a rewrite must read back as the same frame, a marked one must decode
#   intake    the HTTP service's routes in process: methods, routes, query options, headers,
#             raw and multipart bodies
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s, every target)
# Needs the nightly toolchain and cargo-fuzz (`cargo +nightly install cargo-fuzz`). Corpora are
# seeded from samples/ and small test fixtures into fuzz/corpus/TARGET; crashes land in
# fuzz/artifacts/TARGET (both ignored by git). Each target's last stats line is printed at the
# end: runs (executions), seconds, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(metadata stamp coefficients intake)

# Seeds: small real images of every format (and a few request shapes for the service).
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  if [ "$target" = coefficients ] && [ -z "$(ls -A "$corpus")" ]; then
    # Tiny JPEGs of every baseline layout (Pillow 4:4:4 / 4:2:2 / 4:2:0 at q50 and q95, with
    # and without optimised Huffman tables, grey; cjpeg with restart markers), 17x13 pixels:
    # the target runs about 6,000 of them a second against ~70 of the 1-MP fixtures. And what the
    # fuzzer found before.
    cp fuzz/seeds/coefficients/*.jpg tests/fixtures/fuzz-coefficients/* "$corpus/"
  fi
  if [ -z "$(ls -A "$corpus")" ]; then
    # tests/fixtures/inputs: every JPEG layout real encoders write (non-interleaved, restart
    # markers, progressive, 4:2:2, odd sizes), so the decoder routing and chroma paths are reached.
    for f in samples/* tests/fixtures/imwatermark/*.jpg tests/fixtures/inputs/*; do
      [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 400000 ] && cp "$f" "$corpus/"
    done
    if [ "$target" = intake ]; then
      # route selector, method, content-type flag, authorisation flag; query NUL body
      for f in samples/landscape.jpg samples/icon.gif; do
        printf '\x00\x00\x01\x04watermark=false\x00' | cat - "$f" > "$corpus/check-$(basename "$f")"
        printf '\x01\x00\x00\x04generator=A%%2F1&quality=80\x00' | cat - "$f" > "$corpus/stamp-$(basename "$f")"
      done
      printf '\x02\x01\x00\x03ffffffffff\x00' > "$corpus/manifest"
    fi
  fi
done

cd fuzz
status=0
for target in "${targets[@]}"; do
  log="$(mktemp "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX.log")"
  echo "== $target: $seconds s (log: $log)" >&2
  # The coefficient target's inputs stay small (see its seeds): bigger ones only run slower.
  max_len=()
  [ "$target" = coefficients ] && max_len=(-max_len=8192)
  if ! cargo +nightly fuzz run "$target" -s none -a --release -- "${max_len[@]}" \
      -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=60 \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    status=1
    echo "!! $target FAILED: see $log and fuzz/artifacts/$target" >&2
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$log" |
    sed "s/^/$target: /" || true
done
exit "$status"
