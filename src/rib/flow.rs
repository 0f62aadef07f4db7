//! A route received on one side of a pair, on its way to the other: the import step (`import`,
//! shared with replay) holds it with its verdict after the limits; here the daemon counts and
//! reports the rejection, acts on a trip, and queues what the other side must be told. The same
//! path serves both directions: import (from the neighbor, toward the router) and export (from
//! the router, toward the neighbor); what differs is the checks (the session or `evaluate` run
//! the direction's), the limits and the attributes the receiver gets.
//!
//! What the receiving side has is derived from the flow: a route is there when it passes
//! (accepted, or observe mode) and that side is up. Every change computes the view before and
//! after, so a verdict, a mode or a session that changes sends exactly the difference.

use super::import::{ImportTable, Terms};
use super::{community, report_incident, InRoute, Output, Rib};
use crate::bgp::notification::Notification;
use crate::bgp::update::{DecodedUpdate, Nlri, Outbound, PathAttributes, LINK_LOCAL_NEXT_HOP};
use crate::policy::known::KnownPrefixes;
use crate::policy::{evaluate, Reason, ReasonSet, Trip, Verdict};
use crate::types::{Afi, Direction, SessionId, Side};
use crate::unix_now;
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The flow whose routes go to `side`: the routes received on the other side.
pub(super) fn toward(side: Side) -> Direction {
    side.other().received()
}

/// The side the routes of flow `d` go to.
pub(super) fn target(d: Direction) -> Side {
    match d {
        Direction::In => Side::Router,
        Direction::Out => Side::Neighbor,
    }
}

/// Routes to announce to one session, grouped by attribute set, and routes to withdraw.
#[derive(Default)]
struct Batch {
    announce: Vec<(Arc<PathAttributes>, Vec<Nlri>)>,
    /// Index in `announce` by attribute set, so a walk in hash order still packs prefixes of
    /// one attribute set into the same UPDATEs.
    index: HashMap<*const PathAttributes, usize>,
    withdraw: Vec<Nlri>,
}

