//! MP_REACH_NLRI (type 14) and MP_UNREACH_NLRI (type 15, RFC 4760 §3, §4): routes of a family
//! outside the NLRI fields, with their next hop for announcements. bgpsieve carries IPv4 and
//! IPv6 unicast (with RFC 7911 path identifiers as negotiated); another family is reported and
//! skipped, which loses nothing else since its routes live inside the attribute. Anything that
//! keeps the routes from being found (RFC 7606 §7.11, §7.12) is malformed; the table makes that
//! a session reset (§5.3).

use super::{Decoded, Malformed};
use crate::bgp::capability::{AFI_IPV4, AFI_IPV6, SAFI_UNICAST};
use crate::bgp::notification::Notification;
use crate::bgp::rfc7606::Problem;
use crate::bgp::update::decode::parse_nlri;
use crate::bgp::update::Nlri;
use crate::types::Afi;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an MP_REACH_NLRI held.
pub(crate) enum MpReach {
    /// The next hop (with the link-local one of RFC 2545 §3 for IPv6) and how many routes were
    /// appended.
    Routes {
        next_hop: (IpAddr, Option<Ipv6Addr>),
        count: usize,
    },
    /// A family bgpsieve does not carry.
    OtherFamily { afi: u16, safi: u8 },
}

/// What an MP_UNREACH_NLRI held.
pub(crate) enum MpUnreach {
    /// Routes, appended.
    Routes,
    /// No routes: the family's End-of-RIB if nothing else is in the UPDATE (RFC 4724 §2).
    Nothing(Afi),
    /// A family bgpsieve does not carry.
    OtherFamily { afi: u16, safi: u8 },
}

/// RFC 4760 §3: AFI, SAFI, next hop, a reserved octet, NLRI; the routes are appended to `into`.
pub(crate) fn decode_mp_reach(
    value: &[u8],
    add_path_receive: &[Afi],
    into: &mut Vec<Nlri>,
) -> Decoded<MpReach> {
    let Some((&[a0, a1, safi, nh_len], rest)) = value.split_first_chunk::<4>() else {
        return Err(malformed(
            Problem::Length,
            "MP_REACH_NLRI",
            "shorter than its header",
        ));
    };
    let nh_len = usize::from(nh_len);
    let nh = rest.get(..nh_len).ok_or_else(|| {
        malformed(
            Problem::Length,
            "MP_REACH_NLRI",
            "next hop runs past the attribute",
        )
    })?;
    // One reserved octet (was SNPA count), ignored on receipt.
    let nlri = rest.get(nh_len + 1..).ok_or_else(|| {
        malformed(
            Problem::Length,
            "MP_REACH_NLRI",
            "no reserved octet after the next hop",
        )
    })?;
    let Some(afi) = family(u16::from_be_bytes([a0, a1]), safi) else {
        return Ok(MpReach::OtherFamily {
            afi: u16::from_be_bytes([a0, a1]),
            safi,
        });
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
    let next_hop = next_hop.ok_or_else(|| {
        malformed(
            Problem::Value,
            "MP_REACH_NLRI",
            "next hop length does not fit the family",
        )
    })?;
    let before = into.len();
    into.reserve(nlri.len() / 4);
    parse_nlri(nlri, afi, add_path_receive.contains(&afi), into)
        .map_err(|()| malformed(Problem::Nlri, "MP_REACH_NLRI", "prefixes cannot be parsed"))?;
    Ok(MpReach::Routes {
        next_hop,
        count: into.len() - before,
    })
}

/// RFC 4760 §4: AFI, SAFI, withdrawn routes; the routes are appended to `into`.
pub(crate) fn decode_mp_unreach(
    value: &[u8],
    add_path_receive: &[Afi],
    into: &mut Vec<Nlri>,
) -> Decoded<MpUnreach> {
    let Some((&[a0, a1, safi], nlri)) = value.split_first_chunk::<3>() else {
        return Err(malformed(
            Problem::Length,
            "MP_UNREACH_NLRI",
            "shorter than its header",
        ));
    };
    let Some(afi) = family(u16::from_be_bytes([a0, a1]), safi) else {
        return Ok(MpUnreach::OtherFamily {
            afi: u16::from_be_bytes([a0, a1]),
            safi,
        });
    };
    if nlri.is_empty() {
        return Ok(MpUnreach::Nothing(afi));
    }
    parse_nlri(nlri, afi, add_path_receive.contains(&afi), into).map_err(|()| {
        malformed(
            Problem::Nlri,
            "MP_UNREACH_NLRI",
            "prefixes cannot be parsed",
        )
    })?;
    Ok(MpUnreach::Routes)
}

/// The families bgpsieve carries.
fn family(afi: u16, safi: u8) -> Option<Afi> {
    match (afi, safi) {
        (AFI_IPV4, SAFI_UNICAST) => Some(Afi::Ipv4),
        (AFI_IPV6, SAFI_UNICAST) => Some(Afi::Ipv6),
        _ => None,
    }
}

/// RFC 7606 §7.11, §7.12 (and RFC 4271 §6.3): named by Optional Attribute Error.
fn malformed(problem: Problem, name: &str, what: &str) -> Malformed {
    Malformed {
        problem,
        what: format!("malformed {name}: {what}"),
        notify: Notification::optional_attribute_error,
    }
}
