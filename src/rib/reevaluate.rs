//! Re-evaluation after a data or policy change (DESIGN §4): only the routes the change touches
//! are checked again, in both flows of every pair it concerns, and each receiving side gets the
//! resulting withdrawals and announcements. No session is reset.
//!
//! The routes a VRP change touches (equal to or more specific than a changed VRP prefix) are
//! found by one pass over the tables with a filter of the changed prefixes' address ranges:
//! a binary search per route, ~15 ms for a full table, and no index kept up to date on every
//! announcement for it. ASPA changes (rare: a few thousand objects in the world) are found by a scan of the
//! distinct attribute sets for paths holding a changed customer AS, and only the routes with
//! such a path are checked again.

use super::flow::{target, Sends};
use super::{InRoute, Output, Rib};
use crate::bgp::update::{Nlri, PathAttributes};
use crate::config::NextHops;
use crate::policy::{evaluate, LocalPolicy, PeerPolicy, Reason, ReasonSet, Verdict};
use crate::rpki::{RpkiData, RpkiDelta};
use crate::types::{Asn, Direction, Route, SessionId};
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
    /// The pair's new policy; its `asn` and `role` become the pair's (a change of either also
    /// restarts the sessions, DESIGN §6).
    pub policy: PeerPolicy,
    /// The operator's AS toward this neighbor (the router table's `asn`); `None` keeps it.
    pub local_asn: Option<Asn>,
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

/// The address ranges of a set of prefixes, to ask whether a prefix is equal to or more
/// specific than one of them with a binary search. Prefixes are nested or disjoint, so only the
/// outermost ones are kept: sorted, disjoint, and exact (a prefix inside an inner one is inside
/// its outer one too, and at least as long).
struct Ranges {
    v4: Vec<Range>,
    v6: Vec<Range>,
}

/// A prefix as its first and last address and its length.
#[derive(Debug, Clone, Copy)]
struct Range {
    first: u128,
    last: u128,
    len: u8,
}

impl Range {
    fn of(p: &IpNet) -> Range {
        let (first, last) = match p {
            IpNet::V4(n) => (
                u128::from(u32::from(n.network())),
                u128::from(u32::from(n.broadcast())),
            ),
            IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
        };
        Range {
            first,
            last,
            len: p.prefix_len(),
        }
    }
}

impl Ranges {
    fn new(prefixes: &[IpNet]) -> Ranges {
        let outermost = |family: &mut dyn Iterator<Item = &IpNet>| {
            let mut all: Vec<Range> = family.map(Range::of).collect();
            // Outer before inner at the same first address.
            all.sort_unstable_by_key(|r| (r.first, r.len));
            let mut kept: Vec<Range> = Vec::with_capacity(all.len());
            for r in all {
                if kept.last().is_none_or(|k| r.first > k.last) {
                    kept.push(r);
                }
            }
            kept
        };
        Ranges {
            v4: outermost(&mut prefixes.iter().filter(|p| matches!(p, IpNet::V4(_)))),
            v6: outermost(&mut prefixes.iter().filter(|p| matches!(p, IpNet::V6(_)))),
        }
    }

    /// Whether `p` is equal to or more specific than one of the prefixes.
    fn covers(&self, p: &IpNet) -> bool {
        let ranges = match p {
            IpNet::V4(_) => &self.v4,
            IpNet::V6(_) => &self.v6,
        };
        let r = Range::of(p);
        let after = ranges.partition_point(|b| b.first <= r.first);
        after
            .checked_sub(1)
            .and_then(|i| ranges.get(i))
            .is_some_and(|b| r.first <= b.last && r.len >= b.len)
    }
}

