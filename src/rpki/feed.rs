//! The RPKI data in force, made from all its sources: VRP/ASPA files, the RTR cache in use,
//! and SLURM exceptions over both (RFC 8416). Each change builds a new immutable snapshot and
//! the delta from the one in force; the circuit breaker holds a snapshot that would remove too
//! many VRPs, or every VRP of a trust anchor, until an operator accepts it or
//! `max_shrink_hold` passes (DESIGN §4). Sans-IO: the caller loads files, runs the RTR client,
//! keeps the clock and delivers the results; nothing here blocks or reads a file.
//!
//! Memory: each source's VRPs are kept once, as a compact sorted [`VrpSet`] — the RTR cache's is
//! the client's own, shared through its deltas — and there is no merged set: a rebuild merges
//! the sources in order straight into the snapshot's tries, SLURM applied on the way.

use super::rtr::{RtrDelta, RtrVrp};
use super::store::Builder;
use super::{Aspa, RpkiData, RpkiDelta, Slurm, Vrp, VrpSet};
use crate::types::Asn;
use rustc_hash::FxHashMap;
use std::iter::Peekable;
use std::sync::Arc;

/// The feed's settings (`[rpki]`).
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Hold an update that removes more than this share of the VRPs (0–100).
    pub max_shrink_percent: u8,
    /// Apply a held update anyway after this many seconds.
    pub max_shrink_hold_secs: u64,
    /// When RTR data expires: drop it (true) or keep using it (false).
    pub fail_open: bool,
}

/// What the files said (VRP files may carry ASPAs too).
#[derive(Debug, Clone, Default)]
pub struct FileData {
    pub vrps: Vec<Vrp>,
    pub aspas: Vec<Aspa>,
    pub slurm: Slurm,
}

/// A change from an RTR cache, as of one End of Data.
#[derive(Debug, Clone, Default)]
pub struct RtrChange {
    /// The announcements are the whole data set (a Cache Reset, a new cache).
    pub reset: bool,
    pub vrps_announced: Vec<RtrVrp>,
    pub vrps_withdrawn: Vec<RtrVrp>,
    /// The cache's whole VRP set after the change, when the sender keeps one (the RTR client
    /// does, [`RtrDelta::vrps`]): the feed shares it, and the two lists are not read.
    pub vrps: Option<Arc<VrpSet>>,
    /// ASPAs announced or replaced, one per customer.
    pub aspas: Vec<Aspa>,
    pub aspas_withdrawn: Vec<Asn>,
}

impl From<RtrDelta> for RtrChange {
    /// The change an RTR End of Data makes: the client's VRP set, shared, stands for its VRP
    /// lists (which are left out).
    fn from(d: RtrDelta) -> RtrChange {
        RtrChange {
            reset: d.reset,
            vrps_announced: Vec::new(),
            vrps_withdrawn: Vec::new(),
            vrps: Some(d.vrps),
            aspas: d.aspas,
            aspas_withdrawn: d.aspas_withdrawn,
        }
    }
}

/// New data to put in force.
#[derive(Debug, Clone)]
pub struct Update {
    pub data: Arc<RpkiData>,
    pub delta: RpkiDelta,
    pub generation: u64,
}

/// A snapshot the circuit breaker keeps from going in force.
#[derive(Debug, Clone)]
pub struct Held {
    pub data: Arc<RpkiData>,
    /// When the first of the held updates came (the caller's clock, seconds).
    pub since: u64,
    pub why: String,
}

/// What a rebuild decided.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Nothing a verdict reads has changed.
    Unchanged,
    Apply(Update),
    /// The circuit breaker holds the new data; the old stays in force.
    Held {
        why: String,
    },
}

/// The RTR cache's data as the client has told it.
#[derive(Debug, Default)]
struct RtrSet {
    vrps: Arc<VrpSet>,
    aspas: FxHashMap<Asn, Vec<Asn>>,
    expired: bool,
}

/// What the files said, as the feed keeps it.
#[derive(Debug, Default)]
struct Files {
    vrps: VrpSet,
    aspas: Vec<Aspa>,
    slurm: Slurm,
}

