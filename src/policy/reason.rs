//! Stable reason codes (DESIGN §2). The string is used in metrics labels, the API, logs and replay
//! output; the number in the reject-reason large community `LOCAL_AS:1101:NUMBER`. Neither may
//! ever change meaning.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $num:literal, $code:literal, $family:literal; )*) => {
        /// Why a route was rejected.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Reason {
            $( $(#[$doc])* $variant = $num, )*
        }

        impl Reason {
            /// Every reason, in evaluation order (import checks, then export checks).
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];

            /// The stable string code, e.g. `rpki-invalid`.
            pub const fn code(self) -> &'static str {
                match self { $(Reason::$variant => $code,)* }
            }

            /// The stable number carried in the reject-reason community.
            pub const fn number(self) -> u16 {
                self as u16
            }

            /// The position of this reason in [`Reason::ALL`] (evaluation order), computed at
            /// compile time: the bit of a [`ReasonSet`] and the slot of per-reason counters.
            pub const fn index(self) -> usize {
                match self { $(Reason::$variant => const { position(Reason::ALL, Reason::$variant, 0) },)* }
            }

            /// The `--checks` family this reason belongs to.
            pub const fn family(self) -> &'static str {
                match self { $(Reason::$variant => $family,)* }
            }

            pub fn from_number(n: u16) -> Option<Reason> {
                match n { $($num => Some(Reason::$variant),)* _ => None }
            }
        }

        impl FromStr for Reason {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Reason::$variant),)*
                    _ => Err(format!("unknown reason code {s:?}")),
                }
            }
        }
    };
}

reasons! {
    /// RFC 7606 attribute errors that are treat-as-withdraw.
    Malformed = 1, "malformed", "malformed";
    /// Special-purpose, documentation, multicast and other martian space.
    BogonPrefix = 2, "bogon-prefix", "bogon";
    /// RFC 7999 BLACKHOLE (65535:666) from a neighbor that may not ask for it (not a customer or
    /// RS client, or `blackhole.accept = false`), or for space it is not authorized for (not
    /// covered by its IRR data or by a ROA of the route's origin). Numbered after the first
    /// fifteen import reasons, evaluated right after `bogon-prefix`: it is the reason a
    /// blackhole host route is refused, before the `prefix-length` it also breaks.
    BlackholeUnauthorized = 16, "blackhole-unauthorized", "blackhole";
    /// Prefix length outside the peer's bounds (IPv4 /8–/24, IPv6 /16–/48 by default).
    PrefixLength = 3, "prefix-length", "prefix-length";
    /// Reserved, documentation or private ASN in the path.
    BogonAsn = 4, "bogon-asn", "bogon";
    /// AS_SET or confederation segment from eBGP (RFC 9774).
    AsSet = 5, "as-set", "path";
    /// Too many ASNs in the path.
    AsPathLength = 6, "as-path-length", "path";
    /// Left-most ASN is not the neighbor's.
    FirstAs = 7, "first-as", "path";
    /// Martian next hop, or (configurable) not the neighbor's address.
    NextHop = 8, "next-hop", "path";
    /// RFC 9234 ingress rule broken: a route leak.
    OtcLeak = 9, "otc-leak", "otc";
    /// Path through a protected transit-free ASN from a customer or peer.
    Peerlock = 10, "peerlock", "peerlock";
    /// RFC 6811 origin validation state Invalid.
    RpkiInvalid = 11, "rpki-invalid", "rpki";
    /// ASPA path verification Invalid.
    AspaInvalid = 12, "aspa-invalid", "aspa";
    /// (prefix, origin) not registered in the neighbor's IRR data.
    IrrUnregistered = 13, "irr-unregistered", "irr";
    /// The neighbor's prefix limit or burst guard.
    MaxPrefix = 14, "max-prefix", "max-prefix";
    /// More communities than allowed.
    TooManyCommunities = 15, "too-many-communities", "communities";
    /// Export to a provider/peer/rs of a prefix not in the own + customer-cone list.
    NotAnnounceable = 101, "not-announceable", "irr";
    /// Export to a provider/peer/rs of a route carrying OTC (learned from a provider/peer).
    OtcEgress = 102, "otc-egress", "otc";
    /// Export of an RPKI-Invalid route.
    ExportRpkiInvalid = 103, "export-rpki-invalid", "rpki";
    /// Export of a path that is ASPA-Invalid as the neighbor would see it.
    ExportAspaInvalid = 104, "export-aspa-invalid", "aspa";
    /// More routes than the neighbor's outbound limit.
    ExportMaxPrefix = 105, "export-max-prefix", "max-prefix";
    /// Export of a bogon prefix/ASN or a prefix length out of bounds.
    ExportBogon = 106, "export-bogon", "bogon";
}

