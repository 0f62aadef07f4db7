//! A prefix list: which (prefix, length range, origin) combinations a neighbor may announce.
//!
//! This is the shape of a router prefix-list (`PREFIX ge MIN le MAX`) plus an optional origin ASN,
//! so one type serves a bgpq4 list (no origin), RPSL route objects (origin recorded) and the
//! operator's own `announce` list. It is queried once per route of a full table, so a lookup walks
//! only the covering prefixes in a prefix trie; it does no I/O and never allocates on lookup.

use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use std::fmt;

/// One length range (and optional origin) stored under a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Range {
    min_len: u8,
    max_len: u8,
    origin: Option<Asn>,
}

impl Range {
    fn permits(&self, len: u8, origin: Option<Asn>) -> bool {
        self.min_len <= len
            && len <= self.max_len
            && (self.origin.is_none() || self.origin == origin)
    }
}

/// A set of `(prefix, min_len, max_len, origin)` entries with a fast "is this route covered" test.
///
/// An entry permits a route when the route's prefix lies inside the entry's prefix, its length is
/// within `min_len..=max_len`, and the entry has no origin or the same origin as the route.
#[derive(Clone, Default, PartialEq)]
pub struct PrefixList {
    v4: PrefixMap<Ipv4Net, Vec<Range>>,
    v6: PrefixMap<Ipv6Net, Vec<Range>>,
    len: usize,
}

impl PrefixList {
    pub fn new() -> PrefixList {
        PrefixList::default()
    }

    /// Adds an entry; an identical entry is stored once. Host bits of `prefix` are ignored (the
    /// trie keeps networks only): callers that read operator input reject them first, see
    /// [`PrefixList::parse_entry`]. An entry with `min_len > max_len` never permits anything.
    pub fn insert(&mut self, prefix: IpNet, min_len: u8, max_len: u8, origin: Option<Asn>) {
        let range = Range {
            min_len,
            max_len,
            origin,
        };
        let ranges = match prefix {
            IpNet::V4(p) => self.v4.entry(p.trunc()).or_default(),
            IpNet::V6(p) => self.v6.entry(p.trunc()).or_default(),
        };
        if !ranges.contains(&range) {
            ranges.push(range);
            self.len += 1;
        }
    }

    /// True iff some entry covers `prefix` with `min_len <= prefix.len <= max_len` and has no
    /// origin or the origin `origin`. A route whose origin is unknown (`None`, e.g. its path
    /// ends in an AS_SET) is permitted only by entries without an origin.
    pub fn permits(&self, prefix: &IpNet, origin: Option<Asn>) -> bool {
        let len = prefix.prefix_len();
        match prefix {
            IpNet::V4(p) => self
                .v4
                .cover_values(p)
                .any(|ranges| ranges.iter().any(|r| r.permits(len, origin))),
            IpNet::V6(p) => self
                .v6
                .cover_values(p)
                .any(|ranges| ranges.iter().any(|r| r.permits(len, origin))),
        }
    }

    /// True iff some entry's prefix covers `prefix` (equal or less specific) and the entry has no
    /// origin or the origin `origin`, whatever the entry's length range: the space an entry
    /// authorizes, as for a blackhole host route inside a registered /24 (RFC 7999 §3.2).
    pub fn covers(&self, prefix: &IpNet, origin: Option<Asn>) -> bool {
        let origin_ok = |r: &Range| r.origin.is_none() || r.origin == origin;
        match prefix {
            IpNet::V4(p) => self
                .v4
                .cover_values(p)
                .any(|ranges| ranges.iter().any(origin_ok)),
            IpNet::V6(p) => self
                .v6
                .cover_values(p)
                .any(|ranges| ranges.iter().any(origin_ok)),
        }
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: &PrefixList) {
        for (prefix, min_len, max_len, origin) in other.iter() {
            self.insert(prefix, min_len, max_len, origin);
        }
    }

