//! `bgpsieve ctl routes` (one peer's routes in one view) and `ctl route` (a prefix across every
//! peer): a table a route a line, or with `--detail` a block of every attribute per route (as
//! `birdc show route all`, `bgpctl show rib detail`).

use super::Table;
use crate::api::routes::{PeerRoutesBody, PrefixRoutesBody, RouteEntry};
use crate::rib::routes::{RouteMatch, View};
use std::fmt::Write as _;

/// What a view shows, for the line above its table.
fn view_title(v: View) -> &'static str {
    match v {
        View::In => "routes the neighbor sent, before policy",
        View::ToRouter => "routes the router was sent, as it got them",
        View::FromRouter => "routes the router sent for this neighbor, before export policy",
        View::Out => "routes the neighbor was sent, as it got them",
    }
}

/// Where the routes of a view's flow go, for the passed column and the counts.
fn goes_to(v: View) -> &'static str {
    match v.flow() {
        crate::types::Direction::In => "router",
        crate::types::Direction::Out => "neighbor",
    }
}

fn verdict(r: &RouteEntry) -> String {
    if r.accepted {
        "accepted".into()
    } else {
        let codes: Vec<&str> = r.reasons.iter().map(|r| r.code()).collect();
        format!("rejected: {}", codes.join(","))
    }
}

fn prefix(r: &RouteEntry) -> String {
    match r.path_id {
        Some(id) => format!("{} (path id {id})", r.prefix),
        None => r.prefix.to_string(),
    }
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn or_dash(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" ")
    }
}

/// Every attribute and the verdict of one route, a line each.
fn detail(r: &RouteEntry, out: &mut String) {
    let _ = writeln!(out, "{} from {} ({})", prefix(r), r.peer, r.view.as_str());
    let mut t = Table::new(&[("", false), ("", false)]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("  {k}:"), v]);
    kv("verdict", verdict(r));
    if r.rpki.is_some() || r.aspa.is_some() {
        kv(
            "rpki, aspa",
            format!(
                "{}, {}",
                r.rpki.map_or("(no data)", |s| s.as_str()),
                r.aspa.map_or("(no data)", |s| s.as_str())
            ),
        );
    }
    kv(&format!("passed to the {}", goes_to(r.view)), yes(r.passed));
    kv(
        "as path",
        if r.as_path.is_empty() {
            "(empty)".into()
        } else {
            r.as_path.clone()
        },
    );
    kv(
        "origin",
        serde_json::to_value(r.origin)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    );
    kv("next hop", or_dash(r.next_hop));
    kv("med", or_dash(r.med));
    kv("local pref", or_dash(r.local_pref));
    kv("otc", or_dash(r.otc));
    kv("communities", list(&r.communities));
    kv("large communities", list(&r.large_communities));
    if !r.malformed.is_empty() {
        kv("malformed", r.malformed.join("; "));
    }
    out.push_str(&t.render(false));
}

/// The count line: `N of M matching routes` and how to see more.
fn shown(out: &mut String, shown: usize, matched: usize, limit: usize) {
    if matched > shown {
        let _ = writeln!(
            out,
            "{shown} of {matched} matching routes shown (the first {limit} in prefix order; \
             --limit up to {} for more)",
            crate::rib::routes::MAX_LIMIT
        );
    } else {
        let _ = writeln!(out, "{matched} matching routes");
    }
}

/// `ctl routes NAME [VIEW]`.
pub(super) fn peer(b: &PeerRoutesBody, with_detail: bool) -> String {
    let mut out = format!("{}, {}: {}\n", b.peer, b.view.as_str(), view_title(b.view));
    let to = goes_to(b.view);
    if with_detail {
        for r in &b.routes {
            out.push('\n');
            detail(r, &mut out);
        }
        out.push('\n');
    } else if !b.routes.is_empty() {
        let mut cols = vec![
            ("PREFIX", false),
            ("NEXT HOP", false),
            ("AS PATH", false),
            ("VERDICT", false),
        ];
        if !b.view.sent() {
            cols.push((
                if to == "router" {
                    "TO ROUTER"
                } else {
                    "TO NEIGHBOR"
                },
                false,
            ));
        }
        let mut t = Table::new(&cols);
        for r in &b.routes {
            let mut row = vec![
                prefix(r),
                or_dash(r.next_hop),
                r.as_path.clone(),
                verdict(r),
            ];
            if !b.view.sent() {
                row.push(yes(r.passed));
            }
            t.row(row);
        }
        out.push_str(&t.render(true));
    }
    for (afi, c) in [("ipv4", &b.counts.ipv4), ("ipv6", &b.counts.ipv6)] {
        let _ = writeln!(
            out,
            "{afi}: {} held, {} accepted, {} rejected, {} passed to the {to}",
            c.held, c.accepted, c.rejected, c.passed
        );
    }
    shown(&mut out, b.routes.len(), b.matched, b.limit);
    out
}

