//! `#[derive(rowport::Resource)]` and typed rows: the derived resource, files read into
//! `Vec<T>` with every error reported by file, row and column, `&[T]` written out, and a
//! round trip through a real SQLite database.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rowport::formats::{open_reader, open_writer, Format, ReadOptions, WriteOptions};
use rowport::typed::Model;
use rowport::widgets::DateWidget;
use rowport::{
    Context, ExportOptions, HookError, Hooks, ImportError, ImportOptions, Record, RowData, Store,
    Typed, Value, ValueKind,
};
use rowport_sql::SqliteStore;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, rowport::Resource)]
#[rowport(table = "library_book", import_id = "isbn")]
struct Book {
    id: Option<i64>,
    isbn: String,
    #[rowport(column_name = "Title")]
    title: String,
    price: Option<Decimal>,
    published: Option<NaiveDate>,
    pages: u16,
    in_stock: bool,
    rating: f64,
    tags: Vec<String>,
    updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Default, rowport::Resource)]
struct Shift {
    id: i64,
    starts: NaiveTime,
    day: NaiveDateTime,
    #[rowport(readonly)]
    hours_worked: i32,
    #[rowport(skip)]
    scratch: String,
    #[rowport(default = 8)]
    planned: u8,
    #[rowport(widget = DateWidget::new(vec!["%d.%m.%Y".into()]), column_name = "Paid on")]
    paid: Option<NaiveDate>,
}

fn reader(format: Format, text: &str, name: &str) -> Box<dyn rowport::formats::RowReader> {
    open_reader(
        format,
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        name,
        &ReadOptions::default(),
    )
    .unwrap()
}

fn read_csv<T: Model>(csv: &str) -> Result<Typed<T>, ImportError> {
    rowport::read_all::<T>(reader(Format::Csv, csv, "books.csv").as_mut())
}

fn errors(result: &rowport::ImportResult) -> Vec<String> {
    result
        .errors
        .iter()
        .map(|e| e.describe("books.csv"))
        .collect()
}

fn csv_of<T: Model>(rows: &[T]) -> String {
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    rowport::write_all(rows, writer).unwrap();
    String::from_utf8(out).unwrap()
}

fn dune() -> Book {
    Book {
        id: Some(1),
        isbn: "978-0441013593".into(),
        title: "Dune".into(),
        price: Some(Decimal::new(999, 2)),
        published: NaiveDate::from_ymd_opt(1965, 8, 1),
        pages: 412,
        in_stock: true,
        rating: 4.5,
        tags: vec!["sf".into(), "classic".into()],
        updated: Some(
            NaiveDate::from_ymd_opt(2024, 3, 1)
                .unwrap()
                .and_hms_opt(9, 30, 0)
                .unwrap()
                .and_utc(),
        ),
    }
}

#[test]
fn derive_container_attributes_set_table_name_and_import_id() {
    let book = Book::resource().unwrap();
    assert_eq!(book.name, "library_book");
    assert_eq!(book.table, "library_book");
    assert_eq!(book.primary_key, "id");
    assert_eq!(book.import_id_fields(), ["isbn"]);
    // Without a table attribute, the struct's name in snake_case; the key field is the id.
    let shift = Shift::resource().unwrap();
    assert_eq!(
        (shift.table.as_str(), shift.name.as_str()),
        ("shift", "shift")
    );
    assert_eq!(shift.import_id_fields(), ["id"]);
}

#[test]
fn derive_maps_rust_types_to_widget_kinds() {
    let book = Book::resource().unwrap();
    let kinds: Vec<(&str, ValueKind)> = book
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.widget.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("id", ValueKind::Int),
            ("isbn", ValueKind::Text),
            ("title", ValueKind::Text),
            ("price", ValueKind::Decimal),
            ("published", ValueKind::Date),
            ("pages", ValueKind::Int),
            ("in_stock", ValueKind::Bool),
            ("rating", ValueKind::Float),
            ("tags", ValueKind::List),
            ("updated", ValueKind::DateTime),
        ]
    );
    let shift = Shift::resource().unwrap();
    assert_eq!(
        shift.field("starts").unwrap().widget.kind(),
        ValueKind::Time
    );
    assert_eq!(
        shift.field("day").unwrap().widget.kind(),
        ValueKind::DateTime
    );
}

