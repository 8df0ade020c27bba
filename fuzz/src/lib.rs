//! What every fuzz target does: read the input as one format, with small limits, to the end
//! or to the first error. A panic, a hang or an allocation past libFuzzer's memory limit is
//! a bug; an error is the expected answer to most inputs.

use rowport_formats::{open_reader, Format, Limits, ReadOptions, Row};

/// Rows read at most per input, so that a long valid input does not slow the fuzzer down.
const MAX_ROWS: usize = 10_000;

/// Limits far below the defaults, so that the limits themselves are exercised.
fn limits() -> Limits {
    Limits {
        max_line_bytes: 64 << 10,
        max_cell_bytes: 16 << 10,
        max_decompressed_bytes: 16 << 20,
        max_compression_ratio: 100,
        max_cells: 100_000,
    }
}

/// Reads `data` as `format` and drains its rows.
pub fn drain(format: Format, data: &[u8]) {
    let options = ReadOptions {
        limits: limits(),
        ..ReadOptions::default()
    };
    let Ok(mut reader) = open_reader(format, Box::new(data), "fuzz", &options) else {
        return;
    };
    let width = reader.headers().len();
    let _ = reader.info();
    let mut row = Row::default();
    for _ in 0..MAX_ROWS {
        match reader.read_row(&mut row) {
            Ok(true) => assert_eq!(row.cells.len(), width, "a row as wide as the header"),
            Ok(false) | Err(_) => break,
        }
    }
}
