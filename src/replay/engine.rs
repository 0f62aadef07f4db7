//! The replay engine. Stateless checks run on the worker pool, a batch of records at a time;
//! the stateful part (Adj-RIB-In per MRT peer, max-prefix and burst guard along the records'
//! timeline, counters, output) runs in record order on one thread. This is the same split the
//! daemon has: pure policy off the I/O path, state owned by one task. The stateful step itself
//! is the daemon's ([`crate::rib::import`]), so a route gets the same verdict after limits in
//! both.

use super::convert::{PeerKey, Update};
use super::input::{self, Chunk, Event, FileEnd, PeerTable};
use super::report::{
    Counters, DiffSummary, FileReport, FileStatus, Report, RpkiDataSummary, TripReport,
};
use crate::bgp::update::Nlri;
use crate::policy::{
    evaluate_batch, BurstLimits, Limits, LocalPolicy, MaxPrefixState, PeerPolicy, Reason, Verdict,
    VerdictView,
};
use crate::rib::import::{ImportTable, KnownIndex, Standing, Terms};
use crate::rpki::{AspaState, RovState, RpkiData};
use crate::types::{Afi, Direction, PerAfi, Role};
use ipnet::IpNet;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// What the engine knows about one MRT peer.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub policy: PeerPolicy,
    pub max_prefix: Option<Limits>,
    pub burst: Option<BurstLimits>,
}

impl PeerSetup {
    /// Whether the peer's routes are kept at all: only a limit needs them (configured, and
    /// `max-prefix` among the peer's checks). Without one, replay holds nothing for it.
    fn tracked(&self) -> bool {
        (self.max_prefix.is_some() || self.burst.is_some())
            && self.policy.enabled.contains(Reason::MaxPrefix)
    }

    /// Whether the peer's burst guard counts more-specifics of known prefixes.
    fn counts_more_specifics(&self) -> bool {
        self.burst
            .as_ref()
            .is_some_and(BurstLimits::counts_more_specifics)
    }
}

/// Builds the policy of MRT peers: configured ones by (ASN, address), the rest from a template.
pub struct PeerResolver {
    configured: HashMap<(u32, IpAddr), Arc<PeerSetup>>,
    /// The template for peers not in the config (role from `--role`, default provider).
    pub default: PeerSetup,
    cache: RwLock<HashMap<PeerKey, Arc<PeerSetup>>>,
}

impl PeerResolver {
    pub fn new(configured: Vec<PeerSetup>, default: PeerSetup) -> PeerResolver {
        let configured = configured
            .into_iter()
            .filter_map(|p| {
                let ip = p.policy.address?;
                Some(((p.policy.asn.0, ip), Arc::new(p)))
            })
            .collect();
        PeerResolver {
            configured,
            default,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: PeerKey) -> Arc<PeerSetup> {
        if let Some(p) = self.cache.read().ok().and_then(|c| c.get(&key).cloned()) {
            return p;
        }
        let p = self
            .configured
            .get(&(key.asn.0, key.ip))
            .cloned()
            .unwrap_or_else(|| {
                let mut s = self.default.clone();
                s.policy.name = key.to_string();
                s.policy.asn = key.asn;
                s.policy.address = Some(key.ip);
                Arc::new(s)
            });
        if let Ok(mut c) = self.cache.write() {
            c.insert(key, p.clone());
        }
        p
    }
}

/// Everything a replay needs besides its inputs.
pub struct Setup {
    pub local: LocalPolicy,
    pub rpki: Arc<RpkiData>,
    /// Data set B for diff mode.
    pub rpki_b: Option<Arc<RpkiData>>,
    pub peers: PeerResolver,
    /// Set when VRP files were given: ROV then runs even if SLURM or expiry left no VRP
    /// (every route NotFound), and the summary tells what was removed.
    pub rpki_data: Option<RpkiDataSummary>,
}

/// With VRP files given, a data set without VRPs still validates: every route is NotFound
/// (RFC 6811 §2), rather than "not checked".
fn rov_given(verdicts: &mut [Verdict], setup: &Setup, rpki: &RpkiData) {
    if setup.rpki_data.is_some() && !rpki.has_vrps() {
        for v in verdicts {
            v.rov.get_or_insert(RovState::NotFound);
        }
    }
}

/// Output sinks (JSON Lines).
#[derive(Default)]
pub struct Sinks {
    pub rejected: Option<Box<dyn Write + Send>>,
    pub verdicts: Option<Box<dyn Write + Send>>,
    pub diff: Option<Box<dyn Write + Send>>,
}

/// An update with its stateless verdicts, made on the worker pool.
struct Evaluated {
    update: Update,
    setup: Arc<PeerSetup>,
    verdicts: Vec<Verdict>,
    /// (rov, aspa) under data set B, where it differs from A.
    diffs: Vec<Option<(Option<RovState>, Option<AspaState>)>>,
}

enum Item {
    Evaluated(Evaluated),
    State { peer: PeerKey, ts: u64, up: bool },
    Malformed,
}

fn evaluate(setup: &Setup, u: Update) -> Evaluated {
    let peer = setup.peers.get(u.peer);
    let batch = |rpki| {
        evaluate_batch(
            Direction::In,
            &u.attrs,
            u.announced.iter().map(|(p, id)| (p, *id)),
            &peer.policy,
            &setup.local,
            rpki,
        )
    };
    let mut verdicts = batch(&setup.rpki);
    rov_given(&mut verdicts, setup, &setup.rpki);
    let diffs = match &setup.rpki_b {
        Some(b) => verdicts
            .iter()
            .zip({
                let mut vb = batch(b);
                rov_given(&mut vb, setup, b);
                vb
            })
            .map(|(v, vb)| ((vb.rov, vb.aspa) != (v.rov, v.aspa)).then_some((vb.rov, vb.aspa)))
            .collect(),
        None => Vec::new(),
    };
    Evaluated {
        update: u,
        setup: peer,
        verdicts,
        diffs,
    }
}

fn item(setup: &Setup, e: Event) -> Item {
    match e {
        Event::Update(u) => Item::Evaluated(evaluate(setup, u)),
        Event::State { peer, ts, up } => Item::State { peer, ts, up },
        Event::Malformed => Item::Malformed,
    }
}

/// Per-peer state of the sequential stage.
struct PeerState {
    /// Adj-RIB-In (how each route stood, one byte a route) and limits; routes are kept only
    /// when a limit needs them ([`PeerSetup::tracked`]).
    table: ImportTable<Standing>,
    counters: Counters,
}

#[derive(Serialize)]
struct RouteLine<'a> {
    peer: String,
    prefix: IpNet,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_id: Option<u32>,
    path: String,
    timestamp: u64,
    #[serde(flatten)]
    verdict: VerdictView,
    /// RFC 7606 findings behind a `malformed` verdict.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    malformed: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<DiffSide>,
}

