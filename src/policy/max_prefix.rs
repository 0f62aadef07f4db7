//! Max-prefix limits and the burst guard (DESIGN §3): a per-neighbor, per-direction state
//! machine driven along the caller's timeline (wall clock in the daemon, record timestamps in
//! replay). It does no I/O and keeps no routes: the caller owns the Adj-RIB-In and tells it, per
//! announcement, whether the prefix is new and whether the stateless checks passed.

use crate::types::{Afi, PerAfi};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// What happens when a limit is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Log and count, let routes pass.
    Warn,
    /// Reject the routes beyond the limit; the session stays up.
    DropExcess,
    /// Close the session (NOTIFICATION Cease/1, RFC 4486); every route of it is withdrawn.
    #[default]
    Teardown,
}

/// Which routes count toward the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CountMode {
    /// Every prefix received (pre-policy): the classic router behaviour.
    #[default]
    Received,
    /// Only prefixes that passed the other checks (post-policy).
    Accepted,
}

/// Where a neighbor stands against its limits in one direction (the API's `max_prefix.state`;
/// ordered from best to worst).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitState {
    /// Below the warning threshold, or no limit.
    #[default]
    Ok,
    /// Past `warn_at` of a limit.
    Warned,
    /// A limit is exceeded (routes dropped, or only logged with `action = "warn"`), or a burst
    /// guard's limit within the last minute.
    Tripped,
    /// Torn down by a limit, until its restart time or until cleared.
    Down,
}

impl LimitState {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitState::Ok => "ok",
            LimitState::Warned => "warned",
            LimitState::Tripped => "tripped",
            LimitState::Down => "down",
        }
    }
}

/// A prefix limit per address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub ipv4: Option<usize>,
    pub ipv6: Option<usize>,
    /// Percent of the limit at which a warning is logged.
    pub warn_at: u8,
    pub count: CountMode,
    pub action: Action,
    /// Seconds until a torn-down session may come back; `None` = until an operator clears it.
    pub restart_after: Option<u64>,
}

impl Limits {
    fn limit(&self, afi: Afi) -> Option<usize> {
        match afi {
            Afi::Ipv4 => self.ipv4,
            Afi::Ipv6 => self.ipv6,
        }
    }
}

/// The burst guard: too many new prefixes, or too many more-specifics of already known
/// prefixes, within one minute (the shape of the 2017 leak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurstLimits {
    pub new_prefixes_per_min: Option<u32>,
    pub more_specifics_per_min: Option<u32>,
    pub action: Action,
    pub restart_after: Option<u64>,
}

impl BurstLimits {
    /// Whether the guard counts more-specifics of known prefixes (the caller then keeps a
    /// `KnownPrefixes`).
    pub fn counts_more_specifics(&self) -> bool {
        self.more_specifics_per_min.is_some()
    }
}

/// Why a limit tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TripKind {
    /// The prefix count of one family passed its limit.
    Limit {
        afi: Afi,
        limit: usize,
        count: usize,
    },
    /// New prefixes in the last minute passed the burst limit.
    BurstNew { limit: u32, count: u32 },
    /// More-specifics of known prefixes in the last minute passed the burst limit.
    BurstMoreSpecific { limit: u32, count: u32 },
}

/// A limit exceeded at time `at`, and what was done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trip {
    pub at: u64,
    #[serde(flatten)]
    pub kind: TripKind,
    pub action: Action,
}

/// What the caller knows about one announcement.
#[derive(Debug, Clone, Copy)]
pub struct Announcement {
    pub afi: Afi,
    /// Seconds on the caller's clock.
    pub now: u64,
    /// The prefix (with path id) is not in this neighbor's Adj-RIB-In.
    pub is_new: bool,
    /// For a replacement: whether the previous version was accepted.
    pub was_accepted: bool,
    /// The stateless checks accept it.
    pub passes_policy: bool,
    /// Some other, less specific prefix is already known.
    pub more_specific_of_known: bool,
}

