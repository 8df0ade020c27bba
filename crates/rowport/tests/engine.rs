//! The import engine against the in-memory store: outcomes, batches, hooks and their order.

use std::sync::{Arc, Mutex};

use rowport::memory::MemoryStore;
use rowport::widgets::{CharWidget, IntegerWidget};
use rowport::{
    import, Context, Field, HookError, Hooks, ImportError, ImportOptions, Record, Resource,
    RowData, RowOutcome, Store, Value, ValueKind,
};
use rowport_formats::{open_reader, Format, ReadOptions};

fn store_with_books() -> MemoryStore {
    let mut store = MemoryStore::new();
    store.create_table(
        "book",
        &[
            ("id", ValueKind::Int),
            ("isbn", ValueKind::Text),
            ("name", ValueKind::Text),
            ("pages", ValueKind::Int),
        ],
    );
    store
}

fn book_resource(store: &mut MemoryStore, configure: impl FnOnce(&mut Resource)) -> Resource {
    let schema = store.describe("book").unwrap();
    let mut resource = Resource::from_schema("book", &schema);
    resource.options.import_id_fields = vec!["isbn".into()];
    configure(&mut resource);
    resource.finish().unwrap()
}

fn run(
    resource: &Resource,
    store: &mut MemoryStore,
    csv: &str,
    options: &ImportOptions,
) -> Result<rowport::ImportResult, ImportError> {
    let mut reader = open_reader(
        Format::Csv,
        Box::new(csv.as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    import(resource, store, reader.as_mut(), options)
}

fn names(store: &MemoryStore) -> Vec<(String, String)> {
    store
        .rows("book")
        .into_iter()
        .map(|r| (r[1].to_string(), r[2].to_string()))
        .collect()
}

#[test]
fn new_rows_are_created_and_existing_ones_updated_by_import_id() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let first = run(
        &book,
        &mut store,
        "isbn,name\n1,Dune\n2,Emma\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((first.totals.new, first.totals.update), (2, 0));
    let second = run(
        &book,
        &mut store,
        "isbn,name\n2,Emma (2nd ed.)\n3,Ulysses\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((second.totals.new, second.totals.update), (1, 1));
    assert_eq!(
        names(&store),
        [
            ("1".into(), "Dune".into()),
            ("2".into(), "Emma (2nd ed.)".into()),
            ("3".into(), "Ulysses".into())
        ]
    );
}

#[test]
fn the_same_key_twice_in_one_batch_creates_then_updates() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let result = run(
        &book,
        &mut store,
        "isbn,name\n1,Dune\n1,Dune (revised)\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((result.totals.new, result.totals.update), (1, 1));
    assert_eq!(names(&store), [("1".into(), "Dune (revised)".into())]);
}

#[test]
fn batches_smaller_than_the_file_import_every_row() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| r.options.batch_size = 2);
    let csv: String = std::iter::once("isbn,name\n".to_owned())
        .chain((0..7).map(|i| format!("{i},Book {i}\n")))
        .collect();
    let result = run(&book, &mut store, &csv, &ImportOptions::default()).unwrap();
    assert_eq!(result.totals.new, 7);
    assert_eq!(store.rows("book").len(), 7);
}

#[test]
fn skip_unchanged_skips_equal_rows_and_reports_them_unless_told_not_to() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| r.options.skip_unchanged = true);
    run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,412\n",
        &ImportOptions::default(),
    )
    .unwrap();
    let options = ImportOptions {
        preview_rows: 10,
        ..ImportOptions::default()
    };
    let again = run(&book, &mut store, "isbn,name,pages\n1,Dune,412\n", &options).unwrap();
    assert_eq!(again.totals.skip, 1);
    assert_eq!(again.rows[0].outcome, RowOutcome::Skip);

    let quiet = book_resource(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.report_skipped = false;
    });
    let again = run(
        &quiet,
        &mut store,
        "isbn,name,pages\n1,Dune,412\n",
        &options,
    )
    .unwrap();
    assert_eq!(again.totals.skip, 1);
    assert!(again.rows.is_empty());
}

#[test]
fn the_diff_of_an_update_lists_old_and_new_values() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,412\n",
        &ImportOptions::default(),
    )
    .unwrap();
    let options = ImportOptions {
        preview_rows: 10,
        ..ImportOptions::default()
    };
    let result = run(&book, &mut store, "isbn,name,pages\n1,Dune,500\n", &options).unwrap();
    let changes: Vec<_> = result.rows[0]
        .changes
        .iter()
        .map(|c| (c.column.as_str(), c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(changes, [("pages", "412", "500")]);
}

#[test]
fn skip_diff_keeps_no_diff_and_disables_skip_unchanged() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.skip_diff = true;
    });
    run(
        &book,
        &mut store,
        "isbn,name\n1,Dune\n",
        &ImportOptions::default(),
    )
    .unwrap();
    let options = ImportOptions {
        preview_rows: 10,
        ..ImportOptions::default()
    };
    let result = run(&book, &mut store, "isbn,name\n1,Dune\n", &options).unwrap();
    assert_eq!(result.totals.update, 1);
    assert!(result.rows[0].changes.is_empty());
}

