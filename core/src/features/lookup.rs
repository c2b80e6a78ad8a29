//! Looking up a group's name (a city) in a reference table to find what it belongs to (a state).
//!
//! Names match without regard to case or surrounding spaces. A name shared by several places
//! (Austin TX and Austin MN) resolves to the most populous one when the table has a
//! `population` column, else to the first one listed; either way the report names it as
//! ambiguous. Aliases map the spellings source systems use (`New York`) to the table's
//! (`New York City`, NY).

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_schema::DataType;

use crate::error::{Cause, Error, ErrorKind, Location, Result};
use crate::files::{FileFormat, InputFile};

const US_CITIES: &[u8] = include_bytes!("../../data/reference/us_cities.csv");
const US_CITY_ALIASES: &[u8] = include_bytes!("../../data/reference/city_aliases.csv");

/// A name-to-value table, such as city to state.
#[derive(Debug, Clone)]
pub struct Lookup {
    source: String,
    places: HashMap<String, Place>,
}

#[derive(Debug, Clone, PartialEq)]
struct Place {
    value: String,
    /// The values of other places with the same name, most populous first.
    others: Vec<String>,
}

/// What a name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution<'a> {
    Matched(&'a str),
    /// Several places share the name: `chosen` is the most populous (or first listed).
    Ambiguous {
        chosen: &'a str,
        others: &'a [String],
    },
    Unmatched,
}

impl<'a> Resolution<'a> {
    pub fn value(self) -> Option<&'a str> {
        match self {
            Resolution::Matched(v) | Resolution::Ambiguous { chosen: v, .. } => Some(v),
            Resolution::Unmatched => None,
        }
    }
}

/// A row of a reference table.
struct Entry {
    name: String,
    value: String,
    code: Option<String>,
    population: Option<i64>,
}

