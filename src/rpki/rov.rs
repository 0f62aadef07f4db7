//! Route origin validation, RFC 6811 §2.

use super::store::{RpkiData, Span, VrpEntry};
use crate::types::{Asn, PathOrigin};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The RFC 6811 validation state of a (prefix, origin) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RovState {
    /// A covering VRP matches the origin AS and the prefix length.
    Valid,
    /// VRPs cover the prefix, but none matches.
    Invalid,
    /// No VRP covers the prefix.
    NotFound,
}

impl RovState {
    /// The stable name used in reports and metrics: `valid`, `invalid`, `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            RovState::Valid => "valid",
            RovState::Invalid => "invalid",
            RovState::NotFound => "not_found",
        }
    }
}

impl fmt::Display for RovState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RpkiData {
    /// RFC 6811 §2: a VRP *covers* the route if its prefix covers the route's prefix; it
    /// *matches* if it covers, its ASN equals the route's origin AS and the route's prefix length
    /// is at most its max length. Valid if any VRP matches, Invalid if some VRP covers, else
    /// NotFound. An origin of NONE (path ending in an AS_SET) matches no VRP, a VRP for AS0
    /// (RFC 6483 §4) matches nothing, and neither does an origin of AS0 (RFC 7607).
    ///
    /// Host bits of `prefix` are ignored. The caller supplies the origin of an empty path (our
    /// own AS, RFC 6811 §2).
    pub fn rov(&self, prefix: &IpNet, origin: PathOrigin) -> RovState {
        let origin = match origin {
            PathOrigin::Asn(Asn(0)) | PathOrigin::None => None,
            PathOrigin::Asn(a) => Some(a),
        };
        let len = prefix.prefix_len();
        match prefix.trunc() {
            IpNet::V4(p) => self.rov_spans(self.v4.cover_values(&p), origin, len),
            IpNet::V6(p) => self.rov_spans(self.v6.cover_values(&p), origin, len),
        }
    }

    /// Whether a VRP with ASN `origin` covers `prefix`, whatever its max length: the route is
    /// then at worst Invalid for its length only (RFC 6811 §2's "covers" with the origin of
    /// "matches"). Host bits of `prefix` are ignored.
    pub fn covers_with_origin(&self, prefix: &IpNet, origin: Asn) -> bool {
        let has = |span: &Span| self.span(span).iter().any(|e| e.asn == origin);
        match prefix.trunc() {
            IpNet::V4(p) => self.v4.cover_values(&p).any(has),
            IpNet::V6(p) => self.v6.cover_values(&p).any(has),
        }
    }

