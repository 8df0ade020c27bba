//! XLSX and XLSM: the workbook's directory parts are read first (relationships, sheet
//! list, styles, shared strings), then the chosen sheet's XML is streamed row by row.

use std::collections::HashMap;
use std::fs::File;

use quick_xml::events::{BytesStart, Event};

use super::strings::{unescape_ooxml, SharedStrings};
use super::xml::{Place, XmlPart};
use super::zipped::{malformed, Archive};
use super::{
    choose_sheet, column_name, iso_cell, serial_cell, too_many_cells, Limits, SheetSource, Shown,
    SourceRow, MAX_COLUMNS,
};
use crate::{Cell, FormatError, SheetRef};

/// The chosen sheet of an XLSX workbook, read a row at a time.
pub(crate) struct XlsxSheet {
    xml: XmlPart,
    name: String,
    strings: SharedStrings,
    /// What each cell style (`s="…"`) shows its number as.
    styles: Vec<Shown>,
    date_1904: bool,
    limits: Limits,
    /// Inside `<sheetData>`.
    in_data: bool,
    done: bool,
    last_row: u64,
    cells_seen: u64,
    /// Buffers reused from cell to cell.
    value: String,
    inline: String,
}

pub(crate) fn open(
    file: File,
    source: &str,
    wanted: Option<&SheetRef>,
    limits: Limits,
) -> Result<XlsxSheet, FormatError> {
    let mut archive = Archive::open(file, source, limits, "XLSX")?;
    let workbook_path = read_relationships(&mut archive, "_rels/.rels", "")?
        .into_values()
        .find(|rel| rel.kind.ends_with("/officeDocument"))
        .map(|rel| rel.target)
        .unwrap_or_else(|| "xl/workbook.xml".to_owned());
    let workbook = read_workbook(&mut archive, &workbook_path)?;
    let (dir, file_name) = match workbook_path.rsplit_once('/') {
        Some((dir, name)) => (dir.to_owned(), name.to_owned()),
        None => (String::new(), workbook_path.clone()),
    };
    let rels_path = if dir.is_empty() {
        format!("_rels/{file_name}.rels")
    } else {
        format!("{dir}/_rels/{file_name}.rels")
    };
    let rels = read_relationships(&mut archive, &rels_path, &dir)?;
    let part_of = |suffix: &str, default: &str| {
        rels.values()
            .find(|rel| rel.kind.ends_with(suffix))
            .map(|rel| rel.target.clone())
            .unwrap_or_else(|| join(&dir, default))
    };
    let styles = read_styles(&mut archive, &part_of("/styles", "styles.xml"))?;
    let strings = read_shared_strings(
        &mut archive,
        &part_of("/sharedStrings", "sharedStrings.xml"),
    )?;

    let names: Vec<String> = workbook.sheets.iter().map(|s| s.name.clone()).collect();
    let chosen = &workbook.sheets[choose_sheet(&names, wanted, workbook.active, source)?];
    let rel = rels.get(&chosen.rel).ok_or_else(|| {
        malformed(
            source,
            format!(
                "has no part for sheet \"{}\" ({rels_path} does not list it)",
                chosen.name
            ),
        )
    })?;
    if !rel.kind.ends_with("/worksheet") {
        return Err(malformed(
            source,
            format!(
                "has no rows in sheet \"{}\": it is a chart or a dialog, not a worksheet",
                chosen.name
            ),
        ));
    }
    let member = archive.member(&rel.target)?.ok_or_else(|| {
        malformed(
            source,
            format!(
                "lacks {}, the part of sheet \"{}\"",
                rel.target, chosen.name
            ),
        )
    })?;
    Ok(XlsxSheet {
        xml: XmlPart::new(member, source, limits),
        name: chosen.name.clone(),
        strings,
        styles,
        date_1904: workbook.date_1904,
        limits,
        in_data: false,
        done: false,
        last_row: 0,
        cells_seen: 0,
        value: String::new(),
        inline: String::new(),
    })
}

/// A relationship: the part another part refers to.
struct Relationship {
    kind: String,
    /// The target's path in the archive.
    target: String,
}

