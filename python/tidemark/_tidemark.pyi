"""Types of the extension module (``python/src/``); the API is ``tidemark`` and ``tidemark.spark``."""

from datetime import date
from typing import Any, List, Optional, Sequence, Tuple

import pyarrow as pa

__version__: str

#: Anything with ``__arrow_c_stream__``: a pyarrow Table or RecordBatchReader, a Polars or
#: pandas data frame.
_Stream = Any

class TidemarkError(Exception):
    """An input Tidemark cannot apply, or a run it cannot make."""

    #: The file (its name as given) the problem is in, when it is in one.
    file: Optional[str]
    #: The row in that file, from 1 as an editor counts (a CSV header is row 1).
    row: Optional[int]
    column: Optional[str]
    #: What went wrong, as the core names it: ``Parse``, ``MissingKey``, ``DuplicateKey``, ...
    kind: str

class Spec:
    @staticmethod
    def users() -> Spec: ...
    @staticmethod
    def from_toml(text: str) -> Spec: ...
    @staticmethod
    def from_json(text: str) -> Spec: ...
    def to_json(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def key(self) -> List[str]: ...
    @property
    def columns(self) -> List[str]: ...
    @property
    def group(self) -> Optional[str]: ...
    def __eq__(self, other: object) -> bool: ...

def apply(
    spec: Spec,
    *,
    snapshot_tables: Sequence[Tuple[str, _Stream]] = ...,
    snapshot_files: Sequence[Tuple[str, bytes]] = ...,
    change_tables: Sequence[Tuple[str, _Stream]] = ...,
    change_files: Sequence[Tuple[str, bytes]] = ...,
    state_table: Optional[Tuple[str, _Stream]] = ...,
    state_file: Optional[Tuple[str, bytes]] = ...,
    change_log_file: Optional[Tuple[str, bytes]] = ...,
    lookup_file: Optional[Tuple[str, bytes]] = ...,
    as_of: Optional[date] = ...,
    as_of_not_before: Optional[date] = ...,
    window_days: Optional[int] = ...,
    strict: bool = ...,
) -> dict: ...
def decode(
    spec: Spec,
    *,
    table: Optional[Tuple[str, _Stream]] = ...,
    file: Optional[Tuple[str, bytes]] = ...,
    changes: bool = ...,
) -> pa.Table: ...
def is_data_file(name: str) -> bool: ...
def with_bucket(batch: pa.RecordBatch, spec: Spec, buckets: int) -> pa.RecordBatch: ...
def with_group_bucket(batch: pa.RecordBatch, spec: Spec, buckets: int) -> pa.RecordBatch: ...
def apply_part(
    spec: Spec, snapshot: _Stream, changes: _Stream, *, strict: bool = ..., group_buckets: Optional[int] = ...
) -> pa.RecordBatch: ...
def enrich_part(
    spec: Spec,
    table: _Stream,
    as_of: date,
    *,
    window_days: Optional[int] = ...,
    lookup_file: Optional[Tuple[str, bytes]] = ...,
) -> pa.RecordBatch: ...
def as_of_of_parts(
    parts: Sequence[Tuple[Optional[date], Optional[str], Optional[str], int]],
) -> Tuple[date, str]: ...
