#!/usr/bin/env python3
"""Tidemark on Spark beside the fused PySpark peer, on the same files, in the same run.

    python scripts/bench_spark.py 1m [--bench DIR] [--data-root DIR] [--reps N]

Both run on local[2] with the peer's settings (driver memory 8g, 8 shuffle partitions, UTC)
and write the enriched table as snappy Parquet; rounds alternate the two, each in a process of
its own (the JVM included), timed from start to exit; the ratio is the median of the rounds'. Every Tidemark output is checked
against the peer's with the bench's ``check.py``.

Needs a Python with the tidemark wheel, PySpark and numpy (for the bench's generator), e.g.
``~/.cache/tidemark/python-venv`` after ``scripts/test-python.sh`` and ``pip install numpy``.
The bench folder (``gen.py``, ``peer_pyspark.py``, ``check.py``) comes from ``--bench`` or
``TIDEMARK_BENCH`` (default ``../shared/bench``); data from ``--data-root`` or
``TIDEMARK_BENCH_DATA`` (default ``/tmp/cdcbench-data``), generated there when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2021-10-18"


def main() -> None:
    args = arguments()
    if args.run_tidemark:
        run_tidemark(Path(args.run_tidemark[0]), Path(args.run_tidemark[1]))
        return
    bench = Path(args.bench or os.environ.get("TIDEMARK_BENCH", ROOT.parent / "shared" / "bench")).resolve()
    data = Path(args.data_root or os.environ.get("TIDEMARK_BENCH_DATA", "/tmp/cdcbench-data")) / args.size
    generate(bench, data, args.size)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {"pyspark-fused": [], "tidemark-spark": []}
    for round_ in range(args.reps):
        for name in runs:
            target = out / f"{name}.parquet"
            seconds = timed(command(name, bench, data, target))
            runs[name].append(seconds)
            verdict = check(bench, out / "pyspark-fused.parquet", target) if name == "tidemark-spark" else ""
            print(f"round {round_ + 1} {name:15s} {seconds:8.2f} s  {verdict}", flush=True)
    ours, peer = statistics.median(runs["tidemark-spark"]), statistics.median(runs["pyspark-fused"])
    ratios = [a / b for a, b in zip(runs["tidemark-spark"], runs["pyspark-fused"])]
    print(json.dumps({"size": args.size, "reps": args.reps, "tidemark_spark_s": ours, "pyspark_fused_s": peer,
                      "median_ratio": statistics.median(ratios)}))


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("size", nargs="?", default="1m", help="tiny|small|1m|10m (gen.py's sizes)")
    ap.add_argument("--bench")
    ap.add_argument("--data-root")
    ap.add_argument("--out", default="/tmp/tidemark-bench-spark")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--run-tidemark", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    return ap.parse_args()


def generate(bench: Path, data: Path, size: str) -> None:
    if (data / "meta.json").exists():
        return
    print(f"generating the {size} workload into {data}", flush=True)
    subprocess.run([sys.executable, str(bench / "gen.py"), "--size", size, "--out", str(data), "--no-csv"], check=True)


def command(name: str, bench: Path, data: Path, target: Path) -> list:
    if name == "tidemark-spark":
        return [sys.executable, __file__, "--run-tidemark", str(data), str(target)]
    return [sys.executable, str(bench / "peer_pyspark.py"), "--fused", "--data", str(data), "--out", str(target),
            "--as-of", AS_OF]


def timed(cmd: list) -> float:
    """Wall time from start to exit. (Not memory: the JVM is a grandchild that the driver
    does not wait for, so no rusage holds its peak.)"""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def check(bench: Path, expected: Path, actual: Path) -> str:
    result = subprocess.run([sys.executable, str(bench / "check.py"), str(expected), str(actual)],
                            capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("VERDICT")]
    return lines[-1] if lines else f"check failed: {result.stderr.strip()[-200:]}"


def run_tidemark(data: Path, out: Path) -> None:
    """The Tidemark side of a round: the peer's Spark session, the whole job on the executors."""
    import datetime as dt

    from pyspark.sql import SparkSession

    import tidemark.spark

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tidemark-spark")
        .config("spark.driver.memory", "8g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.compression.codec", "snappy")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    result = tidemark.spark.apply(
        spark,
        spark.read.parquet(str(data / "snapshot.parquet")),
        tidemark.spark.read_changes(spark, str(data / "cdc.parquet")),
        spec="users",
        as_of=dt.date.fromisoformat(AS_OF),
        lookup=data / "cities.csv",
        # One output written, as_of given: the peer's job, which needs no cache of the buckets.
        cache=False,
    )
    result.enriched.write.mode("overwrite").parquet(str(out))
    spark.stop()


if __name__ == "__main__":
    main()
