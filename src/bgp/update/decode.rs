//! UPDATE decoding (RFC 4271 §4.3): the two length fields, the Withdrawn Routes and NLRI fields
//! (with RFC 7911 path identifiers as negotiated), the walk over the path attributes that reads
//! each header, checks flags, repeats and overruns (RFC 7606 §3 c, §3 g, §4) and hands the value
//! to its decoder in `attr`, then what needs the whole UPDATE: the AS4_PATH / AS4_AGGREGATOR
//! merge (RFC 6793 §4.2.3), missing well-known attributes (§3 d), errors without reachable NLRI
//! (§5.2) and End-of-RIB (RFC 4724 §2). Every problem found is put to `rfc7606::action` and its
//! answer applied here; this module decides no action itself.

use super::attr::{self, Malformed, MpReach, MpUnreach};
use super::{
    attribute_name, code, flag, DecodeCtx, DecodedUpdate, Nlri, PathAttributes, RawAttribute,
    LINK_LOCAL_NEXT_HOP,
};
use crate::bgp::notification::Notification;
use crate::bgp::open::AS_TRANS;
use crate::bgp::rfc7606::{self, ErrorAction, Peer, Problem, NO_ATTRIBUTE};
use crate::types::{Afi, AsPath, Attrs};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

const AS_TRANS_U32: u32 = AS_TRANS as u32;

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
    // field cannot be parsed, and treat-as-withdraw needs it parsed (§3 j): the table's
    // `Problem::Nlri` row, the one answer possible here.
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
pub(super) fn parse_nlri(
    mut b: &[u8],
    afi: Afi,
    add_path: bool,
    out: &mut Vec<Nlri>,
) -> Result<(), ()> {
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

    /// Something worth a log line that is no error (a family we do not carry).
    fn note(&mut self, what: String) {
        self.all.push(what);
    }
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
                    // RFC 7606 §4: fewer octets left than an attribute header. No attribute
                    // can be named; the NLRI field is still found through Total Path
                    // Attribute Length.
                    self.plain_attributes = true;
                    let what = format!(
                        "{} octet(s) left in the path attributes, too few for an attribute header",
                        b.len()
                    );
                    return self.judge(
                        NO_ATTRIBUTE,
                        Problem::Overrun,
                        what,
                        Notification::malformed_attribute_list,
                    );
                }
            };
            let mp = code == code::MP_REACH_NLRI || code == code::MP_UNREACH_NLRI;
            let Some(raw) = b.get(..header + len) else {
                // RFC 7606 §4: the last attribute runs past Total Path Attribute Length (for
                // AS_PATH also §7.2, "overrun"); for MP_REACH/MP_UNREACH its NLRI are lost
                // (§5.3, §3 j), named by Optional Attribute Error like their other errors.
                if !mp {
                    self.plain_attributes = true;
                }
                let what = format!(
                    "{} (type {code}) of length {len} runs past the path attributes ({} octets left)",
                    attribute_name(code),
                    b.len().saturating_sub(header)
                );
                let notify: fn(&[u8]) -> Notification = if mp {
                    Notification::optional_attribute_error
                } else {
                    Notification::attribute_length_error
                };
                return self.judge(code, Problem::Overrun, what, || notify(b));
            };
            let value = raw.get(header..).unwrap_or_default();
            b = b.get(header + len..).unwrap_or_default();
            self.attribute_count += 1;
            if !mp {
                self.plain_attributes = true;
            }
            if self.seen(code) {
                // RFC 7606 §3 g; RFC 4271 §6.3 names it Malformed Attribute List.
                let what = format!(
                    "{} (type {code}) repeated: all but the first discarded",
                    attribute_name(code)
                );
                self.judge(
                    code,
                    Problem::Repeated,
                    what,
                    Notification::malformed_attribute_list,
                )?;
                continue;
            }
            self.mark(code);
            self.attribute(flags & 0xf0, code, value, raw, out)?;
        }
        Ok(())
    }

    /// One attribute, first occurrence: checked against the session and its flags, then handed
    /// to its decoder (`attr`, by type code).
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
        let unexpected = match code {
            // RFC 7606 §7.5, §7.9, §7.10: not for an external peer.
            code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST if self.ctx.ebgp => {
                Some(format!("{name} from an external peer discarded"))
            }
            // RFC 6793 §3: between two NEW speakers AS4_PATH / AS4_AGGREGATOR have no business.
            code::AS4_PATH | code::AS4_AGGREGATOR if self.ctx.four_octet_asn => {
                Some(format!("{name} on a 4-octet AS session discarded"))
            }
            _ => None,
        };
        if let Some(what) = unexpected {
            return self.judge(
                code,
                Problem::Unexpected,
                what,
                Notification::malformed_attribute_list,
            );
        }
        // RFC 7606 §3 c: Optional or Transitive bit in conflict with the attribute's definition.
        if expected_flags(code)
            .is_some_and(|want| flags & (flag::OPTIONAL | flag::TRANSITIVE) != want)
        {
            let what = format!("{name} with attribute flags {flags:#04x}");
            return self.judge(code, Problem::Flags, what, || {
                Notification::attribute_flags_error(raw)
            });
        }
        match code {
            code::ORIGIN => {
                if let Some(o) = self.decoded(code, raw, attr::decode_origin(value))? {
                    self.attrs.origin = o;
                }
            }
            code::AS_PATH => {
                let four = self.ctx.four_octet_asn;
                if let Some(p) = self.decoded(code, raw, attr::decode_as_path(value, four))? {
                    // A well-formed path is kept even when it is wrong, so the route shows
                    // what was received.
                    if let Some(m) = attr::check_as_path(&p, self.ctx.ebgp) {
                        self.malformed(code, m, raw)?;
                    }
                    self.as_path = Some(p);
                }
            }
            code::NEXT_HOP => {
                if let Some(a) = self.decoded(code, raw, attr::decode_next_hop(value))? {
                    self.next_hop = Some(a);
                }
            }
            code::MULTI_EXIT_DISC => {
                if let Some(v) = self.decoded(code, raw, attr::decode_med(value))? {
                    self.attrs.med = Some(v);
                }
            }
            // From an internal peer (an external one's was dropped above).
            code::LOCAL_PREF => {
                if let Some(v) = self.decoded(code, raw, attr::decode_local_pref(value))? {
                    self.attrs.local_pref = Some(v);
                }
            }
            code::ATOMIC_AGGREGATE => {
                if let Some(()) = self.decoded(code, raw, attr::decode_atomic_aggregate(value))? {
                    self.keep(flags, code, value);
                }
            }
            code::AGGREGATOR => {
                let four = self.ctx.four_octet_asn;
                if let Some((asn, id)) =
                    self.decoded(code, raw, attr::decode_aggregator(value, four))?
                {
                    self.aggregator = Some((asn, id, flags));
                }
            }
            code::COMMUNITIES => {
                if let Some(v) = self.decoded(code, raw, attr::decode_communities(value))? {
                    self.attrs.communities = v;
                }
            }
            // From an internal peer, as LOCAL_PREF.
            code::ORIGINATOR_ID => {
                if let Some(()) = self.decoded(code, raw, attr::decode_originator_id(value))? {
                    self.keep(flags, code, value);
                }
            }
            code::CLUSTER_LIST => {
                if let Some(()) = self.decoded(code, raw, attr::decode_cluster_list(value))? {
                    self.keep(flags, code, value);
                }
            }
            code::MP_REACH_NLRI => {
                let reach =
                    attr::decode_mp_reach(value, &self.ctx.add_path_receive, &mut out.announced);
                match self.decoded(code, raw, reach)? {
                    Some(MpReach::Routes { next_hop, count }) => {
                        self.mp_next_hop = Some(next_hop);
                        self.mp_reach_routes = count;
                    }
                    // Not a family we negotiate; its NLRI live inside the attribute, so
                    // nothing else of the UPDATE is lost by skipping it.
                    Some(MpReach::OtherFamily { afi, safi }) => self
                        .findings
                        .note(format!("MP_REACH_NLRI for AFI {afi} SAFI {safi} ignored")),
                    None => {}
                }
            }
            code::MP_UNREACH_NLRI => {
                let unreach =
                    attr::decode_mp_unreach(value, &self.ctx.add_path_receive, &mut out.withdrawn);
                match self.decoded(code, raw, unreach)? {
                    Some(MpUnreach::Routes) | None => {}
                    Some(MpUnreach::Nothing(afi)) => self.empty_unreach = Some(afi),
                    Some(MpUnreach::OtherFamily { afi, safi }) => self
                        .findings
                        .note(format!("MP_UNREACH_NLRI for AFI {afi} SAFI {safi} ignored")),
                }
            }
            code::EXTENDED_COMMUNITIES => {
                if let Some(n) =
                    self.decoded(code, raw, attr::decode_extended_communities(value))?
                {
                    self.attrs.ext_community_count += n;
                    self.keep(flags, code, value);
                }
            }
            code::IPV6_EXTENDED_COMMUNITIES => {
                let decoded = attr::decode_ipv6_extended_communities(value);
                if let Some(n) = self.decoded(code, raw, decoded)? {
                    self.attrs.ext_community_count += n;
                    self.keep(flags, code, value);
                }
            }
            code::AS4_PATH => {
                if let Some(p) = self.decoded(code, raw, attr::decode_as4_path(value))? {
                    self.as4_path = Some(p);
                }
            }
            code::AS4_AGGREGATOR => {
                if let Some(a) = self.decoded(code, raw, attr::decode_as4_aggregator(value))? {
                    self.as4_aggregator = Some(a);
                }
            }
            code::LARGE_COMMUNITIES => {
                if let Some(v) = self.decoded(code, raw, attr::decode_large_communities(value))? {
                    self.attrs.large_communities = v;
                }
            }
            code::ONLY_TO_CUSTOMER => {
                if let Some(otc) = self.decoded(code, raw, attr::decode_otc(value))? {
                    self.attrs.otc = Some(otc);
                }
            }
            _ => {
                if flags & flag::OPTIONAL == 0 {
                    // RFC 4271 §6.3 "Unrecognized Well-known Attribute": no well-known attribute
                    // is defined beyond the six we know.
                    let what = format!("unrecognized well-known attribute type {code}");
                    self.judge(code, Problem::UnrecognizedWellKnown, what, || {
                        Notification::unrecognized_well_known_attribute(raw)
                    })?;
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

    /// The value a decoder found, or `None` when it found a problem (whose action is applied).
    fn decoded<T>(
        &mut self,
        code: u8,
        raw: &[u8],
        decoded: attr::Decoded<T>,
    ) -> Result<Option<T>, Notification> {
        match decoded {
            Ok(v) => Ok(Some(v)),
            Err(m) => self.malformed(code, m, raw).map(|()| None),
        }
    }

    /// Applies the action for what a decoder found wrong with attribute `raw`.
    fn malformed(&mut self, code: u8, m: Malformed, raw: &[u8]) -> Result<(), Notification> {
        let notify = m.notify;
        self.judge(code, m.problem, m.what, || notify(raw))
    }

    /// Asks the RFC 7606 table what `problem` in attribute `code` calls for and applies it:
    /// the finding is recorded (`what`), and `notification` is the NOTIFICATION sent if the
    /// answer is a session reset, now or by the §5.2 escalation in `finish`.
    fn judge(
        &mut self,
        code: u8,
        problem: Problem,
        what: String,
        notification: impl FnOnce() -> Notification,
    ) -> Result<(), Notification> {
        let peer = if self.ctx.ebgp {
            Peer::External
        } else {
            Peer::Internal
        };
        match rfc7606::action(code, problem, peer) {
            ErrorAction::Discard => self.findings.discard(what),
            ErrorAction::Withdraw => self.findings.withdraw(what, notification()),
            ErrorAction::Reset => return Err(notification()),
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
                    *p = attr::merge_as4_path(std::mem::take(p), p4);
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
            // RFC 7606 §3 d: the well-known mandatory attributes; NEXT_HOP is only needed for
            // routes in the NLRI field (RFC 4760 §3).
            for (code, present) in [
                (code::ORIGIN, self.seen(code::ORIGIN)),
                (code::AS_PATH, self.seen(code::AS_PATH)),
                (code::NEXT_HOP, self.seen(code::NEXT_HOP) || !nlri_field),
            ] {
                if !present {
                    let what = format!("missing well-known attribute {}", attribute_name(code));
                    self.judge(code, Problem::Missing, what, || {
                        Notification::missing_well_known_attribute(code)
                    })?;
                }
            }
        } else if self.plain_attributes
            && self.findings.action.map(rfc7606::without_reachable_nlri) == Some(ErrorAction::Reset)
        {
            // RFC 7606 §5.2: path attributes but no reachable NLRI.
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
