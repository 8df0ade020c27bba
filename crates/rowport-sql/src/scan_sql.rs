//! The parts of an export scan's statement that the three SQL stores share: one `LEFT JOIN`
//! per distinct foreign-key path (so a filter, an order key and a column on
//! `author__name` share one join), conditions, and the page.

use rowport::store::{CompareOp, Condition, Join};
use rowport::Value;

/// The joins of one statement, each path joined once.
pub(crate) struct Joins<'a> {
    quote: fn(&str) -> String,
    qualify: &'a dyn Fn(&str) -> String,
    paths: Vec<(Vec<Join>, String)>,
    /// `LEFT JOIN …` clauses, in the order they must appear.
    pub sql: Vec<String>,
}

impl<'a> Joins<'a> {
    pub fn new(quote: fn(&str) -> String, qualify: &'a dyn Fn(&str) -> String) -> Self {
        Joins {
            quote,
            qualify,
            paths: Vec::new(),
            sql: Vec::new(),
        }
    }

    /// The alias of the table `joins` end at (`t`, the scanned table, for none), joining
    /// what is not joined yet. A left join keeps rows whose key is null: their related
    /// values are null.
    pub fn alias(&mut self, joins: &[Join]) -> String {
        let mut alias = "t".to_owned();
        for n in 1..=joins.len() {
            let prefix = &joins[..n];
            if let Some((_, known)) = self.paths.iter().find(|(p, _)| p == prefix) {
                alias = known.clone();
                continue;
            }
            let join = &joins[n - 1];
            let next = format!("j{}", self.paths.len());
            self.sql.push(format!(
                "LEFT JOIN {} {next} ON {next}.{} = {alias}.{}",
                (self.qualify)(&join.table),
                (self.quote)(&join.key),
                (self.quote)(&join.fk_column)
            ));
            self.paths.push((prefix.to_vec(), next.clone()));
            alias = next;
        }
        alias
    }

    /// `FROM table t LEFT JOIN …`.
    pub fn from(&self, table: &str) -> String {
        format!("FROM {} t {}", (self.qualify)(table), self.sql.join(" "))
    }
}

/// The column a condition is on.
pub(crate) fn condition_column(condition: &Condition) -> &str {
    match condition {
        Condition::Compare { column, .. }
        | Condition::IsNull { column, .. }
        | Condition::In { column, .. } => column,
    }
}

/// A condition on `expr` (an aliased column); `bind` adds a parameter and returns its
/// placeholder.
pub(crate) fn condition_sql(
    expr: &str,
    condition: &Condition,
    bind: &mut dyn FnMut(&Value) -> String,
) -> String {
    match condition {
        Condition::Compare { op, value, .. } => {
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
            };
            format!("{expr} {op} {}", bind(value))
        }
        Condition::IsNull { negated, .. } => {
            format!("{expr} IS {}NULL", if *negated { "NOT " } else { "" })
        }
        Condition::In { values, .. } if values.is_empty() => "1 = 0".to_owned(),
        Condition::In { values, .. } => format!(
            "{expr} IN ({})",
            values.iter().map(&mut *bind).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// ` WHERE a AND b`, or nothing.
pub(crate) fn where_sql(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// ` ORDER BY …`, or nothing.
pub(crate) fn order_sql(keys: &[String]) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", keys.join(", "))
    }
}

/// ` LIMIT … OFFSET …`; `unlimited` is what the dialect writes for "no limit" when only
/// an offset is given (SQLite `-1`, MySQL the largest integer), `None` when it may omit it.
pub(crate) fn page_sql(offset: u64, limit: Option<u64>, unlimited: Option<&str>) -> String {
    let mut sql = String::new();
    match (limit, unlimited) {
        (Some(limit), _) => sql.push_str(&format!(" LIMIT {limit}")),
        (None, Some(all)) if offset > 0 => sql.push_str(&format!(" LIMIT {all}")),
        _ => {}
    }
    if offset > 0 {
        sql.push_str(&format!(" OFFSET {offset}"));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(s: &str) -> String {
        format!("\"{s}\"")
    }

    #[test]
    fn each_path_is_joined_once_and_prefixes_are_shared() {
        let qualify = |t: &str| quote(t);
        let mut joins = Joins::new(quote, &qualify);
        let author = Join {
            fk_column: "author_id".into(),
            table: "author".into(),
            key: "id".into(),
        };
        let publisher = Join {
            fk_column: "publisher_id".into(),
            table: "publisher".into(),
            key: "id".into(),
        };
        assert_eq!(joins.alias(&[]), "t");
        assert_eq!(joins.alias(&[author.clone(), publisher.clone()]), "j1");
        assert_eq!(joins.alias(std::slice::from_ref(&author)), "j0");
        assert_eq!(joins.alias(&[author, publisher]), "j1");
        assert_eq!(
            joins.sql,
            [
                "LEFT JOIN \"author\" j0 ON j0.\"id\" = t.\"author_id\"",
                "LEFT JOIN \"publisher\" j1 ON j1.\"id\" = j0.\"publisher_id\""
            ]
        );
    }

    #[test]
    fn pages_say_what_each_dialect_needs() {
        assert_eq!(page_sql(0, None, Some("-1")), "");
        assert_eq!(page_sql(5, None, Some("-1")), " LIMIT -1 OFFSET 5");
        assert_eq!(page_sql(5, Some(10), None), " LIMIT 10 OFFSET 5");
        assert_eq!(page_sql(5, None, None), " OFFSET 5");
    }
}
