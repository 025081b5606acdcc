#!/usr/bin/env bash
# Regenerates samples/: synthetic JPEG, PNG, WebP, TIFF and GIF from examples/make_samples.rs, and
# AVIF/HEIC versions of the PNG with libheif's heif-enc (Debian: libheif-examples), and a JPEG XL
# one, in the container that can carry credentials, with libjxl's cjxl (Debian: libjxl-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}
cargo run --ignore-rust-version --quiet --example make_samples -- samples
if ! command -v heif-enc >/dev/null; then
  echo "heif-enc not found: install libheif-examples for the AVIF and HEIC samples" >&2
  exit 1
fi
heif-enc --avif -q 60 samples/portrait.png -o samples/portrait.avif
heif-enc -q 60 samples/portrait.png -o samples/portrait.heic
if ! command -v cjxl >/dev/null; then
  echo "cjxl not found: install libjxl-tools for the JPEG XL sample" >&2
  exit 1
fi
cjxl samples/portrait.png samples/portrait.jxl -q 90 --container=1
ls -l samples
