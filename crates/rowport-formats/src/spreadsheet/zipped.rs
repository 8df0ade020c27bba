//! Zip archives (XLSX, ODS) read member by member, every byte counted as it inflates.
//!
//! The zip crate reads the central directory; the members themselves are inflated here, so
//! that the limits apply to the bytes that actually come out, not to the sizes the archive
//! declares (a zip bomb declares small ones).

use std::cell::Cell as Shared;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Take};
use std::rc::Rc;

use flate2::bufread::DeflateDecoder;
use zip::{CompressionMethod, ZipArchive};

use super::{human_bytes, Limits};
use crate::FormatError;

/// Below this many inflated bytes a member is not held to the compression ratio: small XML
/// parts of repetitive markup legitimately compress far better than sheets do.
const RATIO_FLOOR: u64 = 1 << 20;

/// Why reading stopped early. Travels inside an [`io::Error`] through the XML parser and is
/// turned into a [`FormatError`] by [`Archive::error`].
#[derive(Debug)]
pub(crate) enum Stop {
    /// The archive's members together inflated past `max_decompressed_bytes`.
    Total,
    /// This member inflated past `max_compression_ratio` times its compressed size.
    Ratio { member: String },
    /// One XML token (a text, a tag) grew past `max_cell_bytes`.
    Token,
    /// The member's bytes do not match its checksum.
    Corrupt { member: String },
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Total => f.write_str("the archive inflates past its limit"),
            Stop::Ratio { member } => write!(f, "{member} inflates past its compression limit"),
            Stop::Token => f.write_str("an XML token is longer than its limit"),
            Stop::Corrupt { member } => write!(f, "{member} is damaged (its checksum is wrong)"),
        }
    }
}

impl std::error::Error for Stop {}

impl Stop {
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// The [`Stop`] an I/O error carries, if any.
    pub(crate) fn of(error: &io::Error) -> Option<&Stop> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Stop>())
    }
}

/// A workbook's zip archive, spooled to a file.
pub(crate) struct Archive {
    zip: ZipArchive<File>,
    /// Another handle on the same file, for the member being read.
    file: File,
    len: u64,
    source: String,
    limits: Limits,
    /// Bytes inflated so far, from every member.
    inflated: Rc<Shared<u64>>,
}

impl Archive {
    /// Reads the archive's directory. `kind` names the format in messages (`XLSX`).
    pub(crate) fn open(
        mut file: File,
        source: &str,
        limits: Limits,
        kind: &str,
    ) -> Result<Self, FormatError> {
        let io_error = |error| FormatError::Io {
            source_name: source.to_owned(),
            error,
        };
        let mut magic = [0u8; 4];
        let got = file.read(&mut magic).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        if got == 4 && magic == [0xD0, 0xCF, 0x11, 0xE0] {
            return Err(malformed(
                source,
                format!(
                    "is not an {kind} workbook but an OLE file, as legacy .xls workbooks and \
                     password-protected workbooks are (remove the password, or pass --format xls)"
                ),
            ));
        }
        if got == 0 {
            return Err(malformed(
                source,
                format!("is empty, not an {kind} workbook"),
            ));
        }
        let len = file.metadata().map_err(io_error)?.len();
        let handle = file.try_clone().map_err(io_error)?;
        let zip = ZipArchive::new(file).map_err(|error| match error {
            zip::result::ZipError::Io(error) if error.kind() != io::ErrorKind::UnexpectedEof => {
                io_error(error)
            }
            _ => malformed(
                source,
                format!("is not an {kind} workbook (it is not a zip archive)"),
            ),
        })?;
        Ok(Archive {
            zip,
            file: handle,
            len,
            source: source.to_owned(),
            limits,
            inflated: Rc::new(Shared::new(0)),
        })
    }

    /// The file as the user named it.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The member's name as stored, found exactly or, as OPC part names are, ignoring case.
    fn find(&self, name: &str) -> Option<usize> {
        let name = name.trim_start_matches('/');
        self.zip.index_for_name(name).or_else(|| {
            self.zip
                .file_names()
                .find(|stored| stored.eq_ignore_ascii_case(name))
                .and_then(|stored| self.zip.index_for_name(stored))
        })
    }

    /// Opens a member for reading, `None` when the archive has none of that name. Only one
    /// member may be read at a time: they share the file's position.
    pub(crate) fn member(&mut self, name: &str) -> Result<Option<Member>, FormatError> {
        let Some(index) = self.find(name) else {
            return Ok(None);
        };
        let zip_error = |error: zip::result::ZipError, source: &str| match error {
            zip::result::ZipError::Io(error) => FormatError::Io {
                source_name: source.to_owned(),
                error,
            },
            other => malformed(source, format!("has a damaged zip entry {name} ({other})")),
        };
        let (start, compressed, method, crc, encrypted) = {
            let entry = self
                .zip
                .by_index_raw(index)
                .map_err(|e| zip_error(e, &self.source))?;
            (
                entry.data_start().unwrap_or(0),
                entry.compressed_size(),
                entry.compression(),
                entry.crc32(),
                entry.encrypted(),
            )
        };
        if encrypted {
            return Err(malformed(
                &self.source,
                format!("has an encrypted zip entry {name}"),
            ));
        }
        // The compressed data cannot reach past the end of the file, whatever is declared.
        let compressed = compressed.min(self.len.saturating_sub(start));
        let mut file = self.file.try_clone().map_err(|error| FormatError::Io {
            source_name: self.source.clone(),
            error,
        })?;
        file.seek(SeekFrom::Start(start))
            .map_err(|error| FormatError::Io {
                source_name: self.source.clone(),
                error,
            })?;
        let raw = BufReader::with_capacity(1 << 16, file).take(compressed);
        let stream = match method {
            CompressionMethod::Stored => Stream::Stored(raw),
            CompressionMethod::Deflated => Stream::Deflated(Box::new(DeflateDecoder::new(raw))),
            other => {
                return Err(malformed(
                    &self.source,
                    format!("stores {name} compressed with {other}, which rowport cannot read"),
                ))
            }
        };
        Ok(Some(Member {
            name: name.to_owned(),
            stream,
            compressed,
            read: 0,
            crc: crc32fast::Hasher::new(),
            expected_crc: crc,
            checked: false,
            inflated: Rc::clone(&self.inflated),
            limits: self.limits,
        }))
    }

