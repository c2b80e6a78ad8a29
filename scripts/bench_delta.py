#!/usr/bin/env python3
"""Delta tables kept up to date a bucket at a time, measured beside a full rebuild of the same
table in the same rounds, and beside delta-rs MERGE of the same change.

usage: scripts/bench_delta.py [SIZE]        (default 10m; REPS=3 rounds)

Each round runs, in turn (the order rotates between rounds; these machines are shared):
  full        tidemark apply --delta: a new table from the snapshot and the one-row change
              (every bucket written): the full rebuild
  one_row     tidemark apply --delta: a one-row change file on the existing table
  one_pct     tidemark apply --delta: 1% of the table's rows changed, on the existing table
  *_noenr     the same, writing the table and the diff only (no enriched table: its features
              are the whole table's, so writing it reads every bucket)
  deltars     delta-rs MERGE of the one-row change into a delta-rs table of the snapshot
              (../shared/bench's venv; the table is made once, not measured)
Prints wall time and peak RSS per run, the medians, and each ratio to `full` (per-round ratios,
median). Data: DATA_ROOT/SIZE as scripts/bench.sh generates it (snapshot.parquet, cdc.parquet,
cities.csv). Runs under the shared bench's Python (PY, default ~/.cache/cdc-bench-venv), which
has pyarrow and deltalake.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HOME = Path.home()
PY = Path(os.environ.get("PY", HOME / ".cache/cdc-bench-venv/bin/python"))
if Path(sys.executable) != PY and os.environ.get("BENCH_DELTA_REEXEC") != "1":
    os.execve(str(PY), [str(PY)] + sys.argv, dict(os.environ, BENCH_DELTA_REEXEC="1"))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZE = sys.argv[1] if len(sys.argv) > 1 else "10m"
REPS = int(os.environ.get("REPS", "3"))
DATA = Path(os.environ.get("DATA_ROOT", "/tmp/cdcbench-data")) / SIZE
OUT = Path(os.environ.get("OUT_ROOT", "/tmp/tidemark-bench")) / f"delta-{SIZE}"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", HOME / ".cache/tidemark/target"))
TIDEMARK = TARGET / "release" / "tidemark"
AS_OF = "2021-10-18"
BUCKETS = os.environ.get("BUCKETS", "64")


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


def change_file(rows, name):
    path = OUT / "changes" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows, path)
    return path


def in_child(function, *args):
    """Runs `function(*args)` in a child process: a child forked from a process holding a
    table in memory would report that memory as its own peak RSS."""
    pid = os.fork()
    if pid == 0:
        try:
            function(*args)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{function.__name__} failed")


def one_row(rnd):
    """An update of one existing key, later than every change before it."""
    snapshot = pq.read_table(DATA / "snapshot.parquet").slice(rnd * 7919, 1)
    ts = pa.array([pa.scalar(1_700_000_000_000_000 + rnd, pa.timestamp("us")).value],
                  pa.timestamp("us"))
    rows = pa.table({"Op": ["U"], "ts": ts, "user_id": snapshot["user_id"],
                     "name": snapshot["name"], "city": snapshot["city"],
                     "last_login": snapshot["last_login"]})
    return change_file(rows, one_row_name(rnd).name)


def one_row_name(rnd):
    return OUT / "changes" / f"20231114-2213{20 + rnd:02}000.parquet"


def one_percent_name(rnd):
    return OUT / "changes" / f"2024{1 + rnd % 12:02}01-000000000.parquet"


def one_percent(rnd, n):
    """1% of the table's rows: the first changes of cdc.parquet, moved later than every
    change before them."""
    cdc = pq.read_table(DATA / "cdc.parquet").slice(0, n // 100)
    shift = pa.scalar((800 + rnd) * 86_400_000_000, pa.duration("us"))
    cdc = cdc.set_column(1, "ts", pc.add(cdc["ts"], shift))
    return change_file(cdc, one_percent_name(rnd).name)


def tidemark(out, changes, snapshot=False, enriched=True):
    cmd = [str(TIDEMARK), "apply", "--delta", "--out", str(out),
           "--lookup", str(DATA / "cities.csv"), "--as-of", AS_OF, "--buckets", BUCKETS, "--quiet"]
    if changes is not None:
        cmd += ["--changes", str(changes)]
    if snapshot:
        cmd += ["--snapshot", str(DATA / "snapshot.parquet")]
    if not enriched:
        cmd += ["--outputs", "snapshot,diff,report"]
    return cmd


DELTARS_MERGE = """
import sys, pyarrow.parquet as pq
from deltalake import DeltaTable
s = pq.read_table(sys.argv[2]).drop_columns(["ts"])
(DeltaTable(sys.argv[1]).merge(source=s, predicate="t.user_id = s.user_id", source_alias="s",
    target_alias="t").when_matched_delete(predicate="s.Op = 'D'")
 .when_matched_update_all(predicate="s.Op <> 'D'", except_cols=["Op"])
 .when_not_matched_insert_all(predicate="s.Op <> 'D'", except_cols=["Op"]).execute())
