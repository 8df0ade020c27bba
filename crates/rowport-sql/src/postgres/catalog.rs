//! What the PostgreSQL catalog says about a table: the [`TableSchema`] rowport's engines
//! read, and what the store itself needs to write it (each column's type to cast to, its
//! natural wire type, its sequence).

use std::collections::HashMap;

use postgres::Client;

use rowport::store::{ColumnSchema, TableSchema};
use rowport::ValueKind;

use super::codec::{decodes_natively, natural_wire, Wire, WireType};

/// A table as the store uses it.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    /// What `describe` answers.
    pub schema: TableSchema,
    /// `"schema"."table"`, for statements.
    pub qualified: String,
    /// One per column of `schema.columns`, in the same order.
    pub columns: Vec<ColumnInfo>,
}

/// A column as the store uses it.
#[derive(Debug, Clone)]
pub(crate) struct ColumnInfo {
    pub name: String,
    /// The column's type without its modifier (`character varying`, `book_status`,
    /// `integer[]`): what values are cast to, so that the column's own length or precision
    /// check still applies when they are stored.
    pub cast: String,
    /// The type its values travel as when they fit it.
    pub wire: WireType,
    /// Read as it is; otherwise selected through its text form.
    pub native: bool,
    /// `text`, `varchar`, `char(n)` or `name`: compares with text keys as it is.
    pub text_like: bool,
    /// `varchar(n)`/`char(n)`: n.
    pub max_chars: Option<usize>,
    /// `numeric(p, s)`: p and s.
    pub precision: Option<(u32, u32)>,
    /// `smallint`/`integer`: the largest value.
    pub int_max: Option<i64>,
    /// The sequence behind a serial or identity column (`public.book_id_seq`).
    pub sequence: Option<String>,
    /// The default expression, for reserving generated keys before an insert.
    pub default_expr: Option<String>,
    /// `GENERATED ALWAYS AS IDENTITY`: an insert that gives it needs `OVERRIDING SYSTEM
    /// VALUE`.
    pub identity_always: bool,
}

impl TableInfo {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl ColumnInfo {
    /// How the column is read in a select list: as it is, or as the type's output
    /// function writes it (`192.168.0.1`, where a cast to text would write
    /// `192.168.0.1/32`).
    pub fn select(&self, alias: &str) -> String {
        let column = format!("{alias}.{}", quote(&self.name));
        match (self.native, self.wire.array) {
            (true, _) => column,
            (false, false) => {
                format!("(CASE WHEN {column} IS NULL THEN NULL ELSE format('%s', {column}) END)")
            }
            (false, true) => format!("{column}::text[]"),
        }
    }

    /// The expression compared with a key sent as `wire`: the column itself when the
    /// types compare directly, else its text (an enum looked up by an unknown label then
    /// matches nothing instead of failing).
    pub fn key_expr(&self, alias: &str, wire: WireType) -> String {
        let column = format!("{alias}.{}", quote(&self.name));
        let direct = if self.text_like {
            wire == WireType::scalar(Wire::Text)
        } else {
            wire == self.wire && self.wire.base != Wire::Text
        };
        if direct {
            column
        } else {
            format!("{column}::text")
        }
    }
}

/// A quoted identifier.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `"schema"."table"` for `schema.table`, `"table"` otherwise: what `to_regclass` resolves
/// through the search path.
pub(crate) fn regclass_text(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", quote(schema), quote(name)),
        None => quote(table),
    }
}

