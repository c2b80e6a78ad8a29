//! Named input files, what their DMS names say, and the order they are applied in.
//!
//! AWS DMS names a full load `LOAD00000001.csv`, `LOAD0000000A.csv`, ... (a hex counter) and each
//! change file by the time it was written, `20211017-194324349.csv`, often below date folders
//! `2021/10/17/`. With `PreserveTransactions` and `CdcPath` it writes the changes of every table
//! into transaction files named by time too, `CDC_TXN-20201117153046033.csv`. That time, not the
//! order a directory listing happens to return, is the order the files are applied in.

use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime};

/// The bytes of one input file and the name it is known by (a path, an S3 key, an upload's name).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub name: String,
    pub bytes: Bytes,
}

impl InputFile {
    pub fn new(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        InputFile {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// What a file's DMS name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DmsName {
    /// `LOADxxxxxxxx`: part of a full load, with its hex counter.
    Load(u64),
    /// `yyyyMMdd-HHmmssSSS`: a change file written at that time; also a transaction file,
    /// `CDC_TXN-yyyyMMddHHmmssSSS` (see [`is_transaction_file`]).
    Changes(NaiveDateTime),
    /// Anything else.
    Other,
}

impl DmsName {
    /// Reads the last path component of `name`, ignoring its extensions.
    ///
    /// ```
    /// use tidemark_core::DmsName;
    /// assert_eq!(DmsName::of("dms/users/LOAD0000000A.csv"), DmsName::Load(10));
    /// let at = chrono::NaiveDate::from_ymd_opt(2021, 10, 17).unwrap().and_hms_milli_opt(19, 43, 24, 349).unwrap();
    /// assert_eq!(DmsName::of("2021/10/17/20211017-194324349.csv.gz"), DmsName::Changes(at));
    /// assert_eq!(DmsName::of("txn/CDC_TXN-20211017194324349.csv"), DmsName::Changes(at));
    /// assert_eq!(DmsName::of("cdc.parquet"), DmsName::Other);
    /// ```
    pub fn of(name: &str) -> DmsName {
        let base = base_name(name);
        let stem = base.split('.').next().unwrap_or(base);
        if let Some(hex) = stem.strip_prefix("LOAD") {
            if hex.len() == 8 {
                if let Ok(n) = u64::from_str_radix(hex, 16) {
                    return DmsName::Load(n);
                }
            }
        }
        let stamp = match stem.strip_prefix(TRANSACTION_PREFIX) {
            Some(digits) => parse_transaction_stamp(digits),
            None => parse_change_stamp(stem),
        };
        stamp.map_or(DmsName::Other, DmsName::Changes)
    }

    /// The time in a change file's name.
    pub fn timestamp(self) -> Option<NaiveDateTime> {
        match self {
            DmsName::Changes(at) => Some(at),
            _ => None,
        }
    }
}

/// What a transaction file's name starts with.
const TRANSACTION_PREFIX: &str = "CDC_TXN-";

/// Whether `name` is a DMS transaction file (`PreserveTransactions` with `CdcPath`):
/// `CDC_TXN-yyyyMMddHHmmssSSS.csv`, whose rows hold the changes of every table in transaction
/// order, each row led by its operation, its table's name and its schema's name.
///
/// ```
/// use tidemark_core::files::is_transaction_file;
/// assert!(is_transaction_file("cdc/CDC_TXN-20201117153046033.csv"));
/// assert!(!is_transaction_file("cdc/20201117-153046033.csv"));
/// assert!(!is_transaction_file("CDC_TXN-2020111715304603.csv"));
/// ```
pub fn is_transaction_file(name: &str) -> bool {
    let base = base_name(name);
    let stem = base.split('.').next().unwrap_or(base);
    stem.strip_prefix(TRANSACTION_PREFIX)
        .and_then(parse_transaction_stamp)
        .is_some()
}

/// `yyyyMMddHHmmssSSS`, the time in a transaction file's name.
fn parse_transaction_stamp(digits: &str) -> Option<NaiveDateTime> {
    if digits.len() != 17 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    parse_change_stamp(&format!("{}-{}", &digits[..8], &digits[8..]))
}

fn parse_change_stamp(stem: &str) -> Option<NaiveDateTime> {
    let b = stem.as_bytes();
    if b.len() != 18
        || b[8] != b'-'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit())
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stem[r].parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)?;
    date.and_hms_milli_opt(num(9..11)?, num(11..13)?, num(13..15)?, num(15..18)?)
}

