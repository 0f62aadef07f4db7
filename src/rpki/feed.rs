//! The RPKI data in force, made from all its sources: VRP/ASPA files, the RTR cache in use,
//! and SLURM exceptions over both (RFC 8416). Each change builds a new immutable snapshot and
//! the delta from the one in force; the circuit breaker holds a snapshot that would remove too
//! many VRPs, or every VRP of a trust anchor, until an operator accepts it or
//! `max_shrink_hold` passes (DESIGN §4). Sans-IO: the caller loads files, runs the RTR client,
//! keeps the clock and delivers the results; nothing here blocks or reads a file.

use super::rtr::RtrVrp;
use super::{Aspa, RpkiData, RpkiDelta, Slurm, Vrp};
use crate::types::Asn;
use rustc_hash::{FxHashMap, FxHashSet};
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
    /// ASPAs announced or replaced, one per customer.
    pub aspas: Vec<Aspa>,
    pub aspas_withdrawn: Vec<Asn>,
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
    vrps: FxHashSet<RtrVrp>,
    aspas: FxHashMap<Asn, Vec<Asn>>,
    expired: bool,
}

/// Every source, the data in force and the circuit breaker's state.
#[derive(Debug)]
pub struct RpkiFeed {
    cfg: FeedConfig,
    files: FileData,
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
            files: FileData::default(),
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
        self.files = files;
    }

    /// Applies one RTR End of Data; takes effect at the next rebuild. Withdrawals of records
    /// the set does not hold are ignored (the client has already checked RFC 8210 §5.6).
    pub fn apply_rtr(&mut self, change: RtrChange) {
        if change.reset {
            self.rtr.vrps.clear();
            self.rtr.aspas.clear();
        }
        for v in &change.vrps_withdrawn {
            self.rtr.vrps.remove(&rtr_key(v));
        }
        for v in change.vrps_announced {
            self.rtr.vrps.insert(rtr_key(&v));
        }
        if change.reset {
            self.rtr.vrps.shrink_to_fit();
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

    /// The snapshot every source makes now.
    pub fn build(&self) -> RpkiData {
        let mut vrps = self.files.vrps.clone();
        let mut aspas = self.files.aspas.clone();
        if self.rtr_in_use() {
            vrps.reserve(self.rtr.vrps.len());
            vrps.extend(self.rtr.vrps.iter().map(|&v| Vrp::from(v)));
            aspas.extend(
                self.rtr
                    .aspas
                    .iter()
                    .map(|(c, p)| Aspa::new(*c, p.iter().copied(), None)),
            );
        }
        self.files.slurm.apply(&mut vrps, &mut aspas);
        RpkiData::new(vrps, aspas)
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
        self.current = new;
        if delta.is_empty() {
            return Outcome::Unchanged;
        }
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

/// The key RTR identifies a VRP by, with host bits cleared.
fn rtr_key(v: &RtrVrp) -> RtrVrp {
    RtrVrp {
        prefix: v.prefix.trunc(),
        ..*v
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
}
