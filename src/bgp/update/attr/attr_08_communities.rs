//! COMMUNITIES (type 8, RFC 1997): four octets per community. RFC 7606 §7.8: a length that is
//! zero or not a multiple of 4 is malformed.

use super::{Decoded, Malformed};
use crate::bgp::update::be32;
use crate::types::Community;

pub(crate) fn decode_communities(value: &[u8]) -> Decoded<Vec<Community>> {
    let len = value.len();
    if len == 0 || !len.is_multiple_of(4) {
        return Err(Malformed::optional_length(format!(
            "COMMUNITIES of length {len}"
        )));
    }
    Ok(value.chunks_exact(4).filter_map(be32).collect())
}
