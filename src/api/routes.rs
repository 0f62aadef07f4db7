//! Route views: `GET /api/v1/peers/NAME/routes` (one pair's routes in one of four views) and
//! `GET /api/v1/routes` (a prefix across every pair). The RIB thread owns the tables: the query
//! goes to it as a [`Control::Routes`] and comes back as owned rows (see
//! [`crate::rib::routes`] for the views and what a query costs); the rows become JSON here, off
//! the RIB thread.

use super::{explain::parse_prefix, ApiError, ApiState, Control, Params};
use crate::policy::Reason;
use crate::rib::routes::{
    FlowCounts, Found, PeerQuery, PrefixQuery, QueryError, RouteMatch, RouteQuery, Row, Status,
    View, DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::rpki::{AspaState, RovState};
use crate::types::{Afi, Origin, PerAfi};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One route as the views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The pair (the peer's configured name).
    pub peer: String,
    /// The view it is shown in: in a prefix answer `in` (the neighbor sent it) or
    /// `from-router` (the router sent it for this neighbor).
    pub view: View,
    pub prefix: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// `AsPath`'s `Display` (`64501 64502 {64503}`).
    pub as_path: String,
    pub origin: Origin,
    pub next_hop: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// RFC 9234 Only-to-Customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otc: Option<u32>,
    /// `ASN:VALUE`.
    pub communities: Vec<String>,
    /// `GLOBAL:DATA1:DATA2`.
    pub large_communities: Vec<String>,
    /// RFC 7606 treat-as-withdraw findings (the route is `malformed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<String>,
    /// Passed every check and limit of its direction.
    pub accepted: bool,
    /// Every failing check, in evaluation order (the first is the primary reason).
    pub reasons: Vec<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpki: Option<RovState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspa: Option<AspaState>,
    /// The other side has it: accepted (or observe mode) and that side is up.
    pub passed: bool,
}

/// `ASN:VALUE` of a standard community.
pub fn community(c: u32) -> String {
    format!("{}:{}", c >> 16, c & 0xffff)
}

/// `GLOBAL:DATA1:DATA2` of a large community.
pub fn large_community(c: &[u32; 3]) -> String {
    format!("{}:{}:{}", c[0], c[1], c[2])
}

impl From<&Row> for RouteEntry {
    fn from(r: &Row) -> RouteEntry {
        let a = &r.attrs.attrs;
        RouteEntry {
            peer: r.peer.clone(),
            view: r.view,
            prefix: r.nlri.prefix,
            path_id: r.nlri.path_id,
            as_path: a.as_path.to_string(),
            origin: a.origin,
            next_hop: a.next_hop,
            med: a.med,
            local_pref: a.local_pref,
            otc: a.otc.map(|o| o.0),
            communities: a.communities.iter().map(|c| community(*c)).collect(),
            large_communities: a.large_communities.iter().map(large_community).collect(),
            malformed: a.malformed.clone(),
            accepted: r.verdict.accepted(),
            reasons: r.verdict.reasons().collect(),
            rpki: r.verdict.rov,
            aspa: r.verdict.aspa,
            passed: r.passed,
        }
    }
}

/// `GET /api/v1/peers/NAME/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRoutesBody {
    pub peer: String,
    pub view: View,
    /// Over the whole flow the view reads, unfiltered: `in` and `to-router` the neighbor's
    /// routes, `from-router` and `out` the router's. `in`'s `accepted` is
    /// `bgpsieve_routes_current{direction="in"}`, `out`'s `passed` is
    /// `bgpsieve_routes_current{direction="out"}`.
    pub counts: PerAfi<FlowCounts>,
    /// Routes that matched the view and filters.
    pub matched: usize,
    pub limit: usize,
    /// `matched` is more than `routes` holds: the first `limit` in prefix order are shown.
    pub truncated: bool,
    pub routes: Vec<RouteEntry>,
}

