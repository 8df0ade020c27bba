use std::fmt;
use std::str::FromStr;

/// A text encoding for reading or writing files, by its WHATWG label (`utf-8`, `latin1`,
/// `windows-1252`, `utf-16le`, …), plus `utf-8-sig` (UTF-8 with a byte-order mark).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub(crate) inner: &'static encoding_rs::Encoding,
    /// Write a byte-order mark (only `utf-8-sig` sets it).
    pub(crate) bom: bool,
}

impl Encoding {
    /// UTF-8, the default.
    pub const UTF_8: Encoding = Encoding {
        inner: encoding_rs::UTF_8,
        bom: false,
    };

    /// The encoding's canonical name (`UTF-8`, `windows-1252`, …).
    pub fn name(&self) -> &'static str {
        if self.bom {
            "utf-8-sig"
        } else {
            self.inner.name()
        }
    }

    /// An encoding of the WHATWG Encoding Standard, without a byte-order mark on output.
    pub(crate) fn of(inner: &'static encoding_rs::Encoding) -> Encoding {
        Encoding { inner, bom: false }
    }

    /// True for UTF-8, with or without a byte-order mark.
    pub fn is_utf8(&self) -> bool {
        self.inner == encoding_rs::UTF_8
    }
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the encoding a reader used was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingSource {
    /// The caller gave it (`--encoding`).
    Given,
    /// A byte-order mark at the start of the file named it (and wins over a given one).
    ByteOrderMark,
    /// The file declares it (an HTML page's `<meta charset>`).
    Declared,
    /// rowport guessed it from the first bytes: UTF-8 when they are valid UTF-8, else a
    /// statistical detector's best guess.
    Detected,
}

impl EncodingSource {
    /// The source in a word or two, as reports show it: `given`, `byte-order mark`,
    /// `declared`, `detected`.
    pub fn as_str(self) -> &'static str {
        match self {
            EncodingSource::Given => "given",
            EncodingSource::ByteOrderMark => "byte-order mark",
            EncodingSource::Declared => "declared",
            EncodingSource::Detected => "detected",
        }
    }
}

impl fmt::Display for EncodingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text encoding a reader decoded its input with, and how that encoding was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingUsed {
    /// The encoding.
    pub encoding: Encoding,
    /// How it was chosen.
    pub source: EncodingSource,
}

/// The error for an encoding label rowport does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding \"{0}\" (try utf-8, utf-8-sig, latin1, windows-1252, utf-16le)")]
pub struct EncodingError(pub String);

impl FromStr for Encoding {
    type Err = EncodingError;

    fn from_str(label: &str) -> Result<Self, Self::Err> {
        let lower = label.trim().to_ascii_lowercase();
        if matches!(lower.as_str(), "utf-8-sig" | "utf8-sig" | "utf_8_sig") {
            return Ok(Encoding {
                inner: encoding_rs::UTF_8,
                bom: true,
            });
        }
        // Python spells Latin-1 with an underscore; WHATWG maps it to windows-1252, which is
        // a superset for every printable byte.
        let label = lower.replace('_', "-");
        encoding_rs::Encoding::for_label(label.as_bytes())
            .map(|inner| Encoding { inner, bom: false })
            .ok_or(EncodingError(label))
    }
}
