//! What changed between two RPKI snapshots: the prefixes whose VRPs differ and the customer
//! ASes whose ASPA differs. Routes outside that delta keep their verdict, so the RIB re-checks
//! only the routes the delta touches (DESIGN §4). Pure: compares two immutable snapshots (walking
//! their tries side by side, no copy of either), no I/O, no clock. Works whatever the data came from (files, RTR, SLURM), so every source gets
//! the same treatment.

use super::store::{RpkiData, Span, VrpEntry};
use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

/// Where verdicts may have changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpkiDelta {
    /// Prefixes whose set of (ASN, maxLength) differs: routes for them and their more-specifics
    /// may have a new ROV state. Sorted.
    pub vrp_prefixes: Vec<IpNet>,
    /// Customer ASes whose ASPA appeared, changed or went away: paths holding them may have a
    /// new ASPA state. Sorted.
    pub aspa_customers: Vec<Asn>,
    /// Every route is to be checked again (the data went from none to some or back: the
    /// states of every route change between "not evaluated" and a state).
    pub all: bool,
}

impl RpkiDelta {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.vrp_prefixes.is_empty() && self.aspa_customers.is_empty()
    }

    /// Computes the delta from `old` to `new`.
    pub fn between(old: &RpkiData, new: &RpkiData) -> RpkiDelta {
        // With no VRPs at all the ROV state is absent rather than NotFound (likewise ASPA):
        // crossing that line changes what every verdict carries.
        let all = old.has_vrps() != new.has_vrps() || old.has_aspas() != new.has_aspas();
        let mut vrp_prefixes: Vec<IpNet> = diff_trie(old, new, &old.v4, &new.v4)
            .into_iter()
            .map(IpNet::V4)
            .collect();
        vrp_prefixes.extend(
            diff_trie(old, new, &old.v6, &new.v6)
                .into_iter()
                .map(IpNet::V6),
        );
        vrp_prefixes.sort_unstable();
        let mut aspa_customers: Vec<Asn> = old
            .aspas
            .iter()
            .filter(|(c, p)| new.aspas.get(c) != Some(p))
            .map(|(c, _)| *c)
            .chain(
                new.aspas
                    .keys()
                    .filter(|c| !old.aspas.contains_key(c))
                    .copied(),
            )
            .collect();
        aspa_customers.sort_unstable();
        aspa_customers.dedup();
        RpkiDelta {
            vrp_prefixes,
            aspa_customers,
            all,
        }
    }
}

/// What ROV reads of one prefix's entries: (ASN, maxLength), not the trust anchor.
fn authorizations(entries: &[VrpEntry]) -> impl Iterator<Item = (Asn, u8)> + '_ {
    entries.iter().map(|e| (e.asn, e.max_len))
}

/// The prefixes of one family whose entries differ. Both tries iterate in the same order (by
/// address, then length), so one merge pass over the two iterations does it, without copying
/// either; if an iteration were ever out of order the lists are collected and sorted first.
fn diff_trie<P>(
    old_data: &RpkiData,
    new_data: &RpkiData,
    old: &PrefixMap<P, Span>,
    new: &PrefixMap<P, Span>,
) -> Vec<P>
where
    P: prefix_trie::Prefix + Ord + Copy,
{
    if let Ok(out) = merge_sorted(old_data, new_data, old.iter(), new.iter()) {
        return out;
    }
    let mut a: Vec<(P, &Span)> = old.iter().collect();
    let mut b: Vec<(P, &Span)> = new.iter().collect();
    a.sort_unstable_by_key(|(p, _)| *p);
    b.sort_unstable_by_key(|(p, _)| *p);
    merge_sorted(old_data, new_data, a.into_iter(), b.into_iter()).unwrap_or_default()
}

/// An iteration was not in ascending prefix order.
struct OutOfOrder;

/// One merge pass over two prefix-ordered lists; fails as soon as either is out of order.
fn merge_sorted<'a, P: Ord + Copy>(
    old_data: &RpkiData,
    new_data: &RpkiData,
    a: impl Iterator<Item = (P, &'a Span)>,
    b: impl Iterator<Item = (P, &'a Span)>,
) -> Result<Vec<P>, OutOfOrder> {
    let mut a = Ordered::new(a);
    let mut b = Ordered::new(b);
    let mut out = Vec::new();
    let (mut x, mut y) = (a.next()?, b.next()?);
    loop {
        match (x, y) {
            (Some((pa, sa)), Some((pb, sb))) => match pa.cmp(&pb) {
                std::cmp::Ordering::Less => {
                    out.push(pa);
                    x = a.next()?;
                }
                std::cmp::Ordering::Greater => {
                    out.push(pb);
                    y = b.next()?;
                }
                std::cmp::Ordering::Equal => {
                    if !authorizations(old_data.span(sa)).eq(authorizations(new_data.span(sb))) {
                        out.push(pa);
                    }
                    x = a.next()?;
                    y = b.next()?;
                }
            },
            (Some((pa, _)), None) => {
                out.push(pa);
                x = a.next()?;
            }
            (None, Some((pb, _))) => {
                out.push(pb);
                y = b.next()?;
            }
            (None, None) => return Ok(out),
        }
    }
}

/// An iteration checked to be in strictly ascending order.
struct Ordered<P, I> {
    iter: I,
    last: Option<P>,
}

impl<'a, P: Ord + Copy, I: Iterator<Item = (P, &'a Span)>> Ordered<P, I> {
    fn new(iter: I) -> Self {
        Ordered { iter, last: None }
    }

