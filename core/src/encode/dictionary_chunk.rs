//! Dictionary-encoded columns written as Parquet column chunks without looking at each row's
//! value.
//!
//! The general Parquet writer builds each column chunk's dictionary by interning every row's
//! value (a hash and a comparison per row) and compares every row again for the statistics;
//! a dictionary column is first expanded to its values. At ten million rows that was a
//! quarter of a run's CPU. A column Tidemark holds as a dictionary (`Dictionary(Int32, _)`
//! of text, 64-bit integers or doubles: decoded text, the features) is already encoded, so
//! this writer works on its keys: it numbers the dictionary values a row group uses, in order
//! of first use, writes them as the dictionary page, and writes each row's number in the data
//! pages. The statistics and the page index come from the dictionary's values put in order
//! once per column ([`Dictionary`]), so no row's value is compared either.
//!
//! The file is the same as the general writer's (same encodings, page sizes, statistics and
//! page index); only the order of the dictionary entries can differ. Where the general writer
//! would do something else (a dictionary over the page size limit, which it abandons for plain
//! encoding; statistics it would truncate; bloom filters; data page v2) [`encode`] declines
//! and the general writer is used.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_buffer::{NullBuffer, ToByteSlice};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// A column chunk, encoded, with the metadata its row group records.
pub(super) struct EncodedChunk {
    pub bytes: Bytes,
    pub close: ColumnCloseResult,
}

