//! What the store suites share: a CSV import into any store, a resource from rowport.toml
//! text, and expected rows written as string slices.
#![allow(dead_code)] // each suite uses its own part

use rowport::config::Config;
use rowport::{import, ImportOptions, ImportResult, Resource, Store};
use rowport_formats::{open_reader, Format, ReadOptions};

/// Imports `csv` (named `books.csv` in errors) into `store` with `options`.
pub fn import_csv_with(
    store: &mut dyn Store,
    resource: &Resource,
    csv: &str,
    options: &ImportOptions,
) -> ImportResult {
    let mut reader = open_reader(
        Format::Csv,
        Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), options).unwrap()
}

/// Imports `csv` with the default options.
pub fn import_csv(store: &mut dyn Store, resource: &Resource, csv: &str) -> ImportResult {
    import_csv_with(store, resource, csv, &ImportOptions::default())
}

/// The resource `name` that the rowport.toml text `toml` declares, on `store`'s tables.
pub fn resource(store: &mut dyn Store, toml: &str, name: &str) -> Resource {
    Config::parse(toml, "rowport.toml".as_ref())
        .unwrap()
        .resource(name, store)
        .unwrap()
}

/// Expected rows, as the test databases' clients print them.
pub fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|row| row.iter().map(|v| (*v).to_owned()).collect())
        .collect()
}
