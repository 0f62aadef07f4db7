//! The daemon: wires the pairs' sessions, the listeners, the data task, the API and the RIB.
//!
//! ```text
//!  listener task(s) ──Incoming(TcpStream)──▶ session task, two per [[peer]] (one pair):
//!    matched by (remote, local) address       neighbor side ◀──Twin(Connected, Open, Lost)──▶
//!                                             router side: the OPENs mirrored, the router side
//!                                             running only while the neighbor side is connected.
//!                                             Each owns socket, FSM, timers, codec and writer,
//!                                             runs its direction's stateless checks with the
//!                                             SharedPolicy snapshot in force, and encodes what
//!                                             it is sent for its own negotiated parameters.
//!     RibEvent::Session(Up,Down,Update,…) ────▼  (bounded channel: back-pressure on reads)
//!  data task ──RibEvent::{Rpki,Policy,Reconfigure,Clear}──▶ RIB thread (std thread, owns routes)
//!   RTR client, file polls, SIGHUP,          │  per pair: both Adj-RIBs-In, limits,
//!   config reload; swaps SharedPolicy         │  re-checks, incidents, metrics, rejected
//!   ▲ Control::{Reload,RpkiAccept,Clear}     │  store, peer views
//!   │                                         │
//!  API task (axum on [api] listen) ◀── reads metrics, rejected store, peer views, RPKI status
//!  ticker ──RibEvent::Tick (1 s)──▶ RIB       │
//!            ToSession::{Routes,Stop,Start,Reconfigure,…} ◀─┘  (unbounded per session)
//!  signal task: SIGTERM/SIGINT ──Shutdown(RFC 8203 message)──▶ every session
//! ```
//!
//! The RIB runs on its own thread because applying a full table is CPU work that must not
//! stall the sessions' keepalives. Tasks talk by messages; what they share is read-mostly and
//! swapped whole (the policy snapshot) or behind short locks (the API's views and store).

use crate::bgp::capability::BgpRole;
use crate::bgp::fsm::FsmConfig;
use crate::bgp::mirror::MirrorRules;
use crate::bgp::open::{LocalSpeaker, Open, PeerExpectation};
use crate::bgp::session::{self, SessionConfig, ToSession};
use crate::config::{Config, PeerConfig, RouterConfig};
use crate::policy::{PolicySnapshot, SharedPolicy};
use crate::rib::{Output, Pair, Rib, RibEvent};
use crate::setup;
use crate::types::{PerSide, SessionId, Side};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

mod data;
mod incident_log;
mod notify;
mod reload;
mod webhook;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Data(String),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}

/// Once this many fewer routes are held than at the most since the last time, the RIB thread
/// gives freed memory back to the OS (`release_free_memory`).
const RELEASE_AFTER_FREEING: usize = 100_000;

/// The router side of a configured pair. A configuration loaded for the daemon has one for
/// every `[[peer]]`; one loaded for replay may not, and is refused here.
fn router_of(p: &PeerConfig) -> Result<&RouterConfig, DaemonError> {
    p.router.as_ref().ok_or_else(|| {
        DaemonError::Data(format!(
            "peer {:?} has no router table: the daemon needs one for every pair",
            p.name
        ))
    })
}

/// Builds the RIB's view of every configured pair.
fn rib_pairs(cfg: &Config) -> Result<Vec<Pair>, DaemonError> {
    cfg.peers.iter().map(rib_pair).collect()
}

/// Builds the RIB's view of one configured pair.
fn rib_pair(p: &PeerConfig) -> Result<Pair, DaemonError> {
    {
        {
            let router = router_of(p)?;
            let policy = setup::peer_policy(p).map_err(|e| DaemonError::Data(e.to_string()))?;
            let mut pair = Pair::new(p.name.clone(), p.role, p.asn, router.asn, policy);
            pair.next_hop = p.next_hop;
            pair.shutdown_configured = p.shutdown.clone();
            pair.shutdown = p.shutdown.clone().map(|message| crate::rib::Shutdown {
                message,
                since: crate::unix_now(),
                configured: true,
            });
            pair.router_address = router.address;
            pair.router_local_address = router.local_address;
            let observe = pair.policy.observe;
            pair.flows.inbound.table.set_limits(
                setup::limits(&p.max_prefix_in),
                p.burst_guard.as_ref().map(setup::burst),
                observe,
            );
            pair.flows
                .outbound
                .table
                .set_limits(setup::limits(&p.max_prefix_out), None, observe);
            Ok(pair)
        }
    }
}

