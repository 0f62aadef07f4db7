//! Route views (`GET /api/v1/peers/NAME/routes`, `GET /api/v1/routes`; `bgpsieve ctl routes`
//! and `ctl route`): bounded queries the RIB thread answers from the tables it owns, with owned
//! results (shared attribute sets and verdicts) the API task turns into JSON.
//!
//! Four views of a pair, named for where the routes come from and go to:
//! - `in`: what the neighbor sent, before policy, each route with its import verdict and whether
//!   it was passed on to the router (accepted, or any route in observe mode, while the router
//!   side is up);
//! - `to-router`: what the router was sent: those routes that pass, with the attributes the
//!   router gets (OTC set on ingress, observe mode's reject-reason communities);
//! - `from-router`: what the router sent for this neighbor, before policy, with the export
//!   verdicts;
//! - `out`: what the neighbor was sent: those routes that pass, with the attributes the neighbor
//!   gets (the router's link address as next hop, OTC on egress).
//!
//! Costs, on the RIB thread (which handles nothing else meanwhile):
//! - a peer's view is one pass over one flow of that pair (its counts are over the whole flow,
//!   so they match `bgpsieve_routes_current` and the peer view); a route that matches is kept
//!   only while it is among the first `limit` in prefix order (a bounded heap, no copy of the
//!   table: 13 ms for 1M IPv4 routes with a limit of 10000 on the project's 2-core VM, and at
//!   most `limit` shared attribute sets are held). `to-router` and `out` make the receiving side's attributes for
//!   the routes returned only.
//! - exact: a lookup per flow of every pair; longest match: for every flow, a lookup per
//!   candidate length from the prefix's down (at most 33 or 129), then the routes of the longest
//!   prefix found anywhere; more-specifics (`longer`): IPv4 reads only the part of each table
//!   under the prefix, IPv6 is a pass over each flow's IPv6 routes (a few ms per full table).
//!   Routes with an ADD-PATH identifier (rare) are a pass in every case.

use super::{InRoute, Rib};
use crate::bgp::update::{Nlri, PathAttributes};
use crate::policy::Verdict;
use crate::types::{Afi, Direction, PerAfi};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Routes returned when no limit is given, and the most a query may ask for.
pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;

/// Which routes of a pair a view shows (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// From the neighbor, before policy.
    In,
    /// To the router: the neighbor's routes that pass.
    ToRouter,
    /// From the router, before (export) policy.
    FromRouter,
    /// To the neighbor: the router's routes that pass.
    Out,
}

impl View {
    pub const ALL: [View; 4] = [View::In, View::ToRouter, View::FromRouter, View::Out];

    pub fn as_str(self) -> &'static str {
        match self {
            View::In => "in",
            View::ToRouter => "to-router",
            View::FromRouter => "from-router",
            View::Out => "out",
        }
    }

    /// The flow whose routes the view shows.
    pub fn flow(self) -> Direction {
        match self {
            View::In | View::ToRouter => Direction::In,
            View::FromRouter | View::Out => Direction::Out,
        }
    }

    /// The view shows what the receiving side was sent (with its attributes), not what came.
    pub fn sent(self) -> bool {
        matches!(self, View::ToRouter | View::Out)
    }

    /// The view of what came in on flow `d`, before policy.
    pub fn received(d: Direction) -> View {
        match d {
            Direction::In => View::In,
            Direction::Out => View::FromRouter,
        }
    }
}

impl std::str::FromStr for View {
    type Err = String;
    fn from_str(s: &str) -> Result<View, String> {
        View::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not one of in, to-router, from-router, out"))
    }
}

/// Only accepted or only rejected routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Accepted,
    Rejected,
}

/// How a prefix query selects routes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteMatch {
    /// Routes for exactly the prefix (`birdc show route PREFIX`).
    Exact,
    /// Routes for the longest prefix held anywhere that covers it (`birdc show route for`,
    /// `bgpctl show rib ADDRESS`).
    #[default]
    Longest,
    /// Routes for the prefix and every more-specific of it (`bgpctl show rib PREFIX
    /// longer-prefixes`).
    Longer,
}

