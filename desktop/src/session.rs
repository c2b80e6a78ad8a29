//! What is under review: the table spec, the snapshot, the change files (each of which can be
//! left out) and the settings the features are computed with. Plain data, cheap to clone (file
//! contents are shared `Bytes`), so every background run gets its own copy.
//!
//! Reading paths from disk lives here too: paths are how a desktop user names inputs.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::sort_for_apply;
use tidemark_core::pipeline::{Inputs, Options};
use tidemark_core::{DmsName, InputFile, TableSpec};

/// The file name a previous run gives its versions; it travels with its snapshot.
const STATE_FILE: &str = "state.parquet";

#[derive(Debug, Clone)]
pub struct Session {
    pub spec: TableSpec,
    /// The snapshot: one Parquet or CSV file, or the parts of a DMS full load.
    pub snapshot: Vec<InputFile>,
    /// An earlier run's `state.parquet`, when the snapshot came from one.
    pub state: Option<InputFile>,
    /// In the order they are applied (by the time in their DMS names).
    pub changes: Vec<ChangeFile>,
    pub settings: Settings,
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
        sort_in_apply_order(&mut self.changes);
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
        snapshot + changes + self.state.as_ref().map_or(0, |f| f.bytes.len())
    }

    pub fn pipeline_inputs(&self) -> Inputs {
        Inputs {
            snapshot: self.snapshot.clone(),
            state: self.state.clone(),
            changes: self.included_changes().cloned().collect(),
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

/// Orders change files as the core applies them. The core sorts `InputFile`s only, so sort
/// their names that way and follow.
fn sort_in_apply_order(changes: &mut [ChangeFile]) {
    let mut files: Vec<InputFile> = changes
        .iter()
        .map(|c| InputFile::new(c.file.name.clone(), Vec::new()))
        .collect();
    sort_for_apply(&mut files);
    changes.sort_by_key(|c| files.iter().position(|f| f.name == c.file.name));
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
            FileRole::Dropped if !Opened::names_a_snapshot(&files) => session.add_changes(files),
            FileRole::Open | FileRole::Dropped => session = self.reopened(classify(files)),
            FileRole::Snapshot => {
                let (state, parts): (Vec<InputFile>, Vec<InputFile>) = files
                    .into_iter()
                    .partition(|f| base_name(&f.name) == STATE_FILE);
                session.replace_snapshot(parts, state.into_iter().next());
            }
            FileRole::Changes => session.add_changes(files),
            FileRole::Lookup => session.settings.lookup = files.into_iter().next(),
        }
        Ok(session)
    }
}

/// Files opened together, told apart by their names.
#[derive(Debug, Clone, Default)]
pub struct Opened {
    pub snapshot: Vec<InputFile>,
    pub state: Option<InputFile>,
    pub changes: Vec<InputFile>,
}

/// Which of the files opened together is the snapshot: a file named `snapshot.*` (Parquet
/// first), else the DMS full-load parts `LOAD*.csv`, else the first file. `state.parquet` is
/// the state of an earlier run. The rest are change files.
pub fn classify(files: Vec<InputFile>) -> Opened {
    let (state, files): (Vec<InputFile>, Vec<InputFile>) = files
        .into_iter()
        .partition(|f| base_name(&f.name) == STATE_FILE);
    let named_snapshot = |f: &InputFile| stem(&f.name) == "snapshot";
    let is_load = |f: &InputFile| matches!(DmsName::of(&f.name), DmsName::Load(_));

    let snapshot_index = files
        .iter()
        .position(|f| named_snapshot(f) && base_name(&f.name).ends_with(".parquet"))
        .or_else(|| files.iter().position(named_snapshot));
    let (snapshot, changes) = if let Some(index) = snapshot_index {
        let mut changes = files;
        let snapshot = changes.remove(index);
        // Another copy of the snapshot (snapshot.csv next to snapshot.parquet, or the full
        // load it was made from) is not a change file.
        changes.retain(|f| !named_snapshot(f) && !is_load(f));
        (vec![snapshot], changes)
    } else if files.iter().any(is_load) {
        files.into_iter().partition(is_load)
    } else {
        let mut changes = files;
        let snapshot = if changes.is_empty() {
            vec![]
        } else {
            vec![changes.remove(0)]
        };
        (snapshot, changes)
    };
    Opened {
        snapshot,
        state: state.into_iter().next(),
        changes,
    }
}