    /// Every entry as `(prefix, min_len, max_len, origin)`, IPv4 first, in trie order.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, u8, u8, Option<Asn>)> + '_ {
        let v4 = self
            .v4
            .iter()
            .flat_map(|(p, rs)| rs.iter().map(move |r| (IpNet::V4(p), r)));
        let v6 = self
            .v6
            .iter()
            .flat_map(|(p, rs)| rs.iter().map(move |r| (IpNet::V6(p), r)));
        v4.chain(v6)
            .map(|(p, r)| (p, r.min_len, r.max_len, r.origin))
    }

    /// The prefixes under which `self` and `other` have different entries, sorted: a route is
    /// permitted differently by the two lists only if it is equal to or more specific than one.
    pub fn changed_prefixes(&self, other: &PrefixList) -> Vec<IpNet> {
        let a: std::collections::HashSet<_> = self.iter().collect();
        let b: std::collections::HashSet<_> = other.iter().collect();
        let mut v: Vec<IpNet> = a.symmetric_difference(&b).map(|e| e.0).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Parses the config's announce syntax: `203.0.113.0/24` (exactly that prefix) or
    /// `198.51.100.0/22-24` (the prefix and its more-specifics down to /24). Returns
    /// `(prefix, min_len, max_len)`. Host bits set, a max length shorter than the prefix or longer
    /// than the address are errors.
    pub fn parse_entry(s: &str) -> Result<(IpNet, u8, u8), String> {
        let t = s.trim();
        let (net, max) = match t.rsplit_once('-') {
            Some((net, max)) => (net, Some(max)),
            None => (t, None),
        };
        let prefix: IpNet = net.trim().parse().map_err(|_| {
            format!(
                "invalid prefix {s:?} (expected PREFIX/LEN or PREFIX/LEN-MAXLEN, \
                 e.g. \"198.51.100.0/22-24\")"
            )
        })?;
        check_no_host_bits(&prefix)?;
        let len = prefix.prefix_len();
        let max_len = match max {
            None => len,
            Some(m) => {
                let m: u8 = m
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid max length {m:?} in {s:?}"))?;
                if m < len {
                    return Err(format!(
                        "max length /{m} is shorter than the prefix length /{len} in {s:?}"
                    ));
                }
                if m > prefix.max_prefix_len() {
                    return Err(format!(
                        "max length /{m} exceeds /{} in {s:?}",
                        prefix.max_prefix_len()
                    ));
                }
                m
            }
        };
        Ok((prefix, len, max_len))
    }
}

/// Rejects a prefix with host bits set (ipnet accepts `192.0.2.77/24`; a filter written that
/// way almost always means something other than what it matches), naming the network it meant.
pub(crate) fn check_no_host_bits(prefix: &IpNet) -> Result<(), String> {
    if prefix.trunc() == *prefix {
        Ok(())
    } else {
        Err(format!(
            "host bits set in prefix {prefix} (the network is {})",
            prefix.trunc()
        ))
    }
}

