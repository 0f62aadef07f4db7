//! Replay results: counters per total, peer and address family, in the stable JSON shape of
//! DESIGN §7, and the readable summary table.

use crate::policy::{Reason, Trip, Verdict};
use crate::rpki::{AspaState, RovState};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Reasons a replay can report: the import checks.
pub const IMPORT_REASONS: &[Reason] = &[
    Reason::Malformed,
    Reason::BogonPrefix,
    Reason::BlackholeUnauthorized,
    Reason::PrefixLength,
    Reason::BogonAsn,
    Reason::AsSet,
    Reason::AsPathLength,
    Reason::FirstAs,
    Reason::NextHop,
    Reason::OtcLeak,
    Reason::Peerlock,
    Reason::RpkiInvalid,
    Reason::AspaInvalid,
    Reason::IrrUnregistered,
    Reason::MaxPrefix,
    Reason::TooManyCommunities,
];

/// Counts per reason, serialized as `{"malformed": N, …}` in evaluation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByReason([u64; IMPORT_REASONS.len()]);

impl ByReason {
    pub fn add(&mut self, r: Reason) {
        if let Some(n) = IMPORT_REASONS
            .iter()
            .position(|x| *x == r)
            .and_then(|i| self.0.get_mut(i))
        {
            *n += 1;
        }
    }
    pub fn get(&self, r: Reason) -> u64 {
        IMPORT_REASONS
            .iter()
            .position(|x| *x == r)
            .and_then(|i| self.0.get(i).copied())
            .unwrap_or(0)
    }
}

impl Serialize for ByReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(IMPORT_REASONS.len()))?;
        for (r, n) in IMPORT_REASONS.iter().zip(self.0.iter()) {
            m.serialize_entry(r.code(), n)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RpkiCounts {
    pub valid: u64,
    pub invalid: u64,
    pub not_found: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AspaCounts {
    pub valid: u64,
    pub invalid: u64,
    pub unknown: u64,
}

/// The counters of DESIGN §7, for the whole run, one peer, or one family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub routes: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub withdrawals: u64,
    pub malformed_records: u64,
    pub by_reason: ByReason,
    pub rpki: RpkiCounts,
    pub aspa: AspaCounts,
}

impl Counters {
    /// Counts one route's final verdict.
    pub fn route(&mut self, v: &Verdict) {
        self.routes += 1;
        if v.accepted() {
            self.accepted += 1;
        } else {
            self.rejected += 1;
        }
        for r in v.reasons() {
            self.by_reason.add(r);
        }
        match v.rov {
            Some(RovState::Valid) => self.rpki.valid += 1,
            Some(RovState::Invalid) => self.rpki.invalid += 1,
            Some(RovState::NotFound) => self.rpki.not_found += 1,
            None => {}
        }
        match v.aspa {
            Some(AspaState::Valid) => self.aspa.valid += 1,
            Some(AspaState::Invalid) => self.aspa.invalid += 1,
            Some(AspaState::Unknown) => self.aspa.unknown += 1,
            None => {}
        }
    }
}

/// How reading one input file ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Read to its end.
    #[default]
    Complete,
    /// Cut short: the compressed stream or the last record stops early.
    Truncated,
    /// Damaged data (a corrupt compressed block, a record header that makes no sense).
    Corrupt,
    /// Not an MRT file at all (e.g. text).
    NotMrt,
    /// No data at all.
    Empty,
    /// Could not be opened.
    Unreadable,
}

impl FileStatus {
    /// The JSON name (`files[].status`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Complete => "complete",
            FileStatus::Truncated => "truncated",
            FileStatus::Corrupt => "corrupt",
            FileStatus::NotMrt => "not_mrt",
            FileStatus::Empty => "empty",
            FileStatus::Unreadable => "unreadable",
        }
    }

    /// The summary table's word for a file not read whole.
    pub fn label(self) -> &'static str {
        match self {
            FileStatus::Complete => "complete",
            FileStatus::Truncated => "TRUNCATED",
            FileStatus::Corrupt => "CORRUPT",
            FileStatus::NotMrt => "NOT MRT",
            FileStatus::Empty => "EMPTY",
            FileStatus::Unreadable => "UNREADABLE",
        }
    }
}

/// How one input file was read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    pub file: String,
    pub format: &'static str,
    /// Records read; for a damaged file, those before the damage (all of them replayed).
    pub records: u64,
    pub malformed_records: u64,
    pub status: FileStatus,
    /// Decompressed bytes of the whole records read: where a damaged file's good part ends.
    pub bytes: u64,
    /// Why the file was not read whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same text as `error` when reading stopped early (kept from the older shape, where
    /// it was the only sign of a damaged file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// One max-prefix or burst-guard trip.
