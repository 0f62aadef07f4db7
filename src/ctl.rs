//! `bgpsieve ctl`: the command line over the daemon's HTTP API (DESIGN §6, §7). Tables for
//! people; `-j` prints the API's JSON as it came, indented.
//!
//! It only talks to the API: of the daemon's files it reads only the configuration's `[api]
//! listen`, to find the API, and it changes nothing but through the API's POST endpoints. Exit codes: 0 done, 1 the API answered with an
//! error (printed), 2 the API could not be reached (the URL and the error are printed).

use crate::api::{
    ErrorBody, ExplainView, MessageBody, PeerView, PeersBody, RejectedPage, RpkiStatus,
};
use clap::Subcommand;

mod incident;
mod routes;
use serde::de::DeserializeOwned;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Query and control a running daemon over its HTTP API (`[api] listen` in the \
                  configuration). Prints tables, or the API's JSON with --json.",
    after_help = "Exit status: 0 done, 1 the API answered with an error (printed), 2 the API \
                  could not be reached."
)]
pub struct CtlArgs {
    /// Base URL of the daemon's HTTP API. Default: from the configuration's `[api] listen`
    /// (see --config), else http://127.0.0.1:9179.
    #[arg(long, global = true, value_name = "URL")]
    pub api: Option<String>,
    /// The daemon's configuration, read only for its `[api] listen` when --api is not given.
    /// Default: /etc/bgpsieve/bgpsieve.toml when it is readable.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Print the API's JSON answer (indented) instead of a table.
    #[arg(short = 'j', long = "json", global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Every peer: session state, routes received, accepted and sent, limits.
    Peers,
    /// One peer in detail: both sessions, counters, limits, recent trips.
    Peer {
        /// The peer's name (`name` in its [[peer]] table).
        name: String,
    },
    /// The most recent rejected routes, newest first.
    Rejected {
        /// Only routes of this peer (its configured name).
        #[arg(long, value_name = "NAME")]
        peer: Option<String>,
        /// Only routes rejected for this reason code, e.g. rpki-invalid, otc-leak, bogon-prefix.
        #[arg(long, value_name = "CODE")]
        reason: Option<String>,
        /// Only this prefix (with --more-specific: and every more-specific of it).
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// With --prefix: also match the more-specifics of the prefix.
        #[arg(long, requires = "prefix")]
        more_specific: bool,
        /// Only routes rejected in this direction: in (from the neighbor) or out (to it).
        #[arg(long, value_name = "in|out")]
        direction: Option<String>,
        /// Show at most this many routes (1-1000; the API's default is 100).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Skip this many of the newest matches (for paging).
        #[arg(long, value_name = "N")]
        offset: Option<usize>,
    },
    /// One peer's routes: what the neighbor sent (in), what the router was sent (to-router),
    /// what the router sent (from-router) or what the neighbor was sent (out).
    ///
    /// `in` and `from-router` show every route as it came, before policy, with every failing
    /// check and whether it was passed on; `to-router` and `out` show the routes passed on, with
    /// the attributes the other side got. The counts are over the whole view.
    Routes {
        /// The peer's name (`name` in its [[peer]] table).
        name: String,
        /// Which routes (default in).
        #[arg(value_enum, default_value_t = RoutesView::In)]
        view: RoutesView,
        /// Only routes some check rejected.
        #[arg(long, conflicts_with = "accepted")]
        rejected: bool,
        /// Only routes every check accepted.
        #[arg(long)]
        accepted: bool,
        /// Only routes of this address family.
        #[arg(long, value_enum, value_name = "ipv4|ipv6")]
        family: Option<Family>,
        /// Show at most this many routes, the first in prefix order (1-10000; default 1000).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Every attribute of each route, a block per route.
        #[arg(short = 'd', long)]
        detail: bool,
    },
    /// The routes of every peer for a prefix or an address: by default those of the longest
    /// prefix held that covers it.
    ///
    /// Both directions: routes the neighbors sent (FROM neighbor) and routes the router sent
    /// for them (FROM router), each with its verdict and whether it was passed on.
    Route {
        /// A prefix (192.0.2.0/24) or an address (192.0.2.1).
        prefix: String,
        /// Only routes for exactly this prefix.
        #[arg(long, conflicts_with = "longer")]
        exact: bool,
        /// The prefix and every more-specific of it.
        #[arg(long)]
        longer: bool,
        /// Show at most this many routes, the first in prefix order (1-10000; default 1000).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Every attribute of each route, a block per route.
        #[arg(short = 'd', long)]
        detail: bool,
    },
    /// Every import check's outcome for a hypothetical route from a peer.
    ///
    /// PREFIX and the AS path ("64500 64501 {64502}"; several words are joined).
    Explain {
        /// The route's prefix, e.g. 192.0.2.0/24.
        prefix: String,
        /// The route's AS path, leftmost (neighbor) AS first; an AS_SET in braces. Several
        /// words are joined with spaces.
        #[arg(required = true, num_args = 1.., value_name = "PATH")]
        path: Vec<String>,
        /// The peer the route would come from (required when several are configured).
        #[arg(long, value_name = "NAME")]
        peer: Option<String>,
        /// A standard community the route carries, ASN:VALUE (repeatable), e.g. 65535:666 for
        /// an RFC 7999 blackhole request.
        #[arg(long = "community", value_name = "ASN:VALUE")]
        communities: Vec<String>,
    },
    /// RPKI data in force, RTR caches, files and the circuit breaker.
    Rpki {
        #[command(subcommand)]
        action: Option<RpkiAction>,
    },
    /// Reload the configuration and the data files (as SIGHUP does).
    Reload,
    /// Start again a peer's session that a max-prefix or burst trip holds down (a trip without
    /// `restart_after`, or before it has passed).
    Clear {
        /// The peer's name (`name` in its [[peer]] table).
        name: String,
    },
    /// Control one neighbor's pair of sessions: administrative shutdown (down), start (up),
    /// route refresh (refresh in|out).
    Neighbor {
        /// The peer's name (`name` in its [[peer]] table).
        name: String,
        #[command(subcommand)]
        action: NeighborAction,
    },
    /// Leak incidents: the latest (the default), one as a report, its sharing marks and
    /// comment.
    #[command(visible_alias = "incidents")]
    Incident {
        #[command(subcommand)]
        action: Option<IncidentAction>,
    },
}

