//! One neighbor's Adj-RIB-In, laid out for a full table. A route without an ADD-PATH id (nearly
//! every route of a neighbor session) is keyed by its prefix alone in a compact table per family
//! ([`super::table`]: an IPv4 route costs its 16-byte value and a 4-byte key, where a hash map
//! of `Ipv4Net` keys cost ~50 bytes at a full table's load). Routes with a path id go to a
//! general hash map.
//!
//! Generic over what is held per route: the daemon holds an [`InRoute`] (attributes and verdict,
//! for the other side and the API); replay holds one byte (see [`super::import::Standing`]),
//! since all it needs is how the limits counted the route, over tens of millions of routes.

use super::table::{V4Iter as V4Routes, V4Table};
use super::InRoute;
use crate::bgp::update::Nlri;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;
use std::collections::hash_map::{self, Entry};
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct AdjRibIn<V = InRoute> {
    v4: V4Table<V>,
    v6: FxHashMap<Ipv6Net, V>,
    /// Routes with an ADD-PATH identifier (RFC 7911).
    paths: FxHashMap<Nlri, V>,
}

impl<V> Default for AdjRibIn<V> {
    fn default() -> Self {
        AdjRibIn {
            v4: V4Table::default(),
            v6: FxHashMap::default(),
            paths: FxHashMap::default(),
        }
    }
}

fn v4<V>((k, r): (Ipv4Net, &V)) -> (Nlri, &V) {
    (Nlri::new(IpNet::V4(k)), r)
}
fn v6<'a, V>((k, r): (&'a Ipv6Net, &'a V)) -> (Nlri, &'a V) {
    (Nlri::new(IpNet::V6(*k)), r)
}
fn path<'a, V>((k, r): (&'a Nlri, &'a V)) -> (Nlri, &'a V) {
    (*k, r)
}

type V4Iter<'a, V> = std::iter::Map<V4Routes<'a, V>, fn((Ipv4Net, &'a V)) -> (Nlri, &'a V)>;
type V6Iter<'a, V> =
    std::iter::Map<hash_map::Iter<'a, Ipv6Net, V>, fn((&'a Ipv6Net, &'a V)) -> (Nlri, &'a V)>;
type PathIter<'a, V> =
    std::iter::Map<hash_map::Iter<'a, Nlri, V>, fn((&'a Nlri, &'a V)) -> (Nlri, &'a V)>;

/// Every route of an [`AdjRibIn`], in no particular order.
pub type Iter<'a, V = InRoute> =
    std::iter::Chain<std::iter::Chain<V4Iter<'a, V>, V6Iter<'a, V>>, PathIter<'a, V>>;

/// [`AdjRibIn::replace_with`] on one of the maps: one hash lookup for the read and the write.
fn replace_in<K: Hash + Eq, V, R>(
    m: &mut FxHashMap<K, V>,
    k: K,
    f: impl FnOnce(Option<&V>) -> (V, R),
) -> (Option<V>, R) {
    match m.entry(k) {
        Entry::Occupied(mut e) => {
            let (new, r) = f(Some(e.get()));
            (Some(e.insert(new)), r)
        }
        Entry::Vacant(e) => {
            let (new, r) = f(None);
            e.insert(new);
            (None, r)
        }
    }
}

