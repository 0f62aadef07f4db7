//! The HTTP API (DESIGN §6): `/metrics` for Prometheus and a JSON API under `/api/v1` that
//! `bgpsieve ctl` and scripts use. It serves what the daemon hands it: the policy snapshot in
//! force, the recent rejections, peer and RPKI views refreshed by the RIB thread and the data
//! task; reload and circuit-breaker requests go to the daemon as [`Control`] messages.
//!
//! It must not change routing state itself, hold a lock the RIB thread takes for longer than a
//! copy or a scan of the rejected store, or bind anywhere: the daemon passes a bound listener
//! (loopback unless configured otherwise). No query string can make it panic: every parameter
//! is parsed here and a bad one is a 400 with a message saying which and why.
//!
//! Built on axum (over hyper 1 and the daemon's tokio runtime): path routing and JSON answers
//! without a framework of our own; HTTP/1 only.

pub mod explain;
pub mod routes;
/// The rejected-route store and the views live with the RIB, which fills them; the API serves
/// them.
pub use crate::rib::{rejected, views};

pub use crate::rib::{yes_no, Comment, FollowUp, Impact, Incident, Marks, Space};
pub use explain::{CheckView, ExplainView};
pub use rejected::{PrefixMatch, RejectedPage, RejectedQuery, RejectedRoute, RejectedStore};
pub use views::{
    AfiCounts, CacheStatus, CircuitBreakerStatus, FileStatus, LastTrip, LimitState, MaxPrefixView,
    PeerView, RpkiStatus, SessionState, ShutdownView,
};

use crate::metrics::Metrics;
use crate::policy::Reason;
use crate::policy::SharedPolicy;
use crate::types::Direction;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a reload or accept request waits for the daemon's answer.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(120);

/// A request to the daemon; it answers on the enclosed sender.
#[derive(Debug)]
pub enum Control {
    /// Reload the configuration (as SIGHUP does): `Ok(summary)`, or `Err(errors)` with the
    /// config's `file:line:col` errors (the config in force stays).
    Reload(oneshot::Sender<Result<String, String>>),
    /// Put in force the RPKI data the circuit breaker holds: `Ok(summary)` or `Err(why not)`.
    RpkiAccept(oneshot::Sender<Result<String, String>>),
    /// Start again the session of the named peer that a max-prefix or burst trip without
    /// `restart_after` holds down: `Ok(summary)`, or `Err(why not)` (it is not held down).
    Clear {
        peer: String,
        answer: oneshot::Sender<Result<String, String>>,
    },
    /// An order for one pair (`bgpsieve ctl neighbor NAME down|up|refresh`): `Ok(what
    /// happened)` or `Err(why not)`.
    Neighbor {
        peer: String,
        order: crate::rib::NeighborOrder,
        answer: oneshot::Sender<Result<String, crate::rib::NeighborError>>,
    },
    /// Mark or comment an incident: `Ok(summary)` or `Err(why not)`.
    Incident {
        order: crate::rib::IncidentOrder,
        answer: oneshot::Sender<Result<String, crate::rib::OrderError>>,
    },
    /// A route query for the RIB thread (`GET /api/v1/peers/NAME/routes`, `/api/v1/routes`).
    Routes {
        query: crate::rib::routes::RouteQuery,
        answer: oneshot::Sender<Result<crate::rib::routes::Found, crate::rib::routes::QueryError>>,
    },
}

/// Everything the API reads.
#[derive(Clone)]
pub struct ApiState {
    /// The policy snapshot in force (RPKI data, local policy, every peer's policy by index).
    pub policy: Arc<SharedPolicy>,
    pub rejected: Arc<RejectedStore>,
    /// Refreshed by the RIB thread.
    pub peers: Arc<Mutex<Vec<PeerView>>>,
    /// Refreshed by the data task.
    pub rpki: Arc<Mutex<RpkiStatus>>,
    pub metrics: Arc<Metrics>,
    /// Requests to the daemon.
    pub control: mpsc::Sender<Control>,
    /// The latest leak incidents, newest first; refreshed by the RIB thread.
    pub incidents: Arc<Mutex<Vec<crate::rib::Incident>>>,
}

/// `GET /api/v1/incidents`.
#[derive(Debug, Serialize)]
pub struct IncidentsBody {
    pub incidents: Vec<crate::rib::Incident>,
}

/// An error answer: `{"error": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A bad query parameter or path: 400.
    #[error("{0}")]
    BadRequest(String),
    /// No such peer or endpoint: 404.
    #[error("{0}")]
    NotFound(String),
    /// A method the endpoint does not take: 405.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request does not apply in the current state (clearing a peer that is not held
    /// down): 409.
    #[error("{0}")]
    Conflict(String),
    /// The daemon refused or failed the request, or did not answer: 500.
    #[error("{0}")]
    Internal(String),
    /// Not yet: the daemon is starting (waiting for its first RTR data): 503.
    #[error("{0}")]
    Unavailable(String),
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            Json(ErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response()
    }
}

