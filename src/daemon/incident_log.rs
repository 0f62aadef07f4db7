//! Leak incidents on disk: `STATE_DIR/incidents.jsonl`, one JSON line per change of an
//! incident (opened, follow-up, marks or comment, resolved), each line the whole incident as it
//! stood then (the form `/api/v1/incidents` and the log use). Appending never rewrites what is
//! there, so a crash can cost at most the line being written; on start the last line of each id
//! wins and a line that does not parse (a torn last line, a damaged one) is counted, logged and
//! skipped, never a reason not to start.
//!
//! Bounded: the last `keep` incidents are kept. When the file holds more than [`SLACK`] times
//! as many lines as incidents kept (and at start, when it holds anything else), it is rewritten
//! with one line per kept incident: written to a temporary file in the same directory, synced,
//! renamed over the old one, and the directory synced, so a crash leaves the old file or the
//! new one, whole.
//!
//! The writes happen on a thread of their own ([`spawn_writer`]): the RIB thread only sends the
//! changed records.

use crate::rib::Incident;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name in the state directory.
pub const FILE: &str = "incidents.jsonl";
/// The file is compacted when it holds more lines than this many times the incidents kept.
pub const SLACK: usize = 4;

/// Why the file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What loading found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The kept incidents, oldest first.
    pub incidents: Vec<Incident>,
    /// Lines read, and those skipped because they did not parse (their numbers, 1-based).
    pub lines: usize,
    pub bad_lines: Vec<usize>,
}

/// Parses the file's text: the last line of each id wins; the newest `keep` ids are kept.
pub fn parse(text: &str, keep: usize) -> Loaded {
    let mut latest: BTreeMap<u64, Incident> = BTreeMap::new();
    let mut loaded = Loaded::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        loaded.lines += 1;
        match serde_json::from_str::<Incident>(line) {
            Ok(i) => {
                latest.insert(i.id, i);
            }
            Err(_) => loaded.bad_lines.push(n + 1),
        }
    }
    let skip = latest.len().saturating_sub(keep.max(1));
    loaded.incidents = latest.into_values().skip(skip).collect();
    loaded
}

/// The incidents file and the latest line of each kept incident.
#[derive(Debug)]
pub struct IncidentLog {
    path: PathBuf,
    keep: usize,
    latest: BTreeMap<u64, String>,
    /// Lines in the file now.
    lines: usize,
}

impl IncidentLog {
    /// Opens (creates) the file in `dir` and reads it; compacts it when it holds more than one
    /// line per kept incident or lines that do not parse. An unreadable file is an error the
    /// caller logs: the daemon runs on, with incidents written when the file can be.
    pub fn open(dir: &Path, keep: usize) -> (IncidentLog, Result<Loaded, LogError>) {
        let path = dir.join(FILE);
        let mut log = IncidentLog {
            path: path.clone(),
            keep: keep.max(1),
            latest: BTreeMap::new(),
            lines: 0,
        };
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return (log, Err(io(e))),
        };
        let loaded = parse(&text, log.keep);
        for i in &loaded.incidents {
            log.latest.insert(i.id, i.to_json());
        }
        log.lines = loaded.lines;
        if loaded.lines != loaded.incidents.len() {
            if let Err(e) = log.compact() {
                return (log, Err(e));
            }
        }
        (log, Ok(loaded))
    }

    /// Lines in the file.
    #[cfg(test)]
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Appends the incidents' records; compacts when the file has grown past its bound.
    pub fn record(&mut self, changed: &[Incident]) -> Result<(), LogError> {
        if changed.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for i in changed {
            let line = i.to_json();
            text.push_str(&line);
            text.push('\n');
            self.latest.insert(i.id, line);
        }
        while self.latest.len() > self.keep {
            self.latest.pop_first();
        }
        self.append(&text)?;
        self.lines += changed.len();
        if self.lines > SLACK * self.keep {
            self.compact()?;
        }
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> LogError {
        LogError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn append(&self, text: &str) -> Result<(), LogError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        // One write of whole lines: a crash tears at most the last one.
        f.write_all(text.as_bytes()).map_err(|e| self.io(e))
    }

    /// Rewrites the file with one line per kept incident, atomically (temporary file, sync,
    /// rename, directory sync).
    pub fn compact(&mut self) -> Result<(), LogError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut text = String::new();
        for line in self.latest.values() {
            text.push_str(line);
            text.push('\n');
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| self.io(e))?;
        self.lines = self.latest.len();
        Ok(())
    }
}

