//! The seed example, bundled: the original job's full load and its five change files.

use bytes::Bytes;

use crate::files::InputFile;

/// A snapshot and the change files to apply to it.
#[derive(Debug, Clone)]
pub struct Example {
    pub snapshot: Vec<InputFile>,
    pub changes: Vec<InputFile>,
}

macro_rules! seed_file {
    ($name:literal) => {
        InputFile::new(
            $name,
            Bytes::from_static(include_bytes!(concat!("../data/seed/", $name))),
        )
    };
}

/// The seed's `users` table (103 rows) and five CDC files (7 inserts, 3 updates), to be read
/// with [`TableSpec::users`](crate::TableSpec::users).
pub fn seed() -> Example {
    Example {
        snapshot: vec![seed_file!("LOAD00000001.csv")],
        changes: vec![
            seed_file!("20211017-194324349.csv"),
            seed_file!("20211018-223933563.csv"),
            seed_file!("20211018-224657689.csv"),
            seed_file!("20211018-225235856.csv"),
            seed_file!("20211018-225959941.csv"),
        ],
    }
}
