//! Leak incidents (DESIGN §3, issue 5): when a neighbor trips a max-prefix limit or its burst
//! guard, or its rejections spike, an incident records when it started, who, what tripped,
//! which prefixes and origins were involved, what was done, and whether it is still open. A
//! NOC gets it as one JSON log line it can forward as it is; the API lists the latest.
//! Sans-IO: the RIB reports announcements and trips along its clock; delivery (log, webhook)
//! is the caller's.

use crate::policy::{Action, TripKind};
use crate::types::Asn;
use ipnet::IpNet;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Announcements remembered per neighbor, to say what an incident was made of.
const RECENT: usize = 1000;
/// Prefixes an incident lists (a sample of the most recent).
const SAMPLE: usize = 50;
/// Origins an incident lists (the most frequent).
const TOP_ORIGINS: usize = 10;
/// Incidents kept for the API.
const KEPT: usize = 100;

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: u64,
    /// Unix time it started.
    pub start: i64,
    pub peer: String,
    pub peer_asn: u32,
    /// `max-prefix`, `burst-new`, `burst-more-specific`, `rejection-spike`.
    pub kind: &'static str,
    /// What was exceeded, in words.
    pub detail: String,
    /// `teardown`, `drop-excess`, `warn`, or `none` (a spike is only reported).
    pub action: &'static str,
    /// Announcements from the neighbor within the minute before it started.
    pub announcements_last_minute: usize,
    /// The most recent prefixes involved (at most 50).
    pub prefixes: Vec<IpNet>,
    /// The most frequent origin ASes among them, with counts.
    pub origins: Vec<(u32, usize)>,
    /// `open`, or `resolved` once the neighbor's session has come back or a minute has passed
    /// without a new trip.
    pub state: &'static str,
    pub resolved_at: Option<i64>,
}

impl Incident {
    /// The one-line JSON form for logs and the webhook.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Warn => "warn",
        Action::DropExcess => "drop-excess",
        Action::Teardown => "teardown",
    }
}

/// Per neighbor: recent announcements and the rejection count of the current minute.
#[derive(Debug, Default)]
struct Watch {
    recent: VecDeque<(u64, IpNet, Option<Asn>)>,
    rejected_minute: u64,
    rejected: u32,
    spiked: bool,
}

/// Every incident and what is needed to make the next ones.
#[derive(Debug, Default)]
pub struct Incidents {
    list: VecDeque<Incident>,
    next_id: u64,
    watch: Vec<Watch>,
    /// More rejections than this from one neighbor within a minute open an incident.
    pub rejections_per_min: Option<u32>,
}

impl Incidents {
    pub fn new(peers: usize, rejections_per_min: Option<u32>) -> Incidents {
        Incidents {
            watch: (0..peers).map(|_| Watch::default()).collect(),
            rejections_per_min,
            ..Incidents::default()
        }
    }

    /// The latest incidents, newest first.
    pub fn list(&self) -> Vec<Incident> {
        self.list.iter().rev().cloned().collect()
    }

    /// A neighbor announced `prefix` (origin `origin`) at `now` (seconds on the RIB's clock).
    pub fn announced(&mut self, peer: usize, now: u64, prefix: IpNet, origin: Option<Asn>) {
        if let Some(w) = self.watch.get_mut(peer) {
            if w.recent.len() == RECENT {
                w.recent.pop_front();
            }
            w.recent.push_back((now, prefix, origin));
        }
    }

    /// A route of `peer` was rejected; returns the incident a spike opens.
    pub fn rejected(
        &mut self,
        peer: usize,
        name: &str,
        asn: Asn,
        now: u64,
        unix_now: i64,
    ) -> Option<Incident> {
        let limit = self.rejections_per_min?;
        let w = self.watch.get_mut(peer)?;
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
        Some(self.open(
            peer,
            name,
            asn,
            now,
            unix_now,
            "rejection-spike",
            detail,
            "none",
        ))
    }

    /// A limit or burst guard of `peer` tripped; returns the new incident.
    #[allow(clippy::too_many_arguments)]
    pub fn tripped(
        &mut self,
        peer: usize,
        name: &str,
        asn: Asn,
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
        self.open(
            peer,
            name,
            asn,
            now,
            unix_now,
            kind_name,
            detail,
            action_name(action),
        )
    }

    /// The session of `peer` is up again: its open incidents are resolved.
    pub fn session_up(&mut self, name: &str, unix_now: i64) {
        for i in self
            .list
            .iter_mut()
            .filter(|i| i.peer == name && i.state == "open")
        {
            i.state = "resolved";
            i.resolved_at = Some(unix_now);
        }
    }