/// The tables of the current schema, by name.
pub(crate) fn table_names(client: &mut Client) -> Result<Vec<String>, postgres::Error> {
    let rows = client.query(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         ORDER BY c.relname",
        &[],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The tables of `schema`, each named `schema.table`.
pub(crate) fn tables_in(client: &mut Client, schema: &str) -> Result<Vec<String>, postgres::Error> {
    let rows = client.query(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
        &[&schema],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The table `name` (`book` through the search path, or `schema.book`), or `None`.
pub(crate) fn describe(
    client: &mut Client,
    name: &str,
) -> Result<Option<TableInfo>, postgres::Error> {
    let Some(found) = client.query_opt(
        "SELECT c.oid, n.nspname::text, c.relname::text, current_schema()::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        &[&regclass_text(name)],
    )?
    else {
        return Ok(None);
    };
    let oid: u32 = found.get(0);
    let namespace: String = found.get(1);
    let relname: String = found.get(2);
    let current: Option<String> = found.get(3);
    let qualified = format!("{}.{}", quote(&namespace), quote(&relname));

    let rows = client.query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), \
                a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                bt.typname::text, bt.typtype::text, bt.oid, et.typname::text, et.typtype::text, et.oid, \
                CASE WHEN bt.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END, \
                CASE WHEN bt.typname = 'numeric' AND a.atttypmod > 4 \
                     THEN ARRAY[((a.atttypmod - 4) >> 16) & 65535, (a.atttypmod - 4) & 65535] END, \
                pg_get_serial_sequence($2, a.attname) \
         FROM pg_attribute a \
         JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
         LEFT JOIN pg_type et ON bt.typcategory = 'A' AND et.oid = bt.typelem \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&oid, &qualified],
    )?;

    // Enum labels, for every enum among the columns' types and array items.
    let mut enum_oids: Vec<u32> = Vec::new();
    for row in &rows {
        if row.get::<_, String>(8) == "e" {
            enum_oids.push(row.get(9));
        }
        if row.get::<_, Option<String>>(11).as_deref() == Some("e") {
            enum_oids.push(row.get(12));
        }
    }
    let mut labels: HashMap<u32, Vec<String>> = HashMap::new();
    if !enum_oids.is_empty() {
        for row in client.query(
            "SELECT enumtypid, enumlabel::text FROM pg_enum WHERE enumtypid = ANY($1) \
             ORDER BY enumtypid, enumsortorder",
            &[&enum_oids],
        )? {
            labels.entry(row.get(0)).or_default().push(row.get(1));
        }
    }

    let mut schema_columns = Vec::with_capacity(rows.len());
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let name: String = row.get(0);
        let declared: String = row.get(1);
        let cast: String = row.get(2);
        let not_null: bool = row.get(3);
        let default_expr: Option<String> = row.get(4);
        let identity: String = row.get(5);
        let generated: String = row.get(6);
        let base_name: String = row.get(7);
        let base_typtype: String = row.get(8);
        let base_oid: u32 = row.get(9);
        let item_name: Option<String> = row.get(10);
        let item_typtype: Option<String> = row.get(11);
        let item_oid: Option<u32> = row.get(12);
        let max_chars: Option<i32> = row.get(13);
        let precision: Option<Vec<i32>> = row.get(14);
        let sequence: Option<String> = row.get(15);

        let (kind, with_time_zone, choices, native) = type_kind(&base_name, &base_typtype)
            .map(|(kind, tz)| {
                let choices = (base_typtype == "e")
                    .then(|| labels.get(&base_oid).cloned())
                    .flatten();
                (kind, tz, choices, true)
            })
            .unwrap_or((ValueKind::Text, false, None, false));
        let item = match (&item_name, &item_typtype) {
            (Some(n), Some(t)) => Some(type_kind(n, t)),
            _ => None,
        };
        let (kind, array_of, native, wire) = match item {
            Some(item) => {
                let (item_kind, item_tz) = item.unwrap_or((ValueKind::Text, false));
                let jsonb = item_name.as_deref() == Some("jsonb");
                (
                    ValueKind::List,
                    Some(item_kind),
                    item.is_some(),
                    WireType {
                        base: natural_wire(item_kind, item_tz, jsonb),
                        array: true,
                    },
                )
            }
            None => (
                kind,
                None,
                native,
                WireType::scalar(natural_wire(kind, with_time_zone, base_name == "jsonb")),
            ),
        };
        // An enum array's labels are also its items' choices.
        let choices = choices.or_else(|| {
            (item_typtype.as_deref() == Some("e"))
                .then(|| item_oid.and_then(|o| labels.get(&o).cloned()))
                .flatten()
        });
        let has_default = default_expr.is_some() || !identity.is_empty() || !generated.is_empty();
        let default_sql = default_expr.clone().or_else(|| {
            (!identity.is_empty()).then(|| {
                if identity == "a" {
                    "GENERATED ALWAYS AS IDENTITY".to_owned()
                } else {
                    "GENERATED BY DEFAULT AS IDENTITY".to_owned()
                }
            })
        });
        schema_columns.push(ColumnSchema {
            nullable: !not_null,
            has_default,
            default_sql,
            choices: if array_of.is_some() { None } else { choices },
            array_of,
            with_time_zone: with_time_zone && array_of.is_none(),
            ..ColumnSchema::new(&name, &declared, kind)
        });
        let default_for_keys = match (&sequence, &default_expr) {
            (Some(seq), _) if !identity.is_empty() => {
                Some(format!("nextval('{}'::regclass)", seq.replace('\'', "''")))
            }
            (_, Some(expr)) => Some(expr.clone()),
            _ => None,
        };
        columns.push(ColumnInfo {
            name,
            cast,
            wire,
            native,
            text_like: matches!(base_name.as_str(), "text" | "varchar" | "bpchar" | "name")
                && item_name.is_none(),
            max_chars: max_chars.and_then(|n| usize::try_from(n).ok()),
            precision: precision.and_then(|p| match p.as_slice() {
                [p, s] => Some((u32::try_from(*p).ok()?, u32::try_from(*s).ok()?)),
                _ => None,
            }),
            int_max: match base_name.as_str() {
                "int2" => Some(i64::from(i16::MAX)),
                "int4" => Some(i64::from(i32::MAX)),
                _ => None,
            },
            sequence,
            default_expr: default_for_keys,
            identity_always: identity == "a",
        });
    }

    // The primary key and the unique constraints (plain column lists only).
    let mut unique: Vec<Vec<String>> = Vec::new();
    for row in client.query(
        "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) \
         FROM pg_index i \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL \
           AND k.ord <= i.indnkeyatts AND NOT (0 = ANY(i.indkey::int2[])) \
         GROUP BY i.indexrelid, i.indisprimary, ic.relname \
         ORDER BY i.indisprimary DESC, ic.relname",
        &[&oid],
    )? {
        let primary: bool = row.get(0);
        let names: Vec<String> = row.get(1);
        if primary {
            for c in schema_columns.iter_mut() {
                if names.contains(&c.name) {
                    c.primary_key = true;
                    c.nullable = false;
                }
            }
        }
        unique.push(names);
    }

    // Single-column foreign keys.
    for row in client.query(
        "SELECT a.attname::text, fn.nspname::text, fc.relname::text, fa.attname::text \
         FROM pg_constraint co \
         JOIN pg_class fc ON fc.oid = co.confrelid \
         JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
         JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] \
         JOIN pg_attribute fa ON fa.attrelid = co.confrelid AND fa.attnum = co.confkey[1] \
         WHERE co.conrelid = $1 AND co.contype = 'f' AND cardinality(co.conkey) = 1 \
         ORDER BY co.conname",
        &[&oid],
    )? {
        let column: String = row.get(0);
        let target_schema: String = row.get(1);
        let target: String = row.get(2);
        let key: String = row.get(3);
        let target = if current.as_deref() == Some(target_schema.as_str()) {
            target
        } else {
            format!("{target_schema}.{target}")
        };
        if let Some(c) = schema_columns.iter_mut().find(|c| c.name == column) {
            if c.foreign_key.is_none() {
                c.foreign_key = Some((target, key));
            }
        }
    }

    Ok(Some(TableInfo {
        schema: TableSchema {
            name: name.to_owned(),
            columns: schema_columns,
            unique,
        },
        qualified,
        columns,
    }))
}

/// The kind of a type by its name, and whether it holds instants; `None` for a type read
/// as text.
fn type_kind(name: &str, typtype: &str) -> Option<(ValueKind, bool)> {
    if typtype == "e" {
        return Some((ValueKind::Text, false));
    }
    if !decodes_natively(name) {
        return None;
    }
    Some(match name {
        "int2" | "int4" | "int8" | "oid" => (ValueKind::Int, false),
        "numeric" => (ValueKind::Decimal, false),
        "float4" | "float8" => (ValueKind::Float, false),
        "bool" => (ValueKind::Bool, false),
        "date" => (ValueKind::Date, false),
        "time" => (ValueKind::Time, false),
        "timestamp" => (ValueKind::DateTime, false),
        "timestamptz" => (ValueKind::DateTime, true),
        "interval" => (ValueKind::Duration, false),
        "uuid" => (ValueKind::Uuid, false),
        "json" | "jsonb" => (ValueKind::Json, false),
        _ => (ValueKind::Text, false),
    })
}
