//! The import step on its own: a scripted sequence of the cases that matter (excess, its
//! re-announcement and withdrawal, teardown, a route received while held down, a restart), a
//! seeded random sequence against a small reference model, the index of known prefixes, and
//! export counting.

use super::*;
use crate::policy::{Action, CountMode};
use crate::testutil::Rng;
use crate::types::Afi;
use std::collections::BTreeMap;

fn net(s: &str) -> Nlri {
    Nlri::new(s.parse().unwrap())
}

fn ok() -> Verdict {
    Verdict::default()
}

fn bad() -> Verdict {
    let mut v = Verdict::default();
    v.reject(Reason::BogonPrefix);
    v
}

fn terms(now: u64) -> Terms {
    Terms {
        now,
        limits_enabled: true,
        observe: false,
    }
}

fn limits(limit: usize, count: CountMode, action: Action) -> Limits {
    Limits {
        ipv4: Some(limit),
        ipv6: Some(limit),
        warn_at: 50,
        count,
        action,
        restart_after: Some(100),
    }
}

fn table(d: Direction, l: Limits) -> ImportTable<Standing> {
    ImportTable::new(d, MaxPrefixState::new(Some(l), None))
}

fn announce(t: &mut ImportTable<Standing>, n: &str, v: Verdict, now: u64) -> Imported<Standing> {
    t.announce(net(n), v, terms(now), None, |v| Standing::of(&v))
}

#[test]
fn an_excess_route_is_held_uncounted_and_stays_out_when_announced_again() {
    let mut t = table(
        Direction::In,
        limits(2, CountMode::Received, Action::DropExcess),
    );
    assert!(announce(&mut t, "20.0.1.0/24", ok(), 0).verdict.accepted());
    assert!(announce(&mut t, "20.0.2.0/24", bad(), 0).old.is_none());
    let excess = announce(&mut t, "20.0.3.0/24", ok(), 0);
    assert_eq!(excess.verdict.primary(), Some(Reason::MaxPrefix));
    assert!(excess.step.trip.is_some() && excess.held);
    assert_eq!(t.get(&net("20.0.3.0/24")), Some(&Standing::Limited));
    assert_eq!(
        t.limits().counted(Afi::Ipv4),
        2,
        "the excess route is not counted"
    );
    // Announced again: still new to the limits, so still excess (no second trip).
    let again = announce(&mut t, "20.0.3.0/24", ok(), 1);
    assert_eq!(again.old, Some(Standing::Limited));
    assert!(again.verdict.failed.contains(Reason::MaxPrefix));
    assert!(again.step.trip.is_none());
    // Its withdrawal leaves the count alone; a counted one's makes room.
    t.withdraw(&net("20.0.3.0/24"), terms(2), None);
    assert_eq!(t.limits().counted(Afi::Ipv4), 2);
    t.withdraw(&net("20.0.2.0/24"), terms(2), None);
    assert_eq!(t.limits().counted(Afi::Ipv4), 1);
    assert!(announce(&mut t, "20.0.3.0/24", ok(), 3).verdict.accepted());
    // A replacement of a counted route is not new: it never trips the limit.
    assert!(
        announce(&mut t, "20.0.1.0/24", bad(), 4).verdict.primary() == Some(Reason::BogonPrefix)
    );
    assert_eq!(t.len(), 2);
}

