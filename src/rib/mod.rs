//! The RIB: every route bgpsieve holds, and what moves where. Sans-IO: `Rib::handle` takes one
//! event from a session and returns what to send to which sessions; the daemon's RIB task owns
//! it and does the I/O. Neighbor routes are checked on import and kept pre-policy with their
//! verdict (Adj-RIB-In), accepted ones go to the router (ADD-PATH when the router negotiated it,
//! else the best path of RFC 4271 §9.1.2.2); the router's routes are checked on export toward
//! each neighbor (Adj-RIB-Out records what each neighbor was sent).

use crate::bgp::fsm::DownReason;
use crate::bgp::notification::Notification;
use crate::bgp::open::Negotiated;
use crate::bgp::session::FromSession;
use crate::bgp::update::{
    encode_announcements, encode_end_of_rib, encode_withdrawals, DecodedUpdate, EncodeCtx, Nlri,
    Outgoing, PathAttributes,
};
use crate::policy::{
    apply_limit, evaluate, max_prefix::Announcement, LocalPolicy, MaxPrefixState, PeerPolicy,
    Reason, Verdict,
};
use crate::rpki::RpkiData;
use crate::types::{Afi, Asn, Direction, Role, Route};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Large-community function numbers (`LOCAL_AS:FUNCTION:VALUE`) on routes sent to the router.
pub mod community {
    use crate::types::Role;
    /// `LOCAL_AS:1001..1005:NEIGHBOR_ASN`: the neighbor's role and AS, for the router's policy.
    pub fn role_function(role: Role) -> u32 {
        match role {
            Role::Provider => 1001,
            Role::Peer => 1002,
            Role::Customer => 1003,
            Role::Rs => 1004,
            Role::RsClient => 1005,
            Role::Router => 1000,
        }
    }
    /// `LOCAL_AS:1101:REASON_NUMBER` on a route passed in observe mode despite failing a check.
    pub const REJECT_REASON: u32 = 1101;
}

/// One route in an Adj-RIB-In, with the verdict it got.
#[derive(Debug, Clone)]
pub struct InRoute {
    pub attrs: Arc<PathAttributes>,
    pub verdict: Verdict,
}

impl InRoute {
    /// Passed on: accepted, or failing only in observe mode.
    fn passes(&self, observe: bool) -> bool {
        self.verdict.accepted() || observe
    }
}

/// A peer as the RIB sees it.
pub struct RibPeer {
    pub name: String,
    pub role: Role,
    pub asn: Asn,
    pub policy: PeerPolicy,
    /// The next hop to send to this neighbor (`next_hop` key), if any.
    pub next_hop: Option<IpAddr>,
    pub mp_in: MaxPrefixState,
    pub mp_out: MaxPrefixState,
    pub session: Option<Negotiated>,
    pub adj_in: HashMap<Nlri, InRoute>,
    /// What this peer was sent, by the NLRI it was sent under.
    pub adj_out: HashMap<Nlri, Arc<PathAttributes>>,
    /// Counters for metrics and the API.
    pub rejected_in: u64,
    pub rejected_out: u64,
}

impl RibPeer {
    pub fn new(name: String, role: Role, asn: Asn, policy: PeerPolicy) -> RibPeer {
        RibPeer {
            name,
            role,
            asn,
            policy,
            next_hop: None,
            mp_in: MaxPrefixState::new(None, None),
            mp_out: MaxPrefixState::new(None, None),
            session: None,
            adj_in: HashMap::new(),
            adj_out: HashMap::new(),
            rejected_in: 0,
            rejected_out: 0,
        }
    }

    fn is_router(&self) -> bool {
        self.role == Role::Router
    }
}

/// What the RIB asks the daemon to do.
#[derive(Debug)]
pub enum Output {
    /// Send these encoded messages to a peer.
    Send { peer: usize, msgs: Vec<Vec<u8>> },
    /// End a session with this NOTIFICATION; start it again after `restart_after` (`None`:
    /// stay down until an operator clears it).
    Stop {
        peer: usize,
        notification: Notification,
        restart_after: Option<std::time::Duration>,
    },
}

