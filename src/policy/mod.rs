//! The policy engine: every check of DESIGN §2 as a small pure function over a route, the peer it
//! comes from or goes to, and immutable data snapshots. No I/O, no async, no clock: the daemon
//! and `replay` call exactly this code. Stateful limits (max-prefix, burst guard) live in
//! `max_prefix`, a state machine the caller drives along its own timeline.
//!
//! Adding a check means adding one function in its family's file and one line to
//! `IMPORT_CHECKS` or `EXPORT_CHECKS`.

pub mod blackhole;
pub mod bogon;
pub mod communities;
pub mod irr;
pub mod known;
pub mod max_prefix;
pub mod otc;
pub mod path;
pub mod peerlock;
pub mod prefix;
pub mod reason;
pub mod rpki;
pub mod snapshot;

pub use blackhole::{Blackhole, BlackholePolicy};
pub use bogon::Bogons;
pub use max_prefix::{
    Action, BurstLimits, CountMode, LimitState, Limits, MaxPrefixState, Trip, TripKind,
};
pub use reason::{Reason, ReasonSet};
pub use snapshot::{PolicySnapshot, SharedPolicy};

use crate::irr::PrefixList;
use crate::rpki::{AspaState, RovState, RpkiData};
use crate::types::{Asn, Direction, PathOrigin, Role, Route};
use ipnet::IpNet;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;

/// Transit-free networks whose ASNs should never appear behind a customer or a peer
/// ("Peerlock-lite", as popularised by NTT's route-leak filters). Overridable in config.
pub const DEFAULT_PROTECTED_ASNS: &[u32] = &[
    174, 209, 701, 1239, 1299, 2828, 2914, 3257, 3320, 3356, 3491, 3549, 3561, 4134, 5511, 6453,
    6461, 6762, 6830, 7018, 12956,
];

/// What the checks need to know about one neighbor. Built from its `[[peer]]` config (or, in
/// replay, from the MRT peer and the config entry matching it).
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    pub name: String,
    pub role: Role,
    pub asn: Asn,
    pub address: Option<IpAddr>,
    /// Checks that run for this peer (all, less `checks_disable`, and less what `--checks` leaves out).
    pub enabled: ReasonSet,
    /// Observe mode: verdicts are made and counted but routes pass.
    pub observe: bool,
    pub allow_private_asn: bool,
    pub prefix_len_v4: (u8, u8),
    pub prefix_len_v6: (u8, u8),
    pub max_path_length: usize,
    pub max_communities: Option<usize>,
    /// `next-hop` also requires the next hop to be the neighbor's own address.
    pub next_hop_is_neighbor: bool,
    /// Protected ASNs that are legitimate upstreams behind this neighbor.
    pub peerlock_allow: Vec<Asn>,
    /// The neighbor's IRR prefix list; `None` disables `irr-unregistered` for it.
    pub irr: Option<Arc<PrefixList>>,
    /// RPKI-Valid routes count as registered for `irr-unregistered`.
    pub irr_roas_as_routes: bool,
    /// RFC 7999 BLACKHOLE: whether this neighbor may ask for it, and how long its prefixes may be.
    pub blackhole: BlackholePolicy,
}

impl PeerPolicy {
    /// A peer with every check on and the default bounds of DESIGN §2.
    pub fn new(name: impl Into<String>, role: Role, asn: Asn, address: Option<IpAddr>) -> Self {
        PeerPolicy {
            name: name.into(),
            role,
            asn,
            address,
            enabled: ReasonSet::all(),
            observe: false,
            allow_private_asn: false,
            prefix_len_v4: (8, 24),
            prefix_len_v6: (16, 48),
            max_path_length: 64,
            max_communities: None,
            next_hop_is_neighbor: false,
            peerlock_allow: Vec::new(),
            irr: None,
            irr_roas_as_routes: false,
            blackhole: BlackholePolicy::for_role(role),
        }
    }
}

/// What the checks need to know about us: the operator's AS and its lists.
#[derive(Debug, Clone)]
pub struct LocalPolicy {
    pub asn: Asn,
    pub bogons: Arc<Bogons>,
    /// Sorted protected (transit-free) ASNs for Peerlock.
    pub protected_asns: Arc<[Asn]>,
    /// Own + customer-cone prefixes that may be exported to providers, peers and route servers.
    pub announce: Arc<PrefixList>,
}

