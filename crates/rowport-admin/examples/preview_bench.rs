//! How fast a large admin preview is written and paged, on each state backend.
//!
//! ```sh
//! cargo run --release -p rowport-admin --example preview_bench -- --rows 1000000 --state sqlite
//! cargo run --release -p rowport-admin --example preview_bench -- --rows 1000000 --state postgres \
//!     --url postgres://postgres@127.0.0.1:5432/postgres
//! cargo run --release -p rowport-admin --example preview_bench -- --rows 1000000 --state mysql \
//!     --url mysql://root@127.0.0.1:3306
//! ```
//!
//! It writes `--rows` preview rows through the admin's own sink ([`PreviewSink`], fed as
//! the import engine feeds it: `failed_row` then `row` for a failed row, with the file's
//! values kept as `import_error_display = ["row"]` keeps them), then fetches pages of
//! `--page` rows at the start, middle and end, of every row and of each outcome, and the
//! totals, in `--repeat` rounds, and prints the medians as a Markdown table. The mix is
//! 90 % new rows, 8 % updates with two changed values, 2 % invalid rows with one error.
//! The rows are made in memory, so the write rate is the sink's and the database's, not the
//! engine's. PostgreSQL gets a schema of its own and MySQL a database of its own, both
//! dropped at the end; SQLite a file in a temporary folder.

use std::time::{Duration, Instant};

use rowport::result::{Change, RowError, RowOutcome, RowResult, RowSink};
use rowport_admin::state::{NewUpload, StateConfig, StateStore};
use rowport_formats::Cell;

struct Args {
    rows: u64,
    state: String,
    url: Option<String>,
    repeat: usize,
    page: u64,
    /// Leave the state (schema, database or file) behind, to look at its query plans.
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 1_000_000,
        state: "sqlite".to_owned(),
        url: None,
        repeat: 21,
        page: 100,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => args.rows = value()?.parse().map_err(|e| format!("--rows: {e}"))?,
            "--state" => args.state = value()?,
            "--url" => args.url = Some(value()?),
            "--repeat" => args.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?,
            "--page" => args.page = value()?.parse().map_err(|e| format!("--page: {e}"))?,
            "--keep" => args.keep = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.rows < 100 || args.page == 0 || args.repeat == 0 {
        return Err("--rows must be at least 100, --page and --repeat at least 1".to_owned());
    }
    Ok(args)
}

const HEADERS: [&str; 5] = ["isbn", "name", "price", "in_stock", "author"];

