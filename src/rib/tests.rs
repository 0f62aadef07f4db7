//! RIB tests, sans-IO: session events in, routes out. Each side's "wire" is simulated by
//! [`Receiver`], which applies what a session is sent, so a test asserts what the router and the
//! neighbor hold, the way a real router's table would show it.

use super::*;
use crate::bgp::update::{DecodedUpdate, Nlri, Outbound, PathAttributes};
use crate::policy::{Action, BurstLimits, PeerPolicy, Reason};
use crate::testutil::{negotiated, Rng};
use crate::types::{AsPath, Asn, Attrs, PerSide, Role, SessionId, Side};
use std::collections::BTreeMap;

const LOCAL: u32 = 20001;
const NEIGHBOR: u32 = 20002;

fn n(id: SessionId) -> SessionId {
    id
}

const N: SessionId = SessionId {
    pair: 0,
    side: Side::Neighbor,
};
const R: SessionId = SessionId {
    pair: 0,
    side: Side::Router,
};

/// One pair: a neighbor of `role` (AS20002) behind a router of AS20001.
fn pair(role: Role) -> Pair {
    let mut p = Pair::new(
        "n".into(),
        role,
        Asn(NEIGHBOR),
        Asn(LOCAL),
        PeerPolicy::new("n", role, Asn(NEIGHBOR), None),
    );
    p.next_hop.ipv4 = Some("198.51.100.3".parse().unwrap());
    p.next_hop.ipv6 = Some("2001:db8:1::3".parse().unwrap());
    p
}

fn rib_of(pairs: Vec<Pair>) -> Rib {
    let mut local = LocalPolicy::new(Asn(LOCAL));
    let mut announce = crate::irr::PrefixList::new();
    announce.insert("20.0.0.0/8".parse().unwrap(), 8, 24, None);
    local.announce = Arc::new(announce);
    Rib::new(pairs, local, Arc::new(RpkiData::empty()))
}

fn up(rib: &mut Rib, id: SessionId) -> Vec<Output> {
    let asn = match id.side {
        Side::Neighbor => NEIGHBOR,
        Side::Router => LOCAL,
    };
    let generation = rib.pairs[id.pair].generation[id.side] + 1;
    rib.handle(FromSession::Up {
        id,
        generation,
        negotiated: Box::new(negotiated(asn)),
    })
}

fn down(rib: &mut Rib, id: SessionId) -> Vec<Output> {
    rib.handle(FromSession::Down {
        id,
        reason: DownReason::ConnectionLost,
        retained: None,
    })
}

/// A customer pair with both sides up.
fn rib(burst: Option<BurstLimits>) -> Rib {
    let mut p = pair(Role::Customer);
    p.flows.inbound.table.set_limits(None, burst, false);
    let mut rib = rib_of(vec![p]);
    up(&mut rib, R);
    up(&mut rib, N);
    rib
}

#[test]
fn a_pair_removed_by_a_reload_is_emptied_and_deaf_and_an_added_one_works_in_the_next_slot() {
    let mut rib = rib(None);
    let a = attrs("20002", |_| {});
    let out = rib.handle(update_with(N, &["1.0.0.0/24"], a.clone(), &[]));
    assert!(!out.is_empty(), "the route goes to the router");
    rib.remove_pair(0);
    assert!(rib.pairs[0].gone);
    assert_eq!(rib.pairs[0].flows.inbound.table.len(), 0);
    assert_eq!(rib.routes_held(), 0);
    // Its sessions' last events are dropped, and its name is no longer found.
    assert!(rib
        .handle(update_with(N, &["1.0.1.0/24"], a.clone(), &[]))
        .is_empty());
    assert!(down(&mut rib, N).is_empty());
    assert!(rib.clear("n").0.is_err());
    // A pair with the same name in a new slot (an address change): its events handled, the
    // name finds it.
    let slot = rib.add_pair(pair(Role::Customer));
    assert_eq!(slot, 1);
    let (n1, r1) = (
        SessionId::new(1, Side::Neighbor),
        SessionId::new(1, Side::Router),
    );
    up(&mut rib, r1);
    up(&mut rib, n1);
    let out = rib.handle(update_with(n1, &["1.0.0.0/24"], a, &[]));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Routes { to, .. } if *to == r1)),
        "{out:?}"
    );
    assert_eq!(rib.pairs[1].flows.inbound.table.len(), 1);
    let (found, _) = rib.neighbor(
        "n",
        NeighborOrder::Down {
            message: "m".into(),
        },
        0,
    );
    assert!(found.is_ok(), "{found:?}");
    assert!(rib.pairs[1].shutdown.is_some() && rib.pairs[0].shutdown.is_none());
}

fn attrs(path: &str, f: impl FnOnce(&mut Attrs)) -> Arc<PathAttributes> {
    let mut a = Attrs {
        as_path: AsPath::parse(path).unwrap(),
        next_hop: Some("192.0.2.21".parse().unwrap()),
        ..Attrs::default()
    };
    f(&mut a);
    Arc::new(PathAttributes {
        attrs: Arc::new(a),
        other: vec![],
    })
}

fn nlri(v: &[&str]) -> Vec<Nlri> {
    v.iter().map(|p| Nlri::new(p.parse().unwrap())).collect()
}

fn update_with(
    id: SessionId,
    prefixes: &[&str],
    a: Arc<PathAttributes>,
    withdrawn: &[&str],
) -> FromSession {
    FromSession::Update {
        id,
        update: DecodedUpdate {
            announced: nlri(prefixes),
            withdrawn: nlri(withdrawn),
            attrs: (!prefixes.is_empty()).then_some(a),
            ..DecodedUpdate::default()
        },
        verdicts: None,
    }
}

fn end_of_rib(id: SessionId, afi: Afi) -> FromSession {
    FromSession::Update {
        id,
        update: DecodedUpdate {
            end_of_rib: Some(afi),
            ..DecodedUpdate::default()
        },
        verdicts: None,
    }
}

fn update(id: SessionId, prefixes: &[&str], path: &str, withdrawn: &[&str]) -> FromSession {
    update_with(id, prefixes, attrs(path, |_| {}), withdrawn)
}

/// What one session holds: the routes it was sent and not withdrawn, with their attributes,
/// as a BGP speaker on the other end would. Its table empties when its session goes down.
#[derive(Default, Debug)]
struct Receiver {
    routes: BTreeMap<String, Arc<PathAttributes>>,
    end_of_rib: bool,
}

impl Receiver {
    fn apply(&mut self, o: &Outbound) {
        for w in &o.withdraw {
            self.routes.remove(&w.prefix.to_string());
        }
        for (a, v) in &o.announce {
            for n in v {
                self.routes.insert(n.prefix.to_string(), a.clone());
            }
        }
        self.end_of_rib |= !o.end_of_rib.is_empty();
    }

    fn prefixes(&self) -> Vec<String> {
        self.routes.keys().cloned().collect()
    }
}

/// Receivers for the sessions of a RIB's pairs, fed with what the RIB sends.
#[derive(Default)]
struct Wire {
    sides: Vec<PerSide<Receiver>>,
    stops: Vec<(SessionId, Notification)>,
}

impl Wire {
    /// Applies outputs; routes for a generation other than the session's now are dropped, as a
    /// session drops them.
    fn apply(&mut self, rib: &Rib, out: &[Output]) {
        for o in out {
            match o {
                Output::Routes { to, out } => {
                    let p = &rib.pairs[to.pair];
                    if p.is_up(to.side) && p.generation[to.side] == out.generation {
                        while self.sides.len() <= to.pair {
                            self.sides.push(PerSide::default());
                        }
                        self.sides[to.pair][to.side].apply(out);
                    }
                }
                Output::Stop {
                    to, notification, ..
                } => self.stops.push((*to, notification.clone())),
                Output::Start { .. }
                | Output::AdminDown { .. }
                | Output::AdminUp { .. }
                | Output::RouteRefresh { .. } => {}
            }
        }
    }

    fn side(&mut self, id: SessionId) -> &mut Receiver {
        while self.sides.len() <= id.pair {
            self.sides.push(PerSide::default());
        }
        &mut self.sides[id.pair][id.side]
    }

    /// A session went down: the speaker on the other end drops what it learned on it.
    fn reset(&mut self, id: SessionId) {
        *self.side(id) = Receiver::default();
    }
}

