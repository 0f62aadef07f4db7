//! BGP capabilities (RFC 5492) as carried in the OPEN message: the ones bgpsieve negotiates are
//! typed (multiprotocol, route refresh, 4-octet AS, extended message, ADD-PATH, BGP Role,
//! graceful restart); every
//! other one, and a known one whose value is malformed, is kept as its code and bytes so it
//! round-trips exactly and can be logged. Pure encoding and decoding: no I/O.

use crate::types::{Afi, Asn, Role};
use std::fmt;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    pub const MULTIPROTOCOL: u8 = 1;
    pub const ROUTE_REFRESH: u8 = 2;
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    pub const EXTENDED_MESSAGE: u8 = 6;
    pub const ROLE: u8 = 9;
    pub const GRACEFUL_RESTART: u8 = 64;
    pub const FOUR_OCTET_AS: u8 = 65;
    pub const ADD_PATH: u8 = 69;
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    /// Pre-standard Cisco route refresh.
    pub const ROUTE_REFRESH_CISCO: u8 = 128;
}

pub const AFI_IPV4: u16 = 1;
pub const AFI_IPV6: u16 = 2;
pub const SAFI_UNICAST: u8 = 1;

/// The AFI code of a unicast family (RFC 4760, IANA "Address Family Numbers").
pub fn afi_code(afi: Afi) -> u16 {
    match afi {
        Afi::Ipv4 => AFI_IPV4,
        Afi::Ipv6 => AFI_IPV6,
    }
}

/// An AFI/SAFI pair as codes, so families bgpsieve does not carry (flowspec, VPN, …) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family {
    pub afi: u16,
    pub safi: u8,
}

impl Family {
    pub const IPV4_UNICAST: Family = Family {
        afi: AFI_IPV4,
        safi: SAFI_UNICAST,
    };
    pub const IPV6_UNICAST: Family = Family {
        afi: AFI_IPV6,
        safi: SAFI_UNICAST,
    };

    /// The unicast family of `afi`.
    pub fn unicast(afi: Afi) -> Family {
        Family {
            afi: afi_code(afi),
            safi: SAFI_UNICAST,
        }
    }

    /// The `Afi` of a unicast family; `None` for anything bgpsieve does not carry.
    pub fn unicast_afi(self) -> Option<Afi> {
        match (self.afi, self.safi) {
            (AFI_IPV4, SAFI_UNICAST) => Some(Afi::Ipv4),
            (AFI_IPV6, SAFI_UNICAST) => Some(Afi::Ipv6),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unicast_afi() {
            Some(afi) => write!(f, "{afi} unicast"),
            None => write!(f, "afi {} safi {}", self.afi, self.safi),
        }
    }
}

/// ADD-PATH Send/Receive field (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    Receive,
    Send,
    Both,
}

impl AddPathMode {
    pub fn code(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
        }
    }

    pub fn from_code(v: u8) -> Option<AddPathMode> {
        match v {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }

    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One (AFI, SAFI, Send/Receive) tuple of the ADD-PATH capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    pub family: Family,
    pub mode: AddPathMode,
}

/// One family of the graceful restart capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrFamily {
    pub family: Family,
    /// F: the sender kept its forwarding state for this family across its restart.
    pub forwarding: bool,
}

/// The graceful restart capability (RFC 4724 §3; the N bit is RFC 8538 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// R: the sender has restarted; its peer must not wait for its End-of-RIB before sending.
    pub restarting: bool,
    /// N: the sender supports graceful restart after a NOTIFICATION (RFC 8538).
    pub notification: bool,
    /// Seconds the sender asks its peer to keep its routes while it restarts (12 bits).
    pub restart_time: u16,
    /// The families whose routes the sender wants kept (none: it only helps its peers).
    pub families: Vec<GrFamily>,
}

impl GracefulRestart {
    const RESTARTING: u8 = 0x80;
    const NOTIFICATION: u8 = 0x40;
    const FORWARDING: u8 = 0x80;
    /// The restart time is a 12-bit field.
    pub const MAX_RESTART_TIME: u16 = 0x0fff;

    fn value(&self) -> Vec<u8> {
        let mut flags = 0u8;
        if self.restarting {
            flags |= Self::RESTARTING;
        }
        if self.notification {
            flags |= Self::NOTIFICATION;
        }
        let [t0, t1] = self.restart_time.min(Self::MAX_RESTART_TIME).to_be_bytes();
        let mut v = Vec::with_capacity(2 + 4 * self.families.len());
        v.extend_from_slice(&[flags | t0, t1]);
        for f in &self.families {
            v.extend_from_slice(&f.family.afi.to_be_bytes());
            v.push(f.family.safi);
            v.push(if f.forwarding { Self::FORWARDING } else { 0 });
        }
        v
    }

