//! Bogon (martian) prefixes and ASNs: built-in defaults from the IANA special-purpose registries
//! (RFC 6890 and successors), overridable in the config. Used by `bogon-prefix`, `bogon-asn`,
//! `next-hop` and `export-bogon`. Pure data and lookups, no I/O.

use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Special-purpose IPv4 space that never belongs in the global table (RFC 6890 registry entries
/// with "Globally Reachable = False", plus multicast and class E).
pub const DEFAULT_V4: &[&str] = &[
    "0.0.0.0/8",       // RFC 791 "this network"
    "10.0.0.0/8",      // RFC 1918
    "100.64.0.0/10",   // RFC 6598 shared address space (CGN)
    "127.0.0.0/8",     // RFC 1122 loopback
    "169.254.0.0/16",  // RFC 3927 link local
    "172.16.0.0/12",   // RFC 1918
    "192.0.0.0/24",    // RFC 6890 IETF protocol assignments
    "192.0.2.0/24",    // RFC 5737 TEST-NET-1
    "192.88.99.0/24",  // RFC 7526 deprecated 6to4 relay anycast
    "192.168.0.0/16",  // RFC 1918
    "198.18.0.0/15",   // RFC 2544 benchmarking
    "198.51.100.0/24", // RFC 5737 TEST-NET-2
    "203.0.113.0/24",  // RFC 5737 TEST-NET-3
    "224.0.0.0/4",     // RFC 5771 multicast
    "240.0.0.0/4",     // RFC 1112 reserved, incl. 255.255.255.255
];

/// Special-purpose IPv6 space. Everything outside 2000::/3 is a bogon as well (checked apart).
pub const DEFAULT_V6: &[&str] = &[
    "2001::/32",     // RFC 4380 Teredo
    "2001:2::/48",   // RFC 5180 benchmarking
    "2001:10::/28",  // RFC 4843 ORCHID (deprecated)
    "2001:db8::/32", // RFC 3849 documentation
    "2002::/16",     // RFC 3056 6to4
    "3ffe::/16",     // RFC 3701 old 6bone
    "3fff::/20",     // RFC 9637 documentation
];

/// Reserved ASN ranges (inclusive) that never appear in a valid Internet path: AS0 (RFC 7607),
/// AS_TRANS (RFC 6793), documentation, private use and IANA reserved (RFC 5398, 6996, 7300).
pub const DEFAULT_ASN_RANGES: &[(u32, u32)] = &[
    (0, 0),
    (23456, 23456),
    (64496, 131071),
    (4_200_000_000, 4_294_967_295),
];

/// Private-use ASN ranges (RFC 6996), allowed per peer with `allow_private_asn`.
pub const PRIVATE_ASN_RANGES: &[(u32, u32)] = &[(64512, 65534), (4_200_000_000, 4_294_967_294)];

/// A set of bogon prefixes and ASN ranges.
#[derive(Debug, Clone)]
pub struct Bogons {
    /// First octets touched by any IPv4 bogon: most prefixes are cleared by one lookup here.
    v4_octets: [bool; 256],
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
    asn_ranges: Vec<(u32, u32)>,
}

impl Default for Bogons {
    fn default() -> Self {
        Bogons::new(
            DEFAULT_V4
                .iter()
                .chain(DEFAULT_V6)
                .filter_map(|s| s.parse().ok()),
            DEFAULT_ASN_RANGES.iter().copied(),
        )
    }
}

impl Bogons {
    /// A bogon set from explicit prefixes and inclusive ASN ranges.
    pub fn new(
        prefixes: impl IntoIterator<Item = IpNet>,
        asn_ranges: impl IntoIterator<Item = (u32, u32)>,
    ) -> Bogons {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for p in prefixes {
            match p.trunc() {
                IpNet::V4(n) => v4.push(n),
                IpNet::V6(n) => v6.push(n),
            }
        }
        let mut b = Bogons {
            v4_octets: [false; 256],
            v4,
            v6,
            asn_ranges: asn_ranges.into_iter().collect(),
        };
        b.index();
        b
    }

    fn index(&mut self) {
        self.v4_octets = [false; 256];
        for n in &self.v4 {
            let first = usize::from(n.network().octets()[0]);
            let span = 1usize << (8 - n.prefix_len().min(8));
            for o in self.v4_octets.iter_mut().skip(first).take(span) {
                *o = true;
            }
        }
    }

    /// Adds prefixes to the set (config `extra_prefixes`).
    pub fn extend(&mut self, prefixes: impl IntoIterator<Item = IpNet>) {
        for p in prefixes {
            match p.trunc() {
                IpNet::V4(n) => self.v4.push(n),
                IpNet::V6(n) => self.v6.push(n),
            }
        }
        self.index();
    }

    /// True if the prefix lies inside a bogon range (or, for IPv6, outside 2000::/3).
    pub fn is_bogon_prefix(&self, prefix: &IpNet) -> bool {
        match prefix {
            IpNet::V4(p) => {
                // A prefix shorter than /8 spans several first octets; check those the slow way.
                (p.prefix_len() < 8
                    || self.v4_octets.get(usize::from(p.network().octets()[0])) != Some(&false))
                    && self.v4.iter().any(|b| b.contains(p))
            }
            IpNet::V6(p) => {
                // Global unicast is 2000::/3; anything else (including ::/0 and ::/8) is martian.
                p.prefix_len() < 3
                    || (p.network().segments()[0] & 0xe000) != 0x2000
                    || self.v6.iter().any(|b| b.contains(p))
            }
        }
    }

    /// True if the ASN is reserved; private-use ASNs are not bogons when `allow_private` is set.
    pub fn is_bogon_asn(&self, asn: Asn, allow_private: bool) -> bool {
        let a = asn.0;
        if allow_private
            && PRIVATE_ASN_RANGES
                .iter()
                .any(|(lo, hi)| (*lo..=*hi).contains(&a))
        {
            return false;
        }
        self.asn_ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&a))
    }
}

