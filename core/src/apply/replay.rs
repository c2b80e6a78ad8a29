//! The replay: every change in the run's one total order (sequence, change sequence, file,
//! row), key by key, to find what each key ends as, which change gave it its values, and
//! what looked wrong on the way. Changes older than a key's version from earlier runs are
//! ignored, and counted.

use std::collections::BTreeMap;

use super::{ApplyOptions, NONE};
use crate::change_set::{ChangeSet, KeyOutcome};
use crate::changes::{ChangeBatch, Op};
use crate::error::{Error, ErrorKind, Result};
use crate::files::FileOrder;
use crate::keys::{KeyMap, KeyValues, format_key};
use crate::report::{Anomaly, AnomalyKind, Example};
use crate::versions::{Position, Versions};

/// How many examples of each anomaly the report keeps.
const EXAMPLES: usize = 5;

/// How many changes the replay applies between two looks at [`ApplyOptions::cancel`]: often
/// enough to stop within milliseconds, rarely enough to cost nothing.
const CANCEL_CHECK_EVERY: usize = 1 << 16;

/// What the replay found.
pub(super) struct Replay {
    /// Dense ids of the keys the run touches (rows of [`ChangeSet::all_keys`]).
    pub keymap: KeyMap,
    /// The id of each snapshot row's key among the touched keys ([`NONE`]: untouched).
    pub snapshot_ids: Vec<u32>,
    /// What happened to each touched key, by id.
    pub outcomes: Vec<KeyOutcome>,
    pub anomalies: Vec<Anomaly>,
    /// The greatest sequence value among the changes applied.
    pub newest_applied: Option<i128>,
    /// The last truncate applied, in the order changes apply in.
    pub newest_truncate: Option<usize>,
    /// Per change, when asked for: what its key held just before it applied (see
    /// [`Previous`]); what an update's null fields keep under `ignore_null_updates`.
    pub previous: Option<Vec<Previous>>,
}

/// What a key held just before a change applied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Previous {
    /// Nothing: the key did not exist (or the change was not applied).
    Nothing,
    /// The snapshot's row.
    Snapshot(u32),
    /// The values of an earlier change.
    Change(u32),
}