#[test]
fn a_teardown_is_reported_and_the_session_refuses_routes_until_its_restart() {
    let mut t = table(
        Direction::In,
        limits(2, CountMode::Received, Action::Teardown),
    );
    announce(&mut t, "20.0.1.0/24", ok(), 0);
    announce(&mut t, "20.0.2.0/24", ok(), 0);
    let trip = announce(&mut t, "20.0.3.0/24", ok(), 10);
    assert!(
        trip.step.teardown && trip.held,
        "held until the caller acts"
    );
    assert_eq!(trip.verdict.primary(), Some(Reason::MaxPrefix));
    assert_eq!(t.session_down(None), 3);
    assert_eq!(t.down_until(), Some(Some(110)));
    // While held down: refused, not held; a route it would replace goes.
    let refused = announce(&mut t, "20.0.1.0/24", ok(), 50);
    assert!(!refused.held && refused.step.reject && refused.old.is_none());
    assert_eq!(refused.verdict.primary(), Some(Reason::MaxPrefix));
    assert!(t.is_empty());
    // The restart timer ran out: counting starts over.
    assert!(announce(&mut t, "20.0.1.0/24", ok(), 110)
        .verdict
        .accepted());
    assert_eq!(t.limits().counted(Afi::Ipv4), 1);
    assert_eq!(t.down_until(), None);
}

#[test]
fn without_the_limit_check_the_table_holds_but_nothing_counts() {
    let mut t = table(
        Direction::In,
        limits(1, CountMode::Received, Action::DropExcess),
    );
    let off = Terms {
        limits_enabled: false,
        ..terms(0)
    };
    for p in ["20.0.1.0/24", "20.0.2.0/24", "20.0.3.0/24"] {
        let i = t.announce(net(p), ok(), off, None, |v| Standing::of(&v));
        assert!(i.verdict.accepted() && i.step == Step::default());
    }
    assert_eq!((t.len(), t.limits().counted(Afi::Ipv4)), (3, 0));
    // Enabled by a reload: counted from the table.
    t.set_limits(
        Some(limits(1, CountMode::Received, Action::DropExcess)),
        None,
        false,
    );
    assert_eq!(t.limits().counted(Afi::Ipv4), 3);
    assert!(!announce(&mut t, "20.0.4.0/24", ok(), 1).verdict.accepted());
}

#[test]
fn a_revision_counts_as_a_replacement_and_leaves_a_dropped_route_dropped() {
    let mut t = table(
        Direction::In,
        limits(1, CountMode::Accepted, Action::DropExcess),
    );
    announce(&mut t, "20.0.1.0/24", ok(), 0);
    announce(&mut t, "20.0.2.0/24", ok(), 0);
    assert_eq!(t.get(&net("20.0.2.0/24")), Some(&Standing::Limited));
    let r = |t: &mut ImportTable<Standing>, n, v| {
        t.revise(net(n), v, terms(1), None, |v| Standing::of(&v))
    };
    // The dropped route's checks now fail too: it stays dropped, with the limit reason.
    let i = r(&mut t, "20.0.2.0/24", bad()).unwrap();
    assert!(i.verdict.failed.contains(Reason::MaxPrefix) && i.step == Step::default());
    // The counted route turns invalid: it leaves the count (accepted mode).
    r(&mut t, "20.0.1.0/24", bad()).unwrap();
    assert_eq!(t.limits().counted(Afi::Ipv4), 0);
    assert!(r(&mut t, "20.0.9.0/24", ok()).is_none(), "not held");
    assert_eq!(t.len(), 2);
}

#[test]
fn on_export_a_route_counts_while_it_is_passed_on() {
    let mut t = table(
        Direction::Out,
        limits(1, CountMode::Received, Action::DropExcess),
    );
    let enforce = terms(0);
    let observe = Terms {
        observe: true,
        ..enforce
    };
    let go = |t: &mut ImportTable<Standing>, n, v, tm| {
        t.announce(net(n), v, tm, None, |v| Standing::of(&v))
    };
    // Stopped by the export checks: not counted, the limit stays free.
    for p in ["30.0.1.0/24", "30.0.2.0/24"] {
        go(&mut t, p, bad(), enforce);
    }
    assert_eq!(t.limits().counted(Afi::Ipv4), 0);
    assert!(go(&mut t, "20.0.1.0/24", ok(), enforce).verdict.accepted());
    // A counted route replaced by one the checks stop leaves the count.
    go(&mut t, "20.0.1.0/24", bad(), enforce);
    assert_eq!(t.limits().counted(Afi::Ipv4), 0);
    // In observe mode every route is passed on, so every route counts.
    let excess = go(&mut t, "20.0.2.0/24", bad(), observe);
    assert_eq!(t.limits().counted(Afi::Ipv4), 1);
    assert!(!excess.verdict.failed.contains(Reason::ExportMaxPrefix));
    let excess = go(&mut t, "20.0.3.0/24", ok(), observe);
    assert_eq!(excess.verdict.primary(), Some(Reason::ExportMaxPrefix));
    t.withdraw(&net("20.0.2.0/24"), observe, None);
    assert_eq!(t.limits().counted(Afi::Ipv4), 0);
}

