//! RFC 7606 (revised error handling for BGP UPDATE messages): which action a malformed attribute
//! calls for. bgpkit-parser reports what it found as `BgpValidationWarning`s and decides
//! nothing (DESIGN §9); the decision is ours and lives here, as data.

use bgpkit_parser::error::BgpValidationWarning;
use bgpkit_parser::models::AttrType;

/// The action for an UPDATE with an error, strongest first (RFC 7606 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorAction {
    /// Attribute discard: drop the attribute, keep the routes (§2).
    Discard,
    /// Treat-as-withdraw: the UPDATE's routes are withdrawn (§2).
    Withdraw,
    /// Session reset (or AFI/SAFI disable): the NLRI itself cannot be trusted (§3, §5.3).
    Reset,
}

/// Attributes whose errors only cost the attribute itself (RFC 7606 §7.6, §7.7).
fn discardable(attr: AttrType) -> bool {
    matches!(
        attr,
        AttrType::ATOMIC_AGGREGATE | AttrType::AGGREGATOR | AttrType::AS4_AGGREGATOR
    )
}

/// Attributes whose errors make the NLRI unusable (RFC 7606 §3.d, §5.3, §7.11).
fn nlri_carrier(attr: AttrType) -> bool {
    matches!(
        attr,
        AttrType::MP_REACHABLE_NLRI | AttrType::MP_UNREACHABLE_NLRI
    )
}

/// The action RFC 7606 prescribes for one finding.
pub fn classify(w: &BgpValidationWarning) -> ErrorAction {
    use BgpValidationWarning as W;
    match w {
        W::AttributeFlagsError { attr_type, .. }
        | W::AttributeLengthError { attr_type, .. }
        | W::OptionalAttributeError { attr_type, .. }
        | W::PartialAttributeError { attr_type, .. } => {
            if nlri_carrier(*attr_type) {
                ErrorAction::Reset
            } else if discardable(*attr_type) {
                ErrorAction::Discard
            } else {
                ErrorAction::Withdraw
            }
        }
        // §3.g: repeated attributes are discarded, except MP_REACH/MP_UNREACH (session reset).
        W::DuplicateAttribute { attr_type } => {
            if nlri_carrier(*attr_type) {
                ErrorAction::Reset
            } else {
                ErrorAction::Discard
            }
        }
        // §3.d missing well-known, §7.1 ORIGIN, §7.2 AS_PATH, §7.3 NEXT_HOP, §3.c attribute list.
        W::MissingWellKnownAttribute { .. }
        | W::UnrecognizedWellKnownAttribute { .. }
        | W::InvalidOriginAttribute { .. }
        | W::InvalidNextHopAttribute { .. }
        | W::MalformedAsPath { .. }
        | W::MalformedAttributeList { .. } => ErrorAction::Withdraw,
        // §5.3: NLRI that cannot be parsed means the boundary of the routes is lost.
        W::InvalidNetworkField { .. } | W::MalformedNlri { .. } => ErrorAction::Reset,
        _ => ErrorAction::Withdraw,
    }
}

/// The strongest action over all findings of one UPDATE, if any.
pub fn worst(warnings: &[BgpValidationWarning]) -> Option<ErrorAction> {
    warnings.iter().map(classify).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_per_rule() {
        use BgpValidationWarning as W;
        let cases = [
            (
                W::InvalidOriginAttribute { value: 7 },
                ErrorAction::Withdraw,
            ),
            (
                W::MalformedAsPath {
                    reason: "overrun".into(),
                },
                ErrorAction::Withdraw,
            ),
            (
                W::MissingWellKnownAttribute {
                    attr_type: AttrType::NEXT_HOP,
                },
                ErrorAction::Withdraw,
            ),
            (
                W::AttributeLengthError {
                    attr_type: AttrType::AGGREGATOR,
                    expected_length: Some(8),
                    actual_length: 5,
                },
                ErrorAction::Discard,
            ),
            (
                W::DuplicateAttribute {
                    attr_type: AttrType::COMMUNITIES,
                },
                ErrorAction::Discard,
            ),
            (
                W::DuplicateAttribute {
                    attr_type: AttrType::MP_REACHABLE_NLRI,
                },
                ErrorAction::Reset,
            ),
            (
                W::OptionalAttributeError {
                    attr_type: AttrType::ONLY_TO_CUSTOMER,
                    reason: "length 3".into(),
                },
                ErrorAction::Withdraw,
            ),
            (
                W::MalformedNlri {
                    nlri_type: "ipv4",
                    reason: "truncated IPv4 prefix".into(),
                    raw_bytes: vec![],
                },
                ErrorAction::Reset,
            ),
        ];
        for (w, want) in cases {
            assert_eq!(classify(&w), want, "{w:?}");
        }
        assert_eq!(worst(&[]), None);
    }
}
