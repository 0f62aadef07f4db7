//! The BGP OPEN message (RFC 4271 §4.2, optional parameters RFC 5492 and RFC 9072) and the
//! negotiation of session parameters from the two OPENs: peer AS and identifier checks, hold
//! time, families (RFC 4760), ADD-PATH (RFC 7911), 4-octet AS (RFC 6793), extended messages
//! (RFC 8654) and RFC 9234 roles. A refusal comes back as the exact NOTIFICATION to send.
//! Pure functions over values: no I/O, no timers; the FSM decides when to call them.

use super::capability::{AddPathFamily, AddPathMode, BgpRole, Capability, Family};
use super::codec::{self, EncodeError, MessageType, HEADER_LEN, MAX_LEN};
use super::notification::Notification;
use crate::types::{Afi, Asn, Role};
use std::net::Ipv4Addr;

/// The BGP version we speak.
pub const BGP_VERSION: u8 = 4;
/// RFC 6793 §2: the 2-octet stand-in for an ASN above 65535.
pub const AS_TRANS: u16 = 23456;

/// Optional parameter type of the Capabilities parameter (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 §2: this Non-Ext OP Type announces the extended optional parameters format.
const PARAM_EXTENDED_LENGTH: u8 = 255;

/// An OPEN message (RFC 4271 §4.2). All capabilities of all Capabilities parameters are
/// gathered in `capabilities`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    pub my_as: u16,
    pub hold_time: u16,
    pub router_id: Ipv4Addr,
    pub capabilities: Vec<Capability>,
}

/// What we offer to one neighbor: the input of [`Open::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSpeaker {
    /// The operator's AS.
    pub asn: Asn,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    /// Unicast families offered (each becomes a multiprotocol capability).
    pub families: Vec<Afi>,
    /// ADD-PATH offered per family (RFC 7911); empty = no ADD-PATH capability.
    pub add_path: Vec<(Afi, AddPathMode)>,
    /// The other end's relationship to us; decides the RFC 9234 role we advertise (`None`:
    /// no Role capability).
    pub neighbor_role: Option<Role>,
    /// Advertise RFC 8654 extended messages.
    pub extended_message: bool,
    /// Advertise RFC 7313 enhanced route refresh (the session must then bracket every
    /// re-advertisement with BoRR/EoRR).
    pub enhanced_route_refresh: bool,
}

/// What we require of the neighbor's OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerExpectation {
    /// The neighbor's configured AS.
    pub asn: Asn,
    /// Our AS (equal to `asn` on the iBGP session to our router).
    pub local_asn: Asn,
    /// Our view of the neighbor (`Provider` = the neighbor is our provider); `None`: no RFC
    /// 9234 role on this session.
    pub role: Option<Role>,
    /// RFC 9234 strict mode: refuse a neighbor that sends no Role capability.
    pub role_strict: bool,
}

impl PeerExpectation {
    pub fn is_ibgp(&self) -> bool {
        self.asn == self.local_asn
    }
}

/// The session parameters both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub peer_asn: Asn,
    pub peer_router_id: Ipv4Addr,
    /// Seconds; 0 = no hold timer and no keepalives.
    pub hold_time: u16,
    /// Seconds between our KEEPALIVEs: a third of the hold time.
    pub keepalive: u16,
    pub four_octet_asn: bool,
    /// Unicast families both sides offered, in our order.
    pub families: Vec<Afi>,
    /// Families on which the peer sends us path identifiers.
    pub add_path_receive: Vec<Afi>,
    /// Families on which we send path identifiers.
    pub add_path_send: Vec<Afi>,
    pub extended_message: bool,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    /// The role the peer advertised for itself (eBGP only; `None` when absent or on iBGP).
    pub peer_role: Option<BgpRole>,
    /// Graceful restart, when both sides advertised it (RFC 4724).
    pub graceful_restart: Option<super::graceful::GrSession>,
}

impl Negotiated {
    /// The largest message either side may send on this session.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            codec::EXTENDED_MAX_LEN
        } else {
            MAX_LEN
        }
    }
}

impl Open {
    /// Our OPEN toward one neighbor.
    pub fn new(local: &LocalSpeaker) -> Open {
        let mut caps: Vec<Capability> = local
            .families
            .iter()
            .map(|&a| Capability::Multiprotocol(Family::unicast(a)))
            .collect();
        caps.push(Capability::RouteRefresh);
        if local.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        caps.push(Capability::FourOctetAs(local.asn));
        if local.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if !local.add_path.is_empty() {
            caps.push(Capability::AddPath(
                local
                    .add_path
                    .iter()
                    .map(|&(afi, mode)| AddPathFamily {
                        family: Family::unicast(afi),
                        mode,
                    })
                    .collect(),
            ));
        }
        if let Some(role) = local.neighbor_role {
            caps.push(Capability::Role(BgpRole::ours_toward(role)));
        }
        Open {
            version: BGP_VERSION,
            my_as: u16::try_from(local.asn.0).unwrap_or(AS_TRANS),
            hold_time: local.hold_time,
            router_id: local.router_id,
            capabilities: caps,
        }
    }

    /// The sender's AS: from the 4-octet AS capability when present (RFC 6793 §4.1), else
    /// `my_as`.
    pub fn asn(&self) -> Asn {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(Asn(u32::from(self.my_as)))
    }

