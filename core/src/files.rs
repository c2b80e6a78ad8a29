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
    files.sort_by(|a, b| (FileOrder::of(&a.name), &a.name).cmp(&(FileOrder::of(&b.name), &b.name)));
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
}