fn normalise(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Lookup {
    /// US places of 5,000 people or more (GeoNames, CC BY 4.0), with the usual aliases.
    ///
    /// ```
    /// use tidemark_core::features::lookup::{Lookup, Resolution};
    /// let us = Lookup::us_cities();
    /// assert_eq!(us.resolve("Austin").value(), Some("Texas"));
    /// assert_eq!(us.resolve("new york"), Resolution::Matched("New York"));
    /// assert_eq!(us.resolve("Oklahoma city").value(), Some("Oklahoma"));
    /// assert_eq!(us.resolve("Atlantis"), Resolution::Unmatched);
    /// ```
    pub fn us_cities() -> Lookup {
        Self::from_reference(
            "default (GeoNames US cities)",
            US_CITIES,
            Some(US_CITY_ALIASES),
        )
        .expect("the bundled reference table is valid")
    }

    /// Builds a lookup from a CSV reference table with a header (`city`, `state`, and optionally
    /// `population` and `state_code`) and an optional alias table (`alias`, `city`, `state_code`).
    pub fn from_reference(
        source: &str,
        table_csv: &[u8],
        aliases_csv: Option<&[u8]>,
    ) -> Result<Lookup> {
        let entries = read_csv_entries(source, table_csv)?;
        let mut lookup = Self::from_entries(source, &entries);
        if let Some(aliases) = aliases_csv {
            lookup.add_aliases(source, &entries, aliases)?;
        }
        Ok(lookup)
    }

    /// Reads a user's lookup file: CSV with a header, or Parquet; columns `city` and `state`
    /// (or the first two), optionally `population`.
    pub fn from_file(file: &InputFile) -> Result<Lookup> {
        let entries = match FileFormat::detect(&file.name, &file.bytes) {
            FileFormat::Parquet => read_parquet_entries(file)?,
            FileFormat::Csv => read_csv_entries(&file.name, &file.bytes)?,
            FileFormat::CsvGzip => {
                return Err(Error::at(
                    Location::file(&file.name),
                    ErrorKind::Lookup("give the lookup table uncompressed".into()),
                ));
            }
        };
        Ok(Self::from_entries(&file.name, &entries))
    }

    fn from_entries(source: &str, entries: &[Entry]) -> Lookup {
        let mut by_name: HashMap<String, Vec<&Entry>> = HashMap::new();
        for e in entries {
            by_name.entry(normalise(&e.name)).or_default().push(e);
        }
        let places = by_name
            .into_iter()
            .map(|(name, mut candidates)| {
                // Stable: equal populations (or none) keep the order of the file.
                candidates.sort_by_key(|e| std::cmp::Reverse(e.population.unwrap_or(i64::MIN)));
                let value = candidates[0].value.clone();
                let mut others: Vec<String> = Vec::new();
                for c in &candidates[1..] {
                    if c.value != value && !others.contains(&c.value) {
                        others.push(c.value.clone());
                    }
                }
                (name, Place { value, others })
            })
            .collect();
        Lookup {
            source: source.to_string(),
            places,
        }
    }

    fn add_aliases(&mut self, source: &str, entries: &[Entry], aliases_csv: &[u8]) -> Result<()> {
        let table = read_csv(source, aliases_csv)?;
        let col = |name: &str| {
            table
                .0
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::at(
                        Location::file(source),
                        ErrorKind::Lookup(format!("the alias table has no `{name}` column")),
                    )
                })
        };
        let (alias, city, code) = (col("alias")?, col("city")?, col("state_code")?);
        for (row, record) in table.1.iter().enumerate() {
            let target = entries.iter().find(|e| {
                normalise(&e.name) == normalise(&record[city])
                    && e.code.as_deref() == Some(record[code].trim())
            });
            let Some(target) = target else {
                return Err(Error::at(
                    Location::file(source).row(row as u64 + 2),
                    ErrorKind::Lookup(format!(
                        "alias target {} ({}) is not in the table",
                        record[city], record[code]
                    )),
                ));
            };
            self.places.insert(
                normalise(&record[alias]),
                Place {
                    value: target.value.clone(),
                    others: vec![],
                },
            );
        }
        Ok(())
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn resolve(&self, name: &str) -> Resolution<'_> {
        match self.places.get(&normalise(name)) {
            None => Resolution::Unmatched,
            Some(p) if p.others.is_empty() => Resolution::Matched(&p.value),
            Some(p) => Resolution::Ambiguous {
                chosen: &p.value,
                others: &p.others,
            },
        }
    }
}

type CsvTable = (Vec<String>, Vec<Vec<String>>);

fn read_csv(source: &str, bytes: &[u8]) -> Result<CsvTable> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::at(
                Location::file(source).row(1),
                ErrorKind::Lookup(e.to_string()),
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            Error::at(
                Location::file(source).row(i as u64 + 2),
                ErrorKind::Lookup(e.to_string()),
            )
        })?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok((headers, rows))
}

/// Which columns hold the name, the value, the code and the population.
fn entry_columns(
    source: &str,
    headers: &[&str],
) -> Result<(usize, usize, Option<usize>, Option<usize>)> {
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    if headers.len() < 2 {
        return Err(Error::at(
            Location::file(source).row(1),
            ErrorKind::Lookup(
                "a lookup table needs a header and at least two columns (city, state)".into(),
            ),
        ));
    }
    Ok((
        find("city").unwrap_or(0),
        find("state").unwrap_or(1),
        find("state_code"),
        find("population"),
    ))
}

fn read_csv_entries(source: &str, bytes: &[u8]) -> Result<Vec<Entry>> {
    if bytes.is_empty() {
        return Err(Error::at(Location::file(source), ErrorKind::EmptyFile));
    }
    let (headers, rows) = read_csv(source, bytes)?;
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let (name, value, code, population) = entry_columns(source, &header_refs)?;
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let at = || Location::file(source).row(i as u64 + 2);
            let get = |c: usize| {
                r.get(c).cloned().ok_or_else(|| {
                    Error::at(
                        at(),
                        ErrorKind::FieldCount {
                            expected: headers.len(),
                            found: r.len(),
                            hint: "",
                        },
                    )
                })
            };
            let population = match population {
                Some(p) => {
                    let text = get(p)?;
                    Some(text.trim().parse::<i64>().map_err(|_| {
                        Error::at(
                            at().column(&headers[p]),
                            ErrorKind::Parse {
                                value: text,
                                expected: "a whole number",
                            },
                        )
                    })?)
                }
                None => None,
            };
            Ok(Entry {
                name: get(name)?,
                value: get(value)?,
                code: code.map(get).transpose()?,
                population,
            })
        })
        .collect()
}

