//! The fuzz targets: one per decoder.

mod csv;
mod parquet;
mod s3_event;
mod spec;

use crate::rng::Rng;

pub trait Target {
    fn name(&self) -> &'static str;
    /// Valid inputs to start from: the repository's seed files, and inputs made from them.
    fn seeds(&self) -> Vec<Vec<u8>>;
    /// A variation of `input`; `pool` holds the other inputs kept so far.
    fn mutate(&self, input: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8>;
    /// Runs the code under test on `input`; what it answered, in short (an error's kind and
    /// column, not its text), so that inputs that lead somewhere new are kept.
    fn run(&self, input: &[u8]) -> String;
    /// Inputs are cut to this length: longer ones cost time and find nothing shorter ones don't.
    fn max_len(&self) -> usize {
        64 << 10
    }
}

pub fn all() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(csv::Csv::new()),
        Box::new(parquet::Parquet::new()),
        Box::new(s3_event::S3Event),
        Box::new(spec::Spec::new()),
    ]
}

pub fn by_name(name: &str) -> Option<Box<dyn Target>> {
    all().into_iter().find(|t| t.name() == name)
}

/// The short form of a result of the core: `ok` and a size, or the error's kind and column.
pub fn outcome<T>(result: &Result<T, tidemark_core::Error>, size: impl Fn(&T) -> usize) -> String {
    match result {
        Ok(value) => format!("ok{}", size(value).min(8)),
        Err(e) => {
            let kind = format!("{:?}", e.kind());
            let name: String = kind.chars().take_while(|c| c.is_alphanumeric()).collect();
            let column = e
                .location()
                .and_then(|l| l.column.as_deref())
                .unwrap_or("-");
            let column: String = column.chars().take(20).collect();
            format!("{name}@{column}")
        }
    }
}

/// The seed example of the repository, as (file name, bytes).
pub fn seed_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        (
            "LOAD00000001.csv",
            include_bytes!("../../../core/data/seed/LOAD00000001.csv"),
        ),
        (
            "20211017-194324349.csv",
            include_bytes!("../../../core/data/seed/20211017-194324349.csv"),
        ),
        (
            "20211018-223933563.csv",
            include_bytes!("../../../core/data/seed/20211018-223933563.csv"),
        ),
        (
            "20211018-224657689.csv",
            include_bytes!("../../../core/data/seed/20211018-224657689.csv"),
        ),
        (
            "20211018-225235856.csv",
            include_bytes!("../../../core/data/seed/20211018-225235856.csv"),
        ),
        (
            "20211018-225959941.csv",
            include_bytes!("../../../core/data/seed/20211018-225959941.csv"),
        ),
    ]
}
