//! Leak incidents (DESIGN §3, issues 5 and 12), kept as a regulator's information-sharing
//! guidance asks operators to report them: when (start, end), where (the neighbor, its AS, the
//! router), what happened (what tripped, the prefixes and origins of the minute before), the
//! impact (routes, prefixes, address space, origins, whether any of it reached the router), the
//! response (the action, the state), follow-ups while it is open (the figures as they grow, the
//! session's return, an operator's `ctl clear`, the resolution) and the operator's marks (may
//! the report be published, shared with other operators, with the regulator) and comment.
//!
//! Sans-IO: the RIB reports announcements, rejections, trips and session events along its
//! clock, and takes the changes ([`Incidents::take_changes`]): the records to persist and the
//! reports to deliver (first report, each follow-up). Logging, the file and the webhook are the
//! caller's.

mod space;

pub use space::{covered, Space};

use crate::policy::{Action, TripKind};
use crate::types::Asn;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;

/// Announcements remembered per neighbor, to say what an incident was made of.
const RECENT: usize = 1000;
/// Prefixes an incident lists (a sample of the most recent).
const SAMPLE: usize = 50;
/// Origins an incident lists (the most frequent).
const TOP_ORIGINS: usize = 10;
/// Incidents kept by default (`[incidents] keep`).
pub const DEFAULT_KEEP: usize = crate::config::DEFAULT_INCIDENTS_KEPT;
/// Follow-up entries one incident keeps; past it the oldest "counts" entry goes.
pub const MAX_FOLLOW_UPS: usize = 50;
/// At most one "counts" follow-up per incident this often (seconds).
pub const COUNTS_EVERY: i64 = 60;
/// Distinct prefixes (and origins) an open incident tracks for its impact; past it the
/// figures are lower bounds.
const TRACKED: usize = 1 << 18;
/// The longest comment an operator may set, in bytes.
pub const MAX_COMMENT: usize = 4000;

/// What an incident did, as far as bgpsieve saw: the neighbor's announcements from the minute
/// before it opened until it ended (as of the last report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Impact {
    /// Announcements from the neighbor.
    pub announcements: u64,
    /// Of those, rejected (by a check or a limit).
    pub routes_rejected: u64,
    /// Of those, passed on to the router (accepted, or in observe mode, while the router's
    /// session was up): routes of the incident that reached it, e.g. under `warn`.
    pub reached_router: u64,
    /// Of those, before the trip (the minute before the incident opened).
    pub reached_router_before_trip: u64,
    /// Distinct prefixes announced.
    pub prefixes: u64,
    /// Their address space, each address once.
    #[serde(flatten)]
    pub space: Space,
    /// Distinct origin ASes.
    pub origin_ases: u64,
    /// More distinct prefixes or announcements than tracked: the figures are lower bounds.
    pub lower_bounds: bool,
}

/// One follow-up entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Unix time.
    pub at: i64,
    /// `counts` (the figures grew), `session-up`, `cleared` (an operator's `ctl clear`),
    /// `resolved`, `restarted` (bgpsieve restarted while it was open).
    pub kind: String,
    /// What happened, in words.
    pub text: String,
    /// The figures at that time (`counts` and `resolved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
}

/// The operator's marks: whether the report may be published, shared with other operators,
/// shared with the regulator (`None`: not decided).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Marks {
    pub publish: Option<bool>,
    pub share_operators: Option<bool>,
    pub share_regulator: Option<bool>,
    /// Unix time of the last change.
    pub updated_at: Option<i64>,
}