/// `GET /api/v1/routes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixRoutesBody {
    /// The prefix asked for.
    pub prefix: IpNet,
    #[serde(rename = "match")]
    pub how: RouteMatch,
    /// `longest`: the longest prefix held that covers it (`null`: none does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_prefix: Option<IpNet>,
    pub matched: usize,
    pub limit: usize,
    pub truncated: bool,
    pub routes: Vec<RouteEntry>,
}

/// The `limit` parameter: 1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
fn limit(p: &Params) -> Result<usize, ApiError> {
    match p.number::<usize>("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit: {n} is not between 1 and {MAX_LIMIT}"
        ))),
    }
}

/// Parses the parameters of `GET /api/v1/peers/NAME/routes`:
/// `view=in|to-router|from-router|out` (default `in`), `status=accepted|rejected`,
/// `afi=ipv4|ipv6`, `limit=N`.
pub fn peer_query(peer: &str, raw: Option<&str>) -> Result<PeerQuery, ApiError> {
    let p = Params::parse(raw, &["view", "status", "afi", "limit"])?;
    let view = match p.get("view") {
        None => View::In,
        Some(v) => v
            .parse()
            .map_err(|e| ApiError::BadRequest(format!("view: {e}")))?,
    };
    let status = match p.get("status") {
        None => None,
        Some("accepted") => Some(Status::Accepted),
        Some("rejected") => Some(Status::Rejected),
        Some(s) => {
            return Err(ApiError::BadRequest(format!(
                "status: {s:?} is neither \"accepted\" nor \"rejected\""
            )))
        }
    };
    let afi = match p.get("afi") {
        None => None,
        Some("ipv4") => Some(Afi::Ipv4),
        Some("ipv6") => Some(Afi::Ipv6),
        Some(a) => {
            return Err(ApiError::BadRequest(format!(
                "afi: {a:?} is neither \"ipv4\" nor \"ipv6\""
            )))
        }
    };
    Ok(PeerQuery {
        peer: peer.to_string(),
        view,
        status,
        afi,
        limit: limit(&p)?,
    })
}

/// A prefix, or an address (a host prefix: /32 or /128).
fn prefix_or_address(s: &str) -> Result<IpNet, ApiError> {
    match s.trim().parse::<IpAddr>() {
        Ok(a) => Ok(IpNet::from(a)),
        Err(_) => parse_prefix("prefix", s),
    }
}

/// Parses the parameters of `GET /api/v1/routes`: `prefix=P` (a prefix or an address),
/// `match=exact|longest|longer` (default `longest`), `limit=N`.
pub fn prefix_query(raw: Option<&str>) -> Result<PrefixQuery, ApiError> {
    let p = Params::parse(raw, &["prefix", "match", "limit"])?;
    let prefix = prefix_or_address(
        p.get("prefix")
            .ok_or_else(|| ApiError::BadRequest("prefix: required".into()))?,
    )?;
    let how = match p.get("match") {
        None | Some("longest") => RouteMatch::Longest,
        Some("exact") => RouteMatch::Exact,
        Some("longer") => RouteMatch::Longer,
        Some(m) => {
            return Err(ApiError::BadRequest(format!(
                "match: {m:?} is not one of exact, longest, longer"
            )))
        }
    };
    Ok(PrefixQuery {
        prefix,
        how,
        limit: limit(&p)?,
    })
}

/// Hands a query to the RIB thread (through the daemon) and waits for its answer.
async fn ask(s: &ApiState, query: RouteQuery) -> Result<Found, ApiError> {
    match super::exchange(s, |answer| Control::Routes { query, answer }).await? {
        Ok(found) => Ok(found),
        Err(e @ QueryError::NoPeer(_)) => Err(ApiError::NotFound(e.to_string())),
    }
}

/// The answer to a peer query.
pub fn peer_body(q: &PeerQuery, found: Found) -> PeerRoutesBody {
    PeerRoutesBody {
        peer: q.peer.clone(),
        view: q.view,
        counts: found.counts.unwrap_or_default(),
        matched: found.matched,
        limit: q.limit,
        truncated: found.matched > found.rows.len(),
        routes: found.rows.iter().map(RouteEntry::from).collect(),
    }
}

