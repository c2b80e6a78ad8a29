//! Long work off the UI thread, one job at a time per worker, with progress and cancellation.
//!
//! Cancelling (or starting another job) marks the running job cancelled and forgets it. The
//! work stops where it next looks: a review at the core's next check ([`Progress::cancel`]
//! handed to the pipeline, which looks between files and phases and inside its replay), an
//! export before it renames its file into place. Whatever it returns is thrown away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A job that is running.
#[derive(Debug)]
pub struct Job {
    id: u64,
    pub title: String,
    pub started: Instant,
    status: Arc<Mutex<Status>>,
    cancelled: Arc<AtomicBool>,
}

#[derive(Debug, Clone, Default)]
pub struct Status {
    pub fraction: f32,
    pub stage: String,
}

impl Job {
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// What the work sees of its job.
pub struct Progress {
    status: Arc<Mutex<Status>>,
    cancelled: Arc<AtomicBool>,
    repaint: Box<dyn Fn() + Send>,
}

impl Progress {
    pub fn report(&self, fraction: f32, stage: impl Into<String>) {
        if let Ok(mut status) = self.status.lock() {
            status.fraction = fraction.clamp(0.0, 1.0);
            status.stage = stage.into();
        }
        (self.repaint)();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The job's cancellation as the core takes it, so that a cancelled review stops its run
    /// instead of keeping the shared thread pool busy to the end.
    pub fn cancel(&self) -> tidemark_core::Cancel {
        tidemark_core::Cancel::from_flag(Arc::clone(&self.cancelled))
    }
}

struct Finished<T> {
    id: u64,
    output: T,
}

/// Runs jobs on their own threads and hands back the result of the current one.
pub struct Worker<T> {
    current: Option<Job>,
    next_id: u64,
    sender: Sender<Finished<T>>,
    receiver: Receiver<Finished<T>>,
    /// Wakes the UI when a job reports or finishes (`egui::Context::request_repaint`).
    repaint: Arc<dyn Fn() + Send + Sync>,
}

impl<T: Send + 'static> Worker<T> {
    pub fn new(repaint: impl Fn() + Send + Sync + 'static) -> Self {
        let (sender, receiver) = channel();
        Worker {
            current: None,
            next_id: 0,
            sender,
            receiver,
            repaint: Arc::new(repaint),
        }
    }

    /// Starts `work` on a new thread; a job already running is cancelled.
    pub fn start(
        &mut self,
        title: impl Into<String>,
        work: impl FnOnce(&Progress) -> T + Send + 'static,
    ) {
        self.cancel();
        self.next_id += 1;
        let id = self.next_id;
        let status = Arc::new(Mutex::new(Status::default()));
        let cancelled = Arc::new(AtomicBool::new(false));
        let repaint = Arc::clone(&self.repaint);
        let progress = Progress {
            status: Arc::clone(&status),
            cancelled: Arc::clone(&cancelled),
            repaint: Box::new(move || repaint()),
        };
        let sender = self.sender.clone();
        let repaint = Arc::clone(&self.repaint);
        std::thread::Builder::new()
            .name(format!("tidemark-job-{id}"))
            .spawn(move || {
                let output = work(&progress);
                // The receiver is gone only when the app is closing.
                let _ = sender.send(Finished { id, output });
                repaint();
            })
            .expect("cannot start a thread");
        self.current = Some(Job {
            id,
            title: title.into(),
            started: Instant::now(),
            status,
            cancelled,
        });
    }

    /// Forgets the running job: its result will be discarded.
    pub fn cancel(&mut self) {
        if let Some(job) = self.current.take() {
            job.cancelled.store(true, Ordering::Relaxed);
        }
    }

    pub fn current(&self) -> Option<&Job> {
        self.current.as_ref()
    }

    pub fn is_busy(&self) -> bool {
        self.current.is_some()
    }

    /// The result of the current job, once it is done. Results of cancelled jobs are dropped.
    pub fn finished(&mut self) -> Option<T> {
        let mut result = None;
        while let Ok(done) = self.receiver.try_recv() {
            if self.current.as_ref().is_some_and(|job| job.id == done.id) {
                self.current = None;
                result = Some(done.output);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wait_for<T: Send + 'static>(worker: &mut Worker<T>) -> Option<T> {
        for _ in 0..500 {
            if let Some(output) = worker.finished() {
                return Some(output);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    #[test]
    fn a_newer_job_supersedes_the_running_one_whose_result_is_dropped() {
        let mut worker = Worker::new(|| {});
        let (release, gate) = channel::<()>();
        worker.start("slow", move |_| {
            gate.recv().unwrap();
            "old"
        });
        worker.start("fast", |_| "new");
        release.send(()).unwrap();
        assert_eq!(wait_for(&mut worker), Some("new"));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(worker.finished(), None, "the old result must never arrive");
        assert!(!worker.is_busy());
    }

    #[test]
    fn a_cancelled_review_stops_its_core_run() {
        let mut worker = Worker::new(|| {});
        let (started_tx, started_rx) = channel();
        let (release, gate) = channel::<()>();
        let (result_tx, result_rx) = channel();
        worker.start("review", move |progress| {
            let cancel = progress.cancel();
            started_tx.send(()).unwrap();
            gate.recv().unwrap();
            let seed = tidemark_core::example::seed();
            let inputs = tidemark_core::pipeline::Inputs {
                snapshot: seed.snapshot,
                changes: seed.changes,
                state: None,
                change_log: None,
                next_snapshot: Vec::new(),
            };
            let options = tidemark_core::pipeline::Options {
                cancel,
                ..Default::default()
            };
            let result = tidemark_core::pipeline::run(
                &tidemark_core::TableSpec::users(),
                inputs,
                &options,
                &mut |_| {},
            )
            .map(|_| ())
            .map_err(|e| e.kind().clone());
            result_tx.send(result.clone()).unwrap();
            result
        });
        started_rx.recv().unwrap();
        let (seen_tx, seen_rx) = channel();
        worker.start("next", move |_| {
            seen_tx.send(()).unwrap();
            Ok(())
        });
        seen_rx.recv().unwrap();
        release.send(()).unwrap();
        assert_eq!(
            result_rx.recv().unwrap(),
            Err(tidemark_core::ErrorKind::Cancelled),
            "the superseded review stopped its run"
        );
        assert_eq!(
            wait_for(&mut worker),
            Some(Ok(())),
            "the newer job's result"
        );
    }

    #[test]
    fn a_cancelled_job_is_told_and_its_result_discarded() {
        let mut worker = Worker::new(|| {});
        let (release, gate) = channel::<()>();
        let (seen_tx, seen_rx) = channel();
        worker.start("slow", move |progress| {
            progress.report(0.5, "halfway");
            gate.recv().unwrap();
            seen_tx.send(progress.is_cancelled()).unwrap();
            42
        });
        let mut status = worker.current().unwrap().status();
        for _ in 0..500 {
            if status.stage == "halfway" {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            status = worker.current().unwrap().status();
        }
        assert_eq!((status.fraction, status.stage.as_str()), (0.5, "halfway"));
        worker.cancel();
        assert!(!worker.is_busy());
        release.send(()).unwrap();
        assert!(seen_rx.recv().unwrap(), "the work sees it was cancelled");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(worker.finished(), None);
    }
}
