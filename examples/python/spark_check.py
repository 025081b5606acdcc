"""Checking a large image listing with PySpark: one Checker per partition, as a platform scales
its upload checks past one machine. Runs in local mode here (`local[*]`); the same job runs on a
cluster by changing the master, with synthmark installed on the workers.

The listing is a text file with one image path (or URI that the workers can read as a path) per
line. Each partition builds its Checker once (trust anchors and the C2PA context are parsed once)
and checks its rows; the results are a DataFrame (path, verdict, trust, asset id, format,
sha256, explanation, error) that is counted per verdict and written as Parquet.

Usage:
    python examples/python/spark_check.py LISTING [--trust PEM]... [--no-pixels]
        [--partitions N] [--out results.parquet]
    python examples/python/spark_check.py --demo DIR [--count N]
        generates N images in DIR (a third stamped, a third stamped then stripped of metadata,
        a third plain), writes DIR/listing.txt, and checks it.

Needs `pip install pyspark` and a Java runtime (17 works).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path
from typing import Iterator, List, Optional

import synthmark

COLUMNS = ["path", "verdict", "trust", "asset_id", "format", "sha256", "explanation", "error"]


def check_partition(rows: Iterator, trust: List[str], pixels: bool) -> Iterator[tuple]:
    """Runs on a worker: one Checker for the whole partition."""
    import synthmark as sm  # imported on the worker

    checker = sm.Checker(trust=trust, pixels=pixels)
    for row in rows:
        report = checker.check(row.path)
        marks = [e.get("value") for e in report["evidence"] if e["finding"] == "watermark"]
        yield (
            row.path,
            report["verdict"],
            report["trust"],
            marks[0] if marks else None,
            report.get("format"),
            report.get("sha256"),
            report["explanation"],
            report.get("error"),
        )


def run(listing: Path, trust: List[str], pixels: bool, partitions: Optional[int], out: Optional[Path]) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StringType, StructField, StructType

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Local mode: the driver and its workers talk over the loopback interface only.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("synthmark-check")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        start = time.perf_counter()
        paths = spark.read.text(str(listing)).withColumnRenamed("value", "path")
        paths = paths.filter(paths.path != "")
        # A listing file is read as one partition; spread it over the cores (or the cluster).
        paths = paths.repartition(partitions or 4 * spark.sparkContext.defaultParallelism)
        schema = StructType([StructField(name, StringType(), True) for name in COLUMNS])
        results = spark.createDataFrame(
            paths.rdd.mapPartitions(lambda rows: check_partition(rows, trust, pixels)), schema
        ).cache()
        total = results.count()
        elapsed = time.perf_counter() - start
        counts = results.groupBy("verdict", "trust").count().orderBy("verdict", "trust").collect()
        errors = results.filter(results.verdict == "error").limit(5).collect()
        if out is not None:
            results.write.mode("overwrite").parquet(str(out))
        cores = spark.sparkContext.defaultParallelism
        print(f"checked {total} images in {elapsed:.1f} s ({total / elapsed:.1f} images/s, "
              f"{paths.rdd.getNumPartitions()} partitions, local[*] = {cores} cores, pixels={pixels})")
        for row in counts:
            print(f"  {row['count']:6d}  {row['verdict']:<14} {row['trust'] or '-'}")
        for row in errors:
            print(f"  error: {row['path']}: {row['error']}")
        if out is not None:
            print(f"results written to {out}")
    finally:
        spark.stop()


def make_demo(directory: Path, count: int) -> tuple:
    """COUNT 512x512 images: a third stamped, a third stamped and re-saved without metadata, a
    third never stamped; returns (listing, CA to trust)."""
    import numpy as np
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    identity = synthmark.keygen(directory / "identity", force=True)
    stamper = synthmark.Stamper(cert=identity.cert, key=identity.key, generator="ExampleDiffusion/2.1")
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:512, 0:512].astype(np.float32) / 512
    lines = []
    for i in range(count):
        fx, fy = rng.uniform(2, 9, 2)
        field = np.stack([np.sin(x * fx * (c + 1) + i) * np.cos(y * fy + c) for c in range(3)], axis=-1)
        pixels = np.clip(128 + 90 * field + rng.normal(0, 10, field.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
        kind = ("stamped", "stripped", "plain")[i % 3]
        if kind != "plain":
            data = stamper.stamp(data).data
        if kind == "stripped":
            buffer = io.BytesIO()
            Image.open(io.BytesIO(data)).save(buffer, format="JPEG", quality=92)
            data = buffer.getvalue()
        path = directory / kind / f"{i:06d}.jpg"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        lines.append(str(path))
    listing = directory / "listing.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing, str(identity.ca)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listing", nargs="?", type=Path)
    parser.add_argument("--demo", type=Path, metavar="DIR")
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--trust", action="append", default=[])
    parser.add_argument("--no-pixels", action="store_true")
    parser.add_argument("--partitions", type=int, help="default: 4 per core")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.demo is not None:
        start = time.perf_counter()
        listing, ca = make_demo(args.demo, args.count)
        print(f"made {args.count} demo images in {time.perf_counter() - start:.1f} s; listing {listing}")
        args.listing, args.trust = listing, args.trust + [ca]
    if args.listing is None:
        parser.error("give a LISTING or --demo DIR")
    run(args.listing, args.trust, not args.no_pixels, args.partitions, args.out)


if __name__ == "__main__":
    main()
