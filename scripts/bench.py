#!/usr/bin/env python3
"""rowport's benchmark on the shared "books" workload (../shared/bench).

Usage:  python3 scripts/bench.py [N] [--repeat R] [--only S,S…] [--pg URL | --no-pg]

Builds the release binary, generates the workload with ../shared/bench/gen_data.py (at any
N), and runs each scenario R times with the database reset before every run; the table
gives the median, the peak RSS of the worst run, and the ratio to the floor measured in the
same run, as issue 7 states its targets:

  create        import of books_N.csv into empty book tables (FK + M2M by name), SQLite
  dry_run       the create with --dry-run
  update        import of books_N_mod.csv over the loaded table (skip_unchanged)
  export        export csv book (author name, joined category names)
  export_xlsx   export xlsx book
  create_xlsx   import of that XLSX into empty book tables
  progress      the create on a pseudo-terminal with the progress bar, against the same
                create on the same terminal with --no-progress (the bar's cost)
  pg_create     the create into PostgreSQL (--pg URL, default the local server)
  floors        sqlite3 .import into a text staging table; sqlite3 -csv running the export
                join; psql \\copy into a text staging table

Every run is checked: row and link counts, a checksum of the books and their links read
back with SQL against one computed from the CSV, nothing left by the dry run, the CSV export
byte-identical to the imported file. Results depend on the machine: note its load.
"""
import argparse
import csv
import hashlib
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench")
ROWPORT = os.path.join(ROOT, "target", "release", "rowport")
SCENARIOS = ["create", "dry_run", "update", "export", "export_xlsx", "create_xlsx", "progress", "pg_create"]

PG_SCHEMA = """
CREATE TABLE author (id bigserial PRIMARY KEY, name varchar(100) NOT NULL UNIQUE, birthday date NULL);
CREATE TABLE category (id bigserial PRIMARY KEY, name varchar(100) NOT NULL UNIQUE);
CREATE TABLE book (id bigserial PRIMARY KEY, isbn varchar(20) NOT NULL UNIQUE, name varchar(200) NOT NULL,
  author_email varchar(254) NOT NULL, published date NULL, price numeric(10, 2) NULL, in_stock boolean NOT NULL,
  added timestamptz NULL, author_id bigint NULL REFERENCES author (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE book_categories (id bigserial PRIMARY KEY,
  book_id bigint NOT NULL REFERENCES book (id) DEFERRABLE INITIALLY DEFERRED,
  category_id bigint NOT NULL REFERENCES category (id) DEFERRABLE INITIALLY DEFERRED);
CREATE UNIQUE INDEX book_categories_book_id_category_id_uniq ON book_categories (book_id, category_id);
CREATE INDEX book_author_id_idx ON book (author_id);
CREATE INDEX book_categories_book_id_idx ON book_categories (book_id);
CREATE INDEX book_categories_category_id_idx ON book_categories (category_id);
INSERT INTO author (name) SELECT 'Author ' || lpad(i::text, 4, '0') FROM generate_series(0, 999) i;
INSERT INTO category (name) SELECT 'Category ' || lpad(i::text, 2, '0') FROM generate_series(0, 19) i;
"""

# The books and their links, read back in a shape that does not depend on how a backend
# stores decimals, booleans or date-times.
CHECK_SQL = """
SELECT b.isbn, b.name, a.name, b.author_email, COALESCE(CAST(b.published AS TEXT), ''),
       COALESCE(CAST(b.price AS TEXT), ''), CASE WHEN b.in_stock THEN '1' ELSE '0' END,
       COALESCE(CAST(b.added AS TEXT), ''),
       (SELECT COALESCE({agg}, '') FROM book_categories bc JOIN category c ON c.id = bc.category_id
         WHERE bc.book_id = b.id)
FROM book b LEFT JOIN author a ON a.id = b.author_id
"""


