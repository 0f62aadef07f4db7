//! One neighbor's Adj-RIB-In, laid out for a full table. A route without an ADD-PATH id (nearly
//! every route of a neighbor session) is keyed by its prefix alone in a map per family: an IPv4
//! entry is 24 bytes (5-byte `Ipv4Net` key, 16-byte route) where a general `Nlri` key made it 48.
//! Routes with a path id go to a third, general map.

use super::InRoute;
use crate::bgp::update::Nlri;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rustc_hash::FxHashMap;
use std::collections::hash_map;

#[derive(Debug, Default, Clone)]
pub struct AdjRibIn {
    v4: FxHashMap<Ipv4Net, InRoute>,
    v6: FxHashMap<Ipv6Net, InRoute>,
    /// Routes with an ADD-PATH identifier (RFC 7911).
    paths: FxHashMap<Nlri, InRoute>,
}

fn v4<'a>((k, r): (&'a Ipv4Net, &'a InRoute)) -> (Nlri, &'a InRoute) {
    (Nlri::new(IpNet::V4(*k)), r)
}
fn v6<'a>((k, r): (&'a Ipv6Net, &'a InRoute)) -> (Nlri, &'a InRoute) {
    (Nlri::new(IpNet::V6(*k)), r)
}
fn path<'a>((k, r): (&'a Nlri, &'a InRoute)) -> (Nlri, &'a InRoute) {
    (*k, r)
}

type V4Iter<'a> = std::iter::Map<
    hash_map::Iter<'a, Ipv4Net, InRoute>,
    fn((&'a Ipv4Net, &'a InRoute)) -> (Nlri, &'a InRoute),
>;
type V6Iter<'a> = std::iter::Map<
    hash_map::Iter<'a, Ipv6Net, InRoute>,
    fn((&'a Ipv6Net, &'a InRoute)) -> (Nlri, &'a InRoute),
>;
type PathIter<'a> = std::iter::Map<
    hash_map::Iter<'a, Nlri, InRoute>,
    fn((&'a Nlri, &'a InRoute)) -> (Nlri, &'a InRoute),
>;

/// Every route of an [`AdjRibIn`], in no particular order.
pub type Iter<'a> = std::iter::Chain<std::iter::Chain<V4Iter<'a>, V6Iter<'a>>, PathIter<'a>>;

impl AdjRibIn {
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, n: &Nlri) -> Option<&InRoute> {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.get(&p),
            (None, IpNet::V6(p)) => self.v6.get(&p),
            (Some(_), _) => self.paths.get(n),
        }
    }

    pub fn get_mut(&mut self, n: &Nlri) -> Option<&mut InRoute> {
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
    pub fn insert(&mut self, n: Nlri, r: InRoute) -> Option<InRoute> {
        match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.insert(p, r),
            (None, IpNet::V6(p)) => self.v6.insert(p, r),
            (Some(_), _) => self.paths.insert(n, r),
        }
    }

    pub fn remove(&mut self, n: &Nlri) -> Option<InRoute> {
        let removed = match (n.path_id, n.prefix) {
            (None, IpNet::V4(p)) => self.v4.remove(&p),
            (None, IpNet::V6(p)) => self.v6.remove(&p),
            (Some(_), _) => self.paths.remove(n),
        };
        // A table that emptied (a session went down, a leak withdrawn) gives its memory back.
        self.shrink_if_sparse();
        removed
    }

    pub fn iter(&self) -> Iter<'_> {
        let a: V4Iter<'_> = self.v4.iter().map(v4);
        let b: V6Iter<'_> = self.v6.iter().map(v6);
        let c: PathIter<'_> = self.paths.iter().map(path);
        a.chain(b).chain(c)
    }

    pub fn keys(&self) -> impl Iterator<Item = Nlri> + '_ {
        self.iter().map(|(n, _)| n)
    }

    /// Hash maps never shrink by themselves: one at under a quarter of its capacity is
    /// rebuilt at its size.
    fn shrink_if_sparse(&mut self) {
        fn sparse<K, V>(m: &FxHashMap<K, V>) -> bool {
            m.capacity() > 1024 && m.len() < m.capacity() / 4
        }
        if sparse(&self.v4) {
            self.v4.shrink_to_fit();
        }
        if sparse(&self.v6) {
            self.v6.shrink_to_fit();
        }
        if sparse(&self.paths) {
            self.paths.shrink_to_fit();
        }
    }
}

impl<'a> IntoIterator for &'a AdjRibIn {
    type Item = (Nlri, &'a InRoute);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
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
    fn an_entry_is_small_and_an_emptied_table_gives_memory_back() {
        assert_eq!(
            std::mem::size_of::<(Ipv4Net, InRoute)>(),
            24,
            "an IPv4 entry"
        );
        let mut t = AdjRibIn::default();
        let keys: Vec<Nlri> = (0..100_000u32)
            .map(|i| Nlri::new(IpNet::V4(Ipv4Net::new((i << 8).into(), 24).unwrap())))
            .collect();
        for k in &keys {
            t.insert(*k, route());
        }
        let full = t.v4.capacity();
        for k in &keys[..99_000] {
            t.remove(k);
        }
        assert!(t.v4.capacity() < full / 8, "{} of {full}", t.v4.capacity());
        assert_eq!(t.len(), 1000);
    }
}
