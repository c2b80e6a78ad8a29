"""The Spark path is the single-machine run, row for row: on the seed, on generated workloads
with ties, anomalies and late files, and (when ``TIDEMARK_CLI`` names a built ``tidemark``)
against the command line's own output files."""

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from workloads import generate

import tidemark
import tidemark.spark

KEY = "user_id"


def comparable(table: pa.Table) -> list:
    """Rows sorted by key, in Spark's types (no unsigned integers), each file named by its
    last part (the core orders files by it; the CLI names them by the path given)."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_unsigned_integer(field.type):
            column = column.cast(pa.int64())
        if field.name == "source_file":
            column = pa.chunked_array([[None if v is None else Path(v).name for v in column.to_pylist()]],
                                      pa.string())
        columns.append(column)
    rows = pa.table(columns, names=table.column_names).to_pylist()
    return sorted(rows, key=lambda row: row[KEY])


def assert_same_run(spark_result, table, diff, enriched, as_of):
    assert comparable(spark_result.table.toArrow()) == comparable(table)
    assert comparable(spark_result.diff.toArrow()) == comparable(diff)
    assert comparable(spark_result.enriched.toArrow()) == comparable(enriched)
    assert str(spark_result.as_of) == as_of


def run_both(spark, workload, buckets):
    local = tidemark.apply(workload.snapshot, workload.change_files)
    result = tidemark.spark.apply(
        spark,
        spark.read.parquet(str(workload.snapshot)),
        tidemark.spark.read_changes(spark, str(workload.changes)),
        buckets=buckets,
    )
    return local, result


def test_the_seed_on_spark_is_the_single_machine_run(spark, seed, tmp_path):
    # The seed's DMS CSV change files, decoded by the core into change rows with their file
    # and row (what tidemark.decode gives), as a Spark job would take them in.
    files = sorted(seed.glob("2021*.csv"))
    rows = [tidemark.decode((f.name, f.read_bytes()), changes=True) for f in files]
    changes = pa.concat_tables(rows).rename_columns(["Op"] + rows[0].column_names[1:])
    snapshot = tidemark.decode(seed / "LOAD00000001.csv")
    local = tidemark.apply(seed / "LOAD00000001.csv", files)
    result = tidemark.spark.apply(spark, spark.createDataFrame(snapshot), spark.createDataFrame(changes), buckets=3)
    assert_same_run(result, local.table, local.diff, local.enriched, local.report["features"]["as_of"])
    assert result.as_of_source == "newest change file name (20211018-225959941.csv)"


@pytest.mark.parametrize(
    "name, shape, buckets",
    [
        # Ties within files, anomalies (inserts of existing keys, updates and deletes of missing
        # ones), one late file whose changes are older than the files before it.
        ("ties-anomalies-late", dict(seed=1, rows=400, files=5, changes_per_file=80, tie_width=3), 4),
        # Every change of a file in one transaction (one timestamp), two late files: ties
        # across files too, decided by the file's name and the row.
        ("one-timestamp-per-file", dict(seed=2, rows=300, files=6, changes_per_file=60, tie_width=1, late_files=2), 7),
        # More buckets than a small table fills: buckets with changes only, with rows only.
        ("many-buckets", dict(seed=3, rows=120, files=4, changes_per_file=50, anomalies=False), 32),
    ],
)
def test_generated_workloads_on_spark_are_the_single_machine_run(spark, tmp_path, name, shape, buckets):
    workload = generate(tmp_path / name, **shape)
    local, result = run_both(spark, workload, buckets)
    report = local.report
    if shape.get("anomalies", True):
        assert report["anomalies"], "the workload has anomalies"
    assert_same_run(result, local.table, local.diff, local.enriched, report["features"]["as_of"])


def test_a_given_as_of_and_window_reach_every_executor(spark, tmp_path):
    import datetime as dt

    workload = generate(tmp_path, seed=4, rows=150, files=3, changes_per_file=40)
    as_of = dt.date(2021, 9, 1)
    local = tidemark.apply(workload.snapshot, workload.change_files, as_of=as_of, window_days=30)

    def on_spark(**options):
        return tidemark.spark.apply(
            spark,
            spark.read.parquet(str(workload.snapshot)),
            tidemark.spark.read_changes(spark, str(workload.changes)),
            as_of=as_of,
            window_days=30,
            buckets=5,
            **options,
        )

    result = on_spark()
    assert result.as_of_source == "given"
    assert_same_run(result, local.table, local.diff, local.enriched, "2021-09-01")
    result.unpersist()
    assert not result.applied.is_cached
    # Without the cache (one output written), each output applies the buckets again: the same.
    uncached = on_spark(cache=False)
    assert not uncached.applied.is_cached
    assert_same_run(uncached, local.table, local.diff, local.enriched, "2021-09-01")


def test_an_error_on_an_executor_names_the_file_row_and_column(spark, tmp_path):
    workload = generate(tmp_path, seed=5, rows=50, files=1, changes_per_file=10)
    bad = pq.read_table(workload.change_files[0])
    bad = bad.set_column(5, "last_login", pa.array(["2021-02-30"] * bad.num_rows))
    pq.write_table(bad, workload.change_files[0])
    with pytest.raises(Exception) as error:
        result = tidemark.spark.apply(
            spark,
            spark.read.parquet(str(workload.snapshot)),
            tidemark.spark.read_changes(spark, str(workload.changes)),
            buckets=2,
        )
        result.table.collect()
    message = str(error.value)
    assert f"{workload.change_files[0].name}, row " in message
    assert 'column `last_login`: cannot parse "2021-02-30" as a date' in message


def test_keys_typed_differently_on_each_side_meet_in_one_bucket(spark, tmp_path):
    # Spark buckets keys by xxhash64 in the JVM: a key must hash as one value whether it
    # comes as an int from the snapshot or as text from a change file.
    workload = generate(tmp_path, seed=6, rows=200, files=2, changes_per_file=60)
    local = tidemark.apply(workload.snapshot, workload.change_files)
    snapshot = spark.read.parquet(str(workload.snapshot))
    changes = tidemark.spark.read_changes(spark, str(workload.changes))
    result = tidemark.spark.apply(
        spark,
        snapshot.withColumn(KEY, snapshot[KEY].cast("int")),
        changes.withColumn(KEY, changes[KEY].cast("string")),
        buckets=8,
    )
    assert_same_run(result, local.table, local.diff, local.enriched, local.report["features"]["as_of"])


def test_buckets_are_the_rule_delta_tables_use():
    # The values tidemark-delta's table format fixes (delta/src/bucket.rs's test), from the
    # core. (Spark's shuffle hashes keys in the JVM instead: there only equal keys must meet.)
    from tidemark import _tidemark

    batch = pa.record_batch({"user_id": pa.array([1, 2, 192_790], pa.int64())})
    buckets = _tidemark.with_bucket(batch, tidemark.spec("users"), 64)
    assert buckets["_tidemark_bucket"].to_pylist() == [36, 39, 58]


@pytest.mark.skipif(not os.environ.get("TIDEMARK_CLI"), reason="TIDEMARK_CLI names no built tidemark program")
def test_spark_gives_the_cli_output_files(spark, tmp_path, seed):
    workload = generate(tmp_path / "in", seed=6, rows=300, files=5, changes_per_file=70, tie_width=2)
    out = tmp_path / "out"
    subprocess.run(
        [os.environ["TIDEMARK_CLI"], "apply", "--quiet", "--spec", str(seed.parent / "users.toml"),
         "--snapshot", str(workload.snapshot), "--changes", str(workload.changes), "--out", str(out)],
        check=True,
    )
    result = tidemark.spark.apply(
        spark,
        spark.read.parquet(str(workload.snapshot)),
        tidemark.spark.read_changes(spark, str(workload.changes)),
        buckets=6,
    )
    import json

    report = json.loads((out / "report.json").read_text())
    assert_same_run(
        result,
        pq.read_table(out / "snapshot.parquet"),
        pq.read_table(out / "diff.parquet"),
        pq.read_table(out / "enriched.parquet"),
        report["features"]["as_of"],
    )


def test_a_spec_whose_updates_move_rows_between_keys_is_refused(spark):
    # An update that changes its key moves the row to another key's bucket: not supported.
    import json

    spec = json.loads(tidemark.spec("users").to_json())
    spec["cdc"]["before_image"] = {"prefix": "BI_"}
    empty = spark.createDataFrame([], "user_id long")
    with pytest.raises(ValueError, match="before-images"):
        tidemark.spark.apply(spark, empty, empty, spec=spec)