/// (announced, withdrawn) prefixes sent to `to` in `out`.
fn sent(out: &[Output], to: SessionId) -> (Vec<String>, Vec<String>) {
    let (mut a, mut w) = (Vec::new(), Vec::new());
    for o in out {
        if let Output::Routes { to: t, out } = o {
            if *t == to {
                for (_, v) in &out.announce {
                    a.extend(v.iter().map(|n| n.prefix.to_string()));
                }
                w.extend(out.withdraw.iter().map(|n| n.prefix.to_string()));
            }
        }
    }
    (a, w)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn accepted_routes_reach_the_router_and_rejected_ones_do_not() {
    let mut rib = rib(None);
    let out = rib.handle(update(
        N,
        &["8.8.8.0/24", "10.0.0.0/24", "9.9.9.0/25"],
        "20002 15169",
        &[],
    ));
    assert_eq!(sent(&out, R), (strings(&["8.8.8.0/24"]), vec![]));
    assert_eq!(sent(&out, N), (vec![], vec![]), "nothing goes back");
    assert_eq!(
        rib.pairs[0].flows.inbound.table.len(),
        3,
        "pre-policy: every route is kept"
    );
    assert_eq!(rib.pairs[0].flows.inbound.rejected, 2);
    let out = rib.handle(update(N, &[], "20002", &["8.8.8.0/24", "10.0.0.0/24"]));
    assert_eq!(sent(&out, R), (vec![], strings(&["8.8.8.0/24"])));
}

#[test]
fn the_router_gets_the_neighbors_attributes_as_they_are() {
    let mut rib = rib(None);
    let a = attrs("20002 15169", |a| {
        a.med = Some(50);
        a.communities = vec![0xFFFF_FF01, 20002 << 16 | 7];
        a.large_communities = vec![[20002, 1, 2]];
        a.origin = crate::types::Origin::Incomplete;
    });
    let out = rib.handle(update_with(N, &["8.8.8.0/24"], a.clone(), &[]));
    let Some(Output::Routes { out, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let (got, _) = &out.announce[0];
    // The same attribute set goes on: no AS added, no role community, next hop and MED kept.
    assert!(Arc::ptr_eq(got, &a), "{got:?}");
}

#[test]
fn a_neighbor_cannot_set_our_reject_reason_tags() {
    let mut rib = rib(None);
    let a = attrs("20002 15169", |a| {
        a.large_communities = vec![[LOCAL, 1101, 11], [LOCAL, 7, 1], [20002, 1101, 3]];
    });
    let out = rib.handle(update_with(N, &["8.8.8.0/24"], a, &[]));
    let Some(Output::Routes { out, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let lc = &out.announce[0].0.attrs.large_communities;
    assert_eq!(lc, &vec![[LOCAL, 7, 1], [20002, 1101, 3]]);
}

#[test]
fn routes_from_a_provider_get_otc_on_the_way_to_the_router() {
    let mut rib = rib_of(vec![pair(Role::Provider)]);
    up(&mut rib, R);
    up(&mut rib, N);
    let out = rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    let Some(Output::Routes { out, .. }) = out.first() else {
        panic!("{out:?}")
    };
    assert_eq!(out.announce[0].0.attrs.otc, Some(Asn(NEIGHBOR)));
}

#[test]
fn the_neighbor_gets_the_router_routes_with_the_routers_link_address_as_next_hop() {
    let mut rib = rib(None);
    let a = attrs("20001 15169", |a| {
        a.next_hop = Some("10.0.0.1".parse().unwrap());
        a.med = Some(7);
    });
    let out = rib.handle(update_with(R, &["20.1.0.0/24"], a, &[]));
    let Some(Output::Routes { to, out }) = out.first() else {
        panic!("{out:?}")
    };
    assert_eq!(*to, N);
    let got = &out.announce[0].0;
    assert_eq!(got.attrs.next_hop, Some("198.51.100.3".parse().unwrap()));
    assert_eq!(
        got.attrs.med,
        Some(7),
        "the router's MED is the router's business"
    );
    assert_eq!(got.attrs.as_path.to_string(), "20001 15169", "no AS added");
    // Toward a customer OTC is set on egress (RFC 9234).
    assert_eq!(got.attrs.otc, Some(Asn(LOCAL)));
    // An IPv6 route gets the IPv6 link address, and the link-local one when configured.
    rib.pairs[0].next_hop.ipv6_link_local = Some("fe80::3".parse().unwrap());
    let a6 = attrs("20001", |a| {
        a.next_hop = Some("2001:db8::1".parse().unwrap())
    });
    let out = rib.handle(update_with(R, &["2a00:1450::/32"], a6, &[]));
    let Some(Output::Routes { out, .. }) = out.first() else {
        panic!("{out:?}")
    };
    let got = &out.announce[0].0;
    assert_eq!(got.attrs.next_hop, Some("2001:db8:1::3".parse().unwrap()));
    let ll = got
        .other
        .iter()
        .find(|a| a.code == crate::bgp::update::LINK_LOCAL_NEXT_HOP)
        .unwrap();
    assert_eq!(
        ll.value,
        "fe80::3".parse::<std::net::Ipv6Addr>().unwrap().octets()
    );
}

#[test]
fn a_route_the_router_must_not_export_is_stopped_with_its_reason() {
    let mut rib = rib_of(vec![pair(Role::Provider)]);
    up(&mut rib, R);
    up(&mut rib, N);
    // 21.0.0.0/24 is not in the announce list: the router leaking a route toward a provider.
    let out = rib.handle(update(
        R,
        &["20.1.0.0/24", "21.0.0.0/24"],
        "20001 15169",
        &[],
    ));
    assert_eq!(sent(&out, N), (strings(&["20.1.0.0/24"]), vec![]));
    let r = rib.pairs[0]
        .flows
        .outbound
        .table
        .get(&Nlri::new("21.0.0.0/24".parse().unwrap()))
        .unwrap();
    assert_eq!(r.verdict.primary(), Some(Reason::NotAnnounceable));
    assert_eq!(rib.pairs[0].flows.outbound.rejected, 1);
}

#[test]
fn a_neighbor_going_down_withdraws_its_routes_from_the_router() {
    let mut rib = rib(None);
    rib.handle(update(N, &["8.8.8.0/24", "8.8.4.0/24"], "20002 15169", &[]));
    let out = down(&mut rib, N);
    let (a, mut w) = sent(&out, R);
    w.sort();
    assert_eq!((a, w), (vec![], strings(&["8.8.4.0/24", "8.8.8.0/24"])));
    assert!(rib.pairs[0].flows.inbound.table.is_empty());
}

#[test]
fn the_router_going_down_withdraws_its_routes_from_the_neighbor_and_keeps_the_neighbors() {
    let mut rib = rib(None);
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    rib.handle(update(R, &["20.1.0.0/24"], "20001", &[]));
    let out = down(&mut rib, R);
    assert_eq!(sent(&out, N), (vec![], strings(&["20.1.0.0/24"])));
    assert_eq!(rib.pairs[0].flows.inbound.table.len(), 1);
    // The router comes back: it gets the neighbor's table again, then End-of-RIB for the
    // families whose End-of-RIB the neighbor sent.
    rib.handle(end_of_rib(N, Afi::Ipv4));
    let out = up(&mut rib, R);
    assert_eq!(sent(&out, R), (strings(&["8.8.8.0/24"]), vec![]));
    assert!(
        matches!(out.last(), Some(Output::Routes { to, out }) if *to == R && out.end_of_rib == [Afi::Ipv4])
    );
}

#[test]
fn a_table_larger_than_a_chunk_goes_away_whole() {
    let mut rib = rib(None);
    let count = 2 * TABLE_CHUNK + 7;
    let a = attrs("20002 15169", |_| {});
    let mut all = Vec::with_capacity(count);
    for i in 0..count {
        all.push(Nlri::new(
            format!("{}.{}.{}.0/24", 11 + i / 65536, (i / 256) % 256, i % 256)
                .parse()
                .unwrap(),
        ));
    }
    rib.handle(FromSession::Update {
        id: N,
        update: DecodedUpdate {
            announced: all,
            attrs: Some(a),
            ..DecodedUpdate::default()
        },
        verdicts: None,
    });
    let out = down(&mut rib, N);
    let batches = out
        .iter()
        .filter(|o| matches!(o, Output::Routes { to, out } if *to == R && !out.withdraw.is_empty()))
        .count();
    assert_eq!(batches, 3);
    assert_eq!(sent(&out, R).1.len(), count);
}

#[test]
fn a_burst_of_more_specifics_of_known_prefixes_tears_the_session_down() {
    let burst = BurstLimits {
        new_prefixes_per_min: None,
        more_specifics_per_min: Some(10),
        action: Action::Teardown,
        restart_after: None,
    };
    let mut rib = rib(Some(burst));
    rib.handle(update(N, &["20.0.0.0/16"], "20002", &[]));
    rib.handle(FromSession::Update {
        id: N,
        update: DecodedUpdate {
            end_of_rib: Some(Afi::Ipv4),
            ..DecodedUpdate::default()
        },
        verdicts: None,
    });
    let more: Vec<String> = (0..20).map(|i| format!("20.0.{i}.0/24")).collect();
    let refs: Vec<&str> = more.iter().map(String::as_str).collect();
    let out = rib.handle(update(N, &refs, "20002", &[]));
    let stop = out.iter().find_map(|o| match o {
        Output::Stop {
            to, notification, ..
        } => Some((*to, notification.clone())),
        _ => None,
    });
    let (to, notification) = stop.expect("a teardown");
    assert_eq!(to, N);
    assert_eq!((notification.code, notification.subcode), (6, 1));
    assert_eq!(rib.incidents.list().len(), 1);
}

#[test]
fn the_index_of_known_prefixes_lives_while_a_guard_counts_more_specifics() {
    let guard = |more: Option<u32>| BurstLimits {
        new_prefixes_per_min: Some(1000),
        more_specifics_per_min: more,
        action: Action::Teardown,
        restart_after: None,
    };
    let reload = |rib: &mut Rib, burst: BurstLimits| {
        let generation = rib.policy_generation + 1;
        let policy = rib.pairs[0].policy.clone();
        let next_hop = rib.pairs[0].next_hop;
        rib.reconfigure(Reconfigure {
            generation,
            local: None,
            peers: vec![PairReconfig {
                pair: 0,
                policy,
                local_asn: None,
                next_hop,
                limits_in: None,
                burst: Some(burst),
                limits_out: None,
            }],
        });
    };
    let sorted = |rib: &Rib| {
        let mut v = rib.known.prefixes();
        v.sort();
        v
    };
    let mut rib = rib(Some(guard(None)));
    rib.handle(update(N, &["8.8.8.0/24", "1.1.1.0/24"], "20002 15169", &[]));
    assert!(
        !rib.known.exists(),
        "no guard counts more-specifics: no index"
    );
    reload(&mut rib, guard(Some(10)));
    rib.handle(update(N, &["9.9.0.0/16"], "20002 15169", &["1.1.1.0/24"]));
    let want: Vec<ipnet::IpNet> = ["8.8.8.0/24", "9.9.0.0/16"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(
        sorted(&rib),
        want,
        "built from the table, then kept up to date"
    );
    reload(&mut rib, guard(None));
    assert!(
        !rib.known.exists(),
        "dropped by the reload that leaves none"
    );
}

#[test]
fn a_route_dropped_as_excess_stays_dropped_when_announced_again() {
    let mut rib = rib(None);
    rib.pairs[0].flows.inbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(1),
            ipv6: None,
            warn_at: 90,
            count: crate::policy::CountMode::Received,
            action: Action::DropExcess,
            restart_after: None,
        }),
        None,
        false,
    );
    let out = rib.handle(update(N, &["8.8.8.0/24", "8.8.4.0/24"], "20002 15169", &[]));
    assert_eq!(sent(&out, R).0, strings(&["8.8.8.0/24"]));
    let out = rib.handle(update(N, &["8.8.4.0/24"], "20002 15169", &[]));
    assert_eq!(sent(&out, R), (vec![], vec![]));
}

#[test]
fn an_outbound_limit_with_teardown_closes_the_neighbor_session_before_the_leak() {
    let mut rib = rib_of(vec![pair(Role::Peer)]);
    rib.pairs[0].flows.outbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(2),
            ipv6: None,
            warn_at: 90,
            count: crate::policy::CountMode::Accepted,
            action: Action::Teardown,
            restart_after: None,
        }),
        None,
        false,
    );
    up(&mut rib, R);
    up(&mut rib, N);
    let out = rib.handle(update(
        R,
        &["20.1.0.0/24", "20.2.0.0/24", "20.3.0.0/24", "20.4.0.0/24"],
        "20001",
        &[],
    ));
    assert_eq!(sent(&out, N).0.len(), 2, "what was within the limit");
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Stop { to, .. } if *to == N)));
}

