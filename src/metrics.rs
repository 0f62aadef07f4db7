//! Prometheus metrics (DESIGN §6: names and labels are a stable contract) and their text
//! exposition for `/metrics`.
//!
//! Every per-peer series is resolved once, when [`Metrics::new`] is given the peer list: the hot
//! path (one call per route from the sessions and the RIB thread) indexes a `Vec` of atomic
//! counter handles and never looks a label value up, takes a lock or allocates. Series for rare
//! events (RTR caches, re-evaluations, reload errors) are looked up by label when they happen.
//! Every series the daemon can foresee is created at zero, so a rate() over it exists before the
//! first event.
//!
//! This module only counts: it must not decide anything, log, or do I/O other than reading
//! `/proc/self` for the process metrics when rendering.

use crate::policy::Reason;
use crate::types::{Afi, Direction, PerAfi, PerDirection, Side};
use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// Buckets of `bgpsieve_update_processing_seconds`: 10 µs … 1 s, about three per decade (an
/// UPDATE with one prefix takes tens of µs; a full table's worth of re-checks takes up to 1 s).
pub const UPDATE_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

/// `cause` label values of the re-evaluation counters.
pub const CAUSES: &[&str] = &["rpki", "policy"];
/// `source` label values of `bgpsieve_data_reload_errors_total`.
pub const RELOAD_SOURCES: &[&str] = &["rpki-files", "irr-files", "config"];

/// One configured peer, as the metrics know it; its index in the list is the pair slot the
/// methods take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLabel {
    /// The `[[peer]]` `name`: the `peer` label.
    pub name: String,
}

/// A registration failed: two metrics with one name (a bug in this module, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Position of a reason in `Reason::ALL`: a constant per reason (`Reason::index`).
fn reason_index(r: Reason) -> usize {
    r.index()
}

/// Whether a reason is one a route in this direction can be rejected for: those series are
/// created at zero; the others only if they ever happen.
fn reason_applies(r: Reason, d: Direction) -> bool {
    (r.number() >= 101) == (d == Direction::Out)
}

/// Handles of one peer's series.
struct PeerHandles {
    name: String,
    up: IntGauge,
    router_up: IntGauge,
    received: PerAfi<IntCounter>,
    /// `[direction][reason index]`; the series of reasons that do not apply to a direction are
    /// created on first use.
    rejected: PerDirection<Vec<OnceLock<IntCounter>>>,
    current: PerDirection<PerAfi<IntGauge>>,
    trips: PerDirection<IntCounter>,
    /// Per side (`neighbor`, `router`): the FSM state as BGP4-MIB numbers it, and the times
    /// the session left Established.
    state: crate::types::PerSide<IntGauge>,
    flaps: crate::types::PerSide<IntCounter>,
}

/// The metric families with a `peer` label, to create and remove one peer's series.
struct PeerVecs {
    peer_up: IntGaugeVec,
    router_up: IntGaugeVec,
    received: IntCounterVec,
    rejected: IntCounterVec,
    current: IntGaugeVec,
    trips: IntCounterVec,
    session_state: IntGaugeVec,
    session_flaps: IntCounterVec,
}

impl PeerVecs {
    /// The handles of peer `name`'s series, created at zero.
    fn handles(&self, name: &str) -> PeerHandles {
        let per_dir = |d: Direction| {
            Reason::ALL
                .iter()
                .map(|r| {
                    let cell = OnceLock::new();
                    if reason_applies(*r, d) {
                        let _ = cell.set(self.rejected.with_label_values(&[
                            name,
                            d.as_str(),
                            r.code(),
                        ]));
                    }
                    cell
                })
                .collect::<Vec<_>>()
        };
        PeerHandles {
            name: name.to_string(),
            up: self.peer_up.with_label_values(&[name]),
            router_up: self.router_up.with_label_values(&[name]),
            received: PerAfi::new(|a| self.received.with_label_values(&[name, a.as_str()])),
            rejected: PerDirection::new(per_dir),
            current: PerDirection::new(|d| {
                PerAfi::new(|a| {
                    self.current
                        .with_label_values(&[name, d.as_str(), a.as_str()])
                })
            }),
            trips: PerDirection::new(|d| self.trips.with_label_values(&[name, d.as_str()])),
            state: crate::types::PerSide::new(|side| {
                let g = self.session_state.with_label_values(&[name, side.as_str()]);
                g.set(1);
                g
            }),
            flaps: crate::types::PerSide::new(|side| {
                self.session_flaps.with_label_values(&[name, side.as_str()])
            }),
        }
    }

