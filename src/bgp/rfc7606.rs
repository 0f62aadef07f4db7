//! RFC 7606 (revised error handling for BGP UPDATE messages): which action a malformed attribute
//! calls for. One table, [`action`], decides it for both readers of UPDATEs: the speaker's own
//! decoder (`update::decode`, which finds the problem and asks) and replay, where bgpkit-parser
//! reports what it found as `BgpValidationWarning`s and decides nothing (DESIGN §9):
//! [`classify`] turns a warning into the same question. Pure functions over data: this module
//! reads no bytes (finding what is wrong is the decoders' job), and no other module may decide
//! an action itself.

use super::update::{code, flag};
use bgpkit_parser::error::BgpValidationWarning;

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

/// What is wrong, in the terms the RFCs use to prescribe the action. Finding it is the
/// decoder's job; the action for it is [`action`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// The Optional or Transitive bit contradicts the attribute's definition (§3 c). The
    /// Partial and Extended Length bits are never a problem.
    Flags,
    /// A length the attribute's definition does not allow (§7 per attribute).
    Length,
    /// A value the definition does not allow at a correct length: an undefined ORIGIN (§7.1), a
    /// malformed AS_PATH (§7.2), AS 0 (RFC 7607 §2), a next hop that cannot be located (§7.11).
    Value,
    /// A second occurrence of the attribute (§3 g).
    Repeated,
    /// A well-known mandatory attribute missing from an UPDATE that announces routes (§3 d).
    Missing,
    /// A type code we do not know, sent as well-known (RFC 4271 §6.3, §5; §3 c).
    UnrecognizedWellKnown,
    /// The attribute runs past the path attribute section, or fewer octets are left than an
    /// attribute header (§4).
    Overrun,
    /// An attribute the session must not carry: LOCAL_PREF, ORIGINATOR_ID or CLUSTER_LIST from
    /// an external peer (§7.5, §7.9, §7.10), AS4_PATH or AS4_AGGREGATOR between two speakers of
    /// 4-octet ASNs (RFC 6793 §3). Nothing needs to be wrong with its value.
    Unexpected,
    /// Prefixes that cannot be parsed, in the Withdrawn Routes or NLRI field (§5.3, with
    /// [`NO_ATTRIBUTE`]) or inside MP_REACH_NLRI / MP_UNREACH_NLRI (§7.11, §7.12).
    Nlri,
}

/// The session an UPDATE came from, as far as the table needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    Internal,
    External,
}

/// The code asked with a problem that names no attribute (the NLRI fields, an attribute header
/// cut short): type code 0, which IANA reserves, so it matches no attribute's row.
pub const NO_ATTRIBUTE: u8 = 0;

/// The action RFC 7606 (with RFC 6793, RFC 7607, RFC 8092 and RFC 9234 for the attributes they
/// define) prescribes for `problem` in attribute `code` received from `peer`. The one place this
/// is decided; rows are in the order they take precedence.
pub fn action(code: u8, problem: Problem, peer: Peer) -> ErrorAction {
    use ErrorAction::{Discard, Reset, Withdraw};
    use Problem::*;
    match (code, problem) {
        // §5.3: prefixes that cannot be parsed lose the boundaries of every route after them.
        // §3 g, §5.3, §7.11, §7.12: whatever is wrong with MP_REACH_NLRI or MP_UNREACH_NLRI
        // (flags that contradict RFC 4760 included), the routes it carries cannot be trusted.
        (_, Nlri) | (code::MP_REACH_NLRI | code::MP_UNREACH_NLRI, _) => Reset,
        // §4: the NLRI field is still found through Total Path Attribute Length, but the
        // attribute, and any after it, are lost.
        (_, Overrun) => Withdraw,
        // §3 g: all occurrences but the first are discarded.
        (_, Repeated) => Discard,
        // §7.5, §7.9, §7.10 ("received from an external neighbor ... SHALL be discarded");
        // RFC 6793 §3 ("MUST discard these attributes and continue processing the UPDATE").
        (_, Unexpected) => Discard,
        // The same sections discard these from an external peer whatever they hold.
        (code::LOCAL_PREF | code::ORIGINATOR_ID | code::CLUSTER_LIST, _)
            if peer == Peer::External =>
        {
            Discard
        }
        // RFC 6793 §6: a malformed AS4_PATH or AS4_AGGREGATOR is discarded; AS_PATH and
        // AGGREGATOR still carry the route. Flags included: RFC 6793 is the attribute's
        // specification that §3 c defers to.
        (code::AS4_PATH | code::AS4_AGGREGATOR, _) => Discard,
        // §3 c: treat-as-withdraw unless the attribute's specification says otherwise, which
        // §7.6 and §7.7 do for the length of ATOMIC_AGGREGATE and AGGREGATOR only.
        (_, Flags) => Withdraw,
        // §7.6 (length not 0), §7.7 (length not 6 or 8), RFC 7607 §2 (AGGREGATOR with AS 0).
        (code::ATOMIC_AGGREGATE | code::AGGREGATOR, Length | Value) => Discard,
        // §3 d (missing ORIGIN, AS_PATH, NEXT_HOP); RFC 4271 §6.3 with §3 c (unrecognized
        // well-known); §7.1 ORIGIN, §7.2 AS_PATH, §7.3 NEXT_HOP, §7.4 MULTI_EXIT_DISC, §7.5
        // LOCAL_PREF, §7.9 ORIGINATOR_ID and §7.10 CLUSTER_LIST from an internal peer, §7.8
        // COMMUNITIES, §7.14 and §7.15 extended communities, RFC 8092 §6 LARGE_COMMUNITY,
        // RFC 9234 §5 OTC. Attributes bgpsieve does not decode (bgpkit reports some) get the
        // same: the strongest action short of a reset, and §2 allows attribute discard only for
        // an attribute known to have no effect on route selection or installation.
        _ => Withdraw,
    }
}

