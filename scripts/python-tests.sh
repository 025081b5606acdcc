#!/usr/bin/env bash
# The Python package's tests: installs maturin, pytest, Pillow, numpy, mypy and jsonschema from PyPI into a venv,
# builds and installs the package with `pip install .` (the same command a user runs; maturin
# builds the release profile in cargo's shared target directory, so only the first build on a
# machine is slow), then runs pytest on python/tests.
#
# The venv lives beside CARGO_TARGET_DIR (synthmark-python-venv; SYNTHMARK_PY_VENV overrides it),
# or in a temporary directory when that cannot be created. The report comparison test runs the
# `synthmark` binary (SYNTHMARK_BIN, else the debug build, built here if missing).
# Usage: scripts/python-tests.sh [--install-only] [PYTEST ARGS...]
#   --install-only: build and install, print the venv's python, run no test (scripts/python-bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
export CARGO_TERM_COLOR=never PIP_DISABLE_PIP_VERSION_CHECK=1
install_only=false
if [ "${1:-}" = "--install-only" ]; then
  install_only=true
  shift
fi

venv="${SYNTHMARK_PY_VENV:-$(dirname "$CARGO_TARGET_DIR")/synthmark-python-venv}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null; then
  venv="$(mktemp -d)/venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv" >&2
fi
py="$venv/bin/python"
"$py" -m pip install --quiet maturin pytest Pillow numpy mypy jsonschema >&2
echo "building the synthmark wheel (pip install .; a first build compiles the c2pa crate, ~10 min on 2 cores)" >&2
start=$(date +%s)
"$py" -m pip install --quiet --force-reinstall --no-deps . >&2
echo "installed in $(( $(date +%s) - start )) s into $venv" >&2
if $install_only; then
  echo "$py"
  exit 0
fi

export SYNTHMARK_BIN="${SYNTHMARK_BIN:-$CARGO_TARGET_DIR/debug/synthmark}"
if [ ! -x "$SYNTHMARK_BIN" ]; then
  cargo build --ignore-rust-version --quiet --bin synthmark
fi
# From outside the repository, so the tests import the installed package, not python/synthmark.
cd python/tests
exec "$py" -m pytest -p no:cacheprovider -q "$@" .
