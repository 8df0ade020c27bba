//! XML parts of a workbook, read one token at a time with quick-xml.
//!
//! Entities are never expanded: a document type declaration is refused outright, and a
//! reference to any entity but XML's five and character references is an error.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::zipped::{malformed, stop_error, Bounded, Member};
use super::{cell_too_long, Limits};
use crate::FormatError;

/// One XML member of a workbook being read: its tokens, and what messages need.
pub(crate) struct XmlPart {
    pub(crate) tokens: Tokens,
    pub(crate) at: Place,
}

/// The token stream of a part.
pub(crate) struct Tokens {
    reader: Reader<Bounded<Member>>,
    buf: Vec<u8>,
}

/// Which file and part is being read, and under which limits: what every message needs.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) source: String,
    pub(crate) part: String,
    pub(crate) limits: Limits,
}

impl XmlPart {
    pub(crate) fn new(member: Member, source: &str, limits: Limits) -> Self {
        let part = member.name().to_owned();
        // A token may be a whole cell's text plus a little markup.
        let max_token = limits.max_cell_bytes.saturating_add(1 << 12);
        let mut reader = Reader::from_reader(Bounded::new(member, max_token));
        let config = reader.config_mut();
        config.trim_text(false);
        config.expand_empty_elements = false;
        XmlPart {
            tokens: Tokens {
                reader,
                buf: Vec::with_capacity(1 << 12),
            },
            at: Place {
                source: source.to_owned(),
                part,
                limits,
            },
        }
    }

    /// The next token; `row` is where the reader is, for messages.
    pub(crate) fn next(&mut self, row: Option<u64>) -> Result<Event<'_>, FormatError> {
        self.tokens.next(&self.at, row)
    }

    /// Skips to the end of the element whose start tag was just read.
    pub(crate) fn skip_element(&mut self, row: Option<u64>) -> Result<(), FormatError> {
        let mut depth = 1usize;
        loop {
            match self.tokens.next(&self.at, row)? {
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.at.truncated()),
                _ => {}
            }
        }
    }

    /// Reads the text of the element whose start tag was just read, up to its end tag,
    /// leaving out the text of child elements whose local name is in `skip`.
    pub(crate) fn element_text(
        &mut self,
        out: &mut String,
        skip: &[&[u8]],
        row: Option<u64>,
    ) -> Result<(), FormatError> {
        let mut depth = 1usize;
        loop {
            let event = self.tokens.next(&self.at, row)?;
            match &event {
                Event::Start(start) => {
                    if skip.contains(&start.local_name().as_ref()) {
                        self.skip_element(row)?;
                    } else {
                        depth += 1;
                    }
                }
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.at.truncated()),
                other => {
                    self.at.push_text(other, out, row)?;
                }
            }
        }
    }

    /// Reads the whole part, calling `each` with every start or empty tag; for the small
    /// parts (relationships, the workbook, styles) read before any row.
    pub(crate) fn each_tag(
        &mut self,
        mut each: impl FnMut(&Place, &BytesStart<'_>) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        loop {
            match self.tokens.next(&self.at, None)? {
                Event::Start(start) | Event::Empty(start) => each(&self.at, &start)?,
                Event::Eof => return Ok(()),
                _ => {}
            }
        }
    }
}

impl Tokens {
    /// The next token; `at` and `row` say where, for messages.
    pub(crate) fn next(&mut self, at: &Place, row: Option<u64>) -> Result<Event<'_>, FormatError> {
        self.reader.get_mut().reset();
        self.buf.clear();
        let event = self
            .reader
            .read_event_into(&mut self.buf)
            .map_err(|error| at.xml_error(error, row))?;
        if let Event::DocType(_) = event {
            return Err(malformed(
                &at.source,
                format!(
                    "{} declares a document type (<!DOCTYPE>), which workbooks never do; \
                     rowport refuses it rather than expand the entities it may define",
                    at.part
                ),
            ));
        }
        Ok(event)
    }
}

impl Place {
    /// The error for a part that ends in the middle of an element.
    pub(crate) fn truncated(&self) -> FormatError {
        malformed(&self.source, format!("{} ends too early", self.part))
    }

    /// An error about this part's content.
    pub(crate) fn bad(&self, row: Option<u64>, message: String) -> FormatError {
        FormatError::Malformed {
            source_name: self.source.clone(),
            row,
            message: format!("{}: {message}", self.part),
        }
    }

    fn xml_error(&self, error: quick_xml::Error, row: Option<u64>) -> FormatError {
        match error {
            quick_xml::Error::Io(error) => {
                let error = std::sync::Arc::try_unwrap(error).unwrap_or_else(|shared| {
                    std::io::Error::new(shared.kind(), shared.to_string())
                });
                stop_error(&self.source, &self.limits, error, row)
            }
            other => FormatError::Malformed {
                source_name: self.source.clone(),
                row,
                message: format!("{} is not well-formed XML ({other})", self.part),
            },
        }
    }

    /// Appends the text a token stands for to `out` when it is text (plain, CDATA, or an
    /// entity or character reference); returns whether it was. Refuses text past
    /// `max_cell_bytes`, and entities XML does not define.
    pub(crate) fn push_text(
        &self,
        event: &Event<'_>,
        out: &mut String,
        row: Option<u64>,
    ) -> Result<bool, FormatError> {
        let bad_text = || self.bad(row, "holds text that is not valid UTF-8".to_owned());
        match event {
            Event::Text(text) => out.push_str(&text.xml10_content().map_err(|_| bad_text())?),
            Event::CData(data) => out.push_str(&data.xml10_content().map_err(|_| bad_text())?),
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|_| bad_text())?;
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*name {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => {
                            return Err(self.bad(
                                row,
                                format!(
                                    "refers to the entity &{name};, which XML does not define \
                                     (rowport does not expand entities a document declares)"
                                ),
                            ))
                        }
                    },
                    Err(_) => {
                        return Err(self.bad(row, format!("has an invalid character &{name};")));
                    }
                };
                out.push(c);
            }
            _ => return Ok(false),
        }
        if out.len() > self.limits.max_cell_bytes {
            return Err(cell_too_long(&self.source, row, &self.limits));
        }
        Ok(true)
    }

    /// The value of the attribute whose local name is `name` (whatever its prefix),
    /// unescaped.
    pub(crate) fn attribute(
        &self,
        start: &BytesStart<'_>,
        name: &[u8],
        row: Option<u64>,
    ) -> Result<Option<String>, FormatError> {
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| self.bad(row, format!("has a malformed attribute ({e})")))?;
            if attr.key.local_name().as_ref() == name {
                let value = attr
                    .decode_and_unescape_value(start.decoder())
                    .map_err(|e| {
                        self.bad(
                            row,
                            format!(
                                "has an attribute rowport cannot read ({e}; entities a document \
                             declares are not expanded)"
                            ),
                        )
                    })?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }
}
