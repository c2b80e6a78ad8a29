//! S3 event notifications (`tidemark::edge::s3_event::parse`): the JSON SNS, SQS, Lambda and
//! EventBridge deliver. Mutated as JSON trees (values replaced, keys dropped or added, records
//! repeated) and as bytes.

use serde_json::{Map, Value};

use super::Target;
use crate::mutate;
use crate::rng::Rng;

/// Keys the parser looks for.
const KEYS: &[&str] = &[
    "Records",
    "Event",
    "detail-type",
    "source",
    "detail",
    "eventName",
    "s3",
    "bucket",
    "object",
    "name",
    "key",
    "size",
    "eTag",
    "etag",
    "sequencer",
];

/// Text the parser treats specially: event names, sources, URL encodings good and bad.
const TEXT: &[&str] = &[
    "",
    "ObjectCreated:Put",
    "ObjectRemoved:Delete",
    "Object Created",
    "Object Deleted",
    "s3:TestEvent",
    "aws.s3",
    "a+b",
    "%",
    "%2",
    "%zz",
    "%2B",
    "%C3%A9",
    "%C3%28",
    "%FF",
    "%00",
    "dms/users/LOAD00000001.csv",
    "dms/users/2021/10/17/20211017-194324349.csv",
    "../../etc/passwd",
    "\u{0}",
    "é",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => serde_json::json!(*rng.pick(&[0i64, -1, 1, i64::MAX, i64::MIN, 40])),
        3 => serde_json::json!(*rng.pick(&[1.5f64, 1e300, -0.0])),
        4 => serde_json::json!(u64::MAX),
        5 => Value::String(rng.pick(TEXT).to_string()),
        6 => Value::Array(
            (0..rng.below(3))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut object = Map::new();
            for _ in 0..rng.below(4) {
                object.insert(rng.pick(KEYS).to_string(), random_value(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// Every node of the tree, by a path of steps, to choose one at random.
fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies one change to the `index`-th node (depth first), counting down `index`.
fn change_node(value: &mut Value, index: &mut usize, rng: &mut Rng) -> bool {
    if *index == 0 {
        match (value, rng.below(4)) {
            (Value::Object(map), 0) if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).cloned();
                if let Some(key) = key {
                    map.remove(&key);
                }
            }
            (Value::Object(map), 1) => {
                map.insert(rng.pick(KEYS).to_string(), random_value(rng, 0));
            }
            (Value::Array(items), 0 | 1) if !items.is_empty() => {
                let copy = items[rng.below(items.len())].clone();
                items.push(copy);
            }
            (value, _) => *value = random_value(rng, 0),
        }
        return true;
    }
    *index -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| change_node(v, index, rng)),
        Value::Object(map) => map.values_mut().any(|v| change_node(v, index, rng)),
        _ => false,
    }
}

pub struct S3Event;

impl Target for S3Event {
    fn name(&self) -> &'static str {
        "s3_event"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        // corpus/s3_event/ holds the three shapes; these keep the target useful without it.
        vec![
            br#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"raw"},"object":{"key":"users/new+file%2B1.csv","size":40,"eTag":"abc","sequencer":"0A"}}}]}"#.to_vec(),
            br#"{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"x y.csv","size":3,"etag":"e"}}}"#.to_vec(),
            br#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#.to_vec(),
        ]
    }

    fn mutate(&self, input: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
        let tree = match rng.below(3) {
            0 => None,
            _ => serde_json::from_slice::<Value>(input).ok(),
        };
        if let Some(mut tree) = tree {
            let mut index = rng.below(count_nodes(&tree));
            change_node(&mut tree, &mut index, rng);
            return serde_json::to_vec(&tree).unwrap_or_default();
        }
        let tokens: Vec<&[u8]> = TEXT.iter().chain(KEYS).map(|t| t.as_bytes()).collect();
        mutate::bytes(input, pool, &tokens, rng)
    }

    fn run(&self, input: &[u8]) -> String {
        // Events arrive as text: the handler reads them as UTF-8 first.
        let Ok(text) = std::str::from_utf8(input) else {
            return "not utf-8".into();
        };
        match tidemark::edge::s3_event::parse(text) {
            Ok(records) => format!("ok{}", records.len().min(4)),
            Err(tidemark::edge::s3_event::EventError::Json(_)) => "json".into(),
            Err(tidemark::edge::s3_event::EventError::Record { index, reason }) => {
                let reason: String = reason.chars().take_while(|c| *c != ' ').collect();
                format!("record{}:{reason}", index.min(4))
            }
        }
    }
}