#[test]
fn derive_field_attributes_column_name_widget_readonly_skip_default() {
    let shift = Shift::resource().unwrap();
    let names: Vec<&str> = shift.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["id", "starts", "day", "hours_worked", "planned", "paid"]
    );
    assert!(shift.field("hours_worked").unwrap().readonly);
    assert!(!shift.field("planned").unwrap().readonly);
    assert_eq!(shift.field("planned").unwrap().default, Some(Value::Int(8)));
    assert_eq!(shift.field("paid").unwrap().column_name, "Paid on");
    assert_eq!(
        Shift::ATTRIBUTES,
        ["id", "starts", "day", "hours_worked", "planned", "paid"]
    );

    let csv = "id,starts,day,hours_worked,planned,Paid on\n\
               5,08:00:00,2024-05-02 08:00:00,99,,03.05.2024\n";
    let shifts = read_csv::<Shift>(csv).unwrap();
    assert_eq!(errors(&shifts.result), Vec::<String>::new());
    assert_eq!(
        shifts.rows,
        [Shift {
            id: 5,
            starts: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            day: NaiveDate::from_ymd_opt(2024, 5, 2)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap(),
            // Read-only: never imported, so the type's default.
            hours_worked: 0,
            scratch: String::new(),
            planned: 8,
            paid: NaiveDate::from_ymd_opt(2024, 5, 3),
        }]
    );
    // Exported: read-only fields included, skipped ones absent, the custom widget's format.
    let out = csv_of(&[Shift {
        hours_worked: 7,
        scratch: "never written".into(),
        ..shifts.rows[0].clone()
    }]);
    assert_eq!(
        out,
        "id,starts,day,hours_worked,planned,Paid on\n5,08:00:00,2024-05-02 08:00:00,7,8,03.05.2024\n"
    );
}

#[test]
fn read_all_returns_rows_in_file_order_with_every_type() {
    let csv = "isbn,Title,price,published,pages,in_stock,rating,tags,updated\n\
               978-0441013593,Dune,9.99,1965-08-01,412,1,4.5,\"sf,classic\",2024-03-01 09:30:00\n\
               978-0141439587,Emma,,,474,0,4,,\n";
    let books = read_csv::<Book>(csv).unwrap();
    assert_eq!(errors(&books.result), Vec::<String>::new());
    assert_eq!(books.result.totals.new, 2);
    assert_eq!(
        books.rows,
        [
            dune(),
            Book {
                id: Some(2),
                isbn: "978-0141439587".into(),
                title: "Emma".into(),
                price: None,
                published: None,
                pages: 474,
                in_stock: false,
                rating: 4.0,
                tags: vec![],
                updated: None,
            }
        ]
    );
}

#[test]
fn read_all_reports_invalid_rows_by_file_row_and_column_and_keeps_the_valid_ones() {
    let csv = "isbn,Title,price,published,pages,in_stock,rating,tags\n\
               1,Dune,9.99,1965-08-01,412,1,4.5,\n\
               2,Emma,cheap,1815-12-23,474,maybe,4,\n\
               3,Ulysses,,1922-02-31,70000,0,,\n\
               4,,1.50,,10,0,3,\n";
    let books = read_csv::<Book>(csv).unwrap();
    let mut described = errors(&books.result);
    // The boolean widget's list of spellings is its own business; the sentence's start is ours.
    let boolean = described.remove(1);
    assert!(
        boolean.starts_with("books.csv, row 3, column \"in_stock\": \"maybe\" is not a boolean"),
        "{boolean}"
    );
    assert_eq!(
        described,
        [
            "books.csv, row 3, column \"price\": \"cheap\" is not a number",
            "books.csv, row 4, column \"published\": \"1922-02-31\" is not a date (expected YYYY-MM-DD)",
            "books.csv, row 4, column \"pages\": \"70000\" is out of range for u16 (0 to 65535)",
            "books.csv, row 4, column \"rating\": \"\" is empty, but field \"rating\" needs a value",
        ]
    );
    assert_eq!(
        (books.result.totals.new, books.result.totals.invalid),
        (2, 2)
    );
    // A String that is not an Option reads an empty cell as "" (django-import-export's
    // allow_blank), so row 5 is valid.
    let isbns: Vec<&str> = books.rows.iter().map(|b| b.isbn.as_str()).collect();
    assert_eq!(isbns, ["1", "4"]);
    assert_eq!(books.rows[1].title, "");
    assert_eq!(
        books.clone().into_rows("books.csv").unwrap_err().len(),
        5,
        "into_rows refuses a file with failures"
    );
}