/// `ctl route PREFIX`.
pub(super) fn prefix_routes(b: &PrefixRoutesBody, with_detail: bool) -> String {
    let mut out = match (b.how, b.matched_prefix) {
        (RouteMatch::Longest, Some(m)) => format!("{}: longest match {m}\n", b.prefix),
        (RouteMatch::Longest, None) => format!("{}: no route covers it\n", b.prefix),
        (RouteMatch::Exact, _) => format!("{}: exact match\n", b.prefix),
        (RouteMatch::Longer, _) => format!("{} and its more-specifics\n", b.prefix),
    };
    if with_detail {
        for r in &b.routes {
            out.push('\n');
            detail(r, &mut out);
        }
        out.push('\n');
    } else if !b.routes.is_empty() {
        let mut t = Table::new(&[
            ("PREFIX", false),
            ("PEER", false),
            ("FROM", false),
            ("NEXT HOP", false),
            ("AS PATH", false),
            ("VERDICT", false),
            ("PASSED", false),
        ]);
        for r in &b.routes {
            t.row(vec![
                prefix(r),
                r.peer.clone(),
                if r.view == View::In {
                    "neighbor"
                } else {
                    "router"
                }
                .into(),
                or_dash(r.next_hop),
                r.as_path.clone(),
                verdict(r),
                yes(r.passed),
            ]);
        }
        out.push_str(&t.render(true));
    }
    shown(&mut out, b.routes.len(), b.matched, b.limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::routes::FlowCounts;
    use crate::types::PerAfi;

    fn entry(prefix: &str, view: View, accepted: bool, passed: bool) -> RouteEntry {
        RouteEntry {
            peer: "cust".into(),
            view,
            prefix: prefix.parse().unwrap(),
            path_id: None,
            as_path: "64501 64502".into(),
            origin: crate::types::Origin::Igp,
            next_hop: Some("192.0.2.1".parse().unwrap()),
            med: Some(5),
            local_pref: None,
            otc: None,
            communities: vec!["65000:1".into()],
            large_communities: vec![],
            malformed: vec![],
            accepted,
            reasons: if accepted {
                vec![]
            } else {
                vec![
                    crate::policy::Reason::RpkiInvalid,
                    crate::policy::Reason::IrrUnregistered,
                ]
            },
            rpki: None,
            aspa: None,
            passed,
        }
    }

    #[test]
    fn a_peer_view_is_a_table_with_its_counts_and_says_when_cut() {
        let b = PeerRoutesBody {
            peer: "cust".into(),
            view: View::In,
            counts: PerAfi {
                ipv4: FlowCounts {
                    held: 3,
                    accepted: 2,
                    rejected: 1,
                    passed: 2,
                },
                ipv6: FlowCounts::default(),
            },
            matched: 3,
            limit: 2,
            truncated: true,
            routes: vec![
                entry("10.0.0.0/24", View::In, true, true),
                entry("10.0.1.0/24", View::In, false, false),
            ],
        };
        let text = peer(&b, false);
        assert_eq!(
            text,
            "cust, in: routes the neighbor sent, before policy\n\
             PREFIX       NEXT HOP   AS PATH      VERDICT                                  TO ROUTER\n\
             10.0.0.0/24  192.0.2.1  64501 64502  accepted                                 yes\n\
             10.0.1.0/24  192.0.2.1  64501 64502  rejected: rpki-invalid,irr-unregistered  no\n\
             ipv4: 3 held, 2 accepted, 1 rejected, 2 passed to the router\n\
             ipv6: 0 held, 0 accepted, 0 rejected, 0 passed to the router\n\
             2 of 3 matching routes shown (the first 2 in prefix order; --limit up to 10000 for more)\n"
        );
        let d = peer(&b, true);
        assert!(d.contains("10.0.1.0/24 from cust (in)\n"), "{d}");
        assert!(d.contains("  med:"), "{d}");
        assert!(d.contains("  communities:"), "{d}");
        assert!(d.contains("65000:1"), "{d}");
    }

    #[test]
    fn a_prefix_answer_names_the_longest_match_and_who_holds_it() {
        let b = PrefixRoutesBody {
            prefix: "10.0.0.1/32".parse().unwrap(),
            how: RouteMatch::Longest,
            matched_prefix: Some("10.0.0.0/24".parse().unwrap()),
            matched: 2,
            limit: 1000,
            truncated: false,
            routes: vec![
                entry("10.0.0.0/24", View::In, true, true),
                entry("10.0.0.0/24", View::FromRouter, false, false),
            ],
        };
        let text = prefix_routes(&b, false);
        assert!(
            text.starts_with("10.0.0.1/32: longest match 10.0.0.0/24\n"),
            "{text}"
        );
        assert!(text.contains("cust  neighbor"), "{text}");
        assert!(text.contains("cust  router"), "{text}");
        assert!(text.ends_with("2 matching routes\n"), "{text}");
    }
}
