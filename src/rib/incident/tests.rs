use super::*;
use crate::types::Afi;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn who(index: usize, name: &str) -> Who<'_> {
    Who {
        index,
        name,
        asn: Asn(64496),
        router: "192.0.2.254".parse().unwrap(),
        router_asn: Asn(64500),
    }
}

fn seen(p: &str, origin: u32, rejected: bool, reached_router: bool) -> Seen {
    Seen {
        prefix: net(p),
        origin: Some(Asn(origin)),
        rejected,
        reached_router,
    }
}

fn burst(inc: &mut Incidents, now: u64, unix_now: i64, action: Action) -> Incident {
    inc.tripped(
        &who(0, "transit"),
        now,
        unix_now,
        TripKind::BurstNew { limit: 5, count: 6 },
        action,
    )
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
        inc.announced(0, t, seen(p, 64500, true, false));
    }
    inc.announced(0, 10, seen("192.0.2.0/24", 64500, true, false));
    let mut opened = None;
    for _ in 0..3 {
        opened = opened.or(inc.rejected(&who(0, "n"), 10, 1_000));
    }
    let i = opened.expect("3 rejections within a minute, over 2");
    assert_eq!(
        i.prefixes,
        vec![net("192.0.2.0/24"), net("198.51.100.0/24")]
    );
    assert_eq!(i.announcements_last_minute, 11);
    assert_eq!(i.impact.prefixes, 2);
    assert_eq!(i.impact.announcements, 11);
    assert_eq!(i.impact.routes_rejected, 11);
}

#[test]
fn a_trip_records_what_came_in_the_last_minute() {
    let mut inc = Incidents::new(2, None);
    inc.announced(0, 10, seen("192.0.2.0/24", 64500, false, true));
    for i in 0..5u8 {
        inc.announced(
            0,
            100,
            seen(&format!("198.51.{i}.0/24"), 64501, false, true),
        );
    }
    inc.announced(0, 101, seen("203.0.113.0/24", 64502, true, false));
    inc.announced(1, 101, seen("10.0.0.0/8", 1, false, true));
    let i = burst(&mut inc, 110, 1_700_000_000, Action::Teardown);
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
    assert_eq!(i.router, Some("192.0.2.254".parse().unwrap()));
    assert_eq!(i.router_asn, 64500);
    let line = i.to_json();
    assert!(
        line.starts_with(
            r#"{"id":1,"start":1700000000,"peer":"transit","peer_asn":64496,"kind":"burst-new""#
        ),
        "{line}"
    );
    inc.session_up("transit", 1_700_000_600);
    let i = &inc.list()[0];
    assert_eq!(i.state, "resolved");
    assert_eq!(i.resolved_at, Some(1_700_000_600));
    let kinds: Vec<&str> = i.follow_ups.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["session-up", "resolved"]);
}

#[test]
fn the_impact_counts_the_minute_before_and_what_came_while_open() {
    let mut inc = Incidents::new(2, None);
    // Under warn, three routes passed to the router before the trip; one was rejected.
    inc.announced(0, 100, seen("192.0.2.0/24", 64501, false, true));
    inc.announced(0, 100, seen("192.0.2.0/25", 64501, false, true));
    inc.announced(0, 101, seen("198.51.100.0/24", 64502, false, true));
    inc.announced(0, 101, seen("203.0.113.0/24", 64503, true, false));
    let i = burst(&mut inc, 101, 1_700_000_000, Action::Warn);
    assert_eq!(
        i.impact,
        Impact {
            announcements: 4,
            routes_rejected: 1,
            reached_router: 3,
            reached_router_before_trip: 3,
            prefixes: 4,
            space: Space {
                ipv4_addresses: 768,
                ipv4_slash24: 3,
                ipv6_slash48: 0
            },
            origin_ases: 3,
            lower_bounds: false,
        }
    );
    // While open: more routes, another family; another neighbor's do not count.
    inc.announced(0, 120, seen("2001:db8::/32", 64504, true, false));
    inc.announced(0, 120, seen("192.0.2.0/24", 64501, false, true));
    inc.announced(1, 120, seen("10.0.0.0/8", 1, false, true));
    inc.tick(1_700_000_061);
    let i = &inc.list()[0];
    assert_eq!(i.state, "resolved");
    let impact = i.impact;
    assert_eq!(impact.announcements, 6);
    assert_eq!(impact.routes_rejected, 2);
    assert_eq!(impact.reached_router, 4);
    assert_eq!(impact.reached_router_before_trip, 3);
    assert_eq!(impact.prefixes, 5);
    assert_eq!(impact.space.ipv6_slash48, 65536);
    assert_eq!(impact.origin_ases, 4);
    let last = i.follow_ups.last().unwrap();
    assert_eq!(last.kind, "resolved");
    assert_eq!(last.impact, Some(impact));
}

