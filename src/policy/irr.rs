//! IRR checks: `irr-unregistered` (13) on import and `not-announceable` (101) on export.

use super::{Blackhole, Ctx};
use crate::rpki::RovState;
use crate::types::{PathOrigin, Role, Route};

/// `irr-unregistered`: (prefix, origin) is not covered by the neighbor's IRR prefix list. Runs
/// only for neighbors with IRR data; optionally an RPKI-Valid route counts as registered. For an
/// authorized RFC 7999 blackhole route the question is whether its covering space is registered:
/// an entry covering it whatever its length range (or, with `irr_roas_as_routes`, a ROA of its
/// origin covering it whatever its maxLength).
pub fn irr_unregistered(route: &Route, ctx: &Ctx<'_>) -> bool {
    let Some(list) = ctx.peer.irr.as_deref() else {
        return false;
    };
    if ctx.peer.irr_roas_as_routes && ctx.rov == Some(RovState::Valid) {
        return false;
    }
    let registered = |origin| match ctx.blackhole {
        Blackhole::Authorized { roa } => {
            (ctx.peer.irr_roas_as_routes && roa) || list.covers(&route.prefix, origin)
        }
        _ => list.permits(&route.prefix, origin),
    };
    match route.attrs.as_path.origin() {
        Some(PathOrigin::Asn(origin)) => !registered(Some(origin)),
        // An AS_SET origin cannot be matched against a route object.
        Some(PathOrigin::None) => true,
        // An empty path from eBGP has no origin to register.
        None => !registered(None),
    }
}

/// `not-announceable`: toward a provider, peer or route server, the prefix must be in the
/// operator's own + customer-cone list (`announce`, `announce_irr`). A blackhole route the
/// router sends inside that space passes whatever the entry's length range (its length is
/// bounded by `export-bogon`).
pub fn not_announceable(route: &Route, ctx: &Ctx<'_>) -> bool {
    matches!(ctx.peer.role, Role::Provider | Role::Peer | Role::Rs)
        && !ctx.blackhole.is_authorized()
        && !ctx.local.announce.permits(&route.prefix, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irr::PrefixList;
    use crate::policy::testutil::*;
    use crate::policy::{Ctx, LocalPolicy};
    use crate::rpki::RpkiData;
    use crate::types::Asn;
    use std::sync::Arc;

    fn irr() -> Arc<PrefixList> {
        let mut l = PrefixList::new();
        // bgpq4-style entry (any origin), and an RPSL route object with its origin.
        l.insert("198.51.100.0/22".parse().unwrap(), 22, 24, None);
        l.insert("203.0.113.0/24".parse().unwrap(), 24, 24, Some(Asn(64501)));
        Arc::new(l)
    }

    #[test]
    fn irr_registered_routes_pass_and_others_fail() {
        let l = local();
        let mut p = peer(Role::Customer, 64501);
        assert!(
            !check(irr_unregistered, &route("8.8.8.0/24", "64501"), &p, &l),
            "no IRR data: no check"
        );
        p.irr = Some(irr());
        for (prefix, path, fails) in [
            ("198.51.100.0/23", "64501", false),
            ("198.51.100.0/25", "64501", true),
            ("203.0.113.0/24", "64501", false),
            ("203.0.113.0/24", "64501 64999", true),
            ("8.8.8.0/24", "64501", true),
            ("198.51.100.0/24", "64501 {64501,64502}", true),
        ] {
            assert_eq!(
                check(irr_unregistered, &route(prefix, path), &p, &l),
                fails,
                "{prefix} {path}"
            );
        }
    }

    #[test]
    fn roas_count_as_route_objects_when_configured() {
        let l = local();
        let mut p = peer(Role::Customer, 64501);
        p.irr = Some(irr());
        p.irr_roas_as_routes = true;
        let r = route("8.8.8.0/24", "64501");
        let rpki = RpkiData::empty();
        let ctx = |rov| Ctx {
            peer: &p,
            local: &l,
            rpki: &rpki,
            rov,
            aspa: None,
            blackhole: Blackhole::Untagged,
        };
        assert!(!irr_unregistered(&r, &ctx(Some(RovState::Valid))));
        assert!(irr_unregistered(&r, &ctx(Some(RovState::NotFound))));
    }

    #[test]
    fn only_announceable_prefixes_go_to_providers_peers_and_route_servers() {
        let mut l: LocalPolicy = local();
        let mut own = PrefixList::new();
        own.insert("203.0.113.0/24".parse().unwrap(), 24, 24, None);
        own.insert("198.51.100.0/22".parse().unwrap(), 22, 24, None);
        l.announce = Arc::new(own);
        for role in [Role::Provider, Role::Peer, Role::Rs] {
            let p = peer(role, 3356);
            assert!(!check(
                not_announceable,
                &route("203.0.113.0/24", ""),
                &p,
                &l
            ));
            assert!(!check(
                not_announceable,
                &route("198.51.101.0/24", "64501"),
                &p,
                &l
            ));
            assert!(check(
                not_announceable,
                &route("198.51.101.0/25", "64501"),
                &p,
                &l
            ));
            assert!(check(
                not_announceable,
                &route("8.8.8.0/24", "3356 15169"),
                &p,
                &l
            ));
        }
        let c = peer(Role::Customer, 64501);
        assert!(!check(
            not_announceable,
            &route("8.8.8.0/24", "3356 15169"),
            &c,
            &l
        ));
    }
}
