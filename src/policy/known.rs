//! Prefixes currently held, refcounted (one count per route holding the prefix), for the burst
//! guards that count more-specifics of already known prefixes (`rib::import::KnownIndex` keeps
//! one only while such a guard is configured). With a full table it holds ~1.2M prefixes, one
//! insert per announcement on the RIB thread's path, so an insert must be cheap.
//!
//! Layout: per family, a hash map from a bucket (the first 16 bits of an IPv4 address, the
//! first 32 of an IPv6 one) to a small vector of (address, length, count) kept sorted. An
//! insert is one hash lookup and a binary search in a vector of a few dozen entries; a B-tree
//! of (address, length) keys cost ~3× that per insert (measured: 14 % of the import pipeline's
//! time). A prefix lives in the bucket of its network address, so the more-specifics of a
//! prefix at least as long as the bucket are in its own bucket, and those of a shorter one in
//! the consecutive buckets it spans (at most 2^16 for a /0: queries for short prefixes are
//! rare, inserts are not).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;

/// An address family's address as an integer, with the bucket width of this index.
trait Address: Copy + Ord {
    const BUCKET_BITS: u8;
    /// The bucket of an address: its first `BUCKET_BITS` bits.
    fn bucket(self) -> u32;
    /// The address with every bit after the first `len` cleared.
    fn network(self, len: u8) -> Self;
    /// The last address of the prefix of `len` bits at `self`.
    fn last(self, len: u8) -> Self;
}

impl Address for u32 {
    const BUCKET_BITS: u8 = 16;
    fn bucket(self) -> u32 {
        self >> 16
    }
    fn network(self, len: u8) -> u32 {
        self & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }
    fn last(self, len: u8) -> u32 {
        self | u32::MAX.checked_shr(u32::from(len)).unwrap_or(0)
    }
}

impl Address for u128 {
    const BUCKET_BITS: u8 = 32;
    fn bucket(self) -> u32 {
        (self >> 96) as u32
    }
    fn network(self, len: u8) -> u128 {
        self & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
    }
    fn last(self, len: u8) -> u128 {
        self | u128::MAX.checked_shr(u32::from(len)).unwrap_or(0)
    }
}

/// One family's prefixes: bucket → entries sorted by (address, length).
struct Buckets<A> {
    map: FxHashMap<u32, Vec<(A, u8, u32)>>,
}

impl<A> Default for Buckets<A> {
    fn default() -> Self {
        Buckets {
            map: FxHashMap::default(),
        }
    }
}

impl<A: Address> Buckets<A> {
    fn add(&mut self, addr: A, len: u8) {
        let v = self.map.entry(addr.bucket()).or_default();
        match v.binary_search_by(|(a, l, _)| (*a, *l).cmp(&(addr, len))) {
            Ok(i) => {
                if let Some((_, _, count)) = v.get_mut(i) {
                    *count = count.saturating_add(1);
                }
            }
            Err(i) => v.insert(i, (addr, len, 1)),
        }
    }

    fn remove(&mut self, addr: A, len: u8) {
        let bucket = addr.bucket();
        let Some(v) = self.map.get_mut(&bucket) else {
            return;
        };
        if let Ok(i) = v.binary_search_by(|(a, l, _)| (*a, *l).cmp(&(addr, len))) {
            let gone = match v.get_mut(i) {
                Some((_, _, count)) => {
                    *count = count.saturating_sub(1);
                    *count == 0
                }
                None => false,
            };
            if gone {
                v.remove(i);
            }
        }
        if v.is_empty() {
            self.map.remove(&bucket);
        }
    }

    fn contains(&self, addr: A, len: u8) -> bool {
        self.map.get(&addr.bucket()).is_some_and(|v| {
            v.binary_search_by(|(a, l, _)| (*a, *l).cmp(&(addr, len)))
                .is_ok()
        })
    }

    /// Whether a strictly shorter prefix covering (`addr`, `len`) is held.
    fn has_less_specific(&self, addr: A, len: u8) -> bool {
        (0..len).any(|l| self.contains(addr.network(l), l))
    }

    /// Every held (address, length) equal to or more specific than (`addr`, `len`), sorted.
    fn covered_by(&self, addr: A, len: u8) -> Vec<(A, u8)> {
        let (first, last) = (addr.network(len), addr.last(len));
        let inside = |(a, l, _): &&(A, u8, u32)| *l >= len && *a >= first && *a <= last;
        let mut out: Vec<(A, u8)> = Vec::new();
        if len >= A::BUCKET_BITS {
            if let Some(v) = self.map.get(&first.bucket()) {
                out.extend(v.iter().filter(inside).map(|(a, l, _)| (*a, *l)));
            }
            return out;
        }
        let (b0, b1) = (first.bucket(), last.bucket());
        if u64::from(b1 - b0) < self.map.len() as u64 {
            for b in b0..=b1 {
                if let Some(v) = self.map.get(&b) {
                    out.extend(v.iter().filter(inside).map(|(a, l, _)| (*a, *l)));
                }
            }
        } else {
            // Fewer buckets held than the range spans: look at the held ones.
            for (b, v) in &self.map {
                if (b0..=b1).contains(b) {
                    out.extend(v.iter().filter(inside).map(|(a, l, _)| (*a, *l)));
                }
            }
            out.sort_unstable();
        }
        out
    }