/// The values of a dictionary column this writer handles, typed.
#[derive(Clone, Copy)]
enum Values<'a> {
    Text(&'a arrow_array::StringArray),
    Int64(&'a arrow_array::Int64Array),
    Float64(&'a arrow_array::Float64Array),
}

impl<'a> Values<'a> {
    fn of(values: &'a dyn Array) -> Option<Self> {
        match values.data_type() {
            DataType::Utf8 => Some(Values::Text(values.as_string::<i32>())),
            DataType::Int64 => Some(Values::Int64(values.as_primitive::<Int64Type>())),
            DataType::Float64 => Some(Values::Float64(values.as_primitive::<Float64Type>())),
            _ => None,
        }
    }

    fn len(self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::Int64(v) => v.len(),
            Values::Float64(v) => v.len(),
        }
    }

    fn physical_type(self) -> PhysicalType {
        match self {
            Values::Text(_) => PhysicalType::BYTE_ARRAY,
            Values::Int64(_) => PhysicalType::INT64,
            Values::Float64(_) => PhysicalType::DOUBLE,
        }
    }

    /// Value `i` as its statistics and page index store it: text as its bytes, numbers in
    /// memory order, little-endian on every target Tidemark builds for (and how PLAIN
    /// encodes them).
    fn bytes(self, i: usize) -> &'a [u8] {
        match self {
            Values::Text(v) => v.value(i).as_bytes(),
            Values::Int64(v) => v.values()[i..i + 1].to_byte_slice(),
            Values::Float64(v) => v.values()[i..i + 1].to_byte_slice(),
        }
    }

    /// Value `i`, PLAIN-encoded as the dictionary page holds it.
    fn plain(self, i: usize, out: &mut Vec<u8>) {
        let bytes = self.bytes(i);
        if let Values::Text(_) = self {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(bytes);
    }

    fn plain_size(self, i: usize) -> usize {
        match self {
            Values::Text(v) => 4 + v.value(i).len(),
            Values::Int64(_) | Values::Float64(_) => 8,
        }
    }

    /// Parquet's order of the values: unsigned bytes for text, signed for integers, and for
    /// doubles IEEE 754 total order with NaN after every number (NaN counts apart, and is
    /// a bound only of a page of nothing else).
    fn cmp(self, a: usize, b: usize) -> Ordering {
        match self {
            Values::Text(v) => v.value(a).as_bytes().cmp(v.value(b).as_bytes()),
            Values::Int64(v) => v.value(a).cmp(&v.value(b)),
            Values::Float64(v) => {
                let (a, b) = (v.value(a), v.value(b));
                a.is_nan().cmp(&b.is_nan()).then(a.total_cmp(&b))
            }
        }
    }

    fn is_nan(self, i: usize) -> bool {
        matches!(self, Values::Float64(v) if v.value(i).is_nan())
    }

    /// The chunk statistics of values `min` and `max`.
    /// `signed`: whether the column's sort order is signed, which makes the statistics fill
    /// the deprecated fields too, as the general writer does.
    fn statistics(
        self,
        bounds: Option<(usize, usize)>,
        nulls: u64,
        nans: Option<u64>,
        signed: bool,
    ) -> Statistics {
        let (min, max) = bounds.unzip();
        match self {
            Values::Text(v) => {
                let value =
                    |i: Option<usize>| i.map(|i| ByteArray::from(v.value(i).as_bytes().to_vec()));
                Statistics::ByteArray(StatisticsOf { nulls, signed }.of(value(min), value(max)))
            }
            Values::Int64(v) => Statistics::Int64(
                StatisticsOf { nulls, signed }.of(min.map(|i| v.value(i)), max.map(|i| v.value(i))),
            ),
            Values::Float64(v) => Statistics::Double(
                StatisticsOf { nulls, signed }
                    .of(min.map(|i| v.value(i)), max.map(|i| v.value(i)))
                    .with_nan_count(nans),
            ),
        }
    }
}

/// What the statistics of a chunk hold besides its bounds.
struct StatisticsOf {
    nulls: u64,
    signed: bool,
}

impl StatisticsOf {
    fn of<T>(self, min: Option<T>, max: Option<T>) -> ValueStatistics<T> {
        ValueStatistics::new(min, max, None, Some(self.nulls), false)
            .with_backwards_compatible_min_max(self.signed)
    }
}

/// A dictionary column's values in Parquet's order, computed once for all its row groups.
pub(super) struct Dictionary {
    values: ArrayRef,
    /// `rank[v]`: the place of value `v` in Parquet's order, smallest first.
    rank: Vec<u32>,
    /// `by_rank[r]`: the value in place `r`.
    by_rank: Vec<u32>,
    /// Places from here on hold NaN.
    first_nan: u32,
}

impl Dictionary {
    /// `None` when `column` is not a dictionary this writer handles.
    pub(super) fn of(column: &dyn Array) -> Option<Dictionary> {
        let DataType::Dictionary(key, _) = column.data_type() else {
            return None;
        };
        if **key != DataType::Int32 {
            return None;
        }
        let values = Arc::clone(column.as_dictionary::<Int32Type>().values());
        let typed = Values::of(values.as_ref())?;
        let mut by_rank: Vec<u32> = (0..values.len() as u32).collect();
        by_rank.sort_unstable_by(|&a, &b| typed.cmp(a as usize, b as usize));
        let mut rank = vec![0; values.len()];
        for (place, &v) in by_rank.iter().enumerate() {
            rank[v as usize] = place as u32;
        }
        let first_nan = by_rank.partition_point(|&v| !typed.is_nan(v as usize)) as u32;
        Some(Dictionary {
            values,
            rank,
            by_rank,
            first_nan,
        })
    }

    fn values(&self) -> Values<'_> {
        Values::of(self.values.as_ref()).expect("checked in Dictionary::of")
    }

    /// The smallest and largest of the values `keys` (Arrow dictionary indices) take, by
    /// Parquet's rules: NaN only where there is nothing else.
    fn bounds(&self, keys: impl Iterator<Item = u32>) -> Option<(usize, usize)> {
        let (mut min, mut max_number, mut max) = (u32::MAX, None::<u32>, None::<u32>);
        for key in keys {
            let r = self.rank[key as usize];
            min = min.min(r);
            max = max.max(Some(r));
            if r < self.first_nan {
                max_number = max_number.max(Some(r));
            }
        }
        let max = max_number.or(max)?;
        Some((
            self.by_rank[min as usize] as usize,
            self.by_rank[max as usize] as usize,
        ))
    }
}

