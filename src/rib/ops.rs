//! What the RIB tells operators: Prometheus counters at the points where verdicts are made
//! (DESIGN §8), every rejected route into the API's bounded store, and a view of each peer
//! (state, routes per family, limits) refreshed at most once a second. Owned by the RIB thread;
//! the API reads the shared parts.

use super::rejected::{RejectedRoute, RejectedStore};
use super::views::{LastTrip, PeerView, RouterView, SessionState};
use super::Rib;
use crate::metrics::Metrics;
use crate::policy::{Trip, Verdict};
use crate::types::{Afi, Direction, PerAfi, PerSide, SessionId, Side};
use crate::unix_now;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the peer views and the route gauges are recomputed (a walk of the tables) while
/// routes change, and how often when nothing did (the views carry times).
const REFRESH: Duration = Duration::from_secs(1);
const REFRESH_IDLE: Duration = Duration::from_secs(30);

/// Each rejection is logged at debug; at info, one summary line per peer this often.
const SUMMARY: Duration = Duration::from_secs(60);

/// The RIB's handles on the operator-facing state.
pub struct Ops {
    pub metrics: Arc<Metrics>,
    pub rejected: Arc<RejectedStore>,
    pub peers: Arc<Mutex<Vec<PeerView>>>,
    /// The latest leak incidents, newest first, for the API.
    pub incidents: Arc<Mutex<Vec<super::Incident>>>,
    last_refresh: Option<Instant>,
    /// Something the views show has changed since the last refresh.
    pub dirty: bool,
    /// Per pair: unix time of each side's last session state change, and the last limit trip.
    since: Vec<PerSide<Option<i64>>>,
    trips: Vec<Option<LastTrip>>,
    /// Unix time at the RIB's clock zero (its `now` counts seconds from there).
    epoch: i64,
    /// Rejections since the last summary, per peer and direction, by primary reason.
    counts: std::cell::RefCell<Vec<[Vec<u32>; 2]>>,
    last_summary: Instant,
}

impl Ops {
    pub fn new(
        metrics: Arc<Metrics>,
        rejected: Arc<RejectedStore>,
        peers: Arc<Mutex<Vec<PeerView>>>,
        incidents: Arc<Mutex<Vec<super::Incident>>>,
        n: usize,
    ) -> Ops {
        Ops {
            metrics,
            rejected,
            peers,
            incidents,
            last_refresh: None,
            dirty: true,
            since: vec![PerSide::default(); n],
            trips: vec![None; n],
            epoch: unix_now(),
            counts: std::cell::RefCell::new(
                (0..n)
                    .map(|_| {
                        let zero = vec![0u32; crate::policy::Reason::ALL.len()];
                        [zero.clone(), zero]
                    })
                    .collect(),
            ),
            last_summary: Instant::now(),
        }
    }

    /// Room for one more pair (added by a reload), in the next slot.
    pub fn add_pair(&mut self) {
        self.since.push(PerSide::default());
        self.trips.push(None);
        let zero = vec![0u32; crate::policy::Reason::ALL.len()];
        self.counts.get_mut().push([zero.clone(), zero]);
        self.dirty = true;
    }

    /// Logs, at info and at most once a minute, how many routes each peer had rejected and
    /// why (each rejection itself is at debug).
    pub fn summarize(&mut self, names: &[String]) {
        if self.last_summary.elapsed() < SUMMARY {
            return;
        }
        let minutes = self.last_summary.elapsed().as_secs().div_ceil(60);
        self.last_summary = Instant::now();
        for (i, dirs) in self.counts.get_mut().iter_mut().enumerate() {
            for (d, counts) in dirs.iter_mut().enumerate() {
                let total: u32 = counts.iter().sum();
                if total == 0 {
                    continue;
                }
                let by_reason: Vec<String> = crate::policy::Reason::ALL
                    .iter()
                    .zip(counts.iter())
                    .filter(|(_, n)| **n > 0)
                    .map(|(r, n)| format!("{} {n}", r.code()))
                    .collect();
                let direction = if d == 0 { "in" } else { "out" };
                let peer = names.get(i).map_or("?", String::as_str);
                tracing::info!(
                    peer,
                    direction,
                    rejected = total,
                    "rejected {total} routes in the last {minutes} min: {}",
                    by_reason.join(", ")
                );
                counts.iter_mut().for_each(|n| *n = 0);
            }
        }
    }

    /// A route was rejected (import or export): count every failing reason, keep the route.
    pub fn rejected(
        &self,
        peer: usize,
        name: &str,
        dir: Direction,
        nlri: &crate::bgp::update::Nlri,
        path: &crate::types::AsPath,
        v: &Verdict,
    ) {
        for r in v.reasons() {
            self.metrics.rejected(peer, dir, r);
        }
        if let Some(primary) = v.primary() {
            let d = usize::from(dir == Direction::Out);
            let at = crate::policy::Reason::ALL
                .iter()
                .position(|r| *r == primary);
            if let (Some(slot), Some(at)) = (self.counts.borrow_mut().get_mut(peer), at) {
                if let Some(n) = slot.get_mut(d).and_then(|c| c.get_mut(at)) {
                    *n += 1;
                }
            }
        }
        self.rejected.push(RejectedRoute {
            time: unix_now(),
            peer: name.to_string(),
            direction: dir,
            prefix: nlri.prefix,
            path_id: nlri.path_id,
            path: path.to_string(),
            reasons: v.reasons().collect(),
            rpki: v.rov,
            aspa: v.aspa,
        });
    }

