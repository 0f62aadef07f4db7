//! `bgpsieve ctl incident`: the incidents as a table, and one incident as a plain-text report
//! an operator can paste into an e-mail (to the regulator, a peer, the neighbor): when, where,
//! what happened, impact, response, follow-ups, sharing marks, comment.

use super::{humanize, utc, Table};
use crate::api::{yes_no, Incident};
use std::fmt::Write as _;

/// The incidents, newest first, one a row.
pub(super) fn table(rows: &[Incident]) -> String {
    if rows.is_empty() {
        return "no incidents\n".into();
    }
    let mut t = Table::new(&[
        ("ID", true),
        ("START (UTC)", false),
        ("PEER", false),
        ("KIND", false),
        ("ACTION", false),
        ("STATE", false),
        ("ROUTES/MIN", true),
        ("REJECTED", true),
        ("PREFIXES", true),
        ("TOP ORIGINS", false),
        ("DETAIL", false),
    ]);
    for r in rows {
        let origins: Vec<String> = r
            .origins
            .iter()
            .take(3)
            .map(|(asn, n)| format!("AS{asn} ({n})"))
            .collect();
        t.row(vec![
            r.id.to_string(),
            utc(r.start),
            format!("{} (AS{})", r.peer, r.peer_asn),
            r.kind.clone(),
            r.action.clone(),
            r.state.clone(),
            r.announcements_last_minute.to_string(),
            r.impact.routes_rejected.to_string(),
            r.impact.prefixes.to_string(),
            origins.join(", "),
            r.detail.clone(),
        ]);
    }
    let mut out = t.render(true);
    if let Some(latest) = rows.first() {
        let sample: Vec<String> = latest
            .prefixes
            .iter()
            .take(10)
            .map(|p| p.to_string())
            .collect();
        let _ = writeln!(out, "latest incident's prefixes: {}", sample.join(" "));
    }
    out
}

/// What the action did, in words.
fn response(action: &str) -> &'static str {
    match action {
        "teardown" => "the session with the neighbor was closed (NOTIFICATION Cease/1)",
        "drop-excess" => "routes over the limit were dropped; the session stayed up",
        "warn" => "logged only: the neighbor's routes kept flowing to the router",
        _ => "reported only: rejected routes were rejected, the session stayed up",
    }
}

