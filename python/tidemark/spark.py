"""Tidemark on Spark: the same core on every executor, a bucket of keys each.

::

    from pyspark.sql import SparkSession
    import tidemark.spark

    spark = SparkSession.builder.getOrCreate()
    snapshot = spark.read.parquet("s3://raw/users/snapshot/")
    changes = tidemark.spark.read_changes(spark, "s3://raw/dms/users/2021/")
    result = tidemark.spark.apply(spark, snapshot, changes, spec="users")
    result.table.write.mode("overwrite").parquet("s3://analytics/users/table/")
    result.diff.write.mode("append").format("delta").save("s3://analytics/users/diff/")
    result.enriched.write.mode("overwrite").parquet("s3://analytics/users/enriched/")

How it runs:

1. The snapshot and the change rows are shuffled by the bucket of their key (Spark's
   ``xxhash64`` of the key columns, each read as one type on both sides, in the JVM).
2. Each bucket's changes are applied to its rows by the core (``cogroup(...).applyInArrow``):
   in the order of their files' DMS names, sequence and row numbers, with Tidemark's rules
   for ties, anomalies and deletes. Change rows carry their file name and row number
   (``_tidemark_file``, ``_tidemark_row``) through the shuffle for that.
3. Unless ``as_of`` is given, the newest change across all buckets dates the features (the
   buckets' own findings, combined on the driver as one run would have found it).
4. The new table is shuffled by the bucket of its feature group (the city after the spec's
   renames, computed by the core as it applies a bucket) and each group bucket is enriched
   by the core (``groupBy(...).applyInArrow``).

The result is the single-machine run's (``tidemark.apply``, the CLI), row for row; the tests
prove it on generated workloads with ties, anomalies and late files.

Not on Spark yet: history (``[history]``), state kept between runs (each call is a run from
the snapshot given), updates that move a row to another key (before-images of key columns),
truncates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import pyarrow as pa

import tidemark
from tidemark import _tidemark

if TYPE_CHECKING:
    import os

    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkResult", "apply", "read_changes", "FILE_COLUMN", "ROW_COLUMN"]

#: The column of a change row's file name; changes apply in the order of their files' names.
FILE_COLUMN = "_tidemark_file"
#: The column of a change row's number in its file, from 1 (as Parquet rows are numbered).
ROW_COLUMN = "_tidemark_row"
_BUCKET = "_tidemark_bucket"
_GROUP_BUCKET = "_tidemark_group_bucket"
_PART = "_tidemark_part"


@dataclass(frozen=True)
class SparkResult:
    """A run's outputs as Spark data frames, to write with Spark's own writers."""

    #: The new snapshot.
    table: "DataFrame"
    #: One row per touched key (the columns of ``tidemark.apply``'s diff).
    diff: "DataFrame"
    #: The table with its feature columns (``None`` when the spec has no features).
    enriched: Optional["DataFrame"]
    #: The date the features' window ends (``None`` without features).
    as_of: Optional[date]
    #: Where ``as_of`` came from, as ``report.json`` says it.
    as_of_source: Optional[str]
    #: The buckets' applied rows, which every output reads (cached).
    applied: Optional["DataFrame"] = field(default=None, repr=False)

    def unpersist(self) -> None:
        """Frees the cached rows every output reads, once the outputs are written."""
        if self.applied is not None:
            self.applied.unpersist()


def read_changes(spark: "SparkSession", *paths: str) -> "DataFrame":
    """DMS Parquet change files as change rows, each with its file name (``_tidemark_file``)
    and its row number in the file (``_tidemark_row``, from 1), which order the changes."""
    from pyspark.sql import functions as F

    return spark.read.parquet(*paths).select(
        "*",
        F.col("_metadata.file_name").alias(FILE_COLUMN),
        (F.col("_metadata.row_index") + 1).alias(ROW_COLUMN),
    )


def apply(
    spark: "SparkSession",
    snapshot: "DataFrame",
    changes: "DataFrame",
    *,
    spec: Union[None, str, "os.PathLike[str]", Mapping[str, Any], tidemark.Spec] = None,
    as_of: Optional[date] = None,
    window_days: Optional[int] = None,
    strict: bool = False,
    lookup: Optional[Union[str, "os.PathLike[str]", bytes]] = None,
    buckets: Optional[int] = None,
    cache: bool = True,
) -> SparkResult:
    """Applies ``changes`` to ``snapshot`` and computes the features, on the executors.

    ``snapshot``: the table's rows. ``changes``: change rows as DMS writes them (``Op``, the
    sequence column if any, the table's columns) with ``_tidemark_file`` and
    ``_tidemark_row`` (:func:`read_changes` adds them). ``buckets``: how many parts the keys
    are cut into (by default four per core of the cluster). The other arguments are
    ``tidemark.apply``'s. The buckets are applied once (cached) for all three outputs: call
    ``result.unpersist()`` when they are written. ``cache=False`` when only one output is
    written and ``as_of`` is given: caching costs about a third of such a run, and without it
    each output read applies the buckets again.
    """
    the_spec = tidemark.spec(spec)
    if json.loads(the_spec.to_json())["cdc"].get("before_image"):
        # An update that changes a key moves its row to another key, maybe another bucket.
        raise ValueError("before-images of key columns (rows moving between keys) are not supported on Spark yet")
    if FILE_COLUMN not in changes.columns or ROW_COLUMN not in changes.columns:
        raise ValueError(
            f"change rows need `{FILE_COLUMN}` and `{ROW_COLUMN}`: read them with "
            "tidemark.spark.read_changes, or add them"
        )
    buckets = buckets or 4 * spark.sparkContext.defaultParallelism
    snapshot, changes = _bucketed(the_spec, snapshot, changes, buckets)
    group_buckets = buckets if the_spec.group is not None else None
    parts = _applied(the_spec, snapshot, changes, strict, group_buckets, cache)
    table = _part(parts, "table", "table__")
    diff = _part(parts, "diff", "diff__")
    if the_spec.group is None:
        return SparkResult(table, diff, None, None, None, parts)
    if as_of is None:
        as_of, source = _as_of(parts)
    else:
        source = "given"
    lookup_file = tidemark._file(lookup, "lookup") if lookup is not None else None
    enriched = _enriched(the_spec, table, as_of, window_days, lookup_file)
    return SparkResult(table.drop(_GROUP_BUCKET), diff, enriched, as_of, source, parts)


#: The Spark type a key column is hashed as, for each type a spec can give it.
_KEY_TYPES = {
    "int8": "bigint", "int16": "bigint", "int32": "bigint", "int64": "bigint",
    "uint8": "bigint", "uint16": "bigint", "uint32": "bigint",
    "string": "string", "date": "date", "timestamp": "timestamp",
}


def _bucketed(spec: tidemark.Spec, snapshot: "DataFrame", changes: "DataFrame", buckets: int) -> tuple:
    """The snapshot's and the changes' rows with the bucket of their key, a Spark expression
    (``xxhash64``) rather than a pass through Python: only equal keys must meet in one
    bucket. So that they do, each key column is hashed as one type on both sides: the
    spec's when it gives one (whole numbers as ``bigint``), else the snapshot's, which the
    core reads change values as (``try_cast``: a value that does not convert hashes as
    null, and its bucket's core names its row)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegralType

    declared = {c["name"]: c["type"] for c in json.loads(spec.to_json())["table"].get("columns") or []}
    snapshot_types = dict(snapshot.dtypes)

    def as_hashed(frame: "DataFrame", key: str) -> Any:
        field = frame.schema[key]
        target = _KEY_TYPES.get(declared.get(key, ""))
        if target is None:
            target = snapshot_types.get(key)
            if isinstance(snapshot.schema[key].dataType, IntegralType):
                target = "bigint"
        if target is None or target == field.dataType.simpleString():
            return F.col(key)
        return F.col(key).try_cast(target)

    def with_bucket(frame: "DataFrame") -> "DataFrame":
        hashed = F.xxhash64(*[as_hashed(frame, key) for key in spec.key])
        return frame.withColumn(_BUCKET, F.pmod(hashed, F.lit(buckets)).cast("int"))

    return with_bucket(snapshot), with_bucket(changes)


def _applied(
    spec: tidemark.Spec,
    snapshot: "DataFrame",
    changes: "DataFrame",
    strict: bool,
    group_buckets: Optional[int],
    cache: bool,
) -> "DataFrame":
    """Every bucket applied by the core: its table, diff and ``as_of`` rows in one frame
    (``_tidemark_part`` says which), persisted with ``cache``, as all three are read from it.
    With ``group_buckets`` the table's rows carry the bucket of their feature group."""
    from pyspark import StorageLevel

    def apply_bucket(snapshot_rows: pa.Table, change_rows: pa.Table) -> pa.Table:
        applied = _tidemark.apply_part(spec, snapshot_rows, change_rows, strict=strict, group_buckets=group_buckets)
        return pa.Table.from_batches([applied])

    # The schema of what a bucket returns: the core's answer for a bucket of no rows.
    empty = apply_bucket(_empty(snapshot.schema), _empty(changes.schema))
    schema = _spark_schema(empty.schema)
    applied = snapshot.groupBy(_BUCKET).cogroup(changes.groupBy(_BUCKET)).applyInArrow(apply_bucket, schema)
    return applied.persist(StorageLevel.MEMORY_AND_DISK) if cache else applied


def _part(parts: "DataFrame", name: str, prefix: str) -> "DataFrame":
    """One output of the buckets' rows, in its own column names."""
    from pyspark.sql import functions as F

    columns = [F.col(c).alias(c[len(prefix):]) for c in parts.columns if c.startswith(prefix)]
    return parts.where(F.col(_PART) == name).select(*columns)


def _as_of(parts: "DataFrame") -> tuple:
    """The run's ``as_of``: what each bucket's changes say of it, combined by the core."""
    from pyspark.sql import functions as F

    rows = (
        parts.where(F.col(_PART) == "as_of")
        .select("as_of__date", "as_of__source", "as_of__detail", "as_of__changes")
        .collect()
    )
    return _tidemark.as_of_of_parts([tuple(row) for row in rows])


def _enriched(
    spec: tidemark.Spec,
    table: "DataFrame",
    as_of: date,
    window_days: Optional[int],
    lookup_file: Optional[tuple],
) -> "DataFrame":
    """The table's features, computed by the core a group bucket at a time (``table``'s
    rows carry the bucket of their group, from :func:`_applied`)."""

    def enrich_bucket(rows: pa.Table) -> pa.Table:
        enriched = _tidemark.enrich_part(spec, rows, as_of, window_days=window_days, lookup_file=lookup_file)
        return pa.Table.from_batches([enriched])

    schema = _spark_schema(enrich_bucket(_empty(table.schema)).schema)
    return table.groupBy(_GROUP_BUCKET).applyInArrow(enrich_bucket, schema)


def _empty(schema: Any) -> pa.Table:
    """An empty Arrow table of a Spark schema."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema).empty_table()


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