/// The state machine's answer to one announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Step {
    /// The route is rejected with `max-prefix` (excess dropped, or the session is down).
    pub reject: bool,
    /// A limit tripped on this announcement.
    pub trip: Option<Trip>,
    /// The count crossed `warn_at` on this announcement.
    pub warn: bool,
    /// The session goes down now: the caller withdraws every route of this neighbor.
    pub teardown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    Up,
    /// Torn down at `since`; back at `until` (None: until cleared).
    Down {
        until: Option<u64>,
    },
}

/// Max-prefix and burst-guard state of one neighbor in one direction.
#[derive(Debug, Clone)]
pub struct MaxPrefixState {
    limits: Option<Limits>,
    burst: Option<BurstLimits>,
    /// The counted routes per family (received or accepted, per `Limits::count`).
    count: PerAfi<usize>,
    over: PerAfi<bool>,
    warned: PerAfi<bool>,
    session: Session,
    /// Burst counting starts here (end of the initial table).
    burst_from: u64,
    /// (second, new prefixes, more-specifics) buckets of the last minute.
    window: VecDeque<(u64, u32, u32)>,
    burst_over: bool,
    pub trips: u64,
}

/// The initial table is not a burst: counting starts after End-of-RIB or this long after the
/// session came up (DESIGN §7 `burst_guard`).
pub const INITIAL_TABLE_GRACE_SECS: u64 = 120;

impl Default for MaxPrefixState {
    /// No limits.
    fn default() -> Self {
        MaxPrefixState::new(None, None)
    }
}

impl MaxPrefixState {
    pub fn new(limits: Option<Limits>, burst: Option<BurstLimits>) -> Self {
        MaxPrefixState {
            limits,
            burst,
            count: PerAfi::default(),
            over: PerAfi::default(),
            warned: PerAfi::default(),
            session: Session::Up,
            burst_from: 0,
            window: VecDeque::new(),
            burst_over: false,
            trips: 0,
        }
    }

    /// New limits from a configuration reload. The caller gives the routes it holds per family
    /// as the new limits count them (`Limits::count`), `[received, accepted]` per family; the
    /// session state and the burst window stay.
    pub fn set_limits(
        &mut self,
        limits: Option<Limits>,
        burst: Option<BurstLimits>,
        held: PerAfi<[usize; 2]>,
    ) {
        self.limits = limits;
        self.burst = burst;
        self.recount(held);
        self.over = PerAfi::default();
        self.warned = PerAfi::default();
    }

    /// Counts the routes held (received, accepted per family) as the limits count them, the
    /// limits unchanged.
    pub fn recount(&mut self, held: PerAfi<[usize; 2]>) {
        let mode = self.count_mode();
        self.count = PerAfi::new(|afi| {
            let [received, accepted] = held[afi];
            match mode {
                CountMode::Received => received,
                CountMode::Accepted => accepted,
            }
        });
    }

    /// The count mode of the limits (what `set_limits` needs counted).
    pub fn count_mode(&self) -> CountMode {
        self.limits
            .as_ref()
            .map_or(CountMode::Received, |l| l.count)
    }

    /// Whether the burst guard counts more-specifics of known prefixes (the caller then keeps a
    /// `KnownPrefixes`).
    pub fn counts_more_specifics(&self) -> bool {
        self.burst
            .as_ref()
            .is_some_and(BurstLimits::counts_more_specifics)
    }

    /// True when any limit is configured (otherwise the caller may skip all bookkeeping).
    pub fn is_active(&self) -> bool {
        self.limits.is_some() || self.burst.is_some()
    }

    /// The session came up at `now`: counters restart, the burst guard waits for the table.
    pub fn session_up(&mut self, now: u64) {
        self.count = PerAfi::default();
        self.over = PerAfi::default();
        self.warned = PerAfi::default();
        self.session = Session::Up;
        self.window.clear();
        self.burst_over = false;
        self.burst_from = now.saturating_add(INITIAL_TABLE_GRACE_SECS);
    }