/// The configurations of pair `i`'s two sessions (`r` is its router side). Toward the neighbor
/// bgpsieve speaks as the operator's router (its AS toward this neighbor); toward the router as
/// the neighbor, from its own address for the pair. Each side sends the OPEN the other side's
/// remote sent (mirrored), or, until that is known, one made from the configuration.
pub(super) fn session_configs(
    cfg: &Config,
    i: usize,
    (p, r): (&PeerConfig, &RouterConfig),
    checks: &Arc<SharedPolicy>,
) -> PerSide<SessionConfig> {
    let fsm = |passive: bool, wait: Duration| FsmConfig {
        passive,
        hold_time: cfg.global.hold_time,
        idle_hold: p.idle_hold,
        idle_hold_max: p.idle_hold_max,
        connect_retry: p.connect_retry,
        delay_open: Some(wait),
    };
    let speaker = |asn, role| {
        Open::new(&LocalSpeaker {
            asn,
            router_id: cfg.global.router_id,
            hold_time: cfg.global.hold_time,
            families: p.afi.clone(),
            add_path: Vec::new(),
            neighbor_role: Some(role),
            extended_message: true,
            enhanced_route_refresh: false,
        })
    };
    let rules = |role| MirrorRules {
        families: p.afi.clone(),
        role: Some(BgpRole::ours_toward(role)),
        fallback_id: cfg.global.router_id,
    };
    // The router sees the neighbor's relationship from the other end.
    let router_role = p.role.inverse();
    PerSide {
        neighbor: SessionConfig {
            id: SessionId::new(i, Side::Neighbor),
            name: p.name.clone(),
            remote: SocketAddr::new(p.address, p.port),
            local_address: p.local_address,
            fsm: fsm(p.passive, session::MIRROR_WAIT_NEIGHBOR),
            local_open: speaker(r.asn, p.role),
            expect: PeerExpectation {
                asn: p.asn,
                local_asn: r.asn,
                role: Some(p.role),
                role_strict: p.role_strict,
            },
            mirror: Some(rules(p.role)),
            follows_twin: false,
            checks: Some(checks.clone()),
            md5: p.md5_password.clone(),
            gtsm: p.ttl_security,
            graceful_restart: cfg.graceful_restart.local(),
            admin_down: p.shutdown.clone(),
        },
        router: SessionConfig {
            id: SessionId::new(i, Side::Router),
            name: p.name.clone(),
            remote: SocketAddr::new(r.address, r.port),
            local_address: Some(r.local_address),
            fsm: fsm(r.passive, session::MIRROR_WAIT_ROUTER),
            local_open: speaker(p.asn, router_role),
            expect: PeerExpectation {
                asn: r.asn,
                local_asn: p.asn,
                role: Some(router_role),
                role_strict: false,
            },
            mirror: Some(rules(router_role)),
            follows_twin: true,
            checks: Some(checks.clone()),
            md5: r.md5_password.clone(),
            gtsm: r.ttl_security,
            graceful_restart: cfg.graceful_restart.local(),
            // The router side follows its neighbor side, administrative shutdown included.
            admin_down: None,
        },
    }
}

/// Which session a connection accepted on a listener belongs to: the one whose remote
/// address and local address match, else the one whose remote matches and whose local address
/// is not fixed.
fn match_session(
    table: &[(IpAddr, Option<IpAddr>, SessionId)],
    remote: IpAddr,
    local: Option<IpAddr>,
) -> Option<SessionId> {
    let exact = table
        .iter()
        .find(|(r, l, _)| *r == remote && l.is_some() && *l == local);
    exact
        .or_else(|| table.iter().find(|(r, l, _)| *r == remote && l.is_none()))
        .map(|(_, _, id)| *id)
}

/// The listener table's rows for the pair in `slot`: each session's (remote address, fixed
/// local address).
fn pair_table(slot: usize, p: &PeerConfig) -> Vec<(IpAddr, Option<IpAddr>, SessionId)> {
    let mut t = vec![(
        p.address,
        p.local_address,
        SessionId::new(slot, Side::Neighbor),
    )];
    if let Some(r) = &p.router {
        t.push((
            r.address,
            Some(r.local_address),
            SessionId::new(slot, Side::Router),
        ));
    }
    t
}