#[derive(Debug, Subcommand)]
pub enum NeighborAction {
    /// Take the pair administratively down: the neighbor is sent Cease/Administrative Shutdown
    /// with MESSAGE (RFC 8203/9003; as a Hard Reset where RFC 8538 was negotiated, so it drops
    /// the routes at once), the router side closes with the same message, and nothing starts
    /// the pair again (connections are refused) until `up`.
    Down {
        /// The shutdown message for the neighbor's operator (at most 255 bytes, no line
        /// breaks), e.g. "maintenance until 14:00 UTC, ticket 4711"; several words are joined
        /// with spaces. Default: none.
        #[arg(num_args = 0.., value_name = "MESSAGE")]
        message: Vec<String>,
    },
    /// Start again a pair taken down with `down` or by its `shutdown` key (until bgpsieve
    /// restarts or a reload changes the key).
    Up,
    /// Check the pair's stored routes again against the policy in force and send the
    /// differences, without a session reset. `in`: the neighbor's routes (the router gets the
    /// differences; the neighbor is sent a ROUTE-REFRESH where it negotiated route refresh).
    /// `out`: the router's routes for this neighbor (the neighbor gets the differences, then its
    /// whole table again; the router is sent a ROUTE-REFRESH where it negotiated route
    /// refresh). Without a direction: both.
    Refresh {
        /// Which routes: `in` (from the neighbor) or `out` (toward it); both when absent.
        #[arg(value_enum, value_name = "in|out")]
        direction: Option<RefreshDirection>,
    },
}

/// The routes `ctl neighbor NAME refresh` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RefreshDirection {
    /// The neighbor's routes (import).
    In,
    /// The routes toward the neighbor (export).
    Out,
}

#[derive(Debug, Subcommand)]
pub enum IncidentAction {
    /// The latest leak incidents, newest first (limits or burst guards tripped, rejection
    /// spikes).
    List,
    /// One incident as a plain-text report to paste into an e-mail: when, where, what
    /// happened, impact, response, follow-ups, sharing marks, comment.
    Show {
        /// The incident's id (the ID column of `ctl incident list`).
        id: u64,
    },
    /// Mark whether an incident's report may be published or shared (marks not given stay as
    /// they are).
    #[command(group(clap::ArgGroup::new("marks")
        .required(true)
        .multiple(true)
        .args(["publish", "share_operators", "share_regulator"])))]
    Mark {
        /// The incident's id.
        id: u64,
        /// The report may be published.
        #[arg(long, value_name = "yes|no")]
        publish: Option<YesNo>,
        /// The report may be shared with other operators.
        #[arg(long, value_name = "yes|no")]
        share_operators: Option<YesNo>,
        /// The report may be shared with the regulator.
        #[arg(long, value_name = "yes|no")]
        share_regulator: Option<YesNo>,
    },
    /// Set (replace) an incident's free-text comment.
    Comment {
        /// The incident's id.
        id: u64,
        /// The comment (at most 4000 bytes); several words are joined with spaces.
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
    },
}