/// Where `r` is in `list`, counted from `i` (`usize::MAX` if absent: never, for `Reason::ALL`).
const fn position(list: &[Reason], r: Reason, i: usize) -> usize {
    match list {
        [first, rest @ ..] => {
            if *first as u16 == r as u16 {
                i
            } else {
                position(rest, r, i + 1)
            }
        }
        [] => usize::MAX,
    }
}

// A `ReasonSet` is one `u32`.
const _: () = assert!(Reason::ALL.len() <= 32);

/// The `--checks` family names, in the order DESIGN §7 lists them (`blackhole` added last).
pub const FAMILIES: &[&str] = &[
    "malformed",
    "bogon",
    "prefix-length",
    "path",
    "otc",
    "peerlock",
    "rpki",
    "aspa",
    "irr",
    "max-prefix",
    "communities",
    "blackhole",
];

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of reasons as a bit set (22 reasons; a set is one `u32`, so a stored verdict is small).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReasonSet(u32);

impl ReasonSet {
    pub const EMPTY: ReasonSet = ReasonSet(0);

    /// Bit `i` holds the reason at `Reason::ALL[i]`: set order is evaluation order, and the
    /// position is a constant (this runs for every check of every route).
    const fn bit(r: Reason) -> u32 {
        1u32 << r.index()
    }
    pub fn all() -> ReasonSet {
        let mut s = ReasonSet::EMPTY;
        for r in Reason::ALL {
            s.insert(*r);
        }
        s
    }
    pub fn insert(&mut self, r: Reason) {
        self.0 |= Self::bit(r);
    }
    /// Every reason of `other` too.
    pub fn extend(&mut self, other: ReasonSet) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, r: Reason) {
        self.0 &= !Self::bit(r);
    }
    pub fn contains(&self, r: Reason) -> bool {
        self.0 & Self::bit(r) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// Every reason of the named `--checks` families.
    pub fn from_families<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<ReasonSet, String> {
        let mut s = ReasonSet::EMPTY;
        for name in names {
            let name = name.trim();
            if !FAMILIES.contains(&name) {
                return Err(format!(
                    "unknown check family {name:?} (one of: {})",
                    FAMILIES.join(", ")
                ));
            }
            for r in Reason::ALL.iter().filter(|r| r.family() == name) {
                s.insert(*r);
            }
        }
        Ok(s)
    }
}

impl FromIterator<Reason> for ReasonSet {
    fn from_iter<I: IntoIterator<Item = Reason>>(iter: I) -> Self {
        let mut s = ReasonSet::EMPTY;
        for r in iter {
            s.insert(r);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers_are_the_stable_ones_of_the_design() {
        let expect = [
            (1, "malformed"),
            (2, "bogon-prefix"),
            (16, "blackhole-unauthorized"),
            (3, "prefix-length"),
            (4, "bogon-asn"),
            (5, "as-set"),
            (6, "as-path-length"),
            (7, "first-as"),
            (8, "next-hop"),
            (9, "otc-leak"),
            (10, "peerlock"),
            (11, "rpki-invalid"),
            (12, "aspa-invalid"),
            (13, "irr-unregistered"),
            (14, "max-prefix"),
            (15, "too-many-communities"),
            (101, "not-announceable"),
            (102, "otc-egress"),
            (103, "export-rpki-invalid"),
            (104, "export-aspa-invalid"),
            (105, "export-max-prefix"),
            (106, "export-bogon"),
        ];
        assert_eq!(Reason::ALL.len(), expect.len());
        for (n, code) in expect {
            let r = Reason::from_number(n).unwrap();
            assert_eq!(r.code(), code);
            assert_eq!(code.parse::<Reason>().unwrap(), r);
        }
    }

    #[test]
    fn bit_order_is_evaluation_order() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r}");
            assert_eq!(ReasonSet::bit(*r), 1u32 << i, "{r}");
        }
    }

    #[test]
    fn blackhole_unauthorized_comes_before_prefix_length_and_has_its_own_family() {
        let at = |r| Reason::ALL.iter().position(|x| *x == r).unwrap();
        assert_eq!(
            at(Reason::BlackholeUnauthorized),
            at(Reason::BogonPrefix) + 1
        );
        assert_eq!(at(Reason::PrefixLength), at(Reason::BogonPrefix) + 2);
        let s = ReasonSet::from_families(["blackhole"]).unwrap();
        assert!(s.contains(Reason::BlackholeUnauthorized));
        assert!(!s.contains(Reason::PrefixLength));
        assert_eq!(Reason::from_number(16), Some(Reason::BlackholeUnauthorized));
    }

    #[test]
    fn families_select_their_reasons() {
        let s = ReasonSet::from_families(["rpki", "aspa"]).unwrap();
        assert!(s.contains(Reason::RpkiInvalid));
        assert!(s.contains(Reason::ExportAspaInvalid));
        assert!(!s.contains(Reason::BogonPrefix));
        assert!(ReasonSet::from_families(["nope"]).is_err());
    }
}
