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
use crate::policy::max_prefix::KnownPrefixes;
use crate::policy::{evaluate, LocalPolicy, PeerPolicy, Reason, ReasonSet, Verdict};
use crate::rpki::{RpkiData, RpkiDelta};
use crate::types::{Asn, Direction, PerAfi, Route};
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

/// A policy change (today: IRR prefix lists reloaded): the new policies and where their
/// verdicts may differ.
#[derive(Debug, Clone)]
pub struct PolicyUpdate {
    pub generation: u64,
    pub local: LocalPolicy,
    /// Peers whose policy changed, with the new one.
    pub peers: Vec<(usize, PeerPolicy)>,
    /// Per neighbor: prefixes whose entries changed in its prefix list; its routes equal to or
    /// more specific than one are checked again.
    pub import: Vec<(usize, Vec<IpNet>)>,
    /// Prefixes whose entries changed in the announce list: router routes equal to or more
    /// specific than one are checked again on export.
    pub export: Vec<IpNet>,
}

/// One peer's settings from a reloaded configuration (its session parameters unchanged).
#[derive(Debug, Clone)]
pub struct PeerReconfig {
    pub peer: usize,
    pub policy: PeerPolicy,
    pub next_hop: Option<std::net::IpAddr>,
    pub limits_in: Option<crate::policy::Limits>,
    pub burst: Option<crate::policy::BurstLimits>,
    pub limits_out: Option<crate::policy::Limits>,
}

/// What a reloaded configuration changes in the RIB.
#[derive(Debug, Clone)]
pub struct Reconfigure {
    pub generation: u64,
    /// The new local policy, when it changed (announce list, bogons, Peerlock): every route is
    /// checked again.
    pub local: Option<LocalPolicy>,
    /// Peers whose policy or limits changed: their routes are checked again, and a neighbor
    /// is sent its table again (its next hop or export checks may have changed).
    pub peers: Vec<PeerReconfig>,
}

// `self.peers[id]` takes ids from the RIB's own tables (see the note on `impl Rib` in mod.rs).
#[allow(clippy::indexing_slicing)]
impl Rib {
    /// Applies a reloaded configuration's policy changes; no session is reset here.
    pub fn reconfigure(&mut self, r: Reconfigure) -> (Vec<Output>, Reevaluation) {
        self.policy_generation = r.generation;
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        let local_changed = r.local.is_some();
        if let Some(l) = r.local {
            self.local = l;
        }
        let mut touched = Vec::new();
        let mut resend = Vec::new();
        for pr in r.peers {
            let Some(p) = self.peers.get_mut(pr.peer) else {
                continue;
            };
            p.policy = pr.policy;
            p.next_hop = pr.next_hop;
            let mut held = PerAfi::<[usize; 2]>::default();
            for (n, route) in &p.adj_in {
                if route.verdict.failed.contains(Reason::MaxPrefix) {
                    continue;
                }
                let [received, accepted] = &mut held[n.afi()];
                *received += 1;
                *accepted += usize::from(route.verdict.accepted());
            }
            p.mp_in.set_limits(pr.limits_in, pr.burst, held);
            let sent = PerAfi::new(|afi| {
                let n = p.adj_out.keys().filter(|n| n.afi() == afi).count();
                [n, n]
            });
            p.mp_out.set_limits(pr.limits_out, None, sent);
            if !p.is_router() {
                if !local_changed {
                    touched.extend(self.neighbor_routes_under(None, Some(pr.peer)));
                }
                resend.push(pr.peer);
            }
        }
        if local_changed {
            touched = self.neighbor_routes_under(None, None);
        }
        self.recheck_imports(touched, &mut stats, &mut out);
        if local_changed {
            let routes = self.router_routes_under(None);
            self.recheck_exports(routes, &mut stats, &mut out);
        }
        for n in resend {
            if self.peers[n].session.is_some() {
                out.extend(self.full_table(n));
            }
        }
        (out, stats)
    }

    /// Installs new RPKI data and re-checks the routes `delta` touches. `delta` must describe
    /// the change from the data the RIB holds to `data` ([`RpkiDelta::between`]).
    pub fn set_rpki(
        &mut self,
        data: Arc<RpkiData>,
        delta: &RpkiDelta,
        generation: u64,
    ) -> (Vec<Output>, Reevaluation) {
        self.rpki = data;
        self.policy_generation = generation;
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        if delta.is_empty() {
            return (out, stats);
        }
        let customers: FxHashSet<Asn> = delta.aspa_customers.iter().copied().collect();
        let mut touched = if delta.all {
            self.neighbor_routes_under(None, None)
        } else {
            self.neighbor_routes_under(Some(&delta.vrp_prefixes), None)
        };
        touched.extend(self.neighbor_routes_with(&customers));
        self.recheck_imports(touched, &mut stats, &mut out);
        // The export ASPA check reads the path with our AS prepended.
        let every = delta.all || customers.contains(&self.local.asn);
        let mut routes = self.router_routes_under((!every).then_some(&delta.vrp_prefixes[..]));
        if !every {
            routes.extend(self.router_routes_with(&customers));
        }
        self.recheck_exports(routes, &mut stats, &mut out);
        (out, stats)
    }

    /// Installs new policies and re-checks the routes their changes touch.
    pub fn set_policy(&mut self, u: PolicyUpdate) -> (Vec<Output>, Reevaluation) {
        self.local = u.local;
        self.policy_generation = u.generation;
        for (i, pol) in u.peers {
            if let Some(p) = self.peers.get_mut(i) {
                p.policy = pol;
            }
        }
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        let mut touched = Vec::new();
        for (i, prefixes) in &u.import {
            touched.extend(self.neighbor_routes_under(Some(prefixes), Some(*i)));
        }
        self.recheck_imports(touched, &mut stats, &mut out);
        if !u.export.is_empty() {
            let routes = self.router_routes_under(Some(&u.export));
            self.recheck_exports(routes, &mut stats, &mut out);
        }
        (out, stats)
    }

