//! ODS: `content.xml` streamed to the chosen table, then row by row. Repeated rows and
//! cells (`table:number-rows-repeated`, `table:number-columns-repeated`) cost nothing
//! when empty, which is what LibreOffice's million-row "used area" is made of.

use std::fs::File;

use quick_xml::events::{BytesStart, Event};

use super::xml::{Place, XmlPart};
use super::zipped::{malformed, Archive};
use super::{choose_sheet, iso_cell, number_cell, too_many_cells, Limits, SheetSource, SourceRow};
use crate::{Cell, FormatError, SheetRef};

/// The chosen table of an ODS workbook, read a row at a time.
pub(crate) struct OdsSheet {
    xml: XmlPart,
    name: String,
    limits: Limits,
    /// The number the next row gets.
    next_number: u64,
    /// Nesting of row groups inside the table.
    depth: usize,
    done: bool,
    cells_seen: u64,
    /// A repeated row still to hand out: its cells, the last column past the header that
    /// holds a value, and how many times more.
    repeat: Option<(Vec<Cell>, Option<usize>, u64)>,
    text: String,
}

pub(crate) fn open(
    file: File,
    source: &str,
    wanted: Option<&SheetRef>,
    limits: Limits,
) -> Result<OdsSheet, FormatError> {
    let mut archive = Archive::open(file, source, limits, "ODS")?;
    let active = active_table(&mut archive)?;
    // First pass: stop at the table when it can be told on the way.
    let mut names = Vec::new();
    let found = {
        let is_it = |index: usize, name: &str| match wanted {
            Some(SheetRef::Index(i)) => index == *i,
            Some(SheetRef::Name(n)) => name == n,
            None => match &active {
                Some(active) => name == active,
                None => index == 0,
            },
        };
        let mut xml = content(&mut archive)?;
        find_table(&mut xml, &mut names, is_it)?.map(|name| (xml, name))
    };
    let (xml, name) = match found {
        Some(found) => found,
        None => {
            // Past the last table: every name is known, so the general rules apply (a
            // name in another case, a numeric name), or the error lists the tables.
            let active_index = active
                .as_ref()
                .and_then(|a| names.iter().position(|n| n == a));
            let index = choose_sheet(&names, wanted, active_index, source)?;
            let mut again = Vec::new();
            let mut xml = content(&mut archive)?;
            let name = find_table(&mut xml, &mut again, |i, _| i == index)?
                .ok_or_else(|| malformed(source, "content.xml changed while read".to_owned()))?;
            (xml, name)
        }
    };
    Ok(OdsSheet {
        xml,
        name,
        limits,
        next_number: 1,
        depth: 0,
        done: false,
        cells_seen: 0,
        repeat: None,
        text: String::new(),
    })
}

fn content(archive: &mut Archive) -> Result<XmlPart, FormatError> {
    let member = archive.member("content.xml")?.ok_or_else(|| {
        malformed(
            archive.source(),
            "is not an ODS workbook (it has no content.xml)".to_owned(),
        )
    })?;
    Ok(XmlPart::new(member, archive.source(), *archive.limits()))
}

/// The name of the table the workbook opens on, from `settings.xml`.
fn active_table(archive: &mut Archive) -> Result<Option<String>, FormatError> {
    let Some(member) = archive.member("settings.xml")? else {
        return Ok(None);
    };
    let mut xml = XmlPart::new(member, archive.source(), *archive.limits());
    loop {
        let event = xml.tokens.next(&xml.at, None)?;
        let is_active = match &event {
            Event::Start(tag) if tag.local_name().as_ref() == b"config-item" => {
                xml.at.attribute(tag, b"name", None)?.as_deref() == Some("ActiveTable")
            }
            Event::Eof => return Ok(None),
            _ => false,
        };
        if is_active {
            let mut name = String::new();
            xml.element_text(&mut name, &[], None)?;
            return Ok(Some(name));
        }
    }
}

/// Reads up to the start of the table for which `is_it(index, name)` holds, adding the
/// name of every table passed to `names`; `None` when no table is.
fn find_table(
    xml: &mut XmlPart,
    names: &mut Vec<String>,
    is_it: impl Fn(usize, &str) -> bool,
) -> Result<Option<String>, FormatError> {
    loop {
        let event = xml.tokens.next(&xml.at, None)?;
        let name = match &event {
            Event::Start(tag) if tag.local_name().as_ref() == b"table" => {
                xml.at.attribute(tag, b"name", None)?.unwrap_or_default()
            }
            Event::Empty(tag) if tag.local_name().as_ref() == b"table" => {
                names.push(xml.at.attribute(tag, b"name", None)?.unwrap_or_default());
                continue;
            }
            Event::Eof => return Ok(None),
            _ => continue,
        };
        names.push(name.clone());
        if is_it(names.len() - 1, &name) {
            return Ok(Some(name));
        }
        xml.skip_element(None)?;
    }
}