/// Encodes `column`, one row group's rows of a leaf column whose whole column gave
/// `dictionary`, as a dictionary-encoded column chunk; `None` when the general writer would
/// write it differently (see the module docs).
pub(super) fn encode(
    column: &dyn Array,
    dictionary: &Dictionary,
    descr: &ColumnDescPtr,
    props: &WriterProperties,
) -> Result<Option<EncodedChunk>> {
    let array = column.as_dictionary::<Int32Type>();
    let values = dictionary.values();
    if !Arc::ptr_eq(array.values(), &dictionary.values)
        || descr.physical_type() != values.physical_type()
        || !writes_like_the_general_writer(descr, props)
    {
        return Ok(None);
    }
    let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
    if descr.max_def_level() == 0 && nulls.is_some() {
        // A required column with nulls: the general writer reports it.
        return Ok(None);
    }
    let numbering = Numbering::of(array.keys().values(), nulls.as_ref(), values.len());
    let Some(dictionary_page) = numbering.dictionary_page(values, props, descr) else {
        return Ok(None);
    };
    let bounds = dictionary.bounds(numbering.used.iter().copied());
    if let (Values::Text(_), Some((min, max))) = (values, bounds) {
        let (min, max) = (values.bytes(min).len(), values.bytes(max).len());
        let truncated = |limit: Option<usize>| limit.is_some_and(|l| min > l || max > l);
        if truncated(props.statistics_truncate_length())
            || truncated(props.column_index_truncate_length())
        {
            return Ok(None);
        }
    }
    // NaN counts, for doubles: per dictionary number, then per page.
    let nan: Option<Vec<bool>> = matches!(values, Values::Float64(_)).then(|| {
        numbering
            .used
            .iter()
            .map(|&v| values.is_nan(v as usize))
            .collect()
    });
    let count_nans = |ids: &[u32]| {
        nan.as_ref()
            .map(|nan| ids.iter().filter(|&&id| nan[id as usize]).count() as u64)
    };

    let compression = props.compression(descr.path());
    let statistics = props.statistics_enabled(descr.path());
    let mut sink = TrackedWrite::new(Vec::with_capacity(
        dictionary_page.len() + numbering.ids.len(),
    ));
    let mut pages = SerializedPageWriter::new(&mut sink);
    let mut sizes = ChunkSizes::default();
    let used = u32::try_from(numbering.used.len()).map_err(|_| too_many("dictionary values"))?;
    sizes.add(
        pages.write_page(compress(compression, dictionary_page, |buf| {
            Page::DictionaryPage {
                buf,
                num_values: used,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            }
        })?)?,
    );

    let mut offset_index = OffsetIndexBuilder::new();
    let mut column_index = ColumnIndexBuilder::new(values.physical_type());
    let mut data_page_offset = None;
    let mut data_pages = 0;
    let mut nans = nan.as_ref().map(|_| 0);
    let bit_width = bits_for(numbering.used.len().saturating_sub(1));
    let page_rows = props.data_page_row_count_limit().max(1);
    let mut ids = numbering.ids.as_slice();
    for start in (0..column.len()).step_by(page_rows) {
        let rows = page_rows.min(column.len() - start);
        let page_nulls = nulls.as_ref().map(|n| n.slice(start, rows));
        let nulls_in_page = page_nulls.as_ref().map_or(0, NullBuffer::null_count);
        let (page_ids, rest) = ids.split_at(rows - nulls_in_page);
        ids = rest;

        let mut buf = Vec::with_capacity(16 + page_ids.len() * usize::from(bit_width).div_ceil(8));
        if descr.max_def_level() > 0 {
            definition_levels(rows, page_nulls.as_ref(), &mut buf);
        }
        buf.push(bit_width);
        HybridEncoder::new(bit_width, &mut buf).encode(page_ids);

        let spec = pages.write_page(compress(compression, buf, |buf| Page::DataPage {
            buf,
            num_values: rows as u32,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        })?)?;
        data_page_offset.get_or_insert(spec.offset as i64);
        data_pages += 1;
        offset_index.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        offset_index.append_row_count(rows as i64);
        sizes.add(spec);
        let page_nans = count_nans(page_ids);
        if let (Some(total), Some(page)) = (nans.as_mut(), page_nans) {
            *total += page;
        }
        let page_nans = page_nans.map(|n| n as i64);
        match dictionary.bounds(page_ids.iter().map(|&id| numbering.used[id as usize])) {
            Some((min, max)) => column_index.append(
                false,
                values.bytes(min).to_vec(),
                values.bytes(max).to_vec(),
                nulls_in_page as i64,
                page_nans,
            ),
            None => column_index.append(
                true,
                Vec::new(),
                Vec::new(),
                nulls_in_page as i64,
                page_nans,
            ),
        }
    }
    pages.close()?;

    let null_count = nulls.as_ref().map_or(0, NullBuffer::null_count) as u64;
    let mut metadata = ColumnChunkMetaData::builder(descr.clone())
        .set_compression(compression)
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_page_encoding_stats(vec![
            PageEncodingStats {
                page_type: PageType::DICTIONARY_PAGE,
                encoding: Encoding::PLAIN,
                count: 1,
            },
            PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding: Encoding::RLE_DICTIONARY,
                count: data_pages,
            },
        ])
        .set_num_values(column.len() as i64)
        .set_total_compressed_size(sizes.compressed)
        .set_total_uncompressed_size(sizes.uncompressed)
        .set_dictionary_page_offset(Some(0))
        .set_data_page_offset(data_page_offset.unwrap_or(sizes.compressed));
    if statistics != EnabledStatistics::None {
        metadata = metadata.set_statistics(values.statistics(
            bounds,
            null_count,
            nans,
            descr.sort_order().is_signed(),
        ));
    }
    let close = ColumnCloseResult {
        bytes_written: sink.bytes_written() as u64,
        rows_written: column.len() as u64,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index: match statistics {
            EnabledStatistics::Page => Some(column_index.build()?),
            _ => None,
        },
        offset_index: Some(offset_index.build()),
    };
    Ok(Some(EncodedChunk {
        bytes: sink.into_inner()?.into(),
        close,
    }))
}