    /// Reserved bits are ignored (RFC 4724 §3: "ignored on receipt").
    fn decode(v: &[u8]) -> Option<GracefulRestart> {
        let (&[f0, f1], rest) = v.split_first_chunk::<2>()?;
        if rest.len() % 4 != 0 {
            return None;
        }
        let families = rest
            .chunks_exact(4)
            .filter_map(|c| match *c {
                [a0, a1, safi, flags] => Some(GrFamily {
                    family: Family {
                        afi: u16::from_be_bytes([a0, a1]),
                        safi,
                    },
                    forwarding: flags & Self::FORWARDING != 0,
                }),
                _ => None,
            })
            .collect();
        Some(GracefulRestart {
            restarting: f0 & Self::RESTARTING != 0,
            notification: f0 & Self::NOTIFICATION != 0,
            restart_time: u16::from_be_bytes([f0, f1]) & Self::MAX_RESTART_TIME,
            families,
        })
    }

    /// Whether the sender kept its forwarding state for unicast family `afi` (listed with F).
    pub fn forwarding(&self, afi: Afi) -> bool {
        self.families
            .iter()
            .any(|f| f.family == Family::unicast(afi) && f.forwarding)
    }

    /// Whether unicast family `afi` is listed.
    pub fn lists(&self, afi: Afi) -> bool {
        self.families
            .iter()
            .any(|f| f.family == Family::unicast(afi))
    }
}

/// The BGP Role a speaker advertises for ITSELF on a session (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BgpRole {
    /// 0: the sender is the provider of the receiver.
    Provider,
    /// 1: the sender is a route server.
    RouteServer,
    /// 2: the sender is a route-server client.
    RsClient,
    /// 3: the sender is the customer of the receiver.
    Customer,
    /// 4: the sender and the receiver are lateral peers.
    Peer,
    /// An unassigned value: never consistent with any role.
    Other(u8),
}

impl BgpRole {
    pub fn code(self) -> u8 {
        match self {
            BgpRole::Provider => 0,
            BgpRole::RouteServer => 1,
            BgpRole::RsClient => 2,
            BgpRole::Customer => 3,
            BgpRole::Peer => 4,
            BgpRole::Other(v) => v,
        }
    }

    pub fn from_code(v: u8) -> BgpRole {
        match v {
            0 => BgpRole::Provider,
            1 => BgpRole::RouteServer,
            2 => BgpRole::RsClient,
            3 => BgpRole::Customer,
            4 => BgpRole::Peer,
            v => BgpRole::Other(v),
        }
    }

    /// The role WE advertise to a neighbor whose relationship to us is `neighbor` (our config
    /// names the neighbor's role: a neighbor that is our provider makes us its customer).
    pub fn ours_toward(neighbor: Role) -> BgpRole {
        match neighbor {
            Role::Provider => BgpRole::Customer,
            Role::Customer => BgpRole::Provider,
            Role::Peer => BgpRole::Peer,
            Role::Rs => BgpRole::RsClient,
            Role::RsClient => BgpRole::RouteServer,
        }
    }

    /// The only role a neighbor may advertise when we advertise `self` (RFC 9234 §4.2,
    /// Table 2). `None` for an unassigned role, which nothing matches.
    pub fn expected_peer_role(self) -> Option<BgpRole> {
        match self {
            BgpRole::Provider => Some(BgpRole::Customer),
            BgpRole::Customer => Some(BgpRole::Provider),
            BgpRole::RouteServer => Some(BgpRole::RsClient),
            BgpRole::RsClient => Some(BgpRole::RouteServer),
            BgpRole::Peer => Some(BgpRole::Peer),
            BgpRole::Other(_) => None,
        }
    }
}

impl fmt::Display for BgpRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BgpRole::Provider => f.write_str("provider"),
            BgpRole::RouteServer => f.write_str("rs"),
            BgpRole::RsClient => f.write_str("rs-client"),
            BgpRole::Customer => f.write_str("customer"),
            BgpRole::Peer => f.write_str("peer"),
            BgpRole::Other(v) => write!(f, "unassigned role {v}"),
        }
    }
}

