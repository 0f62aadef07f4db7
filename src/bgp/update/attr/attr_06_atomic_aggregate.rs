//! ATOMIC_AGGREGATE (type 6, RFC 4271 §5.1.6): no value; it is passed on as received. RFC 7606
//! §7.6: a length other than 0 is malformed (and costs only the attribute).

use super::{Decoded, Malformed};

pub(crate) fn decode_atomic_aggregate(value: &[u8]) -> Decoded<()> {
    if value.is_empty() {
        Ok(())
    } else {
        Err(Malformed::length(format!(
            "ATOMIC_AGGREGATE of length {} discarded",
            value.len()
        )))
    }
}
