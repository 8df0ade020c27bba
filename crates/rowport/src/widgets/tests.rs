//! One small test per widget behaviour, named after the edge case it pins down.
//!
//! Where rowport deliberately differs from django-import-export (booleans with unknown
//! spellings, integers with a fraction, `"1,5"`), the test says so.

use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use rust_decimal::Decimal;

use super::*;
use crate::store::ColumnSchema;
use crate::value::{Value, ValueKind};
use rowport_formats::Cell;

// ---------------------------------------------------------------------------------------
// helpers

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn clean(widget: &dyn Widget, s: &str) -> Result<Value, WidgetError> {
    widget.clean(&text(s))
}

fn ok(widget: &dyn Widget, s: &str) -> Value {
    match clean(widget, s) {
        Ok(v) => v,
        Err(e) => panic!("{} refused {s:?}: {e}", widget.name()),
    }
}

fn err(widget: &dyn Widget, s: &str) -> String {
    match clean(widget, s) {
        Ok(v) => panic!("{} accepted {s:?} as {v:?}", widget.name()),
        Err(e) => e.message,
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

fn datetime(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    date(y, mo, d).and_time(time(h, mi, s))
}

fn formats(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn fk_char() -> ForeignKeyWidget {
    ForeignKeyWidget::new("author", "name", "id", Box::new(CharWidget::default()))
}

fn fk_int() -> ForeignKeyWidget {
    ForeignKeyWidget::new("author", "id", "id", Box::new(IntegerWidget::default()))
}

fn link() -> LinkTable {
    LinkTable {
        table: "book_categories".into(),
        owner_column: "book_id".into(),
        target_column: "category_id".into(),
    }
}

fn m2m(separator: &str, key_widget: Box<dyn Widget>) -> ManyToManyWidget {
    ManyToManyWidget::new("category", "name", "id", link(), separator, key_widget)
}

fn texts(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

// ---------------------------------------------------------------------------------------
// IntegerWidget

#[test]
fn integer_empty_and_whitespace_are_null() {
    let w = IntegerWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(ok(&w, "   "), Value::Null);
    assert_eq!(ok(&w, "\t\n"), Value::Null);
    assert_eq!(ok(&w, "\u{a0}"), Value::Null);
}

#[test]
fn integer_zero_is_not_empty() {
    let w = IntegerWidget::default();
    assert_eq!(ok(&w, "0"), Value::Int(0));
    assert_eq!(ok(&w, "-0"), Value::Int(0));
    assert_eq!(w.clean(&Cell::Int(0)), Ok(Value::Int(0)));
    assert_eq!(w.clean(&Cell::Float(0.0)), Ok(Value::Int(0)));
}

#[test]
fn integer_reads_signs_and_leading_zeros() {
    let w = IntegerWidget::default();
    assert_eq!(ok(&w, "42"), Value::Int(42));
    assert_eq!(ok(&w, "+42"), Value::Int(42));
    assert_eq!(ok(&w, "-42"), Value::Int(-42));
    assert_eq!(ok(&w, "007"), Value::Int(7));
}

#[test]
fn integer_trims_surrounding_whitespace() {
    assert_eq!(ok(&IntegerWidget::default(), " 42 "), Value::Int(42));
    assert_eq!(ok(&IntegerWidget::default(), "\t42\n"), Value::Int(42));
}

#[test]
fn integer_reads_grouped_digits() {
    let w = IntegerWidget::default();
    assert_eq!(ok(&w, "1,234,567"), Value::Int(1_234_567));
    assert_eq!(ok(&w, "-12,345"), Value::Int(-12_345));
    assert_eq!(ok(&w, "1 234"), Value::Int(1234));
    assert_eq!(ok(&w, "1\u{a0}234"), Value::Int(1234));
    assert_eq!(ok(&w, "1\u{202f}234\u{202f}567"), Value::Int(1_234_567));
}

#[test]
fn integer_comma_that_is_not_grouping_is_an_error() {
    // "1,5" is a decimal comma, not thousands: never read as 15.
    let w = IntegerWidget::default();
    assert_eq!(err(&w, "1,5"), "is not a whole number");
    assert_eq!(err(&w, "12,34"), "is not a whole number");
    assert_eq!(err(&w, "1234,567"), "is not a whole number");
    assert_eq!(err(&w, "1,234,"), "is not a whole number");
}

#[test]
fn integer_refuses_fraction() {
    // django-import-export truncates "1.5" to 1; rowport refuses it.
    let w = IntegerWidget::default();
    assert_eq!(err(&w, "1.5"), "is not a whole number");
    assert_eq!(err(&w, "-0.1"), "is not a whole number");
    assert_eq!(err(&w, "1,234.5"), "is not a whole number");
}

#[test]
fn integer_accepts_whole_fraction() {
    let w = IntegerWidget::default();
    assert_eq!(ok(&w, "2.0"), Value::Int(2));
    assert_eq!(ok(&w, "0.0"), Value::Int(0));
    assert_eq!(ok(&w, "1,234.00"), Value::Int(1234));
}

#[test]
fn integer_reads_scientific_notation_when_whole() {
    let w = IntegerWidget::default();
    assert_eq!(ok(&w, "1e3"), Value::Int(1000));
    assert_eq!(err(&w, "1e-3"), "is not a whole number");
}

#[test]
fn integer_not_a_number_is_an_error() {
    let w = IntegerWidget::default();
    assert_eq!(err(&w, "abc"), "is not a whole number");
    assert_eq!(err(&w, "12abc"), "is not a whole number");
    assert_eq!(err(&w, "--1"), "is not a whole number");
}

#[test]
fn integer_none_is_an_error_not_null() {
    let w = IntegerWidget::default();
    assert_eq!(err(&w, "None"), "is not a whole number");
    assert_eq!(err(&w, "null"), "is not a whole number");
}

#[test]
fn integer_too_large_is_an_error() {
    assert_eq!(
        err(&IntegerWidget::default(), "99999999999999999999"),
        "is too large for a whole number column"
    );
    assert_eq!(
        ok(&IntegerWidget::default(), "9223372036854775807"),
        Value::Int(i64::MAX)
    );
}

#[test]
fn integer_typed_cells() {
    let w = IntegerWidget::default();
    assert_eq!(w.clean(&Cell::Int(12)), Ok(Value::Int(12)));
    assert_eq!(w.clean(&Cell::Float(66.0)), Ok(Value::Int(66)));
    assert_eq!(w.clean(&Cell::Float(-3.0)), Ok(Value::Int(-3)));
}

#[test]
fn integer_typed_cells_that_are_not_whole_are_errors() {
    let w = IntegerWidget::default();
    let refused = |cell: Cell| w.clean(&cell).unwrap_err().message;
    assert_eq!(refused(Cell::Float(1.5)), "is not a whole number");
    assert_eq!(refused(Cell::Float(f64::NAN)), "is not a whole number");
    assert_eq!(refused(Cell::Float(1e20)), "is not a whole number");
    assert_eq!(refused(Cell::Bool(true)), "is not a whole number");
    assert_eq!(
        refused(Cell::Date(date(2019, 4, 23))),
        "is not a whole number"
    );
}

#[test]
fn integer_render() {
    let w = IntegerWidget::default();
    assert_eq!(w.render(&Value::Int(1234)), Cell::Int(1234));
    assert_eq!(w.render(&Value::Null), Cell::Empty);
    assert_eq!(w.name(), "integer");
    assert_eq!(w.kind(), ValueKind::Int);
}

// ---------------------------------------------------------------------------------------
// DecimalWidget

#[test]
fn decimal_empty_and_whitespace_are_null() {
    let w = DecimalWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(ok(&w, "  "), Value::Null);
}

#[test]
fn decimal_zero_is_not_empty() {
    assert_eq!(
        ok(&DecimalWidget::default(), "0"),
        Value::Decimal(Decimal::ZERO)
    );
    assert_eq!(
        ok(&DecimalWidget::default(), "0.00"),
        Value::Decimal(Decimal::ZERO)
    );
}

#[test]
fn decimal_is_exact() {
    let w = DecimalWidget::default();
    let sum = match (ok(&w, "0.1"), ok(&w, "0.2")) {
        (Value::Decimal(a), Value::Decimal(b)) => a + b,
        other => panic!("not decimals: {other:?}"),
    };
    assert_eq!(sum, dec("0.3"));
    assert_eq!(sum.to_string(), "0.3");
}

#[test]
fn decimal_round_trips_as_written() {
    let w = DecimalWidget::default();
    let v = ok(&w, "12.34");
    assert_eq!(v, Value::Decimal(dec("12.34")));
    // A decimal cell: its digits in text formats, a number in spreadsheets.
    assert_eq!(w.render(&v), Cell::Decimal("12.34".into()));
    // Scale is kept on the way back out.
    assert_eq!(w.render(&ok(&w, "1.50")).to_string(), "1.50");
    assert_eq!(w.render(&ok(&w, "-0.005")).to_string(), "-0.005");
    // What a spreadsheet gives back (a float, or a whole number) reads as the same decimal.
    assert_eq!(w.clean(&Cell::Float(8.99)), Ok(Value::Decimal(dec("8.99"))));
    assert_eq!(w.clean(&Cell::Int(12)), Ok(Value::Decimal(dec("12"))));
}

#[test]
fn decimal_reads_scientific_notation() {
    let w = DecimalWidget::default();
    assert_eq!(ok(&w, "1e3"), Value::Decimal(dec("1000")));
    assert_eq!(ok(&w, "1E3"), Value::Decimal(dec("1000")));
    assert_eq!(ok(&w, "1.5e-3"), Value::Decimal(dec("0.0015")));
}

#[test]
fn decimal_reads_grouped_digits() {
    let w = DecimalWidget::default();
    assert_eq!(ok(&w, "1,234,567.89"), Value::Decimal(dec("1234567.89")));
    assert_eq!(ok(&w, " 1 234.5 "), Value::Decimal(dec("1234.5")));
    assert_eq!(ok(&w, "1\u{a0}234.5"), Value::Decimal(dec("1234.5")));
}

#[test]
fn decimal_comma_is_not_grouping_when_not_thousands() {
    let w = DecimalWidget::default();
    assert_eq!(err(&w, "1,5"), "is not a number");
    assert_eq!(err(&w, "1.234,56"), "is not a number");
}

#[test]
fn decimal_not_a_number_is_an_error() {
    let w = DecimalWidget::default();
    assert_eq!(err(&w, "abc"), "is not a number");
    assert_eq!(err(&w, "None"), "is not a number");
    assert_eq!(err(&w, "NaN"), "is not a number");
    assert_eq!(err(&w, "e"), "is not a number");
    assert_eq!(err(&w, "12.3.4"), "is not a number");
}

#[test]
fn decimal_typed_cells() {
    let w = DecimalWidget::default();
    assert_eq!(w.clean(&Cell::Int(7)), Ok(Value::Decimal(dec("7"))));
    // The shortest decimal that round-trips the float, not 12.339999…
    assert_eq!(
        w.clean(&Cell::Float(12.34)),
        Ok(Value::Decimal(dec("12.34")))
    );
    assert_eq!(w.clean(&Cell::Float(66.0)), Ok(Value::Decimal(dec("66"))));
    assert_eq!(
        w.clean(&Cell::Float(f64::INFINITY)).unwrap_err().message,
        "is not a number"
    );
    assert_eq!(
        w.clean(&Cell::Bool(false)).unwrap_err().message,
        "is not a number"
    );
}

#[test]
fn decimal_render_null_is_empty() {
    assert_eq!(DecimalWidget::default().render(&Value::Null), Cell::Empty);
    assert_eq!(DecimalWidget::default().kind(), ValueKind::Decimal);
}

// ---------------------------------------------------------------------------------------
// FloatWidget

#[test]
fn float_empty_and_whitespace_are_null() {
    let w = FloatWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(ok(&w, " \t "), Value::Null);
}

#[test]
fn float_zero_is_not_empty() {
    assert_eq!(ok(&FloatWidget::default(), "0"), Value::Float(0.0));
    assert_eq!(ok(&FloatWidget::default(), "0.0"), Value::Float(0.0));
}

#[test]
fn float_reads_numbers() {
    let w = FloatWidget::default();
    assert_eq!(ok(&w, "1.5"), Value::Float(1.5));
    assert_eq!(ok(&w, "-0.25"), Value::Float(-0.25));
    assert_eq!(ok(&w, "1e3"), Value::Float(1000.0));
    assert_eq!(ok(&w, " 42 "), Value::Float(42.0));
}

#[test]
fn float_reads_grouped_digits() {
    let w = FloatWidget::default();
    assert_eq!(ok(&w, "1,234,567.5"), Value::Float(1_234_567.5));
    assert_eq!(ok(&w, "1 234.5"), Value::Float(1234.5));
    assert_eq!(ok(&w, "1\u{a0}234"), Value::Float(1234.0));
}

#[test]
fn float_comma_is_not_grouping_when_not_thousands() {
    assert_eq!(err(&FloatWidget::default(), "1,5"), "is not a number");
    assert_eq!(err(&FloatWidget::default(), "1 234,5"), "is not a number");
}

#[test]
fn float_not_a_number_is_an_error() {
    let w = FloatWidget::default();
    assert_eq!(err(&w, "abc"), "is not a number");
    assert_eq!(err(&w, "None"), "is not a number");
    assert_eq!(err(&w, "NaN"), "is not a number");
    assert_eq!(err(&w, "inf"), "is not a number");
    assert_eq!(err(&w, "-infinity"), "is not a number");
}

#[test]
fn float_typed_cells() {
    let w = FloatWidget::default();
    assert_eq!(w.clean(&Cell::Int(3)), Ok(Value::Float(3.0)));
    assert_eq!(w.clean(&Cell::Float(2.5)), Ok(Value::Float(2.5)));
    assert_eq!(
        w.clean(&Cell::Bool(true)).unwrap_err().message,
        "is not a number"
    );
}

#[test]
fn float_render() {
    assert_eq!(
        FloatWidget::default().render(&Value::Float(2.5)),
        Cell::Float(2.5)
    );
    assert_eq!(FloatWidget::default().render(&Value::Null), Cell::Empty);
}

// ---------------------------------------------------------------------------------------
// CharWidget

#[test]
fn char_allow_blank_reads_empty_as_empty_text() {
    let w = CharWidget::new(true);
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Text(String::new())));
    assert_eq!(ok(&w, ""), Value::Text(String::new()));
}

#[test]
fn char_without_allow_blank_reads_empty_as_null() {
    let w = CharWidget::new(false);
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
}

#[test]
fn char_default_allows_blank() {
    assert!(CharWidget::default().allow_blank);
}

#[test]
fn char_keeps_text_exactly() {
    let w = CharWidget::default();
    assert_eq!(ok(&w, "007"), Value::from("007"));
    assert_eq!(ok(&w, "  padded  "), Value::from("  padded  "));
    assert_eq!(ok(&w, "None"), Value::from("None"));
}

#[test]
fn char_whole_float_reads_without_point_zero() {
    // django-import-export gives "66.0" for an Excel number 66.
    let w = CharWidget::default();
    assert_eq!(w.clean(&Cell::Float(66.0)), Ok(Value::from("66")));
    assert_eq!(w.clean(&Cell::Float(1.5)), Ok(Value::from("1.5")));
    assert_eq!(w.clean(&Cell::Int(66)), Ok(Value::from("66")));
}

#[test]
fn char_typed_cells_read_as_text() {
    let w = CharWidget::default();
    assert_eq!(w.clean(&Cell::Bool(true)), Ok(Value::from("true")));
    assert_eq!(
        w.clean(&Cell::Date(date(2019, 4, 23))),
        Ok(Value::from("2019-04-23"))
    );
}

#[test]
fn char_render() {
    let w = CharWidget::default();
    assert_eq!(w.render(&Value::Null), Cell::Empty);
    assert_eq!(w.render(&Value::from("abc")), text("abc"));
    assert_eq!(w.render(&Value::Int(5)), text("5"));
}

// ---------------------------------------------------------------------------------------
// BooleanWidget

#[test]
fn boolean_spellings() {
    let w = BooleanWidget::default();
    for s in [
        "1", "true", "TRUE", "True", "yes", "YES", "Y", "y", "t", "T", "on", "ON", " yes ",
    ] {
        assert_eq!(ok(&w, s), Value::Bool(true), "{s:?}");
    }
    for s in [
        "0", "false", "FALSE", "False", "no", "No", "N", "n", "f", "off", "OFF",
    ] {
        assert_eq!(ok(&w, s), Value::Bool(false), "{s:?}");
    }
}

#[test]
fn boolean_none_and_null_are_null() {
    let w = BooleanWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    for s in ["", "  ", "null", "NULL", "Null", "none", "None", "NONE"] {
        assert_eq!(ok(&w, s), Value::Null, "{s:?}");
    }
}

#[test]
fn boolean_unknown_spelling_is_an_error() {
    // django-import-export reads every unknown spelling as False.
    let w = BooleanWidget::default();
    let message = err(&w, "x");
    assert_eq!(
        message,
        "is not a boolean (expected one of 1/0, true/false, yes/no, y/n, t/f, on/off)"
    );
    assert_eq!(err(&w, "2"), message);
    assert_eq!(err(&w, "yess"), message);
    assert_eq!(err(&w, "-1"), message);
}

#[test]
fn boolean_typed_cells() {
    let w = BooleanWidget::default();
    assert_eq!(w.clean(&Cell::Bool(true)), Ok(Value::Bool(true)));
    assert_eq!(w.clean(&Cell::Bool(false)), Ok(Value::Bool(false)));
    assert_eq!(w.clean(&Cell::Int(1)), Ok(Value::Bool(true)));
    assert_eq!(w.clean(&Cell::Int(0)), Ok(Value::Bool(false)));
    assert_eq!(w.clean(&Cell::Float(1.0)), Ok(Value::Bool(true)));
    assert_eq!(w.clean(&Cell::Float(0.0)), Ok(Value::Bool(false)));
}

#[test]
fn boolean_other_typed_cells_are_errors() {
    let w = BooleanWidget::default();
    for cell in [
        Cell::Int(2),
        Cell::Int(-1),
        Cell::Float(0.5),
        Cell::Date(date(2020, 1, 1)),
    ] {
        let message = w.clean(&cell).unwrap_err().message;
        assert!(
            message.starts_with("is not a boolean"),
            "{cell:?}: {message}"
        );
    }
}

#[test]
fn boolean_custom_spellings() {
    let w = BooleanWidget {
        true_values: formats(&["ja", "x"]),
        false_values: formats(&["nein", "-"]),
        null_values: formats(&["?"]),
        unknown_is_false: false,
    };
    assert_eq!(ok(&w, "JA"), Value::Bool(true));
    assert_eq!(ok(&w, "x"), Value::Bool(true));
    assert_eq!(ok(&w, "nein"), Value::Bool(false));
    assert_eq!(ok(&w, "-"), Value::Bool(false));
    assert_eq!(ok(&w, "?"), Value::Null);
    assert_eq!(ok(&w, ""), Value::Null);
    // The defaults are replaced, not extended.
    assert_eq!(
        err(&w, "yes"),
        "is not a boolean (expected one of ja/nein, x/-)"
    );
    assert!(clean(&w, "null").is_err());
}

#[test]
fn boolean_error_lists_every_spelling_when_lists_differ_in_length() {
    let w = BooleanWidget {
        true_values: formats(&["ja", "yes", "y"]),
        false_values: formats(&["nein"]),
        null_values: Vec::new(),
        unknown_is_false: false,
    };
    assert_eq!(
        err(&w, "maybe"),
        "is not a boolean (expected one of ja, yes, y (true) or nein (false))"
    );
}

#[test]
fn boolean_render() {
    let w = BooleanWidget::default();
    assert_eq!(w.render(&Value::Bool(true)), Cell::Bool(true));
    assert_eq!(w.render(&Value::Bool(false)), Cell::Bool(false));
    assert_eq!(w.render(&Value::Int(0)), Cell::Bool(false));
    assert_eq!(w.render(&Value::Null), Cell::Empty);
}

// ---------------------------------------------------------------------------------------
// DateWidget

#[test]
fn date_default_is_iso() {
    let w = DateWidget::default();
    let v = ok(&w, "2019-04-23");
    assert_eq!(v, Value::Date(date(2019, 4, 23)));
    // A typed cell, so that a spreadsheet gets a date; text formats write its ISO text.
    assert_eq!(w.render(&v), Cell::Date(date(2019, 4, 23)));
    assert_eq!(w.render(&v).to_string(), "2019-04-23");
    assert_eq!(ok(&w, " 2019-04-23 "), Value::Date(date(2019, 4, 23)));
}

#[test]
fn date_empty_is_null() {
    let w = DateWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(ok(&w, "   "), Value::Null);
}

#[test]
fn date_several_formats() {
    let w = DateWidget::new(formats(&["%d.%m.%Y", "%Y-%m-%d"]));
    assert_eq!(ok(&w, "23.04.2019"), Value::Date(date(2019, 4, 23)));
    assert_eq!(ok(&w, "2019-04-23"), Value::Date(date(2019, 4, 23)));
}

#[test]
fn date_renders_with_first_format() {
    let w = DateWidget::new(formats(&["%d.%m.%Y", "%Y-%m-%d"]));
    let v = ok(&w, "2019-04-23");
    assert_eq!(w.render(&v), text("23.04.2019"));
    assert_eq!(w.render(&Value::Null), Cell::Empty);
}

#[test]
fn date_error_message_names_expected_format() {
    let w = DateWidget::new(formats(&["%d.%m.%Y", "%Y-%m-%d"]));
    assert_eq!(
        err(&w, "04/23/2019"),
        "is not a date (expected DD.MM.YYYY or YYYY-MM-DD)"
    );
    assert_eq!(
        err(&DateWidget::default(), "23.04.2019"),
        "is not a date (expected YYYY-MM-DD)"
    );
}

#[test]
fn date_invalid_dates_are_errors() {
    let w = DateWidget::default();
    assert_eq!(err(&w, "2019-13-45"), "is not a date (expected YYYY-MM-DD)");
    assert_eq!(err(&w, "2019-02-30"), "is not a date (expected YYYY-MM-DD)");
    assert_eq!(
        err(&w, "1996x-01-01"),
        "is not a date (expected YYYY-MM-DD)"
    );
    assert_eq!(err(&w, "None"), "is not a date (expected YYYY-MM-DD)");
    assert_eq!(
        err(&w, "2019-04-23 10:00"),
        "is not a date (expected YYYY-MM-DD)"
    );
}

#[test]
fn date_year_before_1000_is_zero_padded() {
    let w = DateWidget::default();
    let v = ok(&w, "0010-08-02");
    assert_eq!(v, Value::Date(date(10, 8, 2)));
    assert_eq!(w.render(&v).to_string(), "0010-08-02");
    let dotted = DateWidget::new(formats(&["%d.%m.%Y"]));
    assert_eq!(dotted.render(&v), text("02.08.0010"));
}

#[test]
fn date_typed_cells() {
    let w = DateWidget::default();
    assert_eq!(
        w.clean(&Cell::Date(date(2019, 4, 23))),
        Ok(Value::Date(date(2019, 4, 23)))
    );
    assert_eq!(
        w.clean(&Cell::DateTime(datetime(2019, 4, 23, 10, 30, 0))),
        Ok(Value::Date(date(2019, 4, 23)))
    );
}

#[test]
fn date_excel_serial_number_is_a_date() {
    // django-import-export refuses the float an unformatted Excel date arrives as.
    let w = DateWidget::default();
    let expected = Ok(Value::Date(date(2019, 4, 23)));
    assert_eq!(w.clean(&Cell::Int(43578)), expected);
    assert_eq!(w.clean(&Cell::Float(43578.0)), expected);
    assert_eq!(
        w.clean(&Cell::Float(43578.75)),
        expected,
        "the time of day is dropped"
    );
    assert_eq!(w.clean(&Cell::Int(1)), Ok(Value::Date(date(1900, 1, 1))));
    assert_eq!(w.clean(&Cell::Int(61)), Ok(Value::Date(date(1900, 3, 1))));
    // Excel's 29 February 1900 never was; nor are days before its calendar or after 9999.
    for not_a_date in [
        Cell::Int(60),
        Cell::Int(0),
        Cell::Int(-1),
        Cell::Int(3_000_000),
    ] {
        assert_eq!(
            w.clean(&not_a_date).unwrap_err().message,
            "is not a date (expected YYYY-MM-DD)",
            "{not_a_date:?}"
        );
    }
    // Text is never a serial: "43578" in a CSV is a typo, not a date.
    assert_eq!(err(&w, "43578"), "is not a date (expected YYYY-MM-DD)");
}

#[test]
fn date_describe_lists_formats() {
    let w = DateWidget::new(formats(&["%d.%m.%Y", "%Y-%m-%d"]));
    assert_eq!(w.describe(), "format %d.%m.%Y | %Y-%m-%d");
    assert_eq!(DateWidget::default().describe(), "");
}

// ---------------------------------------------------------------------------------------
// TimeWidget

#[test]
fn time_hours_and_minutes() {
    assert_eq!(
        ok(&TimeWidget::default(), "12:30"),
        Value::Time(time(12, 30, 0))
    );
}

#[test]
fn time_with_seconds() {
    let w = TimeWidget::default();
    let v = ok(&w, "12:30:15");
    assert_eq!(v, Value::Time(time(12, 30, 15)));
    assert_eq!(w.render(&v), Cell::Time(time(12, 30, 15)));
    assert_eq!(w.render(&v).to_string(), "12:30:15");
}

#[test]
fn time_with_fraction() {
    let w = TimeWidget::default();
    let v = ok(&w, "12:30:15.5");
    assert_eq!(
        v,
        Value::Time(NaiveTime::from_hms_milli_opt(12, 30, 15, 500).unwrap())
    );
    assert_eq!(w.render(&v).to_string(), "12:30:15.500");
}

#[test]
fn time_fraction_of_a_day_is_a_time() {
    let w = TimeWidget::default();
    assert_eq!(w.clean(&Cell::Float(0.75)), Ok(Value::Time(time(18, 0, 0))));
    assert_eq!(w.clean(&Cell::Int(0)), Ok(Value::Time(time(0, 0, 0))));
    assert_eq!(
        w.clean(&Cell::Float(0.520_833_333_333_333_3)),
        Ok(Value::Time(time(12, 30, 0)))
    );
    for not_a_time in [Cell::Float(1.5), Cell::Int(2), Cell::Float(-0.25)] {
        assert!(w.clean(&not_a_time).is_err(), "{not_a_time:?}");
    }
}

#[test]
fn time_empty_is_null() {
    let w = TimeWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, " "), Value::Null);
}