    /// The next item (`None` at the end).
    fn next(&mut self) -> Result<Option<(P, &'a Span)>, OutOfOrder> {
        let Some((p, s)) = self.iter.next() else {
            return Ok(None);
        };
        if self.last.is_some_and(|l| l >= p) {
            return Err(OutOfOrder);
        }
        self.last = Some(p);
        Ok(Some((p, s)))
    }
}

// The tries are keyed by these two types.
const _: () = {
    const fn keyed<P: prefix_trie::Prefix + Ord + Copy>() {}
    keyed::<Ipv4Net>();
    keyed::<Ipv6Net>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::{Aspa, Vrp};

    fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: prefix.parse().unwrap(),
            max_len,
            asn: Asn(asn),
            ta: None,
            expires: None,
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn identical_snapshots_have_no_delta() {
        let v = vec![
            vrp("192.0.2.0/24", 24, 64500),
            vrp("2001:db8::/32", 48, 64501),
        ];
        let a = Aspa::new(Asn(64500), [Asn(64501)], None);
        let d = RpkiDelta::between(
            &RpkiData::new(v.clone(), vec![a.clone()]),
            &RpkiData::new(v, vec![a]),
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn added_removed_and_changed_prefixes_are_listed_once_each() {
        let old = RpkiData::new(
            vec![
                vrp("10.0.0.0/8", 8, 1),
                vrp("192.0.2.0/24", 24, 64500),
                vrp("198.51.100.0/24", 24, 64500),
                vrp("2001:db8::/32", 48, 64501),
            ],
            vec![],
        );
        let new = RpkiData::new(
            vec![
                vrp("10.0.0.0/8", 8, 1),
                // maxLength changed
                vrp("192.0.2.0/24", 25, 64500),
                // 198.51.100.0/24 removed, 203.0.113.0/24 added
                vrp("203.0.113.0/24", 24, 64502),
                vrp("2001:db8::/32", 48, 64501),
                vrp("2001:db8::/32", 48, 64503),
            ],
            vec![],
        );
        let d = RpkiDelta::between(&old, &new);
        assert_eq!(
            d.vrp_prefixes,
            vec![
                net("192.0.2.0/24"),
                net("198.51.100.0/24"),
                net("203.0.113.0/24"),
                net("2001:db8::/32")
            ]
        );
        assert!(!d.all);
        assert!(d.aspa_customers.is_empty());
    }

    #[test]
    fn a_trust_anchor_rename_alone_is_no_change() {
        let mut a = vrp("192.0.2.0/24", 24, 64500);
        let mut b = a.clone();
        a.ta = Some("ripe".into());
        b.ta = Some("arin".into());
        let d = RpkiDelta::between(
            &RpkiData::new(vec![a], vec![]),
            &RpkiData::new(vec![b], vec![]),
        );
        assert!(d.is_empty());
    }

    #[test]
    fn aspa_customers_that_appear_change_or_go_are_listed() {
        let keep = vrp("192.0.2.0/24", 24, 64500);
        let old = RpkiData::new(
            vec![keep.clone()],
            vec![
                Aspa::new(Asn(1), [Asn(10)], None),
                Aspa::new(Asn(2), [Asn(20)], None),
                Aspa::new(Asn(3), [Asn(30)], None),
            ],
        );
        let new = RpkiData::new(
            vec![keep],
            vec![
                Aspa::new(Asn(1), [Asn(10)], None),
                Aspa::new(Asn(2), [Asn(20), Asn(21)], None),
                Aspa::new(Asn(4), [Asn(40)], None),
            ],
        );
        let d = RpkiDelta::between(&old, &new);
        assert_eq!(d.aspa_customers, vec![Asn(2), Asn(3), Asn(4)]);
        assert!(d.vrp_prefixes.is_empty() && !d.all);
    }

    #[test]
    fn data_appearing_or_vanishing_touches_everything() {
        let some = RpkiData::new(vec![vrp("192.0.2.0/24", 24, 64500)], vec![]);
        assert!(RpkiDelta::between(&RpkiData::empty(), &some).all);
        assert!(RpkiDelta::between(&some, &RpkiData::empty()).all);
    }

    #[test]
    fn a_large_random_change_is_found_exactly() {
        // 20k VRPs, 1 % removed and 1 % added: the delta is exactly those prefixes.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut base = Vec::new();
        for _ in 0..20_000 {
            let r = next();
            let addr = std::net::Ipv4Addr::from((r as u32) & 0xffff_ff00);
            base.push(Vrp {
                prefix: IpNet::V4(Ipv4Net::new(addr, 24).unwrap()),
                max_len: 24,
                asn: Asn((r >> 40) as u32 % 60000 + 1),
                ta: None,
                expires: None,
            });
        }
        base.sort_by_key(|v| v.prefix);
        base.dedup_by_key(|v| v.prefix);
        let removed: Vec<Vrp> = base.iter().step_by(100).cloned().collect();
        let mut new: Vec<Vrp> = base
            .iter()
            .filter(|v| !removed.contains(v))
            .cloned()
            .collect();
        let added: Vec<Vrp> = (0..200)
            .map(|i| vrp(&format!("100.{}.{}.0/24", 128 + i / 256, i % 256), 24, 7))
            .collect();
        new.extend(added.iter().cloned());
        let d = RpkiDelta::between(&RpkiData::new(base, vec![]), &RpkiData::new(new, vec![]));
        let mut want: Vec<IpNet> = removed.iter().chain(&added).map(|v| v.prefix).collect();
        want.sort_unstable();
        assert_eq!(d.vrp_prefixes, want);
    }
}
