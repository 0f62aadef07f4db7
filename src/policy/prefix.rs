//! Prefix checks: `bogon-prefix` (2), `prefix-length` (3) and, for export, `export-bogon` (106).
//! An authorized RFC 7999 blackhole route may be longer than the bounds, up to the neighbor's
//! `blackhole.max_length_v4`/`_v6` (see `blackhole`).

use super::{path, Ctx};
use crate::types::Route;
use ipnet::IpNet;

/// `bogon-prefix`: the prefix lies in special-purpose space, or IPv6 outside 2000::/3.
pub fn bogon_prefix(route: &Route, ctx: &Ctx<'_>) -> bool {
    ctx.local.bogons.is_bogon_prefix(&route.prefix)
}

/// `prefix-length`: outside the peer's bounds (IPv4 /8–/24, IPv6 /16–/48 by default); an
/// authorized blackhole route may be as long as `blackhole.max_length_v4`/`_v6`.
pub fn prefix_length(route: &Route, ctx: &Ctx<'_>) -> bool {
    let (lo, mut hi) = match route.prefix {
        IpNet::V4(_) => ctx.peer.prefix_len_v4,
        IpNet::V6(_) => ctx.peer.prefix_len_v6,
    };
    if ctx.blackhole.is_authorized() {
        hi = hi.max(ctx.peer.blackhole.max_length(&route.prefix));
    }
    let len = route.prefix.prefix_len();
    len < lo || len > hi
}

/// `export-bogon`: the router would send a bogon prefix or ASN, or a length out of bounds (a
/// blackhole route inside the announceable space may be as long as the neighbor's
/// `blackhole.max_length_v4`/`_v6`).
pub fn export_bogon(route: &Route, ctx: &Ctx<'_>) -> bool {
    bogon_prefix(route, ctx) || prefix_length(route, ctx) || path::bogon_asn(route, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;
    use crate::types::Role;

    #[test]
    fn bogon_prefix_table() {
        let (p, l) = (peer(Role::Provider, 64501), local());
        for (prefix, fails) in [
            ("8.8.8.0/24", false),
            ("10.0.0.0/8", true),
            ("192.168.1.0/24", true),
            ("2a00:1450::/32", false),
            ("fc00::/48", true),
        ] {
            assert_eq!(
                check(bogon_prefix, &route(prefix, "64501"), &p, &l),
                fails,
                "{prefix}"
            );
        }
    }

    #[test]
    fn prefix_length_table_with_per_peer_bounds() {
        let l = local();
        let mut p = peer(Role::Provider, 64501);
        for (prefix, fails) in [
            ("8.0.0.0/8", false),
            ("8.0.0.0/7", true),
            ("0.0.0.0/0", true),
            ("8.8.8.0/24", false),
            ("8.8.8.0/25", true),
            ("2a00:1450::/32", false),
            ("2a00:1450::/48", false),
            ("2a00:1450::/49", true),
            ("2a00::/15", true),
        ] {
            assert_eq!(
                check(prefix_length, &route(prefix, "64501"), &p, &l),
                fails,
                "{prefix}"
            );
        }
        p.prefix_len_v4 = (8, 25);
        assert!(!check(prefix_length, &route("8.8.8.0/25", "64501"), &p, &l));
    }

    #[test]
    fn export_bogon_covers_prefix_length_and_asn() {
        let (p, l) = (peer(Role::Provider, 64501), local());
        assert!(!check(export_bogon, &route("8.8.8.0/24", "15169"), &p, &l));
        assert!(check(export_bogon, &route("10.0.0.0/24", "15169"), &p, &l));
        assert!(check(export_bogon, &route("8.8.8.0/28", "15169"), &p, &l));
        assert!(check(
            export_bogon,
            &route("8.8.8.0/24", "15169 65000"),
            &p,
            &l
        ));
    }
}