#[test]
fn the_index_follows_every_table_and_a_late_build_equals_one_kept_all_along() {
    let burst = BurstLimits {
        new_prefixes_per_min: None,
        more_specifics_per_min: Some(1),
        action: Action::DropExcess,
        restart_after: None,
    };
    let mk = || {
        ImportTable::<Standing>::new(
            Direction::In,
            MaxPrefixState::new(None, Some(burst.clone())),
        )
    };
    let (mut a, mut b) = (mk(), mk());
    let mut kept = KnownIndex::default();
    kept.build(std::iter::empty::<&ImportTable<Standing>>());
    let steps: [(bool, &str); 6] = [
        (true, "20.0.0.0/16"),
        (false, "21.0.0.0/16"),
        (true, "20.0.1.0/24"),
        (false, "21.0.1.0/24"),
        (true, "21.0.2.0/24"),
        (false, "20.0.0.0/16"),
    ];
    for (i, (first, p)) in steps.iter().enumerate() {
        let t = if *first { &mut a } else { &mut b };
        t.announce(net(p), ok(), terms(i as u64), kept.get(), |v| {
            Standing::of(&v)
        });
    }
    a.withdraw(&net("20.0.1.0/24"), terms(9), kept.get());
    let mut late = KnownIndex::default();
    late.build([&a, &b]);
    let all = |k: &mut KnownIndex| {
        let mut v = k.get().unwrap().all();
        v.sort();
        v
    };
    assert_eq!(all(&mut kept), all(&mut late));
    // The index spans the tables: 21.0.2.0/24 is a more-specific of 21.0.0.0/16, held by
    // table b, and the second more-specific table a gets in the minute (after 20.0.1.0/24):
    // its guard (1 a minute) drops it.
    assert_eq!(a.get(&net("21.0.2.0/24")), Some(&Standing::Limited));
    assert_eq!(b.get(&net("21.0.1.0/24")), Some(&Standing::Accepted));
    assert_eq!(b.session_down(kept.get()), 3);
    let left: Vec<ipnet::IpNet> = vec![
        "20.0.0.0/16".parse().unwrap(),
        "21.0.2.0/24".parse().unwrap(),
    ];
    assert_eq!(all(&mut kept), left);
}

#[test]
fn a_replay_entry_is_six_bytes() {
    assert_eq!(std::mem::size_of::<(ipnet::Ipv4Net, Standing)>(), 6);
}

// ---- a seeded random sequence against a reference model ----

/// The step restated for max-prefix alone: which routes count, when one is dropped, what a
/// teardown leaves. One family's limit `limit`; `restart` seconds of hold after a teardown.
struct Model {
    direction: Direction,
    observe: bool,
    count: CountMode,
    action: Action,
    limit: usize,
    restart: u64,
    enabled: bool,
    held: BTreeMap<Nlri, Standing>,
    down_until: Option<u64>,
}

impl Model {
    /// Whether a route that passed the checks (`ok`) counts, when not dropped.
    fn counts(&self, ok: bool) -> bool {
        match self.direction {
            Direction::Out => ok || self.observe,
            Direction::In => ok || self.count == CountMode::Received,
        }
    }

    fn counted(&self, s: Standing) -> bool {
        s != Standing::Limited && self.counts(s == Standing::Accepted)
    }

    fn count(&self) -> usize {
        self.held.values().filter(|s| self.counted(**s)).count()
    }