"""


def main():
    if not (DATA / "snapshot.parquet").is_file():
        sys.exit(f"no data at {DATA}: run scripts/bench.sh {SIZE} once (it generates it)")
    print(f"== building tidemark (cargo build --release -p tidemark, CARGO_TARGET_DIR={TARGET})", flush=True)
    subprocess.run(["cargo", "build", "--release", "-p", "tidemark"], cwd=REPO, check=True,
                   env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET)))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    n = pq.read_metadata(DATA / "snapshot.parquet").num_rows
    print(f"== {SIZE}: {n:,} rows, {BUCKETS} buckets, {REPS} rounds; setting up the tables", flush=True)
    for name, enriched in [("lake", True), ("lake_noenr", False)]:
        measured(tidemark(OUT / name, None, snapshot=True, enriched=enriched), OUT / f"setup-{name}.log")
    def deltars_table():
        from deltalake import write_deltalake
        write_deltalake(str(OUT / "deltars"), pq.read_table(DATA / "snapshot.parquet"))

    in_child(deltars_table)
    for rnd in range(REPS):
        in_child(one_row, rnd)
        in_child(one_percent, rnd, n)

    runs = {}
    kinds = ["full", "one_row", "one_row_noenr", "one_pct", "one_pct_noenr", "deltars"]
    for rnd in range(REPS):
        row, pct = one_row_name(rnd), one_percent_name(rnd)
        commands = {
            "full": lambda: tidemark(OUT / f"full-{rnd}", row, snapshot=True),
            "one_row": lambda: tidemark(OUT / "lake", row),
            "one_row_noenr": lambda: tidemark(OUT / "lake_noenr", row, enriched=False),
            "one_pct": lambda: tidemark(OUT / "lake", pct),
            "one_pct_noenr": lambda: tidemark(OUT / "lake_noenr", pct, enriched=False),
            "deltars": lambda: [str(PY), "-c", DELTARS_MERGE, str(OUT / "deltars"), str(row)],
        }
        order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
        # one_row must run before one_pct on the same table in a round (its file is older)
        order = sorted(order, key=lambda k: (k.startswith("one_pct"), order.index(k)))
        for kind in order:
            wall, rss = measured(commands[kind](), OUT / f"{kind}-{rnd}.log")
            runs.setdefault(kind, []).append((wall, rss))
            print(f"   round {rnd + 1} {kind:14} {wall:7.2f} s {rss:8.0f} MB", flush=True)
        shutil.rmtree(OUT / f"full-{rnd}", ignore_errors=True)

    print(f"\n== medians over {REPS} rounds; ratios to `full` (median of per-round ratios)")
    for kind in kinds:
        walls = [w for w, _ in runs[kind]]
        rsss = [r for _, r in runs[kind]]
        t_ratio = statistics.median(w / f for (w, _), (f, _) in zip(runs[kind], runs["full"]))
        m_ratio = statistics.median(r / f for (_, r), (_, f) in zip(runs[kind], runs["full"]))
        print(f"   {kind:14} {statistics.median(walls):7.2f} s {statistics.median(rsss):8.0f} MB"
              f"   time {t_ratio:6.1%} of full, RSS {m_ratio:6.1%}")
    print(f"\nreproduce: REPS={REPS} BUCKETS={BUCKETS} python3 scripts/bench_delta.py {SIZE}")


if __name__ == "__main__":
    main()
