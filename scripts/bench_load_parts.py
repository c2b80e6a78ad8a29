#!/usr/bin/env python3
"""A full load larger than memory, in parts: `tidemark apply --delta` creates the table a part
at a time, so its peak RSS follows the size of a part, not of the table.

usage: scripts/bench_load_parts.py [MILLIONS ...]     (default: 10 30)

For each size, a DMS-style full load of that many million rows is cut into parts of
PART_ROWS rows (default 3,000,000: LOAD00000001.csv, ...), made from the 10m bench data's
LOAD00000001.csv (DATA_ROOT/10m, as scripts/bench.sh generates it) with the keys shifted so
every copy is new. Then, in the same round, side by side:
  delta    tidemark apply --delta --snapshot PARTS/ (table, diff, enriched; 64 buckets)
  delta_noenr   the same, the table and the diff only (`--outputs snapshot,diff,report`):
           the enriched table needs each feature group whole, so its memory follows the
           largest group
  folder   tidemark apply --snapshot PARTS/ into a folder (the whole table in memory)
Prints wall time and peak RSS of each process.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HOME = Path.home()
REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DATA_ROOT", "/tmp/cdcbench-data")) / "10m"
OUT = Path(os.environ.get("OUT_ROOT", "/tmp/tidemark-bench")) / "load-parts"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", HOME / ".cache/tidemark/target"))
TIDEMARK = TARGET / "release" / "tidemark"
PART_ROWS = int(os.environ.get("PART_ROWS", "3000000"))
AS_OF = "2021-10-18"


def measured(cmd, log):
    """(wall seconds, peak RSS in MB) of `cmd`; fails loudly."""
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n" + Path(log).read_text()[-3000:])
    return wall, usage.ru_maxrss / 1024


def make_parts(millions, folder):
    """`millions` million rows of the 10m load, keys shifted per copy, in parts."""
    if (folder / "done").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = DATA / "LOAD00000001.csv"
    rows, part, out = 0, 0, None
    wanted = millions * 1_000_000
    copy = 0
    while rows < wanted:
        shift = copy * 10_000_000
        with open(source, "rb") as lines:
            for line in lines:
                if rows >= wanted:
                    break
                if rows % PART_ROWS == 0:
                    if out:
                        out.close()
                    part += 1
                    out = open(folder / f"LOAD{part:08X}.csv", "wb")
                key, rest = line.split(b",", 1)
                out.write(b"%d,%s" % (int(key) + shift, rest))
                rows += 1
        copy += 1
    out.close()
    (folder / "done").touch()


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [10, 30]
    if not TIDEMARK.exists():
        sys.exit(f"no {TIDEMARK}: cargo build --release -p tidemark first")
    OUT.mkdir(parents=True, exist_ok=True)
    for millions in sizes:
        parts = OUT / f"{millions}m-parts"
        make_parts(millions, parts)
        count = len(list(parts.glob("LOAD*.csv")))
        delta = ["--delta", "--buckets", "64"]
        for name, extra in [("delta", delta),
                            ("delta_noenr", delta + ["--outputs", "snapshot,diff,report"]),
                            ("folder", [])]:
            out = OUT / f"{millions}m-{name}"
            shutil.rmtree(out, ignore_errors=True)
            cmd = [TIDEMARK, "apply", "--snapshot", parts, "--out", out, "--as-of", AS_OF,
                   "--quiet"] + extra
            wall, rss = measured(cmd, OUT / f"{millions}m-{name}.log")
            print(f"{millions}M rows in {count} parts  {name:11}  {wall:7.2f} s  {rss:8.0f} MB",
                  flush=True)
            shutil.rmtree(out, ignore_errors=True)
    print(f"\nreproduce: PART_ROWS={PART_ROWS} python3 scripts/bench_load_parts.py "
          + " ".join(map(str, sizes)))


if __name__ == "__main__":
    main()
