//! BGP UPDATE messages (RFC 4271 §4.3) in both directions: the speaker's own decoder and encoder.
//! Decoding covers IPv4/IPv6 unicast in the NLRI fields and in MP_REACH/MP_UNREACH (RFC 4760),
//! ADD-PATH per family as negotiated (RFC 7911), 2- and 4-octet AS paths with the AS4_PATH merge
//! of RFC 6793, End-of-RIB (RFC 4724) and the RFC 7606 decision for every malformed attribute:
//! the UPDATE comes back with its routes, one shared `Arc` of attributes and the 7606 action, or
//! as the NOTIFICATION to send when the routes themselves cannot be trusted. Encoding packs as
//! many prefixes per message as fit and splits the rest (DESIGN §9: "UPDATE packing is ours"),
//! and the transforms the daemon applies before sending are pure functions over
//! [`PathAttributes`]. Sans-IO: bytes in, values out; no socket, no timer, no session state, and
//! nothing here panics on what a peer sends.

use super::capability::{afi_code, AFI_IPV4, AFI_IPV6, SAFI_UNICAST};
use super::codec::{EXTENDED_MAX_LEN, HEADER_LEN, MARKER, MAX_LEN};
use super::notification::Notification;
use super::open::{Negotiated, AS_TRANS};
use super::rfc7606::ErrorAction;
use crate::types::{Afi, AsPath, Asn, Attrs, Origin, Segment};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Path attribute type codes (IANA "BGP Path Attributes").
pub mod code {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    pub const LARGE_COMMUNITIES: u8 = 32;
    pub const ONLY_TO_CUSTOMER: u8 = 35;
}

/// Attribute Flags bits (RFC 4271 §4.3).
pub mod flag {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// The code under which [`PathAttributes::other`] keeps the link-local next hop of an IPv6
/// MP_REACH_NLRI (RFC 2545 §3): a pseudo-attribute whose value is the 16 octets. It is never
/// sent as an attribute of its own; the encoder puts it back into MP_REACH_NLRI.
pub const LINK_LOCAL_NEXT_HOP: u8 = code::MP_REACH_NLRI;

/// RFC 5492 / RFC 8654 aside, LOCAL_PREF toward our own router when the route has none
/// (the usual default of every implementation).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

const AS_TRANS_U32: u32 = AS_TRANS as u32;

/// One prefix of an UPDATE, with its ADD-PATH identifier when the family uses RFC 7911.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    pub prefix: IpNet,
    pub path_id: Option<u32>,
}

impl Nlri {
    pub fn new(prefix: IpNet) -> Nlri {
        Nlri {
            prefix,
            path_id: None,
        }
    }
    pub fn afi(&self) -> Afi {
        Afi::of(&self.prefix)
    }
}

/// An attribute bgpsieve passes on as received: flags (low four bits cleared, RFC 4271 §4.3),
/// type code and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    pub flags: u8,
    pub code: u8,
    pub value: Vec<u8>,
}

/// The path attributes of one UPDATE: `attrs` is what the policy reads, `other` every attribute
/// passed on unchanged (ATOMIC_AGGREGATE, AGGREGATOR, extended communities, ORIGINATOR_ID and
/// CLUSTER_LIST from iBGP, unknown optional transitive attributes with their flags as received, the
/// link-local next hop under [`LINK_LOCAL_NEXT_HOP`]), sorted by code.
///
/// Two normalisations keep equal paths equal, so attribute sets intern well: adjacent
/// AS_SEQUENCE segments are joined (the encoder splits at 255), and AGGREGATOR is always kept in
/// its 4-octet form (RFC 6793 §3; the encoder writes AGGREGATOR + AS4_AGGREGATOR on a 2-octet
/// session). Every other value in `other` is byte-exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttributes {
    /// Shared with the `Route`s the policy evaluates, so a check costs no copy.
    pub attrs: Arc<Attrs>,
    pub other: Vec<RawAttribute>,
}

/// What decoding needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeCtx {
    /// RFC 6793: AS_PATH carries 4-octet ASNs; otherwise 2-octet with AS4_PATH merged in.
    pub four_octet_asn: bool,
    /// Families on which the peer sends path identifiers (RFC 7911).
    pub add_path_receive: Vec<Afi>,
    /// External peer: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded, confederation
    /// segments in AS_PATH are malformed (RFC 7606 §7.2, §7.5, §7.9, §7.10).
    pub ebgp: bool,
    /// The peer's AS. RFC 7606 §7.2 allows a treat-as-withdraw for a left-most AS other than
    /// the peer's; bgpsieve leaves that to the `first-as` policy check (route servers, RFC 7947,
    /// are transparent), so decoding does not use it.
    pub peer_asn: Asn,
}

impl DecodeCtx {
    pub fn new(n: &Negotiated, ebgp: bool) -> DecodeCtx {
        DecodeCtx {
            four_octet_asn: n.four_octet_asn,
            add_path_receive: n.add_path_receive.clone(),
            ebgp,
            peer_asn: n.peer_asn,
        }
    }
}

/// One decoded UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedUpdate {
    /// Withdrawn Routes field and MP_UNREACH_NLRI.
    pub withdrawn: Vec<Nlri>,
    /// NLRI field and MP_REACH_NLRI.
    pub announced: Vec<Nlri>,
    /// Shared by every announced prefix; `None` when nothing is announced.
    pub attrs: Option<Arc<PathAttributes>>,
    /// RFC 4724 §2 End-of-RIB marker for this family.
    pub end_of_rib: Option<Afi>,
    /// RFC 7606 outcome for the attributes (never `Reset`: that is the `Err` of
    /// [`decode_update`]). `Withdraw`: the caller treats `announced` as withdrawn (the reasons
    /// are also in `attrs.malformed`). `Discard`: some attributes were dropped, noted here.
    pub action: Option<ErrorAction>,
    /// Every RFC 7606 finding, whatever its action, for logs.
    pub findings: Vec<String>,
}

/// Decodes an UPDATE body (the message after its 19-octet header).
///
/// `Err` is the NOTIFICATION for the cases where RFC 7606 keeps the session reset: the length
/// fields overrun the message (§3 b), the Withdrawn Routes or NLRI field cannot be parsed (§5.3),
/// an MP_REACH_NLRI/MP_UNREACH_NLRI is malformed or repeated (§3 g, §5.3, §7.11, §7.12), or an
/// attribute error other than a discard in an UPDATE that announces nothing (§5.2).
pub fn decode_update(body: &[u8], ctx: &DecodeCtx) -> Result<DecodedUpdate, Notification> {
    // RFC 7606 §3 b (RFC 4271 §6.3): Withdrawn Routes Length + Total Path Attribute Length + 23
    // beyond the message length: the route boundaries are lost.
    let (withdrawn, rest) =
        length_prefixed(body).ok_or_else(Notification::malformed_attribute_list)?;
    let (attributes, nlri) =
        length_prefixed(rest).ok_or_else(Notification::malformed_attribute_list)?;
    let ap4 = ctx.add_path_receive.contains(&Afi::Ipv4);
    let mut out = DecodedUpdate::default();
    // RFC 7606 §5.3: a prefix longer than 32, or one running past its field, means the
    // field cannot be parsed, and treat-as-withdraw needs it parsed (§3 j).
    if !withdrawn.is_empty() {
        out.withdrawn.reserve(withdrawn.len() / 4 + 1);
        parse_nlri(withdrawn, Afi::Ipv4, ap4, &mut out.withdrawn)
            .map_err(|_| Notification::invalid_network_field())?;
    }
    if !nlri.is_empty() {
        out.announced.reserve(nlri.len() / 4 + 1);
        parse_nlri(nlri, Afi::Ipv4, ap4, &mut out.announced)
            .map_err(|_| Notification::invalid_network_field())?;
    }
    if attributes.is_empty() && withdrawn.is_empty() && nlri.is_empty() {
        // RFC 4724 §2: an UPDATE with nothing in it is the IPv4 unicast End-of-RIB.
        out.end_of_rib = Some(Afi::Ipv4);
        return Ok(out);
    }
    let mut p = Attributes::new(ctx);
    p.parse(attributes, &mut out)?;
    p.finish(out, !nlri.is_empty())
}