/// The action for an UPDATE whose errors call for `action` but which carries path attributes
/// and no reachable NLRI (RFC 7606 §5.2): treat-as-withdraw has nothing to withdraw, and the
/// NLRI may be missing only because they could not be found, so it becomes a session reset.
/// Attribute discard stays what it is.
pub fn without_reachable_nlri(action: ErrorAction) -> ErrorAction {
    match action {
        ErrorAction::Withdraw => ErrorAction::Reset,
        a => a,
    }
}

/// The action for one bgpkit-parser finding, asked of [`action`]; `None` when RFC 7606 does
/// not count it as an error (a Partial bit on a well-known attribute, a ROUTE-REFRESH finding).
///
/// An MRT record does not tell this conversion whether its peer was internal or external, so
/// the table is asked as for an internal peer: the stronger reading, since §7.5, §7.9 and §7.10
/// only weaken the action for external peers.
pub fn classify(w: &BgpValidationWarning) -> Option<ErrorAction> {
    let (code, problem) = problem(w)?;
    Some(action(code, problem, Peer::Internal))
}

/// The attribute and problem a bgpkit-parser warning reports.
fn problem(w: &BgpValidationWarning) -> Option<(u8, Problem)> {
    use BgpValidationWarning as W;
    const O_T: u8 = flag::OPTIONAL | flag::TRANSITIVE;
    Some(match w {
        W::AttributeFlagsError {
            attr_type,
            expected_flags,
            actual_flags,
        } => {
            // bgpkit also reports a Partial bit set on a well-known or optional non-transitive
            // attribute (RFC 4271 §4.3), with every flag bit in `actual_flags`; RFC 7606 §3 c
            // makes only the Optional and Transitive bits an error.
            if actual_flags & O_T == *expected_flags {
                return None;
            }
            (u8::from(*attr_type), Problem::Flags)
        }
        W::AttributeLengthError { attr_type, .. } => (u8::from(*attr_type), Problem::Length),
        W::OptionalAttributeError { attr_type, .. }
        | W::PartialAttributeError { attr_type, .. } => (u8::from(*attr_type), Problem::Value),
        W::DuplicateAttribute { attr_type } => (u8::from(*attr_type), Problem::Repeated),
        W::MissingWellKnownAttribute { attr_type } => (u8::from(*attr_type), Problem::Missing),
        W::UnrecognizedWellKnownAttribute { attr_type_code } => {
            (*attr_type_code, Problem::UnrecognizedWellKnown)
        }
        W::InvalidOriginAttribute { .. } => (code::ORIGIN, Problem::Value),
        W::InvalidNextHopAttribute { .. } => (code::NEXT_HOP, Problem::Value),
        W::MalformedAsPath { .. } => (code::AS_PATH, Problem::Value),
        // bgpkit reports a well-known mandatory attribute it could not parse this way, its
        // code only in the text.
        W::MalformedAttributeList { reason } => (failed_well_known(reason), Problem::Value),
        W::InvalidNetworkField { .. } => (NO_ATTRIBUTE, Problem::Nlri),
        W::MalformedNlri { nlri_type, .. } => {
            let code = match *nlri_type {
                "mp_reach" => code::MP_REACH_NLRI,
                "mp_unreach" => code::MP_UNREACH_NLRI,
                _ => NO_ATTRIBUTE,
            };
            (code, Problem::Nlri)
        }
        // Not about UPDATEs.
        W::UnknownRouteRefreshSubtype { .. } | W::InvalidRouteRefreshLength { .. } => return None,
        // A warning added in a later bgpkit-parser: the treat-as-withdraw default.
        _ => (NO_ATTRIBUTE, Problem::Value),
    })
}