/// Whether the general writer would write this column the way [`encode`] does.
fn writes_like_the_general_writer(descr: &ColumnDescPtr, props: &WriterProperties) -> bool {
    let path = descr.path();
    descr.max_rep_level() == 0
        && descr.max_def_level() <= 1
        && props.dictionary_enabled(path)
        && props.writer_version() == WriterVersion::PARQUET_1_0
        && props.bloom_filter_properties(path).is_none()
        && matches!(
            props.compression(path),
            Compression::SNAPPY | Compression::UNCOMPRESSED
        )
}

fn too_many(what: &str) -> ParquetError {
    ParquetError::General(format!("too many {what} for one column chunk"))
}

/// The dictionary values a row group uses, numbered in order of first use.
struct Numbering {
    /// `used[id]` is the index in the Arrow dictionary of the value numbered `id`.
    used: Vec<u32>,
    /// The number of every non-null row's value, in row order.
    ids: Vec<u32>,
}

impl Numbering {
    fn of(keys: &[i32], nulls: Option<&NullBuffer>, dictionary_len: usize) -> Self {
        const UNSEEN: u32 = u32::MAX;
        let mut id_of = vec![UNSEEN; dictionary_len];
        let mut used = Vec::new();
        let mut number = |key: i32| {
            let id = &mut id_of[key as usize];
            if *id == UNSEEN {
                *id = used.len() as u32;
                used.push(key as u32);
            }
            *id
        };
        let ids = match nulls {
            None => keys.iter().map(|&key| number(key)).collect(),
            Some(nulls) => nulls.valid_indices().map(|row| number(keys[row])).collect(),
        };
        Numbering { used, ids }
    }

    /// The PLAIN-encoded dictionary page, or `None` when it is over the size at which the
    /// general writer gives up on a dictionary.
    fn dictionary_page(
        &self,
        values: Values,
        props: &WriterProperties,
        descr: &ColumnDescPtr,
    ) -> Option<Vec<u8>> {
        let size: usize = self
            .used
            .iter()
            .map(|&v| values.plain_size(v as usize))
            .sum();
        if self.used.is_empty() || size > props.column_dictionary_page_size_limit(descr.path()) {
            return None;
        }
        let mut page = Vec::with_capacity(size);
        for &v in &self.used {
            values.plain(v as usize, &mut page);
        }
        Some(page)
    }
}