/// A `.rels` part: relationship id → relationship, targets resolved against `dir`. A
/// missing part has none.
fn read_relationships(
    archive: &mut Archive,
    path: &str,
    dir: &str,
) -> Result<HashMap<String, Relationship>, FormatError> {
    let mut rels = HashMap::new();
    let Some(member) = archive.member(path)? else {
        return Ok(rels);
    };
    let mut xml = XmlPart::new(member, archive.source(), *archive.limits());
    xml.each_tag(|at, tag| {
        if tag.local_name().as_ref() != b"Relationship" {
            return Ok(());
        }
        let external = at.attribute(tag, b"TargetMode", None)?.as_deref() == Some("External");
        if let (Some(id), Some(kind), Some(target), false) = (
            at.attribute(tag, b"Id", None)?,
            at.attribute(tag, b"Type", None)?,
            at.attribute(tag, b"Target", None)?,
            external,
        ) {
            let target = join(dir, &target);
            rels.insert(id, Relationship { kind, target });
        }
        Ok(())
    })?;
    Ok(rels)
}

/// `target` resolved against the folder `dir`: `worksheets/sheet1.xml` in `xl` is
/// `xl/worksheets/sheet1.xml`; `/xl/x.xml` is absolute; `..` climbs.
fn join(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let base = if target.starts_with('/') { "" } else { dir };
    for piece in base.split('/').chain(target.split('/')) {
        match piece {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

struct SheetEntry {
    name: String,
    rel: String,
}

struct Workbook {
    sheets: Vec<SheetEntry>,
    active: Option<usize>,
    date_1904: bool,
}

fn read_workbook(archive: &mut Archive, path: &str) -> Result<Workbook, FormatError> {
    let member = archive.member(path)?.ok_or_else(|| {
        malformed(
            archive.source(),
            format!("is not an XLSX workbook (it has no {path})"),
        )
    })?;
    let mut workbook = Workbook {
        sheets: Vec::new(),
        active: None,
        date_1904: false,
    };
    let mut xml = XmlPart::new(member, archive.source(), *archive.limits());
    xml.each_tag(|at, tag| {
        match tag.local_name().as_ref() {
            b"sheet" => {
                if let (Some(name), Some(rel)) = (
                    at.attribute(tag, b"name", None)?,
                    at.attribute(tag, b"id", None)?,
                ) {
                    workbook.sheets.push(SheetEntry { name, rel });
                }
            }
            b"workbookPr" => {
                let flag = at.attribute(tag, b"date1904", None)?;
                workbook.date_1904 = matches!(flag.as_deref(), Some("1" | "true"));
            }
            b"workbookView" if workbook.active.is_none() => {
                workbook.active = at
                    .attribute(tag, b"activeTab", None)?
                    .and_then(|tab| tab.parse().ok());
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(workbook)
}

/// What each cell style shows its numbers as, by style index.
fn read_styles(archive: &mut Archive, path: &str) -> Result<Vec<Shown>, FormatError> {
    let Some(member) = archive.member(path)? else {
        return Ok(Vec::new());
    };
    let mut xml = XmlPart::new(member, archive.source(), *archive.limits());
    let mut custom: HashMap<u32, Shown> = HashMap::new();
    let mut cell_formats: Vec<u32> = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        let event = xml.tokens.next(&xml.at, None)?;
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let empty = matches!(event, Event::Empty(_));
                match tag.local_name().as_ref() {
                    b"numFmt" => {
                        let id = xml.at.attribute(tag, b"numFmtId", None)?;
                        let code = xml.at.attribute(tag, b"formatCode", None)?;
                        if let (Some(id), Some(code)) = (id.and_then(|i| i.parse().ok()), code) {
                            custom.insert(id, classify_format(&code));
                        }
                    }
                    b"cellXfs" if !empty => in_cell_xfs = true,
                    b"xf" if in_cell_xfs => {
                        let id = xml.at.attribute(tag, b"numFmtId", None)?;
                        cell_formats.push(id.and_then(|i| i.parse().ok()).unwrap_or(0));
                    }
                    _ => {}
                }
            }
            Event::End(ref tag) if tag.local_name().as_ref() == b"cellXfs" => in_cell_xfs = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cell_formats
        .into_iter()
        .map(|id| {
            custom
                .get(&id)
                .copied()
                .unwrap_or_else(|| builtin_format(id))
        })
        .collect())
}

/// What Excel's built-in number formats show (ECMA-376, 18.8.30; 27–36 and 50–58 are the
/// East Asian date formats).
fn builtin_format(id: u32) -> Shown {
    match id {
        14..=17 | 27..=31 | 34..=36 | 50..=58 => Shown::Date,
        18..=21 | 32 | 33 | 45 | 47 => Shown::Time,
        22 => Shown::DateTime,
        _ => Shown::Number,
    }
}

/// What a custom number format code shows: a date if it has year or day parts (or only
/// months), a time if it has hours, seconds or AM/PM, both if both. Quoted text, escaped
/// characters and bracketed colours or locales are not parts; elapsed-time formats
/// (`[h]:mm`) show durations, which are numbers.
pub(crate) fn classify_format(code: &str) -> Shown {
    let section = first_section(code);
    let mut plain = String::new();
    let mut chars = section.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                }
            }
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let mut inner = String::new();
                for b in chars.by_ref() {
                    if b == ']' {
                        break;
                    }
                    inner.push(b);
                }
                let inner = inner.to_ascii_lowercase();
                if !inner.is_empty() && inner.chars().all(|c| matches!(c, 'h' | 'm' | 's')) {
                    return Shown::Number;
                }
            }
            other => plain.push(other.to_ascii_lowercase()),
        }
    }
    if plain.contains("general") {
        return Shown::Number;
    }
    let has = |c: char| plain.contains(c);
    let time = has('h') || has('s') || plain.contains("am/pm") || plain.contains("a/p");
    let date = has('y') || has('d') || (has('m') && !time);
    match (date, time) {
        (true, true) => Shown::DateTime,
        (true, false) => Shown::Date,
        (false, true) => Shown::Time,
        (false, false) => Shown::Number,
    }
}

