//! Column mapping: which file column feeds which field, suggested from name similarity, and a
//! reader that presents the file with the mapped headers.

use std::collections::BTreeMap;

use rowport_formats::{FormatError, InputInfo, Row, RowReader};

/// A name reduced for comparison: lower case, letters and digits only.
fn normal(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Similarity of two names in 0..=1: 1 for the same normalized name, else one minus the
/// edit distance over the longer length, with a bonus when one contains the other.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (normal(a), normal(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let longest = a.chars().count().max(b.chars().count()) as f64;
    let mut score = 1.0 - edit_distance(&a, &b) as f64 / longest;
    if a.contains(&b) || b.contains(&a) {
        score = score.max(0.75);
    }
    score
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// For each file header, the suggested field column (`""`: ignore it): a remembered choice
/// first, then the exact column, then the most similar column not yet taken when it is
/// similar enough (≥ 0.6).
pub fn suggest(
    headers: &[String],
    columns: &[String],
    remembered: Option<&BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    let mut taken: Vec<&str> = Vec::new();
    let mut out: Vec<(String, Option<String>)> =
        headers.iter().map(|h| (h.clone(), None)).collect();
    // Remembered and exact choices first, so similarity never steals their columns.
    for (header, choice) in out.iter_mut() {
        let remembered = remembered
            .and_then(|m| m.get(header.as_str()))
            .filter(|c| c.is_empty() || columns.contains(c));
        if let Some(c) = remembered {
            *choice = Some(c.clone());
            taken.push(columns.iter().find(|k| *k == c).map_or("", String::as_str));
        } else if let Some(c) = columns.iter().find(|c| *c == header) {
            *choice = Some(c.clone());
            taken.push(c);
        }
    }
    for (header, choice) in out.iter_mut() {
        if choice.is_some() {
            continue;
        }
        let best = columns
            .iter()
            .filter(|c| !taken.contains(&c.as_str()))
            .map(|c| (similarity(header, c), c))
            .filter(|(s, _)| *s >= 0.6)
            .max_by(|x, y| x.0.total_cmp(&y.0));
        *choice = Some(match best {
            Some((_, c)) => {
                taken.push(c);
                c.clone()
            }
            None => String::new(),
        });
    }
    out.into_iter()
        .map(|(h, c)| (h, c.unwrap_or_default()))
        .collect()
}

/// A reader whose headers are renamed by a mapping; an ignored column gets a name no field
/// has, so the engine passes it by.
pub struct Renamed<'a> {
    inner: Box<dyn RowReader + 'a>,
    headers: Vec<String>,
}

impl<'a> Renamed<'a> {
    /// Renames `inner`'s headers: file column → field column, `""` to ignore it.
    pub fn new(inner: Box<dyn RowReader + 'a>, mapping: &BTreeMap<String, String>) -> Self {
        let headers = inner
            .headers()
            .iter()
            .enumerate()
            .map(|(i, h)| match mapping.get(h) {
                Some(c) if c.is_empty() => format!("\u{0}ignored {i}"),
                Some(c) => c.clone(),
                None => h.clone(),
            })
            .collect();
        Renamed { inner, headers }
    }
}

impl RowReader for Renamed<'_> {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn source(&self) -> &str {
        self.inner.source()
    }
    fn read_row(&mut self, row: &mut Row) -> Result<bool, FormatError> {
        self.inner.read_row(row)
    }
    fn info(&self) -> InputInfo {
        self.inner.info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn suggestions() {
        let columns = s(&["isbn", "name", "author_email", "published", "price"]);
        let got = suggest(
            &s(&["ISBN", "Title", "Author e-mail", "publish_date", "price"]),
            &columns,
            None,
        );
        assert_eq!(
            got,
            vec![
                ("ISBN".into(), "isbn".into()),
                ("Title".into(), "".into()),
                ("Author e-mail".into(), "author_email".into()),
                ("publish_date".into(), "published".into()),
                ("price".into(), "price".into()),
            ]
        );
        let mut remembered = BTreeMap::new();
        remembered.insert("Title".to_string(), "name".to_string());
        let got = suggest(&s(&["Title"]), &columns, Some(&remembered));
        assert_eq!(got, vec![("Title".into(), "name".into())]);
    }
}
