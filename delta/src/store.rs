//! Where a table lives: a local folder or `s3://bucket/prefix`, and the Delta engine that
//! reads and writes there.

use std::sync::Arc;

use delta_kernel::object_store::DynObjectStore;
use delta_kernel::object_store::aws::AmazonS3Builder;
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
