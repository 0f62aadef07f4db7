//! The blackhole rules with real prefix lists and VRPs, through the whole import and export
//! evaluation (the checks read the state `classify` gives).

use super::*;
use crate::irr::PrefixList;
use crate::policy::testutil::*;
use crate::policy::{evaluate_batch, evaluate_export, evaluate_import, Reason, Verdict};
use crate::rpki::{RovState, Vrp};
use std::sync::Arc;

/// 39000:100 and BLACKHOLE, as a customer's RTBH announcement carries them.
fn tagged(prefix: &str, path: &str) -> Route {
    route_with(prefix, path, |a| {
        a.communities = vec![(39000 << 16) | 100, BLACKHOLE]
    })
}

/// The customer AS64501's IRR list (bgpq4 style: /24 exactly, and a /22 up to /24) and an
/// RPSL route6 object with its origin.
fn irr() -> Arc<PrefixList> {
    let mut l = PrefixList::new();
    l.insert("145.0.10.0/24".parse().unwrap(), 24, 24, None);
    l.insert("185.40.0.0/22".parse().unwrap(), 22, 24, None);
    l.insert("2a0b:100::/40".parse().unwrap(), 40, 48, Some(Asn(20001)));
    Arc::new(l)
}

fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
    Vrp {
        prefix: prefix.parse().unwrap(),
        max_len,
        asn: Asn(asn),
        ta: None,
        expires: None,
    }
}

/// ROAs: AS64501 holds 91.200.0.0/24 (maxLength 24) and 2a0c:200::/48 (maxLength 48), which
/// are not in its IRR list; AS64999 holds 185.40.2.0/24, inside the customer's IRR /22.
fn rpki() -> RpkiData {
    RpkiData::new(
        vec![
            vrp("91.200.0.0/24", 24, 20001),
            vrp("185.40.2.0/24", 24, 17557),
            vrp("2a0c:200::/48", 48, 20001),
        ],
        vec![],
    )
}

fn customer() -> PeerPolicy {
    let mut p = peer(Role::Customer, 20001);
    p.irr = Some(irr());
    p
}

fn reasons(v: &Verdict) -> Vec<Reason> {
    v.reasons().collect()
}

fn import(r: &Route, p: &PeerPolicy) -> Verdict {
    evaluate_import(r, p, &local(), &rpki())
}

#[test]
fn the_test_data_is_public_space() {
    // The customer's own /24 passes every check: nothing below is rejected for bogons.
    assert!(import(&route("145.0.10.0/24", "20001 20002"), &customer()).accepted());
    assert!(import(&route("2a0b:100::/48", "20001"), &customer()).accepted());
    for prefix in [
        "91.200.0.0/24",
        "2a0c:200::/48",
        "2a0d:300::/48",
        "8.8.8.0/24",
    ] {
        assert!(
            !local().bogons.is_bogon_prefix(&prefix.parse().unwrap()),
            "{prefix}"
        );
    }
}

#[test]
fn the_blackhole_community_is_65535_666() {
    assert_eq!(BLACKHOLE, (65535 << 16) | 666);
    assert!(is_tagged(&tagged("145.0.10.7/32", "20001")));
    assert!(!is_tagged(&route("145.0.10.7/32", "20001")));
}

#[test]
fn a_customer_host_route_inside_its_irr_space_passes_the_length_bounds() {
    let p = customer();
    for (prefix, path) in [
        ("145.0.10.7/32", "20001"),
        // Under the /22 entry, in the customer's cone.
        ("185.40.1.9/32", "20001 20002"),
        ("2a0b:100:5::1/128", "20001"),
    ] {
        let r = tagged(prefix, path);
        assert_eq!(
            classify(Direction::In, &r, &p, &local(), &rpki()),
            Blackhole::Authorized { roa: false },
            "{prefix}"
        );
        let v = import(&r, &p);
        assert!(v.accepted(), "{prefix}: {:?}", reasons(&v));
    }
}