/// Sorts files into the order they are applied: DMS full-load parts by counter, change files by
/// the time in their names, files with other names after them by name (see [`FileOrder`]).
/// Ties break by full name, so the order never depends on how the files were listed.
pub fn sort_for_apply(files: &mut [InputFile]) {
    sort_by_apply_order(files, |f| &f.name);
}

/// Sorts anything named into the apply order of [`sort_for_apply`], by the name `name` gives.
pub fn sort_by_apply_order<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| {
        let (a, b) = (name(a), name(b));
        (FileOrder::of(a), a).cmp(&(FileOrder::of(b), b))
    });
}

/// A file's place in the apply order, from the last component of its name alone: one file
/// named by two paths (`ch/x.csv`, `./ch/x.csv`) or by an S3 key takes one place, so runs
/// that name it differently agree on it.
///
/// ```
/// use tidemark_core::files::FileOrder;
/// assert!(FileOrder::of("LOAD00000002.csv") < FileOrder::of("LOAD0000000A.csv"));
/// assert!(FileOrder::of("LOAD0000000A.csv") < FileOrder::of("2021/10/17/20211017-194324349.csv"));
/// assert!(FileOrder::of("b/20211017-194324349.csv") < FileOrder::of("a/20211018-000000000.csv"));
/// assert!(FileOrder::of("20211018-000000000.csv") < FileOrder::of("cdc.parquet"));
/// assert!(FileOrder::of("CDC_TXN-20211017194324349.csv") < FileOrder::of("20211018-000000000.csv"));
/// assert_eq!(FileOrder::of("ch/x.csv"), FileOrder::of("./ch/x.csv"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileOrder<'a> {
    rank: u8,
    dms: DmsName,
    base: &'a str,
}

impl<'a> FileOrder<'a> {
    pub fn of(name: &'a str) -> FileOrder<'a> {
        let dms = DmsName::of(name);
        let rank = match dms {
            DmsName::Load(_) => 0,
            DmsName::Changes(_) => 1,
            DmsName::Other => 2,
        };
        FileOrder {
            rank,
            dms,
            base: base_name(name),
        }
    }

    /// The last component of the name, which is all the order depends on.
    pub fn base(&self) -> &'a str {
        self.base
    }
}

/// The last component of a path or S3 key.
pub fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// How a file's bytes are encoded, told by their first bytes rather than the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    CsvGzip,
    Parquet,
}

impl FileFormat {
    pub fn detect(name: &str, bytes: &[u8]) -> FileFormat {
        if bytes.starts_with(b"PAR1") || name.ends_with(".parquet") || name.ends_with(".parq") {
            FileFormat::Parquet
        } else if bytes.starts_with(&[0x1f, 0x8b]) || name.ends_with(".gz") {
            FileFormat::CsvGzip
        } else {
            FileFormat::Csv
        }
    }
}

/// The endings of the data files Tidemark reads: DMS CSV, gzip'd CSV and Parquet. Files with
/// other endings in a folder (and hidden files) are not data.
pub const DATA_FILE_ENDINGS: [&str; 3] = [".csv", ".csv.gz", ".parquet"];

/// The extensions a file dialog offers for data files (`gz` for `.csv.gz`).
pub const DATA_FILE_EXTENSIONS: [&str; 3] = ["csv", "gz", "parquet"];

/// Whether a file of this name is a data file (see [`DATA_FILE_ENDINGS`]).
///
/// ```
/// use tidemark_core::files::is_data_file;
/// assert!(is_data_file("2021/10/17/20211017-194324349.csv.gz"));
/// assert!(!is_data_file("dms/.20211017-194324349.csv"));
/// assert!(!is_data_file("notes.txt"));
/// ```
pub fn is_data_file(name: &str) -> bool {
    let base = base_name(name);
    !base.starts_with('.') && DATA_FILE_ENDINGS.iter().any(|end| base.ends_with(end))
}

/// The state a run keeps for the next one: per key, the position of its last change.
pub const STATE_FILE: &str = "state.parquet";
/// The run report.
pub const REPORT_FILE: &str = "report.json";
/// Every change applied, per key: what history (`[history]`) keeps for the next run.
pub const CHANGE_LOG_FILE: &str = "change_log.parquet";

