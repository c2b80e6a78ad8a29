//! The layout each file resolves to, as `describe_layout` reports it (what `spec --infer` is
//! to print): one resolution per file, from its header, schema or first record and the spec.

use tidemark_core::decode::describe_layout;
use tidemark_core::{InputFile, TableSpec};

fn layout(name: &str, text: &str, is_change_file: bool) -> Vec<(String, String)> {
    let spec = TableSpec::users();
    let schema = spec.schema().unwrap();
    let file = InputFile::new(name, text.as_bytes().to_vec());
    describe_layout(&spec, &schema, &file, is_change_file).unwrap()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, w)| (n.to_string(), w.to_string()))
        .collect()
}

const TABLE: [(&str, &str); 4] = [
    ("user_id", "table column 0"),
    ("name", "table column 1"),
    ("city", "table column 2"),
    ("last_login", "table column 3"),
];

#[test]
fn a_full_load_with_the_operation_and_the_load_time() {
    let found = layout(
        "LOAD00000001.csv",
        "I,2021-10-17 19:00:00.000000,0,Herman,Tulsa,2020-10-10\n",
        false,
    );
    let mut expected = vec![
        ("Op", "operation"),
        ("timestamp", "metadata (kept out of the table)"),
    ];
    expected.extend(TABLE);
    assert_eq!(found, pairs(&expected));
}

#[test]
fn a_change_file_with_a_header_and_rule_added_columns() {
    let found = layout(
        "20211017-194324349.csv",
        "Op,ts,user_id,name,city,last_login,$AR_H_USER,AR_H_CHANGE_SEQ\n\
         U,2021-10-17 19:43:24.349000,0,Herman,Tulsa,2020-10-10,dms,1\n",
        true,
    );
    let mut expected = vec![("Op", "operation"), ("ts", "sequence")];
    expected.extend(TABLE);
    expected.extend([
        ("$AR_H_USER", "metadata (kept out of the table)"),
        ("AR_H_CHANGE_SEQ", "change sequence"),
    ]);
    assert_eq!(found, pairs(&expected));
}

#[test]
fn todays_change_file_keeps_its_layout() {
    let found = layout(
        "20211017-194324349.csv",
        "U,0,Herman,Tulsa,2020-10-10\n",
        true,
    );
    let mut expected = vec![("Op", "operation")];
    expected.extend(TABLE);
    assert_eq!(found, pairs(&expected));
}
