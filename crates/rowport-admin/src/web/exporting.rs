//! Export plumbing: only the rows a filtered change list shows, formula escaping for
//! spreadsheets, and a writer that streams bytes into the HTTP response.

use std::collections::HashSet;
use std::io::Write;

use bytes::Bytes;
use rowport::store::{Fetch, RowWriteResult, Scan, ScanColumn, TableSchema};
use rowport::{Cell, Store, StoreError, Value, ValueKind};
use rowport_formats::{FormatError, RowWriter};
use tokio::sync::mpsc;

/// A store whose scans keep only the rows whose primary key (as text) is in `keys`; every
/// other call goes to the inner store. The export engine stays the core's.
pub struct KeyFilter<'a> {
    /// The store.
    pub inner: &'a mut dyn Store,
    /// The primary key column and its kind.
    pub pk: (String, ValueKind),
    /// The keys to keep.
    pub keys: HashSet<String>,
}

impl Store for KeyFilter<'_> {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        self.inner.table_names()
    }
    fn describe(&mut self, table: &str) -> Result<TableSchema, StoreError> {
        self.inner.describe(table)
    }
    fn begin(&mut self) -> Result<(), StoreError> {
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.inner.rollback()
    }
    fn fetch(
        &mut self,
        fetch: &Fetch<'_>,
        keys: &[Vec<Value>],
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        self.inner.fetch(fetch, keys)
    }
    fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
        returning: Option<&str>,
    ) -> Result<Vec<RowWriteResult<Value>>, StoreError> {
        self.inner.insert(table, columns, rows, returning)
    }
    fn update(
        &mut self,
        table: &str,
        key_column: &str,
        columns: &[String],
        rows: &[(Value, Vec<Value>)],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.inner.update(table, key_column, columns, rows)
    }
    fn delete(
        &mut self,
        table: &str,
        key_columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<RowWriteResult<()>>, StoreError> {
        self.inner.delete(table, key_columns, keys)
    }
    fn scan(
        &mut self,
        scan: &Scan,
        sink: &mut dyn FnMut(Vec<Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut scan = scan.clone();
        let wanted = scan.columns.len();
        scan.columns.push(ScanColumn::Column {
            name: self.pk.0.clone(),
            kind: self.pk.1,
        });
        let keys = &self.keys;
        self.inner.scan(&scan, &mut |mut values| {
            let key = values.pop().map(|v| v.to_string()).unwrap_or_default();
            if keys.contains(&key) {
                values.truncate(wanted);
                sink(values)
            } else {
                Ok(())
            }
        })
    }
}

/// True when a spreadsheet would take `text` for a formula (OWASP's prefixes).
pub fn looks_like_formula(text: &str) -> bool {
    matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n')
    )
}

/// Writes through `inner`, prefixing text cells that look like formulas with `'`, which
/// spreadsheets show as text.
pub struct EscapeFormulae<'a> {
    /// The writer.
    pub inner: Box<dyn RowWriter + 'a>,
    cells: Vec<Cell>,
}

impl<'a> EscapeFormulae<'a> {
    /// Wraps a writer.
    pub fn new(inner: Box<dyn RowWriter + 'a>) -> Self {
        EscapeFormulae {
            inner,
            cells: Vec::new(),
        }
    }
}

impl RowWriter for EscapeFormulae<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.inner.write_header(headers)
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        if !cells
            .iter()
            .any(|c| matches!(c, Cell::Text(t) if looks_like_formula(t)))
        {
            return self.inner.write_row(cells);
        }
        self.cells.clear();
        self.cells.extend(cells.iter().map(|c| match c {
            Cell::Text(t) if looks_like_formula(t) => Cell::Text(format!("'{t}")),
            other => other.clone(),
        }));
        self.inner.write_row(&self.cells)
    }

    fn finish(self: Box<Self>) -> Result<(), FormatError> {
        self.inner.finish()
    }
}

/// A `Write` that sends 64 KiB chunks to the response body. A closed channel (the
/// client went away) is a broken pipe, which ends the export.
pub struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    /// Writes into `tx`.
    pub fn new(tx: mpsc::Sender<Bytes>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(64 << 10),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(64 << 10),
        ));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 << 10 {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes() {
        for t in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx"] {
            assert!(looks_like_formula(t), "{t:?}");
        }
        for t in ["", "a=1", "1-2", " =1"] {
            assert!(!looks_like_formula(t), "{t:?}");
        }
    }
}
