//! ASPA-based AS_PATH verification, draft-ietf-sidrops-aspa-verification-28 (August 2026, the
//! latest revision found). The algorithm text was read in revision -27 (§5.1–§5.5: compressed
//! path, provider authorization function, ramp bounds, upstream and downstream procedures);
//! revision -28 adds a §5.1 on prerequisite checks and renumbers those to §5.2–§5.6 without
//! changing the procedures. Section numbers below are those of -28.
//!
//! The path is taken as received: left-most ASN = the neighbor (AS(N) in the draft), right-most
//! = the origin (AS(1)). What this module does not do, by design:
//! - step 2 of both procedures, "the most recently added AS must be the neighbor AS": that is the
//!   `first-as` check (DESIGN §2, reason 7), which also knows the route-server exception;
//! - choosing the procedure from the BGP role (§6.3): the policy does that.

use super::store::RpkiData;
use crate::types::{AsPath, Asn};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Outcome of ASPA path verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AspaState {
    /// The path is consistent with the attested provider relations.
    Valid,
    /// Some attested relation contradicts the path: a route leak or a forged path.
    Invalid,
    /// Not enough ASPAs on the path to decide (§5.7: treat like Valid).
    Unknown,
}

impl AspaState {
    /// The stable name used in reports and metrics: `valid`, `invalid`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            AspaState::Valid => "valid",
            AspaState::Invalid => "invalid",
            AspaState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for AspaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The provider authorization function `authorized(x, y)` of §5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    /// y is in the U-SPAS of x.
    ProviderPlus,
    /// x has an ASPA that does not list y.
    NotProviderPlus,
    /// x has no ASPA.
    NoAttestation,
}

impl RpkiData {
    /// `authorized(customer, provider)`. AS0 in a provider set means "no providers" and never
    /// authorizes anything (§4: its presence "has no influence" on verification).
    fn authorized(&self, customer: Asn, provider: Asn) -> Hop {
        match self.aspas.get(&customer) {
            None => Hop::NoAttestation,
            Some(spas) if provider != Asn(0) && spas.binary_search(&provider).is_ok() => {
                Hop::ProviderPlus
            }
            Some(_) => Hop::NotProviderPlus,
        }
    }

    /// Upstream verification (§5.5): for routes received from a customer, a lateral peer, a route
    /// server or an RS-client — the path must be one up-ramp, every hop customer-to-provider.
    /// Prepends are collapsed first (§5.2). Invalid for an empty path and for a path with an
    /// AS_SET (or any confederation segment, which must not reach an eBGP border, RFC 5065).
    pub fn aspa_upstream(&self, path: &AsPath) -> AspaState {
        let Some(p) = compressed(path) else {
            return AspaState::Invalid;
        };
        // max_up_ramp < N iff some hop is "Not Provider+"; min_up_ramp < N iff some hop is not
        // "Provider+". In each pair the right one is the customer, the left its claimed provider.
        let mut unknown = false;
        for pair in p.windows(2).rev() {
            let &[provider, customer] = pair else {
                continue;
            };
            match self.authorized(customer, provider) {
                Hop::ProviderPlus => {}
                Hop::NoAttestation => unknown = true,
                Hop::NotProviderPlus => return AspaState::Invalid,
            }
        }
        if unknown {
            AspaState::Unknown
        } else {
            AspaState::Valid
        }
    }

    /// Downstream verification (§5.6): for routes received from a provider — an up-ramp from the
    /// origin and a down-ramp from the neighbor whose apexes are at most one hop apart.
    /// Same handling of prepends, empty paths and AS_SETs as [`RpkiData::aspa_upstream`].
    pub fn aspa_downstream(&self, path: &AsPath) -> AspaState {
        let Some(p) = compressed(path) else {
            return AspaState::Invalid;
        };
        let n = p.len();
        let (max_up, min_up) = self.up_ramp(&p);
        let (max_down, min_down) = self.down_ramp(&p);
        if max_up + max_down < n {
            AspaState::Invalid
        } else if min_up + min_down < n {
            AspaState::Unknown
        } else {
            AspaState::Valid
        }
    }

    /// (max_up_ramp, min_up_ramp) of §5.4 for a compressed path `p` (p[0] = AS(N), so
    /// A(I) = p[N - I]): the first I, counting from the origin, whose hop A(I) -> A(I+1) is
    /// "Not Provider+" (resp. not "Provider+"), or N.
    fn up_ramp(&self, p: &[Asn]) -> (usize, usize) {
        let n = p.len();
        let mut min_up = n;
        // The pairs (A(I+1), A(I)) for I = 1, 2, …: windows from the right.
        for (idx, pair) in p.windows(2).rev().enumerate() {
            let i = idx + 1;
            let &[provider, customer] = pair else {
                continue;
            };
            match self.authorized(customer, provider) {
                Hop::ProviderPlus => {}
                Hop::NoAttestation => min_up = min_up.min(i),
                Hop::NotProviderPlus => return (i, min_up.min(i)),
            }
        }
        (n, min_up)
    }