#[test]
fn routes_stopped_by_export_checks_do_not_use_up_the_outbound_limit() {
    let mut rib = rib_of(vec![pair(Role::Peer)]);
    rib.pairs[0].flows.outbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(2),
            ipv6: None,
            warn_at: 90,
            count: crate::policy::CountMode::Received,
            action: Action::DropExcess,
            restart_after: None,
        }),
        None,
        false,
    );
    up(&mut rib, R);
    up(&mut rib, N);
    let not_ours: Vec<String> = (0..50).map(|i| format!("30.0.{i}.0/24")).collect();
    let refs: Vec<&str> = not_ours.iter().map(String::as_str).collect();
    rib.handle(update(R, &refs, "20001 15169", &[]));
    let out = rib.handle(update(R, &["20.1.0.0/24", "20.2.0.0/24"], "20001", &[]));
    assert_eq!(sent(&out, N).0.len(), 2);
}

/// The defect of issue #11: a reload that switches observe to enforce left the rejected routes
/// at the router, even after the neighbor withdrew them and after its session went down.
#[test]
fn observe_to_enforce_withdraws_the_rejected_routes_from_the_router() {
    let mut rib = rib(None);
    rib.pairs[0].policy.observe = true;
    let mut wire = Wire::default();
    let bad = ["10.0.0.0/8", "9.9.9.0/25"];
    let out = rib.handle(update(
        N,
        &["8.8.8.0/24", bad[0], bad[1]],
        "20002 15169",
        &[],
    ));
    wire.apply(&rib, &out);
    assert_eq!(
        wire.side(R).prefixes().len(),
        3,
        "observe: everything passes"
    );
    let tagged = &wire.side(R).routes["10.0.0.0/8"];
    assert!(tagged.attrs.large_communities.contains(&[
        LOCAL,
        community::REJECT_REASON,
        u32::from(Reason::BogonPrefix.number())
    ]));
    let mut policy = rib.pairs[0].policy.clone();
    policy.observe = false;
    let (out, _) = rib.reconfigure(Reconfigure {
        generation: 1,
        local: None,
        peers: vec![PairReconfig {
            pair: 0,
            policy: policy.clone(),
            local_asn: None,
            next_hop: rib.pairs[0].next_hop,
            limits_in: None,
            burst: None,
            limits_out: None,
        }],
    });
    wire.apply(&rib, &out);
    assert_eq!(wire.side(R).prefixes(), strings(&["8.8.8.0/24"]));
    // And back: enforce to observe passes them again, tagged, without a session restart.
    policy.observe = true;
    let (out, _) = rib.reconfigure(Reconfigure {
        generation: 2,
        local: None,
        peers: vec![PairReconfig {
            pair: 0,
            policy,
            local_asn: None,
            next_hop: rib.pairs[0].next_hop,
            limits_in: None,
            burst: None,
            limits_out: None,
        }],
    });
    wire.apply(&rib, &out);
    assert_eq!(wire.side(R).prefixes().len(), 3);
}

fn vrps(list: &[(&str, u8, u32)]) -> Arc<RpkiData> {
    let v = list
        .iter()
        .map(|(p, max_len, asn)| crate::rpki::Vrp {
            prefix: p.parse().unwrap(),
            max_len: *max_len,
            asn: Asn(*asn),
            ta: None,
            expires: None,
        })
        .collect();
    Arc::new(RpkiData::new(v, vec![]))
}

/// Installs `data` the way the daemon does: with the delta from what the RIB holds.
fn install(rib: &mut Rib, data: Arc<RpkiData>) -> (Vec<Output>, Reevaluation) {
    let delta = crate::rpki::RpkiDelta::between(&rib.rpki, &data);
    let generation = rib.policy_generation + 1;
    rib.set_rpki(data, &delta, generation)
}

const BASE: &[(&str, u8, u32)] = &[
    ("8.8.8.0/24", 24, 15169),
    ("1.1.1.0/24", 24, 13335),
    ("20.0.0.0/8", 24, 15169),
];

#[test]
fn a_roa_that_goes_and_comes_back_withdraws_and_restores_only_its_route() {
    let mut rib = rib(None);
    install(&mut rib, vrps(BASE));
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    rib.handle(update(N, &["1.1.1.0/24"], "20002 13335", &[]));
    let out = rib.handle(update(N, &["9.9.9.0/24"], "20002 19281", &[]));
    assert_eq!(sent(&out, R).0, strings(&["9.9.9.0/24"]));
    let mut changed = BASE.to_vec();
    changed[0] = ("8.8.8.0/24", 24, 13335);
    let (out, stats) = install(&mut rib, vrps(&changed));
    assert_eq!(sent(&out, R), (vec![], strings(&["8.8.8.0/24"])));
    assert_eq!(
        stats,
        Reevaluation {
            checked: 1,
            changed: 1
        }
    );
    let (out, _) = install(&mut rib, vrps(BASE));
    assert_eq!(sent(&out, R), (strings(&["8.8.8.0/24"]), vec![]));
}

#[test]
fn verdicts_a_session_made_with_older_data_are_made_again() {
    let mut rib = rib(None);
    install(&mut rib, vrps(BASE));
    let FromSession::Update { id, update: u, .. } = update(N, &["8.8.8.0/24"], "20002 6939", &[])
    else {
        unreachable!()
    };
    // The session still had generation 0 (no data): it found nothing wrong.
    let out = rib.handle(FromSession::Update {
        id,
        update: u,
        verdicts: Some((0, vec![crate::policy::Verdict::default()])),
    });
    assert_eq!(sent(&out, R), (vec![], vec![]));
}

#[test]
fn a_router_route_turning_invalid_is_withdrawn_from_the_neighbor() {
    let mut rib = rib(None);
    install(&mut rib, vrps(BASE));
    let out = rib.handle(update(
        R,
        &["20.1.0.0/24", "20.2.0.0/24"],
        "20001 15169",
        &[],
    ));
    assert_eq!(sent(&out, N).0.len(), 2);
    let mut changed = BASE.to_vec();
    changed[2] = ("20.1.0.0/24", 24, 13335);
    let (out, _) = install(&mut rib, vrps(&changed));
    assert_eq!(sent(&out, N), (vec![], strings(&["20.1.0.0/24"])));
    let (out, _) = install(&mut rib, vrps(BASE));
    assert_eq!(sent(&out, N), (strings(&["20.1.0.0/24"]), vec![]));
}