/// `GET /api/v1/peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersBody {
    pub peers: Vec<PeerView>,
}

/// The answer of `POST /api/v1/reload` and `POST /api/v1/rpki/accept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    pub message: String,
}

/// Serves the API on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, state: ApiState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// The routes, for [`serve`] (and for embedding in another server).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/peers/{name}", get(peer))
        .route("/api/v1/peers/{name}/clear", post(clear))
        .route("/api/v1/peers/{name}/down", post(neighbor_down))
        .route("/api/v1/peers/{name}/up", post(neighbor_up))
        .route("/api/v1/peers/{name}/refresh", post(neighbor_refresh))
        .route("/api/v1/peers/{name}/routes", get(routes::peer_routes))
        .route("/api/v1/routes", get(routes::prefix_routes))
        .route("/api/v1/rejected", get(rejected))
        .route("/api/v1/explain", get(explain))
        .route("/api/v1/rpki", get(rpki))
        .route("/api/v1/incidents", get(incidents))
        .route("/api/v1/incidents/{id}", get(incident))
        .route("/api/v1/incidents/{id}/mark", post(incident_mark))
        .route("/api/v1/incidents/{id}/comment", post(incident_comment))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/rpki/accept", post(rpki_accept))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Query parameters, each at most once, empty values treated as absent (`?peer=&reason=`).
struct Params(HashMap<String, String>);

impl Params {
    fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(ApiError::BadRequest(if allowed.is_empty() {
                    format!("unknown parameter {k:?} (this endpoint takes none)")
                } else {
                    format!("unknown parameter {k:?} (known: {})", allowed.join(", "))
                }));
            }
            if map.contains_key(k.as_ref()) {
                return Err(ApiError::BadRequest(format!("parameter {k:?} given twice")));
            }
            if !v.is_empty() {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Ok(Params(map))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    fn number<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, ApiError> {
        self.get(k)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::BadRequest(format!("{k}: {v:?} is not a non-negative integer"))
                })
            })
            .transpose()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The views are plain data replaced whole by their writers: a poisoned one is still whole.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        s.metrics.render(),
    )
        .into_response()
}

async fn incidents(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<IncidentsBody>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let incidents = lock(&s.incidents).clone();
    Ok(Json(IncidentsBody { incidents }))
}

type IncidentId = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The id of a `/api/v1/incidents/ID…` path.
fn incident_id(id: IncidentId) -> Result<u64, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::BadRequest(format!("incident id: {e}")))?;
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("incident id: {id:?} is not a number")))
}

/// The incident a `/api/v1/incidents/ID…` path names, as the view has it (refreshed by the
/// RIB thread within a second of a change).
fn named_incident(s: &ApiState, id: IncidentId) -> Result<crate::rib::Incident, ApiError> {
    let id = incident_id(id)?;
    lock(&s.incidents)
        .iter()
        .find(|i| i.id == id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))
}

/// `GET /api/v1/incidents/ID`.
async fn incident(
    State(s): State<ApiState>,
    id: IncidentId,
    RawQuery(q): RawQuery,
) -> Result<Json<crate::rib::Incident>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    named_incident(&s, id).map(Json)
}

/// A `yes`/`no` parameter.
fn yes_no_param(p: &Params, k: &str) -> Result<Option<bool>, ApiError> {
    match p.get(k) {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(ApiError::BadRequest(format!(
            "{k}: {v:?} is neither \"yes\" nor \"no\""
        ))),
    }
}

/// Parses the parameters of `POST /api/v1/incidents/ID/mark` into the order for incident
/// `id`.
pub fn mark_order(raw: Option<&str>, id: u64) -> Result<crate::rib::IncidentOrder, ApiError> {
    let p = Params::parse(raw, &["publish", "share_operators", "share_regulator"])?;
    let order = crate::rib::IncidentOrder::Mark {
        id,
        publish: yes_no_param(&p, "publish")?,
        share_operators: yes_no_param(&p, "share_operators")?,
        share_regulator: yes_no_param(&p, "share_regulator")?,
    };
    if p.0.is_empty() {
        return Err(ApiError::BadRequest(
            "give at least one of publish, share_operators, share_regulator (yes or no)".into(),
        ));
    }
    Ok(order)
}

