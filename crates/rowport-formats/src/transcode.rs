//! Text encodings at the two ends of a stream: input is decoded to UTF-8 before a format
//! reader parses it, and a format writer's UTF-8 text is encoded on its way out.

use std::io::{self, BufWriter, Read, Write};

use encoding_rs::{EncoderResult, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use crate::{Encoding, FormatError};

/// How writers name their output in I/O errors: they are not told the file's name.
pub(crate) const OUTPUT_NAME: &str = "output";

/// Input that yields UTF-8 (or, for UTF-8 files, the raw bytes) without a byte-order mark.
pub(crate) type DecodedInput<'a> = DecodeReaderBytes<Box<dyn Read + 'a>, Vec<u8>>;

/// Wraps `input` so that it yields UTF-8 without a byte-order mark.
///
/// For UTF-8 (the default) the bytes pass through unchecked, so that the format's reader can
/// report invalid bytes with the row they are on instead of silently replacing them. A UTF-16
/// byte-order mark is still honoured, since such a file cannot be UTF-8. Any other encoding is
/// transcoded, and a byte-order mark in the file wins over it.
pub(crate) fn decode_input<'a>(
    input: Box<dyn Read + 'a>,
    encoding: Option<Encoding>,
) -> DecodedInput<'a> {
    let mut builder = DecodeReaderBytesBuilder::new();
    builder.strip_bom(true);
    match encoding {
        Some(encoding) if !encoding.is_utf8() => {
            builder.encoding(Some(encoding.inner)).bom_override(true);
        }
        _ => {
            builder.utf8_passthru(true);
        }
    }
    builder.build(input)
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

    fn decode(bytes: &[u8], encoding: Option<&str>) -> Vec<u8> {
        let encoding = encoding.map(|label| label.parse().unwrap());
        let mut out = Vec::new();
        decode_input(Box::new(bytes), encoding)
            .read_to_end(&mut out)
            .unwrap();
        out
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
