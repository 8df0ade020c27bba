//! `Resource::builder`: a resource declared in Rust, composed from another, checked at
//! `build()`, and run by the import engine.

use std::sync::{Arc, Mutex};

use rowport::formats::{open_reader, Format, ReadOptions};
use rowport::memory::MemoryStore;
use rowport::typed::Model;
use rowport::widgets::{BooleanWidget, CharWidget, IntegerWidget};
use rowport::{
    import, Context, Field, HookError, Hooks, ImportOptions, Record, Resource, RowData, Store,
    Value, ValueKind,
};

fn import_csv(resource: &Resource, store: &mut MemoryStore, csv: &str) -> rowport::ImportResult {
    let mut reader = open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), &ImportOptions::default()).unwrap()
}

fn book() -> Resource {
    Resource::builder("book")
        .table("library_book")
        .field_of::<i64>("id")
        .field_of::<String>("isbn")
        .field(
            Field::new("name", Arc::new(CharWidget::new(false)))
                .column_name("Title")
                .attribute("title"),
        )
        .field(Field::new("pages", Arc::new(IntegerWidget::default())).default(Value::Int(100)))
        .field(Field::new("loans", Arc::new(IntegerWidget::default())).readonly(true))
        .import_id_fields(["isbn"])
        .build()
        .unwrap()
}

fn store() -> MemoryStore {
    let mut store = MemoryStore::new();
    store.create_table(
        "library_book",
        &[
            ("id", ValueKind::Int),
            ("isbn", ValueKind::Text),
            ("title", ValueKind::Text),
            ("pages", ValueKind::Int),
            ("loans", ValueKind::Int),
        ],
    );
    store
}

#[test]
fn builder_declares_table_fields_column_names_defaults_and_readonly() {
    let mut store = store();
    let result = import_csv(
        &book(),
        &mut store,
        "isbn,Title,pages,loans\n1,Dune,,7\n2,Emma,474,9\n",
    );
    assert_eq!(result.totals.new, 2, "{:?}", result.errors);
    assert_eq!(
        store.rows("library_book"),
        [
            vec![1.into(), "1".into(), "Dune".into(), 100.into(), Value::Null],
            vec![2.into(), "2".into(), "Emma".into(), 474.into(), Value::Null],
        ]
    );
    // The import id decides: a second file updates by isbn.
    let again = import_csv(&book(), &mut store, "isbn,Title\n2,Emma (Penguin)\n");
    assert_eq!((again.totals.new, again.totals.update), (0, 1));
    assert_eq!(store.rows("library_book")[1][2], "Emma (Penguin)".into());
}

#[test]
fn builder_sets_options() {
    let resource = Resource::builder("book")
        .field_of::<i64>("id")
        .field_of::<String>("title")
        .field_of::<Option<String>>("notes")
        .exclude(["notes"])
        .export_order(["title"])
        .import_order(["title"])
        .skip_unchanged(true)
        .report_skipped(false)
        .skip_diff(false)
        .use_transactions(true)
        .batch_size(10)
        .build()
        .unwrap();
    let export: Vec<&str> = resource.export_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(export, ["title", "id"]);
    let import: Vec<&str> = resource.import_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(import, ["title", "id"]);
    assert!(resource.options.skip_unchanged && !resource.options.report_skipped);
    assert_eq!(resource.options.batch_size, 10);

    let only = Resource::builder("book")
        .field_of::<i64>("id")
        .field_of::<String>("title")
        .fields(["id"])
        .build()
        .unwrap();
    assert_eq!(only.export_fields().count(), 1);
}

#[test]
fn builder_inherits_from_another_resource_and_overrides() {
    let base = book();
    let child = base
        .to_builder()
        .name("public_book")
        .edit_field("name", |f| f.column_name("Book title"))
        .remove_field("loans")
        .field(Field::new("available", Arc::new(BooleanWidget::default())))
        .build()
        .unwrap();
    assert_eq!(
        (child.name.as_str(), child.table.as_str()),
        ("public_book", "library_book")
    );
    assert_eq!(child.import_id_fields(), ["isbn"]);
    let headers: Vec<&str> = child
        .export_fields()
        .map(|f| f.column_name.as_str())
        .collect();
    assert_eq!(headers, ["id", "isbn", "Book title", "pages", "available"]);
    // The parent is unchanged.
    let parent: Vec<&str> = base
        .export_fields()
        .map(|f| f.column_name.as_str())
        .collect();
    assert_eq!(parent, ["id", "isbn", "Title", "pages", "loans"]);
    // Replacing a field keeps its place.
    let replaced = base
        .to_builder()
        .field(Field::new("isbn", Arc::new(IntegerWidget::default())))
        .build()
        .unwrap();
    assert_eq!(replaced.fields[1].widget.kind(), ValueKind::Int);
}

