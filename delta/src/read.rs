//! A Delta table read whole, at a version: what `tidemark apply --snapshot` takes when it names
//! a Delta table (Tidemark's or any other writer's) instead of files.

use arrow_array::RecordBatch;
use tidemark_core::InputFile;
use tidemark_core::decode::read_parquet;
use tidemark_core::encode;

use crate::DeltaError;
use crate::meta::{DOMAIN, TableMeta};
use crate::run::{TABLE, without_bucket};
use crate::store::{Place, is_url};
use crate::table::DeltaTable;

/// A version of a Delta table, as inputs of a run.
#[derive(Debug, Clone)]
pub struct TableVersion {
    /// The version read.
    pub version: u64,
    /// Its rows as one Parquet file named `URL@vN`, without Tidemark's bucket column.
    pub rows: InputFile,
    /// For a table Tidemark maintains, the versions of its keys (its state, all buckets) as a
    /// `state.parquet` would hold them; `None` for other tables or changes without a sequence.
    pub state: Option<InputFile>,
}

/// Whether `location` names a Delta table: a URL, or a local folder with a `_delta_log/`
/// (the table itself, or a place of Tidemark's tables with `table/_delta_log/`).
pub fn is_table(location: &str) -> bool {
    let folder = std::path::Path::new(location);
    is_url(location)
        || folder.join("_delta_log").is_dir()
        || folder.join(TABLE).join("_delta_log").is_dir()
}

/// Reads the Delta table at `location` (see [`is_table`]; for a place, its `table/`) at
/// `version`, the latest when `None`.
pub fn read_table(location: &str, version: Option<u64>) -> Result<TableVersion, DeltaError> {
    let table = open(location)?;
    let snapshot = table
        .at(version)?
        .ok_or_else(|| DeltaError::Location(format!("{location:?} holds no Delta table")))?;
    let version = snapshot.version();
    // The kernel reads the rows without the partition column the schema has.
    let schema = without_bucket(&DeltaTable::arrow_schema(&snapshot)?);
    let rows = arrow_select::concat::concat_batches(&schema, &table.read(&snapshot, None)?)?;
    let name = format!("{}@v{version}", table.url);
    let state = match snapshot.get_domain_metadata(DOMAIN, table.engine())? {
        Some(text) => {
            let meta: TableMeta = serde_json::from_str(&text).map_err(|e| {
                DeltaError::State(format!("{name}: unreadable {DOMAIN:?} metadata: {e}"))
            })?;
            state_of(&table, &meta, &name)?
        }
        None => None,
    };
    Ok(TableVersion {
        version,
        rows: InputFile::new(name, encode::to_parquet(&rows)?),
        state,
    })
}

/// The latest version of the Delta table at `location` (see [`read_table`]), read from its log
/// without reading its rows: a reader choosing versions to compare starts from it.
pub fn latest_version(location: &str) -> Result<u64, DeltaError> {
    let snapshot = open(location)?
        .at(None)?
        .ok_or_else(|| DeltaError::Location(format!("{location:?} holds no Delta table")))?;
    Ok(snapshot.version())
}

/// The table at `location`: the place's `table/` when there is one, else the location itself.
fn open(location: &str) -> Result<DeltaTable, DeltaError> {
    let place = Place::open(location)?;
    let maintained = DeltaTable::new(&place, TABLE);
    if maintained.at(None)?.is_some() {
        return Ok(maintained);
    }
    let trimmed = location.trim_end_matches('/');
    let (parent, name) = trimmed
        .rsplit_once('/')
        .ok_or_else(|| DeltaError::Location(format!("{location:?} holds no Delta table")))?;
    Ok(DeltaTable::new(&Place::open(parent)?, name))
}

/// Every bucket's state file, as one.
fn state_of(
    table: &DeltaTable,
    meta: &TableMeta,
    name: &str,
) -> Result<Option<InputFile>, DeltaError> {
    let mut batches: Vec<RecordBatch> = Vec::new();
    for path in meta.state.values() {
        let file = InputFile::new(format!("{}{path}", table.url), table.get(path)?);
        batches.push(read_parquet(&file)?);
    }
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let rows = arrow_select::concat::concat_batches(&first.schema(), &batches)?;
    Ok(Some(InputFile::new(
        format!("{name} state"),
        encode::to_parquet(&rows)?,
    )))
}