impl Batch {
    fn announce(&mut self, attrs: Arc<PathAttributes>, nlri: Nlri) {
        if let Some((a, v)) = self.announce.last_mut() {
            if Arc::ptr_eq(a, &attrs) {
                v.push(nlri);
                return;
            }
        }
        let key = Arc::as_ptr(&attrs);
        match self.index.get(&key).and_then(|i| self.announce.get_mut(*i)) {
            Some((_, v)) => v.push(nlri),
            None => {
                self.index.insert(key, self.announce.len());
                self.announce.push((attrs, vec![nlri]));
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty()
    }
}

/// The key of an attribute transform: pair, direction, source attributes, the failing reasons
/// (shown as tags in observe mode) and the family (next hops are per family).
type TransformKey = (usize, Direction, *const PathAttributes, ReasonSet, Afi);

/// What the sessions of the pairs an event touched are sent, built while it is handled.
#[derive(Default)]
pub(super) struct Sends {
    batches: Vec<(SessionId, Batch)>,
    /// The last attribute transform (all prefixes of one UPDATE share the source attributes).
    cache: Option<(TransformKey, Arc<PathAttributes>)>,
    /// Sessions to stop after the routes are sent.
    pub stops: Vec<Output>,
}

impl Sends {
    /// The batch of session `to` (`None` never happens: it is found or added).
    fn batch(&mut self, to: SessionId) -> Option<&mut Batch> {
        let i = match self.batches.iter().position(|(s, _)| *s == to) {
            Some(i) => i,
            None => {
                self.batches.push((to, Batch::default()));
                self.batches.len() - 1
            }
        };
        self.batches.get_mut(i).map(|(_, b)| b)
    }

    /// Turns the batches into outputs, each for the session generation now up.
    pub fn flush(self, rib: &Rib, out: &mut Vec<Output>) {
        for (to, batch) in self.batches {
            if batch.is_empty() {
                continue;
            }
            let Some(p) = rib.pairs.get(to.pair) else {
                continue;
            };
            if !p.is_up(to.side) {
                continue;
            }
            out.push(Output::Routes {
                to,
                out: Outbound {
                    generation: p.generation[to.side],
                    announce: batch.announce,
                    withdraw: batch.withdraw,
                    end_of_rib: Vec::new(),
                },
            });
        }
        out.extend(self.stops);
    }
}

// `self.pairs[i]`: pair ids are positions in the configured peer table, which bgpsieve hands to
// its own session tasks; none comes from the wire, and `handle` drops an event whose id it does
// not know.
#[allow(clippy::indexing_slicing)]
impl Rib {
    /// The attributes the receiving side gets for a route of flow `d` of pair `i`.
    ///
    /// Toward the router: the neighbor's attributes unchanged (its next hop too), except OTC
    /// set on ingress from a provider, peer or route server (RFC 9234 §5) and, in observe mode,
    /// the reasons the route would have been rejected for (`L:1101:N`); a neighbor cannot set
    /// those tags itself. Toward the neighbor: the router's attributes, with the next hop of
    /// the family set to the router's link address (`next_hop`) and OTC set on egress to a
    /// customer, peer or RS-client.
    pub(super) fn outgoing_attrs(
        &self,
        i: usize,
        d: Direction,
        r: &InRoute,
        afi: Afi,
    ) -> Arc<PathAttributes> {
        let p = &self.pairs[i];
        // Copied on the first change only.
        let mut a: Option<PathAttributes> = None;
        fn attrs<'a>(a: &'a mut Option<PathAttributes>, r: &InRoute) -> &'a mut PathAttributes {
            a.get_or_insert_with(|| (*r.attrs).clone())
        }
        match d {
            Direction::In => {
                let ours = self.local.asn.0;
                let tag = |c: &[u32; 3]| c[0] == ours && c[1] == community::REJECT_REASON;
                if r.attrs.attrs.large_communities.iter().any(tag) {
                    let x = attrs(&mut a, r);
                    Arc::make_mut(&mut x.attrs)
                        .large_communities
                        .retain(|c| !tag(c));
                }
                if let Some(otc) =
                    crate::policy::otc::otc_to_set_on_import(&r.attrs.attrs, p.role, p.asn)
                {
                    let x = attrs(&mut a, r);
                    *x = x.with_otc(otc);
                }
                for reason in r.verdict.reasons() {
                    let x = attrs(&mut a, r);
                    *x = x.with_large_community([
                        ours,
                        community::REJECT_REASON,
                        u32::from(reason.number()),
                    ]);
                }
            }
            Direction::Out => {
                if let Some(otc) =
                    crate::policy::otc::otc_to_set_on_export(&r.attrs.attrs, p.role, p.local_asn)
                {
                    let x = attrs(&mut a, r);
                    *x = x.with_otc(otc);
                }
                let nh = &p.next_hop;
                let (global, link_local): (Option<IpAddr>, _) = match afi {
                    Afi::Ipv4 => (nh.ipv4.map(IpAddr::V4), None),
                    Afi::Ipv6 => (nh.ipv6.map(IpAddr::V6), nh.ipv6_link_local),
                };
                if let Some(g) = global {
                    let x = attrs(&mut a, r);
                    *x = x.with_next_hop(g);
                    if let Some(ll) = link_local {
                        x.other.push(crate::bgp::update::RawAttribute {
                            flags: 0x80,
                            code: LINK_LOCAL_NEXT_HOP,
                            value: ll.octets().to_vec(),
                        });
                        x.other.sort_by_key(|o| o.code);
                    }
                }
            }
        }
        match a {
            Some(a) => Arc::new(a),
            // Nothing changes: the same attribute set goes on, no copy.
            None => r.attrs.clone(),
        }
    }

