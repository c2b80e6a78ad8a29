//! One Delta table, through the Delta kernel: read (all of it, or the files of some buckets),
//! stage files to add and remove, commit.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema, SchemaRef};
use delta_kernel::committer::FileSystemCommitter;
use delta_kernel::engine::arrow_conversion::{TryFromArrow, TryIntoArrow};
use delta_kernel::engine::arrow_data::{ArrowEngineData, EngineDataArrowExt};
use delta_kernel::expressions::{Expression, Predicate, PredicateRef, Scalar};
use delta_kernel::object_store::ObjectStoreExt;
use delta_kernel::object_store::path::Path as StorePath;
use delta_kernel::schema::StructType;
use delta_kernel::transaction::create_table::{CreateTableTransaction, create_table};
use delta_kernel::transaction::data_layout::DataLayout;
use delta_kernel::transaction::{CommitResult, Transaction, UpdateTableOperation};
use delta_kernel::{FilteredEngineData, Snapshot, SnapshotRef};
use url::Url;

use crate::DeltaError;
use crate::bucket::{BUCKET_COLUMN, GROUP_BUCKET_COLUMN};
use crate::store::{Engine, Place};

/// What Tidemark writes into each commit's `commitInfo.engineInfo`.
pub const ENGINE_INFO: &str = concat!("tidemark/", env!("CARGO_PKG_VERSION"));

/// A Delta table at one URL.
#[derive(Debug, Clone)]
pub struct DeltaTable {
    pub url: Url,
    place: Place,
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The table is at this version now.
    Version(u64),
    /// Another writer committed this version first: read the table again and redo the work.
    Conflict(u64),
}

impl DeltaTable {
    pub fn new(place: &Place, name: &str) -> DeltaTable {
        DeltaTable {
            url: place.table_url(name),
            place: place.clone(),
        }
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.place.engine()
    }

    /// The latest version of the table, or `None` if there is no table here yet.
    pub fn latest(&self) -> Result<Option<SnapshotRef>, DeltaError> {
        self.at(None)
    }

    /// The table at `version` (the latest when `None`), or `None` if there is no table here.
    pub fn at(&self, version: Option<u64>) -> Result<Option<SnapshotRef>, DeltaError> {
        if !self.exists()? {
            return Ok(None);
        }
        let mut builder = Snapshot::builder_for(self.url.as_str());
        if let Some(version) = version {
            builder = builder.at_version(version);
        }
        Ok(Some(builder.build(self.engine())?))
    }

    /// Whether the table has a log: one listing, so a missing table is told apart from a
    /// broken one (which `latest` reports with the kernel's error).
    fn exists(&self) -> Result<bool, DeltaError> {
        let log = self.url.join("_delta_log/").expect("a folder URL");
        let store = self.store();
        let prefix = store_path(&log);
        let _runtime = self.engine().enter();
        let listed = futures::executor::block_on(async {
            use futures::StreamExt;
            store.list(Some(&prefix)).next().await.transpose()
        })?;
        Ok(listed.is_some())
    }

    fn store(&self) -> Arc<delta_kernel::object_store::DynObjectStore> {
        self.engine()
            .get_object_store_for_url(&self.url)
            .expect("the default engine has one store")
    }

    /// The table's columns as Arrow sees them.
    pub fn arrow_schema(snapshot: &SnapshotRef) -> Result<SchemaRef, DeltaError> {
        let schema: Schema = snapshot.schema().as_ref().try_into_arrow()?;
        Ok(Arc::new(schema))
    }

    /// The rows of `snapshot` (those of the partitions `only` names, when given), without
    /// Tidemark's partition columns.
    pub fn read(
        &self,
        snapshot: &SnapshotRef,
        only: Option<Partitions>,
    ) -> Result<Vec<RecordBatch>, DeltaError> {
        let scan = snapshot
            .clone()
            .scan_builder()
            .with_predicate(only.map(Partitions::predicate))
            .build()?;
        let engine: Arc<dyn delta_kernel::Engine> = self.place.engine().clone();
        let mut batches = Vec::new();
        for data in scan.execute(engine)? {
            let mut batch = data?.try_into_record_batch()?;
            for column in [BUCKET_COLUMN, GROUP_BUCKET_COLUMN] {
                if let Ok(i) = batch.schema().index_of(column) {
                    batch.remove_column(i);
                }
            }
            batches.push(batch);
        }
        Ok(batches)
    }

