//! AS-path and attribute sanity: `malformed` (1), `bogon-asn` (4), `as-set` (5),
//! `as-path-length` (6), `first-as` (7), `next-hop` (8).

use super::{bogon::is_martian_next_hop, Ctx};
use crate::types::{Role, Route};

/// `malformed`: RFC 7606 found an attribute error whose action is treat-as-withdraw.
pub fn malformed(route: &Route, _ctx: &Ctx<'_>) -> bool {
    !route.attrs.malformed.is_empty()
}

/// `bogon-asn`: a reserved ASN anywhere in the path (private ones allowed per peer).
pub fn bogon_asn(route: &Route, ctx: &Ctx<'_>) -> bool {
    let allow = ctx.peer.allow_private_asn;
    route
        .attrs
        .as_path
        .asns()
        .any(|a| ctx.local.bogons.is_bogon_asn(a, allow))
}

/// `as-set`: AS_SET or AS_CONFED_* segments in a path from an eBGP neighbor (RFC 9774 deprecates
/// AS_SET; confederation segments must never leave a confederation, RFC 5065 §5).
pub fn as_set(route: &Route, _ctx: &Ctx<'_>) -> bool {
    route.attrs.as_path.has_set_or_confed()
}

/// `as-path-length`: more ASNs than the peer allows (64 by default).
pub fn as_path_length(route: &Route, ctx: &Ctx<'_>) -> bool {
    route.attrs.as_path.asn_count() > ctx.peer.max_path_length
}

/// `first-as`: the left-most ASN is not the neighbor's (RFC 4271 §6.3). Route servers are
/// transparent and do not prepend themselves (RFC 7947 §2.2), so role `rs` is exempt.
pub fn first_as(route: &Route, ctx: &Ctx<'_>) -> bool {
    match ctx.peer.role {
        Role::Rs => false,
        _ => route.attrs.as_path.first_asn() != Some(ctx.peer.asn),
    }
}

/// `next-hop`: a martian next hop, or (with `next_hop_is_neighbor`) one that is not the
/// neighbor's address. A missing next hop is the `malformed` check's business.
pub fn next_hop(route: &Route, ctx: &Ctx<'_>) -> bool {
    let Some(nh) = route.attrs.next_hop else {
        return false;
    };
    if is_martian_next_hop(&nh) {
        return true;
    }
    ctx.peer.next_hop_is_neighbor && ctx.peer.address.is_some_and(|a| a != nh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;

    #[test]
    fn malformed_is_any_treat_as_withdraw_finding() {
        let (p, l) = (peer(Role::Provider, 64501), local());
        assert!(!check(malformed, &route("8.8.8.0/24", "64501"), &p, &l));
        let r = route_with("8.8.8.0/24", "64501", |a| {
            a.malformed.push("ORIGIN value 7".into())
        });
        assert!(check(malformed, &r, &p, &l));
    }

    #[test]
    fn bogon_asn_table() {
        let l = local();
        let mut p = peer(Role::Provider, 64501);
        p.asn = crate::types::Asn(3356);
        for (path, fails) in [
            ("3356 15169", false),
            ("3356 23456 15169", true),
            ("3356 0", true),
            ("3356 64512 15169", true),
            ("3356 65536", true),
            ("3356 4200000001", true),
            ("3356 {15169,64496}", true),
        ] {
            assert_eq!(
                check(bogon_asn, &route("8.8.8.0/24", path), &p, &l),
                fails,
                "{path}"
            );
        }
        p.allow_private_asn = true;
        assert!(!check(
            bogon_asn,
            &route("8.8.8.0/24", "3356 64512 15169"),
            &p,
            &l
        ));
        assert!(check(
            bogon_asn,
            &route("8.8.8.0/24", "3356 64496 15169"),
            &p,
            &l
        ));
    }

    #[test]
    fn as_set_and_confed_segments_from_ebgp_are_rejected() {
        let l = local();
        let p = peer(Role::Peer, 3356);
        assert!(!check(as_set, &route("8.8.8.0/24", "3356 15169"), &p, &l));
        assert!(check(
            as_set,
            &route("8.8.8.0/24", "3356 {15169,36040}"),
            &p,
            &l
        ));
        assert!(check(
            as_set,
            &route("8.8.8.0/24", "(65001) 3356 15169"),
            &p,
            &l
        ));
    }

    #[test]
    fn as_path_length_counts_every_asn() {
        let l = local();
        let mut p = peer(Role::Provider, 3356);
        p.max_path_length = 3;
        assert!(!check(
            as_path_length,
            &route("8.8.8.0/24", "3356 3356 15169"),
            &p,
            &l
        ));
        assert!(check(
            as_path_length,
            &route("8.8.8.0/24", "3356 3356 3356 15169"),
            &p,
            &l
        ));
    }

    #[test]
    fn first_as_must_be_the_neighbor_except_route_servers() {
        let l = local();
        let p = peer(Role::Provider, 3356);
        assert!(!check(first_as, &route("8.8.8.0/24", "3356 15169"), &p, &l));
        assert!(check(first_as, &route("8.8.8.0/24", "174 15169"), &p, &l));
        assert!(check(first_as, &route("8.8.8.0/24", ""), &p, &l));
        let rs = peer(Role::Rs, 6695);
        assert!(!check(first_as, &route("8.8.8.0/24", "15169"), &rs, &l));
    }

    #[test]
    fn next_hop_martians_and_optional_neighbor_match() {
        let l = local();
        let mut p = peer(Role::Peer, 3356);
        let with_nh = |nh: &str| {
            let nh = nh.parse().unwrap();
            route_with("8.8.8.0/24", "3356", move |a| a.next_hop = Some(nh))
        };
        assert!(!check(next_hop, &with_nh("198.51.100.1"), &p, &l));
        assert!(check(next_hop, &with_nh("127.0.0.1"), &p, &l));
        assert!(check(next_hop, &with_nh("0.0.0.0"), &p, &l));
        assert!(!check(next_hop, &with_nh("198.51.100.9"), &p, &l));
        p.next_hop_is_neighbor = true;
        assert!(check(next_hop, &with_nh("198.51.100.9"), &p, &l));
        assert!(!check(next_hop, &with_nh("198.51.100.1"), &p, &l));
    }
}
