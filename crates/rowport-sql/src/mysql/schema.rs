//! Declared MySQL types to rowport's kinds.

use rowport::ValueKind;

/// The kind of value a column holds, from `information_schema.COLUMNS`' `DATA_TYPE`
/// (`decimal`) and `COLUMN_TYPE` (`decimal(10,2) unsigned`).
pub fn kind_of(data_type: &str, column_type: &str) -> ValueKind {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    match data_type.as_str() {
        // BOOL is TINYINT(1) (MySQL 8 keeps the width for exactly this case).
        "tinyint" if column_type.starts_with("tinyint(1)") => ValueKind::Bool,
        "bit" if column_type == "bit(1)" => ValueKind::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" | "bit" => {
            ValueKind::Int
        }
        "decimal" | "numeric" | "dec" | "fixed" => ValueKind::Decimal,
        "float" | "double" | "real" | "double precision" => ValueKind::Float,
        "date" => ValueKind::Date,
        "time" => ValueKind::Time,
        "datetime" | "timestamp" => ValueKind::DateTime,
        "json" => ValueKind::Json,
        // MariaDB 10.7+.
        "uuid" => ValueKind::Uuid,
        _ => ValueKind::Text,
    }
}

/// The labels of `enum('a','b c','it''s')`, unescaped; `None` for other types.
pub fn enum_choices(column_type: &str) -> Option<Vec<String>> {
    let inner = column_type
        .strip_prefix("enum(")
        .or_else(|| column_type.strip_prefix("ENUM("))?
        .strip_suffix(')')?;
    let mut choices = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        match chars.next() {
            None => break,
            Some('\'') => {
                let mut label = String::new();
                loop {
                    match chars.next() {
                        None => return None,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            label.push('\'');
                        }
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => label.push(c),
                            None => return None,
                        },
                        Some(c) => label.push(c),
                    }
                }
                choices.push(label);
            }
            Some(',' | ' ') => {}
            Some(_) => return None,
        }
    }
    Some(choices)
}

/// The column a MariaDB `json_valid(`col`)` check guards (MariaDB's JSON is LONGTEXT
/// with that check).
pub fn json_check_column(clause: &str) -> Option<&str> {
    clause
        .trim()
        .strip_prefix("json_valid(`")?
        .strip_suffix("`)")
        .filter(|c| !c.contains('`'))
}

/// A CHECK constraint as the other stores report it, `CHECK (expr)`, from
/// `information_schema.CHECK_CONSTRAINTS.CHECK_CLAUSE`, which MySQL wraps in parentheses
/// (`(`qty` >= 0)`) and MariaDB does not (`` `qty` >= 0 ``).
pub fn check_text(clause: &str) -> String {
    let clause = clause.trim();
    let inner = clause
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .filter(|inner| balanced(inner))
        .unwrap_or(clause);
    format!("CHECK ({inner})")
}

/// Whether every parenthesis of `text` outside quotes closes one opened before it.
fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && quote.is_none()
}

/// The placeholder of a value sent for a CHECK evaluation, cast to its column's type where
/// the text it is bound as would otherwise compare as text (`'10.00' < '9.50'`).
pub fn check_cast(
    data_type: &str,
    precision: Option<u64>,
    scale: Option<u64>,
    datetime_precision: Option<u64>,
) -> String {
    let fraction = datetime_precision.unwrap_or(0).min(6);
    match data_type.to_ascii_lowercase().as_str() {
        "decimal" | "numeric" | "dec" | "fixed" => format!(
            "CAST(? AS DECIMAL({}, {}))",
            precision.unwrap_or(10).clamp(1, 65),
            scale.unwrap_or(0).min(30)
        ),
        "date" => "CAST(? AS DATE)".to_owned(),
        "datetime" | "timestamp" => format!("CAST(? AS DATETIME({fraction}))"),
        "time" => format!("CAST(? AS TIME({fraction}))"),
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(kind_of("tinyint", "tinyint(1)"), ValueKind::Bool);
        assert_eq!(kind_of("tinyint", "tinyint(4)"), ValueKind::Int);
        assert_eq!(kind_of("bigint", "bigint(20) unsigned"), ValueKind::Int);
        assert_eq!(kind_of("decimal", "decimal(10,2)"), ValueKind::Decimal);
        assert_eq!(kind_of("double", "double"), ValueKind::Float);
        assert_eq!(kind_of("datetime", "datetime(6)"), ValueKind::DateTime);
        assert_eq!(kind_of("timestamp", "timestamp"), ValueKind::DateTime);
        assert_eq!(kind_of("date", "date"), ValueKind::Date);
        assert_eq!(kind_of("time", "time"), ValueKind::Time);
        assert_eq!(kind_of("json", "json"), ValueKind::Json);
        assert_eq!(kind_of("enum", "enum('a','b')"), ValueKind::Text);
        assert_eq!(kind_of("varchar", "varchar(20)"), ValueKind::Text);
        assert_eq!(kind_of("bit", "bit(1)"), ValueKind::Bool);
        assert_eq!(kind_of("uuid", "uuid"), ValueKind::Uuid);
    }

    #[test]
    fn enum_labels_are_unescaped() {
        assert_eq!(
            enum_choices("enum('a','b c','it''s','x,y')"),
            Some(vec![
                "a".to_owned(),
                "b c".into(),
                "it's".into(),
                "x,y".into()
            ])
        );
        assert_eq!(enum_choices("varchar(10)"), None);
        assert_eq!(json_check_column("json_valid(`doc`)"), Some("doc"));
        assert_eq!(json_check_column("`a` > 0"), None);
    }

    #[test]
    fn check_clauses_read_as_the_other_stores_write_them() {
        assert_eq!(check_text("`qty` >= 0"), "CHECK (`qty` >= 0)");
        assert_eq!(check_text("(`qty` >= 0)"), "CHECK (`qty` >= 0)");
        assert_eq!(
            check_text("(`lo` >= 0) and (`hi` >= 0)"),
            "CHECK ((`lo` >= 0) and (`hi` >= 0))"
        );
        assert_eq!(check_text("(`a` = ')')"), "CHECK (`a` = ')')");
        assert_eq!(
            check_cast("decimal", Some(5), Some(2), None),
            "CAST(? AS DECIMAL(5, 2))"
        );
        assert_eq!(
            check_cast("datetime", None, None, Some(6)),
            "CAST(? AS DATETIME(6))"
        );
        assert_eq!(check_cast("varchar", None, None, None), "?");
    }
}