#[test]
fn time_invalid_is_an_error() {
    let w = TimeWidget::default();
    assert_eq!(err(&w, "25:00"), "is not a time (expected HH:MM:SS)");
    assert_eq!(err(&w, "12:61"), "is not a time (expected HH:MM:SS)");
    assert_eq!(err(&w, "noon"), "is not a time (expected HH:MM:SS)");
}

#[test]
fn time_custom_format() {
    let w = TimeWidget::new(formats(&["%I:%M %p"]));
    let v = ok(&w, "02:30 PM");
    assert_eq!(v, Value::Time(time(14, 30, 0)));
    assert_eq!(w.render(&v), text("02:30 PM"));
    assert_eq!(err(&w, "14:30"), "is not a time (expected hh:MM AM/PM)");
}

#[test]
fn time_typed_cells() {
    let w = TimeWidget::default();
    assert_eq!(
        w.clean(&Cell::Time(time(8, 0, 0))),
        Ok(Value::Time(time(8, 0, 0)))
    );
    assert_eq!(
        w.clean(&Cell::DateTime(datetime(2020, 1, 2, 8, 15, 0))),
        Ok(Value::Time(time(8, 15, 0)))
    );
    assert!(w.clean(&Cell::Date(date(2020, 1, 2))).is_err());
}