    /// Queues route `r` of flow `d` for the receiving side (`None`: withdraw `nlri`).
    fn queue(&self, i: usize, d: Direction, nlri: Nlri, r: Option<&InRoute>, sends: &mut Sends) {
        let to = SessionId::new(i, target(d));
        match r {
            None => {
                if let Some(b) = sends.batch(to) {
                    b.withdraw.push(nlri);
                }
            }
            Some(r) => {
                let afi = nlri.afi();
                let key: TransformKey = (i, d, Arc::as_ptr(&r.attrs), r.verdict.failed, afi);
                let attrs = match &sends.cache {
                    Some((k, t)) if *k == key => t.clone(),
                    _ => {
                        let t = self.outgoing_attrs(i, d, r, afi);
                        sends.cache = Some((key, t.clone()));
                        t
                    }
                };
                if let Some(b) = sends.batch(to) {
                    b.announce(attrs, nlri);
                }
            }
        }
    }

    /// Queues what the receiving side of flow `d` must be told when route `nlri` goes from
    /// `before` (passing under `observe_before`) to `after` (under the pair's mode now).
    pub(super) fn send_change(
        &self,
        i: usize,
        d: Direction,
        nlri: Nlri,
        (before, observe_before): (Option<&InRoute>, bool),
        after: Option<&InRoute>,
        sends: &mut Sends,
    ) {
        let p = &self.pairs[i];
        if !p.is_up(target(d)) {
            return;
        }
        let observe = p.policy.observe;
        let before = before.filter(|r| r.passes(observe_before));
        let after = after.filter(|r| r.passes(observe));
        match (before, after) {
            (None, None) => {}
            (Some(b), Some(a))
                if Arc::ptr_eq(&b.attrs, &a.attrs) && b.verdict.failed == a.verdict.failed => {}
            (_, Some(a)) => self.queue(i, d, nlri, Some(a), sends),
            (Some(_), None) => self.queue(i, d, nlri, None, sends),
        }
    }

    /// Queues route `nlri` of flow `d` for the receiving side as it is now, if it passes (a
    /// full table).
    pub(super) fn resend(&self, i: usize, d: Direction, nlri: Nlri, sends: &mut Sends) {
        let p = &self.pairs[i];
        if let Some(r) = p.flows[d].table.get(&nlri) {
            if r.passes(p.policy.observe) {
                self.queue(i, d, nlri, Some(r), sends);
            }
        }
    }

    /// The table of flow `d` of pair `i`, with the index of known prefixes when it has to be
    /// kept up to date with it (the import flows', while it exists).
    pub(super) fn table_mut(
        &mut self,
        i: usize,
        d: Direction,
    ) -> (&mut ImportTable, Option<&mut KnownPrefixes>) {
        let known = match d {
            Direction::In => self.known.get(),
            Direction::Out => None,
        };
        (&mut self.pairs[i].flows[d].table, known)
    }

    /// What the import step of flow `d` of pair `i` needs from the pair now.
    pub(super) fn terms(&self, i: usize, d: Direction) -> Terms {
        let p = &self.pairs[i];
        Terms {
            now: self.now,
            limits_enabled: p.policy.enabled.contains(p.flows[d].table.limit_reason()),
            observe: p.policy.observe,
        }
    }

    /// A route of flow `d` goes away (withdrawn, or its session went down).
    pub(super) fn withdraw(&mut self, i: usize, d: Direction, nlri: Nlri, sends: &mut Sends) {
        let terms = self.terms(i, d);
        let (table, known) = self.table_mut(i, d);
        let old = table.withdraw(&nlri, terms, known);
        self.send_change(i, d, nlri, (old.as_ref(), terms.observe), None, sends);
    }