#[derive(Debug, Clone, Serialize)]
pub struct TripReport {
    pub peer: String,
    #[serde(flatten)]
    pub trip: Trip,
    /// Routes withdrawn from the router because the session was torn down.
    pub routes_withdrawn: u64,
}

/// Routes whose RPKI verdicts differ between data set A and B (`--vrps-b`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    pub changed: u64,
    /// e.g. `"rpki valid->invalid": N`.
    pub transitions: BTreeMap<String, u64>,
}

/// The whole result: DESIGN §7's shape plus `by_afi`, `files`, `max_prefix_trips`, `diff`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub total: Counters,
    pub by_peer: BTreeMap<String, Counters>,
    pub by_afi: BTreeMap<&'static str, Counters>,
    pub files: Vec<FileReport>,
    pub trips: Vec<TripReport>,
    pub diff: Option<DiffSummary>,
    /// What became of the RPKI data given: present when VRP files were given.
    pub rpki_data: Option<RpkiDataSummary>,
}

/// The RPKI data behind the `rpki` counters, and what SLURM and `--drop-expired` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RpkiDataSummary {
    /// VRPs in the files, after expiry, before SLURM.
    pub vrps_loaded: u64,
    /// Entries (VRPs and ASPA records) dropped by `--drop-expired`.
    pub removed_expired: u64,
    /// Entries (VRPs and ASPA records) removed by SLURM filters.
    pub removed_by_slurm: u64,
    /// Entries added by SLURM assertions.
    pub added_by_slurm: u64,
    /// Distinct VRPs validated against (IPv4 + IPv6).
    pub vrps: u64,
}

impl Report {
    /// Whether every input file was read whole (the exit status says so).
    pub fn all_read_whole(&self) -> bool {
        self.files.iter().all(|f| f.status == FileStatus::Complete)
    }

    /// The files not read whole.
    pub fn damaged_files(&self) -> impl Iterator<Item = &FileReport> {
        self.files
            .iter()
            .filter(|f| f.status != FileStatus::Complete)
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = &self.total;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("routes", &t.routes)?;
        m.serialize_entry("accepted", &t.accepted)?;
        m.serialize_entry("rejected", &t.rejected)?;
        m.serialize_entry("withdrawals", &t.withdrawals)?;
        m.serialize_entry("malformed_records", &t.malformed_records)?;
        m.serialize_entry("by_reason", &t.by_reason)?;
        m.serialize_entry("rpki", &t.rpki)?;
        m.serialize_entry("aspa", &t.aspa)?;
        m.serialize_entry("by_peer", &self.by_peer)?;
        m.serialize_entry("by_afi", &self.by_afi)?;
        m.serialize_entry("max_prefix_trips", &self.trips)?;
        m.serialize_entry("files", &self.files)?;
        if let Some(d) = &self.diff {
            m.serialize_entry("diff", d)?;
        }
        if let Some(r) = &self.rpki_data {
            m.serialize_entry("rpki_data", r)?;
        }
        m.end()
    }
}

/// How the error of a file that is not MRT begins.
pub const NOT_MRT: &str = "not an MRT file: ";

/// The table's note on how a file ended: nothing when it was read whole.
fn file_outcome(f: &FileReport) -> String {
    match (f.status, &f.error) {
        (FileStatus::Complete, _) => String::new(),
        // "NOT MRT: it starts with text", not "NOT MRT: not an MRT file: it starts …".
        (FileStatus::NotMrt, Some(e)) => format!(
            ", {}: {}",
            FileStatus::NotMrt.label(),
            e.strip_prefix(NOT_MRT).unwrap_or(e)
        ),
        (s, Some(e)) => format!(", {}: {e}", s.label()),
        (s, None) => format!(", {}", s.label()),
    }
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.2}%", n as f64 * 100.0 / of as f64)
    }
}

