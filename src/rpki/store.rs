//! The RPKI snapshot: VRPs in two prefix tries (IPv4, IPv6), ASPAs in a hash map keyed by
//! customer ASN. Built once from loader output, never mutated, shared behind an `Arc` and swapped
//! whole (DESIGN §4). Lookups allocate nothing.
//!
//! Memory layout, for ~1M VRPs: each trie value is 8 bytes, the prefix's VRP itself as an
//! 8-byte `(asn, max_len, ta)` entry when it has one VRP (nearly all have), else an index into
//! one flat array of such entries. No per-prefix heap allocation; trust anchor names are interned
//! (a `u16` index per entry). The tries are built in prefix order and then copied once, which
//! leaves out the slack their growth left behind (~1/3 of their size): ~30 bytes per VRP.

use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A Validated ROA Payload (RFC 6811 §2): `asn` may originate `prefix` and its more-specifics up
/// to `max_len`. AS0 (RFC 6483 §4) authorizes nobody.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vrp {
    /// The ROA prefix (no host bits set).
    pub prefix: IpNet,
    /// Longest prefix length the VRP authorizes (its prefix length when the ROA gave none).
    pub max_len: u8,
    /// The AS allowed to originate it.
    pub asn: Asn,
    /// Trust anchor name as the source reported it (`None` when it did not say).
    pub ta: Option<Arc<str>>,
    /// Unix time after which the VRP is no longer valid, when the source says.
    pub expires: Option<i64>,
}

/// A validated ASPA: the provider ASes `customer` attests (draft-ietf-sidrops-aspa-profile).
/// An AS0 entry means "no providers" and never matches a provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aspa {
    /// The customer AS (CAS) that signed it.
    pub customer: Asn,
    /// Sorted and deduplicated (see [`Aspa::new`]).
    pub providers: Vec<Asn>,
    /// Unix time after which the ASPA is no longer valid, when the source says.
    pub expires: Option<i64>,
}

impl Aspa {
    /// An ASPA with its provider list sorted and deduplicated.
    pub fn new(
        customer: Asn,
        providers: impl IntoIterator<Item = Asn>,
        expires: Option<i64>,
    ) -> Aspa {
        let mut providers: Vec<Asn> = providers.into_iter().collect();
        providers.sort_unstable();
        providers.dedup();
        Aspa {
            customer,
            providers,
            expires,
        }
    }
}

/// One VRP of a prefix, as stored: 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VrpEntry {
    pub(crate) asn: Asn,
    pub(crate) max_len: u8,
    /// Index into `RpkiData::tas`, or `NO_TA`.
    ta: u16,
    /// The last entry of its prefix in `RpkiData::more`.
    last: bool,
}

const NO_TA: u16 = u16::MAX;

/// The VRPs of one prefix, as its trie value: 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// The prefix's only VRP, as almost every prefix has (stored in the trie: no indirection).
    One(VrpEntry),
    /// The prefix's VRPs are `more[start..]`, up to the one marked last.
    Many(u32),
}

/// Hasher for ASN keys: a 64-bit finalizer (MurmurHash3 `fmix64`) instead of SipHash. ASNs are
/// not attacker-chosen keys here (they come from signed RPKI data), and ASPA verification does
/// two lookups per hop, so the lookup cost matters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AsnHasher(u64);

impl Hasher for AsnHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(v);
    }
}

pub(crate) type AsnMap<V> = HashMap<Asn, V, BuildHasherDefault<AsnHasher>>;

/// An immutable snapshot of VRPs and ASPAs. `Send + Sync`; build it once with [`RpkiData::new`]
/// and share it behind an `Arc`.
pub struct RpkiData {
    pub(crate) v4: PrefixMap<Ipv4Net, Span>,
    pub(crate) v6: PrefixMap<Ipv6Net, Span>,
    /// The entries of the prefixes with several VRPs ([`Span::Many`]).
    more: Box<[VrpEntry]>,
    v4_count: usize,
    v6_count: usize,
    tas: Box<[Arc<str>]>,
    /// VRPs per trust anchor (same index as `tas`), counted as they were added.
    ta_counts: Box<[usize]>,
    pub(crate) aspas: AsnMap<Box<[Asn]>>,
}