    /// The graceful restart capability (first one wins).
    pub fn graceful_restart(&self) -> Option<&super::capability::GracefulRestart> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g),
            _ => None,
        })
    }

    fn has(&self, cap: &Capability) -> bool {
        self.capabilities.contains(cap)
    }

    fn has_four_octet_as(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    /// The unicast families this OPEN offers; IPv4 unicast when it has no multiprotocol
    /// capability at all (RFC 4760 §8: such a speaker does plain RFC 4271 BGP).
    pub fn unicast_families(&self) -> Vec<Afi> {
        let mut any_mp = false;
        let mut out = Vec::new();
        for c in &self.capabilities {
            if let Capability::Multiprotocol(f) = c {
                any_mp = true;
                if let Some(afi) = f.unicast_afi() {
                    if !out.contains(&afi) {
                        out.push(afi);
                    }
                }
            }
        }
        if !any_mp {
            out.push(Afi::Ipv4);
        }
        out
    }

    /// The ADD-PATH mode this OPEN announces for `afi` unicast (first entry wins).
    pub fn add_path_mode(&self, afi: Afi) -> Option<AddPathMode> {
        let family = Family::unicast(afi);
        self.capabilities.iter().find_map(|c| match c {
            Capability::AddPath(entries) => {
                entries.iter().find(|e| e.family == family).map(|e| e.mode)
            }
            _ => None,
        })
    }

    /// The body: everything after the header. Capabilities go in one Capabilities parameter,
    /// in the RFC 9072 extended format only when the classic 1-octet length cannot hold them.
    pub fn encode_body(&self) -> Result<Vec<u8>, EncodeError> {
        let mut caps = Vec::new();
        for c in &self.capabilities {
            c.encode_into(&mut caps)
                .ok_or(EncodeError::CapabilityTooLong { code: c.code() })?;
        }
        let mut body = Vec::with_capacity(16 + caps.len());
        body.push(self.version);
        body.extend_from_slice(&self.my_as.to_be_bytes());
        body.extend_from_slice(&self.hold_time.to_be_bytes());
        body.extend_from_slice(&self.router_id.octets());
        if caps.is_empty() {
            body.push(0);
        } else if let Ok(len) = u8::try_from(caps.len() + 2) {
            body.push(len);
            body.push(PARAM_CAPABILITIES);
            // `caps.len() + 2` fits a u8, so does `caps.len()`.
            body.push(len - 2);
            body.extend_from_slice(&caps);
        } else {
            let too_long = || EncodeError::BadLength {
                kind: MessageType::Open,
                len: HEADER_LEN + 16 + caps.len(),
                min: MessageType::Open.min_len(),
                max: MAX_LEN,
            };
            let cap_len = u16::try_from(caps.len()).map_err(|_| too_long())?;
            let ext_len = cap_len.checked_add(3).ok_or_else(too_long)?;
            body.push(255);
            body.push(PARAM_EXTENDED_LENGTH);
            body.extend_from_slice(&ext_len.to_be_bytes());
            body.push(PARAM_CAPABILITIES);
            body.extend_from_slice(&cap_len.to_be_bytes());
            body.extend_from_slice(&caps);
        }
        Ok(body)
    }

    /// The complete message. Fails if a capability value exceeds 255 bytes or the OPEN
    /// exceeds 4096 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(MessageType::Open, &self.encode_body()?)
    }

    /// Decodes the body (after the header). Errors: version ≠ 4 → 2/1 (data 4); an optional
    /// parameter other than Capabilities → 2/4; lengths that do not add up → 2/0.
    pub fn decode(body: &[u8]) -> Result<Open, Notification> {
        let malformed = Notification::malformed_open;
        let (fixed, rest) = body.split_at_checked(10).ok_or_else(malformed)?;
        let &[version, as0, as1, h0, h1, i0, i1, i2, i3, opt_len] = fixed else {
            return Err(malformed());
        };
        if version != BGP_VERSION {
            return Err(Notification::unsupported_version(u16::from(BGP_VERSION)));
        }
        let mut capabilities = Vec::new();
        // RFC 9072 §2: a non-zero length followed by type 255 means the extended format:
        // 2-octet total length, and 2-octet lengths in every parameter.
        let extended = opt_len != 0 && rest.first() == Some(&PARAM_EXTENDED_LENGTH);
        let (params, len_size) = if extended {
            let (ext_len, params) = rest
                .get(1..)
                .and_then(|r| r.split_first_chunk::<2>())
                .ok_or_else(malformed)?;
            if usize::from(u16::from_be_bytes(*ext_len)) != params.len() {
                return Err(malformed());
            }
            (params, 2)
        } else {
            if usize::from(opt_len) != rest.len() {
                return Err(malformed());
            }
            (rest, 1)
        };
        let mut params = params;
        while let Some((&kind, after)) = params.split_first() {
            let (len, after) = if len_size == 2 {
                let (l, after) = after.split_first_chunk::<2>().ok_or_else(malformed)?;
                (usize::from(u16::from_be_bytes(*l)), after)
            } else {
                let (&l, after) = after.split_first().ok_or_else(malformed)?;
                (usize::from(l), after)
            };
            let (value, after) = after.split_at_checked(len).ok_or_else(malformed)?;
            if kind != PARAM_CAPABILITIES {
                return Err(Notification::unsupported_optional_parameter());
            }
            Capability::decode_list(value, &mut capabilities).map_err(|_| malformed())?;
            params = after;
        }
        Ok(Open {
            version,
            my_as: u16::from_be_bytes([as0, as1]),
            hold_time: u16::from_be_bytes([h0, h1]),
            router_id: Ipv4Addr::new(i0, i1, i2, i3),
            capabilities,
        })
    }
}

/// Checks the neighbor's OPEN against what we expect and what we sent, and derives the session
/// parameters. Checks in the order of RFC 4271 §6.2: version (2/1, data 4), peer AS (2/2,
/// also AS 0 per RFC 7607), hold time 1 or 2 s (2/6), BGP identifier 0 or, on iBGP, equal to
/// ours (2/3, RFC 6286 §2.2), then RFC 9234 roles (2/11) and a common family (2/7).
/// Unknown capabilities are ignored, never refused.
pub fn negotiate(
    local: &Open,
    remote: &Open,
    expect: &PeerExpectation,
) -> Result<Negotiated, Notification> {
    if remote.version != BGP_VERSION {
        return Err(Notification::unsupported_version(u16::from(BGP_VERSION)));
    }
    let four_octet_asn = local.has_four_octet_as() && remote.has_four_octet_as();
    let peer_asn = if four_octet_asn {
        remote.asn()
    } else {
        Asn(u32::from(remote.my_as))
    };
    if peer_asn != expect.asn || peer_asn.0 == 0 {
        return Err(Notification::bad_peer_as_for(peer_asn.0));
    }
    if matches!(remote.hold_time, 1 | 2) {
        return Err(Notification::unacceptable_hold_time());
    }
    if remote.router_id.is_unspecified()
        || (expect.is_ibgp() && remote.router_id == local.router_id)
    {
        return Err(Notification::bad_bgp_identifier());
    }
    let peer_role = check_roles(remote, expect)?;

    let theirs = remote.unicast_families();
    let families: Vec<Afi> = local
        .unicast_families()
        .into_iter()
        .filter(|a| theirs.contains(a))
        .collect();
    if families.is_empty() {
        // RFC 5492 §5: the data names the capabilities that made us refuse: our families.
        let mut data = Vec::new();
        for afi in local.unicast_families() {
            // A 4-byte value always fits.
            let _ = Capability::Multiprotocol(Family::unicast(afi)).encode_into(&mut data);
        }
        return Err(Notification::unsupported_capability(&data));
    }

    // RFC 7911 §4: a path identifier flows toward a side that said receive, from a side that
    // said send.
    let mut add_path_receive = Vec::new();
    let mut add_path_send = Vec::new();
    for &afi in &families {
        let (Some(ours), Some(peer)) = (local.add_path_mode(afi), remote.add_path_mode(afi)) else {
            continue;
        };
        if ours.receives() && peer.sends() {
            add_path_receive.push(afi);
        }
        if ours.sends() && peer.receives() {
            add_path_send.push(afi);
        }
    }

    let both = |c: &Capability| local.has(c) && remote.has(c);
    let hold_time = local.hold_time.min(remote.hold_time);
    Ok(Negotiated {
        peer_asn,
        peer_router_id: remote.router_id,
        hold_time,
        keepalive: hold_time / 3,
        four_octet_asn,
        families,
        add_path_receive,
        add_path_send,
        extended_message: both(&Capability::ExtendedMessage),
        route_refresh: both(&Capability::RouteRefresh),
        enhanced_route_refresh: both(&Capability::EnhancedRouteRefresh),
        peer_role,
        graceful_restart: super::graceful::negotiate(local, remote),
    })
}