/// Every source, the data in force and the circuit breaker's state.
#[derive(Debug)]
pub struct RpkiFeed {
    cfg: FeedConfig,
    files: Files,
    rtr: RtrSet,
    current: Arc<RpkiData>,
    generation: u64,
    held: Option<Held>,
    /// The next rebuild is an operator's or the configuration's choice (expiry with
    /// `fail_open`): the circuit breaker lets it through.
    deliberate: bool,
}

impl RpkiFeed {
    pub fn new(cfg: FeedConfig) -> RpkiFeed {
        RpkiFeed {
            cfg,
            files: Files::default(),
            rtr: RtrSet::default(),
            current: Arc::new(RpkiData::empty()),
            generation: 0,
            held: None,
            deliberate: false,
        }
    }

    /// New settings (a configuration reload); they apply from the next rebuild.
    pub fn set_config(&mut self, cfg: FeedConfig) {
        self.cfg = cfg;
    }

    /// The data in force and its generation.
    pub fn current(&self) -> (&Arc<RpkiData>, u64) {
        (&self.current, self.generation)
    }

    /// What the circuit breaker holds, if anything.
    pub fn held(&self) -> Option<&Held> {
        self.held.as_ref()
    }

    /// Replaces the file data (a reload); takes effect at the next rebuild.
    pub fn set_files(&mut self, files: FileData) {
        self.files = Files {
            vrps: VrpSet::from_vrps(files.vrps),
            aspas: files.aspas,
            slurm: files.slurm,
        };
    }

    /// Applies one RTR End of Data; takes effect at the next rebuild. Withdrawals of records
    /// the set does not hold are ignored (the client has already checked RFC 8210 §5.6).
    pub fn apply_rtr(&mut self, change: RtrChange) {
        if change.reset {
            self.rtr.aspas.clear();
        }
        match change.vrps {
            Some(set) => self.rtr.vrps = set,
            None if change.reset => {
                self.rtr.vrps = Arc::new(VrpSet::from_keys(&change.vrps_announced));
            }
            None if change.vrps_withdrawn.is_empty() && change.vrps_announced.is_empty() => {}
            None => {
                let set = self
                    .rtr
                    .vrps
                    .apply(&change.vrps_withdrawn, &change.vrps_announced);
                self.rtr.vrps = Arc::new(set);
            }
        }
        for c in &change.aspas_withdrawn {
            self.rtr.aspas.remove(c);
        }
        for a in change.aspas {
            self.rtr.aspas.insert(a.customer, a.providers);
        }
        self.rtr.expired = false;
    }

    /// No cache has delivered data for the expire interval: with `fail_open` its data is
    /// dropped at the next rebuild (the circuit breaker does not stop that), else kept.
    pub fn rtr_expired(&mut self) {
        if !self.rtr.expired && self.cfg.fail_open {
            self.deliberate = true;
        }
        self.rtr.expired = true;
    }

    /// Whether the RTR data is in use (not expired, or kept by `fail_open = false`).
    fn rtr_in_use(&self) -> bool {
        !self.rtr.expired || !self.cfg.fail_open
    }

    /// The snapshot every source makes now: the files' VRPs, the RTR cache's (while in use) and
    /// the SLURM assertions merged in order into the snapshot's tries, SLURM filters applied to
    /// the first two. Of a VRP several sources give, the trust anchor a file names is kept.
    pub fn build(&self) -> RpkiData {
        let slurm = &self.files.slurm;
        let kept = |(k, _): &(RtrVrp, Option<&Arc<str>>)| {
            !slurm
                .prefix_filters
                .iter()
                .any(|f| f.matches_parts(&k.prefix, k.asn))
        };
        let files = self.files.vrps.iter_with_ta();
        let rtr = self
            .rtr_in_use()
            .then(|| self.rtr.vrps.iter())
            .into_iter()
            .flatten()
            .map(|k| (k, None));
        let mut asserted: Vec<RtrVrp> = slurm
            .prefix_assertions
            .iter()
            .map(|v| RtrVrp {
                prefix: v.prefix.trunc(),
                max_len: v.max_len,
                asn: v.asn,
            })
            .collect();
        asserted.sort_unstable();
        let asserted = asserted.into_iter().map(|k| (k, None));
        let mut b = Builder::new();
        for (k, ta) in Merge::new(Merge::new(files, rtr).filter(kept), asserted) {
            b.push(k.prefix, k.max_len, k.asn, ta);
        }

        let mut aspas = self.files.aspas.clone();
        if self.rtr_in_use() {
            aspas.extend(
                self.rtr
                    .aspas
                    .iter()
                    .map(|(c, p)| Aspa::new(*c, p.iter().copied(), None)),
            );
        }
        if !slurm.aspa_filters.is_empty() {
            aspas.retain(|a| !slurm.aspa_filters.contains(&a.customer));
        }
        aspas.extend(slurm.aspa_assertions.iter().cloned());
        b.finish(aspas)
    }