impl<V> AdjRibIn<V> {
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, n: &Nlri) -> Option<&V> {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.get(&p),
            (None, IpNet::V6(p)) => self.v6.get(&p),
            (Some(_), _) => self.paths.get(n),
        }
    }

    pub fn get_mut(&mut self, n: &Nlri) -> Option<&mut V> {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.get_mut(&p),
            (None, IpNet::V6(p)) => self.v6.get_mut(&p),
            (Some(_), _) => self.paths.get_mut(n),
        }
    }

    pub fn contains_key(&self, n: &Nlri) -> bool {
        self.get(n).is_some()
    }

    /// Stores the route for `n`; returns the one it replaces.
    pub fn insert(&mut self, n: Nlri, r: V) -> Option<V> {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.insert(p, r),
            (None, IpNet::V6(p)) => self.v6.insert(p, r),
            (Some(_), _) => self.paths.insert(n, r),
        }
    }

    pub fn remove(&mut self, n: &Nlri) -> Option<V> {
        let removed = match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.remove(&p),
            (None, IpNet::V6(p)) => self.v6.remove(&p),
            (Some(_), _) => self.paths.remove(n),
        };
        // A table that emptied (a session went down, a leak withdrawn) gives its memory back.
        self.shrink_if_sparse();
        removed
    }

    /// Looks `n` up once: `f` gets the route held (if any) and returns the route to hold
    /// instead, with a result of its own; returns the route replaced and that result. The
    /// import path's single hash operation per announcement.
    pub fn replace_with<R>(
        &mut self,
        n: Nlri,
        f: impl FnOnce(Option<&V>) -> (V, R),
    ) -> (Option<V>, R) {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.replace_with(p, f),
            (None, IpNet::V6(p)) => replace_in(&mut self.v6, p, f),
            (Some(_), _) => replace_in(&mut self.paths, n, f),
        }
    }

    pub fn iter(&self) -> Iter<'_, V> {
        let a: V4Iter<'_, V> = self.v4.iter().map(v4);
        let b: V6Iter<'_, V> = self.v6.iter().map(v6);
        let c: PathIter<'_, V> = self.paths.iter().map(path);
        a.chain(b).chain(c)
    }

    pub fn keys(&self) -> impl Iterator<Item = Nlri> + '_ {
        self.iter().map(|(n, _)| n)
    }

    /// Calls `f` for every route for exactly `p` (one without a path id, and any with one).
    /// A lookup, and a pass over the routes with path ids (none on most sessions).
    pub fn for_each_at(&self, p: &IpNet, mut f: impl FnMut(Nlri, &V)) {
        let plain = Nlri::new(*p);
        if let Some(v) = self.get(&plain) {
            f(plain, v);
        }
        for (n, v) in self.paths.iter().filter(|(n, _)| n.prefix == *p) {
            f(*n, v);
        }
    }

    /// Calls `f` for every route for `p` or a more-specific of it. IPv4: only the part of the
    /// table under `p` is read; IPv6 and routes with path ids: a pass over them.
    pub fn for_each_within(&self, p: &IpNet, mut f: impl FnMut(Nlri, &V)) {
        match p {
            IpNet::V4(p4) => self
                .v4
                .for_each_within(p4, |k, v| f(Nlri::new(IpNet::V4(k)), v)),
            IpNet::V6(p6) => {
                for (k, v) in self.v6.iter().filter(|(k, _)| p6.contains(*k)) {
                    f(Nlri::new(IpNet::V6(*k)), v);
                }
            }
        }
        for (n, v) in self.paths.iter().filter(|(n, _)| p.contains(&n.prefix)) {
            f(*n, v);
        }
    }

    /// The length of the longest prefix held that covers `p` (`p` itself included): a lookup
    /// per candidate length from `p`'s down (at most 33 or 129), and a pass over the routes
    /// with path ids.
    pub fn longest_match(&self, p: &IpNet) -> Option<u8> {
        let with_id = self
            .paths
            .keys()
            .filter(|n| n.prefix.contains(p))
            .map(|n| n.prefix.prefix_len())
            .max();
        let floor = with_id.map_or(0, |l| l.saturating_add(1));
        let plain = (floor..=p.prefix_len()).rev().find(|len| {
            let candidate = match p {
                IpNet::V4(a) => {
                    Ipv4Net::new(a.network(), *len).map(|n| self.v4.get(&n.trunc()).is_some())
                }
                IpNet::V6(a) => {
                    Ipv6Net::new(a.network(), *len).map(|n| self.v6.contains_key(&n.trunc()))
                }
            };
            candidate.unwrap_or(false)
        });
        plain.or(with_id)
    }

    /// Hash maps never shrink by themselves: one at under a quarter of its capacity is
    /// rebuilt at its size (the IPv4 table gives memory back as it empties).
    fn shrink_if_sparse(&mut self) {
        fn sparse<K, T>(m: &FxHashMap<K, T>) -> bool {
            m.capacity() > 1024 && m.len() < m.capacity() / 4
        }
        if sparse(&self.v6) {
            self.v6.shrink_to_fit();
        }
        if sparse(&self.paths) {
            self.paths.shrink_to_fit();
        }
    }
}