// ---------------------------------------------------------------------------------------
// DateTimeWidget

#[test]
fn datetime_default_with_space() {
    let w = DateTimeWidget::default();
    let v = ok(&w, "2021-03-04 12:30:00");
    assert_eq!(v, Value::DateTime(datetime(2021, 3, 4, 12, 30, 0)));
    assert_eq!(
        w.render(&v),
        Cell::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
    assert_eq!(w.render(&v).to_string(), "2021-03-04 12:30:00");
}

#[test]
fn datetime_with_t_separator() {
    assert_eq!(
        ok(&DateTimeWidget::default(), "2021-03-04T12:30:00"),
        Value::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
}

#[test]
fn datetime_without_seconds() {
    let w = DateTimeWidget::default();
    assert_eq!(
        ok(&w, "2021-03-04 12:30"),
        Value::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
    assert_eq!(
        ok(&w, "2021-03-04T12:30"),
        Value::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
}

#[test]
fn datetime_fractional_seconds() {
    let w = DateTimeWidget::default();
    let v = ok(&w, "2021-03-04T12:30:00.123456");
    let expected =
        date(2021, 3, 4).and_time(NaiveTime::from_hms_micro_opt(12, 30, 0, 123_456).unwrap());
    assert_eq!(v, Value::DateTime(expected));
    assert_eq!(w.render(&v).to_string(), "2021-03-04 12:30:00.123456");
}

#[test]
fn datetime_keeps_offset() {
    let w = DateTimeWidget::default();
    let v = ok(&w, "2021-03-04T12:30:00+02:00");
    let plus2 = FixedOffset::east_opt(2 * 3600).unwrap();
    let expected = plus2.with_ymd_and_hms(2021, 3, 4, 12, 30, 0).unwrap();
    assert_eq!(v, Value::DateTimeTz(expected));
    match &v {
        Value::DateTimeTz(dt) => assert_eq!(dt.offset().local_minus_utc(), 7200),
        other => panic!("not a DateTimeTz: {other:?}"),
    }
    assert_eq!(w.render(&v), text("2021-03-04 12:30:00+02:00"));
}

#[test]
fn datetime_z_is_utc() {
    let w = DateTimeWidget::default();
    let v = ok(&w, "2021-03-04T12:30:00Z");
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        v,
        Value::DateTimeTz(utc.with_ymd_and_hms(2021, 3, 4, 12, 30, 0).unwrap())
    );
    assert_eq!(w.render(&v), text("2021-03-04 12:30:00+00:00"));
}

#[test]
fn datetime_offset_with_space_separator() {
    let minus5 = FixedOffset::west_opt(5 * 3600).unwrap();
    let expected = Value::DateTimeTz(minus5.with_ymd_and_hms(2021, 3, 4, 12, 30, 0).unwrap());
    let w = DateTimeWidget::default();
    assert_eq!(ok(&w, "2021-03-04 12:30:00-05:00"), expected);
    assert_eq!(ok(&w, "2021-03-04 12:30:00-0500"), expected);
}

#[test]
fn datetime_empty_is_null() {
    let w = DateTimeWidget::default();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
}

#[test]
fn datetime_invalid_is_an_error() {
    let w = DateTimeWidget::default();
    let expected = "is not a date and time (expected YYYY-MM-DD HH:MM:SS)";
    assert_eq!(err(&w, "2019-13-45 10:00:00"), expected);
    assert_eq!(err(&w, "1996x-01-01 10:00:00"), expected);
    assert_eq!(err(&w, "2021-03-04 25:00:00"), expected);
    assert_eq!(err(&w, "yesterday"), expected);
}

#[test]
fn datetime_date_only_text_is_an_error() {
    // A date cell becomes midnight, but date-only text is refused by the default format.
    assert_eq!(
        err(&DateTimeWidget::default(), "2021-03-04"),
        "is not a date and time (expected YYYY-MM-DD HH:MM:SS)"
    );
}

#[test]
fn datetime_custom_formats() {
    let w = DateTimeWidget::new(formats(&["%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S"]));
    let v = ok(&w, "04.03.2021 12:30");
    assert_eq!(v, Value::DateTime(datetime(2021, 3, 4, 12, 30, 0)));
    assert_eq!(
        ok(&w, "2021-03-04 12:30:00"),
        Value::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
    assert_eq!(w.render(&v), text("04.03.2021 12:30"));
    assert_eq!(
        err(&w, "2021-03-04T12:30:00"),
        "is not a date and time (expected DD.MM.YYYY HH:MM or YYYY-MM-DD HH:MM:SS)"
    );
}

#[test]
fn datetime_custom_format_with_offset() {
    let w = DateTimeWidget::new(formats(&["%d.%m.%Y %H:%M %z"]));
    let plus1 = FixedOffset::east_opt(3600).unwrap();
    let v = ok(&w, "04.03.2021 12:30 +0100");
    assert_eq!(
        v,
        Value::DateTimeTz(plus1.with_ymd_and_hms(2021, 3, 4, 12, 30, 0).unwrap())
    );
    assert_eq!(w.render(&v), text("04.03.2021 12:30 +0100"));
}

#[test]
fn datetime_typed_cells() {
    let w = DateTimeWidget::default();
    let dt = datetime(2021, 3, 4, 12, 30, 0);
    assert_eq!(w.clean(&Cell::DateTime(dt)), Ok(Value::DateTime(dt)));
    assert_eq!(
        w.clean(&Cell::Date(date(2021, 3, 4))),
        Ok(Value::DateTime(datetime(2021, 3, 4, 0, 0, 0)))
    );
    assert!(w.clean(&Cell::Time(time(12, 0, 0))).is_err());
    // A number is an Excel serial (1900 date system).
    assert_eq!(
        w.clean(&Cell::Float(44000.5)),
        Ok(Value::DateTime(datetime(2020, 6, 18, 12, 0, 0)))
    );
    assert_eq!(
        w.clean(&Cell::Int(44000)),
        Ok(Value::DateTime(datetime(2020, 6, 18, 0, 0, 0)))
    );
    assert!(w.clean(&Cell::Float(60.5)).is_err());
}

#[test]
fn datetime_year_before_1000_is_zero_padded() {
    let w = DateTimeWidget::default();
    let v = ok(&w, "0010-08-02 01:02:03");
    assert_eq!(v, Value::DateTime(datetime(10, 8, 2, 1, 2, 3)));
    assert_eq!(w.render(&v).to_string(), "0010-08-02 01:02:03");
}

// ---------------------------------------------------------------------------------------
// ForeignKeyWidget

#[test]
fn foreign_key_empty_is_null() {
    let w = fk_char();
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    // Even though the key widget (CharWidget, allow_blank) would give "".
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(ok(&w, "   "), Value::Null);
}

#[test]
fn foreign_key_text_key_is_trimmed() {
    assert_eq!(ok(&fk_char(), " Author 1 "), Value::from("Author 1"));
}

#[test]
fn foreign_key_integer_key() {
    let w = fk_int();
    assert_eq!(ok(&w, "12"), Value::Int(12));
    assert_eq!(ok(&w, " 12 "), Value::Int(12));
    assert_eq!(w.clean(&Cell::Float(12.0)), Ok(Value::Int(12)));
    assert_eq!(err(&w, "x"), "is not a whole number");
}

#[test]
fn foreign_key_zero_is_a_key() {
    // django-import-export treats 0 as "no value"; it is a valid key.
    assert_eq!(fk_int().clean(&Cell::Int(0)), Ok(Value::Int(0)));
    assert_eq!(ok(&fk_int(), "0"), Value::Int(0));
}

#[test]
fn foreign_key_typed_number_into_text_key() {
    assert_eq!(fk_char().clean(&Cell::Float(12.0)), Ok(Value::from("12")));
}

#[test]
fn foreign_key_render_and_relation() {
    let w = fk_int();
    assert_eq!(w.render(&Value::Int(12)), Cell::Int(12));
    assert_eq!(w.render(&Value::Null), Cell::Empty);
    assert_eq!(fk_char().render(&Value::from("Author 1")), text("Author 1"));
    assert_eq!(w.kind(), ValueKind::Int);
    assert_eq!(fk_char().kind(), ValueKind::Text);
    let relation = fk_char().relation().cloned().unwrap();
    assert_eq!(relation.table, "author");
    assert_eq!(relation.lookup, "name");
    assert_eq!(relation.key, "id");
    assert_eq!(relation.kind, RelationKind::ForeignKey);
    assert_eq!(fk_char().describe(), "author.name");
}

// ---------------------------------------------------------------------------------------
// ManyToManyWidget

#[test]
fn many_to_many_splits_on_separator() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(ok(&w, "a|b|c"), texts(&["a", "b", "c"]));
}

#[test]
fn many_to_many_strips_whitespace_around_parts() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(
        ok(&w, " Category 01 | Category 06 "),
        texts(&["Category 01", "Category 06"])
    );
}

#[test]
fn many_to_many_drops_empty_parts() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(ok(&w, "a||b|"), texts(&["a", "b"]));
    assert_eq!(ok(&w, "| |"), texts(&[]));
}

#[test]
fn many_to_many_removes_duplicates() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(ok(&w, "a|b|a| b"), texts(&["a", "b"]));
    let ints = m2m(",", Box::new(IntegerWidget::default()));
    assert_eq!(
        ok(&ints, "1,01,2"),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
}

#[test]
fn many_to_many_empty_cell_is_empty_list() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::List(Vec::new())));
    assert_eq!(ok(&w, ""), Value::List(Vec::new()));
    assert_eq!(ok(&w, "   "), Value::List(Vec::new()));
}