/// Builds a snapshot from VRPs given in order (prefix, max length, origin), IPv4 first.
pub(crate) struct Builder {
    v4: PrefixMap<Ipv4Net, Span>,
    v6: PrefixMap<Ipv6Net, Span>,
    v4_compacted: bool,
    more: Vec<VrpEntry>,
    v4_count: usize,
    v6_count: usize,
    tas: Vec<Arc<str>>,
    ta_counts: Vec<usize>,
    ta_index: HashMap<Arc<str>, u16>,
    /// The last trust anchor looked up (consecutive VRPs mostly share one).
    last_ta: Option<(Arc<str>, u16)>,
    /// The prefix being collected and its entries so far.
    prefix: Option<IpNet>,
    group: Vec<VrpEntry>,
    /// Prefixes put in the tries so far.
    prefixes: usize,
}

/// While building, the memory freed by the tries' growth is given back every this many prefixes.
const RELEASE_EVERY: usize = 1 << 16;

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
            v4_compacted: false,
            more: Vec::new(),
            v4_count: 0,
            v6_count: 0,
            tas: Vec::new(),
            ta_counts: Vec::new(),
            ta_index: HashMap::new(),
            last_ta: None,
            prefix: None,
            group: Vec::new(),
            prefixes: 0,
        }
    }

    /// Adds a VRP; `prefix` has no host bits. VRPs come in order: one equal to the previous one
    /// (the trust anchor aside) is left out, so the first one's trust anchor is kept.
    pub(crate) fn push(&mut self, prefix: IpNet, max_len: u8, asn: Asn, ta: Option<&Arc<str>>) {
        if self.prefix != Some(prefix) {
            self.flush();
            self.prefix = Some(prefix);
        } else if self
            .group
            .last()
            .is_some_and(|e| e.max_len == max_len && e.asn == asn)
        {
            return;
        }
        let ta = match ta {
            None => NO_TA,
            Some(name) => self.ta(name),
        };
        if let Some(c) = self.ta_counts.get_mut(usize::from(ta)) {
            *c += 1;
        }
        self.group.push(VrpEntry {
            asn,
            max_len,
            ta,
            last: true,
        });
    }

    fn ta(&mut self, name: &Arc<str>) -> u16 {
        if let Some((last, idx)) = &self.last_ta {
            if Arc::ptr_eq(last, name) || last == name {
                return *idx;
            }
        }
        let idx = match self.ta_index.get(name) {
            Some(idx) => *idx,
            None if self.tas.len() < usize::from(NO_TA) => {
                let idx = self.tas.len() as u16; // below NO_TA
                self.tas.push(name.clone());
                self.ta_counts.push(0);
                self.ta_index.insert(name.clone(), idx);
                idx
            }
            None => return NO_TA,
        };
        self.last_ta = Some((name.clone(), idx));
        idx
    }

    /// Puts the collected prefix in its trie.
    fn flush(&mut self) {
        let Some(prefix) = self.prefix.take() else {
            return;
        };
        let n = self.group.len();
        let span = match self.group.as_slice() {
            [] => return,
            [one] => Span::One(*one),
            many => {
                let Ok(start) = u32::try_from(self.more.len()) else {
                    self.group.clear();
                    return; // more than 4G VRPs: cannot happen before memory runs out
                };
                self.more
                    .extend(many.iter().map(|e| VrpEntry { last: false, ..*e }));
                if let Some(e) = self.more.last_mut() {
                    e.last = true;
                }
                Span::Many(start)
            }
        };
        self.group.clear();
        self.prefixes += 1;
        if self.prefixes.is_multiple_of(RELEASE_EVERY) {
            // A trie's arrays grow by doubling, and mimalloc keeps what each step freed until its
            // purge delay has passed: without this, building the IPv4 trie of ~1M VRPs peaks
            // ~20 MB higher.
            crate::release_free_memory();
        }
        match prefix {
            IpNet::V4(p) => {
                self.v4.insert(p, span);
                self.v4_count += n;
            }
            IpNet::V6(p) => {
                if !self.v4_compacted {
                    // The IPv4 trie is complete: copy it now, before the IPv6 one grows.
                    self.v4 = self.v4.clone();
                    self.v4_compacted = true;
                }
                self.v6.insert(p, span);
                self.v6_count += n;
            }
        }
    }

    /// The snapshot, with `aspas` (see [`RpkiData::new`]).
    pub(crate) fn finish(mut self, aspas: Vec<Aspa>) -> RpkiData {
        self.flush();
        // A trie's nodes and values move to larger slots as it grows and its arrays grow by
        // doubling; a copy allocates what is in use only.
        let v4 = if self.v4_compacted {
            self.v4
        } else {
            self.v4.clone()
        };
        let v6 = self.v6.clone();
        drop(self.v6);

        let mut merged: AsnMap<Vec<Asn>> = AsnMap::default();
        for a in aspas {
            merged.entry(a.customer).or_default().extend(a.providers);
        }
        let aspas = merged
            .into_iter()
            .map(|(customer, mut providers)| {
                providers.sort_unstable();
                providers.dedup();
                (customer, providers.into_boxed_slice())
            })
            .collect();

        RpkiData {
            v4,
            v6,
            more: self.more.into_boxed_slice(),
            v4_count: self.v4_count,
            v6_count: self.v6_count,
            tas: self.tas.into_boxed_slice(),
            ta_counts: self.ta_counts.into_boxed_slice(),
            aspas,
        }
    }
}

