//! LARGE_COMMUNITY (type 32, RFC 8092): twelve octets per community. RFC 8092 §6: a length that
//! is zero or not a multiple of 12 is malformed (duplicates are not).

use super::{Decoded, Malformed};
use crate::bgp::update::be32;
use crate::types::LargeCommunity;

pub(crate) fn decode_large_communities(value: &[u8]) -> Decoded<Vec<LargeCommunity>> {
    let len = value.len();
    if len == 0 || !len.is_multiple_of(12) {
        return Err(Malformed::optional_length(format!(
            "LARGE_COMMUNITY of length {len}"
        )));
    }
    Ok(value
        .chunks_exact(12)
        .filter_map(|c| Some([be32(c)?, be32(c.get(4..)?)?, be32(c.get(8..)?)?]))
        .collect())
}