/// The two-octet length and the field it announces, and what follows.
fn length_prefixed(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = b.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// The NLRI encoding of RFC 4271 §4.3 (with the path identifier of RFC 7911 §3 first when
/// `add_path`). Trailing bits beyond the prefix length are cleared, so equal prefixes compare
/// equal.
fn parse_nlri(mut b: &[u8], afi: Afi, add_path: bool, out: &mut Vec<Nlri>) -> Result<(), ()> {
    while !b.is_empty() {
        let path_id = if add_path {
            let (id, rest) = b.split_first_chunk::<4>().ok_or(())?;
            b = rest;
            Some(u32::from_be_bytes(*id))
        } else {
            None
        };
        let (&len, rest) = b.split_first().ok_or(())?;
        let octets = usize::from(len).div_ceil(8);
        let bytes = rest.get(..octets).ok_or(())?;
        b = rest.get(octets..).ok_or(())?;
        let prefix = match afi {
            Afi::Ipv4 => {
                if len > 32 {
                    return Err(());
                }
                let mut a = [0u8; 4];
                a.get_mut(..octets).ok_or(())?.copy_from_slice(bytes);
                let bits = u32::from_be_bytes(a) & mask32(len);
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(bits), len).map_err(|_| ())?)
            }
            Afi::Ipv6 => {
                if len > 128 {
                    return Err(());
                }
                let mut a = [0u8; 16];
                a.get_mut(..octets).ok_or(())?.copy_from_slice(bytes);
                let bits = u128::from_be_bytes(a) & mask128(len);
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(bits), len).map_err(|_| ())?)
            }
        };
        out.push(Nlri { prefix, path_id });
    }
    Ok(())
}

fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// The O and T bits an attribute must carry (RFC 7606 §3 c), for the attributes we recognise.
fn expected_flags(code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flag::TRANSITIVE;
    const OPT_TRANS: u8 = flag::OPTIONAL | flag::TRANSITIVE;
    const OPT_NON_TRANS: u8 = flag::OPTIONAL;
    Some(match code {
        code::ORIGIN
        | code::AS_PATH
        | code::NEXT_HOP
        | code::LOCAL_PREF
        | code::ATOMIC_AGGREGATE => WELL_KNOWN,
        code::MULTI_EXIT_DISC
        | code::ORIGINATOR_ID
        | code::CLUSTER_LIST
        | code::MP_REACH_NLRI
        | code::MP_UNREACH_NLRI => OPT_NON_TRANS,
        code::AGGREGATOR
        | code::COMMUNITIES
        | code::EXTENDED_COMMUNITIES
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::IPV6_EXTENDED_COMMUNITIES
        | code::LARGE_COMMUNITIES
        | code::ONLY_TO_CUSTOMER => OPT_TRANS,
        _ => return None,
    })
}

/// The attribute's name, for findings.
pub fn attribute_name(code: u8) -> &'static str {
    match code {
        code::ORIGIN => "ORIGIN",
        code::AS_PATH => "AS_PATH",
        code::NEXT_HOP => "NEXT_HOP",
        code::MULTI_EXIT_DISC => "MULTI_EXIT_DISC",
        code::LOCAL_PREF => "LOCAL_PREF",
        code::ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        code::AGGREGATOR => "AGGREGATOR",
        code::COMMUNITIES => "COMMUNITIES",
        code::ORIGINATOR_ID => "ORIGINATOR_ID",
        code::CLUSTER_LIST => "CLUSTER_LIST",
        code::MP_REACH_NLRI => "MP_REACH_NLRI",
        code::MP_UNREACH_NLRI => "MP_UNREACH_NLRI",
        code::EXTENDED_COMMUNITIES => "EXTENDED_COMMUNITIES",
        code::AS4_PATH => "AS4_PATH",
        code::AS4_AGGREGATOR => "AS4_AGGREGATOR",
        code::IPV6_EXTENDED_COMMUNITIES => "IPv6_EXTENDED_COMMUNITIES",
        code::LARGE_COMMUNITIES => "LARGE_COMMUNITY",
        code::ONLY_TO_CUSTOMER => "ONLY_TO_CUSTOMER",
        _ => "attribute",
    }
}

/// The RFC 7606 bookkeeping of one UPDATE.
#[derive(Default)]
struct Findings {
    action: Option<ErrorAction>,
    all: Vec<String>,
    /// Treat-as-withdraw findings (they become `Attrs::malformed`).
    withdraw: Vec<String>,
    /// The NOTIFICATION of the first treat-as-withdraw error, for the §5.2 escalation.
    escalation: Option<Notification>,
}

impl Findings {
    fn discard(&mut self, what: String) {
        self.all.push(what);
        self.action = self.action.max(Some(ErrorAction::Discard));
    }

    fn withdraw(&mut self, what: String, notification: Notification) {
        self.all.push(what.clone());
        self.withdraw.push(what);
        self.action = self.action.max(Some(ErrorAction::Withdraw));
        self.escalation.get_or_insert(notification);
    }
}

/// Why an AS path could not be read (RFC 7606 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathError {
    Overrun,
    OneOctetLeft,
    ZeroLength,
    BadType(u8),
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::Overrun => f.write_str("a segment runs past the attribute"),
            PathError::OneOctetLeft => f.write_str("one octet left after the last segment"),
            PathError::ZeroLength => f.write_str("a segment of length 0"),
            PathError::BadType(t) => write!(f, "unknown segment type {t}"),
        }
    }
}

/// AS_PATH / AS4_PATH segments, 2- or 4-octet ASNs; adjacent AS_SEQUENCEs joined.
fn parse_as_path(mut b: &[u8], four: bool) -> Result<AsPath, PathError> {
    let width = if four { 4 } else { 2 };
    let mut segments: Vec<Segment> = Vec::with_capacity(1);
    while !b.is_empty() {
        let Some((&[kind, count], rest)) = b.split_first_chunk::<2>() else {
            return Err(PathError::OneOctetLeft);
        };
        if count == 0 {
            return Err(PathError::ZeroLength);
        }
        let n = usize::from(count) * width;
        let body = rest.get(..n).ok_or(PathError::Overrun)?;
        b = rest.get(n..).ok_or(PathError::Overrun)?;
        let asns = body
            .chunks_exact(width)
            .map(|c| Asn(c.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))));
        match kind {
            2 => match segments.last_mut() {
                Some(Segment::Sequence(v)) => v.extend(asns),
                _ => segments.push(Segment::Sequence(asns.collect())),
            },
            1 => segments.push(Segment::Set(asns.collect())),
            3 => segments.push(Segment::ConfedSequence(asns.collect())),
            4 => segments.push(Segment::ConfedSet(asns.collect())),
            t => return Err(PathError::BadType(t)),
        }
    }
    Ok(AsPath { segments })
}

/// RFC 6793 §4.2.3 path length: an AS_SET counts one, confederation segments nothing.
fn path_len(p: &AsPath) -> usize {
    p.segments
        .iter()
        .map(|s| match s {
            Segment::Sequence(v) => v.len(),
            Segment::Set(_) => 1,
            Segment::ConfedSequence(_) | Segment::ConfedSet(_) => 0,
        })
        .sum()
}