/// One incident as a plain-text report, lines of at most about 100 characters.
pub(super) fn report(i: &Incident, now: i64) -> String {
    let mut o = String::new();
    let title = format!("Leak incident {} ({}, AS{})", i.id, i.peer, i.peer_asn);
    let _ = writeln!(o, "{title}\n{}", "=".repeat(title.chars().count()));

    let _ = writeln!(o, "\nWhen");
    let _ = writeln!(o, "  Started:  {} UTC", utc(i.start));
    match i.resolved_at {
        Some(end) => {
            let _ = writeln!(
                o,
                "  Ended:    {} UTC (after {})",
                utc(end),
                humanize(end - i.start)
            );
        }
        None => {
            let _ = writeln!(
                o,
                "  Ended:    not yet (open for {})",
                humanize(now - i.start)
            );
        }
    }

    let _ = writeln!(o, "\nWhere");
    let _ = writeln!(o, "  Neighbor: {}, AS{}", i.peer, i.peer_asn);
    match i.router {
        Some(r) => {
            let _ = writeln!(
                o,
                "  Router:   {r}, AS{} (the reporting network)",
                i.router_asn
            );
        }
        None => {
            let _ = writeln!(o, "  Router:   AS{}", i.router_asn);
        }
    }

    let _ = writeln!(o, "\nWhat happened");
    let _ = writeln!(o, "  {}: {}", i.kind, i.detail);
    let origins: Vec<String> = i
        .origins
        .iter()
        .map(|(asn, n)| format!("AS{asn} ({n})"))
        .collect();
    let _ = writeln!(
        o,
        "  Announcements from the neighbor in the minute before: {}",
        i.announcements_last_minute
    );
    if !origins.is_empty() {
        wrap(&mut o, "  Most frequent origins: ", &origins);
    }
    if !i.prefixes.is_empty() {
        let prefixes: Vec<String> = i.prefixes.iter().map(|p| p.to_string()).collect();
        wrap(&mut o, "  Latest prefixes: ", &prefixes);
    }

    let m = &i.impact;
    let as_of = i
        .follow_ups
        .iter()
        .rev()
        .find(|f| f.impact.is_some())
        .map_or(i.start, |f| f.at);
    let _ = writeln!(o, "\nImpact (as of {} UTC)", utc(as_of));
    let _ = writeln!(o, "  Announcements:       {}", m.announcements);
    let _ = writeln!(o, "  Routes rejected:     {}", m.routes_rejected);
    let _ = writeln!(o, "  Distinct prefixes:   {}", m.prefixes);
    let _ = writeln!(
        o,
        "  Address space:       {} /24 equivalents ({} IPv4 addresses), {} /48 equivalents (IPv6)",
        m.space.ipv4_slash24, m.space.ipv4_addresses, m.space.ipv6_slash48
    );
    let _ = writeln!(o, "  Origin ASes:         {}", m.origin_ases);
    let reached = if m.reached_router == 0 {
        "none".to_string()
    } else {
        format!(
            "yes: {} routes, {} of them before the trip",
            m.reached_router, m.reached_router_before_trip
        )
    };
    let _ = writeln!(o, "  Reached the router:  {reached}");
    if m.lower_bounds {
        let _ = writeln!(
            o,
            "  (more routes than bgpsieve tracks per incident: these figures are lower bounds)"
        );
    }

    let _ = writeln!(o, "\nResponse");
    let _ = writeln!(o, "  Action:   {}: {}", i.action, response(&i.action));
    let _ = writeln!(o, "  State:    {}", i.state);

    let _ = writeln!(o, "\nFollow-ups");
    if i.follow_ups.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for f in &i.follow_ups {
        let _ = writeln!(o, "  {} UTC  {}: {}", utc(f.at), f.kind, f.text);
    }

    let marks = &i.marks;
    let _ = writeln!(o, "\nSharing");
    let _ = writeln!(
        o,
        "  May be published:                    {}",
        yes_no(marks.publish)
    );
    let _ = writeln!(
        o,
        "  May be shared with other operators:  {}",
        yes_no(marks.share_operators)
    );
    let _ = writeln!(
        o,
        "  May be shared with the regulator:    {}",
        yes_no(marks.share_regulator)
    );
    if let Some(at) = marks.updated_at {
        let _ = writeln!(o, "  (marked {} UTC)", utc(at));
    }

    if let Some(c) = &i.comment {
        let _ = writeln!(o, "\nComment ({} UTC)", utc(c.at));
        for line in c.text.lines() {
            let _ = writeln!(o, "  {line}");
        }
    }
    o
}

