//! The expansion's refusals, message by message (compile-time errors are these messages,
//! spanned on the offending attribute or field).

use super::{expand, snake_case};

fn error_of(source: &str) -> String {
    let input: syn::DeriveInput = syn::parse_str(source).expect("test input parses");
    match expand(&input) {
        Ok(tokens) => panic!("expected an error, got {tokens}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_field_attribute_lists_the_known_ones() {
    assert_eq!(
        error_of(r#"struct Book { id: i64, #[rowport(colum_name = "Title")] title: String }"#),
        "unknown rowport attribute `colum_name`; expected one of: column_name, attribute, widget, default, import_id, readonly, skip"
    );
}

#[test]
fn unknown_container_attribute_lists_the_known_ones() {
    assert_eq!(
        error_of(r#"#[rowport(tabel = "books")] struct Book { id: i64 }"#),
        "unknown rowport attribute `tabel` on a struct; expected one of: table, name, primary_key, import_id"
    );
}

#[test]
fn attributes_in_the_wrong_place_say_where_they_belong() {
    assert_eq!(
        error_of(r#"#[rowport(readonly)] struct Book { id: i64 }"#),
        "`readonly` is a field attribute: put #[rowport(readonly ...)] on the field"
    );
    assert_eq!(
        error_of(r#"struct Book { #[rowport(table = "b")] id: i64 }"#),
        "`table` is a struct attribute: put #[rowport(table = \"...\")] on the struct"
    );
}

#[test]
fn a_struct_without_identity_is_refused_with_the_three_ways_out() {
    assert_eq!(
        error_of("struct Note { text: String }"),
        "`Note` has no field for the primary key `id`: add a field `id`, name the key with \
         #[rowport(primary_key = \"...\")], or mark the fields that identify a row with #[rowport(import_id)]"
    );
}

#[test]
fn import_id_must_name_a_field() {
    assert_eq!(
        error_of(r#"#[rowport(import_id = "isbm")] struct Book { isbn: String, title: String }"#),
        "import_id names `isbm`, which is not a field of `Book` (fields: isbn, title)"
    );
    assert_eq!(
        error_of(r#"#[rowport(import_id("isbn", 3))] struct Book { isbn: String }"#),
        "write the import id fields as strings: import_id(\"isbn\", \"edition\")"
    );
}

#[test]
fn import_id_declared_twice_is_refused() {
    assert_eq!(
        error_of(r#"#[rowport(import_id = "isbn")] struct Book { #[rowport(import_id)] isbn: String }"#),
        "the import id is declared twice: remove #[rowport(import_id)] here or import_id on the struct"
    );
}

#[test]
fn flags_take_no_value_and_do_not_combine_with_skip() {
    assert_eq!(
        error_of("struct Book { id: i64, #[rowport(readonly = true)] loans: i64 }"),
        "`readonly` takes no value: write #[rowport(readonly)]"
    );
    assert_eq!(
        error_of(r#"struct Book { id: i64, #[rowport(skip, column_name = "X")] cache: i64 }"#),
        "a skipped field is not a column, so `column_name` means nothing here: remove `skip` or `column_name`"
    );
    assert_eq!(
        error_of("struct Book { id: i64, #[rowport(import_id, readonly)] isbn: String }"),
        "an import id field is read from the file, so it cannot be `readonly`"
    );
}

#[test]
fn empty_names_and_non_structs_are_refused() {
    assert_eq!(
        error_of(r#"#[rowport(table = " ")] struct Book { id: i64 }"#),
        "`table` cannot be empty"
    );
    assert_eq!(
        error_of("enum Kind { A, B }"),
        "#[derive(rowport::Resource)] works on structs (each field a column), not on enums or unions"
    );
    assert_eq!(
        error_of("struct Pair(i64, String);"),
        "#[derive(rowport::Resource)] needs a struct with named fields (each field is a column)"
    );
}

#[test]
fn a_good_struct_expands_to_a_model_impl() {
    let input: syn::DeriveInput = syn::parse_str(
        r#"#[rowport(import_id("isbn", "edition"))] struct Book { isbn: String, edition: u8 }"#,
    )
    .unwrap();
    let tokens = expand(&input).unwrap().to_string();
    assert!(
        tokens.contains("impl :: rowport :: typed :: Model for Book"),
        "{tokens}"
    );
    assert!(
        tokens.contains(". import_id_fields ([\"isbn\" , \"edition\"])"),
        "{tokens}"
    );
    assert!(tokens.contains(". table (\"book\")"), "{tokens}");
}

#[test]
fn table_names_default_to_snake_case() {
    assert_eq!(snake_case("Book"), "book");
    assert_eq!(snake_case("BookAuthor"), "book_author");
    assert_eq!(snake_case("HTTPLog"), "http_log");
    assert_eq!(snake_case("Isbn13Code"), "isbn13_code");
}

#[test]
fn raw_identifiers_name_their_field_without_the_prefix() {
    let input: syn::DeriveInput =
        syn::parse_str(r#"#[rowport(import_id = "type")] struct Part { r#type: String }"#).unwrap();
    let tokens = expand(&input).unwrap().to_string();
    assert!(tokens.contains("\"type\""), "{tokens}");
    assert!(!tokens.contains("\"r#type\""), "{tokens}");
}
