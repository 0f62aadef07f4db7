//! The import step: a route entering an Adj-RIB-In, and the stateful checks that follow the
//! stateless ones (DESIGN §3). One [`ImportTable`] holds what a neighbor sent in one direction —
//! the routes with how each stood, its max-prefix and burst-guard state — and its methods are the
//! only way to change them, so the limits' counts always match the table. The daemon has two per
//! pair (its import flow from the neighbor and its export flow from the router: "import" is the
//! route entering a table, whichever way it then goes); replay has one per MRT peer. Both call
//! the same step, so they cannot disagree on a verdict after limits.
//!
//! What the step decides, for both:
//! - Every route is held with how it stood (accepted, rejected by a check, dropped by a limit),
//!   except one received while a trip holds the session down: the session's routes are gone, so
//!   it is not held either (and a route it would replace goes). The table is empty when the
//!   hold ends, and the limits count from zero.
//! - A route a limit drops (excess) is held, marked, and never counted: its withdrawal uncounts
//!   nothing and its re-announcement is new to the limits (counted, and seen by a burst guard),
//!   so announcing an excess route again cannot slip it past the limit.
//! - Which routes count depends on the direction ([`Counting`]): on import every route (as
//!   received, or as accepted when it passed the checks); on export only what is passed on.
//! - A teardown is reported, not carried out: the route that tripped it is held (dropped), and
//!   the caller ends the session — the daemon stops it and its `Down` empties the table, or in
//!   observe mode clears the trip; replay empties the table at once ([`ImportTable::session_down`]).
//! - The index of known prefixes ([`KnownIndex`]) spans many tables (every pair, every MRT peer):
//!   it is passed to each change while it exists, and queried only by a guard that counts
//!   more-specifics.
//!
//! No I/O, no logging, no clock: the caller says what time it is ([`Terms::now`]).

use super::{AdjRibIn, InRoute};
use crate::bgp::update::Nlri;
use crate::policy::known::KnownPrefixes;
use crate::policy::max_prefix::{Announcement, Step};
use crate::policy::{apply_limit, BurstLimits, Limits, MaxPrefixState, Reason, Verdict};
use crate::types::{Afi, Direction, PerAfi};

/// How a held route stood when it was stored: what the limits need to know of it. One byte, so
/// replay can hold tens of millions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Passed every check and the limits.
    Accepted,
    /// Failed a check (not a limit).
    Rejected,
    /// Dropped by a limit: never counted.
    Limited,
}

impl Standing {
    /// The standing of a verdict: a limit reason (import or export) makes it `Limited`, whatever
    /// else failed.
    pub fn of(v: &Verdict) -> Standing {
        if v.failed.contains(Reason::MaxPrefix) || v.failed.contains(Reason::ExportMaxPrefix) {
            Standing::Limited
        } else if v.accepted() {
            Standing::Accepted
        } else {
            Standing::Rejected
        }
    }
}

/// What an import table holds per route: anything that can say how the route stood.
pub trait Held {
    fn standing(&self) -> Standing;
}

impl Held for Standing {
    fn standing(&self) -> Standing {
        *self
    }
}

impl Held for InRoute {
    fn standing(&self) -> Standing {
        Standing::of(&self.verdict)
    }
}

/// Which routes of a table count toward its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Import: every route, as received, and as accepted when it passed the checks (which of
    /// the two the limit counts is its `count` setting).
    Every,
    /// Export: only the routes passed on to the other side (accepted ones, or every one in
    /// observe mode), each as accepted. A full table of routes the checks stop must not use the
    /// limit up, and a route stops counting when it stops being passed on.
    Passing { observe: bool },
}

impl Counting {
    /// The counting of a table of direction `d` under a neighbor's mode.
    pub fn of(d: Direction, observe: bool) -> Counting {
        match d {
            Direction::In => Counting::Every,
            Direction::Out => Counting::Passing { observe },
        }
    }

    /// How a route that passed the checks (`accepted`) or not counts: `None` not at all,
    /// `Some(as_accepted)`.
    fn counts(self, accepted: bool) -> Option<bool> {
        match self {
            Counting::Every => Some(accepted),
            Counting::Passing { observe } => (accepted || observe).then_some(true),
        }
    }

    /// How a held route counts: one the limits dropped never does.
    fn held(self, s: Standing) -> Option<bool> {
        match s {
            Standing::Limited => None,
            s => self.counts(s == Standing::Accepted),
        }
    }
}

