"""Generated DMS workloads for the equivalence tests: a snapshot and change files as AWS DMS
writes them in Parquet (``Op``, a ``ts`` commit timestamp, the table's columns), named by the
time DMS would give them, with what makes applying them hard:

- ties: many changes share a commit timestamp (one source transaction), across files too, so
  the order falls to the file's name and the row in it;
- anomalies: inserts of existing keys, updates and deletes of missing keys;
- late files: a file named after others but holding older changes (stale for some keys);
- several changes to one key, deletes then re-inserts, inserts then deletes;
- cities the lookup does not know, and the spec's rename (``Nashville-Davidson``).

Deterministic for a seed; written into the folder given (a test's temporary folder).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CITIES = [
    "New York", "Los Angeles", "Chicago", "Houston", "Austin", "Seattle", "Denver", "Portland",
    "Nashville", "Nashville-Davidson", "Boston", "Miami", "Atlantis", "Springfield",
]
NAMES = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jo"]
SCHEMA = pa.schema([
    ("user_id", pa.int64()), ("name", pa.string()), ("city", pa.string()), ("last_login", pa.date32()),
])
CHANGE_SCHEMA = pa.schema([("Op", pa.string()), ("ts", pa.timestamp("us"))] + list(SCHEMA))


@dataclass(frozen=True)
class Workload:
    snapshot: Path
    changes: Path  # a folder of change files

    @property
    def change_files(self) -> list:
        return sorted(self.changes.glob("*.parquet"))


def generate(folder: Path, *, seed: int, rows: int, files: int, changes_per_file: int,
             anomalies: bool = True, late_files: int = 1, tie_width: int = 4) -> Workload:
    """Writes a workload into ``folder``: ``snapshot.parquet`` and ``changes/*.parquet``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder / "snapshot.parquet"
    pq.write_table(pa.table(_rows(rng, range(rows)), schema=SCHEMA), snapshot)
    changes = folder / "changes"
    changes.mkdir()
    start = dt.datetime(2021, 10, 17, 19, 0, 0)
    keys = list(range(rows))
    next_key = rows
    for n in range(files):
        # Files are written a minute apart; a late file is named last but holds older changes.
        late = n >= files - late_files
        file_time = start + dt.timedelta(minutes=n if not late else files + n)
        change_time = start + dt.timedelta(minutes=(n if not late else n - files // 2 - 1))
        ops, ids = [], []
        for _ in range(changes_per_file):
            op, key = _change(rng, keys, next_key, anomalies)
            if key == next_key:
                next_key += 1
                keys.append(key)
            ops.append(op)
            ids.append(key)
        # A few distinct timestamps per file: ties within it, and across files.
        ts = [change_time + dt.timedelta(seconds=rng.randrange(tie_width)) for _ in ops]
        ts.sort()
        batch = {"Op": ops, "ts": ts, **_rows(rng, ids)}
        name = file_time.strftime("%Y%m%d-%H%M%S") + f"{file_time.microsecond // 1000:03d}.parquet"
        pq.write_table(pa.table(batch, schema=CHANGE_SCHEMA), changes / name)
    return Workload(snapshot, changes)


def _change(rng: random.Random, keys: list, next_key: int, anomalies: bool) -> tuple:
    """One change: mostly updates of known keys, some inserts of new ones and deletes, and
    (with anomalies) inserts of known keys and updates or deletes of keys never seen."""
    roll = rng.random()
    if anomalies and roll < 0.05:
        return "I", rng.choice(keys)
    if anomalies and roll < 0.10:
        return rng.choice("UD"), next_key + 10_000 + rng.randrange(1000)
    if roll < 0.35:
        return "I", next_key
    if roll < 0.45:
        return "D", rng.choice(keys)
    return "U", rng.choice(keys)


def _rows(rng: random.Random, ids) -> dict:
    ids = list(ids)
    return {
        "user_id": ids,
        "name": [rng.choice(NAMES) for _ in ids],
        "city": [rng.choice(CITIES) for _ in ids],
        "last_login": [dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(300)) for _ in ids],
    }
