//! Workbooks read through calamine: XLSX, XLSM, XLS, ODS. (owner: spreadsheet helper)

use std::io::Read;

use crate::{Format, FormatError, ReadOptions, RowReader};

pub(crate) fn open_reader<'a>(
    format: Format,
    input: Box<dyn Read + 'a>,
    source: &str,
    options: &ReadOptions,
) -> Result<Box<dyn RowReader + 'a>, FormatError> {
    let _ = (format, input, options);
    Err(FormatError::Malformed {
        source_name: source.to_owned(),
        row: None,
        message: "TODO(issue 3): reader not written yet".into(),
    })
}