    /// Held prefixes equal to or more specific than one of `bases` (every one for `None`).
    fn held_under(index: &KnownPrefixes, bases: Option<&[IpNet]>) -> Vec<IpNet> {
        let Some(bases) = bases else {
            return index.all();
        };
        let mut v: Vec<IpNet> = Vec::new();
        for p in bases {
            v.extend(index.covered_by(p));
        }
        // Nested bases cover some prefixes twice.
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Neighbor routes (of neighbor `only`, or of all) for prefixes equal to or more specific
    /// than one of `bases` (every route for `None`).
    fn neighbor_routes_under(
        &self,
        bases: Option<&[IpNet]>,
        only: Option<usize>,
    ) -> Vec<(usize, Nlri)> {
        let prefixes = Self::held_under(&self.known, bases);
        let mut v = Vec::new();
        for (i, p) in self.peers.iter().enumerate() {
            if p.is_router() || only.is_some_and(|o| o != i) {
                continue;
            }
            // A neighbor sending several paths per prefix keys them by path id: look at its
            // table for the touched prefixes (rare on neighbor sessions).
            let add_path = p
                .session
                .as_ref()
                .is_some_and(|s| !s.add_path_receive.is_empty());
            if add_path {
                let wanted: FxHashSet<&IpNet> = prefixes.iter().collect();
                v.extend(
                    p.adj_in
                        .keys()
                        .filter(|n| wanted.contains(&n.prefix))
                        .map(|n| (i, n)),
                );
            } else {
                v.extend(
                    prefixes
                        .iter()
                        .map(|pfx| Nlri::new(*pfx))
                        .filter(|n| p.adj_in.contains_key(n))
                        .map(|n| (i, n)),
                );
            }
        }
        v
    }

    /// Neighbor routes whose path holds one of `asns`.
    fn neighbor_routes_with(&self, asns: &FxHashSet<Asn>) -> Vec<(usize, Nlri)> {
        if asns.is_empty() {
            return Vec::new();
        }
        let mut filter = PathFilter {
            asns,
            seen: FxHashMap::default(),
        };
        let mut v = Vec::new();
        for (i, p) in self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_router())
        {
            v.extend(
                p.adj_in
                    .iter()
                    .filter(|(_, r)| filter.holds(&r.attrs))
                    .map(|(n, _)| (i, n)),
            );
        }
        v
    }

    /// The routers that are up.
    fn live_routers(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|i| self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect()
    }

    /// Router routes for prefixes equal to or more specific than one of `bases` (all for
    /// `None`), one per prefix (toward a neighbor there is one path per prefix: the first
    /// router's).
    fn router_routes_under(&self, bases: Option<&[IpNet]>) -> Vec<(Nlri, Arc<PathAttributes>)> {
        let routers = self.live_routers();
        Self::held_under(&self.known_router, bases)
            .into_iter()
            .filter_map(|prefix| {
                let key = Nlri::new(prefix);
                routers
                    .iter()
                    .find_map(|r| self.peers[*r].adj_in.get(&key))
                    .map(|r| (key, r.attrs.clone()))
            })
            .collect()
    }

    /// Router routes whose path holds one of `asns`.
    fn router_routes_with(&self, asns: &FxHashSet<Asn>) -> Vec<(Nlri, Arc<PathAttributes>)> {
        if asns.is_empty() {
            return Vec::new();
        }
        let mut filter = PathFilter {
            asns,
            seen: FxHashMap::default(),
        };
        let mut v = Vec::new();
        for r in self.live_routers() {
            for (n, route) in &self.peers[r].adj_in {
                if filter.holds(&route.attrs) {
                    v.push((Nlri::new(n.prefix), route.attrs.clone()));
                }
            }
        }
        v
    }

    /// Checks the given neighbor routes again; routers get what changes.
    fn recheck_imports(
        &mut self,
        mut touched: Vec<(usize, Nlri)>,
        stats: &mut Reevaluation,
        out: &mut Vec<Output>,
    ) {
        touched.sort_unstable_by_key(|(i, n)| (*i, n.prefix, n.path_id));
        touched.dedup();
        let targets = PerAfi::new(|afi| self.router_modes(afi));
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
                "verdict changed by a data or policy change"
            );
            if !verdict.accepted() && old.verdict.accepted() {
                p.rejected_in += 1;
                if let Some(ops) = &self.ops {
                    let path = &old.attrs.attrs.as_path;
                    ops.rejected(from, &p.name, Direction::In, &nlri, path, &verdict);
                }
            }
            let new = InRoute {
                attrs: old.attrs.clone(),
                verdict,
            };
            let t = &targets[nlri.afi()];
            self.change(from, nlri, Some(new), t, &mut batches);
        }
        batches.flush(self, out);
    }

    /// Checks the given router routes again toward every neighbor; neighbors get what changes.
    fn recheck_exports(
        &mut self,
        routes: Vec<(Nlri, Arc<PathAttributes>)>,
        stats: &mut Reevaluation,
        out: &mut Vec<Output>,
    ) {
        let mut seen: FxHashSet<IpNet> = FxHashSet::default();
        let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = routes
            .into_iter()
            .filter(|(n, _)| seen.insert(n.prefix))
            .map(|(n, a)| (n, Some(a)))
            .collect();
        if routes.is_empty() {
            return;
        }
        routes.sort_unstable_by_key(|(n, _)| n.prefix);
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