impl RpkiData {
    /// Builds a snapshot. VRPs are deduplicated on (prefix, max_len, asn), keeping the first
    /// one's trust anchor; host bits of a prefix are cleared. ASPAs of the same customer are
    /// merged into the union of their providers (the U-SPAS of draft-ietf-sidrops-aspa-verification
    /// §5.3; rpki-client's older output lists one ASPA per address family). `expires` is not kept:
    /// expired entries are dropped by the loader.
    pub fn new(mut vrps: Vec<Vrp>, aspas: Vec<Aspa>) -> RpkiData {
        for v in &mut vrps {
            v.prefix = v.prefix.trunc();
        }
        // Stable, so the first of several identical VRPs (and its TA) survives.
        vrps.sort_by_key(|v| (v.prefix, v.max_len, v.asn));
        let mut b = Builder::new();
        for v in &vrps {
            b.push(v.prefix, v.max_len, v.asn, v.ta.as_ref());
        }
        drop(vrps);
        b.finish(aspas)
    }

    /// A snapshot with no data: every route is NotFound, every path Unknown.
    pub fn empty() -> RpkiData {
        RpkiData::new(Vec::new(), Vec::new())
    }

    /// Number of distinct VRPs, (IPv4, IPv6).
    pub fn vrp_count(&self) -> (usize, usize) {
        (self.v4_count, self.v6_count)
    }

    /// Number of customer ASes with an ASPA.
    pub fn aspa_count(&self) -> usize {
        self.aspas.len()
    }

    /// Whether any VRP is loaded (ROV results mean something).
    pub fn has_vrps(&self) -> bool {
        self.v4_count + self.v6_count > 0
    }

    /// Whether any ASPA is loaded (ASPA results mean something).
    pub fn has_aspas(&self) -> bool {
        !self.aspas.is_empty()
    }