    pub fn tripped(&mut self, peer: usize, dir: Direction, trip: &Trip) {
        self.metrics.max_prefix_trip(peer, dir);
        let mut t = LastTrip::from_trip(trip, dir);
        t.at += self.epoch;
        if let Some(slot) = self.trips.get_mut(peer) {
            *slot = Some(t);
        }
    }

    pub fn session(&mut self, id: SessionId, up: bool) {
        match id.side {
            Side::Neighbor => self.metrics.peer_up(id.pair, up),
            Side::Router => self.metrics.router_up(id.pair, up),
        }
        if let Some(slot) = self.since.get_mut(id.pair) {
            slot[id.side] = Some(unix_now());
        }
    }
}

/// Per family, over one flow: routes held, accepted, and passed on (what the receiving side
/// has while it is up).
fn counts(f: &super::Flow, observe: bool) -> [PerAfi<u64>; 3] {
    let mut c = [PerAfi::<u64>::default(); 3];
    for (n, r) in &f.table {
        let [all, ok, passed] = &mut c;
        all[n.afi()] += 1;
        ok[n.afi()] += u64::from(r.verdict.accepted());
        passed[n.afi()] += u64::from(r.passes(observe));
    }
    c
}

impl Rib {
    /// Recomputes the views and the route gauges when a second has passed since the last time
    /// (or `force`).
    pub fn refresh_ops(&mut self, force: bool) {
        let Some(ops) = self.ops.as_ref() else {
            return;
        };
        let wait = if ops.dirty { REFRESH } else { REFRESH_IDLE };
        if !force && ops.last_refresh.is_some_and(|t| t.elapsed() < wait) {
            return;
        }
        let now = self.now;
        let mut views = Vec::with_capacity(self.pairs.len());
        for (i, p) in self.pairs.iter_mut().enumerate() {
            if p.gone {
                continue;
            }
            let observe = p.policy.observe;
            let [all_in, ok_in, passed_in] = counts(&p.flows.inbound, observe);
            let [all_out, _, passed_out] = counts(&p.flows.outbound, observe);
            let sent = |side: Side, passed: PerAfi<u64>| match p.sessions[side] {
                Some(_) => passed,
                None => PerAfi::default(),
            };
            let to_neighbor = sent(Side::Neighbor, passed_out);
            let to_router = sent(Side::Router, passed_in);
            let mut router = RouterView::new(p.router_address, p.router_local_address);
            router.state = if p.is_up(Side::Router) {
                SessionState::Established
            } else {
                SessionState::Down
            };
            router.routes_in = all_out;
            router.routes_out = to_router;
            let mut v = PeerView::new(
                p.name.clone(),
                p.role,
                p.asn,
                p.policy
                    .address
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                router,
            );
            v.shutdown = p.shutdown.as_ref().map(|s| super::views::ShutdownView {
                message: s.message.clone(),
                since: s.since,
                configured: s.configured,
            });
            v.state = if p.is_up(Side::Neighbor) {
                SessionState::Established
            } else if p.shutdown.is_some()
                || p.flows.inbound.table.is_down(now)
                || p.flows.outbound.table.is_down(now)
            {
                SessionState::Stopped
            } else {
                SessionState::Down
            };
            v.session = p.diag.neighbor.snapshot();
            v.router.session = p.diag.router.snapshot();
            v.routes_in = all_in;
            v.accepted_in = ok_in;
            v.routes_out = to_neighbor;
            v.rejected_in = p.flows.inbound.rejected;
            v.rejected_out = p.flows.outbound.rejected;
            if let Some(ops) = self.ops.as_ref() {
                if let Some(since) = ops.since.get(i) {
                    v.since = since.neighbor;
                    v.router.since = since.router;
                }
                v.max_prefix.last_trip = ops.trips.get(i).cloned().flatten();
                for afi in [Afi::Ipv4, Afi::Ipv6] {
                    ops.metrics
                        .routes_current(i, Direction::In, afi, ok_in[afi] as i64);
                    ops.metrics
                        .routes_current(i, Direction::Out, afi, to_neighbor[afi] as i64);
                }
                v.max_prefix.state = p
                    .flows
                    .inbound
                    .table
                    .limit_state(now)
                    .max(p.flows.outbound.table.limit_state(now));
                let down_until = p.flows.inbound.table.down_until().or(p
                    .flows
                    .outbound
                    .table
                    .down_until());
                v.max_prefix.down_until = down_until.flatten().map(|t| ops.epoch + t as i64);
            }
            views.push(v);
        }
        let incidents = self.incidents.list();
        if let Some(ops) = self.ops.as_mut() {
            *ops.peers.lock().unwrap_or_else(PoisonError::into_inner) = views;
            *ops.incidents.lock().unwrap_or_else(PoisonError::into_inner) = incidents;
            ops.last_refresh = Some(Instant::now());
            ops.dirty = false;
        }
    }
}