    /// Builds the snapshot from every source and decides whether it goes in force.
    pub fn rebuild(&mut self, now: u64) -> Outcome {
        let new = Arc::new(self.build());
        let deliberate = std::mem::take(&mut self.deliberate);
        if !deliberate {
            if let Some(why) = self.breaker(&new) {
                let since = self.held.as_ref().map_or(now, |h| h.since);
                tracing::error!(
                    held_since = since,
                    "RPKI circuit breaker: update held, the data in force stays: {why}"
                );
                self.held = Some(Held {
                    data: new,
                    since,
                    why: why.clone(),
                });
                return Outcome::Held { why };
            }
        }
        if self.held.take().is_some() {
            tracing::info!("RPKI circuit breaker: the held update was replaced by one that passes");
        }
        self.install(new)
    }

    /// The operator accepts what the circuit breaker holds.
    pub fn accept_held(&mut self) -> Option<Update> {
        let held = self.held.take()?;
        tracing::warn!(why = %held.why, "RPKI circuit breaker: held update accepted");
        match self.install(held.data) {
            Outcome::Apply(u) => Some(u),
            _ => None,
        }
    }

    /// Applies a held update once `max_shrink_hold` has passed since it was first held.
    pub fn tick(&mut self, now: u64) -> Option<Update> {
        let due = self
            .held
            .as_ref()
            .is_some_and(|h| now.saturating_sub(h.since) >= self.cfg.max_shrink_hold_secs);
        if !due {
            return None;
        }
        tracing::warn!("RPKI circuit breaker: hold time over, applying the held update");
        self.accept_held()
    }

    fn install(&mut self, new: Arc<RpkiData>) -> Outcome {
        let delta = RpkiDelta::between(&self.current, &new);
        if delta.is_empty() {
            // The snapshot in force (which the RIB and the policy hold too) stays rather than a
            // second copy of it, unless what the circuit breaker counts differs (trust anchors).
            if self.current.vrps_per_trust_anchor() != new.vrps_per_trust_anchor() {
                self.current = new;
            }
            return Outcome::Unchanged;
        }
        self.current = new;
        self.generation += 1;
        Outcome::Apply(Update {
            data: self.current.clone(),
            delta,
            generation: self.generation,
        })
    }

    /// Why `new` must not replace the data in force, if it must not.
    fn breaker(&self, new: &RpkiData) -> Option<String> {
        let count = |d: &RpkiData| {
            let (v4, v6) = d.vrp_count();
            v4 + v6
        };
        let (old_n, new_n) = (count(&self.current), count(new));
        let keep = 100 - u64::from(self.cfg.max_shrink_percent.min(100));
        if old_n > 0 && (new_n as u64) * 100 < (old_n as u64) * keep {
            let removed = (old_n - new_n) * 100 / old_n;
            return Some(format!(
                "the update would remove {removed}% of the VRPs ({old_n} -> {new_n}); \
                 max_shrink_percent is {}",
                self.cfg.max_shrink_percent
            ));
        }
        let after: FxHashMap<Arc<str>, usize> = new.vrps_per_trust_anchor().into_iter().collect();
        for (ta, n) in self.current.vrps_per_trust_anchor() {
            if n > 0 && after.get(&ta).copied().unwrap_or(0) == 0 {
                return Some(format!(
                    "every VRP of trust anchor {ta} would go ({n} VRPs)"
                ));
            }
        }
        None
    }
}

/// Two VRP lists in order merged into one in order; of equal VRPs the first list's comes first
/// (the snapshot keeps the first of equal VRPs, so a file's trust anchor wins).
struct Merge<A: Iterator, B: Iterator> {
    a: Peekable<A>,
    b: Peekable<B>,
}

