//! The edge function's settings: its flags, merged with `tidemark.toml` in the output folder.
//! A flag wins over the file; the file's `spec` and `lookup` name files in the output folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::{OutputFormat, TableSpec};

use super::bucket_path::{self, BucketRoot};
use super::{EdgeError, S3Location};
use crate::io::inputs;

/// The settings file an output folder may hold.
pub const CONFIG_FILE: &str = "tidemark.toml";

/// The settings given on the command line; `None` falls back to `tidemark.toml`.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// The folder that holds the buckets; `None` for objects on S3 itself (Delta only).
    pub bucket_root: Option<PathBuf>,
    /// `s3://bucket/prefix/` of the output.
    pub output: String,
    pub source: Option<String>,
    pub spec: Option<PathBuf>,
    pub format: Option<OutputFormat>,
    pub lookup: Option<PathBuf>,
    pub window_days: Option<u32>,
}

/// The settings of the function: flags, or `tidemark.toml` in the output folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `s3://bucket/prefix/` where DMS writes; events for other keys are ignored.
    pub source: Option<String>,
    /// The table spec, relative to the config file.
    pub spec: Option<String>,
    /// The format of the enriched output: `parquet` (default) or `csv`.
    pub format: Option<OutputFormat>,
    /// A lookup table, relative to the config file.
    pub lookup: Option<String>,
    pub window_days: Option<u32>,
}

pub struct Config {
    pub bucket_root: Option<PathBuf>,
    pub source: Option<S3Location>,
    pub output: S3Location,
    pub spec: TableSpec,
    pub format: OutputFormat,
    pub lookup: Option<Lookup>,
    /// A digest of the lookup's file: Delta tables record what their features were computed
    /// with.
    #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
    pub lookup_digest: Option<u64>,
    pub window_days: Option<u32>,
}

impl Config {
    /// The output folder's `tidemark.toml`, if there is one.
    ///
    /// Its `spec` and `lookup` are paths relative to the output folder, and must stay in it:
    /// they are checked here as keys below the output's prefix (no `..`, not absolute, no
    /// link on the way, a regular file), so that the folder of the returned path joined with
    /// them is a path below the bucket root.
    pub fn file_at(
        bucket_root: &Path,
        output: &S3Location,
    ) -> Result<Option<(PathBuf, ConfigFile)>, EdgeError> {
        let root = BucketRoot::new(bucket_root);
        let path = output.folder(&root)?.join(CONFIG_FILE);
        let exists = std::fs::symlink_metadata(&path).is_ok();
        if !exists {
            return Ok(None);
        }
        let key = output.prefix.join(CONFIG_FILE)?;
        bucket_path::regular_file(&root.confine(&output.bucket, key.components())?)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EdgeError::Config(format!("{}: {e}", path.display())))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|e| EdgeError::Config(format!("{}: {e}", path.display())))?;
        for (name, relative) in [("spec", &file.spec), ("lookup", &file.lookup)] {
            if let Some(relative) = relative {
                let checked = output
                    .prefix
                    .join(relative)
                    .and_then(|key| root.object_file(&output.bucket, &key));
                if let Err(e) = checked {
                    return Err(EdgeError::Config(format!(
                        "{}: `{name}` must name a file in the output folder: {e}",
                        path.display()
                    )));
                }
            }
        }
        Ok(Some((path, file)))
    }
}

impl Config {
    /// The flags, completed by the output folder's `tidemark.toml` (a flag wins), with the
    /// spec and the lookup read.
    pub fn resolve(flags: Flags) -> Result<Config, EdgeError> {
        let output = S3Location::parse(&flags.output)?;
        // On S3 itself the settings are the flags alone: a Lambda's are in its definition.
        let found = match &flags.bucket_root {
            Some(root) => Config::file_at(root, &output)?,
            None => None,
        };
        let (file_dir, file) = match found {
            Some((path, file)) => (path.parent().map(Path::to_path_buf), file),
            None => (None, ConfigFile::default()),
        };
        let beside_file = |p: &str| {
            file_dir
                .as_ref()
                .map_or_else(|| PathBuf::from(p), |d| d.join(p))
        };
        let spec_path = flags.spec.or_else(|| file.spec.as_deref().map(beside_file));
        let lookup_path = flags
            .lookup
            .or_else(|| file.lookup.as_deref().map(beside_file));
        let lookup_file = lookup_path.map(|path| inputs::read(&path)).transpose()?;
        let lookup = lookup_file.as_ref().map(Lookup::from_file).transpose()?;
        Ok(Config {
            source: flags
                .source
                .as_deref()
                .or(file.source.as_deref())
                .map(S3Location::parse)
                .transpose()?,
            spec: inputs::read_spec(spec_path.as_deref())?,
            format: flags.format.or(file.format).unwrap_or_default(),
            lookup,
            #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
            lookup_digest: lookup_file
                .as_ref()
                .map(|f| tidemark_delta::bucket::digest(&f.bytes)),
            window_days: flags.window_days.or(file.window_days),
            bucket_root: flags.bucket_root,
            output,
        })
    }

    /// The folder of the buckets: the function on folders needs one.
    pub(super) fn root(&self) -> Result<BucketRoot, EdgeError> {
        self.bucket_root
            .as_ref()
            .map(BucketRoot::new)
            .ok_or_else(|| {
                EdgeError::Config(
                    "--bucket-root is needed: without it objects are read from S3, which only \
                 --delta does"
                        .into(),
                )
            })
    }
}