    /// Removes every series of peer `name` (a series never created is no error).
    fn remove(&self, name: &str) {
        let _ = self.peer_up.remove_label_values(&[name]);
        let _ = self.router_up.remove_label_values(&[name]);
        for a in [Afi::Ipv4, Afi::Ipv6] {
            let _ = self.received.remove_label_values(&[name, a.as_str()]);
        }
        for d in [Direction::In, Direction::Out] {
            let _ = self.trips.remove_label_values(&[name, d.as_str()]);
            for a in [Afi::Ipv4, Afi::Ipv6] {
                let _ = self
                    .current
                    .remove_label_values(&[name, d.as_str(), a.as_str()]);
            }
            for r in Reason::ALL {
                let _ = self
                    .rejected
                    .remove_label_values(&[name, d.as_str(), r.code()]);
            }
        }
        for side in Side::BOTH {
            let _ = self
                .session_state
                .remove_label_values(&[name, side.as_str()]);
            let _ = self
                .session_flaps
                .remove_label_values(&[name, side.as_str()]);
        }
    }
}

/// Every bgpsieve metric, in one registry.
pub struct Metrics {
    registry: Registry,
    /// By pair slot; `None` for a pair removed by a reload. Written only by a reload that adds
    /// or removes pairs.
    peers: RwLock<Vec<Option<Arc<PeerHandles>>>>,
    vecs: PeerVecs,
    rejected_vec: IntCounterVec,
    update_seconds: Histogram,
    vrps: PerAfi<IntGauge>,
    aspas: IntGauge,
    rtr_up: IntGaugeVec,
    rtr_serial: IntGaugeVec,
    rpki_source_updated: IntGaugeVec,
    reevaluations: IntCounterVec,
    reevaluated: IntCounterVec,
    reload_errors: IntCounterVec,
    breaker_held: IntGauge,
    policy_generation: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("peers", &self.peer_count())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// The registry with every metric, the series of `peers` created at zero.
    ///
    /// Registration can fail only on a duplicate or malformed metric name, and every name is a
    /// constant of this module that the unit tests register: a failure is a bug here, not
    /// something input can cause, so it panics. The daemon calls [`Metrics::try_new`], which
    /// returns it instead.
    #[allow(clippy::panic)]
    pub fn new(peers: &[PeerLabel]) -> Metrics {
        match Metrics::try_new(peers) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Metrics::new`], with registration errors returned.
    pub fn try_new(peers: &[PeerLabel]) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let reg = |c: Box<dyn Collector>| registry.register(c);

        let peer_up = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_peer_up",
                "Whether the BGP session with the peer is Established (1) or not (0).",
            ),
            &["peer"],
        )?;
        let router_up = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_router_session_up",
                "Whether bgpsieve's session toward the router for this peer (where it speaks as \
                 the peer) is Established (1) or not (0).",
            ),
            &["peer"],
        )?;
        let session_state = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_session_state",
                "FSM state of each session of a pair as BGP4-MIB's bgpPeerState numbers it: \
                 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established. side is \
                 neighbor or router.",
            ),
            &["peer", "side"],
        )?;
        let session_flaps = IntCounterVec::new(
            Opts::new(
                "bgpsieve_session_flaps_total",
                "Times each session of a pair left Established. side is neighbor or router.",
            ),
            &["peer", "side"],
        )?;
        let received = IntCounterVec::new(
            Opts::new(
                "bgpsieve_routes_received_total",
                "Routes (prefix announcements) received from the peer, before policy.",
            ),
            &["peer", "afi"],
        )?;
        let rejected_vec = IntCounterVec::new(
            Opts::new(
                "bgpsieve_routes_rejected_total",
                "Routes rejected, by peer, direction and reason code (a route counts once per failing reason).",
            ),
            &["peer", "direction", "reason"],
        )?;
        let current = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_routes_current",
                "Routes held: in = accepted routes from the peer, out = routes announced to it.",
            ),
            &["peer", "direction", "afi"],
        )?;
        let trips = IntCounterVec::new(
            Opts::new(
                "bgpsieve_max_prefix_trips_total",
                "Times a max-prefix limit or burst guard of the peer was exceeded, whatever the action.",
            ),
            &["peer", "direction"],
        )?;
        let update_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "bgpsieve_update_processing_seconds",
                "Time the RIB thread takes for one BGP UPDATE (limits, Adj-RIB-In, what is sent on; decoding and most checks run before, in the session tasks).",
            )
            .buckets(UPDATE_BUCKETS.to_vec()),
        )?;
        let vrps_vec = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_vrps",
                "Validated ROA payloads in the policy in force.",
            ),
            &["afi"],
        )?;
        let aspas = IntGauge::new("bgpsieve_aspas", "ASPA records in the policy in force.")?;
        let rtr_up = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_rtr_up",
                "Whether the RTR session with the cache is up and synchronized (1) or not (0).",
            ),
            &["cache"],
        )?;
        let rtr_serial = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_rtr_serial",
                "Serial number of the data last received from the RTR cache.",
            ),
            &["cache"],
        )?;
        let rpki_source_updated = IntGaugeVec::new(
            Opts::new(
                "bgpsieve_rpki_source_updated_timestamp_seconds",
                "When an RPKI source's data last changed (unix seconds): an RTR cache's last new \
                 serial, a file's modification time at its last load. source is rtr:ADDRESS or \
                 file:PATH.",
            ),
            &["source"],
        )?;
        let reevaluations = IntCounterVec::new(
            Opts::new(
                "bgpsieve_reevaluations_total",
                "Re-evaluations of stored routes, by cause (rpki data or policy changed).",
            ),
            &["cause"],
        )?;
        let reevaluated = IntCounterVec::new(
            Opts::new(
                "bgpsieve_reevaluated_routes_total",
                "Stored routes re-checked (checked) and those whose verdict changed (changed).",
            ),
            &["cause", "outcome"],
        )?;
        let reload_errors = IntCounterVec::new(
            Opts::new(
                "bgpsieve_data_reload_errors_total",
                "Failed reloads of a data source; the previous data stays in force.",
            ),
            &["source"],
        )?;
        let breaker_held = IntGauge::new(
            "bgpsieve_rpki_circuit_breaker_held",
            "Whether the RPKI circuit breaker holds back a new data set (1) or not (0).",
        )?;
        let policy_generation = IntGauge::new(
            "bgpsieve_policy_generation",
            "Generation of the policy snapshot in force (counts changes since start).",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("bgpsieve_build_info", "The running version of bgpsieve."),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        let vecs = PeerVecs {
            peer_up: peer_up.clone(),
            router_up: router_up.clone(),
            received: received.clone(),
            rejected: rejected_vec.clone(),
            current: current.clone(),
            trips: trips.clone(),
            session_state: session_state.clone(),
            session_flaps: session_flaps.clone(),
        };
        let handles = peers
            .iter()
            .map(|p| Some(Arc::new(vecs.handles(&p.name))))
            .collect();
        let vrps = PerAfi::new(|a| vrps_vec.with_label_values(&[a.as_str()]));
        for cause in CAUSES {
            reevaluations.with_label_values(&[cause]);
            for outcome in ["checked", "changed"] {
                reevaluated.with_label_values(&[*cause, outcome]);
            }
        }
        for source in RELOAD_SOURCES {
            reload_errors.with_label_values(&[source]);
        }

        reg(Box::new(peer_up))?;
        reg(Box::new(router_up))?;
        reg(Box::new(session_state))?;
        reg(Box::new(session_flaps))?;
        reg(Box::new(received))?;
        reg(Box::new(rejected_vec.clone()))?;
        reg(Box::new(current))?;
        reg(Box::new(trips))?;
        reg(Box::new(update_seconds.clone()))?;
        reg(Box::new(vrps_vec))?;
        reg(Box::new(aspas.clone()))?;
        reg(Box::new(rtr_up.clone()))?;
        reg(Box::new(rtr_serial.clone()))?;
        reg(Box::new(rpki_source_updated.clone()))?;
        reg(Box::new(reevaluations.clone()))?;
        reg(Box::new(reevaluated.clone()))?;
        reg(Box::new(reload_errors.clone()))?;
        reg(Box::new(breaker_held.clone()))?;
        reg(Box::new(policy_generation.clone()))?;
        reg(Box::new(build_info))?;
        // process_* (memory, CPU, fds, start time), read from /proc/self at each render.
        #[cfg(target_os = "linux")]
        reg(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        Ok(Metrics {
            registry,
            peers: RwLock::new(handles),
            vecs,
            rejected_vec,
            update_seconds,
            vrps,
            aspas,
            rtr_up,
            rtr_serial,
            rpki_source_updated,
            reevaluations,
            reevaluated,
            reload_errors,
            breaker_held,
            policy_generation,
        })
    }

    /// The number of peers the metrics were made for.
    pub fn peer_count(&self) -> usize {
        self.peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// A pair added by a reload, in the next slot: its series are created at zero.
    pub fn add_peer(&self, peer: &PeerLabel) -> usize {
        let handles = Arc::new(self.vecs.handles(&peer.name));
        let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
        peers.push(Some(handles));
        peers.len() - 1
    }

    /// A pair removed by a reload: its series leave `/metrics` (its slot is not reused).
    pub fn remove_peer(&self, peer: usize) {
        let gone = self
            .peers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(peer)
            .and_then(Option::take);
        if let Some(p) = gone {
            self.vecs.remove(&p.name);
        }
    }

    // Peer indexes come from the daemon's own peer list; one out of range is ignored rather
    // than allowed to panic the caller.
    fn peer(&self, peer: usize) -> Option<Arc<PeerHandles>> {
        self.peers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(peer)?
            .clone()
    }

    /// The session with `peer` went Established (`true`) or left it.
    pub fn peer_up(&self, peer: usize, up: bool) {
        if let Some(p) = self.peer(peer) {
            p.up.set(i64::from(up));
        }
    }

    /// The session toward the router for `peer` went Established (`true`) or left it.
    pub fn router_up(&self, peer: usize, up: bool) {
        if let Some(p) = self.peer(peer) {
            p.router_up.set(i64::from(up));
        }
    }

    /// The FSM of `peer`'s session on `side` is in state `mib` (BGP4-MIB bgpPeerState, 1–6).
    pub fn session_state(&self, peer: usize, side: crate::types::Side, mib: u8) {
        if let Some(p) = self.peer(peer) {
            p.state[side].set(i64::from(mib));
        }
    }

    /// `peer`'s session on `side` left Established.
    pub fn session_flap(&self, peer: usize, side: crate::types::Side) {
        if let Some(p) = self.peer(peer) {
            p.flaps[side].inc();
        }
    }

    /// `n` routes received from `peer` (pre-policy).
    pub fn received(&self, peer: usize, afi: Afi, n: u64) {
        if let Some(p) = self.peer(peer) {
            p.received[afi].inc_by(n);
        }
    }

    /// A route to or from `peer` failed `reason` (call once per failing reason).
    pub fn rejected(&self, peer: usize, dir: Direction, reason: Reason) {
        let Some(p) = self.peer(peer) else { return };
        let Some(cell) = p.rejected[dir].get(reason_index(reason)) else {
            return;
        };
        cell.get_or_init(|| {
            // A reason outside its direction: rare by construction, so looked up once here.
            self.rejected_vec
                .with_label_values(&[p.name.as_str(), dir.as_str(), reason.code()])
        })
        .inc();
    }

    /// Routes held for `peer`: `In` = accepted from it, `Out` = announced to it.
    pub fn routes_current(&self, peer: usize, dir: Direction, afi: Afi, n: i64) {
        if let Some(p) = self.peer(peer) {
            p.current[dir][afi].set(n);
        }
    }

    /// A max-prefix limit or the burst guard of `peer` was exceeded.
    pub fn max_prefix_trip(&self, peer: usize, dir: Direction) {
        if let Some(p) = self.peer(peer) {
            p.trips[dir].inc();
        }
    }

    /// One UPDATE took `seconds` to process.
    pub fn observe_update(&self, seconds: f64) {
        self.update_seconds.observe(seconds);
    }

    /// VRPs of one family in the policy in force.
    pub fn vrps(&self, afi: Afi, n: u64) {
        self.vrps[afi].set(saturating_i64(n));
    }

    /// ASPA records in the policy in force.
    pub fn aspas(&self, n: u64) {
        self.aspas.set(saturating_i64(n));
    }

    /// The state of the RTR cache `cache` (its address as configured); `serial: None` removes
    /// the serial series (no data from that cache).
    pub fn rtr(&self, cache: &str, up: bool, serial: Option<u32>) {
        self.rtr_up.with_label_values(&[cache]).set(i64::from(up));
        match serial {
            Some(s) => self
                .rtr_serial
                .with_label_values(&[cache])
                .set(i64::from(s)),
            None => {
                let _ = self.rtr_serial.remove_label_values(&[cache]);
            }
        }
    }

    /// An RPKI source's data last changed at `unix` seconds (`source`: `rtr:ADDRESS` or
    /// `file:PATH`).
    pub fn rpki_source_updated(&self, source: &str, unix: i64) {
        self.rpki_source_updated
            .with_label_values(&[source])
            .set(unix);
    }

    /// One re-evaluation of stored routes: `checked` routes re-checked, `changed` whose verdict
    /// changed. `cause` is `rpki` or `policy`.
    pub fn reevaluation(&self, cause: &str, checked: u64, changed: u64) {
        self.reevaluations.with_label_values(&[cause]).inc();
        self.reevaluated
            .with_label_values(&[cause, "checked"])
            .inc_by(checked);
        self.reevaluated
            .with_label_values(&[cause, "changed"])
            .inc_by(changed);
    }

    /// A reload of `source` (`rpki-files`, `irr-files`, `config`) failed.
    pub fn reload_error(&self, source: &str) {
        self.reload_errors.with_label_values(&[source]).inc();
    }

    /// The RPKI circuit breaker holds back a data set (`true`) or not.
    pub fn circuit_breaker_held(&self, held: bool) {
        self.breaker_held.set(i64::from(held));
    }

    /// The generation of the policy snapshot in force.
    pub fn policy_generation(&self, generation: u64) {
        self.policy_generation.set(saturating_i64(generation));
    }

    /// Every metric in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut buf = Vec::new();
        // Encoding into a Vec fails only on a malformed family, which gather() does not build.
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            buf.clear();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

#[cfg(test)]
mod tests {
    use super::*;

    fn two_peers() -> Metrics {
        Metrics::new(&[
            PeerLabel {
                name: "transit-a".into(),
            },
            PeerLabel {
                name: "customer-b".into(),
            },
        ])
    }

    fn lines(m: &Metrics) -> Vec<String> {
        m.render().lines().map(str::to_string).collect()
    }

    fn has(m: &Metrics, line: &str) {
        let all = lines(m);
        assert!(
            all.iter().any(|l| l == line),
            "no line {line:?} in:\n{}",
            all.join("\n")
        );
    }

    fn lacks(m: &Metrics, prefix: &str) {
        let all = lines(m);
        assert!(
            !all.iter().any(|l| l.starts_with(prefix)),
            "unexpected {prefix:?} in:\n{}",
            all.join("\n")
        );
    }

    #[test]
    fn a_peer_added_or_removed_by_a_reload_gets_or_loses_its_series() {
        let m = two_peers();
        let slot = m.add_peer(&PeerLabel {
            name: "ix-c".into(),
        });
        assert_eq!((slot, m.peer_count()), (2, 3));
        has(&m, r#"bgpsieve_peer_up{peer="ix-c"} 0"#);
        m.peer_up(2, true);
        has(&m, r#"bgpsieve_peer_up{peer="ix-c"} 1"#);
        m.rejected(0, Direction::Out, Reason::Malformed);
        m.remove_peer(0);
        for family in [
            "bgpsieve_peer_up",
            "bgpsieve_router_up",
            "bgpsieve_routes_received_total",
            "bgpsieve_routes_rejected_total",
            "bgpsieve_routes_current",
            "bgpsieve_max_prefix_trips_total",
            "bgpsieve_session_state",
            "bgpsieve_session_flaps_total",
        ] {
            let removed = format!("{family}{{");
            assert!(
                !lines(&m)
                    .iter()
                    .any(|l| l.starts_with(&removed) && l.contains(r#"peer="transit-a""#)),
                "{family} of transit-a left"
            );
        }
        // Its slot is not reused; a call for it changes nothing, the others go on.
        m.peer_up(0, true);
        lacks(&m, r#"bgpsieve_peer_up{peer="transit-a"}"#);
        has(&m, r#"bgpsieve_peer_up{peer="customer-b"} 0"#);
        has(&m, r#"bgpsieve_peer_up{peer="ix-c"} 1"#);
        assert_eq!(m.add_peer(&PeerLabel { name: "d".into() }), 3);
    }

    #[test]
    fn reason_index_is_the_position_in_all() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(reason_index(*r), i, "{r}");
        }
    }

    #[test]
    fn per_peer_series_exist_at_zero_before_any_event() {
        let m = two_peers();
        has(&m, r#"bgpsieve_peer_up{peer="transit-a"} 0"#);
        has(
            &m,
            r#"bgpsieve_routes_received_total{afi="ipv6",peer="customer-b"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="in",peer="transit-a",reason="rpki-invalid"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="in",peer="customer-b",reason="blackhole-unauthorized"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="out",peer="transit-a",reason="not-announceable"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_current{afi="ipv4",direction="out",peer="customer-b"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_max_prefix_trips_total{direction="in",peer="customer-b"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_reevaluated_routes_total{cause="rpki",outcome="changed"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_data_reload_errors_total{source="irr-files"} 0"#,
        );
        has(&m, "bgpsieve_rpki_circuit_breaker_held 0");
        has(
            &m,
            &format!(
                r#"bgpsieve_build_info{{version="{}"}} 1"#,
                env!("CARGO_PKG_VERSION")
            ),
        );
        // Import reasons have no out series until one happens, and vice versa.
        lacks(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="out",peer="transit-a",reason="rpki-invalid"}"#,
        );
        lacks(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="in",peer="transit-a",reason="otc-egress"}"#,
        );
        let per_peer = lines(&m)
            .iter()
            .filter(|l| l.starts_with("bgpsieve_routes_rejected_total{") && l.contains("transit-a"))
            .count();
        assert_eq!(per_peer, Reason::ALL.len());
    }

    #[test]
    fn hot_path_calls_land_on_their_own_series() {
        let m = two_peers();
        m.peer_up(0, true);
        m.received(0, Afi::Ipv4, 1000);
        m.received(0, Afi::Ipv4, 234);
        m.received(1, Afi::Ipv6, 7);
        m.rejected(0, Direction::In, Reason::RpkiInvalid);
        m.rejected(0, Direction::In, Reason::RpkiInvalid);
        m.rejected(1, Direction::Out, Reason::ExportMaxPrefix);
        m.routes_current(0, Direction::In, Afi::Ipv4, 1232);
        m.routes_current(1, Direction::Out, Afi::Ipv6, 5);
        m.max_prefix_trip(1, Direction::In);
        has(&m, r#"bgpsieve_peer_up{peer="transit-a"} 1"#);
        has(&m, r#"bgpsieve_peer_up{peer="customer-b"} 0"#);
        has(
            &m,
            r#"bgpsieve_routes_received_total{afi="ipv4",peer="transit-a"} 1234"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_received_total{afi="ipv6",peer="customer-b"} 7"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_received_total{afi="ipv6",peer="transit-a"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="in",peer="transit-a",reason="rpki-invalid"} 2"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="out",peer="customer-b",reason="export-max-prefix"} 1"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_current{afi="ipv4",direction="in",peer="transit-a"} 1232"#,
        );
        has(
            &m,
            r#"bgpsieve_routes_current{afi="ipv6",direction="out",peer="customer-b"} 5"#,
        );
        has(
            &m,
            r#"bgpsieve_max_prefix_trips_total{direction="in",peer="customer-b"} 1"#,
        );
        m.peer_up(0, false);
        has(&m, r#"bgpsieve_peer_up{peer="transit-a"} 0"#);
    }

    #[test]
    fn a_reason_outside_its_direction_gets_its_series_on_first_use() {
        let m = two_peers();
        m.rejected(1, Direction::Out, Reason::Malformed);
        has(
            &m,
            r#"bgpsieve_routes_rejected_total{direction="out",peer="customer-b",reason="malformed"} 1"#,
        );
    }

    #[test]
    fn an_unknown_peer_index_is_ignored() {
        let m = two_peers();
        m.peer_up(2, true);
        m.received(99, Afi::Ipv4, 1);
        m.rejected(5, Direction::In, Reason::BogonAsn);
        m.routes_current(usize::MAX, Direction::In, Afi::Ipv4, 1);
        m.max_prefix_trip(2, Direction::Out);
        let ours = |m: &Metrics| -> Vec<String> {
            lines(m)
                .into_iter()
                .filter(|l| l.starts_with("bgpsieve_"))
                .collect()
        };
        assert_eq!(ours(&m), ours(&two_peers()));
    }

    #[test]
    fn data_and_control_metrics() {
        let m = two_peers();
        m.vrps(Afi::Ipv4, 424_000);
        m.vrps(Afi::Ipv6, 98_000);
        m.aspas(1200);
        m.rtr("127.0.0.1:3323", true, Some(4711));
        m.rtr("[::1]:3323", false, None);
        m.reevaluation("rpki", 3000, 12);
        m.reevaluation("rpki", 10, 1);
        m.reevaluation("policy", 5, 0);
        m.reload_error("irr-files");
        m.circuit_breaker_held(true);
        m.policy_generation(42);
        has(&m, r#"bgpsieve_vrps{afi="ipv4"} 424000"#);
        has(&m, r#"bgpsieve_vrps{afi="ipv6"} 98000"#);
        has(&m, "bgpsieve_aspas 1200");
        has(&m, r#"bgpsieve_rtr_up{cache="127.0.0.1:3323"} 1"#);
        has(&m, r#"bgpsieve_rtr_up{cache="[::1]:3323"} 0"#);
        has(&m, r#"bgpsieve_rtr_serial{cache="127.0.0.1:3323"} 4711"#);
        lacks(&m, r#"bgpsieve_rtr_serial{cache="[::1]:3323"}"#);
        has(&m, r#"bgpsieve_reevaluations_total{cause="rpki"} 2"#);
        has(&m, r#"bgpsieve_reevaluations_total{cause="policy"} 1"#);
        has(
            &m,
            r#"bgpsieve_reevaluated_routes_total{cause="rpki",outcome="checked"} 3010"#,
        );
        has(
            &m,
            r#"bgpsieve_reevaluated_routes_total{cause="rpki",outcome="changed"} 13"#,
        );
        has(
            &m,
            r#"bgpsieve_data_reload_errors_total{source="irr-files"} 1"#,
        );
        has(&m, "bgpsieve_rpki_circuit_breaker_held 1");
        has(&m, "bgpsieve_policy_generation 42");
        // A cache whose data went away loses its serial series.
        m.rtr("127.0.0.1:3323", false, None);
        lacks(&m, r#"bgpsieve_rtr_serial{cache="127.0.0.1:3323"}"#);
    }

    #[test]
    fn update_histogram_has_buckets_from_10us_to_1s() {
        let m = two_peers();
        m.observe_update(0.00003);
        m.observe_update(0.002);
        m.observe_update(3.0);
        has(&m, "# TYPE bgpsieve_update_processing_seconds histogram");
        has(
            &m,
            r#"bgpsieve_update_processing_seconds_bucket{le="0.00001"} 0"#,
        );
        has(
            &m,
            r#"bgpsieve_update_processing_seconds_bucket{le="0.00005"} 1"#,
        );
        has(
            &m,
            r#"bgpsieve_update_processing_seconds_bucket{le="0.0025"} 2"#,
        );
        has(&m, r#"bgpsieve_update_processing_seconds_bucket{le="1"} 2"#);
        has(
            &m,
            r#"bgpsieve_update_processing_seconds_bucket{le="+Inf"} 3"#,
        );
        has(&m, "bgpsieve_update_processing_seconds_count 3");
        has(&m, "bgpsieve_update_processing_seconds_sum 3.00203");
    }

    #[test]
    fn types_and_help_are_declared() {
        let m = two_peers();
        for (name, ty) in [
            ("bgpsieve_peer_up", "gauge"),
            ("bgpsieve_router_session_up", "gauge"),
            ("bgpsieve_routes_received_total", "counter"),
            ("bgpsieve_routes_rejected_total", "counter"),
            ("bgpsieve_routes_current", "gauge"),
            ("bgpsieve_vrps", "gauge"),
            ("bgpsieve_aspas", "gauge"),
            ("bgpsieve_max_prefix_trips_total", "counter"),
            ("bgpsieve_reevaluations_total", "counter"),
            ("bgpsieve_reevaluated_routes_total", "counter"),
            ("bgpsieve_data_reload_errors_total", "counter"),
            ("bgpsieve_rpki_circuit_breaker_held", "gauge"),
            ("bgpsieve_policy_generation", "gauge"),
            ("bgpsieve_build_info", "gauge"),
        ] {
            has(&m, &format!("# TYPE {name} {ty}"));
            assert!(m.render().contains(&format!("# HELP {name} ")), "{name}");
        }
        // Series of rtr caches appear with the first cache report.
        lacks(&m, "bgpsieve_rtr_up{");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_are_rendered() {
        let m = two_peers();
        let text = m.render();
        for name in [
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name} missing in\n{text}"
            );
        }
        let rss: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        assert!(rss > 1e6, "rss {rss}");
    }
}
