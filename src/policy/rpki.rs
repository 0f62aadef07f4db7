//! RPKI checks: `rpki-invalid` (11), `aspa-invalid` (12), `export-rpki-invalid` (103),
//! `export-aspa-invalid` (104). The validation itself lives in `crate::rpki`; this file decides
//! which procedure applies to which role and which path is verified.

use super::{Blackhole, Ctx, PeerPolicy};
use crate::rpki::{AspaState, RovState, RpkiData};
use crate::types::{Role, Route};

/// `rpki-invalid`: RFC 6811 origin validation state Invalid. Not for an authorized RFC 7999
/// blackhole route that a VRP of its own origin covers: it is Invalid only because it is longer
/// than that VRP's maxLength, which is what a blackhole host route is. A blackhole route that
/// VRPs of other origins cover (a hijack) is still rejected.
pub fn rpki_invalid(_route: &Route, ctx: &Ctx<'_>) -> bool {
    ctx.rov == Some(RovState::Invalid) && ctx.blackhole != (Blackhole::Authorized { roa: true })
}

/// `aspa-invalid`: ASPA verification Invalid for the procedure of the neighbor's role.
pub fn aspa_invalid(_route: &Route, ctx: &Ctx<'_>) -> bool {
    ctx.aspa == Some(AspaState::Invalid)
}

/// `export-rpki-invalid`: the router's route is RPKI-Invalid (an announceable blackhole route
/// Invalid only for a maxLength passes, as on import).
pub fn export_rpki_invalid(route: &Route, ctx: &Ctx<'_>) -> bool {
    rpki_invalid(route, ctx)
}

/// `export-aspa-invalid`: the path as the neighbor would receive it is ASPA-Invalid.
pub fn export_aspa_invalid(route: &Route, ctx: &Ctx<'_>) -> bool {
    aspa_invalid(route, ctx)
}

/// ASPA state of a received route. The upstream procedure applies to routes from a customer,
/// a lateral peer, a route server or an RS-client; the downstream procedure to routes from a
/// provider (draft-ietf-sidrops-aspa-verification §6).
pub fn import_aspa_state(route: &Route, peer: &PeerPolicy, rpki: &RpkiData) -> AspaState {
    let path = &route.attrs.as_path;
    match peer.role {
        Role::Provider => rpki.aspa_downstream(path),
        _ => rpki.aspa_upstream(path),
    }
}

/// ASPA state of a route the router sends toward `peer`. The router speaks eBGP to the pair
/// and has already prepended its AS, so the path is the one the neighbor will receive; it is
/// verified with the procedure the neighbor applies: a provider, peer or RS receives from us as
/// from a customer/peer (upstream), a customer as from a provider (downstream).
pub fn export_aspa_state(route: &Route, peer: &PeerPolicy, rpki: &RpkiData) -> AspaState {
    let sent = &route.attrs.as_path;
    match peer.role {
        Role::Customer => rpki.aspa_downstream(sent),
        _ => rpki.aspa_upstream(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;
    use crate::policy::{evaluate_export, evaluate_import, Reason};
    use crate::rpki::{Aspa, Vrp};
    use crate::types::Asn;

    fn data() -> RpkiData {
        let vrps = vec![Vrp {
            prefix: "208.65.152.0/22".parse().unwrap(),
            max_len: 24,
            asn: Asn(36561),
            ta: None,
            expires: None,
        }];
        // AS20001's only provider is AS20002; AS20002's only provider is AS3356.
        let aspas = vec![
            Aspa {
                customer: Asn(20001),
                providers: vec![Asn(20002)],
                expires: None,
            },
            Aspa {
                customer: Asn(20002),
                providers: vec![Asn(3356)],
                expires: None,
            },
        ];
        RpkiData::new(vrps, aspas)
    }

    #[test]
    fn hijack_of_a_roa_covered_prefix_is_rpki_invalid() {
        let (d, l) = (data(), local());
        let p = peer(Role::Provider, 3491);
        let hijack = route("208.65.153.0/24", "3491 17557");
        let v = evaluate_import(&hijack, &p, &l, &d);
        assert_eq!(v.rov, Some(RovState::Invalid));
        assert!(v.failed.contains(Reason::RpkiInvalid));
        let own = route("208.65.153.0/24", "3491 36561");
        let v = evaluate_import(&own, &p, &l, &d);
        assert_eq!(v.rov, Some(RovState::Valid));
        assert!(!v.failed.contains(Reason::RpkiInvalid));
        let other = route("8.8.8.0/24", "3491 15169");
        assert_eq!(
            evaluate_import(&other, &p, &l, &d).rov,
            Some(RovState::NotFound)
        );
    }

    #[test]
    fn a_customer_route_leaked_through_a_peer_is_aspa_invalid() {
        let (d, l) = (data(), local());
        // From a peer: 20001 announced to 20999 (not its provider), which passed it on: a leak.
        let leak = route("8.8.8.0/24", "20999 20001");
        let v = evaluate_import(&leak, &peer(Role::Peer, 20999), &l, &d);
        assert_eq!(v.aspa, Some(AspaState::Invalid));
        assert!(v.failed.contains(Reason::AspaInvalid));
        // The customer's real upstream chain is valid.
        let ok = route("8.8.8.0/24", "20002 20001");
        let v = evaluate_import(&ok, &peer(Role::Customer, 20002), &l, &d);
        assert_eq!(v.aspa, Some(AspaState::Valid));
        assert!(v.accepted(), "{:?}", v.reasons().collect::<Vec<_>>());
    }

    #[test]
    fn export_verifies_the_path_the_router_sends() {
        let (d, l) = (data(), local());
        // We (64500) are not 20002's provider: the router sending its route up to our provider
        // leaks it (the router has prepended its own AS).
        let r = route("8.8.8.0/24", "64500 20002 20001");
        let v = evaluate_export(&r, &peer(Role::Provider, 3356), &l, &d);
        assert_eq!(v.aspa, Some(AspaState::Invalid));
        assert!(v.failed.contains(Reason::ExportAspaInvalid));
        let hijack = route("208.65.153.0/24", "64500 17557");
        let v = evaluate_export(&hijack, &peer(Role::Customer, 20001), &l, &d);
        assert!(v.failed.contains(Reason::ExportRpkiInvalid));
    }
}