    /// An UPDATE from one side of a pair.
    pub(super) fn update(
        &mut self,
        id: SessionId,
        u: DecodedUpdate,
        verdicts: Option<(u64, Vec<Verdict>)>,
    ) -> Vec<Output> {
        let i = id.pair;
        let d = id.side.received();
        let now = self.now;
        // Verdicts made with other data or policy than the RIB's are made again here.
        let verdicts = verdicts
            .filter(|(generation, _)| *generation == self.policy_generation)
            .map(|(_, v)| v);
        let mut sends = Sends::default();
        if u.end_of_rib.is_some() {
            self.pairs[i].flows[d].table.end_of_rib(now);
        }
        self.stale_refreshed(i, d, &u);
        for n in &u.withdrawn {
            self.withdraw(i, d, *n, &mut sends);
        }
        if d == Direction::In {
            if let Some(ops) = &self.ops {
                let v6 = u.announced.iter().filter(|n| n.afi() == Afi::Ipv6).count() as u64;
                let v4 = u.announced.len() as u64 - v6;
                for (afi, n) in [(Afi::Ipv4, v4), (Afi::Ipv6, v6)] {
                    if n > 0 {
                        ops.metrics.received(i, afi, n);
                    }
                }
            }
        }
        let Some(attrs) = &u.attrs else {
            let mut out = Vec::new();
            sends.flush(self, &mut out);
            if let Some(afi) = u.end_of_rib {
                self.end_of_rib_received(i, d, afi, &mut out);
            }
            return out;
        };
        // RFC 7606 treat-as-withdraw: the routes are kept, rejected as malformed, and never
        // passed on (the API shows them with the findings).
        let treat_as_withdraw = u.action == Some(crate::bgp::rfc7606::ErrorAction::Withdraw);
        let origin = match attrs.attrs.as_path.origin() {
            Some(crate::types::PathOrigin::Asn(a)) => Some(a),
            _ => None,
        };
        let terms = self.terms(i, d);
        if d == Direction::In && self.pairs[i].flows[d].table.counts_more_specifics() {
            self.known
                .build(self.pairs.iter().map(|p| &p.flows.inbound.table));
        }
        for (k, n) in u.announced.iter().enumerate() {
            // The session made the stateless verdicts (on another thread) when it could.
            let mut verdict = match verdicts.as_ref().and_then(|v| v.get(k)) {
                Some(v) => *v,
                None => {
                    let route = crate::types::Route {
                        prefix: n.prefix,
                        path_id: n.path_id,
                        attrs: attrs.attrs.clone(),
                    };
                    let p = &self.pairs[i];
                    evaluate(d, &route, &p.policy, &self.local, &self.rpki)
                }
            };
            if treat_as_withdraw {
                verdict.reject(Reason::Malformed);
            }
            let (table, known) = self.table_mut(i, d);
            let step = table.announce(*n, verdict, terms, known, |verdict| InRoute {
                attrs: attrs.clone(),
                verdict,
            });
            let verdict = step.verdict;
            if d == Direction::In {
                // Before the trip: a trip's incident lists the route that made it.
                let seen = crate::rib::incident::Seen {
                    prefix: n.prefix,
                    origin,
                    rejected: !verdict.accepted(),
                    reached_router: step.held
                        && (verdict.accepted() || terms.observe)
                        && self.pairs[i].is_up(Side::Router),
                };
                self.incidents.announced(i, now, seen);
            }
            if step.step.warn {
                self.warned(i, d, n.afi());
            }
            let stop = step
                .step
                .trip
                .and_then(|t| self.tripped(i, d, n, t, step.step.teardown));
            if !verdict.accepted() {
                self.rejected(i, d, n, &attrs.attrs.as_path, &verdict);
            }
            let stored = step.held.then(|| InRoute {
                attrs: attrs.clone(),
                verdict,
            });
            let before = (step.old.as_ref(), terms.observe);
            self.send_change(i, d, *n, before, stored.as_ref(), &mut sends);
            if let Some(stop) = stop {
                // The routes queued so far go first; nothing more is taken from this UPDATE.
                sends.stops.push(stop);
                break;
            }
        }
        let mut out = Vec::new();
        sends.flush(self, &mut out);
        out
    }