impl Opened {
    /// Whether the files name a snapshot (rather than being change files only).
    pub fn names_a_snapshot(files: &[InputFile]) -> bool {
        files.iter().any(|f| {
            stem(&f.name) == "snapshot" || matches!(DmsName::of(&f.name), DmsName::Load(_))
        })
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn stem(name: &str) -> &str {
    let base = base_name(name);
    base.split('.').next().unwrap_or(base)
}

/// The last component of a file's name, for lists where the full path is too long.
pub fn short_name(name: &str) -> &str {
    base_name(name)
}

/// Reads files, and the data files (`.csv`, `.csv.gz`, `.parquet`) below folders, in name order.
/// A file's name is its path as given.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<InputFile>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = data_files_below(path)?;
            if found.is_empty() {
                return Err(format!(
                    "{}: no data files here (expected .csv, .csv.gz or .parquet files)",
                    path.display()
                ));
            }
            for file in found {
                files.push(read_file(&file)?);
            }
        } else {
            files.push(read_file(path)?);
        }
    }
    Ok(files)
}

pub fn read_file(path: &Path) -> Result<InputFile, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(InputFile::new(path.display().to_string(), bytes))
}

fn is_data_file(name: &str) -> bool {
    !name.starts_with('.')
        && [".csv", ".csv.gz", ".parquet"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// DMS writes change files below date folders (`2021/10/17/`), so folders are searched deep.
fn data_files_below(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                .path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() && !name.starts_with('.') {
                pending.push(path);
            } else if is_data_file(&name) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
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

    fn names(files: &[InputFile]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn a_file_named_snapshot_is_the_snapshot_and_its_copies_are_not_changes() {
        let opened = classify(files(&[
            "d/LOAD00000001.csv",
            "d/cdc.parquet",
            "d/snapshot.csv",
            "d/snapshot.parquet",
        ]));
        assert_eq!(names(&opened.snapshot), ["d/snapshot.parquet"]);
        assert_eq!(names(&opened.changes), ["d/cdc.parquet"]);
    }

    #[test]
    fn full_load_parts_are_the_snapshot() {
        let opened = classify(files(&[
            "20211017-194324349.csv",
            "LOAD00000002.csv",
            "LOAD00000001.csv",
        ]));
        assert_eq!(
            names(&opened.snapshot),
            ["LOAD00000002.csv", "LOAD00000001.csv"]
        );
        assert_eq!(names(&opened.changes), ["20211017-194324349.csv"]);
    }

    #[test]
    fn otherwise_the_first_file_is_the_snapshot_and_state_travels_apart() {
        let opened = classify(files(&["users.parquet", "state.parquet", "b.csv", "a.csv"]));
        assert_eq!(names(&opened.snapshot), ["users.parquet"]);
        assert_eq!(opened.state.unwrap().name, "state.parquet");
        assert_eq!(names(&opened.changes), ["b.csv", "a.csv"]);
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
        fs::create_dir_all(&day).unwrap();
        fs::write(day.join("20211017-194324349.csv"), "U,6,a,b,2021-10-15\n").unwrap();
        fs::write(dir.path().join("LOAD00000001.csv"), "6,a,b,2021-10-01\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "not data").unwrap();
        let read = read_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(read.len(), 2);
        let opened = classify(read);
        assert!(opened.snapshot[0].name.ends_with("LOAD00000001.csv"));
        assert!(opened.changes[0].name.ends_with("20211017-194324349.csv"));
    }
}