/// The part of a format code before its first unquoted `;` (the positive numbers').
fn first_section(code: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in code.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return &code[..i],
            _ => {}
        }
    }
    code
}

fn read_shared_strings(archive: &mut Archive, path: &str) -> Result<SharedStrings, FormatError> {
    let mut strings = SharedStrings::default();
    let Some(member) = archive.member(path)? else {
        return Ok(strings);
    };
    let mut xml = XmlPart::new(member, archive.source(), *archive.limits());
    let mut text = String::new();
    loop {
        match xml.next(None)? {
            Event::Start(tag) if tag.local_name().as_ref() == b"si" => {
                text.clear();
                string_item(&mut xml, &mut text, None)?;
                strings.push(&text).map_err(|e| archive.error(e, None))?;
            }
            Event::Empty(tag) if tag.local_name().as_ref() == b"si" => {
                strings.push("").map_err(|e| archive.error(e, None))?;
            }
            Event::Eof => return Ok(strings),
            _ => {}
        }
    }
}

/// The text of a string item (`<si>` or `<is>`) whose start was just read: its `<t>`
/// elements, plain or in rich-text runs, without phonetic guides (`<rPh>`).
fn string_item(xml: &mut XmlPart, out: &mut String, row: Option<u64>) -> Result<(), FormatError> {
    let mut depth = 1usize;
    let mut in_text = false;
    loop {
        let event = xml.tokens.next(&xml.at, row)?;
        match &event {
            Event::Start(tag) => {
                let name = tag.local_name();
                if name.as_ref() == b"rPh" {
                    xml.skip_element(row)?;
                } else {
                    in_text = name.as_ref() == b"t";
                    depth += 1;
                }
            }
            Event::End(_) => {
                in_text = false;
                depth -= 1;
                if depth == 0 {
                    unescape_ooxml(out);
                    return Ok(());
                }
            }
            Event::Eof => return Err(xml.at.truncated()),
            other if in_text => {
                xml.at.push_text(other, out, row)?;
            }
            _ => {}
        }
    }
}

/// The children of a `<c>` that matter.
enum Child {
    Value,
    Inline,
    Other,
}

fn child_of(name: &[u8]) -> Child {
    match name {
        b"v" => Child::Value,
        b"is" => Child::Inline,
        _ => Child::Other,
    }
}

/// A cell's attributes, read without allocating.
#[derive(Default)]
struct CellTag {
    column: Option<usize>,
    kind: CellKind,
    style: usize,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    #[default]
    Number,
    Shared,
    Inline,
    FormulaText,
    Bool,
    Error,
    Iso,
}