/// The routes `ctl routes` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoutesView {
    /// Sent by the neighbor, before policy, with every check's verdict.
    In,
    /// Sent to the router: the neighbor's routes that pass, as the router got them.
    ToRouter,
    /// Sent by the router for this neighbor, before export policy, with every check's verdict.
    FromRouter,
    /// Sent to the neighbor: the router's routes that pass, as the neighbor got them.
    Out,
}

impl RoutesView {
    /// The API's name of the view.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutesView::In => "in",
            RoutesView::ToRouter => "to-router",
            RoutesView::FromRouter => "from-router",
            RoutesView::Out => "out",
        }
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

/// A mark's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum YesNo {
    /// Allowed.
    Yes,
    /// Not allowed.
    No,
}

impl YesNo {
    fn as_str(self) -> &'static str {
        match self {
            YesNo::Yes => "yes",
            YesNo::No => "no",
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct IncidentsRows {
    incidents: Vec<crate::api::Incident>,
}

#[derive(Debug, Subcommand)]
pub enum RpkiAction {
    /// Put in force the data the circuit breaker holds back.
    Accept,
}

/// Why `ctl` failed.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The API answered with an error.
    #[error("error: {0}")]
    Api(String),
    /// No answer from the API.
    #[error("cannot reach the bgpsieve API at {url}: {error}")]
    Unreachable { url: String, error: String },
    #[error("stdout: {0}")]
    Output(#[from] std::io::Error),
    /// The configuration given to find the API could not be read.
    #[error("cannot find the API: {0}")]
    Config(String),
}

impl CtlError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CtlError::Api(_) | CtlError::Output(_) => 1,
            CtlError::Unreachable { .. } | CtlError::Config(_) => 2,
        }
    }
}

/// The API client: base URL and one agent.
struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            // Error answers carry a JSON body we want to print.
            .http_status_as_error(false)
            // The API is on loopback: an http_proxy from the environment must not apply.
            .proxy(None)
            .timeout_connect(Some(Duration::from_secs(5)))
            // Longer than the API's own wait for the daemon's answer to a reload.
            .timeout_global(Some(crate::api::CONTROL_TIMEOUT + Duration::from_secs(10)))
            .build();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent: config.into(),
        }
    }

    /// The body of a successful answer; an error answer's message as `CtlError::Api`.
    fn call(&self, post: bool, path: &str, query: &[(&str, String)]) -> Result<String, CtlError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |e: ureq::Error| CtlError::Unreachable {
            url: url.clone(),
            error: e.to_string(),
        };
        let result = if post {
            let mut req = self.agent.post(&url);
            for (k, v) in query {
                req = req.query(k, v);
            }
            req.send_empty()
        } else {
            let mut req = self.agent.get(&url);
            for (k, v) in query {
                req = req.query(k, v);
            }
            req.call()
        };
        let mut resp = result.map_err(unreachable)?;
        let status = resp.status();
        let body = resp.body_mut().read_to_string().map_err(unreachable)?;
        if status.is_success() {
            return Ok(body);
        }
        Err(CtlError::Api(
            match serde_json::from_str::<ErrorBody>(&body) {
                Ok(e) => e.error,
                Err(_) => format!("HTTP {status} from {url}: {}", body.trim()),
            },
        ))
    }
}

fn parse<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, CtlError> {
    serde_json::from_str(body)
        .map_err(|e| CtlError::Api(format!("unexpected answer to {what}: {e}")))
}

/// The API's base URL: `--api`; else the `[api] listen` of `--config` (which must be readable);
/// else that of the default configuration when it is readable; else `[api] listen`'s default
/// ([`crate::config::DEFAULT_API_LISTEN`]).
pub fn api_url(api: Option<&str>, config: Option<&std::path::Path>) -> Result<String, CtlError> {
    if let Some(api) = api {
        return Ok(api.to_string());
    }
    let (path, required) = match config {
        Some(p) => (p, true),
        None => (std::path::Path::new(crate::cli::DEFAULT_CONFIG), false),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => api_listen(&text)
            .map(|addr| format!("http://{addr}"))
            .map_err(|e| CtlError::Config(format!("{}: {e}", path.display()))),
        Err(e) if required => Err(CtlError::Config(format!("{}: {e}", path.display()))),
        Err(_) => Ok(format!("http://{}", crate::config::DEFAULT_API_LISTEN)),
    }
}