    fn rov_spans<'a>(
        &'a self,
        covering: impl Iterator<Item = &'a Span>,
        origin: Option<Asn>,
        len: u8,
    ) -> RovState {
        let mut covered = false;
        for span in covering {
            let entries = self.span(span);
            covered |= !entries.is_empty();
            if let Some(origin) = origin {
                if entries
                    .iter()
                    .any(|e: &VrpEntry| e.asn == origin && len <= e.max_len)
                {
                    return RovState::Valid;
                }
            }
        }
        if covered {
            RovState::Invalid
        } else {
            RovState::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::Vrp;
    use crate::types::AsPath;

    fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: prefix.parse().unwrap(),
            max_len,
            asn: Asn(asn),
            ta: None,
            expires: None,
        }
    }

    fn data() -> RpkiData {
        RpkiData::new(
            vec![
                vrp("192.0.2.0/24", 24, 64500),
                vrp("198.51.100.0/22", 24, 64501),
                vrp("198.51.100.0/24", 24, 64502),
                // AS0 ROA: nobody may originate 203.0.113.0/24 or more-specifics.
                vrp("203.0.113.0/24", 32, 0),
                vrp("10.0.0.0/8", 8, 64503),
                vrp("2001:db8::/32", 48, 64510),
                vrp("2001:db8:1000::/36", 36, 64511),
            ],
            vec![],
        )
    }

    fn origin(asn: u32) -> PathOrigin {
        PathOrigin::Asn(Asn(asn))
    }

    #[test]
    fn covers_with_origin_leaves_max_length_aside() {
        let d = data();
        let covers = |p: &str, asn| d.covers_with_origin(&p.parse().unwrap(), Asn(asn));
        // Invalid for its length only: the blackhole host route of a /24 ROA.
        assert_eq!(
            d.rov(&"192.0.2.1/32".parse().unwrap(), origin(64500)),
            RovState::Invalid
        );
        assert!(covers("192.0.2.1/32", 64500));
        assert!(!covers("192.0.2.1/32", 64999), "another origin's ROA");
        assert!(covers("198.51.101.77/32", 64501), "the covering /22");
        assert!(
            !covers("198.51.101.77/32", 64502),
            "AS64502 only for .100.0/24"
        );
        assert!(covers("198.51.100.77/32", 64502));
        assert!(!covers("192.0.0.0/16", 64500), "less specific");
        assert!(covers("2001:db8:1000::1/128", 64511));
        assert!(covers("2001:db8:1000::1/128", 64510));
        assert!(!covers("2001:db9::1/128", 64510));
    }

    #[test]
    fn rfc6811_outcomes_table() {
        use RovState::*;
        let d = data();
        let cases: &[(&str, PathOrigin, RovState, &str)] = &[
            ("192.0.2.0/24", origin(64500), Valid, "exact match"),
            (
                "192.0.2.0/25",
                origin(64500),
                Invalid,
                "longer than maxLength",
            ),
            ("192.0.2.0/24", origin(64999), Invalid, "wrong origin"),
            (
                "192.0.0.0/16",
                origin(64500),
                NotFound,
                "less-specific is not covered",
            ),
            (
                "198.51.100.0/24",
                origin(64501),
                Valid,
                "covering /22 with maxLength 24",
            ),
            ("198.51.100.0/24", origin(64502), Valid, "exact /24 VRP"),
            (
                "198.51.101.0/24",
                origin(64502),
                Invalid,
                "AS64502 only for .100.0/24",
            ),
            (
                "198.51.100.0/25",
                origin(64501),
                Invalid,
                "beyond maxLength of both",
            ),
            ("198.51.100.0/23", origin(64501), Valid, "within /22-24"),
            (
                "203.0.113.0/24",
                origin(0),
                Invalid,
                "AS0 VRP never matches, even AS0",
            ),
            ("203.0.113.128/25", origin(64500), Invalid, "AS0 VRP covers"),
            ("10.1.0.0/16", origin(64503), Invalid, "maxLength 8"),
            ("10.0.0.0/8", origin(64503), Valid, "/8 exact"),
            (
                "192.0.2.0/24",
                PathOrigin::None,
                Invalid,
                "AS_SET origin cannot match",
            ),
            (
                "8.8.8.0/24",
                PathOrigin::None,
                NotFound,
                "AS_SET origin, nothing covers",
            ),
            ("8.8.8.0/24", origin(15169), NotFound, "uncovered"),
            (
                "2001:db8::/48",
                origin(64510),
                Valid,
                "IPv6 within maxLength",
            ),
            (
                "2001:db8::/49",
                origin(64510),
                Invalid,
                "IPv6 beyond maxLength",
            ),
            (
                "2001:db8:1000::/36",
                origin(64510),
                Valid,
                "covered by both, /32 matches",
            ),
            (
                "2001:db8:1000::/40",
                origin(64511),
                Invalid,
                "/36 maxLength 36",
            ),
            ("2001:db8:1000::/36", origin(64511), Valid, "IPv6 exact"),
            ("2001:db9::/32", origin(64510), NotFound, "IPv6 uncovered"),
            ("::/0", origin(64510), NotFound, "default route"),
        ];
        for (prefix, o, want, why) in cases {
            let p: IpNet = prefix.parse().unwrap();
            assert_eq!(d.rov(&p, *o), *want, "{prefix} {o:?}: {why}");
        }
    }

    #[test]
    fn origin_of_a_path_ending_in_an_as_set_is_never_valid() {
        let d = data();
        let path = AsPath::parse("3356 64500 {64500,64501}").unwrap();
        let o = path.origin().unwrap();
        assert_eq!(o, PathOrigin::None);
        assert_eq!(
            d.rov(&"192.0.2.0/24".parse().unwrap(), o),
            RovState::Invalid
        );
    }

    #[test]
    fn host_bits_in_the_route_prefix_are_ignored() {
        let d = data();
        let p: IpNet = "192.0.2.77/24".parse().unwrap();
        assert_eq!(d.rov(&p, origin(64500)), RovState::Valid);
    }

    #[test]
    fn a_family_without_vrps_is_not_found() {
        let d = RpkiData::new(vec![vrp("2001:db8::/32", 48, 64510)], vec![]);
        assert_eq!(
            d.rov(&"192.0.2.0/24".parse().unwrap(), origin(1)),
            RovState::NotFound
        );
        assert_eq!(
            RpkiData::empty().rov(&"::/0".parse().unwrap(), origin(1)),
            RovState::NotFound
        );
    }

    #[test]
    fn states_serialize_as_stable_names() {
        let names: Vec<String> = [RovState::Valid, RovState::Invalid, RovState::NotFound]
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(names, ["\"valid\"", "\"invalid\"", "\"not_found\""]);
        assert_eq!(RovState::NotFound.to_string(), "not_found");
    }
}
