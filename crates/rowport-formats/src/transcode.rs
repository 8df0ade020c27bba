//! Text encodings at the two ends of a stream: input is decoded to UTF-8 before a format
//! reader parses it (its encoding detected from its first bytes when not given), and a
//! format writer's UTF-8 text is encoded on its way out.

use std::io::{self, BufWriter, Read, Write};

use encoding_rs::{EncoderResult, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use crate::{Encoding, EncodingSource, EncodingUsed, FormatError};

/// How writers name their output in I/O errors: they are not told the file's name.
pub(crate) const OUTPUT_NAME: &str = "output";

/// How many bytes at the start of a file are looked at to detect its encoding.
pub(crate) const DETECTION_PREFIX: usize = 64 << 10;

/// The first bytes of a stream, read ahead, followed by the rest of it.
pub(crate) type Prefixed<'a> = io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + 'a>>;

/// Input that yields UTF-8 (or, for UTF-8 files, the raw bytes) without a byte-order mark.
pub(crate) type DecodedInput<'a> = DecodeReaderBytes<Prefixed<'a>, Vec<u8>>;

/// Reads up to `limit` bytes from the start of `input`: fewer only at the end of the input.
pub(crate) fn read_prefix(input: &mut dyn Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(limit.min(8 << 10));
    input.take(limit as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// What a text format does to find its input's encoding when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detection {
    /// Byte-order mark, else valid UTF-8, else a statistical guess.
    Text,
    /// The same, but a `<meta charset>` declaration wins over the guess (HTML).
    Html,
}

/// Wraps `input` so that it yields UTF-8 without a byte-order mark, and says which encoding
/// that took.
///
/// A byte-order mark wins. Otherwise the given encoding is used; with none, the first
/// [`DETECTION_PREFIX`] bytes decide (see [`detect`]). For UTF-8 the bytes pass through
/// unchecked, so that the format's reader can report invalid bytes with the row they are on
/// instead of silently replacing them. Any other encoding is transcoded.
pub(crate) fn decode_input<'a>(
    mut input: Box<dyn Read + 'a>,
    encoding: Option<Encoding>,
    detection: Detection,
    source: &str,
) -> Result<(DecodedInput<'a>, EncodingUsed), FormatError> {
    let prefix = read_prefix(&mut input, DETECTION_PREFIX).map_err(|error| FormatError::Io {
        source_name: source.to_owned(),
        error,
    })?;
    let eof = prefix.len() < DETECTION_PREFIX;
    let used = match (bom_encoding(&prefix), encoding) {
        (Some(bom), _) => EncodingUsed {
            encoding: Encoding::of(bom),
            source: EncodingSource::ByteOrderMark,
        },
        (None, Some(given)) => EncodingUsed {
            encoding: given,
            source: EncodingSource::Given,
        },
        (None, None) => detect(&prefix, eof, detection),
    };
    let mut builder = DecodeReaderBytesBuilder::new();
    builder.strip_bom(true);
    if used.encoding.is_utf8() {
        builder.utf8_passthru(true);
    } else {
        builder
            .encoding(Some(used.encoding.inner))
            .bom_override(true);
    }
    let chained = io::Cursor::new(prefix).chain(input);
    Ok((builder.build(chained), used))
}

/// The encoding a byte-order mark at the start of `prefix` names.
fn bom_encoding(prefix: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_bom(prefix).map(|(encoding, _)| encoding)
}

/// Guesses the encoding of a file without a byte-order mark from its first bytes (`eof`:
/// they are the whole file).
///
/// In order: UTF-16 by the zero bytes of mostly-ASCII text; for HTML, a `<meta charset>`;
/// UTF-8 when the bytes are valid UTF-8 (or nearly: a damaged UTF-8 file is read as UTF-8, so
/// that the bad row is reported rather than the whole file mis-decoded); else chardetng's
/// guess (Windows-1252 for Latin-1 text, Shift_JIS, GBK, …).
pub(crate) fn detect(prefix: &[u8], eof: bool, detection: Detection) -> EncodingUsed {
    let detected = |inner| EncodingUsed {
        encoding: Encoding::of(inner),
        source: EncodingSource::Detected,
    };
    if let Some(utf16) = utf16_without_bom(prefix) {
        return detected(utf16);
    }
    if detection == Detection::Html {
        if let Some(declared) = html_declared_charset(prefix) {
            return EncodingUsed {
                encoding: Encoding::of(declared),
                source: EncodingSource::Declared,
            };
        }
    }
    if looks_like_utf8(prefix, eof) {
        return detected(UTF_8);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(prefix, eof);
    detected(detector.guess(None, chardetng::Utf8Detection::Allow))
}

/// Valid UTF-8, allowing a character cut by the end of the prefix, or UTF-8 with a few bad
/// bytes among many well-formed multi-byte characters.
fn looks_like_utf8(prefix: &[u8], eof: bool) -> bool {
    let mut rest = prefix;
    let mut multibyte = 0usize;
    let mut invalid = 0usize;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                multibyte += text.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                // Checked by from_utf8 just now.
                multibyte += std::str::from_utf8(valid)
                    .map(|text| text.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                match error.error_len() {
                    // A character cut by the end of the prefix, not by bad bytes.
                    None if !eof => break,
                    None => {
                        invalid += 1;
                        break;
                    }
                    Some(len) => {
                        invalid += 1;
                        rest = after.get(len..).unwrap_or_default();
                    }
                }
            }
        }
    }
    invalid == 0 || multibyte >= 10 * invalid
}