/// RFC 6793 §4.2.3: the leading part of AS_PATH that AS4_PATH does not cover, then AS4_PATH.
/// An AS4_PATH longer than AS_PATH is ignored.
fn merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath {
    let (n, n4) = (path_len(&as_path), path_len(&as4_path));
    if n < n4 {
        return as_path;
    }
    let mut need = n - n4;
    let mut segments: Vec<Segment> = Vec::with_capacity(as_path.segments.len() + 1);
    let mut prev_taken = true; // a leading confederation segment is always taken
    for s in as_path.segments {
        prev_taken = match s {
            // "a valid AS_CONFED_SEQUENCE or AS_CONFED_SET path segment SHALL be prepended if
            // it is either the leading path segment or is adjacent to a path segment that is
            // prepended"
            Segment::ConfedSequence(_) | Segment::ConfedSet(_) if prev_taken || need > 0 => {
                segments.push(s);
                true
            }
            Segment::Sequence(mut v) if need > 0 => {
                v.truncate(need);
                need -= v.len();
                segments.push(Segment::Sequence(v));
                true
            }
            Segment::Set(v) if need > 0 => {
                need -= 1;
                segments.push(Segment::Set(v));
                true
            }
            _ => break,
        };
    }
    for s in as4_path.segments {
        match (segments.last_mut(), s) {
            (Some(Segment::Sequence(v)), Segment::Sequence(w)) => v.extend(w),
            (_, s) => segments.push(s),
        }
    }
    AsPath { segments }
}

fn be32(b: &[u8]) -> Option<u32> {
    b.first_chunk::<4>().map(|c| u32::from_be_bytes(*c))
}

/// The attribute walk of one UPDATE.
struct Attributes<'c> {
    ctx: &'c DecodeCtx,
    seen: [u64; 4],
    attrs: Attrs,
    other: Vec<RawAttribute>,
    as_path: Option<AsPath>,
    as4_path: Option<AsPath>,
    /// (ASN, identifier, flags)
    aggregator: Option<(u32, [u8; 4], u8)>,
    as4_aggregator: Option<(u32, [u8; 4])>,
    next_hop: Option<Ipv4Addr>,
    mp_next_hop: Option<(IpAddr, Option<Ipv6Addr>)>,
    mp_reach_routes: usize,
    /// Any attribute other than MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 7606 §5.2).
    plain_attributes: bool,
    attribute_count: usize,
    /// The family of an MP_UNREACH_NLRI that withdraws nothing (RFC 4724 §2).
    empty_unreach: Option<Afi>,
    findings: Findings,
}

impl<'c> Attributes<'c> {
    fn new(ctx: &'c DecodeCtx) -> Self {
        Attributes {
            ctx,
            seen: [0; 4],
            attrs: Attrs::default(),
            other: Vec::new(),
            as_path: None,
            as4_path: None,
            aggregator: None,
            as4_aggregator: None,
            next_hop: None,
            mp_next_hop: None,
            mp_reach_routes: 0,
            plain_attributes: false,
            attribute_count: 0,
            empty_unreach: None,
            findings: Findings::default(),
        }
    }

    fn seen(&self, code: u8) -> bool {
        let (w, b) = (usize::from(code >> 6), code & 63);
        self.seen.get(w).is_some_and(|x| x & (1 << b) != 0)
    }

    fn mark(&mut self, code: u8) {
        let (w, b) = (usize::from(code >> 6), code & 63);
        if let Some(x) = self.seen.get_mut(w) {
            *x |= 1 << b;
        }
    }

    fn parse(&mut self, mut b: &[u8], out: &mut DecodedUpdate) -> Result<(), Notification> {
        while let Some((&flags, _)) = b.split_first() {
            let extended = flags & flag::EXTENDED_LENGTH != 0;
            let header = if extended { 4 } else { 3 };
            let (code, len) = match (b.get(1), b.get(2), b.get(3)) {
                (Some(&c), Some(&l), _) if !extended => (c, usize::from(l)),
                (Some(&c), Some(&hi), Some(&lo)) => (c, usize::from(u16::from_be_bytes([hi, lo]))),
                _ => {
                    // RFC 7606 §4: fewer octets left than an attribute header: treat-as-withdraw,
                    // the NLRI field is still found through Total Path Attribute Length.
                    self.plain_attributes = true;
                    self.findings.withdraw(
                        format!(
                            "{} octet(s) left in the path attributes, too few for an attribute header",
                            b.len()
                        ),
                        Notification::malformed_attribute_list(),
                    );
                    return Ok(());
                }
            };
            let Some(raw) = b.get(..header + len) else {
                if code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI {
                    // RFC 7606 §5.3, §3 j: the NLRI of the attribute are lost.
                    return Err(Notification::optional_attribute_error(b));
                }
                // RFC 7606 §4: the last attribute runs past Total Path Attribute Length:
                // treat-as-withdraw (for AS_PATH also §7.2, "overrun").
                self.plain_attributes = true;
                self.findings.withdraw(
                    format!(
                        "{} (type {code}) of length {len} runs past the path attributes ({} octets left)",
                        attribute_name(code),
                        b.len().saturating_sub(header)
                    ),
                    Notification::attribute_length_error(b),
                );
                return Ok(());
            };
            let value = raw.get(header..).unwrap_or_default();
            b = b.get(header + len..).unwrap_or_default();
            self.attribute_count += 1;
            let mp = code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI;
            if !mp {
                self.plain_attributes = true;
            }
            if self.seen(code) {
                // RFC 7606 §3 g.
                if mp {
                    return Err(Notification::malformed_attribute_list());
                }
                self.findings.discard(format!(
                    "{} (type {code}) repeated: all but the first discarded",
                    attribute_name(code)
                ));
                continue;
            }
            self.mark(code);
            self.attribute(flags & 0xf0, code, value, raw, out)?;
        }
        Ok(())
    }