impl Report {
    /// The summary table a person reads.
    pub fn table(&self) -> String {
        let t = &self.total;
        let mut o = String::new();
        let _ = writeln!(o, "files");
        for f in &self.files {
            let _ = writeln!(
                o,
                "  {}  {} records{}{}",
                f.file,
                f.records,
                if f.malformed_records > 0 {
                    format!(", {} malformed", f.malformed_records)
                } else {
                    String::new()
                },
                file_outcome(f)
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "routes {}   accepted {}   rejected {} ({})   withdrawals {}   malformed records {}",
            t.routes,
            t.accepted,
            t.rejected,
            pct(t.rejected, t.routes),
            t.withdrawals,
            t.malformed_records
        );
        if t.rpki != RpkiCounts::default() || self.rpki_data.is_some() {
            let _ = writeln!(
                o,
                "rpki   valid {}   invalid {}   not-found {}",
                t.rpki.valid, t.rpki.invalid, t.rpki.not_found
            );
        }
        if let Some(d) = &self.rpki_data {
            let _ = writeln!(
                o,
                "rpki data   vrps {}   loaded {}   removed by SLURM {}   expired {}   added by SLURM {}",
                d.vrps, d.vrps_loaded, d.removed_by_slurm, d.removed_expired, d.added_by_slurm
            );
        }
        if t.aspa != AspaCounts::default() {
            let _ = writeln!(
                o,
                "aspa   valid {}   invalid {}   unknown {}",
                t.aspa.valid, t.aspa.invalid, t.aspa.unknown
            );
        }
        let _ = writeln!(o, "\n{:<22} {:>10} {:>9}", "reason", "routes", "share");
        for r in IMPORT_REASONS {
            let n = t.by_reason.get(*r);
            if n > 0 {
                let _ = writeln!(o, "{:<22} {:>10} {:>9}", r.code(), n, pct(n, t.routes));
            }
        }
        let _ = writeln!(
            o,
            "\n{:<8} {:>10} {:>10} {:>10}",
            "family", "routes", "rejected", "share"
        );
        for (afi, c) in &self.by_afi {
            let _ = writeln!(
                o,
                "{:<8} {:>10} {:>10} {:>10}",
                afi,
                c.routes,
                c.rejected,
                pct(c.rejected, c.routes)
            );
        }
        let width = self
            .by_peer
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            o,
            "\n{:<width$} {:>10} {:>10} {:>9}  top reason",
            "peer", "routes", "rejected", "share"
        );
        // Peers with the most rejections first; a long tail is summarised.
        let mut peers: Vec<(&String, &Counters)> = self.by_peer.iter().collect();
        peers.sort_by(|a, b| {
            b.1.rejected
                .cmp(&a.1.rejected)
                .then(b.1.routes.cmp(&a.1.routes))
        });
        const SHOWN: usize = 25;
        for (peer, c) in peers.iter().take(SHOWN) {
            let top = IMPORT_REASONS
                .iter()
                .map(|r| (c.by_reason.get(*r), r))
                .filter(|(n, _)| *n > 0)
                .max_by_key(|(n, _)| *n)
                .map(|(n, r)| format!("{} ({n})", r.code()))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "{:<width$} {:>10} {:>10} {:>9}  {}",
                peer,
                c.routes,
                c.rejected,
                pct(c.rejected, c.routes),
                top
            );
        }
        if peers.len() > SHOWN {
            let rest = peers.get(SHOWN..).unwrap_or_default();
            let _ = writeln!(
                o,
                "{:<width$} {:>10} {:>10}",
                format!("({} more peers)", rest.len()),
                rest.iter().map(|(_, c)| c.routes).sum::<u64>(),
                rest.iter().map(|(_, c)| c.rejected).sum::<u64>()
            );
        }
        if !self.trips.is_empty() {
            let _ = writeln!(o, "\nmax-prefix / burst-guard trips");
            for tr in &self.trips {
                let _ = writeln!(
                    o,
                    "  {} at {}: {} -> {:?}, {} routes withdrawn",
                    tr.peer,
                    tr.trip.at,
                    serde_json::to_string(&tr.trip.kind).unwrap_or_default(),
                    tr.trip.action,
                    tr.routes_withdrawn
                );
            }
        }
        if let Some(d) = &self.diff {
            let _ = writeln!(
                o,
                "\nverdict changes between data set A and B: {}",
                d.changed
            );
            for (k, n) in &d.transitions {
                let _ = writeln!(o, "  {k:<30} {n:>10}");
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_reasons_are_every_import_reason_in_evaluation_order() {
        let import: Vec<Reason> = Reason::ALL
            .iter()
            .copied()
            .filter(|r| r.number() < 101)
            .collect();
        assert_eq!(IMPORT_REASONS, import.as_slice());
        let mut b = ByReason::default();
        b.add(Reason::BlackholeUnauthorized);
        assert_eq!(b.get(Reason::BlackholeUnauthorized), 1);
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["blackhole-unauthorized"], 1);
    }
}