    /// Counts, logs and stores a rejected route; on import it also feeds the incident watch.
    pub(super) fn rejected(
        &mut self,
        i: usize,
        d: Direction,
        n: &Nlri,
        path: &crate::types::AsPath,
        verdict: &Verdict,
    ) {
        let now = self.now;
        let p = &mut self.pairs[i];
        p.flows[d].rejected += 1;
        if d == Direction::In {
            if let Some(inc) = self.incidents.rejected(&who(i, p), now, unix_now()) {
                report_incident(&inc);
            }
        }
        let p = &self.pairs[i];
        if let Some(ops) = &self.ops {
            ops.rejected(i, &p.name, d, n, path, verdict);
        }
        tracing::debug!(peer = %p.name, direction = d.as_str(), prefix = %n.prefix, reasons = ?verdict.reasons().collect::<Vec<_>>(), "rejected");
    }

    /// A count crossed the warning threshold of its limit (`warn_at`): logged once per
    /// crossing (the limit re-arms when the count falls back below the threshold).
    fn warned(&self, i: usize, d: Direction, afi: Afi) {
        let p = &self.pairs[i];
        if let Some((limit, warn_at, count)) = p.flows[d].table.limit_of(afi) {
            tracing::warn!(
                peer = %p.name,
                direction = d.as_str(),
                family = %afi,
                count,
                limit,
                "max-prefix: {}% of the limit reached (warn_at)",
                warn_at
            );
        }
    }

    /// What a trip of flow `d`'s limits means for the daemon: it is logged, counted and, on
    /// import, opens an incident; a teardown stops the neighbor session (returned), except in
    /// observe mode, which clears the trip instead. The route was already held or refused by
    /// the import step. Called only when there is a trip (the common case costs no call).
    pub(super) fn tripped(
        &mut self,
        i: usize,
        d: Direction,
        n: &Nlri,
        trip: Trip,
        teardown: bool,
    ) -> Option<Output> {
        let now = self.now;
        let p = &mut self.pairs[i];
        let observe = p.policy.observe;
        tracing::warn!(peer = %p.name, direction = d.as_str(), ?trip, "max-prefix limit exceeded");
        if let Some(ops) = self.ops.as_mut() {
            ops.tripped(i, d, &trip);
        }
        if d == Direction::In {
            let incident =
                self.incidents
                    .tripped(&who(i, p), now, unix_now(), trip.kind, trip.action);
            report_incident(&incident);
        }
        let p = &mut self.pairs[i];
        if !teardown {
            return None;
        }
        if observe {
            // Observe mode is a rollout without risk: the trip is logged and counted, the
            // session stays.
            tracing::warn!(peer = %p.name, "observe mode: no teardown");
            p.flows[d].table.clear_trip(now);
            return None;
        }
        let restart_after = p.flows[d]
            .table
            .down_until()
            .flatten()
            .map(|t| std::time::Duration::from_secs(t.saturating_sub(now)));
        let notification = match d {
            // RFC 4486 Cease/1 with AFI/SAFI and the limit.
            Direction::In => {
                let limit = match trip.kind {
                    crate::policy::TripKind::Limit { limit, .. } => limit as u32,
                    crate::policy::TripKind::BurstNew { limit, .. }
                    | crate::policy::TripKind::BurstMoreSpecific { limit, .. } => limit,
                };
                Notification::max_prefixes(n.afi(), limit)
            }
            // We are the one about to leak: close the neighbor session rather than send a
            // table it should never get (the router side closes with it).
            Direction::Out => Notification::admin_shutdown(&format!(
                "bgpsieve: outbound prefix limit exceeded ({:?})",
                trip.kind
            )),
        };
        Some(Output::Stop {
            to: SessionId::new(i, Side::Neighbor),
            notification,
            restart_after,
        })
    }
}

/// Pair `i` as its incidents name it: the neighbor, its AS, the router and its AS.
fn who(i: usize, p: &super::Pair) -> super::Who<'_> {
    super::Who {
        index: i,
        name: &p.name,
        asn: p.asn,
        router: p.router_address,
        router_asn: p.local_asn,
    }
}