#[test]
fn many_to_many_typed_number_is_one_key() {
    let w = m2m(",", Box::new(IntegerWidget::default()));
    assert_eq!(w.clean(&Cell::Int(5)), Ok(Value::List(vec![Value::Int(5)])));
    assert_eq!(
        w.clean(&Cell::Float(5.0)),
        Ok(Value::List(vec![Value::Int(5)]))
    );
}

#[test]
fn many_to_many_integer_keys() {
    let w = m2m(",", Box::new(IntegerWidget::default()));
    assert_eq!(
        ok(&w, "1, 2,3"),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
    assert_eq!(err(&w, "1,x,3"), "is not a whole number");
}

#[test]
fn many_to_many_multi_character_separator() {
    let w = m2m(" / ", Box::new(CharWidget::default()));
    assert_eq!(ok(&w, "a/b / c"), texts(&["a/b", "c"]));
}

#[test]
fn many_to_many_render_joins_with_separator() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(w.render(&texts(&["a", "b", "c"])), text("a|b|c"));
    assert_eq!(w.render(&texts(&[])), text(""));
    assert_eq!(w.render(&Value::Null), text(""));
    let ints = m2m(",", Box::new(IntegerWidget::default()));
    assert_eq!(
        ints.render(&Value::List(vec![Value::Int(1), Value::Int(22)])),
        text("1,22")
    );
}