/// What the step needs from the caller besides the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Seconds on the caller's clock: the daemon's since start, replay's record time stamps.
    pub now: u64,
    /// The neighbor's checks include this direction's limit (`max-prefix`,
    /// `export-max-prefix`); without it the limits are never asked.
    pub limits_enabled: bool,
    /// The neighbor is in observe mode (on export, every route is passed on then, and counts).
    pub observe: bool,
}

/// The outcome of one step.
#[derive(Debug)]
pub struct Imported<V> {
    /// The verdict after the limits: the checks' verdict, with the direction's limit reason
    /// when a limit dropped the route.
    pub verdict: Verdict,
    /// The limits' answer (the default when they were not asked): a trip, a warning, a teardown.
    pub step: Step,
    /// The route this one replaced (or removed, when it is not held).
    pub old: Option<V>,
    /// The route is held now; false when it came while a trip held the session down.
    pub held: bool,
}

/// One neighbor's routes in one direction, with the limits that count them.
#[derive(Debug, Clone)]
pub struct ImportTable<V = InRoute> {
    direction: Direction,
    routes: AdjRibIn<V>,
    limits: MaxPrefixState,
}

impl<V: Held> ImportTable<V> {
    /// An empty table for routes flowing in direction `d` (which limit reason marks a dropped
    /// route, and how routes count).
    pub fn new(direction: Direction, limits: MaxPrefixState) -> ImportTable<V> {
        ImportTable {
            direction,
            routes: AdjRibIn::default(),
            limits,
        }
    }

    /// The reason a limit marks a route of this table with.
    pub fn limit_reason(&self) -> Reason {
        match self.direction {
            Direction::In => Reason::MaxPrefix,
            Direction::Out => Reason::ExportMaxPrefix,
        }
    }

    /// A route is received: it replaces the one held for `n`, checked by the limits.
    /// `checked` is the stateless checks' verdict; `hold` makes what is stored from the verdict
    /// after limits. `known` is the index of known prefixes while one exists (see
    /// [`KnownIndex`]). One hash operation on the table.
    pub fn announce(
        &mut self,
        n: Nlri,
        checked: Verdict,
        terms: Terms,
        known: Option<&mut KnownPrefixes>,
        hold: impl FnOnce(Verdict) -> V,
    ) -> Imported<V> {
        self.step(n, checked, terms, known, hold, false)
    }

    /// The checks' verdict of a held route changed (new data or policy): the route is held with
    /// `checked` instead, counted as a replacement. A route a limit dropped stays dropped (and
    /// keeps the limit reason): a data change is no re-announcement. `None` when nothing is
    /// held for `n`.
    pub fn revise(
        &mut self,
        n: Nlri,
        checked: Verdict,
        terms: Terms,
        known: Option<&mut KnownPrefixes>,
        hold: impl FnOnce(Verdict) -> V,
    ) -> Option<Imported<V>> {
        self.routes
            .contains_key(&n)
            .then(|| self.step(n, checked, terms, known, hold, true))
    }

    /// [`announce`](Self::announce), or with `revision` [`revise`](Self::revise) of a route
    /// held.
    fn step(
        &mut self,
        n: Nlri,
        checked: Verdict,
        terms: Terms,
        known: Option<&mut KnownPrefixes>,
        hold: impl FnOnce(Verdict) -> V,
        revision: bool,
    ) -> Imported<V> {
        // A trip's hold refuses routes whatever the limits are now: a reload does not bring a
        // torn-down session back (`ctl clear` does), and nothing held while it is down keeps
        // the table empty for the restart, which counts from zero.
        if self.limits.down_until().is_some() && self.limits.is_down(terms.now) {
            return self.refuse(n, checked, known);
        }
        let on = terms.limits_enabled && self.limits.is_active();
        if !on && !revision {
            // Nothing to count (the common case of a table without limits): held as checked,
            // with a plain insert, cheaper than the entry the limits need.
            let old = self.routes.insert(n, hold(checked));
            if let (None, Some(k)) = (&old, known) {
                k.add(&n.prefix);
            }
            return Imported {
                verdict: checked,
                step: Step::default(),
                old,
                held: true,
            };
        }
        let ctx = LimitCtx {
            direction: self.direction,
            counting: Counting::of(self.direction, terms.observe),
            on,
            now: terms.now,
            more_specific: on
                && self.limits.counts_more_specifics()
                && known
                    .as_deref()
                    .is_some_and(|k| k.more_specific_of_known(&n.prefix)),
        };
        let reason = self.limit_reason();
        let limits = &mut self.limits;
        let (old, (verdict, step)) = self.routes.replace_with(n, |old| {
            let standing = old.map(Held::standing);
            let (verdict, step) = match standing {
                Some(Standing::Limited) if revision => {
                    let mut v = checked;
                    v.reject(reason);
                    (v, Step::default())
                }
                _ => {
                    let before = standing.and_then(|s| ctx.counting.held(s));
                    ctx.limit(limits, n, checked, before)
                }
            };
            (hold(verdict), (verdict, step))
        });
        if old.is_none() {
            if let Some(k) = known {
                k.add(&n.prefix);
            }
        }
        Imported {
            verdict,
            step,
            old,
            held: true,
        }
    }

