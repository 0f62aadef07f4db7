//! Mirrored OPENs (DESIGN §1, "Pair mechanics"). Toward the router bgpsieve speaks as the
//! neighbor and toward the neighbor as the router, so each side is sent the OPEN the other side
//! sent: its AS, BGP Identifier, hold time and capabilities. Both sessions then negotiate what a
//! direct session would have, and UPDATEs pass without surprises.
//!
//! What is not passed on: capabilities whose promises bgpsieve would have to keep and does not
//! (long-lived graceful restart, ADD-PATH, which would make bgpsieve choose paths, enhanced
//! route refresh, extended next hop, multisession, families other than IPv4/IPv6 unicast, and
//! anything it does not know), and graceful restart, which is a promise between bgpsieve and
//! each side: the session adds bgpsieve's own (`graceful::with_own_capability`). The RFC 9234 Role capability is the configured one
//! for that side, whatever the other side sent: the roles are the operator's statement, and a
//! strict-mode router must see the neighbor's role even when the neighbor advertises none.
//! Pure: values in, a value out.

use super::capability::{code, BgpRole, Capability, Family};
use super::open::Open;
use crate::types::Afi;
use std::net::Ipv4Addr;

/// Informational capabilities passed on as they are: FQDN (73, the sender's host name) and
/// Software Version (75). They change nothing in the session.
const INFORMATIONAL: [u8; 2] = [73, 75];

/// What one side of a pair makes of the other side's OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRules {
    /// The unicast families this pair passes.
    pub families: Vec<Afi>,
    /// The RFC 9234 role this side advertises (`None`: no Role capability).
    pub role: Option<BgpRole>,
    /// The BGP Identifier sent instead of the mirrored one when that one is the receiver's own
    /// (never send the router its own ID).
    pub fallback_id: Ipv4Addr,
}

/// Whether bgpsieve can pass a capability on to the other side unchanged.
fn passes(c: &Capability, families: &[Afi]) -> bool {
    match c {
        Capability::Multiprotocol(f) => f.unicast_afi().is_some_and(|a| families.contains(&a)),
        Capability::RouteRefresh | Capability::FourOctetAs(_) | Capability::ExtendedMessage => true,
        Capability::Unknown { code, .. } => INFORMATIONAL.contains(code),
        // The Role is set from the rules; the others are promises bgpsieve does not keep.
        Capability::Role(_)
        | Capability::AddPath(_)
        | Capability::EnhancedRouteRefresh
        | Capability::GracefulRestart(_) => false,
    }
}