    /// Every route of the session is gone (it went down, or a trip tore it down): nothing is
    /// counted any more, so the limits re-arm. A trip holding the session down and the burst
    /// window stay (the session coming up resets those).
    pub fn routes_gone(&mut self) {
        self.count = PerAfi::default();
        self.over = PerAfi::default();
        self.warned = PerAfi::default();
    }

    /// End-of-RIB received: the initial table is complete, burst counting starts.
    pub fn end_of_rib(&mut self, now: u64) {
        self.burst_from = self.burst_from.min(now);
    }

    /// Whether the session is held down by a trip at `now`. A restart timer that has run out
    /// brings the session back up (and resets the counters, since its routes were withdrawn).
    pub fn is_down(&mut self, now: u64) -> bool {
        match self.session {
            Session::Up => false,
            Session::Down { until: Some(t) } if now >= t => {
                self.session_up(now);
                false
            }
            Session::Down { .. } => true,
        }
    }

    /// While a trip holds the session down: `Some(Some(t))` until time `t`, `Some(None)` until
    /// an operator clears it; `None` when the session may be up.
    pub fn down_until(&self) -> Option<Option<u64>> {
        match self.session {
            Session::Up => None,
            Session::Down { until } => Some(until),
        }
    }

    /// An operator cleared the neighbor (`bgpsieve ctl clear`).
    pub fn clear(&mut self, now: u64) {
        self.session_up(now);
    }

    /// Where the limits stand at `now`: down while a trip holds the session, tripped while a
    /// limit is exceeded (for a burst guard: within the last minute), warned past `warn_at`.
    /// A count falling below `warn_at` of its limit, a session coming up and `clear` all
    /// return it to `Ok`.
    pub fn state(&self, now: u64) -> LimitState {
        let any = |flags: &PerAfi<bool>| flags[Afi::Ipv4] || flags[Afi::Ipv6];
        let burst_now = self.burst_over
            && self
                .window
                .back()
                .is_some_and(|(t, _, _)| t.saturating_add(60) > now);
        if matches!(self.session, Session::Down { .. }) {
            LimitState::Down
        } else if any(&self.over) || burst_now {
            LimitState::Tripped
        } else if any(&self.warned) {
            LimitState::Warned
        } else {
            LimitState::Ok
        }
    }

    /// The limit of `afi` and the warning threshold in percent, when one is configured.
    pub fn limit_of(&self, afi: Afi) -> Option<(usize, u8)> {
        let l = self.limits.as_ref()?;
        Some((l.limit(afi)?, l.warn_at))
    }

    pub fn counted(&self, afi: Afi) -> usize {
        self.count[afi]
    }

    /// Feeds one announcement.
    pub fn announce(&mut self, a: Announcement) -> Step {
        let mut step = Step::default();
        if self.is_down(a.now) {
            step.reject = true;
            return step;
        }
        let (trip, excess) = self.burst_step(&a);
        if let Some(trip) = trip {
            self.trip(trip, &mut step);
        }
        if excess || step.reject {
            step.reject = true;
            return step;
        }
        let Some(limits) = self.limits.clone() else {
            return step;
        };
        let afi = a.afi;
        let delta: isize = match limits.count {
            CountMode::Received => isize::from(a.is_new),
            CountMode::Accepted => match (a.is_new || !a.was_accepted, a.passes_policy) {
                (true, true) => 1,
                (false, false) => -1,
                _ => 0,
            },
        };
        if delta < 0 {
            self.count[afi] = self.count[afi].saturating_sub(1);
            self.rearm(&limits, afi);
            return step;
        }
        if delta == 0 {
            return step;
        }
        let Some(limit) = limits.limit(afi) else {
            self.count[afi] += 1;
            return step;
        };
        let next = self.count[afi] + 1;
        if !self.warned[afi] && next * 100 >= limit * usize::from(limits.warn_at) {
            self.warned[afi] = true;
            step.warn = true;
        }
        if next > limit {
            let trip = Trip {
                at: a.now,
                kind: TripKind::Limit {
                    afi,
                    limit,
                    count: next,
                },
                action: limits.action,
            };
            let first = !self.over[afi];
            self.over[afi] = true;
            match limits.action {
                Action::Warn => self.count[afi] = next,
                Action::DropExcess => step.reject = true,
                Action::Teardown => {}
            }
            if first {
                self.trip(trip, &mut step);
            }
            return step;
        }
        self.count[afi] = next;
        step
    }