/// Every session's (remote address, fixed local address) for the listeners, the pairs in
/// their starting slots (the configuration's order).
fn session_table(cfg: &Config) -> Vec<(IpAddr, Option<IpAddr>, SessionId)> {
    cfg.peers
        .iter()
        .enumerate()
        .flat_map(|(i, p)| pair_table(i, p))
        .collect()
}

/// The command channels of every session, by pair slot (a retired slot keeps its closed
/// channels).
type Sessions = Vec<PerSide<mpsc::UnboundedSender<ToSession>>>;

fn send_to(sessions: &Sessions, to: SessionId, order: ToSession) {
    if let Some(pair) = sessions.get(to.pair) {
        let _ = pair[to.side].send(order);
    }
}

/// What the listeners and the RIB thread find sessions by: the session channels by slot and
/// the listeners' table.
#[derive(Clone, Default)]
struct Wiring {
    sessions: Sessions,
    table: Vec<(IpAddr, Option<IpAddr>, SessionId)>,
}

/// The [`Wiring`] in force, swapped whole by a reload that adds or removes pairs. Readers take
/// the `Arc` once per accepted connection or per RIB batch, never per UPDATE, and hold no
/// lock while they use it.
#[derive(Clone, Default)]
pub(super) struct SharedWiring(Arc<std::sync::RwLock<Arc<Wiring>>>);

impl SharedWiring {
    fn load(&self) -> Arc<Wiring> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn change(&self, f: impl FnOnce(&mut Wiring)) {
        let mut w = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = (**w).clone();
        f(&mut next);
        *w = Arc::new(next);
    }

    pub(super) fn send_to(&self, to: SessionId, order: ToSession) {
        send_to(&self.load().sessions, to, order);
    }
}

/// A pair's two session channels and its two session tasks.
type SpawnedPair = (
    PerSide<mpsc::UnboundedSender<ToSession>>,
    [tokio::task::JoinHandle<()>; 2],
);

/// Spawns the two sessions of the pair in `slot`; returns their channels and tasks.
fn spawn_pair(
    cfg: &Config,
    slot: usize,
    p: &PeerConfig,
    checks: &Arc<SharedPolicy>,
    rib_tx: &mpsc::Sender<RibEvent>,
    diag: &PerSide<crate::bgp::diag::DiagHandle>,
) -> Result<SpawnedPair, DaemonError> {
    let configs = session_configs(cfg, slot, (p, router_of(p)?), checks);
    let (ntx, nrx) = mpsc::unbounded_channel();
    let (rtx, rrx) = mpsc::unbounded_channel();
    let n = session::spawn_with(
        configs.neighbor,
        nrx,
        rib_tx.clone(),
        Some(rtx.clone()),
        diag.neighbor.clone(),
    );
    let r = session::spawn_with(
        configs.router,
        rrx,
        rib_tx.clone(),
        Some(ntx.clone()),
        diag.router.clone(),
    );
    Ok((
        PerSide {
            neighbor: ntx,
            router: rtx,
        },
        [n, r],
    ))
}

/// Every session's (remote address, TCP-MD5 key, GTSM) for the listeners of `v6`'s family; of
/// sessions sharing a remote address, the last one's key is the one the kernel keeps.
fn listener_sessions(
    cfg: &Config,
    v6: bool,
) -> Vec<(IpAddr, Option<&crate::config::Secret>, bool)> {
    let mut sessions = Vec::new();
    for p in &cfg.peers {
        sessions.push((p.address, p.md5_password.as_ref(), p.ttl_security));
        if let Some(r) = &p.router {
            sessions.push((r.address, r.md5_password.as_ref(), r.ttl_security));
        }
    }
    sessions.retain(|(a, _, _)| a.is_ipv6() == v6);
    sessions
}

/// Runs the daemon until SIGTERM or SIGINT, without configuration reloads (SIGHUP reloads the
/// data files only).
pub fn run(cfg: Config) -> Result<(), DaemonError> {
    run_file(cfg, None)
}

/// Runs the daemon until SIGTERM or SIGINT; SIGHUP reads the configuration at `path` again.
pub fn run_file(cfg: Config, path: Option<std::path::PathBuf>) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bgpsieve-io")
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(run_async(cfg, path))
}

