//! The replay engine. Stateless checks run on the worker pool, a batch of records at a time;
//! the stateful part (Adj-RIB-In per MRT peer, max-prefix and burst guard along the records'
//! timeline, counters, output) runs in record order on one thread. This is the same split the
//! daemon has: pure policy off the I/O path, state owned by one task.

use super::convert::{PeerKey, Update};
use super::input::{self, Chunk, Event, FileEnd, PeerTable};
use super::report::{Counters, DiffSummary, FileReport, Report, TripReport};
use crate::policy::{
    evaluate_import, max_prefix::Announcement, BurstLimits, Limits, LocalPolicy, MaxPrefixState,
    PeerPolicy, Reason, Verdict, VerdictView,
};
use crate::rpki::{AspaState, RovState, RpkiData};
use crate::types::{Afi, Role};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
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

    /// Whether any peer's burst guard counts more-specifics (which needs the known-prefix trie).
    pub fn tracks_more_specifics(&self) -> bool {
        self.default
            .burst
            .as_ref()
            .is_some_and(|b| b.more_specifics_per_min.is_some())
            || self.configured.values().any(|p| {
                p.burst
                    .as_ref()
                    .is_some_and(|b| b.more_specifics_per_min.is_some())
            })
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
    let mut verdicts = Vec::with_capacity(u.announced.len());
    let mut diffs = Vec::new();
    for (prefix, path_id) in &u.announced {
        let route = crate::types::Route {
            prefix: *prefix,
            path_id: *path_id,
            attrs: u.attrs.clone(),
        };
        let v = evaluate_import(&route, &peer.policy, &setup.local, &setup.rpki);
        if let Some(b) = &setup.rpki_b {
            let vb = evaluate_import(&route, &peer.policy, &setup.local, b);
            diffs.push(((vb.rov, vb.aspa) != (v.rov, v.aspa)).then_some((vb.rov, vb.aspa)));
        }
        verdicts.push(v);
    }
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
    setup: Arc<PeerSetup>,
    mp: MaxPrefixState,
    /// Adj-RIB-In: (prefix, path id) → accepted. Kept only when a limit needs it.
    rib: HashMap<(IpNet, Option<u32>), bool>,
    counters: Counters,
}

/// Prefixes currently held by any peer (refcounted), for the more-specifics burst guard.
#[derive(Default)]
struct Known {
    v4: PrefixMap<Ipv4Net, u32>,
    v6: PrefixMap<Ipv6Net, u32>,
}

impl Known {
    fn more_specific_of_known(&self, p: &IpNet) -> bool {
        match p {
            IpNet::V4(n) => self
                .v4
                .cover(n)
                .any(|(c, _)| c.prefix_len() < n.prefix_len()),
            IpNet::V6(n) => self
                .v6
                .cover(n)
                .any(|(c, _)| c.prefix_len() < n.prefix_len()),
        }
    }
    fn add(&mut self, p: &IpNet) {
        match p {
            IpNet::V4(n) => *self.v4.entry(*n).or_insert(0) += 1,
            IpNet::V6(n) => *self.v6.entry(*n).or_insert(0) += 1,
        }
    }
    fn remove(&mut self, p: &IpNet) {
        let gone = match p {
            IpNet::V4(n) => self.v4.get_mut(n).map(|c| {
                *c = c.saturating_sub(1);
                *c == 0
            }),
            IpNet::V6(n) => self.v6.get_mut(n).map(|c| {
                *c = c.saturating_sub(1);
                *c == 0
            }),
        };
        if gone == Some(true) {
            match p {
                IpNet::V4(n) => {
                    self.v4.remove(n);
                }
                IpNet::V6(n) => {
                    self.v6.remove(n);
                }
            }
        }
    }
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
    known: Option<Known>,
    report: Report,
    sinks: Sinks,
    /// First write error of a sink; reported at the end.
    pub sink_error: Option<std::io::Error>,
}

fn afi_key(afi: Afi) -> &'static str {
    afi.as_str()
}

fn state_name(r: Option<RovState>) -> &'static str {
    match r {
        Some(RovState::Valid) => "valid",
        Some(RovState::Invalid) => "invalid",
        Some(RovState::NotFound) => "not_found",
        None => "none",
    }
}

fn aspa_name(a: Option<AspaState>) -> &'static str {
    match a {
        Some(AspaState::Valid) => "valid",
        Some(AspaState::Invalid) => "invalid",
        Some(AspaState::Unknown) => "unknown",
        None => "none",
    }
}

