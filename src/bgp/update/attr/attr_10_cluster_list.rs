//! CLUSTER_LIST (type 10, RFC 4456 §8): cluster IDs of four octets, from an internal peer only;
//! passed on as received. RFC 7606 §7.10: from an internal peer a length that is zero or not a
//! multiple of 4 is malformed; from an external peer the attribute is discarded before it gets
//! here (the walk's `Unexpected` check).

use super::{Decoded, Malformed};

pub(crate) fn decode_cluster_list(value: &[u8]) -> Decoded<()> {
    let len = value.len();
    if len != 0 && len.is_multiple_of(4) {
        Ok(())
    } else {
        Err(Malformed::length(format!("CLUSTER_LIST of length {len}")))
    }
}
