//! Guessing what a file is from its first bytes: its format, and a CSV file's dialect.

use crate::transcode::{detect, find, Detection};
use crate::Format;

/// How many bytes at the start of a file [`sniff_format`] wants to see (fewer are fine when
/// the file is shorter).
pub const SNIFF_BYTES: usize = 64 << 10;

/// Guesses a file's format from its first bytes (up to [`SNIFF_BYTES`]; pass the whole file
/// when it is shorter), for files whose name says nothing.
///
/// - a zip archive is ODS when its `mimetype` member says so, XLSX when it holds `xl/` parts;
/// - the OLE signature is XLS;
/// - text (in any encoding rowport detects) starting with `[` is JSON, with `{` JSON Lines;
/// - `<table`, `<html` or `<!doctype html` near the start is HTML;
/// - a first line (after `#` comments) of `---`, `%YAML` or `- ` is YAML;
/// - any other text is CSV, or TSV when tabs separate its fields.
///
/// `None` when the bytes are none of these (another kind of archive, binary data).
pub fn sniff_format(prefix: &[u8]) -> Option<Format> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    if prefix.starts_with(ZIP) {
        return sniff_zip(prefix);
    }
    if prefix.starts_with(OLE) {
        return Some(Format::Xls);
    }
    let used = detect(prefix, prefix.len() < SNIFF_BYTES, Detection::Text);
    let bom = encoding_rs::Encoding::for_bom(prefix).map_or(0, |(_, len)| len);
    let (text, _) = used
        .encoding
        .inner
        .decode_without_bom_handling(prefix.get(bom..).unwrap_or_default());
    if text.contains('\0') {
        return None;
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return Some(Format::Json);
    }
    if trimmed.starts_with('{') {
        return Some(Format::Jsonl);
    }
    if trimmed.starts_with('<') {
        let lower = trimmed.to_ascii_lowercase();
        let html = ["<table", "<html", "<!doctype html"]
            .iter()
            .any(|tag| lower.contains(tag));
        return html.then_some(Format::Html);
    }
    if looks_like_yaml(trimmed) {
        return Some(Format::Yaml);
    }
    let dialect = sniff_dialect(text.as_bytes(), prefix.len() < SNIFF_BYTES, None, None);
    Some(if dialect.delimiter == b'\t' {
        Format::Tsv
    } else {
        Format::Csv
    })
}

/// An XLSX or ODS archive, told apart by the names and the `mimetype` of the members whose
/// local headers fall in the prefix.
fn sniff_zip(prefix: &[u8]) -> Option<Format> {
    let mut names = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&prefix[from..], b"PK\x03\x04") {
        let header = from + at;
        let field = |offset: usize| -> Option<usize> {
            let bytes = prefix.get(header + offset..header + offset + 2)?;
            Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
        };
        if let (Some(name_len), Some(extra_len)) = (field(26), field(28)) {
            let name_start = header + 30;
            if let Some(name) = prefix.get(name_start..name_start + name_len) {
                if name == b"mimetype" {
                    // ODF stores the mimetype member first and uncompressed.
                    let data = prefix
                        .get(name_start + name_len + extra_len..)
                        .unwrap_or_default();
                    if data.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
                        return Some(Format::Ods);
                    }
                }
                names.push(name);
            }
        }
        from = header + 4;
    }
    if names.iter().any(|name| name.starts_with(b"xl/")) {
        return Some(Format::Xlsx);
    }
    let office_other = names
        .iter()
        .any(|name| name.starts_with(b"word/") || name.starts_with(b"ppt/"));
    let content_types = names.iter().any(|name| *name == b"[Content_Types].xml");
    (content_types && !office_other).then_some(Format::Xlsx)
}

/// YAML's markers on the first line that is not a comment: a document start, a directive,
/// or a list item.
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|line| !line.is_empty() && !line.starts_with('#'));
    match first {
        Some(line) => {
            line == "---"
                || line.starts_with("--- ")
                || line.starts_with("%YAML")
                || line == "-"
                || line.starts_with("- ")
        }
        None => false,
    }
}

/// A CSV dialect: the delimiter and the quote character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) delimiter: u8,
    pub(crate) quote: u8,
}

/// The delimiters sniffing chooses among, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Records looked at when sniffing.
const SAMPLE_RECORDS: usize = 200;