    /// One attribute, first occurrence.
    fn attribute(
        &mut self,
        flags: u8,
        code: u8,
        value: &[u8],
        raw: &[u8],
        out: &mut DecodedUpdate,
    ) -> Result<(), Notification> {
        let name = attribute_name(code);
        // Attributes dropped before anything else is looked at.
        match code {
            // RFC 7606 §7.5, §7.9, §7.10: from an external peer, attribute discard.
            code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST if self.ctx.ebgp => {
                self.findings
                    .discard(format!("{name} from an external peer discarded"));
                return Ok(());
            }
            // RFC 6793 §3: between two NEW speakers AS4_PATH / AS4_AGGREGATOR have no business
            // and are discarded.
            code::AS4_PATH | code::AS4_AGGREGATOR if self.ctx.four_octet_asn => {
                self.findings
                    .discard(format!("{name} on a 4-octet AS session discarded"));
                return Ok(());
            }
            _ => {}
        }
        // RFC 7606 §3 c: Optional or Transitive bit in conflict with the attribute's definition.
        if let Some(want) = expected_flags(code) {
            if flags & (flag::OPTIONAL | flag::TRANSITIVE) != want {
                let what = format!("{name} with attribute flags {flags:#04x}");
                match code {
                    // RFC 7606 §5.3: flags inconsistent with RFC 4760: session reset.
                    code::MP_REACH_NLRI | code::MP_UNREACH_NLRI => {
                        return Err(Notification::attribute_flags_error(raw))
                    }
                    // RFC 6793 §6: AS4_* errors are handled by attribute discard.
                    code::AS4_PATH | code::AS4_AGGREGATOR => self.findings.discard(what),
                    _ => self
                        .findings
                        .withdraw(what, Notification::attribute_flags_error(raw)),
                }
                return Ok(());
            }
        }
        let len = value.len();
        match code {
            // RFC 7606 §7.1.
            code::ORIGIN => match value {
                [v @ 0..=2] => {
                    self.attrs.origin = match v {
                        0 => Origin::Igp,
                        1 => Origin::Egp,
                        _ => Origin::Incomplete,
                    }
                }
                [v] => self.findings.withdraw(
                    format!("ORIGIN value {v}"),
                    Notification::invalid_origin_attribute(raw),
                ),
                _ => self.findings.withdraw(
                    format!("ORIGIN of length {len}"),
                    Notification::attribute_length_error(raw),
                ),
            },
            // RFC 7606 §7.2.
            code::AS_PATH => match parse_as_path(value, self.ctx.four_octet_asn) {
                Ok(p) => {
                    if self.ctx.ebgp
                        && p.segments.iter().any(|s| {
                            matches!(s, Segment::ConfedSequence(_) | Segment::ConfedSet(_))
                        })
                    {
                        self.findings.withdraw(
                            "AS_PATH from an external peer holds a confederation segment".into(),
                            Notification::malformed_as_path(),
                        );
                    } else if p.asns().any(|a| a.0 == 0) {
                        // RFC 7607 §2: AS 0 in AS_PATH is malformed, handled by RFC 7606.
                        self.findings.withdraw(
                            "AS_PATH holds AS 0".into(),
                            Notification::malformed_as_path(),
                        );
                    }
                    self.as_path = Some(p);
                }
                Err(e) => self.findings.withdraw(
                    format!("malformed AS_PATH: {e}"),
                    Notification::malformed_as_path(),
                ),
            },
            // RFC 7606 §7.3 (a martian next hop is the policy's `next-hop` check).
            code::NEXT_HOP => match value.first_chunk::<4>() {
                Some(a) if len == 4 => self.next_hop = Some(Ipv4Addr::from(*a)),
                _ => self.findings.withdraw(
                    format!("NEXT_HOP of length {len}"),
                    Notification::attribute_length_error(raw),
                ),
            },
            // RFC 7606 §7.4.
            code::MULTI_EXIT_DISC => match be32(value) {
                Some(v) if len == 4 => self.attrs.med = Some(v),
                _ => self.findings.withdraw(
                    format!("MULTI_EXIT_DISC of length {len}"),
                    Notification::attribute_length_error(raw),
                ),
            },
            // RFC 7606 §7.5 (iBGP; eBGP was discarded above).
            code::LOCAL_PREF => match be32(value) {
                Some(v) if len == 4 => self.attrs.local_pref = Some(v),
                _ => self.findings.withdraw(
                    format!("LOCAL_PREF of length {len}"),
                    Notification::attribute_length_error(raw),
                ),
            },
            // RFC 7606 §7.6.
            code::ATOMIC_AGGREGATE => {
                if len == 0 {
                    self.keep(flags, code, value);
                } else {
                    self.findings
                        .discard(format!("ATOMIC_AGGREGATE of length {len} discarded"));
                }
            }
            // RFC 7606 §7.7, RFC 7607 §2 (AS 0).
            code::AGGREGATOR => {
                let want = if self.ctx.four_octet_asn { 8 } else { 6 };
                let parsed = match value {
                    [a, b, c, d, e, f] if want == 6 => {
                        Some((u32::from(u16::from_be_bytes([*a, *b])), [*c, *d, *e, *f]))
                    }
                    [a, b, c, d, e, f, g, h] if want == 8 => {
                        Some((u32::from_be_bytes([*a, *b, *c, *d]), [*e, *f, *g, *h]))
                    }
                    _ => None,
                };
                match parsed {
                    Some((0, _)) => self
                        .findings
                        .discard("AGGREGATOR with AS 0 discarded".into()),
                    Some((asn, id)) => self.aggregator = Some((asn, id, flags)),
                    None => self.findings.discard(format!(
                        "AGGREGATOR of length {len} (expected {want}) discarded"
                    )),
                }
            }
            // RFC 7606 §7.8.
            code::COMMUNITIES => {
                if len == 0 || !len.is_multiple_of(4) {
                    self.findings.withdraw(
                        format!("COMMUNITIES of length {len}"),
                        Notification::optional_attribute_error(raw),
                    );
                } else {
                    self.attrs.communities = value.chunks_exact(4).filter_map(be32).collect();
                }
            }
            // RFC 7606 §7.9 (iBGP).
            code::ORIGINATOR_ID => {
                if len == 4 {
                    self.keep(flags, code, value);
                } else {
                    self.findings.withdraw(
                        format!("ORIGINATOR_ID of length {len}"),
                        Notification::attribute_length_error(raw),
                    );
                }
            }
            // RFC 7606 §7.10 (iBGP).
            code::CLUSTER_LIST => {
                if len != 0 && len.is_multiple_of(4) {
                    self.keep(flags, code, value);
                } else {
                    self.findings.withdraw(
                        format!("CLUSTER_LIST of length {len}"),
                        Notification::attribute_length_error(raw),
                    );
                }
            }
            code::MP_REACH_NLRI => self.mp_reach(value, raw, out)?,
            code::MP_UNREACH_NLRI => self.mp_unreach(value, raw, out)?,
            // RFC 7606 §7.14.
            code::EXTENDED_COMMUNITIES => {
                if len == 0 || !len.is_multiple_of(8) {
                    self.findings.withdraw(
                        format!("EXTENDED_COMMUNITIES of length {len}"),
                        Notification::optional_attribute_error(raw),
                    );
                } else {
                    self.attrs.ext_community_count += len / 8;
                    self.keep(flags, code, value);
                }
            }
            // RFC 7606 §7.15.
            code::IPV6_EXTENDED_COMMUNITIES => {
                if len == 0 || !len.is_multiple_of(20) {
                    self.findings.withdraw(
                        format!("IPv6_EXTENDED_COMMUNITIES of length {len}"),
                        Notification::optional_attribute_error(raw),
                    );
                } else {
                    self.attrs.ext_community_count += len / 20;
                    self.keep(flags, code, value);
                }
            }
            // RFC 6793 §6: a malformed AS4_PATH is discarded; confederation segments do not
            // belong in it; RFC 7607 §2 (AS 0) defers to RFC 6793.
            code::AS4_PATH => match parse_as_path(value, true) {
                Ok(p)
                    if p.segments.iter().any(|s| {
                        matches!(s, Segment::ConfedSequence(_) | Segment::ConfedSet(_))
                    }) =>
                {
                    self.findings
                        .discard("AS4_PATH with a confederation segment discarded".into())
                }
                Ok(p) if p.asns().any(|a| a.0 == 0) => {
                    self.findings.discard("AS4_PATH with AS 0 discarded".into())
                }
                Ok(p) => self.as4_path = Some(p),
                Err(e) => self
                    .findings
                    .discard(format!("malformed AS4_PATH discarded: {e}")),
            },
            code::AS4_AGGREGATOR => match value {
                [a, b, c, d, e, f, g, h] => {
                    let asn = u32::from_be_bytes([*a, *b, *c, *d]);
                    if asn == 0 {
                        self.findings
                            .discard("AS4_AGGREGATOR with AS 0 discarded".into());
                    } else {
                        self.as4_aggregator = Some((asn, [*e, *f, *g, *h]));
                    }
                }
                _ => self
                    .findings
                    .discard(format!("AS4_AGGREGATOR of length {len} discarded")),
            },
            // RFC 8092 §6.
            code::LARGE_COMMUNITIES => {
                if len == 0 || !len.is_multiple_of(12) {
                    self.findings.withdraw(
                        format!("LARGE_COMMUNITY of length {len}"),
                        Notification::optional_attribute_error(raw),
                    );
                } else {
                    self.attrs.large_communities = value
                        .chunks_exact(12)
                        .filter_map(|c| Some([be32(c)?, be32(c.get(4..)?)?, be32(c.get(8..)?)?]))
                        .collect();
                }
            }
            // RFC 9234 §5.
            code::ONLY_TO_CUSTOMER => match be32(value) {
                Some(v) if len == 4 => self.attrs.otc = Some(Asn(v)),
                _ => self.findings.withdraw(
                    format!("ONLY_TO_CUSTOMER of length {len}"),
                    Notification::optional_attribute_error(raw),
                ),
            },
            _ => {
                if flags & flag::OPTIONAL == 0 {
                    // RFC 4271 §6.3 "Unrecognized Well-known Attribute"; RFC 7606 §3 c makes an
                    // attribute whose flags contradict its definition treat-as-withdraw, and no
                    // well-known attribute is defined beyond the six we know.
                    self.findings.withdraw(
                        format!("unrecognized well-known attribute type {code}"),
                        Notification::unrecognized_well_known_attribute(raw),
                    );
                } else if flags & flag::TRANSITIVE != 0 {
                    // RFC 4271 §9: an unrecognized optional transitive attribute is passed on,
                    // here with its flags as received: bgpsieve relays between the neighbor and
                    // the router (DESIGN §1), which sets the Partial bit when it propagates it
                    // (§5), as it would have directly.
                    self.keep(flags, code, value);
                }
                // RFC 4271 §9: an unrecognized non-transitive attribute is quietly ignored.
            }
        }
        Ok(())
    }