#[test]
fn counts_follow_ups_come_at_most_once_a_minute_while_the_figures_grow() {
    let mut inc = Incidents::new(1, None);
    let t0 = 1_700_000_000;
    burst(&mut inc, 0, t0, Action::Teardown);
    inc.take_changes();
    // Nothing grew: no follow-up, however long.
    inc.tick(t0 + 120);
    assert!(inc.list()[0].follow_ups.is_empty());
    for k in 0..200u32 {
        inc.announced(
            0,
            130,
            seen(
                &format!("10.{}.{}.0/24", k / 256, k % 256),
                64501,
                true,
                false,
            ),
        );
    }
    inc.tick(t0 + 121);
    let changes = inc.take_changes();
    assert_eq!(changes.reports.len(), 1);
    let f = changes.reports[0].follow_up.as_ref().unwrap();
    assert_eq!(f.kind, "counts");
    assert_eq!(f.impact.unwrap().announcements, 200);
    assert!(f.text.contains("200 announcements (+200)"), "{}", f.text);
    assert_eq!(changes.changed.len(), 1);
    // More within the minute: no follow-up until a minute has passed since the last one.
    inc.announced(0, 140, seen("10.9.0.0/24", 64502, true, false));
    for s in 122..181 {
        inc.tick(t0 + s);
    }
    assert!(inc.take_changes().reports.is_empty());
    inc.tick(t0 + 181);
    let changes = inc.take_changes();
    assert_eq!(changes.reports.len(), 1);
    let impact = changes.reports[0]
        .follow_up
        .as_ref()
        .unwrap()
        .impact
        .unwrap();
    assert_eq!((impact.announcements, impact.origin_ases), (201, 2));
    assert_eq!(
        inc.list()[0].impact,
        impact,
        "the record carries the new totals"
    );
}

#[test]
fn follow_ups_are_bounded_and_keep_the_session_s_return() {
    let mut inc = Incidents::new(1, None);
    let t0 = 1_700_000_000;
    burst(&mut inc, 0, t0, Action::Teardown);
    inc.cleared("transit", t0 + 1);
    for m in 1..=(MAX_FOLLOW_UPS as i64 + 20) {
        inc.announced(0, 0, seen(&format!("10.0.{m}.0/24"), 64501, true, false));
        inc.tick(t0 + 60 * m);
    }
    inc.session_up("transit", t0 + 100_000);
    let i = &inc.list()[0];
    assert_eq!(i.follow_ups.len(), MAX_FOLLOW_UPS);
    let kinds: Vec<&str> = i.follow_ups.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds[0], "cleared", "{kinds:?}");
    assert_eq!(&kinds[MAX_FOLLOW_UPS - 2..], ["session-up", "resolved"]);
    assert!(kinds[1..MAX_FOLLOW_UPS - 2].iter().all(|k| *k == "counts"));
}

#[test]
fn reports_say_which_they_are() {
    let mut inc = Incidents::new(1, None);
    let i = burst(&mut inc, 0, 1_700_000_000, Action::Teardown);
    inc.cleared("transit", 1_700_000_005);
    let changes = inc.take_changes();
    assert_eq!(changes.changed.len(), 1, "one incident, changed twice");
    let bodies: Vec<serde_json::Value> = changes
        .reports
        .iter()
        .map(|r| serde_json::from_str(&r.to_json()).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["report"], "first");
    assert_eq!(bodies[0]["id"], i.id);
    assert_eq!(bodies[0]["kind"], "burst-new");
    assert!(bodies[0].get("follow_up").is_none());
    assert_eq!(bodies[1]["report"], "follow-up");
    assert_eq!(bodies[1]["id"], i.id);
    assert_eq!(bodies[1]["follow_up"]["kind"], "cleared");
    assert!(!inc.has_changes());
}