/// A `table:table-cell`'s attributes.
#[derive(Default)]
struct CellTag {
    kind: Option<String>,
    value: Option<String>,
    date: Option<String>,
    time: Option<String>,
    boolean: Option<String>,
    string: Option<String>,
    repeat: u64,
}

fn cell_tag(at: &Place, tag: &BytesStart<'_>, row: u64) -> Result<CellTag, FormatError> {
    let mut cell = CellTag {
        repeat: 1,
        ..CellTag::default()
    };
    for attr in tag.attributes() {
        let attr =
            attr.map_err(|e| at.bad(Some(row), format!("has a malformed attribute ({e})")))?;
        // LibreOffice repeats some attributes in its own namespace (`calcext:value-type`).
        if attr.key.prefix().is_some_and(|p| p.as_ref() == b"calcext") {
            continue;
        }
        let slot = match attr.key.local_name().as_ref() {
            b"value-type" => &mut cell.kind,
            b"value" => &mut cell.value,
            b"date-value" => &mut cell.date,
            b"time-value" => &mut cell.time,
            b"boolean-value" => &mut cell.boolean,
            b"string-value" => &mut cell.string,
            b"number-columns-repeated" => {
                cell.repeat = repeat_of(&attr.value);
                continue;
            }
            _ => continue,
        };
        let value = attr.decode_and_unescape_value(tag.decoder()).map_err(|e| {
            at.bad(
                Some(row),
                format!("has an attribute rowport cannot read ({e})"),
            )
        })?;
        *slot = Some(value.into_owned());
    }
    Ok(cell)
}

/// A repeat count; a missing or broken one is 1.
fn repeat_of(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// Seconds in an ISO 8601 duration as ODS writes times: `PT12H30M05.5S`, `P1DT2H`.
fn duration_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = text.strip_prefix('P')?;
    let mut seconds = 0.0;
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' | ',' => number.push(if c == ',' { '.' } else { c }),
            unit => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                seconds += n * match (unit, in_time) {
                    ('D', false) => 86_400.0,
                    ('H', true) => 3_600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
            }
        }
    }
    if !number.is_empty() {
        return None;
    }
    Some(if negative { -seconds } else { seconds })
}