#[test]
fn every_field_error_of_a_row_is_collected_and_nothing_is_committed() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let result = run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,many\n2,Emma,12x\n3,Ulysses,730\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((result.totals.invalid, result.totals.new), (2, 1));
    assert!(!result.committed);
    assert_eq!(result.errors.len(), 2);
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 2, column \"pages\": \"many\" is not a whole number"
    );
    assert_eq!(result.errors[1].row, 3);
    assert!(store.rows("book").is_empty());
}

#[test]
fn skip_invalid_commits_the_valid_rows() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let result = run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,many\n3,Ulysses,730\n",
        &options,
    )
    .unwrap();
    assert!(result.committed);
    assert_eq!(names(&store), [("3".into(), "Ulysses".into())]);
}

#[test]
fn raise_errors_stops_at_the_first_failed_row() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let options = ImportOptions {
        raise_errors: true,
        ..ImportOptions::default()
    };
    let err = run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,412\n2,Emma,x\n",
        &options,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "books.csv, row 3, column \"pages\": \"x\" is not a whole number"
    );
    assert!(store.rows("book").is_empty());
}

#[test]
fn a_dry_run_reports_everything_and_keeps_nothing() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let options = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let result = run(&book, &mut store, "isbn,name\n1,Dune\n2,Emma\n", &options).unwrap();
    assert_eq!(result.totals.new, 2);
    assert!(!result.committed);
    assert!(store.rows("book").is_empty());
}

#[test]
fn a_missing_declared_import_id_column_is_an_error_naming_it() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let err = run(&book, &mut store, "name\nDune\n", &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "books.csv: the import id column \"isbn\" is missing (the file's columns are: name)"
    );
}

#[test]
fn without_the_default_id_column_every_row_is_new() {
    let mut store = store_with_books();
    let schema = store.describe("book").unwrap();
    let book = Resource::from_schema("book", &schema).finish().unwrap();
    assert_eq!(book.import_id_fields(), ["id"]);
    let result = run(
        &book,
        &mut store,
        "isbn,name\n1,Dune\n1,Dune\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(result.totals.new, 2);
}

#[test]
fn defaults_fill_empty_cells_and_readonly_fields_are_not_written() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| {
        r.replace_field(
            Field::new("pages", Arc::new(IntegerWidget::default())).default(Value::Int(100)),
        );
        r.replace_field(Field::new("name", Arc::new(CharWidget::default())).readonly(true));
    });
    run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,\n",
        &ImportOptions::default(),
    )
    .unwrap();
    let row = &store.rows("book")[0];
    assert_eq!(row[2], Value::Null, "readonly name is not written");
    assert_eq!(row[3], Value::Int(100), "empty pages takes the default");
}

#[test]
fn a_custom_column_name_reads_that_header() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| {
        r.replace_field(Field::new("name", Arc::new(CharWidget::default())).column_name("Title"));
    });
    run(
        &book,
        &mut store,
        "isbn,Title\n1,Dune\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(names(&store), [("1".into(), "Dune".into())]);
}

/// Records every hook call as `hook:row`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn log(&self, hook: &str, row: u64) {
        self.calls.lock().unwrap().push(format!("{hook}:{row}"));
    }
}

impl Hooks for Recorder {
    fn before_import(&self, _: &[String], _: &Context) -> Result<(), HookError> {
        self.log("before_import", 0);
        Ok(())
    }
    fn before_import_row(&self, row: &mut RowData<'_>, _: &Context) -> Result<(), HookError> {
        self.log("before_import_row", row.number);
        Ok(())
    }
    fn init_instance(&self, _: &mut Record, row: &RowData<'_>, _: &Context) {
        self.log("init_instance", row.number);
    }
    fn for_delete(&self, row: &RowData<'_>, _: &Record, _: &Context) -> bool {
        self.log("for_delete", row.number);
        row.get("delete").and_then(|c| c.as_text()) == Some("1")
    }
    fn import_field(
        &self,
        field: &Field,
        instance: &mut Record,
        value: Value,
        row: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        self.log(&format!("import_field({})", field.name), row.number);
        instance.set(&field.attribute, value);
        Ok(())
    }
    fn skip_row(
        &self,
        _: &Record,
        _: Option<&Record>,
        row: &RowData<'_>,
        _: &Context,
    ) -> Option<bool> {
        self.log("skip_row", row.number);
        None
    }
    fn before_save_instance(
        &self,
        _: &mut Record,
        row: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        self.log("before_save_instance", row.number);
        Ok(())
    }
    fn after_save_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        self.log("after_save_instance", row.number);
        Ok(())
    }
    fn before_delete_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        self.log("before_delete_instance", row.number);
        Ok(())
    }
    fn after_delete_instance(
        &self,
        _: &Record,
        row: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        self.log("after_delete_instance", row.number);
        Ok(())
    }
    fn after_import_row(&self, row: &RowData<'_>, outcome: RowOutcome, _: &Context) {
        self.log(&format!("after_import_row({outcome:?})"), row.number);
    }
    fn after_import(&self, _: &rowport::ImportResult, _: &Context) -> Result<(), HookError> {
        self.log("after_import", 0);
        Ok(())
    }
}