#[test]
fn pairs_are_independent() {
    // Two neighbors behind one router: a route of one never reaches the other through
    // bgpsieve (transit is the router's decision, on its own sessions).
    let mut a = pair(Role::Customer);
    a.name = "a".into();
    let b = pair(Role::Provider);
    let mut rib = rib_of(vec![a, b]);
    for id in [
        R,
        N,
        SessionId::new(1, Side::Router),
        SessionId::new(1, Side::Neighbor),
    ] {
        up(&mut rib, id);
    }
    let out = rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    assert_eq!(sent(&out, R).0, strings(&["8.8.8.0/24"]));
    for id in [
        SessionId::new(1, Side::Router),
        SessionId::new(1, Side::Neighbor),
    ] {
        assert_eq!(sent(&out, n(id)), (vec![], vec![]));
    }
}

// ---- a seeded random sequence against a reference model ----

/// The routes a side's remote announced, as the model sees them: prefix → AS path.
type Announced = BTreeMap<String, String>;

/// What the model says each side holds: the other side's routes that pass the checks (a
/// small, independent restatement of the policy for the prefixes the sequence uses), while
/// both sessions are up.
fn model_expectation(
    from: &Announced,
    up: bool,
    other_up: bool,
    observe: bool,
    passes: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    if !(up && other_up) {
        return Vec::new();
    }
    from.iter()
        .filter(|(p, path)| observe || passes(p, path))
        .map(|(p, _)| p.clone())
        .collect()
}

#[test]
fn a_seeded_random_sequence_keeps_both_sides_equal_to_the_model() {
    let steps: usize = std::env::var("BGPSIEVE_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    for seed in 1..=4u64 {
        run_model(seed, steps);
    }
}

fn run_model(seed: u64, steps: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    // Neighbor prefixes: valid, invalid under the ROAs, bogon, too long. Router prefixes:
    // announceable (20/8) or not (30/8), valid or invalid.
    let neighbor_prefixes = [
        "8.8.8.0/24",
        "8.8.9.0/24",
        "1.1.1.0/24",
        "10.0.0.0/8",
        "9.9.9.0/25",
        "5.5.5.0/24",
    ];
    let router_prefixes = ["20.1.0.0/24", "20.2.0.0/24", "30.1.0.0/24", "20.3.0.0/24"];
    let neighbor_paths = ["20002 15169", "20002 13335", "20002 6939"];
    let router_paths = ["20001 15169", "20001 20002 15169", "20001"];
    let roa_sets: [&[(&str, u8, u32)]; 2] = [
        BASE,
        &[
            ("8.8.8.0/23", 24, 6939),
            ("1.1.1.0/24", 24, 13335),
            ("20.0.0.0/8", 24, 20001),
        ],
    ];
    let mut rib = rib_of(vec![pair(Role::Peer)]);
    let mut wire = Wire::default();
    let mut roas = 0usize;
    let o = install(&mut rib, vrps(roa_sets[roas])).0;
    wire.apply(&rib, &o);
    let mut announced: PerSide<Announced> = PerSide::default();
    let mut up_now = PerSide::<bool>::default();
    // What a side announced before it went down gracefully and has not sent again: kept,
    // stale, on the other side until its End-of-RIB or its restart time.
    let mut stale: PerSide<Announced> = PerSide::default();
    let mut observe = false;
    for step in 0..steps {
        let id = if rng.below(2) == 0 { N } else { R };
        let out = match rng.below(24) {
            // Sessions come and go; a side that goes down loses what its remote announced.
            0 | 1 => {
                if up_now[id.side] {
                    up_now[id.side] = false;
                    announced[id.side].clear();
                    stale[id.side].clear();
                    wire.reset(id);
                    down(&mut rib, id)
                } else {
                    // Back without graceful restart: its stale routes go at once (RFC 4724 §4.2).
                    up_now[id.side] = true;
                    stale[id.side].clear();
                    up(&mut rib, id)
                }
            }
            // Graceful restart: down keeping the routes, back (with F), End-of-RIB, or the
            // restart time running out.
            20 if up_now[id.side] => {
                up_now[id.side] = false;
                let mut kept = std::mem::take(&mut announced[id.side]);
                kept.append(&mut stale[id.side]);
                stale[id.side] = kept;
                wire.reset(id);
                down_graceful(&mut rib, id, 120, &[Afi::Ipv4, Afi::Ipv6])
            }
            20 => {
                up_now[id.side] = true;
                up_restarted(&mut rib, id, &[Afi::Ipv4, Afi::Ipv6])
            }
            21 if up_now[id.side] => {
                stale[id.side].clear();
                rib.handle(end_of_rib(id, Afi::Ipv4))
            }
            22 => {
                stale = PerSide::default();
                let now = rib.now + 1000;
                tick_at(&mut rib, now)
            }
            2 => {
                // A reload switching observe and enforce.
                observe = !observe;
                let mut policy = rib.pairs[0].policy.clone();
                policy.observe = observe;
                let g = rib.policy_generation + 1;
                rib.reconfigure(Reconfigure {
                    generation: g,
                    local: None,
                    peers: vec![PairReconfig {
                        pair: 0,
                        policy,
                        local_asn: None,
                        next_hop: rib.pairs[0].next_hop,
                        limits_in: None,
                        burst: None,
                        limits_out: None,
                    }],
                })
                .0
            }
            3 => {
                roas = 1 - roas;
                install(&mut rib, vrps(roa_sets[roas])).0
            }
            k if up_now[id.side] => {
                let (prefixes, paths) = match id.side {
                    Side::Neighbor => (&neighbor_prefixes[..], &neighbor_paths[..]),
                    Side::Router => (&router_prefixes[..], &router_paths[..]),
                };
                let p = prefixes[rng.below(prefixes.len() as u64) as usize];
                stale[id.side].remove(p);
                if k % 3 == 0 {
                    announced[id.side].remove(p);
                    rib.handle(update(id, &[], "", &[p]))
                } else {
                    let path = paths[rng.below(paths.len() as u64) as usize];
                    announced[id.side].insert(p.to_string(), path.to_string());
                    rib.handle(update(id, &[p], path, &[]))
                }
            }
            _ => continue,
        };
        wire.apply(&rib, &out);
        // The model: what passes, restated from the checks the prefixes meet.
        let roa = roa_sets[roas];
        let rov_invalid = |p: &str, path: &str| {
            let prefix: ipnet::IpNet = p.parse().unwrap();
            let origin: u32 = path.split(' ').next_back().unwrap().parse().unwrap();
            let covering: Vec<_> = roa
                .iter()
                .filter(|(r, _, _)| r.parse::<ipnet::IpNet>().unwrap().contains(&prefix))
                .collect();
            !covering.is_empty()
                && !covering
                    .iter()
                    .any(|(_, max, asn)| *asn == origin && prefix.prefix_len() <= *max)
        };
        let import_ok = |p: &str, path: &str| {
            !["10.0.0.0/8", "9.9.9.0/25"].contains(&p) && !rov_invalid(p, path)
        };
        let export_ok = |p: &str, path: &str| p.starts_with("20.") && !rov_invalid(p, path);
        // A side's routes reach the other side while it is up, or while they are kept stale.
        let held = |side: Side| {
            let mut all = stale[side].clone();
            all.extend(announced[side].clone());
            all
        };
        let alive = |side: Side| up_now[side] || !stale[side].is_empty();
        let to_router = model_expectation(
            &held(Side::Neighbor),
            up_now.router,
            alive(Side::Neighbor),
            observe,
            import_ok,
        );
        let to_neighbor = model_expectation(
            &held(Side::Router),
            up_now.neighbor,
            alive(Side::Router),
            observe,
            export_ok,
        );
        assert_eq!(
            wire.side(R).prefixes(),
            to_router,
            "seed {seed} step {step}: the router's table"
        );
        assert_eq!(
            wire.side(N).prefixes(),
            to_neighbor,
            "seed {seed} step {step}: the neighbor's table"
        );
    }
}

/// The peer views of `rib` after a forced refresh (the API's `/peers`).
fn views(rib: &mut Rib) -> Vec<super::views::PeerView> {
    if rib.ops.is_none() {
        let metrics =
            crate::metrics::Metrics::new(&[crate::metrics::PeerLabel { name: "n".into() }]);
        rib.ops = Some(Ops::new(
            Arc::new(metrics),
            Arc::new(super::rejected::RejectedStore::new(10)),
            Arc::default(),
            Arc::default(),
            rib.pairs.len(),
        ));
    }
    rib.refresh_ops(true);
    let ops = rib.ops.as_ref().unwrap();
    let peers = ops.peers.lock().unwrap();
    peers.clone()
}

#[test]
fn the_views_show_warn_at_crossed_and_a_cleared_trip_as_ok() {
    use crate::policy::LimitState;
    let mut rib = rib(None);
    rib.pairs[0].flows.inbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(4),
            ipv6: None,
            warn_at: 50,
            count: crate::policy::CountMode::Received,
            action: Action::Teardown,
            restart_after: None,
        }),
        None,
        false,
    );
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    assert_eq!(views(&mut rib)[0].max_prefix.state, LimitState::Ok);
    rib.handle(update(N, &["8.8.4.0/24"], "20002 15169", &[]));
    assert_eq!(
        views(&mut rib)[0].max_prefix.state,
        LimitState::Warned,
        "2 of 4 is warn_at 50 %"
    );
    let out = rib.handle(update(
        N,
        &["9.9.9.0/24", "9.9.8.0/24", "9.9.7.0/24"],
        "20002 15169",
        &[],
    ));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Stop { to, .. } if *to == N)));
    down(&mut rib, N);
    assert_eq!(views(&mut rib)[0].max_prefix.state, LimitState::Down);
    let (result, _) = rib.clear("n");
    assert!(result.is_ok(), "{result:?}");
    let v = views(&mut rib);
    assert_eq!(
        v[0].max_prefix.state,
        LimitState::Ok,
        "cleared, not tripped"
    );
    assert!(
        v[0].max_prefix.last_trip.is_some(),
        "the last trip stays on record"
    );
}

