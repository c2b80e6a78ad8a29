//! A structure-aware fuzzer of Tidemark's decoders that runs on stable Rust.
//!
//! `cargo fuzz` needs a nightly compiler (its coverage instrumentation and libFuzzer's
//! sanitizer flags), and this project builds on stable only. So each target here knows the
//! shape of its input (CSV records and fields, Parquet files and Arrow types, JSON trees, TOML
//! lines and values) and mutates inputs at that level as well as byte by byte. In place of
//! coverage, an input that makes the code under test answer in a way not seen before (another
//! error, at another column; a success) joins the pool that later inputs are mutated from.
//!
//! Any panic, and any input that takes longer than the hang limit, stops the run with a
//! non-zero exit and the input saved under `artifacts/TARGET/`. Usage:
//!
//! ```text
//! tidemark-fuzz fuzz TARGET [--seconds N] [--seed N] [--corpus DIR] [--artifacts DIR]
//! tidemark-fuzz run TARGET FILE...      # replays inputs (a crash, a corpus) once each
//! tidemark-fuzz list
//! ```

mod mutate;
mod rng;
mod targets;

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rng::Rng;
use targets::Target;

/// An input slower than this is a hang. Legitimate inputs take milliseconds; the bound is
/// loose so that a loaded CI machine does not report a slow run as one.
const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Inputs kept to mutate from, at most: old ones are replaced at random past it.
const POOL_LIMIT: usize = 2048;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for target in targets::all() {
                println!("{}", target.name());
            }
            ExitCode::SUCCESS
        }
        Some("fuzz") | Some("run") if args.len() >= 2 => {
            let Some(target) = targets::by_name(&args[1]) else {
                eprintln!("unknown target {:?}; see `tidemark-fuzz list`", args[1]);
                return ExitCode::from(2);
            };
            if args[0] == "run" {
                replay(target.as_ref(), &args[2..])
            } else {
                match Settings::parse(&args[2..]) {
                    Ok(settings) => fuzz(target.as_ref(), &settings),
                    Err(message) => {
                        eprintln!("{message}");
                        ExitCode::from(2)
                    }
                }
            }
        }
        _ => {
            eprintln!(
                "usage: tidemark-fuzz fuzz TARGET [--seconds N] [--seed N] [--corpus DIR] \
                 [--artifacts DIR]\n       tidemark-fuzz run TARGET FILE...\n       \
                 tidemark-fuzz list"
            );
            ExitCode::from(2)
        }
    }
}

struct Settings {
    seconds: u64,
    seed: u64,
    corpus: Option<PathBuf>,
    artifacts: PathBuf,
}

