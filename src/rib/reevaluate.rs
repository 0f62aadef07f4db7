//! Re-evaluation after a data or policy change (DESIGN §4): only the routes the change touches
//! are checked again, in both flows of every pair it concerns, and each receiving side gets the
//! resulting withdrawals and announcements. No session is reset.
//!
//! Touched routes are found without walking the tables for VRP changes: the prefix index of
//! every held prefix gives the routes equal to or more specific than a changed VRP prefix.
//! ASPA changes (rare: a few thousand objects in the world) are found by a scan of the
//! distinct attribute sets for paths holding a changed customer AS, and only the routes with
//! such a path are checked again.

use super::flow::{target, Sends};
use super::{InRoute, Output, Rib};
use crate::bgp::update::{Nlri, PathAttributes};
use crate::config::NextHops;
use crate::policy::{evaluate, LocalPolicy, PeerPolicy, Reason, ReasonSet, Verdict};
use crate::rpki::{RpkiData, RpkiDelta};
use crate::types::{Asn, Direction, PerAfi, Route, SessionId};
use ipnet::IpNet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// What a re-evaluation did, for logs, metrics and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reevaluation {
    /// Routes checked again.
    pub checked: usize,
    /// Of those, routes whose verdict or passing changed.
    pub changed: usize,
}