/// Starts the thread that writes what the RIB thread sends; it ends when the sender is
/// dropped, after the last write (join it then).
pub fn spawn_writer(
    mut log: IncidentLog,
) -> std::io::Result<(
    std::sync::mpsc::Sender<Vec<Incident>>,
    std::thread::JoinHandle<()>,
)> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Incident>>();
    let handle = std::thread::Builder::new()
        .name("bgpsieve-incidents".into())
        .spawn(move || {
            while let Ok(changed) = rx.recv() {
                if let Err(e) = log.record(&changed) {
                    tracing::error!("incidents not saved: {e}");
                }
            }
        })?;
    Ok((tx, handle))
}

/// Where incidents go from the RIB thread: the file (through the writer thread) and the
/// webhook (a task on the runtime per report), never blocking the RIB.
pub struct Delivery {
    writer: Option<(
        std::sync::mpsc::Sender<Vec<Incident>>,
        std::thread::JoinHandle<()>,
    )>,
    webhook: Option<String>,
    runtime: tokio::runtime::Handle,
}

impl Delivery {
    /// Loads the incidents of earlier runs from `dir` into `incidents` and starts the writer.
    /// A file that cannot be read or written is logged, never a reason not to start.
    pub fn start(
        dir: &Path,
        keep: usize,
        webhook: Option<String>,
        runtime: tokio::runtime::Handle,
        incidents: &mut crate::rib::Incidents,
    ) -> Delivery {
        incidents.set_keep(keep);
        let (log, loaded) = IncidentLog::open(dir, keep);
        match loaded {
            Ok(l) => {
                if !l.bad_lines.is_empty() {
                    tracing::warn!(
                        file = %log.path.display(),
                        lines = ?l.bad_lines,
                        "incidents: {} line(s) that do not parse skipped (a crash while writing, \
                         or damage); the file was rewritten without them",
                        l.bad_lines.len()
                    );
                }
                tracing::info!(
                    file = %log.path.display(),
                    "incidents: {} loaded from earlier runs",
                    l.incidents.len()
                );
                incidents.restore(l.incidents, crate::unix_now());
            }
            Err(e) => tracing::error!(
                "incidents of earlier runs not loaded: {e}; new ones are written when the \
                 file can be"
            ),
        }
        let writer = match spawn_writer(log) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!("incidents will not be saved: no writer thread: {e}");
                None
            }
        };
        Delivery {
            writer,
            webhook,
            runtime,
        }
    }

    /// Saves the changed incidents and POSTs each report to the webhook, in the background.
    pub fn deliver(&self, changes: crate::rib::IncidentChanges) {
        if let Some((tx, _)) = &self.writer {
            if !changes.changed.is_empty() && tx.send(changes.changed).is_err() {
                tracing::error!("incidents not saved: the writer thread is gone");
            }
        }
        let Some(url) = &self.webhook else {
            return;
        };
        for report in changes.reports {
            let url = url.clone();
            self.runtime.spawn(async move {
                let body = report.to_json();
                if let Err(e) = super::webhook::post(&url, &body).await {
                    tracing::warn!(%url, id = report.incident.id, "incident webhook failed: {e}");
                }
            });
        }
    }

    /// Waits for the last writes.
    pub fn finish(self) {
        if let Some((tx, handle)) = self.writer {
            drop(tx);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, TripKind};
    use crate::rib::{IncidentOrder, Incidents, Who};
    use crate::types::Asn;

    /// `n` incidents as the daemon would make them, the first one marked and commented.
    fn incidents(n: usize) -> Incidents {
        let mut inc = Incidents::new(1, None);
        inc.set_keep(1000);
        let who = Who {
            index: 0,
            name: "transit",
            asn: Asn(64496),
            router: "192.0.2.254".parse().unwrap(),
            router_asn: Asn(64500),
        };
        for k in 0..n {
            let kind = TripKind::BurstNew { limit: 5, count: 6 };
            inc.tripped(&who, 0, 1_700_000_000 + k as i64, kind, Action::Teardown);
        }
        inc.order(
            IncidentOrder::Comment {
                id: 1,
                text: "tell the regulator".into(),
            },
            1_700_000_500,
        )
        .unwrap();
        inc
    }

    #[test]
    fn records_come_back_after_a_restart_the_last_line_of_an_id_winning() {
        let dir = tempfile::tempdir().unwrap();
        let mut inc = incidents(2);
        let (mut log, loaded) = IncidentLog::open(dir.path(), 100);
        assert_eq!(loaded.unwrap(), Loaded::default());
        log.record(&inc.take_changes().changed).unwrap();
        inc.session_up("transit", 1_700_000_900);
        log.record(&inc.take_changes().changed).unwrap();
        assert_eq!(log.lines(), 4);
        drop(log);
        let (log, loaded) = IncidentLog::open(dir.path(), 100);
        let loaded = loaded.unwrap();
        assert_eq!((loaded.lines, loaded.bad_lines.len()), (4, 0));
        let mut want = inc.list();
        want.reverse();
        assert_eq!(loaded.incidents, want);
        assert_eq!(
            loaded.incidents[0].comment.as_ref().unwrap().text,
            "tell the regulator"
        );
        assert_eq!(loaded.incidents[0].state, "resolved");
        // Compacted on start: one line per incident.
        assert_eq!(log.lines(), 2);
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn a_torn_last_line_and_a_damaged_line_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut inc = incidents(3);
        let (mut log, _) = IncidentLog::open(dir.path(), 100);
        log.record(&inc.take_changes().changed).unwrap();
        drop(log);
        let path = dir.path().join(FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Line 2 damaged in the middle, then a line torn by a crash (no newline either).
        let damaged = format!(
            "{}\n{}\n{}\n{}",
            lines[0],
            lines[1].replace("\"peer\"", "\"pe\u{0}"),
            lines[2],
            &lines[2][..lines[2].len() / 2]
        );
        std::fs::write(&path, damaged).unwrap();
        let (log, loaded) = IncidentLog::open(dir.path(), 100);
        let loaded = loaded.unwrap();
        assert_eq!(loaded.bad_lines, vec![2, 4]);
        let ids: Vec<u64> = loaded.incidents.iter().map(|i| i.id).collect();
        assert_eq!(ids, [1, 3]);
        // The bad lines are gone from the file; the good ones stay.
        assert_eq!(log.lines(), 2);
        let (_, again) = IncidentLog::open(dir.path(), 100);
        assert!(again.unwrap().bad_lines.is_empty());
    }

    #[test]
    fn the_file_is_bounded_to_the_last_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let mut inc = incidents(10);
        let (mut log, _) = IncidentLog::open(dir.path(), 3);
        let changed = inc.take_changes().changed;
        for i in &changed {
            log.record(std::slice::from_ref(i)).unwrap();
            assert!(log.lines() <= SLACK * 3, "{} lines", log.lines());
        }
        // Follow-ups of the kept ones, again and again: still bounded.
        for t in 0..50 {
            inc.cleared("transit", 1_700_001_000 + t);
            log.record(&inc.take_changes().changed).unwrap();
            assert!(log.lines() <= SLACK * 3, "{} lines", log.lines());
        }
        drop(log);
        let (_, loaded) = IncidentLog::open(dir.path(), 3);
        let ids: Vec<u64> = loaded.unwrap().incidents.iter().map(|i| i.id).collect();
        assert_eq!(ids, [8, 9, 10]);
        assert!(!dir.path().join("incidents.jsonl.tmp").exists());
    }

    #[test]
    fn ids_continue_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = incidents(4);
        let (mut log, _) = IncidentLog::open(dir.path(), 2);
        log.record(&first.take_changes().changed).unwrap();
        drop(log);
        let (_, loaded) = IncidentLog::open(dir.path(), 2);
        let mut second = Incidents::new(1, None);
        second.restore(loaded.unwrap().incidents, 1_700_001_000);
        let who = Who {
            index: 0,
            name: "transit",
            asn: Asn(64496),
            router: "192.0.2.254".parse().unwrap(),
            router_asn: Asn(64500),
        };
        let kind = TripKind::BurstNew { limit: 5, count: 6 };
        let next = second.tripped(&who, 0, 1_700_001_100, kind, Action::Warn);
        assert_eq!(next.id, 5);
    }

    #[test]
    fn an_unwritable_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        let (mut log, loaded) = IncidentLog::open(&blocker.join("state"), 10);
        assert!(loaded.is_err() || loaded.unwrap().incidents.is_empty());
        let mut inc = incidents(1);
        assert!(log.record(&inc.take_changes().changed).is_err());
    }
}