    /// (standing after limits, held, teardown)
    fn announce(&mut self, n: Nlri, ok: bool, now: u64) -> (Standing, bool, bool) {
        let checked = if ok {
            Standing::Accepted
        } else {
            Standing::Rejected
        };
        // A trip's hold refuses routes even with the check switched off meanwhile.
        match self.down_until {
            Some(t) if now < t => {
                self.held.remove(&n);
                return (Standing::Limited, false, false);
            }
            Some(_) => self.down_until = None,
            None => {}
        }
        if !self.enabled {
            self.held.insert(n, checked);
            return (checked, true, false);
        }
        let was_counted = self.held.get(&n).is_some_and(|s| self.counted(*s));
        let over = self.counts(ok) && !was_counted && self.count() >= self.limit;
        let standing = match (over, self.action) {
            (true, Action::DropExcess | Action::Teardown) => Standing::Limited,
            _ => checked,
        };
        self.held.insert(n, standing);
        let teardown = over && self.action == Action::Teardown;
        if teardown {
            self.held.clear();
            self.down_until = Some(now + self.restart);
        }
        (standing, true, teardown)
    }
}

#[test]
fn a_seeded_random_sequence_matches_the_reference_model() {
    let pool: Vec<Nlri> = (0..10u32)
        .map(|i| net(&format!("20.0.{i}.0/24")))
        .chain((0..3u32).map(|i| Nlri {
            path_id: Some(i),
            ..net("20.1.0.0/24")
        }))
        .collect();
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let direction = [Direction::In, Direction::Out][rng.below(2) as usize];
        let count = [CountMode::Received, CountMode::Accepted][rng.below(2) as usize];
        let action = [Action::Warn, Action::DropExcess, Action::Teardown][rng.below(3) as usize];
        let mut m = Model {
            direction,
            observe: rng.below(3) == 0,
            count,
            action,
            limit: 1 + rng.below(6) as usize,
            restart: 10 + rng.below(60),
            enabled: true,
            held: BTreeMap::new(),
            down_until: None,
        };
        let l = Limits {
            ipv4: Some(m.limit),
            ipv6: None,
            warn_at: 80,
            count,
            action,
            restart_after: Some(m.restart),
        };
        let mut t: ImportTable<Standing> =
            ImportTable::new(direction, MaxPrefixState::new(Some(l.clone()), None));
        let mut now = 0;
        for step in 0..300 {
            now += rng.below(8);
            let terms = Terms {
                now,
                limits_enabled: m.enabled,
                observe: m.observe,
            };
            let n = pool[rng.below(pool.len() as u64) as usize];
            let at = format!(
                "seed {seed} step {step} ({direction:?} {count:?} {action:?} limit {})",
                m.limit
            );
            match rng.below(10) {
                0..=5 => {
                    let ok = rng.below(3) != 0;
                    let v = if ok { self::ok() } else { bad() };
                    let got = t.announce(n, v, terms, None, |v| Standing::of(&v));
                    let (standing, held, teardown) = m.announce(n, ok, now);
                    assert_eq!(Standing::of(&got.verdict), standing, "{at}: verdict");
                    assert_eq!((got.held, got.step.teardown), (held, teardown), "{at}");
                    if got.step.teardown {
                        t.session_down(None);
                    }
                }
                6..=8 => {
                    let got = t.withdraw(&n, terms, None);
                    assert_eq!(got, m.held.remove(&n), "{at}: withdrawn");
                }
                _ => {
                    // A reload that switches the check off or on: counted from the table.
                    m.enabled = !m.enabled;
                    t.set_limits(Some(l.clone()), None, m.observe);
                }
            }
            let table: BTreeMap<Nlri, Standing> = t.iter().map(|(n, s)| (n, *s)).collect();
            assert_eq!(table, m.held, "{at}: table");
            if m.enabled {
                assert_eq!(t.limits().counted(Afi::Ipv4), m.count(), "{at}: count");
            }
        }
    }
}
