#!/usr/bin/env bash
# The watermark's speed against an earlier revision, measured in the same run: builds
# `examples/robustness` at REV (default: 2136fd5, the last release before the visibility model)
# and at the working tree, then runs their `--bench` (1-megapixel embed and detect, one thread,
# medians of 15) in turn ROUNDS times (default 3) and prints each figure's ratio per round.
# Both builds share the target directory, so REV costs one build of this crate, not of c2pa.
# Usage: scripts/watermark-speed-vs.sh [REV] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
rev="${1:-2136fd5}"
rounds="${2:-3}"
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

source scripts/build-at-rev.sh
build_at_rev "$rev" "$work" --example robustness

# "  embed    37.0 ms  1.23x" -> "embed=37.0"
figures() { awk -F'  +' '/ ms /{ sub(/ ms.*/, "", $3); print $2 "=" $3 }' ; }
echo "watermark speed: working tree against $rev ($(git rev-parse --short "$rev")), 1 MP, one thread"
for round in $(seq 1 "$rounds"); do
  "$work/base.bin" --bench | figures > "$work/base.$round"
  "$work/new.bin" --bench | figures > "$work/new.$round"
done
python3 - "$work" "$rounds" <<'EOF'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(kind, r):
    return dict(line.strip().split("=", 1) for line in open(f"{work}/{kind}.{r}") if "=" in line)
names = [n for n in load("new", 1) if n in load("base", 1)]
print(f"{'':40} {'base ms':>9} {'new ms':>9} {'ratio per round':>24} {'median':>7}")
for name in names:
    base = [float(load("base", r)[name]) for r in range(1, rounds + 1)]
    new = [float(load("new", r)[name]) for r in range(1, rounds + 1)]
    ratios = [n / b for n, b in zip(new, base)]
    print(f"{name:40} {statistics.median(base):9.1f} {statistics.median(new):9.1f} "
          f"{' '.join(f'{r:.2f}' for r in ratios):>24} {statistics.median(ratios):6.2f}x")
EOF