/// The attribute named by bgpkit's "Well-known mandatory attribute N parsing failed: ...".
fn failed_well_known(reason: &str) -> u8 {
    reason
        .strip_prefix("Well-known mandatory attribute ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(NO_ATTRIBUTE)
}

/// The strongest action over all findings of one UPDATE, if any.
pub fn worst(warnings: &[BgpValidationWarning]) -> Option<ErrorAction> {
    warnings.iter().filter_map(classify).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgpkit_parser::models::AttrType;
    use ErrorAction::{Discard, Reset, Withdraw};
    use Peer::{External, Internal};
    use Problem::*;

    /// The table, attribute by attribute, as the RFCs state it. Columns: Optional/Transitive
    /// flags wrong (§3 c), length wrong, value wrong, repeated (§3 g), running past the
    /// attribute section (§4); from an internal peer.
    #[test]
    fn every_attribute_gets_the_action_its_rfc_prescribes() {
        #[rustfmt::skip]
        let rows: [(u8, [ErrorAction; 5], &str); 19] = [
            (code::ORIGIN, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.1"),
            (code::AS_PATH, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.2"),
            (code::NEXT_HOP, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.3"),
            (code::MULTI_EXIT_DISC, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.4"),
            (code::LOCAL_PREF, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.5"),
            // §7.6, §7.7: the length costs the attribute only, the flags still the routes.
            (code::ATOMIC_AGGREGATE, [Withdraw, Discard, Discard, Discard, Withdraw], "§7.6"),
            (code::AGGREGATOR, [Withdraw, Discard, Discard, Discard, Withdraw], "§7.7"),
            (code::COMMUNITIES, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.8"),
            (code::ORIGINATOR_ID, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.9"),
            (code::CLUSTER_LIST, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.10"),
            // §3 g, §5.3, §7.11, §7.12: never anything but a reset.
            (code::MP_REACH_NLRI, [Reset, Reset, Reset, Reset, Reset], "§7.11"),
            (code::MP_UNREACH_NLRI, [Reset, Reset, Reset, Reset, Reset], "§7.12"),
            (code::EXTENDED_COMMUNITIES, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.14"),
            (code::IPV6_EXTENDED_COMMUNITIES, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§7.15"),
            // RFC 6793 §6: discarded, AS_PATH and AGGREGATOR still carry the route.
            (code::AS4_PATH, [Discard, Discard, Discard, Discard, Withdraw], "RFC 6793 §6"),
            (code::AS4_AGGREGATOR, [Discard, Discard, Discard, Discard, Withdraw], "RFC 6793 §6"),
            (code::LARGE_COMMUNITIES, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "RFC 8092 §6"),
            (code::ONLY_TO_CUSTOMER, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "RFC 9234 §5"),
            // An attribute bgpsieve does not know: treat-as-withdraw, not discard (§2).
            (99, [Withdraw, Withdraw, Withdraw, Discard, Withdraw], "§2"),
        ];
        for (code, want, rfc) in rows {
            for (problem, want) in [Flags, Length, Value, Repeated, Overrun]
                .into_iter()
                .zip(want)
            {
                assert_eq!(
                    action(code, problem, Internal),
                    want,
                    "{} {problem:?} ({rfc})",
                    crate::bgp::update::attribute_name(code)
                );
            }
        }
    }

    #[test]
    fn external_peers_lose_the_internal_attributes_whatever_they_hold() {
        // §7.5, §7.9, §7.10: discarded from an external peer, flags and length included.
        for code in [code::LOCAL_PREF, code::ORIGINATOR_ID, code::CLUSTER_LIST] {
            for problem in [Flags, Length, Value, Repeated, Unexpected] {
                assert_eq!(
                    action(code, problem, External),
                    Discard,
                    "{code} {problem:?}"
                );
            }
            // §4 is about the attribute section, not the attribute.
            assert_eq!(action(code, Overrun, External), Withdraw);
        }
        // Every other attribute is judged the same whoever sent it.
        for code in [
            code::ORIGIN,
            code::AS_PATH,
            code::COMMUNITIES,
            code::ONLY_TO_CUSTOMER,
        ] {
            for problem in [Flags, Length, Value] {
                assert_eq!(action(code, problem, External), Withdraw);
            }
        }
    }

    #[test]
    fn rfc6793_as4_attributes_between_new_speakers_are_discarded() {
        for code in [code::AS4_PATH, code::AS4_AGGREGATOR] {
            for peer in [Internal, External] {
                assert_eq!(action(code, Unexpected, peer), Discard);
            }
        }
    }

    #[test]
    fn missing_and_unknown_well_known_attributes_are_treat_as_withdraw() {
        // §3 d.
        for code in [code::ORIGIN, code::AS_PATH, code::NEXT_HOP] {
            for peer in [Internal, External] {
                assert_eq!(action(code, Missing, peer), Withdraw);
            }
        }
        // RFC 4271 §6.3 names the error; §3 c makes it treat-as-withdraw.
        assert_eq!(action(99, UnrecognizedWellKnown, External), Withdraw);
    }

    #[test]
    fn rfc7606_5_2_treat_as_withdraw_without_reachable_nlri_is_a_reset() {
        assert_eq!(without_reachable_nlri(Withdraw), Reset);
        assert_eq!(without_reachable_nlri(Discard), Discard);
        assert_eq!(without_reachable_nlri(Reset), Reset);
    }

    #[test]
    fn nlri_that_cannot_be_parsed_reset_the_session() {
        // §5.3 (the Withdrawn Routes and NLRI fields), §7.11, §7.12 (inside the attributes).
        for code in [NO_ATTRIBUTE, code::MP_REACH_NLRI, code::MP_UNREACH_NLRI] {
            assert_eq!(action(code, Nlri, External), Reset);
        }
        // §4: a header cut short names no attribute; the NLRI field is still found.
        assert_eq!(action(NO_ATTRIBUTE, Overrun, External), Withdraw);
    }

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
            assert_eq!(classify(&w), Some(want), "{w:?}");
        }
        assert_eq!(worst(&[]), None);
    }

    /// The cases where `classify` decided differently from the decoder before both asked
    /// [`action`]; each now follows the RFC.
    #[test]
    fn bgpkit_findings_get_the_rfc_action() {
        use BgpValidationWarning as W;
        // §3 c: wrong flags on ATOMIC_AGGREGATE or AGGREGATOR cost the routes; §7.6 and §7.7
        // relax only the length (was attribute discard).
        for attr_type in [AttrType::ATOMIC_AGGREGATE, AttrType::AGGREGATOR] {
            let w = W::AttributeFlagsError {
                attr_type,
                expected_flags: 0x40,
                actual_flags: 0x80,
            };
            assert_eq!(classify(&w), Some(Withdraw), "{w:?}");
        }
        // RFC 6793 §6: a malformed AS4_PATH is discarded (was treat-as-withdraw).
        let w = W::OptionalAttributeError {
            attr_type: AttrType::AS4_PATH,
            reason: "segment overrun".into(),
        };
        assert_eq!(classify(&w), Some(Discard));
        let w = W::PartialAttributeError {
            attr_type: AttrType::AS4_PATH,
            reason: "segment overrun".into(),
        };
        assert_eq!(classify(&w), Some(Discard));
        // §3 c: the Partial bit of a well-known attribute is no error (was treat-as-withdraw).
        let w = W::AttributeFlagsError {
            attr_type: AttrType::ORIGIN,
            expected_flags: 0x40,
            actual_flags: 0x60,
        };
        assert_eq!(classify(&w), None);
        assert_eq!(worst(&[w]), None);
        // Wrong Optional/Transitive bits with the Partial bit set are still an error.
        let w = W::AttributeFlagsError {
            attr_type: AttrType::ORIGIN,
            expected_flags: 0x40,
            actual_flags: 0xe0,
        };
        assert_eq!(classify(&w), Some(Withdraw));
        // Not about UPDATEs at all.
        assert_eq!(
            classify(&W::UnknownRouteRefreshSubtype { subtype: 3 }),
            None
        );
    }

    #[test]
    fn a_well_known_attribute_bgpkit_could_not_parse_is_named_from_its_text() {
        assert_eq!(
            failed_well_known("Well-known mandatory attribute 5 parsing failed: short"),
            code::LOCAL_PREF
        );
        assert_eq!(failed_well_known("something else"), NO_ATTRIBUTE);
        let w = BgpValidationWarning::MalformedAttributeList {
            reason: "Well-known mandatory attribute 2 parsing failed: overrun".into(),
        };
        assert_eq!(classify(&w), Some(Withdraw));
    }

    #[test]
    fn the_strongest_finding_wins() {
        use BgpValidationWarning as W;
        let ws = [
            W::DuplicateAttribute {
                attr_type: AttrType::COMMUNITIES,
            },
            W::InvalidOriginAttribute { value: 9 },
        ];
        assert_eq!(worst(&ws), Some(Withdraw));
    }
}