/// The operator's free-text comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub text: String,
    /// Unix time it was set.
    pub at: i64,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: u64,
    /// Unix time it started.
    pub start: i64,
    pub peer: String,
    pub peer_asn: u32,
    /// `max-prefix`, `burst-new`, `burst-more-specific`, `rejection-spike`.
    pub kind: String,
    /// What was exceeded, in words.
    pub detail: String,
    /// `teardown`, `drop-excess`, `warn`, or `none` (a spike is only reported).
    pub action: String,
    /// Announcements from the neighbor within the minute before it started.
    pub announcements_last_minute: usize,
    /// The most recent prefixes involved (at most 50).
    pub prefixes: Vec<IpNet>,
    /// The most frequent origin ASes among them, with counts.
    pub origins: Vec<(u32, usize)>,
    /// `open`, or `resolved` once the neighbor's session has come back or a minute has passed
    /// without a new trip.
    pub state: String,
    /// Unix time it ended.
    pub resolved_at: Option<i64>,
    /// The router of the pair (its address) and its AS: the operator's network.
    #[serde(default)]
    pub router: Option<IpAddr>,
    #[serde(default)]
    pub router_asn: u32,
    /// The figures as of the last report (opening, follow-up, resolution).
    #[serde(default)]
    pub impact: Impact,
    /// Oldest first, at most [`MAX_FOLLOW_UPS`].
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
    #[serde(default)]
    pub marks: Marks,
    #[serde(default)]
    pub comment: Option<Comment>,
}

impl Incident {
    /// The one-line JSON form for logs and the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn is_open(&self) -> bool {
        self.state == "open"
    }

    /// Adds a follow-up entry, keeping at most [`MAX_FOLLOW_UPS`]: past it the oldest
    /// `counts` entry goes (else the oldest entry), so the session's return, a clear and the
    /// resolution are never lost to the figures' growth.
    fn follow_up(&mut self, entry: FollowUp) {
        if self.follow_ups.len() >= MAX_FOLLOW_UPS {
            let victim = self
                .follow_ups
                .iter()
                .position(|f| f.kind == "counts")
                .unwrap_or(0);
            if victim < self.follow_ups.len() {
                self.follow_ups.remove(victim);
            }
        }
        self.follow_ups.push(entry);
    }
}

/// What the webhook is sent: the first report of an incident, or a follow-up (the incident as
/// it stands, with the new entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub incident: Incident,
    /// `None`: the first report.
    pub follow_up: Option<FollowUp>,
}

#[derive(Serialize)]
struct ReportBody<'a> {
    /// `first` or `follow-up`.
    report: &'static str,
    #[serde(flatten)]
    incident: &'a Incident,
    #[serde(skip_serializing_if = "Option::is_none")]
    follow_up: Option<&'a FollowUp>,
}

impl Report {
    /// The webhook's JSON body: `{"report": "first"|"follow-up", …the incident…, "follow_up":
    /// {…}}` (the incident's fields at the top level, `id` among them).
    pub fn to_json(&self) -> String {
        let body = ReportBody {
            report: if self.follow_up.is_some() {
                "follow-up"
            } else {
                "first"
            },
            incident: &self.incident,
            follow_up: self.follow_up.as_ref(),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}

/// What changed since the caller last asked.
#[derive(Debug, Default)]
pub struct Changes {
    /// Every incident that changed, as it stands now (to persist), oldest first.
    pub changed: Vec<Incident>,
    /// First reports and follow-ups, in order (to deliver).
    pub reports: Vec<Report>,
}

/// An operator's order about an incident (`bgpsieve ctl incident mark|comment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentOrder {
    /// Sets the marks given (`None`: left as they are).
    Mark {
        id: u64,
        publish: Option<bool>,
        share_operators: Option<bool>,
        share_regulator: Option<bool>,
    },
    /// Sets (replaces) the comment.
    Comment { id: u64, text: String },
}

/// Why an order was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("no incident {0}")]
    NotFound(u64),
    #[error("{0}")]
    Invalid(String),
}

/// The neighbor an event is about, and its pair's router.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The pair's position.
    pub index: usize,
    pub name: &'a str,
    pub asn: Asn,
    pub router: IpAddr,
    pub router_asn: Asn,
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Warn => "warn",
        Action::DropExcess => "drop-excess",
        Action::Teardown => "teardown",
    }
}

/// One announcement from a neighbor, as the incident watch keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub prefix: IpNet,
    pub origin: Option<Asn>,
    /// Rejected by a check or a limit.
    pub rejected: bool,
    /// Passed on to the router.
    pub reached_router: bool,
}

