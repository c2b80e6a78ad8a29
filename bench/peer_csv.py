#!/usr/bin/env python3
"""Peers on the DMS CSV files: the shared bench's Polars and DuckDB jobs, reading
`LOAD00000001.csv` + `cdc.csv` (headerless, as AWS DMS writes them) instead of the Parquet files.

The queries are the shared peers' own (`peer_polars.py`, `peer_duckdb.py`, imported from
--bench-dir); only the sources change, so `tidemark apply` on the CSV files is compared with the
same jobs reading the same CSV files.

  --engine polars : lazy, fused (scan_csv -> ... -> sink_parquet), as `peer_polars.py --fused`
  --engine duckdb : phased (CREATE TABLE ... FROM read_csv, then union + features + COPY), as
                    `peer_duckdb.py` in its default mode

Prints the same `RESULT {json}` line as the shared peers.
"""
import os
import sys

# Written by AWS DMS without a header: the full load has the table's columns, a CDC file the
# operation and the commit timestamp first.
SNAPSHOT_COLUMNS = [("user_id", "int"), ("name", "text"), ("city", "text"), ("last_login", "date")]
CDC_COLUMNS = [("Op", "text"), ("ts", "timestamp")] + SNAPSHOT_COLUMNS


def csv_paths(data):
    return (os.path.join(data, "LOAD00000001.csv"), os.path.join(data, "cdc.csv"),
            os.path.join(data, "cities.csv"))


def run_polars(args, ph, snap_p, cdc_p, cities_p, cutoff):
    import polars as pl
    import peer_polars

    kinds = {"int": pl.Int64, "text": pl.String, "date": pl.Date, "timestamp": pl.Datetime("us")}

    def scan(path, columns):
        return pl.scan_csv(path, has_header=False, schema={n: kinds[k] for n, k in columns})

    ph.info.update(version=pl.__version__, threads=pl.thread_pool_size())
    with ph.phase("fused"):
        plan = peer_polars.features(
            peer_polars.apply_changes(scan(snap_p, SNAPSHOT_COLUMNS),
                                      peer_polars.latest_changes(scan(cdc_p, CDC_COLUMNS))),
            peer_polars.read_cities_lazy(cities_p), cutoff)
        plan.sink_parquet(args.out, compression="snappy")
    return pl.scan_parquet(args.out).select(pl.len()).collect().item()


def run_duckdb(args, ph, snap_p, cdc_p, cities_p, cutoff):
    import duckdb
    import peer_duckdb

    kinds = {"int": "BIGINT", "text": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP"}

    def read_csv(path, columns, header="false"):
        spec = ", ".join(f"'{n}': '{kinds[k]}'" for n, k in columns)
        return f"read_csv('{path}', header={header}, columns={{{spec}}})"

    ph.info.update(version=duckdb.__version__)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=false")  # as the shared peer: row order does not matter
    with ph.phase("read"):
        con.execute(f"CREATE TABLE users AS SELECT * FROM {read_csv(snap_p, SNAPSHOT_COLUMNS)}")
        con.execute(f"CREATE TABLE cdc AS SELECT * FROM {read_csv(cdc_p, CDC_COLUMNS)}")
        con.execute("CREATE TABLE cities AS SELECT * FROM "
                    + read_csv(cities_p, [("city", "text"), ("state", "text")], header="true"))
    with ph.phase("merge"):
        con.execute(f"CREATE TABLE merged AS {peer_duckdb.union_sql('users', 'cdc')}")
    with ph.phase("features"):
        con.execute(f"CREATE TABLE result AS {peer_duckdb.features_sql('merged', 'cities', cutoff.isoformat())}")
    with ph.phase("write"):
        out = args.out.replace("'", "''")
        con.execute(f"COPY result TO '{out}' (FORMAT parquet, COMPRESSION snappy)")
    return con.execute("SELECT count(*) FROM result").fetchone()[0]


def main():
    bench_dir = None
    if "--bench-dir" in sys.argv:
        i = sys.argv.index("--bench-dir")
        bench_dir = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    bench_dir = os.path.abspath(bench_dir or os.environ.get("TIDEMARK_BENCH_DIR")
                                or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
    sys.path.insert(0, bench_dir)
    from benchlib import Phases, cutoff_date, parser

    ap = parser(__doc__)
    ap.add_argument("--engine", choices=["polars", "duckdb"], required=True)
    args = ap.parse_args()
    snap_p, cdc_p, cities_p = csv_paths(args.data)
    for p in (snap_p, cdc_p, cities_p):
        if not os.path.isfile(p):
            sys.exit(f"peer_csv: {p} is missing (gen.py writes it unless --no-csv)")
    mode = "lazy-fused-csv" if args.engine == "polars" else "union-csv"
    ph = Phases(args.engine, mode=mode)
    run = run_polars if args.engine == "polars" else run_duckdb
    rows = run(args, ph, snap_p, cdc_p, cities_p, cutoff_date(args))
    ph.done(rows)


if __name__ == "__main__":
    main()
