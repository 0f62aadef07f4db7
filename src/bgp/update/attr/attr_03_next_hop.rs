//! NEXT_HOP (type 3, RFC 4271 §5.1.3): an IPv4 address. RFC 7606 §7.3: a length other than 4 is
//! malformed. A martian next hop is not a decoding error but the policy's `next-hop` check.

use super::{Decoded, Malformed};
use std::net::Ipv4Addr;

pub(crate) fn decode_next_hop(value: &[u8]) -> Decoded<Ipv4Addr> {
    match value.first_chunk::<4>() {
        Some(a) if value.len() == 4 => Ok(Ipv4Addr::from(*a)),
        _ => Err(Malformed::length(format!(
            "NEXT_HOP of length {}",
            value.len()
        ))),
    }
}
