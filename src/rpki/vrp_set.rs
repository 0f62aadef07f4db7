//! A compact, sorted, immutable set of VRPs: the form a source's VRPs are kept in between
//! rebuilds (an RTR cache's data set, the VRPs of the files). 12 bytes per IPv4 VRP and 24 per
//! IPv6 VRP, where a hash set of [`RtrVrp`] costs ~35 and a `Vec<Vrp>` 64, and sorted the way
//! the snapshot is built (prefix, max length, origin), so a rebuild merges the sources in one
//! pass without a temporary copy. The RTR client's set is shared behind an `Arc` with its events
//! and the feed: one copy for the session's checks (RFC 8210 §5.6) and the feed's rebuilds.
//!
//! Changes make a new set ([`VrpSet::apply`]); nothing here mutates one in place.

use super::rtr::RtrVrp;
use super::Vrp;
use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// "No trust anchor" (an RTR VRP, or a file entry that named none).
const NO_TA: u16 = u16::MAX;

/// An IPv4 VRP as stored: 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct V4 {
    addr: u32,
    len: u8,
    max_len: u8,
    asn: u32,
    ta: u16,
}

/// An IPv6 VRP as stored: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct V6 {
    addr: [u8; 16],
    len: u8,
    max_len: u8,
    asn: u32,
    ta: u16,
}

/// One family's stored VRPs: their key orders them as [`RtrVrp`]'s `Ord` does.
trait Entry: Copy {
    type Key: Ord + Copy;
    fn key(&self) -> Self::Key;
    fn ta(&self) -> u16;
    fn vrp(&self) -> RtrVrp;
}

impl Entry for V4 {
    type Key = (u32, u8, u8, u32);
    fn key(&self) -> Self::Key {
        (self.addr, self.len, self.max_len, self.asn)
    }
    fn ta(&self) -> u16 {
        self.ta
    }
    fn vrp(&self) -> RtrVrp {
        let prefix = Ipv4Net::new(Ipv4Addr::from(self.addr), self.len)
            .map_or_else(|_| IpNet::V4(Ipv4Net::default()), IpNet::V4);
        RtrVrp {
            prefix,
            max_len: self.max_len,
            asn: Asn(self.asn),
        }
    }
}

impl Entry for V6 {
    type Key = ([u8; 16], u8, u8, u32);
    fn key(&self) -> Self::Key {
        (self.addr, self.len, self.max_len, self.asn)
    }
    fn ta(&self) -> u16 {
        self.ta
    }
    fn vrp(&self) -> RtrVrp {
        let prefix = Ipv6Net::new(Ipv6Addr::from(self.addr), self.len)
            .map_or_else(|_| IpNet::V6(Ipv6Net::default()), IpNet::V6);
        RtrVrp {
            prefix,
            max_len: self.max_len,
            asn: Asn(self.asn),
        }
    }
}

/// The stored form of `v` (its prefix with host bits cleared).
enum Split {
    V4(V4),
    V6(V6),
}

fn split(v: &RtrVrp, ta: u16) -> Split {
    match v.prefix.trunc() {
        IpNet::V4(p) => Split::V4(V4 {
            addr: u32::from(p.addr()),
            len: p.prefix_len(),
            max_len: v.max_len,
            asn: v.asn.0,
            ta,
        }),
        IpNet::V6(p) => Split::V6(V6 {
            addr: p.addr().octets(),
            len: p.prefix_len(),
            max_len: v.max_len,
            asn: v.asn.0,
            ta,
        }),
    }
}

/// VRPs sorted by (prefix, max length, origin), each once, with the trust anchor of the entry
/// kept (the first one given, for a VRP given several times).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VrpSet {
    v4: Box<[V4]>,
    v6: Box<[V6]>,
    /// Trust anchor names the entries index.
    tas: Box<[Arc<str>]>,
}

