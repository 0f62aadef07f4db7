//! `peerlock` (10): a path from a customer or a peer must not pass through a protected,
//! transit-free network unless that network is an allowed upstream of this neighbor. A customer
//! never gives us a route through Lumen or NTT; if it does, it is leaking (Peerlock-lite).

use super::Ctx;
use crate::types::{Role, Route};

pub fn peerlock(route: &Route, ctx: &Ctx<'_>) -> bool {
    if !matches!(ctx.peer.role, Role::Customer | Role::Peer | Role::RsClient) {
        return false;
    }
    route.attrs.as_path.asns().any(|a| {
        // A protected network that is itself our peer announces its own ASN first.
        a != ctx.peer.asn
            && ctx.local.protected_asns.binary_search(&a).is_ok()
            && !ctx.peer.peerlock_allow.contains(&a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;
    use crate::types::Asn;

    #[test]
    fn customer_path_through_a_tier1_is_a_leak() {
        let l = local();
        let c = peer(Role::Customer, 64501);
        assert!(check(
            peerlock,
            &route("8.8.8.0/24", "64501 3356 15169"),
            &c,
            &l
        ));
        assert!(!check(
            peerlock,
            &route("8.8.8.0/24", "64501 64502"),
            &c,
            &l
        ));
    }

    #[test]
    fn a_tier1_peer_may_announce_itself_but_not_another_tier1() {
        let l = local();
        let p = peer(Role::Peer, 3356);
        assert!(!check(peerlock, &route("8.8.8.0/24", "3356 15169"), &p, &l));
        assert!(check(
            peerlock,
            &route("8.8.8.0/24", "3356 1299 15169"),
            &p,
            &l
        ));
    }

    #[test]
    fn allowed_upstreams_and_providers_pass() {
        let l = local();
        let mut c = peer(Role::Customer, 64501);
        c.peerlock_allow = vec![Asn(3356)];
        assert!(!check(
            peerlock,
            &route("8.8.8.0/24", "64501 3356 15169"),
            &c,
            &l
        ));
        let prov = peer(Role::Provider, 174);
        assert!(!check(
            peerlock,
            &route("8.8.8.0/24", "174 3356 15169"),
            &prov,
            &l
        ));
    }
}