#[test]
fn marks_and_comments_are_set_by_id() {
    let mut inc = Incidents::new(1, None);
    let i = burst(&mut inc, 0, 1_700_000_000, Action::Teardown);
    inc.take_changes();
    let mark = |publish, share_regulator| IncidentOrder::Mark {
        id: i.id,
        publish,
        share_operators: None,
        share_regulator,
    };
    let m = inc
        .order(mark(Some(false), Some(true)), 1_700_000_100)
        .unwrap();
    assert_eq!(
        m,
        "incident 1: publish no, share with operators not decided, share with the regulator yes"
    );
    // A later mark leaves the others as they are.
    inc.order(mark(Some(true), None), 1_700_000_200).unwrap();
    let marks = inc.get(i.id).unwrap().marks;
    assert_eq!(
        (marks.publish, marks.share_operators, marks.share_regulator),
        (Some(true), None, Some(true))
    );
    assert_eq!(marks.updated_at, Some(1_700_000_200));
    assert_eq!(
        inc.order(mark(None, None), 0),
        Err(OrderError::Invalid("no mark given".into()))
    );
    let comment = |id, text: &str| IncidentOrder::Comment {
        id,
        text: text.into(),
    };
    inc.order(
        comment(i.id, "customer fixed its filters\nticket #4711"),
        1_700_000_300,
    )
    .unwrap();
    assert_eq!(
        inc.get(i.id).unwrap().comment.as_ref().unwrap().text,
        "customer fixed its filters\nticket #4711"
    );
    assert_eq!(inc.order(comment(7, "x"), 0), Err(OrderError::NotFound(7)));
    assert!(inc.order(comment(i.id, " "), 0).is_err());
    assert!(inc.order(comment(i.id, "a\u{1b}[2J"), 0).is_err());
    assert!(inc
        .order(comment(i.id, &"x".repeat(MAX_COMMENT + 1)), 0)
        .is_err());
    let changes = inc.take_changes();
    assert_eq!(changes.changed.len(), 1, "marks and comments are persisted");
    assert!(changes.reports.is_empty(), "they are not follow-ups");
}

#[test]
fn restored_incidents_keep_their_ids_and_open_ones_say_so() {
    let mut before = Incidents::new(1, None);
    burst(&mut before, 0, 1_700_000_000, Action::Teardown);
    burst(&mut before, 0, 1_700_000_010, Action::Warn);
    before.tick(1_700_000_100);
    let mut saved = before.list();
    saved.reverse();
    let mut after = Incidents::new(1, None);
    after.restore(saved, 1_700_000_500);
    let next = burst(&mut after, 0, 1_700_000_600, Action::Warn);
    assert_eq!(next.id, 3, "ids continue after the restored ones");
    let restored = after.get(1).unwrap();
    assert!(restored.is_open());
    assert_eq!(restored.follow_ups.last().unwrap().kind, "restarted");
    assert_eq!(
        after.get(2).unwrap().follow_ups.last().unwrap().kind,
        "resolved"
    );
    // Its session comes back: resolved with the figures it had.
    after.session_up("transit", 1_700_000_700);
    assert_eq!(after.get(1).unwrap().state, "resolved");
}

#[test]
fn only_the_last_incidents_are_kept() {
    let mut inc = Incidents::new(1, None);
    inc.set_keep(3);
    for t in 0..5 {
        burst(&mut inc, 0, 1_700_000_000 + t, Action::Warn);
    }
    let ids: Vec<u64> = inc.list().iter().map(|i| i.id).collect();
    assert_eq!(ids, [5, 4, 3]);
}

#[test]
fn a_rejection_spike_opens_one_incident_per_minute() {
    let mut inc = Incidents::new(1, Some(3));
    let mut opened = Vec::new();
    for _ in 0..10 {
        opened.extend(inc.rejected(&who(0, "peer"), 30, 1_700_000_000));
    }
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].kind, "rejection-spike");
    assert_eq!(opened[0].action, "none");
    opened.extend(inc.rejected(&who(0, "peer"), 70, 1_700_000_040));
    assert_eq!(opened.len(), 1, "a new minute starts from zero");
    inc.tick(1_700_000_100);
    assert_eq!(inc.list()[0].state, "resolved");
}

#[test]
fn limit_trips_say_which_family_and_how_many() {
    let mut inc = Incidents::new(1, None);
    let i = inc.tripped(
        &who(0, "peer"),
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