    /// Every distinct VRP, IPv4 first, in prefix order. `expires` is always `None` (the snapshot
    /// does not keep it).
    pub fn iter_vrps(&self) -> impl Iterator<Item = Vrp> + '_ {
        let v4 = self.v4.iter().map(|(p, span)| (IpNet::V4(p), span));
        let v6 = self.v6.iter().map(|(p, span)| (IpNet::V6(p), span));
        v4.chain(v6).flat_map(move |(prefix, span)| {
            self.span(span).iter().map(move |e| Vrp {
                prefix,
                max_len: e.max_len,
                asn: e.asn,
                ta: self.tas.get(usize::from(e.ta)).cloned(),
                expires: None,
            })
        })
    }

    /// Every ASPA after merging (one per customer, providers sorted), in no particular order.
    pub fn iter_aspas(&self) -> impl Iterator<Item = (Asn, &[Asn])> + '_ {
        self.aspas.iter().map(|(c, p)| (*c, &p[..]))
    }

    /// The attested providers of `customer` (sorted), or `None` if it has no ASPA.
    pub fn aspa_providers(&self, customer: Asn) -> Option<&[Asn]> {
        self.aspas.get(&customer).map(|p| &p[..])
    }

    /// Approximate heap bytes held by the snapshot (tries, VRP entries, ASPA table), for metrics.
    pub fn mem_size(&self) -> usize {
        let aspa_slots = self.aspas.capacity()
            * (std::mem::size_of::<Asn>() + std::mem::size_of::<Box<[Asn]>>() + 1);
        let providers: usize = self.aspas.values().map(|p| p.len() * 4).sum();
        self.v4.mem_size()
            + self.v6.mem_size()
            + self.more.len() * std::mem::size_of::<VrpEntry>()
            + aspa_slots
            + providers
    }

    /// The trust anchor names of the stored VRPs, for per-TA accounting (circuit breaker).
    pub fn trust_anchors(&self) -> &[Arc<str>] {
        &self.tas
    }

    /// How many VRPs each trust anchor has (VRPs whose source named none are not counted).
    pub fn vrps_per_trust_anchor(&self) -> Vec<(Arc<str>, usize)> {
        let counts = self.ta_counts.iter().copied();
        self.tas.iter().cloned().zip(counts).collect()
    }

    /// The entries of a prefix, from its trie value (empty if the index were ever out of range).
    pub(crate) fn span<'a>(&'a self, span: &'a Span) -> &'a [VrpEntry] {
        match span {
            Span::One(e) => std::slice::from_ref(e),
            Span::Many(start) => {
                let rest = self.more.get(*start as usize..).unwrap_or(&[]);
                let n = rest
                    .iter()
                    .position(|e| e.last)
                    .map_or(rest.len(), |i| i + 1);
                rest.get(..n).unwrap_or(&[])
            }
        }
    }
}

impl Default for RpkiData {
    fn default() -> Self {
        RpkiData::empty()
    }
}

impl fmt::Debug for RpkiData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpkiData")
            .field("vrps_v4", &self.v4_count)
            .field("vrps_v6", &self.v6_count)
            .field("aspas", &self.aspas.len())
            .finish()
    }
}