/// The page's definition levels (1 for a value, 0 for a null), RLE-encoded behind their
/// length as data page v1 lays them out.
fn definition_levels(rows: usize, nulls: Option<&NullBuffer>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match nulls {
        None => HybridEncoder::new(1, out).repeat(1, rows),
        Some(nulls) => {
            let levels: Vec<u32> = nulls.iter().map(u32::from).collect();
            HybridEncoder::new(1, out).encode(&levels);
        }
    }
    let length = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
}

/// The number of bits that hold every number up to `max`.
fn bits_for(max: usize) -> u8 {
    (usize::BITS - max.leading_zeros()) as u8
}

/// `page` compressed with `compression`, wrapped as a page by `wrap`.
fn compress(
    compression: Compression,
    page: Vec<u8>,
    wrap: impl FnOnce(Bytes) -> Page,
) -> Result<CompressedPage> {
    let uncompressed = page.len();
    let buf = match compression {
        Compression::SNAPPY => snap::raw::Encoder::new()
            .compress_vec(&page)
            .map_err(|e| ParquetError::External(Box::new(e)))?,
        _ => page,
    };
    Ok(CompressedPage::new(wrap(buf.into()), uncompressed))
}

/// Running totals of a column chunk's pages, headers included.
#[derive(Default)]
struct ChunkSizes {
    compressed: i64,
    uncompressed: i64,
}

impl ChunkSizes {
    fn add(&mut self, page: parquet::column::page::PageWriteSpec) {
        self.compressed += page.compressed_size as i64;
        self.uncompressed += page.uncompressed_size as i64;
    }
}

/// Parquet's RLE/bit-packing hybrid encoding of small unsigned numbers: a run of eight or more
/// equal numbers is written once with its length, everything else bit-packed in groups of
/// eight.
struct HybridEncoder<'a> {
    bit_width: u8,
    out: &'a mut Vec<u8>,
}

impl<'a> HybridEncoder<'a> {
    /// The shortest run written as a repetition: shorter ones cost more than they save.
    const MIN_RUN: usize = 8;

    fn new(bit_width: u8, out: &'a mut Vec<u8>) -> Self {
        HybridEncoder { bit_width, out }
    }

    fn encode(&mut self, values: &[u32]) {
        let run_at = |i: usize| values[i..].iter().take_while(|&&v| v == values[i]).count();
        let mut i = 0;
        while i < values.len() {
            let run = run_at(i);
            if run >= Self::MIN_RUN {
                self.repeat(values[i], run);
                i += run;
                continue;
            }
            // Bit-pack groups of eight until one starts a run (or the values end); a group
            // short of eight can only be the last, padded with zeros.
            let mut end = i;
            loop {
                end += 8;
                if end >= values.len() || run_at(end) >= Self::MIN_RUN {
                    break;
                }
            }
            self.bit_pack(&values[i..end.min(values.len())]);
            i = end;
        }
    }

    /// `count` times `value`.
    fn repeat(&mut self, value: u32, count: usize) {
        if count == 0 {
            return;
        }
        self.varint((count as u64) << 1);
        let bytes = usize::from(self.bit_width).div_ceil(8);
        self.out.extend_from_slice(&value.to_le_bytes()[..bytes]);
    }

    fn bit_pack(&mut self, values: &[u32]) {
        let groups = values.len().div_ceil(8);
        self.varint(((groups as u64) << 1) | 1);
        let width = u32::from(self.bit_width);
        let (mut bits, mut filled) = (0u64, 0u32);
        for i in 0..groups * 8 {
            bits |= u64::from(values.get(i).copied().unwrap_or(0)) << filled;
            filled += width;
            while filled >= 8 {
                self.out.push(bits as u8);
                bits >>= 8;
                filled -= 8;
            }
        }
    }

    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{DictionaryArray, Int32Array, RecordBatch, StringArray};
    use arrow_select::concat::concat_batches;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
    use parquet::file::page_index::column_index::ColumnIndexMetaData;
    use proptest::prelude::*;