/// Reasons a re-evaluation leaves as they were: they come from the session (RFC 7606) or from
/// limit state, not from the stateless checks.
fn kept_reasons(v: &Verdict) -> ReasonSet {
    let mut keep = ReasonSet::default();
    for r in [
        Reason::Malformed,
        Reason::MaxPrefix,
        Reason::ExportMaxPrefix,
    ] {
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
    /// Pairs whose policy changed, with the new one.
    pub peers: Vec<(usize, PeerPolicy)>,
    /// Per pair: prefixes whose entries changed in its prefix list; its neighbor's routes equal
    /// to or more specific than one are checked again.
    pub import: Vec<(usize, Vec<IpNet>)>,
    /// Prefixes whose entries changed in the announce list: router routes equal to or more
    /// specific than one are checked again on export.
    pub export: Vec<IpNet>,
}

/// One pair's settings from a reloaded configuration (its session parameters unchanged).
#[derive(Debug, Clone)]
pub struct PairReconfig {
    pub pair: usize,
    pub policy: PeerPolicy,
    pub next_hop: NextHops,
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
    /// Pairs whose policy or limits changed: their routes are checked again.
    pub peers: Vec<PairReconfig>,
}

/// A route to check again: pair, flow, route.
type Touched = (usize, Direction, Nlri);

// `self.pairs[i]` takes ids from the RIB's own tables (see the note on `impl Rib` in flow.rs).
#[allow(clippy::indexing_slicing)]
impl Rib {
    /// Applies a reloaded configuration's policy changes; no session is reset here. A pair
    /// whose mode changed between observe and enforce gets exactly the routes that now pass
    /// or no longer do.
    pub fn reconfigure(&mut self, r: Reconfigure) -> (Vec<Output>, Reevaluation) {
        self.policy_generation = r.generation;
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        let local_changed = r.local.is_some();
        if let Some(l) = r.local {
            self.local = l;
        }
        // The mode each pair's routes were passed under so far.
        let observe_before: Vec<bool> = self.pairs.iter().map(|p| p.policy.observe).collect();
        let mut touched = Vec::new();
        let mut resend = Vec::new();
        for pr in r.peers {
            let Some(p) = self.pairs.get_mut(pr.pair) else {
                continue;
            };
            p.policy = pr.policy;
            if p.next_hop != pr.next_hop {
                p.next_hop = pr.next_hop;
                resend.push(pr.pair);
            }
            let held = |f: &super::Flow, observe: bool, d: Direction| {
                let mut held = PerAfi::<[usize; 2]>::default();
                for (n, route) in &f.adj_in {
                    let counted = match d {
                        Direction::In => true,
                        Direction::Out => route.passes(observe),
                    };
                    if !counted || route.verdict.failed.contains(Reason::MaxPrefix) {
                        continue;
                    }
                    let [received, accepted] = &mut held[n.afi()];
                    *received += 1;
                    *accepted += usize::from(route.verdict.accepted());
                }
                held
            };
            let observe = p.policy.observe;
            let h = held(&p.flows.inbound, observe, Direction::In);
            p.flows.inbound.limits.set_limits(pr.limits_in, pr.burst, h);
            let h = held(&p.flows.outbound, observe, Direction::Out);
            p.flows.outbound.limits.set_limits(pr.limits_out, None, h);
            if !local_changed {
                for d in [Direction::In, Direction::Out] {
                    touched.extend(self.routes_under(d, None, Some(pr.pair)));
                }
            }
        }
        if local_changed {
            for d in [Direction::In, Direction::Out] {
                touched.extend(self.routes_under(d, None, None));
            }
        }
        self.recheck(touched, &observe_before, &mut stats, &mut out);
        for i in resend {
            // The next hops the neighbor is sent changed: every route it has is sent again.
            out.extend(self.full_table(SessionId::new(i, target(Direction::Out))));
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
        let bases = (!delta.all).then_some(&delta.vrp_prefixes[..]);
        let mut touched = Vec::new();
        for d in [Direction::In, Direction::Out] {
            touched.extend(self.routes_under(d, bases, None));
            touched.extend(self.routes_with(d, &customers));
        }
        let observe: Vec<bool> = self.pairs.iter().map(|p| p.policy.observe).collect();
        self.recheck(touched, &observe, &mut stats, &mut out);
        (out, stats)
    }

    /// Installs new policies and re-checks the routes their changes touch.
    pub fn set_policy(&mut self, u: PolicyUpdate) -> (Vec<Output>, Reevaluation) {
        self.local = u.local;
        self.policy_generation = u.generation;
        let observe: Vec<bool> = self.pairs.iter().map(|p| p.policy.observe).collect();
        for (i, pol) in u.peers {
            if let Some(p) = self.pairs.get_mut(i) {
                p.policy = pol;
            }
        }
        let mut stats = Reevaluation::default();
        let mut out = Vec::new();
        let mut touched = Vec::new();
        for (i, prefixes) in &u.import {
            touched.extend(self.routes_under(Direction::In, Some(prefixes), Some(*i)));
        }
        if !u.export.is_empty() {
            touched.extend(self.routes_under(Direction::Out, Some(&u.export), None));
        }
        self.recheck(touched, &observe, &mut stats, &mut out);
        (out, stats)
    }

    /// Routes of flow `d` (of pair `only`, or of all) for prefixes equal to or more specific
    /// than one of `bases` (every route for `None`).
    fn routes_under(
        &self,
        d: Direction,
        bases: Option<&[IpNet]>,
        only: Option<usize>,
    ) -> Vec<Touched> {
        let prefixes: Vec<IpNet> = match bases {
            None => self.known[d].all(),
            Some(bases) => {
                let mut v: Vec<IpNet> = Vec::new();
                for p in bases {
                    v.extend(self.known[d].covered_by(p));
                }
                // Nested bases cover some prefixes twice.
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        let mut v = Vec::new();
        for (i, p) in self.pairs.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let table = &p.flows[d].adj_in;
            if table.is_empty() {
                continue;
            }
            if p.add_path(d) {
                // Several paths per prefix are keyed by path id: look at the table for the
                // touched prefixes (rare on eBGP sessions).
                let wanted: FxHashSet<&IpNet> = prefixes.iter().collect();
                v.extend(
                    table
                        .keys()
                        .filter(|n| wanted.contains(&n.prefix))
                        .map(|n| (i, d, n)),
                );
            } else {
                v.extend(
                    prefixes
                        .iter()
                        .map(|pfx| Nlri::new(*pfx))
                        .filter(|n| table.contains_key(n))
                        .map(|n| (i, d, n)),
                );
            }
        }
        v
    }

    /// Routes of flow `d` whose path holds one of `asns`.
    fn routes_with(&self, d: Direction, asns: &FxHashSet<Asn>) -> Vec<Touched> {
        if asns.is_empty() {
            return Vec::new();
        }
        let mut filter = PathFilter {
            asns,
            seen: FxHashMap::default(),
        };
        let mut v = Vec::new();
        for (i, p) in self.pairs.iter().enumerate() {
            v.extend(
                p.flows[d]
                    .adj_in
                    .iter()
                    .filter(|(_, r)| filter.holds(&r.attrs))
                    .map(|(n, _)| (i, d, n)),
            );
        }
        v
    }

    /// Checks the given routes again; `observe_before[i]` is the mode pair `i`'s routes were
    /// passed under until now. Each receiving side gets what changes.
    fn recheck(
        &mut self,
        mut touched: Vec<Touched>,
        observe_before: &[bool],
        stats: &mut Reevaluation,
        out: &mut Vec<Output>,
    ) {
        touched.sort_unstable_by_key(|(i, d, n)| (*i, *d == Direction::Out, n.prefix, n.path_id));
        touched.dedup();
        let mut sends = Sends::default();
        let mut stopped: FxHashSet<usize> = FxHashSet::default();
        for (i, d, nlri) in touched {
            if stopped.contains(&i) {
                continue;
            }
            let Some(old) = self.pairs[i].flows[d].adj_in.get(&nlri).cloned() else {
                continue;
            };
            stats.checked += 1;
            let route = Route {
                prefix: nlri.prefix,
                path_id: nlri.path_id,
                attrs: old.attrs.attrs.clone(),
            };
            let p = &self.pairs[i];
            let mut verdict = evaluate(d, &route, &p.policy, &self.local, &self.rpki);
            let kept = kept_reasons(&old.verdict);
            for r in Reason::ALL {
                if kept.contains(*r) {
                    verdict.reject(*r);
                }
            }
            let was_observe = observe_before.get(i).copied().unwrap_or(p.policy.observe);
            let observe = p.policy.observe;
            if verdict == old.verdict && was_observe == observe {
                continue;
            }
            // A route dropped as excess stays dropped and uncounted; any other one changes the
            // count as a replacement would.
            let limit = match d {
                Direction::In => Reason::MaxPrefix,
                Direction::Out => Reason::ExportMaxPrefix,
            };
            if !kept.contains(limit) {
                let prev = Some(match d {
                    Direction::In => old.verdict.accepted(),
                    Direction::Out => old.passes(was_observe),
                });
                if let Some(stop) = self.limit_step(i, d, &nlri, &mut verdict, prev, false) {
                    stopped.insert(i);
                    sends.stops.push(stop);
                }
            }
            stats.changed += 1;
            tracing::debug!(
                peer = %self.pairs[i].name,
                direction = d.as_str(),
                prefix = %nlri.prefix,
                accepted = verdict.accepted(),
                reasons = ?verdict.reasons().collect::<Vec<_>>(),
                "verdict changed by a data or policy change"
            );
            if !verdict.accepted() && old.verdict.accepted() {
                self.rejected(i, d, &nlri, &old.attrs.attrs.as_path, &verdict);
            }
            let new = InRoute {
                attrs: old.attrs.clone(),
                verdict,
            };
            self.pairs[i].flows[d].adj_in.insert(nlri, new.clone());
            self.send_change(
                i,
                d,
                nlri,
                (Some(&old), was_observe),
                Some(&new),
                &mut sends,
            );
        }
        sends.flush(self, out);
    }
}