/// RFC 9234 §4.2. Only on eBGP sessions, where we advertise a role: the neighbor's role(s)
/// must all be equal and be the counterpart of ours (Table 2), and in strict mode present.
/// A Role capability whose length is not 1 counts as a mismatch.
fn check_roles(remote: &Open, expect: &PeerExpectation) -> Result<Option<BgpRole>, Notification> {
    let Some(ours) = expect.role.map(BgpRole::ours_toward) else {
        return Ok(None);
    };
    let mut peer_role: Option<BgpRole> = None;
    for c in &remote.capabilities {
        let role = match c {
            Capability::Role(r) => *r,
            Capability::Unknown { code, .. } if *code == super::capability::code::ROLE => {
                return Err(Notification::role_mismatch())
            }
            _ => continue,
        };
        match peer_role {
            Some(seen) if seen != role => return Err(Notification::role_mismatch()),
            _ => peer_role = Some(role),
        }
    }
    match peer_role {
        Some(r) if Some(r) != ours.expected_peer_role() => Err(Notification::role_mismatch()),
        None if expect.role_strict => Err(Notification::role_mismatch()),
        r => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::capability::code as cap_code;
    use crate::bgp::codec::testutil::{hex, xorshift_bytes};
    use crate::bgp::codec::Decoder;

    const MARKER_HEX: &str = "ffffffffffffffffffffffffffffffff";

    /// Frames a captured message with the real decoder and decodes its OPEN body.
    fn decode_wire(wire: &[u8]) -> Open {
        let mut buf = wire.to_vec();
        let frame = Decoder::new().decode(&mut buf).unwrap().unwrap();
        assert_eq!(frame.kind, MessageType::Open);
        assert!(buf.is_empty());
        Open::decode(&frame.body).unwrap()
    }

    fn mp(afi: Afi) -> Capability {
        Capability::Multiprotocol(Family::unicast(afi))
    }

    fn unknown(code: u8, value: &str) -> Capability {
        Capability::Unknown {
            code,
            value: hex(value),
        }
    }

    fn open(my_as: u16, id: [u8; 4], capabilities: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as,
            hold_time: 90,
            router_id: Ipv4Addr::from(id),
            capabilities,
        }
    }

    fn speaker(neighbor_role: Role) -> LocalSpeaker {
        LocalSpeaker {
            neighbor_role: Some(neighbor_role),
            ..speaker_without_role()
        }
    }

    /// A speaker that advertises no RFC 9234 role (an iBGP session).
    fn speaker_without_role() -> LocalSpeaker {
        LocalSpeaker {
            asn: Asn(64500),
            router_id: Ipv4Addr::new(192, 0, 2, 1),
            hold_time: 90,
            families: vec![Afi::Ipv4, Afi::Ipv6],
            add_path: vec![],
            neighbor_role: None,
            extended_message: true,
            enhanced_route_refresh: false,
        }
    }

    fn expect(asn: u32, role: Role) -> PeerExpectation {
        PeerExpectation {
            asn: Asn(asn),
            local_asn: Asn(64500),
            role: Some(role),
            role_strict: false,
        }
    }

    /// An iBGP session: no role checks.
    fn expect_ibgp(asn: u32) -> PeerExpectation {
        PeerExpectation {
            role: None,
            ..expect(asn, Role::Peer)
        }
    }

    /// A well-behaved eBGP neighbor in AS 64501 with the given extra capabilities.
    fn neighbor(extra: Vec<Capability>) -> Open {
        let mut caps = vec![
            mp(Afi::Ipv4),
            mp(Afi::Ipv6),
            Capability::RouteRefresh,
            Capability::FourOctetAs(Asn(64501)),
        ];
        caps.extend(extra);
        open(64501, [198, 51, 100, 1], caps)
    }

    // ---- wire: captured OPENs ----

    #[test]
    fn open_from_wireshark_bgp_add_path_cap() {
        // pcap/wireshark/bgp-add-path.cap, 10.0.0.6 → 10.0.0.4: one capability per parameter.
        let wire = hex(&format!(
            "{MARKER_HEX}00410104fc0000b40a0000062402060104000100010202800002020200\
             020246000206450400010103020641040000fc00"
        ));
        let o = decode_wire(&wire);
        assert_eq!(
            o,
            Open {
                version: 4,
                my_as: 64512,
                hold_time: 180,
                router_id: Ipv4Addr::new(10, 0, 0, 6),
                capabilities: vec![
                    mp(Afi::Ipv4),
                    unknown(cap_code::ROUTE_REFRESH_CISCO, ""),
                    Capability::RouteRefresh,
                    Capability::EnhancedRouteRefresh,
                    Capability::AddPath(vec![AddPathFamily {
                        family: Family::IPV4_UNICAST,
                        mode: AddPathMode::Both
                    }]),
                    Capability::FourOctetAs(Asn(64512)),
                ]
            }
        );
        // We re-encode in one parameter (RFC 5492 allows either); the meaning is the same.
        let again = o.encode().unwrap();
        assert_eq!(again.len(), wire.len() - 5 * 2);
        assert_eq!(decode_wire(&again), o);
        // Both ends of that capture agree on ADD-PATH in both directions for IPv4.
        let peer = decode_wire(&hex(&format!(
            "{MARKER_HEX}00410104fc0000b40a0022042402060104000100010202800002020200\
             020246000206450400010103020641040000fc00"
        )));
        let n = negotiate(
            &o,
            &peer,
            &PeerExpectation {
                asn: Asn(64512),
                local_asn: Asn(64512),
                role: None,
                role_strict: false,
            },
        )
        .unwrap();
        assert_eq!(n.families, vec![Afi::Ipv4]);
        assert_eq!(n.add_path_receive, vec![Afi::Ipv4]);
        assert_eq!(n.add_path_send, vec![Afi::Ipv4]);
        assert!(n.route_refresh && n.enhanced_route_refresh && n.four_octet_asn);
        assert_eq!((n.hold_time, n.keepalive), (180, 60));
    }

    #[test]
    fn open_from_wireshark_4_byte_as_numbers_full_support_cap() {
        // pcap/wireshark/4-byte_AS_numbers_Full_Support.cap: AS 40.1 behind AS_TRANS, and an
        // unassigned capability 131 that must be kept.
        let wire = hex(&format!(
            "{MARKER_HEX}003a01045ba000b4280000011d0206010400010001020280000202020002\
             038301000206410400280001"
        ));
        let o = decode_wire(&wire);
        assert_eq!(o.my_as, AS_TRANS);
        assert_eq!(o.router_id, Ipv4Addr::new(40, 0, 0, 1));
        assert_eq!(o.asn(), Asn(2_621_441));
        assert_eq!(
            o.capabilities,
            vec![
                mp(Afi::Ipv4),
                unknown(128, ""),
                Capability::RouteRefresh,
                unknown(131, "00"),
                Capability::FourOctetAs(Asn(0x0028_0001)),
            ]
        );
        assert_eq!(decode_wire(&o.encode().unwrap()), o);
        // The other side, AS 10.1, accepts it: the real ASN comes from the capability.
        let local = decode_wire(&hex(&format!(
            "{MARKER_HEX}003a01045ba000b40a0000011d0206010400010001020280000202020002\
             038301000206410400 0a0001"
        )));
        let n = negotiate(
            &local,
            &o,
            &PeerExpectation {
                asn: Asn(2_621_441),
                local_asn: Asn(655_361),
                role: Some(Role::Peer),
                role_strict: false,
            },
        )
        .unwrap();
        assert_eq!(n.peer_asn, Asn(2_621_441));
        assert!(n.four_octet_asn);
        assert_eq!(n.peer_role, None);
    }

    #[test]
    fn open_from_ryu_bgp4_open_pcap() {
        // pcap/ryu/bgp4-open.pcap.
        let wire = hex(&format!(
            "{MARKER_HEX}00350104fffe00b4ac1150351802060104000100010202800002020200\
             020641040000fffe"
        ));
        let o = decode_wire(&wire);
        assert_eq!(
            o,
            Open {
                version: 4,
                my_as: 65534,
                hold_time: 180,
                router_id: Ipv4Addr::new(172, 17, 80, 53),
                capabilities: vec![
                    mp(Afi::Ipv4),
                    unknown(128, ""),
                    Capability::RouteRefresh,
                    Capability::FourOctetAs(Asn(65534)),
                ]
            }
        );
    }

    #[test]
    fn open_from_wireshark_bgp_notification_msg_cap_with_many_families() {
        // pcap/wireshark/BGP_notification_msg.cap, 127.0.0.2: flowspec, VPN, L2VPN EVPN and
        // BGP-LS families plus RFC 8654 extended message.
        let wire = hex(&format!(
            "{MARKER_HEX}00b10104fde800b402020202940206010400010001020601040001000202060104000100\
             040206010400010080020601040001008402060104000100850206010400010086020601\
             040002000102060104000200020206010400020004020601040002008002060104000200\
             850206010400020086020601040019004102060104001900460206010440040047020601\
             0440040048020641040000fde802020600"
        ));
        let o = decode_wire(&wire);
        assert_eq!(o.asn(), Asn(65000));
        assert_eq!(o.capabilities.len(), 19);
        assert_eq!(o.unicast_families(), vec![Afi::Ipv4, Afi::Ipv6]);
        assert!(o.capabilities.contains(&Capability::ExtendedMessage));
        assert!(o.capabilities.contains(&Capability::Multiprotocol(Family {
            afi: 16388,
            safi: 71
        })));
        assert_eq!(decode_wire(&o.encode().unwrap()), o);
        // The responder, 127.0.0.1, says AS 65001 in my_as but 196072 in the capability, and
        // was refused with 2/2. So do we, for either number.
        let responder = decode_wire(&hex(&format!(
            "{MARKER_HEX}00350104fde900b47f0000011802060104000100010206010400020001\
             020641040002fde8"
        )));
        assert_eq!(responder.asn(), Asn(196_072));
        for asn in [65001, 65000] {
            assert_eq!(
                negotiate(&o, &responder, &expect(asn, Role::Peer)),
                Err(Notification::bad_peer_as_for(196_072))
            );
        }
    }

    #[test]
    fn open_from_netgauze_single_parameter_round_trips_byte_for_byte() {
        // pcap/netgauze/bgp-multiple-sessions-traffic.pcap: FRR-style single parameter with
        // graceful restart (120 s, IPv4 and IPv6 unicast without F).
        let wire = hex(&format!(
            "{MARKER_HEX}00350104fc00005ac0a8ff0118021601040001000102008000400a00780001\
             010000020100"
        ));
        let o = decode_wire(&wire);
        assert_eq!(o.hold_time, 90);
        assert_eq!(
            o.capabilities,
            vec![
                mp(Afi::Ipv4),
                Capability::RouteRefresh,
                unknown(128, ""),
                Capability::GracefulRestart(crate::bgp::capability::GracefulRestart {
                    restarting: false,
                    notification: false,
                    restart_time: 120,
                    families: [Afi::Ipv4, Afi::Ipv6]
                        .map(|a| crate::bgp::capability::GrFamily {
                            family: Family::unicast(a),
                            forwarding: false,
                        })
                        .to_vec(),
                }),
            ]
        );
        assert_eq!(o.encode().unwrap(), wire);
    }

    #[test]
    fn open_from_wireshark_bgplu_cap_round_trips_byte_for_byte() {
        // pcap/wireshark/bgplu.cap, 10.1.1.1: ADD-PATH receive for IPv4 unicast and labeled
        // unicast, graceful restart, AS 1.
        let wire = hex(&format!(
            "{MARKER_HEX}00410104000100b40a01010124022201040001000101040001000402004002\
             012c41040000000145080001010100010401"
        ));
        let o = decode_wire(&wire);
        assert_eq!(o.add_path_mode(Afi::Ipv4), Some(AddPathMode::Receive));
        assert_eq!(o.add_path_mode(Afi::Ipv6), None);
        assert_eq!(o.encode().unwrap(), wire);
    }

    #[test]
    fn open_without_capabilities_from_netgauze_pcap_reader_bgp_pcap() {
        // pcap/netgauze/pcap-reader-bgp.pcap: no optional parameters at all.
        let wire = hex(&format!("{MARKER_HEX}001d0104fe0900b4c0a8000f00"));
        let o = decode_wire(&wire);
        assert_eq!(o, {
            let mut o = open(65033, [192, 168, 0, 15], vec![]);
            o.hold_time = 180;
            o
        });
        assert_eq!(o.encode().unwrap(), wire);
        // RFC 4760 §8: such a speaker does IPv4 unicast only; no 4-octet AS, no refresh.
        let n = negotiate(
            &Open::new(&speaker(Role::Peer)),
            &o,
            &expect(65033, Role::Peer),
        )
        .unwrap();
        assert_eq!(n.families, vec![Afi::Ipv4]);
        assert!(!n.four_octet_asn && !n.route_refresh && !n.extended_message);
    }

    #[test]
    fn vpn_only_open_from_pmacct_305_pcap_has_no_common_family() {
        // pcap/pmacct-tests/305-BGP-mem-leak-test-bgp-multi-sources-open.pcap: VPNv4/VPNv6
        // only, graceful restart and extended next hop (5) kept opaque.
        let wire = hex(&format!(
            "{MARKER_HEX}006101045ba000b4cb00713544020601040001008002060104000200800202\
             80000202020002064104fbf00035020c400a0078000180000002800002140512000100010002\
             000100020002000100800002"
        ));
        let o = decode_wire(&wire);
        assert_eq!(o.asn(), Asn(4_226_809_909));
        assert_eq!(o.unicast_families(), Vec::<Afi>::new());
        assert!(o
            .capabilities
            .iter()
            .any(|c| c.code() == cap_code::EXTENDED_NEXT_HOP));
        assert_eq!(decode_wire(&o.encode().unwrap()), o);
        // We offer IPv4 and IPv6 unicast: refused with 2/7 naming our two MP capabilities.
        assert_eq!(
            negotiate(
                &Open::new(&speaker(Role::Peer)),
                &o,
                &expect(4_226_809_909, Role::Peer)
            ),
            Err(Notification::new(2, 7, hex("010400010001 010400020001")))
        );
    }

    // ---- wire: our OPEN ----

    #[test]
    fn our_open_toward_a_provider() {
        let o = Open::new(&speaker(Role::Provider));
        let wire = o.encode().unwrap();
        // One Capabilities parameter: MP IPv4, MP IPv6, route refresh, AS 64500, extended
        // message, role customer (3).
        assert_eq!(
            wire,
            hex(&format!(
                "{MARKER_HEX}0038 01 04 fbf4 005a c0000201 1b 02 19 \
                 010400010001 010400020001 0200 41040000fbf4 0600 090103"
            ))
        );
        assert_eq!(decode_wire(&wire), o);
    }

    #[test]
    fn an_open_without_a_role_carries_add_path_send_as_asked() {
        let mut local = speaker_without_role();
        local.add_path = vec![
            (Afi::Ipv4, AddPathMode::Send),
            (Afi::Ipv6, AddPathMode::Send),
        ];
        local.enhanced_route_refresh = true;
        let o = Open::new(&local);
        assert_eq!(
            o.capabilities,
            vec![
                mp(Afi::Ipv4),
                mp(Afi::Ipv6),
                Capability::RouteRefresh,
                Capability::EnhancedRouteRefresh,
                Capability::FourOctetAs(Asn(64500)),
                Capability::ExtendedMessage,
                Capability::AddPath(vec![
                    AddPathFamily {
                        family: Family::IPV4_UNICAST,
                        mode: AddPathMode::Send
                    },
                    AddPathFamily {
                        family: Family::IPV6_UNICAST,
                        mode: AddPathMode::Send
                    },
                ]),
            ]
        );
        assert_eq!(decode_wire(&o.encode().unwrap()), o);
    }

    #[test]
    fn a_4_byte_asn_is_sent_as_as_trans() {
        let mut local = speaker(Role::Peer);
        local.asn = Asn(4_200_000_001);
        let o = Open::new(&local);
        assert_eq!(o.my_as, 23456);
        assert_eq!(o.asn(), Asn(4_200_000_001));
    }

    #[test]
    fn extended_optional_parameters_of_rfc_9072_are_used_when_needed_and_decoded() {
        // 260 bytes of capabilities cannot follow a 1-octet length.
        let mut caps = vec![mp(Afi::Ipv4)];
        for code in 200..226u8 {
            caps.push(Capability::Unknown {
                code,
                value: vec![code; 8],
            });
        }
        let o = open(64501, [198, 51, 100, 1], caps);
        let body = o.encode_body().unwrap();
        let cap_len = 6 + 26 * 10;
        assert_eq!(&body[9..11], &[255, 255]);
        assert_eq!(
            u16::from_be_bytes([body[11], body[12]]) as usize,
            3 + cap_len
        );
        assert_eq!(&body[13..16], &[2, (cap_len >> 8) as u8, cap_len as u8]);
        assert_eq!(Open::decode(&body).unwrap(), o);
        // A small OPEN in the extended format (as another speaker may send it) decodes too,
        // including several parameters.
        let body = hex("04 fbf5 005a c6336401 ff ff 000e \
             02 0006 010400010001 \
             02 0002 0200");
        assert_eq!(
            Open::decode(&body).unwrap(),
            open(
                64501,
                [198, 51, 100, 1],
                vec![mp(Afi::Ipv4), Capability::RouteRefresh]
            )
        );
    }

    #[test]
    fn an_oversize_capability_or_open_is_not_encoded() {
        let o = open(
            1,
            [1, 1, 1, 1],
            vec![Capability::Unknown {
                code: 200,
                value: vec![0; 300],
            }],
        );
        assert_eq!(
            o.encode(),
            Err(EncodeError::CapabilityTooLong { code: 200 })
        );
        let o = open(
            1,
            [1, 1, 1, 1],
            (0..20)
                .map(|_| Capability::Unknown {
                    code: 200,
                    value: vec![0; 250],
                })
                .collect(),
        );
        assert!(matches!(
            o.encode(),
            Err(EncodeError::BadLength {
                kind: MessageType::Open,
                ..
            })
        ));
    }

    // ---- decode errors ----

    #[test]
    fn open_decode_errors_name_the_exact_notification() {
        let cases: [(&str, Notification); 10] = [
            // Version 3.
            (
                "03 fbf5 005a c6336401 00",
                Notification::new(2, 1, vec![0, 4]),
            ),
            // Authentication parameter (type 1, RFC 1771) is not supported.
            (
                "04 fbf5 005a c6336401 04 01 02 0000",
                Notification::new(2, 4, vec![]),
            ),
            // Optional parameter length beyond the body.
            (
                "04 fbf5 005a c6336401 09 02 06 010400010001",
                Notification::new(2, 0, vec![]),
            ),
            // Bytes after the optional parameters.
            (
                "04 fbf5 005a c6336401 00 02",
                Notification::new(2, 0, vec![]),
            ),
            // A parameter longer than the optional parameters.
            (
                "04 fbf5 005a c6336401 02 02 05",
                Notification::new(2, 0, vec![]),
            ),
            // A parameter cut after its type.
            (
                "04 fbf5 005a c6336401 01 02",
                Notification::new(2, 0, vec![]),
            ),
            // A capability overrunning its parameter.
            (
                "04 fbf5 005a c6336401 04 02 02 0104",
                Notification::new(2, 0, vec![]),
            ),
            // RFC 9072 total length disagreeing with the body.
            (
                "04 fbf5 005a c6336401 ff ff 0009 02 0002 0200",
                Notification::new(2, 0, vec![]),
            ),
            // RFC 9072 header cut short.
            (
                "04 fbf5 005a c6336401 ff ff 00",
                Notification::new(2, 0, vec![]),
            ),
            // Fixed part cut short.
            ("04 fbf5 005a c63364", Notification::new(2, 0, vec![])),
        ];
        for (body, want) in cases {
            assert_eq!(Open::decode(&hex(body)), Err(want), "{body}");
        }
    }

    // ---- negotiation ----

    #[test]
    fn a_well_behaved_neighbor_negotiates() {
        let local = Open::new(&speaker(Role::Peer));
        let remote = neighbor(vec![
            Capability::Role(BgpRole::Peer),
            Capability::ExtendedMessage,
        ]);
        let n = negotiate(&local, &remote, &expect(64501, Role::Peer)).unwrap();
        assert_eq!(
            n,
            Negotiated {
                peer_asn: Asn(64501),
                peer_router_id: Ipv4Addr::new(198, 51, 100, 1),
                hold_time: 90,
                keepalive: 30,
                four_octet_asn: true,
                families: vec![Afi::Ipv4, Afi::Ipv6],
                add_path_receive: vec![],
                add_path_send: vec![],
                extended_message: true,
                route_refresh: true,
                enhanced_route_refresh: false,
                peer_role: Some(BgpRole::Peer),
                graceful_restart: None,
            }
        );
        assert_eq!(n.max_message_len(), 65535);
    }

    #[test]
    fn version_other_than_4_is_refused_with_data_4() {
        let mut remote = neighbor(vec![]);
        remote.version = 3;
        assert_eq!(
            negotiate(
                &Open::new(&speaker(Role::Peer)),
                &remote,
                &expect(64501, Role::Peer)
            ),
            Err(Notification::new(2, 1, vec![0, 4]))
        );
    }

    #[test]
    fn wrong_or_zero_peer_as_is_bad_peer_as() {
        let local = Open::new(&speaker(Role::Peer));
        assert_eq!(
            negotiate(&local, &neighbor(vec![]), &expect(64502, Role::Peer)),
            Err(Notification::new(2, 2, 64501u16.to_be_bytes().to_vec())),
            "the data names the AS the neighbor gave"
        );
        // A 2-octet-only neighbor: my_as is the ASN.
        let old = open(64501, [198, 51, 100, 1], vec![]);
        assert!(negotiate(&local, &old, &expect(64501, Role::Peer)).is_ok());
        // A neighbor with a 4-byte ASN but no capability shows AS_TRANS, which is not it.
        let trans = open(AS_TRANS, [198, 51, 100, 1], vec![]);
        assert_eq!(
            negotiate(&local, &trans, &expect(4_200_000_001, Role::Peer)),
            Err(Notification::bad_peer_as_for(u32::from(AS_TRANS)))
        );
        // RFC 7607: AS 0 is never acceptable.
        let zero = open(0, [198, 51, 100, 1], vec![]);
        assert_eq!(
            negotiate(&local, &zero, &expect(0, Role::Peer)),
            Err(Notification::new(2, 2, vec![0, 0]))
        );
    }

    #[test]
    fn hold_time_one_or_two_is_unacceptable_and_the_smaller_wins() {
        let local = Open::new(&speaker(Role::Peer));
        for (theirs, result) in [
            (0u16, Ok((0u16, 0u16))),
            (1, Err(Notification::new(2, 6, vec![]))),
            (2, Err(Notification::new(2, 6, vec![]))),
            (3, Ok((3, 1))),
            (10, Ok((10, 3))),
            (90, Ok((90, 30))),
            (180, Ok((90, 30))),
            (65535, Ok((90, 30))),
        ] {
            let mut remote = neighbor(vec![]);
            remote.hold_time = theirs;
            let got = negotiate(&local, &remote, &expect(64501, Role::Peer))
                .map(|n| (n.hold_time, n.keepalive));
            assert_eq!(got, result, "peer hold time {theirs}");
        }
        let mut quiet = speaker(Role::Peer);
        quiet.hold_time = 0;
        let n = negotiate(
            &Open::new(&quiet),
            &neighbor(vec![]),
            &expect(64501, Role::Peer),
        )
        .unwrap();
        assert_eq!((n.hold_time, n.keepalive), (0, 0));
    }

    #[test]
    fn router_id_zero_or_ours_on_ibgp_is_bad_bgp_identifier() {
        let local = Open::new(&speaker(Role::Peer));
        let mut remote = neighbor(vec![]);
        remote.router_id = Ipv4Addr::UNSPECIFIED;
        assert_eq!(
            negotiate(&local, &remote, &expect(64501, Role::Peer)),
            Err(Notification::new(2, 3, vec![]))
        );
        // eBGP: the same identifier as ours is allowed (RFC 6286 §2.2 only forbids it inside
        // an AS).
        remote.router_id = local.router_id;
        assert!(negotiate(&local, &remote, &expect(64501, Role::Peer)).is_ok());
        // iBGP to our router with our own identifier.
        let local = Open::new(&speaker_without_role());
        let router = open(
            64500,
            [192, 0, 2, 1],
            vec![mp(Afi::Ipv4), Capability::FourOctetAs(Asn(64500))],
        );
        assert_eq!(
            negotiate(&local, &router, &expect_ibgp(64500)),
            Err(Notification::new(2, 3, vec![]))
        );
        let router = open(
            64500,
            [192, 0, 2, 2],
            vec![mp(Afi::Ipv4), Capability::FourOctetAs(Asn(64500))],
        );
        assert!(negotiate(&local, &router, &expect_ibgp(64500)).is_ok());
    }

    #[test]
    fn unknown_capabilities_are_ignored() {
        let remote = neighbor(vec![
            unknown(64, "00780001010000020100"),
            unknown(71, ""),
            unknown(250, "deadbeef"),
        ]);
        assert!(negotiate(
            &Open::new(&speaker(Role::Peer)),
            &remote,
            &expect(64501, Role::Peer)
        )
        .is_ok());
    }

    /// RFC 9234 §4.2 Table 2, our advertised role (rows) against the neighbor's (columns),
    /// in value order provider, rs, rs-client, customer, peer.
    #[test]
    fn role_pairs_follow_rfc_9234_table_2() {
        let roles = [
            BgpRole::Provider,
            BgpRole::RouteServer,
            BgpRole::RsClient,
            BgpRole::Customer,
            BgpRole::Peer,
        ];
        // Our config names the neighbor; this is the neighbor role that makes us advertise
        // each row's role.
        let neighbor_for_our = [
            Role::Customer,
            Role::RsClient,
            Role::Rs,
            Role::Provider,
            Role::Peer,
        ];
        let allowed = [
            [false, false, false, true, false],
            [false, false, true, false, false],
            [false, true, false, false, false],
            [true, false, false, false, false],
            [false, false, false, false, true],
        ];
        for (row, &ours) in roles.iter().enumerate() {
            let nrole = neighbor_for_our[row];
            let local = Open::new(&speaker(nrole));
            assert!(local.capabilities.contains(&Capability::Role(ours)));
            for (col, &theirs) in roles.iter().enumerate() {
                let remote = neighbor(vec![Capability::Role(theirs)]);
                let got = negotiate(&local, &remote, &expect(64501, nrole));
                if allowed[row][col] {
                    assert_eq!(
                        got.map(|n| n.peer_role),
                        Ok(Some(theirs)),
                        "{ours} vs {theirs}"
                    );
                } else {
                    assert_eq!(
                        got,
                        Err(Notification::new(2, 11, vec![])),
                        "{ours} vs {theirs}"
                    );
                }
            }
        }
    }

    #[test]
    fn role_edge_cases() {
        let local = Open::new(&speaker(Role::Provider));
        let e = expect(64501, Role::Provider);
        let mismatch = Err(Notification::new(2, 11, vec![]));
        // No Role capability: fine unless strict.
        assert_eq!(
            negotiate(&local, &neighbor(vec![]), &e).map(|n| n.peer_role),
            Ok(None)
        );
        let strict = PeerExpectation {
            role_strict: true,
            ..e.clone()
        };
        assert_eq!(negotiate(&local, &neighbor(vec![]), &strict), mismatch);
        // Two equal Role capabilities count as one; two different ones are a mismatch.
        let twice = neighbor(vec![
            Capability::Role(BgpRole::Provider),
            Capability::Role(BgpRole::Provider),
        ]);
        assert_eq!(
            negotiate(&local, &twice, &strict).map(|n| n.peer_role),
            Ok(Some(BgpRole::Provider))
        );
        let conflicting = neighbor(vec![
            Capability::Role(BgpRole::Provider),
            Capability::Role(BgpRole::Peer),
        ]);
        assert_eq!(negotiate(&local, &conflicting, &e), mismatch);
        // An unassigned role value, or a Role capability of the wrong length.
        assert_eq!(
            negotiate(
                &local,
                &neighbor(vec![Capability::Role(BgpRole::Other(5))]),
                &e
            ),
            mismatch
        );
        assert_eq!(
            negotiate(&local, &neighbor(vec![unknown(9, "0000")]), &e),
            mismatch
        );
        // iBGP to our router: roles are not used, whatever the router sends, even in strict
        // mode.
        let local = Open::new(&speaker_without_role());
        let router = open(
            64500,
            [192, 0, 2, 2],
            vec![
                mp(Afi::Ipv4),
                Capability::FourOctetAs(Asn(64500)),
                Capability::Role(BgpRole::Customer),
                Capability::Role(BgpRole::Peer),
            ],
        );
        let ibgp = PeerExpectation {
            role_strict: true,
            ..expect_ibgp(64500)
        };
        assert_eq!(
            negotiate(&local, &router, &ibgp).map(|n| n.peer_role),
            Ok(None)
        );
    }

    #[test]
    fn families_are_the_intersection() {
        use Afi::{Ipv4, Ipv6};
        // (ours, theirs as MP capabilities or None for no MP capability, result)
        type Case = (&'static [Afi], Option<&'static [Afi]>, &'static [Afi]);
        let cases: [Case; 8] = [
            (&[Ipv4, Ipv6], Some(&[Ipv4, Ipv6]), &[Ipv4, Ipv6]),
            (&[Ipv4, Ipv6], Some(&[Ipv6, Ipv4]), &[Ipv4, Ipv6]),
            (&[Ipv4, Ipv6], Some(&[Ipv6]), &[Ipv6]),
            (&[Ipv6], Some(&[Ipv4, Ipv6]), &[Ipv6]),
            (&[Ipv4], Some(&[Ipv4]), &[Ipv4]),
            (&[Ipv4, Ipv6], None, &[Ipv4]),
            (&[Ipv6], Some(&[Ipv4]), &[]),
            (&[Ipv6], None, &[]),
        ];
        for (ours, theirs, want) in cases {
            let mut s = speaker(Role::Peer);
            s.families = ours.to_vec();
            let local = Open::new(&s);
            let mut caps = vec![Capability::FourOctetAs(Asn(64501))];
            if let Some(t) = theirs {
                caps.extend(t.iter().map(|&a| mp(a)));
            }
            let remote = open(64501, [198, 51, 100, 1], caps);
            let got = negotiate(&local, &remote, &expect(64501, Role::Peer));
            if want.is_empty() {
                let mut data = Vec::new();
                for &a in ours {
                    mp(a).encode_into(&mut data).unwrap();
                }
                assert_eq!(
                    got,
                    Err(Notification::new(2, 7, data)),
                    "{ours:?} {theirs:?}"
                );
            } else {
                assert_eq!(
                    got.map(|n| n.families),
                    Ok(want.to_vec()),
                    "{ours:?} {theirs:?}"
                );
            }
        }
        // Neither side sends MP capabilities: IPv4 unicast (RFC 4760 §8).
        let mut bare = open(64500, [192, 0, 2, 1], vec![]);
        bare.my_as = 64500;
        let remote = open(64501, [198, 51, 100, 1], vec![]);
        assert_eq!(
            negotiate(&bare, &remote, &expect(64501, Role::Peer)).map(|n| n.families),
            Ok(vec![Afi::Ipv4])
        );
    }

    #[test]
    fn add_path_directions_per_family() {
        use AddPathMode::{Both, Receive, Send};
        let modes = [None, Some(Receive), Some(Send), Some(Both)];
        // (ours, theirs) -> (we receive, we send)
        for ours in modes {
            for theirs in modes {
                let mut s = speaker(Role::Peer);
                s.add_path = ours.map(|m| (Afi::Ipv6, m)).into_iter().collect();
                let local = Open::new(&s);
                let extra = theirs
                    .map(|m| {
                        Capability::AddPath(vec![AddPathFamily {
                            family: Family::IPV6_UNICAST,
                            mode: m,
                        }])
                    })
                    .into_iter()
                    .collect();
                let n = negotiate(&local, &neighbor(extra), &expect(64501, Role::Peer)).unwrap();
                let receive =
                    matches!(ours, Some(Receive | Both)) && matches!(theirs, Some(Send | Both));
                let send =
                    matches!(ours, Some(Send | Both)) && matches!(theirs, Some(Receive | Both));
                assert_eq!(
                    (
                        n.add_path_receive == vec![Afi::Ipv6],
                        n.add_path_send == vec![Afi::Ipv6]
                    ),
                    (receive, send),
                    "ours {ours:?} theirs {theirs:?}"
                );
                assert!(n.add_path_receive.len() <= 1 && n.add_path_send.len() <= 1);
            }
        }
        // ADD-PATH for a family that is not negotiated does not count.
        let mut s = speaker(Role::Peer);
        s.families = vec![Afi::Ipv4];
        s.add_path = vec![(Afi::Ipv6, Both)];
        let n = negotiate(
            &Open::new(&s),
            &neighbor(vec![Capability::AddPath(vec![AddPathFamily {
                family: Family::IPV6_UNICAST,
                mode: Both,
            }])]),
            &expect(64501, Role::Peer),
        )
        .unwrap();
        assert!(n.add_path_receive.is_empty() && n.add_path_send.is_empty());
    }

    #[test]
    fn extended_message_and_route_refresh_need_both_sides() {
        let mut s = speaker(Role::Peer);
        s.extended_message = false;
        let n = negotiate(
            &Open::new(&s),
            &neighbor(vec![Capability::ExtendedMessage]),
            &expect(64501, Role::Peer),
        )
        .unwrap();
        assert!(!n.extended_message);
        assert_eq!(n.max_message_len(), 4096);
        let remote = open(
            64501,
            [198, 51, 100, 1],
            vec![mp(Afi::Ipv4), Capability::FourOctetAs(Asn(64501))],
        );
        let n = negotiate(
            &Open::new(&speaker(Role::Peer)),
            &remote,
            &expect(64501, Role::Peer),
        )
        .unwrap();
        assert!(!n.route_refresh && !n.extended_message);
    }

    // ---- robustness ----

    #[test]
    fn open_decode_never_panics() {
        let captured = [
            "0104fc0000b40a0000062402060104000100010202800002020200020246000206450400010103020641040000fc00",
            "01045ba000b4280000011d0206010400010001020280000202020002038301000206410400280001",
            "0104fe0900b4c0a8000f00",
            "0104000100b40a01010124022201040001000101040001000402004002012c41040000000145080001010100010401",
            "01045ba000b4cb00713544020601040001008002060104000200800202800002020200020641\
             04fbf00035020c400a0078000180000002800002140512000100010002000100020002000100800002",
            "04fbf5005ac6336401ffff000e0200060104000100010200020200",
        ];
        let local = Open::new(&speaker(Role::Customer));
        let e = expect(64501, Role::Customer);
        for c in captured {
            let full = hex(c);
            // The first five are message bodies after the type byte 01.
            let body = if full.first() == Some(&1) && full.get(1) == Some(&4) {
                full[1..].to_vec()
            } else {
                full
            };
            assert!(Open::decode(&body).is_ok(), "{c}");
            for cut in 0..body.len() {
                if let Ok(o) = Open::decode(&body[..cut]) {
                    let _ = negotiate(&local, &o, &e);
                }
            }
        }
        let mut state = 0x1234_5678_9abc_def1u64;
        for i in 0..5000 {
            let mut bytes = xorshift_bytes(&mut state, 80);
            if i % 2 == 0 {
                // Give half of them a plausible fixed part so the parameter code is reached.
                let mut fixed = hex("04fbf5005ac6336401");
                fixed.push(bytes.len() as u8);
                if i % 4 == 0 {
                    bytes.splice(..0, [2u8, bytes.len() as u8]);
                    *fixed.last_mut().unwrap() = bytes.len() as u8;
                }
                bytes.splice(..0, fixed);
            }
            if let Ok(o) = Open::decode(&bytes) {
                let _ = negotiate(&local, &o, &e);
                let _ = o.encode();
            }
        }
    }
}
