#!/usr/bin/env bash
# Evaluates `synthmark check` on a labelled corpus: DIR holds MANIFEST.tsv with at least the
# columns `file` and `expected_verdict` (as ../shared/corpus/dev does). Prints the confusion
# matrix, the accuracy, every mismatch, and every non-AI file called AI (false accusations).
# Usage: scripts/eval-corpus.sh [DIR [extra check flags...]]
#        (without DIR: ../shared/corpus/dev and ../shared/corpus/dev-more, one after the other)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
if [ $# -eq 0 ]; then
  for corpus in ../shared/corpus/dev ../shared/corpus/dev-more; do
    echo "== $corpus"
    "$0" "$corpus"
  done
  exit 0
fi
dir="$1"
shift
cargo build --ignore-rust-version --quiet
bin="$CARGO_TARGET_DIR/debug/synthmark"
python3 - "$bin" "$dir" "$@" <<'PY'
"""Runs the checker over the files of MANIFEST.tsv and compares the verdicts."""
import csv, collections, json, os, subprocess, sys

binary, corpus, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(os.path.join(corpus, "MANIFEST.tsv"), newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f, delimiter="\t"))
files = [os.path.join(corpus, r["file"]) for r in rows]
run = subprocess.run([binary, "check", "-q", "--format", "ndjson", *extra, *files],
                     capture_output=True, text=True)
got = {}
for line in run.stdout.splitlines():
    report = json.loads(line)
    got[report["path"]] = report
verdicts = ["labelled-ai", "unlabelled-ai", "tampered", "no-signal", "error"]
matrix = collections.Counter()
mismatches, accusations = [], []
for row, path in zip(rows, files):
    report = got.get(path, {"verdict": "missing", "evidence": []})
    expected, actual = row["expected_verdict"], report["verdict"]
    matrix[(expected, actual)] += 1
    if expected != actual:
        why = "; ".join(e["detail"] for e in report.get("evidence", [])[:2]) or report.get("error", "")
        mismatches.append(f"  {row['file']}: expected {expected}, got {actual}  [{why[:150]}]")
    if row.get("ground_truth_ai") == "non-ai" and actual in ("labelled-ai", "unlabelled-ai"):
        accusations.append(f"  {row['file']}: called {actual}")
width = max(len(v) for v in verdicts)
print("expected \\ got".ljust(width + 2) + "".join(v[:13].rjust(14) for v in verdicts))
for expected in verdicts:
    print(expected.ljust(width + 2) + "".join(str(matrix[(expected, v)]).rjust(14) for v in verdicts))
right = sum(n for (e, a), n in matrix.items() if e == a)
print(f"\naccuracy: {right}/{len(rows)} = {right / len(rows):.1%}")
print(f"false accusations (non-AI files called AI): {len(accusations)}")
for line in accusations:
    print(line)
print(f"mismatches: {len(mismatches)}")
for line in mismatches:
    print(line)
PY