/// The (address family, listener) pairs' security settings: every TCP-MD5 key of the sessions
/// of `addr`'s family, and whether all of them use GTSM.
fn secure_listener(l: &TcpListener, addr: &SocketAddr, cfg: &Config) -> Result<(), DaemonError> {
    let err = |source| DaemonError::Listen {
        addr: *addr,
        source,
    };
    let sessions = listener_sessions(cfg, addr.is_ipv6());
    // RFC 2385: the listening socket knows each remote's key, so the handshake is signed.
    for (a, key, _) in &sessions {
        if let Some(key) = key {
            crate::bgp::sockopt::set_md5(l, *a, key.expose().as_bytes()).map_err(err)?;
        }
    }
    // RFC 5082: when every session of the listener's family uses GTSM, the kernel drops a SYN
    // with a low TTL before any connection exists. With a mix, the accepted socket of a GTSM
    // session gets the check (its first bytes may already be queued by then).
    if !sessions.is_empty() && sessions.iter().all(|(_, _, gtsm)| *gtsm) {
        crate::bgp::sockopt::set_gtsm(l, addr.is_ipv6()).map_err(err)?;
        tracing::info!(%addr, "GTSM on the listener: every session of its family uses it");
    }
    Ok(())
}

/// The TCP-MD5 keys of the listeners after a reload that removed the pairs `removed` (names in
/// `old`) and added `added` (indices in `new`): every remote address of theirs gets the key
/// the new configuration gives it, or none. A key that cannot be set is logged (the session
/// of that address then fails to connect, as it would with a wrong key).
fn set_listener_keys(
    listeners: &[(SocketAddr, Arc<TcpListener>)],
    (old, removed): (&Config, &[String]),
    (new, added): (&Config, &[usize]),
) {
    let gone = old.peers.iter().filter(|p| removed.contains(&p.name));
    let came = added.iter().filter_map(|&i| new.peers.get(i));
    for (addr, l) in listeners {
        let keys = listener_sessions(new, addr.is_ipv6());
        for p in gone.clone().chain(came.clone()) {
            let remotes = std::iter::once(p.address).chain(p.router.as_ref().map(|r| r.address));
            for remote in remotes.filter(|a| a.is_ipv6() == addr.is_ipv6()) {
                let key = keys
                    .iter()
                    .rev()
                    .find(|(a, k, _)| *a == remote && k.is_some())
                    .and_then(|(_, k, _)| *k);
                let bytes = key.map_or(&[][..], |k| k.expose().as_bytes());
                if let Err(e) = crate::bgp::sockopt::set_md5(&**l, remote, bytes) {
                    // Removing a key the listener never had fails with ENOENT: nothing to do.
                    if key.is_some() {
                        tracing::error!(%addr, %remote, "TCP-MD5 key of an added pair: {e}");
                    }
                }
            }
        }
    }
}