/// Per neighbor: recent announcements and the rejection count of the current minute.
#[derive(Debug, Default)]
struct Watch {
    recent: VecDeque<(u64, Seen)>,
    rejected_minute: u64,
    rejected: u32,
    spiked: bool,
}

/// The counters of an open incident, cheap to keep up to date on every announcement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    announcements: u64,
    rejected: u64,
    reached: u64,
    prefixes: usize,
    origins: usize,
}

/// What an open incident is made of, while it is open (not persisted: after a restart the
/// figures stay as last reported).
#[derive(Debug)]
struct Tracker {
    peer: usize,
    prefixes: HashSet<IpNet>,
    origins: HashSet<u32>,
    counts: Counts,
    reached_before_trip: u64,
    lower_bounds: bool,
    /// The counts of the last report, and when the last `counts` follow-up (or the opening)
    /// was.
    reported: Counts,
    reported_at: i64,
}

impl Tracker {
    fn add(&mut self, s: &Seen) {
        self.counts.announcements += 1;
        self.counts.rejected += u64::from(s.rejected);
        self.counts.reached += u64::from(s.reached_router);
        if self.prefixes.len() < TRACKED {
            self.prefixes.insert(s.prefix);
        } else if !self.prefixes.contains(&s.prefix) {
            self.lower_bounds = true;
        }
        if let Some(o) = s.origin {
            if self.origins.len() < TRACKED {
                self.origins.insert(o.0);
            } else if !self.origins.contains(&o.0) {
                self.lower_bounds = true;
            }
        }
        self.counts.prefixes = self.prefixes.len();
        self.counts.origins = self.origins.len();
    }

    /// The figures now (the address space is computed here, not per announcement).
    fn impact(&self) -> Impact {
        Impact {
            announcements: self.counts.announcements,
            routes_rejected: self.counts.rejected,
            reached_router: self.counts.reached,
            reached_router_before_trip: self.reached_before_trip,
            prefixes: self.prefixes.len() as u64,
            space: covered(&self.prefixes),
            origin_ases: self.origins.len() as u64,
            lower_bounds: self.lower_bounds,
        }
    }
}

/// Every incident and what is needed to make the next ones.
#[derive(Debug)]
pub struct Incidents {
    list: VecDeque<Incident>,
    next_id: u64,
    watch: Vec<Watch>,
    /// Open incidents' trackers, by id.
    open: HashMap<u64, Tracker>,
    /// More rejections than this from one neighbor within a minute open an incident.
    pub rejections_per_min: Option<u32>,
    keep: usize,
    changed: BTreeSet<u64>,
    reports: Vec<Report>,
}

impl Default for Incidents {
    fn default() -> Incidents {
        Incidents::new(0, None)
    }
}

impl Incidents {
    /// Watches one more pair (added by a reload, in the next slot).
    pub fn add_peer(&mut self) {
        self.watch.push(Watch::default());
    }

    pub fn new(peers: usize, rejections_per_min: Option<u32>) -> Incidents {
        Incidents {
            list: VecDeque::new(),
            next_id: 0,
            watch: (0..peers).map(|_| Watch::default()).collect(),
            open: HashMap::new(),
            rejections_per_min,
            keep: DEFAULT_KEEP,
            changed: BTreeSet::new(),
            reports: Vec::new(),
        }
    }

    /// How many incidents are kept (at least one); the oldest go first.
    pub fn set_keep(&mut self, keep: usize) {
        self.keep = keep.max(1);
        self.trim();
    }

    fn trim(&mut self) {
        while self.list.len() > self.keep {
            if let Some(old) = self.list.pop_front() {
                self.open.remove(&old.id);
            }
        }
    }

