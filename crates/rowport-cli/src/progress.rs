//! The progress bar of long imports and exports, on stderr.
//!
//! Shown only where a person watches: stderr is a terminal, `--no-progress` was not given,
//! `CI` is not set, and `--json` output is not going down a pipe. Otherwise every method is a
//! no-op, so commands call them unconditionally.
//!
//! Imports count bytes read from the file, which is known up front, so the bar has an end;
//! exports count rows, which are not, so they show a counter. The bar is cleared when the
//! command ends, leaving the summary line alone on the screen.

use std::io::{IsTerminal, Read};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rowport_formats::{Cell, FormatError, RowWriter};

/// How often the bar redraws; also bounds its cost, since updates between draws are counters.
const DRAWS_PER_SECOND: u8 = 8;

/// Rows an export counts locally before telling the bar, to keep the per-row cost to an add.
const ROWS_PER_UPDATE: u64 = 1024;

/// Whether a command may draw progress, from its flags and its environment.
pub fn wanted(no_progress: bool, json: bool) -> bool {
    !no_progress
        && std::env::var_os("CI").is_none()
        && std::io::stderr().is_terminal()
        && (!json || std::io::stdout().is_terminal())
}

/// A bar on stderr, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` bytes of `file_name` (a spinner when the size is unknown, as for
    /// standard input).
    pub fn import(wanted: bool, file_name: &str, total: Option<u64>) -> Progress {
        if !wanted {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), target()).with_style(
                ProgressStyle::with_template(
                    "importing {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::with_draw_target(None, target()).with_style(
                ProgressStyle::with_template("importing {msg}: {bytes} read ({bytes_per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Progress::start(bar, file_name)
    }

    /// A row counter for an export to `target`.
    pub fn export(wanted: bool, target_name: &str) -> Progress {
        if !wanted {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, target()).with_style(
            ProgressStyle::with_template("exporting to {msg}: {human_pos} rows ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Progress::start(bar, target_name)
    }

    fn start(bar: ProgressBar, name: &str) -> Progress {
        bar.set_message(name.to_owned());
        // Draw once now, so even a short run shows what it is doing.
        bar.tick();
        Progress { bar: Some(bar) }
    }

    /// `input`, counting its bytes on the bar.
    pub fn wrap_read<'a>(&self, input: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
        match &self.bar {
            Some(bar) => Box::new(bar.wrap_read(input)),
            None => input,
        }
    }

    /// `writer`, counting its rows on the bar.
    pub fn wrap_writer<'a>(&self, writer: Box<dyn RowWriter + 'a>) -> Box<dyn RowWriter + 'a> {
        match &self.bar {
            Some(bar) => Box::new(CountingWriter {
                inner: writer,
                bar: bar.clone(),
                pending: 0,
            }),
            None => writer,
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error path must not leave a half-drawn bar above the error line.
        self.finish();
    }
}

fn target() -> ProgressDrawTarget {
    ProgressDrawTarget::stderr_with_hz(DRAWS_PER_SECOND)
}

/// A row writer that counts what passes through it.
struct CountingWriter<'a> {
    inner: Box<dyn RowWriter + 'a>,
    bar: ProgressBar,
    pending: u64,
}

impl RowWriter for CountingWriter<'_> {
    fn write_header(&mut self, headers: &[String]) -> Result<(), FormatError> {
        self.inner.write_header(headers)
    }

    fn write_row(&mut self, cells: &[Cell]) -> Result<(), FormatError> {
        self.inner.write_row(cells)?;
        self.pending += 1;
        if self.pending == ROWS_PER_UPDATE {
            self.bar.inc(self.pending);
            self.pending = 0;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), FormatError> {
        self.bar.inc(self.pending);
        self.inner.finish()
    }
}