fn read_parquet_entries(file: &InputFile) -> Result<Vec<Entry>> {
    let here = || Location::file(&file.name);
    let parquet_error =
        |e: parquet::errors::ParquetError| Error::at(here(), ErrorKind::Parquet(Cause::new(e)));
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file.bytes.clone())
            .and_then(|b| b.build())
            .map_err(parquet_error)?;
    let batches: Vec<RecordBatch> = reader
        .collect::<Result<_, _>>()
        .map_err(|e| parquet_error(e.into()))?;
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let schema = first.schema();
    let headers: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let (name, value, code, population) = entry_columns(&file.name, &headers)?;
    let mut entries = Vec::new();
    for batch in &batches {
        let text = |c: usize| -> Result<arrow_array::StringArray> {
            arrow_cast::cast(batch.column(c), &DataType::Utf8)
                .map(|a| a.as_string::<i32>().clone())
                .map_err(|e| Error::at(here().column(headers[c]), ErrorKind::Lookup(e.to_string())))
        };
        let (names, values) = (text(name)?, text(value)?);
        let codes = code.map(text).transpose()?;
        let populations = population
            .map(|c| {
                arrow_cast::cast(batch.column(c), &DataType::Int64)
                    .map(|a| a.as_primitive::<Int64Type>().clone())
                    .map_err(|e| {
                        Error::at(here().column(headers[c]), ErrorKind::Lookup(e.to_string()))
                    })
            })
            .transpose()?;
        for i in 0..batch.num_rows() {
            use arrow_array::Array;
            if names.is_null(i) || values.is_null(i) {
                continue;
            }
            entries.push(Entry {
                name: names.value(i).to_string(),
                value: values.value(i).to_string(),
                code: codes
                    .as_ref()
                    .filter(|c| !c.is_null(i))
                    .map(|c| c.value(i).to_string()),
                population: populations
                    .as_ref()
                    .filter(|p| !p.is_null(i))
                    .map(|p| p.value(i)),
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_names_resolve_to_the_most_populous_place() {
        let us = Lookup::us_cities();
        for (city, state) in [
            ("Austin", "Texas"),
            ("Columbus", "Ohio"),
            ("Portland", "Oregon"),
            ("Washington", "District of Columbia"),
            ("Nashville-Davidson", "Tennessee"),
            ("  BOSTON ", "Massachusetts"),
        ] {
            assert_eq!(us.resolve(city).value(), Some(state), "{city}");
        }
        match us.resolve("Austin") {
            Resolution::Ambiguous { others, .. } => {
                assert!(others.contains(&"Minnesota".to_string()))
            }
            other => panic!("Austin should be ambiguous, got {other:?}"),
        }
    }

    #[test]
    fn a_user_table_without_population_picks_the_first_listed_and_says_so() {
        let table = b"city,state\nSpringfield,Illinois\nSpringfield,Missouri\nSalem,Oregon\n";
        let lookup = Lookup::from_file(&InputFile::new("cities.csv", table.to_vec())).unwrap();
        assert_eq!(
            lookup.resolve("springfield"),
            Resolution::Ambiguous {
                chosen: "Illinois",
                others: &["Missouri".to_string()]
            }
        );
        assert_eq!(lookup.resolve("Salem"), Resolution::Matched("Oregon"));
    }

    #[test]
    fn a_bad_population_names_its_row_and_column() {
        let table = b"city,state,population\nA,B,12\nC,D,many\n";
        let err = Lookup::from_reference("t.csv", table, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv, row 3, column `population`: cannot parse \"many\" as a whole number"
        );
    }
}