#[test]
fn many_to_many_round_trip() {
    let w = m2m("|", Box::new(CharWidget::default()));
    let v = ok(&w, " x | y ||x");
    assert_eq!(w.render(&v), text("x|y"));
    assert_eq!(w.clean(&w.render(&v)), Ok(v));
}

#[test]
fn many_to_many_relation_and_describe() {
    let w = m2m("|", Box::new(CharWidget::default()));
    assert_eq!(w.kind(), ValueKind::List);
    let relation = w.relation().unwrap();
    assert_eq!(relation.table, "category");
    assert_eq!(
        relation.kind,
        RelationKind::ManyToMany {
            link: link(),
            separator: "|".into(),
            add: false
        }
    );
    assert_eq!(
        w.describe(),
        "category.name via book_categories, separator \"|\""
    );
}

// ---------------------------------------------------------------------------------------
// parse helpers

#[test]
fn strip_grouping_removes_thousands_commas() {
    assert_eq!(parse::strip_grouping("1,234,567"), "1234567");
    assert_eq!(parse::strip_grouping("-12,345,678.90"), "-12345678.90");
    assert_eq!(parse::strip_grouping("+1,000"), "+1000");
}

#[test]
fn strip_grouping_keeps_other_commas() {
    assert_eq!(parse::strip_grouping("1,5"), "1,5");
    assert_eq!(parse::strip_grouping("12,34"), "12,34");
    assert_eq!(parse::strip_grouping("1234,567"), "1234,567");
    assert_eq!(parse::strip_grouping("1,2345"), "1,2345");
    assert_eq!(parse::strip_grouping(",123"), ",123");
    assert_eq!(parse::strip_grouping("1.234,56"), "1.234,56");
}

