//! What is under review: the table spec, the snapshot, the change files (each of which can be
//! left out) and the settings the features are computed with. Plain data, cheap to clone (file
//! contents are shared `Bytes`), so every background run gets its own copy.
//!
//! Reading paths from disk lives here too: paths are how a desktop user names inputs.

use std::path::PathBuf;

use chrono::NaiveDate;
use tidemark::io::inputs::{self, InputError, Reading};
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::{self, NamedAs, Opened, classify};
use tidemark_core::pipeline::{Inputs, Options};
use tidemark_core::{InputFile, TableSpec};

#[derive(Debug, Clone)]
pub struct Session {
    pub spec: TableSpec,
    /// The snapshot: one Parquet or CSV file, or the parts of a DMS full load.
    pub snapshot: Vec<InputFile>,
    /// An earlier run's `state.parquet`, when the snapshot came from one.
    pub state: Option<InputFile>,
    /// In the order they are applied (by the time in their DMS names).
    pub changes: Vec<ChangeFile>,
    /// A newer full snapshot: the changes between it and `snapshot` are worked out by key
    /// (the core's `snapshot_diff`, as `tidemark apply --next-snapshot` does).
    pub next_snapshot: Vec<InputFile>,
    /// When the snapshots are two versions of a Delta table: which.
    pub delta: Option<DeltaVersions>,
    pub settings: Settings,
}

/// Two versions of one Delta table under comparison: the snapshot is version `from`, the next
/// snapshot version `to` (time travel, as `--snapshot-version` / `--next-snapshot-version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaVersions {
    /// A folder (the table, or the place `tidemark apply --delta` writes, with `table/`) or an
    /// `s3://` URL, as given.
    pub location: String,
    /// The table's latest version when it was read: versions 0 to it can be compared.
    pub latest: u64,
    pub from: u64,
    pub to: u64,
}

#[derive(Debug, Clone)]
pub struct ChangeFile {
    pub file: InputFile,
    /// Unticked files are left out of the run, to see the result without them.
    pub included: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: the date of the newest change applied, as the core infers it.
    pub as_of: Option<NaiveDate>,
    pub window_days: u32,
    /// `None`: the bundled GeoNames US cities.
    pub lookup: Option<InputFile>,
}

impl Settings {
    fn for_spec(spec: &TableSpec) -> Settings {
        Settings {
            as_of: None,
            window_days: spec.features.as_ref().map_or(90, |f| f.window_days),
            lookup: None,
        }
    }
}

impl Session {
    pub fn new(spec: TableSpec, snapshot: Vec<InputFile>, changes: Vec<InputFile>) -> Session {
        let settings = Settings::for_spec(&spec);
        let mut session = Session {
            spec,
            snapshot,
            state: None,
            changes: Vec::new(),
            next_snapshot: Vec::new(),
            delta: None,
            settings,
        };
        session.add_changes(changes);
        session
    }

    /// Nothing open yet, for the bundled `users` spec.
    pub fn empty() -> Session {
        Session::new(TableSpec::users(), Vec::new(), Vec::new())
    }

    /// The bundled seed: the `users` full load and its five change files.
    pub fn seed() -> Session {
        let seed = tidemark_core::example::seed();
        Session::new(TableSpec::users(), seed.snapshot, seed.changes)
    }

    /// A new session on opened files, keeping the spec and settings of this one.
    pub fn reopened(&self, opened: Opened) -> Session {
        let mut session = Session::new(self.spec.clone(), opened.snapshot, opened.changes);
        session.state = opened.state;
        session.settings = self.settings.clone();
        session
    }

    /// Replaces the snapshot (and forgets the state that belonged to the old one).
    pub fn replace_snapshot(&mut self, snapshot: Vec<InputFile>, state: Option<InputFile>) {
        self.snapshot = snapshot;
        self.state = state;
        self.next_snapshot.clear();
        self.delta = None;
    }

    /// The session comparing versions `from` and `to` of the Delta table at `location` (the
    /// latest version and the one before it when `None`), read as `tidemark apply --snapshot
    /// LOCATION --snapshot-version FROM --next-snapshot LOCATION --next-snapshot-version TO`
    /// reads them (`tidemark_delta::read`: a folder or `s3://`), with this session's spec and
    /// settings. Version `from`'s state comes with it, when Tidemark keeps the table.
    pub fn delta_versions(
        &self,
        location: &str,
        versions: Option<(u64, u64)>,
    ) -> Result<Session, String> {
        let location = location.trim();
        if location.is_empty() || !tidemark_delta::read::is_table(location) {
            return Err(format!(
                "{location:?} is not a Delta table: give a folder with _delta_log/ (or the \
                 folder `tidemark apply --delta` writes, with table/_delta_log/), or an s3:// URL"
            ));
        }
        let latest = tidemark_delta::read::latest_version(location).map_err(|e| e.to_string())?;
        let (from, to) = versions.unwrap_or((latest.saturating_sub(1), latest));
        if from > latest || to > latest {
            return Err(format!("{location} has versions 0 to {latest}"));
        }
        let read = |version| {
            tidemark_delta::read::read_table(location, Some(version)).map_err(|e| e.to_string())
        };
        let (older, newer) = (read(from)?, read(to)?);
        let mut session = Session::new(self.spec.clone(), vec![older.rows], Vec::new());
        session.state = older.state;
        session.settings = self.settings.clone();
        // Two snapshots date no change: the features are as of the newest date in version B,
        // as the core dates a run that applies no change (a date picked in the app stays).
        if session.settings.as_of.is_none() {
            session.settings.as_of = newest_date(&self.spec, &newer.rows);
        }
        session.next_snapshot = vec![newer.rows];
        session.delta = Some(DeltaVersions {
            location: location.to_string(),
            latest,
            from,
            to,
        });
        Ok(session)
    }

