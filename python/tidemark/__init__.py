"""Tidemark: apply AWS DMS change files to a table and add features, on Arrow.

The same core as the ``tidemark`` command line, on pyarrow tables (and Polars or pandas data
frames, through the Arrow C stream interface, without a copy)::

    import pyarrow.parquet as pq
    import tidemark

    result = tidemark.apply(
        pq.read_table("snapshot.parquet"),
        ["cdc/20211017-194324349.csv", "cdc/20211018-223933563.csv"],
        spec="users",
    )
    result.table       # the new snapshot (pyarrow.Table)
    result.diff        # one row per touched key
    result.enriched    # the table with its features
    result.report      # report.json, as a dict

``tidemark.spark.apply`` runs the same core on Spark executors, a bucket of keys each.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from tidemark import _tidemark
from tidemark._tidemark import Spec, TidemarkError

__all__ = ["Result", "Spec", "TidemarkError", "apply", "decode", "spec"]
__version__: str = _tidemark.__version__

#: A table Tidemark reads: a ``pyarrow.Table``, a ``RecordBatchReader``, or anything with
#: ``__arrow_c_stream__`` (Polars and pandas data frames).
TableLike = Any
#: A file Tidemark reads: a path, or its bytes.
FileLike = Union[str, "os.PathLike[str]", bytes]
#: An input given as a file would be: a table or a file, or ``(name, table or bytes)``.
#: Names matter: change files apply in the order of the time in their DMS names.
Input = Union[TableLike, FileLike, Tuple[str, Union[TableLike, bytes]]]

_PRESETS = {"users": Spec.users}


def spec(source: Union[None, str, "os.PathLike[str]", Mapping[str, Any], Spec] = None) -> Spec:
    """A table spec: ``None`` or ``"users"`` for the bundled ``users`` spec, a spec file's path
    (``.toml``), its TOML text, or a dict of the same structure.

    >>> tidemark.spec({"table": {"name": "t", "key": ["id"],
    ...                "columns": [{"name": "id", "type": "int64"}]}}).key
    ['id']
    """
    return _as_spec(source)


def _as_spec(source: Union[None, str, "os.PathLike[str]", Mapping[str, Any], Spec]) -> Spec:
    if source is None:
        return Spec.users()
    if isinstance(source, Spec):
        return source
    if isinstance(source, Mapping):
        return Spec.from_json(json.dumps(source, default=str))
    if isinstance(source, str) and source in _PRESETS:
        return _PRESETS[source]()
    if isinstance(source, os.PathLike) or (isinstance(source, str) and source.endswith(".toml")):
        return Spec.from_toml(Path(source).read_text(encoding="utf-8"))
    if isinstance(source, str):
        return Spec.from_toml(source)
    raise TypeError(f"a spec is a preset name, a path, TOML text or a dict, not {type(source).__name__}")


@dataclass(frozen=True)
class Result:
    """What a run produces, as the CLI's output folder holds it."""

    #: The new snapshot, in the input's columns: the next run's snapshot.
    table: pa.Table
    #: One row per touched key: ``change``, the key, ``before_*`` and ``after_*``,
    #: ``changed_columns``, ``changes``, ``source_file``, ``source_row``, ``source_sequence``.
    diff: pa.Table
    #: The table with its feature columns (``None`` when the spec has no features).
    enriched: Optional[pa.Table]
    #: Every version of every key, when the spec keeps history (``[history]``).
    history: Optional[pa.Table]
    #: The change log behind the history: the next run's ``change_log``.
    change_log: Optional[pa.Table]
    #: The position of each key's last change (changes with a sequence): the next run's ``state``.
    state: Optional[pa.Table]
    #: ``report.json``: counts per file and outcome, anomalies, ``as_of`` and its source.
    report: dict