/// Hands an incident order to the daemon and waits for its answer.
async fn order_incident(
    s: &ApiState,
    order: crate::rib::IncidentOrder,
) -> Result<Json<MessageBody>, ApiError> {
    match exchange(s, |answer| Control::Incident { order, answer }).await? {
        Ok(message) => Ok(Json(MessageBody { message })),
        Err(e @ crate::rib::OrderError::NotFound(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(e) => Err(ApiError::BadRequest(e.to_string())),
    }
}

/// `POST /api/v1/incidents/ID/mark?publish=yes|no&share_operators=yes|no&share_regulator=yes|no`.
async fn incident_mark(
    State(s): State<ApiState>,
    id: IncidentId,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    // The RIB knows every incident, also one opened since the view's last refresh.
    let order = mark_order(q.as_deref(), incident_id(id)?)?;
    order_incident(&s, order).await
}

/// `POST /api/v1/incidents/ID/comment?text=…`.
async fn incident_comment(
    State(s): State<ApiState>,
    id: IncidentId,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    let id = incident_id(id)?;
    let p = Params::parse(q.as_deref(), &["text"])?;
    let text = p
        .get("text")
        .ok_or_else(|| ApiError::BadRequest("text: required".into()))?
        .to_string();
    crate::rib::check_comment(&text).map_err(|e| ApiError::BadRequest(format!("text: {e}")))?;
    order_incident(&s, crate::rib::IncidentOrder::Comment { id, text }).await
}

async fn peers(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<PeersBody>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let peers = lock(&s.peers).clone();
    Ok(Json(PeersBody { peers }))
}

type PeerName = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The view of the peer a `/api/v1/peers/NAME…` path names (a request that takes no
/// parameters).
fn named_peer(s: &ApiState, name: PeerName, q: Option<&str>) -> Result<PeerView, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::BadRequest(format!("peer name: {e}")))?;
    Params::parse(q, &[])?;
    lock(&s.peers)
        .iter()
        .find(|p| p.name == name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no peer named {name:?}")))
}

async fn peer(
    State(s): State<ApiState>,
    name: PeerName,
    RawQuery(q): RawQuery,
) -> Result<Json<PeerView>, ApiError> {
    named_peer(&s, name, q.as_deref()).map(Json)
}

/// Parses the parameters of `GET /api/v1/rejected`.
pub fn rejected_query(raw: Option<&str>) -> Result<RejectedQuery, ApiError> {
    let p = Params::parse(
        raw,
        &[
            "peer",
            "direction",
            "reason",
            "prefix",
            "match",
            "limit",
            "offset",
            "cursor",
        ],
    )?;
    let mut q = RejectedQuery {
        peer: p.get("peer").map(str::to_string),
        ..RejectedQuery::default()
    };
    if let Some(d) = p.get("direction") {
        q.direction = Some(match d {
            "in" => Direction::In,
            "out" => Direction::Out,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "direction: {d:?} is neither \"in\" nor \"out\""
                )))
            }
        });
    }
    if let Some(r) = p.get("reason") {
        q.reason = Some(r.parse::<Reason>().map_err(|e| {
            ApiError::BadRequest(format!(
                "reason: {e} (one of: {})",
                Reason::ALL
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?);
    }
    if let Some(prefix) = p.get("prefix") {
        q.prefix = Some(explain::parse_prefix("prefix", prefix)?);
    }
    if let Some(m) = p.get("match") {
        if q.prefix.is_none() {
            return Err(ApiError::BadRequest("match: needs a prefix".into()));
        }
        q.prefix_match = match m {
            "exact" => PrefixMatch::Exact,
            "more-specific" => PrefixMatch::MoreSpecific,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "match: {m:?} is neither \"exact\" nor \"more-specific\""
                )))
            }
        };
    }
    if let Some(limit) = p.number::<usize>("limit")? {
        if !(1..=rejected::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit: {limit} is not between 1 and {}",
                rejected::MAX_LIMIT
            )));
        }
        q.limit = limit;
    }
    q.offset = p.number("offset")?.unwrap_or(0);
    q.cursor = p.number("cursor")?;
    Ok(q)
}

