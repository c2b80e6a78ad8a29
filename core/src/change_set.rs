//! What a run's changes are once read together, and what happened to each key they touch:
//! the contract between the replay (`apply`), the new versions and the diff.

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;

use crate::changes::{ChangeBatch, Op, Sources};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::spec::{SequenceKind, TableSpec};

/// What happened to one touched key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyOutcome {
    /// Where its values are among the keys of the run ([`ChangeSet::all_keys`]).
    pub key: usize,
    /// Its row in the snapshot, if it was there.
    pub before: Option<usize>,
    /// The change whose values it now has, if it exists afterwards.
    pub after: Option<usize>,
    /// The last change applied to it, if any was (a stale change is not applied).
    pub last: Option<usize>,
    /// How many changes were applied to it.
    pub count: u32,
    /// Whether an applied change of the run made it exist at some point (an insert, an upsert,
    /// a move onto it): what tells a key inserted and deleted again within the run from one
    /// only deleted while missing.
    pub appeared: bool,
}

/// All change files of a run, concatenated.
pub(crate) struct ChangeSet {
    pub rows: RecordBatch,
    pub ops: Vec<Op>,
    pub sequence: Option<(SequenceKind, Vec<i128>)>,
    /// Orders changes of equal sequence values, when every file has one (`$AR_H_CHANGE_SEQ`).
    pub change_sequence: Option<Vec<i128>>,
    pub sources: Sources,
    /// The changes that move their row from another key (updates whose before-image key
    /// differs from their key), in change order.
    pub moves: Vec<u32>,
    /// Per key column: the changes' keys, then the key each move moves from. Every key the run
    /// touches has its values here.
    pub all_keys: Vec<ArrayRef>,
}

impl ChangeSet {
    pub(crate) fn concat(
        spec: &TableSpec,
        schema: &SchemaRef,
        changes: &[ChangeBatch],
    ) -> Result<ChangeSet> {
        let mut sources = Sources::default();
        let mut start = 0;
        for c in changes {
            sources.push_batch(c, start);
            start += c.len();
        }
        let rows = arrow_select::concat::concat_batches(schema, changes.iter().map(|c| &c.rows))
            .map_err(Error::from)?;
        let ops = changes.iter().flat_map(|c| c.ops.iter().copied()).collect();
        let with = changes.iter().find(|c| c.sequence.is_some());
        let without = changes
            .iter()
            .find(|c| c.sequence.is_none() && !c.is_empty());
        let sequence = match (with, without) {
            (Some(w), Some(wo)) => {
                return Err(Error::at(
                    Location::file(&wo.file),
                    ErrorKind::Columns(format!(
                        "this file has no sequence column, but {} has `{}`: all change files of a run must agree",
                        w.file,
                        w.sequence.as_ref().unwrap().column
                    )),
                ));
            }
            (Some(w), None) => {
                let kind = w.sequence.as_ref().unwrap().kind;
                let mut values = Vec::with_capacity(start);
                for c in changes {
                    match &c.sequence {
                        Some(s) if s.kind != kind => {
                            return Err(Error::at(
                                Location::file(&c.file).column(&s.column),
                                ErrorKind::Columns(format!(
                                    "the sequence holds {:?} values, but {} holds {kind:?} values",
                                    s.kind, w.file
                                )),
                            ));
                        }
                        Some(s) => values.extend_from_slice(&s.values),
                        None => {}
                    }
                }
                Some((kind, values))
            }
            (None, _) => None,
        };
        let change_sequence = match sequence.is_some()
            && changes
                .iter()
                .all(|c| c.is_empty() || c.change_sequence.is_some())
        {
            true => Some(
                changes
                    .iter()
                    .flat_map(|c| c.change_sequence.iter().flatten().copied())
                    .collect(),
            ),
            false => None,
        };
        let invalid = Error::from;
        let key_columns = |batch: &RecordBatch| key_columns(spec, batch);
        // Each move's old key, per key column, batch by batch.
        let mut moves: Vec<u32> = Vec::new();
        let mut moved_from: Vec<Vec<ArrayRef>> = vec![Vec::new(); spec.table.key.len()];
        let mut start = 0;
        for c in changes {
            if let Some(before) = &c.before_key {
                let after = key_columns(&c.rows);
                let mut moved = vec![false; c.len()];
                for (before, after) in before.iter().zip(&after) {
                    let differ = arrow_ord::cmp::distinct(before, after).map_err(invalid)?;
                    for row in differ.values().set_indices() {
                        moved[row] = true;
                    }
                }
                let rows: Vec<u32> = (0..c.len() as u32).filter(|&r| moved[r as usize]).collect();
                let indices = UInt32Array::from(rows.clone());
                for (k, before) in before.iter().enumerate() {
                    moved_from[k].push(
                        arrow_select::take::take(before.as_ref(), &indices, None)
                            .map_err(invalid)?,
                    );
                }
                moves.extend(rows.iter().map(|&r| start as u32 + r));
            }
            start += c.len();
        }
        let mut all_keys = key_columns(&rows);
        if !moves.is_empty() {
            for (key, from) in all_keys.iter_mut().zip(moved_from) {
                let mut parts: Vec<&dyn arrow_array::Array> = vec![key.as_ref()];
                parts.extend(from.iter().map(|f| f.as_ref()));
                *key = arrow_select::concat::concat(&parts).map_err(invalid)?;
            }
        }
        Ok(ChangeSet {
            rows,
            ops,
            sequence,
            change_sequence,
            sources,
            moves,
            all_keys,
        })
    }

    /// Adds `keys` (per key column) to the keys the run touches: a truncate touches every key
    /// of the snapshot.
    pub(crate) fn add_keys(&mut self, keys: &[ArrayRef]) -> Result<()> {
        for (all, more) in self.all_keys.iter_mut().zip(keys) {
            *all = arrow_select::concat::concat(&[all.as_ref(), more.as_ref()])
                .map_err(Error::from)?;
        }
        Ok(())
    }

    pub(crate) fn location(&self, change: usize) -> Location {
        self.sources.locate(change)
    }
}

/// The key columns of `batch`, in the order the spec's key lists them (`batch` is in the
/// table's schema, which has them all).
pub(crate) fn key_columns(spec: &TableSpec, batch: &RecordBatch) -> Vec<ArrayRef> {
    spec.table
        .key
        .iter()
        .map(|k| batch.column_by_name(k).expect("key in schema").clone())
        .collect()
}
