#!/usr/bin/env bash
# Load and fault tests for `synthmark serve`, on loopback, bounded in time (about 3 minutes).
#   0. baseline: GET /healthz at concurrency 32 (the HTTP floor of this machine, same run);
#   1. POST /v1/check?watermark=false (metadata + C2PA + exact registry lookups) on 1-megapixel
#      JPEGs, half of them stamped, at concurrency 32;
#   2. the same with watermark detection and fingerprint lookup on;
#   3. a mix of JPEG, PNG and WebP, watermark on;
#   4. 1,000 malformed uploads (empty, truncated, wrong type, huge dimensions, garbage): every
#      answer must be a JSON 4xx;
#   5. deliberate overload: 2 workers, a 100 ms queue wait, concurrency 64: only 200 or 503 with
#      Retry-After may come back;
# and the server's peak and current memory (VmHWM, VmRSS) after each phase.
# Usage: scripts/load.sh [SECONDS_PER_PHASE]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
seconds="${1:-20}"
flags=(--ignore-rust-version --quiet --release)
cargo build "${flags[@]}" --bin synthmark --example load
bin="$CARGO_TARGET_DIR/release/synthmark"
load="$CARGO_TARGET_DIR/release/examples/load"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export XDG_DATA_HOME="$work/data"

"$load" --generate "$work/mixed" 60
mkdir -p "$work/jpeg" "$work/stamped"
cp "$work"/mixed/*.jpg "$work/jpeg/"
"$bin" keygen --out "$work/id" >/dev/null
"$bin" stamp -q "$work/jpeg" --out "$work/stamped" --cert "$work/id/cert.pem" --key "$work/id/key.pem" \
  --registry "$work/registry.sqlite" >/dev/null
jpegs=("$work"/jpeg/*.jpg)
stamped=("$work"/stamped/*.jpg)
half=("${jpegs[@]:0:20}" "${stamped[@]:0:20}")

start_server() { # extra serve flags...
  "$bin" serve --listen 127.0.0.1:0 --trust "$work/id/ca.pem" --registry "$work/registry.sqlite" "$@" \
    > "$work/serve.out" 2> "$work/serve.log" &
  pids+=($!)
  server_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^listening on //p' "$work/serve.out")"
}
memory() { echo "   server memory: $(grep -E 'VmHWM|VmRSS' /proc/"$server_pid"/status | tr -s ' \n' ' ')"; }

start_server
echo "== 0. baseline: GET /healthz, concurrency 32, ${seconds}s =="
"$load" "$url/healthz" "$seconds" 32 - | sed 's/^/   /'
echo "== 1. /v1/check?watermark=false on 1 MP JPEGs (half stamped), concurrency 32, ${seconds}s =="
"$load" "$url/v1/check?watermark=false" "$seconds" 32 "${half[@]}" | sed 's/^/   /'
memory
echo "== 2. /v1/check with watermark detection and fingerprint lookup, concurrency 32, ${seconds}s =="
"$load" "$url/v1/check" "$seconds" 32 "${half[@]}" | sed 's/^/   /'
memory
echo "== 3. /v1/check, mixed JPEG/PNG/WebP, watermark on, concurrency 32, ${seconds}s =="
"$load" "$url/v1/check" "$seconds" 32 "$work"/mixed/* | sed 's/^/   /'
memory
echo "== 4. 1,000 malformed uploads, concurrency 32 =="
"$load" --faults "$url/v1/check" 1000 32 "${jpegs[0]}" | sed 's/^/   /'
curl -fsS "$url/healthz" >/dev/null && echo "   still answering /healthz"
memory
kill -TERM "$server_pid"; wait "$server_pid" || true

echo "== 5. deliberate overload: 2 workers, 100 ms queue wait, concurrency 64, ${seconds}s =="
cat > "$work/overload.toml" <<EOF
[serve]
queue_wait_ms = 100
EOF
start_server --workers 2 --config "$work/overload.toml"
"$load" "$url/v1/check" "$seconds" 64 "${half[@]}" | sed 's/^/   /'
memory
