//! `GET /api/v1/explain`: every import check's outcome for a hypothetical route from one peer,
//! against the policy snapshot in force. Pure: a snapshot and the query in, a view out.

use super::ApiError;
use crate::policy::PolicySnapshot;
use crate::policy::{self, PeerPolicy, Reason};
use crate::rpki::{AspaState, RovState};
use crate::types::{AsPath, Attrs, Community, Route};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    pub reason: Reason,
    /// The number in the reject-reason community.
    pub number: u16,
    /// Whether the check runs for this peer (`checks_disable`); disabled checks are run here
    /// anyway, so `failed` says what they would decide.
    pub enabled: bool,
    pub failed: bool,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainView {
    pub prefix: IpNet,
    /// The path as parsed, in its canonical text form.
    pub path: String,
    /// The standard communities given (`ASN:VALUE`), e.g. `65535:666` (RFC 7999 BLACKHOLE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
    pub peer: String,
    /// The verdict with this peer's enabled checks (max-prefix, which depends on the session's
    /// state, is not part of it).
    pub accepted: bool,
    /// ROV state; `null` when no VRPs are loaded.
    pub rpki: Option<RovState>,
    /// ASPA verification state; `null` when no ASPAs are loaded.
    pub aspa: Option<AspaState>,
    /// Every import check, in evaluation order.
    pub checks: Vec<CheckView>,
}

/// Parses a prefix parameter: a prefix without host bits.
pub fn parse_prefix(name: &str, s: &str) -> Result<IpNet, ApiError> {
    let p: IpNet = s.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "{name}: {s:?} is not a prefix (like 192.0.2.0/24 or 2001:db8::/32)"
        ))
    })?;
    if p.trunc() != p {
        return Err(ApiError::BadRequest(format!(
            "{name}: {s} has host bits set (did you mean {}?)",
            p.trunc()
        )));
    }
    Ok(p)
}

/// Parses a `communities` parameter: standard communities `ASN:VALUE` (each part 0–65535),
/// separated by commas or spaces.
pub fn parse_communities(s: &str) -> Result<Vec<Community>, ApiError> {
    s.split([',', ' '])
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.split_once(':')
                .and_then(|(a, v)| Some((a.parse::<u16>().ok()?, v.parse::<u16>().ok()?)))
                .map(|(a, v)| (u32::from(a) << 16) | u32::from(v))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "communities: {c:?} is not a standard community (ASN:VALUE, each \
                         0-65535, e.g. 65535:666)"
                    ))
                })
        })
        .collect()
}

/// The peer a query names, or the only one when it names none.
fn find_peer<'a>(
    snapshot: &'a PolicySnapshot,
    name: Option<&str>,
) -> Result<&'a PeerPolicy, ApiError> {
    let names = || {
        snapshot
            .peers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => snapshot.peers.iter().find(|p| p.name == n).ok_or_else(|| {
            ApiError::BadRequest(format!("peer: no peer named {n:?} (peers: {})", names()))
        }),
        None => match snapshot.peers.as_slice() {
            [only] => Ok(only),
            [] => Err(ApiError::BadRequest("no peers are configured".into())),
            _ => Err(ApiError::BadRequest(format!(
                "peer: required when several peers are configured (peers: {})",
                names()
            ))),
        },
    }
}

/// Explains the route (`prefix`, `path`, standard `communities`) as if `peer` had sent it, with
/// the neighbor's address as next hop.
pub fn explain(
    snapshot: &PolicySnapshot,
    prefix: &str,
    path: &str,
    communities: Option<&str>,
    peer: Option<&str>,
) -> Result<ExplainView, ApiError> {
    let prefix = parse_prefix("prefix", prefix)?;
    let as_path = AsPath::parse(path).map_err(|e| ApiError::BadRequest(format!("path: {e}")))?;
    let communities = communities
        .map(parse_communities)
        .transpose()?
        .unwrap_or_default();
    let peer = find_peer(snapshot, peer)?;
    let attrs = Attrs {
        as_path,
        next_hop: peer.address,
        communities,
        ..Attrs::default()
    };
    let route = Route::new(prefix, Arc::new(attrs));
    let verdict = policy::evaluate_import(&route, peer, &snapshot.local, &snapshot.rpki);
    let checks = policy::explain_import(&route, peer, &snapshot.local, &snapshot.rpki)
        .into_iter()
        .map(|(reason, enabled, failed)| CheckView {
            reason,
            number: reason.number(),
            enabled,
            failed,
        })
        .collect();
    Ok(ExplainView {
        prefix,
        path: route.attrs.as_path.to_string(),
        communities: route
            .attrs
            .communities
            .iter()
            .map(|c| format!("{}:{}", c >> 16, c & 0xFFFF))
            .collect(),
        peer: peer.name.clone(),
        accepted: verdict.accepted(),
        rpki: verdict.rov,
        aspa: verdict.aspa,
        checks,
    })
}