def timed(cmd, cwd, stdin=None, stdout=subprocess.DEVNULL):
    """Runs cmd under GNU time; returns (seconds, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", t.name] + cmd
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
            proc = subprocess.run(full, cwd=cwd, stdin=inp, stdout=stdout, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr.decode(errors="replace")))
        seconds, kb = t.read().split()[-2:]
        return float(seconds), int(kb) / 1024


def on_terminal(cmd, cwd):
    """Runs cmd on a pseudo-terminal (util-linux `script`); returns wall seconds."""
    line = " ".join("'%s'" % c.replace("'", "'\\''") for c in cmd)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TERM"] = "xterm"
    start = time.monotonic()
    proc = subprocess.run(["script", "-qec", line, "/dev/null"], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("failed on a terminal: %s" % line)
    return seconds, 0.0


def fresh_demo(work):
    """A demo folder whose book tables are empty: the workload's starting state."""
    if os.path.exists(work):
        shutil.rmtree(work)
    subprocess.run([ROWPORT, "demo", "--path", work], check=True, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(os.path.join(work, "demo.db"))
    db.executescript("DELETE FROM book_categories; DELETE FROM book; DELETE FROM sqlite_sequence WHERE name IN ('book', 'book_categories');")
    db.close()


def row_digest(fields):
    """One book's digest; the table's checksum is their sum, so row order does not matter
    and nothing is held in memory."""
    return int.from_bytes(hashlib.sha256("\x1f".join(fields).encode()).digest(), "big")


def expected_digest(csv_path):
    """(rows, links, checksum) of the books as the CSV states them."""
    rows = links = total = 0
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for isbn, name, author, email, published, price, in_stock, added, categories in reader:
            cats = sorted(c for c in categories.split("|") if c)
            rows += 1
            links += len(cats)
            total += row_digest([isbn, name, author, email, published, price, in_stock, added, "|".join(cats)])
    return rows, links, total % (1 << 256)


def digest_rows(rows):
    """(rows, checksum) of books read back from a database."""
    count = total = 0
    for r in rows:
        r = ["" if v is None else str(v) for v in r]
        count += 1
        cats = "|".join(sorted(c for c in r[8].split("|") if c))
        price = r[5]
        if price:
            price = "%.2f" % float(price)  # SQLite keeps decimal(10,2) as a number: 8.5
        total += row_digest([r[0], r[1], r[2], r[3], r[4], price, r[6], r[7], cats])
    return count, total % (1 << 256)


def sqlite_state(work):
    """(books, links, checksum) of the demo database."""
    db = sqlite3.connect(os.path.join(work, "demo.db"))
    links = db.execute("SELECT count(*) FROM book_categories").fetchone()[0]
    count, digest = digest_rows(db.execute(CHECK_SQL.format(agg="group_concat(c.name, '|')")))
    db.close()
    return count, links, digest


def psql(url, *args, stdin=None, capture=False):
    env = dict(os.environ, PGOPTIONS="--client-min-messages=warning")
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args],
                          check=True, stdin=stdin, capture_output=capture, text=True, env=env)


def pg_state(url):
    out = psql(url, "-At", "-F", "\x1f", "-c",
               "SET TimeZone = 'UTC'; " + CHECK_SQL.format(agg="string_agg(c.name, '|')")
               .replace("CAST(b.added AS TEXT)", "to_char(b.added, 'YYYY-MM-DD HH24:MI:SS')"), capture=True).stdout
    rows = (line.split("\x1f") for line in out.splitlines() if line)
    links = int(psql(url, "-At", "-c", "SELECT count(*) FROM book_categories", capture=True).stdout)
    count, digest = digest_rows(rows)
    return count, links, digest


