//! MRT records (bgpkit-parser models) to bgpsieve's own route events. One `Arc<Attrs>` per
//! UPDATE or RIB entry, shared by all its prefixes; RFC 7606 findings become `Attrs::malformed`
//! (treat-as-withdraw) or mark the record malformed (session-reset class: its NLRI are lost).

use crate::bgp::rfc7606::{classify, ErrorAction};
use crate::types::{AsPath, Asn, Attrs, Origin, Segment};
use bgpkit_parser::models::{
    AsPathSegment, AttributeValue, Attributes, BgpMessage, BgpUpdateMessage, Community,
    NetworkPrefix, NextHopAddress, Origin as BgpOrigin,
};
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

/// Identifies one MRT peer: printed `ASN@IP` in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey {
    pub asn: Asn,
    pub ip: IpAddr,
}

impl std::fmt::Display for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.asn.0, self.ip)
    }
}

/// One route event taken from a record.
#[derive(Debug, Clone)]
pub struct Update {
    pub peer: PeerKey,
    /// Seconds since the epoch (MRT header time; microseconds dropped).
    pub ts: u64,
    pub attrs: Arc<Attrs>,
    pub announced: Vec<(IpNet, Option<u32>)>,
    pub withdrawn: Vec<(IpNet, Option<u32>)>,
    /// End-of-RIB marker (RFC 4724 §2) seen in this UPDATE.
    pub end_of_rib: bool,
    /// RFC 7606 findings (any action) were attached to this record.
    pub warnings: bool,
    /// Findings of the session-reset class: the NLRI boundaries cannot be trusted.
    pub reset: bool,
}

impl Update {
    /// An update with no End-of-RIB marker and no RFC 7606 findings.
    pub fn new(
        peer: PeerKey,
        ts: u64,
        attrs: Attrs,
        announced: Vec<(IpNet, Option<u32>)>,
        withdrawn: Vec<(IpNet, Option<u32>)>,
    ) -> Update {
        Update {
            peer,
            ts,
            attrs: Arc::new(attrs),
            announced,
            withdrawn,
            end_of_rib: false,
            warnings: false,
            reset: false,
        }
    }
}

fn asn(a: bgpkit_parser::models::Asn) -> Asn {
    Asn(u32::from(a))
}

fn segments(p: &bgpkit_parser::models::AsPath) -> AsPath {
    let segments = p
        .iter_segments()
        .map(|s| {
            let v = |x: &[bgpkit_parser::models::Asn]| x.iter().map(|a| asn(*a)).collect();
            match s {
                AsPathSegment::AsSequence(x) => Segment::Sequence(v(x)),
                AsPathSegment::AsSet(x) => Segment::Set(v(x)),
                AsPathSegment::ConfedSequence(x) => Segment::ConfedSequence(v(x)),
                AsPathSegment::ConfedSet(x) => Segment::ConfedSet(v(x)),
            }
        })
        .collect();
    AsPath { segments }
}