#[test]
fn read_all_refuses_a_file_without_a_required_column() {
    let err = read_csv::<Book>("isbn,Title,pages\n1,Dune,412\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "books.csv: the columns \"in_stock\", \"rating\" are missing, and library_book cannot be read \
         without them (the file's columns are: isbn, Title, pages)"
    );
    assert!(matches!(err, ImportError::Columns { .. }));
}

#[test]
fn read_all_updates_an_earlier_row_with_the_same_import_id() {
    let csv = "isbn,Title,pages,in_stock,rating\n1,Dune,412,1,4\n2,Emma,474,1,4\n1,Dune (2nd ed.),420,0,5\n";
    let books = read_csv::<Book>(csv).unwrap();
    assert_eq!(
        (books.result.totals.new, books.result.totals.update),
        (2, 1)
    );
    let titles: Vec<(&str, u16)> = books
        .rows
        .iter()
        .map(|b| (b.title.as_str(), b.pages))
        .collect();
    assert_eq!(titles, [("Dune (2nd ed.)", 420), ("Emma", 474)]);
}

#[test]
fn read_all_reads_typed_cells_of_json() {
    let json = r#"[{"isbn": "1", "Title": "Dune", "pages": 412, "in_stock": true, "rating": 4.5, "price": "9.99"},
                  {"isbn": "2", "Title": "Emma", "pages": -1, "in_stock": false, "rating": 4}]"#;
    let books =
        rowport::read_all::<Book>(reader(Format::Json, json, "books.json").as_mut()).unwrap();
    let described: Vec<String> = books
        .result
        .errors
        .iter()
        .map(|e| e.describe("books.json"))
        .collect();
    assert_eq!(
        described,
        ["books.json, row 2, column \"pages\": \"-1\" is out of range for u16 (0 to 65535)"]
    );
    assert_eq!(books.rows.len(), 1);
    assert_eq!(books.rows[0].price, Some(Decimal::new(999, 2)));
}

#[test]
fn write_all_writes_every_type_as_the_widgets_render_it() {
    let emma = Book {
        id: None,
        isbn: "978-0141439587".into(),
        title: "Emma, a novel".into(),
        price: None,
        published: None,
        pages: 474,
        in_stock: false,
        rating: 4.0,
        tags: vec![],
        updated: None,
    };
    assert_eq!(
        csv_of(&[dune(), emma]),
        "id,isbn,Title,price,published,pages,in_stock,rating,tags,updated\n\
         1,978-0441013593,Dune,9.99,1965-08-01,412,1,4.5,\"sf,classic\",2024-03-01 09:30:00\n\
         ,978-0141439587,\"Emma, a novel\",,,474,0,4,,\n"
    );
}

#[test]
fn write_with_selects_fields_and_calls_the_export_hooks() {
    #[derive(Default)]
    struct Count(Mutex<Vec<String>>);
    impl Hooks for Count {
        fn before_export(&self, _ctx: &Context) -> Result<(), HookError> {
            self.0.lock().unwrap().push("before_export".into());
            Ok(())
        }
        fn after_export(&self, rows: u64, _ctx: &Context) -> Result<(), HookError> {
            self.0.lock().unwrap().push(format!("after_export {rows}"));
            Ok(())
        }
    }
    let hooks = Arc::new(Count::default());
    let resource = Book::builder().shared_hooks(hooks.clone()).build().unwrap();
    let mut out = Vec::new();
    let writer = open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
    let options = ExportOptions {
        fields: Some(vec!["Title".into(), "isbn".into()]),
        ..ExportOptions::default()
    };
    rowport::write_with(&resource, &[dune()], writer, &options).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Title,isbn\nDune,978-0441013593\n"
    );
    assert_eq!(
        *hooks.0.lock().unwrap(),
        ["before_export", "after_export 1"]
    );
}