/// The answer to a prefix query.
pub fn prefix_body(q: &PrefixQuery, found: Found) -> PrefixRoutesBody {
    PrefixRoutesBody {
        prefix: q.prefix,
        how: q.how,
        matched_prefix: found.matched_prefix,
        matched: found.matched,
        limit: q.limit,
        truncated: found.matched > found.rows.len(),
        routes: found.rows.iter().map(RouteEntry::from).collect(),
    }
}

/// `GET /api/v1/peers/NAME/routes?view=&status=&afi=&limit=`.
pub(super) async fn peer_routes(
    State(s): State<ApiState>,
    name: super::PeerName,
    RawQuery(raw): RawQuery,
) -> Result<Json<PeerRoutesBody>, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::BadRequest(format!("peer name: {e}")))?;
    let q = peer_query(&name, raw.as_deref())?;
    let found = ask(&s, RouteQuery::Peer(q.clone())).await?;
    Ok(Json(peer_body(&q, found)))
}

/// `GET /api/v1/routes?prefix=&match=&limit=`.
pub(super) async fn prefix_routes(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PrefixRoutesBody>, ApiError> {
    let q = prefix_query(raw.as_deref())?;
    let found = ask(&s, RouteQuery::Prefix(q.clone())).await?;
    Ok(Json(prefix_body(&q, found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_parameters_parse_with_defaults_and_refuse_bad_values() {
        let q = peer_query("n1", None).unwrap();
        assert_eq!(
            (q.view, q.status, q.afi, q.limit),
            (View::In, None, None, DEFAULT_LIMIT)
        );
        let q = peer_query(
            "n1",
            Some("view=to-router&status=rejected&afi=ipv6&limit=5"),
        )
        .unwrap();
        assert_eq!(
            (q.view, q.status, q.afi, q.limit),
            (View::ToRouter, Some(Status::Rejected), Some(Afi::Ipv6), 5)
        );
        for view in View::ALL {
            let q = peer_query("n1", Some(&format!("view={}", view.as_str()))).unwrap();
            assert_eq!(q.view, view);
        }
        for bad in [
            "view=sideways",
            "status=maybe",
            "afi=ipv5",
            "limit=0",
            "limit=10001",
            "limit=-1",
            "prefix=10.0.0.0/8",
        ] {
            let e = peer_query("n1", Some(bad)).unwrap_err();
            assert!(matches!(e, ApiError::BadRequest(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn prefix_parameters_take_a_prefix_or_an_address() {
        let q = prefix_query(Some("prefix=192.0.2.1")).unwrap();
        assert_eq!(q.prefix, "192.0.2.1/32".parse::<IpNet>().unwrap());
        assert_eq!(q.how, RouteMatch::Longest, "longest match by default");
        let q = prefix_query(Some("prefix=2001:db8::/32&match=longer&limit=7")).unwrap();
        assert_eq!(
            (q.prefix, q.how, q.limit),
            ("2001:db8::/32".parse().unwrap(), RouteMatch::Longer, 7)
        );
        assert_eq!(
            prefix_query(Some("prefix=10.0.0.0/8&match=exact"))
                .unwrap()
                .how,
            RouteMatch::Exact
        );
        for bad in [
            "",
            "prefix=10.0.0.1/8",
            "prefix=nope",
            "prefix=10.0.0.0/8&match=shorter",
            "prefix=10.0.0.0/8&view=in",
        ] {
            assert!(prefix_query(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn communities_are_written_as_operators_write_them() {
        assert_eq!(community((65000 << 16) | 1), "65000:1");
        assert_eq!(community(0xffff_029a), "65535:666");
        assert_eq!(
            large_community(&[4_200_000_000, 1101, 11]),
            "4200000000:1101:11"
        );
    }
}
