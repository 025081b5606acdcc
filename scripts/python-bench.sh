#!/usr/bin/env bash
# Per-image throughput from Python against the library's own front door, measured in the same
# run on the same files: COUNT (default 100) 1-megapixel JPEGs (scripts/make-bench-jpegs.py,
# 4:2:0), stamped and then checked
#   - by `synthmark stamp -j 1` / `synthmark check -j 1` (release build; stamped files written,
#     reports printed as NDJSON), and
#   - by one Python process with the installed wheel (release build by `pip install .`): a loop
#     of `Stamper.stamp(path)` + `Stamped.save(...)`, and of `Checker.check(path)` + `json.dumps`
#     of each report, one thread;
# then both again with every core (the CLI's default -j against a ThreadPoolExecutor of `nproc`
# threads sharing one Stamper / Checker). Each side is timed as a whole process on all COUNT
# files and on one file: the difference over COUNT - 1 is its time per image, start-up (the
# interpreter, the import, building the Stamper or Checker; the binary's own start) excluded.
# ROUNDS (default 3) alternate the two sides; the ratio printed is Python's time per image over
# the library's (1.00 = the same; the goal is at most 1.10), per round and median, and the
# whole-process ratio beside it.
# Usage: scripts/python-bench.sh [COUNT] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/synthmark-target}"
count="${1:-100}"
rounds="${2:-3}"
cores=$(nproc)

py="$(scripts/python-tests.sh --install-only)"
cargo build --ignore-rust-version --quiet --release --bin synthmark
bin="$CARGO_TARGET_DIR/release/synthmark"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_DATA_HOME="$work/home/data"
"$py" scripts/make-bench-jpegs.py "$work/in" "$count" >&2
mkdir "$work/in1" && cp "$(ls -d "$work"/in/* | head -n 1)" "$work/in1/"
"$bin" keygen --out "$work/id" >/dev/null
cert="$work/id/cert.pem" key="$work/id/key.pem" ca="$work/id/ca.pem"

cat > "$work/bench.py" <<'EOF'
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import synthmark

task, threads, src, dst, cert, key, ca = sys.argv[1:8]
threads = int(threads)
files = sorted(Path(src).iterdir())
if task == "stamp":
    stamper = synthmark.Stamper(cert=cert, key=key, generator="BenchDiffusion/1.0")
    os.makedirs(dst)
    def one(path):
        stamper.stamp(path).save(os.path.join(dst, path.name))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, files))
else:
    checker = synthmark.Checker(trust=[ca])
    def one(path):
        return json.dumps(checker.check(path), separators=(",", ":"), ensure_ascii=False)
    with ThreadPoolExecutor(threads) as pool, open(dst, "w") as out:
        for line in pool.map(one, files):
            out.write(line + "\n")
EOF

seconds() { # command... -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
sign=(--cert "$cert" --key "$key" --generator "BenchDiffusion/1.0")
: > "$work/times"
for round in $(seq 1 "$rounds"); do
  for jobs in 1 "$cores"; do
    for set in in in1; do
      n=$(ls "$work/$set" | wc -l)
      rm -rf "$work"/cli-out "$work"/py-out
      cli_stamp=$(seconds "$bin" stamp -q --no-registry -j "$jobs" "${sign[@]}" "$work/$set" --out "$work/cli-out")
      py_stamp=$(seconds "$py" "$work/bench.py" stamp "$jobs" "$work/$set" "$work/py-out" "$cert" "$key" "$ca")
      [ "$(ls "$work/cli-out" | wc -l)" -eq "$n" ] && [ "$(ls "$work/py-out" | wc -l)" -eq "$n" ] \
        || { echo "not every image was stamped" >&2; exit 1; }
      cli_check=$(seconds sh -c "\"$bin\" check -q --no-registry -j $jobs --format ndjson --trust \"$ca\" \"$work/cli-out\" > \"$work/cli.ndjson\"")
      py_check=$(seconds "$py" "$work/bench.py" check "$jobs" "$work/py-out" "$work/py.ndjson" "$cert" "$key" "$ca")
      for f in cli py; do
        labelled=$(grep -c '"verdict":"labelled-ai"' "$work/$f.ndjson" || true)
        [ "$labelled" -eq "$n" ] || { echo "$f: only $labelled of $n read labelled-ai" >&2; exit 1; }
      done
      echo "stamp $jobs $round $set $cli_stamp $py_stamp" >> "$work/times"
      echo "check $jobs $round $set $cli_check $py_check" >> "$work/times"
    done
  done
done

"$py" - "$work/times" "$count" "$cores" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
count, cores = int(sys.argv[2]), sys.argv[3]
print(f"Python package against the library's command line, {count} 1-MP JPEGs (4:2:0), {cores} cores, release builds")
print(f"{'':6} {'threads':>7}  {'library ms/img':>14}  {'Python ms/img':>13}  {'Python/library per image, per round':>36}  {'median':>6}  {'whole process':>13}")
for task in ("stamp", "check"):
    for jobs in sorted({r[1] for r in rows if r[0] == task}, key=int):
        per_round = {}
        for task_, jobs_, rnd, set_, lib, py in rows:
            if (task_, jobs_) == (task, jobs):
                per_round.setdefault(rnd, {})[set_] = (float(lib), float(py))
        lib_img, py_img, whole = [], [], []
        for times in per_round.values():
            (lib_n, py_n), (lib_1, py_1) = times["in"], times["in1"]
            lib_img.append((lib_n - lib_1) / (count - 1))
            py_img.append((py_n - py_1) / (count - 1))
            whole.append(py_n / lib_n)
        ratios = [p / l for l, p in zip(lib_img, py_img)]
        print(f"{task:6} {jobs:>7}  {1000 * statistics.median(lib_img):14.1f}  {1000 * statistics.median(py_img):13.1f}  "
              f"{' '.join(f'{r:.3f}' for r in ratios):>36}  {statistics.median(ratios):6.3f}  {statistics.median(whole):13.3f}")
EOF