    /// A route received while a trip holds the session down: rejected with the limit reason,
    /// not held, and the route it would replace goes.
    fn refuse(
        &mut self,
        n: Nlri,
        checked: Verdict,
        known: Option<&mut KnownPrefixes>,
    ) -> Imported<V> {
        let old = self.routes.remove(&n);
        if let (Some(_), Some(k)) = (&old, known) {
            k.remove(&n.prefix);
        }
        let mut verdict = checked;
        verdict.reject(self.limit_reason());
        Imported {
            verdict,
            step: Step {
                reject: true,
                ..Step::default()
            },
            old,
            held: false,
        }
    }

    /// A route goes away (withdrawn, or its session went down); returns it. It leaves the
    /// count as it was counted.
    pub fn withdraw(
        &mut self,
        n: &Nlri,
        terms: Terms,
        known: Option<&mut KnownPrefixes>,
    ) -> Option<V> {
        let old = self.routes.remove(n)?;
        if let Some(k) = known {
            k.remove(&n.prefix);
        }
        let counting = Counting::of(self.direction, terms.observe);
        if let (true, Some(accepted)) = (terms.limits_enabled, counting.held(old.standing())) {
            self.limits.withdraw(n.afi(), accepted);
        }
        Some(old)
    }

    /// The session went down (or a trip tore it down): every route goes and nothing counts any
    /// more; a trip holding the session down stays. Returns how many routes went.
    pub fn session_down(&mut self, known: Option<&mut KnownPrefixes>) -> usize {
        let routes = std::mem::take(&mut self.routes);
        if let Some(k) = known {
            for (n, _) in &routes {
                k.remove(&n.prefix);
            }
        }
        self.limits.routes_gone();
        routes.len()
    }

    /// The session came up at `now`: the limits start over and the burst guard waits for the
    /// initial table. Routes still held (kept stale through a graceful restart, or the other
    /// side's routes of an export table) count from the start, as `observe` counts them.
    pub fn session_up(&mut self, now: u64, observe: bool) {
        self.limits.session_up(now);
        if !self.routes.is_empty() {
            let held = self.held(observe);
            self.limits.recount(held);
        }
    }

    /// The routes held per family, (received, accepted), as the limits count them.
    fn held(&self, observe: bool) -> PerAfi<[usize; 2]> {
        let counting = Counting::of(self.direction, observe);
        let mut held = PerAfi::<[usize; 2]>::default();
        for (n, r) in &self.routes {
            if let Some(accepted) = counting.held(r.standing()) {
                let [received, acc] = &mut held[n.afi()];
                *received += 1;
                *acc += usize::from(accepted);
            }
        }
        held
    }

    /// End-of-RIB: the initial table is complete, burst counting starts.
    pub fn end_of_rib(&mut self, now: u64) {
        self.limits.end_of_rib(now);
    }

    /// New limits (a configuration reload, or the table's first): counted from the routes held,
    /// as the new limits count them under the neighbor's mode `observe`.
    pub fn set_limits(
        &mut self,
        limits: Option<Limits>,
        burst: Option<BurstLimits>,
        observe: bool,
    ) {
        let held = self.held(observe);
        self.limits.set_limits(limits, burst, held);
    }

    /// An operator cleared the neighbor, or observe mode overrides a teardown: the trip is
    /// forgotten and the limits start over at `now`.
    pub fn clear_trip(&mut self, now: u64) {
        self.limits.clear(now);
    }

    /// Whether a trip holds the session down at `now` (a restart timer that ran out brings it
    /// back up).
    pub fn is_down(&mut self, now: u64) -> bool {
        self.limits.is_down(now)
    }

    /// Where the limits stand at `now` (see [`MaxPrefixState::state`]).
    pub fn limit_state(&self, now: u64) -> crate::policy::LimitState {
        self.limits.state(now)
    }