impl LocalPolicy {
    /// Defaults: built-in bogons and protected ASNs, nothing announceable.
    pub fn new(asn: Asn) -> LocalPolicy {
        let mut protected: Vec<Asn> = DEFAULT_PROTECTED_ASNS.iter().map(|a| Asn(*a)).collect();
        protected.sort();
        LocalPolicy {
            asn,
            bogons: Arc::new(Bogons::default()),
            protected_asns: protected.into(),
            announce: Arc::new(PrefixList::new()),
        }
    }
}

/// The outcome of evaluating one route: every failing check (in evaluation order) and the RPKI
/// states, which are computed whenever data is loaded, even if their checks are off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    pub failed: ReasonSet,
    pub rov: Option<RovState>,
    pub aspa: Option<AspaState>,
}

impl Verdict {
    pub fn accepted(&self) -> bool {
        self.failed.is_empty()
    }
    /// The failing reasons in evaluation order; the first is the primary one.
    pub fn reasons(&self) -> impl Iterator<Item = Reason> + '_ {
        Reason::ALL
            .iter()
            .copied()
            .filter(|r| self.failed.contains(*r))
    }
    pub fn primary(&self) -> Option<Reason> {
        self.reasons().next()
    }
    pub fn reject(&mut self, r: Reason) {
        self.failed.insert(r);
    }
}

/// Serializable form of a verdict for reports.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    pub accepted: bool,
    pub reasons: Vec<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpki: Option<RovState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspa: Option<AspaState>,
}

impl From<&Verdict> for VerdictView {
    fn from(v: &Verdict) -> Self {
        VerdictView {
            accepted: v.accepted(),
            reasons: v.reasons().collect(),
            rpki: v.rov,
            aspa: v.aspa,
        }
    }
}

/// Everything a check may look at.
pub struct Ctx<'a> {
    pub peer: &'a PeerPolicy,
    pub local: &'a LocalPolicy,
    pub rpki: &'a RpkiData,
    pub rov: Option<RovState>,
    pub aspa: Option<AspaState>,
    /// The route's RFC 7999 BLACKHOLE state for this direction (`blackhole::classify`).
    pub blackhole: Blackhole,
}

/// A check: `true` means the route fails it.
pub type Check = fn(&Route, &Ctx<'_>) -> bool;

/// What a check reads of the route: its path attributes only, the same for every prefix of an
/// UPDATE ([`evaluate_batch`] runs it once per UPDATE), or the prefix too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Path,
    Prefix,
}

/// Import checks (routes from a neighbor), in the order reasons are reported.
pub const IMPORT_CHECKS: &[(Reason, Check, Scope)] = &[
    (Reason::Malformed, path::malformed, Scope::Path),
    (Reason::BogonPrefix, prefix::bogon_prefix, Scope::Prefix),
    (
        Reason::BlackholeUnauthorized,
        blackhole::blackhole_unauthorized,
        Scope::Prefix,
    ),
    (Reason::PrefixLength, prefix::prefix_length, Scope::Prefix),
    (Reason::BogonAsn, path::bogon_asn, Scope::Path),
    (Reason::AsSet, path::as_set, Scope::Path),
    (Reason::AsPathLength, path::as_path_length, Scope::Path),
    (Reason::FirstAs, path::first_as, Scope::Path),
    (Reason::NextHop, path::next_hop, Scope::Path),
    (Reason::OtcLeak, otc::otc_leak, Scope::Path),
    (Reason::Peerlock, peerlock::peerlock, Scope::Path),
    (Reason::RpkiInvalid, rpki::rpki_invalid, Scope::Prefix),
    (Reason::AspaInvalid, rpki::aspa_invalid, Scope::Path),
    (
        Reason::IrrUnregistered,
        irr::irr_unregistered,
        Scope::Prefix,
    ),
    (
        Reason::TooManyCommunities,
        communities::too_many_communities,
        Scope::Path,
    ),
];

/// Export checks (routes from the router toward one neighbor). `export-max-prefix` is stateful.
pub const EXPORT_CHECKS: &[(Reason, Check, Scope)] = &[
    (
        Reason::NotAnnounceable,
        irr::not_announceable,
        Scope::Prefix,
    ),
    (Reason::OtcEgress, otc::otc_egress, Scope::Path),
    (
        Reason::ExportRpkiInvalid,
        rpki::export_rpki_invalid,
        Scope::Prefix,
    ),
    (
        Reason::ExportAspaInvalid,
        rpki::export_aspa_invalid,
        Scope::Path,
    ),
    (Reason::ExportBogon, prefix::export_bogon, Scope::Prefix),
];