#[test]
fn a_reload_that_changes_the_asn_and_role_shows_and_uses_the_new_ones() {
    let mut rib = rib(None);
    assert_eq!(views(&mut rib)[0].asn, Asn(NEIGHBOR));
    let mut policy = rib.pairs[0].policy.clone();
    policy.asn = Asn(20003);
    policy.role = Role::Peer;
    let next_hop = rib.pairs[0].next_hop;
    rib.reconfigure(Reconfigure {
        generation: rib.policy_generation + 1,
        local: None,
        peers: vec![PairReconfig {
            pair: 0,
            policy,
            local_asn: Some(Asn(20009)),
            next_hop,
            limits_in: None,
            burst: None,
            limits_out: None,
        }],
    });
    let v = views(&mut rib);
    assert_eq!((v[0].asn, v[0].role), (Asn(20003), Role::Peer));
    let p = &rib.pairs[0];
    assert_eq!(
        (p.asn, p.role, p.local_asn),
        (Asn(20003), Role::Peer, Asn(20009))
    );
}

// ---- graceful restart (RFC 4724) ----

fn down_graceful(rib: &mut Rib, id: SessionId, seconds: u64, families: &[Afi]) -> Vec<Output> {
    rib.handle(FromSession::Down {
        id,
        reason: DownReason::ConnectionLost,
        retained: Some(crate::bgp::graceful::Retained {
            restart_time: std::time::Duration::from_secs(seconds),
            families: families.to_vec(),
        }),
    })
}

/// The session of `id` comes back, its graceful restart capability listing `forwarding` with F.
fn up_restarted(rib: &mut Rib, id: SessionId, forwarding: &[Afi]) -> Vec<Output> {
    use crate::bgp::capability::{Family, GrFamily, GracefulRestart};
    let asn = match id.side {
        Side::Neighbor => NEIGHBOR,
        Side::Router => LOCAL,
    };
    let mut neg = negotiated(asn);
    neg.graceful_restart = Some(crate::bgp::graceful::GrSession {
        peer: GracefulRestart {
            restarting: true,
            notification: false,
            restart_time: 120,
            families: forwarding
                .iter()
                .map(|a| GrFamily {
                    family: Family::unicast(*a),
                    forwarding: true,
                })
                .collect(),
        },
        notification: false,
    });
    let generation = rib.pairs[id.pair].generation[id.side] + 1;
    rib.handle(FromSession::Up {
        id,
        generation,
        negotiated: Box::new(neg),
    })
}

fn tick_at(rib: &mut Rib, now: u64) -> Vec<Output> {
    rib.now = now;
    rib.handle_event(RibEvent::Tick)
}

/// The End-of-RIB families sent to `to`.
fn eors(out: &[Output], to: SessionId) -> Vec<Afi> {
    out.iter()
        .filter_map(|o| match o {
            Output::Routes { to: t, out } if *t == to => Some(out.end_of_rib.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn a_neighbor_restarting_gracefully_keeps_its_routes_at_the_router_until_its_end_of_rib() {
    let mut rib = rib(None);
    rib.handle(update(
        N,
        &["8.8.8.0/24", "8.8.4.0/24", "1.1.1.0/24"],
        "20002 15169",
        &[],
    ));
    let out = down_graceful(&mut rib, N, 120, &[Afi::Ipv4, Afi::Ipv6]);
    assert_eq!(sent(&out, R), (vec![], vec![]), "nothing is withdrawn");
    // Back within its restart time, it sends two of the three again, then End-of-RIB.
    let out = up_restarted(&mut rib, N, &[Afi::Ipv4, Afi::Ipv6]);
    assert_eq!(sent(&out, R), (vec![], vec![]));
    let out = rib.handle(update(N, &["8.8.8.0/24", "8.8.4.0/24"], "20002 15169", &[]));
    assert_eq!(
        sent(&out, R).1,
        Vec::<String>::new(),
        "nothing is withdrawn"
    );
    let out = rib.handle(end_of_rib(N, Afi::Ipv4));
    assert_eq!(sent(&out, R), (vec![], strings(&["1.1.1.0/24"])));
    assert_eq!(
        eors(&out, R),
        vec![Afi::Ipv4],
        "End-of-RIB relayed after the stale routes"
    );
    assert!(rib.pairs[0].flows.inbound.stale.is_none());
}

#[test]
fn stale_routes_go_when_the_restart_time_runs_out() {
    let mut rib = rib(None);
    rib.now = 10;
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    down_graceful(&mut rib, N, 120, &[Afi::Ipv4]);
    assert_eq!(sent(&tick_at(&mut rib, 129), R), (vec![], vec![]));
    let out = tick_at(&mut rib, 130);
    assert_eq!(sent(&out, R), (vec![], strings(&["8.8.8.0/24"])));
    assert!(rib.pairs[0].flows.inbound.table.is_empty());
}

#[test]
fn stale_routes_go_when_the_stale_time_runs_out_after_the_peer_is_back() {
    let mut rib = rib(None);
    rib.stale_time = 30;
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    down_graceful(&mut rib, N, 120, &[Afi::Ipv4]);
    rib.now = 100;
    up_restarted(&mut rib, N, &[Afi::Ipv4]);
    // The restart time no longer counts once it is back: the stale time does.
    assert_eq!(sent(&tick_at(&mut rib, 129), R), (vec![], vec![]));
    assert_eq!(
        sent(&tick_at(&mut rib, 130), R),
        (vec![], strings(&["8.8.8.0/24"]))
    );
}

#[test]
fn families_without_forwarding_state_or_not_retained_lose_their_stale_routes_at_once() {
    let mut rib = rib(None);
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    rib.handle(FromSession::Update {
        id: N,
        update: DecodedUpdate {
            announced: nlri(&["2001:4860::/32"]),
            attrs: Some(attrs("20002 15169", |a| {
                a.next_hop = Some("2001:db8::21".parse().unwrap())
            })),
            ..DecodedUpdate::default()
        },
        verdicts: None,
    });
    // Only IPv4 was retained: the IPv6 route goes now.
    let out = down_graceful(&mut rib, N, 120, &[Afi::Ipv4]);
    assert_eq!(sent(&out, R), (vec![], strings(&["2001:4860::/32"])));
    // Back without F for IPv4 (RFC 4724 §4.2): its stale routes go too.
    let out = up_restarted(&mut rib, N, &[Afi::Ipv6]);
    assert_eq!(sent(&out, R), (vec![], strings(&["8.8.8.0/24"])));
}

#[test]
fn a_router_restarting_gracefully_keeps_its_routes_at_the_neighbor() {
    let mut rib = rib(None);
    rib.handle(update(R, &["20.1.0.0/24", "20.2.0.0/24"], "20001", &[]));
    let out = down_graceful(&mut rib, R, 90, &[Afi::Ipv4]);
    assert_eq!(sent(&out, N), (vec![], vec![]));
    up_restarted(&mut rib, R, &[Afi::Ipv4, Afi::Ipv6]);
    rib.handle(update(R, &["20.1.0.0/24"], "20001", &[]));
    let out = rib.handle(end_of_rib(R, Afi::Ipv4));
    assert_eq!(sent(&out, N), (vec![], strings(&["20.2.0.0/24"])));
}

#[test]
fn a_neighbor_that_goes_down_for_good_after_a_graceful_restart_loses_everything() {
    let mut rib = rib(None);
    rib.handle(update(N, &["8.8.8.0/24", "1.1.1.0/24"], "20002 15169", &[]));
    down_graceful(&mut rib, N, 120, &[Afi::Ipv4]);
    up_restarted(&mut rib, N, &[Afi::Ipv4]);
    rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    let out = down(&mut rib, N);
    let (_, mut w) = sent(&out, R);
    w.sort();
    assert_eq!(w, strings(&["1.1.1.0/24", "8.8.8.0/24"]));
    assert!(rib.pairs[0].flows.inbound.stale.is_none());
    assert!(rib.pairs[0].flows.inbound.table.is_empty());
}

#[test]
fn end_of_rib_reaches_a_side_only_after_the_other_sides_end_of_rib() {
    // bgpsieve has just started: the router side comes up before the neighbor has sent its
    // table. The router (helping with bgpsieve's restart) must not get End-of-RIB, which would
    // make it drop the routes it kept, until the neighbor's table has passed.
    let mut rib = rib_of(vec![pair(Role::Customer)]);
    let out = up(&mut rib, N);
    assert_eq!(eors(&out, N), vec![], "the router side is not up yet");
    let out = up(&mut rib, R);
    assert_eq!(eors(&out, R), vec![]);
    let out = rib.handle(update(N, &["8.8.8.0/24"], "20002 15169", &[]));
    assert_eq!(eors(&out, R), vec![]);
    let out = rib.handle(end_of_rib(N, Afi::Ipv4));
    assert_eq!(eors(&out, R), vec![Afi::Ipv4]);
    let out = rib.handle(end_of_rib(N, Afi::Ipv6));
    assert_eq!(eors(&out, R), vec![Afi::Ipv6]);
    // And the neighbor gets the router's once the router has sent it.
    let out = rib.handle(end_of_rib(R, Afi::Ipv6));
    assert_eq!(eors(&out, N), vec![Afi::Ipv6]);
    // A side that never sends one (the router, for IPv4 here): the other side gets its
    // End-of-RIB after the stale time.
    rib.stale_time = 5;
    rib.now = 100;
    let out = up(&mut rib, N);
    assert_eq!(eors(&out, N), vec![Afi::Ipv6]);
    assert_eq!(eors(&tick_at(&mut rib, 104), N), vec![]);
    assert_eq!(eors(&tick_at(&mut rib, 105), N), vec![Afi::Ipv4]);
}

#[test]
fn an_incident_under_warn_says_its_routes_reached_the_router() {
    let mut rib = rib(None);
    rib.pairs[0].flows.inbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(3),
            ipv6: None,
            warn_at: 90,
            count: crate::policy::CountMode::Received,
            action: Action::Warn,
            restart_after: None,
        }),
        None,
        false,
    );
    let leak = ["20.1.0.0/24", "20.1.1.0/24", "20.1.2.0/24", "20.1.3.0/24"];
    let out = rib.handle(update(N, &leak, "20002", &[]));
    assert_eq!(sent(&out, R).0.len(), 4, "warn: every route passes");
    let changes = rib.incidents.take_changes();
    assert_eq!(changes.reports.len(), 1);
    let i = &changes.reports[0].incident;
    assert_eq!((i.kind.as_str(), i.action.as_str()), ("max-prefix", "warn"));
    assert_eq!(i.router_asn, LOCAL);
    assert_eq!(i.impact.reached_router_before_trip, 4);
    assert_eq!(i.impact.space.ipv4_slash24, 4);
    // While it is open, more of the neighbor's routes reach the router, one is rejected.
    rib.handle(update(N, &["20.1.4.0/24"], "20002", &[]));
    rib.handle(update(N, &["20.1.5.0/24"], "20002 0", &[]));
    rib.incidents.tick(i.start + 60);
    let i = &rib.incidents.list()[0];
    assert_eq!(i.state, "resolved");
    assert_eq!(i.impact.announcements, 6);
    assert_eq!(i.impact.reached_router, 5);
    assert_eq!(i.impact.routes_rejected, 1);
    assert_eq!(i.impact.reached_router_before_trip, 4);
}

#[test]
fn ctl_clear_and_the_session_s_return_are_follow_ups_of_the_incident() {
    let mut rib = rib(None);
    rib.pairs[0].flows.inbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(1),
            ipv6: None,
            warn_at: 90,
            count: crate::policy::CountMode::Received,
            action: Action::Teardown,
            restart_after: None,
        }),
        None,
        false,
    );
    rib.handle(update(N, &["20.1.0.0/24", "20.1.1.0/24"], "20002", &[]));
    down(&mut rib, N);
    let (cleared, _) = rib.clear("n");
    assert!(cleared.is_ok(), "{cleared:?}");
    up(&mut rib, N);
    let i = &rib.incidents.list()[0];
    let kinds: Vec<&str> = i.follow_ups.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["cleared", "session-up", "resolved"]);
    let reports = rib.incidents.take_changes().reports;
    assert_eq!(reports.len(), 4, "the first report and three follow-ups");
}