/// The files a run writes into its output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFile {
    /// The new table, the next run's snapshot.
    Snapshot,
    /// The table with its feature columns.
    Enriched,
    /// One row per touched key.
    Diff,
    /// [`STATE_FILE`], always Parquet.
    State,
    /// Every version of every key (`[history]` in the spec).
    History,
    /// [`CHANGE_LOG_FILE`], always Parquet (`[history]` in the spec).
    ChangeLog,
    /// [`REPORT_FILE`].
    Report,
}

impl OutputFile {
    pub const ALL: [OutputFile; 7] = [
        OutputFile::Snapshot,
        OutputFile::Enriched,
        OutputFile::Diff,
        OutputFile::State,
        OutputFile::History,
        OutputFile::ChangeLog,
        OutputFile::Report,
    ];

    /// The stem of its name: `snapshot`, `enriched`, ...
    pub fn stem(self) -> &'static str {
        match self {
            OutputFile::Snapshot => "snapshot",
            OutputFile::Enriched => "enriched",
            OutputFile::Diff => "diff",
            OutputFile::State => "state",
            OutputFile::History => "history",
            OutputFile::ChangeLog => "change_log",
            OutputFile::Report => "report",
        }
    }

    /// Its file name when tables are written as `format`.
    ///
    /// ```
    /// use tidemark_core::{OutputFormat, files::OutputFile};
    /// assert_eq!(OutputFile::Enriched.file_name(OutputFormat::Csv), "enriched.csv");
    /// assert_eq!(OutputFile::State.file_name(OutputFormat::Csv), "state.parquet");
    /// ```
    pub fn file_name(self, format: crate::OutputFormat) -> String {
        match self {
            OutputFile::State => STATE_FILE.to_string(),
            OutputFile::ChangeLog => CHANGE_LOG_FILE.to_string(),
            OutputFile::Report => REPORT_FILE.to_string(),
            table => format!("{}.{}", table.stem(), format.extension()),
        }
    }
}

