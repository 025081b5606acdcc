#!/usr/bin/env bash
# Hostile inputs against `synthmark check`, `synthmark stamp` and `synthmark serve`, bounded in
# time and memory, with a PASS/FAIL per acceptance bound.
#
#   1. regenerates the hostile corpus (scripts/hostile_corpus.py: zTXt/iTXt decompression bombs,
#      a 20000x20000 PNG and 39.7 MP 16-bit PNGs that are small on disk, a TIFF whose IFD chain
#      loops, undecodable HEIC/AVIF, a JPEG with a truncated C2PA JUMBF, zero-size / no-IDAT PNGs,
#      a corrupt VP8L WebP, truncated / empty / text files);
#   2. runs `check --format json` and `stamp --out DIR --no-registry` on every case: exit status,
#      peak RSS, wall time, input SHA-256 before and after; each run under a timeout and an
#      address-space cap so a bomb cannot take the machine down (reported when hit);
#   3. (full mode) starts loopback servers (127.0.0.1:0, --token) and throws at them: 4+4
#      concurrent zTXt-bomb checks, 16 concurrent 39.7 MP 16-bit uploads, 16 stalled bodies
#      while an authorised /v1/stamp runs, 50 stalled header sends with /healthz polled every
#      second for 40 s, SIGTERM with a stalled client, /v1/manifests/%ff, a lower-case `bearer`
#      scheme and malformed /v1/stamp uploads; server peak RSS is polled from /proc;
#   4. prints one line per case and target, then PASS/FAIL per bound; exits 1 if any fails.
#
# Everything runs with an isolated HOME / XDG_DATA_HOME (a temporary directory): the development
# identity and the registry are created there, never in your home.
#
# Usage: scripts/hostile.sh [--quick] [--out DIR] [--keep]
#   --quick    CI subset, a few seconds: small cases only; CLI check+stamp of ztxt-bomb-40.png,
#              zero-size.png and cyclic-ifd.tiff; no server
#   --out DIR  write the corpus into DIR (kept) instead of the temporary directory
#   --keep     keep the temporary directory (logs: cli-logs/, serve-*.log)
# Environment: SYNTHMARK_BIN (use this binary, no build), CARGO_TARGET_DIR (default
#   ~/.cache/synthmark-target), HOSTILE_DEADLINE_S (probe time budget, default 600),
#   HOSTILE_CLI_TIMEOUT_S (60), HOSTILE_CLI_AS_MB (4096), HOSTILE_SERVER_AS_MB (6144).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
out=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

work="$(mktemp -d "${TMPDIR:-/tmp}/synthmark-hostile.XXXXXX")"
cleanup() {
  # the probe kills its own servers; this catches one left behind by an interrupted run
  if [ -f "$work/server.pid" ]; then kill -9 "$(cat "$work/server.pid")" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${SYNTHMARK_BIN:-}" ]; then
  src_bin="$SYNTHMARK_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
  echo "== building (release)" >&2
  cargo build --release --ignore-rust-version --quiet --bin synthmark
  src_bin="$CARGO_TARGET_DIR/release/synthmark"
fi
# A private copy, so a concurrent rebuild cannot swap the binary in the middle of the run.
cp "$src_bin" "$work/synthmark"
bin="$work/synthmark"
echo "== binary: $src_bin ($("$bin" --version 2>/dev/null || echo 'version unknown'))" >&2

corpus="${out:-$work/corpus}"
echo "== generating the corpus into $corpus" >&2
gen_args=(--out "$corpus")
probe_args=(--bin "$bin" --corpus "$corpus" --work "$work")
if [ "$quick" = 1 ]; then gen_args+=(--quick); probe_args+=(--quick); fi
python3 scripts/hostile_corpus.py "${gen_args[@]}"

status=0
python3 scripts/hostile_probe.py "${probe_args[@]}" || status=$?
exit "$status"
