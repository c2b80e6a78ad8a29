// Generated from tidemark-core's report types by tests/typescript_types.rs: do not edit.
// TIDEMARK_BLESS=1 cargo test --test typescript_types writes it again.
export type SequenceKind = "timestamp" | "number";
export type OutcomeCounts = { inserted: number, updated: number, deleted: number, unchanged: number, inserted_and_deleted: number, };
export type SnapshotSummary = { files: Array<string>, rows: number, };
export type FileSummary = { file: string, 
/**
 * The time in the file's DMS name, if it has one.
 */
named_time: string | null, rows: number, inserts: number, updates: number, deletes: number, 
/**
 * Rows that emptied the table (`[cdc.ops] truncate`), when the file has any.
 */
truncates: number | null, 
/**
 * In a transaction file (`CDC_TXN-*`): the rows of other tables, skipped.
 */
other_tables: number | null, 
/**
 * Keys whose last applied change came from this file, by what happened to them.
 */
outcome: OutcomeCounts, };
export type Transition = { before: string | null, after: string | null, count: number, };
export type ColumnChanges = { column: string, 
/**
 * Updated keys whose value of this column changed.
 */
changed: number, 
/**
 * Of those, how many had a value before and none after.
 */
became_null: number, 
/**
 * The most frequent old → new values (at most [`TOP_TRANSITIONS`]), most frequent first,
 * ties in diff order.
 */
top_transitions: Array<Transition>, };
export type ApplySummary = { rows_before: number, rows_after: number, changes: number, keys_touched: number, 
/**
 * Touched keys that more than one change was applied to: normal CDC (a row updated
 * twice between two files), counted, not an anomaly. Only the last change's values
 * survive.
 */
keys_changed_several_times: number, 
/**
 * What orders the changes: absent when files carry no sequence and apply in name order.
 */
sequence: SequenceKind | null, outcome: OutcomeCounts, 
/**
 * What the updates did to each compared column, in table order.
 */
columns: Array<ColumnChanges>, };
export type AnomalyKind = "insert_of_existing_key" | "update_of_missing_key" | "delete_of_missing_key" | "stale_change_ignored";
export type Example = { key: string, file: string, row: number, };
export type Anomaly = { kind: AnomalyKind, count: number, 
/**
 * The first few occurrences.
 */
examples: Array<Example>, };
export type NameCount = { name: string, rows: number, };
export type AmbiguousName = { name: string, rows: number, chosen: string, others: Array<string>, };
export type LookupSummary = { 
/**
 * `default (GeoNames US cities)` or the given file's name.
 */
source: string, matched_rows: number, 
/**
 * Names found nowhere in the lookup table, with how many rows carry them.
 */
unmatched: Array<NameCount>, 
/**
 * Names that stand for several places, and the one chosen.
 */
ambiguous: Array<AmbiguousName>, };
export type FeatureSummary = { as_of: string, 
/**
 * Where `as_of` came from.
 */
as_of_source: string, window_days: number, 
/**
 * Dates on or after this count as recent.
 */
window_start: string, groups: number, lookup: LookupSummary | null, };
export type RunReport = { table: string, snapshot: SnapshotSummary, changes: Array<FileSummary>, apply: ApplySummary, anomalies: Array<Anomaly>, features: FeatureSummary | null, };