/// All routes and the policy that moves them.
pub struct Rib {
    pub peers: Vec<RibPeer>,
    pub local: LocalPolicy,
    pub rpki: Arc<RpkiData>,
    /// Seconds since start, for the limits' timeline (set by the caller before `handle`).
    pub now: u64,
}

/// Routes to announce to one peer, grouped by attribute set, and NLRI to withdraw.
#[derive(Default)]
struct Batch {
    announce: Vec<(Arc<PathAttributes>, Vec<Nlri>)>,
    withdraw: Vec<Nlri>,
}

impl Batch {
    fn announce(&mut self, attrs: Arc<PathAttributes>, nlri: Nlri) {
        match self.announce.last_mut() {
            Some((a, v)) if Arc::ptr_eq(a, &attrs) => v.push(nlri),
            _ => self.announce.push((attrs, vec![nlri])),
        }
    }
    fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty()
    }
}

fn encode_ctx(n: &Negotiated, ibgp: bool) -> EncodeCtx {
    EncodeCtx::new(n, ibgp)
}

/// The RFC 4271 §9.1.2.2 tie-breaks that apply among neighbor routes: shorter AS path, lower
/// ORIGIN, lower MED between routes from the same neighbor AS, then the lower peer index
/// (stable, like the lowest BGP identifier). `true` when `a` is better than `b`.
fn better(a: (&PathAttributes, usize, Asn), b: (&PathAttributes, usize, Asn)) -> bool {
    let (aa, ai, aasn) = a;
    let (ba, bi, basn) = b;
    let key = |p: &PathAttributes| (p.attrs.as_path.asn_count(), p.attrs.origin as u8);
    if key(aa) != key(ba) {
        return key(aa) < key(ba);
    }
    if aasn == basn {
        let (am, bm) = (aa.attrs.med.unwrap_or(0), ba.attrs.med.unwrap_or(0));
        if am != bm {
            return am < bm;
        }
    }
    ai < bi
}

impl Rib {
    pub fn new(peers: Vec<RibPeer>, local: LocalPolicy, rpki: Arc<RpkiData>) -> Rib {
        Rib {
            peers,
            local,
            rpki,
            now: 0,
        }
    }

    fn routers(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|i| self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect()
    }