/// `head` then `items` separated by spaces, continued on indented lines past 100 characters.
fn wrap(o: &mut String, head: &str, items: &[String]) {
    let indent = " ".repeat(head.len());
    let mut line = head.to_string();
    let mut first = true;
    for item in items {
        if !first && line.len() + 1 + item.len() > 100 {
            let _ = writeln!(o, "{}", line.trim_end());
            line = indent.clone();
            first = true;
        }
        if !first {
            line.push(' ');
        }
        line.push_str(item);
        first = false;
    }
    let _ = writeln!(o, "{}", line.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Comment, FollowUp, Impact, Marks, Space};

    fn incident() -> Incident {
        Incident {
            id: 7,
            start: 1_700_000_000,
            peer: "customer-a".into(),
            peer_asn: 64496,
            kind: "max-prefix".into(),
            detail: "ipv4 prefixes 6 over the limit of 5".into(),
            action: "teardown".into(),
            announcements_last_minute: 6,
            prefixes: vec![
                "192.0.2.0/24".parse().unwrap(),
                "198.51.100.0/24".parse().unwrap(),
            ],
            origins: vec![(64496, 5), (64511, 1)],
            state: "resolved".into(),
            resolved_at: Some(1_700_000_300),
            router: Some("192.0.2.254".parse().unwrap()),
            router_asn: 64500,
            impact: Impact {
                announcements: 6,
                routes_rejected: 1,
                reached_router: 5,
                reached_router_before_trip: 5,
                prefixes: 6,
                space: Space {
                    ipv4_addresses: 1536,
                    ipv4_slash24: 6,
                    ipv6_slash48: 0,
                },
                origin_ases: 2,
                lower_bounds: false,
            },
            follow_ups: vec![
                FollowUp {
                    at: 1_700_000_200,
                    kind: "cleared".into(),
                    text: "an operator cleared the hold".into(),
                    impact: None,
                },
                FollowUp {
                    at: 1_700_000_300,
                    kind: "resolved".into(),
                    text: "the neighbor's session is back".into(),
                    impact: None,
                },
            ],
            marks: Marks {
                publish: Some(false),
                share_operators: None,
                share_regulator: Some(true),
                updated_at: Some(1_700_000_400),
            },
            comment: Some(Comment {
                text: "customer fixed its export filter\nticket 4711".into(),
                at: 1_700_000_500,
            }),
        }
    }

    #[test]
    fn the_report_says_when_where_what_impact_response_follow_ups_sharing_and_comment() {
        let r = report(&incident(), 1_700_001_000);
        let want = "\
Leak incident 7 (customer-a, AS64496)
=====================================

When
  Started:  2023-11-14 22:13:20 UTC
  Ended:    2023-11-14 22:18:20 UTC (after 5m0s)

Where
  Neighbor: customer-a, AS64496
  Router:   192.0.2.254, AS64500 (the reporting network)

What happened
  max-prefix: ipv4 prefixes 6 over the limit of 5
  Announcements from the neighbor in the minute before: 6
  Most frequent origins: AS64496 (5) AS64511 (1)
  Latest prefixes: 192.0.2.0/24 198.51.100.0/24

Impact (as of 2023-11-14 22:13:20 UTC)
  Announcements:       6
  Routes rejected:     1
  Distinct prefixes:   6
  Address space:       6 /24 equivalents (1536 IPv4 addresses), 0 /48 equivalents (IPv6)
  Origin ASes:         2
  Reached the router:  yes: 5 routes, 5 of them before the trip

Response
  Action:   teardown: the session with the neighbor was closed (NOTIFICATION Cease/1)
  State:    resolved

Follow-ups
  2023-11-14 22:16:40 UTC  cleared: an operator cleared the hold
  2023-11-14 22:18:20 UTC  resolved: the neighbor's session is back

Sharing
  May be published:                    no
  May be shared with other operators:  not decided
  May be shared with the regulator:    yes
  (marked 2023-11-14 22:20:00 UTC)

Comment (2023-11-14 22:21:40 UTC)
  customer fixed its export filter
  ticket 4711
";
        assert_eq!(r, want);
    }

    #[test]
    fn an_open_incident_says_so_and_long_lists_wrap() {
        let mut i = incident();
        i.resolved_at = None;
        i.state = "open".into();
        i.prefixes = (0..40)
            .map(|k| format!("10.0.{k}.0/24").parse().unwrap())
            .collect();
        let r = report(&i, 1_700_000_125);
        assert!(r.contains("  Ended:    not yet (open for 2m5s)\n"), "{r}");
        assert!(r.lines().all(|l| l.chars().count() <= 100), "{r}");
        assert!(r.contains("\n                   10.0."), "{r}");
        assert!(r.contains("10.0.39.0/24"));
    }

    #[test]
    fn the_table_lists_newest_first_with_the_impact() {
        let t = table(&[incident()]);
        let mut lines = t.lines();
        assert!(lines.next().unwrap().starts_with("ID  START (UTC)"), "{t}");
        let row = lines.next().unwrap();
        assert!(
            row.contains("customer-a (AS64496)") && row.contains("resolved"),
            "{t}"
        );
        assert_eq!(table(&[]), "no incidents\n");
    }
}