#[test]
fn strip_grouping_removes_spaces() {
    assert_eq!(parse::strip_grouping(" 42 "), "42");
    assert_eq!(parse::strip_grouping("1 234"), "1234");
    assert_eq!(parse::strip_grouping("1\u{a0}234"), "1234");
    assert_eq!(parse::strip_grouping("1\u{202f}234,5"), "1234,5");
    assert_eq!(parse::strip_grouping("1\u{2009}234"), "1234");
}

#[test]
fn strip_grouping_borrows_when_nothing_to_strip() {
    assert!(matches!(
        parse::strip_grouping(" 42\n"),
        std::borrow::Cow::Borrowed("42")
    ));
    assert!(matches!(
        parse::strip_grouping("1,234"),
        std::borrow::Cow::Owned(_)
    ));
}

#[test]
fn human_format_dates() {
    assert_eq!(parse::human_format("%Y-%m-%d"), "YYYY-MM-DD");
    assert_eq!(parse::human_format("%d.%m.%Y"), "DD.MM.YYYY");
    assert_eq!(parse::human_format("%d/%m/%y"), "DD/MM/YY");
    assert_eq!(parse::human_format("%d %b %Y"), "DD Mon YYYY");
    assert_eq!(parse::human_format("%d %B %Y"), "DD Month YYYY");
}

#[test]
fn human_format_times() {
    assert_eq!(parse::human_format("%H:%M:%S"), "HH:MM:SS");
    assert_eq!(parse::human_format("%H:%M:%S%.f"), "HH:MM:SS[.ffffff]");
    assert_eq!(parse::human_format("%I:%M %p"), "hh:MM AM/PM");
    assert_eq!(
        parse::human_format("%Y-%m-%dT%H:%M:%S%:z"),
        "YYYY-MM-DDTHH:MM:SS+HH:MM"
    );
    assert_eq!(parse::human_format("%H%M %z"), "HHMM +HHMM");
}

#[test]
fn parse_decimal_helper() {
    assert_eq!(parse::decimal("1,234.5"), Some(dec("1234.5")));
    assert_eq!(parse::decimal("1e3"), Some(dec("1000")));
    assert_eq!(parse::decimal(""), None);
    assert_eq!(parse::decimal("abc"), None);
}

#[test]
fn parse_iso_helpers() {
    assert_eq!(parse::iso_date(" 2019-04-23 "), Some(date(2019, 4, 23)));
    assert_eq!(parse::iso_date("23.04.2019"), None);
    assert_eq!(parse::iso_time("12:30"), Some(time(12, 30, 0)));
    assert_eq!(parse::iso_time("12"), None);
    assert_eq!(
        parse::iso_datetime("2021-03-04 12:30:00"),
        Some(Value::DateTime(datetime(2021, 3, 4, 12, 30, 0)))
    );
    assert_eq!(parse::iso_datetime("2021-03-04"), None);
}

// ---------------------------------------------------------------------------------------
// for_kind

#[test]
fn for_kind_picks_widget_by_column_kind() {
    let names: Vec<_> = [
        ValueKind::Bool,
        ValueKind::Int,
        ValueKind::Decimal,
        ValueKind::Float,
        ValueKind::Date,
        ValueKind::Time,
        ValueKind::DateTime,
        ValueKind::Text,
        ValueKind::Duration,
        ValueKind::Uuid,
        ValueKind::Json,
        ValueKind::List,
    ]
    .into_iter()
    .map(|k| for_kind(k, true).name().to_owned())
    .collect();
    assert_eq!(
        names,
        [
            "boolean",
            "integer",
            "decimal",
            "float",
            "date",
            "time",
            "datetime",
            "char",
            "duration",
            "uuid",
            "json",
            "simple_array"
        ]
    );
}

#[test]
fn for_kind_text_blank_depends_on_nullability() {
    assert_eq!(
        for_kind(ValueKind::Text, true).clean(&Cell::Empty),
        Ok(Value::Null)
    );
    assert_eq!(
        for_kind(ValueKind::Text, false).clean(&Cell::Empty),
        Ok(Value::Text(String::new()))
    );
}

// ---------------------------------------------------------------------------------------
// for_column

#[test]
fn for_column_reads_array_items_by_their_kind() {
    let column = ColumnSchema {
        array_of: Some(ValueKind::Int),
        ..ColumnSchema::new("scores", "integer[]", ValueKind::List)
    };
    let w = for_column(&column);
    assert_eq!(w.name(), "simple_array");
    assert_eq!(
        ok(w.as_ref(), "1,2,3"),
        Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
    );
    assert_eq!(
        err(w.as_ref(), "1,x"),
        "has an item \"x\" that is not a whole number"
    );
}