#[test]
fn read_with_runs_the_hooks_of_an_extended_derived_resource() {
    /// Refuses books without a title, and records each save.
    struct NeedTitle(Mutex<Vec<String>>);
    impl Hooks for NeedTitle {
        fn before_save_instance(
            &self,
            instance: &mut Record,
            row: &RowData<'_>,
            _ctx: &Context,
        ) -> Result<(), HookError> {
            if instance.get("title") == Some(&Value::Text(String::new())) {
                return Err(HookError("a book needs a title".into()));
            }
            self.0
                .lock()
                .unwrap()
                .push(format!("save row {}", row.number));
            Ok(())
        }
    }
    let hooks = Arc::new(NeedTitle(Mutex::default()));
    let resource = Book::builder().shared_hooks(hooks.clone()).build().unwrap();
    let csv = "isbn,Title,pages,in_stock,rating\n1,Dune,412,1,4\n2,,474,1,4\n";
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let books: Typed<Book> = rowport::read_with(
        &resource,
        reader(Format::Csv, csv, "books.csv").as_mut(),
        &options,
    )
    .unwrap();
    assert_eq!(
        errors(&books.result),
        ["books.csv, row 3: a book needs a title"]
    );
    assert_eq!(books.rows.len(), 1);
    assert_eq!(*hooks.0.lock().unwrap(), ["save row 2"]);
}

#[test]
fn model_converts_between_struct_and_record() {
    let record = dune().to_record();
    assert_eq!(
        record.get("price"),
        Some(&Value::Decimal(Decimal::new(999, 2)))
    );
    assert_eq!(
        record.get("tags"),
        Some(&Value::List(vec!["sf".into(), "classic".into()]))
    );
    assert_eq!(Book::from_record(&record).unwrap(), dune());

    let mut bad = record.clone();
    bad.set("pages", Value::Int(-5));
    assert_eq!(
        Book::from_record(&bad).unwrap_err().to_string(),
        "Book.pages: \"-5\" is out of range for u16 (0 to 65535)"
    );
}

const SQLITE_SCHEMA: &str = "
    CREATE TABLE library_book (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        isbn varchar(20) NOT NULL UNIQUE,
        title varchar(200) NOT NULL,
        price decimal(10, 2),
        published date,
        pages integer NOT NULL,
        in_stock bool NOT NULL,
        rating real NOT NULL,
        tags text NOT NULL,
        updated datetime
    );";