/// Row `n` of the mix, as the engine would report it, with its file cells.
fn make_row(n: u64) -> (RowResult, Vec<RowError>, Vec<Cell>) {
    let row = n + 2;
    let isbn = format!("978{:010}", n);
    let name = format!("Book number {n}");
    let price = format!("{}.{:02}", 5 + n % 40, n % 100);
    // A fixed pattern spreads updates and invalid rows through the file.
    let outcome = match n % 50 {
        7 => RowOutcome::Invalid,
        k if k % 12 == 3 => RowOutcome::Update,
        _ => RowOutcome::New,
    };
    let cells = |price: &str| {
        vec![
            Cell::Text(isbn.clone()),
            Cell::Text(name.clone()),
            Cell::Text(price.to_owned()),
            Cell::Text("1".to_owned()),
            Cell::Text("Jane Austen".to_owned()),
        ]
    };
    let change = |column: &str, old: &str, new: &str| Change {
        column: column.to_owned(),
        old: old.to_owned(),
        new: new.to_owned(),
    };
    match outcome {
        RowOutcome::New => {
            let changes = vec![
                change("isbn", "", &isbn),
                change("name", "", &name),
                change("price", "", &price),
                change("in_stock", "", "1"),
                change("author", "", "Jane Austen"),
            ];
            let result = RowResult {
                row,
                outcome,
                key: Some((n + 1).to_string()),
                changes,
                instance: None,
                row_values: None,
            };
            (result, Vec::new(), cells(&price))
        }
        RowOutcome::Update => {
            let changes = vec![
                change("name", &format!("Old title {n}"), &name),
                change("price", "1.00", &price),
            ];
            let result = RowResult {
                row,
                outcome,
                key: Some((n + 1).to_string()),
                changes,
                instance: None,
                row_values: None,
            };
            (result, Vec::new(), cells(&price))
        }
        _ => {
            let result = RowResult {
                row,
                outcome,
                key: None,
                changes: Vec::new(),
                instance: None,
                row_values: None,
            };
            let errors = vec![RowError {
                row,
                column: Some("price".to_owned()),
                value: Some("cheap".to_owned()),
                message: "is not a number".to_owned(),
                outcome,
            }];
            (result, errors, cells("cheap"))
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

/// Where the benchmark's state lives, and how to drop it afterwards.
struct Target {
    config: StateConfig,
    drop: Box<dyn Fn() -> Result<(), String>>,
    _dir: tempfile::TempDir,
}

fn target(args: &Args) -> Result<Target, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let unique = format!("rowport_bench_{}", std::process::id());
    let mut config = StateConfig {
        upload_dir: Some(dir.path().join("uploads")),
        ..StateConfig::default()
    };
    let drop: Box<dyn Fn() -> Result<(), String>> = match args.state.as_str() {
        "sqlite" => {
            config.database = format!("sqlite://{}", dir.path().join("state.db").display());
            Box::new(|| Ok(()))
        }
        "postgres" => {
            let url = args
                .url
                .clone()
                .or_else(|| std::env::var("ROWPORT_TEST_POSTGRES").ok())
                .ok_or("--state postgres needs --url or ROWPORT_TEST_POSTGRES")?;
            config.database = url.clone();
            config.schema = unique.clone();
            Box::new(move || {
                let mut client =
                    postgres::Client::connect(&url, postgres::NoTls).map_err(|e| e.to_string())?;
                client
                    .batch_execute(&format!("DROP SCHEMA {unique} CASCADE"))
                    .map_err(|e| e.to_string())
            })
        }
        "mysql" => {
            let url = args
                .url
                .clone()
                .or_else(|| std::env::var("ROWPORT_TEST_MYSQL").ok())
                .ok_or("--state mysql needs --url or ROWPORT_TEST_MYSQL")?;
            // The server's URL without its database; the benchmark names its own.
            let host = url.find("://").map_or(0, |i| i + 3);
            let server = match url[host..].find('/') {
                Some(i) => url[..host + i].to_owned(),
                None => url.clone(),
            };
            config.database = format!("{server}/{unique}");
            Box::new(move || {
                let opts = mysql::Opts::from_url(&server).map_err(|e| e.to_string())?;
                let mut conn = mysql::Conn::new(opts).map_err(|e| e.to_string())?;
                mysql::prelude::Queryable::query_drop(&mut conn, format!("DROP DATABASE {unique}"))
                    .map_err(|e| e.to_string())
            })
        }
        other => {
            return Err(format!(
                "unknown --state {other} (sqlite, postgres or mysql)"
            ))
        }
    };
    Ok(Target {
        config,
        drop,
        _dir: dir,
    })
}

/// A timed fetch: label, outcome filter (`None` for the totals), offset.
type Probe = (String, Option<Option<RowOutcome>>, u64);

fn run(args: &Args, store: &StateStore) -> Result<(), String> {
    let upload = store
        .put_upload(
            &NewUpload {
                resource: "book".to_owned(),
                file_name: "books.csv".to_owned(),
                format: "csv".to_owned(),
                user: "bench".to_owned(),
            },
            &mut &b"isbn\n"[..],
        )
        .map_err(|e| e.to_string())?;
    let token = upload.token;
    if args.keep {
        println!("upload token {token} (the state is kept)\n");
    }

    // Write.
    let started = Instant::now();
    let mut sink = store
        .preview_sink(&token)
        .map_err(|e| e.to_string())?
        .keep_file_values(HEADERS.iter().map(|h| (*h).to_owned()).collect());
    for n in 0..args.rows {
        let (result, errors, cells) = make_row(n);
        if !result.is_valid() && sink.wants_failed_rows() {
            sink.failed_row(result.row, &cells, &errors);
        }
        sink.row(&result, &errors);
    }
    let summary = sink
        .finish(serde_json::Value::Null)
        .map_err(|e| e.to_string())?;
    let write = started.elapsed();
    let t = summary.totals;
    println!(
        "{} rows written in {:.1} s: {:.0} rows/s ({} new, {} update, {} invalid)\n",
        args.rows,
        write.as_secs_f64(),
        args.rows as f64 / write.as_secs_f64(),
        t.new,
        t.update,
        t.invalid
    );

    // Read: every probe once untimed (so each starts from a warm cache), then `repeat`
    // rounds of every probe in turn, so that a burst of load from elsewhere (or the
    // database's own background work after the write) falls on all probes alike.
    let filters: [(Option<RowOutcome>, &str, u64); 4] = [
        (None, "all", t.rows()),
        (Some(RowOutcome::New), "new", t.new),
        (Some(RowOutcome::Update), "update", t.update),
        (Some(RowOutcome::Invalid), "invalid", t.invalid),
    ];
    let mut probes: Vec<Probe> = vec![("totals (preview_summary)".to_owned(), None, 0)];
    for (outcome, name, count) in filters {
        let last = count.saturating_sub(1) / args.page * args.page;
        let middle = count / 2 / args.page * args.page;
        for (position, offset) in [("start", 0), ("middle", middle), ("end", last)] {
            probes.push((format!("{name}, {position}"), Some(outcome), offset));
        }
    }
    let fetch = |probe: &Probe| -> Result<usize, String> {
        let (label, filter, offset) = probe;
        let Some(outcome) = filter else {
            return store
                .preview_summary(&token)
                .map(|_| 1)
                .map_err(|e| e.to_string());
        };
        let page = store
            .preview_page(&token, *outcome, *offset, args.page)
            .map_err(|e| e.to_string())?;
        if page.rows.is_empty() {
            return Err(format!("{label}: no rows at offset {offset}"));
        }
        if outcome.is_some_and(|o| page.rows.iter().any(|r| r.result.outcome != o)) {
            return Err(format!("{label}: a row of another outcome"));
        }
        Ok(page.rows.len())
    };
    let mut got = Vec::with_capacity(probes.len());
    for probe in &probes {
        got.push(fetch(probe)?);
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(args.repeat); probes.len()];
    for _ in 0..args.repeat {
        for (probe, times) in probes.iter().zip(&mut times) {
            let started = Instant::now();
            fetch(probe)?;
            times.push(started.elapsed());
        }
    }
    println!(
        "| fetch (pages of {}) | offset | rows | median ms | min ms | max ms |",
        args.page
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for ((probe, times), got) in probes.iter().zip(times).zip(got) {
        let (min, max) = (times.iter().min().copied(), times.iter().max().copied());
        println!(
            "| {} | {} | {got} | {} | {} | {} |",
            probe.0,
            probe.2,
            ms(median(times)),
            ms(min.unwrap_or_default()),
            ms(max.unwrap_or_default())
        );
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let target = match target(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "state: {} ({}), {} rows, pages of {}, {} rounds of timed fetches\n",
        args.state, target.config.database, args.rows, args.page, args.repeat
    );
    let outcome = StateStore::open(&target.config)
        .map_err(|e| e.to_string())
        .and_then(|store| run(&args, &store));
    let dropped = if args.keep {
        std::mem::forget(target);
        Ok(())
    } else {
        (target.drop)()
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if let Err(e) = dropped {
        eprintln!("error: cannot drop the benchmark's state: {e}");
        std::process::exit(1);
    }
}
