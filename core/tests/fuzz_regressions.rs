//! Inputs the fuzzer (`fuzz/`, `scripts/fuzz.sh`) found to crash a decoder, kept in
//! `fuzz/corpus/TARGET/`: each must now be an error, or decode, and never panic.

use std::path::PathBuf;

use tidemark_core::decode::{decode_changes, decode_snapshot, read_parquet, table_schema};
use tidemark_core::{ErrorKind, InputFile, TableSpec};

/// The fuzz corpus of a target, found when the test runs (see `tests/common/mod.rs` on why not
/// at compile time).
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let dir = PathBuf::from(manifest).join("../fuzz/corpus").join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_parquet_data_page_without_its_dictionary_is_an_error_not_a_panic() {
    let bytes = corpus("parquet")
        .into_iter()
        .find(|(path, _)| path.ends_with("dictionary-page-missing.parquet"))
        .expect("the input is in the corpus")
        .1;
    // A snapshot whose columns the table takes from it: every column is read.
    let spec = TableSpec::from_toml("[table]\nname = \"users\"\nkey = [\"user_id\"]\n").unwrap();
    let files = [InputFile::new("20211017-194324349.parquet", bytes)];
    let err = table_schema(&spec, &files)
        .and_then(|schema| decode_snapshot(&spec, &schema, &files))
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Parquet(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("20211017-194324349.parquet: not a readable Parquet file: "),
        "{err}"
    );
}

#[test]
fn no_parquet_input_of_the_corpus_panics() {
    let users = TableSpec::users();
    let columns_from_file =
        TableSpec::from_toml("[table]\nname = \"users\"\nkey = [\"user_id\"]\n").unwrap();
    for (path, bytes) in corpus("parquet") {
        let file = InputFile::new(path.display().to_string(), bytes);
        let files = [file.clone()];
        for spec in [&users, &columns_from_file] {
            if let Ok(schema) = table_schema(spec, &files) {
                let _ = decode_snapshot(spec, &schema, &files);
                let _ = decode_changes(spec, &schema, &file);
            }
        }
        let _ = read_parquet(&file);
    }
}

#[test]
fn no_spec_of_the_corpus_panics_when_read_or_used() {
    // Found by the spec target: `window_days = 4294967295` was accepted, then panicked in
    // the features (`NaiveDate - TimeDelta` overflowed).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let seed = PathBuf::from(manifest).join("data/seed");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let files: Vec<InputFile> = names
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            InputFile::new(name, std::fs::read(p).unwrap())
        })
        .collect();
    let (load, changes): (Vec<InputFile>, Vec<InputFile>) =
        files.into_iter().partition(|f| f.name.starts_with("LOAD"));
    for (path, bytes) in corpus("spec") {
        let text = String::from_utf8_lossy(&bytes);
        let Ok(spec) = TableSpec::from_toml(&text) else {
            continue;
        };
        let inputs = tidemark_core::pipeline::Inputs {
            snapshot: load.clone(),
            state: None,
            change_log: None,
            next_snapshot: Vec::new(),
            changes: changes.clone(),
        };
        let _ = tidemark_core::pipeline::run(&spec, inputs, &Default::default(), &mut |_| {});
        eprintln!("{} read and used", path.display());
    }
    let overflow = corpus("spec")
        .into_iter()
        .find(|(path, _)| path.ends_with("window-days-overflow.toml"))
        .expect("the input is in the corpus");
    let err = TableSpec::from_toml(&String::from_utf8_lossy(&overflow.1)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::WindowDays(u32::MAX));
}
