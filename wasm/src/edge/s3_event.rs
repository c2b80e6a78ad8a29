//! S3 event notifications: what a platform forwards when an object lands in a bucket.
//!
//! Three shapes are understood: the S3 notification (`{"Records": [...]}`, as SNS, SQS and
//! Lambda deliver it), EventBridge's `Object Created` / `Object Deleted` events, and the
//! `s3:TestEvent` S3 sends when notifications are switched on.

use serde::Deserialize;

/// One object event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, ...
    pub name: String,
    pub bucket: String,
    /// The object key, URL-decoded (lossily when it does not decode to UTF-8).
    pub key: String,
    /// Why the key is unusable, when it does not decode to UTF-8: the record is answered
    /// `failed`, the other records of the notification are still handled.
    pub key_error: Option<String>,
    pub size: Option<u64>,
    pub etag: Option<String>,
    /// S3's per-key ordering token (hex): later events for a key have larger sequencers.
    pub sequencer: Option<String>,
}

impl ObjectEvent {
    pub fn is_created(&self) -> bool {
        self.name.starts_with("ObjectCreated:") || self.name == "Object Created"
    }

    pub fn is_removed(&self) -> bool {
        self.name.starts_with("ObjectRemoved:") || self.name == "Object Deleted"
    }
}

/// What one record of a notification asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Object(ObjectEvent),
    /// `s3:TestEvent`: acknowledge, do nothing.
    Test,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("not an S3 event notification: {0}")]
    Json(String),
    #[error("record {index}: {reason}")]
    Record { index: usize, reason: String },
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Option<Vec<serde_json::Value>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Named,
    object: S3Object,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
    size: Option<u64>,
    #[serde(rename = "eTag", alias = "etag")]
    etag: Option<String>,
    sequencer: Option<String>,
}

/// Parses a notification into its records, in order.
///
/// ```
/// use tidemark::edge::s3_event::{parse, Record};
/// let json = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"raw"},
///     "object":{"key":"users/new+file%2B1.csv","size":40,"eTag":"abc","sequencer":"0A"}}}]}"#;
/// let Record::Object(event) = &parse(json).unwrap()[0] else { panic!() };
/// assert_eq!(event.key, "users/new file+1.csv");
/// ```
pub fn parse(json: &str) -> Result<Vec<Record>, EventError> {
    let notification: Notification =
        serde_json::from_str(json).map_err(|e| EventError::Json(e.to_string()))?;
    if notification.event.as_deref() == Some("s3:TestEvent") {
        return Ok(vec![Record::Test]);
    }
    if let Some(records) = notification.records {
        return records
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                let record: S3Record =
                    serde_json::from_value(value).map_err(|e| EventError::Record {
                        index,
                        reason: e.to_string(),
                    })?;
                let (key, key_error) = decode_key(&record.s3.object.key);
                Ok(Record::Object(ObjectEvent {
                    name: record.event_name,
                    bucket: record.s3.bucket.name,
                    key,
                    key_error,
                    size: record.s3.object.size,
                    etag: record.s3.object.etag,
                    sequencer: record.s3.object.sequencer,
                }))
            })
            .collect();
    }
    if notification.source.as_deref() == Some("aws.s3") {
        let (Some(kind), Some(detail)) = (notification.detail_type, notification.detail) else {
            return Err(EventError::Json(
                "an EventBridge event needs `detail-type` and `detail`".into(),
            ));
        };
        let entity: S3Entity = serde_json::from_value(detail).map_err(|e| EventError::Record {
            index: 0,
            reason: e.to_string(),
        })?;
        // EventBridge keys are not URL-encoded.
        return Ok(vec![Record::Object(ObjectEvent {
            name: kind,
            bucket: entity.bucket.name,
            key: entity.object.key,
            key_error: None,
            size: entity.object.size,
            etag: entity.object.etag,
            sequencer: entity.object.sequencer,
        })]);
    }
    Err(EventError::Json(
        "expected `Records`, an EventBridge `aws.s3` event or an `s3:TestEvent`".into(),
    ))
}

/// S3 notifications form-URL-encode keys: `+` is a space, `%2B` a plus. A key that does
/// not decode to UTF-8 comes back decoded lossily, with the reason it is unusable.
fn decode_key(key: &str) -> (String, Option<String>) {
    let spaced = key.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced);
    match decoded.clone().decode_utf8() {
        Ok(k) => (k.into_owned(), None),
        Err(_) => (
            decoded.decode_utf8_lossy().into_owned(),
            Some(format!(
                "the URL-encoded key {} does not decode to UTF-8",
                tidemark_core::error::Excerpt(key)
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_is_returned_in_order() {
        let json = r#"{"Records":[
            {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a.csv"}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"b%20c.csv"}}}]}"#;
        let records = parse(json).unwrap();
        let keys: Vec<(&str, bool)> = records
            .iter()
            .map(|r| match r {
                Record::Object(e) => (e.key.as_str(), e.is_removed()),
                Record::Test => panic!(),
            })
            .collect();
        assert_eq!(keys, [("a.csv", false), ("b c.csv", true)]);
    }

    #[test]
    fn test_events_and_eventbridge_events_are_understood() {
        assert_eq!(
            parse(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#).unwrap(),
            [Record::Test]
        );
        let bridge = r#"{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},
            "object":{"key":"x y.csv","size":3,"etag":"e"}}}"#;
        let Record::Object(event) = &parse(bridge).unwrap()[0] else {
            panic!()
        };
        assert!(event.is_created());
        assert_eq!(
            (event.key.as_str(), event.etag.as_deref()),
            ("x y.csv", Some("e"))
        );
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        assert!(matches!(parse("{"), Err(EventError::Json(_))));
        let err = parse(r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#).unwrap_err();
        assert_eq!(
            err,
            EventError::Record {
                index: 0,
                reason: "missing field `s3`".into()
            }
        );
    }
}