    /// Adds change files, included; a file already present under the same name is replaced.
    pub fn add_changes(&mut self, files: Vec<InputFile>) {
        for file in files {
            self.changes.retain(|c| c.file.name != file.name);
            self.changes.push(ChangeFile {
                file,
                included: true,
            });
        }
        files::sort_by_apply_order(&mut self.changes, |c| &c.file.name);
    }

    pub fn remove_change(&mut self, name: &str) {
        self.changes.retain(|c| c.file.name != name);
    }

    pub fn set_included(&mut self, name: &str, included: bool) {
        for change in &mut self.changes {
            if change.file.name == name {
                change.included = included;
            }
        }
    }

    pub fn included_changes(&self) -> impl Iterator<Item = &InputFile> {
        self.changes.iter().filter(|c| c.included).map(|c| &c.file)
    }

    /// Bytes the next run decodes, to turn the core's per-file progress into a fraction.
    pub fn input_bytes(&self) -> usize {
        let snapshot: usize = self.snapshot.iter().map(|f| f.bytes.len()).sum();
        let changes: usize = self.included_changes().map(|f| f.bytes.len()).sum();
        let next: usize = self.next_snapshot.iter().map(|f| f.bytes.len()).sum();
        snapshot + changes + next + self.state.as_ref().map_or(0, |f| f.bytes.len())
    }

    pub fn pipeline_inputs(&self) -> Inputs {
        Inputs {
            snapshot: self.snapshot.clone(),
            state: self.state.clone(),
            changes: self.included_changes().cloned().collect(),
            change_log: None,
            next_snapshot: self.next_snapshot.clone(),
        }
    }

    /// The run's options; reading a user's lookup file can fail, with the file's name.
    pub fn pipeline_options(&self) -> tidemark_core::Result<Options> {
        let lookup = match &self.settings.lookup {
            Some(file) => Some(Lookup::from_file(file)?),
            None => None,
        };
        Ok(Options {
            as_of: self.settings.as_of,
            window_days: Some(self.settings.window_days),
            lookup,
            ..Default::default()
        })
    }
}

/// The newest value of the features' date column in a table's Parquet file, if any.
fn newest_date(spec: &TableSpec, rows: &InputFile) -> Option<NaiveDate> {
    let column = &spec.features.as_ref()?.date;
    let table = tidemark_core::decode::read_parquet(rows).ok()?;
    tidemark_core::pipeline::newest_date(&table, column)
}

/// What a set of files read from disk is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// A snapshot and change files, told apart by [`classify`]: a new session.
    Open,
    /// Dropped on the window: opened when they name a snapshot, else added as change files.
    Dropped,
    /// The snapshot (or the parts of a full load); the change files stay.
    Snapshot,
    Changes,
    Lookup,
}

impl Session {
    /// This session with files read from disk put in their place.
    pub fn with_files(&self, role: FileRole, files: Vec<InputFile>) -> Result<Session, String> {
        if files.is_empty() {
            return Err("no files chosen".into());
        }
        let mut session = self.clone();
        match role {
            FileRole::Dropped if !files::names_a_snapshot(&files) => session.add_changes(files),
            FileRole::Open | FileRole::Dropped => session = self.reopened(classify(files)),
            FileRole::Snapshot => {
                let (state, parts): (Vec<InputFile>, Vec<InputFile>) = files
                    .into_iter()
                    .partition(|f| NamedAs::of(&f.name) == NamedAs::State);
                session.replace_snapshot(parts, state.into_iter().next());
            }
            FileRole::Changes => session.add_changes(files),
            FileRole::Lookup => session.settings.lookup = files.into_iter().next(),
        }
        Ok(session)
    }
}

/// The last component of a file's name, for lists where the full path is too long.
pub fn short_name(name: &str) -> &str {
    files::base_name(name)
}

/// Reads files, and the data files (`.csv`, `.csv.gz`, `.parquet`) below folders, searched
/// deep (DMS writes change files below date folders), each file once. A file's name is its
/// path as given.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<InputFile>, InputError> {
    inputs::data_files(paths, Reading::CopyAll)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<InputFile> {
        names
            .iter()
            .map(|n| InputFile::new(*n, b"x".to_vec()))
            .collect()
    }

    #[test]
    fn change_files_are_kept_in_apply_order_and_replaced_by_name() {
        let mut session = Session::new(
            TableSpec::users(),
            files(&["LOAD00000001.csv"]),
            files(&["x/20211018-223933563.csv", "y/20211017-194324349.csv"]),
        );
        session.add_changes(files(&[
            "z/20211017-000000000.csv",
            "x/20211018-223933563.csv",
        ]));
        let order: Vec<&str> = session
            .changes
            .iter()
            .map(|c| c.file.name.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "z/20211017-000000000.csv",
                "y/20211017-194324349.csv",
                "x/20211018-223933563.csv"
            ]
        );
        session.set_included("y/20211017-194324349.csv", false);
        assert_eq!(session.pipeline_inputs().changes.len(), 2);
    }

    #[test]
    fn folders_are_searched_deep_for_data_files() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("2021/10/17");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("20211017-194324349.csv"), "U,6,a,b,2021-10-15\n").unwrap();
        std::fs::write(dir.path().join("LOAD00000001.csv"), "6,a,b,2021-10-01\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not data").unwrap();
        let read = read_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(read.len(), 2);
        let opened = classify(read);
        assert!(opened.snapshot[0].name.ends_with("LOAD00000001.csv"));
        assert!(opened.changes[0].name.ends_with("20211017-194324349.csv"));
    }
}
