//! An XLSX workbook's shared strings: the table of texts its cells refer to by number.
//!
//! Excel puts every text of a workbook in this table, so a million-row sheet can have
//! millions of them. The first ones are kept in memory, up to a budget; the rest go to a
//! temporary file with an index of where each starts, so memory stays flat whatever the
//! table's size (a lookup past the budget costs two small reads).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

/// Bytes of texts (and of their index) kept in memory before the rest goes to disk.
const MEMORY_BUDGET: usize = 16 << 20;

#[derive(Default)]
pub(crate) struct SharedStrings {
    /// The texts kept in memory, one after the other.
    text: String,
    /// Where each in-memory text ends in `text`.
    ends: Vec<u32>,
    spill: Option<Spill>,
    /// A buffer for texts read back from disk.
    scratch: String,
}

/// Texts past the budget: their bytes in one file, and in another the offset (u64, little
/// endian) at which each ends.
struct Spill {
    data: BufWriter<File>,
    index: BufWriter<File>,
    written: u64,
    count: usize,
    /// Both files have been flushed since the last text was added.
    flushed: bool,
}

impl SharedStrings {
    /// How many texts there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len() + self.spill.as_ref().map_or(0, |s| s.count)
    }

    /// Adds the next text.
    pub(crate) fn push(&mut self, text: &str) -> io::Result<()> {
        // The budget counts the index too: millions of tiny texts cost more in ends.
        let in_memory = self.text.len() + 4 * self.ends.len();
        if self.spill.is_none() && in_memory + text.len() + 4 <= MEMORY_BUDGET {
            self.text.push_str(text);
            self.ends.push(self.text.len() as u32);
            return Ok(());
        }
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self.spill.insert(Spill {
                data: BufWriter::new(tempfile::tempfile()?),
                index: BufWriter::new(tempfile::tempfile()?),
                written: 0,
                count: 0,
                flushed: false,
            }),
        };
        if spill.flushed {
            // A lookup moved the files' positions: write at their ends again.
            spill.data.get_mut().seek(SeekFrom::End(0))?;
            spill.index.get_mut().seek(SeekFrom::End(0))?;
        }
        spill.data.write_all(text.as_bytes())?;
        spill.written += text.len() as u64;
        spill.index.write_all(&spill.written.to_le_bytes())?;
        spill.count += 1;
        spill.flushed = false;
        Ok(())
    }

    /// The text at `index`, `None` past the last.
    pub(crate) fn get(&mut self, index: usize) -> io::Result<Option<&str>> {
        if let Some(&end) = self.ends.get(index) {
            let start = match index {
                0 => 0,
                _ => self.ends[index - 1] as usize,
            };
            return Ok(self.text.get(start..end as usize));
        }
        let Some(spill) = &mut self.spill else {
            return Ok(None);
        };
        let index = index - self.ends.len();
        if index >= spill.count {
            return Ok(None);
        }
        if !spill.flushed {
            spill.data.flush()?;
            spill.index.flush()?;
            spill.flushed = true;
        }
        let mut bounds = [0u8; 16];
        let (start, end) = if index == 0 {
            let index_file = spill.index.get_mut();
            index_file.seek(SeekFrom::Start(0))?;
            index_file.read_exact(&mut bounds[..8])?;
            (
                0,
                u64::from_le_bytes(bounds[..8].try_into().unwrap_or_default()),
            )
        } else {
            let index_file = spill.index.get_mut();
            index_file.seek(SeekFrom::Start((index as u64 - 1) * 8))?;
            index_file.read_exact(&mut bounds)?;
            (
                u64::from_le_bytes(bounds[..8].try_into().unwrap_or_default()),
                u64::from_le_bytes(bounds[8..].try_into().unwrap_or_default()),
            )
        };
        let data = spill.data.get_mut();
        data.seek(SeekFrom::Start(start))?;
        self.scratch.clear();
        data.take(end.saturating_sub(start))
            .read_to_string(&mut self.scratch)?;
        Ok(Some(&self.scratch))
    }
}

/// Undoes the escaping OOXML applies to characters XML cannot hold: `_x0001_` is U+0001,
/// and `_x005F_` escapes a literal underscore that would otherwise start such an escape.
pub(crate) fn unescape_ooxml(text: &mut String) {
    if !text.contains("_x") {
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let escaped = tail
            .get(2..6)
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| tail.as_bytes().get(6) == Some(&b'_'))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match escaped {
            Some(c) => {
                out.push(c);
                rest = &tail[7..];
            }
            None => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_past_the_budget_come_back_from_disk() {
        let mut strings = SharedStrings::default();
        let big = "x".repeat(MEMORY_BUDGET - 3 - 8);
        strings.push("abc").unwrap();
        strings.push(&big).unwrap();
        strings.push("spilled").unwrap();
        strings.push("").unwrap();
        strings.push("é and more").unwrap();
        assert_eq!(strings.len(), 5);
        assert_eq!(strings.get(0).unwrap(), Some("abc"));
        assert_eq!(strings.get(1).unwrap().map(str::len), Some(big.len()));
        assert_eq!(strings.get(4).unwrap(), Some("é and more"));
        assert_eq!(strings.get(2).unwrap(), Some("spilled"));
        assert_eq!(strings.get(3).unwrap(), Some(""));
        assert_eq!(strings.get(5).unwrap(), None);
        strings.push("after a read").unwrap();
        assert_eq!(strings.get(5).unwrap(), Some("after a read"));
        assert_eq!(strings.get(2).unwrap(), Some("spilled"));
    }

    #[test]
    fn ooxml_escapes() {
        let cases = [
            ("plain", "plain"),
            ("a_x0001_b", "a\u{1}b"),
            ("_x005F_x0041_", "_x0041_"),
            ("_x00e9_t_x00E9_", "été"),
            ("_x12_", "_x12_"),
            ("tail_x", "tail_x"),
            ("_xZZZZ_", "_xZZZZ_"),
        ];
        for (escaped, plain) in cases {
            let mut text = escaped.to_owned();
            unescape_ooxml(&mut text);
            assert_eq!(text, plain, "{escaped}");
        }
    }
}