async fn run_async(cfg: Config, path: Option<std::path::PathBuf>) -> Result<(), DaemonError> {
    let local = setup::local_policy(&cfg).map_err(|e| DaemonError::Data(e.to_string()))?;
    let pairs = rib_pairs(&cfg)?;
    let snapshot = |rpki: Arc<crate::rpki::RpkiData>, generation: u64| PolicySnapshot {
        generation,
        rpki,
        local: local.clone(),
        peers: pairs.iter().map(|p| p.policy.clone()).collect(),
    };
    // Until the RPKI data is in, the API answers with `starting` (and `explain` with 503).
    let shared = Arc::new(SharedPolicy::new(snapshot(
        Arc::new(crate::rpki::RpkiData::empty()),
        0,
    )));
    let metrics = Arc::new(
        crate::metrics::Metrics::try_new(
            &cfg.peers
                .iter()
                .map(|p| crate::metrics::PeerLabel {
                    name: p.name.clone(),
                })
                .collect::<Vec<_>>(),
        )
        .map_err(|e| DaemonError::Data(e.to_string()))?,
    );
    let rejected = Arc::new(crate::rib::rejected::RejectedStore::new(
        cfg.api.rejected_routes,
    ));
    let peer_views = Arc::new(std::sync::Mutex::new(Vec::new()));
    let incidents = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rpki_status = Arc::new(std::sync::Mutex::new(
        crate::rib::views::RpkiStatus::default(),
    ));
    let (control_tx, control_rx) = mpsc::channel(8);
    let data_ops = data::DataOps {
        metrics: metrics.clone(),
        status: rpki_status.clone(),
        control: control_rx,
        caches: cfg
            .rpki
            .rtr_in_preference_order()
            .into_iter()
            .map(|c| c.address.clone())
            .collect(),
    };
    data_ops.starting();

    // The API on its (loopback) listener, /metrics and /api/v1, before the wait for RTR data:
    // monitoring sees a starting daemon and its caches' state.
    let api_listener =
        TcpListener::bind(cfg.api.listen)
            .await
            .map_err(|source| DaemonError::Listen {
                addr: cfg.api.listen,
                source,
            })?;
    tracing::info!(addr = %cfg.api.listen, "API listening");
    let api_state = crate::api::ApiState {
        policy: shared.clone(),
        rejected: rejected.clone(),
        peers: peer_views.clone(),
        rpki: rpki_status,
        metrics: metrics.clone(),
        control: control_tx,
        incidents: incidents.clone(),
    };
    tokio::spawn(async move {
        if let Err(e) = crate::api::serve(api_listener, api_state).await {
            tracing::error!("API server ended: {e}");
        }
    });

    let data = data::DataTask::start(&cfg, &data_ops)
        .await
        .map_err(|e| DaemonError::Data(e.to_string()))?;
    let (rpki, generation) = data.initial.clone();
    shared.store(snapshot(rpki.clone(), generation));
    let pair_count = pairs.len();
    // Each session's diagnostics: written by its task, shown by the RIB's views and metrics.
    let diags: Vec<PerSide<crate::bgp::diag::DiagHandle>> = (0..pair_count)
        .map(|i| {
            PerSide::new(|side| {
                crate::bgp::diag::DiagHandle::with_metrics(metrics.clone(), SessionId::new(i, side))
            })
        })
        .collect();
    let mut pairs = pairs;
    for (p, d) in pairs.iter_mut().zip(&diags) {
        p.diag = d.clone();
    }
    let mut rib = Rib::new(pairs, local, rpki);
    let metrics_for_reload = metrics.clone();
    rib.ops = Some(crate::rib::Ops::new(
        metrics, rejected, peer_views, incidents, pair_count,
    ));
    rib.refresh_ops(true);
    rib.incidents.rejections_per_min = cfg.incidents.rejections_per_min;
    rib.stale_time = cfg.graceful_restart.stale_time.as_secs();
    let incidents = incident_log::Delivery::start(
        &cfg.global.state_dir,
        cfg.incidents.keep,
        cfg.incidents.webhook.clone(),
        tokio::runtime::Handle::current(),
        &mut rib.incidents,
    );
    rib.policy_generation = generation;

    // Listeners first: a peer may connect as soon as its session exists.
    let mut listeners = Vec::new();
    for addr in &cfg.global.listen {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Listen {
                addr: *addr,
                source,
            })?;
        tracing::info!(%addr, "listening");
        secure_listener(&l, addr, &cfg)?;
        listeners.push((*addr, Arc::new(l)));
    }

    let (rib_tx, mut rib_rx) = mpsc::channel::<RibEvent>(1024);
    let mut sessions: Sessions = Vec::new();
    let handles = Arc::new(std::sync::Mutex::new(Vec::new()));
    for (i, (p, diag)) in cfg.peers.iter().zip(&diags).enumerate() {
        let (channels, tasks) = spawn_pair(&cfg, i, p, &shared, &rib_tx, diag)?;
        handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(tasks);
        sessions.push(channels);
    }
    let wiring = SharedWiring::default();
    wiring.change(|w| {
        w.sessions = sessions;
        w.table = session_table(&cfg);
    });
    let reload = path.map(|path| data::ReloadCtx {
        path,
        config: cfg.clone(),
        wiring: wiring.clone(),
        slots: reload::Slots::new(&cfg),
        listeners: listeners.clone(),
        handles: handles.clone(),
        metrics: metrics_for_reload.clone(),
    });
    let data_task = tokio::spawn(data.run(shared, rib_tx.clone(), reload, data_ops));
    let ticker = {
        let rib_tx = rib_tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                if let Err(mpsc::error::TrySendError::Closed(_)) = rib_tx.try_send(RibEvent::Tick) {
                    return;
                }
            }
        })
    };
    drop(rib_tx);

    for (_, l) in listeners {
        let wiring = wiring.clone();
        tokio::spawn(async move {
            loop {
                let (stream, remote) = match l.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let local = stream.local_addr().ok().map(|a| a.ip());
                let w = wiring.load();
                match match_session(&w.table, remote.ip(), local) {
                    Some(id) => send_to(&w.sessions, id, ToSession::Incoming(stream)),
                    None => tracing::warn!(%remote, "connection from an unknown peer refused"),
                }
            }
        });
    }

    // The RIB thread: all route state. Once the daemon stops it handles nothing more: the
    // sessions' ends are for the peers (graceful restart keeps the routes there), and setting a
    // full table aside as stale in a process about to exit would only delay the exit.
    let rib_wiring = wiring.clone();
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rib_stopping = stopping.clone();
    let rib_thread = std::thread::Builder::new()
        .name("bgpsieve-rib".into())
        .spawn(move || {
            let start = Instant::now();
            // The most routes held since freed memory was last given back.
            let mut most_held = 0usize;
            while let Some(first) = rib_rx.blocking_recv() {
                if rib_stopping.load(std::sync::atomic::Ordering::Acquire) {
                    return;
                }
                // Take what is already queued (up to a bound), then send it all.
                let mut orders: Vec<(SessionId, ToSession)> = Vec::new();
                let mut stops = false;
                let mut ev = Some(first);
                let mut taken = 0;
                while let Some(e) = ev.take() {
                    rib.now = start.elapsed().as_secs();
                    if matches!(e, RibEvent::Tick) {
                        // Once a second: after a large table went away, give its memory back.
                        let held = rib.routes_held();
                        if held + RELEASE_AFTER_FREEING < most_held {
                            crate::release_free_memory();
                            most_held = held;
                        }
                        most_held = most_held.max(held);
                    }
                    for o in rib.handle_event(e) {
                        match o {
                            Output::Routes { to, out } => {
                                orders.push((to, ToSession::Routes(Box::new(out))));
                            }
                            Output::Stop {
                                to,
                                notification,
                                restart_after,
                            } => {
                                stops = true;
                                orders.push((
                                    to,
                                    ToSession::Stop {
                                        notification,
                                        restart_after,
                                    },
                                ));
                            }
                            Output::Start { to } => orders.push((to, ToSession::Start)),
                            Output::AdminDown { to, message } => {
                                stops = true;
                                orders.push((to, ToSession::AdminDown(message)));
                            }
                            Output::AdminUp { to } => orders.push((to, ToSession::AdminUp)),
                            Output::RouteRefresh { to, afis } => {
                                orders.push((to, ToSession::RouteRefresh(afis)));
                            }
                        }
                    }
                    taken += 1;
                    if taken < 256 && !stops {
                        ev = rib_rx.try_recv().ok();
                    }
                }
                rib.refresh_ops(false);
                incidents.deliver(rib.incidents.take_changes());
                let sessions = &rib_wiring.load().sessions;
                for (to, order) in orders {
                    send_to(sessions, to, order);
                }
            }
            incidents.finish();
        })
        .map_err(DaemonError::Runtime)?;

    // Everything is up: config loaded, RPKI data in (or the RTR wait over), listeners bound,
    // sessions and the RIB thread running. systemd's watchdog counts from READY=1 on.
    tokio::spawn(notify::run_watchdog());
    let listening: Vec<String> = cfg.global.listen.iter().map(|a| a.to_string()).collect();
    if cfg.graceful_restart.enabled {
        tracing::info!(
            restart_time_s = cfg.graceful_restart.restart_time.as_secs(),
            "graceful restart on: a stop (SIGTERM) keeps this daemon's routes at the router and \
             the neighbors for the restart time"
        );
    }
    notify::ready(&format!(
        "running; pairs configured: {}; listening on {}",
        cfg.peers.len(),
        listening.join(", ")
    ));

    wait_for_signal().await;
    notify::stopping();
    stopping.store(true, std::sync::atomic::Ordering::Release);
    tracing::info!(
        graceful_restart = cfg.graceful_restart.enabled,
        "shutting down: every session ends (with graceful restart, its peer keeps the routes)"
    );
    for pair in &wiring.load().sessions {
        for side in Side::BOTH {
            let _ = pair[side].send(ToSession::Shutdown("bgpsieve is shutting down".into()));
        }
    }
    let handles = std::mem::take(
        &mut *handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    wiring.change(|w| w.sessions.clear());
    // The data task holds a sender of the RIB channel: the RIB thread ends when it is gone.
    data_task.abort();
    ticker.abort();
    let _ = data_task.await;
    let _ = ticker.await;
    let _ = tokio::task::spawn_blocking(move || rib_thread.join()).await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