    /// Incidents that did not close a session resolve a minute after they opened.
    pub fn tick(&mut self, unix_now: i64) {
        for i in self.list.iter_mut() {
            if i.state == "open" && i.action != "teardown" && unix_now - i.start >= 60 {
                i.state = "resolved";
                i.resolved_at = Some(unix_now);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        peer: usize,
        name: &str,
        asn: Asn,
        now: u64,
        unix_now: i64,
        kind: &'static str,
        detail: String,
        action: &'static str,
    ) -> Incident {
        let recent: Vec<&(u64, IpNet, Option<Asn>)> = self
            .watch
            .get(peer)
            .map(|w| {
                w.recent
                    .iter()
                    .filter(|(t, _, _)| now.saturating_sub(*t) < 60)
                    .collect()
            })
            .unwrap_or_default();
        let mut origins: BTreeMap<u32, usize> = BTreeMap::new();
        for (_, _, o) in &recent {
            if let Some(o) = o {
                *origins.entry(o.0).or_default() += 1;
            }
        }
        let mut origins: Vec<(u32, usize)> = origins.into_iter().collect();
        origins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        origins.truncate(TOP_ORIGINS);
        self.next_id += 1;
        let incident = Incident {
            id: self.next_id,
            start: unix_now,
            peer: name.to_string(),
            peer_asn: asn.0,
            kind,
            detail,
            action,
            announcements_last_minute: recent.len(),
            prefixes: distinct_newest(recent.iter().map(|(_, p, _)| *p), SAMPLE),
            origins,
            state: "open",
            resolved_at: None,
        };
        if self.list.len() == KEPT {
            self.list.pop_front();
        }
        self.list.push_back(incident.clone());
        incident
    }
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
mod tests {
    use super::*;
    use crate::types::Afi;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn a_flapping_prefix_is_listed_once() {
        let mut inc = Incidents::new(1, Some(2));
        for t in 0..10u64 {
            let p = if t % 2 == 0 {
                "192.0.2.0/24"
            } else {
                "198.51.100.0/24"
            };
            inc.announced(0, t, net(p), Some(Asn(64500)));
        }
        inc.announced(0, 10, net("192.0.2.0/24"), Some(Asn(64500)));
        let mut opened = None;
        for _ in 0..3 {
            opened = opened.or(inc.rejected(0, "n", Asn(64500), 10, 1_000));
        }
        let i = opened.expect("3 rejections within a minute, over 2");
        assert_eq!(
            i.prefixes,
            vec![net("192.0.2.0/24"), net("198.51.100.0/24")]
        );
        assert_eq!(i.announcements_last_minute, 11);
    }

    #[test]
    fn a_trip_records_what_came_in_the_last_minute() {
        let mut inc = Incidents::new(2, None);
        inc.announced(0, 10, net("192.0.2.0/24"), Some(Asn(64500)));
        for i in 0..5u8 {
            inc.announced(0, 100, net(&format!("198.51.{i}.0/24")), Some(Asn(64501)));
        }
        inc.announced(0, 101, net("203.0.113.0/24"), Some(Asn(64502)));
        inc.announced(1, 101, net("10.0.0.0/8"), Some(Asn(1)));
        let i = inc.tripped(
            0,
            "transit",
            Asn(64496),
            110,
            1_700_000_000,
            TripKind::BurstNew { limit: 5, count: 6 },
            Action::Teardown,
        );
        assert_eq!(i.kind, "burst-new");
        assert_eq!(i.action, "teardown");
        assert_eq!(
            i.detail,
            "6 new prefixes within a minute, over the limit of 5"
        );
        assert_eq!(
            i.announcements_last_minute, 6,
            "the one 100 s earlier is not counted"
        );
        assert_eq!(
            i.prefixes.first(),
            Some(&net("203.0.113.0/24")),
            "newest first"
        );
        assert_eq!(i.origins, vec![(64501, 5), (64502, 1)]);
        assert_eq!(i.state, "open");
        let line = i.to_json();
        assert!(
            line.starts_with(
                r#"{"id":1,"start":1700000000,"peer":"transit","peer_asn":64496,"kind":"burst-new""#
            ),
            "{line}"
        );
        inc.session_up("transit", 1_700_000_600);
        assert_eq!(inc.list()[0].state, "resolved");
        assert_eq!(inc.list()[0].resolved_at, Some(1_700_000_600));
    }

    #[test]
    fn a_rejection_spike_opens_one_incident_per_minute() {
        let mut inc = Incidents::new(1, Some(3));
        let mut opened = Vec::new();
        for _ in 0..10 {
            opened.extend(inc.rejected(0, "peer", Asn(64500), 30, 1_700_000_000));
        }
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].kind, "rejection-spike");
        assert_eq!(opened[0].action, "none");
        opened.extend(inc.rejected(0, "peer", Asn(64500), 70, 1_700_000_040));
        assert_eq!(opened.len(), 1, "a new minute starts from zero");
        inc.tick(1_700_000_100);
        assert_eq!(inc.list()[0].state, "resolved");
    }

    #[test]
    fn limit_trips_say_which_family_and_how_many() {
        let mut inc = Incidents::new(1, None);
        let i = inc.tripped(
            0,
            "peer",
            Asn(64500),
            0,
            0,
            TripKind::Limit {
                afi: Afi::Ipv4,
                limit: 100,
                count: 101,
            },
            Action::DropExcess,
        );
        assert_eq!(i.detail, "ipv4 prefixes 101 over the limit of 100");
        assert_eq!(i.action, "drop-excess");
    }
}