/// A capability whose length runs past the end of its optional parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("capability length overruns its optional parameter")]
pub struct Truncated;

/// One capability of an OPEN (RFC 5492 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// 1: RFC 4760 §8.
    Multiprotocol(Family),
    /// 2: RFC 2918.
    RouteRefresh,
    /// 70: RFC 7313.
    EnhancedRouteRefresh,
    /// 65: RFC 6793.
    FourOctetAs(Asn),
    /// 6: RFC 8654.
    ExtendedMessage,
    /// 69: RFC 7911, one entry per family.
    AddPath(Vec<AddPathFamily>),
    /// 9: RFC 9234, the sender's own role.
    Role(BgpRole),
    /// 64: RFC 4724 (and RFC 8538's N bit).
    GracefulRestart(GracefulRestart),
    /// Anything else, and a known code with a malformed value: kept byte for byte. Long-lived
    /// graceful restart (71) lands here: bgpsieve does not do it.
    Unknown { code: u8, value: Vec<u8> },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::Role(_) => code::ROLE,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// The value, without code and length.
    pub fn value(&self) -> Vec<u8> {
        match self {
            Capability::Multiprotocol(f) => {
                let [a0, a1] = f.afi.to_be_bytes();
                vec![a0, a1, 0, f.safi]
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => Vec::new(),
            Capability::FourOctetAs(asn) => asn.0.to_be_bytes().to_vec(),
            Capability::AddPath(entries) => {
                let mut v = Vec::with_capacity(entries.len() * 4);
                for e in entries {
                    v.extend_from_slice(&e.family.afi.to_be_bytes());
                    v.push(e.family.safi);
                    v.push(e.mode.code());
                }
                v
            }
            Capability::Role(r) => vec![r.code()],
            Capability::GracefulRestart(gr) => gr.value(),
            Capability::Unknown { value, .. } => value.clone(),
        }
    }

    /// Appends code, length and value. `None` if the value does not fit the 1-octet length
    /// (only possible for a hand-built `AddPath` of more than 63 families or an oversize
    /// `Unknown`); nothing is appended then.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Option<()> {
        let value = self.value();
        let len = u8::try_from(value.len()).ok()?;
        out.push(self.code());
        out.push(len);
        out.extend_from_slice(&value);
        Some(())
    }

    /// Code, length and value, as they appear in an OPEN (and in the data of a 2/7).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Some(out)
    }

    /// Interprets one capability's value. Never fails: a value of the wrong shape gives
    /// `Unknown` with the same code and bytes.
    pub fn from_parts(code: u8, value: &[u8]) -> Capability {
        let parsed = match (code, value) {
            (code::MULTIPROTOCOL, &[a0, a1, _reserved, safi]) => {
                Some(Capability::Multiprotocol(Family {
                    afi: u16::from_be_bytes([a0, a1]),
                    safi,
                }))
            }
            (code::ROUTE_REFRESH, []) => Some(Capability::RouteRefresh),
            (code::ENHANCED_ROUTE_REFRESH, []) => Some(Capability::EnhancedRouteRefresh),
            (code::EXTENDED_MESSAGE, []) => Some(Capability::ExtendedMessage),
            (code::FOUR_OCTET_AS, &[a, b, c, d]) => {
                Some(Capability::FourOctetAs(Asn(u32::from_be_bytes([
                    a, b, c, d,
                ]))))
            }
            (code::ROLE, &[r]) => Some(Capability::Role(BgpRole::from_code(r))),
            (code::GRACEFUL_RESTART, v) => {
                GracefulRestart::decode(v).map(Capability::GracefulRestart)
            }
            (code::ADD_PATH, v) if !v.is_empty() && v.len() % 4 == 0 => v
                .chunks_exact(4)
                .map(|c| match *c {
                    [a0, a1, safi, mode] => Some(AddPathFamily {
                        family: Family {
                            afi: u16::from_be_bytes([a0, a1]),
                            safi,
                        },
                        mode: AddPathMode::from_code(mode)?,
                    }),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Capability::AddPath),
            _ => None,
        };
        parsed.unwrap_or_else(|| Capability::Unknown {
            code,
            value: value.to_vec(),
        })
    }

    /// Decodes a sequence of capabilities (the value of one Capabilities optional parameter,
    /// RFC 5492 §4), appending to `out`. Fails if a length overruns the parameter.
    pub fn decode_list(mut bytes: &[u8], out: &mut Vec<Capability>) -> Result<(), Truncated> {
        while let Some((&code, rest)) = bytes.split_first() {
            let (&len, rest) = rest.split_first().ok_or(Truncated)?;
            let (value, rest) = rest.split_at_checked(usize::from(len)).ok_or(Truncated)?;
            out.push(Capability::from_parts(code, value));
            bytes = rest;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::codec::testutil::{hex, xorshift_bytes};

    fn round_trip(wire: &str, cap: Capability) {
        let bytes = hex(wire);
        let mut got = Vec::new();
        Capability::decode_list(&bytes, &mut got).unwrap();
        assert_eq!(got, vec![cap.clone()], "decoding {wire}");
        assert_eq!(cap.encode().unwrap(), bytes, "encoding {cap:?}");
    }

    #[test]
    fn multiprotocol_ipv4_and_ipv6_unicast() {
        round_trip(
            "010400010001",
            Capability::Multiprotocol(Family::IPV4_UNICAST),
        );
        round_trip(
            "010400020001",
            Capability::Multiprotocol(Family::IPV6_UNICAST),
        );
        // Flowspec (SAFI 133), from pcap/wireshark/BGP_flowspec_v6.cap: kept, not unicast.
        let fs = Family { afi: 2, safi: 133 };
        round_trip("010400020085", Capability::Multiprotocol(fs));
        assert_eq!(fs.unicast_afi(), None);
        assert_eq!(Family::IPV6_UNICAST.unicast_afi(), Some(Afi::Ipv6));
        assert_eq!(Family::unicast(Afi::Ipv4), Family::IPV4_UNICAST);
    }

    #[test]
    fn flag_capabilities() {
        round_trip("0200", Capability::RouteRefresh);
        round_trip("4600", Capability::EnhancedRouteRefresh);
        round_trip("0600", Capability::ExtendedMessage);
        // Cisco's pre-standard route refresh is not RFC 2918's.
        round_trip(
            "8000",
            Capability::Unknown {
                code: 128,
                value: vec![],
            },
        );
    }

    #[test]
    fn four_octet_as() {
        // From pcap/pmacct-tests/305-BGP-mem-leak-test-bgp-multi-sources-open.pcap.
        round_trip("4104fbf00035", Capability::FourOctetAs(Asn(4_226_809_909)));
        round_trip("410400000001", Capability::FourOctetAs(Asn(1)));
    }

    #[test]
    fn add_path_per_family() {
        // pcap/wireshark/bgp-add-path.cap: IPv4 unicast, send and receive.
        round_trip(
            "450400010103",
            Capability::AddPath(vec![AddPathFamily {
                family: Family::IPV4_UNICAST,
                mode: AddPathMode::Both,
            }]),
        );
        // pcap/wireshark/bgplu.cap: receive for IPv4 unicast and IPv4 labeled unicast.
        round_trip(
            "45080001010100010401",
            Capability::AddPath(vec![
                AddPathFamily {
                    family: Family::IPV4_UNICAST,
                    mode: AddPathMode::Receive,
                },
                AddPathFamily {
                    family: Family { afi: 1, safi: 4 },
                    mode: AddPathMode::Receive,
                },
            ]),
        );
        round_trip(
            "450400020102",
            Capability::AddPath(vec![AddPathFamily {
                family: Family::IPV6_UNICAST,
                mode: AddPathMode::Send,
            }]),
        );
    }

    #[test]
    fn role_values_of_rfc_9234() {
        for (v, role) in [
            (0, BgpRole::Provider),
            (1, BgpRole::RouteServer),
            (2, BgpRole::RsClient),
            (3, BgpRole::Customer),
            (4, BgpRole::Peer),
            (5, BgpRole::Other(5)),
        ] {
            round_trip(&format!("0901{v:02x}"), Capability::Role(role));
        }
    }

    #[test]
    fn graceful_restart_with_its_flags_and_families() {
        // pcap/netgauze/bgp-multiple-sessions-traffic.pcap: GR with restart time 120 and two
        // families, IPv4 unicast without F and IPv6 unicast with it.
        round_trip(
            "400a00780001010000020180",
            Capability::GracefulRestart(GracefulRestart {
                restarting: false,
                notification: false,
                restart_time: 120,
                families: vec![
                    GrFamily {
                        family: Family::IPV4_UNICAST,
                        forwarding: false,
                    },
                    GrFamily {
                        family: Family::IPV6_UNICAST,
                        forwarding: true,
                    },
                ],
            }),
        );
        // R and N set, restart time 4095, no family (a helper only).
        let gr = GracefulRestart {
            restarting: true,
            notification: true,
            restart_time: 4095,
            families: vec![],
        };
        round_trip("4002cfff", Capability::GracefulRestart(gr.clone()));
        assert!(!gr.lists(Afi::Ipv4));
        // Reserved bits are ignored; a longer restart time is cut to 12 bits.
        let mut got = Vec::new();
        Capability::decode_list(&hex("4002 3078"), &mut got).unwrap();
        assert!(
            matches!(&got[..], [Capability::GracefulRestart(g)] if g.restart_time == 120 && !g.restarting)
        );
        let long = GracefulRestart {
            restart_time: 5000,
            ..gr
        };
        assert_eq!(Capability::GracefulRestart(long).value(), hex("cfff"));
        // A value that is not 2 + 4n bytes long is kept as it came.
        round_trip(
            "40030078ff",
            Capability::Unknown {
                code: 64,
                value: hex("0078ff"),
            },
        );
        // Long-lived graceful restart stays opaque.
        round_trip(
            "470700010180000e10",
            Capability::Unknown {
                code: 71,
                value: hex("00010180000e10"),
            },
        );
    }

    #[test]
    fn forwarding_is_per_listed_family() {
        let gr = GracefulRestart {
            restarting: false,
            notification: false,
            restart_time: 120,
            families: vec![GrFamily {
                family: Family::IPV6_UNICAST,
                forwarding: true,
            }],
        };
        assert!(gr.forwarding(Afi::Ipv6) && gr.lists(Afi::Ipv6));
        assert!(!gr.forwarding(Afi::Ipv4) && !gr.lists(Afi::Ipv4));
    }

    #[test]
    fn malformed_known_capabilities_are_kept_as_unknown() {
        for (wire, code, value) in [
            ("010300010f", 1u8, "00010f"),
            ("020101", 2, "01"),
            ("4103000001", 65, "000001"),
            ("0902 0304", 9, "0304"),
            ("0900", 9, ""),
            ("450400010104", 69, "00010104"),
            ("45030001 01", 69, "000101"),
            ("4500", 69, ""),
            ("060100", 6, "00"),
        ] {
            round_trip(
                wire,
                Capability::Unknown {
                    code,
                    value: hex(value),
                },
            );
        }
    }

    #[test]
    fn several_capabilities_in_one_parameter() {
        let bytes = hex("0104000100010200 4104 0000fde8");
        let mut got = Vec::new();
        Capability::decode_list(&bytes, &mut got).unwrap();
        assert_eq!(
            got,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::FourOctetAs(Asn(65000))
            ]
        );
    }

    #[test]
    fn overrunning_lengths_are_errors() {
        for wire in ["01", "0105000100", "0200 41"] {
            assert_eq!(
                Capability::decode_list(&hex(wire), &mut Vec::new()),
                Err(Truncated),
                "{wire}"
            );
        }
        assert_eq!(Capability::decode_list(&[], &mut Vec::new()), Ok(()));
    }

    #[test]
    fn oversize_values_are_not_encoded() {
        let big = Capability::Unknown {
            code: 200,
            value: vec![0; 256],
        };
        assert_eq!(big.encode(), None);
        let mut out = vec![1];
        assert_eq!(big.encode_into(&mut out), None);
        assert_eq!(out, vec![1]);
    }

    #[test]
    fn our_role_toward_each_neighbor() {
        assert_eq!(BgpRole::ours_toward(Role::Provider), BgpRole::Customer);
        assert_eq!(BgpRole::ours_toward(Role::Customer), BgpRole::Provider);
        assert_eq!(BgpRole::ours_toward(Role::Peer), BgpRole::Peer);
        assert_eq!(BgpRole::ours_toward(Role::Rs), BgpRole::RsClient);
        assert_eq!(BgpRole::ours_toward(Role::RsClient), BgpRole::RouteServer);
    }

    #[test]
    fn decode_list_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..4000 {
            let bytes = xorshift_bytes(&mut state, 40);
            let mut out = Vec::new();
            if Capability::decode_list(&bytes, &mut out).is_ok() {
                // Whatever decodes re-encodes to something that decodes the same (the
                // MP reserved octet is the one field not kept).
                let mut again = Vec::new();
                for c in &out {
                    c.encode_into(&mut again).unwrap();
                }
                let mut twice = Vec::new();
                Capability::decode_list(&again, &mut twice).unwrap();
                assert_eq!(twice, out);
            }
        }
    }
}