#[test]
fn a_customer_host_route_inside_its_roa_space_passes_and_its_max_length_is_not_rpki_invalid() {
    // No IRR data at all: the ROAs alone authorize.
    let p = peer(Role::Customer, 20001);
    for prefix in ["91.200.0.1/32", "2a0c:200::1/128"] {
        let r = tagged(prefix, "20001");
        let v = import(&r, &p);
        assert_eq!(v.rov, Some(RovState::Invalid), "{prefix}: ROV says so");
        assert!(v.accepted(), "{prefix}: {:?}", reasons(&v));
        // The same host route without the community is what maxLength is for.
        let plain = import(&route(prefix, "20001"), &p);
        assert_eq!(
            reasons(&plain),
            [Reason::PrefixLength, Reason::RpkiInvalid],
            "{prefix}"
        );
    }
}

#[test]
fn a_blackhole_under_another_origins_roa_stays_rpki_invalid() {
    // 185.40.2.0/24 is in the customer's IRR /22, but its ROA is AS64999's: a hijack.
    let v = import(&tagged("185.40.2.1/32", "20001"), &customer());
    assert_eq!(v.rov, Some(RovState::Invalid));
    assert_eq!(reasons(&v), [Reason::RpkiInvalid]);
}

#[test]
fn outside_the_authorized_space_is_blackhole_unauthorized_first() {
    let p = customer();
    for (prefix, path) in [
        ("8.8.8.8/32", "20001"),
        ("2a0d:300::1/128", "20001"),
        // The route6 object is AS64501's: another origin is not covered by it.
        ("2a0b:100::1/128", "20001 20777"),
        // A ROA of AS64501, but the route's origin is another AS.
        ("91.200.0.1/32", "20001 20777"),
        // An AS_SET origin matches no route object and no ROA.
        ("145.0.10.7/32", "20001 {20002,20003}"),
    ] {
        let v = import(&tagged(prefix, path), &p);
        assert_eq!(
            v.primary(),
            Some(Reason::BlackholeUnauthorized),
            "{prefix} {path}: {:?}",
            reasons(&v)
        );
        assert!(v.failed.contains(Reason::PrefixLength), "{prefix}");
    }
}

#[test]
fn from_a_provider_peer_or_route_server_it_is_unauthorized_even_inside_their_space() {
    for role in [Role::Provider, Role::Peer, Role::Rs] {
        let mut p = peer(role, 20001);
        p.irr = Some(irr());
        assert!(!p.blackhole.accept, "{role:?}");
        // Even if a hand-built policy said accept: the role decides.
        p.blackhole.accept = true;
        for prefix in ["145.0.10.7/32", "145.0.10.0/24", "91.200.0.1/32"] {
            let v = import(&tagged(prefix, "20001"), &p);
            assert_eq!(
                v.primary(),
                Some(Reason::BlackholeUnauthorized),
                "{role:?} {prefix}: {:?}",
                reasons(&v)
            );
        }
        // Untagged routes are none of this check's business.
        assert!(import(&route("145.0.10.0/24", "20001"), &p).accepted());
    }
}

#[test]
fn an_rs_client_may_ask_as_a_customer_may() {
    let mut p = peer(Role::RsClient, 20001);
    p.irr = Some(irr());
    assert!(p.blackhole.accept);
    assert!(import(&tagged("145.0.10.7/32", "20001"), &p).accepted());
    assert_eq!(
        import(&tagged("8.8.8.8/32", "20001"), &p).primary(),
        Some(Reason::BlackholeUnauthorized)
    );
}

#[test]
fn with_accept_off_every_blackhole_is_unauthorized() {
    let mut p = customer();
    p.blackhole.accept = false;
    for prefix in ["145.0.10.7/32", "145.0.10.0/24", "91.200.0.1/32"] {
        let v = import(&tagged(prefix, "20001"), &p);
        assert_eq!(v.primary(), Some(Reason::BlackholeUnauthorized), "{prefix}");
    }
}