/// A `<c>` tag's attributes: where the cell is, its type and its style.
fn cell_tag(at: &Place, tag: &BytesStart<'_>, row: u64) -> Result<CellTag, FormatError> {
    let mut cell = CellTag::default();
    for attr in tag.attributes() {
        let attr =
            attr.map_err(|e| at.bad(Some(row), format!("has a malformed attribute ({e})")))?;
        match attr.key.local_name().as_ref() {
            b"r" => cell.column = Some(column_of(&attr.value, at, row)?),
            b"t" => {
                cell.kind = match &*attr.value {
                    b"s" => CellKind::Shared,
                    b"inlineStr" => CellKind::Inline,
                    b"str" => CellKind::FormulaText,
                    b"b" => CellKind::Bool,
                    b"e" => CellKind::Error,
                    b"d" => CellKind::Iso,
                    _ => CellKind::Number,
                }
            }
            b"s" => {
                cell.style = std::str::from_utf8(&attr.value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    Ok(cell)
}

impl XlsxSheet {
    /// Reads the children of a `<c>` whose start was just read: the value (`<v>`) and the
    /// inline string (`<is>`); formulas (`<f>`) and the rest are skipped.
    fn cell_content(&mut self, row: u64) -> Result<(), FormatError> {
        let at = Some(row);
        loop {
            let event = self.xml.tokens.next(&self.xml.at, at)?;
            let child = match &event {
                Event::Start(tag) => child_of(tag.local_name().as_ref()),
                Event::End(_) => return Ok(()),
                Event::Eof => return Err(self.xml.at.truncated()),
                _ => continue,
            };
            match child {
                Child::Value => self.xml.element_text(&mut self.value, &[], at)?,
                Child::Inline => string_item(&mut self.xml, &mut self.inline, at)?,
                Child::Other => self.xml.skip_element(at)?,
            }
        }
    }

    /// The cell a `<c>` stands for, from its attributes and the text read into `value` and
    /// `inline`.
    fn cell_value(&mut self, tag: &CellTag, row: u64, column: usize) -> Result<Cell, FormatError> {
        let text = |s: &str| {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s.to_owned())
            }
        };
        let bad = |what: String| {
            self.xml.at.bad(
                Some(row),
                format!("the cell {}{row} {what}", column_name(column)),
            )
        };
        Ok(match tag.kind {
            CellKind::Inline => text(&self.inline),
            _ if self.value.is_empty() => Cell::Empty,
            CellKind::Number => {
                let x: f64 =
                    self.value.trim().parse().map_err(|_| {
                        bad(format!("holds \"{}\", which is not a number", self.value))
                    })?;
                let shown = self.styles.get(tag.style).copied().unwrap_or(Shown::Number);
                serial_cell(x, shown, self.date_1904)
            }
            CellKind::Shared => {
                let index: usize = self.value.trim().parse().map_err(|_| {
                    bad(format!(
                        "refers to the shared text \"{}\", which is not a number",
                        self.value
                    ))
                })?;
                let count = self.strings.len();
                match self.strings.get(index) {
                    Ok(Some(s)) => text(s),
                    Ok(None) => {
                        return Err(bad(format!(
                            "refers to shared text {index}, but the workbook has {count}"
                        )))
                    }
                    Err(e) => {
                        return Err(FormatError::Io {
                            source_name: self.xml.at.source.clone(),
                            error: e,
                        })
                    }
                }
            }
            CellKind::FormulaText => text(&self.value),
            CellKind::Error => text(&self.value),
            CellKind::Bool => match self.value.trim() {
                "1" | "true" => Cell::Bool(true),
                "0" | "false" => Cell::Bool(false),
                other => return Err(bad(format!("holds \"{other}\", which is not a boolean"))),
            },
            CellKind::Iso => iso_cell(&self.value).unwrap_or_else(|| text(&self.value)),
        })
    }

    /// Reads the cells of a `<row>` whose start was just read.
    fn read_cells(
        &mut self,
        number: u64,
        cells: &mut [Cell],
    ) -> Result<Option<usize>, FormatError> {
        let mut next_column = 0usize;
        let mut beyond = None;
        loop {
            let event = self.xml.tokens.next(&self.xml.at, Some(number))?;
            let (tag, has_content) = match &event {
                Event::Start(tag) if tag.local_name().as_ref() == b"c" => (tag.borrow(), true),
                Event::Empty(tag) if tag.local_name().as_ref() == b"c" => (tag.borrow(), false),
                Event::Start(_) => {
                    self.xml.skip_element(Some(number))?;
                    continue;
                }
                Event::End(_) => return Ok(beyond),
                Event::Eof => return Err(self.xml.at.truncated()),
                _ => continue,
            };
            let tag = cell_tag(&self.xml.at, &tag, number)?;
            self.cells_seen += 1;
            if self.cells_seen > self.limits.max_cells {
                return Err(too_many_cells(
                    &self.xml.at.source,
                    &self.name,
                    &self.limits,
                ));
            }
            let column = tag.column.unwrap_or(next_column);
            next_column = column + 1;
            self.value.clear();
            self.inline.clear();
            if has_content {
                self.cell_content(number)?;
            }
            let cell = self.cell_value(&tag, number, column)?;
            if cell.is_empty() {
                continue;
            }
            match cells.get_mut(column) {
                Some(slot) => *slot = cell,
                None => beyond = beyond.max(Some(column)),
            }
        }
    }
}

/// The 0-based column of a cell reference such as `AB12`.
fn column_of(reference: &[u8], at: &Place, row: u64) -> Result<usize, FormatError> {
    let mut column = 0usize;
    let mut letters = 0;
    for &b in reference.iter().take_while(|b| b.is_ascii_alphabetic()) {
        letters += 1;
        column = column * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1);
        if letters > 3 {
            break;
        }
    }
    if letters == 0 || column > MAX_COLUMNS {
        return Err(at.bad(
            Some(row),
            format!(
                "has a cell at {}, which is not a cell of a worksheet (they end at column XFD)",
                String::from_utf8_lossy(reference)
            ),
        ));
    }
    Ok(column - 1)
}

impl SheetSource for XlsxSheet {
    fn next_row(
        &mut self,
        cells: &mut Vec<Cell>,
        width: usize,
    ) -> Result<Option<SourceRow>, FormatError> {
        while !self.done {
            let event = self.xml.tokens.next(&self.xml.at, None)?;
            match &event {
                Event::Start(tag) if tag.local_name().as_ref() == b"sheetData" => {
                    self.in_data = true;
                }
                Event::Empty(tag) if tag.local_name().as_ref() == b"sheetData" => {
                    self.done = true;
                }
                Event::End(tag) if tag.local_name().as_ref() == b"sheetData" => self.done = true,
                Event::Start(tag) if self.in_data && tag.local_name().as_ref() == b"row" => {
                    let number = row_number(&self.xml.at, tag, self.last_row)?;
                    self.last_row = number;
                    cells.clear();
                    cells.resize(width, Cell::Empty);
                    let beyond = self.read_cells(number, cells)?;
                    return Ok(Some(SourceRow { number, beyond }));
                }
                Event::Empty(tag) if self.in_data && tag.local_name().as_ref() == b"row" => {
                    self.last_row = row_number(&self.xml.at, tag, self.last_row)?;
                }
                Event::Eof => {
                    if self.in_data {
                        return Err(self.xml.at.truncated());
                    }
                    self.done = true;
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

/// A row's number: its `r` attribute, else the one after the previous row's.
fn row_number(at: &Place, tag: &BytesStart<'_>, previous: u64) -> Result<u64, FormatError> {
    match at.attribute(tag, b"r", Some(previous + 1))? {
        None => Ok(previous + 1),
        Some(r) => r
            .trim()
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| at.bad(Some(previous + 1), format!("has a row numbered \"{r}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        let cases = [
            ("General", Shown::Number),
            ("0.00", Shown::Number),
            ("#,##0.00 \"days\"", Shown::Number),
            ("0.00E+00", Shown::Number),
            ("[Red]0.00;[Blue]-0.00", Shown::Number),
            ("[h]:mm:ss", Shown::Number),
            ("yyyy-mm-dd", Shown::Date),
            ("dd/mm/yyyy;@", Shown::Date),
            ("[$-409]mmmm d, yyyy", Shown::Date),
            ("mmm", Shown::Date),
            ("hh:mm", Shown::Time),
            ("h:mm AM/PM", Shown::Time),
            ("mm:ss.0", Shown::Time),
            ("yyyy-mm-dd hh:mm:ss", Shown::DateTime),
            ("d\\-m\\-yy h:mm", Shown::DateTime),
            ("\"year\" 0", Shown::Number),
        ];
        for (code, shown) in cases {
            assert_eq!(classify_format(code), shown, "{code}");
        }
        assert_eq!(builtin_format(14), Shown::Date);
        assert_eq!(builtin_format(22), Shown::DateTime);
        assert_eq!(builtin_format(21), Shown::Time);
        assert_eq!(builtin_format(46), Shown::Number);
        assert_eq!(builtin_format(2), Shown::Number);
    }

    #[test]
    fn part_paths() {
        assert_eq!(
            join("xl", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            join("xl", "/xl/worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            join("xl/worksheets", "../sharedStrings.xml"),
            "xl/sharedStrings.xml"
        );
        assert_eq!(join("", "xl/workbook.xml"), "xl/workbook.xml");
    }
}
