#!/usr/bin/env python3
"""rowport's benchmark on the shared "books" workload (../shared/bench), SQLite scenarios.

Usage:  python3 scripts/bench.py [N] [--repeat R]        (default N=100000, R=3)

Builds the release binary, generates the workload with ../shared/bench/gen_data.py, and
runs, R times each with the state reset before every run (median reported):

  create      rowport import of books_N.csv into empty book tables (FK + M2M by name)
  update      rowport import of books_N_mod.csv over the loaded table (skip_unchanged)
  dry_run     the create, as --dry-run
  export      rowport export csv book (author name, joined category names)
  floors      sqlite3 .import of the CSV into a text staging table (raw create floor),
              and sqlite3 -csv running the equivalent export join (export floor)

Each run is checked (row and link counts; the export equals the imported file) and
measured with GNU time (wall seconds, peak RSS). The table prints ratios to the floors, as
the targets in issue 7 are stated. Results depend on the machine: run it on the project's
2-core machine and note the load.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench")
ROWPORT = os.path.join(ROOT, "target", "release", "rowport")


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


def fresh_demo(work):
    """A demo folder whose book tables are empty: the workload's starting state."""
    if os.path.exists(work):
        shutil.rmtree(work)
    subprocess.run([ROWPORT, "demo", "--path", work], check=True, stderr=subprocess.DEVNULL)
    db = sqlite3.connect(os.path.join(work, "demo.db"))
    db.executescript("DELETE FROM book_categories; DELETE FROM book; DELETE FROM sqlite_sequence WHERE name IN ('book', 'book_categories');")
    db.close()


def counts(work):
    db = sqlite3.connect(os.path.join(work, "demo.db"))
    books = db.execute("SELECT count(*) FROM book").fetchone()[0]
    links = db.execute("SELECT count(*) FROM book_categories").fetchone()[0]
    db.close()
    return books, links


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not os.path.isdir(SHARED):
        sys.exit("the shared benchmark folder %s is missing" % SHARED)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "rowport-cli"], cwd=ROOT, check=True)

    data = os.path.join(ROOT, "target", "bench-data")
    csv_path = os.path.join(data, "books_%d.csv" % a.n)
    mod_path = os.path.join(data, "books_%d_mod.csv" % a.n)
    if not os.path.exists(mod_path):
        subprocess.run([sys.executable, os.path.join(SHARED, "gen_data.py"), str(a.n), "--outdir", data, "--no-xlsx"],
                       check=True, stdout=subprocess.DEVNULL)
    with open(csv_path) as f:
        expected_links = sum(len(line.rstrip("\n").rsplit(",", 1)[1].split("|")) for line in list(f)[1:])
    work = os.path.join(ROOT, "target", "bench-work")
    results = {}

    def record(name, runs):
        results[name] = (statistics.median(s for s, _ in runs), max(m for _, m in runs))

    # Floors.
    runs = []
    for _ in range(a.repeat):
        fresh_demo(work)
        runs.append(timed(["sqlite3", "demo.db",
                           "CREATE TABLE stg_raw(isbn, name, author, author_email, published, price, in_stock, added, categories)",
                           ".import --csv --skip 1 %s stg_raw" % csv_path], work))
    record("floor: sqlite3 .import (raw)", runs)

    # rowport create, dry run, update, export.
    runs, dry, upd, exp, floor_exp = [], [], [], [], []
    for _ in range(a.repeat):
        fresh_demo(work)
        dry.append(timed([ROWPORT, "import", "book", csv_path, "--dry-run"], work))
        assert counts(work) == (0, 0), "the dry run left rows behind"
        runs.append(timed([ROWPORT, "import", "book", csv_path], work))
        assert counts(work) == (a.n, expected_links), counts(work)
        upd.append(timed([ROWPORT, "import", "book", mod_path], work))
        out = os.path.join(work, "out.csv")
        exp.append(timed([ROWPORT, "export", "csv", "book", "-o", out], work))
        with open(out) as got, open(mod_path) as want:
            assert got.read() == want.read(), "the export differs from the imported file"
        with open(os.path.join(work, "floor.csv"), "wb") as sink:
            floor_exp.append(timed(["sqlite3", "-csv", "-header", "demo.db"], work,
                                   stdin=os.path.join(SHARED, "floors", "sqlite_export.sql"), stdout=sink))
    record("rowport create", runs)
    record("rowport dry run (create)", dry)
    record("rowport update (10 % changed, skip_unchanged)", upd)
    record("rowport export csv", exp)
    record("floor: sqlite3 -csv export join", floor_exp)

    raw = results["floor: sqlite3 .import (raw)"][0]
    create = results["rowport create"][0]
    ratios = {
        "rowport create": ("rate vs raw .import", raw / create, "≥ 0.75"),
        "rowport update (10 % changed, skip_unchanged)": ("rate vs raw .import", raw / results["rowport update (10 % changed, skip_unchanged)"][0], "≥ 1.5"),
        "rowport dry run (create)": ("time vs create", results["rowport dry run (create)"][0] / create, "≤ 1.2"),
        "rowport export csv": ("rate vs sqlite3 export", results["floor: sqlite3 -csv export join"][0] / results["rowport export csv"][0], "≥ 2"),
    }
    print("\nN = %s rows, median of %d runs, SQLite, %s" % (format(a.n, ","), a.repeat, os.uname().nodename))
    print("| scenario | seconds | rows/s | peak RSS MB | ratio | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (seconds, rss) in results.items():
        what, ratio, target = ratios.get(name, ("", None, ""))
        print("| %s | %.2f | %s | %.1f | %s | %s |" % (
            name, seconds, format(int(a.n / seconds), ","), rss,
            "%.2f (%s)" % (ratio, what) if ratio is not None else "", target))


if __name__ == "__main__":
    main()