impl Settings {
    fn parse(args: &[String]) -> Result<Settings, String> {
        let mut settings = Settings {
            seconds: 60,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
            corpus: None,
            artifacts: PathBuf::from("artifacts"),
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u64>().map_err(|_| format!("bad {flag}"));
            match flag.as_str() {
                "--seconds" => settings.seconds = number()?,
                "--seed" => settings.seed = number()?,
                "--corpus" => settings.corpus = Some(PathBuf::from(value)),
                "--artifacts" => settings.artifacts = PathBuf::from(value),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        Ok(settings)
    }
}

/// The input being run and since when, for the hang watchdog.
struct Current {
    input: Mutex<Vec<u8>>,
    /// Milliseconds since `epoch` when the input started, 0 between inputs.
    started: AtomicU64,
    epoch: Instant,
}

/// The message of the last panic, kept by the panic hook instead of printed: inputs that
/// panic are reported once, with their file.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn fuzz(target: &dyn Target, settings: &Settings) -> ExitCode {
    let artifacts = settings.artifacts.join(target.name());
    let mut pool = target.seeds();
    if let Some(dir) = &settings.corpus {
        pool.extend(read_dir_files(&dir.join(target.name())));
    }
    println!(
        "fuzzing {} for {} s (seed {}, {} seed inputs)",
        target.name(),
        settings.seconds,
        settings.seed,
        pool.len()
    );
    let current = Arc::new(Current {
        input: Mutex::new(Vec::new()),
        started: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    start_watchdog(current.clone(), artifacts.clone());
    quiet_panics();

    let mut rng = Rng::new(settings.seed);
    let mut outcomes = HashSet::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(settings.seconds);
    let mut runs = 0u64;
    // The seeds first, as they are: a corpus of earlier crashes is a regression suite.
    let mut queue: Vec<Vec<u8>> = pool.clone();
    loop {
        let input = match queue.pop() {
            Some(input) => input,
            None if Instant::now() >= deadline => break,
            None => {
                let parent = &pool[rng.below(pool.len())];
                let mut child = target.mutate(parent, &pool, &mut rng);
                // Stacked mutations reach further from the seeds.
                for _ in 0..rng.below(3) {
                    child = target.mutate(&child, &pool, &mut rng);
                }
                child.truncate(target.max_len());
                child
            }
        };
        runs += 1;
        match run_one(target, &input, &current) {
            Ok(outcome) => {
                if outcomes.insert(outcome) {
                    if pool.len() < POOL_LIMIT {
                        pool.push(input);
                    } else {
                        let at = rng.below(pool.len());
                        pool[at] = input;
                    }
                }
            }
            Err(message) => {
                let path = save(&artifacts, "crash", &input);
                eprintln!(
                    "CRASH in {} after {runs} inputs: {message}\n  input saved to {}\n  \
                     reproduce: tidemark-fuzz run {} {}",
                    target.name(),
                    path.display(),
                    target.name(),
                    path.display()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {runs} inputs in {seconds:.0} s ({:.0}/s), {} distinct outcomes, no crash, no hang",
        target.name(),
        runs as f64 / seconds.max(0.001),
        outcomes.len()
    );
    ExitCode::SUCCESS
}

/// Runs `input`; its outcome (what the code under test answered, in short), or the panic.
fn run_one(target: &dyn Target, input: &[u8], current: &Current) -> Result<String, String> {
    {
        let mut slot = current.input.lock().unwrap_or_else(|e| e.into_inner());
        slot.clear();
        slot.extend_from_slice(input);
    }
    let now = current.epoch.elapsed().as_millis() as u64;
    current.started.store(now.max(1), Ordering::SeqCst);
    let result = panic::catch_unwind(AssertUnwindSafe(|| target.run(input)));
    current.started.store(0, Ordering::SeqCst);
    result.map_err(|_| {
        LAST_PANIC
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| "a panic".into())
    })
}

fn replay(target: &dyn Target, files: &[String]) -> ExitCode {
    quiet_panics();
    let current = Current {
        input: Mutex::new(Vec::new()),
        started: AtomicU64::new(0),
        epoch: Instant::now(),
    };
    let mut failed = false;
    for file in files {
        let input = match std::fs::read(file) {
            Ok(input) => input,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        match run_one(target, &input, &current) {
            Ok(outcome) => println!("{file}: {outcome} ({:?})", started.elapsed()),
            Err(message) => {
                println!("{file}: PANIC {message}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default(),
        };
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{message}{place}"));
    }));
}

/// Saves the input and exits when one input runs past [`HANG_LIMIT`]: the run cannot be
/// stopped from inside, so the process ends.
fn start_watchdog(current: Arc<Current>, artifacts: PathBuf) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let started = current.started.load(Ordering::SeqCst);
            if started == 0 {
                continue;
            }
            let now = current.epoch.elapsed().as_millis() as u64;
            if now.saturating_sub(started) > HANG_LIMIT.as_millis() as u64 {
                let input = current
                    .input
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let path = save(&artifacts, "hang", &input);
                eprintln!(
                    "HANG: an input ran for more than {} s\n  input saved to {}",
                    HANG_LIMIT.as_secs(),
                    path.display()
                );
                std::process::exit(3);
            }
        }
    });
}

fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("{kind}-{:016x}", fnv1a(input)));
    if let Err(e) = std::fs::write(&path, input) {
        eprintln!("cannot save {}: {e}", path.display());
    }
    path
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn read_dir_files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}
