//! AGGREGATOR (type 7, RFC 4271 §5.1.7) and AS4_AGGREGATOR (type 18, RFC 6793 §3): the AS and
//! BGP identifier of the speaker that aggregated the route. AGGREGATOR holds a 2-octet AS on a
//! 2-octet session and a 4-octet one otherwise; RFC 7606 §7.7 makes another length malformed,
//! RFC 7607 §2 AS 0. AS4_AGGREGATOR is always 8 octets (RFC 6793 §6). Which of the two counts is
//! the walk's to settle, with AS_PATH and AS4_PATH (RFC 6793 §4.2.3).

use super::{Decoded, Malformed};
use crate::bgp::notification::Notification;
use crate::bgp::rfc7606::Problem;

/// (AS, identifier).
pub(crate) fn decode_aggregator(value: &[u8], four_octet_asn: bool) -> Decoded<(u32, [u8; 4])> {
    let want = if four_octet_asn { 8 } else { 6 };
    let parsed = match value {
        [a, b, c, d, e, f] if want == 6 => {
            Some((u32::from(u16::from_be_bytes([*a, *b])), [*c, *d, *e, *f]))
        }
        [a, b, c, d, e, f, g, h] if want == 8 => {
            Some((u32::from_be_bytes([*a, *b, *c, *d]), [*e, *f, *g, *h]))
        }
        _ => None,
    };
    match parsed {
        Some((0, _)) => Err(as_zero("AGGREGATOR with AS 0 discarded")),
        Some(a) => Ok(a),
        None => Err(Malformed::length(format!(
            "AGGREGATOR of length {} (expected {want}) discarded",
            value.len()
        ))),
    }
}

/// (AS, identifier).
pub(crate) fn decode_as4_aggregator(value: &[u8]) -> Decoded<(u32, [u8; 4])> {
    match value {
        [a, b, c, d, e, f, g, h] => match u32::from_be_bytes([*a, *b, *c, *d]) {
            0 => Err(as_zero("AS4_AGGREGATOR with AS 0 discarded")),
            asn => Ok((asn, [*e, *f, *g, *h])),
        },
        _ => Err(Malformed::length(format!(
            "AS4_AGGREGATOR of length {} discarded",
            value.len()
        ))),
    }
}

/// RFC 7607 §2: AS 0 in either attribute is an error, handled as RFC 7606 (and RFC 6793) say.
fn as_zero(what: &str) -> Malformed {
    Malformed {
        problem: Problem::Value,
        what: what.into(),
        notify: Notification::optional_attribute_error,
    }
}
