//! The address space a set of prefixes covers, for an incident's impact: IPv4 in addresses and
//! /24 equivalents, IPv6 in /48 equivalents (the longest prefixes the global table carries).
//! A prefix inside another one of the set is counted once, with the covering one. Integer
//! arithmetic only, without overflow: ::/0 is 2^48 /48s, 0.0.0.0/0 2^32 addresses.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// What a set of prefixes covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// IPv4 addresses covered (at most 2^32).
    pub ipv4_addresses: u64,
    /// IPv4 space in /24s, rounded up (a lone /25 is one).
    pub ipv4_slash24: u64,
    /// IPv6 space in /48s, rounded up (a lone /64 is one).
    pub ipv6_slash48: u64,
}

/// The space `prefixes` cover together, each address once (duplicates and more-specifics of
/// another prefix of the set add nothing).
pub fn covered<'a>(prefixes: impl IntoIterator<Item = &'a IpNet>) -> Space {
    let mut v4: Vec<(u128, u8)> = Vec::new();
    let mut v6: Vec<(u128, u8)> = Vec::new();
    for p in prefixes {
        match p.trunc() {
            IpNet::V4(n) => v4.push((u128::from(u32::from(n.network())), n.prefix_len())),
            IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len())),
        }
    }
    let ipv4_addresses = outermost(v4, 32)
        .iter()
        .map(|(_, len)| block(32, *len).unwrap_or(u128::MAX))
        .fold(0u128, u128::saturating_add);
    let mut slash48 = 0u128;
    let mut below48 = 0u128;
    for (_, len) in outermost(v6, 128) {
        if len <= 48 {
            slash48 = slash48.saturating_add(block(48, len).unwrap_or(u128::MAX));
        } else {
            below48 = below48.saturating_add(block(128, len).unwrap_or(u128::MAX));
        }
    }
    Space {
        ipv4_addresses: clamp(ipv4_addresses),
        ipv4_slash24: clamp(ipv4_addresses.div_ceil(256)),
        ipv6_slash48: clamp(slash48.saturating_add(below48.div_ceil(1u128 << 80))),
    }
}

/// 2^(`bits` - `len`): the size of a /`len` in units of a /`bits`; `None` when `len` is longer.
fn block(bits: u8, len: u8) -> Option<u128> {
    let shift = bits.checked_sub(len)?;
    1u128.checked_shl(u32::from(shift))
}

fn clamp(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The prefixes of `set` (network as a number, length; `bits` the family's width) that no
/// other prefix of the set covers. Prefixes either nest or are disjoint, so after sorting by
/// address then length, a prefix is covered exactly when it starts inside the last kept one.
fn outermost(mut set: Vec<(u128, u8)>, bits: u8) -> Vec<(u128, u8)> {
    set.sort_unstable();
    set.dedup();
    let mut kept: Vec<(u128, u8)> = Vec::with_capacity(set.len());
    let mut last_end: Option<u128> = None;
    for (start, len) in set {
        if last_end.is_some_and(|end| start <= end) {
            continue;
        }
        let host = u128::MAX
            .checked_shr(u32::from(len) + 128 - u32::from(bits))
            .unwrap_or(0);
        last_end = Some(start | host);
        kept.push((start, len));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(list: &[&str]) -> Space {
        let nets: Vec<IpNet> = list.iter().map(|s| s.parse().unwrap()).collect();
        covered(&nets)
    }

    #[test]
    fn ipv4_in_addresses_and_slash24s() {
        assert_eq!(space(&[]), Space::default());
        let s = space(&["192.0.2.0/24", "198.51.100.0/23"]);
        assert_eq!((s.ipv4_addresses, s.ipv4_slash24), (768, 3));
        // A /25 is half a /24: rounded up to one; two /25s of different /24s make one.
        assert_eq!(space(&["192.0.2.0/25"]).ipv4_slash24, 1);
        let s = space(&["192.0.2.0/25", "198.51.100.128/25"]);
        assert_eq!((s.ipv4_addresses, s.ipv4_slash24), (256, 1));
        let s = space(&["0.0.0.0/0"]);
        assert_eq!((s.ipv4_addresses, s.ipv4_slash24), (1 << 32, 1 << 24));
        assert_eq!(space(&["192.0.2.1/32"]).ipv4_addresses, 1);
    }

    #[test]
    fn overlapping_prefixes_count_once() {
        // The /16 covers the /24s and the /20 inside it; the duplicate adds nothing.
        let s = space(&[
            "10.1.5.0/24",
            "10.1.0.0/16",
            "10.1.16.0/20",
            "10.1.0.0/16",
            "10.2.0.0/24",
            "10.2.0.0/25",
        ]);
        assert_eq!(s.ipv4_addresses, 65536 + 256);
        assert_eq!(s.ipv4_slash24, 257);
        // Host bits set are ignored: 10.2.0.77/24 is 10.2.0.0/24.
        assert_eq!(space(&["10.2.0.77/24", "10.2.0.0/24"]).ipv4_slash24, 1);
        // v6 likewise.
        let s = space(&["2001:db8::/32", "2001:db8:1::/48", "2001:db8:ffff::/64"]);
        assert_eq!(s.ipv6_slash48, 1 << 16);
    }

    #[test]
    fn ipv6_in_slash48s_huge_and_tiny() {
        assert_eq!(space(&["2001:db8:1::/48"]).ipv6_slash48, 1);
        assert_eq!(space(&["2001:db8::/32"]).ipv6_slash48, 65536);
        // ::/0 is 2^48 /48s and 2^128 addresses: no overflow.
        assert_eq!(space(&["::/0"]).ipv6_slash48, 1 << 48);
        assert_eq!(
            space(&["::/0", "2000::/3", "::1/128"]).ipv6_slash48,
            1 << 48
        );
        // Longer than /48: fractions add up, then round up.
        assert_eq!(space(&["2001:db8:1:1::/64"]).ipv6_slash48, 1);
        assert_eq!(
            space(&["2001:db8:1::/49", "2001:db8:1:8000::/49"]).ipv6_slash48,
            1
        );
        assert_eq!(
            space(&["2001:db8:1::/49", "2001:db8:2::/49"]).ipv6_slash48,
            1
        );
        assert_eq!(
            space(&["2001:db8:1::/49", "2001:db8:2::/49", "2001:db8:3::/49"]).ipv6_slash48,
            2
        );
        assert_eq!(space(&["2001:db8::1/128"]).ipv6_slash48, 1);
        // Both families in one set.
        let s = space(&["2001:db8::/47", "192.0.2.0/24"]);
        assert_eq!((s.ipv4_slash24, s.ipv6_slash48), (1, 2));
    }
}