fn next_hop(n: &NextHopAddress) -> IpAddr {
    match n {
        NextHopAddress::Ipv4(a) => IpAddr::V4(*a),
        NextHopAddress::Ipv6(a) | NextHopAddress::Ipv6LinkLocal(a, _) => IpAddr::V6(*a),
        NextHopAddress::VpnIpv6(_, a) => IpAddr::V6(*a),
        #[allow(unreachable_patterns)]
        _ => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

/// Our attributes from bgpkit's, with the RFC 7606 outcome.
/// Returns (attrs, any findings, reset-class finding).
pub fn attrs(a: &Attributes) -> (Attrs, bool, bool) {
    let mut out = Attrs::default();
    let mut as_path = None;
    let mut as4_path = None;
    let mut mp_next_hop = None;
    for attr in a.iter() {
        match attr {
            AttributeValue::Origin(o) => {
                out.origin = match o {
                    BgpOrigin::IGP => Origin::Igp,
                    BgpOrigin::EGP => Origin::Egp,
                    _ => Origin::Incomplete,
                }
            }
            AttributeValue::AsPath(p) => as_path = Some(p),
            AttributeValue::As4Path(p) => as4_path = Some(p),
            AttributeValue::NextHop(n) => out.next_hop = Some(*n),
            AttributeValue::MultiExitDiscriminator(m) => out.med = Some(*m),
            AttributeValue::LocalPreference(l) => out.local_pref = Some(*l),
            AttributeValue::OnlyToCustomer(o) => out.otc = Some(asn(*o)),
            AttributeValue::Communities(cs) => out.communities.extend(cs.iter().map(|c| match c {
                Community::NoExport => 0xFFFF_FF01,
                Community::NoAdvertise => 0xFFFF_FF02,
                Community::NoExportSubConfed => 0xFFFF_FF03,
                Community::Custom(hi, lo) => (u32::from(*hi) << 16) | u32::from(*lo),
            })),
            AttributeValue::LargeCommunities(ls) => out.large_communities.extend(
                ls.iter()
                    .map(|l| [l.global_admin, l.local_data[0], l.local_data[1]]),
            ),
            AttributeValue::ExtendedCommunities(e) => out.ext_community_count += e.len(),
            AttributeValue::Ipv6AddressSpecificExtendedCommunities(e) => {
                out.ext_community_count += e.len()
            }
            AttributeValue::MpReachNlri(n) => {
                if let Some(nh) = &n.next_hop {
                    mp_next_hop = Some(next_hop(nh));
                }
            }
            _ => {}
        }
    }
    out.as_path = match (as_path, as4_path) {
        (Some(p), Some(p4)) => {
            segments(&bgpkit_parser::models::AsPath::merge_aspath_as4path(p, p4))
        }
        (Some(p), None) => segments(p),
        (None, Some(p4)) => segments(p4),
        (None, None) => AsPath::default(),
    };
    if out.next_hop.is_none() {
        out.next_hop = mp_next_hop;
    }
    let mut any = false;
    let mut reset = false;
    for w in a.validation_warnings() {
        any = true;
        // The action is the one table's (`rfc7606::action`), as for the speaker's own decoder;
        // a finding RFC 7606 does not count as an error (`None`) changes nothing, like a discard.
        match classify(w) {
            None | Some(ErrorAction::Discard) => {}
            Some(ErrorAction::Withdraw) => out.malformed.push(format!("{w:?}")),
            Some(ErrorAction::Reset) => reset = true,
        }
    }
    (out, any, reset)
}

fn net(p: &NetworkPrefix) -> (IpNet, Option<u32>) {
    (p.prefix, p.path_id)
}

/// Route events of one BGP message (BGP4MP or legacy BGP). `None` for non-UPDATE messages.
pub fn update(peer: PeerKey, ts: u64, msg: &BgpMessage) -> Option<Update> {
    let BgpMessage::Update(u) = msg else {
        return None;
    };
    Some(from_update(peer, ts, u))
}

fn from_update(peer: PeerKey, ts: u64, u: &BgpUpdateMessage) -> Update {
    let (attrs, warnings, reset) = attrs(&u.attributes);
    let mut announced: Vec<_> = u.announced_prefixes.iter().map(net).collect();
    let mut withdrawn: Vec<_> = u.withdrawn_prefixes.iter().map(net).collect();
    let mut mp_unreach_empty = false;
    let mut has_other_attrs = false;
    for attr in u.attributes.iter() {
        match attr {
            AttributeValue::MpReachNlri(n) => announced.extend(n.prefixes.iter().map(net)),
            AttributeValue::MpUnreachNlri(n) => {
                mp_unreach_empty = n.prefixes.is_empty();
                withdrawn.extend(n.prefixes.iter().map(net));
            }
            _ => has_other_attrs = true,
        }
    }
    // RFC 4724 §2: End-of-RIB is an empty UPDATE (IPv4) or one holding only an empty
    // MP_UNREACH_NLRI (other families).
    let end_of_rib = announced.is_empty()
        && withdrawn.is_empty()
        && !has_other_attrs
        && (u.attributes.iter().next().is_none() || mp_unreach_empty);
    if reset {
        // The NLRI cannot be trusted: nothing of this UPDATE is used.
        announced.clear();
        withdrawn.clear();
    }
    Update {
        end_of_rib,
        warnings,
        reset,
        ..Update::new(peer, ts, attrs, announced, withdrawn)
    }
}
