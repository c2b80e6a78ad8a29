//! Encoding tables as Parquet (snappy) or CSV (with a header row).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, ErrorKind, Result};

/// The formats outputs can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Parquet,
    Csv,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }

    pub fn encode(self, batch: &RecordBatch) -> Result<Vec<u8>> {
        match self {
            OutputFormat::Parquet => to_parquet(batch),
            OutputFormat::Csv => to_csv(batch),
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(OutputFormat::Parquet),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!(
                "unknown format {other:?} (expected parquet or csv)"
            )),
        }
    }
}

fn encode_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Encode(e.to_string()))
}

/// Snappy-compressed Parquet, in row groups of up to a million rows.
pub fn to_parquet(batch: &RecordBatch) -> Result<Vec<u8>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(&batch.schema()), Some(properties))
        .map_err(encode_error)?;
    writer.write(batch).map_err(encode_error)?;
    writer.close().map_err(encode_error)?;
    Ok(out)
}

/// CSV with a header row; NULL as an empty field, timestamps as DMS writes them.
pub fn to_csv(batch: &RecordBatch) -> Result<Vec<u8>> {
    let options = FormatOptions::default()
        .with_null("")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
        .with_display_error(true);
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(encode_error)?;
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(batch.num_rows() * 32));
    let schema = batch.schema();
    writer
        .write_record(schema.fields().iter().map(|f| f.name()))
        .map_err(encode_error)?;
    let mut field = String::new();
    for row in 0..batch.num_rows() {
        for formatter in &formatters {
            field.clear();
            use std::fmt::Write;
            write!(field, "{}", formatter.value(row)).map_err(encode_error)?;
            writer.write_field(&field).map_err(encode_error)?;
        }
        writer.write_record(None::<&[u8]>).map_err(encode_error)?;
    }
    writer.into_inner().map_err(encode_error)
}

/// Encodes several tables at once, on every core when the `parallel` feature is on.
pub fn encode_all(tables: &[(&RecordBatch, OutputFormat)]) -> Result<Vec<Vec<u8>>> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        tables
            .par_iter()
            .map(|(batch, format)| format.encode(batch))
            .collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        tables
            .iter()
            .map(|(batch, format)| format.encode(batch))
            .collect()
    }
}
