//! Where a table lives: a local folder or `s3://bucket/prefix`, and the Delta engine that
//! reads and writes there.

use std::sync::Arc;

use delta_kernel::object_store::aws::AmazonS3Builder;
use delta_kernel::object_store::path::Path as StorePath;
use delta_kernel::object_store::{DynObjectStore, GetOptions};
use delta_kernel_default_engine::executor::tokio::TokioBackgroundExecutor;
use delta_kernel_default_engine::storage::store_from_url;
use delta_kernel_default_engine::{DefaultEngine, DefaultEngineBuilder};
use url::Url;

use crate::DeltaError;

pub type Engine = DefaultEngine<TokioBackgroundExecutor>;

/// A place that holds Tidemark's Delta tables, one folder per table (`table/`, `diff/`, ...).
#[derive(Clone)]
pub struct Place {
    root: Url,
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Place").field("root", &self.root).finish()
    }
}

/// Whether `location` names object storage (`s3://...`) rather than a local folder.
///
/// ```
/// assert!(tidemark_delta::store::is_url("s3://bucket/tables/users"));
/// assert!(!tidemark_delta::store::is_url("out/users"));
/// ```
pub fn is_url(location: &str) -> bool {
    location.contains("://")
}

impl Place {
    /// Opens `location`: `s3://bucket/prefix` (credentials, region and an endpoint override
    /// such as `AWS_ENDPOINT_URL` for S3-compatible stores come from the standard `AWS_*`
    /// environment), `file:///path`, or a local folder (created if missing).
    pub fn open(location: &str) -> Result<Place, DeltaError> {
        let root = if is_url(location) {
            let mut url = Url::parse(location)
                .map_err(|e| DeltaError::Location(format!("{location:?} is not a URL ({e})")))?;
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            url
        } else {
            std::fs::create_dir_all(location)
                .and_then(|()| std::fs::canonicalize(location))
                .ok()
                .and_then(|path| Url::from_directory_path(path).ok())
                .ok_or_else(|| {
                    DeltaError::Location(format!("cannot create or open the folder {location:?}"))
                })?
        };
        let store: Arc<DynObjectStore> = match root.scheme() {
            // `store_from_url` builds an S3 client that ignores the AWS_* environment.
            "s3" | "s3a" => Arc::new(
                AmazonS3Builder::from_env()
                    .with_url(root.as_str())
                    .build()?,
            ),
            "file" => store_from_url(&root)?,
            other => {
                return Err(DeltaError::Location(format!(
                    "{location:?}: {other}:// is not supported (s3:// or a local folder)"
                )));
            }
        };
        Ok(Place {
            root,
            engine: Arc::new(DefaultEngineBuilder::new(store).build()),
        })
    }

    /// The URL of the table `name` in this place (with a trailing slash, as Delta wants).
    pub fn table_url(&self, name: &str) -> Url {
        self.root
            .join(&format!("{name}/"))
            .expect("a table name joins onto a folder URL")
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn root(&self) -> &Url {
        &self.root
    }
}

/// The objects of one S3 bucket, read as the edge function reads what a notification
/// announced: by key, and only in the version (ETag) it announced.
pub struct Objects {
    bucket: String,
    store: Arc<DynObjectStore>,
    // Only for its runtime: object_store's S3 client runs on tokio, which the engine owns.
    engine: Engine,
}

/// An object a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// Without the quotes S3 puts around it, as S3 event notifications give it.
    pub etag: Option<String>,
    pub size: u64,
}

/// An ETag as S3 event notifications give it: without quotes (HTTP headers quote it).
///
/// ```
/// assert_eq!(tidemark_delta::store::bare_etag("\"9b2cf535f27731c974343645a3985328\""), "9b2cf535f27731c974343645a3985328");
/// assert_eq!(tidemark_delta::store::bare_etag("9b2cf535f27731c974343645a3985328-3"), "9b2cf535f27731c974343645a3985328-3");
/// ```
pub fn bare_etag(etag: &str) -> &str {
    etag.trim_matches('"')
}

impl Objects {
    /// The bucket `bucket` on S3 (or the S3-compatible store `AWS_ENDPOINT_URL` names), with
    /// credentials and region from the standard `AWS_*` environment.
    pub fn s3(bucket: &str) -> Result<Objects, DeltaError> {
        let store: Arc<DynObjectStore> = Arc::new(
            AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?,
        );
        Ok(Objects {
            bucket: bucket.to_string(),
            engine: DefaultEngineBuilder::new(store.clone()).build(),
            store,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object at `key`; when `etag` is given, only if it is still that version of it
    /// ([`DeltaError::Superseded`] if the key now holds another).
    pub fn get(&self, key: &str, etag: Option<&str>) -> Result<bytes::Bytes, DeltaError> {
        let path = object_path(key)?;
        let options = GetOptions {
            if_match: etag.map(|e| format!("\"{}\"", bare_etag(e))),
            ..Default::default()
        };
        let _runtime = self.engine.enter();
        let got = futures::executor::block_on(async {
            self.store.get_opts(&path, options).await?.bytes().await
        });
        got.map_err(|error| match error {
            delta_kernel::object_store::Error::Precondition { .. } => DeltaError::Superseded {
                object: format!("{}/{key}", self.bucket),
                etag: etag.unwrap_or_default().to_string(),
            },
            other => DeltaError::Store(other),
        })
    }

    /// The objects directly in the folder `folder` (a key prefix ending in `/`, or "" for the
    /// bucket's top), not those in folders below it.
    pub fn list(&self, folder: &str) -> Result<Vec<Listed>, DeltaError> {
        let prefix = match folder.trim_end_matches('/') {
            "" => None,
            trimmed => Some(object_path(trimmed)?),
        };
        let _runtime = self.engine.enter();
        let listed = futures::executor::block_on(self.store.list_with_delimiter(prefix.as_ref()))?;
        Ok(listed
            .objects
            .into_iter()
            .map(|meta| Listed {
                key: meta.location.to_string(),
                etag: meta.e_tag.as_deref().map(|e| bare_etag(e).to_string()),
                size: meta.size,
            })
            .collect())
    }
}

/// A key as the store's path, unchanged (`Path::from` would escape characters S3 allows).
fn object_path(key: &str) -> Result<StorePath, DeltaError> {
    StorePath::parse(key)
        .map_err(|e| DeltaError::Location(format!("{key:?} is not a key this store can read: {e}")))
}
