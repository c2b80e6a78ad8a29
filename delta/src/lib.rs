//! Tidemark's tables as Delta Lake tables, on a local folder or `s3://bucket/prefix`, through
//! the official Delta kernel (`delta_kernel` and its default engine).
//!
//! A place (`--out`) holds up to three Delta tables, one folder each:
//!
//! | folder | what | each run |
//! |---|---|---|
//! | `table/` | the maintained table, partitioned by `_tidemark_bucket` (a hash of the key, [`bucket`]) | rewrites only the buckets its changes touch: one commit that removes their files and adds their new ones, with Tidemark's state ([`meta`]) |
//! | `diff/` | the change feed: every run's diff, with `_tidemark_table_version` | appends one commit |
//! | `enriched/` | the table with its features | replaces it in one commit |
//!
//! Tidemark's state (the position of each key's last change, deleted keys included) is kept
//! per bucket in files under `table/_tidemark_state/`, named by the `tidemark` domain metadata
//! of the commit that wrote them: a reader of any version of the table finds the state that
//! goes with it, and a run that fails before its commit leaves the table as it was.

pub mod bucket;
mod load;
pub mod meta;
pub mod read;
pub mod run;
pub mod store;
pub mod table;

pub use run::{Applied, Part, Plan, Planned, Request, apply, apply_planned};
pub use store::{Objects, Place};

/// Why a Delta run failed.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error(transparent)]
    Core(#[from] tidemark_core::Error),
    #[error("Delta: {0}")]
    Kernel(#[from] delta_kernel::KernelError),
    #[error("object store: {0}")]
    Store(#[from] delta_kernel::object_store::Error),
    #[error(transparent)]
    Arrow(arrow_schema::ArrowError),
    #[error("{0}")]
    Location(String),
    /// An input that could not be read (its name and why).
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Layout(String),
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("another writer kept committing first: gave up after {0} attempts")]
    Busy(u32),
    /// The object announced is not there in the version announced any more: it was
    /// uploaded again (a later event announces the new version) or removed.
    #[error(
        "{object} is no longer the version announced (ETag {etag}): it was uploaded again or removed"
    )]
    Superseded { object: String, etag: String },
}

/// Fault injection for the crash tests: `TIDEMARK_FAILPOINT=NAME` aborts the process at the
/// point of that name, as a kill would (the edge function's failpoints follow the same rule).
pub(crate) fn failpoint(name: &str) {
    if std::env::var("TIDEMARK_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