    /// (max_down_ramp, min_down_ramp) of §5.4: N - J + 1 for the largest J whose hop
    /// A(J) -> A(J-1) is "Not Provider+" (resp. not "Provider+"), or N. With j = N - J that is
    /// j + 1 for the first hop p[j] -> p[j + 1], counting from the neighbor.
    fn down_ramp(&self, p: &[Asn]) -> (usize, usize) {
        let n = p.len();
        let mut min_down = n;
        // The pairs (p[j], p[j + 1]) for j = 0, 1, …: windows from the left.
        for (j, pair) in p.windows(2).enumerate() {
            let &[customer, provider] = pair else {
                continue;
            };
            match self.authorized(customer, provider) {
                Hop::ProviderPlus => {}
                Hop::NoAttestation => min_down = min_down.min(j + 1),
                Hop::NotProviderPlus => return (j + 1, min_down.min(j + 1)),
            }
        }
        (n, min_down)
    }
}

/// COMPRESSED_AS_PATH (§5.2): consecutive duplicates removed. `None` when the procedures halt
/// with Invalid before any hop is checked: an empty path (step 1) or a segment other than
/// AS_SEQUENCE (step 3).
fn compressed(path: &AsPath) -> Option<Vec<Asn>> {
    path.dedup_sequence().filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::Aspa;

    // A small Internet. Tier-1s 3356 and 1299 peer with each other and attest no providers
    // (AS0 ASPA). 174 has ASPA {3356, 1299}. Customers:
    //   64500 -> providers {174}         64501 -> providers {3356}
    //   64502 -> providers {64500, 174}   64503 -> providers {1299}
    //   64510 -> providers {64501}        (64520 and 64521 publish no ASPA)
    //   64530 -> providers {0, 64501}     (AS0 next to a real provider: no influence)
    fn data() -> RpkiData {
        let aspas = vec![
            Aspa::new(Asn(3356), [Asn(0)], None),
            Aspa::new(Asn(1299), [Asn(0)], None),
            Aspa::new(Asn(174), [Asn(3356), Asn(1299)], None),
            Aspa::new(Asn(64500), [Asn(174)], None),
            Aspa::new(Asn(64501), [Asn(3356)], None),
            Aspa::new(Asn(64502), [Asn(64500)], None),
            // A second ASPA of the same customer: its providers are added (U-SPAS).
            Aspa::new(Asn(64502), [Asn(174)], None),
            Aspa::new(Asn(64503), [Asn(1299)], None),
            Aspa::new(Asn(64510), [Asn(64501)], None),
            Aspa::new(Asn(64530), [Asn(0), Asn(64501)], None),
        ];
        RpkiData::new(vec![], aspas)
    }

    fn up(d: &RpkiData, path: &str) -> AspaState {
        d.aspa_upstream(&AsPath::parse(path).unwrap())
    }

    fn down(d: &RpkiData, path: &str) -> AspaState {
        d.aspa_downstream(&AsPath::parse(path).unwrap())
    }

    #[test]
    fn upstream_and_downstream_outcomes_table() {
        use AspaState::*;
        let d = data();
        // (path as received, upstream, downstream, what it shows)
        let cases: &[(&str, AspaState, AspaState, &str)] = &[
            ("64500", Valid, Valid, "origin is the neighbor"),
            (
                "174 64500",
                Valid,
                Valid,
                "customer route from our customer 174",
            ),
            ("174 64500 64502", Valid, Valid, "two customer hops"),
            ("3356 174 64500 64502", Valid, Valid, "up-ramp to a tier-1"),
            (
                "174 174 174 64500 64500 64502",
                Valid,
                Valid,
                "prepends collapse",
            ),
            // 64500 -> 174 -> 3356 (up), 3356 -> 64501 (down): fine from our provider 64501, a
            // leak if 64501 is our customer or peer.
            (
                "64501 3356 174 64500",
                Invalid,
                Valid,
                "provider route: valid downstream only",
            ),
            ("64510 64501 3356", Invalid, Valid, "down-ramp only"),
            (
                "64500 174 3356",
                Invalid,
                Valid,
                "3356's route handed down twice",
            ),
            (
                "1299 3356 64501",
                Invalid,
                Valid,
                "up to 3356, peer 3356-1299, down to us",
            ),
            (
                "174 3356 64501",
                Invalid,
                Valid,
                "3356 -> 174 is a downward hop",
            ),
            (
                "3356 1299 174 64500",
                Invalid,
                Valid,
                "apexes 1299 and 3356 one hop apart",
            ),
            (
                "64510 64501 3356 1299 64503",
                Invalid,
                Valid,
                "up, peer at the top, down",
            ),
            (
                "64510 64501 3356 1299 174 64500",
                Invalid,
                Valid,
                "up 64500-174-1299, peer 1299-3356, down 3356-64501-64510",
            ),
            // Valley: up to 1299, down to its customer 174, up again to 3356 — a route leak.
            (
                "64510 64501 3356 174 1299 64503",
                Invalid,
                Invalid,
                "valley (route leak)",
            ),
            (
                "174 64502 64500",
                Invalid,
                Invalid,
                "64502 leaks its provider's route up",
            ),
            (
                "64520 64521",
                Unknown,
                Valid,
                "no ASPA; two ASes are always valley-free",
            ),
            ("174 64520", Unknown, Valid, "origin publishes no ASPA"),
            (
                "174 64500 64521",
                Unknown,
                Unknown,
                "origin without ASPA below attested hops",
            ),
            (
                "64520 174 64500",
                Invalid,
                Valid,
                "174 does not list 64520: down from 64520",
            ),
            (
                "64521 64520 174 64500",
                Invalid,
                Unknown,
                "unattested hops on the down side",
            ),
            ("64530 64501", Invalid, Valid, "64501 does not list 64530"),
            (
                "64501 64530",
                Valid,
                Valid,
                "AS0 next to a real provider has no influence",
            ),
            ("3356 64500", Invalid, Valid, "64500 attests only 174"),
            (
                "0 64530",
                Invalid,
                Valid,
                "AS0 is never an authorized provider",
            ),
        ];
        for (path, want_up, want_down, why) in cases {
            assert_eq!(up(&d, path), *want_up, "upstream {path}: {why}");
            assert_eq!(down(&d, path), *want_down, "downstream {path}: {why}");
        }
    }

    #[test]
    fn a_multihomed_customer_leaking_between_its_providers_is_invalid_both_ways() {
        let d = data();
        // 64502 (customer of 64500 and 174) re-announces 64500's own route, learned from its
        // provider 64500, to its other provider 174, which passes it to us. 64500 -> 64502 is a
        // downward hop, 64502 -> 174 goes up again: a valley whatever our relation to 174.
        assert_eq!(up(&d, "174 64502 64500"), AspaState::Invalid);
        assert_eq!(down(&d, "174 64502 64500"), AspaState::Invalid);
        // The same prefix along 64502's real upstream chain is fine.
        assert_eq!(up(&d, "174 64500"), AspaState::Valid);
    }

    #[test]
    fn as_set_and_confederation_segments_are_invalid() {
        let d = data();
        for path in [
            "174 {64500,64502}",
            "174 (65001 65002) 64500",
            "174 [65001] 64500",
        ] {
            assert_eq!(up(&d, path), AspaState::Invalid, "{path}");
            assert_eq!(down(&d, path), AspaState::Invalid, "{path}");
        }
    }

    #[test]
    fn empty_path_is_invalid_as_step_1_says() {
        let d = data();
        assert_eq!(d.aspa_upstream(&AsPath::default()), AspaState::Invalid);
        assert_eq!(d.aspa_downstream(&AsPath::default()), AspaState::Invalid);
    }

    #[test]
    fn without_any_aspa_every_multi_hop_path_is_unknown() {
        let d = RpkiData::empty();
        assert_eq!(up(&d, "3356 174 64500"), AspaState::Unknown);
        assert_eq!(down(&d, "3356 174 64500"), AspaState::Unknown);
        assert_eq!(up(&d, "64500"), AspaState::Valid);
    }

    #[test]
    fn ramp_bounds_follow_section_5_4() {
        let d = data();
        // p = [AS(4)=64510, AS(3)=64501, AS(2)=3356, AS(1)=1299]: the up-ramp hop 1299 -> 3356
        // fails at I = 1; the down-ramp 64510 -> 64501 -> 3356 holds, 3356 -> 1299 fails at
        // J = 2, so max_down = N - J + 1 = 3.
        let p = [Asn(64510), Asn(64501), Asn(3356), Asn(1299)];
        assert_eq!(d.up_ramp(&p), (1, 1));
        assert_eq!(d.down_ramp(&p), (3, 3));
        // Unattested hop at the bottom: min_up stops at I = 1, max_up runs to N; 174 does not
        // list 64520, so the down-ramp ends at once.
        let q = [Asn(174), Asn(64520)];
        assert_eq!(d.up_ramp(&q), (2, 1));
        assert_eq!(d.down_ramp(&q), (1, 1));
    }

    #[test]
    fn states_serialize_lowercase() {
        let s: Vec<String> = [AspaState::Valid, AspaState::Invalid, AspaState::Unknown]
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(s, ["\"valid\"", "\"invalid\"", "\"unknown\""]);
    }
}