/// Sniffs the delimiter (unless given) and the quote character (unless given) of CSV text.
/// `complete`: `sample` is the whole file, so its last record is not cut.
///
/// The delimiter is the candidate that splits the most records into the same number (more
/// than one) of fields; a tie goes to the earlier of `,` `;` tab `|`, and a file of one
/// column gets `,`. The quote is `'` only when `"` never opens a field and `'` quotes at
/// least one field that needs quoting (it holds the delimiter, a line break or a doubled
/// `''`): `"` is harmless in a file that never uses it, while taking `'` for the quote in a
/// file that does not would strip apostrophes from values such as `'tis'`.
pub(crate) fn sniff_dialect(
    sample: &[u8],
    complete: bool,
    delimiter: Option<u8>,
    quote: Option<u8>,
) -> Dialect {
    let choose = |quote: u8| match delimiter {
        Some(delimiter) => delimiter,
        None => best_delimiter(sample, complete, quote),
    };
    let delimiter_for_double = choose(quote.unwrap_or(b'"'));
    let quote = quote.unwrap_or_else(|| {
        let single = working_quotes(sample, b'\'', delimiter_for_double);
        let double = opening_quotes(sample, b'"', delimiter_for_double);
        if single > 0 && double == 0 {
            b'\''
        } else {
            b'"'
        }
    });
    let delimiter = if quote == b'"' {
        delimiter_for_double
    } else {
        choose(quote)
    };
    Dialect { delimiter, quote }
}

