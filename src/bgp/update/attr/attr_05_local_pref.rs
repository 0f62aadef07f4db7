//! LOCAL_PREF (type 5, RFC 4271 §5.1.5): four octets, from an internal peer only. RFC 7606 §7.5:
//! from an internal peer any other length is malformed; from an external peer the attribute is
//! discarded before it gets here (the walk's `Unexpected` check).

use super::{Decoded, Malformed};
use crate::bgp::update::be32;

pub(crate) fn decode_local_pref(value: &[u8]) -> Decoded<u32> {
    match be32(value) {
        Some(v) if value.len() == 4 => Ok(v),
        _ => Err(Malformed::length(format!(
            "LOCAL_PREF of length {}",
            value.len()
        ))),
    }
}
