# Sourced by the scripts that need a time-stamping authority: starts the loopback RFC 3161 TSA
# (examples/loopback_tsa.rs: `openssl ts -reply` behind a small HTTP server) and sets TSA_URL and
# TSA_CA. The caller's EXIT trap must call stop_loopback_tsa.
#   start_loopback_tsa DIR [LATENCY_MS]

start_loopback_tsa() {
  local dir="$1" latency="${2:-0}"
  cargo build --ignore-rust-version --quiet --example loopback_tsa
  "$CARGO_TARGET_DIR/debug/examples/loopback_tsa" "$dir" "$latency" >"$dir.out" 2>&1 &
  TSA_PID=$!
  for _ in $(seq 50); do
    grep -q '^ca=' "$dir.out" 2>/dev/null && break
    sleep 0.1
  done
  TSA_URL=$(sed -n 's/^url=//p' "$dir.out")
  TSA_CA=$(sed -n 's/^ca=//p' "$dir.out")
  if [ -z "$TSA_URL" ]; then
    echo "the loopback TSA did not start:" >&2
    cat "$dir.out" >&2
    return 1
  fi
}

stop_loopback_tsa() {
  [ -n "${TSA_PID:-}" ] && kill "$TSA_PID" 2>/dev/null || true
}