impl VrpSet {
    /// The set of `keys`, which need not be sorted; duplicates are kept once. The RTR client's
    /// set after a Cache Response to a Reset Query.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a RtrVrp> + Clone) -> VrpSet {
        // Counted first, so that each list is allocated once, at its size.
        let (mut n4, mut n6) = (0, 0);
        for k in keys.clone() {
            match k.prefix {
                IpNet::V4(_) => n4 += 1,
                IpNet::V6(_) => n6 += 1,
            }
        }
        let mut v4 = Vec::with_capacity(n4);
        let mut v6 = Vec::with_capacity(n6);
        for k in keys {
            match split(k, NO_TA) {
                Split::V4(e) => v4.push(e),
                Split::V6(e) => v6.push(e),
            }
        }
        v4.sort_unstable_by_key(Entry::key);
        v4.dedup_by_key(|e| e.key());
        v6.sort_unstable_by_key(Entry::key);
        v6.dedup_by_key(|e| e.key());
        VrpSet {
            v4: v4.into_boxed_slice(),
            v6: v6.into_boxed_slice(),
            tas: Box::default(),
        }
    }

    /// The set of a file's VRPs (host bits cleared, `expires` dropped: the loader has already
    /// left out what has expired). Of several entries for one VRP the first one's trust anchor
    /// is kept; trust anchors past the 65,535th distinct name count as none.
    pub fn from_vrps(vrps: Vec<Vrp>) -> VrpSet {
        let mut tas: Vec<Arc<str>> = Vec::new();
        let mut index: HashMap<Arc<str>, u16> = HashMap::new();
        let n4 = vrps.iter().filter(|v| v.prefix.addr().is_ipv4()).count();
        let mut v4 = Vec::with_capacity(n4);
        let mut v6 = Vec::with_capacity(vrps.len() - n4);
        for v in vrps {
            let ta = match v.ta {
                None => NO_TA,
                Some(name) => match index.get(&name) {
                    Some(i) => *i,
                    None if tas.len() < usize::from(NO_TA) => {
                        let i = tas.len() as u16; // below NO_TA
                        tas.push(name.clone());
                        index.insert(name, i);
                        i
                    }
                    None => NO_TA,
                },
            };
            let key = RtrVrp {
                prefix: v.prefix,
                max_len: v.max_len,
                asn: v.asn,
            };
            match split(&key, ta) {
                Split::V4(e) => v4.push(e),
                Split::V6(e) => v6.push(e),
            }
        }
        // Stable, so the first of several entries for one VRP (and its TA) survives.
        v4.sort_by_key(Entry::key);
        v4.dedup_by_key(|e| e.key());
        v6.sort_by_key(Entry::key);
        v6.dedup_by_key(|e| e.key());
        VrpSet {
            v4: v4.into_boxed_slice(),
            v6: v6.into_boxed_slice(),
            tas: tas.into_boxed_slice(),
        }
    }

    /// Number of VRPs.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the set holds no VRP.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether the set holds `v` (its prefix with host bits cleared).
    pub fn contains(&self, v: &RtrVrp) -> bool {
        match split(v, NO_TA) {
            Split::V4(e) => self.v4.binary_search_by_key(&e.key(), Entry::key).is_ok(),
            Split::V6(e) => self.v6.binary_search_by_key(&e.key(), Entry::key).is_ok(),
        }
    }

    /// Every VRP, in order (IPv4 first).
    pub fn iter(&self) -> impl Iterator<Item = RtrVrp> + '_ {
        let v4 = self.v4.iter().map(Entry::vrp);
        v4.chain(self.v6.iter().map(Entry::vrp))
    }

    /// Every VRP in order, with its trust anchor.
    pub(crate) fn iter_with_ta(&self) -> impl Iterator<Item = (RtrVrp, Option<&Arc<str>>)> + '_ {
        let ta = move |i: u16| self.tas.get(usize::from(i));
        let v4 = self.v4.iter().map(move |e| (e.vrp(), ta(e.ta())));
        v4.chain(self.v6.iter().map(move |e| (e.vrp(), ta(e.ta()))))
    }

    /// This set without `withdrawn`, then with `announced` (in any order); a withdrawal of a
    /// VRP the set lacks and an announcement of one it holds change nothing. Announced VRPs
    /// have no trust anchor.
    pub fn apply(&self, withdrawn: &[RtrVrp], announced: &[RtrVrp]) -> VrpSet {
        let (mut w4, mut w6, mut a4, mut a6) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for v in withdrawn {
            match split(v, NO_TA) {
                Split::V4(e) => w4.push(e),
                Split::V6(e) => w6.push(e),
            }
        }
        for v in announced {
            match split(v, NO_TA) {
                Split::V4(e) => a4.push(e),
                Split::V6(e) => a6.push(e),
            }
        }
        VrpSet {
            v4: merge(&self.v4, w4, a4),
            v6: merge(&self.v6, w6, a6),
            tas: self.tas.clone(),
        }
    }

    /// Heap bytes held.
    pub fn mem_size(&self) -> usize {
        std::mem::size_of_val(&*self.v4)
            + std::mem::size_of_val(&*self.v6)
            + self.tas.iter().map(|t| t.len() + 16).sum::<usize>()
    }
}