/// The origin ASN of a route for ROV: the path's origin, or our own AS for an empty path
/// (a route the router originates itself, RFC 6811 §2).
pub fn route_origin(route: &Route, local: &LocalPolicy) -> PathOrigin {
    route
        .attrs
        .as_path
        .origin()
        .unwrap_or(PathOrigin::Asn(local.asn))
}

/// Evaluates a route received from `peer` (import direction).
pub fn evaluate_import(
    route: &Route,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Verdict {
    evaluate(Direction::In, route, peer, local, rpki)
}

/// Evaluates a route the router announces, on its way to `peer` (export direction).
pub fn evaluate_export(
    route: &Route,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Verdict {
    evaluate(Direction::Out, route, peer, local, rpki)
}

/// Runs the checks of one direction. The RPKI states are computed once, up front, whenever
/// data is loaded: the checks read them and the counters report them even if the checks are off.
pub fn evaluate(
    direction: Direction,
    route: &Route,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Verdict {
    let ctx = Ctx {
        peer,
        local,
        rpki,
        rov: rov_state(route, local, rpki),
        aspa: aspa_state(direction, route, peer, rpki),
        blackhole: blackhole::classify(direction, route, peer, local, rpki),
    };
    let mut v = run(checks_of(direction), None, route, &ctx);
    v.rov = ctx.rov;
    v.aspa = ctx.aspa;
    v
}

/// Runs the checks of one direction for every prefix of one UPDATE, which share `attrs`: what
/// [`evaluate`] gives for each, with the path checks and the ASPA state made once for all of
/// them (a full table comes a few prefixes per UPDATE).
pub fn evaluate_batch<'a>(
    direction: Direction,
    attrs: &Arc<crate::types::Attrs>,
    prefixes: impl Iterator<Item = (&'a IpNet, Option<u32>)>,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Vec<Verdict> {
    let mut prefixes = prefixes.peekable();
    let Some((first, path_id)) = prefixes.peek().copied() else {
        return Vec::new();
    };
    let mut route = Route {
        prefix: *first,
        path_id,
        attrs: attrs.clone(),
    };
    let checks = checks_of(direction);
    let aspa = aspa_state(direction, &route, peer, rpki);
    let path = Ctx {
        peer,
        local,
        rpki,
        rov: None,
        aspa,
        blackhole: Blackhole::Untagged,
    };
    let path_failed = run(checks, Some(Scope::Path), &route, &path).failed;
    // The tag is the path's: an UPDATE without BLACKHOLE skips the per-prefix classification.
    let tagged = blackhole::is_tagged(&route);
    prefixes
        .map(|(prefix, path_id)| {
            route.prefix = *prefix;
            route.path_id = path_id;
            let ctx = Ctx {
                rov: rov_state(&route, local, rpki),
                blackhole: if tagged {
                    blackhole::classify(direction, &route, peer, local, rpki)
                } else {
                    Blackhole::Untagged
                },
                ..path
            };
            let mut v = run(checks, Some(Scope::Prefix), &route, &ctx);
            v.failed.extend(path_failed);
            v.rov = ctx.rov;
            v.aspa = aspa;
            v
        })
        .collect()
}

fn checks_of(direction: Direction) -> &'static [(Reason, Check, Scope)] {
    match direction {
        Direction::In => IMPORT_CHECKS,
        Direction::Out => EXPORT_CHECKS,
    }
}

/// The route's RFC 6811 state, when VRPs are loaded.
fn rov_state(route: &Route, local: &LocalPolicy, rpki: &RpkiData) -> Option<RovState> {
    rpki.has_vrps()
        .then(|| rpki.rov(&route.prefix, route_origin(route, local)))
}

/// The route's ASPA state for `direction`, when ASPAs are loaded.
fn aspa_state(
    direction: Direction,
    route: &Route,
    peer: &PeerPolicy,
    rpki: &RpkiData,
) -> Option<AspaState> {
    rpki.has_aspas().then(|| match direction {
        Direction::In => rpki::import_aspa_state(route, peer, rpki),
        Direction::Out => rpki::export_aspa_state(route, peer, rpki),
    })
}

/// Runs the enabled checks of `scope` (all for `None`); the verdict's RPKI states are left
/// empty for the caller.
fn run(
    checks: &[(Reason, Check, Scope)],
    scope: Option<Scope>,
    route: &Route,
    ctx: &Ctx<'_>,
) -> Verdict {
    let mut v = Verdict {
        failed: ReasonSet::EMPTY,
        rov: None,
        aspa: None,
    };
    for (reason, check, s) in checks {
        if scope.is_none_or(|scope| scope == *s)
            && ctx.peer.enabled.contains(*reason)
            && check(route, ctx)
        {
            v.reject(*reason);
        }
    }
    v
}

/// Applies a max-prefix / burst-guard step to a verdict: `max-prefix` on import,
/// `export-max-prefix` on export (a full table leaking toward a peer).
pub fn apply_limit(v: &mut Verdict, step: &max_prefix::Step, direction: Direction) {
    if step.reject {
        v.reject(match direction {
            Direction::In => Reason::MaxPrefix,
            Direction::Out => Reason::ExportMaxPrefix,
        });
    }
}

/// Every import check's outcome for one route, for `explain`: (reason, enabled for this peer,
/// fails). Disabled checks are run too, so an operator sees what they would say.
pub fn explain_import(
    route: &Route,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Vec<(Reason, bool, bool)> {
    let mut all = peer.clone();
    all.enabled = ReasonSet::all();
    let full = evaluate_import(route, &all, local, rpki);
    IMPORT_CHECKS
        .iter()
        .map(|(r, _, _)| (*r, peer.enabled.contains(*r), full.failed.contains(*r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::irr::PrefixList;
    use crate::types::Afi;

    #[test]
    fn a_full_table_leaking_to_a_peer_trips_export_max_prefix() {
        let mut l = local();
        let mut own = PrefixList::new();
        own.insert("20.0.0.0/8".parse().unwrap(), 8, 24, None);
        l.announce = Arc::new(own);
        let p = peer(Role::Peer, 3356);
        let rpki = RpkiData::empty();
        let mut out = MaxPrefixState::new(
            Some(Limits {
                ipv4: Some(100),
                ipv6: Some(50),
                warn_at: 90,
                count: CountMode::Accepted,
                action: Action::DropExcess,
                restart_after: None,
            }),
            None,
        );
        let mut rejected = 0;
        for i in 0..1000u32 {
            let prefix = format!("20.{}.{}.0/24", i / 256, i % 256);
            let r = route(&prefix, "20001");
            let mut v = evaluate_export(&r, &p, &l, &rpki);
            assert!(v.accepted(), "{prefix}: {:?}", v.primary());
            let step = out.announce(max_prefix::Announcement {
                afi: Afi::Ipv4,
                now: 0,
                is_new: true,
                was_accepted: false,
                passes_policy: v.accepted(),
                more_specific_of_known: false,
            });
            apply_limit(&mut v, &step, Direction::Out);
            if !v.accepted() {
                assert_eq!(v.primary(), Some(Reason::ExportMaxPrefix));
                rejected += 1;
            }
        }
        assert_eq!(rejected, 900);
        assert_eq!(out.trips, 1);
    }

    #[test]
    fn import_limit_rejects_with_max_prefix() {
        let mut v = Verdict::default();
        let step = max_prefix::Step {
            reject: true,
            ..Default::default()
        };
        apply_limit(&mut v, &step, Direction::In);
        assert_eq!(v.primary(), Some(Reason::MaxPrefix));
    }

    #[test]
    fn explain_runs_disabled_checks_too() {
        let l = local();
        let mut p = peer(Role::Customer, 20001);
        p.enabled.remove(Reason::PrefixLength);
        let rpki = RpkiData::empty();
        let r = route("10.0.0.0/25", "20002 15169");
        let e = explain_import(&r, &p, &l, &rpki);
        let get = |reason| e.iter().find(|(x, _, _)| *x == reason).copied().unwrap();
        assert_eq!(get(Reason::BogonPrefix), (Reason::BogonPrefix, true, true));
        assert_eq!(
            get(Reason::PrefixLength),
            (Reason::PrefixLength, false, true)
        );
        assert_eq!(get(Reason::FirstAs), (Reason::FirstAs, true, true));
        assert_eq!(get(Reason::OtcLeak), (Reason::OtcLeak, true, false));
        let v = evaluate_import(&r, &p, &l, &rpki);
        assert!(
            !v.failed.contains(Reason::PrefixLength),
            "disabled checks do not reject"
        );
        assert_eq!(v.primary(), Some(Reason::BogonPrefix));
    }
}

#[cfg(test)]
mod batch_tests {
    use super::testutil::*;
    use super::*;
    use crate::irr::PrefixList;
    use crate::rpki::{Aspa, Vrp};

    /// Every prefix of an UPDATE checked at once gets exactly what it gets alone: over paths
    /// that fail path checks or not, prefixes that fail prefix checks or not, both directions,
    /// RPKI data loaded and not, every role.
    #[test]
    fn a_batch_gives_what_each_prefix_gets_alone() {
        let vrps = vec![
            Vrp {
                prefix: "203.0.112.0/22".parse().unwrap(),
                max_len: 24,
                asn: Asn(64511),
                ta: None,
                expires: None,
            },
            Vrp {
                prefix: "2001:db8::/32".parse().unwrap(),
                max_len: 48,
                asn: Asn(64511),
                ta: None,
                expires: None,
            },
        ];
        let aspas = vec![Aspa::new(Asn(64511), [Asn(64510)], None)];
        let data = [RpkiData::empty(), RpkiData::new(vrps, aspas)];
        let mut l = local();
        let mut own = PrefixList::new();
        own.insert("203.0.112.0/22".parse().unwrap(), 22, 24, None);
        l.announce = Arc::new(own);
        let paths = [
            "64510 64511",
            "64510 64499 64511",
            "64510 {64511,64512}",
            "64510 23456 64511",
            "64999 64511",
            "",
        ];
        let prefixes: Vec<IpNet> = [
            "203.0.113.0/24",
            "203.0.112.0/25",
            "10.0.0.0/8",
            "198.51.100.0/24",
            "0.0.0.0/0",
            "2001:db8:1::/48",
            "2001:db8::/64",
            "fc00::/7",
        ]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
        let mut checked = 0;
        for rpki in &data {
            for role in [Role::Provider, Role::Customer, Role::Peer, Role::Rs] {
                let mut p = peer(role, 64510);
                p.enabled = ReasonSet::all();
                for path in paths {
                    let attrs = route("192.0.2.0/24", path).attrs;
                    for d in [Direction::In, Direction::Out] {
                        let batch = evaluate_batch(
                            d,
                            &attrs,
                            prefixes.iter().map(|p| (p, None)),
                            &p,
                            &l,
                            rpki,
                        );
                        assert_eq!(batch.len(), prefixes.len());
                        for (prefix, got) in prefixes.iter().zip(&batch) {
                            let alone = Route::new(*prefix, attrs.clone());
                            let want = evaluate(d, &alone, &p, &l, rpki);
                            assert_eq!(*got, want, "{d:?} {role:?} {prefix} path {path:?}");
                            checked += usize::from(!want.accepted());
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "the cases reject something: {checked}");
        assert!(evaluate_batch(
            Direction::In,
            &route("192.0.2.0/24", "64510").attrs,
            std::iter::empty(),
            &peer(Role::Peer, 64510),
            &l,
            &data[0],
        )
        .is_empty());
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Builders shared by the check tests.
    use super::*;
    use crate::types::{AsPath, Attrs};

    pub fn route(prefix: &str, path: &str) -> Route {
        route_with(prefix, path, |_| {})
    }

    pub fn route_with(prefix: &str, path: &str, f: impl FnOnce(&mut Attrs)) -> Route {
        let mut a = Attrs {
            as_path: AsPath::parse(path).unwrap(),
            next_hop: Some("198.51.100.1".parse().unwrap()),
            ..Attrs::default()
        };
        f(&mut a);
        Route::new(prefix.parse().unwrap(), Arc::new(a))
    }

    pub fn peer(role: Role, asn: u32) -> PeerPolicy {
        PeerPolicy::new("n", role, Asn(asn), Some("198.51.100.1".parse().unwrap()))
    }

    pub fn local() -> LocalPolicy {
        LocalPolicy::new(Asn(64500))
    }

    /// Runs one check with no RPKI data.
    pub fn check(c: Check, r: &Route, p: &PeerPolicy, l: &LocalPolicy) -> bool {
        let rpki = RpkiData::empty();
        c(
            r,
            &Ctx {
                peer: p,
                local: l,
                rpki: &rpki,
                rov: None,
                aspa: None,
                blackhole: blackhole::classify(Direction::In, r, p, l, &rpki),
            },
        )
    }
}
