"""Reads a Delta table with independent readers (delta-rs's `deltalake`, and Polars), as a
user of the table would, and writes it as Parquet for the Rust test to compare.

usage: read.py TABLE_URI OUT.parquet [--like EXPECTED.parquet] [--version N] [--log]

Credentials and the endpoint of an s3:// table come from the AWS_* environment. With --like,
the columns are put in the order and types of EXPECTED (the folder run's output) so the test
compares values, not a reader's choice of string type. The two readers must agree, row for
row, or this fails. With --log, prints the table's history (one JSON line per version:
version, operation, the files added and removed by partition) instead.
"""

import json
import os
import sys

import deltalake
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def storage_options():
    options = {}
    for name, key in [
        ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        ("AWS_REGION", "AWS_REGION"),
        ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        ("AWS_ALLOW_HTTP", "AWS_ALLOW_HTTP"),
    ]:
        if os.environ.get(name):
            options[key] = os.environ[name]
    return options


def main(argv):
    uri, out = argv[0], argv[1]
    like = argv[argv.index("--like") + 1] if "--like" in argv else None
    version = int(argv[argv.index("--version") + 1]) if "--version" in argv else None
    options = storage_options()
    table = deltalake.DeltaTable(uri, version=version, storage_options=options)
    if "--log" in argv:
        for entry in table.history():
            print(json.dumps({"version": entry.get("version"), "operation": entry.get("operation")}))
        return
    data = table.to_pyarrow_table()
    by_polars = pl.read_delta(uri, version=version, storage_options=options).to_arrow()
    if "_tidemark_bucket" in data.column_names:
        data = data.drop_columns(["_tidemark_bucket"])
        by_polars = by_polars.drop_columns(["_tidemark_bucket"])
    if like is not None:
        schema = pq.read_schema(like)
        data = data.select(schema.names).cast(pa.schema(list(schema)))
        by_polars = by_polars.select(schema.names).cast(pa.schema(list(schema)))
    first = data.column_names[0]
    data = data.sort_by(first)
    by_polars = by_polars.sort_by(first)
    if not data.equals(by_polars):
        sys.exit(f"deltalake and polars read {uri} differently")
    pq.write_table(data, out)


if __name__ == "__main__":
    main(sys.argv[1:])
