//! Buckets as folders, without ever leaving them.
//!
//! Bucket names and object keys come from events: they are data, not paths. This module is
//! the one place that turns them into paths below the bucket root:
//!
//! - a [`BucketName`] follows S3's naming rules: 3 to 63 characters, lowercase letters,
//!   digits, dots and hyphens, starting and ending with a letter or a digit, no two dots in a
//!   row (so never `.`, `..` or anything with a `/`);
//! - an [`ObjectKey`] is S3's key as S3 stores it (after the URL decoding of notifications):
//!   at most 1024 bytes, made of `/`-separated components, each mapped to one path
//!   component. Refused: empty keys, absolute keys (`/x`), empty components (`a//b`: S3
//!   allows it, but `a//b` and `a/b` would be one file on disk), `.` and `..` components,
//!   NUL, backslashes (a separator on some hosts; refused on every host so a key means the
//!   same everywhere), and any component the host would not read as one plain name (a
//!   Windows drive such as `C:`);
//! - a [`KeyPrefix`] (`dms/users/`) is a key's folder, under the same rules; whether a key
//!   is below it is decided on the validated components, never on the raw text;
//! - [`BucketRoot::confine`] maps components to a path below the root and refuses to go
//!   through a symbolic link on the way: links are never followed, whether they point inside
//!   or outside the root. The root itself is the operator's choice and may be a link.
//!
//! What this does not cover: a process that can write in the bucket root may swap a folder
//! for a link between the check and the open. Under WASI the preopened folder confines the
//! module whatever happens.

use std::fmt;

use std::path::{Component, Path, PathBuf};
use tidemark_core::error::Excerpt;

/// Why a name or a path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the bucket name {} is refused: {reason}", Excerpt(name))]
    Bucket { name: String, reason: String },
    #[error("the key {} is refused: {reason}", Excerpt(key))]
    Key { key: String, reason: String },
    #[error("{path} is a symbolic link; links are not followed below the bucket root")]
    Symlink { path: String },
    #[error("{path} is not a file ({what})")]
    NotAFile { path: String, what: String },
    #[error("{path} does not exist")]
    Missing { path: String },
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
}

/// The longest key S3 stores, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// A bucket name S3 would accept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