    /// Every held (address, length), sorted.
    fn all(&self) -> Vec<(A, u8)> {
        let mut out: Vec<(A, u8)> = self
            .map
            .values()
            .flat_map(|v| v.iter().map(|(a, l, _)| (*a, *l)))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Prefixes currently held, refcounted; see the module doc.
#[derive(Default)]
pub struct KnownPrefixes {
    v4: Buckets<u32>,
    v6: Buckets<u128>,
}

fn v4(n: &Ipv4Net) -> (u32, u8) {
    (u32::from(n.network()), n.prefix_len())
}

fn v6(n: &Ipv6Net) -> (u128, u8) {
    (u128::from(n.network()), n.prefix_len())
}

fn net4((a, l): (u32, u8)) -> Option<IpNet> {
    Ipv4Net::new(a.into(), l).ok().map(IpNet::V4)
}

fn net6((a, l): (u128, u8)) -> Option<IpNet> {
    Ipv6Net::new(a.into(), l).ok().map(IpNet::V6)
}

impl KnownPrefixes {
    /// Whether a strictly less specific prefix than `p` is known.
    pub fn more_specific_of_known(&self, p: &IpNet) -> bool {
        match p {
            IpNet::V4(n) => {
                let (a, l) = v4(n);
                self.v4.has_less_specific(a, l)
            }
            IpNet::V6(n) => {
                let (a, l) = v6(n);
                self.v6.has_less_specific(a, l)
            }
        }
    }

    /// Every known prefix equal to or more specific than `p`, in address order.
    pub fn covered_by(&self, p: &IpNet) -> Vec<IpNet> {
        match p {
            IpNet::V4(n) => {
                let (a, l) = v4(n);
                let v = self.v4.covered_by(a, l);
                v.into_iter().filter_map(net4).collect()
            }
            IpNet::V6(n) => {
                let (a, l) = v6(n);
                let v = self.v6.covered_by(a, l);
                v.into_iter().filter_map(net6).collect()
            }
        }
    }

    /// Every known prefix, IPv4 then IPv6, each in address order.
    pub fn all(&self) -> Vec<IpNet> {
        let v4 = self.v4.all().into_iter().filter_map(net4);
        let v6 = self.v6.all().into_iter().filter_map(net6);
        v4.chain(v6).collect()
    }

    /// One more route holds `p`.
    pub fn add(&mut self, p: &IpNet) {
        match p {
            IpNet::V4(n) => {
                let (a, l) = v4(n);
                self.v4.add(a, l)
            }
            IpNet::V6(n) => {
                let (a, l) = v6(n);
                self.v6.add(a, l)
            }
        }
    }

    /// One route less holds `p`; it is forgotten when none does.
    pub fn remove(&mut self, p: &IpNet) {
        match p {
            IpNet::V4(n) => {
                let (a, l) = v4(n);
                self.v4.remove(a, l)
            }
            IpNet::V6(n) => {
                let (a, l) = v6(n);
                self.v6.remove(a, l)
            }
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
    fn queries_agree_with_a_plain_list_over_random_prefixes() {
        // A seeded mix of IPv4 and IPv6 prefixes of every length, some repeated, some removed:
        // every query must answer what a scan of a plain list answers.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut k = KnownPrefixes::default();
        let mut list: Vec<IpNet> = Vec::new();
        for i in 0..4000 {
            let r = next();
            // Few distinct high bits, so prefixes nest and share buckets.
            let p = if i % 3 == 0 {
                let addr =
                    (r as u128) << 64 | u128::from(0x2a00_0000u32 | (r as u32 & 0x000f_0000)) << 96;
                let len = (r >> 40) as u8 % 65;
                IpNet::V6(Ipv6Net::new(addr.into(), len).unwrap().trunc())
            } else {
                let addr = (r as u32 & 0x0f0f_ffff) | 0x0a00_0000;
                let len = (r >> 40) as u8 % 33;
                IpNet::V4(Ipv4Net::new(addr.into(), len).unwrap().trunc())
            };
            if i % 7 == 0 && !list.is_empty() {
                let j = (r % list.len() as u64) as usize;
                let gone = list.swap_remove(j);
                k.remove(&gone);
            } else {
                k.add(&p);
                list.push(p);
            }
        }
        let mut distinct = list.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut all = k.all();
        all.sort_unstable();
        assert_eq!(all, distinct);
        for probe in list.iter().take(300).chain(
            [
                net("0.0.0.0/0"),
                net("10.0.0.0/7"),
                net("::/0"),
                net("2a00::/12"),
            ]
            .iter(),
        ) {
            let mut want: Vec<IpNet> = distinct
                .iter()
                .filter(|q| probe.contains(*q) && q.prefix_len() >= probe.prefix_len())
                .copied()
                .collect();
            want.sort_unstable();
            let mut got = k.covered_by(probe);
            got.sort_unstable();
            assert_eq!(got, want, "covered_by {probe}");
            let less = distinct
                .iter()
                .any(|q| q.contains(probe) && q.prefix_len() < probe.prefix_len());
            assert_eq!(
                k.more_specific_of_known(probe),
                less,
                "less specific of {probe}"
            );
        }
    }
}