    /// The [`FormatError`] for an I/O error met while reading a member, `row` being where
    /// the reader was.
    pub(crate) fn error(&self, error: io::Error, row: Option<u64>) -> FormatError {
        stop_error(&self.source, &self.limits, error, row)
    }
}

/// The [`FormatError`] for an I/O error met while reading a member of `source`.
pub(crate) fn stop_error(
    source: &str,
    limits: &Limits,
    error: io::Error,
    row: Option<u64>,
) -> FormatError {
    match Stop::of(&error) {
        Some(Stop::Total) => FormatError::LimitExceeded {
            source_name: source.to_owned(),
            row: None,
            what: "the uncompressed size of the workbook".to_owned(),
            limit: human_bytes(limits.max_decompressed_bytes),
            flag: "--max-decompressed-bytes",
            setting: "limits.max_decompressed_bytes",
        },
        Some(Stop::Ratio { member }) => FormatError::LimitExceeded {
            source_name: source.to_owned(),
            row: None,
            what: format!("the compression ratio of {member}"),
            limit: format!("{} to 1", limits.max_compression_ratio),
            flag: "--max-compression-ratio",
            setting: "limits.max_compression_ratio",
        },
        Some(Stop::Token) => super::cell_too_long(source, row, limits),
        Some(Stop::Corrupt { .. }) => malformed(source, error.to_string()),
        None if error.kind() == io::ErrorKind::InvalidData
            || error.kind() == io::ErrorKind::InvalidInput
            || error.kind() == io::ErrorKind::UnexpectedEof =>
        {
            // flate2 reports a broken deflate stream this way.
            malformed(source, format!("is damaged ({error})"))
        }
        None => FormatError::Io {
            source_name: source.to_owned(),
            error,
        },
    }
}

pub(crate) fn malformed(source: &str, message: String) -> FormatError {
    FormatError::Malformed {
        source_name: source.to_owned(),
        row: None,
        message,
    }
}

type Raw = Take<BufReader<File>>;

enum Stream {
    Stored(Raw),
    Deflated(Box<DeflateDecoder<Raw>>),
}

/// One member's bytes as they inflate, counted against the limits and checked against the
/// member's checksum at its end.
pub(crate) struct Member {
    name: String,
    stream: Stream,
    compressed: u64,
    read: u64,
    crc: crc32fast::Hasher,
    expected_crc: u32,
    checked: bool,
    inflated: Rc<Shared<u64>>,
    limits: Limits,
}

impl Member {
    /// The member's name in the archive.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Read for Member {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.stream {
            Stream::Stored(raw) => raw.read(buf)?,
            Stream::Deflated(inflate) => inflate.read(buf)?,
        };
        if n == 0 {
            if !buf.is_empty() && !self.checked {
                self.checked = true;
                if self.crc.clone().finalize() != self.expected_crc {
                    return Err(Stop::Corrupt {
                        member: self.name.clone(),
                    }
                    .into_io());
                }
            }
            return Ok(0);
        }
        self.crc.update(&buf[..n]);
        self.read += n as u64;
        let total = self.inflated.get() + n as u64;
        self.inflated.set(total);
        if total > self.limits.max_decompressed_bytes {
            return Err(Stop::Total.into_io());
        }
        let ratio_cap = self
            .compressed
            .max(1)
            .saturating_mul(self.limits.max_compression_ratio);
        if self.read > RATIO_FLOOR && self.read > ratio_cap {
            return Err(Stop::Ratio {
                member: self.name.clone(),
            }
            .into_io());
        }
        Ok(n)
    }
}

/// A buffered reader that refuses to hand out more than `max` bytes between two calls of
/// [`Bounded::reset`]: the XML parser buffers a whole token (a text, a tag) before it
/// returns it, so this is what keeps one token from filling memory.
pub(crate) struct Bounded<R> {
    inner: BufReader<R>,
    used: usize,
    max: usize,
}

impl<R: Read> Bounded<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Bounded {
            inner: BufReader::with_capacity(1 << 16, inner),
            used: 0,
            max,
        }
    }

    /// Starts counting anew, before the next token.
    pub(crate) fn reset(&mut self) {
        self.used = 0;
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.used > self.max {
            return Err(Stop::Token.into_io());
        }
        // Never more than one byte past the limit, so that a token that reaches it asks
        // for more, and is refused, whatever the buffer's size.
        let room = self.max.saturating_sub(self.used).saturating_add(1);
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(room)])
    }

    fn consume(&mut self, amount: usize) {
        self.used = self.used.saturating_add(amount);
        self.inner.consume(amount);
    }
}