/// The OPEN to send to one side, made from the OPEN the other side sent. `receiver_id` is the
/// receiving side's own BGP Identifier when its OPEN is known.
pub fn mirror(other: &Open, rules: &MirrorRules, receiver_id: Option<Ipv4Addr>) -> Open {
    let mut capabilities: Vec<Capability> = other
        .capabilities
        .iter()
        .filter(|c| passes(c, &rules.families))
        .cloned()
        .collect();
    let had_mp = other
        .capabilities
        .iter()
        .any(|c| c.code() == code::MULTIPROTOCOL);
    if had_mp
        && !capabilities
            .iter()
            .any(|c| matches!(c, Capability::Multiprotocol(_)))
    {
        // Every family the other side offered is one this pair does not pass: offer the pair's
        // own, so the receiver refuses with an Unsupported Capability that names them instead
        // of falling back to plain IPv4 (RFC 4760 §8).
        capabilities.extend(
            rules
                .families
                .iter()
                .map(|a| Capability::Multiprotocol(Family::unicast(*a))),
        );
    }
    if let Some(role) = rules.role {
        capabilities.push(Capability::Role(role));
    }
    let router_id = if Some(other.router_id) == receiver_id {
        rules.fallback_id
    } else {
        other.router_id
    };
    Open {
        version: other.version,
        my_as: other.my_as,
        // 1 and 2 s are refused by every receiver (RFC 4271 §4.2): the sender's own session
        // fails on them anyway; offer the smallest valid value instead of failing this one.
        hold_time: match other.hold_time {
            1 | 2 => 3,
            h => h,
        },
        router_id,
        capabilities,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::capability::{AddPathFamily, AddPathMode};
    use crate::types::Asn;

    fn open(caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as: 23456,
            hold_time: 240,
            router_id: Ipv4Addr::new(198, 51, 100, 1),
            capabilities: caps,
        }
    }

    fn rules(families: Vec<Afi>) -> MirrorRules {
        MirrorRules {
            families,
            role: Some(BgpRole::Provider),
            fallback_id: Ipv4Addr::new(192, 0, 2, 1),
        }
    }

    #[test]
    fn the_receiver_sees_the_senders_as_id_hold_time_and_the_capabilities_bgpsieve_keeps() {
        let other = open(vec![
            Capability::Multiprotocol(Family::unicast(Afi::Ipv4)),
            Capability::Multiprotocol(Family::unicast(Afi::Ipv6)),
            Capability::Multiprotocol(Family { afi: 1, safi: 133 }),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(Asn(4_200_000_001)),
            Capability::ExtendedMessage,
            Capability::AddPath(vec![AddPathFamily {
                family: Family::unicast(Afi::Ipv4),
                mode: AddPathMode::Both,
            }]),
            Capability::Role(BgpRole::Peer),
            Capability::GracefulRestart(crate::bgp::capability::GracefulRestart {
                restarting: true,
                notification: false,
                restart_time: 120,
                families: vec![],
            }),
            Capability::Unknown {
                code: 73,
                value: b"\x02r1\x00".to_vec(),
            },
        ]);
        let m = mirror(&other, &rules(vec![Afi::Ipv4, Afi::Ipv6]), None);
        assert_eq!(
            (m.my_as, m.hold_time, m.router_id, m.asn()),
            (23456, 240, other.router_id, Asn(4_200_000_001))
        );
        assert_eq!(
            m.capabilities,
            vec![
                Capability::Multiprotocol(Family::unicast(Afi::Ipv4)),
                Capability::Multiprotocol(Family::unicast(Afi::Ipv6)),
                Capability::RouteRefresh,
                Capability::FourOctetAs(Asn(4_200_000_001)),
                Capability::ExtendedMessage,
                Capability::Unknown {
                    code: 73,
                    value: b"\x02r1\x00".to_vec()
                },
                Capability::Role(BgpRole::Provider),
            ]
        );
    }

    #[test]
    fn a_capability_only_the_sender_lacks_stays_absent() {
        // No extended messages and no route refresh on the sender: the receiver must not be
        // told otherwise, or it would send what the sender cannot take.
        let other = open(vec![
            Capability::Multiprotocol(Family::unicast(Afi::Ipv4)),
            Capability::FourOctetAs(Asn(64501)),
        ]);
        let m = mirror(&other, &rules(vec![Afi::Ipv4]), None);
        assert!(!m.capabilities.contains(&Capability::ExtendedMessage));
        assert!(!m.capabilities.contains(&Capability::RouteRefresh));
    }

    #[test]
    fn families_the_pair_does_not_pass_are_not_offered() {
        let other = open(vec![
            Capability::Multiprotocol(Family::unicast(Afi::Ipv4)),
            Capability::Multiprotocol(Family::unicast(Afi::Ipv6)),
        ]);
        let m = mirror(&other, &rules(vec![Afi::Ipv6]), None);
        assert_eq!(m.unicast_families(), vec![Afi::Ipv6]);
        // A sender with only other families gets the pair's own offered, not plain IPv4.
        let v4_only = open(vec![Capability::Multiprotocol(Family::unicast(Afi::Ipv4))]);
        let m = mirror(&v4_only, &rules(vec![Afi::Ipv6]), None);
        assert_eq!(m.unicast_families(), vec![Afi::Ipv6]);
        // No multiprotocol capability at all (plain RFC 4271 IPv4) stays so.
        let plain = open(vec![Capability::RouteRefresh]);
        let m = mirror(&plain, &rules(vec![Afi::Ipv4, Afi::Ipv6]), None);
        assert_eq!(m.unicast_families(), vec![Afi::Ipv4]);
    }

    #[test]
    fn the_role_is_the_configured_one_whatever_the_sender_said() {
        let other = open(vec![Capability::Role(BgpRole::Customer)]);
        let m = mirror(&other, &rules(vec![Afi::Ipv4]), None);
        let roles: Vec<_> = m
            .capabilities
            .iter()
            .filter(|c| matches!(c, Capability::Role(_)))
            .collect();
        assert_eq!(roles, vec![&Capability::Role(BgpRole::Provider)]);
        let none = MirrorRules {
            role: None,
            ..rules(vec![Afi::Ipv4])
        };
        assert!(!mirror(&other, &none, None)
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::Role(_))));
    }

    #[test]
    fn the_receiver_is_never_sent_its_own_identifier() {
        let other = open(vec![]);
        let r = rules(vec![Afi::Ipv4]);
        assert_eq!(
            mirror(&other, &r, Some(Ipv4Addr::new(10, 0, 0, 1))).router_id,
            other.router_id
        );
        assert_eq!(
            mirror(&other, &r, Some(other.router_id)).router_id,
            r.fallback_id
        );
    }
}
