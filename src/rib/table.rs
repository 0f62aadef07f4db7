//! A compact map from an IPv4 prefix to what is held for it, for the Adj-RIB-In of a full
//! table.
//!
//! A hash map keyed by prefix costs ~50 bytes per IPv4 route at a full table (a 24-byte entry
//! and a control byte per bucket, at the ~50 % load hashbrown sits at after growing to 2^21
//! buckets for 1M routes), and its growth allocates a second table next to the first. Here the
//! routes are grouped by the first 16 bits of their address, each group holding its keys and its
//! values in two sorted vectors: a route costs its value plus a 4-byte key (~22 bytes with the
//! vectors' slack). A lookup is an index into a direct array of 2^16 slots and a binary search
//! in a few dozen keys; an insert moves the group's later entries by one (a full group of /24s
//! in a /16 is 256 entries).
//!
//! IPv6 stays in a hash map: its routes are a sixth of a full table, and spread over so many
//! /32s (or /24s) that groups of them would hold one or two routes each.

use ipnet::Ipv4Net;

/// One group: keys sorted, `values[i]` held for `keys[i]`.
#[derive(Debug, Clone)]
struct Group<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
}

impl<K: Ord + Copy, V> Group<K, V> {
    fn new() -> Self {
        Group {
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    fn find(&self, k: K) -> Result<usize, usize> {
        self.keys.binary_search(&k)
    }

    fn get(&self, k: K) -> Option<&V> {
        self.find(k).ok().and_then(|i| self.values.get(i))
    }

    fn get_mut(&mut self, k: K) -> Option<&mut V> {
        self.find(k).ok().and_then(|i| self.values.get_mut(i))
    }

    /// Inserts at position `i` (from a failed `find`), growing by half at a time (at least 8):
    /// a doubling vector averages 75 % full, this ~80 %, with a reallocation every few inserts
    /// only while the group is small.
    fn insert_at(&mut self, i: usize, k: K, v: V) {
        if self.keys.len() == self.keys.capacity() {
            let more = (self.keys.len() / 2).max(8);
            self.keys.reserve_exact(more);
            self.values.reserve_exact(more);
        }
        self.keys.insert(i, k);
        self.values.insert(i, v);
    }

    fn remove(&mut self, k: K) -> Option<V> {
        let i = self.find(k).ok()?;
        self.keys.remove(i);
        let v = self.values.remove(i);
        if self.keys.capacity() > 8 && self.keys.len() < self.keys.capacity() / 2 {
            self.keys.shrink_to_fit();
            self.values.shrink_to_fit();
        }
        Some(v)
    }

    fn replace_with<R>(&mut self, k: K, f: impl FnOnce(Option<&V>) -> (V, R)) -> (Option<V>, R) {
        match self.find(k) {
            Ok(i) => match self.values.get_mut(i) {
                Some(slot) => {
                    let (new, r) = f(Some(slot));
                    (Some(std::mem::replace(slot, new)), r)
                }
                None => {
                    // keys and values have the same length: not reached.
                    let (new, r) = f(None);
                    self.insert_at(i, k, new);
                    (None, r)
                }
            },
            Err(i) => {
                let (new, r) = f(None);
                self.insert_at(i, k, new);
                (None, r)
            }
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// "No group" in [`V4Table`]'s slots.
const NO_GROUP: u32 = u32::MAX;

/// IPv4 prefix → `V`. Iterates in address order.
#[derive(Debug, Clone)]
pub struct V4Table<V> {
    /// For each value of the first 16 bits, the index of its group in `groups` or
    /// [`NO_GROUP`]; empty until the first insert (256 KiB once used).
    slots: Vec<u32>,
    groups: Vec<Group<u32, V>>,
    /// Groups emptied, for reuse.
    free: Vec<u32>,
    len: usize,
}

impl<V> Default for V4Table<V> {
    fn default() -> Self {
        V4Table {
            slots: Vec::new(),
            groups: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

/// The slot and the key within the group of an IPv4 prefix: the last 16 bits of the network
/// address and the length.
fn v4_key(p: &Ipv4Net) -> (usize, u32) {
    let a = u32::from(p.network());
    (
        (a >> 16) as usize,
        (a & 0xffff) << 8 | u32::from(p.prefix_len()),
    )
}

fn v4_prefix(slot: usize, key: u32) -> Ipv4Net {
    let addr = (slot as u32) << 16 | key >> 8;
    // The length came from an Ipv4Net: at most 32.
    Ipv4Net::new(addr.into(), (key & 0xff) as u8).unwrap_or_default()
}

impl<V> V4Table<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn group(&self, slot: usize) -> Option<&Group<u32, V>> {
        let g = *self.slots.get(slot)?;
        self.groups.get(g as usize)
    }

    fn group_mut(&mut self, slot: usize) -> Option<&mut Group<u32, V>> {
        let g = *self.slots.get(slot)?;
        self.groups.get_mut(g as usize)
    }

    /// The group of `slot`, made if there is none.
    // `groups[g]`: `g` comes from `slots`, which holds only indices of `groups` (or NO_GROUP,
    // replaced here first).
    #[allow(clippy::indexing_slicing)]
    fn group_or_new(&mut self, slot: usize) -> &mut Group<u32, V> {
        if self.slots.is_empty() {
            self.slots = vec![NO_GROUP; 1 << 16];
        }
        let mut g = self.slots[slot];
        if g == NO_GROUP {
            g = match self.free.pop() {
                Some(g) => g,
                None => {
                    self.groups.push(Group::new());
                    (self.groups.len() - 1) as u32
                }
            };
            self.slots[slot] = g;
        }
        &mut self.groups[g as usize]
    }

    pub fn get(&self, p: &Ipv4Net) -> Option<&V> {
        let (slot, k) = v4_key(p);
        self.group(slot)?.get(k)
    }

    pub fn get_mut(&mut self, p: &Ipv4Net) -> Option<&mut V> {
        let (slot, k) = v4_key(p);
        self.group_mut(slot)?.get_mut(k)
    }

    /// Holds `v` for `p`; returns what it replaces.
    pub fn insert(&mut self, p: Ipv4Net, v: V) -> Option<V> {
        self.replace_with(p, |_| (v, ())).0
    }

    /// Looks `p` up once: `f` gets what is held (if anything) and returns what to hold instead
    /// with a result of its own; returns what was replaced and that result.
    pub fn replace_with<R>(
        &mut self,
        p: Ipv4Net,
        f: impl FnOnce(Option<&V>) -> (V, R),
    ) -> (Option<V>, R) {
        let (slot, k) = v4_key(&p);
        let (old, r) = self.group_or_new(slot).replace_with(k, f);
        if old.is_none() {
            self.len += 1;
        }
        (old, r)
    }

    pub fn remove(&mut self, p: &Ipv4Net) -> Option<V> {
        let (slot, k) = v4_key(p);
        let g = self.group_mut(slot)?;
        let v = g.remove(k)?;
        let emptied = g.len() == 0;
        self.len -= 1;
        if emptied {
            if let Some(s) = self.slots.get_mut(slot) {
                let g = std::mem::replace(s, NO_GROUP);
                if let Some(group) = self.groups.get_mut(g as usize) {
                    *group = Group::new();
                }
                self.free.push(g);
            }
        }
        if self.len == 0 {
            // An emptied table (a session went down) gives all its memory back.
            *self = V4Table::default();
        }
        Some(v)
    }

    /// Every prefix and what is held for it, in address order.
    pub fn iter(&self) -> V4Iter<'_, V> {
        V4Iter {
            table: self,
            slot: 0,
            i: 0,
        }
    }

    /// Calls `f` for every prefix held that is `p` or a more-specific of it, in address order.
    /// Only the groups under `p` are read: one for a /16 or longer, with a binary search to
    /// the first key; 2^(16-len) slots for a shorter `p`.
    pub fn for_each_within(&self, p: &Ipv4Net, mut f: impl FnMut(Ipv4Net, &V)) {
        let first = (u32::from(p.network()) >> 16) as usize;
        let last = (u32::from(p.broadcast()) >> 16) as usize;
        let len = u32::from(p.prefix_len());
        // Within a group keys are (low 16 bits, length): those under `p` lie between its first
        // and last address's low bits (all of the group's when `p` is shorter than a /16).
        let (lo, hi) = if len >= 16 {
            (
                (u32::from(p.network()) & 0xffff) << 8,
                (u32::from(p.broadcast()) & 0xffff) << 8 | 0xff,
            )
        } else {
            (0, u32::MAX)
        };
        for slot in first..=last {
            let Some(g) = self.group(slot) else {
                continue;
            };
            let start = g.keys.partition_point(|k| *k < lo);
            let keys = g.keys.iter().skip(start).take_while(|k| **k <= hi);
            for (k, v) in keys.zip(g.values.iter().skip(start)) {
                if k & 0xff >= len {
                    f(v4_prefix(slot, *k), v);
                }
            }
        }
    }

    /// Bytes held (the slot array, the groups and their vectors' capacity).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        let per = std::mem::size_of::<u32>() + std::mem::size_of::<V>();
        self.slots.capacity() * std::mem::size_of::<u32>()
            + self.groups.capacity() * std::mem::size_of::<Group<u32, V>>()
            + self
                .groups
                .iter()
                .map(|g| g.keys.capacity() * per)
                .sum::<usize>()
    }
}

/// The routes of a [`V4Table`] in address order.
pub struct V4Iter<'a, V> {
    table: &'a V4Table<V>,
    slot: usize,
    i: usize,
}

impl<'a, V> Iterator for V4Iter<'a, V> {
    type Item = (Ipv4Net, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let g = *self.table.slots.get(self.slot)?;
            let entry = self
                .table
                .groups
                .get(g as usize)
                .and_then(|group| Some((group.keys.get(self.i)?, group.values.get(self.i)?)));
            match entry {
                Some((k, v)) => {
                    self.i += 1;
                    return Some((v4_prefix(self.slot, *k), v));
                }
                None => {
                    self.slot += 1;
                    self.i = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;
    use std::collections::BTreeMap;

    #[test]
    fn v4_table_behaves_as_an_ordered_map_over_a_seeded_sequence() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut t: V4Table<u32> = V4Table::default();
        let mut model: BTreeMap<Ipv4Net, u32> = BTreeMap::new();
        for step in 0..40_000u32 {
            let r = rng.next();
            // Few distinct /16s so groups fill, shift and empty; every length.
            let addr = 0x0a00_0000u32 | (r as u32 & 0x0007_ffff) << 5;
            let p = Ipv4Net::new(addr.into(), (r >> 40) as u8 % 33)
                .unwrap()
                .trunc();
            match r >> 60 {
                0..=8 => assert_eq!(t.insert(p, step), model.insert(p, step), "insert {p}"),
                9..=10 => {
                    let (old, seen) = t.replace_with(p, |held| (step, held.copied()));
                    assert_eq!(old, seen);
                    assert_eq!(old, model.insert(p, step), "replace_with {p}");
                }
                11 => {
                    if let Some(v) = t.get_mut(&p) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&p) {
                        *v += 1;
                    }
                }
                _ => assert_eq!(t.remove(&p), model.remove(&p), "remove {p}"),
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.get(&p), model.get(&p));
        }
        let all: Vec<(Ipv4Net, u32)> = t.iter().map(|(p, v)| (p, *v)).collect();
        let want: Vec<(Ipv4Net, u32)> = model.iter().map(|(p, v)| (*p, *v)).collect();
        assert_eq!(all, want, "address order, every entry");
        for p in want.iter().map(|(p, _)| *p).collect::<Vec<_>>() {
            assert_eq!(t.remove(&p), model.remove(&p));
        }
        assert!(t.is_empty());
        assert!(t.slots.is_empty(), "an emptied table gives its memory back");
    }

    #[test]
    fn within_finds_exactly_the_prefix_and_its_more_specifics_in_address_order() {
        let mut t: V4Table<u32> = V4Table::default();
        let all = [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.0.0.0/16",
            "10.0.0.0/24",
            "10.0.1.0/24",
            "10.0.1.128/25",
            "10.1.0.0/16",
            "10.1.255.0/24",
            "10.2.0.0/24",
            "11.0.0.0/24",
            "9.255.255.0/24",
        ];
        for (i, s) in all.iter().enumerate() {
            t.insert(s.parse().unwrap(), i as u32);
        }
        let within = |p: &str| {
            let mut v = Vec::new();
            t.for_each_within(&p.parse().unwrap(), |n, _| v.push(n.to_string()));
            v
        };
        assert_eq!(within("10.0.1.0/24"), ["10.0.1.0/24", "10.0.1.128/25"]);
        assert_eq!(
            within("10.0.0.0/23"),
            ["10.0.0.0/24", "10.0.1.0/24", "10.0.1.128/25"],
            "not the /16 that covers it"
        );
        assert_eq!(
            within("10.0.0.0/15"),
            [
                "10.0.0.0/16",
                "10.0.0.0/24",
                "10.0.1.0/24",
                "10.0.1.128/25",
                "10.1.0.0/16",
                "10.1.255.0/24"
            ]
        );
        assert_eq!(within("10.0.0.0/8").len(), 8);
        assert_eq!(within("0.0.0.0/0").len(), all.len());
        assert!(within("12.0.0.0/8").is_empty());
        assert!(V4Table::<u32>::default().is_empty());
        let empty: V4Table<u32> = V4Table::default();
        empty.for_each_within(&"0.0.0.0/0".parse().unwrap(), |_, _| panic!("empty"));
    }

    #[test]
    fn keys_round_trip_at_the_edges() {
        for s in [
            "0.0.0.0/0",
            "255.255.255.255/32",
            "10.0.0.0/8",
            "192.0.2.128/25",
        ] {
            let p: Ipv4Net = s.parse().unwrap();
            let (slot, k) = v4_key(&p);
            assert_eq!(v4_prefix(slot, k), p, "{s}");
        }
    }
}