/// A next hop that can never be valid: unspecified, loopback, multicast, class E/broadcast.
/// Private and documentation next hops are legitimate on some links and are not martians here.
pub fn is_martian_next_hop(nh: &IpAddr) -> bool {
    match nh {
        IpAddr::V4(a) => {
            a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || a.octets()[0] >= 240
                || a.octets()[0] == 0
                || *a == Ipv4Addr::BROADCAST
        }
        IpAddr::V6(a) => {
            a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || a.to_ipv4_mapped()
                    .is_some_and(|m| is_martian_next_hop(&IpAddr::V4(m)))
                || *a == Ipv6Addr::UNSPECIFIED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn bogon_prefixes_by_table() {
        let b = Bogons::default();
        let cases = [
            ("10.1.0.0/16", true),
            ("192.0.2.0/24", true),
            ("100.64.1.0/24", true),
            ("224.0.0.0/8", true),
            ("255.255.255.255/32", true),
            ("8.8.8.0/24", false),
            ("208.65.153.0/24", false),
            ("2001:db8:1::/48", true),
            ("fe80::/64", true),
            ("fc00::/8", true),
            ("::/8", true),
            ("3fff:100::/24", true),
            ("2a00:1450::/32", false),
            ("2001:4860::/32", false),
        ];
        for (p, want) in cases {
            assert_eq!(b.is_bogon_prefix(&net(p)), want, "{p}");
        }
    }

    #[test]
    fn bogon_asns_by_table_with_private_allowance() {
        let b = Bogons::default();
        let cases = [
            (0, false, true),
            (23456, false, true),
            (64496, false, true),
            (64512, false, true),
            (64512, true, false),
            (65535, true, true),
            (65551, true, true),
            (131071, false, true),
            (131072, false, false),
            (4_200_000_000, true, false),
            (4_294_967_295, true, true),
            (15169, false, false),
        ];
        for (asn, allow, want) in cases {
            assert_eq!(
                b.is_bogon_asn(Asn(asn), allow),
                want,
                "AS{asn} allow={allow}"
            );
        }
    }

    #[test]
    fn martian_next_hops() {
        for (nh, want) in [
            ("0.0.0.0", true),
            ("127.0.0.1", true),
            ("224.0.0.5", true),
            ("255.255.255.255", true),
            ("192.0.2.1", false),
            ("10.0.0.1", false),
            ("::", true),
            ("::1", true),
            ("ff02::1", true),
            ("2001:db8::1", false),
            ("::ffff:127.0.0.1", true),
        ] {
            assert_eq!(is_martian_next_hop(&nh.parse().unwrap()), want, "{nh}");
        }
    }
}