impl OdsSheet {
    /// The cell a `table:table-cell` stands for, from its attributes and its text.
    fn cell_value(&self, tag: &CellTag, row: u64) -> Result<Cell, FormatError> {
        let bad = |what: &str, value: &str| {
            self.xml
                .at
                .bad(Some(row), format!("has a {what} cell holding \"{value}\""))
        };
        let text = |s: &str| {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.to_owned())
            }
        };
        Ok(match tag.kind.as_deref() {
            Some("float" | "percentage" | "currency") => match &tag.value {
                Some(v) => number_cell(v.trim().parse().map_err(|_| bad("number", v))?),
                None => text(&self.text),
            },
            Some("date") => match &tag.date {
                Some(v) => iso_cell(v).unwrap_or_else(|| text(v)),
                None => text(&self.text),
            },
            Some("time") => match &tag.time {
                Some(v) => match duration_seconds(v) {
                    Some(s) if (0.0..86_400.0).contains(&s) => {
                        let micros = ((s * 1e6).round() as i64).min(86_399_999_999);
                        Cell::Time(chrono::NaiveTime::MIN + chrono::Duration::microseconds(micros))
                    }
                    Some(s) => number_cell(s / 86_400.0),
                    None => return Err(bad("time", v)),
                },
                None => text(&self.text),
            },
            Some("boolean") => match tag.boolean.as_deref().map(str::trim) {
                Some("true" | "1") => Cell::Bool(true),
                Some("false" | "0") => Cell::Bool(false),
                Some(other) => return Err(bad("boolean", other)),
                None => text(&self.text),
            },
            _ => match tag.string.as_deref() {
                Some(s) if !s.is_empty() => text(s),
                _ => text(&self.text),
            },
        })
    }

    /// Reads the cells of a `table:table-row` whose start was just read into `cells`;
    /// returns the last column past `cells` that holds a value, and how many non-empty
    /// cells the row has.
    fn read_cells(
        &mut self,
        row: u64,
        cells: &mut [Cell],
    ) -> Result<(Option<usize>, u64), FormatError> {
        let width = cells.len();
        let mut column = 0usize;
        let mut beyond = None;
        let mut filled = 0u64;
        loop {
            let event = self.xml.tokens.next(&self.xml.at, Some(row))?;
            let (tag, has_content) = match &event {
                Event::Start(tag) if is_cell(tag) => (cell_tag(&self.xml.at, tag, row)?, true),
                Event::Empty(tag) if is_cell(tag) => (cell_tag(&self.xml.at, tag, row)?, false),
                Event::Start(_) => {
                    self.xml.skip_element(Some(row))?;
                    continue;
                }
                Event::End(_) => return Ok((beyond, filled)),
                Event::Eof => return Err(self.xml.at.truncated()),
                _ => continue,
            };
            self.text.clear();
            if has_content {
                self.cell_text(row)?;
            }
            let cell = self.cell_value(&tag, row)?;
            let start = column;
            let repeat = usize::try_from(tag.repeat).unwrap_or(usize::MAX);
            column = column.saturating_add(repeat);
            if cell.is_empty() {
                self.count(1)?;
                continue;
            }
            self.count(tag.repeat)?;
            filled = filled.saturating_add(tag.repeat);
            for slot in cells.iter_mut().take(column).skip(start) {
                *slot = cell.clone();
            }
            if column > width {
                beyond = Some(column - 1);
            }
        }
    }

    fn count(&mut self, cells: u64) -> Result<(), FormatError> {
        self.cells_seen = self.cells_seen.saturating_add(cells);
        if self.cells_seen > self.limits.max_cells {
            return Err(too_many_cells(
                &self.xml.at.source,
                &self.name,
                &self.limits,
            ));
        }
        Ok(())
    }

    /// The text of a cell whose start was just read: its paragraphs joined by line breaks,
    /// with ODF's spacing rules (runs of spaces collapse; `text:s` are kept spaces),
    /// annotations left out.
    fn cell_text(&mut self, row: u64) -> Result<(), FormatError> {
        let at = Some(row);
        let mut depth = 1usize;
        let mut paragraphs = 0usize;
        let mut pending_space = false;
        let mut paragraph_start = true;
        loop {
            let event = self.xml.tokens.next(&self.xml.at, at)?;
            match &event {
                Event::Start(tag) | Event::Empty(tag) => {
                    let empty = matches!(event, Event::Empty(_));
                    let name = tag.local_name();
                    let spaces = match name.as_ref() {
                        b"s" => self
                            .xml
                            .at
                            .attribute(tag, b"c", at)?
                            .and_then(|c| c.trim().parse::<usize>().ok())
                            .unwrap_or(1),
                        _ => 0,
                    };
                    match name.as_ref() {
                        b"p" | b"h" => {
                            if depth == 1 {
                                if paragraphs > 0 {
                                    self.text.push('\n');
                                }
                                paragraphs += 1;
                            }
                            pending_space = false;
                            paragraph_start = true;
                            if !empty {
                                depth += 1;
                            }
                            continue;
                        }
                        b"span" | b"a" if !empty => {
                            depth += 1;
                            continue;
                        }
                        b"s" | b"tab" | b"line-break" => {}
                        _ => {
                            if !empty {
                                self.xml.skip_element(at)?;
                            }
                            continue;
                        }
                    }
                    // A kept space, tab or line break.
                    flush_space(&mut self.text, &mut pending_space);
                    paragraph_start = false;
                    match name.as_ref() {
                        b"s" => {
                            let room = self.limits.max_cell_bytes.saturating_sub(self.text.len());
                            self.text
                                .extend(std::iter::repeat_n(' ', spaces.min(room + 1)));
                        }
                        b"tab" => self.text.push('\t'),
                        _ => self.text.push('\n'),
                    }
                    self.check_length(row)?;
                    if !empty {
                        self.xml.skip_element(at)?;
                    }
                }
                Event::End(_) => {
                    // Spaces before a paragraph's end are dropped.
                    pending_space = false;
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.xml.at.truncated()),
                Event::Text(_) if depth > 1 => {
                    let mut raw = String::new();
                    self.xml.at.push_text(&event, &mut raw, at)?;
                    for c in raw.chars() {
                        if matches!(c, ' ' | '\t' | '\n' | '\r') {
                            // A run of spaces is one space, none at a paragraph's start.
                            pending_space = !paragraph_start;
                        } else {
                            flush_space(&mut self.text, &mut pending_space);
                            self.text.push(c);
                            paragraph_start = false;
                        }
                    }
                    self.check_length(row)?;
                }
                other if depth > 1 => {
                    flush_space(&mut self.text, &mut pending_space);
                    if self.xml.at.push_text(other, &mut self.text, at)? {
                        paragraph_start = false;
                    }
                }
                _ => {}
            }
        }
    }

    fn check_length(&self, row: u64) -> Result<(), FormatError> {
        if self.text.len() > self.limits.max_cell_bytes {
            return Err(super::cell_too_long(
                &self.xml.at.source,
                Some(row),
                &self.limits,
            ));
        }
        Ok(())
    }
}

