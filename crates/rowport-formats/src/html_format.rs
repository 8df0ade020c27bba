//! HTML: rows from the first `<table>`; written with every cell escaped. (owner: text-formats helper)

use std::io::{Read, Write};

use crate::{FormatError, ReadOptions, RowReader, RowWriter, WriteOptions};

pub(crate) fn open_reader<'a>(
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let _ = (input, options);
    Err(FormatError::Malformed {
        source_name: source.to_owned(),
        row: None,
        message: "TODO(issue 3): reader not written yet".into(),
    })
}

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
