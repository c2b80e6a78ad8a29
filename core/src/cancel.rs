//! Stopping a run part-way: a flag shared between the run and whoever may ask it to stop (a
//! Cancel button, a newer request that supersedes it).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, ErrorKind, Result};

/// A request to stop a run. The run checks it between files and phases and inside its long
/// loops, and then stops with [`ErrorKind::Cancelled`]; what it had done is dropped.
///
/// ```
/// use tidemark_core::{Cancel, ErrorKind, example, pipeline, TableSpec};
/// let cancel = Cancel::new();
/// cancel.cancel();
/// let seed = example::seed();
/// let inputs = pipeline::Inputs { snapshot: seed.snapshot, changes: seed.changes, ..Default::default() };
/// let options = pipeline::Options { cancel: cancel.clone(), ..Default::default() };
/// let err = pipeline::run(&TableSpec::users(), inputs, &options, &mut |_| {}).unwrap_err();
/// assert_eq!(*err.kind(), ErrorKind::Cancelled);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A request not made yet: [`Cancel::cancel`] on it or on a clone makes it.
    pub fn new() -> Cancel {
        Cancel(Some(Arc::new(AtomicBool::new(false))))
    }

    /// The request held by `flag`, a flag its owner sets to stop the run.
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(Some(flag))
    }

    pub fn cancel(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// `Err(Cancelled)` once the run was asked to stop.
    pub fn check(&self) -> Result<()> {
        match self.is_cancelled() {
            true => Err(Error::new(ErrorKind::Cancelled)),
            false => Ok(()),
        }
    }
}