impl std::str::FromStr for OutputFile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        OutputFile::ALL
            .into_iter()
            .find(|o| o.stem() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = OutputFile::ALL.iter().map(|o| o.stem()).collect();
                format!(
                    "unknown output {text:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// What a file's name says it is among files opened together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedAs {
    /// `snapshot.parquet` or `snapshot.csv`: the table an earlier run wrote.
    Snapshot,
    /// `LOAD00000001.csv`, ...: a part of a DMS full load.
    LoadPart,
    /// [`STATE_FILE`]: the state an earlier run kept.
    State,
    /// Anything else: a change file, or a snapshot named otherwise.
    Other,
}

impl NamedAs {
    pub fn of(name: &str) -> NamedAs {
        let base = base_name(name);
        if base == STATE_FILE {
            NamedAs::State
        } else if base.split('.').next() == Some(OutputFile::Snapshot.stem()) {
            NamedAs::Snapshot
        } else if matches!(DmsName::of(base), DmsName::Load(_)) {
            NamedAs::LoadPart
        } else {
            NamedAs::Other
        }
    }
}

/// Files opened together, told apart by their names (see [`classify`]).
#[derive(Debug, Clone, Default)]
pub struct Opened {
    pub snapshot: Vec<InputFile>,
    pub state: Option<InputFile>,
    pub changes: Vec<InputFile>,
}

/// Which of the files opened together is the snapshot: a file named `snapshot.*` (Parquet
/// first), else the DMS full-load parts `LOAD*.csv`, else the first file. [`STATE_FILE`] is
/// the state of an earlier run. The rest are change files; other copies of the snapshot
/// (`snapshot.csv` beside `snapshot.parquet`, the full load it was made from) are dropped.
///
/// ```
/// use tidemark_core::{InputFile, files::classify};
/// let names = ["d/cdc.parquet", "d/LOAD00000001.csv", "d/snapshot.parquet", "d/state.parquet"];
/// let opened = classify(names.iter().map(|n| InputFile::new(*n, Vec::new())).collect());
/// assert_eq!(opened.snapshot[0].name, "d/snapshot.parquet");
/// assert_eq!(opened.state.unwrap().name, "d/state.parquet");
/// assert_eq!(opened.changes.len(), 1);
/// ```
pub fn classify(files: Vec<InputFile>) -> Opened {
    let (state, files): (Vec<InputFile>, Vec<InputFile>) = files
        .into_iter()
        .partition(|f| NamedAs::of(&f.name) == NamedAs::State);
    let named = |f: &InputFile| NamedAs::of(&f.name);
    let snapshot_index = files
        .iter()
        .position(|f| named(f) == NamedAs::Snapshot && f.name.ends_with(".parquet"))
        .or_else(|| files.iter().position(|f| named(f) == NamedAs::Snapshot));
    let (snapshot, changes) = if let Some(index) = snapshot_index {
        let mut changes = files;
        let snapshot = changes.remove(index);
        changes.retain(|f| named(f) == NamedAs::Other);
        (vec![snapshot], changes)
    } else if files.iter().any(|f| named(f) == NamedAs::LoadPart) {
        files
            .into_iter()
            .partition(|f| named(f) == NamedAs::LoadPart)
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

/// Whether files opened together name a snapshot (rather than being change files only).
pub fn names_a_snapshot(files: &[InputFile]) -> bool {
    files
        .iter()
        .any(|f| matches!(NamedAs::of(&f.name), NamedAs::Snapshot | NamedAs::LoadPart))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[InputFile]) -> Vec<&str> {
        files.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn change_files_apply_in_the_order_of_their_timestamps_not_their_listing() {
        let mut files: Vec<InputFile> = [
            "cdc/2021/10/18/20211018-223933563.csv",
            "cdc/2021/10/17/20211017-194324349.csv",
            "cdc/2021/10/18/20211018-225959941.csv.gz",
            "cdc/2021/10/18/20211018-224657689.parquet",
        ]
        .into_iter()
        .map(|n| InputFile::new(n, Vec::new()))
        .collect();
        sort_for_apply(&mut files);
        assert_eq!(
            names(&files),
            [
                "cdc/2021/10/17/20211017-194324349.csv",
                "cdc/2021/10/18/20211018-223933563.csv",
                "cdc/2021/10/18/20211018-224657689.parquet",
                "cdc/2021/10/18/20211018-225959941.csv.gz",
            ]
        );
    }

    #[test]
    fn transaction_files_apply_in_the_order_of_the_time_in_their_names() {
        let mut files: Vec<InputFile> = [
            "txn/CDC_TXN-20201117153046033.csv",
            "txn/CDC_TXN-20201117090000000.csv",
            "txn/CDC_TXN-20201118000000001.csv",
            "txn/CDC_TXN-20201117153046032.csv",
        ]
        .into_iter()
        .map(|n| InputFile::new(n, Vec::new()))
        .collect();
        sort_for_apply(&mut files);
        assert_eq!(
            names(&files),
            [
                "txn/CDC_TXN-20201117090000000.csv",
                "txn/CDC_TXN-20201117153046032.csv",
                "txn/CDC_TXN-20201117153046033.csv",
                "txn/CDC_TXN-20201118000000001.csv",
            ]
        );
        assert!(!is_transaction_file("CDC_TXN-20201317153046033.csv"));
        assert_eq!(DmsName::of("CDC_TXN-2020111715304603x.csv"), DmsName::Other);
    }

    #[test]
    fn full_load_parts_order_by_their_hex_counter() {
        let mut files: Vec<InputFile> =
            ["LOAD00000010.csv", "LOAD0000000A.csv", "LOAD00000002.csv"]
                .into_iter()
                .map(|n| InputFile::new(n, Vec::new()))
                .collect();
        sort_for_apply(&mut files);
        assert_eq!(
            names(&files),
            ["LOAD00000002.csv", "LOAD0000000A.csv", "LOAD00000010.csv"]
        );
    }

    #[test]
    fn impossible_timestamps_are_not_dms_names() {
        assert_eq!(DmsName::of("20211317-194324349.csv"), DmsName::Other);
        assert_eq!(DmsName::of("2021101-7194324349.csv"), DmsName::Other);
        assert_eq!(DmsName::of("LOADXYZ00001.csv"), DmsName::Other);
    }

    #[test]
    fn formats_are_told_by_content_first() {
        assert_eq!(
            FileFormat::detect("x.csv", b"PAR1...."),
            FileFormat::Parquet
        );
        assert_eq!(
            FileFormat::detect("x", &[0x1f, 0x8b, 8]),
            FileFormat::CsvGzip
        );
        assert_eq!(FileFormat::detect("x.csv", b"I,1,a"), FileFormat::Csv);
    }

    fn files(names: &[&str]) -> Vec<InputFile> {
        names
            .iter()
            .map(|n| InputFile::new(*n, Vec::new()))
            .collect()
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
}