impl RouteMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMatch::Exact => "exact",
            RouteMatch::Longest => "longest",
            RouteMatch::Longer => "longer",
        }
    }
}

/// One pair's routes in one view, filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerQuery {
    pub peer: String,
    pub view: View,
    pub status: Option<Status>,
    pub afi: Option<Afi>,
    /// At most this many routes, 1–[`MAX_LIMIT`].
    pub limit: usize,
}

/// The routes of every pair (both flows) for a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixQuery {
    pub prefix: IpNet,
    pub how: RouteMatch,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteQuery {
    Peer(PeerQuery),
    Prefix(PrefixQuery),
}

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("no peer named {0:?}")]
    NoPeer(String),
}

/// One route of an answer.
#[derive(Debug, Clone)]
pub struct Row {
    pub peer: String,
    /// `in` or `from-router` in a prefix answer (the flow that holds it); the view asked for
    /// in a peer's.
    pub view: View,
    pub nlri: Nlri,
    /// As received (`in`, `from-router`) or as sent (`to-router`, `out`).
    pub attrs: Arc<PathAttributes>,
    pub verdict: Verdict,
    /// The other side has it: it passes (accepted, or observe mode) and that side is up.
    pub passed: bool,
}

/// Per family, over one flow: routes held, accepted and rejected by the checks and limits, and
/// passed on (what the receiving side has).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounts {
    pub held: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub passed: u64,
}

impl FlowCounts {
    fn add(&mut self, accepted: bool, passed: bool) {
        self.held += 1;
        self.accepted += u64::from(accepted);
        self.rejected += u64::from(!accepted);
        self.passed += u64::from(passed);
    }
}

/// A query's answer.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// A peer query: the counts of the flow it reads, unfiltered.
    pub counts: Option<PerAfi<FlowCounts>>,
    /// Routes that matched; more than `rows.len()` when the limit cut the answer.
    pub matched: usize,
    /// A longest-match query: the prefix whose routes are returned.
    pub matched_prefix: Option<IpNet>,
    /// At most the limit, in prefix order (then peer, then flow).
    pub rows: Vec<Row>,
}

/// The first `limit` offered items in key order, without holding more than `limit`.
struct Page<K, T> {
    limit: usize,
    heap: BinaryHeap<Keyed<K, T>>,
    matched: usize,
}

/// A heap entry ordered by its key alone.
struct Keyed<K, T>(K, T);

impl<K: Ord, T> PartialEq for Keyed<K, T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<K: Ord, T> Eq for Keyed<K, T> {}
impl<K: Ord, T> PartialOrd for Keyed<K, T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord, T> Ord for Keyed<K, T> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.cmp(&o.0)
    }
}

impl<K: Ord, T> Page<K, T> {
    fn new(limit: usize) -> Self {
        Page {
            limit,
            heap: BinaryHeap::new(),
            matched: 0,
        }
    }

    /// Counts a match; keeps it (made by `make`) while it is among the first `limit`.
    fn offer(&mut self, key: K, make: impl FnOnce() -> T) {
        self.matched += 1;
        if self.heap.len() < self.limit {
            self.heap.push(Keyed(key, make()));
        } else if self.heap.peek().is_some_and(|top| key < top.0) {
            self.heap.pop();
            self.heap.push(Keyed(key, make()));
        }
    }

    /// The matches counted, and those kept in key order.
    fn into_sorted(self) -> (usize, Vec<(K, T)>) {
        let items = self.heap.into_sorted_vec();
        (
            self.matched,
            items.into_iter().map(|Keyed(k, t)| (k, t)).collect(),
        )
    }
}

impl PeerQuery {
    fn selects(&self, n: &Nlri, r: &InRoute) -> bool {
        self.afi.is_none_or(|a| a == n.afi())
            && match self.status {
                None => true,
                Some(Status::Accepted) => r.verdict.accepted(),
                Some(Status::Rejected) => !r.verdict.accepted(),
            }
    }
}