impl<'a, V> IntoIterator for &'a AdjRibIn<V> {
    type Item = (Nlri, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::update::PathAttributes;
    use crate::policy::Verdict;
    use std::sync::Arc;

    fn route() -> InRoute {
        InRoute {
            attrs: Arc::new(PathAttributes::default()),
            verdict: Verdict::default(),
        }
    }

    fn nlri(s: &str, path_id: Option<u32>) -> Nlri {
        Nlri {
            prefix: s.parse().unwrap(),
            path_id,
        }
    }

    #[test]
    fn every_kind_of_key_goes_in_and_comes_out() {
        let mut t = AdjRibIn::default();
        let keys = [
            nlri("192.0.2.0/24", None),
            nlri("2001:db8::/32", None),
            nlri("192.0.2.0/24", Some(7)),
            nlri("2001:db8::/32", Some(7)),
        ];
        for k in keys {
            assert!(t.insert(k, route()).is_none());
        }
        assert!(t.insert(keys[0], route()).is_some(), "a replacement");
        assert_eq!(t.len(), 4);
        let mut seen: Vec<Nlri> = t.keys().collect();
        seen.sort();
        let mut want = keys.to_vec();
        want.sort();
        assert_eq!(seen, want);
        assert!(keys.iter().all(|k| t.contains_key(k)));
        assert!(!t.contains_key(&nlri("192.0.2.0/25", None)));
        assert!(t.remove(&keys[2]).is_some());
        assert!(t.get(&keys[2]).is_none());
        assert!(t.get(&keys[0]).is_some(), "the path id keeps them apart");
        assert_eq!(t.iter().count(), 3);
        for k in keys {
            t.remove(&k);
        }
        assert!(t.is_empty());
    }

    #[test]
    fn replace_with_sees_the_route_held_and_returns_it() {
        let mut t: AdjRibIn<u8> = AdjRibIn::default();
        let keys = [
            nlri("192.0.2.0/24", None),
            nlri("2001:db8::/32", None),
            nlri("192.0.2.0/24", Some(7)),
        ];
        for (i, k) in keys.iter().enumerate() {
            let (old, seen) = t.replace_with(*k, |held| (i as u8, held.copied()));
            assert_eq!((old, seen), (None, None));
        }
        for (i, k) in keys.iter().enumerate() {
            let (old, seen) = t.replace_with(*k, |held| (10 + i as u8, held.copied()));
            assert_eq!((old, seen), (Some(i as u8), Some(i as u8)), "{k:?}");
        }
        let mut held: Vec<u8> = t.iter().map(|(_, v)| *v).collect();
        held.sort();
        assert_eq!(held, vec![10, 11, 12]);
    }

    #[test]
    fn a_route_is_small_and_an_emptied_table_gives_memory_back() {
        let mut t = AdjRibIn::default();
        // A /24 in every one of 100,000 consecutive /24s: ~390 /16 groups of 256.
        let keys: Vec<Nlri> = (0..100_000u32)
            .map(|i| Nlri::new(IpNet::V4(Ipv4Net::new((i << 8).into(), 24).unwrap())))
            .collect();
        for k in &keys {
            t.insert(*k, route());
        }
        let full = t.v4.heap_bytes();
        let per_route = full / keys.len();
        // 16-byte route + 4-byte key, the vectors' slack and 256 KiB of slots over 100k routes.
        assert!(per_route <= 26, "{per_route} bytes per route");
        for k in &keys[..99_000] {
            t.remove(k);
        }
        assert!(
            t.v4.heap_bytes() < full / 4,
            "{} of {full}",
            t.v4.heap_bytes()
        );
        assert_eq!(t.len(), 1000);
        for k in &keys[99_000..] {
            t.remove(k);
        }
        assert_eq!(t.v4.heap_bytes(), 0, "an emptied table holds nothing");
    }
}