impl fmt::Debug for PrefixList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefixList")
            .field("len", &self.len)
            .field("ipv4_prefixes", &self.v4.len())
            .field("ipv6_prefixes", &self.v6.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn changed_prefixes_are_those_whose_entries_differ() {
        let mut a = PrefixList::new();
        a.insert(net("203.0.113.0/24"), 24, 24, None);
        a.insert(net("198.51.100.0/22"), 22, 24, None);
        a.insert(net("2001:db8::/32"), 32, 48, None);
        let mut b = a.clone();
        assert!(a.changed_prefixes(&b).is_empty());
        b.insert(net("198.51.100.0/22"), 22, 23, None); // another range under a kept prefix
        b.insert(net("192.0.2.0/24"), 24, 24, Some(Asn(64500))); // new
        let mut c = PrefixList::new();
        c.merge(&b);
        let mut d = PrefixList::new();
        for e in c.iter().filter(|e| e.0 != net("2001:db8::/32")) {
            d.insert(e.0, e.1, e.2, e.3); // removed
        }
        assert_eq!(
            a.changed_prefixes(&d),
            vec![
                net("192.0.2.0/24"),
                net("198.51.100.0/22"),
                net("2001:db8::/32")
            ]
        );
    }

    #[test]
    fn covers_ignores_the_length_range_but_not_the_origin() {
        let mut l = PrefixList::new();
        l.insert(net("203.0.113.0/24"), 24, 24, None);
        l.insert(net("198.51.100.0/22"), 23, 24, Some(Asn(64501)));
        l.insert(net("2001:db8::/32"), 32, 48, None);
        assert!(l.covers(&net("203.0.113.7/32"), Some(Asn(64999))));
        assert!(l.covers(&net("203.0.113.0/24"), None));
        assert!(!l.covers(&net("203.0.112.0/23"), None), "less specific");
        assert!(!l.covers(&net("203.0.114.1/32"), None));
        assert!(l.covers(&net("198.51.101.9/32"), Some(Asn(64501))));
        assert!(l.covers(&net("198.51.100.0/22"), Some(Asn(64501))));
        assert!(!l.covers(&net("198.51.101.9/32"), Some(Asn(64502))));
        assert!(!l.covers(&net("198.51.101.9/32"), None));
        assert!(l.covers(&net("2001:db8:5::1/128"), None));
        assert!(!l.covers(&net("2001:db9::1/128"), None));
        assert!(!PrefixList::new().covers(&net("203.0.113.7/32"), None));
    }

    #[test]
    fn exact_entry_permits_only_that_prefix() {
        let mut l = PrefixList::new();
        l.insert(net("203.0.113.0/24"), 24, 24, None);
        assert!(l.permits(&net("203.0.113.0/24"), Some(Asn(64500))));
        assert!(l.permits(&net("203.0.113.0/24"), None));
        assert!(!l.permits(&net("203.0.113.0/25"), None));
        assert!(!l.permits(&net("203.0.112.0/23"), None));
        assert!(!l.permits(&net("198.51.100.0/24"), None));
    }

    #[test]
    fn range_entry_permits_more_specifics_within_bounds() {
        let mut l = PrefixList::new();
        l.insert(net("198.51.100.0/22"), 23, 24, None);
        assert!(!l.permits(&net("198.51.100.0/22"), None));
        assert!(l.permits(&net("198.51.102.0/23"), None));
        assert!(l.permits(&net("198.51.103.0/24"), None));
        assert!(!l.permits(&net("198.51.103.0/25"), None));
        assert!(!l.permits(&net("198.51.104.0/24"), None));
    }

    #[test]
    fn origin_must_match_when_the_entry_has_one() {
        let mut l = PrefixList::new();
        l.insert(net("2001:db8::/32"), 32, 48, Some(Asn(64501)));
        assert!(l.permits(&net("2001:db8:1::/48"), Some(Asn(64501))));
        assert!(!l.permits(&net("2001:db8:1::/48"), Some(Asn(64502))));
        assert!(!l.permits(&net("2001:db8:1::/48"), None));
    }

    #[test]
    fn a_less_specific_entry_covers_when_a_closer_one_does_not() {
        let mut l = PrefixList::new();
        l.insert(net("10.0.0.0/8"), 8, 24, None);
        l.insert(net("10.1.0.0/16"), 16, 16, Some(Asn(64501)));
        // The /16 entry does not allow /24s, but the /8 one does.
        assert!(l.permits(&net("10.1.2.0/24"), Some(Asn(64999))));
    }

    #[test]
    fn families_do_not_mix() {
        let mut l = PrefixList::new();
        l.insert(net("0.0.0.0/0"), 0, 32, None);
        assert!(l.permits(&net("192.0.2.0/24"), None));
        assert!(!l.permits(&net("2001:db8::/32"), None));
    }

    #[test]
    fn duplicates_count_once_and_merge_unions() {
        let mut a = PrefixList::new();
        a.insert(net("192.0.2.0/24"), 24, 24, None);
        a.insert(net("192.0.2.0/24"), 24, 24, None);
        a.insert(net("192.0.2.0/24"), 24, 24, Some(Asn(64501)));
        assert_eq!(a.len(), 2);
        let mut b = PrefixList::new();
        b.insert(net("2001:db8::/32"), 32, 32, None);
        b.insert(net("192.0.2.0/24"), 24, 24, None);
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert!(a.permits(&net("2001:db8::/32"), None));
        assert!(!PrefixList::new().permits(&net("2001:db8::/32"), None));
        assert!(PrefixList::new().is_empty());
    }

    #[test]
    fn iter_yields_every_entry() {
        let mut l = PrefixList::new();
        l.insert(net("2001:db8::/32"), 32, 48, None);
        l.insert(net("192.0.2.0/24"), 24, 24, Some(Asn(64501)));
        let all: Vec<_> = l.iter().collect();
        assert_eq!(
            all,
            vec![
                (net("192.0.2.0/24"), 24, 24, Some(Asn(64501))),
                (net("2001:db8::/32"), 32, 48, None)
            ]
        );
    }

    #[test]
    fn parse_entry_reads_exact_and_range_forms() {
        assert_eq!(
            PrefixList::parse_entry("203.0.113.0/24").unwrap(),
            (net("203.0.113.0/24"), 24, 24)
        );
        assert_eq!(
            PrefixList::parse_entry("198.51.100.0/22-24").unwrap(),
            (net("198.51.100.0/22"), 22, 24)
        );
        assert_eq!(
            PrefixList::parse_entry("2001:db8::/32-48").unwrap(),
            (net("2001:db8::/32"), 32, 48)
        );
    }

    #[test]
    fn parse_entry_rejects_host_bits_and_bad_ranges() {
        assert_eq!(
            PrefixList::parse_entry("192.0.2.77/24").unwrap_err(),
            "host bits set in prefix 192.0.2.77/24 (the network is 192.0.2.0/24)"
        );
        assert_eq!(
            PrefixList::parse_entry("198.51.100.0/22-21").unwrap_err(),
            "max length /21 is shorter than the prefix length /22 in \"198.51.100.0/22-21\""
        );
        assert_eq!(
            PrefixList::parse_entry("198.51.100.0/22-33").unwrap_err(),
            "max length /33 exceeds /32 in \"198.51.100.0/22-33\""
        );
        assert!(PrefixList::parse_entry("198.51.100.0/22-x").is_err());
        assert!(PrefixList::parse_entry("198.51.100.0").is_err());
        assert!(PrefixList::parse_entry("").is_err());
        assert!(PrefixList::parse_entry("2001:db8::/129").is_err());
    }
}