    /// The limit of `afi` with its warning threshold in percent, and the routes it counts now.
    pub fn limit_of(&self, afi: Afi) -> Option<(usize, u8, usize)> {
        let (limit, warn_at) = self.limits.limit_of(afi)?;
        Some((limit, warn_at, self.limits.counted(afi)))
    }

    /// While a trip holds the session down: `Some(Some(t))` until `t`, `Some(None)` until
    /// cleared.
    pub fn down_until(&self) -> Option<Option<u64>> {
        self.limits.down_until()
    }

    /// Whether a burst guard counts more-specifics of known prefixes (a [`KnownIndex`] must
    /// then exist before the table is changed).
    pub fn counts_more_specifics(&self) -> bool {
        self.limits.counts_more_specifics()
    }

    pub fn limits(&self) -> &MaxPrefixState {
        &self.limits
    }

    pub fn get(&self, n: &Nlri) -> Option<&V> {
        self.routes.get(n)
    }

    /// The routes held, read only (for lookups by prefix: the route views).
    pub fn routes(&self) -> &AdjRibIn<V> {
        &self.routes
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn iter(&self) -> super::adj_in::Iter<'_, V> {
        self.routes.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = Nlri> + '_ {
        self.routes.keys()
    }
}

impl<'a, V> IntoIterator for &'a ImportTable<V> {
    type Item = (Nlri, &'a V);
    type IntoIter = super::adj_in::Iter<'a, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.routes.iter()
    }
}

/// What the limits' part of one step knows besides the route.
struct LimitCtx {
    direction: Direction,
    counting: Counting,
    /// The limits are asked at all (enabled and configured).
    on: bool,
    now: u64,
    /// The prefix is a more-specific of a known one (asked only for a guard that counts them).
    more_specific: bool,
}

impl LimitCtx {
    /// The limits' part of a step: a route that counts is announced to them (as new when the
    /// route it replaces did not count: `before`, how that one counted, is `None`); one that
    /// does not count takes the route it replaces out of the count. Returns the verdict after
    /// limits.
    fn limit(
        &self,
        limits: &mut MaxPrefixState,
        n: Nlri,
        checked: Verdict,
        before: Option<bool>,
    ) -> (Verdict, Step) {
        let mut verdict = checked;
        if !self.on {
            return (verdict, Step::default());
        }
        let step = match self.counting.counts(checked.accepted()) {
            Some(accepted) => limits.announce(Announcement {
                afi: n.afi(),
                now: self.now,
                is_new: before.is_none(),
                was_accepted: before.unwrap_or(false),
                passes_policy: accepted,
                more_specific_of_known: self.more_specific,
            }),
            None => {
                if let Some(was) = before {
                    limits.withdraw(n.afi(), was);
                }
                Step::default()
            }
        };
        apply_limit(&mut verdict, &step, self.direction);
        (verdict, step)
    }
}

/// The prefixes held in a set of import tables — every pair's import flow in the daemon, every
/// MRT peer's table in replay — refcounted (one per route), for burst guards that count
/// more-specifics of known prefixes. A full table costs ~20 bytes a route in it and an insert
/// per announcement, so it is kept only while some guard counts more-specifics: built from the
/// tables when first needed ([`KnownIndex::build`]), dropped when no guard needs it any more.
/// While it exists every change to one of its tables is passed it ([`KnownIndex::get`]).
#[derive(Default)]
pub struct KnownIndex(Option<KnownPrefixes>);

impl KnownIndex {
    /// Builds the index from `tables` (all of the set) if there is none.
    pub fn build<'a, V: 'a>(&mut self, tables: impl IntoIterator<Item = &'a ImportTable<V>>) {
        if self.0.is_none() {
            let mut k = KnownPrefixes::default();
            for t in tables {
                for n in t.routes.keys() {
                    k.add(&n.prefix);
                }
            }
            self.0 = Some(k);
        }
    }

    /// The index while it exists, for a change to one of its tables.
    pub fn get(&mut self) -> Option<&mut KnownPrefixes> {
        self.0.as_mut()
    }

    /// No guard counts more-specifics any more: the index goes.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Whether the index is kept now.
    pub fn exists(&self) -> bool {
        self.0.is_some()
    }

    /// Every prefix in the index, once each (none when it is not kept).
    pub fn prefixes(&self) -> Vec<ipnet::IpNet> {
        self.0.as_ref().map(KnownPrefixes::all).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