/// Replays `set` (the concatenated `changes`) over the snapshot whose keys are
/// `snapshot_keys`, after the `versions` of earlier runs.
pub(super) fn replay(
    set: &ChangeSet,
    snapshot_keys: &KeyValues,
    versions: Option<&Versions>,
    changes: &[ChangeBatch],
    options: &ApplyOptions,
    track_previous: bool,
) -> Result<Replay> {
    let n_changes = set.ops.len();
    // Ids for the changes' keys, then for the keys moves move from.
    let (keymap, ids) = KeyMap::build(KeyValues::new(&set.all_keys));
    let n_ids = keymap.len();
    // The id of the key each change moves its row from (NONE: not a move).
    let mut moved_from = vec![NONE; if set.moves.is_empty() { 0 } else { n_changes }];
    for (j, &c) in set.moves.iter().enumerate() {
        moved_from[c as usize] = ids[n_changes + j];
    }

    // The id of each snapshot row's key among the changed keys (NONE: untouched), and back.
    let snapshot_ids = keymap.ids_of(snapshot_keys, NONE);
    let mut before = vec![NONE; n_ids];
    for (row, &id) in snapshot_ids.iter().enumerate() {
        if id != NONE {
            before[id as usize] = row as u32;
        }
    }
    // The row of each changed key in the versions of earlier runs (NONE: no version yet).
    let mut stored = vec![NONE; n_ids];
    if let (Some(v), Some(_)) = (versions, &set.sequence) {
        let version_keys = KeyValues::new(v.key_columns());
        for row in 0..v.rows.num_rows() {
            if let Some(id) = keymap.probe(&version_keys, row) {
                stored[id as usize] = row as u32;
            }
        }
    }
    let stored_positions = versions.map(Versions::positions);
    // A change before the newest truncate of earlier runs came before the table was emptied.
    let truncated_at = versions.and_then(Versions::truncated_at);
    let mut newest_truncate = None;
    // Each file's place in the apply order, for changes whose sequence ties a stored one.
    let file_orders: Vec<FileOrder> = changes.iter().map(|c| FileOrder::of(&c.file)).collect();
    let position = |c: usize, sequence: i128| -> Position {
        let (file, row) = set.sources.file_index_and_row(c);
        Position {
            sequence,
            change_sequence: set.change_sequence.as_ref().map(|cs| cs[c]),
            file: file_orders[file],
            row,
        }
    };

    // Replay the changes key by key, in order, to find each key's last change and what
    // looked wrong on the way.
    let order = change_order(set);
    let mut exists: Vec<bool> = before.iter().map(|&b| b != NONE).collect();
    let mut last = vec![NONE; n_ids];
    let mut count = vec![0u32; n_ids];
    let mut appeared = vec![false; n_ids];
    let mut log = AnomalyLog::default();
    // An example of an anomaly: the change, and the key it concerns (a row of `all_keys`).
    let example = |change: usize, key_row: usize| {
        let at = set.location(change);
        Example {
            key: format_key(&set.all_keys, key_row),
            file: at.file,
            row: at.row.unwrap_or(0),
        }
    };
    let mut newest_applied: Option<i128> = None;
    let mut previous = track_previous.then(|| vec![Previous::Nothing; n_changes]);
    // What key `k` holds now.
    let holds = |k: usize, exists: &[bool], last: &[u32]| match (exists[k], last[k], before[k]) {
        (false, _, _) => Previous::Nothing,
        (true, NONE, NONE) => Previous::Nothing,
        (true, NONE, row) => Previous::Snapshot(row),
        (true, change, _) => Previous::Change(change),
    };
    for (step, &c) in order.iter().enumerate() {
        if step % CANCEL_CHECK_EVERY == 0 {
            options.cancel.check()?;
        }
        let c = c as usize;
        let at = set.sequence.as_ref().map(|(_, seq)| position(c, seq[c]));
        // Whether the change comes after what key `id` has from earlier runs: only earlier
        // runs can hold a newer position, as this run's changes come in order.
        let after_version = |id: usize| match &at {
            Some(at) => {
                stored[id] == NONE
                    || stored_positions
                        .as_ref()
                        .expect("stored rows come from versions")
                        .precedes(stored[id] as usize, at)
            }
            None => true,
        };
        if set.ops[c] == Op::Truncate {
            // Every key that exists now, and whose version from earlier runs is older than
            // the truncate, is deleted (a truncate older than a key's version is late for it).
            if let Some((_, seq)) = &set.sequence {
                newest_applied = newest_applied.max(Some(seq[c]));
            }
            newest_truncate = Some(c);
            for key in 0..n_ids {
                if exists[key] && after_version(key) {
                    exists[key] = false;
                    last[key] = c as u32;
                    count[key] += 1;
                }
            }
            continue;
        }
        let id = ids[c] as usize;
        let from = moved_from.get(c).copied().unwrap_or(NONE);
        // ...and after the newest truncate of earlier runs, before which the table was emptied.
        let fresh = |id: usize| {
            after_version(id)
                && at
                    .as_ref()
                    .is_none_or(|at| truncated_at.as_ref().is_none_or(|t| t.precedes(at)))
        };
        let from_fresh = from != NONE && fresh(from as usize);
        let to_fresh = fresh(id);
        if !to_fresh || (from != NONE && !from_fresh) {
            log.record(AnomalyKind::StaleChangeIgnored, || example(c, c));
        }
        if !to_fresh && !from_fresh {
            continue;
        }
        if let Some((_, seq)) = &set.sequence {
            newest_applied = newest_applied.max(Some(seq[c]));
        }
        let mut anomaly = |kind: AnomalyKind, key_row: usize| -> Result<()> {
            if options.strict {
                return Err(Error::at(
                    set.location(c),
                    ErrorKind::Anomaly(format!(
                        "{} for key {}",
                        kind.describe(),
                        format_key(&set.all_keys, key_row)
                    )),
                ));
            }
            log.record(kind, || example(c, key_row));
            Ok(())
        };
        if let Some(previous) = previous.as_mut() {
            // A move brings its old key's row along.
            let from_holds = match from_fresh {
                true => holds(from as usize, &exists, &last),
                false => Previous::Nothing,
            };
            previous[c] = match (from_holds, to_fresh) {
                (Previous::Nothing, true) => holds(id, &exists, &last),
                (held, _) => held,
            };
        }
        if from_fresh {
            // A move: its old key is deleted, at the move's position.
            let from = from as usize;
            if !exists[from] {
                anomaly(
                    AnomalyKind::UpdateOfMissingKey,
                    keymap.first_row(from as u32),
                )?;
            }
            exists[from] = false;
            last[from] = c as u32;
            count[from] += 1;
        }
        if !to_fresh {
            continue;
        }
        let op = set.ops[c];
        let kind = match (op, exists[id]) {
            // A move onto a key that exists: applied as an update of it.
            (Op::Update, true) if from != NONE => Some(AnomalyKind::InsertOfExistingKey),
            // A move to a new key: the old row's values under it.
            (Op::Update, false) if from != NONE => None,
            (Op::Insert, true) => Some(AnomalyKind::InsertOfExistingKey),
            (Op::Update, false) => Some(AnomalyKind::UpdateOfMissingKey),
            (Op::Delete, false) => Some(AnomalyKind::DeleteOfMissingKey),
            _ => None,
        };
        if let Some(kind) = kind {
            anomaly(kind, c)?;
        }
        exists[id] = op != Op::Delete;
        appeared[id] |= exists[id];
        last[id] = c as u32;
        count[id] += 1;
    }

    let outcomes: Vec<KeyOutcome> = (0..n_ids)
        .map(|id| {
            let applied = last[id] != NONE;
            KeyOutcome {
                key: keymap.first_row(id as u32),
                before: (before[id] != NONE).then_some(before[id] as usize),
                after: (applied && exists[id]).then_some(last[id] as usize),
                last: applied.then_some(last[id] as usize),
                count: count[id],
                appeared: appeared[id],
            }
        })
        .collect();

    Ok(Replay {
        keymap,
        snapshot_ids,
        outcomes,
        anomalies: log.finish(),
        newest_applied,
        newest_truncate,
        previous,
    })
}