#[test]
fn hooks_run_in_django_import_export_order() {
    let mut store = store_with_books();
    let plain = book_resource(&mut store, |_| {});
    run(
        &plain,
        &mut store,
        "isbn,name\n1,Dune\n2,Emma\n3,Ulysses\n",
        &ImportOptions::default(),
    )
    .unwrap();

    let recorder = Arc::new(Recorder::default());
    let book = book_resource(&mut store, |r| {
        r.options.skip_unchanged = true;
        r.options.fields = Some(vec!["isbn".into(), "name".into()]);
        r.hooks = recorder.clone();
    });
    // Row 2 deletes, row 3 updates, row 4 is unchanged, row 5 is new, row 6 is invalid
    // (an empty import id with no name is fine; an unknown column is not: use a bad isbn?)
    let csv = "isbn,name,delete\n1,Dune,1\n2,Emma (2nd ed.),0\n3,Ulysses,0\n4,Walden,0\n";
    let options = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let result = run(&book, &mut store, csv, &options).unwrap();
    assert_eq!(
        (
            result.totals.delete,
            result.totals.update,
            result.totals.skip,
            result.totals.new
        ),
        (1, 1, 1, 1)
    );
    let calls = recorder.calls.lock().unwrap().clone();
    let expected = [
        "before_import:0",
        "before_import_row:2",
        "before_import_row:3",
        "before_import_row:4",
        "before_import_row:5",
        "for_delete:2",
        "before_delete_instance:2",
        "for_delete:3",
        "import_field(isbn):3",
        "import_field(name):3",
        "skip_row:3",
        "before_save_instance:3",
        "for_delete:4",
        "import_field(isbn):4",
        "import_field(name):4",
        "skip_row:4",
        "init_instance:5",
        "for_delete:5",
        "import_field(isbn):5",
        "import_field(name):5",
        "skip_row:5",
        "before_save_instance:5",
        "after_delete_instance:2",
        "after_import_row(Delete):2",
        "after_save_instance:3",
        "after_import_row(Update):3",
        "after_import_row(Skip):4",
        "after_save_instance:5",
        "after_import_row(New):5",
        "after_import:0",
    ];
    assert_eq!(calls, expected);
    assert_eq!(
        names(&store),
        [
            ("2".into(), "Emma (2nd ed.)".into()),
            ("3".into(), "Ulysses".into()),
            ("4".into(), "Walden".into())
        ]
    );
}

#[test]
fn an_invalid_row_gets_before_and_after_hooks_but_no_save() {
    let mut store = store_with_books();
    let recorder = Arc::new(Recorder::default());
    let book = book_resource(&mut store, |r| r.hooks = recorder.clone());
    let result = run(
        &book,
        &mut store,
        "isbn,name,pages\n1,Dune,x\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(result.totals.invalid, 1);
    let calls = recorder.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            "before_import:0",
            "before_import_row:2",
            "after_import_row(Invalid):2",
            "after_import:0"
        ]
    );
}

/// A hook that refuses rows whose name is "forbidden".
struct Refuser;

impl Hooks for Refuser {
    fn before_save_instance(
        &self,
        instance: &mut Record,
        _: &RowData<'_>,
        _: &Context,
    ) -> Result<(), HookError> {
        if instance.get("name") == Some(&Value::Text("forbidden".into())) {
            return Err(HookError("this name is not allowed".into()));
        }
        Ok(())
    }
}

#[test]
fn a_hook_error_makes_the_row_an_error_row_and_rolls_back() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |r| r.hooks = Arc::new(Refuser));
    let result = run(
        &book,
        &mut store,
        "isbn,name\n1,Dune\n2,forbidden\n",
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!((result.totals.new, result.totals.error), (1, 1));
    assert_eq!(
        result.errors[0].describe("books.csv"),
        "books.csv, row 3: this name is not allowed"
    );
    assert!(!result.committed);
    assert!(store.rows("book").is_empty());
}

