//! Re-evaluation after an RPKI data change (DESIGN §4): only the routes the delta touches are
//! checked again, routers get the resulting withdrawals and announcements, neighbors lose or
//! gain the router routes whose export verdict changed. No session is reset.
//!
//! Touched routes are found without walking the table for VRP changes: the prefix index of
//! every held prefix gives the routes equal to or more specific than a changed VRP prefix.
//! ASPA changes (rare: a few thousand objects in the world) are found by a scan of the
//! distinct attribute sets for paths holding a changed customer AS, and only the routes with
//! such a path are checked again.

use super::{InRoute, Output, Rib, RouterBatches};
use crate::bgp::update::{Nlri, PathAttributes};
use crate::policy::{evaluate, Reason, ReasonSet, Verdict};
use crate::rpki::{RpkiData, RpkiDelta};
use crate::types::{Afi, Asn, Direction, Route};
use ipnet::IpNet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// What a re-evaluation did, for logs, metrics and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reevaluation {
    /// Routes checked again (neighbor routes on import, router routes on export per neighbor).
    pub checked: usize,
    /// Of those, routes whose verdict changed.
    pub changed: usize,
}

/// Reasons a re-evaluation leaves as they were: they come from the session (RFC 7606) or from
/// limit state, not from the stateless checks.
fn kept_reasons(v: &Verdict) -> ReasonSet {
    let mut keep = ReasonSet::default();
    for r in [Reason::Malformed, Reason::MaxPrefix] {
        if v.failed.contains(r) {
            keep.insert(r);
        }
    }
    keep
}

/// Whether a path holds one of `asns`, asked once per distinct attribute set.
struct PathFilter<'a> {
    asns: &'a FxHashSet<Asn>,
    seen: FxHashMap<*const PathAttributes, bool>,
}

impl PathFilter<'_> {
    fn holds(&mut self, attrs: &Arc<PathAttributes>) -> bool {
        if self.asns.is_empty() {
            return false;
        }
        let asns = self.asns;
        *self
            .seen
            .entry(Arc::as_ptr(attrs))
            .or_insert_with(|| attrs.attrs.as_path.asns().any(|a| asns.contains(&a)))
    }
}

impl Rib {
    /// Installs new RPKI data and re-checks the routes `delta` touches. `delta` must describe
    /// the change from the data the RIB holds to `data` ([`RpkiDelta::between`]).
    pub fn set_rpki(
        &mut self,
        data: Arc<RpkiData>,
        delta: &RpkiDelta,
        generation: u64,
    ) -> (Vec<Output>, Reevaluation) {
        self.rpki = data;
        self.rpki_generation = generation;
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        if delta.is_empty() {
            return (out, stats);
        }
        let customers: FxHashSet<Asn> = delta.aspa_customers.iter().copied().collect();
        self.reevaluate_imports(delta, &customers, &mut stats, &mut out);
        self.reevaluate_exports(delta, &customers, &mut stats, &mut out);
        (out, stats)
    }