async fn rejected(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<RejectedPage>, ApiError> {
    let q = rejected_query(q.as_deref())?;
    Ok(Json(s.rejected.query(&q)))
}

async fn explain(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<ExplainView>, ApiError> {
    let p = Params::parse(q.as_deref(), &["prefix", "path", "communities", "peer"])?;
    let prefix = p
        .get("prefix")
        .ok_or_else(|| ApiError::BadRequest("prefix: required".into()))?;
    // An empty path (a route the neighbor originates with no AS) is legal BGP inside an AS.
    let path = p.get("path").unwrap_or("");
    if lock(&s.rpki).starting {
        return Err(ApiError::Unavailable(
            "starting: the RPKI data is not in force yet (waiting for the RTR cache)".into(),
        ));
    }
    let snapshot = s.policy.load();
    explain::explain(&snapshot, prefix, path, p.get("communities"), p.get("peer")).map(Json)
}

async fn rpki(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<RpkiStatus>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let status = lock(&s.rpki).clone();
    Ok(Json(status.with_ages(crate::unix_now())))
}

/// Hands the daemon an order made with the sender of its answer, and waits for the answer (at
/// most [`CONTROL_TIMEOUT`]).
pub(crate) async fn exchange<T>(
    s: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> Control,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    let answer = async {
        s.control
            .send(make(tx))
            .await
            .map_err(|_| ApiError::Internal("the daemon is not taking requests".into()))?;
        rx.await
            .map_err(|_| ApiError::Internal("the daemon dropped the request".into()))
    };
    tokio::time::timeout(CONTROL_TIMEOUT, answer)
        .await
        .map_err(|_| {
            ApiError::Internal(format!(
                "the daemon did not answer within {} s",
                CONTROL_TIMEOUT.as_secs()
            ))
        })?
}

async fn ask(
    s: &ApiState,
    make: impl FnOnce(oneshot::Sender<Result<String, String>>) -> Control,
    refused: fn(String) -> ApiError,
) -> Result<Json<MessageBody>, ApiError> {
    match exchange(s, make).await? {
        Ok(message) => Ok(Json(MessageBody { message })),
        Err(e) => Err(refused(e)),
    }
}

async fn reload(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    ask(&s, Control::Reload, ApiError::Internal).await
}

async fn rpki_accept(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    ask(&s, Control::RpkiAccept, ApiError::Internal).await
}

/// `POST /api/v1/peers/NAME/clear` (`bgpsieve ctl clear NAME`).
async fn clear(
    State(s): State<ApiState>,
    name: PeerName,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    let peer = named_peer(&s, name, q.as_deref())?.name;
    let make = |answer| Control::Clear { peer, answer };
    ask(&s, make, ApiError::Conflict).await
}

/// Parses the parameters of `POST /api/v1/peers/NAME/down`: `message`, the shutdown
/// communication (optional; at most 255 bytes, RFC 9003).
pub fn down_order(raw: Option<&str>) -> Result<crate::rib::NeighborOrder, ApiError> {
    let p = Params::parse(raw, &["message"])?;
    let message = p.get("message").unwrap_or_default().to_string();
    crate::config::check_shutdown_message(&message)
        .map_err(|e| ApiError::BadRequest(format!("message: {e}")))?;
    Ok(crate::rib::NeighborOrder::Down { message })
}

/// Parses the parameters of `POST /api/v1/peers/NAME/refresh`: `direction` `in`, `out`, or
/// absent for both.
pub fn refresh_order(raw: Option<&str>) -> Result<crate::rib::NeighborOrder, ApiError> {
    use crate::rib::Refresh;
    let p = Params::parse(raw, &["direction"])?;
    let what = match p.get("direction") {
        None => Refresh::Both,
        Some("in") => Refresh::In,
        Some("out") => Refresh::Out,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "direction: {other:?} is neither in nor out"
            )))
        }
    };
    Ok(crate::rib::NeighborOrder::Refresh(what))
}

/// Hands an order for a pair to the daemon and waits for its answer.
async fn order_neighbor(
    s: &ApiState,
    name: PeerName,
    order: crate::rib::NeighborOrder,
) -> Result<Json<MessageBody>, ApiError> {
    let Path(peer) = name.map_err(|e| ApiError::BadRequest(format!("peer name: {e}")))?;
    let make = |answer| Control::Neighbor {
        peer,
        order,
        answer,
    };
    match exchange(s, make).await? {
        Ok(message) => Ok(Json(MessageBody { message })),
        Err(e @ crate::rib::NeighborError::NotFound(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}

/// `POST /api/v1/peers/NAME/down?message=…` (`bgpsieve ctl neighbor NAME down [MESSAGE]`).
async fn neighbor_down(
    State(s): State<ApiState>,
    name: PeerName,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    let order = down_order(q.as_deref())?;
    order_neighbor(&s, name, order).await
}

/// `POST /api/v1/peers/NAME/up` (`bgpsieve ctl neighbor NAME up`).
async fn neighbor_up(
    State(s): State<ApiState>,
    name: PeerName,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    order_neighbor(&s, name, crate::rib::NeighborOrder::Up).await
}

/// `POST /api/v1/peers/NAME/refresh?direction=in|out` (`bgpsieve ctl neighbor NAME refresh`).
async fn neighbor_refresh(
    State(s): State<ApiState>,
    name: PeerName,
    RawQuery(q): RawQuery,
) -> Result<Json<MessageBody>, ApiError> {
    let order = refresh_order(q.as_deref())?;
    order_neighbor(&s, name, order).await
}

#[cfg(test)]
mod tests;