    /// Feeds one withdrawal of a prefix that was in the Adj-RIB-In.
    pub fn withdraw(&mut self, afi: Afi, was_accepted: bool) {
        let Some(limits) = self.limits.clone() else {
            return;
        };
        if limits.count == CountMode::Received || was_accepted {
            self.count[afi] = self.count[afi].saturating_sub(1);
        }
        self.rearm(&limits, afi);
    }

    fn rearm(&mut self, limits: &Limits, afi: Afi) {
        if let Some(limit) = limits.limit(afi) {
            // Hysteresis: a limit re-arms (and may trip again) only once the count has fallen
            // below the warning threshold, so a table hovering at the limit trips once.
            if self.count[afi] * 100 < limit * usize::from(limits.warn_at) {
                self.over[afi] = false;
                self.warned[afi] = false;
            }
        }
    }

    /// The burst guard's view of one announcement: a trip on the first crossing of a limit, and
    /// whether this announcement is excess to drop while the limit stays exceeded.
    fn burst_step(&mut self, a: &Announcement) -> (Option<Trip>, bool) {
        let Some(burst) = self.burst.as_ref() else {
            return (None, false);
        };
        if !a.is_new || a.now < self.burst_from {
            return (None, false);
        }
        while self.window.front().is_some_and(|(t, _, _)| t + 60 <= a.now) {
            self.window.pop_front();
        }
        let ms = u32::from(a.more_specific_of_known);
        match self.window.back_mut() {
            Some((t, n, m)) if *t == a.now => {
                *n += 1;
                *m += ms;
            }
            _ => self.window.push_back((a.now, 1, ms)),
        }
        let (new, more) = self
            .window
            .iter()
            .fold((0u32, 0u32), |(n, m), (_, dn, dm)| (n + dn, m + dm));
        let kind = match (burst.new_prefixes_per_min, burst.more_specifics_per_min) {
            (Some(limit), _) if new > limit => TripKind::BurstNew { limit, count: new },
            (_, Some(limit)) if more > limit => TripKind::BurstMoreSpecific { limit, count: more },
            _ => {
                self.burst_over = false;
                return (None, false);
            }
        };
        let excess = burst.action == Action::DropExcess;
        if self.burst_over {
            return (None, excess);
        }
        self.burst_over = true;
        let trip = Trip {
            at: a.now,
            kind,
            action: burst.action,
        };
        (Some(trip), excess)
    }

    /// Records a trip and applies its action.
    fn trip(&mut self, trip: Trip, step: &mut Step) {
        self.trips += 1;
        let restart_after = match trip.kind {
            TripKind::Limit { .. } => self.limits.as_ref().and_then(|l| l.restart_after),
            _ => self.burst.as_ref().and_then(|b| b.restart_after),
        };
        match trip.action {
            Action::Warn => {}
            Action::DropExcess => step.reject = true,
            Action::Teardown => {
                step.reject = true;
                step.teardown = true;
                self.session = Session::Down {
                    until: restart_after.map(|s| trip.at.saturating_add(s)),
                };
            }
        }
        step.trip = Some(trip);
    }
}

