//! XLSX written with rust_xlsxwriter in constant-memory mode. (owner: spreadsheet helper)

use std::io::Write;

use crate::{FormatError, RowWriter, WriteOptions};

pub(crate) fn open_writer<'a>(
    output: Box<dyn Write + 'a>,
    options: &WriteOptions,
) -> Result<Box<dyn RowWriter + 'a>, FormatError> {
    let _ = (output, options);
    Err(FormatError::Malformed {
        source_name: "-".into(),
        row: None,
        message: "TODO(issue 3): writer not written yet".into(),
    })
}
