//! MULTI_EXIT_DISC (type 4, RFC 4271 §5.1.4): four octets. RFC 7606 §7.4: any other length is
//! malformed.

use super::{Decoded, Malformed};
use crate::bgp::update::be32;

pub(crate) fn decode_med(value: &[u8]) -> Decoded<u32> {
    match be32(value) {
        Some(v) if value.len() == 4 => Ok(v),
        _ => Err(Malformed::length(format!(
            "MULTI_EXIT_DISC of length {}",
            value.len()
        ))),
    }
}