/// Writes out a collapsed run of spaces once text follows it.
fn flush_space(text: &mut String, pending: &mut bool) {
    if *pending {
        text.push(' ');
        *pending = false;
    }
}

fn is_cell(tag: &BytesStart<'_>) -> bool {
    matches!(
        tag.local_name().as_ref(),
        b"table-cell" | b"covered-table-cell"
    )
}

impl SheetSource for OdsSheet {
    fn next_row(
        &mut self,
        cells: &mut Vec<Cell>,
        width: usize,
    ) -> Result<Option<SourceRow>, FormatError> {
        if let Some((repeated, beyond, left)) = &mut self.repeat {
            let number = self.next_number;
            self.next_number += 1;
            *left -= 1;
            // The row was read at another width (the header's search is wider).
            let past = repeated
                .iter()
                .rposition(|c| !c.is_empty())
                .filter(|&last| last >= width);
            let beyond = (*beyond).max(past);
            let filled = repeated.iter().filter(|c| !c.is_empty()).count() as u64;
            cells.clear();
            cells.extend(repeated.iter().take(width).cloned());
            cells.resize(width, Cell::Empty);
            if *left == 0 {
                self.repeat = None;
            }
            self.count(filled)?;
            return Ok(Some(SourceRow { number, beyond }));
        }
        while !self.done {
            let event = self.xml.tokens.next(&self.xml.at, None)?;
            let repeat = match &event {
                Event::Start(tag) if tag.local_name().as_ref() == b"table-row" => self
                    .xml
                    .at
                    .attribute(tag, b"number-rows-repeated", None)?
                    .map_or(1, |n| repeat_of(n.as_bytes())),
                Event::Empty(tag) if tag.local_name().as_ref() == b"table-row" => {
                    let repeat = self
                        .xml
                        .at
                        .attribute(tag, b"number-rows-repeated", None)?
                        .map_or(1, |n| repeat_of(n.as_bytes()));
                    self.next_number = self.next_number.saturating_add(repeat);
                    continue;
                }
                Event::Start(tag)
                    if matches!(
                        tag.local_name().as_ref(),
                        b"table-header-rows" | b"table-rows" | b"table-row-group"
                    ) =>
                {
                    self.depth += 1;
                    continue;
                }
                Event::Start(_) => {
                    self.xml.skip_element(None)?;
                    continue;
                }
                Event::End(_) => {
                    if self.depth == 0 {
                        self.done = true;
                    } else {
                        self.depth -= 1;
                    }
                    continue;
                }
                Event::Eof => return Err(self.xml.at.truncated()),
                _ => continue,
            };
            let number = self.next_number;
            cells.clear();
            cells.resize(width, Cell::Empty);
            let (beyond, filled) = self.read_cells(number, cells)?;
            if filled == 0 {
                // Empty rows, however many are declared, are passed over at once.
                self.next_number = self.next_number.saturating_add(repeat);
                continue;
            }
            self.next_number += 1;
            if repeat > 1 {
                let used = cells
                    .iter()
                    .rposition(|c| !c.is_empty())
                    .map_or(0, |i| i + 1);
                self.repeat = Some((cells[..used].to_vec(), beyond, repeat - 1));
            }
            return Ok(Some(SourceRow { number, beyond }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("PT12H30M05S"), Some(45005.0));
        assert_eq!(duration_seconds("PT00H00M00.5S"), Some(0.5));
        assert_eq!(duration_seconds("P1DT2H"), Some(93600.0));
        assert_eq!(duration_seconds("-PT1H"), Some(-3600.0));
        assert_eq!(duration_seconds("12:30"), None);
        assert_eq!(duration_seconds("PT5"), None);
        assert_eq!(duration_seconds("P1Y"), None);
    }
}