    /// Takes the incidents of an earlier run (loaded from the state directory), oldest first:
    /// new ids continue after theirs. One still open gets a `restarted` follow-up; its figures
    /// stay as last reported, and it resolves as any other (its session's return, or a minute
    /// after it opened if it did not close the session).
    pub fn restore(&mut self, mut loaded: Vec<Incident>, unix_now: i64) {
        loaded.sort_by_key(|i| i.id);
        loaded.dedup_by_key(|i| i.id);
        self.next_id = self
            .next_id
            .max(loaded.last().map_or(0, |i| i.id))
            .max(self.list.back().map_or(0, |i| i.id));
        for mut i in loaded {
            if i.is_open() {
                let entry = FollowUp {
                    at: unix_now,
                    kind: "restarted".into(),
                    text: "bgpsieve restarted while the incident was open; its figures are \
                           those reported before the restart"
                        .into(),
                    impact: None,
                };
                i.follow_up(entry.clone());
                self.changed.insert(i.id);
                self.reports.push(Report {
                    incident: i.clone(),
                    follow_up: Some(entry),
                });
            }
            self.list.push_back(i);
        }
        self.trim();
    }

    /// The latest incidents, newest first.
    pub fn list(&self) -> Vec<Incident> {
        self.list.iter().rev().cloned().collect()
    }

    /// One incident.
    pub fn get(&self, id: u64) -> Option<&Incident> {
        self.list.iter().find(|i| i.id == id)
    }

    /// What changed since the last call: the incidents to persist and the reports to deliver.
    pub fn take_changes(&mut self) -> Changes {
        let ids = std::mem::take(&mut self.changed);
        Changes {
            changed: self
                .list
                .iter()
                .filter(|i| ids.contains(&i.id))
                .cloned()
                .collect(),
            reports: std::mem::take(&mut self.reports),
        }
    }

