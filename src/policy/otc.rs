//! RFC 9234 Only-to-Customer (OTC): the ingress leak rule (`otc-leak`, 9), the egress rule
//! (`otc-egress`, 102), and the values to set on ingress and egress (§5).

use super::Ctx;
use crate::types::{Asn, Attrs, Role, Route};

/// `otc-leak`, RFC 9234 §5 ingress: OTC present on a route from a customer or RS-client, or an
/// OTC from a peer that is not the peer's own AS.
pub fn otc_leak(route: &Route, ctx: &Ctx<'_>) -> bool {
    match (ctx.peer.role, route.attrs.otc) {
        (Role::Customer | Role::RsClient, Some(_)) => true,
        (Role::Peer, Some(otc)) => otc != ctx.peer.asn,
        _ => false,
    }
}

/// `otc-egress`, RFC 9234 §5 egress: a route carrying OTC must not go to a provider, peer or RS.
pub fn otc_egress(route: &Route, ctx: &Ctx<'_>) -> bool {
    matches!(ctx.peer.role, Role::Provider | Role::Peer | Role::Rs) && route.attrs.otc.is_some()
}

/// The OTC value to add on ingress: the neighbor's AS on routes from a provider, peer or RS that
/// carry none (RFC 9234 §5, rule 3). `None` = leave the attributes as they are.
pub fn otc_to_set_on_import(attrs: &Attrs, role: Role, neighbor: Asn) -> Option<Asn> {
    match role {
        Role::Provider | Role::Peer | Role::Rs if attrs.otc.is_none() => Some(neighbor),
        _ => None,
    }
}

/// The OTC value to add on egress: our AS on routes to a customer, peer or RS-client that carry
/// none (RFC 9234 §5, egress rule 2).
pub fn otc_to_set_on_export(attrs: &Attrs, role: Role, local: Asn) -> Option<Asn> {
    match role {
        Role::Customer | Role::Peer | Role::RsClient if attrs.otc.is_none() => Some(local),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;

    fn with_otc(otc: Option<u32>) -> Route {
        route_with("8.8.8.0/24", "64501 15169", move |a| a.otc = otc.map(Asn))
    }

    #[test]
    fn otc_from_customer_is_a_leak() {
        let l = local();
        assert!(check(
            otc_leak,
            &with_otc(Some(3356)),
            &peer(Role::Customer, 64501),
            &l
        ));
        assert!(check(
            otc_leak,
            &with_otc(Some(64501)),
            &peer(Role::RsClient, 64501),
            &l
        ));
        assert!(!check(
            otc_leak,
            &with_otc(None),
            &peer(Role::Customer, 64501),
            &l
        ));
    }

    #[test]
    fn otc_from_peer_must_be_the_peers_asn() {
        let l = local();
        let p = peer(Role::Peer, 64501);
        assert!(!check(otc_leak, &with_otc(Some(64501)), &p, &l));
        assert!(check(otc_leak, &with_otc(Some(3356)), &p, &l));
        assert!(!check(otc_leak, &with_otc(None), &p, &l));
    }

    #[test]
    fn otc_from_provider_or_rs_is_fine() {
        let l = local();
        assert!(!check(
            otc_leak,
            &with_otc(Some(3356)),
            &peer(Role::Provider, 64501),
            &l
        ));
        assert!(!check(
            otc_leak,
            &with_otc(Some(3356)),
            &peer(Role::Rs, 64501),
            &l
        ));
    }

    #[test]
    fn otc_routes_do_not_go_up_or_sideways() {
        let l = local();
        for (role, fails) in [
            (Role::Provider, true),
            (Role::Peer, true),
            (Role::Rs, true),
            (Role::Customer, false),
            (Role::RsClient, false),
        ] {
            assert_eq!(
                check(otc_egress, &with_otc(Some(64501)), &peer(role, 64501), &l),
                fails,
                "{role}"
            );
            assert!(!check(otc_egress, &with_otc(None), &peer(role, 64501), &l));
        }
    }

    #[test]
    fn otc_is_set_on_ingress_and_egress_per_role() {
        let a = Attrs::default();
        assert_eq!(
            otc_to_set_on_import(&a, Role::Provider, Asn(1)),
            Some(Asn(1))
        );
        assert_eq!(otc_to_set_on_import(&a, Role::Rs, Asn(1)), Some(Asn(1)));
        assert_eq!(otc_to_set_on_import(&a, Role::Customer, Asn(1)), None);
        let tagged = Attrs {
            otc: Some(Asn(7)),
            ..Attrs::default()
        };
        assert_eq!(otc_to_set_on_import(&tagged, Role::Peer, Asn(1)), None);
        assert_eq!(
            otc_to_set_on_export(&a, Role::Customer, Asn(9)),
            Some(Asn(9))
        );
        assert_eq!(otc_to_set_on_export(&a, Role::Provider, Asn(9)), None);
        assert_eq!(otc_to_set_on_export(&tagged, Role::Peer, Asn(9)), None);
    }
}