    fn neighbors(&self) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|i| !self.peers[*i].is_router() && self.peers[*i].session.is_some())
            .collect()
    }

    /// Handles one session event.
    pub fn handle(&mut self, ev: FromSession) -> Vec<Output> {
        match ev {
            FromSession::Up { peer, negotiated } => self.up(peer, *negotiated),
            FromSession::Down { peer, reason } => self.down(peer, &reason),
            FromSession::Update { peer, update } => {
                if self.peers.get(peer).is_some_and(RibPeer::is_router) {
                    self.router_update(peer, update)
                } else {
                    self.neighbor_update(peer, update)
                }
            }
            FromSession::RouteRefresh { peer, .. } => self.full_table(peer),
        }
    }

    // ---- neighbor → router -------------------------------------------------------------

    /// The attributes a router receives for a neighbor route: OTC set on ingress (RFC 9234 §5),
    /// the neighbor's role community, the reject reasons of a route passed in observe mode.
    fn to_router_attrs(&self, from: usize, r: &InRoute) -> Arc<PathAttributes> {
        let p = &self.peers[from];
        let mut a = (*r.attrs).clone();
        if let Some(otc) = crate::policy::otc::otc_to_set_on_import(&a.attrs, p.role, p.asn) {
            a = a.with_otc(otc);
        }
        a = a.with_large_community([self.local.asn.0, community::role_function(p.role), p.asn.0]);
        for reason in r.verdict.reasons() {
            a = a.with_large_community([
                self.local.asn.0,
                community::REJECT_REASON,
                u32::from(reason.number()),
            ]);
        }
        Arc::new(a)
    }

    /// The path id a neighbor's route gets toward an ADD-PATH router: one per neighbor.
    fn router_path_id(from: usize, nlri: &Nlri) -> Nlri {
        Nlri {
            prefix: nlri.prefix,
            path_id: Some(from as u32 + 1),
        }
    }

    /// The best passing route for a prefix among all neighbors.
    fn best(&self, prefix: &ipnet::IpNet) -> Option<(usize, Nlri)> {
        let mut best: Option<(usize, Nlri, &InRoute)> = None;
        for (i, p) in self.peers.iter().enumerate() {
            if p.is_router() || p.session.is_none() {
                continue;
            }
            for (nlri, r) in p.adj_in.iter().filter(|(n, _)| n.prefix == *prefix) {
                if !r.passes(p.policy.observe) {
                    continue;
                }
                let replace = match &best {
                    None => true,
                    Some((bi, _, br)) => {
                        better((&r.attrs, i, p.asn), (&br.attrs, *bi, self.peers[*bi].asn))
                    }
                };
                if replace {
                    best = Some((i, *nlri, r));
                }
            }
        }
        best.map(|(i, n, _)| (i, n))
    }

    /// Brings every router up to date for these prefixes, which changed at neighbor `from`.
    fn propagate_to_routers(&mut self, from: usize, changed: &[Nlri], out: &mut Vec<Output>) {
        let routers = self.routers();
        self.propagate(from, changed, &routers, out);
    }

    /// Brings the given routers up to date for these prefixes of neighbor `from`.
    fn propagate(
        &mut self,
        from: usize,
        changed: &[Nlri],
        routers: &[usize],
        out: &mut Vec<Output>,
    ) {
        for &to in routers {
            let Some(neg) = self.peers[to].session.clone() else {
                continue;
            };
            let mut batch = Batch::default();
            let mut cache: Option<(Arc<PathAttributes>, Arc<PathAttributes>)> = None;
            for nlri in changed {
                let add_path = neg.add_path_send.contains(&Afi::of(&nlri.prefix));
                let (src, key) = if add_path {
                    (Some((from, *nlri)), Self::router_path_id(from, nlri))
                } else {
                    (
                        self.best(&nlri.prefix),
                        Nlri {
                            prefix: nlri.prefix,
                            path_id: None,
                        },
                    )
                };
                let route = src.and_then(|(i, n)| {
                    let p = &self.peers[i];
                    p.adj_in
                        .get(&n)
                        .filter(|r| p.session.is_some() && r.passes(p.policy.observe))
                        .map(|r| (i, r.clone()))
                });
                match route {
                    Some((i, route)) => {
                        let attrs = match &cache {
                            Some((srcattrs, t))
                                if i == from && Arc::ptr_eq(srcattrs, &route.attrs) =>
                            {
                                t.clone()
                            }
                            _ => {
                                let t = self.to_router_attrs(i, &route);
                                if i == from {
                                    cache = Some((route.attrs.clone(), t.clone()));
                                }
                                t
                            }
                        };
                        let prev = self.peers[to].adj_out.insert(key, attrs.clone());
                        if prev.as_ref().is_none_or(|p| !Arc::ptr_eq(p, &attrs)) {
                            batch.announce(attrs, key);
                        }
                    }
                    None => {
                        if self.peers[to].adj_out.remove(&key).is_some() {
                            batch.withdraw.push(key);
                        }
                    }
                }
            }
            self.flush(to, &neg, batch, out);
        }
    }

    fn flush(&self, to: usize, neg: &Negotiated, batch: Batch, out: &mut Vec<Output>) {
        if batch.is_empty() {
            return;
        }
        let p = &self.peers[to];
        let ctx = encode_ctx(neg, p.is_router());
        let mut msgs = Vec::new();
        if !batch.withdraw.is_empty() {
            encode_withdrawals(&batch.withdraw, &ctx, &mut msgs);
        }
        for (attrs, nlri) in &batch.announce {
            for afi in [Afi::Ipv4, Afi::Ipv6] {
                let part: Vec<Nlri> = nlri
                    .iter()
                    .filter(|n| Afi::of(&n.prefix) == afi)
                    .copied()
                    .collect();
                if part.is_empty() {
                    continue;
                }
                let Some(nh) = self.next_hop_for(to, attrs, afi) else {
                    tracing::debug!(peer = %p.name, "no next hop for {afi}; not announced");
                    continue;
                };
                if let Err(e) =
                    encode_announcements(&Outgoing { attrs, nlri: &part }, &ctx, nh, &mut msgs)
                {
                    tracing::warn!(peer = %p.name, "not announced: {e}");
                }
            }
        }
        if !msgs.is_empty() {
            out.push(Output::Send { peer: to, msgs });
        }
    }

    /// The next hop sent to `to`: its configured `next_hop` for a neighbor (the router's link
    /// address, RFC 4271 §5.1.3), else the next hop the route came with.
    fn next_hop_for(&self, to: usize, attrs: &PathAttributes, afi: Afi) -> Option<IpAddr> {
        let nh = self.peers[to].next_hop.or(attrs.attrs.next_hop)?;
        match (afi, nh) {
            (Afi::Ipv4, IpAddr::V4(_)) | (Afi::Ipv6, IpAddr::V6(_)) => Some(nh),
            // RFC 8950 (IPv4 NLRI over an IPv6 next hop) is not negotiated here.
            (Afi::Ipv4, IpAddr::V6(_)) => None,
            (Afi::Ipv6, IpAddr::V4(v4)) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
        }
    }

    fn neighbor_update(&mut self, from: usize, u: DecodedUpdate) -> Vec<Output> {
        let mut out = Vec::new();
        let mut changed: Vec<Nlri> = Vec::with_capacity(u.withdrawn.len() + u.announced.len());
        let treat_as_withdraw = u.action == Some(crate::bgp::rfc7606::ErrorAction::Withdraw);
        let now = self.now;
        {
            let p = &mut self.peers[from];
            for n in &u.withdrawn {
                if let Some(old) = p.adj_in.remove(n) {
                    p.mp_in.withdraw(Afi::of(&n.prefix), old.verdict.accepted());
                    changed.push(*n);
                }
            }
        }
        if let Some(attrs) = &u.attrs {
            let route_attrs = Arc::new(attrs.attrs.clone());
            let mut teardown: Option<Notification> = None;
            let mut restart_after = None;
            for n in &u.announced {
                let route = Route {
                    prefix: n.prefix,
                    path_id: n.path_id,
                    attrs: route_attrs.clone(),
                };
                let p = &self.peers[from];
                let mut verdict =
                    evaluate(Direction::In, &route, &p.policy, &self.local, &self.rpki);
                if treat_as_withdraw {
                    verdict.reject(Reason::Malformed);
                }
                let p = &mut self.peers[from];
                let prev = p.adj_in.get(n).map(|r| r.verdict.accepted());
                if p.policy.enabled.contains(Reason::MaxPrefix) && p.mp_in.is_active() {
                    let step = p.mp_in.announce(Announcement {
                        afi: Afi::of(&n.prefix),
                        now,
                        is_new: prev.is_none(),
                        was_accepted: prev.unwrap_or(false),
                        passes_policy: verdict.accepted(),
                        more_specific_of_known: false,
                    });
                    apply_limit(&mut verdict, &step, Direction::In);
                    if let Some(trip) = step.trip {
                        tracing::warn!(peer = %p.name, ?trip, "max-prefix limit exceeded");
                        if step.teardown {
                            let limit = match trip.kind {
                                crate::policy::TripKind::Limit { limit, .. } => limit as u32,
                                crate::policy::TripKind::BurstNew { limit, .. }
                                | crate::policy::TripKind::BurstMoreSpecific { limit, .. } => limit,
                            };
                            teardown = Some(Notification::max_prefixes(Afi::of(&n.prefix), limit));
                            restart_after = p
                                .mp_in
                                .down_until()
                                .flatten()
                                .map(|t| std::time::Duration::from_secs(t.saturating_sub(now)));
                        }
                    }
                }
                if !verdict.accepted() {
                    p.rejected_in += 1;
                    tracing::debug!(peer = %p.name, prefix = %n.prefix, reasons = ?verdict.reasons().collect::<Vec<_>>(), "rejected");
                }
                p.adj_in.insert(
                    *n,
                    InRoute {
                        attrs: attrs.clone(),
                        verdict,
                    },
                );
                changed.push(*n);
                if teardown.is_some() {
                    break;
                }
            }
            if let Some(notification) = teardown {
                out.push(Output::Stop {
                    peer: from,
                    notification,
                    restart_after,
                });
            }
        }
        self.propagate_to_routers(from, &changed, &mut out);
        out
    }

    // ---- router → neighbors ------------------------------------------------------------

    fn to_neighbor_attrs(&self, to: usize, attrs: &PathAttributes) -> PathAttributes {
        let p = &self.peers[to];
        let mut a = attrs.clone().without_ibgp_only();
        if p.role != Role::RsClient {
            a = a.prepend(self.local.asn);
        }
        if let Some(otc) =
            crate::policy::otc::otc_to_set_on_export(&a.attrs, p.role, self.local.asn)
        {
            a = a.with_otc(otc);
        }
        a
    }

    /// Export of router routes to one neighbor; returns the batch.
    fn export_to(&mut self, to: usize, routes: &[(Nlri, Option<Arc<PathAttributes>>)]) -> Batch {
        let mut batch = Batch::default();
        let mut cache: Option<(Arc<PathAttributes>, Arc<PathAttributes>)> = None;
        let now = self.now;
        for (nlri, attrs) in routes {
            // Toward a neighbor there is one path per prefix.
            let key = Nlri {
                prefix: nlri.prefix,
                path_id: None,
            };
            let Some(attrs) = attrs else {
                let p = &mut self.peers[to];
                if p.adj_out.remove(&key).is_some() {
                    p.mp_out.withdraw(Afi::of(&key.prefix), true);
                    batch.withdraw.push(key);
                }
                continue;
            };
            let route = Route {
                prefix: nlri.prefix,
                path_id: None,
                attrs: Arc::new(attrs.attrs.clone()),
            };
            let p = &self.peers[to];
            let mut v = evaluate(Direction::Out, &route, &p.policy, &self.local, &self.rpki);
            let was_sent = p.adj_out.contains_key(&key);
            if p.mp_out.is_active() && p.policy.enabled.contains(Reason::ExportMaxPrefix) {
                let p = &mut self.peers[to];
                let step = p.mp_out.announce(Announcement {
                    afi: Afi::of(&key.prefix),
                    now,
                    is_new: !was_sent,
                    was_accepted: was_sent,
                    passes_policy: v.accepted(),
                    more_specific_of_known: false,
                });
                apply_limit(&mut v, &step, Direction::Out);
                if let Some(trip) = step.trip {
                    tracing::warn!(peer = %p.name, ?trip, "export max-prefix limit exceeded");
                }
            }
            let p = &self.peers[to];
            if v.accepted() || p.policy.observe {
                let t = match &cache {
                    Some((s, t)) if Arc::ptr_eq(s, attrs) => t.clone(),
                    _ => {
                        let t = Arc::new(self.to_neighbor_attrs(to, attrs));
                        cache = Some((attrs.clone(), t.clone()));
                        t
                    }
                };
                self.peers[to].adj_out.insert(key, t.clone());
                batch.announce(t, key);
            } else {
                let p = &mut self.peers[to];
                p.rejected_out += 1;
                tracing::debug!(peer = %p.name, prefix = %key.prefix, reasons = ?v.reasons().collect::<Vec<_>>(), "export rejected");
                if p.adj_out.remove(&key).is_some() {
                    batch.withdraw.push(key);
                }
            }
        }
        batch
    }

    fn router_update(&mut self, from: usize, u: DecodedUpdate) -> Vec<Output> {
        let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = Vec::new();
        {
            let p = &mut self.peers[from];
            for n in &u.withdrawn {
                if p.adj_in.remove(n).is_some() {
                    routes.push((*n, None));
                }
            }
            if let (Some(attrs), None | Some(crate::bgp::rfc7606::ErrorAction::Discard)) =
                (&u.attrs, u.action)
            {
                for n in &u.announced {
                    p.adj_in.insert(
                        *n,
                        InRoute {
                            attrs: attrs.clone(),
                            verdict: Verdict::default(),
                        },
                    );
                    routes.push((*n, Some(attrs.clone())));
                }
            }
        }
        let mut out = Vec::new();
        for n in self.neighbors() {
            let batch = self.export_to(n, &routes);
            if let Some(neg) = self.peers[n].session.clone() {
                self.flush(n, &neg, batch, &mut out);
            }
        }
        out
    }

    // ---- sessions ----------------------------------------------------------------------

    fn up(&mut self, peer: usize, neg: Negotiated) -> Vec<Output> {
        let Some(p) = self.peers.get_mut(peer) else {
            return vec![];
        };
        p.session = Some(neg);
        p.adj_out.clear();
        p.mp_in.session_up(self.now);
        p.mp_out.session_up(self.now);
        self.full_table(peer)
    }

    /// Everything a peer should have, then End-of-RIB (after a session came up or a refresh).
    fn full_table(&mut self, peer: usize) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(neg) = self.peers.get(peer).and_then(|p| p.session.clone()) else {
            return out;
        };
        if self.peers[peer].is_router() {
            self.peers[peer].adj_out.clear();
            for from in 0..self.peers.len() {
                if self.peers[from].is_router() || self.peers[from].session.is_none() {
                    continue;
                }
                let nlri: Vec<Nlri> = self.peers[from].adj_in.keys().copied().collect();
                self.propagate(from, &nlri, &[peer], &mut out);
            }
        } else {
            self.peers[peer].adj_out.clear();
            let mut routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> = Vec::new();
            for r in (0..self.peers.len()).filter(|i| self.peers[*i].is_router()) {
                routes.extend(
                    self.peers[r]
                        .adj_in
                        .iter()
                        .map(|(n, ir)| (*n, Some(ir.attrs.clone()))),
                );
            }
            let batch = self.export_to(peer, &routes);
            self.flush(peer, &neg, batch, &mut out);
        }
        let ctx = encode_ctx(&neg, self.peers[peer].is_router());
        let eor: Vec<Vec<u8>> = neg
            .families
            .iter()
            .map(|afi| encode_end_of_rib(*afi, &ctx))
            .collect();
        out.push(Output::Send { peer, msgs: eor });
        out
    }

    fn down(&mut self, peer: usize, reason: &DownReason) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(p) = self.peers.get_mut(peer) else {
            return out;
        };
        tracing::info!(peer = %p.name, ?reason, routes = p.adj_in.len(), "session down: withdrawing its routes");
        p.session = None;
        p.adj_out.clear();
        let gone: Vec<Nlri> = p.adj_in.drain().map(|(n, _)| n).collect();
        if p.is_router() {
            let routes: Vec<(Nlri, Option<Arc<PathAttributes>>)> =
                gone.into_iter().map(|n| (n, None)).collect();
            for n in self.neighbors() {
                let batch = self.export_to(n, &routes);
                if let Some(neg) = self.peers[n].session.clone() {
                    self.flush(n, &neg, batch, &mut out);
                }
            }
        } else {
            self.propagate_to_routers(peer, &gone, &mut out);
        }
        out
    }
}