    /// The prefixes of an index that a VRP delta touches.
    fn touched(index: &crate::policy::max_prefix::KnownPrefixes, delta: &RpkiDelta) -> Vec<IpNet> {
        if delta.all {
            return index.all();
        }
        let mut v: Vec<IpNet> = Vec::new();
        for p in &delta.vrp_prefixes {
            v.extend(index.covered_by(p));
        }
        // Nested VRP prefixes cover some routes twice.
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The (neighbor, NLRI) pairs to check again, in a stable order.
    fn touched_neighbor_routes(
        &self,
        delta: &RpkiDelta,
        customers: &FxHashSet<Asn>,
    ) -> Vec<(usize, Nlri)> {
        let prefixes = Self::touched(&self.known, delta);
        let mut set: FxHashSet<(usize, Nlri)> = FxHashSet::default();
        let mut filter = PathFilter {
            asns: customers,
            seen: FxHashMap::default(),
        };
        for (i, p) in self.peers.iter().enumerate() {
            if p.is_router() {
                continue;
            }
            // A neighbor sending several paths per prefix keys them by path id: look at its
            // table for the touched prefixes (rare on neighbor sessions).
            let add_path = p
                .session
                .as_ref()
                .is_some_and(|s| !s.add_path_receive.is_empty());
            if add_path && !prefixes.is_empty() {
                let wanted: FxHashSet<&IpNet> = prefixes.iter().collect();
                set.extend(
                    p.adj_in
                        .keys()
                        .filter(|n| wanted.contains(&n.prefix))
                        .map(|n| (i, *n)),
                );
            } else {
                set.extend(
                    prefixes
                        .iter()
                        .map(|pfx| Nlri::new(*pfx))
                        .filter(|n| p.adj_in.contains_key(n))
                        .map(|n| (i, n)),
                );
            }
            if !customers.is_empty() {
                set.extend(
                    p.adj_in
                        .iter()
                        .filter(|(_, r)| filter.holds(&r.attrs))
                        .map(|(n, _)| (i, *n)),
                );
            }
        }
        let mut v: Vec<(usize, Nlri)> = set.into_iter().collect();
        v.sort_unstable_by_key(|(i, n)| (*i, n.prefix, n.path_id));
        v
    }

    fn reevaluate_imports(
        &mut self,
        delta: &RpkiDelta,
        customers: &FxHashSet<Asn>,
        stats: &mut Reevaluation,
        out: &mut Vec<Output>,
    ) {
        let touched = self.touched_neighbor_routes(delta, customers);
        let targets = [self.router_modes(Afi::Ipv4), self.router_modes(Afi::Ipv6)];
        let mut batches = RouterBatches::default();
        let mut stopped: FxHashSet<usize> = FxHashSet::default();
        for (from, nlri) in touched {
            if stopped.contains(&from) {
                continue;
            }
            let Some(old) = self.peers[from].adj_in.get(&nlri).cloned() else {
                continue;
            };
            stats.checked += 1;
            let route = Route {
                prefix: nlri.prefix,
                path_id: nlri.path_id,
                attrs: old.attrs.attrs.clone(),
            };
            let p = &self.peers[from];
            let mut verdict = evaluate(Direction::In, &route, &p.policy, &self.local, &self.rpki);
            let kept = kept_reasons(&old.verdict);
            for r in [Reason::Malformed, Reason::MaxPrefix] {
                if kept.contains(r) {
                    verdict.reject(r);
                }
            }
            if verdict == old.verdict {
                continue;
            }
            // A route dropped as excess stays dropped and uncounted; any other one changes
            // the accepted count as a replacement would.
            if !kept.contains(Reason::MaxPrefix) {
                let prev = Some(old.verdict.accepted());
                if let Some((notification, restart_after)) =
                    self.import_limit(from, &nlri, &mut verdict, prev, false)
                {
                    stopped.insert(from);
                    out.push(Output::Stop {
                        peer: from,
                        notification,
                        restart_after,
                    });
                }
            }
            stats.changed += 1;
            let p = &mut self.peers[from];
            tracing::debug!(
                peer = %p.name,
                prefix = %nlri.prefix,
                accepted = verdict.accepted(),
                reasons = ?verdict.reasons().collect::<Vec<_>>(),
                "verdict changed by RPKI data"
            );
            if !verdict.accepted() && old.verdict.accepted() {
                p.rejected_in += 1;
            }
            let new = InRoute {
                attrs: old.attrs.clone(),
                verdict,
            };
            let t = &targets[usize::from(nlri.afi() == Afi::Ipv6)];
            self.change(from, nlri, Some(new), t, &mut batches);
        }
        batches.flush(self, out);
    }

    fn reevaluate_exports(
        &mut self,
        delta: &RpkiDelta,
        customers: &FxHashSet<Asn>,
        stats: &mut Reevaluation,
        out: &mut Vec<Output>,
    ) {
        // The export ASPA check reads the path with our AS prepended.
        let local_touched = customers.contains(&self.local.asn);
        let all = RpkiDelta {
            all: true,
            ..RpkiDelta::default()
        };
        let prefixes = Self::touched(&self.known_router, if local_touched { &all } else { delta });
        let mut filter = PathFilter {
            asns: customers,
            seen: FxHashMap::default(),
        };
        let routers: Vec<usize> = (0..self.peers.len())
            .filter(|i| self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect();
        // Toward a neighbor there is one path per prefix: the first router's.
        let mut routes: FxHashMap<IpNet, (Nlri, Arc<PathAttributes>)> = FxHashMap::default();
        for prefix in &prefixes {
            let key = Nlri::new(*prefix);
            if let Some(r) = routers.iter().find_map(|r| self.peers[*r].adj_in.get(&key)) {
                routes.insert(*prefix, (key, r.attrs.clone()));
            }
        }
        if !customers.is_empty() && !local_touched {
            for r in &routers {
                for (n, route) in &self.peers[*r].adj_in {
                    if filter.holds(&route.attrs) {
                        routes
                            .entry(n.prefix)
                            .or_insert_with(|| (*n, route.attrs.clone()));
                    }
                }
            }
        }
        let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> =
            routes.into_values().map(|(n, a)| (n, Some(a))).collect();
        if routes.is_empty() {
            return;
        }
        routes.sort_unstable_by_key(|(n, _)| (n.prefix, n.path_id));
        for n in self.neighbors() {
            stats.checked += routes.len();
            let batch = self.export_to(n, &routes, true);
            stats.changed +=
                batch.announce.iter().map(|(_, v)| v.len()).sum::<usize>() + batch.withdraw.len();
            if let Some(neg) = self.peers[n].session.clone() {
                self.flush(n, &neg, batch, out);
            }
        }
    }
}