type Item<'a> = (RtrVrp, Option<&'a Arc<str>>);

impl<A: Iterator, B: Iterator> Merge<A, B> {
    fn new(a: A, b: B) -> Self {
        Merge {
            a: a.peekable(),
            b: b.peekable(),
        }
    }
}

impl<'a, A, B> Iterator for Merge<A, B>
where
    A: Iterator<Item = Item<'a>>,
    B: Iterator<Item = Item<'a>>,
{
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        match (self.a.peek(), self.b.peek()) {
            (Some((x, _)), Some((y, _))) if y < x => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> FeedConfig {
        FeedConfig {
            max_shrink_percent: 50,
            max_shrink_hold_secs: 600,
            fail_open: true,
        }
    }

    fn vrp(i: u32, ta: Option<&str>) -> Vrp {
        Vrp {
            prefix: ipnet::IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0b00_0000 + (i << 8)), 24).unwrap(),
            ),
            max_len: 24,
            asn: Asn(64500),
            ta: ta.map(Arc::from),
            expires: None,
        }
    }

    fn key(v: Vrp) -> RtrVrp {
        RtrVrp {
            prefix: v.prefix,
            max_len: v.max_len,
            asn: v.asn,
        }
    }

    fn rtr(vrps: Vec<Vrp>) -> RtrChange {
        RtrChange {
            reset: true,
            vrps_announced: vrps.into_iter().map(key).collect(),
            ..RtrChange::default()
        }
    }

    fn applied(o: Outcome) -> Update {
        match o {
            Outcome::Apply(u) => u,
            other => panic!("expected Apply, got {other:?}"),
        }
    }

    #[test]
    fn rtr_deltas_add_and_remove_vrps_and_name_the_changed_prefixes() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..10).map(|i| vrp(i, None)).collect()));
        let u = applied(f.rebuild(0));
        assert_eq!(u.generation, 1);
        assert_eq!(u.data.vrp_count(), (10, 0));
        assert!(u.delta.all, "the first data touches everything");
        f.apply_rtr(RtrChange {
            vrps_withdrawn: vec![key(vrp(3, None))],
            vrps_announced: vec![key(vrp(20, None))],
            ..RtrChange::default()
        });
        let u = applied(f.rebuild(1));
        assert_eq!(u.generation, 2);
        assert_eq!(
            u.delta.vrp_prefixes,
            vec![vrp(3, None).prefix, vrp(20, None).prefix]
        );
        assert!(matches!(f.rebuild(2), Outcome::Unchanged));
    }

    #[test]
    fn files_and_rtr_are_merged_and_slurm_applies_to_both() {
        let mut f = RpkiFeed::new(cfg());
        let mut slurm = Slurm::default();
        slurm.prefix_filters.push(crate::rpki::PrefixFilter {
            prefix: Some(vrp(1, None).prefix),
            asn: None,
            comment: None,
        });
        f.set_files(FileData {
            vrps: vec![vrp(1, Some("ripe")), vrp(2, Some("ripe"))],
            aspas: vec![],
            slurm,
        });
        f.apply_rtr(rtr(vec![vrp(2, None), vrp(3, None)]));
        let u = applied(f.rebuild(0));
        let prefixes: Vec<_> = u.data.iter_vrps().map(|v| v.prefix).collect();
        assert_eq!(prefixes, vec![vrp(2, None).prefix, vrp(3, None).prefix]);
    }

    #[test]
    fn the_circuit_breaker_holds_a_60_percent_shrink_until_accepted() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..100).map(|i| vrp(i, None)).collect()));
        applied(f.rebuild(0));
        f.apply_rtr(rtr((0..40).map(|i| vrp(i, None)).collect()));
        match f.rebuild(10) {
            Outcome::Held { why } => assert!(why.contains("60% of the VRPs (100 -> 40)"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            f.current().0.vrp_count(),
            (100, 0),
            "the old data stays in force"
        );
        assert_eq!(f.held().map(|h| h.since), Some(10));
        assert!(f.tick(20).is_none(), "not before the hold time");
        let u = f.accept_held().expect("accepted");
        assert_eq!(u.data.vrp_count(), (40, 0));
        assert_eq!(u.delta.vrp_prefixes.len(), 60);
        assert!(f.held().is_none());
    }

    #[test]
    fn a_held_update_goes_in_force_after_the_hold_time() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..100).map(|i| vrp(i, None)).collect()));
        applied(f.rebuild(0));
        f.apply_rtr(rtr((0..10).map(|i| vrp(i, None)).collect()));
        assert!(matches!(f.rebuild(100), Outcome::Held { .. }));
        // A second shrinking update replaces the held one but keeps the first hold time.
        f.apply_rtr(rtr((0..20).map(|i| vrp(i, None)).collect()));
        assert!(matches!(f.rebuild(400), Outcome::Held { .. }));
        let u = f.tick(700).expect("due 600 s after the first hold");
        assert_eq!(u.data.vrp_count(), (20, 0));
    }

    #[test]
    fn a_shrink_within_the_limit_and_a_recovery_pass() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..100).map(|i| vrp(i, None)).collect()));
        applied(f.rebuild(0));
        f.apply_rtr(rtr((0..10).map(|i| vrp(i, None)).collect()));
        assert!(matches!(f.rebuild(1), Outcome::Held { .. }));
        // The cache recovers before anyone acts: the held update is dropped.
        f.apply_rtr(rtr((0..60).map(|i| vrp(i, None)).collect()));
        let u = applied(f.rebuild(2));
        assert_eq!(u.data.vrp_count(), (60, 0));
        assert!(f.held().is_none());
    }

    #[test]
    fn losing_every_vrp_of_a_trust_anchor_is_held() {
        let mut f = RpkiFeed::new(cfg());
        let mut vrps: Vec<Vrp> = (0..90).map(|i| vrp(i, Some("ripe"))).collect();
        vrps.extend((90..100).map(|i| vrp(i, Some("lacnic"))));
        f.set_files(FileData {
            vrps: vrps.clone(),
            ..FileData::default()
        });
        applied(f.rebuild(0));
        vrps.truncate(90);
        f.set_files(FileData {
            vrps,
            ..FileData::default()
        });
        match f.rebuild(1) {
            Outcome::Held { why } => assert!(why.contains("trust anchor lacnic"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expiry_drops_rtr_data_with_fail_open_and_keeps_it_without() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..100).map(|i| vrp(i, None)).collect()));
        applied(f.rebuild(0));
        f.rtr_expired();
        let u = applied(f.rebuild(1));
        assert_eq!(
            u.data.vrp_count(),
            (0, 0),
            "fail open: no circuit breaker for expiry"
        );

        let mut f = RpkiFeed::new(FeedConfig {
            fail_open: false,
            ..cfg()
        });
        f.apply_rtr(rtr((0..100).map(|i| vrp(i, None)).collect()));
        applied(f.rebuild(0));
        f.rtr_expired();
        assert!(matches!(f.rebuild(1), Outcome::Unchanged));
        assert_eq!(f.current().0.vrp_count(), (100, 0));
    }

    #[test]
    fn rtr_aspas_are_set_replaced_and_withdrawn_per_customer() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(RtrChange {
            reset: true,
            aspas: vec![
                Aspa::new(Asn(1), [Asn(10)], None),
                Aspa::new(Asn(2), [Asn(20)], None),
            ],
            ..RtrChange::default()
        });
        applied(f.rebuild(0));
        f.apply_rtr(RtrChange {
            aspas: vec![Aspa::new(Asn(1), [Asn(11)], None)],
            aspas_withdrawn: vec![Asn(2)],
            ..RtrChange::default()
        });
        let u = applied(f.rebuild(1));
        assert_eq!(u.delta.aspa_customers, vec![Asn(1), Asn(2)]);
        assert_eq!(u.data.aspa_providers(Asn(1)), Some(&[Asn(11)][..]));
        assert_eq!(u.data.aspa_providers(Asn(2)), None);
    }

    #[test]
    fn an_unchanged_rebuild_keeps_the_snapshot_in_force() {
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(rtr((0..10).map(|i| vrp(i, None)).collect()));
        let u = applied(f.rebuild(0));
        f.apply_rtr(rtr((0..10).map(|i| vrp(i, None)).collect()));
        assert!(matches!(f.rebuild(1), Outcome::Unchanged));
        assert!(Arc::ptr_eq(f.current().0, &u.data), "no second copy");
        // The same VRPs under another trust anchor: still no delta, but the breaker's view moves.
        f.set_files(FileData {
            vrps: (0..10).map(|i| vrp(i, Some("ripe"))).collect(),
            ..FileData::default()
        });
        assert!(matches!(f.rebuild(2), Outcome::Unchanged));
        assert_eq!(
            f.current().0.vrps_per_trust_anchor(),
            vec![(Arc::from("ripe"), 10)]
        );
    }

    #[test]
    fn the_rtr_clients_set_is_shared_not_copied() {
        let set = Arc::new(VrpSet::from_keys(&[key(vrp(1, None)), key(vrp(2, None))]));
        let mut f = RpkiFeed::new(cfg());
        f.apply_rtr(RtrChange {
            reset: true,
            vrps: Some(set.clone()),
            ..RtrChange::default()
        });
        assert!(Arc::ptr_eq(&f.rtr.vrps, &set));
        assert_eq!(applied(f.rebuild(0)).data.vrp_count(), (2, 0));
    }

    /// The snapshot the feed made before it merged its sources: every VRP in one vector, SLURM
    /// applied to it, then `RpkiData::new`.
    fn reference(files: &FileData, rtr: &[RtrVrp]) -> RpkiData {
        let mut vrps = files.vrps.clone();
        vrps.extend(rtr.iter().map(|&v| Vrp::from(v)));
        let mut aspas = files.aspas.clone();
        files.slurm.apply(&mut vrps, &mut aspas);
        RpkiData::new(vrps, aspas)
    }

    #[test]
    fn merging_the_sources_makes_the_snapshot_one_vector_made() {
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let tas = ["ripe", "arin", "apnic"];
        let mut rand_vrp = |ta: bool| {
            let r = next();
            let prefix = if r.is_multiple_of(4) {
                let a = std::net::Ipv6Addr::from(u128::from((r >> 8) as u16) << 112);
                ipnet::IpNet::V6(ipnet::Ipv6Net::new(a, 16 + (r >> 30) as u8 % 4).unwrap())
            } else {
                let a = std::net::Ipv4Addr::from(((r >> 8) as u32 & 0xff) << 24 | 0x0a0000);
                ipnet::IpNet::V4(ipnet::Ipv4Net::new(a, 8 + (r >> 30) as u8 % 3).unwrap())
            };
            Vrp {
                prefix: prefix.trunc(),
                max_len: 24 + (r >> 40) as u8 % 3,
                asn: Asn((r >> 50) as u32 % 5),
                ta: (ta && !r.is_multiple_of(7)).then(|| Arc::from(tas[(r >> 20) as usize % 3])),
                expires: None,
            }
        };
        for round in 0..20 {
            let files: Vec<Vrp> = (0..300).map(|_| rand_vrp(true)).collect();
            let rtr_keys: Vec<RtrVrp> = (0..300).map(|_| key(rand_vrp(false))).collect();
            let mut slurm = Slurm::default();
            for f in (0..3).map(|_| rand_vrp(false)) {
                slurm.prefix_filters.push(crate::rpki::PrefixFilter {
                    prefix: (round % 3 != 0).then_some(f.prefix),
                    asn: (round % 3 != 1).then_some(f.asn),
                    comment: None,
                });
            }
            slurm.prefix_assertions = (0..20).map(|_| rand_vrp(false)).collect();
            let data = FileData {
                vrps: files,
                aspas: vec![Aspa::new(Asn(1), [Asn(2)], None)],
                slurm,
            };
            let want = reference(&data, &rtr_keys);
            let mut f = RpkiFeed::new(cfg());
            f.set_files(data);
            f.apply_rtr(rtr(rtr_keys.iter().map(|&k| Vrp::from(k)).collect()));
            let got = f.build();
            assert_eq!(
                got.iter_vrps().collect::<Vec<_>>(),
                want.iter_vrps().collect::<Vec<_>>(),
                "round {round}"
            );
            assert_eq!(got.vrp_count(), want.vrp_count());
            assert_eq!(got.vrps_per_trust_anchor(), want.vrps_per_trust_anchor());
            assert_eq!(got.trust_anchors(), want.trust_anchors());
            assert!(RpkiDelta::between(&got, &want).is_empty());
        }
    }
}