/// The candidate delimiter that gives the most consistent field counts.
fn best_delimiter(sample: &[u8], complete: bool, quote: u8) -> u8 {
    let mut best = (DELIMITERS[0], (0, 0));
    for delimiter in DELIMITERS {
        let score = consistency(&field_counts(sample, complete, delimiter, quote));
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

/// (records with the most common field count, that count), or zeros when that count is 1.
fn consistency(counts: &[usize]) -> (usize, usize) {
    let mut tally: Vec<(usize, usize)> = Vec::new();
    for &count in counts {
        match tally.iter_mut().find(|(fields, _)| *fields == count) {
            Some((_, records)) => *records += 1,
            None => tally.push((count, 1)),
        }
    }
    let modal = tally
        .iter()
        .max_by_key(|(fields, records)| (*records, *fields))
        .copied();
    match modal {
        Some((fields, records)) if fields > 1 => (records, fields),
        _ => (0, 0),
    }
}

/// How many fields each record of the sample has with this dialect. The last record is left
/// out when the sample is cut, since it may be.
fn field_counts(sample: &[u8], complete: bool, delimiter: u8, quote: u8) -> Vec<usize> {
    let mut reader = csv_core::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .build();
    let mut output = [0u8; 4096];
    let mut ends = [0usize; 64];
    let mut input = sample;
    let mut counts = Vec::new();
    let mut fields = 0usize;
    while counts.len() < SAMPLE_RECORDS {
        let (result, read, _, nends) = reader.read_record(input, &mut output, &mut ends);
        input = input.get(read..).unwrap_or_default();
        fields += nends;
        match result {
            // A cut sample ends inside a record, which is then not counted.
            csv_core::ReadRecordResult::InputEmpty if !complete => break,
            csv_core::ReadRecordResult::InputEmpty => {}
            // Only the count matters: the buffers are reused as the parser runs over them.
            csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {
            }
            csv_core::ReadRecordResult::Record => {
                counts.push(fields);
                fields = 0;
            }
            csv_core::ReadRecordResult::End => break,
        }
    }
    counts
}

/// Whether the byte before a quote (or after its closing mate) ends a field there.
fn is_boundary(byte: Option<&u8>, delimiter: u8) -> bool {
    byte.is_none_or(|&b| b == delimiter || b == b'\n' || b == b'\r')
}

/// Positions where `quote` opens a field: at the start of a line or after the delimiter.
fn field_openings(sample: &[u8], quote: u8, delimiter: u8) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(quote, sample)
        .filter(move |&i| is_boundary(i.checked_sub(1).and_then(|j| sample.get(j)), delimiter))
}

/// How many fields `quote` opens.
fn opening_quotes(sample: &[u8], quote: u8, delimiter: u8) -> usize {
    field_openings(sample, quote, delimiter).count()
}

/// How many fields `quote` opens and closes (a closing quote ends the field) whose content
/// needs the quotes: it holds the delimiter, a line break or a doubled quote.
fn working_quotes(sample: &[u8], quote: u8, delimiter: u8) -> usize {
    let mut working = 0;
    let mut skip_to = 0;
    for open in field_openings(sample, quote, delimiter) {
        if open < skip_to {
            continue;
        }
        let mut i = open + 1;
        let mut needs_quotes = false;
        let closed = loop {
            match sample.get(i) {
                None => break false,
                Some(&b) if b == quote => {
                    if sample.get(i + 1) == Some(&quote) {
                        needs_quotes = true;
                        i += 2;
                    } else {
                        break is_boundary(sample.get(i + 1), delimiter);
                    }
                }
                Some(&b) => {
                    needs_quotes |= b == delimiter || b == b'\n' || b == b'\r';
                    i += 1;
                }
            }
        };
        if closed && needs_quotes {
            working += 1;
        }
        skip_to = i + 1;
    }
    working
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(text: &str) -> (char, char) {
        let d = sniff_dialect(text.as_bytes(), true, None, None);
        (char::from(d.delimiter), char::from(d.quote))
    }

    #[test]
    fn sniffs_each_delimiter() {
        assert_eq!(dialect("a,b,c\n1,2,3\n4,5,6\n"), (',', '"'));
        assert_eq!(dialect("a;b;c\n1,5;2,5;3\n4;5;6\n"), (';', '"'));
        assert_eq!(dialect("a\tb\tc\n1\t2, 3\t3\n"), ('\t', '"'));
        assert_eq!(dialect("a|b|c\n1|2|3\n"), ('|', '"'));
    }

    #[test]
    fn quoted_delimiters_do_not_mislead() {
        assert_eq!(dialect("name;note\n\"a;b;c;d\";x\n\"e;f\";y\n"), (';', '"'));
        assert_eq!(
            dialect("name,desc\nA,\"x; y; z\"\nB,\"p; q\"\n"),
            (',', '"')
        );
    }

    #[test]
    fn one_column_and_empty_files_get_a_comma() {
        assert_eq!(dialect("name\nDune\nEmma\n"), (',', '"'));
        assert_eq!(dialect(""), (',', '"'));
    }

    #[test]
    fn sniffs_a_single_quote() {
        assert_eq!(
            dialect("id;name\n1;'Smith; John'\n2;'O''Brien'\n"),
            (';', '\'')
        );
        assert_eq!(dialect("id,note\n1,'two\nlines'\n"), (',', '\''));
        // Apostrophes inside words are not quotes, nor are quotes that do no work.
        assert_eq!(dialect("id,name\n1,O'Brien\n2,it's\n"), (',', '"'));
        assert_eq!(dialect("id,name\n1,'tis'\n2,'quoted'\n"), (',', '"'));
        // A file that quotes with " keeps it, whatever else it holds.
        assert_eq!(dialect("id;name\n1;\"a;b\"\n2;'c;d'\n"), (';', '"'));
    }

    #[test]
    fn given_parts_are_kept() {
        let d = sniff_dialect(b"a;b\n1;2\n", true, Some(b','), None);
        assert_eq!(d.delimiter, b',');
        let d = sniff_dialect(b"a;b\n1;2\n", true, None, Some(b'\''));
        assert_eq!((d.delimiter, d.quote), (b';', b'\''));
    }

    #[test]
    fn a_cut_last_record_is_not_counted() {
        // Cut mid-record, the last line would have one field fewer.
        assert_eq!(
            sniff_dialect(b"a;b;c\n1;2;3\n4;5;6\n7;8", false, None, None).delimiter,
            b';'
        );
    }

    #[test]
    fn sniffs_formats_from_content() {
        let cases: [(&[u8], Option<Format>); 14] = [
            (b"isbn,name\n1,Dune\n", Some(Format::Csv)),
            (b"isbn;name\n1;Dune\n", Some(Format::Csv)),
            (b"isbn\tname\n1\tDune\n", Some(Format::Tsv)),
            (b"  [\n{\"a\": 1}]", Some(Format::Json)),
            (b"{\"a\": 1}\n{\"a\": 2}\n", Some(Format::Jsonl)),
            (b"\xEF\xBB\xBF[{\"a\": 1}]", Some(Format::Json)),
            (b"- a: 1\n  b: 2\n", Some(Format::Yaml)),
            (b"# books\n---\n- a: 1\n", Some(Format::Yaml)),
            (
                b"<!DOCTYPE html>\n<html><table></table></html>",
                Some(Format::Html),
            ),
            (b"<TABLE><tr><td>1</td></tr></TABLE>", Some(Format::Html)),
            (b"<?xml version=\"1.0\"?><root/>", None),
            (
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00",
                Some(Format::Xls),
            ),
            (b"\x00\x01\x02binary", None),
            (b"", Some(Format::Csv)),
        ];
        for (bytes, format) in cases {
            assert_eq!(
                sniff_format(bytes),
                format,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let utf16: Vec<u8> = "id\tname\n1\tx\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(sniff_format(&utf16), Some(Format::Tsv));
    }

    /// A zip archive's local header for a stored member.
    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 4]); // crc
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(name.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn tells_workbooks_apart_in_zip_archives() {
        let ods = [
            member(
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            member("content.xml", b"<x/>"),
        ]
        .concat();
        assert_eq!(sniff_format(&ods), Some(Format::Ods));
        let xlsx = [
            member("[Content_Types].xml", b"<Types/>"),
            member("xl/workbook.xml", b"<workbook/>"),
        ]
        .concat();
        assert_eq!(sniff_format(&xlsx), Some(Format::Xlsx));
        let docx = [
            member("[Content_Types].xml", b"<Types/>"),
            member("word/document.xml", b"<w/>"),
        ]
        .concat();
        assert_eq!(sniff_format(&docx), None);
        let odt = member("mimetype", b"application/vnd.oasis.opendocument.text");
        assert_eq!(sniff_format(&odt), None);
    }
}