#[test]
fn for_column_gives_an_enum_its_choices() {
    let column = ColumnSchema {
        choices: Some(vec!["draft".into(), "published".into()]),
        nullable: false,
        ..ColumnSchema::new("status", "book_status", ValueKind::Text)
    };
    let w = for_column(&column);
    assert_eq!(w.name(), "char");
    assert_eq!(ok(w.as_ref(), "draft"), Value::from("draft"));
    assert_eq!(
        err(w.as_ref(), "lost"),
        "is not one of the choices (draft, published)"
    );
}

#[test]
fn for_column_reads_a_timestamptz_without_offset_as_utc() {
    let column = ColumnSchema {
        with_time_zone: true,
        ..ColumnSchema::new("added", "timestamp with time zone", ValueKind::DateTime)
    };
    let w = for_column(&column);
    let utc = FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        ok(w.as_ref(), "2021-03-04 12:30:00"),
        Value::DateTimeTz(utc.with_ymd_and_hms(2021, 3, 4, 12, 30, 0).unwrap())
    );
    // An offset in the file is kept, and the instant is written back in UTC.
    let paris = ok(w.as_ref(), "2021-03-04 12:30:00+01:00");
    assert_eq!(
        paris,
        Value::DateTimeTz(utc.with_ymd_and_hms(2021, 3, 4, 11, 30, 0).unwrap())
    );
    // A typed cell, so that a spreadsheet gets a real date and time.
    assert_eq!(
        w.render(&paris),
        Cell::DateTime(datetime(2021, 3, 4, 11, 30, 0))
    );
    // Without the column's zone, a naive value stays naive.
    let plain = for_column(&ColumnSchema::new(
        "added",
        "timestamp",
        ValueKind::DateTime,
    ));
    assert_eq!(
        ok(plain.as_ref(), "2021-03-04 12:30:00"),
        Value::DateTime(datetime(2021, 3, 4, 12, 30, 0))
    );
}

// ---------------------------------------------------------------------------------------
// CharWidget choices

#[test]
fn char_choices_accept_only_their_labels_and_leave_null_alone() {
    let w = CharWidget::new(false).with_choices(vec!["red".into(), "green".into()]);
    assert_eq!(ok(&w, "green"), Value::from("green"));
    assert_eq!(ok(&w, ""), Value::Null);
    // Labels are compared exactly, as PostgreSQL compares enum labels.
    assert_eq!(err(&w, "Green"), "is not one of the choices (red, green)");
    assert_eq!(w.describe(), "choices red | green");
}

#[test]
fn char_choices_refuse_an_empty_cell_that_reads_as_blank() {
    let w = CharWidget::new(true).with_choices(vec!["red".into()]);
    assert_eq!(err(&w, ""), "is not one of the choices (red)");
}

// ---------------------------------------------------------------------------------------
// DurationWidget

fn td(days: i64, h: i64, m: i64, s: i64, us: i64) -> Value {
    Value::Duration(
        chrono::TimeDelta::days(days)
            + chrono::TimeDelta::hours(h)
            + chrono::TimeDelta::minutes(m)
            + chrono::TimeDelta::seconds(s)
            + chrono::TimeDelta::microseconds(us),
    )
}

#[test]
fn duration_reads_python_timedelta_text() {
    let w = DurationWidget;
    assert_eq!(ok(&w, "1 day, 2:03:04"), td(1, 2, 3, 4, 0));
    assert_eq!(ok(&w, "2 days, 0:00:00"), td(2, 0, 0, 0, 0));
    assert_eq!(ok(&w, "2:03:04"), td(0, 2, 3, 4, 0));
    assert_eq!(ok(&w, "0:00:00.500000"), td(0, 0, 0, 0, 500_000));
    assert_eq!(ok(&w, "-1 day, 23:59:59"), td(0, 0, 0, -1, 0));
}

#[test]
fn duration_reads_django_short_forms() {
    // Django's parse_duration: MM:SS, plain seconds, a fraction padded on the right.
    let w = DurationWidget;
    assert_eq!(ok(&w, "03:04"), td(0, 0, 3, 4, 0));
    assert_eq!(ok(&w, "30"), td(0, 0, 0, 30, 0));
    assert_eq!(ok(&w, "1:02:03.5"), td(0, 1, 2, 3, 500_000));
    assert_eq!(ok(&w, "1:02:03,25"), td(0, 1, 2, 3, 250_000));
    assert_eq!(ok(&w, "-2:00:00"), td(0, -2, 0, 0, 0));
    assert_eq!(ok(&w, "3 2:00:00"), td(3, 2, 0, 0, 0));
}

#[test]
fn duration_reads_iso_8601() {
    let w = DurationWidget;
    assert_eq!(ok(&w, "P1DT2H"), td(1, 2, 0, 0, 0));
    assert_eq!(ok(&w, "P3D"), td(3, 0, 0, 0, 0));
    assert_eq!(ok(&w, "PT1H30M"), td(0, 1, 30, 0, 0));
    assert_eq!(ok(&w, "PT1.5S"), td(0, 0, 0, 1, 500_000));
    assert_eq!(ok(&w, "P0.5D"), td(0, 12, 0, 0, 0));
    assert_eq!(ok(&w, "-P1DT1H"), td(-1, -1, 0, 0, 0));
}

#[test]
fn duration_reads_postgresql_interval_text() {
    let w = DurationWidget;
    assert_eq!(ok(&w, "3 days 04:05:06"), td(3, 4, 5, 6, 0));
    assert_eq!(ok(&w, "1 day"), td(1, 0, 0, 0, 0));
    assert_eq!(ok(&w, "-1 days +02:00:00"), td(-1, 2, 0, 0, 0));
}

#[test]
fn duration_empty_is_null_and_nonsense_is_refused() {
    // django-import-export reads a non-matching string as None, silently.
    let w = DurationWidget;
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::Null));
    assert_eq!(ok(&w, "  "), Value::Null);
    let message =
        "is not a duration (expected [D day[s], ]HH:MM:SS[.ffffff] or ISO 8601 such as P1DT2H)";
    for bad in [
        "soon", "1:2:3:4", "P", "PT", "P1H", "1 week", "1:xx", "P1DT2H3X",
    ] {
        assert_eq!(err(&w, bad), message, "{bad:?}");
    }
}

#[test]
fn duration_typed_cells() {
    let w = DurationWidget;
    assert_eq!(w.clean(&Cell::Int(90)), Ok(td(0, 0, 1, 30, 0)));
    assert_eq!(w.clean(&Cell::Float(1.5)), Ok(td(0, 0, 0, 1, 500_000)));
    assert_eq!(w.clean(&Cell::Time(time(2, 3, 4))), Ok(td(0, 2, 3, 4, 0)));
    assert!(w.clean(&Cell::Bool(true)).is_err());
}

#[test]
fn duration_renders_as_python_prints_a_timedelta() {
    let w = DurationWidget;
    assert_eq!(w.render(&td(1, 2, 3, 4, 0)), text("1 day, 2:03:04"));
    assert_eq!(w.render(&td(2, 0, 0, 0, 0)), text("2 days, 0:00:00"));
    assert_eq!(w.render(&td(0, 0, 0, 30, 0)), text("0:00:30"));
    assert_eq!(w.render(&td(0, 0, 0, 0, 500_000)), text("0:00:00.500000"));
    assert_eq!(w.render(&td(0, 0, 0, -1, 0)), text("-1 day, 23:59:59"));
    assert_eq!(w.render(&td(-3, 0, 0, 0, 0)), text("-3 days, 0:00:00"));
    assert_eq!(w.render(&Value::Null), Cell::Empty);
}