#[test]
fn builder_reports_mistakes_at_build_naming_the_resource() {
    let err = book()
        .to_builder()
        .edit_field("title", |f| f)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource \"book\": edit_field names \"title\", which is not a field (fields: id, isbn, name, pages, loans)"
    );
    let err = book()
        .to_builder()
        .remove_field("author")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource \"book\": remove_field names \"author\", which is not a field (fields: id, isbn, name, pages, loans)"
    );
    let err = Resource::builder("book")
        .field_of::<String>("isbn")
        .import_id_fields(["isbm"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource \"book\": import_id_fields names \"isbm\", which is not a field (fields: isbn)"
    );
    let err = Resource::builder("note")
        .field_of::<String>("text")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource \"note\": it has no field for the primary key \"id\"; set import_id_fields"
    );
}

#[test]
fn builder_from_schema_starts_from_the_table() {
    let mut store = store();
    let schema = store.describe("library_book").unwrap();
    let resource = rowport::ResourceBuilder::from_schema("book", &schema)
        .edit_field("title", |f| f.column_name("Title"))
        .import_id_fields(["isbn"])
        .build()
        .unwrap();
    let result = import_csv(&resource, &mut store, "isbn,Title\n9,Ulysses\n");
    assert_eq!(result.totals.new, 1);
    assert_eq!(store.rows("library_book")[0][2], "Ulysses".into());
}

/// A derived resource composed further with the builder: hooks added, a field renamed.
#[test]
fn derived_resource_extended_through_its_builder() {
    #[derive(Debug, rowport::Resource)]
    #[rowport(table = "library_book", import_id = "isbn")]
    struct Book {
        id: Option<i64>,
        isbn: String,
        title: String,
    }

    struct Upper(Mutex<u32>);
    impl Hooks for Upper {
        fn before_save_instance(
            &self,
            instance: &mut Record,
            _row: &RowData<'_>,
            _ctx: &Context,
        ) -> Result<(), HookError> {
            if let Some(Value::Text(t)) = instance.get("title").cloned() {
                instance.set("title", Value::Text(t.to_uppercase()));
            }
            *self.0.lock().unwrap() += 1;
            Ok(())
        }
    }
    let hooks = Arc::new(Upper(Mutex::new(0)));
    let resource = Book::builder()
        .shared_hooks(hooks.clone())
        .edit_field("title", |f| f.column_name("Title"))
        .build()
        .unwrap();
    let mut store = MemoryStore::new();
    store.create_table_for(&resource);
    assert_eq!(store.columns("library_book"), ["id", "isbn", "title"]);
    let result = import_csv(&resource, &mut store, "isbn,Title\n1,Dune\n");
    assert_eq!(result.totals.new, 1);
    assert_eq!(*hooks.0.lock().unwrap(), 1);
    let rows: Vec<Book> = store
        .rows("library_book")
        .into_iter()
        .map(|values| {
            let mut record = Book {
                id: None,
                isbn: String::new(),
                title: String::new(),
            }
            .to_record();
            for (name, value) in ["id", "isbn", "title"].iter().zip(values) {
                record.set(name, value);
            }
            Book::from_record(&record).unwrap()
        })
        .collect();
    assert_eq!(rows[0].title, "DUNE");
    assert_eq!(rows[0].id, Some(1));
}

#[test]
fn memory_store_scans_integer_keys_in_numeric_order() {
    let resource = Resource::builder("n")
        .field_of::<i64>("id")
        .build()
        .unwrap();
    let mut store = MemoryStore::new();
    store.create_table_for(&resource);
    let csv: String = std::iter::once("id".to_string())
        .chain([10, 9, 2, 1].iter().map(|i| i.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    import_csv(&resource, &mut store, &csv);
    let mut out = Vec::new();
    let writer = rowport::formats::open_writer(
        Format::Csv,
        Box::new(&mut out),
        &rowport::formats::WriteOptions::default(),
    )
    .unwrap();
    rowport::export(&resource, &mut store, writer, &Default::default()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "id\n1\n2\n9\n10\n");
}