/// The table's rows as `|`-joined text, read by SQL alone (no code shared with the store).
fn sqlite_books(store: &SqliteStore) -> Vec<String> {
    let columns = "id, isbn, title, price, published, pages, in_stock, rating, tags, updated";
    let joined = columns
        .split(", ")
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let mut statement = store
        .connection()
        .prepare(&format!("SELECT {joined} FROM library_book ORDER BY id"))
        .unwrap();
    let rows = statement.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn typed_round_trip_through_sqlite() {
    let mut store = SqliteStore::in_memory().unwrap();
    store.connection().execute_batch(SQLITE_SCHEMA).unwrap();
    let resource = Book::resource().unwrap();

    // Import typed rows (written by write_all) into the database through the derived resource.
    let emma = Book {
        id: None,
        isbn: "978-0141439587".into(),
        title: "Emma".into(),
        price: None,
        published: NaiveDate::from_ymd_opt(1815, 12, 23),
        pages: 474,
        in_stock: false,
        rating: 4.25,
        tags: vec!["classic".into()],
        updated: None,
    };
    let file = csv_of(&[Book { id: None, ..dune() }, emma.clone()]);
    let result = rowport::import(
        &resource,
        &mut store,
        reader(Format::Csv, &file, "books.csv").as_mut(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(result.totals.new, 2, "{:?}", result.errors);
    assert_eq!(
        sqlite_books(&store),
        [
            "1|978-0441013593|Dune|9.99|1965-08-01|412|1|4.5|[\"sf\",\"classic\"]|2024-03-01 09:30:00",
            "2|978-0141439587|Emma|NULL|1815-12-23|474|0|4.25|[\"classic\"]|NULL",
        ]
    );

    // Export the table and read the file back into structs: the same values, keys assigned.
    let mut exported = Vec::new();
    let writer = open_writer(
        Format::Csv,
        Box::new(&mut exported),
        &WriteOptions::default(),
    )
    .unwrap();
    rowport::export(&resource, &mut store, writer, &ExportOptions::default()).unwrap();
    let exported = String::from_utf8(exported).unwrap();
    let back = read_csv::<Book>(&exported).unwrap();
    assert_eq!(errors(&back.result), Vec::<String>::new());
    assert_eq!(
        back.rows,
        [
            dune(),
            Book {
                id: Some(2),
                ..emma
            }
        ]
    );
    // The database's export and write_all of the same rows are the same bytes.
    assert_eq!(exported, csv_of(&back.rows));

    // A second import of the changed file updates by isbn, the SQLite store's NOT NULL and
    // the typed checks agreeing on what is refused.
    let changed = exported.replace(",Dune,", ",Dune (2nd ed.),");
    let again = rowport::import(
        &resource,
        &mut store,
        reader(Format::Csv, &changed, "books.csv").as_mut(),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((again.totals.update, again.totals.new), (2, 0));
    assert_eq!(
        store
            .fetch(
                &rowport::store::Fetch {
                    table: "library_book",
                    key_columns: &["id".to_string()],
                    columns: &[("title".to_string(), ValueKind::Text)],
                    filter: &[],
                },
                &[vec![Value::Int(1)]],
            )
            .unwrap(),
        [vec![Value::Text("Dune (2nd ed.)".into())]]
    );
}

#[test]
fn read_all_of_an_empty_file_is_no_rows() {
    let books = read_csv::<Book>("").unwrap();
    assert!(books.rows.is_empty());
    assert_eq!(books.result.totals.rows(), 0);
}

/// A novel whose author and genres are looked up by name in tables the program loaded.
#[derive(Debug, rowport::Resource)]
#[rowport(import_id = "title")]
struct Novel {
    id: i64,
    title: String,
    #[rowport(column_name = "author", widget = rowport::widgets::ForeignKeyWidget::new("author", "name", "id", Box::new(rowport::widgets::CharWidget::new(false))))]
    author_id: i64,
    #[rowport(widget = rowport::widgets::ManyToManyWidget::new("genre", "name", "id", rowport::widgets::LinkTable { table: "novel_genre".into(), owner_column: "novel_id".into(), target_column: "genre_id".into() }, "|", Box::new(rowport::widgets::CharWidget::new(false))))]
    genres: Vec<i64>,
}

#[test]
fn read_in_resolves_foreign_keys_and_many_to_many_against_rows_in_the_memory_store() {
    let mut store = rowport::memory::MemoryStore::new();
    store.create_table(
        "author",
        &[("id", ValueKind::Int), ("name", ValueKind::Text)],
    );
    store.create_table(
        "genre",
        &[("id", ValueKind::Int), ("name", ValueKind::Text)],
    );
    store.create_table(
        "novel_genre",
        &[
            ("id", ValueKind::Int),
            ("novel_id", ValueKind::Int),
            ("genre_id", ValueKind::Int),
        ],
    );
    let names = |list: &[&str]| -> Vec<Vec<Value>> {
        list.iter()
            .map(|n| vec![Value::Text((*n).into())])
            .collect()
    };
    store
        .insert(
            "author",
            &["name".into()],
            &names(&["Le Guin", "Herbert"]),
            None,
        )
        .unwrap();
    store
        .insert(
            "genre",
            &["name".into()],
            &names(&["sf", "fantasy", "classic"]),
            None,
        )
        .unwrap();
    let csv = "title,author,genres\nDune,Herbert,sf|classic\nEarthsea,Le Guin,fantasy\nEmma,Austen,classic\nSolaris,Lem,\nHyperion,Herbert,space opera\n";
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let novels = rowport::read_in::<Novel>(
        &Novel::resource().unwrap(),
        &mut store,
        reader(Format::Csv, csv, "novels.csv").as_mut(),
        &options,
    )
    .unwrap();

    let read: Vec<(&str, i64)> = novels
        .rows
        .iter()
        .map(|n| (n.title.as_str(), n.author_id))
        .collect();
    assert_eq!(read, [("Dune", 2), ("Earthsea", 1)]);
    assert_eq!(
        errors(&novels.result),
        [
            "books.csv, row 4, column \"author\": \"Austen\" matches no author row (looked up by name)",
            "books.csv, row 5, column \"author\": \"Lem\" matches no author row (looked up by name)",
            "books.csv, row 6, column \"genres\": \"space opera\" names no genre row for \"space opera\" (looked up by name)",
        ]
    );
    // The links of the two valid novels (1 = Dune, 2 = Earthsea), by genre id.
    let links: Vec<(Value, Value)> = store
        .rows("novel_genre")
        .into_iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        links,
        [
            (Value::Int(1), Value::Int(1)),
            (Value::Int(1), Value::Int(3)),
            (Value::Int(2), Value::Int(2)),
        ]
    );
}
