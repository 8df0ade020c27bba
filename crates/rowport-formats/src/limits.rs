//! Sizes as people write them (`64MiB`), and the errors for input that goes past a limit.

use std::fmt;

use crate::{FormatError, Limits};

/// What each cell of a row counts toward [`Limits::max_line_bytes`] at least, whatever its
/// length: a row of a million empty cells holds a million headers or cells in memory, far more
/// than its bytes in the file, so the line limit also bounds how many cells a row may have.
pub(crate) const CELL_COST: usize = 64;

/// The error for a size that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a size (expected a number of bytes, optionally with a unit: 512KiB, 64MiB, 4GiB, 10MB)")]
pub struct SizeError(pub String);

/// Reads a size such as `1048576`, `64MiB`, `64 MiB`, `64M`, `10MB` or `1.5GiB`.
///
/// `KiB`, `MiB`, `GiB`, `TiB` and the bare letters `K`, `M`, `G`, `T` are powers of 1024;
/// `KB`, `MB`, `GB`, `TB` powers of 1000. Units are read without regard to case, and `_`
/// may separate digits.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let error = || SizeError(text.to_owned());
    let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
    let split = cleaned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(cleaned.len());
    let (number, unit) = cleaned.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(error()),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(error());
    }
    match number.split_once('.') {
        None => number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .ok_or_else(error),
        Some((whole, fraction)) => {
            // Exact arithmetic: 1.5GiB is 1610612736 bytes, with no float rounding.
            if fraction.contains('.') || fraction.len() > 12 {
                return Err(error());
            }
            let scale = 10u128.pow(fraction.len() as u32);
            let whole = whole.parse::<u128>().map_err(|_| error())?;
            let fraction = fraction.parse::<u128>().map_err(|_| error())?;
            let bytes = (whole * scale + fraction) * u128::from(multiplier) / scale;
            u64::try_from(bytes).map_err(|_| error())
        }
    }
}

/// A size as a person reads it: `64 MiB`, `1.5 GiB`, `900 bytes`.
pub fn format_size(bytes: u64) -> String {
    Size(bytes).to_string()
}

/// A byte count shown with the largest binary unit that keeps it at 1 or more.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let bytes = self.0;
        if bytes < 1024 {
            return write!(f, "{bytes} {}", if bytes == 1 { "byte" } else { "bytes" });
        }
        let mut unit = 0;
        let mut scale = 1024u64;
        while unit + 1 < UNITS.len() && bytes >= scale * 1024 {
            scale *= 1024;
            unit += 1;
        }
        if bytes % scale == 0 {
            write!(f, "{} {}", bytes / scale, UNITS[unit])
        } else {
            // One decimal, cut rather than rounded up, so that the limit shown is never more
            // than the real one.
            let tenths = bytes * 10 / scale;
            write!(f, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
        }
    }
}

/// A count with thousands separators: `1,048,576`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A row (record) longer than [`Limits::max_line_bytes`].
pub(crate) fn row_too_big(source: &str, row: Option<u64>, limits: &Limits) -> FormatError {
    FormatError::LimitExceeded {
        source_name: source.to_owned(),
        row,
        what: "the row".to_owned(),
        limit: format_size(limits.max_line_bytes as u64),
        flag: "--max-line-bytes",
        setting: "limits.max_line_bytes",
    }
}

/// The most cells a row may have under the line limit (see [`CELL_COST`]).
pub(crate) fn max_row_cells(limits: &Limits) -> usize {
    (limits.max_line_bytes / CELL_COST).max(1)
}

/// A row with more cells than the line limit allows (see [`CELL_COST`]).
pub(crate) fn too_many_cells(source: &str, row: Option<u64>, limits: &Limits) -> FormatError {
    FormatError::LimitExceeded {
        source_name: source.to_owned(),
        row,
        what: format!(
            "a row of more than {} cells (each counts as {CELL_COST} bytes)",
            group(max_row_cells(limits) as u64)
        ),
        limit: format_size(limits.max_line_bytes as u64),
        flag: "--max-line-bytes",
        setting: "limits.max_line_bytes",
    }
}

/// A cell longer than [`Limits::max_cell_bytes`]; `column` is its header when known.
pub(crate) fn cell_too_big(
    source: &str,
    row: Option<u64>,
    column: Option<&str>,
    limits: &Limits,
) -> FormatError {
    FormatError::LimitExceeded {
        source_name: source.to_owned(),
        row,
        what: match column {
            Some(column) => format!("the cell in column {}", quote_cut(column)),
            None => "a cell".to_owned(),
        },
        limit: format_size(limits.max_cell_bytes as u64),
        flag: "--max-cell-bytes",
        setting: "limits.max_cell_bytes",
    }
}

/// `"name"`, cut with `…` when long.
fn quote_cut(text: &str) -> String {
    const WIDTH: usize = 40;
    if text.chars().count() <= WIDTH {
        format!("\"{text}\"")
    } else {
        let cut: String = text.chars().take(WIDTH).collect();
        format!("\"{cut}…\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_with_units() {
        let cases = [
            ("0", 0),
            ("1048576", 1 << 20),
            ("1_000", 1000),
            ("512KiB", 512 << 10),
            ("64MiB", 64 << 20),
            ("64 MiB", 64 << 20),
            ("64m", 64 << 20),
            ("4GiB", 4 << 30),
            ("1.5GiB", 3 << 29),
            ("10MB", 10_000_000),
            ("2kb", 2000),
            ("7b", 7),
            ("1T", 1 << 40),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for text in [
            "",
            "MiB",
            "12XB",
            "-5",
            "1.2.3MiB",
            ".5M",
            "5.M",
            "99999999999999999999",
        ] {
            let err = parse_size(text).unwrap_err();
            assert!(err.to_string().contains("is not a size"), "{text}");
        }
        assert_eq!(
            parse_size("16EiB").unwrap_err().to_string(),
            "\"16EiB\" is not a size (expected a number of bytes, optionally with a unit: 512KiB, 64MiB, 4GiB, 10MB)"
        );
    }

    #[test]
    fn formats_sizes_for_people() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(1023), "1023 bytes");
        assert_eq!(format_size(1024), "1 KiB");
        assert_eq!(format_size(64 << 20), "64 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(4 << 30), "4 GiB");
        assert_eq!(format_size(5 << 40), "5 TiB");
        assert_eq!(format_size((1 << 20) - 1), "1023.9 KiB");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_048_576), "1,048,576");
    }

    #[test]
    fn limit_errors_name_the_limit_and_how_to_raise_it() {
        let limits = Limits {
            max_line_bytes: 1 << 20,
            max_cell_bytes: 1 << 10,
            ..Limits::default()
        };
        assert_eq!(
            row_too_big("a.csv", Some(3), &limits).to_string(),
            "a.csv, row 3: the row exceeds the limit of 1 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
        assert_eq!(
            cell_too_big("a.csv", Some(3), Some("name"), &limits).to_string(),
            "a.csv, row 3: the cell in column \"name\" exceeds the limit of 1 KiB (raise it with --max-cell-bytes or `limits.max_cell_bytes` in rowport.toml)"
        );
        assert_eq!(
            too_many_cells("a.csv", Some(1), &limits).to_string(),
            "a.csv, row 1: a row of more than 16,384 cells (each counts as 64 bytes) exceeds the limit of 1 MiB (raise it with --max-line-bytes or `limits.max_line_bytes` in rowport.toml)"
        );
    }
}
