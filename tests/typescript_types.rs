//! The browser module's TypeScript declarations of the run report are generated from the
//! core's Rust types (ts-rs), so the page's types cannot drift from what the module sends.
//!
//! This test renders them and checks that the committed file, which the module embeds in its
//! `.d.ts` (`wasm/browser/src/report.ts`), is current. After changing a report type:
//!
//! ```text
//! TIDEMARK_BLESS=1 cargo test --test typescript_types
//! ```

use std::path::Path;

use tidemark_core::report::typescript_declarations;

/// The committed file's text: a header, then the core's declarations.
fn declarations() -> String {
    "// Generated from tidemark-core's report types by tests/typescript_types.rs: do not edit.\n\
     // TIDEMARK_BLESS=1 cargo test --test typescript_types writes it again.\n"
        .to_string()
        + &typescript_declarations()
}

#[test]
fn the_browser_modules_report_types_are_generated_from_the_cores() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/src/report.ts");
    let generated = declarations();
    if std::env::var_os("TIDEMARK_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the core's report types; run\n  \
         TIDEMARK_BLESS=1 cargo test --test typescript_types\n\
         generated:\n{generated}",
        path.display()
    );
}

#[test]
fn the_declarations_describe_what_the_report_serialises_to() {
    let text = declarations();
    // Dates and the as_of source are strings in JSON; counts are numbers; optional parts null.
    for expected in [
        "as_of: string",
        "as_of_source: string",
        "rows_before: number",
        "sequence: SequenceKind | null",
        "features: FeatureSummary | null",
        r#"type SequenceKind = "timestamp" | "number""#,
        r#""insert_of_existing_key""#,
    ] {
        assert!(text.contains(expected), "`{expected}` missing from\n{text}");
    }
}