impl Rib {
    /// Answers a route query (see the module documentation for what it costs).
    pub fn query_routes(&self, q: &RouteQuery) -> Result<Found, QueryError> {
        match q {
            RouteQuery::Peer(q) => self.peer_routes(q),
            RouteQuery::Prefix(q) => Ok(self.prefix_routes(q)),
        }
    }

    fn peer_routes(&self, q: &PeerQuery) -> Result<Found, QueryError> {
        let (i, p) = self
            .pairs
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == q.peer && !p.gone)
            .ok_or_else(|| QueryError::NoPeer(q.peer.clone()))?;
        let d = q.view.flow();
        let observe = p.policy.observe;
        let target_up = p.is_up(super::flow::target(d));
        let mut counts = PerAfi::<FlowCounts>::default();
        let mut page = Page::new(q.limit.max(1));
        for (n, r) in &p.flows[d].table {
            let passed = target_up && r.passes(observe);
            counts[n.afi()].add(r.verdict.accepted(), passed);
            if (q.view.sent() && !passed) || !q.selects(&n, r) {
                continue;
            }
            page.offer(n, || (r.clone(), passed));
        }
        let (matched, kept) = page.into_sorted();
        let rows = kept
            .into_iter()
            .map(|(nlri, (r, passed))| Row {
                peer: p.name.clone(),
                view: q.view,
                nlri,
                attrs: if q.view.sent() {
                    self.outgoing_attrs(i, d, &r, nlri.afi())
                } else {
                    r.attrs.clone()
                },
                verdict: r.verdict,
                passed,
            })
            .collect();
        Ok(Found {
            counts: Some(counts),
            matched,
            matched_prefix: None,
            rows,
        })
    }

    /// Every flow of every pair: (pair, flow).
    fn flows(&self) -> impl Iterator<Item = (usize, Direction)> + '_ {
        (0..self.pairs.len()).flat_map(|i| [(i, Direction::In), (i, Direction::Out)])
    }

    fn prefix_routes(&self, q: &PrefixQuery) -> Found {
        let at = match q.how {
            RouteMatch::Exact | RouteMatch::Longer => Some(q.prefix),
            RouteMatch::Longest => self
                .flows()
                .filter_map(|(i, d)| {
                    self.pairs.get(i)?.flows[d]
                        .table
                        .routes()
                        .longest_match(&q.prefix)
                })
                .max()
                .and_then(|len| IpNet::new(q.prefix.addr(), len).ok())
                .map(|p| p.trunc()),
        };
        let Some(at) = at else {
            return Found::default();
        };
        let mut page = Page::new(q.limit.max(1));
        for (i, d) in self.flows() {
            let Some(p) = self.pairs.get(i) else {
                continue;
            };
            let target_up = p.is_up(super::flow::target(d));
            let mut offer = |n: Nlri, r: &InRoute| {
                page.offer((n, i, d == Direction::Out), || {
                    (r.clone(), target_up && r.passes(p.policy.observe))
                })
            };
            let routes = p.flows[d].table.routes();
            match q.how {
                RouteMatch::Longer => routes.for_each_within(&at, &mut offer),
                RouteMatch::Exact | RouteMatch::Longest => routes.for_each_at(&at, &mut offer),
            }
        }
        let (matched, kept) = page.into_sorted();
        let rows = kept
            .into_iter()
            .filter_map(|((nlri, i, out), (r, passed))| {
                Some(Row {
                    peer: self.pairs.get(i)?.name.clone(),
                    view: View::received(if out { Direction::Out } else { Direction::In }),
                    nlri,
                    attrs: r.attrs,
                    verdict: r.verdict,
                    passed,
                })
            })
            .collect();
        Found {
            counts: None,
            matched,
            matched_prefix: (q.how == RouteMatch::Longest).then_some(at),
            rows,
        }
    }
}
