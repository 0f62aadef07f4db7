//! ONLY_TO_CUSTOMER (type 35, RFC 9234 §5): the AS that marked the route as one for customers
//! only, four octets. A length other than 4 is malformed (RFC 9234 §5). Whether the route is a
//! leak is the policy's `otc` check, not decoding's.

use super::{Decoded, Malformed};
use crate::bgp::update::be32;
use crate::types::Asn;

pub(crate) fn decode_otc(value: &[u8]) -> Decoded<Asn> {
    match be32(value) {
        Some(v) if value.len() == 4 => Ok(Asn(v)),
        _ => Err(Malformed::optional_length(format!(
            "ONLY_TO_CUSTOMER of length {}",
            value.len()
        ))),
    }
}