impl BucketName {
    pub fn parse(name: &str) -> Result<BucketName, PathError> {
        let refuse = |reason: &str| {
            Err(PathError::Bucket {
                name: name.to_string(),
                reason: reason.to_string(),
            })
        };
        if !(3..=63).contains(&name.len()) {
            return refuse("a bucket name has 3 to 63 characters");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return refuse("only lowercase letters, digits, dots and hyphens are allowed");
        }
        let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        if !alnum(name.bytes().next()) || !alnum(name.bytes().last()) {
            return refuse("a bucket name starts and ends with a letter or a digit");
        }
        if name.contains("..") {
            return refuse("two dots in a row");
        }
        Ok(BucketName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks one component of a key; `key` is the whole key, for the message.
fn check_component(key: &str, component: &str) -> Result<(), PathError> {
    let refuse = |reason: String| {
        Err(PathError::Key {
            key: key.to_string(),
            reason,
        })
    };
    match component {
        "" => refuse("it has an empty component (`//`, or a `/` at the start)".into()),
        "." | ".." => refuse(format!(
            "its component {component:?} is not a name (keys are never resolved as paths)"
        )),
        _ if component.contains('\0') => refuse("it contains NUL".into()),
        _ if component.contains('\\') => refuse("it contains a backslash".into()),
        _ => {
            // What the host makes of it: exactly one plain name, itself.
            let mut parts = Path::new(component).components();
            match (parts.next(), parts.next()) {
                (Some(Component::Normal(name)), None) if name == component => Ok(()),
                _ => refuse(format!(
                    "its component {component:?} is not a plain file name on this system"
                )),
            }
        }
    }
}

/// An object key that maps to a relative path, component by component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(key: &str) -> Result<ObjectKey, PathError> {
        let refuse = |reason: &str| {
            Err(PathError::Key {
                key: key.to_string(),
                reason: reason.to_string(),
            })
        };
        if key.is_empty() {
            return refuse("it is empty");
        }
        if key.len() > MAX_KEY_BYTES {
            return refuse("it is longer than S3's 1024 bytes");
        }
        if key.starts_with('/') {
            return refuse("it is absolute (starts with `/`)");
        }
        for component in key.split('/') {
            check_component(key, component)?;
        }
        Ok(ObjectKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The folder part (`dms/users` of `dms/users/LOAD00000001.csv`), as a prefix.
    pub fn folder(&self) -> KeyPrefix {
        KeyPrefix(match self.0.rsplit_once('/') {
            Some((folder, _)) => format!("{folder}/"),
            None => String::new(),
        })
    }

    /// Whether the key is below `prefix`, component by component.
    pub fn is_below(&self, prefix: &KeyPrefix) -> bool {
        // Both are validated: no empty, `.` or `..` components, so text and components agree.
        self.0.starts_with(&prefix.0) && self.0.len() > prefix.0.len()
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key prefix naming a folder: empty (the whole bucket) or components ending in `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// `dms/users` and `dms/users/` are the same folder.
    pub fn parse(prefix: &str) -> Result<KeyPrefix, PathError> {
        if prefix.is_empty() {
            return Ok(KeyPrefix::default());
        }
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        ObjectKey::parse(trimmed).map_err(|e| match e {
            PathError::Key { reason, .. } => PathError::Key {
                key: prefix.to_string(),
                reason,
            },
            other => other,
        })?;
        Ok(KeyPrefix(format!("{trimmed}/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The key of `relative` below this folder; `relative` is validated as a key.
    pub fn join(&self, relative: &str) -> Result<ObjectKey, PathError> {
        ObjectKey::parse(relative)?;
        ObjectKey::parse(&format!("{}{relative}", self.0))
    }
}

/// The folder that holds the buckets: `s3://bucket/key` is `ROOT/bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRoot(PathBuf);

impl BucketRoot {
    pub fn new(dir: impl Into<PathBuf>) -> BucketRoot {
        BucketRoot(dir.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `bucket` and then `components` (validated names) below the root, after
    /// checking that none of them, as far as they exist, is a symbolic link.
    pub fn confine<'a>(
        &self,
        bucket: &'a BucketName,
        components: impl IntoIterator<Item = &'a str>,
    ) -> Result<PathBuf, PathError> {
        below(&self.0, std::iter::once(bucket.as_str()).chain(components))
    }

    /// The path of an object, which must be a regular file (not a folder, not a link).
    pub fn object_file(&self, bucket: &BucketName, key: &ObjectKey) -> Result<PathBuf, PathError> {
        let path = self.confine(bucket, key.components())?;
        regular_file(&path)?;
        Ok(path)
    }
}

/// `base` (a folder already checked) and then `components` (plain names: from validated
/// keys, or the program's own), refusing links among the components that exist.
pub fn below<'a>(
    base: &Path,
    components: impl IntoIterator<Item = &'a str>,
) -> Result<PathBuf, PathError> {
    let mut path = base.to_path_buf();
    let mut exists = true;
    for component in components {
        check_component(component, component)?;
        path.push(component);
        if exists {
            exists = check_not_link(&path)?;
        }
    }
    Ok(path)
}

/// Whether `path` exists; an error when it is a symbolic link.
fn check_not_link(path: &Path) -> Result<bool, PathError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(PathError::Symlink {
            path: path.display().to_string(),
        }),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(PathError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Checks that `path` (already confined) is a regular file.
pub fn regular_file(path: &Path) -> Result<(), PathError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) => Err(PathError::NotAFile {
            path: path.display().to_string(),
            what: if meta.is_dir() {
                "a folder".into()
            } else if meta.file_type().is_symlink() {
                "a symbolic link".into()
            } else {
                "not a regular file".into()
            },
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PathError::Missing {
            path: path.display().to_string(),
        }),
        Err(e) => Err(PathError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_name_or_key_is_quoted_by_a_short_prefix() {
        let key = format!("dms/{}", "k".repeat(20_000));
        let message = ObjectKey::parse(&key).unwrap_err().to_string();
        assert!(message.len() < 300, "{} bytes: {message}", message.len());
        let message = BucketName::parse(&"B".repeat(20_000))
            .unwrap_err()
            .to_string();
        assert!(message.len() < 300, "{} bytes: {message}", message.len());
    }

    #[test]
    fn bucket_names_follow_s3s_rules() {
        for good in ["raw", "analytics", "my-bucket.logs", "a1b", &"a".repeat(63)] {
            assert!(BucketName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "ab",
            "a/b",
            "../x",
            "Raw",
            "a..b",
            ".abc",
            "abc-",
            "a_b",
            "a\\b",
            &"a".repeat(64),
        ] {
            assert!(BucketName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_refused_when_they_would_not_map_to_one_relative_path() {
        for good in [
            "LOAD00000001.csv",
            "dms/users/2021/10/17/20211017-194324349.csv",
            "dms/users/new file+1.csv",
            "a/..b/c..",
            "a/.hidden",
        ] {
            assert!(ObjectKey::parse(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("/etc/passwd", "absolute"),
            ("dms/users/../../x.csv", "\"..\""),
            ("..", "\"..\""),
            ("./x.csv", "\".\""),
            ("a//b.csv", "empty component"),
            ("a/b/", "empty component"),
            ("a\\..\\b.csv", "backslash"),
            ("a\0b.csv", "NUL"),
        ] {
            let err = ObjectKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(ObjectKey::parse(&"k".repeat(1024)).is_ok());
        let err = ObjectKey::parse(&"k".repeat(1025)).unwrap_err().to_string();
        assert!(err.contains("1024 bytes"), "{err}");
    }

    #[test]
    fn prefixes_compare_by_components() {
        let prefix = KeyPrefix::parse("dms/users").unwrap();
        assert_eq!(prefix, KeyPrefix::parse("dms/users/").unwrap());
        let below = |k: &str| ObjectKey::parse(k).unwrap().is_below(&prefix);
        assert!(below("dms/users/a.csv"));
        assert!(!below("dms/usersx/a.csv"));
        assert!(!below("dms/users"));
        assert!(KeyPrefix::parse("../x/").is_err());
        assert!(KeyPrefix::parse("/x/").is_err());
        assert!(
            ObjectKey::parse("a.csv")
                .unwrap()
                .is_below(&KeyPrefix::default())
        );
        assert_eq!(
            prefix.join("spec.toml").unwrap().as_str(),
            "dms/users/spec.toml"
        );
        assert!(prefix.join("../spec.toml").is_err());
        assert!(prefix.join("/spec.toml").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn links_below_the_root_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = BucketRoot::new(dir.path().join("root"));
        let bucket = BucketName::parse("raw").unwrap();
        std::fs::create_dir_all(dir.path().join("root/raw/in")).unwrap();
        std::fs::write(dir.path().join("root/raw/in/a.csv"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/a.csv"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), dir.path().join("root/raw/out"))
            .unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("outside/a.csv"),
            dir.path().join("root/raw/in/b.csv"),
        )
        .unwrap();
        let key = |k: &str| ObjectKey::parse(k).unwrap();
        assert!(root.object_file(&bucket, &key("in/a.csv")).is_ok());
        for linked in ["out/a.csv", "in/b.csv"] {
            let err = root.object_file(&bucket, &key(linked)).unwrap_err();
            assert!(matches!(err, PathError::Symlink { .. }), "{linked}: {err}");
        }
        let err = root.object_file(&bucket, &key("in")).unwrap_err();
        assert!(matches!(err, PathError::NotAFile { .. }), "{err}");
        let err = root.object_file(&bucket, &key("in/c.csv")).unwrap_err();
        assert!(matches!(err, PathError::Missing { .. }), "{err}");
    }
}