    /// A transaction creating the table with `schema`, partitioned by the column
    /// `partition` when given (the schema then has it).
    pub fn create(
        &self,
        schema: &Schema,
        partition: Option<&str>,
    ) -> Result<CreateTableTransaction, DeltaError> {
        // The kernel creates a local table only in a folder that exists.
        if let Ok(folder) = self.url.to_file_path() {
            std::fs::create_dir_all(&folder).map_err(|e| {
                DeltaError::Location(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
        let kernel_schema = Arc::new(StructType::try_from_arrow(delta_schema(schema).as_ref())?);
        let mut builder = create_table(self.url.as_str(), kernel_schema, ENGINE_INFO, true)
            .with_table_properties([("delta.feature.domainMetadata", "supported")]);
        if let Some(column) = partition {
            builder = builder.with_data_layout(DataLayout::partitioned([column]));
        }
        Ok(builder.build(self.engine(), Box::new(FileSystemCommitter::new()))?)
    }

    /// A transaction changing `snapshot`, noting `parameters` in its commit info.
    pub fn update(
        &self,
        snapshot: &SnapshotRef,
        parameters: &[(&str, String)],
    ) -> Result<Transaction, DeltaError> {
        Ok(snapshot
            .clone()
            .update_table(UpdateTableOperation::Write, ENGINE_INFO, true)
            .with_operation_parameters(parameters.iter().map(|(k, v)| (*k, Some(v.clone()))))
            .build(self.engine(), Box::new(FileSystemCommitter::new()))?)
    }

    /// Writes `rows` as one data file of the table (in the partition `column = bucket` when
    /// given) and stages its add action.
    pub fn stage_add<S>(
        &self,
        txn: &mut Transaction<S>,
        rows: RecordBatch,
        partition: Option<(&str, u32)>,
    ) -> Result<(), DeltaError> {
        let mut context = txn.write_state()?.write_context_builder();
        if let Some((column, bucket)) = partition {
            context = context.with_partition_values(HashMap::from([(
                column.to_string(),
                Scalar::Integer(bucket as i32),
            )]));
        }
        let context = context.build()?;
        let _runtime = self.engine().enter();
        let added = futures::executor::block_on(
            self.engine()
                .write_parquet(&ArrowEngineData::new(delta_types(&rows)?), &context),
        )?;
        txn.add_files(added);
        Ok(())
    }

    /// Stages the removal of every live file of `snapshot` in the partitions `only` names
    /// (all files when `None`). Returns how many.
    pub fn stage_remove(
        &self,
        snapshot: &SnapshotRef,
        txn: &mut Transaction,
        only: Option<Partitions>,
    ) -> Result<usize, DeltaError> {
        let scan = snapshot
            .clone()
            .scan_builder()
            .with_predicate(only.map(Partitions::predicate))
            .build()?;
        let mut removed = 0;
        for metadata in scan.scan_metadata(self.engine())? {
            let (files, selection) = metadata?.scan_files.into_parts();
            // Rows past the end of the selection vector are selected.
            removed += (0..files.len())
                .filter(|&i| selection.get(i).copied().unwrap_or(true))
                .count();
            txn.remove_files(FilteredEngineData::try_new(files, selection)?);
        }
        Ok(removed)
    }

    /// Commits `txn`: the new version, or the version another writer took first.
    pub fn commit<S: std::fmt::Debug>(&self, txn: Transaction<S>) -> Result<Committed, DeltaError> {
        // The data files are written, the log entry that makes them part of the table is not.
        crate::failpoint("before-delta-commit");
        match txn.commit(self.engine())? {
            CommitResult::Committed(c) => Ok(Committed::Version(c.commit_version())),
            CommitResult::Conflicted(c) => Ok(Committed::Conflict(c.conflict_version())),
            CommitResult::Retryable(r) => Err(DeltaError::Kernel(r.error)),
        }
    }

    /// Reads the object at `path` (relative to the table's folder).
    pub fn get(&self, path: &str) -> Result<bytes::Bytes, DeltaError> {
        let location = self.object(path)?;
        let store = self.store();
        let _runtime = self.engine().enter();
        Ok(futures::executor::block_on(async {
            store.get(&location).await?.bytes().await
        })?)
    }

    /// Writes the object at `path` (relative to the table's folder).
    pub fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), DeltaError> {
        let location = self.object(path)?;
        let store = self.store();
        let _runtime = self.engine().enter();
        futures::executor::block_on(store.put(&location, bytes.into()))?;
        Ok(())
    }

    /// Removes the object at `path` (relative to the table's folder).
    pub fn delete(&self, path: &str) -> Result<(), DeltaError> {
        let location = self.object(path)?;
        let store = self.store();
        let _runtime = self.engine().enter();
        futures::executor::block_on(store.delete(&location))?;
        Ok(())
    }

    /// The store's path of `path`, relative to the table's folder.
    fn object(&self, path: &str) -> Result<StorePath, DeltaError> {
        let url = self
            .url
            .join(path)
            .map_err(|e| DeltaError::State(format!("{path:?} is not a path in the table ({e})")))?;
        Ok(store_path(&url))
    }
}

/// The object store's path of `url`: the store of an `s3://bucket/` URL is rooted at the
/// bucket and the local one at `/`, so both take the URL's path.
fn store_path(url: &Url) -> StorePath {
    StorePath::from_url_path(url.path()).expect("a URL's path is a valid store path")
}

/// Some partitions of a table partitioned by a bucket column: `column IN (buckets)`, which the
/// kernel answers from the files' partition values alone.
#[derive(Debug, Clone, Copy)]
pub struct Partitions<'a> {
    pub column: &'a str,
    pub buckets: &'a [u32],
}

impl Partitions<'_> {
    fn predicate(self) -> PredicateRef {
        Arc::new(Predicate::or_from(self.buckets.iter().map(|&b| {
            Expression::column([self.column]).eq(Expression::literal(b as i32))
        })))
    }
}

impl From<arrow_schema::ArrowError> for DeltaError {
    fn from(error: arrow_schema::ArrowError) -> Self {
        DeltaError::Arrow(error)
    }
}

/// `batch` in types every Delta reader knows: dictionary-encoded columns as their values
/// (the core keeps repeated text as dictionaries; Delta's `string` is plain), unsigned
/// integers as the next wider signed type (Delta has no unsigned types), string views as
/// strings.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{DictionaryArray, RecordBatch, UInt32Array, types::Int32Type};
/// use arrow_schema::DataType;
/// let cities: DictionaryArray<Int32Type> = vec!["Austin", "Austin"].into_iter().collect();
/// let rows = RecordBatch::try_from_iter([
///     ("city", Arc::new(cities) as _),
///     ("row", Arc::new(UInt32Array::from(vec![1, 2])) as _),
/// ]).unwrap();
/// let plain = tidemark_delta::table::delta_types(&rows).unwrap();
/// assert_eq!(plain.schema().field(0).data_type(), &DataType::Utf8);
/// assert_eq!(plain.schema().field(1).data_type(), &DataType::Int64);
/// ```
pub fn delta_types(batch: &RecordBatch) -> Result<RecordBatch, DeltaError> {
    let schema = delta_schema(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                arrow_cast::cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The schema [`delta_types`] gives.
pub fn delta_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(delta_type(f.data_type())))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// The type [`delta_types`] gives a column of `data_type`.
pub fn delta_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Dictionary(_, values) => delta_type(values),
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        other => other.clone(),
    }
}