/// The changes in the order they apply: by sequence, then change sequence when the files
/// carry one, then as they come (file, then row: the sorts are stable).
fn change_order(set: &ChangeSet) -> Vec<u32> {
    match &set.sequence {
        Some((_, seq)) => {
            let mut order: Vec<u32> = (0..set.ops.len() as u32).collect();
            match &set.change_sequence {
                // Equal timestamps (one transaction) apply in change-sequence order.
                Some(change) => order.sort_by_key(|&c| (seq[c as usize], change[c as usize])),
                None if !seq.is_sorted() => order.sort_by_key(|&c| seq[c as usize]),
                None => {} // stable sorts: ties keep file and row order
            }
            order
        }
        None => (0..set.ops.len() as u32).collect(),
    }
}

#[derive(Default)]
struct AnomalyLog {
    seen: BTreeMap<AnomalyKind, Anomaly>,
}

impl AnomalyLog {
    fn record(&mut self, kind: AnomalyKind, example: impl FnOnce() -> Example) {
        let entry = self.seen.entry(kind).or_insert_with(|| Anomaly {
            kind,
            count: 0,
            examples: Vec::new(),
        });
        entry.count += 1;
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(example());
        }
    }

    fn finish(self) -> Vec<Anomaly> {
        self.seen.into_values().collect()
    }
}
