//! One decoder per path attribute, in a file named by the attribute's IANA type code as
//! bgpkit-parser names them (`attr_02_17_as_path.rs` holds AS_PATH, type 2, and AS4_PATH, type
//! 17), so the file for an attribute is found without searching. A decoder is a function from
//! the attribute's value, and what it needs of the session, to the decoded value or a
//! [`Malformed`]: what is wrong, in RFC 7606's terms, and how the NOTIFICATION would name it.
//! Decoders decide no action and keep no state: the walk in `decode` asks `rfc7606::action` and
//! applies the answer. The attribute's flags, repeats and a length running past the attribute
//! section are the walk's to check (RFC 7606 §3 c, §3 g, §4), before a decoder is called.

mod attr_01_origin;
mod attr_02_17_as_path;
mod attr_03_next_hop;
mod attr_04_med;
mod attr_05_local_pref;
mod attr_06_atomic_aggregate;
mod attr_07_18_aggregator;
mod attr_08_communities;
mod attr_09_originator_id;
mod attr_10_cluster_list;
mod attr_14_15_mp_nlri;
mod attr_16_25_extended_communities;
mod attr_32_large_communities;
mod attr_35_otc;

pub(super) use attr_01_origin::decode_origin;
pub(super) use attr_02_17_as_path::{
    check_as_path, decode_as4_path, decode_as_path, merge_as4_path,
};
pub(super) use attr_03_next_hop::decode_next_hop;
pub(super) use attr_04_med::decode_med;
pub(super) use attr_05_local_pref::decode_local_pref;
pub(super) use attr_06_atomic_aggregate::decode_atomic_aggregate;
pub(super) use attr_07_18_aggregator::{decode_aggregator, decode_as4_aggregator};
pub(super) use attr_08_communities::decode_communities;
pub(super) use attr_09_originator_id::decode_originator_id;
pub(super) use attr_10_cluster_list::decode_cluster_list;
pub(super) use attr_14_15_mp_nlri::{decode_mp_reach, decode_mp_unreach, MpReach, MpUnreach};
pub(super) use attr_16_25_extended_communities::{
    decode_extended_communities, decode_ipv6_extended_communities,
};
pub(super) use attr_32_large_communities::decode_large_communities;
pub(super) use attr_35_otc::decode_otc;

use crate::bgp::notification::Notification;
use crate::bgp::rfc7606::Problem;

/// What a decoder makes of an attribute's value.
pub(crate) type Decoded<T> = Result<T, Malformed>;

/// What is wrong with an attribute's value.
#[derive(Debug)]
pub(crate) struct Malformed {
    /// What the RFC 7606 table is asked about.
    pub(crate) problem: Problem,
    /// The finding, for logs and `Attrs::malformed`.
    pub(crate) what: String,
    /// The NOTIFICATION naming the error (RFC 4271 §6.3 subcodes), built from the whole
    /// attribute (type, length and value) when the action needs one: a session reset, or the
    /// treat-as-withdraw that RFC 7606 §5.2 escalates to one.
    pub(crate) notify: fn(&[u8]) -> Notification,
}

impl Malformed {
    /// A length the attribute's definition does not allow, named by Attribute Length Error.
    fn length(what: String) -> Malformed {
        Malformed {
            problem: Problem::Length,
            what,
            notify: Notification::attribute_length_error,
        }
    }

    /// A length error in an optional attribute, named by Optional Attribute Error as RFC 4271
    /// §6.3 has it for "an error in an optional attribute".
    fn optional_length(what: String) -> Malformed {
        Malformed {
            problem: Problem::Length,
            what,
            notify: Notification::optional_attribute_error,
        }
    }
}
