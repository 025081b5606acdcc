#!/usr/bin/env bash
# Refreshes the bundled C2PA trust lists (trust/*.pem) from c2pa-org/conformance-public and
# records the commit they came from in trust/README.md. Rebuild afterwards: the lists are
# compiled into the binary.
# Usage: scripts/update-trust-lists.sh [COMMIT-OR-BRANCH]   (default main)
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${1:-main}"
base="https://raw.githubusercontent.com/c2pa-org/conformance-public/$ref/trust-list"
for name in C2PA-TRUST-LIST C2PA-TSA-TRUST-LIST; do
  tmp="$(mktemp)"
  curl -fsSL "$base/$name.pem" -o "$tmp"
  count="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$tmp" || true)"
  [ "$count" -gt 0 ] || { echo "error: $base/$name.pem holds no certificate" >&2; exit 1; }
  mv "$tmp" "trust/$name.pem"
  echo "trust/$name.pem: $count certificates from $ref"
done
echo "now update the snapshot date and commit in trust/README.md and rebuild"