    /// A dictionary column as decoders and splices leave them: keys that may be null, values
    /// that may be null, unused or repeated.
    fn column(keys: Vec<Option<i32>>, values: Vec<Option<String>>) -> ArrayRef {
        let keys = Int32Array::from(keys);
        Arc::new(DictionaryArray::try_new(keys, Arc::new(StringArray::from(values))).unwrap())
    }

    fn metadata(file: &[u8]) -> ParquetMetaData {
        ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(&Bytes::copy_from_slice(file))
            .unwrap()
    }

    /// Statistics as the file holds them: bounds as bytes, because a NaN bound (a column of
    /// nothing but NaN) is not equal to itself as a number.
    #[derive(Debug, PartialEq)]
    struct ExactStatistics<'a> {
        min: Option<&'a [u8]>,
        max: Option<&'a [u8]>,
        nulls: Option<u64>,
        distinct: Option<u64>,
        bounds_exact: (bool, bool),
    }

    fn exact_statistics(statistics: &Statistics) -> ExactStatistics<'_> {
        ExactStatistics {
            min: statistics.min_bytes_opt(),
            max: statistics.max_bytes_opt(),
            nulls: statistics.null_count_opt(),
            distinct: statistics.distinct_count_opt(),
            bounds_exact: (statistics.min_is_exact(), statistics.max_is_exact()),
        }
    }

    fn decode(file: &[u8]) -> RecordBatch {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(file)).unwrap();
        let schema = Arc::clone(reader.schema());
        let reader = reader.build().unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        concat_batches(&schema, &batches).unwrap()
    }

    /// `batch` as written by the general writer, its dictionaries cast away.
    fn general_writer(batch: &RecordBatch) -> Vec<u8> {
        let plain = super::super::logical(batch).unwrap();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(
            &mut out,
            plain.schema(),
            Some(super::super::writer_properties()),
        )
        .unwrap();
        writer.write(&plain).unwrap();
        writer.close().unwrap();
        out
    }

    /// A page's bounds as its column index holds them, as bytes.
    fn bounds_in(index: &ColumnIndexMetaData, page: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        match index {
            ColumnIndexMetaData::BYTE_ARRAY(i) => {
                Some((i.min_value(page)?.to_vec(), i.max_value(page)?.to_vec()))
            }
            ColumnIndexMetaData::INT64(i) => Some((
                i.min_value(page)?.to_le_bytes().to_vec(),
                i.max_value(page)?.to_le_bytes().to_vec(),
            )),
            ColumnIndexMetaData::DOUBLE(i) => Some((
                i.min_value(page)?.to_le_bytes().to_vec(),
                i.max_value(page)?.to_le_bytes().to_vec(),
            )),
            other => panic!("unexpected column index {other:?}"),
        }
    }

    /// What a page of `rows` is bounded by, row by row: the smallest and largest value that is
    /// not null, and for doubles not NaN either unless there is nothing else.
    fn bounds_of(rows: &dyn Array) -> Option<(Vec<u8>, Vec<u8>)> {
        fn min_max<T: Copy>(
            values: impl Iterator<Item = T>,
            cmp: impl Fn(&T, &T) -> Ordering,
        ) -> Option<(T, T)> {
            let values: Vec<T> = values.collect();
            Some((
                *values.iter().min_by(|a, b| cmp(a, b))?,
                *values.iter().max_by(|a, b| cmp(a, b))?,
            ))
        }
        match rows.data_type() {
            DataType::Utf8 => min_max(rows.as_string::<i32>().iter().flatten(), Ord::cmp)
                .map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec())),
            DataType::Int64 => min_max(rows.as_primitive::<Int64Type>().iter().flatten(), Ord::cmp)
                .map(|(a, b)| (a.to_le_bytes().to_vec(), b.to_le_bytes().to_vec())),
            DataType::Float64 => {
                let all = rows.as_primitive::<Float64Type>().iter().flatten();
                let (numbers, nans): (Vec<f64>, Vec<f64>) = all.partition(|v| !v.is_nan());
                let pick = if numbers.is_empty() { nans } else { numbers };
                min_max(pick.into_iter(), f64::total_cmp)
                    .map(|(a, b)| (a.to_le_bytes().to_vec(), b.to_le_bytes().to_vec()))
            }
            other => panic!("unexpected type {other}"),
        }
    }

    /// Whether [`encode`] writes `column` (rather than leaving it to the general writer).
    fn taken(column: &ArrayRef) -> bool {
        let schema = super::super::logical_schema(&arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("column", column.data_type().clone(), true),
        ]));
        let parquet = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap();
        let dictionary = Dictionary::of(column.as_ref()).expect("a dictionary column");
        let props = super::super::writer_properties();
        encode(column.as_ref(), &dictionary, &parquet.column(0), &props)
            .unwrap()
            .is_some()
    }

    /// Writes `batch` both ways and checks that the files hold the same rows, the same
    /// statistics, dictionary-encoded pages, and a page index that is right page by page.
    fn written_like_the_general_writer(batch: &RecordBatch) {
        let ours = super::super::to_parquet(batch).unwrap();
        let theirs = general_writer(batch);
        let expected = decode(&theirs);
        assert_eq!(decode(&ours), expected);

        let (ours, theirs) = (metadata(&ours), metadata(&theirs));
        assert_eq!(ours.num_row_groups(), theirs.num_row_groups());
        let page_index = ours.page_index().expect("a page index");
        let mut first_row = 0;
        for (group, (ours, theirs)) in ours
            .row_groups()
            .iter()
            .zip(theirs.row_groups())
            .enumerate()
        {
            for (c, (ours, theirs)) in ours.columns().iter().zip(theirs.columns()).enumerate() {
                let name = ours.column_path().string();
                assert_eq!(ours.num_values(), theirs.num_values(), "{name}");
                assert_eq!(
                    ours.statistics().map(exact_statistics),
                    theirs.statistics().map(exact_statistics),
                    "{name}"
                );
                // The same encodings, and the data pages dictionary-encoded as theirs are.
                assert_eq!(ours.encodings_mask(), theirs.encodings_mask(), "{name}");
                assert_eq!(
                    ours.page_encoding_stats_mask(),
                    theirs.page_encoding_stats_mask(),
                    "{name}"
                );
                let pages = page_index.offset_index(group, c).unwrap().page_locations();
                let index = page_index.column_index(group, c).unwrap();
                for (page, location) in pages.iter().enumerate() {
                    let start = first_row + location.first_row_index as usize;
                    let end = pages
                        .get(page + 1)
                        .map_or(first_row + ours.num_values() as usize, |next| {
                            first_row + next.first_row_index as usize
                        });
                    let page_rows = expected.column(c).slice(start, end - start);
                    assert_eq!(
                        bounds_in(index, page),
                        bounds_of(&page_rows),
                        "{name} page {page}"
                    );
                    assert_eq!(
                        index.null_count(page),
                        Some(page_rows.null_count() as i64),
                        "{name} page {page}"
                    );
                }
            }
            first_row += ours.num_rows() as usize;
        }
    }

    #[test]
    fn a_million_rows_and_more_make_two_row_groups_of_pages_of_at_most_20_000_rows() {
        let rows = super::super::ROW_GROUP_ROWS + 45_000;
        let cities = (0..300).map(|i| Some(format!("city {i:03}"))).collect();
        let keys = (0..rows)
            .map(|i| (i % 11 != 0).then_some((i * 7 % 300) as i32))
            .collect();
        let city = column(keys, cities);
        assert!(taken(&city));
        let batch = RecordBatch::try_from_iter([("city", city)]).unwrap();
        written_like_the_general_writer(&batch);
        let file = metadata(&super::super::to_parquet(&batch).unwrap());
        let pages = file
            .page_index()
            .unwrap()
            .offset_index(0, 0)
            .unwrap()
            .page_locations();
        assert_eq!(pages.len(), super::super::ROW_GROUP_ROWS.div_ceil(20_000));
    }

    #[test]
    fn a_column_of_nothing_but_nan_has_nan_bounds_as_the_general_writer_writes() {
        // Found by the proptest below in CI: the bounds were right, the comparison was not.
        let values = Arc::new(arrow_array::Float64Array::from(vec![f64::NAN]));
        let keys: Int32Array = (0..100).map(|i| (i % 7 != 0).then_some(0)).collect();
        let column: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
        assert!(taken(&column));
        let batch = RecordBatch::try_from_iter([("column", column)]).unwrap();
        written_like_the_general_writer(&batch);
        let file = metadata(&super::super::to_parquet(&batch).unwrap());
        let statistics = file.row_group(0).column(0).statistics().unwrap();
        let nan = f64::NAN.to_le_bytes();
        assert_eq!(statistics.min_bytes_opt(), Some(&nan[..]));
        assert_eq!(statistics.max_bytes_opt(), Some(&nan[..]));
    }

    /// Dictionary values of each kind the writer takes, edge cases included.
    fn dictionary_values() -> impl Strategy<Value = ArrayRef> {
        let doubles = prop::sample::select(vec![
            f64::NAN,
            -f64::NAN,
            f64::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1.0,
            f64::INFINITY,
        ]);
        let values = 1..40;
        prop_oneof![
            prop::collection::vec(prop::option::weighted(0.9, "[a-c]{0,3}"), values.clone())
                .prop_map(|v| Arc::new(StringArray::from(v)) as ArrayRef),
            prop::collection::vec(prop::option::weighted(0.9, -3i64..3), values.clone())
                .prop_map(|v| Arc::new(arrow_array::Int64Array::from(v)) as ArrayRef),
            prop::collection::vec(prop::option::weighted(0.9, doubles), values)
                .prop_map(|v| Arc::new(arrow_array::Float64Array::from(v)) as ArrayRef),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn any_dictionary_column_is_written_like_the_general_writer(
            values in dictionary_values(),
            picks in prop::collection::vec((any::<prop::sample::Index>(), prop::bool::weighted(0.9)), 0..50_000),
            runs in 1usize..40,
        ) {
            // Runs of equal keys, as sorted or clustered data has, and plain mixes.
            let keys: Int32Array = picks
                .iter()
                .enumerate()
                .map(|(i, (_, valid))| valid.then(|| picks[i / runs * runs].0.index(values.len()) as i32))
                .collect();
            let column: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values).unwrap());
            prop_assert!(taken(&column) || column.logical_null_count() == column.len());
            let batch = RecordBatch::try_from_iter([("column", column)]).unwrap();
            written_like_the_general_writer(&batch);
        }
    }

    #[test]
    #[expect(
        clippy::unusual_byte_groupings,
        reason = "bits grouped by the number they belong to"
    )]
    fn hybrid_encoding_repeats_runs_and_packs_the_rest() {
        let mut out = Vec::new();
        HybridEncoder::new(2, &mut out).encode(&[1; 10]);
        assert_eq!(out, [10 << 1, 1], "one run of ten ones");

        out.clear();
        HybridEncoder::new(3, &mut out).encode(&[0, 1, 2, 3, 4, 5, 6, 7, 1]);
        // Two groups of eight 3-bit numbers (the second padded with zeros), LSB first.
        assert_eq!(
            out,
            [
                (2 << 1) | 1,
                0b10_001_000,
                0b1_100_011_0,
                0b111_110_10,
                1,
                0,
                0
            ]
        );

        out.clear();
        HybridEncoder::new(1, &mut out).encode(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(out, [(1 << 1) | 1, 0b0101_0101, 8 << 1, 1]);
    }

    #[test]
    fn a_run_of_more_than_127_has_a_two_byte_length() {
        let mut out = Vec::new();
        HybridEncoder::new(8, &mut out).encode(&[200; 300]);
        assert_eq!(out, [0xd8, 0x04, 200]);
    }
}