    fn keep(&mut self, flags: u8, code: u8, value: &[u8]) {
        self.other.push(RawAttribute {
            flags,
            code,
            value: value.to_vec(),
        });
    }

    /// RFC 4760 §3; errors per RFC 7606 §5.3 and §7.11.
    fn mp_reach(
        &mut self,
        value: &[u8],
        raw: &[u8],
        out: &mut DecodedUpdate,
    ) -> Result<(), Notification> {
        let reset = || Notification::optional_attribute_error(raw);
        let Some((&[a0, a1, safi, nh_len], rest)) = value.split_first_chunk::<4>() else {
            return Err(reset());
        };
        let nh_len = usize::from(nh_len);
        let nh = rest.get(..nh_len).ok_or_else(reset)?;
        // One reserved octet (was SNPA count), ignored on receipt.
        let nlri = rest.get(nh_len + 1..).ok_or_else(reset)?;
        let afi = match (u16::from_be_bytes([a0, a1]), safi) {
            (AFI_IPV4, SAFI_UNICAST) => Afi::Ipv4,
            (AFI_IPV6, SAFI_UNICAST) => Afi::Ipv6,
            (afi, safi) => {
                // Not a family we negotiate; its NLRI live inside the attribute, so nothing
                // else of the UPDATE is lost by skipping it.
                self.findings
                    .all
                    .push(format!("MP_REACH_NLRI for AFI {afi} SAFI {safi} ignored"));
                return Ok(());
            }
        };
        let global = |b: &[u8]| b.first_chunk::<16>().map(|a| Ipv6Addr::from(*a));
        // RFC 2545 §3 (IPv6: global, or global + link-local), RFC 8950 §3 (IPv4 routes over an
        // IPv6 next hop); any other length means the NLRI cannot be located (§7.11).
        let next_hop = match (afi, nh_len) {
            (Afi::Ipv4, 4) => nh
                .first_chunk::<4>()
                .map(|a| (IpAddr::V4(Ipv4Addr::from(*a)), None)),
            (_, 16) => global(nh).map(|g| (IpAddr::V6(g), None)),
            (_, 32) => match (global(nh), nh.get(16..).and_then(global)) {
                (Some(g), Some(ll)) => Some((IpAddr::V6(g), Some(ll))),
                _ => None,
            },
            _ => None,
        };
        let next_hop = next_hop.ok_or_else(reset)?;
        self.mp_next_hop = Some(next_hop);
        let before = out.announced.len();
        out.announced.reserve(nlri.len() / 4);
        parse_nlri(
            nlri,
            afi,
            self.ctx.add_path_receive.contains(&afi),
            &mut out.announced,
        )
        .map_err(|_| reset())?;
        self.mp_reach_routes = out.announced.len() - before;
        Ok(())
    }

    /// RFC 4760 §4; errors per RFC 7606 §5.3 and §7.12.
    fn mp_unreach(
        &mut self,
        value: &[u8],
        raw: &[u8],
        out: &mut DecodedUpdate,
    ) -> Result<(), Notification> {
        let Some((&[a0, a1, safi], nlri)) = value.split_first_chunk::<3>() else {
            return Err(Notification::optional_attribute_error(raw));
        };
        let afi = match (u16::from_be_bytes([a0, a1]), safi) {
            (AFI_IPV4, SAFI_UNICAST) => Afi::Ipv4,
            (AFI_IPV6, SAFI_UNICAST) => Afi::Ipv6,
            (afi, safi) => {
                self.findings
                    .all
                    .push(format!("MP_UNREACH_NLRI for AFI {afi} SAFI {safi} ignored"));
                return Ok(());
            }
        };
        if nlri.is_empty() {
            self.empty_unreach = Some(afi);
            return Ok(());
        }
        parse_nlri(
            nlri,
            afi,
            self.ctx.add_path_receive.contains(&afi),
            &mut out.withdrawn,
        )
        .map_err(|_| Notification::optional_attribute_error(raw))
    }