/// UTF-16 text without a byte-order mark: in mostly-ASCII text every other byte is zero,
/// and the text decodes without stray surrogates or control characters.
fn utf16_without_bom(prefix: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let sample = prefix.get(..prefix.len().min(4096) & !1)?;
    let pairs = sample.len() / 2;
    if pairs < 8 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    let (encoding, big_endian) = if odd * 10 >= pairs * 3 && even * 10 <= odd {
        (UTF_16LE, false)
    } else if even * 10 >= pairs * 3 && odd * 10 <= even {
        (UTF_16BE, true)
    } else {
        return None;
    };
    let units = sample.chunks_exact(2).map(|pair| {
        let bytes = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    });
    let mut decoded = char::decode_utf16(units).peekable();
    while let Some(c) = decoded.next() {
        let text_like = match c {
            Ok(c) => !c.is_control() || matches!(c, '\t' | '\n' | '\r'),
            // A surrogate pair cut by the end of the sample.
            Err(_) => decoded.peek().is_none(),
        };
        if !text_like {
            return None;
        }
    }
    Some(encoding)
}

/// The encoding an HTML page declares in its first 1024 bytes (`<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">`), as browsers pre-scan
/// for it. A declared UTF-16 means UTF-8, as in browsers: real UTF-16 has a byte-order mark.
fn html_declared_charset(prefix: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = prefix.get(..prefix.len().min(1024))?;
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let tag_start = from + at;
        let tag_end = lower[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |end| tag_start + end);
        let tag = &lower[tag_start..tag_end];
        if let Some(at) = find(tag, b"charset") {
            let value = tag[at + 7..]
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .skip_while(|&&b| b == b'=')
                .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
                .take_while(|b| {
                    !(b.is_ascii_whitespace() || matches!(**b, b'"' | b'\'' | b';' | b'/'))
                })
                .copied()
                .collect::<Vec<u8>>();
            if let Some(encoding) = encoding_rs::Encoding::for_label(&value) {
                return Some(if encoding == UTF_16LE || encoding == UTF_16BE {
                    UTF_8
                } else {
                    encoding
                });
            }
        }
        from = tag_end.max(tag_start + 1);
    }
    None
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Why text could not be written.
pub(crate) enum Unwritable {
    /// The output stream failed.
    Io(io::Error),
    /// The output encoding has no way to write this character.
    Char(char),
}

impl From<io::Error> for Unwritable {
    fn from(error: io::Error) -> Self {
        Unwritable::Io(error)
    }
}