#[test]
fn a_blackhole_shorter_than_a_host_route_but_past_the_bounds_passes() {
    let p = customer();
    for prefix in ["145.0.10.16/28", "185.40.0.0/25", "2a0b:100:1::/64"] {
        let v = import(&tagged(prefix, "20001"), &p);
        assert!(v.accepted(), "{prefix}: {:?}", reasons(&v));
    }
    // A blackhole inside the bounds is judged the same way.
    assert!(import(&tagged("145.0.10.0/24", "20001"), &p).accepted());
}

#[test]
fn the_blackhole_maximum_bounds_an_authorized_route_with_prefix_length() {
    let mut p = customer();
    p.blackhole.max_length_v4 = 30;
    p.blackhole.max_length_v6 = 64;
    assert!(import(&tagged("145.0.10.4/30", "20001"), &p).accepted());
    assert_eq!(
        reasons(&import(&tagged("145.0.10.7/32", "20001"), &p)),
        [Reason::PrefixLength]
    );
    assert!(import(&tagged("2a0b:100:1::/64", "20001"), &p).accepted());
    assert_eq!(
        reasons(&import(&tagged("2a0b:100::1/128", "20001"), &p)),
        [Reason::PrefixLength]
    );
    // The lower bound is the peer's as for any route.
    assert!(import(&tagged("144.0.0.0/7", "20001"), &p)
        .failed
        .contains(Reason::PrefixLength));
}

#[test]
fn an_untagged_host_route_inside_the_space_is_still_a_prefix_length_reject() {
    let p = customer();
    for prefix in ["145.0.10.7/32", "185.40.1.0/25", "2a0b:100:5::1/128"] {
        let v = import(&route(prefix, "20001"), &p);
        assert_eq!(v.primary(), Some(Reason::PrefixLength), "{prefix}");
        assert!(!v.failed.contains(Reason::BlackholeUnauthorized));
    }
    // Another community in the well-known range is not BLACKHOLE.
    let r = route_with("145.0.10.7/32", "20001", |a| {
        a.communities = vec![0xFFFF_0001, (65535 << 16) | 667]
    });
    assert_eq!(
        reasons(&import(&r, &p)),
        [Reason::PrefixLength, Reason::IrrUnregistered]
    );
}

#[test]
fn irr_unregistered_asks_whether_the_covering_space_is_registered() {
    // Authorized by its ROA, but the customer's IRR list does not have it: the /24 itself
    // would be irr-unregistered, and so is its host route.
    let p = customer();
    let r = tagged("91.200.0.1/32", "20001");
    assert_eq!(reasons(&import(&r, &p)), [Reason::IrrUnregistered]);
    assert_eq!(
        reasons(&import(&route("91.200.0.0/24", "20001"), &p)),
        [Reason::IrrUnregistered]
    );
    // ROAs count as route objects: the covering ROA registers it, as it registers the /24.
    let mut q = customer();
    q.irr_roas_as_routes = true;
    assert!(import(&r, &q).accepted());
    assert!(import(&route("91.200.0.0/24", "20001"), &q).accepted());
}

#[test]
fn blackhole_unauthorized_can_be_disabled_like_any_check() {
    let mut p = peer(Role::Provider, 20001);
    p.enabled.remove(Reason::BlackholeUnauthorized);
    let v = import(&tagged("145.0.10.0/24", "20001"), &p);
    assert!(v.accepted(), "{:?}", reasons(&v));
    // The length relaxation is for authorized blackholes only.
    let v = import(&tagged("145.0.10.7/32", "20001"), &p);
    assert_eq!(reasons(&v), [Reason::PrefixLength]);
}

/// The operator's space: 145.0.10.0/24 exactly, and a customer's 185.40.0.0/22 up to /24.
fn announcing() -> LocalPolicy {
    let mut l = LocalPolicy::new(Asn(39000));
    let mut own = PrefixList::new();
    own.insert("145.0.10.0/24".parse().unwrap(), 24, 24, None);
    own.insert("185.40.0.0/22".parse().unwrap(), 22, 24, None);
    own.insert("2a0b:100::/40".parse().unwrap(), 40, 48, None);
    l.announce = Arc::new(own);
    l
}

