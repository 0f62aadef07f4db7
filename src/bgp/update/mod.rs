//! BGP UPDATE messages (RFC 4271 §4.3) in both directions: the speaker's own decoder and encoder.
//! Decoding covers IPv4/IPv6 unicast in the NLRI fields and in MP_REACH/MP_UNREACH (RFC 4760),
//! ADD-PATH per family as negotiated (RFC 7911), 2- and 4-octet AS paths with the AS4_PATH merge
//! of RFC 6793, End-of-RIB (RFC 4724) and the RFC 7606 action for every malformed attribute:
//! the UPDATE comes back with its routes, one shared `Arc` of attributes and the 7606 action, or
//! as the NOTIFICATION to send when the routes themselves cannot be trusted. Encoding packs as
//! many prefixes per message as fit and splits the rest (DESIGN §9: "UPDATE packing is ours"),
//! and the transforms the daemon applies before sending are pure functions over
//! [`PathAttributes`]. Sans-IO: bytes in, values out; no socket, no timer, no session state, and
//! nothing here panics on what a peer sends.
//!
//! Module map: this file holds the types both directions share; `decode` walks an UPDATE (the
//! fields, the attribute list, the AS4 merge) and hands each attribute to its decoder in `attr`,
//! one file per attribute named by its IANA type code (`attr_02_17_as_path.rs`), as
//! bgpkit-parser names them; `transform` changes attribute sets before they are sent; `encode`
//! builds and packs messages. Which RFC 7606 action a malformed attribute calls for is not
//! decided here but by the one table in `bgp::rfc7606`, which replay asks too.

mod attr;
mod decode;
mod encode;
mod transform;

pub use decode::decode_update;
pub use encode::{encode_announcements, encode_end_of_rib, encode_outbound, encode_withdrawals};

use super::codec::{EXTENDED_MAX_LEN, MAX_LEN};
use super::open::Negotiated;
use super::rfc7606::ErrorAction;
use crate::types::{Afi, Asn, Attrs};
use ipnet::IpNet;
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

/// Routes for one session as the RIB hands them over: announcements grouped by attribute set
/// (already made what the receiver should get), withdrawals, and whether End-of-RIB follows.
/// The session encodes them for its own negotiated parameters ([`encode_outbound`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    /// The session generation the routes are for (`FromSession::Up`).
    pub generation: u64,
    pub announce: Vec<(Arc<PathAttributes>, Vec<Nlri>)>,
    pub withdraw: Vec<Nlri>,
    /// End-of-RIB (RFC 4724) after the routes, for each of these families the session
    /// negotiated.
    pub end_of_rib: Vec<Afi>,
}

impl Outbound {
    pub fn is_empty(&self) -> bool {
        self.announce.is_empty() && self.withdraw.is_empty() && self.end_of_rib.is_empty()
    }

    /// How many routes it announces or withdraws.
    pub fn len(&self) -> usize {
        self.withdraw.len() + self.announce.iter().map(|(_, v)| v.len()).sum::<usize>()
    }
}

/// The first four octets of `b` as a big-endian number (ASNs, MED, LOCAL_PREF, communities).
fn be32(b: &[u8]) -> Option<u32> {
    b.first_chunk::<4>().map(|c| u32::from_be_bytes(*c))
}

#[cfg(test)]
mod tests;