#[test]
fn duration_round_trips_through_its_text() {
    let w = DurationWidget;
    for v in [
        td(1, 2, 3, 4, 0),
        td(0, 0, 0, -1, 0),
        td(-3, 4, 0, 0, 25),
        td(400, 23, 59, 59, 999_999),
    ] {
        let cell = w.render(&v);
        assert_eq!(w.clean(&cell), Ok(v.clone()), "{cell}");
    }
}

// ---------------------------------------------------------------------------------------
// JsonWidget

#[test]
fn json_reads_documents_and_keeps_falsy_ones() {
    let w = JsonWidget::default();
    assert_eq!(
        ok(&w, r#"{"a": [1, 2]}"#),
        Value::Json(serde_json::json!({"a": [1, 2]}))
    );
    assert_eq!(ok(&w, "0"), Value::Json(serde_json::json!(0)));
    assert_eq!(ok(&w, "[]"), Value::Json(serde_json::json!([])));
    assert_eq!(ok(&w, "{}"), Value::Json(serde_json::json!({})));
    assert_eq!(ok(&w, "null"), Value::Json(serde_json::Value::Null));
    assert_eq!(ok(&w, ""), Value::Null);
    assert_eq!(
        w.clean(&Cell::Int(5)),
        Ok(Value::Json(serde_json::json!(5)))
    );
}

#[test]
fn json_retries_single_quotes_as_django_import_export_does() {
    assert_eq!(
        ok(&JsonWidget::default(), "{'a': 'b'}"),
        Value::Json(serde_json::json!({"a": "b"}))
    );
}

#[test]
fn json_refuses_what_is_not_json() {
    assert_eq!(
        err(&JsonWidget::default(), "{oops"),
        "is not valid JSON (key must be a string at line 1 column 2)"
    );
}

#[test]
fn json_renders_compact_text() {
    let w = JsonWidget::default();
    assert_eq!(
        w.render(&Value::Json(serde_json::json!({"b": 1, "a": [true, null]}))),
        text(r#"{"b":1,"a":[true,null]}"#)
    );
    assert_eq!(w.render(&Value::Null), Cell::Empty);
}

// ---------------------------------------------------------------------------------------
// SimpleArrayWidget

#[test]
fn simple_array_splits_without_trimming_as_django_import_export() {
    let w = SimpleArrayWidget::new(",", Box::new(CharWidget::default()));
    assert_eq!(ok(&w, "a, b,c"), texts(&["a", " b", "c"]));
    assert_eq!(ok(&w, ""), Value::List(Vec::new()));
    assert_eq!(w.clean(&Cell::Empty), Ok(Value::List(Vec::new())));
}

#[test]
fn simple_array_uses_its_separator_and_item_widget() {
    let w = SimpleArrayWidget::new("|", Box::new(DecimalWidget::default()));
    assert_eq!(
        ok(&w, "1.50|2"),
        Value::List(vec![Value::Decimal(dec("1.50")), Value::Decimal(dec("2"))])
    );
    assert_eq!(err(&w, "1|two"), "has an item \"two\" that is not a number");
    assert_eq!(w.describe(), "items decimal, separator \"|\"");
}

#[test]
fn simple_array_renders_items_joined() {
    let w = SimpleArrayWidget::new(";", Box::new(IntegerWidget::default()));
    assert_eq!(
        w.render(&Value::List(vec![Value::Int(1), Value::Int(22)])),
        text("1;22")
    );
    assert_eq!(w.render(&Value::List(Vec::new())), text(""));
    assert_eq!(w.render(&Value::Null), text(""));
}

// ---------------------------------------------------------------------------------------
// UuidWidget

#[test]
fn uuid_reads_every_form_python_reads() {
    let w = UuidWidget;
    let expected = Value::Uuid(0x123e4567_e89b_12d3_a456_426614174000);
    for form in [
        "123e4567-e89b-12d3-a456-426614174000",
        "123E4567-E89B-12D3-A456-426614174000",
        "123e4567e89b12d3a456426614174000",
        "{123e4567-e89b-12d3-a456-426614174000}",
        "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
        " 123e4567-e89b-12d3-a456-426614174000 ",
    ] {
        assert_eq!(ok(&w, form), expected, "{form}");
    }
    assert_eq!(ok(&w, ""), Value::Null);
}

#[test]
fn uuid_refuses_what_is_not_a_uuid() {
    let w = UuidWidget;
    let message = "is not a UUID (expected 32 hexadecimal digits, such as 123e4567-e89b-12d3-a456-426614174000)";
    for bad in [
        "123e4567-e89b-12d3-a456-42661417400",
        "123e4567-e89b-12d3-a456-4266141740000",
        "g23e4567-e89b-12d3-a456-426614174000",
        "42",
    ] {
        assert_eq!(err(&w, bad), message, "{bad}");
    }
    assert_eq!(w.clean(&Cell::Int(42)).unwrap_err().message, message);
}

#[test]
fn uuid_renders_hyphenated_lower_case() {
    let w = UuidWidget;
    let v = ok(&w, "123E4567E89B12D3A456426614174000");
    assert_eq!(w.render(&v), text("123e4567-e89b-12d3-a456-426614174000"));
    assert_eq!(v.to_string(), "123e4567-e89b-12d3-a456-426614174000");
}

// ---------------------------------------------------------------------------------------
// Value::coerce for the new kinds

#[test]
fn coerce_reads_durations_and_uuids_as_django_keeps_them_without_native_types() {
    assert_eq!(
        Value::Int(1_500_000).coerce(ValueKind::Duration),
        td(0, 0, 0, 1, 500_000)
    );
    assert_eq!(
        Value::from("123e4567e89b12d3a456426614174000").coerce(ValueKind::Uuid),
        Value::Uuid(0x123e4567_e89b_12d3_a456_426614174000)
    );
    assert_eq!(
        Value::from(r#"["a","b"]"#).coerce(ValueKind::List),
        texts(&["a", "b"])
    );
    assert_eq!(
        Value::from("not a uuid").coerce(ValueKind::Uuid),
        Value::from("not a uuid")
    );
}

#[test]
fn iso_dates_read_by_hand_agree_with_the_calendar() {
    assert_eq!(parse::iso_date("2019-04-23"), Some(date(2019, 4, 23)));
    assert_eq!(parse::iso_date(" 2020-02-29 "), Some(date(2020, 2, 29)));
    for bad in [
        "2019-02-29",
        "2019-13-01",
        "2019-00-10",
        "2019-04-2x",
        "2019/04/23",
        "+019-04-23",
    ] {
        assert_eq!(parse::iso_date(bad), None, "{bad}");
    }
    // Shapes the hand-written path does not take still go through chrono.
    assert_eq!(parse::iso_date("2019-4-23"), Some(date(2019, 4, 23)));
}

#[test]
fn iso_datetimes_read_by_hand_agree_with_chrono() {
    for text in ["2019-04-23 12:30:05", "2019-04-23T12:30:05"] {
        assert_eq!(
            parse::iso_datetime(text),
            Some(Value::DateTime(datetime(2019, 4, 23, 12, 30, 5))),
            "{text}"
        );
    }
    for bad in [
        "2019-04-23 24:00:00",
        "2019-04-23 12:60:00",
        "2019-04-23x12:30:05",
        "2019-02-30 10:00:00",
    ] {
        assert_eq!(parse::iso_datetime(bad), None, "{bad}");
    }
    assert_eq!(
        parse::iso_datetime("2019-04-23 12:30:05.250"),
        Some(Value::DateTime(
            date(2019, 4, 23).and_hms_milli_opt(12, 30, 5, 250).unwrap()
        ))
    );
}