impl<'s> Engine<'s> {
    pub fn new(setup: &'s Setup, sinks: Sinks, track_more_specifics: bool) -> Engine<'s> {
        Engine {
            setup,
            peers: HashMap::new(),
            known: track_more_specifics.then(Known::default),
            report: Report {
                diff: setup.rpki_b.as_ref().map(|_| DiffSummary::default()),
                ..Report::default()
            },
            sinks,
            sink_error: None,
        }
    }

    fn write(&mut self, which: u8, line: &impl Serialize) {
        let sink = match which {
            0 => self.sinks.rejected.as_mut(),
            1 => self.sinks.verdicts.as_mut(),
            _ => self.sinks.diff.as_mut(),
        };
        if let Some(w) = sink {
            let r = serde_json::to_writer(&mut *w, line)
                .map_err(std::io::Error::other)
                .and_then(|_| w.write_all(b"\n"));
            if let Err(e) = r {
                if self.sink_error.is_none() {
                    self.sink_error = Some(e);
                }
            }
        }
    }

    fn peer(&mut self, key: PeerKey, setup: &Arc<PeerSetup>) -> &mut PeerState {
        self.peers.entry(key).or_insert_with(|| PeerState {
            setup: setup.clone(),
            mp: MaxPrefixState::new(setup.max_prefix.clone(), setup.burst.clone()),
            rib: HashMap::new(),
            counters: Counters::default(),
        })
    }

    /// Drops every route of a peer (session down or torn down); returns how many.
    fn drop_peer_routes(&mut self, key: PeerKey) -> u64 {
        let Some(ps) = self.peers.get_mut(&key) else {
            return 0;
        };
        let rib = std::mem::take(&mut ps.rib);
        if let Some(k) = self.known.as_mut() {
            for (p, _) in rib.keys() {
                k.remove(p);
            }
        }
        rib.len() as u64
    }

    fn state(&mut self, peer: PeerKey, ts: u64, up: bool) {
        let setup = self.setup.peers.get(peer);
        if up {
            self.peer(peer, &setup).mp.session_up(ts);
        } else {
            self.drop_peer_routes(peer);
        }
    }

    fn malformed(&mut self) {
        self.report.total.malformed_records += 1;
    }

    fn update(&mut self, e: Evaluated) {
        let Evaluated {
            update: u,
            setup,
            verdicts,
            diffs,
        } = e;
        let key = u.peer;
        let peer_name = key.to_string();
        if u.warnings {
            self.report.total.malformed_records += 1;
            self.peer(key, &setup).counters.malformed_records += 1;
        }
        if u.end_of_rib {
            self.peer(key, &setup).mp.end_of_rib(u.ts);
        }
        let tracked = self.peer(key, &setup).mp.is_active();
        for w in &u.withdrawn {
            self.report.total.withdrawals += 1;
            let afi = Afi::of(&w.0);
            self.report
                .by_afi
                .entry(afi_key(afi))
                .or_default()
                .withdrawals += 1;
            let ps = self.peer(key, &setup);
            ps.counters.withdrawals += 1;
            if tracked {
                if let Some(acc) = ps.rib.remove(w) {
                    ps.mp.withdraw(afi, acc);
                    if let Some(k) = self.known.as_mut() {
                        k.remove(&w.0);
                    }
                }
            }
        }
        for (i, (prefix, path_id)) in u.announced.iter().enumerate() {
            let Some(mut v) = verdicts.get(i).copied() else {
                continue;
            };
            let afi = Afi::of(prefix);
            if tracked && setup.policy.enabled.contains(Reason::MaxPrefix) {
                let more = self
                    .known
                    .as_ref()
                    .is_some_and(|k| k.more_specific_of_known(prefix));
                let ps = self.peer(key, &setup);
                let prev = ps.rib.get(&(*prefix, *path_id)).copied();
                let step = ps.mp.announce(Announcement {
                    afi,
                    now: u.ts,
                    is_new: prev.is_none(),
                    was_accepted: prev.unwrap_or(false),
                    passes_policy: v.accepted(),
                    more_specific_of_known: more,
                });
                if step.reject {
                    v.reject(Reason::MaxPrefix);
                }
                if step.teardown {
                    let n = self.drop_peer_routes(key);
                    if let Some(trip) = step.trip {
                        tracing::warn!(peer = %peer_name, ?trip, routes_withdrawn = n, "max-prefix trip: session torn down");
                        self.report.trips.push(TripReport {
                            peer: peer_name.clone(),
                            trip,
                            routes_withdrawn: n,
                        });
                    }
                } else {
                    if let Some(trip) = step.trip {
                        tracing::warn!(peer = %peer_name, ?trip, "max-prefix trip");
                        self.report.trips.push(TripReport {
                            peer: peer_name.clone(),
                            trip,
                            routes_withdrawn: 0,
                        });
                    }
                    if step.warn {
                        tracing::info!(peer = %peer_name, %afi, "max-prefix warning threshold crossed");
                    }
                    let accepted = v.accepted();
                    let ps = self.peer(key, &setup);
                    if !ps.mp.is_down(u.ts)
                        && ps.rib.insert((*prefix, *path_id), accepted).is_none()
                    {
                        if let Some(k) = self.known.as_mut() {
                            k.add(prefix);
                        }
                    }
                }
            }
            self.report.total.route(&v);
            self.report
                .by_afi
                .entry(afi_key(afi))
                .or_default()
                .route(&v);
            self.peer(key, &setup).counters.route(&v);
            let diff = diffs.get(i).copied().flatten();
            if let Some((rov_b, aspa_b)) = diff {
                if let Some(d) = self.report.diff.as_mut() {
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
            }
            let want_line = (!v.accepted() && self.sinks.rejected.is_some())
                || self.sinks.verdicts.is_some()
                || (diff.is_some() && self.sinks.diff.is_some());
            if want_line {
                let line = |b: Option<DiffSide>| RouteLine {
                    peer: peer_name.clone(),
                    prefix: *prefix,
                    path_id: *path_id,
                    path: u.attrs.as_path.to_string(),
                    timestamp: u.ts,
                    verdict: VerdictView::from(&v),
                    malformed: &u.attrs.malformed,
                    b,
                };
                if !v.accepted() {
                    self.write(0, &line(None));
                }
                self.write(1, &line(None));
                if let Some((rpki, aspa)) = diff {
                    self.write(2, &line(Some(DiffSide { rpki, aspa })));
                }
            }
        }
    }

    fn consume(&mut self, items: Vec<Item>) {
        for it in items {
            match it {
                Item::Evaluated(e) => self.update(e),
                Item::State { peer, ts, up } => self.state(peer, ts, up),
                Item::Malformed => self.malformed(),
            }
        }
    }

    /// Processes one input file to its end.
    pub fn file(
        &mut self,
        name: String,
        format: input::Format,
        rx: std::sync::mpsc::Receiver<Chunk>,
        mut progress: impl FnMut(),
    ) {
        let setup = self.setup;
        let before = self.report.total.malformed_records;
        let mut peers = Arc::new(PeerTable::default());
        let mut end = FileEnd {
            truncated: Some("reader stopped without an end marker".into()),
            ..FileEnd::default()
        };
        for chunk in rx {
            match chunk {
                Chunk::Mrt(raws) => {
                    // Peer index tables change how the records after them are read: split there.
                    let mut segments: Vec<(Arc<PeerTable>, Vec<_>)> = vec![(peers.clone(), vec![])];
                    for raw in raws {
                        if input::is_peer_index(&raw) {
                            match input::peer_table(raw) {
                                Some(t) => peers = Arc::new(t),
                                None => self.malformed(),
                            }
                            segments.push((peers.clone(), vec![]));
                        } else if let Some((_, v)) = segments.last_mut() {
                            v.push(raw);
                        }
                    }
                    for (table, raws) in segments {
                        let items: Vec<Vec<Item>> = raws
                            .into_par_iter()
                            .map(|raw| {
                                let mut ev = Vec::new();
                                input::parse(raw, &table, &mut ev);
                                ev.into_iter().map(|e| item(setup, e)).collect()
                            })
                            .collect();
                        for v in items {
                            self.consume(v);
                        }
                    }
                }
                Chunk::Events(events) => {
                    let items: Vec<Item> = events.into_par_iter().map(|e| item(setup, e)).collect();
                    self.consume(items);
                }
                Chunk::End(e) => end = e,
            }
            progress();
        }
        self.report.total.malformed_records += end.unreadable;
        if let Some(t) = &end.truncated {
            tracing::warn!(file = %name, error = %t, "input ended early; everything before was replayed");
        }
        self.report.files.push(FileReport {
            file: name,
            format: match format {
                input::Format::Mrt => "mrt",
                input::Format::BgpstreamCsv => "bgpstream-csv",
            },
            records: end.records,
            malformed_records: self.report.total.malformed_records - before,
            truncated: end.truncated,
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
            let _ = &ps.setup;
            self.report.by_peer.insert(k.to_string(), ps.counters);
        }
        (self.report, self.sink_error)
    }
}

/// The role used for MRT peers that the config does not name.
pub const DEFAULT_ROLE: Role = Role::Provider;