// Checked at compile time: the snapshot is shared across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RpkiData>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::RovState;

    fn vrp(prefix: &str, max_len: u8, asn: u32, ta: Option<&str>) -> Vrp {
        Vrp {
            prefix: prefix.parse().unwrap(),
            max_len,
            asn: Asn(asn),
            ta: ta.map(Arc::from),
            expires: None,
        }
    }

    #[test]
    fn entries_and_spans_are_compact() {
        assert_eq!(std::mem::size_of::<VrpEntry>(), 8);
        assert_eq!(std::mem::size_of::<Span>(), 8);
    }

    #[test]
    fn duplicate_vrps_are_counted_once_per_family() {
        let d = RpkiData::new(
            vec![
                vrp("192.0.2.0/24", 24, 64500, Some("ripe")),
                vrp("192.0.2.0/24", 24, 64500, Some("arin")),
                vrp("192.0.2.0/24", 25, 64500, None),
                vrp("192.0.2.0/24", 24, 64501, None),
                vrp("2001:db8::/32", 48, 64500, None),
            ],
            vec![],
        );
        assert_eq!(d.vrp_count(), (3, 1));
        assert!(d.has_vrps());
        assert!(!d.has_aspas());
        let all: Vec<Vrp> = d.iter_vrps().collect();
        assert_eq!(
            all,
            vec![
                vrp("192.0.2.0/24", 24, 64500, Some("ripe")),
                vrp("192.0.2.0/24", 24, 64501, None),
                vrp("192.0.2.0/24", 25, 64500, None),
                vrp("2001:db8::/32", 48, 64500, None),
            ]
        );
        assert_eq!(d.trust_anchors(), &[Arc::<str>::from("ripe")]);
    }

    #[test]
    fn host_bits_of_a_vrp_prefix_are_cleared() {
        let d = RpkiData::new(vec![vrp("192.0.2.77/24", 24, 64500, None)], vec![]);
        assert_eq!(
            d.iter_vrps().next().map(|v| v.prefix),
            Some("192.0.2.0/24".parse().unwrap())
        );
    }

    #[test]
    fn aspas_of_one_customer_are_merged_into_the_union() {
        let d = RpkiData::new(
            vec![],
            vec![
                Aspa::new(Asn(64500), [Asn(3), Asn(1)], None),
                Aspa::new(Asn(64500), [Asn(2), Asn(1)], Some(5)),
                Aspa::new(Asn(64501), [Asn(0)], None),
            ],
        );
        assert_eq!(d.aspa_count(), 2);
        assert_eq!(
            d.aspa_providers(Asn(64500)),
            Some(&[Asn(1), Asn(2), Asn(3)][..])
        );
        assert_eq!(d.aspa_providers(Asn(64501)), Some(&[Asn(0)][..]));
        assert_eq!(d.aspa_providers(Asn(64502)), None);
        let mut all: Vec<(Asn, Vec<Asn>)> = d.iter_aspas().map(|(c, p)| (c, p.to_vec())).collect();
        all.sort();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn aspa_new_sorts_and_dedups_providers() {
        let a = Aspa::new(Asn(1), [Asn(9), Asn(3), Asn(9)], None);
        assert_eq!(a.providers, vec![Asn(3), Asn(9)]);
    }

    #[test]
    fn empty_snapshot_has_nothing() {
        let d = RpkiData::empty();
        assert_eq!(d.vrp_count(), (0, 0));
        assert_eq!(d.aspa_count(), 0);
        assert!(!d.has_vrps() && !d.has_aspas());
        assert_eq!(d.iter_vrps().count(), 0);
    }

    #[test]
    fn a_prefix_with_several_vrps_keeps_them_all_between_single_ones() {
        use crate::types::PathOrigin;
        let d = RpkiData::new(
            vec![
                vrp("192.0.2.0/24", 24, 64500, Some("ripe")),
                vrp("192.0.2.0/23", 24, 1, Some("ripe")),
                vrp("192.0.2.0/24", 24, 64501, Some("arin")),
                vrp("192.0.2.0/24", 28, 64502, None),
                vrp("192.0.3.0/24", 24, 2, Some("arin")),
                vrp("2001:db8::/32", 48, 3, None),
                vrp("2001:db8::/32", 32, 4, Some("ripe")),
            ],
            vec![],
        );
        assert_eq!(d.vrp_count(), (5, 2));
        let origin = |a| PathOrigin::Asn(Asn(a));
        let p = |s: &str| -> IpNet { s.parse().unwrap() };
        for (prefix, asn, want) in [
            ("192.0.2.0/24", 64500, RovState::Valid),
            ("192.0.2.0/24", 64501, RovState::Valid),
            ("192.0.2.0/25", 64501, RovState::Invalid),
            ("192.0.2.0/28", 64502, RovState::Valid),
            ("192.0.2.0/24", 1, RovState::Valid),
            ("192.0.3.0/24", 2, RovState::Valid),
            ("192.0.3.0/24", 64500, RovState::Invalid),
            ("2001:db8::/48", 3, RovState::Valid),
            ("2001:db8::/48", 4, RovState::Invalid),
            ("2001:db8::/32", 4, RovState::Valid),
            ("198.51.100.0/24", 1, RovState::NotFound),
        ] {
            assert_eq!(d.rov(&p(prefix), origin(asn)), want, "{prefix} {asn}");
        }
        let all: Vec<(String, u8, u32)> = d
            .iter_vrps()
            .map(|v| (v.prefix.to_string(), v.max_len, v.asn.0))
            .collect();
        assert_eq!(all.len(), 7);
        assert_eq!(all[1], ("192.0.2.0/24".into(), 24, 64500));
        assert_eq!(all[3], ("192.0.2.0/24".into(), 28, 64502));
        assert_eq!(
            d.vrps_per_trust_anchor(),
            vec![(Arc::from("ripe"), 3), (Arc::from("arin"), 2)]
        );
    }
}