    /// Whether something changed since [`Incidents::take_changes`] was last called.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty() || !self.reports.is_empty()
    }

    /// A neighbor's announcement at `now` (seconds on the RIB's clock), with its outcome.
    pub fn announced(&mut self, peer: usize, now: u64, seen: Seen) {
        if let Some(w) = self.watch.get_mut(peer) {
            if w.recent.len() == RECENT {
                w.recent.pop_front();
            }
            w.recent.push_back((now, seen));
        }
        if self.open.is_empty() {
            return;
        }
        for t in self.open.values_mut().filter(|t| t.peer == peer) {
            t.add(&seen);
        }
    }

    /// A route of the neighbor was rejected; returns the incident a spike opens.
    pub fn rejected(&mut self, who: &Who, now: u64, unix_now: i64) -> Option<Incident> {
        let limit = self.rejections_per_min?;
        let w = self.watch.get_mut(who.index)?;
        let minute = now / 60;
        if w.rejected_minute != minute {
            w.rejected_minute = minute;
            w.rejected = 0;
            w.spiked = false;
        }
        w.rejected += 1;
        if w.rejected <= limit || w.spiked {
            return None;
        }
        w.spiked = true;
        let detail = format!("more than {limit} rejected routes within a minute");
        Some(self.open(who, now, unix_now, "rejection-spike", detail, "none"))
    }

    /// A limit or burst guard of the neighbor tripped; returns the new incident.
    pub fn tripped(
        &mut self,
        who: &Who,
        now: u64,
        unix_now: i64,
        kind: TripKind,
        action: Action,
    ) -> Incident {
        let (kind_name, detail) = match kind {
            TripKind::Limit { afi, limit, count } => {
                ("max-prefix", format!("{afi} prefixes {count} over the limit of {limit}"))
            }
            TripKind::BurstNew { limit, count } => (
                "burst-new",
                format!("{count} new prefixes within a minute, over the limit of {limit}"),
            ),
            TripKind::BurstMoreSpecific { limit, count } => (
                "burst-more-specific",
                format!(
                    "{count} more-specifics of known prefixes within a minute, over the limit of {limit}"
                ),
            ),
        };
        self.open(who, now, unix_now, kind_name, detail, action_name(action))
    }

    /// The session of the neighbor `name` is up again: its open incidents get a follow-up
    /// and are resolved.
    pub fn session_up(&mut self, name: &str, unix_now: i64) {
        let ids = self.open_ids(|i| i.peer == name);
        for id in ids {
            self.add_follow_up(
                id,
                unix_now,
                "session-up",
                "the neighbor's session is up again".into(),
            );
            self.resolve(id, unix_now, "the neighbor's session is back");
        }
    }

    /// An operator cleared the neighbor's hold (`bgpsieve ctl clear`): a follow-up for each of
    /// its open incidents.
    pub fn cleared(&mut self, name: &str, unix_now: i64) {
        for id in self.open_ids(|i| i.peer == name) {
            self.add_follow_up(
                id,
                unix_now,
                "cleared",
                "an operator cleared the hold (bgpsieve ctl clear): the session starts again"
                    .into(),
            );
        }
    }

    /// Once a second: incidents that did not close a session resolve a minute after they
    /// opened; an open incident whose figures grew gets a `counts` follow-up, at most one a
    /// minute ([`COUNTS_EVERY`]).
    pub fn tick(&mut self, unix_now: i64) {
        let due = self.open_ids(|i| i.action != "teardown" && unix_now - i.start >= 60);
        for id in due {
            self.resolve(id, unix_now, "no new trip within a minute");
        }
        let grown: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, t)| t.counts != t.reported && unix_now - t.reported_at >= COUNTS_EVERY)
            .map(|(id, _)| *id)
            .collect();
        for id in grown {
            let Some(t) = self.open.get_mut(&id) else {
                continue;
            };
            let before = t.reported;
            t.reported = t.counts;
            t.reported_at = unix_now;
            let impact = t.impact();
            let text = format!(
                "the figures grew: {} announcements (+{}), {} rejected (+{}), {} prefixes (+{}), \
                 {} origin ASes",
                impact.announcements,
                t.counts.announcements.saturating_sub(before.announcements),
                impact.routes_rejected,
                t.counts.rejected.saturating_sub(before.rejected),
                impact.prefixes,
                t.counts.prefixes.saturating_sub(before.prefixes),
                impact.origin_ases,
            );
            if let Some(i) = self.list.iter_mut().find(|i| i.id == id) {
                i.impact = impact;
            }
            self.push_follow_up(
                id,
                FollowUp {
                    at: unix_now,
                    kind: "counts".into(),
                    text,
                    impact: Some(impact),
                },
            );
        }
    }

    /// Carries out an operator's order; `Ok` says what was done.
    pub fn order(&mut self, order: IncidentOrder, unix_now: i64) -> Result<String, OrderError> {
        let id = match &order {
            IncidentOrder::Mark { id, .. } | IncidentOrder::Comment { id, .. } => *id,
        };
        let i = self
            .list
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or(OrderError::NotFound(id))?;
        let message = match order {
            IncidentOrder::Mark {
                publish,
                share_operators,
                share_regulator,
                ..
            } => {
                if publish.is_none() && share_operators.is_none() && share_regulator.is_none() {
                    return Err(OrderError::Invalid("no mark given".into()));
                }
                let m = &mut i.marks;
                m.publish = publish.or(m.publish);
                m.share_operators = share_operators.or(m.share_operators);
                m.share_regulator = share_regulator.or(m.share_regulator);
                m.updated_at = Some(unix_now);
                format!(
                    "incident {id}: publish {}, share with operators {}, share with the regulator {}",
                    yes_no(m.publish),
                    yes_no(m.share_operators),
                    yes_no(m.share_regulator)
                )
            }
            IncidentOrder::Comment { text, .. } => {
                check_comment(&text).map_err(OrderError::Invalid)?;
                i.comment = Some(Comment { text, at: unix_now });
                format!("incident {id}: comment set")
            }
        };
        self.changed.insert(id);
        Ok(message)
    }

    fn open_ids(&self, pick: impl Fn(&Incident) -> bool) -> Vec<u64> {
        self.list
            .iter()
            .filter(|i| i.is_open() && pick(i))
            .map(|i| i.id)
            .collect()
    }

    fn push_follow_up(&mut self, id: u64, entry: FollowUp) {
        let Some(i) = self.list.iter_mut().find(|i| i.id == id) else {
            return;
        };
        i.follow_up(entry.clone());
        self.changed.insert(id);
        self.reports.push(Report {
            incident: i.clone(),
            follow_up: Some(entry),
        });
    }

    fn add_follow_up(&mut self, id: u64, unix_now: i64, kind: &str, text: String) {
        let entry = FollowUp {
            at: unix_now,
            kind: kind.into(),
            text,
            impact: None,
        };
        self.push_follow_up(id, entry);
    }

    /// Ends an open incident with its final figures.
    fn resolve(&mut self, id: u64, unix_now: i64, text: &str) {
        let tracker = self.open.remove(&id);
        let Some(i) = self.list.iter_mut().find(|i| i.id == id) else {
            return;
        };
        if let Some(t) = tracker {
            i.impact = t.impact();
        }
        i.state = "resolved".into();
        i.resolved_at = Some(unix_now);
        let impact = Some(i.impact);
        self.push_follow_up(
            id,
            FollowUp {
                at: unix_now,
                kind: "resolved".into(),
                text: text.into(),
                impact,
            },
        );
    }

    fn open(
        &mut self,
        who: &Who,
        now: u64,
        unix_now: i64,
        kind: &str,
        detail: String,
        action: &str,
    ) -> Incident {
        let (recent, full): (Vec<&Seen>, bool) = self
            .watch
            .get(who.index)
            .map(|w| {
                let recent: Vec<&Seen> = w
                    .recent
                    .iter()
                    .filter(|(t, _)| now.saturating_sub(*t) < 60)
                    .map(|(_, s)| s)
                    .collect();
                // The whole buffer within the minute: older ones of it were forgotten.
                let full = w.recent.len() == RECENT && recent.len() == RECENT;
                (recent, full)
            })
            .unwrap_or_default();
        let mut origins: BTreeMap<u32, usize> = BTreeMap::new();
        for s in &recent {
            if let Some(o) = s.origin {
                *origins.entry(o.0).or_default() += 1;
            }
        }
        let mut origins: Vec<(u32, usize)> = origins.into_iter().collect();
        origins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        origins.truncate(TOP_ORIGINS);
        let mut tracker = Tracker {
            peer: who.index,
            prefixes: HashSet::new(),
            origins: HashSet::new(),
            counts: Counts::default(),
            reached_before_trip: 0,
            lower_bounds: full,
            reported: Counts::default(),
            reported_at: unix_now,
        };
        for s in &recent {
            tracker.add(s);
        }
        tracker.reached_before_trip = tracker.counts.reached;
        tracker.reported = tracker.counts;
        self.next_id += 1;
        let incident = Incident {
            id: self.next_id,
            start: unix_now,
            peer: who.name.to_string(),
            peer_asn: who.asn.0,
            kind: kind.into(),
            detail,
            action: action.into(),
            announcements_last_minute: recent.len(),
            prefixes: distinct_newest(recent.iter().map(|s| s.prefix), SAMPLE),
            origins,
            state: "open".into(),
            resolved_at: None,
            router: Some(who.router),
            router_asn: who.router_asn.0,
            impact: tracker.impact(),
            follow_ups: Vec::new(),
            marks: Marks::default(),
            comment: None,
        };
        self.open.insert(incident.id, tracker);
        self.list.push_back(incident.clone());
        self.trim();
        self.changed.insert(incident.id);
        self.reports.push(Report {
            incident: incident.clone(),
            follow_up: None,
        });
        incident
    }
}

/// `yes`, `no` or `not decided`.
pub fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not decided",
    }
}

/// A comment must be non-empty, at most [`MAX_COMMENT`] bytes, without control characters
/// other than newlines and tabs.
pub fn check_comment(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("the comment is empty".into());
    }
    if text.len() > MAX_COMMENT {
        return Err(format!(
            "the comment is {} bytes long, more than {MAX_COMMENT}",
            text.len()
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("the comment holds control characters".into());
    }
    Ok(())
}

/// Up to `n` distinct prefixes of `oldest_first`, newest first (a flapping prefix is
/// announced many times but is one prefix of the incident).
fn distinct_newest(oldest_first: impl DoubleEndedIterator<Item = IpNet>, n: usize) -> Vec<IpNet> {
    let mut seen = std::collections::HashSet::new();
    oldest_first
        .rev()
        .filter(|p| seen.insert(*p))
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests;
