#!/usr/bin/env bash
# Interoperability: files stamped by synthmark must validate in independent readers.
#   1. c2pa-python (the C2PA SDK's Python bindings) reports every stamped sample Trusted with the
#      development CA as trust anchor, declaring trainedAlgorithmicMedia; without the anchor, not Trusted.
#   2. c2pa-python validates the RFC 3161 timestamp of samples stamped through a loopback TSA.
#   3. exiftool shows the XMP-iptcExt Digital Source Type in the JPEG, PNG, WebP, GIF and TIFF outputs.
# Installs what is missing (exiftool from Debian, c2pa-python into a venv under ~/.cache).
# Usage: scripts/interop.sh   (SYNTHMARK=/path/to/synthmark to test a given binary)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
source scripts/loopback-tsa.sh
C2PA_PYTHON_VERSION=0.38.1
TRAINED=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia

if ! command -v exiftool >/dev/null; then
  apt-get update -qq && apt-get install -y -qq libimage-exiftool-perl >/dev/null
fi
venv="$HOME/.cache/synthmark-interop/venv"
if ! "$venv/bin/python" -c "import c2pa, sys; sys.exit(c2pa.__version__ != '$C2PA_PYTHON_VERSION')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "c2pa-python==$C2PA_PYTHON_VERSION"
fi
if [ -z "${SYNTHMARK:-}" ]; then
  cargo build --ignore-rust-version --quiet --release
  SYNTHMARK="$CARGO_TARGET_DIR/release/synthmark"
fi

work="$(mktemp -d)"
trap 'stop_loopback_tsa; rm -rf "$work"' EXIT

failures=0
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
# run LABEL CMD...: run a synthmark command; on failure say so (with its stderr) instead of exiting silently.
run() {
  local label=$1; shift
  if "$@" >"$work/log" 2>&1; then pass "$label"; else fail "$label (exit $?):"; sed 's/^/      /' "$work/log"; fi
}
# all_stamped DIR: synthmark wrote one output per sample, under the sample's own name.
all_stamped() {
  local missing=() s
  for s in samples/*; do [ -f "$1/$(basename "$s")" ] || missing+=("$(basename "$s")"); done
  if [ ${#missing[@]} -eq 0 ]; then pass "synthmark wrote all $(ls samples | wc -l) samples into $(basename "$1")/"
  else fail "synthmark wrote no $(basename "$1")/ output for: ${missing[*]}"; fi
}
# reader_check LABEL FILE_COUNT READER_ARGS...: a PASS or FAIL per file from interop_read.py, and a FAIL
# when it printed fewer results than files (a reader crash prints none and must not pass).
reader_check() {
  local label=$1 expected=$2 n=0 line file state time
  shift 2
  while read -r line; do
    n=$((n + 1))
    file=$(basename "$(sed -E 's/.*"path": "([^"]*)".*/\1/' <<<"$line")")
    state=$(sed -E 's/.*"validation_state": "([^"]*)".*/\1/' <<<"$line")
    time=$(sed -nE 's/.*"signature_time": "([^"]*)".*/\1/p' <<<"$line")
    if grep -q '"ok": true' <<<"$line"; then pass "c2pa-python $label: $file is $state${time:+, timestamped $time}"
    else fail "c2pa-python $label: $line"; fi
  done < <("$venv/bin/python" scripts/interop_read.py "$@" || true)
  [ "$n" -eq "$expected" ] || fail "c2pa-python $label: printed $n results for $expected files"
}

echo "synthmark: $SYNTHMARK; c2pa-python $C2PA_PYTHON_VERSION; exiftool $(exiftool -ver)"
run "synthmark keygen" "$SYNTHMARK" keygen --out "$work/id"
run "synthmark stamp" "$SYNTHMARK" stamp -q samples --out "$work/stamped" --cert "$work/id/cert.pem" \
  --key "$work/id/key.pem" --generator "InteropTest/1.0"
all_stamped "$work/stamped"

stamped=("$work"/stamped/*)
reader_check "with the synthmark CA as anchor" "${#stamped[@]}" --trust "$work/id/ca.pem" \
  --expect-state Trusted --expect-source-type "$TRAINED" "${stamped[@]}"
reader_check "without the anchor" "${#stamped[@]}" --expect-not-state Trusted "${stamped[@]}"

start_loopback_tsa "$work/tsa"
run "synthmark stamp --tsa-url (loopback TSA)" "$SYNTHMARK" stamp -q samples --out "$work/timestamped" \
  --cert "$work/id/cert.pem" --key "$work/id/key.pem" --generator "InteropTest/1.0" --tsa-url "$TSA_URL"
all_stamped "$work/timestamped"
timestamped=("$work"/timestamped/*)
reader_check "with a validated, trusted RFC 3161 timestamp" "${#timestamped[@]}" \
  --trust "$work/id/ca.pem" --trust-tsa "$TSA_CA" --expect-state Trusted --expect-timestamp "${timestamped[@]}"

for file in "$work"/stamped/*.{jpg,png,webp,gif,tiff}; do
  value=$(exiftool -s3 -XMP-iptcExt:DigitalSourceType "$file" 2>/dev/null || true)
  if [ "$value" = "$TRAINED" ]; then pass "exiftool: $(basename "$file") Digital Source Type = $value"
  else fail "exiftool: $(basename "$file") Digital Source Type is '${value}'"; fi
done

if [ "$failures" -eq 0 ]; then echo "interop: all checks passed"; else echo "interop: $failures checks failed"; exit 1; fi