/// The address to reach the API at, from a configuration's text: its `[api] listen` (default
/// 127.0.0.1:9179), a wildcard address replaced by the loopback address of its family.
fn api_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        api: Api,
    }
    #[derive(serde::Deserialize, Default)]
    struct Api {
        listen: Option<String>,
    }
    let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let mut addr: std::net::SocketAddr = match file.api.listen {
        Some(l) => l.parse().map_err(|e| format!("[api] listen {l:?}: {e}"))?,
        None => crate::config::DEFAULT_API_LISTEN,
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(addr)
}

/// Runs `bgpsieve ctl`, printing to stdout.
pub fn run(args: CtlArgs) -> Result<(), CtlError> {
    let now = crate::unix_now();
    let url = api_url(args.api.as_deref(), args.config.as_deref())?;
    let client = Client::new(&url);
    let (post, path, query, render): (bool, String, Vec<(&str, String)>, Render) = match args
        .command
    {
        CtlCommand::Peers => (false, "/api/v1/peers".into(), vec![], Render::Peers),
        CtlCommand::Peer { name } => (
            false,
            format!("/api/v1/peers/{}", percent_encode_segment(&name)),
            vec![],
            Render::Peer,
        ),
        CtlCommand::Rejected {
            peer,
            reason,
            prefix,
            more_specific,
            direction,
            limit,
            offset,
        } => {
            let mut q = Vec::new();
            let mut add = |k, v: Option<String>| {
                if let Some(v) = v {
                    q.push((k, v));
                }
            };
            add("peer", peer);
            add("direction", direction);
            add("reason", reason);
            add("prefix", prefix);
            add("match", more_specific.then(|| "more-specific".to_string()));
            add("limit", limit.map(|n| n.to_string()));
            add("offset", offset.map(|n| n.to_string()));
            (false, "/api/v1/rejected".into(), q, Render::Rejected)
        }
        CtlCommand::Routes {
            name,
            view,
            rejected,
            accepted,
            family,
            limit,
            detail,
        } => {
            let mut q = vec![("view", view.as_str().to_string())];
            if rejected {
                q.push(("status", "rejected".into()));
            } else if accepted {
                q.push(("status", "accepted".into()));
            }
            if let Some(f) = family {
                let f = match f {
                    Family::Ipv4 => "ipv4",
                    Family::Ipv6 => "ipv6",
                };
                q.push(("afi", f.into()));
            }
            if let Some(n) = limit {
                q.push(("limit", n.to_string()));
            }
            (
                false,
                format!("/api/v1/peers/{}/routes", percent_encode_segment(&name)),
                q,
                Render::PeerRoutes { detail },
            )
        }
        CtlCommand::Route {
            prefix,
            exact,
            longer,
            limit,
            detail,
        } => {
            let how = match (exact, longer) {
                (true, _) => "exact",
                (_, true) => "longer",
                _ => "longest",
            };
            let mut q = vec![("prefix", prefix), ("match", how.to_string())];
            if let Some(n) = limit {
                q.push(("limit", n.to_string()));
            }
            (
                false,
                "/api/v1/routes".into(),
                q,
                Render::PrefixRoutes { detail },
            )
        }
        CtlCommand::Explain {
            prefix,
            path,
            peer,
            communities,
        } => {
            let mut q = vec![("prefix", prefix), ("path", path.join(" "))];
            if !communities.is_empty() {
                q.push(("communities", communities.join(",")));
            }
            if let Some(p) = peer {
                q.push(("peer", p));
            }
            (false, "/api/v1/explain".into(), q, Render::Explain)
        }
        CtlCommand::Rpki { action: None } => (false, "/api/v1/rpki".into(), vec![], Render::Rpki),
        CtlCommand::Rpki {
            action: Some(RpkiAction::Accept),
        } => (true, "/api/v1/rpki/accept".into(), vec![], Render::Message),
        CtlCommand::Reload => (true, "/api/v1/reload".into(), vec![], Render::Message),
        CtlCommand::Clear { name } => (
            true,
            format!("/api/v1/peers/{}/clear", percent_encode_segment(&name)),
            vec![],
            Render::Message,
        ),
        CtlCommand::Neighbor { name, action } => {
            let (verb, q) = match action {
                NeighborAction::Down { message } => {
                    let message = message.join(" ");
                    let q = if message.is_empty() {
                        vec![]
                    } else {
                        vec![("message", message)]
                    };
                    ("down", q)
                }
                NeighborAction::Up => ("up", vec![]),
                NeighborAction::Refresh { direction } => {
                    let q = match direction {
                        None => vec![],
                        Some(RefreshDirection::In) => vec![("direction", "in".to_string())],
                        Some(RefreshDirection::Out) => vec![("direction", "out".to_string())],
                    };
                    ("refresh", q)
                }
            };
            (
                true,
                format!("/api/v1/peers/{}/{verb}", percent_encode_segment(&name)),
                q,
                Render::Message,
            )
        }
        CtlCommand::Incident {
            action: None | Some(IncidentAction::List),
        } => (false, "/api/v1/incidents".into(), vec![], Render::Incidents),
        CtlCommand::Incident {
            action: Some(IncidentAction::Show { id }),
        } => (
            false,
            format!("/api/v1/incidents/{id}"),
            vec![],
            Render::Incident,
        ),
        CtlCommand::Incident {
            action:
                Some(IncidentAction::Mark {
                    id,
                    publish,
                    share_operators,
                    share_regulator,
                }),
        } => {
            let q = [
                ("publish", publish),
                ("share_operators", share_operators),
                ("share_regulator", share_regulator),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.as_str().to_string())))
            .collect();
            (
                true,
                format!("/api/v1/incidents/{id}/mark"),
                q,
                Render::Message,
            )
        }
        CtlCommand::Incident {
            action: Some(IncidentAction::Comment { id, text }),
        } => (
            true,
            format!("/api/v1/incidents/{id}/comment"),
            vec![("text", text.join(" "))],
            Render::Message,
        ),
    };
    let body = client.call(post, &path, &query)?;
    let text = if args.json {
        pretty_json(&body).ok_or_else(|| {
            CtlError::Api(format!(
                "unexpected answer to {path}: not JSON: {}",
                body.trim()
            ))
        })?
    } else {
        match render {
            Render::Peers => peers_table(&parse::<PeersBody>(&body, &path)?.peers, now),
            Render::Peer => peer_detail(&parse::<PeerView>(&body, &path)?, now),
            Render::Rejected => rejected_table(&parse::<RejectedPage>(&body, &path)?),
            Render::Explain => explain_table(&parse::<ExplainView>(&body, &path)?),
            Render::PeerRoutes { detail } => routes::peer(
                &parse::<crate::api::routes::PeerRoutesBody>(&body, &path)?,
                detail,
            ),
            Render::PrefixRoutes { detail } => routes::prefix_routes(
                &parse::<crate::api::routes::PrefixRoutesBody>(&body, &path)?,
                detail,
            ),
            Render::Rpki => rpki_text(&parse::<RpkiStatus>(&body, &path)?),
            Render::Incidents => incident::table(&parse::<IncidentsRows>(&body, &path)?.incidents),
            Render::Incident => {
                incident::report(&parse::<crate::api::Incident>(&body, &path)?, now)
            }
            Render::Message => {
                let mut m = parse::<MessageBody>(&body, &path)?.message;
                if !m.ends_with('\n') {
                    m.push('\n');
                }
                m
            }
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if args.json {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

enum Render {
    Incidents,
    Incident,
    Peers,
    Peer,
    Rejected,
    Explain,
    Rpki,
    Message,
    PeerRoutes { detail: bool },
    PrefixRoutes { detail: bool },
}

/// A peer name as one URL path segment.
fn percent_encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Indents JSON text like `serde_json::to_string_pretty`, keeping its keys in the order the
/// API wrote them (a `serde_json::Value` would sort them). `None` if it is not JSON.
pub fn pretty_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_str, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let mut j = i;
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                out.push(c);
                if chars.get(j) == Some(&close) {
                    out.push(close);
                    i = j + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// A table: columns padded to their widest cell, two spaces apart; numbers right-aligned.
struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&'static str, bool)]) -> Table {
        Table {
            headers: cols.iter().map(|c| c.0).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, header: bool) -> String {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|h| if header { h.chars().count() } else { 0 })
            .collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut l = String::new();
            for (i, ((c, w), right)) in cells.iter().zip(&widths).zip(&self.right).enumerate() {
                if i > 0 {
                    l.push_str("  ");
                }
                let pad = w.saturating_sub(c.chars().count());
                if *right {
                    l.extend(std::iter::repeat_n(' ', pad));
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    l.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        if header {
            let h: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
            line(&h);
        }
        for r in &self.rows {
            line(r);
        }
        out
    }
}

/// `3d4h`, `5h12m`, `7m3s`, `42s`.
pub fn humanize(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, s) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// `2023-11-14 22:13:20` (UTC) from unix seconds.
pub fn utc(t: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn peers_table(peers: &[PeerView], now: i64) -> String {
    let mut t = Table::new(&[
        ("NAME", false),
        ("ROLE", false),
        ("ASN", true),
        ("ADDRESS", false),
        ("STATE", false),
        ("FOR", true),
        ("ROUTER", false),
        ("RECV4", true),
        ("RECV6", true),
        ("ACPT4", true),
        ("ACPT6", true),
        ("SENT4", true),
        ("SENT6", true),
        ("REJ-IN", true),
        ("REJ-OUT", true),
        ("MAX-PREFIX", false),
    ]);
    for p in peers {
        t.row(vec![
            p.name.clone(),
            p.role.to_string(),
            p.asn.0.to_string(),
            p.address.to_string(),
            state_word(p),
            opt(p.since.map(|s| humanize(now - s))),
            p.router.state.as_str().to_string(),
            p.routes_in.ipv4.to_string(),
            p.routes_in.ipv6.to_string(),
            p.accepted_in.ipv4.to_string(),
            p.accepted_in.ipv6.to_string(),
            p.routes_out.ipv4.to_string(),
            p.routes_out.ipv6.to_string(),
            p.rejected_in.to_string(),
            p.rejected_out.to_string(),
            p.max_prefix.state.as_str().to_string(),
        ]);
    }
    t.render(true)
}

/// The STATE column of `ctl peers`: the neighbor session's state, `shutdown` while the pair is
/// administratively down.
fn state_word(p: &PeerView) -> String {
    match p.shutdown {
        Some(_) => "shutdown".to_string(),
        None => p.state.as_str().to_string(),
    }
}

fn peer_detail(p: &PeerView, now: i64) -> String {
    let mut t = Table::new(&[("", false), ("", false)]);
    let mut kv = |k: &str, v: String| t.row(vec![format!("{k}:"), v]);
    kv("name", p.name.clone());
    kv("role", p.role.to_string());
    kv("asn", p.asn.0.to_string());
    kv("address", p.address.to_string());
    kv(
        "state",
        match p.since {
            Some(s) => format!(
                "{} for {} (since {} UTC)",
                p.state.as_str(),
                humanize(now - s),
                utc(s)
            ),
            None => p.state.as_str().to_string(),
        },
    );
    if let Some(s) = &p.shutdown {
        kv(
            "shutdown",
            format!(
                "{} since {} UTC, by {}",
                if s.message.is_empty() {
                    "no message".to_string()
                } else {
                    format!("{:?}", s.message)
                },
                utc(s.since),
                if s.configured {
                    "the configuration (`shutdown`)"
                } else {
                    "an operator (`ctl neighbor down`)"
                }
            ),
        );
    }
    session_lines(&mut kv, "", &p.session);
    let afis = |c: &crate::api::AfiCounts| format!("ipv4 {}, ipv6 {}", c.ipv4, c.ipv6);
    kv("received", afis(&p.routes_in));
    kv("accepted", afis(&p.accepted_in));
    kv("rejected in", p.rejected_in.to_string());
    kv("sent", afis(&p.routes_out));
    kv("rejected out", p.rejected_out.to_string());
    let r = &p.router;
    kv(
        "router",
        format!(
            "{} from {}, {}",
            r.address,
            r.local_address,
            match r.since {
                Some(s) => format!("{} for {}", r.state.as_str(), humanize(now - s)),
                None => r.state.as_str().to_string(),
            }
        ),
    );
    session_lines(&mut kv, "router ", &r.session);
    kv("from router", afis(&r.routes_in));
    kv("to router", afis(&r.routes_out));
    let mp = &p.max_prefix;
    kv(
        "max-prefix",
        match mp.down_until {
            Some(u) => format!("{} until {} UTC", mp.state.as_str(), utc(u)),
            None => mp.state.as_str().to_string(),
        },
    );
    if let Some(trip) = &mp.last_trip {
        let what = match trip.afi {
            Some(afi) => format!("{} {afi}", trip.kind),
            None => trip.kind.clone(),
        };
        kv(
            "last trip",
            format!(
                "{} UTC, {}, {what} {}/{}, {}",
                utc(trip.at),
                trip.direction.as_str(),
                trip.count,
                trip.limit,
                serde_json::to_value(trip.action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        );
    }
    t.render(false)
}

/// A session's FSM state, flaps and last error as `peer` detail lines (none from an API that
/// does not report them).
fn session_lines(
    kv: &mut impl FnMut(&str, String),
    prefix: &str,
    s: &crate::bgp::diag::SessionDiag,
) {
    if s.fsm_state.is_empty() {
        return;
    }
    let since = s
        .fsm_since
        .map(|t| format!(" since {} UTC", utc(t)))
        .unwrap_or_default();
    kv(
        &format!("{prefix}fsm"),
        format!("{}{since}, {} flaps", s.fsm_state, s.flaps),
    );
    if let Some(e) = &s.last_error {
        kv(
            &format!("{prefix}last error"),
            format!("{} UTC: {}", utc(e.at), e.error),
        );
    }
}

fn rejected_table(page: &RejectedPage) -> String {
    let mut t = Table::new(&[
        ("TIME (UTC)", false),
        ("PEER", false),
        ("DIR", false),
        ("PREFIX", false),
        ("PATH", false),
        ("REASONS", false),
        ("RPKI", false),
        ("ASPA", false),
    ]);
    for r in &page.routes {
        t.row(vec![
            utc(r.time),
            r.peer.clone(),
            r.direction.as_str().to_string(),
            match r.path_id {
                Some(id) => format!("{} (path id {id})", r.prefix),
                None => r.prefix.to_string(),
            },
            r.path.clone(),
            r.reasons
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join(","),
            opt(r.rpki.map(|s| s.as_str())),
            opt(r.aspa.map(|s| s.as_str())),
        ]);
    }
    let mut out = t.render(true);
    let _ = write!(
        out,
        "{} of {} matching rejected routes",
        page.routes.len(),
        page.total
    );
    if page.offset > 0 {
        let _ = write!(out, " (after the newest {})", page.offset);
    }
    if page.dropped > 0 {
        let _ = write!(out, "; {} older ones no longer kept", page.dropped);
    }
    out.push('\n');
    out
}

fn explain_table(e: &ExplainView) -> String {
    let mut out = String::new();
    let failed: Vec<&str> = e
        .checks
        .iter()
        .filter(|c| c.failed && c.enabled)
        .map(|c| c.reason.code())
        .collect();
    let communities = if e.communities.is_empty() {
        String::new()
    } else {
        format!(" communities {}", e.communities.join(" "))
    };
    let _ = writeln!(
        out,
        "{} path {}{communities} from {}: {}",
        e.prefix,
        if e.path.is_empty() {
            "(empty)"
        } else {
            &e.path
        },
        e.peer,
        if e.accepted {
            "accepted".to_string()
        } else {
            format!("REJECTED ({})", failed.join(","))
        }
    );
    let _ = writeln!(
        out,
        "rpki {}, aspa {}",
        e.rpki.map_or("(no data)", |s| s.as_str()),
        e.aspa.map_or("(no data)", |s| s.as_str())
    );
    out.push('\n');
    let mut t = Table::new(&[
        ("CHECK", false),
        ("NUM", true),
        ("ENABLED", false),
        ("RESULT", false),
    ]);
    for c in &e.checks {
        t.row(vec![
            c.reason.code().to_string(),
            c.number.to_string(),
            if c.enabled { "yes" } else { "no" }.to_string(),
            if c.failed { "FAIL" } else { "pass" }.to_string(),
        ]);
    }
    out.push_str(&t.render(true));
    out
}

fn rpki_text(s: &RpkiStatus) -> String {
    let mut head = Table::new(&[("", false), ("", false)]);
    let mut kv = |k: &str, v: String| head.row(vec![format!("{k}:"), v]);
    kv("VRPs", format!("ipv4 {}, ipv6 {}", s.vrps_v4, s.vrps_v6));
    kv("ASPAs", s.aspas.to_string());
    kv("generation", s.generation.to_string());
    kv(
        "last update",
        s.last_update
            .map_or_else(|| "never".to_string(), |t| format!("{} UTC", utc(t))),
    );
    let cb = &s.circuit_breaker;
    kv(
        "circuit breaker",
        if cb.held {
            let mut v = "HOLDING an update".to_string();
            if let Some(since) = cb.since {
                let _ = write!(v, " since {} UTC", utc(since));
            }
            if let Some(why) = &cb.why {
                let _ = write!(v, ": {why}");
            }
            v.push_str(" (bgpsieve ctl rpki accept puts it in force)");
            v
        } else {
            "not holding".to_string()
        },
    );
    let mut out = head.render(false);
    if !s.caches.is_empty() {
        let mut t = Table::new(&[
            ("CACHE", false),
            ("UP", false),
            ("VERSION", true),
            ("SESSION", true),
            ("SERIAL", true),
            ("LAST CHANGE (UTC)", false),
            ("DATA AGE", true),
        ]);
        for c in &s.caches {
            t.row(vec![
                c.address.clone(),
                if c.up { "yes" } else { "no" }.to_string(),
                opt(c.version),
                opt(c.session_id),
                opt(c.serial),
                opt(c.last_change.map(utc)),
                opt(c.age_s.map(humanize)),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(true));
    }
    if !s.files.is_empty() {
        let mut t = Table::new(&[
            ("FILE", false),
            ("LOADED (UTC)", false),
            ("DATA AGE", true),
            ("ERROR", false),
        ]);
        for f in &s.files {
            t.row(vec![
                f.path.clone(),
                opt(f.loaded_at.map(utc)),
                opt(f.age_s.map(humanize)),
                opt(f.error.clone()),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render(true));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_humanized_to_two_units() {
        assert_eq!(humanize(3 * 86400 + 4 * 3600 + 59 * 60), "3d4h");
        assert_eq!(humanize(5 * 3600 + 12 * 60 + 1), "5h12m");
        assert_eq!(humanize(7 * 60 + 3), "7m3s");
        assert_eq!(humanize(42), "42s");
        assert_eq!(humanize(-5), "0s");
    }

    #[test]
    fn utc_dates_match_known_timestamps() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_203_878_361), "2008-02-24 18:39:21");
    }

    #[test]
    fn pretty_json_keeps_key_order_and_matches_serde_json_layout() {
        let text = r#"{"z":1,"a":[],"m":{},"s":"a,{b}:\"c\"","l":[1,{"k":null}]}"#;
        assert_eq!(
            pretty_json(text).unwrap(),
            "{\n  \"z\": 1,\n  \"a\": [],\n  \"m\": {},\n  \"s\": \"a,{b}:\\\"c\\\"\",\n  \"l\": [\n    1,\n    {\n      \"k\": null\n    }\n  ]\n}"
        );
        // Same layout as serde_json where the key order is the same.
        let v = serde_json::json!({"a": [1, 2], "b": {"c": "d"}});
        assert_eq!(
            pretty_json(&v.to_string()).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        assert_eq!(pretty_json("{nope"), None);
    }

    #[test]
    fn tables_pad_and_right_align_numbers() {
        let mut t = Table::new(&[("NAME", false), ("N", true), ("NOTE", false)]);
        t.row(vec!["a".into(), "1000".into(), "x".into()]);
        t.row(vec!["longer".into(), "7".into(), "".into()]);
        assert_eq!(
            t.render(true),
            "NAME       N  NOTE\na       1000  x\nlonger     7\n"
        );
    }

    #[test]
    fn peer_names_are_one_path_segment() {
        assert_eq!(percent_encode_segment("transit-a"), "transit-a");
        assert_eq!(percent_encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn the_api_address_comes_from_the_option_then_the_config_then_the_default() {
        assert_eq!(
            api_listen("[api]\nlisten = \"127.0.0.9:8080\"\n"),
            Ok("127.0.0.9:8080".parse().unwrap())
        );
        assert_eq!(
            api_listen("[global]\nasn = 1\n"),
            Ok("127.0.0.1:9179".parse().unwrap())
        );
        assert_eq!(
            api_listen("[api]\nlisten = \"0.0.0.0:9000\"\n"),
            Ok("127.0.0.1:9000".parse().unwrap()),
            "a wildcard is reached on loopback"
        );
        assert_eq!(
            api_listen("[api]\nlisten = \"[::]:9000\"\n"),
            Ok("[::1]:9000".parse().unwrap())
        );
        assert!(api_listen("[api]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .contains("nowhere"));

        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("bgpsieve.toml");
        std::fs::write(&conf, "[api]\nlisten = \"[::1]:9181\"\n").unwrap();
        assert_eq!(
            api_url(Some("http://x:1"), Some(&conf)).unwrap(),
            "http://x:1",
            "--api wins"
        );
        assert_eq!(api_url(None, Some(&conf)).unwrap(), "http://[::1]:9181");
        let missing = dir.path().join("missing.toml");
        let err = api_url(None, Some(&missing)).unwrap_err();
        assert!(matches!(err, CtlError::Config(_)), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