    fn finish(
        mut self,
        mut out: DecodedUpdate,
        nlri_field: bool,
    ) -> Result<DecodedUpdate, Notification> {
        // RFC 6793 §4.2.3 on a 2-octet session: an AGGREGATOR other than AS_TRANS means the
        // AS4_* attributes are stale and ignored; otherwise AS4_AGGREGATOR and AS4_PATH count.
        let mut aggregator = self.aggregator;
        if !self.ctx.four_octet_asn {
            let stale = aggregator.is_some_and(|(asn, _, _)| asn != AS_TRANS_U32);
            if !stale {
                if let (Some(a), Some((asn4, id4))) = (aggregator.as_mut(), self.as4_aggregator) {
                    a.0 = asn4;
                    a.1 = id4;
                }
                if let (Some(p), Some(p4)) = (self.as_path.as_mut(), self.as4_path.take()) {
                    *p = merge_as4_path(std::mem::take(p), p4);
                }
            }
        }
        if let Some((asn, id, flags)) = aggregator {
            let mut value = Vec::with_capacity(8);
            value.extend_from_slice(&asn.to_be_bytes());
            value.extend_from_slice(&id);
            self.other.push(RawAttribute {
                flags,
                code: code::AGGREGATOR,
                value,
            });
        }
        let announces = !out.announced.is_empty();
        if announces {
            // RFC 7606 §3 d: a missing well-known mandatory attribute is treat-as-withdraw;
            // NEXT_HOP is only needed for routes in the NLRI field (RFC 4760 §3).
            for (code, present) in [
                (code::ORIGIN, self.seen(code::ORIGIN)),
                (code::AS_PATH, self.seen(code::AS_PATH)),
                (code::NEXT_HOP, self.seen(code::NEXT_HOP) || !nlri_field),
            ] {
                if !present {
                    self.findings.withdraw(
                        format!("missing well-known attribute {}", attribute_name(code)),
                        Notification::missing_well_known_attribute(code),
                    );
                }
            }
        } else if self.plain_attributes && self.findings.action == Some(ErrorAction::Withdraw) {
            // RFC 7606 §5.2: path attributes but no reachable NLRI: we cannot be sure the NLRI
            // were parsed, so any error stronger than attribute discard is a session reset.
            if let Some(n) = self.findings.escalation.take() {
                return Err(n);
            }
        }
        if !announces
            && out.withdrawn.is_empty()
            && !nlri_field
            && self.attribute_count == 1
            && self.findings.all.is_empty()
        {
            // RFC 4724 §2: an UPDATE holding only an empty MP_UNREACH_NLRI.
            out.end_of_rib = self.empty_unreach;
        }
        out.action = self.findings.action;
        out.findings = self.findings.all;
        if announces {
            let mut attrs = self.attrs;
            attrs.as_path = self.as_path.unwrap_or_default();
            attrs.next_hop = match (nlri_field, self.mp_next_hop, self.next_hop) {
                (false, Some((nh, ll)), _) => {
                    if let Some(ll) = ll {
                        self.other.push(RawAttribute {
                            flags: flag::OPTIONAL,
                            code: LINK_LOCAL_NEXT_HOP,
                            value: ll.octets().to_vec(),
                        });
                    }
                    Some(nh)
                }
                (_, _, Some(nh)) => Some(IpAddr::V4(nh)),
                (_, Some((nh, _)), None) => Some(nh),
                (_, None, None) => None,
            };
            if nlri_field && self.mp_reach_routes > 0 {
                out.findings.push(
                    "routes in both the NLRI field and MP_REACH_NLRI: NEXT_HOP reported for all"
                        .into(),
                );
            }
            attrs.malformed = self.findings.withdraw;
            self.other.sort_by_key(|a| a.code);
            out.attrs = Some(Arc::new(PathAttributes {
                attrs: Arc::new(attrs),
                other: self.other,
            }));
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Transforms
// ---------------------------------------------------------------------------------------------

impl PathAttributes {
    /// RFC 9234 §5: adds OTC = `asn` when the route has none; an existing OTC is never replaced.
    pub fn with_otc(&self, asn: Asn) -> PathAttributes {
        let mut p = self.clone();
        Arc::make_mut(&mut p.attrs).otc.get_or_insert(asn);
        p
    }

    /// Adds a large community (RFC 8092) unless it is already there.
    pub fn with_large_community(&self, c: [u32; 3]) -> PathAttributes {
        let mut p = self.clone();
        if !p.attrs.large_communities.contains(&c) {
            Arc::make_mut(&mut p.attrs).large_communities.push(c);
        }
        p
    }

    /// `asn` prepended to AS_PATH (what an eBGP speaker sends, RFC 4271 §5.1.2). The encoder
    /// splits sequences longer than 255.
    pub fn prepend(&self, asn: Asn) -> PathAttributes {
        let mut p = self.clone();
        let path = &mut Arc::make_mut(&mut p.attrs).as_path;
        match path.segments.first_mut() {
            Some(Segment::Sequence(v)) => v.insert(0, asn),
            _ => path.segments.insert(0, Segment::Sequence(vec![asn])),
        }
        p
    }

    /// A new next hop (RFC 4271 §5.1.3 third-party next hop); the old link-local one no longer
    /// applies and is dropped.
    pub fn with_next_hop(&self, ip: IpAddr) -> PathAttributes {
        let mut p = self.clone();
        Arc::make_mut(&mut p.attrs).next_hop = Some(ip);
        p.other.retain(|a| a.code != LINK_LOCAL_NEXT_HOP);
        p
    }

    /// Without LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST, which never go to an external peer
    /// (RFC 4271 §5.1.5, RFC 4456 §8).
    pub fn without_ibgp_only(&self) -> PathAttributes {
        let mut p = self.clone();
        if p.attrs.local_pref.is_some() {
            Arc::make_mut(&mut p.attrs).local_pref = None;
        }
        p.other
            .retain(|a| a.code != code::ORIGINATOR_ID && a.code != code::CLUSTER_LIST);
        p
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// What encoding needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeCtx {
    /// RFC 6793: 4-octet AS_PATH; otherwise 2-octet with AS_TRANS and AS4_PATH.
    pub four_octet_asn: bool,
    /// Families on which we send path identifiers (RFC 7911).
    pub add_path_send: Vec<Afi>,
    /// Largest message: 4096, or 65535 with RFC 8654 (clamped to that range).
    pub max_len: usize,
    /// Internal peer: LOCAL_PREF (default 100), ORIGINATOR_ID and CLUSTER_LIST are sent.
    pub ibgp: bool,
}

impl EncodeCtx {
    pub fn new(n: &Negotiated, ibgp: bool) -> EncodeCtx {
        EncodeCtx {
            four_octet_asn: n.four_octet_asn,
            add_path_send: n.add_path_send.clone(),
            max_len: n.max_message_len(),
            ibgp,
        }
    }

    fn max_len(&self) -> usize {
        self.max_len.clamp(MAX_LEN, EXTENDED_MAX_LEN)
    }
}

/// Routes to announce that share one attribute set.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// Already transformed by the caller (prepend, next hop, OTC, ...).
    pub attrs: &'a PathAttributes,
    pub nlri: &'a [Nlri],
}

/// An announcement that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("path attributes of {attrs_len} octets leave no room for a prefix in a {max_len}-octet UPDATE")]
    AttributesTooLarge { attrs_len: usize, max_len: usize },
    #[error("attribute type {code} has a value of {len} octets, more than 65535")]
    AttributeTooLong { code: u8, len: usize },
}

/// How one family of an announcement is sent: in the NLRI field (`mp_next_hop` None) or in
/// MP_REACH_NLRI with that next hop; the other attributes; the octets left for prefixes.
struct FamilyPlan {
    afi: Afi,
    mp_next_hop: Option<Vec<u8>>,
    attrs: Vec<u8>,
    room: usize,
}

const UPDATE_TYPE: u8 = 2;
/// Header, Withdrawn Routes Length, Total Path Attribute Length.
const FIXED: usize = HEADER_LEN + 4;
/// Largest prefix on the wire: path identifier, length, 16 octets.
const MAX_PREFIX_WIRE: usize = 4 + 1 + 16;

/// Appends full UPDATE messages (header included) announcing `out.nlri`: IPv4 prefixes in the
/// NLRI field when `next_hop` is IPv4 (else in MP_REACH_NLRI, RFC 8950, which the caller must
/// have negotiated), IPv6 prefixes in MP_REACH_NLRI (an IPv4 next hop becomes IPv4-mapped), as
/// many per message as fit. Prefixes keep their order. MP_REACH_NLRI is the first attribute
/// (RFC 7606 §5.1), the rest follow in type-code order (RFC 4271 §5). Errors, before anything
/// is appended, when the attributes leave no room for a single prefix.
pub fn encode_announcements(
    out: &Outgoing,
    ctx: &EncodeCtx,
    next_hop: IpAddr,
    into: &mut Vec<Vec<u8>>,
) -> Result<(), EncodeError> {
    let max = ctx.max_len();
    let pa = out.attrs;
    let (has4, has6) = out
        .nlri
        .iter()
        .fold((false, false), |(a, b), n| match n.prefix {
            IpNet::V4(_) => (true, b),
            IpNet::V6(_) => (a, true),
        });
    let link_local = if pa.attrs.next_hop == Some(next_hop) {
        pa.other
            .iter()
            .find(|a| a.code == LINK_LOCAL_NEXT_HOP)
            .and_then(|a| a.value.first_chunk::<16>())
            .copied()
    } else {
        None
    };
    let mp_next_hop = |afi: Afi| -> Vec<u8> {
        let mut nh = match (afi, next_hop) {
            (Afi::Ipv4, IpAddr::V4(a)) => return a.octets().to_vec(),
            (_, IpAddr::V4(a)) => a.to_ipv6_mapped().octets().to_vec(),
            (_, IpAddr::V6(a)) => a.octets().to_vec(),
        };
        if let (Some(ll), IpAddr::V6(_)) = (link_local, next_hop) {
            nh.extend_from_slice(&ll);
        }
        nh
    };
    let nlri_v4 = matches!(next_hop, IpAddr::V4(_));
    let mut plan: Vec<FamilyPlan> = Vec::with_capacity(2);
    for (afi, present) in [(Afi::Ipv4, has4), (Afi::Ipv6, has6)] {
        if !present {
            continue;
        }
        let mut attrs = Vec::with_capacity(64);
        let v4_nh = match (afi, next_hop) {
            (Afi::Ipv4, IpAddr::V4(a)) => Some(a),
            _ => None,
        };
        encode_path_attributes(pa, ctx, v4_nh, &mut attrs)?;
        let (mp, room) = if afi == Afi::Ipv4 && nlri_v4 {
            (None, max.saturating_sub(FIXED + attrs.len()))
        } else {
            let nh = mp_next_hop(afi);
            // MP_REACH_NLRI header (extended length) and its fixed part.
            let fixed = 4 + 2 + 1 + 1 + nh.len() + 1;
            (Some(nh), max.saturating_sub(FIXED + attrs.len() + fixed))
        };
        if room < MAX_PREFIX_WIRE {
            return Err(EncodeError::AttributesTooLarge {
                attrs_len: attrs.len(),
                max_len: max,
            });
        }
        plan.push(FamilyPlan {
            afi,
            mp_next_hop: mp,
            attrs,
            room,
        });
    }
    for FamilyPlan {
        afi,
        mp_next_hop: mp,
        attrs,
        room,
    } in plan
    {
        let add_path = ctx.add_path_send.contains(&afi);
        let prefixes = out.nlri.iter().filter(|n| n.afi() == afi);
        pack(prefixes, add_path, room, |chunk| match &mp {
            None => into.push(message(&[], &attrs, chunk)),
            Some(nh) => {
                let mut a = Vec::with_capacity(attrs.len() + chunk.len() + nh.len() + 9);
                put_mp_reach(&mut a, afi, nh, chunk);
                a.extend_from_slice(&attrs);
                into.push(message(&[], &a, &[]));
            }
        });
    }
    Ok(())
}

/// Routes for one session as the RIB hands them over: announcements grouped by attribute set
/// (already made what the receiver should get), withdrawals, and whether End-of-RIB follows.
/// The session encodes them for its own negotiated parameters ([`encode_outbound`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    /// The session generation the routes are for (`FromSession::Up`).
    pub generation: u64,
    pub announce: Vec<(Arc<PathAttributes>, Vec<Nlri>)>,
    pub withdraw: Vec<Nlri>,
    /// End-of-RIB (RFC 4724) for every negotiated family after the routes.
    pub end_of_rib: bool,
}

impl Outbound {
    pub fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty() && !self.end_of_rib
    }

