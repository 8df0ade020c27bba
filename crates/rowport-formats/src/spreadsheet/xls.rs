//! XLS (Excel 97–2003), read through calamine. The format holds at most 65,536 rows of 256
//! columns, and calamine reads a sheet whole; the file's size is held to
//! `max_decompressed_bytes` and the sheet to `max_cells`.
//!
//! calamine says which cells are dates but not whether their format shows the time, so a
//! date cell is a [`Cell::Date`] when it falls on midnight, a [`Cell::Time`] when it is a
//! time of day alone (a serial below 1), else a [`Cell::DateTime`].

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{Data, Range, Reader, Xls};

use super::zipped::malformed;
use super::{
    cell_too_long, choose_sheet, human_bytes, iso_cell, number_cell, serial_cell, too_many_cells,
    Limits, SheetSource, Shown, SourceRow,
};
use crate::{Cell, FormatError, SheetRef};

/// How an OLE compound file, the container of XLS workbooks, starts.
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The chosen sheet of an XLS workbook, read whole by calamine.
pub(crate) struct XlsSheet {
    range: Range<Data>,
    date_1904: bool,
    /// The next row of `range` to hand out.
    next: usize,
    source: String,
    limits: Limits,
}

pub(crate) fn open(
    file: File,
    source: &str,
    wanted: Option<&SheetRef>,
    limits: Limits,
) -> Result<XlsSheet, FormatError> {
    let size = file
        .metadata()
        .map_err(|error| FormatError::Io {
            source_name: source.to_owned(),
            error,
        })?
        .len();
    if size > limits.max_decompressed_bytes {
        return Err(FormatError::LimitExceeded {
            source_name: source.to_owned(),
            row: None,
            what: "the size of the workbook (an XLS workbook is read whole)".to_owned(),
            limit: human_bytes(limits.max_decompressed_bytes),
            flag: "--max-decompressed-bytes",
            setting: "limits.max_decompressed_bytes",
        });
    }
    let mut magic = [0u8; 8];
    let got = (&file).read(&mut magic).map_err(|error| FormatError::Io {
        source_name: source.to_owned(),
        error,
    })?;
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(|error| FormatError::Io {
            source_name: source.to_owned(),
            error,
        })?;
    if got < 8 || magic != OLE_MAGIC {
        let what = if magic.starts_with(b"PK\x03\x04") {
            "is not an XLS workbook but a zip archive, as XLSX and ODS workbooks are (pass --format xlsx or --format ods)"
        } else {
            "is not an XLS workbook (it is not an OLE file)"
        };
        return Err(malformed(source, what.to_owned()));
    }
    // calamine is not meant to panic, but it parses an old binary format: should it, the
    // file is reported as unreadable rather than the program stopping.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        let workbook = Xls::new(BufReader::new(file))?;
        let names = workbook.sheet_names();
        let date_1904 = workbook.has_1904_epoch();
        Ok::<_, calamine::XlsError>((workbook, names, date_1904))
    }));
    let (mut workbook, names, date_1904) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(calamine::XlsError::Io(error))) => {
            return Err(FormatError::Io {
                source_name: source.to_owned(),
                error,
            })
        }
        Ok(Err(calamine::XlsError::Password)) => {
            return Err(malformed(
                source,
                "is password-protected (remove the password and save it again)".to_owned(),
            ))
        }
        Ok(Err(error)) => return Err(unreadable(source, &error.to_string())),
        Err(_) => return Err(unreadable(source, "its records could not be read")),
    };
    let chosen = choose_sheet(&names, wanted, None, source)?;
    let name = &names[chosen];
    let range = match catch_unwind(AssertUnwindSafe(|| workbook.worksheet_range(name))) {
        Ok(Ok(range)) => range,
        Ok(Err(error)) => return Err(unreadable(source, &error.to_string())),
        Err(_) => return Err(unreadable(source, "its records could not be read")),
    };
    let (height, width) = range.get_size();
    if (height as u64).saturating_mul(width as u64) > limits.max_cells {
        return Err(too_many_cells(source, name, &limits));
    }
    Ok(XlsSheet {
        range,
        date_1904,
        next: 0,
        source: source.to_owned(),
        limits,
    })
}

fn unreadable(source: &str, reason: &str) -> FormatError {
    malformed(source, format!("is not a readable XLS workbook ({reason})"))
}

impl XlsSheet {
    fn cell(&self, data: &Data, row: u64) -> Result<Cell, FormatError> {
        let text = |s: &str| {
            if s.len() > self.limits.max_cell_bytes {
                Err(cell_too_long(&self.source, Some(row), &self.limits))
            } else if s.is_empty() {
                Ok(Cell::Empty)
            } else {
                Ok(Cell::Text(s.to_owned()))
            }
        };
        Ok(match data {
            Data::Empty => Cell::Empty,
            Data::Int(i) => Cell::Int(*i),
            Data::Float(x) => number_cell(*x),
            Data::Bool(b) => Cell::Bool(*b),
            Data::String(s) => text(s)?,
            Data::Error(e) => Cell::Text(e.to_string()),
            Data::DateTime(dt) => {
                let serial = dt.as_f64();
                let shown = if dt.is_duration() {
                    Shown::Number
                } else if (0.0..1.0).contains(&serial) {
                    Shown::Time
                } else if serial.fract() == 0.0 {
                    Shown::Date
                } else {
                    Shown::DateTime
                };
                serial_cell(serial, shown, self.date_1904)
            }
            Data::DateTimeIso(s) => iso_cell(s).map_or_else(|| text(s), Ok)?,
            Data::DurationIso(s) => text(s)?,
        })
    }
}

impl SheetSource for XlsSheet {
    fn next_row(
        &mut self,
        cells: &mut Vec<Cell>,
        width: usize,
    ) -> Result<Option<SourceRow>, FormatError> {
        let Some((first_row, first_column)) = self.range.start() else {
            return Ok(None);
        };
        let Some(data) = self.range.rows().nth(self.next) else {
            return Ok(None);
        };
        let number = u64::from(first_row) + self.next as u64 + 1;
        self.next += 1;
        cells.clear();
        cells.resize(width, Cell::Empty);
        let mut beyond = None;
        for (offset, value) in data.iter().enumerate() {
            let column = first_column as usize + offset;
            let cell = self.cell(value, number)?;
            if cell.is_empty() {
                continue;
            }
            match cells.get_mut(column) {
                Some(slot) => *slot = cell,
                None => beyond = Some(column),
            }
        }
        Ok(Some(SourceRow { number, beyond }))
    }
}