#[derive(Serialize)]
struct DiffSide {
    #[serde(skip_serializing_if = "Option::is_none")]
    rpki: Option<RovState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aspa: Option<AspaState>,
}

/// The sequential stage.
pub struct Engine<'s> {
    setup: &'s Setup,
    peers: HashMap<PeerKey, PeerState>,
    /// The prefixes every peer's table holds, while a burst guard counts more-specifics.
    known: KnownIndex,
    report: Report,
    by_afi: PerAfi<Counters>,
    sinks: Sinks,
    /// First write error of a sink; reported at the end.
    pub sink_error: Option<std::io::Error>,
}

fn state_name(r: Option<RovState>) -> &'static str {
    r.map_or("none", RovState::as_str)
}

fn aspa_name(a: Option<AspaState>) -> &'static str {
    a.map_or("none", AspaState::as_str)
}

/// Writes one JSON line to a sink, keeping the first error.
fn write_line(
    sink: Option<&mut Box<dyn Write + Send>>,
    err: &mut Option<std::io::Error>,
    line: &impl Serialize,
) {
    if let Some(w) = sink {
        let r = serde_json::to_writer(&mut *w, line)
            .map_err(std::io::Error::other)
            .and_then(|_| w.write_all(b"\n"));
        if let Err(e) = r {
            err.get_or_insert(e);
        }
    }
}

fn new_peer(setup: &Arc<PeerSetup>) -> PeerState {
    let limits = MaxPrefixState::new(setup.max_prefix.clone(), setup.burst.clone());
    PeerState {
        table: ImportTable::new(Direction::In, limits),
        counters: Counters::default(),
    }
}

/// The terms of an MRT peer's import step at record time `ts`: only a tracked peer has a
/// table, so its limits are enabled; replay has no observe mode.
fn terms(ts: u64) -> Terms {
    Terms {
        now: ts,
        limits_enabled: true,
        observe: false,
    }
}

fn nlri((prefix, path_id): (IpNet, Option<u32>)) -> Nlri {
    Nlri { prefix, path_id }
}