mod export {
    use super::*;
    use rowport::{export, ExportOptions};
    use rowport_formats::{open_writer, WriteOptions};

    fn exported(resource: &Resource, store: &mut MemoryStore, fields: Option<Vec<&str>>) -> String {
        let mut out = Vec::new();
        let writer =
            open_writer(Format::Csv, Box::new(&mut out), &WriteOptions::default()).unwrap();
        let options = ExportOptions {
            fields: fields.map(|f| f.into_iter().map(str::to_owned).collect()),
            ..ExportOptions::default()
        };
        export(resource, store, writer, &options).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn loaded() -> MemoryStore {
        let mut store = store_with_books();
        let book = book_resource(&mut store, |_| {});
        run(
            &book,
            &mut store,
            "isbn,name,pages\n1,Dune,412\n2,Emma,\n",
            &ImportOptions::default(),
        )
        .unwrap();
        store
    }

    #[test]
    fn export_writes_every_field_in_declaration_order() {
        let mut store = loaded();
        let book = book_resource(&mut store, |_| {});
        assert_eq!(
            exported(&book, &mut store, None),
            "id,isbn,name,pages\n1,1,Dune,412\n2,2,Emma,\n"
        );
    }

    #[test]
    fn export_order_puts_its_fields_first() {
        let mut store = loaded();
        let book = book_resource(&mut store, |r| {
            r.options.export_order = vec!["name".into(), "isbn".into()]
        });
        assert_eq!(
            exported(&book, &mut store, None),
            "name,isbn,id,pages\nDune,1,1,412\nEmma,2,2,\n"
        );
    }

    #[test]
    fn fields_whitelist_and_exclude_choose_the_columns() {
        let mut store = loaded();
        let only = book_resource(&mut store, |r| {
            r.options.fields = Some(vec!["isbn".into(), "pages".into()])
        });
        assert_eq!(exported(&only, &mut store, None), "isbn,pages\n1,412\n2,\n");
        let without = book_resource(&mut store, |r| {
            r.options.exclude = vec!["id".into(), "pages".into()]
        });
        assert_eq!(
            exported(&without, &mut store, None),
            "isbn,name\n1,Dune\n2,Emma\n"
        );
    }

    #[test]
    fn chosen_fields_come_out_in_the_order_asked_and_by_column_name_too() {
        let mut store = loaded();
        let book = book_resource(&mut store, |r| {
            r.replace_field(
                Field::new("name", Arc::new(CharWidget::default())).column_name("Title"),
            );
        });
        assert_eq!(
            exported(&book, &mut store, Some(vec!["Title", "isbn"])),
            "Title,isbn\nDune,1\nEmma,2\n"
        );
    }

    #[test]
    fn import_order_orders_the_diff() {
        let mut store = loaded();
        let book = book_resource(&mut store, |r| {
            r.options.import_order = vec!["pages".into()]
        });
        let options = ImportOptions {
            preview_rows: 5,
            ..ImportOptions::default()
        };
        let result = run(
            &book,
            &mut store,
            "isbn,name,pages\n1,Dune!,413\n",
            &options,
        )
        .unwrap();
        let columns: Vec<&str> = result.rows[0]
            .changes
            .iter()
            .map(|c| c.column.as_str())
            .collect();
        assert_eq!(columns, ["pages", "name"]);
    }
}

#[test]
fn a_row_sink_sees_every_reported_row_beyond_the_preview_with_its_errors() {
    let mut store = store_with_books();
    let book = book_resource(&mut store, |_| {});
    let mut reader = open_reader(
        Format::Csv,
        Box::new("isbn,name,pages\n1,Dune,412\n2,Emma,many\n3,Ulysses,730\n".as_bytes()),
        "books.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let options = ImportOptions {
        dry_run: true,
        preview_rows: 1,
        ..ImportOptions::default()
    };
    let mut seen: Vec<(rowport::result::RowResult, Vec<rowport::RowError>)> = Vec::new();
    let result =
        rowport::import_into(&book, &mut store, reader.as_mut(), &options, &mut seen).unwrap();
    assert_eq!(result.rows.len(), 1, "the result keeps only the preview");
    let outline: Vec<(u64, RowOutcome, usize)> = seen
        .iter()
        .map(|(row, errors)| (row.row, row.outcome, errors.len()))
        .collect();
    assert_eq!(
        outline,
        [
            (2, RowOutcome::New, 0),
            (3, RowOutcome::Invalid, 1),
            (4, RowOutcome::New, 0)
        ]
    );
    assert_eq!(seen[1].1[0].column.as_deref(), Some("pages"));
    assert!(store.rows("book").is_empty());
}
