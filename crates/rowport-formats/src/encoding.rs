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
