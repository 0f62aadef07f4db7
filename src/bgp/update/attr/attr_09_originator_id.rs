//! ORIGINATOR_ID (type 9, RFC 4456 §8): a BGP identifier, from an internal peer only; passed on
//! as received. RFC 7606 §7.9: from an internal peer a length other than 4 is malformed; from an
//! external peer the attribute is discarded before it gets here (the walk's `Unexpected` check).

use super::{Decoded, Malformed};

pub(crate) fn decode_originator_id(value: &[u8]) -> Decoded<()> {
    if value.len() == 4 {
        Ok(())
    } else {
        Err(Malformed::length(format!(
            "ORIGINATOR_ID of length {}",
            value.len()
        )))
    }
}