impl<'s> Engine<'s> {
    pub fn new(setup: &'s Setup, sinks: Sinks) -> Engine<'s> {
        Engine {
            setup,
            peers: HashMap::new(),
            known: KnownIndex::default(),
            report: Report {
                diff: setup.rpki_b.as_ref().map(|_| DiffSummary::default()),
                rpki_data: setup.rpki_data.clone(),
                ..Report::default()
            },
            by_afi: Default::default(),
            sinks,
            sink_error: None,
        }
    }

    fn state(&mut self, peer: PeerKey, ts: u64, up: bool) {
        let setup = self.setup.peers.get(peer);
        let ps = self.peers.entry(peer).or_insert_with(|| new_peer(&setup));
        if up {
            ps.table.session_up(ts, false);
        } else {
            ps.table.session_down(self.known.get());
        }
    }

    fn update(&mut self, e: Evaluated) {
        let Evaluated {
            update: u,
            setup,
            verdicts,
            diffs,
        } = e;
        let key = u.peer;
        let tracked = setup.tracked();
        if tracked && setup.counts_more_specifics() {
            self.known.build(self.peers.values().map(|p| &p.table));
        }
        let ps = self.peers.entry(key).or_insert_with(|| new_peer(&setup));
        let known = &mut self.known;
        let report = &mut self.report;
        if u.warnings {
            report.total.malformed_records += 1;
            ps.counters.malformed_records += 1;
        }
        if u.end_of_rib {
            ps.table.end_of_rib(u.ts);
        }
        for w in &u.withdrawn {
            let afi = Afi::of(&w.0);
            report.total.withdrawals += 1;
            self.by_afi[afi].withdrawals += 1;
            ps.counters.withdrawals += 1;
            if tracked {
                ps.table.withdraw(&nlri(*w), terms(u.ts), known.get());
            }
        }
        let want_lines = self.sinks.rejected.is_some()
            || self.sinks.verdicts.is_some()
            || self.sinks.diff.is_some();
        for (i, (prefix, path_id)) in u.announced.iter().enumerate() {
            let Some(mut v) = verdicts.get(i).copied() else {
                continue;
            };
            let afi = Afi::of(prefix);
            if tracked {
                let n = nlri((*prefix, *path_id));
                let imported = ps
                    .table
                    .announce(n, v, terms(u.ts), known.get(), |v| Standing::of(&v));
                v = imported.verdict;
                let step = imported.step;
                // A teardown empties the table at once; the routes withdrawn are those held
                // before this announcement (the one that tripped it never made it in).
                let withdrawn = if step.teardown {
                    let held = ps.table.session_down(known.get());
                    held.saturating_sub(usize::from(imported.old.is_none())) as u64
                } else {
                    0
                };
                if let Some(trip) = step.trip {
                    tracing::warn!(peer = %key, ?trip, routes_withdrawn = withdrawn, "max-prefix trip");
                    report.trips.push(TripReport {
                        peer: key.to_string(),
                        trip,
                        routes_withdrawn: withdrawn,
                    });
                }
                if step.warn {
                    tracing::info!(peer = %key, %afi, "max-prefix warning threshold crossed");
                }
            }
            report.total.route(&v);
            self.by_afi[afi].route(&v);
            ps.counters.route(&v);
            let diff = diffs.get(i).copied().flatten();
            if let (Some((rov_b, aspa_b)), Some(d)) = (diff, report.diff.as_mut()) {
                d.changed += 1;
                if rov_b != v.rov {
                    *d.transitions
                        .entry(format!("rpki {}->{}", state_name(v.rov), state_name(rov_b)))
                        .or_default() += 1;
                }
                if aspa_b != v.aspa {
                    *d.transitions
                        .entry(format!("aspa {}->{}", aspa_name(v.aspa), aspa_name(aspa_b)))
                        .or_default() += 1;
                }
            }
            if !want_lines {
                continue;
            }
            let line = |b: Option<DiffSide>| RouteLine {
                peer: key.to_string(),
                prefix: *prefix,
                path_id: *path_id,
                path: u.attrs.as_path.to_string(),
                timestamp: u.ts,
                verdict: VerdictView::from(&v),
                malformed: &u.attrs.malformed,
                b,
            };
            let err = &mut self.sink_error;
            if !v.accepted() && self.sinks.rejected.is_some() {
                write_line(self.sinks.rejected.as_mut(), err, &line(None));
            }
            if self.sinks.verdicts.is_some() {
                write_line(self.sinks.verdicts.as_mut(), err, &line(None));
            }
            if let (Some((rpki, aspa)), true) = (diff, self.sinks.diff.is_some()) {
                write_line(
                    self.sinks.diff.as_mut(),
                    err,
                    &line(Some(DiffSide { rpki, aspa })),
                );
            }
        }
    }

    fn consume(&mut self, items: Vec<Item>) {
        for it in items {
            match it {
                Item::Evaluated(e) => self.update(e),
                Item::State { peer, ts, up } => self.state(peer, ts, up),
                Item::Malformed => self.report.total.malformed_records += 1,
            }
        }
    }

    /// Processes one input file to its end. A second thread runs the checks of the next batch
    /// on the worker pool while this one applies the state of the previous batch.
    pub fn file(
        &mut self,
        name: String,
        format: input::Format,
        rx: std::sync::mpsc::Receiver<Chunk>,
        mut progress: impl FnMut(),
    ) {
        let setup = self.setup;
        let before = self.report.total.malformed_records;
        let end = std::thread::scope(|scope| {
            let (tx, evaluated) = std::sync::mpsc::sync_channel::<Vec<Item>>(2);
            let evaluator = scope.spawn(move || evaluate_chunks(setup, rx, &tx));
            for items in evaluated {
                self.consume(items);
                progress();
            }
            evaluator.join().unwrap_or_else(|_| FileEnd {
                status: FileStatus::Corrupt,
                error: Some("evaluation thread failed".into()),
                ..FileEnd::default()
            })
        });
        self.report.total.malformed_records += end.unreadable;
        let malformed = self.report.total.malformed_records - before;
        let format = match format {
            input::Format::Mrt => "mrt",
            input::Format::BgpstreamCsv => "bgpstream-csv",
        };
        self.end_file(name, format, malformed, end);
    }

    /// Records a file that could not be opened.
    pub fn unreadable(&mut self, name: String, error: String) {
        self.end_file(name, "unknown", 0, FileEnd::unreadable(error));
    }

    fn end_file(&mut self, name: String, format: &'static str, malformed: u64, end: FileEnd) {
        let stopped = !matches!(end.status, FileStatus::Complete | FileStatus::Empty);
        self.report.files.push(FileReport {
            file: name,
            format,
            records: end.records,
            malformed_records: malformed,
            status: end.status,
            bytes: end.bytes,
            truncated: if stopped { end.error.clone() } else { None },
            error: end.error,
        });
    }

    /// Ends the run: flushes the sinks and returns the report.
    pub fn finish(mut self) -> (Report, Option<std::io::Error>) {
        for w in [
            self.sinks.rejected.as_mut(),
            self.sinks.verdicts.as_mut(),
            self.sinks.diff.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let Err(e) = w.flush() {
                self.sink_error.get_or_insert(e);
            }
        }
        for (k, ps) in self.peers {
            self.report.by_peer.insert(k.to_string(), ps.counters);
        }
        let PerAfi { ipv4, ipv6 } = self.by_afi;
        for (afi, c) in [(Afi::Ipv4, ipv4), (Afi::Ipv6, ipv6)] {
            if c.routes > 0 || c.withdrawals > 0 {
                self.report.by_afi.insert(afi.as_str(), c);
            }
        }
        (self.report, self.sink_error)
    }
}

/// The evaluation stage of one file: frames → parsed records → verdicts, on the worker pool,
/// in file order. Returns how the file ended.
fn evaluate_chunks(
    setup: &Setup,
    rx: std::sync::mpsc::Receiver<Chunk>,
    tx: &std::sync::mpsc::SyncSender<Vec<Item>>,
) -> FileEnd {
    let mut peers = Arc::new(PeerTable::default());
    let mut end = FileEnd {
        status: FileStatus::Corrupt,
        error: Some("reader stopped without an end marker".into()),
        ..FileEnd::default()
    };
    for chunk in rx {
        let items: Vec<Item> = match chunk {
            Chunk::Mrt(raws) => {
                // A peer index table changes how the records after it are read: split there.
                let mut segments: Vec<(Arc<PeerTable>, Vec<_>)> = vec![(peers.clone(), vec![])];
                let mut bad_tables = 0;
                for raw in raws {
                    if input::is_peer_index(&raw) {
                        match input::peer_table(raw) {
                            Some(t) => peers = Arc::new(t),
                            None => bad_tables += 1,
                        }
                        segments.push((peers.clone(), vec![]));
                    } else if let Some((_, v)) = segments.last_mut() {
                        v.push(raw);
                    }
                }
                let mut items: Vec<Item> = (0..bad_tables).map(|_| Item::Malformed).collect();
                for (table, raws) in segments {
                    let parts: Vec<Vec<Item>> = raws
                        .into_par_iter()
                        .map(|raw| {
                            let mut ev = Vec::with_capacity(1);
                            input::parse(raw, &table, &mut ev);
                            ev.into_iter().map(|e| item(setup, e)).collect()
                        })
                        .collect();
                    items.extend(parts.into_iter().flatten());
                }
                items
            }
            Chunk::Events(events) => events.into_par_iter().map(|e| item(setup, e)).collect(),
            Chunk::End(e) => {
                end = e;
                continue;
            }
        };
        if tx.send(items).is_err() {
            break;
        }
    }
    end
}

/// The role used for MRT peers that the config does not name.
pub const DEFAULT_ROLE: Role = Role::Provider;

#[cfg(test)]
mod tests;