    /// How many routes it announces or withdraws.
    pub fn len(&self) -> usize {
        self.withdraw.len() + self.announce.iter().map(|(_, v)| v.len()).sum::<usize>()
    }
}

/// The next hop an announcement of `afi` carries on the wire: the route's own when it is of the
/// family; an IPv6 route with an IPv4 next hop gets it IPv4-mapped by the encoder; an IPv4 route
/// with only an IPv6 next hop (RFC 8950, not negotiated here) cannot be sent.
fn wire_next_hop(attrs: &PathAttributes, afi: Afi) -> Option<IpAddr> {
    match (afi, attrs.attrs.next_hop?) {
        (Afi::Ipv4, IpAddr::V6(_)) => None,
        (_, nh) => Some(nh),
    }
}

/// Encodes `out` for a session with these negotiated parameters: withdrawals first, then the
/// announcements of the families the session negotiated, then End-of-RIB. What cannot be
/// announced (no usable next hop, attributes too large for one message) is withdrawn instead,
/// so the receiver never keeps an older route that this one replaced. Returns the messages and
/// how many routes were withdrawn instead of announced.
pub fn encode_outbound(out: &Outbound, neg: &Negotiated, ibgp: bool) -> (Vec<Vec<u8>>, usize) {
    let ctx = EncodeCtx::new(neg, ibgp);
    let mut msgs = Vec::new();
    let mut withdraw: Vec<Nlri> = out
        .withdraw
        .iter()
        .filter(|n| neg.families.contains(&n.afi()))
        .copied()
        .collect();
    let mut refused = 0;
    for (attrs, nlri) in &out.announce {
        for afi in [Afi::Ipv4, Afi::Ipv6] {
            if !neg.families.contains(&afi) {
                continue;
            }
            let part: Vec<Nlri> = nlri.iter().filter(|n| n.afi() == afi).copied().collect();
            if part.is_empty() {
                continue;
            }
            let sent = wire_next_hop(attrs, afi).is_some_and(|nh| {
                encode_announcements(&Outgoing { attrs, nlri: &part }, &ctx, nh, &mut msgs).is_ok()
            });
            if !sent {
                refused += part.len();
                withdraw.extend(part);
            }
        }
    }
    if !withdraw.is_empty() {
        let mut w = Vec::new();
        encode_withdrawals(&withdraw, &ctx, &mut w);
        w.append(&mut msgs);
        msgs = w;
    }
    if out.end_of_rib {
        msgs.extend(neg.families.iter().map(|afi| encode_end_of_rib(*afi, &ctx)));
    }
    (msgs, refused)
}

/// Appends UPDATE messages withdrawing `nlri`: IPv4 in the Withdrawn Routes field, IPv6 in
/// MP_UNREACH_NLRI, as many per message as fit.
pub fn encode_withdrawals(nlri: &[Nlri], ctx: &EncodeCtx, into: &mut Vec<Vec<u8>>) {
    let max = ctx.max_len();
    let v4 = nlri.iter().filter(|n| n.afi() == Afi::Ipv4);
    pack(
        v4,
        ctx.add_path_send.contains(&Afi::Ipv4),
        max - FIXED,
        |chunk| into.push(message(chunk, &[], &[])),
    );
    let v6 = nlri.iter().filter(|n| n.afi() == Afi::Ipv6);
    pack(
        v6,
        ctx.add_path_send.contains(&Afi::Ipv6),
        max - FIXED - 4 - 3,
        |chunk| {
            let mut a = Vec::with_capacity(chunk.len() + 7);
            put_mp_unreach(&mut a, Afi::Ipv6, chunk);
            into.push(message(&[], &a, &[]));
        },
    );
}

/// RFC 4724 §2: the End-of-RIB marker of a family.
pub fn encode_end_of_rib(afi: Afi, _ctx: &EncodeCtx) -> Vec<u8> {
    match afi {
        Afi::Ipv4 => message(&[], &[], &[]),
        Afi::Ipv6 => {
            let mut a = Vec::with_capacity(6);
            put_mp_unreach(&mut a, afi, &[]);
            message(&[], &a, &[])
        }
    }
}

/// Greedy in-order packing: each chunk holds as many prefixes as fit in `room` octets. With
/// every prefix at most [`MAX_PREFIX_WIRE`] octets, no chunk wastes more than that.
fn pack<'a>(
    prefixes: impl Iterator<Item = &'a Nlri>,
    add_path: bool,
    room: usize,
    mut emit: impl FnMut(&[u8]),
) {
    let mut chunk: Vec<u8> = Vec::new();
    for n in prefixes {
        let len = prefix_wire_len(n, add_path);
        if chunk.len() + len > room && !chunk.is_empty() {
            emit(&chunk);
            chunk.clear();
        }
        if chunk.capacity() == 0 {
            chunk.reserve(room);
        }
        put_prefix(&mut chunk, n, add_path);
    }
    if !chunk.is_empty() {
        emit(&chunk);
    }
}

fn prefix_wire_len(n: &Nlri, add_path: bool) -> usize {
    let octets = usize::from(n.prefix.prefix_len()).div_ceil(8);
    octets + 1 + if add_path { 4 } else { 0 }
}

fn put_prefix(buf: &mut Vec<u8>, n: &Nlri, add_path: bool) {
    if add_path {
        buf.extend_from_slice(&n.path_id.unwrap_or(0).to_be_bytes());
    }
    let len = n.prefix.prefix_len();
    let octets = usize::from(len).div_ceil(8);
    buf.push(len);
    match n.prefix.network() {
        IpAddr::V4(a) => buf.extend_from_slice(a.octets().get(..octets).unwrap_or_default()),
        IpAddr::V6(a) => buf.extend_from_slice(a.octets().get(..octets).unwrap_or_default()),
    }
}

