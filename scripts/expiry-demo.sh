#!/usr/bin/env bash
# Why synthmark timestamps its signatures: stamps one image with an RFC 3161 timestamp (from a
# loopback TSA) and one without, then checks both with the clock moved 400 days ahead, past the
# one-year validity of the signing certificate (Debian's `faketime`).
# Expected: the timestamped label still reads labelled-ai / trusted; the other reads expired.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
source scripts/loopback-tsa.sh
command -v faketime >/dev/null || { apt-get update -qq && apt-get install -y -qq faketime >/dev/null; }

cargo build --ignore-rust-version --quiet
bin="$CARGO_TARGET_DIR/debug/synthmark"
work="$(mktemp -d)"
trap 'stop_loopback_tsa; rm -rf "$work"' EXIT
start_loopback_tsa "$work/tsa"
"$bin" keygen --out "$work/id" >/dev/null
sign=(--cert "$work/id/cert.pem" --key "$work/id/key.pem" --generator "ExpiryDemo/1.0")
"$bin" stamp -q samples/landscape.jpg --out "$work/timestamped" "${sign[@]}" --tsa-url "$TSA_URL"
"$bin" stamp -q samples/landscape.jpg --out "$work/plain" "${sign[@]}"

check=(check --trust "$work/id/ca.pem" --trust-tsa "$TSA_CA" "$work/timestamped/landscape.jpg" "$work/plain/landscape.jpg")
echo "== today ($(date -u +%F)) =="
"$bin" "${check[@]}" || true
echo
echo "== in 400 days ($(faketime -f +400d date -u +%F)), after the signing certificate expired =="
faketime -f +400d "$bin" "${check[@]}" || true
echo
faketime -f +400d "$bin" -q "${check[@]}" --format ndjson | python3 -c '
import json, sys
got = [(r["verdict"], r["trust"]) for r in map(json.loads, sys.stdin)]
want = [("labelled-ai", "trusted"), ("labelled-ai", "expired")]
print("timestamped: %s/%s, without timestamp: %s/%s" % (got[0] + got[1]))
sys.exit(0 if got == want else "unexpected result: %r" % (got,))'