#[test]
fn routes_kept_through_a_graceful_restart_still_count_toward_max_prefix() {
    let mut rib = rib(None);
    rib.pairs[0].flows.inbound.table.set_limits(
        Some(crate::policy::Limits {
            ipv4: Some(3),
            ipv6: None,
            warn_at: 100,
            count: crate::policy::CountMode::Received,
            action: Action::DropExcess,
            restart_after: None,
        }),
        None,
        false,
    );
    rib.handle(update(
        N,
        &["8.8.8.0/24", "8.8.4.0/24", "1.1.1.0/24"],
        "20002 15169",
        &[],
    ));
    down_graceful(&mut rib, N, 120, &[Afi::Ipv4]);
    up_restarted(&mut rib, N, &[Afi::Ipv4]);
    // Three routes are held (stale): a fourth is over the limit of 3.
    let out = rib.handle(update(N, &["9.9.9.0/24"], "20002 15169", &[]));
    assert_eq!(sent(&out, R), (vec![], vec![]), "the fourth is dropped");
}

// ---- operator control: ctl neighbor NAME down|up|refresh ----

/// The sessions asked for a ROUTE-REFRESH in `out`, with their families.
fn refreshes(out: &[Output]) -> Vec<(SessionId, Vec<Afi>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::RouteRefresh { to, afis } => Some((*to, afis.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn down_takes_the_neighbor_side_down_with_the_message_until_up() {
    let mut rib = rib(None);
    let order = |message: &str| NeighborOrder::Down {
        message: message.into(),
    };
    let (answer, out) = rib.neighbor("n", order("maintenance"), 1_000);
    let answer = answer.unwrap();
    assert!(answer.contains("administratively down"), "{answer}");
    assert!(answer.contains("\"maintenance\""), "{answer}");
    assert!(
        matches!(&out[..], [Output::AdminDown { to, message }] if *to == N && message == "maintenance"),
        "{out:?}"
    );
    assert_eq!(
        rib.pairs[0].shutdown,
        Some(Shutdown {
            message: "maintenance".into(),
            since: 1_000,
            configured: false
        })
    );
    // The same order again changes nothing; another message is what refused connections get.
    let (answer, out) = rib.neighbor("n", order("maintenance"), 1_001);
    assert!(answer.unwrap().contains("already"));
    assert!(out.is_empty());
    let (_, out) = rib.neighbor("n", order("fibre cut"), 1_002);
    assert!(matches!(&out[..], [Output::AdminDown { message, .. }] if message == "fibre cut"));
    assert_eq!(rib.pairs[0].shutdown.as_ref().unwrap().since, 1_000);
    // Neither a clear nor a refresh applies while it is down.
    let (cleared, out) = rib.clear("n");
    assert!(cleared.unwrap_err().contains("administratively down"));
    assert!(out.is_empty());
    let (refreshed, _) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::Both), 1_003);
    assert!(matches!(refreshed, Err(NeighborError::Conflict(_))));
    // The session goes down (it reports it); the views show why.
    down(&mut rib, N);
    let v = &views(&mut rib)[0];
    assert_eq!(v.state, super::views::SessionState::Stopped);
    let shown = v.shutdown.as_ref().unwrap();
    assert_eq!(
        (shown.message.as_str(), shown.since, shown.configured),
        ("fibre cut", 1_000, false)
    );
    // Up starts it again; up again says there is nothing to do.
    let (answer, out) = rib.neighbor("n", NeighborOrder::Up, 1_004);
    assert!(answer.unwrap().contains("starts again"));
    assert!(
        matches!(&out[..], [Output::AdminUp { to }] if *to == N),
        "{out:?}"
    );
    assert_eq!(rib.pairs[0].shutdown, None);
    let (answer, out) = rib.neighbor("n", NeighborOrder::Up, 1_005);
    assert!(answer.unwrap().contains("not administratively down"));
    assert!(out.is_empty());
    assert!(views(&mut rib)[0].shutdown.is_none());
}

#[test]
fn an_order_for_an_unknown_peer_is_not_found() {
    let mut rib = rib(None);
    for order in [
        NeighborOrder::Up,
        NeighborOrder::Down {
            message: String::new(),
        },
        NeighborOrder::Refresh(Refresh::In),
    ] {
        let (answer, out) = rib.neighbor("nobody", order, 0);
        assert_eq!(answer, Err(NeighborError::NotFound("nobody".into())));
        assert_eq!(answer.unwrap_err().to_string(), "no peer named \"nobody\"");
        assert!(out.is_empty());
    }
}

#[test]
fn the_shutdown_key_takes_the_pair_down_and_its_removal_brings_it_up() {
    let mut rib = rib(None);
    let configured = |m: Option<&str>| NeighborOrder::Configured {
        shutdown: m.map(str::to_string),
    };
    let (answer, out) = rib.neighbor("n", configured(Some("")), 10);
    assert!(answer.unwrap().contains("a reload that clears `shutdown`"));
    assert!(matches!(&out[..], [Output::AdminDown { message, .. }] if message.is_empty()));
    assert!(rib.pairs[0].shutdown.as_ref().unwrap().configured);
    // An operator's up holds until a restart; the answer says so.
    let (answer, out) = rib.neighbor("n", NeighborOrder::Up, 11);
    assert!(answer
        .unwrap()
        .contains("down again when bgpsieve restarts"));
    assert_eq!(out.len(), 1);
    // Taken down again by the operator, the key's removal brings it up.
    let _ = rib.neighbor(
        "n",
        NeighborOrder::Down {
            message: "x".into(),
        },
        12,
    );
    let (_, out) = rib.neighbor("n", configured(None), 13);
    assert!(matches!(&out[..], [Output::AdminUp { .. }]), "{out:?}");
    assert_eq!(rib.pairs[0].shutdown_configured, None);
    // Removing it from a pair that is up does nothing.
    let (answer, out) = rib.neighbor("n", configured(None), 14);
    assert!(answer.unwrap().contains("not administratively down"));
    assert!(out.is_empty());
}

#[test]
fn refresh_in_checks_the_stored_routes_again_and_asks_the_neighbor() {
    let mut rib = rib(None);
    let mut wire = Wire::default();
    let out = rib.handle(update(N, &["8.8.8.0/24", "9.9.9.0/25"], "20002 15169", &[]));
    wire.apply(&rib, &out);
    assert_eq!(wire.side(R).prefixes(), strings(&["8.8.8.0/24"]));
    // A policy the stored routes were not checked with yet: /25 allowed (only the /25
    // changes).
    rib.pairs[0].policy.prefix_len_v4 = (8, 25);
    let (answer, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::In), 0);
    let answer = answer.unwrap();
    wire.apply(&rib, &out);
    assert_eq!(
        wire.side(R).prefixes(),
        strings(&["8.8.8.0/24", "9.9.9.0/25"]),
        "the router gets what now passes"
    );
    assert_eq!(
        sent(&out, N),
        (vec![], vec![]),
        "nothing goes to the neighbor"
    );
    assert_eq!(refreshes(&out), vec![(N, vec![Afi::Ipv4, Afi::Ipv6])]);
    assert!(
        answer.contains("2 stored routes from the neighbor checked again, 1 changed"),
        "{answer}"
    );
    assert!(
        answer.contains("ROUTE-REFRESH sent to the neighbor (ipv4, ipv6)"),
        "{answer}"
    );
    // Without route refresh negotiated, only the re-check.
    rib.pairs[0]
        .sessions
        .neighbor
        .as_mut()
        .unwrap()
        .route_refresh = false;
    let (answer, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::In), 0);
    assert!(refreshes(&out).is_empty());
    assert!(answer.unwrap().contains("did not negotiate route refresh"));
}