def apply(
    snapshot: Union[None, Input, Sequence[Input]] = None,
    changes: Union[Mapping[str, Union[TableLike, FileLike]], Iterable[Input]] = (),
    *,
    spec: Union[None, str, "os.PathLike[str]", Mapping[str, Any], Spec] = None,
    as_of: Optional[date] = None,
    as_of_not_before: Optional[date] = None,
    window_days: Optional[int] = None,
    strict: bool = False,
    state: Optional[Input] = None,
    change_log: Optional[FileLike] = None,
    lookup: Optional[FileLike] = None,
) -> Result:
    """Applies change files to a snapshot and computes the features: the CLI's ``apply``.

    ``snapshot``: a table, a file (Parquet, a DMS full load CSV), a folder or a list of a full
    load's parts, or ``None`` (a DMS task without a full load). ``changes``: a dict of name to table or file,
    or a list of files, folders (walked for data files) and ``(name, table or bytes)`` pairs;
    they apply in the order of their names, whatever the order given. ``state`` and
    ``change_log``: what an earlier run returned (``Result.state``) or wrote. Raises
    :class:`TidemarkError` naming the file, row and column of a bad input.
    """
    snapshot_tables, snapshot_files = _split(_snapshot_inputs(snapshot))
    change_tables, change_files = _split(_change_inputs(changes))
    state_tables, state_files = _split([] if state is None else [_named(state, "state")])
    outputs = _tidemark.apply(
        _as_spec(spec),
        snapshot_tables=snapshot_tables,
        snapshot_files=snapshot_files,
        change_tables=change_tables,
        change_files=change_files,
        state_table=state_tables[0] if state_tables else None,
        state_file=state_files[0] if state_files else None,
        change_log_file=_file(change_log, "change_log") if change_log is not None else None,
        lookup_file=_file(lookup, "lookup") if lookup is not None else None,
        as_of=as_of,
        as_of_not_before=as_of_not_before,
        window_days=window_days,
        strict=strict,
    )
    outputs["report"] = json.loads(outputs["report"])
    return Result(**outputs)


def decode(
    source: Input,
    *,
    spec: Union[None, str, "os.PathLike[str]", Mapping[str, Any], Spec] = None,
    changes: bool = False,
) -> pa.Table:
    """Decodes one input by the spec's rules, as ``apply`` reads it: a snapshot's rows, or
    (``changes=True``) a change file's, after ``_tidemark_op``, ``_tidemark_sequence`` (when the
    file has one), with ``_tidemark_file`` and ``_tidemark_row``."""
    name, value = _named(source, "input")
    the_spec = _as_spec(spec)
    if isinstance(value, bytes):
        return _tidemark.decode(the_spec, file=(name, value), changes=changes)
    return _tidemark.decode(the_spec, table=(name, value), changes=changes)


def _snapshot_inputs(snapshot: Union[None, Input, Sequence[Input]]) -> list:
    """The snapshot's parts: a folder holds a full load's parts (``LOAD00000001.csv``, ...)."""
    if snapshot is None:
        return []
    if _is_path(snapshot) and Path(snapshot).is_dir():
        return [_named(path, "snapshot") for path in _data_files(Path(snapshot))]
    if isinstance(snapshot, list):
        return [_named(part, "snapshot") for part in snapshot]
    return [_named(snapshot, "snapshot")]


def _change_inputs(changes: Union[Mapping[str, Any], Iterable[Input]]) -> list:
    if isinstance(changes, Mapping):
        return [_named((name, value), name) for name, value in changes.items()]
    named = []
    for change in changes:
        if _is_path(change) and Path(change).is_dir():
            named.extend(_named(path, "changes") for path in _data_files(Path(change)))
        else:
            named.append(_named(change, "changes"))
    return named


def _data_files(folder: Path) -> list:
    """The data files under ``folder`` (DMS writes ``YYYY/MM/DD/`` folders), each once."""
    found = {p.resolve(): p for p in folder.rglob("*") if p.is_file() and _tidemark.is_data_file(str(p))}
    return sorted(found.values())


def _named(source: Input, default_name: str) -> Tuple[str, Any]:
    """``(name, table or bytes)``: a path is read and named by its path."""
    if isinstance(source, tuple):
        name, value = source
        if _is_path(value):
            return name, Path(value).read_bytes()
        return name, value if isinstance(value, bytes) else _table(value)
    if _is_path(source):
        return str(source), Path(source).read_bytes()
    if isinstance(source, bytes):
        return default_name, source
    return default_name, _table(source)


def _file(source: FileLike, default_name: str) -> Tuple[str, bytes]:
    name, value = _named(source, default_name)
    if not isinstance(value, bytes):
        raise TypeError(f"{default_name} is a file (a path or bytes)")
    return name, value


def _split(named: list) -> Tuple[list, list]:
    """Tables apart from files (bytes)."""
    tables = [(n, v) for n, v in named if not isinstance(v, bytes)]
    files = [(n, v) for n, v in named if isinstance(v, bytes)]
    return tables, files


def _table(value: TableLike) -> Any:
    """Anything with the Arrow C stream interface goes to Rust as it is (no copy); else pyarrow
    is asked to make a table of it."""
    if hasattr(value, "__arrow_c_stream__"):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    return pa.table(value)


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))
