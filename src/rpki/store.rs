//! The RPKI snapshot: VRPs in two prefix tries (IPv4, IPv6), ASPAs in a hash map keyed by
//! customer ASN. Built once from loader output, never mutated, shared behind an `Arc` and swapped
//! whole (DESIGN §4). Lookups allocate nothing.
//!
//! Memory layout, for ~1M VRPs: each trie value is an 8-byte span into one flat array of 8-byte
//! `(asn, max_len, ta)` entries, so the VRPs of one prefix cost 8 bytes each plus one trie entry,
//! with no per-prefix heap allocation. Trust anchor names are interned (a `u16` index per entry).

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
}

const NO_TA: u16 = u16::MAX;

/// The entries of one prefix: `entries[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
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
    pub(crate) entries: Box<[VrpEntry]>,
    v4_count: usize,
    v6_count: usize,
    tas: Box<[Arc<str>]>,
    pub(crate) aspas: AsnMap<Box<[Asn]>>,
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
        vrps.dedup_by(|b, a| (a.prefix, a.max_len, a.asn) == (b.prefix, b.max_len, b.asn));

        let mut ta_names: Vec<Arc<str>> = Vec::new();
        let mut ta_index: HashMap<Arc<str>, u16> = HashMap::new();
        let mut entries: Vec<VrpEntry> = Vec::with_capacity(vrps.len());
        let mut v4 = PrefixMap::new();
        let mut v6 = PrefixMap::new();
        let (mut v4_count, mut v6_count) = (0, 0);

        let mut i = 0;
        while let Some(first) = vrps.get(i) {
            let prefix = first.prefix;
            let Ok(start) = u32::try_from(entries.len()) else {
                break; // more than 4G VRPs: cannot happen before memory runs out
            };
            while let Some(v) = vrps.get(i).filter(|v| v.prefix == prefix) {
                let ta = match &v.ta {
                    None => NO_TA,
                    Some(name) => match ta_index.get(name) {
                        Some(idx) => *idx,
                        None if ta_names.len() < usize::from(NO_TA) => {
                            let idx = ta_names.len() as u16;
                            ta_names.push(name.clone());
                            ta_index.insert(name.clone(), idx);
                            idx
                        }
                        None => NO_TA,
                    },
                };
                entries.push(VrpEntry {
                    asn: v.asn,
                    max_len: v.max_len,
                    ta,
                });
                i += 1;
            }
            let len = (entries.len() - start as usize) as u32; // one prefix's VRPs
            let span = Span { start, len };
            match prefix {
                IpNet::V4(p) => {
                    v4.insert(p, span);
                    v4_count += len as usize;
                }
                IpNet::V6(p) => {
                    v6.insert(p, span);
                    v6_count += len as usize;
                }
            }
        }

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
            entries: entries.into_boxed_slice(),
            v4_count,
            v6_count,
            tas: ta_names.into_boxed_slice(),
            aspas,
        }
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
        !self.entries.is_empty()
    }

    /// Whether any ASPA is loaded (ASPA results mean something).
    pub fn has_aspas(&self) -> bool {
        !self.aspas.is_empty()
    }

    /// Every distinct VRP, IPv4 first, in prefix order. `expires` is always `None` (the snapshot
    /// does not keep it).
    pub fn iter_vrps(&self) -> impl Iterator<Item = Vrp> + '_ {
        let v4 = self.v4.iter().map(|(p, span)| (IpNet::V4(p), *span));
        let v6 = self.v6.iter().map(|(p, span)| (IpNet::V6(p), *span));
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
            + self.entries.len() * std::mem::size_of::<VrpEntry>()
            + aspa_slots
            + providers
    }

    /// The trust anchor names of the stored VRPs, for per-TA accounting (circuit breaker).
    pub fn trust_anchors(&self) -> &[Arc<str>] {
        &self.tas
    }

    /// How many VRPs each trust anchor has (VRPs whose source named none are not counted).
    pub fn vrps_per_trust_anchor(&self) -> Vec<(Arc<str>, usize)> {
        let mut counts = vec![0usize; self.tas.len()];
        for e in self.entries.iter() {
            if let Some(c) = counts.get_mut(usize::from(e.ta)) {
                *c += 1;
            }
        }
        self.tas.iter().cloned().zip(counts).collect()
    }

    /// The entries a trie value points at (empty if the span were ever out of range).
    pub(crate) fn span(&self, span: Span) -> &[VrpEntry] {
        let start = span.start as usize;
        self.entries
            .get(start..start + span.len as usize)
            .unwrap_or(&[])
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
}