#[test]
fn refresh_out_sends_the_neighbor_its_table_again_and_asks_the_router() {
    let mut rib = rib(None);
    let out = rib.handle(update(R, &["20.1.0.0/24", "20.2.0.0/24"], "20001", &[]));
    assert_eq!(sent(&out, N).0.len(), 2);
    let (answer, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::Out), 0);
    let answer = answer.unwrap();
    let (mut again, withdrawn) = sent(&out, N);
    again.sort();
    assert_eq!(again, strings(&["20.1.0.0/24", "20.2.0.0/24"]));
    assert!(withdrawn.is_empty());
    assert_eq!(sent(&out, R), (vec![], vec![]), "the router gets nothing");
    assert_eq!(refreshes(&out), vec![(R, vec![Afi::Ipv4, Afi::Ipv6])]);
    assert!(
        answer.contains("the neighbor is sent its 2 routes again"),
        "{answer}"
    );
    assert!(
        answer.contains("ROUTE-REFRESH sent to the router"),
        "{answer}"
    );
    // A route the export policy no longer allows is withdrawn first.
    let mut local = rib.local.clone();
    let mut announce = crate::irr::PrefixList::new();
    announce.insert("20.1.0.0/16".parse().unwrap(), 16, 24, None);
    local.announce = Arc::new(announce);
    rib.local = local;
    rib.pairs[0].role = Role::Provider;
    rib.pairs[0].policy.role = Role::Provider;
    let (_, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::Out), 0);
    let (again, withdrawn) = sent(&out, N);
    assert_eq!(withdrawn, strings(&["20.2.0.0/24"]));
    assert_eq!(again, strings(&["20.1.0.0/24"]));
    // Both directions without a direction; nothing while the neighbor is down.
    let (_, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::Both), 0);
    assert_eq!(refreshes(&out).len(), 2);
    down(&mut rib, N);
    let (answer, out) = rib.neighbor("n", NeighborOrder::Refresh(Refresh::Out), 0);
    assert!(matches!(answer, Err(NeighborError::Conflict(m)) if m.contains("not established")));
    assert!(out.is_empty());
}

/// Route views (`ctl routes`, `ctl route`): the RIB's bounded queries.
mod route_views {
    use super::*;
    use crate::rib::routes::{
        FlowCounts, Found, PeerQuery, PrefixQuery, QueryError, RouteMatch, RouteQuery, Status, View,
    };

    fn peer_query(rib: &Rib, peer: &str, view: View, status: Option<Status>) -> Found {
        let q = PeerQuery {
            peer: peer.into(),
            view,
            status,
            afi: None,
            limit: 1000,
        };
        rib.query_routes(&RouteQuery::Peer(q)).unwrap()
    }

    fn prefix_query(rib: &Rib, prefix: &str, how: RouteMatch, limit: usize) -> Found {
        let q = PrefixQuery {
            prefix: prefix.parse().unwrap(),
            how,
            limit,
        };
        rib.query_routes(&RouteQuery::Prefix(q)).unwrap()
    }

    /// (prefix, verdict codes, passed) of each row, in order.
    fn rows(f: &Found) -> Vec<(String, String, bool)> {
        f.rows
            .iter()
            .map(|r| {
                let codes: Vec<&str> = r.verdict.reasons().map(|x| x.code()).collect();
                (r.nlri.prefix.to_string(), codes.join(","), r.passed)
            })
            .collect()
    }

    fn row(prefix: &str, reasons: &str, passed: bool) -> (String, String, bool) {
        (prefix.to_string(), reasons.to_string(), passed)
    }