def fresh_pg(server_url, name):
    """A new PostgreSQL database named `name` with the workload's schema; returns its URL."""
    psql(server_url, "-c", "DROP DATABASE IF EXISTS %s" % name)
    psql(server_url, "-c", "CREATE DATABASE %s" % name)
    parts = urllib.parse.urlsplit(server_url)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    psql(url, "-c", PG_SCHEMA)
    return url


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--no-pg", action="store_true")
    a = ap.parse_args()
    only = set(a.only.split(","))
    unknown = only - set(SCENARIOS)
    if unknown:
        sys.exit("unknown scenarios: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(SCENARIOS)))
    if a.no_pg:
        only.discard("pg_create")
    if not os.path.isdir(SHARED):
        sys.exit("the shared benchmark folder %s is missing" % SHARED)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "rowport-cli"], cwd=ROOT, check=True)

    data = os.path.join(ROOT, "target", "bench-data")
    csv_path = os.path.join(data, "books_%d.csv" % a.n)
    mod_path = os.path.join(data, "books_%d_mod.csv" % a.n)
    if not os.path.exists(mod_path):
        subprocess.run([sys.executable, os.path.join(SHARED, "gen_data.py"), str(a.n), "--outdir", data, "--no-xlsx"],
                       check=True, stdout=subprocess.DEVNULL)
    want = expected_digest(csv_path)
    want_mod = expected_digest(mod_path)
    work = os.path.join(ROOT, "target", "bench-work")
    xlsx_path = os.path.join(ROOT, "target", "bench-data", "books_%d_export.xlsx" % a.n)
    runs = {}

    def run(name, measure):
        runs.setdefault(name, []).append(measure)

    def check(got, expected, what):
        if got != expected:
            sys.exit("%s: the database holds %s, the file says %s" % (what, got[:2], expected[:2]))

    for _ in range(a.repeat):
        fresh_demo(work)
        run("floor: sqlite3 .import (raw)", timed(["sqlite3", "demo.db",
            "CREATE TABLE stg_raw(isbn, name, author, author_email, published, price, in_stock, added, categories)",
            ".import --csv --skip 1 %s stg_raw" % csv_path], work))
        fresh_demo(work)
        if "dry_run" in only:
            run("rowport dry run (create)", timed([ROWPORT, "import", "book", csv_path, "--dry-run"], work))
            check(sqlite_state(work)[:2], (0, 0), "dry run")
        run("rowport create", timed([ROWPORT, "import", "book", csv_path], work))
        check(sqlite_state(work), want, "create")
        if "export_xlsx" in only or "create_xlsx" in only:
            run("rowport export xlsx", timed([ROWPORT, "export", "xlsx", "book", "-o", xlsx_path], work))
        if "export" in only or "update" in only:
            if "update" in only:
                run("rowport update (10 % changed, skip_unchanged)", timed([ROWPORT, "import", "book", mod_path], work))
                check(sqlite_state(work), want_mod, "update")
            out = os.path.join(work, "out.csv")
            run("rowport export csv", timed([ROWPORT, "export", "csv", "book", "-o", out], work))
            with open(out, "rb") as got, open(mod_path if "update" in only else csv_path, "rb") as expected:
                if got.read() != expected.read():
                    sys.exit("the export differs from the imported file")
            with open(os.path.join(work, "floor.csv"), "wb") as sink:
                run("floor: sqlite3 -csv export join", timed(["sqlite3", "-csv", "-header", "demo.db"], work,
                    stdin=os.path.join(SHARED, "floors", "sqlite_export.sql"), stdout=sink))
        if "create_xlsx" in only:
            fresh_demo(work)
            run("rowport create from xlsx", timed([ROWPORT, "import", "book", xlsx_path], work))
            check(sqlite_state(work), want, "create from xlsx")
        if "progress" in only:
            fresh_demo(work)
            run("rowport create on a terminal, --no-progress", on_terminal([ROWPORT, "--no-progress", "import", "book", csv_path], work))
            fresh_demo(work)
            run("rowport create on a terminal, progress bar", on_terminal([ROWPORT, "import", "book", csv_path], work))
            check(sqlite_state(work), want, "create with the progress bar")
        if "pg_create" in only:
            name = "rowport_bench_%d" % os.getpid()
            url = fresh_pg(a.pg, name)
            try:
                with open(csv_path, "rb") as f:
                    start = time.monotonic()
                    psql(url, "-1", "-c", "CREATE TABLE stg_raw (isbn text, name text, author text, author_email text, "
                         "published text, price text, in_stock text, added text, categories text)", "-c",
                         "\\copy stg_raw FROM pstdin WITH (FORMAT csv, HEADER true)", stdin=f)
                    run("floor: psql \\copy (raw, PostgreSQL)", (time.monotonic() - start, 0.0))
                run("rowport create (PostgreSQL)", timed([ROWPORT, "--db", url, "import", "book", csv_path], work))
                check(pg_state(url), want, "PostgreSQL create")
            finally:
                psql(a.pg, "-c", "DROP DATABASE IF EXISTS %s" % name)

    med = {name: (statistics.median(s for s, _ in ms), max(m for _, m in ms)) for name, ms in runs.items()}
    raw = med["floor: sqlite3 .import (raw)"][0]
    create = med["rowport create"][0]
    ratios = {
        "rowport create": ("rate vs raw .import", raw / create, "≥ 0.75"),
        "rowport dry run (create)": ("time vs create", lambda: med["rowport dry run (create)"][0] / create, "≤ 1.2"),
        "rowport update (10 % changed, skip_unchanged)": ("rate vs raw .import", lambda: raw / med["rowport update (10 % changed, skip_unchanged)"][0], "≥ 1.5"),
        "rowport export csv": ("rate vs sqlite3 export", lambda: med["floor: sqlite3 -csv export join"][0] / med["rowport export csv"][0], "≥ 2"),
        "rowport export xlsx": ("rate vs CSV export", lambda: med["rowport export csv"][0] / med["rowport export xlsx"][0], "≥ 0.25"),
        "rowport create from xlsx": ("rate vs CSV create", lambda: create / med["rowport create from xlsx"][0], "≥ 0.25"),
        "rowport create on a terminal, progress bar": ("time vs --no-progress", lambda: med["rowport create on a terminal, progress bar"][0] / med["rowport create on a terminal, --no-progress"][0], "≤ 1.02"),
        "rowport create (PostgreSQL)": ("rate vs \\copy", lambda: med["floor: psql \\copy (raw, PostgreSQL)"][0] / med["rowport create (PostgreSQL)"][0], "≥ 0.66"),
    }
    print("\nN = %s rows, median of %d runs, %s, load average %s" % (
        format(a.n, ","), a.repeat, os.uname().nodename, " ".join("%.1f" % x for x in os.getloadavg())))
    print("| scenario | seconds | rows/s | peak RSS MB | ratio | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (seconds, rss) in med.items():
        what, ratio, target = ratios.get(name, ("", None, ""))
        if callable(ratio):
            try:
                ratio = ratio()
            except KeyError:
                ratio = None
        print("| %s | %.2f | %s | %s | %s | %s |" % (
            name, seconds, format(int(a.n / seconds), ","), "%.1f" % rss if rss else "",
            "%.2f (%s)" % (ratio, what) if ratio is not None else "", target))


if __name__ == "__main__":
    main()