#[test]
fn a_blackhole_the_router_sends_upstream_for_announceable_space_passes_export() {
    let l = announcing();
    let d = RpkiData::new(vec![vrp("145.0.10.0/24", 24, 39000)], vec![]);
    for role in [Role::Provider, Role::Peer, Role::Rs, Role::Customer] {
        let p = peer(role, 3356);
        for (prefix, path) in [
            // The router's own space (empty path: originated by the router, origin 39000):
            // ROV Invalid for the ROA's maxLength only.
            ("145.0.10.7/32", ""),
            ("145.0.10.7/32", "39000"),
            ("185.40.1.9/32", "39000 20001"),
            ("185.40.0.0/27", "39000 20001"),
            ("2a0b:100::1/128", "39000 20001"),
        ] {
            let v = evaluate_export(&tagged(prefix, path), &p, &l, &d);
            assert!(v.accepted(), "{role:?} {prefix}: {:?}", reasons(&v));
        }
        // Without the community the same host routes break the bounds and the list.
        let v = evaluate_export(&route("145.0.10.7/32", "39000"), &p, &l, &d);
        assert!(v.failed.contains(Reason::ExportBogon), "{role:?}");
        assert!(v.failed.contains(Reason::ExportRpkiInvalid), "{role:?}");
        assert_eq!(
            v.failed.contains(Reason::NotAnnounceable),
            role != Role::Customer
        );
    }
}

#[test]
fn a_blackhole_outside_the_announceable_space_is_judged_as_any_route_on_export() {
    let l = announcing();
    let d = RpkiData::new(vec![vrp("91.200.0.0/24", 24, 17557)], vec![]);
    let p = peer(Role::Provider, 3356);
    let v = evaluate_export(&tagged("8.8.8.8/32", "39000 15169"), &p, &l, &d);
    assert_eq!(reasons(&v), [Reason::NotAnnounceable, Reason::ExportBogon]);
    // Someone else's ROA: Invalid for the origin, not for the length.
    let v = evaluate_export(&tagged("91.200.0.1/32", "39000"), &p, &l, &d);
    assert!(v.failed.contains(Reason::ExportRpkiInvalid));
    // The neighbor's blackhole maximum bounds export too.
    let mut q = peer(Role::Provider, 3356);
    q.blackhole.max_length_v4 = 30;
    let v = evaluate_export(&tagged("145.0.10.7/32", ""), &q, &l, &RpkiData::empty());
    assert_eq!(reasons(&v), [Reason::ExportBogon]);
}

#[test]
fn a_batch_of_tagged_prefixes_gets_what_each_gets_alone() {
    let l = announcing();
    let d = rpki();
    let prefixes: Vec<IpNet> = [
        "145.0.10.7/32",
        "91.200.0.1/32",
        "8.8.8.8/32",
        "185.40.2.1/32",
        "145.0.10.0/24",
        "2a0b:100::1/128",
    ]
    .iter()
    .map(|p| p.parse().unwrap())
    .collect();
    for role in [Role::Customer, Role::Provider, Role::RsClient] {
        let mut p = peer(role, 20001);
        p.irr = Some(irr());
        for path in ["20001", "20001 20777", ""] {
            let attrs = tagged("91.200.0.0/24", path).attrs;
            for d_ in [Direction::In, Direction::Out] {
                let batch =
                    evaluate_batch(d_, &attrs, prefixes.iter().map(|p| (p, None)), &p, &l, &d);
                for (prefix, got) in prefixes.iter().zip(&batch) {
                    let alone = Route::new(*prefix, attrs.clone());
                    let want = crate::policy::evaluate(d_, &alone, &p, &l, &d);
                    assert_eq!(*got, want, "{d_:?} {role:?} {prefix} {path:?}");
                }
            }
        }
    }
}