impl Unwritable {
    /// Converts to the public error. `values` are the texts being written (headers or rendered
    /// cells); the first one holding the unwritable character is named in the message.
    pub(crate) fn into_format_error(
        self,
        encoding: &str,
        values: impl IntoIterator<Item = String>,
    ) -> FormatError {
        match self {
            Unwritable::Io(error) => output_io_error(error),
            Unwritable::Char(c) => {
                let value = values
                    .into_iter()
                    .find(|value| value.contains(c))
                    .unwrap_or_else(|| c.to_string());
                FormatError::Unencodable {
                    encoding: encoding.to_owned(),
                    value: excerpt(&value, c),
                }
            }
        }
    }
}

pub(crate) fn output_io_error(error: io::Error) -> FormatError {
    FormatError::Io {
        source_name: OUTPUT_NAME.to_owned(),
        error,
    }
}

/// A window of at most 60 characters of `value` around the first `c`, marked with `…` where cut.
fn excerpt(value: &str, c: char) -> String {
    const WIDTH: usize = 60;
    let len = value.chars().count();
    if len <= WIDTH {
        return value.to_owned();
    }
    let at = value.chars().position(|x| x == c).unwrap_or(0);
    let start = at.saturating_sub(WIDTH / 3).min(len - WIDTH);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(value.chars().skip(start).take(WIDTH));
    if start + WIDTH < len {
        out.push('…');
    }
    out
}

/// Buffered output that encodes UTF-8 text into the chosen encoding.
pub(crate) struct TextOutput<'a> {
    out: BufWriter<Box<dyn Write + 'a>>,
    target: Target,
    name: &'static str,
    scratch: Vec<u8>,
}

enum Target {
    Utf8,
    /// encoding_rs only decodes UTF-16 (WHATWG has no UTF-16 encoder), so it is done here.
    Utf16 {
        big_endian: bool,
    },
    Other(encoding_rs::Encoder),
    /// The WHATWG "replacement" encoding only decodes: nothing can be written in it.
    Nothing,
}

impl<'a> TextOutput<'a> {
    /// Wraps `out`; `utf-8-sig` writes its byte-order mark at once.
    pub(crate) fn new(
        out: Box<dyn Write + 'a>,
        encoding: Option<Encoding>,
    ) -> Result<Self, FormatError> {
        let encoding = encoding.unwrap_or(Encoding::UTF_8);
        let target = match encoding.inner {
            e if e == UTF_8 => Target::Utf8,
            e if e == UTF_16LE => Target::Utf16 { big_endian: false },
            e if e == UTF_16BE => Target::Utf16 { big_endian: true },
            e if e == REPLACEMENT => Target::Nothing,
            e => Target::Other(e.new_encoder()),
        };
        let mut output = TextOutput {
            out: BufWriter::new(out),
            target,
            name: encoding.name(),
            scratch: vec![0; 4096],
        };
        if encoding.bom {
            output
                .out
                .write_all(b"\xEF\xBB\xBF")
                .map_err(output_io_error)?;
        }
        Ok(output)
    }

