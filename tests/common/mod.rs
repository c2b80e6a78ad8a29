//! Helpers for driving the `tidemark` program on files in a temporary folder.
#![allow(dead_code)]

pub mod dms_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::RecordBatch;
use tidemark_core::InputFile;

/// The repository's root, found when the test runs: `env!("CARGO_MANIFEST_DIR")` would be the
/// checkout the test binary was compiled in, and a shared target folder reuses binaries across
/// checkouts (CI builds in a fresh one).
pub fn repo() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
    PathBuf::from(manifest).join("..")
}

/// The seed example: a DMS full load and its change files.
pub fn seed() -> PathBuf {
    repo().join("core/data/seed")
}

/// The enriched table the seed must give, value by value.
pub fn golden() -> PathBuf {
    repo().join("core/tests/golden/seed_enriched.csv")
}

/// A temporary folder to put inputs in and get outputs from.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The seed as DMS lays it out in S3: the full load, and change files in date folders.
    pub fn seed(&self) -> (PathBuf, PathBuf) {
        let load = self.write(
            "dms/users/LOAD00000001.csv",
            std::fs::read(seed().join("LOAD00000001.csv")).unwrap(),
        );
        for name in [
            "20211017-194324349.csv",
            "20211018-223933563.csv",
            "20211018-224657689.csv",
            "20211018-225235856.csv",
            "20211018-225959941.csv",
        ] {
            let folder = format!("{}/{}/{}", &name[0..4], &name[4..6], &name[6..8]);
            self.write(
                &format!("dms/users/cdc/{folder}/{name}"),
                std::fs::read(seed().join(name)).unwrap(),
            );
        }
        (load, self.path("dms/users/cdc"))
    }

    /// Files below `relative`, recursively, as relative paths: what a user sees in a folder.
    /// The `.tidemark` folder `tidemark apply` keeps its runs in is left out (the tests that
    /// look into it do so by name).
    pub fn files_below(&self, relative: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![self.path(relative)];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.file_name().is_some_and(|n| n == ".tidemark") {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(
                        path.strip_prefix(self.dir.path())
                            .unwrap()
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        found.sort();
        found
    }
}

/// `tidemark apply` on the seed as [`Scratch::seed`] lays it out, with `extra` arguments.
pub fn apply_seed(s: &Scratch, extra: &[&str]) -> Output {
    let (load, cdc) = (
        s.path("dms/users/LOAD00000001.csv"),
        s.path("dms/users/cdc"),
    );
    let mut args = vec![
        "apply",
        "--snapshot",
        load.to_str().unwrap(),
        "--changes",
        cdc.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    tidemark(&s.path(""), &args)
}

/// Runs `tidemark` with `args`, in `cwd`.
pub fn tidemark(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("tidemark runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "tidemark failed:\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

pub fn read_parquet(path: &Path) -> RecordBatch {
    let file = InputFile::new(path.display().to_string(), std::fs::read(path).unwrap());
    tidemark_core::decode::read_parquet(&file).unwrap()
}

/// A table as CSV rows (header first), sorted by the first column as a number.
pub fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    rows[1..].sort_by_key(|r| r[0].parse::<i64>().unwrap_or(i64::MAX));
    rows
}

pub fn table_rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    csv_rows(&tidemark_core::encode::to_csv(batch).unwrap())
}
