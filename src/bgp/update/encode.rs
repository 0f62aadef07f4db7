//! UPDATE encoding (RFC 4271 §4.3): announcements, withdrawals and End-of-RIB as whole
//! messages for one session's negotiated parameters (4-octet ASNs or AS_TRANS with AS4_PATH,
//! ADD-PATH, extended messages), packed with as many prefixes per message as fit (DESIGN §9:
//! "UPDATE packing is ours"). It writes what it is given: which routes go where, and with which
//! attributes, is decided before (the RIB, the transforms).

use super::{
    be32, code, flag, EncodeCtx, EncodeError, Nlri, Outbound, Outgoing, PathAttributes,
    RawAttribute, DEFAULT_LOCAL_PREF, LINK_LOCAL_NEXT_HOP,
};
use crate::bgp::capability::{afi_code, SAFI_UNICAST};
use crate::bgp::codec::{HEADER_LEN, MARKER};
use crate::bgp::open::{Negotiated, AS_TRANS};
use crate::types::{Afi, AsPath, Asn, Origin, Segment};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

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
pub(super) const MAX_PREFIX_WIRE: usize = 4 + 1 + 16;

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
    msgs.extend(
        out.end_of_rib
            .iter()
            .filter(|afi| neg.families.contains(afi))
            .map(|afi| encode_end_of_rib(*afi, &ctx)),
    );
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

pub(super) fn prefix_wire_len(n: &Nlri, add_path: bool) -> usize {
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
pub(super) fn encode_path_attributes(
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