/// A route to check again: pair, flow, route.
pub(super) type Touched = (usize, Direction, Nlri);

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
            p.asn = p.policy.asn;
            p.role = p.policy.role;
            if let Some(local_asn) = pr.local_asn {
                p.local_asn = local_asn;
            }
            if p.next_hop != pr.next_hop {
                p.next_hop = pr.next_hop;
                resend.push(pr.pair);
            }
            // Counted under the new mode: the re-check below changes the counts as the new
            // verdicts replace the old ones, under the new mode too.
            let observe = p.policy.observe;
            p.flows
                .inbound
                .table
                .set_limits(pr.limits_in, pr.burst, observe);
            p.flows
                .outbound
                .table
                .set_limits(pr.limits_out, None, observe);
            if !local_changed {
                for d in [Direction::In, Direction::Out] {
                    touched.extend(self.routes_under(d, None, Some(pr.pair)));
                }
            }
        }
        if !self
            .pairs
            .iter()
            .any(|p| p.flows.inbound.table.counts_more_specifics())
        {
            // No burst guard counts more-specifics any more.
            self.known.release();
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
    pub(super) fn routes_under(
        &self,
        d: Direction,
        bases: Option<&[IpNet]>,
        only: Option<usize>,
    ) -> Vec<Touched> {
        let under = bases.map(Ranges::new);
        let mut v = Vec::new();
        for (i, p) in self.pairs.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            v.extend(
                p.flows[d]
                    .table
                    .keys()
                    .filter(|n| under.as_ref().is_none_or(|u| u.covers(&n.prefix)))
                    .map(|n| (i, d, n)),
            );
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
                    .table
                    .iter()
                    .filter(|(_, r)| filter.holds(&r.attrs))
                    .map(|(n, _)| (i, d, n)),
            );
        }
        v
    }

    /// Checks the given routes again; `observe_before[i]` is the mode pair `i`'s routes were
    /// passed under until now. Each receiving side gets what changes.
    pub(super) fn recheck(
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
            let Some(old) = self.pairs[i].flows[d].table.get(&nlri).cloned() else {
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
            let terms = self.terms(i, d);
            let (table, known) = self.table_mut(i, d);
            let hold = |verdict: Verdict| InRoute {
                attrs: old.attrs.clone(),
                verdict,
            };
            let Some(step) = table.revise(nlri, verdict, terms, known, hold) else {
                continue;
            };
            let verdict = step.verdict;
            let (trip, teardown) = (step.step.trip, step.step.teardown);
            if let Some(stop) = trip.and_then(|t| self.tripped(i, d, &nlri, t, teardown)) {
                stopped.insert(i);
                sends.stops.push(stop);
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
            let new = step.held.then(|| InRoute {
                attrs: old.attrs.clone(),
                verdict,
            });
            self.send_change(
                i,
                d,
                nlri,
                (Some(&old), was_observe),
                new.as_ref(),
                &mut sends,
            );
        }
        sends.flush(self, out);
    }
}

#[cfg(test)]
mod tests {
    use super::Ranges;
    use ipnet::IpNet;

    #[test]
    fn ranges_answer_what_a_scan_of_the_prefixes_answers() {
        // Seeded nested and disjoint prefixes of both families; probes of every length.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut prefix = |v6: bool| -> IpNet {
            let r = next();
            if v6 {
                let addr = u128::from(0x2a00_0000u32 | (r as u32 & 0x0003_ff00)) << 96;
                let len = 16 + (r >> 40) as u8 % 33;
                IpNet::new(std::net::Ipv6Addr::from(addr).into(), len)
                    .unwrap()
                    .trunc()
            } else {
                let addr = 0x0a00_0000u32 | (r as u32 & 0x003f_ff00);
                let len = 8 + (r >> 40) as u8 % 25;
                IpNet::new(std::net::Ipv4Addr::from(addr).into(), len)
                    .unwrap()
                    .trunc()
            }
        };
        let bases: Vec<IpNet> = (0..60).map(|i| prefix(i % 3 == 0)).collect();
        let ranges = Ranges::new(&bases);
        for i in 0..5000 {
            let p = prefix(i % 3 == 0);
            let want = bases
                .iter()
                .any(|b| b.contains(&p) && p.prefix_len() >= b.prefix_len());
            assert_eq!(ranges.covers(&p), want, "{p}");
        }
        for b in &bases {
            assert!(ranges.covers(b), "{b}");
        }
        assert!(!Ranges::new(&[]).covers(&"10.0.0.0/8".parse().unwrap()));
    }
}