/// A whole UPDATE message. Callers keep the body within the negotiated maximum.
fn message(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = FIXED + withdrawn.len() + attributes.len() + nlri.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&MARKER);
    m.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    m.push(UPDATE_TYPE);
    m.extend_from_slice(
        &u16::try_from(withdrawn.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(
        &u16::try_from(attributes.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    m.extend_from_slice(attributes);
    m.extend_from_slice(nlri);
    m
}

fn put_mp_reach(buf: &mut Vec<u8>, afi: Afi, next_hop: &[u8], nlri: &[u8]) {
    let _ = put_attr(buf, flag::OPTIONAL, code::MP_REACH_NLRI, |v| {
        v.extend_from_slice(&afi_code(afi).to_be_bytes());
        v.push(SAFI_UNICAST);
        v.push(u8::try_from(next_hop.len()).unwrap_or(0));
        v.extend_from_slice(next_hop);
        v.push(0);
        v.extend_from_slice(nlri);
    });
}

fn put_mp_unreach(buf: &mut Vec<u8>, afi: Afi, nlri: &[u8]) {
    let _ = put_attr(buf, flag::OPTIONAL, code::MP_UNREACH_NLRI, |v| {
        v.extend_from_slice(&afi_code(afi).to_be_bytes());
        v.push(SAFI_UNICAST);
        v.extend_from_slice(nlri);
    });
}

/// One attribute: the value is written by `value`; the length field is one octet unless the
/// value needs two or `flags` already asks for two (kept so pass-through attributes stay
/// byte-exact). Err when the value exceeds 65535 octets (nothing is appended then).
fn put_attr(
    buf: &mut Vec<u8>,
    flags: u8,
    code: u8,
    value: impl FnOnce(&mut Vec<u8>),
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.extend_from_slice(&[(flags & 0xf0) | flag::EXTENDED_LENGTH, code, 0, 0]);
    value(buf);
    let len = buf.len() - start - 4;
    if len <= 255 && flags & flag::EXTENDED_LENGTH == 0 {
        if let Some(h) = buf.get_mut(start..start + 3) {
            h.copy_from_slice(&[flags & 0xe0, code, len as u8]);
        }
        buf.copy_within(start + 4.., start + 3);
        buf.truncate(buf.len() - 1);
        Ok(())
    } else if let Ok(len) = u16::try_from(len) {
        if let Some(h) = buf.get_mut(start + 2..start + 4) {
            h.copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    } else {
        buf.truncate(start);
        Err(EncodeError::AttributeTooLong { code, len })
    }
}

/// The 2-octet form of an ASN (RFC 6793 §4.2.2: AS_TRANS when it does not fit).
fn asn16(a: Asn) -> [u8; 2] {
    u16::try_from(a.0).unwrap_or(AS_TRANS).to_be_bytes()
}

fn put_segments(v: &mut Vec<u8>, path: &AsPath, four: bool, with_confed: bool) {
    for s in &path.segments {
        let kind = match s {
            Segment::Set(_) => 1,
            Segment::Sequence(_) => 2,
            Segment::ConfedSequence(_) if with_confed => 3,
            Segment::ConfedSet(_) if with_confed => 4,
            _ => continue,
        };
        for chunk in s.asns().chunks(255) {
            v.push(kind);
            v.push(chunk.len() as u8);
            for a in chunk {
                if four {
                    v.extend_from_slice(&a.0.to_be_bytes());
                } else {
                    v.extend_from_slice(&asn16(*a));
                }
            }
        }
    }
}

/// Every attribute but MP_REACH_NLRI, in type-code order.
fn encode_path_attributes(
    pa: &PathAttributes,
    ctx: &EncodeCtx,
    next_hop: Option<Ipv4Addr>,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let a = &pa.attrs;
    let wk = flag::TRANSITIVE;
    let ot = flag::OPTIONAL | flag::TRANSITIVE;
    // Attributes of `other` we write ourselves, or that go only to internal peers.
    let passed = |r: &&RawAttribute| match r.code {
        code::ORIGIN
        | code::AS_PATH
        | code::NEXT_HOP
        | code::MULTI_EXIT_DISC
        | code::LOCAL_PREF
        | code::COMMUNITIES
        | code::MP_REACH_NLRI
        | code::MP_UNREACH_NLRI
        | code::AS4_PATH
        | code::AS4_AGGREGATOR
        | code::LARGE_COMMUNITIES
        | code::ONLY_TO_CUSTOMER => false,
        code::ORIGINATOR_ID | code::CLUSTER_LIST => ctx.ibgp,
        _ => true,
    };
    let mut others: Vec<&RawAttribute> = pa.other.iter().filter(passed).collect();
    others.sort_by_key(|r| r.code);
    // RFC 6793 §4.2.2: on a 2-octet session an aggregator AS above 65535 is sent as AS_TRANS
    // in AGGREGATOR, and in full in AS4_AGGREGATOR.
    let as4_aggregator = others
        .iter()
        .find(|r| r.code == code::AGGREGATOR)
        .map(|r| r.value.as_slice())
        .filter(|v| !ctx.four_octet_asn && be32(v).is_some_and(|asn| asn > 0xffff));
    let mut others = others.into_iter().peekable();
    let four = ctx.four_octet_asn;
    let mut until = |buf: &mut Vec<u8>, code: u8| -> Result<(), EncodeError> {
        while let Some(r) = others.next_if(|r| r.code < code) {
            put_other(buf, r, four)?;
        }
        Ok(())
    };
    let origin = match a.origin {
        Origin::Igp => 0,
        Origin::Egp => 1,
        Origin::Incomplete => 2,
    };
    put_attr(buf, wk, code::ORIGIN, |v| v.push(origin))?;
    put_attr(buf, wk, code::AS_PATH, |v| {
        put_segments(v, &a.as_path, ctx.four_octet_asn, true)
    })?;
    if let Some(nh) = next_hop {
        put_attr(buf, wk, code::NEXT_HOP, |v| {
            v.extend_from_slice(&nh.octets())
        })?;
    }
    if let Some(med) = a.med {
        put_attr(buf, flag::OPTIONAL, code::MULTI_EXIT_DISC, |v| {
            v.extend_from_slice(&med.to_be_bytes())
        })?;
    }
    if ctx.ibgp {
        let lp = a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
        put_attr(buf, wk, code::LOCAL_PREF, |v| {
            v.extend_from_slice(&lp.to_be_bytes())
        })?;
    }
    until(buf, code::COMMUNITIES)?;
    if !a.communities.is_empty() {
        put_attr(buf, ot, code::COMMUNITIES, |v| {
            for c in &a.communities {
                v.extend_from_slice(&c.to_be_bytes());
            }
        })?;
    }
    until(buf, code::AS4_PATH)?;
    if !ctx.four_octet_asn
        && a.as_path.segments.iter().any(|s| {
            matches!(s, Segment::Sequence(_) | Segment::Set(_))
                && s.asns().iter().any(|x| x.0 > 0xffff)
        })
    {
        // RFC 6793 §4.2.2: the true path, without confederation segments.
        put_attr(buf, ot, code::AS4_PATH, |v| {
            put_segments(v, &a.as_path, true, false)
        })?;
    }
    if let Some(v) = as4_aggregator {
        put_attr(buf, ot, code::AS4_AGGREGATOR, |b| b.extend_from_slice(v))?;
    }
    until(buf, code::LARGE_COMMUNITIES)?;
    if !a.large_communities.is_empty() {
        put_attr(buf, ot, code::LARGE_COMMUNITIES, |v| {
            for l in &a.large_communities {
                for x in l {
                    v.extend_from_slice(&x.to_be_bytes());
                }
            }
        })?;
    }
    until(buf, code::ONLY_TO_CUSTOMER)?;
    if let Some(otc) = a.otc {
        put_attr(buf, ot, code::ONLY_TO_CUSTOMER, |v| {
            v.extend_from_slice(&otc.0.to_be_bytes())
        })?;
    }
    until(buf, u8::MAX)?;
    // Code 255 itself, if anyone sends it.
    for r in others {
        put_attr(buf, r.flags, r.code, |v| v.extend_from_slice(&r.value))?;
    }
    Ok(())
}

/// One attribute of `other`; AGGREGATOR in its 2-octet form on a 2-octet session.
fn put_other(buf: &mut Vec<u8>, r: &RawAttribute, four_octet_asn: bool) -> Result<(), EncodeError> {
    match (r.code, r.value.as_slice()) {
        (code::AGGREGATOR, [a, b, c, d, id @ ..]) if !four_octet_asn => {
            let asn = Asn(u32::from_be_bytes([*a, *b, *c, *d]));
            put_attr(buf, r.flags, r.code, |v| {
                v.extend_from_slice(&asn16(asn));
                v.extend_from_slice(id);
            })
        }
        _ => put_attr(buf, r.flags, r.code, |v| v.extend_from_slice(&r.value)),
    }
}

#[cfg(test)]
mod tests;
