#!/usr/bin/env python3
"""The table the speed-vs scripts print: for each set, files/s with the base and the new binary
(medians over the rounds), the time ratio new/base per round and its median.

TIMES holds one line per measurement: `SET ROUND BASE_SECONDS NEW_SECONDS`.
Usage: scripts/speed-ratios.py TIMES COUNT [--digits N] SET=LABEL...
"""
import statistics
import sys

args = sys.argv[1:]
times, count = args[0], int(args[1])
digits = 1
if "--digits" in args:
    at = args.index("--digits")
    digits = int(args[at + 1])
    del args[at:at + 2]
sets = [spec.split("=", 1) for spec in args[2:]]
width = max(len(label) for _, label in sets)
rows = [line.split() for line in open(times)]
print(f"{'':{width}} {'base files/s':>13} {'new files/s':>12} {'time ratio per round':>24} {'median':>7}")
for name, label in sets:
    base = [float(r[2]) for r in rows if r[0] == name]
    new = [float(r[3]) for r in rows if r[0] == name]
    ratios = [n / b for n, b in zip(new, base)]
    print(f"{label:{width}} {count / statistics.median(base):13.{digits}f} "
          f"{count / statistics.median(new):12.{digits}f} "
          f"{' '.join(f'{r:.2f}' for r in ratios):>24} {statistics.median(ratios):6.2f}x")