/// Prefixes currently held: see [`super::known`].
pub use super::known::KnownPrefixes;

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::IpNet;

    #[test]
    fn known_prefixes_find_more_specifics_and_count_holders() {
        let net = |s: &str| -> IpNet { s.parse().unwrap() };
        let mut k = KnownPrefixes::default();
        for p in [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.1.2.0/24",
            "11.0.0.0/8",
            "9.255.0.0/16",
            "2001:db8::/32",
            "2001:db8:1::/48",
            "2001:db9::/32",
        ] {
            k.add(&net(p));
        }
        assert_eq!(
            k.covered_by(&net("10.1.0.0/16")),
            vec![net("10.1.0.0/16"), net("10.1.2.0/24")]
        );
        assert_eq!(
            k.covered_by(&net("10.0.0.0/7")).len(),
            4,
            "10/8, 10.1/16, 10.1.2/24, 11/8"
        );
        assert_eq!(
            k.covered_by(&net("2001:db8::/32")),
            vec![net("2001:db8::/32"), net("2001:db8:1::/48")]
        );
        assert!(k.covered_by(&net("12.0.0.0/8")).is_empty());
        assert!(k.more_specific_of_known(&net("10.1.2.128/25")));
        assert!(k.more_specific_of_known(&net("2001:db8:1:1::/64")));
        assert!(!k.more_specific_of_known(&net("10.0.0.0/8")));
        assert!(!k.more_specific_of_known(&net("12.1.0.0/16")));
        // Two routes hold 10.1.2.0/24: it stays known until both are gone.
        k.remove(&net("10.1.2.0/24"));
        assert_eq!(k.covered_by(&net("10.1.2.0/24")), vec![net("10.1.2.0/24")]);
        k.remove(&net("10.1.2.0/24"));
        assert!(k.covered_by(&net("10.1.2.0/24")).is_empty());
        assert_eq!(k.all().len(), 7);
    }

    fn limits(action: Action, count: CountMode) -> Limits {
        Limits {
            ipv4: Some(3),
            ipv6: None,
            warn_at: 60,
            count,
            action,
            restart_after: Some(600),
        }
    }

    fn ann(now: u64, is_new: bool, passes: bool) -> Announcement {
        Announcement {
            afi: Afi::Ipv4,
            now,
            is_new,
            was_accepted: false,
            passes_policy: passes,
            more_specific_of_known: false,
        }
    }

    #[test]
    fn state_goes_warned_tripped_down_and_back_to_ok_on_clear_and_withdrawals() {
        let mut s = MaxPrefixState::new(Some(limits(Action::Teardown, CountMode::Received)), None);
        assert_eq!(s.state(0), LimitState::Ok);
        s.announce(ann(0, true, true));
        assert_eq!(s.state(0), LimitState::Ok, "1 of 3 is below 60 %");
        s.announce(ann(0, true, true));
        assert_eq!(
            s.state(0),
            LimitState::Warned,
            "2 of 3 is past warn_at 60 %"
        );
        s.announce(ann(0, true, true));
        assert!(s.announce(ann(1, true, true)).teardown);
        assert_eq!(s.state(1), LimitState::Down);
        s.routes_gone();
        assert_eq!(
            s.state(2),
            LimitState::Down,
            "held down until the restart timer"
        );
        s.clear(3);
        assert_eq!(s.state(3), LimitState::Ok, "ctl clear forgets the trip");

        // Warn action: over the limit is "tripped" while the count stays over; withdrawals
        // below warn_at re-arm it.
        let mut s = MaxPrefixState::new(Some(limits(Action::Warn, CountMode::Received)), None);
        for _ in 0..4 {
            s.announce(ann(0, true, true));
        }
        assert_eq!(s.state(0), LimitState::Tripped);
        s.withdraw(Afi::Ipv4, true);
        assert_eq!(
            s.state(0),
            LimitState::Tripped,
            "3 of 3: still above warn_at"
        );
        s.withdraw(Afi::Ipv4, true);
        s.withdraw(Afi::Ipv4, true);
        assert_eq!(s.state(0), LimitState::Ok, "1 of 3");

        // A burst guard's trip shows for the minute its window covers.
        let burst = BurstLimits {
            new_prefixes_per_min: Some(2),
            more_specifics_per_min: None,
            action: Action::Warn,
            restart_after: None,
        };
        let mut s = MaxPrefixState::new(None, Some(burst));
        s.end_of_rib(0);
        for _ in 0..3 {
            s.announce(ann(10, true, true));
        }
        assert_eq!(s.state(10), LimitState::Tripped);
        assert_eq!(s.state(69), LimitState::Tripped);
        assert_eq!(s.state(70), LimitState::Ok, "the burst left the window");
    }

    #[test]
    fn teardown_trips_on_the_prefix_over_the_limit_and_restarts_after_the_timer() {
        let mut s = MaxPrefixState::new(Some(limits(Action::Teardown, CountMode::Received)), None);
        assert_eq!(s.announce(ann(0, true, true)), Step::default());
        let second = s.announce(ann(0, true, true));
        assert!(second.warn, "2 of 3 is past 60 %");
        assert_eq!(s.announce(ann(0, true, true)), Step::default());
        assert_eq!(
            s.announce(ann(0, false, true)),
            Step::default(),
            "a replacement is not new"
        );
        let over = s.announce(ann(1, true, true));
        assert!(over.reject && over.teardown);
        assert_eq!(
            over.trip.unwrap().kind,
            TripKind::Limit {
                afi: Afi::Ipv4,
                limit: 3,
                count: 4
            }
        );
        assert!(s.announce(ann(300, true, true)).reject, "still down");
        assert!(s.is_down(300));
        assert_eq!(s.down_until(), Some(Some(601)));
        assert!(!s.is_down(601), "restart_after 600 s");
        assert_eq!(s.down_until(), None);
        assert_eq!(s.counted(Afi::Ipv4), 0);
        assert_eq!(s.trips, 1);
    }

    #[test]
    fn drop_excess_rejects_only_what_is_over_and_trips_once() {
        let mut s =
            MaxPrefixState::new(Some(limits(Action::DropExcess, CountMode::Received)), None);
        for _ in 0..3 {
            assert!(!s.announce(ann(0, true, true)).reject);
        }
        let a = s.announce(ann(0, true, true));
        assert!(a.reject && !a.teardown && a.trip.is_some());
        let b = s.announce(ann(0, true, true));
        assert!(b.reject && b.trip.is_none());
        s.withdraw(Afi::Ipv4, true);
        let again = s.announce(ann(0, true, true));
        assert!(!again.reject, "room again after a withdrawal");
        assert!(s.announce(ann(0, true, true)).reject);
        assert_eq!(s.trips, 1, "hovering at the limit is one trip");
        for _ in 0..3 {
            s.withdraw(Afi::Ipv4, true);
        }
        assert_eq!(s.counted(Afi::Ipv4), 0);
        for _ in 0..3 {
            s.announce(ann(0, true, true));
        }
        assert!(
            s.announce(ann(0, true, true)).trip.is_some(),
            "re-armed below warn_at"
        );
        assert_eq!(s.trips, 2);
    }

    #[test]
    fn warn_lets_everything_pass_but_counts_the_trip() {
        let mut s = MaxPrefixState::new(Some(limits(Action::Warn, CountMode::Received)), None);
        let steps: Vec<Step> = (0..5).map(|_| s.announce(ann(0, true, true))).collect();
        assert!(steps.iter().all(|st| !st.reject));
        assert_eq!(steps.iter().filter(|st| st.trip.is_some()).count(), 1);
        assert_eq!(s.counted(Afi::Ipv4), 5);
    }

    #[test]
    fn accepted_mode_counts_only_routes_passing_policy() {
        let mut s = MaxPrefixState::new(Some(limits(Action::Teardown, CountMode::Accepted)), None);
        for _ in 0..10 {
            assert!(!s.announce(ann(0, true, false)).reject);
        }
        assert_eq!(s.counted(Afi::Ipv4), 0);
        for _ in 0..3 {
            s.announce(ann(0, true, true));
        }
        assert_eq!(s.counted(Afi::Ipv4), 3);
        // A counted route replaced by a rejected version leaves the count.
        let mut replaced = ann(0, false, false);
        replaced.was_accepted = true;
        s.announce(replaced);
        assert_eq!(s.counted(Afi::Ipv4), 2);
    }

    #[test]
    fn families_are_limited_separately() {
        let mut s = MaxPrefixState::new(Some(limits(Action::Teardown, CountMode::Received)), None);
        for _ in 0..100 {
            let mut a = ann(0, true, true);
            a.afi = Afi::Ipv6;
            assert!(!s.announce(a).reject, "no IPv6 limit");
        }
        assert_eq!(s.counted(Afi::Ipv6), 100);
    }

    fn burst(new: Option<u32>, more: Option<u32>, action: Action) -> BurstLimits {
        BurstLimits {
            new_prefixes_per_min: new,
            more_specifics_per_min: more,
            action,
            restart_after: None,
        }
    }

    #[test]
    fn burst_guard_ignores_the_initial_table_then_trips_on_a_burst() {
        let mut s = MaxPrefixState::new(None, Some(burst(Some(5), None, Action::Teardown)));
        s.session_up(1000);
        for _ in 0..50 {
            assert!(!s.announce(ann(1001, true, true)).reject, "initial table");
        }
        s.end_of_rib(1002);
        for t in 0..5 {
            assert!(!s.announce(ann(1010 + t, true, true)).reject);
        }
        let st = s.announce(ann(1020, true, true));
        assert!(st.teardown);
        assert_eq!(
            st.trip.unwrap().kind,
            TripKind::BurstNew { limit: 5, count: 6 }
        );
        assert!(s.is_down(999_999), "no restart_after: down until cleared");
        s.clear(1_000_000);
        assert!(!s.is_down(1_000_000));
    }

    #[test]
    fn burst_window_slides_over_one_minute() {
        let mut s = MaxPrefixState::new(None, Some(burst(Some(5), None, Action::Teardown)));
        for t in 0..30 {
            // One new prefix every 15 s: 4 a minute, never a burst.
            assert!(!s.announce(ann(t * 15, true, true)).reject, "t={t}");
        }
    }

    #[test]
    fn known_prefixes_count_references_and_find_less_specifics() {
        let mut k = KnownPrefixes::default();
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        k.add(&net("8.0.0.0/16"));
        k.add(&net("8.0.0.0/16"));
        assert!(k.more_specific_of_known(&net("8.0.1.0/24")));
        assert!(
            !k.more_specific_of_known(&net("8.0.0.0/16")),
            "itself is not less specific"
        );
        assert!(!k.more_specific_of_known(&net("9.0.0.0/24")));
        k.remove(&net("8.0.0.0/16"));
        assert!(
            k.more_specific_of_known(&net("8.0.1.0/24")),
            "still held once"
        );
        k.remove(&net("8.0.0.0/16"));
        assert!(!k.more_specific_of_known(&net("8.0.1.0/24")));
        k.add(&net("2a00::/16"));
        assert!(k.more_specific_of_known(&net("2a00:1::/32")));
    }

    #[test]
    fn more_specifics_of_known_prefixes_trip_their_own_limit() {
        let mut s = MaxPrefixState::new(None, Some(burst(None, Some(2), Action::DropExcess)));
        let ms = |now| Announcement {
            more_specific_of_known: true,
            ..ann(now, true, true)
        };
        assert!(!s.announce(ms(0)).reject);
        assert!(
            !s.announce(ann(0, true, true)).reject,
            "not a more-specific"
        );
        assert!(!s.announce(ms(1)).reject);
        let st = s.announce(ms(2));
        assert!(st.reject && !st.teardown);
        assert_eq!(
            st.trip.unwrap().kind,
            TripKind::BurstMoreSpecific { limit: 2, count: 3 }
        );
        assert!(s.announce(ms(3)).reject, "excess keeps being dropped");
        assert!(
            !s.announce(ms(70)).reject,
            "a minute later the window is clear"
        );
        assert_eq!(s.trips, 1);
    }
}