    /// `bgpsieve_routes_current{peer="n",direction=D,afi="ipv4"}` as `/metrics` shows it.
    fn routes_current(rib: &mut Rib, direction: &str) -> u64 {
        views(rib);
        let text = rib.ops.as_ref().unwrap().metrics.render();
        let key = format!(
            "bgpsieve_routes_current{{afi=\"ipv4\",direction=\"{direction}\",peer=\"n\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} not in\n{text}"))
    }

    /// A customer pair with both sides up: the neighbor sent one acceptable route and two bad
    /// ones, the router one it may export and one it may not.
    fn loaded(observe: bool) -> Rib {
        let mut rib = rib(None);
        rib.pairs[0].policy.observe = observe;
        rib.handle(update(
            N,
            &["8.8.8.0/24", "10.0.0.0/24", "9.9.9.0/25"],
            "20002 15169",
            &[],
        ));
        let a = attrs("20001 15169", |a| {
            a.next_hop = Some("10.0.0.1".parse().unwrap());
            a.med = Some(7);
        });
        rib.handle(update_with(R, &["20.1.0.0/24", "10.1.0.0/24"], a, &[]));
        rib
    }

    #[test]
    fn the_four_views_show_what_each_side_sent_and_was_sent() {
        let mut rib = loaded(false);
        let inbound = peer_query(&rib, "n", View::In, None);
        assert_eq!(
            rows(&inbound),
            [
                row("8.8.8.0/24", "", true),
                row("9.9.9.0/25", "prefix-length", false),
                row("10.0.0.0/24", "bogon-prefix", false),
            ],
            "pre-policy, in prefix order, every route with its verdict"
        );
        let four = |held, accepted, passed| FlowCounts {
            held,
            accepted,
            rejected: held - accepted,
            passed,
        };
        assert_eq!(inbound.counts.unwrap().ipv4, four(3, 1, 1));
        assert_eq!(inbound.counts.unwrap().ipv6, FlowCounts::default());
        let rejected = peer_query(&rib, "n", View::In, Some(Status::Rejected));
        assert_eq!(rejected.rows.len(), 2);
        assert_eq!(rejected.matched, 2);
        assert_eq!(rejected.counts, inbound.counts, "counts are unfiltered");
        let accepted = peer_query(&rib, "n", View::In, Some(Status::Accepted));
        assert_eq!(rows(&accepted), [row("8.8.8.0/24", "", true)]);
        let v6 = PeerQuery {
            peer: "n".into(),
            view: View::In,
            status: None,
            afi: Some(Afi::Ipv6),
            limit: 10,
        };
        assert_eq!(rib.query_routes(&RouteQuery::Peer(v6)).unwrap().matched, 0);

        // What the router was sent: the accepted route, with the neighbor's attributes.
        let to_router = peer_query(&rib, "n", View::ToRouter, None);
        assert_eq!(rows(&to_router), [row("8.8.8.0/24", "", true)]);
        let a = &to_router.rows[0].attrs.attrs;
        assert_eq!(a.next_hop, Some("192.0.2.21".parse().unwrap()));
        assert_eq!(a.as_path.to_string(), "20002 15169");

        // What the router sent, with the export verdicts, and what the neighbor got of it.
        let from_router = peer_query(&rib, "n", View::FromRouter, None);
        assert_eq!(
            rows(&from_router),
            [
                row("10.1.0.0/24", "export-bogon", false),
                row("20.1.0.0/24", "", true),
            ]
        );
        assert_eq!(
            from_router.rows[1].attrs.attrs.next_hop,
            Some("10.0.0.1".parse().unwrap()),
            "as the router sent it"
        );
        let out = peer_query(&rib, "n", View::Out, None);
        assert_eq!(rows(&out), [row("20.1.0.0/24", "", true)]);
        let a = &out.rows[0].attrs.attrs;
        assert_eq!(a.next_hop, Some("198.51.100.3".parse().unwrap()));
        assert_eq!(a.otc, Some(Asn(LOCAL)), "OTC on egress to a customer");
        assert_eq!(a.med, Some(7));

        // The counts are the metric's and the peer view's.
        let in_counts = inbound.counts.unwrap().ipv4;
        let out_counts = out.counts.unwrap().ipv4;
        assert_eq!(routes_current(&mut rib, "in"), in_counts.accepted);
        assert_eq!(routes_current(&mut rib, "out"), out_counts.passed);
        let v = &views(&mut rib)[0];
        assert_eq!(v.routes_in.ipv4, in_counts.held);
        assert_eq!(v.accepted_in.ipv4, in_counts.accepted);
        assert_eq!(v.routes_out.ipv4, out_counts.passed);
        assert_eq!(v.router.routes_in.ipv4, out_counts.held);
        assert_eq!(v.router.routes_out.ipv4, in_counts.passed);

        let q = RouteQuery::Peer(PeerQuery {
            peer: "nobody".into(),
            view: View::In,
            status: None,
            afi: None,
            limit: 10,
        });
        assert_eq!(
            rib.query_routes(&q).unwrap_err(),
            QueryError::NoPeer("nobody".into())
        );
    }

    #[test]
    fn in_observe_mode_rejected_routes_are_passed_on_tagged() {
        let mut rib = loaded(true);
        let inbound = peer_query(&rib, "n", View::In, None);
        assert_eq!(
            rows(&inbound),
            [
                row("8.8.8.0/24", "", true),
                row("9.9.9.0/25", "prefix-length", true),
                row("10.0.0.0/24", "bogon-prefix", true),
            ]
        );
        let c = inbound.counts.unwrap().ipv4;
        assert_eq!((c.held, c.accepted, c.rejected, c.passed), (3, 1, 2, 3));
        assert_eq!(
            routes_current(&mut rib, "in"),
            1,
            "the metric counts accepted routes, observe or not"
        );
        let to_router = peer_query(&rib, "n", View::ToRouter, None);
        assert_eq!(to_router.rows.len(), 3);
        let tag = |n: usize| {
            let lc = &to_router.rows[n].attrs.attrs.large_communities;
            lc.iter()
                .filter(|c| c[0] == LOCAL && c[1] == community::REJECT_REASON)
                .map(|c| c[2])
                .collect::<Vec<_>>()
        };
        assert_eq!(tag(0), Vec::<u32>::new());
        assert_eq!(tag(1), [u32::from(Reason::PrefixLength.number())]);
        assert_eq!(tag(2), [u32::from(Reason::BogonPrefix.number())]);
        // The router side going down: nothing is passed to it any more.
        down(&mut rib, R);
        let inbound = peer_query(&rib, "n", View::In, None);
        assert!(inbound.rows.iter().all(|r| !r.passed));
        assert_eq!(inbound.counts.unwrap().ipv4.passed, 0);
        assert!(peer_query(&rib, "n", View::ToRouter, None).rows.is_empty());
    }

    /// Two pairs, `n` and `m`, with overlapping routes from their neighbors, and a route from
    /// `n`'s router.
    fn two_pairs() -> Rib {
        let mut m = pair(Role::Customer);
        m.name = "m".into();
        let mut rib = rib_of(vec![pair(Role::Customer), m]);
        let n1 = SessionId::new(1, Side::Neighbor);
        for id in [R, N, SessionId::new(1, Side::Router), n1] {
            up(&mut rib, id);
        }
        rib.handle(update(N, &["8.8.0.0/16", "8.8.8.0/24"], "20002 15169", &[]));
        rib.handle(update(
            n1,
            &["8.8.8.0/24", "8.8.8.128/25", "10.8.0.0/24"],
            "20002 15169",
            &[],
        ));
        let a6 = attrs("20002", |a| {
            a.next_hop = Some("2001:db8:ff::1".parse().unwrap())
        });
        rib.handle(update_with(
            n1,
            &["2001:db8::/32", "2001:db8:1::/48"],
            a6,
            &[],
        ));
        rib.handle(update(R, &["20.1.0.0/24"], "20001", &[]));
        rib
    }

    /// (prefix, peer, view) of each row.
    fn who(f: &Found) -> Vec<(String, String, View)> {
        f.rows
            .iter()
            .map(|r| (r.nlri.prefix.to_string(), r.peer.clone(), r.view))
            .collect()
    }

    fn at(prefix: &str, peer: &str, view: View) -> (String, String, View) {
        (prefix.into(), peer.into(), view)
    }

    #[test]
    fn a_prefix_is_found_exactly_by_longest_match_and_with_its_more_specifics() {
        let rib = two_pairs();
        let exact = prefix_query(&rib, "8.8.8.0/24", RouteMatch::Exact, 100);
        assert_eq!(
            who(&exact),
            [
                at("8.8.8.0/24", "n", View::In),
                at("8.8.8.0/24", "m", View::In)
            ]
        );
        assert!(exact.rows.iter().all(|r| r.verdict.accepted() && r.passed));
        assert!(prefix_query(&rib, "8.8.8.0/23", RouteMatch::Exact, 100)
            .rows
            .is_empty());

        let longest = |p: &str| {
            let f = prefix_query(&rib, p, RouteMatch::Longest, 100);
            (f.matched_prefix.map(|p| p.to_string()), who(&f))
        };
        assert_eq!(
            longest("8.8.8.1/32"),
            (
                Some("8.8.8.0/24".into()),
                vec![
                    at("8.8.8.0/24", "n", View::In),
                    at("8.8.8.0/24", "m", View::In)
                ]
            )
        );
        assert_eq!(
            longest("8.8.8.200/32"),
            (
                Some("8.8.8.128/25".into()),
                vec![at("8.8.8.128/25", "m", View::In)]
            )
        );
        assert_eq!(
            longest("8.8.9.0/24"),
            (
                Some("8.8.0.0/16".into()),
                vec![at("8.8.0.0/16", "n", View::In)]
            )
        );
        assert_eq!(
            longest("20.1.0.7/32"),
            (
                Some("20.1.0.0/24".into()),
                vec![at("20.1.0.0/24", "n", View::FromRouter)]
            ),
            "the router's routes too"
        );
        assert_eq!(
            longest("2001:db8:1:2::1/128"),
            (
                Some("2001:db8:1::/48".into()),
                vec![at("2001:db8:1::/48", "m", View::In)]
            )
        );
        assert_eq!(longest("9.9.9.9/32"), (None, vec![]));

        let longer = prefix_query(&rib, "8.8.0.0/16", RouteMatch::Longer, 100);
        assert_eq!(
            who(&longer),
            [
                at("8.8.0.0/16", "n", View::In),
                at("8.8.8.0/24", "n", View::In),
                at("8.8.8.0/24", "m", View::In),
                at("8.8.8.128/25", "m", View::In),
            ]
        );
        assert_eq!(longer.matched, 4);
        let v6 = prefix_query(&rib, "2001::/16", RouteMatch::Longer, 100);
        assert_eq!(
            who(&v6),
            [
                at("2001:db8::/32", "m", View::In),
                at("2001:db8:1::/48", "m", View::In)
            ]
        );

        // Cut at the limit: the first in prefix order, and how many matched.
        let cut = prefix_query(&rib, "8.0.0.0/7", RouteMatch::Longer, 2);
        assert_eq!(cut.matched, 4);
        assert_eq!(
            who(&cut),
            [
                at("8.8.0.0/16", "n", View::In),
                at("8.8.8.0/24", "n", View::In)
            ]
        );
    }

    #[test]
    fn a_large_view_is_cut_at_the_limit_in_prefix_order_with_its_full_counts() {
        let mut rib = rib(None);
        let v4: Vec<String> = (0..300)
            .map(|i| format!("8.{}.{}.0/24", i / 256, i % 256))
            .collect();
        let v4: Vec<&str> = v4.iter().map(String::as_str).collect();
        rib.handle(update(N, &v4, "20002 15169", &[]));
        // IPv6 routes are held in a hash map: the cut must still take the first in order.
        let v6: Vec<String> = (0..50)
            .rev()
            .map(|i| format!("2001:db8:{i:x}::/48"))
            .collect();
        let v6: Vec<&str> = v6.iter().map(String::as_str).collect();
        let a6 = attrs("20002", |a| {
            a.next_hop = Some("2001:db8:ff::1".parse().unwrap())
        });
        rib.handle(update_with(N, &v6, a6, &[]));
        let q = |afi, limit| PeerQuery {
            peer: "n".into(),
            view: View::In,
            status: None,
            afi,
            limit,
        };
        let f = rib.query_routes(&RouteQuery::Peer(q(None, 10))).unwrap();
        assert_eq!(f.matched, 350);
        assert_eq!(f.rows.len(), 10);
        let c = f.counts.unwrap();
        assert_eq!((c.ipv4.held, c.ipv6.held), (300, 50), "over the whole flow");
        assert_eq!(f.rows[0].nlri.prefix.to_string(), "8.0.0.0/24");
        assert_eq!(f.rows[9].nlri.prefix.to_string(), "8.0.9.0/24");
        let f = rib
            .query_routes(&RouteQuery::Peer(q(Some(Afi::Ipv6), 3)))
            .unwrap();
        assert_eq!(f.matched, 50);
        let got: Vec<String> = f.rows.iter().map(|r| r.nlri.prefix.to_string()).collect();
        assert_eq!(got, ["2001:db8::/48", "2001:db8:1::/48", "2001:db8:2::/48"]);
    }
}
