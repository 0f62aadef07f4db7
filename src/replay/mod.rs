//! Offline replay (DESIGN §5): the daemon's own import checks over MRT dumps, answering "what
//! would bgpsieve have blocked?". Inputs are read by one thread per file, checks run on all
//! cores, and the stateful part (max-prefix, burst guard) follows the records' timeline, file
//! after file in the order given.

pub mod convert;
pub mod csv;
pub mod decode;
pub mod engine;
pub mod input;
pub mod report;
pub mod rpki_data;

pub use engine::{PeerResolver, PeerSetup, Setup, Sinks};
pub use report::Report;

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why a replay could not finish (per-record problems are counted and per-file problems are
/// in [`Report::files`], never errors).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

/// A file's reader, or why the file could not be opened.
type Reader = Result<(input::Format, std::sync::mpsc::Receiver<input::Chunk>), String>;

/// Replays `files` in order through `setup`'s policy.
pub fn run(
    files: &[PathBuf],
    setup: &Setup,
    sinks: Sinks,
    show_progress: bool,
) -> Result<Report, ReplayError> {
    let mut engine = engine::Engine::new(setup, sinks);
    // Every file's reader starts now, so decompression of later files overlaps the work on
    // earlier ones; each channel holds only a few batches, which bounds memory.
    let mut readers = Vec::with_capacity(files.len());
    let mut total: u64 = 0;
    for path in files {
        let counter = Arc::new(AtomicU64::new(0));
        let reader: Reader = std::fs::metadata(path)
            .and_then(|m| {
                total += m.len();
                input::spawn(path.clone(), counter.clone())
            })
            .map_err(|e| e.to_string());
        readers.push((path, reader, counter));
    }
    let bar = if show_progress && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let counters: Vec<Arc<AtomicU64>> = readers.iter().map(|r| r.2.clone()).collect();
    for (path, reader, _) in readers {
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let name = path.display().to_string();
        match reader {
            Ok((format, rx)) => engine.file(name, format, rx, || {
                bar.set_position(counters.iter().map(|c| c.load(Ordering::Relaxed)).sum());
            }),
            Err(e) => engine.unreadable(name, e),
        }
    }
    bar.finish_and_clear();
    let (report, err) = engine.finish();
    // Told once the progress bar is gone, so it stays one tidy line while it runs.
    for f in report.damaged_files() {
        tracing::warn!(
            file = %f.file,
            status = f.status.as_str(),
            records = f.records,
            error = f.error.as_deref().unwrap_or(""),
            "input not read whole; every record before the damage was replayed"
        );
    }
    match err {
        Some(e) => Err(ReplayError::Output(e)),
        None => Ok(report),
    }
}
