//! ORIGIN (type 1, RFC 4271 §5.1.1): one octet, IGP, EGP or INCOMPLETE. RFC 7606 §7.1: any other
//! length or value is malformed.

use super::{Decoded, Malformed};
use crate::bgp::notification::Notification;
use crate::bgp::rfc7606::Problem;
use crate::types::Origin;

pub(crate) fn decode_origin(value: &[u8]) -> Decoded<Origin> {
    match value {
        [0] => Ok(Origin::Igp),
        [1] => Ok(Origin::Egp),
        [2] => Ok(Origin::Incomplete),
        [v] => Err(Malformed {
            problem: Problem::Value,
            what: format!("ORIGIN value {v}"),
            notify: Notification::invalid_origin_attribute,
        }),
        _ => Err(Malformed::length(format!(
            "ORIGIN of length {}",
            value.len()
        ))),
    }
}
