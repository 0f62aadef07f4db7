//! What the RIB tells operators: Prometheus counters at the points where verdicts are made
//! (DESIGN §8), every rejected route into the API's bounded store, and a view of each peer
//! (state, routes per family, limits) refreshed at most once a second. Owned by the RIB thread;
//! the API reads the shared parts.

use super::{Rib, RibPeer};
use crate::api::rejected::{RejectedRoute, RejectedStore};
use crate::api::views::{LastTrip, LimitState, PeerView, SessionState};
use crate::metrics::Metrics;
use crate::policy::{Trip, Verdict};
use crate::types::{Afi, Direction, PerAfi};
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
    /// Per peer: unix time of the last session state change, and the last limit trip.
    since: Vec<Option<i64>>,
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
            since: vec![None; n],
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

    pub fn session(&mut self, peer: usize, up: bool) {
        self.metrics.peer_up(peer, up);
        if let Some(slot) = self.since.get_mut(peer) {
            *slot = Some(unix_now());
        }
    }
}

/// Routes per family: (held, accepted) from a neighbor.
fn held(p: &RibPeer) -> (PerAfi<u64>, PerAfi<u64>) {
    let (mut all, mut ok) = (PerAfi::<u64>::default(), PerAfi::<u64>::default());
    for (n, r) in &p.adj_in {
        all[n.afi()] += 1;
        ok[n.afi()] += u64::from(r.verdict.accepted());
    }
    (all, ok)
}

impl Rib {
    /// Recomputes the peer views and the route gauges when a second has passed since the last
    /// time (or `force`).
    pub fn refresh_ops(&mut self, force: bool) {
        let Some(ops) = self.ops.as_ref() else {
            return;
        };
        let wait = if ops.dirty { REFRESH } else { REFRESH_IDLE };
        if !force && ops.last_refresh.is_some_and(|t| t.elapsed() < wait) {
            return;
        }
        // What the routers have: every passing path (ADD-PATH) or one per prefix. A prefix is
        // counted once, at the first neighbor (by index) that passes a route for it; no set
        // of a full table is built.
        let mut passing = PerAfi::<u64>::default();
        let mut best = PerAfi::<u64>::default();
        let live: Vec<&RibPeer> = self
            .peers
            .iter()
            .filter(|p| !p.is_router() && p.session.is_some())
            .collect();
        for (k, p) in live.iter().enumerate() {
            for (n, r) in &p.adj_in {
                if !r.passes(p.policy.observe) {
                    continue;
                }
                passing[n.afi()] += 1;
                let key = crate::bgp::update::Nlri::new(n.prefix);
                let earlier = live.iter().take(k).any(|q| {
                    q.adj_in
                        .get(&key)
                        .is_some_and(|r| r.passes(q.policy.observe))
                });
                if !earlier && (n.path_id.is_none() || !p.adj_in.contains_key(&key)) {
                    best[n.afi()] += 1;
                }
            }
        }
        let now = self.now;
        let mut views = Vec::with_capacity(self.peers.len());
        for (i, p) in self.peers.iter_mut().enumerate() {
            let (all, ok) = held(p);
            let out = if p.is_router() {
                let add_path = p
                    .session
                    .as_ref()
                    .map(|s| s.add_path_send.clone())
                    .unwrap_or_default();
                PerAfi::new(|afi| match p.session {
                    None => 0,
                    Some(_) if add_path.contains(&afi) => passing[afi],
                    Some(_) => best[afi],
                })
            } else {
                PerAfi::new(|afi| p.adj_out.keys().filter(|n| n.afi() == afi).count() as u64)
            };
            let mut v = PeerView::new(
                p.name.clone(),
                p.role,
                p.asn,
                p.policy
                    .address
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
            );
            v.state = if p.session.is_some() {
                SessionState::Established
            } else if p.mp_in.is_down(now) {
                SessionState::Stopped
            } else {
                SessionState::Down
            };
            v.routes_in = all;
            v.accepted_in = ok;
            v.routes_out = out;
            v.rejected_in = p.rejected_in;
            v.rejected_out = p.rejected_out;
            if let Some(ops) = self.ops.as_ref() {
                v.since = ops.since.get(i).copied().flatten();
                v.max_prefix.last_trip = ops.trips.get(i).cloned().flatten();
                let dir_in = crate::types::Direction::In;
                let dir_out = crate::types::Direction::Out;
                for afi in [Afi::Ipv4, Afi::Ipv6] {
                    ops.metrics.routes_current(i, dir_in, afi, ok[afi] as i64);
                    ops.metrics.routes_current(i, dir_out, afi, out[afi] as i64);
                }
                v.max_prefix.state = match (&v.state, &v.max_prefix.last_trip) {
                    (SessionState::Stopped, _) => LimitState::Down,
                    (_, Some(t)) if unix_now() - t.at < 60 => LimitState::Tripped,
                    _ => LimitState::Ok,
                };
                v.max_prefix.down_until =
                    p.mp_in.down_until().flatten().map(|t| ops.epoch + t as i64);
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
