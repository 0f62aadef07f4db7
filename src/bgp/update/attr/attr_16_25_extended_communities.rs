//! EXTENDED_COMMUNITIES (type 16, RFC 4360) and IPv6_EXTENDED_COMMUNITIES (type 25, RFC 5701):
//! 8 and 20 octets per community. Both are passed on as received and only counted (toward
//! `too-many-communities`). RFC 7606 §7.14, §7.15: a length that is zero or not a multiple of
//! the community size is malformed; a type we do not know is not.

use super::{Decoded, Malformed};

/// How many extended communities the value holds.
pub(crate) fn decode_extended_communities(value: &[u8]) -> Decoded<usize> {
    count(value, 8, "EXTENDED_COMMUNITIES")
}

/// How many IPv6 address specific extended communities the value holds.
pub(crate) fn decode_ipv6_extended_communities(value: &[u8]) -> Decoded<usize> {
    count(value, 20, "IPv6_EXTENDED_COMMUNITIES")
}

fn count(value: &[u8], size: usize, name: &str) -> Decoded<usize> {
    let len = value.len();
    if len == 0 || !len.is_multiple_of(size) {
        return Err(Malformed::optional_length(format!(
            "{name} of length {len}"
        )));
    }
    Ok(len / size)
}