/// `old` without `withdrawn`, with `announced`, in order. The two lists are sorted here (they
/// are short), so their order as given does not matter.
fn merge<E: Entry>(old: &[E], mut withdrawn: Vec<E>, mut announced: Vec<E>) -> Box<[E]> {
    withdrawn.sort_unstable_by_key(Entry::key);
    announced.sort_unstable_by_key(Entry::key);
    announced.dedup_by_key(|e| e.key());
    let mut out = Vec::with_capacity(old.len() + announced.len());
    let mut w = withdrawn.iter().peekable();
    let mut a = announced.iter().peekable();
    for e in old {
        let k = e.key();
        while let Some(n) = a.next_if(|n| n.key() < k) {
            out.push(*n);
        }
        // Announced again: kept (also when withdrawn too: the withdrawal comes first).
        let announced = a.next_if(|n| n.key() == k).is_some();
        while w.next_if(|n| n.key() < k).is_some() {}
        let withdrawn = w.next_if(|n| n.key() == k).is_some();
        if announced || !withdrawn {
            out.push(*e);
        }
    }
    out.extend(a.copied());
    out.into_boxed_slice()
}

impl fmt::Debug for VrpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VrpSet")
            .field("v4", &self.v4.len())
            .field("v6", &self.v6.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(prefix: &str, max_len: u8, asn: u32) -> RtrVrp {
        RtrVrp {
            prefix: prefix.parse().unwrap(),
            max_len,
            asn: Asn(asn),
        }
    }

    #[test]
    fn entries_are_compact() {
        assert_eq!(std::mem::size_of::<V4>(), 12);
        assert_eq!(std::mem::size_of::<V6>(), 24);
    }

    #[test]
    fn keys_come_back_sorted_once_each_with_host_bits_cleared() {
        let keys = [
            k("2001:db8::/32", 48, 1),
            k("192.0.2.0/24", 24, 2),
            k("192.0.2.77/24", 24, 2),
            k("10.0.0.0/8", 8, 3),
            k("192.0.2.0/24", 24, 1),
        ];
        let s = VrpSet::from_keys(&keys);
        let mut want: Vec<RtrVrp> = keys
            .iter()
            .map(|v| RtrVrp {
                prefix: v.prefix.trunc(),
                ..*v
            })
            .collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(s.iter().collect::<Vec<_>>(), want);
        assert_eq!(s.len(), 4);
        assert!(s.contains(&k("192.0.2.0/24", 24, 1)));
        assert!(s.contains(&k("192.0.2.9/24", 24, 1)));
        assert!(!s.contains(&k("192.0.2.0/24", 25, 1)));
        assert!(s.contains(&k("2001:db8::/32", 48, 1)));
        assert!(!s.contains(&k("2001:db8::/32", 48, 2)));
    }

    #[test]
    fn file_vrps_keep_the_first_trust_anchor() {
        let v = |p: &str, ta: Option<&str>| Vrp {
            prefix: p.parse().unwrap(),
            max_len: 24,
            asn: Asn(1),
            ta: ta.map(Arc::from),
            expires: Some(5),
        };
        let s = VrpSet::from_vrps(vec![
            v("198.51.100.0/24", Some("arin")),
            v("192.0.2.0/24", Some("ripe")),
            v("192.0.2.0/24", Some("arin")),
            v("203.0.113.0/24", None),
        ]);
        let got: Vec<(String, Option<String>)> = s
            .iter_with_ta()
            .map(|(k, ta)| (k.prefix.to_string(), ta.map(|t| t.to_string())))
            .collect();
        assert_eq!(
            got,
            vec![
                ("192.0.2.0/24".into(), Some("ripe".into())),
                ("198.51.100.0/24".into(), Some("arin".into())),
                ("203.0.113.0/24".into(), None),
            ]
        );
    }

    #[test]
    fn apply_withdraws_and_announces_like_a_set() {
        let s = VrpSet::from_keys(&[
            k("10.0.0.0/8", 8, 1),
            k("192.0.2.0/24", 24, 1),
            k("2001:db8::/32", 32, 1),
        ]);
        let t = s.apply(
            &[
                k("192.0.2.0/24", 24, 1),
                k("198.51.100.0/24", 24, 9), // unknown: nothing
                k("2001:db8::/32", 32, 1),   // withdrawn, then announced again
            ],
            &[
                k("10.0.0.0/8", 8, 1), // held already: nothing
                k("11.0.0.0/8", 8, 1),
                k("2001:db8::/32", 48, 1),
                k("1.0.0.0/8", 8, 1),
                k("2001:db8::/32", 32, 1),
            ],
        );
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![
                k("1.0.0.0/8", 8, 1),
                k("10.0.0.0/8", 8, 1),
                k("11.0.0.0/8", 8, 1),
                k("2001:db8::/32", 32, 1),
                k("2001:db8::/32", 48, 1),
            ]
        );
        assert_eq!(s.len(), 3, "the old set is unchanged");
    }

    #[test]
    fn a_random_delta_equals_the_hash_set_result() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let rand_key = |next: &mut dyn FnMut() -> u64| {
            let r = next();
            if r.is_multiple_of(5) {
                let a = Ipv6Addr::from(u128::from(r as u32) << 96);
                RtrVrp {
                    prefix: IpNet::V6(Ipv6Net::new(a, 32 + (r >> 40) as u8 % 17).unwrap().trunc()),
                    max_len: 48,
                    asn: Asn((r >> 50) as u32 % 7),
                }
            } else {
                let a = Ipv4Addr::from((r >> 8) as u32 & 0x0fff_ff00);
                RtrVrp {
                    prefix: IpNet::V4(Ipv4Net::new(a, 16 + (r >> 40) as u8 % 9).unwrap().trunc()),
                    max_len: 24,
                    asn: Asn((r >> 50) as u32 % 7),
                }
            }
        };
        let base: Vec<RtrVrp> = (0..5000).map(|_| rand_key(&mut next)).collect();
        let mut set: std::collections::BTreeSet<RtrVrp> = base.iter().copied().collect();
        let s = VrpSet::from_keys(&base);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            set.iter().copied().collect::<Vec<_>>()
        );
        let mut withdrawn: Vec<RtrVrp> = base.iter().step_by(7).copied().collect();
        withdrawn.extend((0..50).map(|_| rand_key(&mut next)));
        let announced: Vec<RtrVrp> = (0..300).map(|_| rand_key(&mut next)).collect();
        for w in &withdrawn {
            set.remove(w);
        }
        set.extend(announced.iter().copied());
        let t = s.apply(&withdrawn, &announced);
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            set.iter().copied().collect::<Vec<_>>()
        );
        for v in base.iter().chain(&announced).chain(&withdrawn) {
            assert_eq!(t.contains(v), set.contains(v));
        }
    }
}