    /// The encoding's name, for error messages.
    pub(crate) fn encoding_name(&self) -> &'static str {
        self.name
    }

    /// Encodes and writes `text`. On an unwritable character, part of `text` may have been
    /// written already; the caller abandons the file.
    pub(crate) fn write(&mut self, text: &str) -> Result<(), Unwritable> {
        self.encode(text, false)
    }

    /// Ends the encoded stream and flushes it.
    pub(crate) fn finish(mut self) -> Result<(), FormatError> {
        // Stateful encoders (ISO-2022-JP) may owe a closing escape sequence.
        let name = self.name;
        self.encode("", true)
            .map_err(|e| e.into_format_error(name, None::<String>))?;
        self.out.flush().map_err(output_io_error)
    }

    fn encode(&mut self, text: &str, last: bool) -> Result<(), Unwritable> {
        let TextOutput {
            out,
            target,
            scratch,
            ..
        } = self;
        match target {
            Target::Utf8 => out.write_all(text.as_bytes())?,
            Target::Utf16 { big_endian } => {
                for unit in text.encode_utf16() {
                    let bytes = if *big_endian {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    };
                    out.write_all(&bytes)?;
                }
            }
            Target::Other(encoder) => {
                let mut rest = text;
                loop {
                    let (result, read, written) =
                        encoder.encode_from_utf8_without_replacement(rest, scratch, last);
                    out.write_all(scratch.get(..written).unwrap_or_default())?;
                    rest = rest.get(read..).unwrap_or_default();
                    match result {
                        EncoderResult::InputEmpty => break,
                        EncoderResult::OutputFull => continue,
                        EncoderResult::Unmappable(c) => return Err(Unwritable::Char(c)),
                    }
                }
            }
            Target::Nothing => {
                if let Some(c) = text.chars().next() {
                    return Err(Unwritable::Char(c));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_with(bytes: &[u8], encoding: Option<&str>) -> (Vec<u8>, EncodingUsed) {
        let encoding = encoding.map(|label| label.parse().unwrap());
        let mut out = Vec::new();
        let (mut input, used) =
            decode_input(Box::new(bytes), encoding, Detection::Text, "t").unwrap();
        input.read_to_end(&mut out).unwrap();
        (out, used)
    }

    fn decode(bytes: &[u8], encoding: Option<&str>) -> Vec<u8> {
        decode_with(bytes, encoding).0
    }

    /// The name of the encoding detected for `bytes`, and how.
    fn detected(bytes: &[u8], detection: Detection) -> (&'static str, EncodingSource) {
        let used = detect(bytes, true, detection);
        (used.encoding.name(), used.source)
    }

    fn encode(text: &str, encoding: &str) -> Result<Vec<u8>, FormatError> {
        let mut buf = Vec::new();
        let mut out = TextOutput::new(Box::new(&mut buf), Some(encoding.parse().unwrap()))?;
        let name = out.encoding_name();
        out.write(text)
            .map_err(|e| e.into_format_error(name, [text.to_owned()]))?;
        out.finish()?;
        Ok(buf)
    }

    #[test]
    fn utf8_passes_through_unchecked_without_bom() {
        assert_eq!(decode(b"\xEF\xBB\xBFa\xFFb", None), b"a\xFFb");
        assert_eq!(decode(b"a\xFFb", Some("utf-8-sig")), b"a\xFFb");
    }

    #[test]
    fn utf16_bom_is_honoured_by_default() {
        assert_eq!(decode(b"\xFF\xFEa\x00,\x00", None), b"a,");
    }

    #[test]
    fn a_bom_wins_and_is_reported() {
        let (out, used) = decode_with(b"\xFF\xFEa\x00", Some("latin1"));
        assert_eq!(out, b"a");
        assert_eq!(used.encoding.name(), "UTF-16LE");
        assert_eq!(used.source, EncodingSource::ByteOrderMark);
        let (_, used) = decode_with(b"\xEF\xBB\xBFa", None);
        assert_eq!(
            (used.encoding.name(), used.source),
            ("UTF-8", EncodingSource::ByteOrderMark)
        );
        let (_, used) = decode_with(b"a", Some("latin1"));
        assert_eq!(
            (used.encoding.name(), used.source),
            ("windows-1252", EncodingSource::Given)
        );
    }

    #[test]
    fn detects_utf8_latin1_and_utf16_without_bom() {
        use EncodingSource::Detected;
        assert_eq!(
            detected(b"plain ascii", Detection::Text),
            ("UTF-8", Detected)
        );
        assert_eq!(
            detected("caf\u{e9} \u{fc}ber".as_bytes(), Detection::Text),
            ("UTF-8", Detected)
        );
        assert_eq!(
            detected(
                b"name\nCaf\xE9 \xFCber alles, na\xEFve fa\xE7ade\n",
                Detection::Text
            ),
            ("windows-1252", Detected)
        );
        let le: Vec<u8> = "id,name\n1,x\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "id,name\n1,x\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(detected(&le, Detection::Text), ("UTF-16LE", Detected));
        assert_eq!(detected(&be, Detection::Text), ("UTF-16BE", Detected));
        // Binary data with zero bytes is not UTF-16 text.
        let binary = b"\x00\x01\x02\x03binary\x00\xFF\x00\x05\x00\x06";
        assert_ne!(detected(binary, Detection::Text).0, "UTF-16BE");
    }

    /// `text` in the encoding labelled `label`.
    fn encoded(text: &str, label: &str) -> Vec<u8> {
        let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{label} can hold {text:?}");
        bytes.into_owned()
    }

    #[test]
    fn detects_shift_jis_and_gbk() {
        let japanese = "isbn,name,author\n1,吾輩は猫である,夏目漱石\n2,雪国,川端康成\n3,ノルウェイの森,村上春樹\n";
        assert_eq!(
            detected(&encoded(japanese, "shift_jis"), Detection::Text),
            ("Shift_JIS", EncodingSource::Detected)
        );
        let chinese = "isbn,name,author\n1,红楼梦,曹雪芹\n2,西游记,吴承恩\n3,三国演义,罗贯中\n4,水浒传,施耐庵\n";
        assert_eq!(
            detected(&encoded(chinese, "gbk"), Detection::Text),
            ("GBK", EncodingSource::Detected)
        );
    }

    #[test]
    fn a_cut_character_at_the_end_of_the_prefix_is_still_utf8() {
        let text = "\u{e9}".repeat(10);
        let cut = &text.as_bytes()[..text.len() - 1];
        assert_eq!(detect(cut, false, Detection::Text).encoding.name(), "UTF-8");
    }

    #[test]
    fn damaged_utf8_stays_utf8_so_the_bad_row_is_reported() {
        let mut bytes = "\u{e9}t\u{e9} \u{e0} la plage, caf\u{e9}, na\u{ef}ve, \u{fc}ber\n"
            .repeat(3)
            .into_bytes();
        bytes.push(0xFF);
        assert_eq!(
            detect(&bytes, true, Detection::Text).encoding.name(),
            "UTF-8"
        );
    }

    #[test]
    fn html_meta_charset_is_declared() {
        let page = b"<!DOCTYPE html><html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head><body>caf\xE9</body>";
        assert_eq!(
            detected(page, Detection::Html),
            ("windows-1252", EncodingSource::Declared)
        );
        let page = b"<meta charset='shift_jis'><table><tr><td>x</td></tr></table>";
        assert_eq!(
            detected(page, Detection::Html),
            ("Shift_JIS", EncodingSource::Declared)
        );
        let page = b"<meta charset=\"utf-16\"><p>x</p>";
        assert_eq!(
            detected(page, Detection::Html),
            ("UTF-8", EncodingSource::Declared)
        );
        // Text formats do not look for it.
        assert_eq!(detected(page, Detection::Text).1, EncodingSource::Detected);
    }

    #[test]
    fn other_encodings_are_transcoded() {
        assert_eq!(decode(b"\xE0", Some("latin1")), "à".as_bytes());
        assert_eq!(decode(b"a\x00\xE9\x00", Some("utf-16le")), "aé".as_bytes());
    }

    #[test]
    fn encodes_into_target() {
        assert_eq!(encode("à", "utf-8").unwrap(), "à".as_bytes());
        assert_eq!(encode("à", "utf-8-sig").unwrap(), b"\xEF\xBB\xBF\xC3\xA0");
        assert_eq!(encode("à", "latin1").unwrap(), b"\xE0");
        assert_eq!(encode("aé", "utf-16le").unwrap(), b"a\x00\xE9\x00");
        assert_eq!(encode("a", "utf-16be").unwrap(), b"\x00a");
        // ISO-2022-JP must switch back to ASCII at the end.
        assert_eq!(encode("日", "iso-2022-jp").unwrap(), b"\x1B$BF|\x1B(B");
    }

    #[test]
    fn unencodable_character_is_an_error_not_a_reference() {
        let err = encode("price: 5€ or 4¥ … ✓", "latin1").unwrap_err();
        match err {
            FormatError::Unencodable { encoding, value } => {
                assert_eq!(encoding, "windows-1252");
                assert_eq!(value, "price: 5€ or 4¥ … ✓");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            encode("x", "iso-2022-kr"),
            Err(FormatError::Unencodable { .. })
        ));
    }

    #[test]
    fn long_values_are_cut_around_the_character() {
        let value = format!("{}✓{}", "a".repeat(100), "b".repeat(100));
        let cut = excerpt(&value, '✓');
        assert_eq!(cut.chars().count(), 62);
        assert!(cut.starts_with('…') && cut.ends_with('…') && cut.contains('✓'));
        assert_eq!(excerpt("short ✓", '✓'), "short ✓");
    }
}
