//! The daemon: wires sessions, listeners, the data task, the API and the RIB together.
//!
//! ```text
//!  listener task(s) ──Incoming(TcpStream)──▶ session task (one per [[peer]])
//!                                             │  owns socket, FSM, timers, codec, writer task;
//!                                             │  runs the stateless import checks with the
//!                                             │  SharedPolicy snapshot in force
//!     RibEvent::Session(Up,Down,Update,…) ────▼  (bounded channel: back-pressure on reads)
//!  data task ──RibEvent::{Rpki,Policy,Reconfigure,Clear}──▶ RIB thread (std thread, owns routes)
//!   RTR client, file polls, SIGHUP,          │  Adj-RIB-In, limits, best path / ADD-PATH,
//!   config reload; swaps SharedPolicy         │  export checks, Adj-RIB-Out, re-checks,
//!   ▲ Control::{Reload,RpkiAccept,Clear}     │  incidents, metrics, rejected store, peer views
//!   │                                         │
//!  API task (axum on [api] listen) ◀── reads metrics, rejected store, peer views, RPKI status
//!  ticker ──RibEvent::Tick (1 s)──▶ RIB       │
//!            ToSession::{Send,Stop,Start,Reconfigure,…} ◀─┘  (unbounded per session)
//!  signal task: SIGTERM/SIGINT ──Shutdown(RFC 8203 message)──▶ every session
//! ```
//!
//! The RIB runs on its own thread because applying a full table is CPU work that must not
//! stall the sessions' keepalives. Tasks talk by messages; what they share is read-mostly and
//! swapped whole (the policy snapshot) or behind short locks (the API's views and store).

use crate::bgp::fsm::FsmConfig;
use crate::bgp::open::{LocalSpeaker, Open, PeerExpectation};
use crate::bgp::session::{self, ImportContext, SessionConfig, ToSession};
use crate::config::Config;
use crate::rib::{Output, PolicySnapshot, Rib, RibEvent, RibPeer, SharedPolicy};
use crate::setup;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

mod data;
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

/// Builds the RIB's view of every configured peer.
fn rib_peers(cfg: &Config) -> Result<Vec<RibPeer>, DaemonError> {
    cfg.peers
        .iter()
        .map(|p| {
            let policy = setup::peer_policy(p).map_err(|e| DaemonError::Data(e.to_string()))?;
            let mut rp = RibPeer::new(p.name.clone(), p.role, p.asn, policy);
            rp.next_hop = p.next_hop;
            rp.mp_in = crate::policy::MaxPrefixState::new(
                setup::limits(&p.max_prefix_in),
                p.burst_guard.as_ref().map(setup::burst),
            );
            rp.mp_out = crate::policy::MaxPrefixState::new(setup::limits(&p.max_prefix_out), None);
            Ok(rp)
        })
        .collect()
}

/// The session task's configuration of peer `i`.
pub(super) fn session_config(
    cfg: &Config,
    i: usize,
    p: &crate::config::PeerConfig,
    import: Option<Arc<ImportContext>>,
) -> SessionConfig {
    SessionConfig {
        peer: i,
        name: p.name.clone(),
        remote: SocketAddr::new(p.address, p.port),
        local_address: p.local_address,
        fsm: FsmConfig {
            passive: p.passive,
            hold_time: cfg.global.hold_time,
            idle_hold: p.idle_hold,
            idle_hold_max: p.idle_hold_max,
            connect_retry: p.connect_retry,
            ..FsmConfig::default()
        },
        local_open: Open::new(&LocalSpeaker::for_peer(&cfg.global, p)),
        expect: PeerExpectation::for_peer(&cfg.global, p),
        import,
        md5: p.md5_password.clone(),
        gtsm: p.ttl_security,
    }
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

async fn run_async(cfg: Config, path: Option<std::path::PathBuf>) -> Result<(), DaemonError> {
    let data = data::DataTask::start(&cfg)
        .await
        .map_err(|e| DaemonError::Data(e.to_string()))?;
    let (rpki, generation) = data.initial.clone();
    let local = setup::local_policy(&cfg).map_err(|e| DaemonError::Data(e.to_string()))?;
    let peers = rib_peers(&cfg)?;
    let shared = Arc::new(SharedPolicy::new(PolicySnapshot {
        generation,
        rpki: rpki.clone(),
        local: local.clone(),
        peers: peers.iter().map(|p| p.policy.clone()).collect(),
    }));
    let imports: Vec<Option<Arc<ImportContext>>> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (p.role != crate::types::Role::Router).then(|| {
                Arc::new(ImportContext {
                    peer: i,
                    shared: shared.clone(),
                })
            })
        })
        .collect();
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
    let rejected = Arc::new(crate::api::rejected::RejectedStore::new(
        cfg.api.rejected_routes,
    ));
    let peer_views = Arc::new(std::sync::Mutex::new(Vec::new()));
    let incidents = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rpki_status = Arc::new(std::sync::Mutex::new(
        crate::api::views::RpkiStatus::default(),
    ));
    let (control_tx, control_rx) = mpsc::channel(8);
    let peer_count = peers.len();
    let mut rib = Rib::new(peers, local, rpki);
    rib.ops = Some(crate::rib::Ops::new(
        metrics.clone(),
        rejected.clone(),
        peer_views.clone(),
        incidents.clone(),
        peer_count,
    ));
    rib.refresh_ops(true);
    rib.incidents.rejections_per_min = cfg.incidents.rejections_per_min;
    let webhook = cfg.incidents.webhook.clone();
    let runtime = tokio::runtime::Handle::current();
    rib.policy_generation = generation;

    // The API on its (loopback) listener: /metrics and /api/v1.
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
        rejected,
        peers: peer_views,
        rpki: rpki_status.clone(),
        metrics: metrics.clone(),
        control: control_tx,
        incidents,
    };
    tokio::spawn(async move {
        if let Err(e) = crate::api::serve(api_listener, api_state).await {
            tracing::error!("API server ended: {e}");
        }
    });

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
        // RFC 2385: the listening socket knows each peer's key, so the handshake is signed.
        for p in cfg
            .peers
            .iter()
            .filter(|p| p.address.is_ipv6() == addr.is_ipv6())
        {
            if let Some(key) = &p.md5_password {
                crate::bgp::sockopt::set_md5(&l, p.address, key.expose().as_bytes()).map_err(
                    |source| DaemonError::Listen {
                        addr: *addr,
                        source,
                    },
                )?;
            }
        }
        // RFC 5082: when every peer of the listener's family uses GTSM, the kernel drops a SYN
        // with a low TTL before any connection exists. With a mix, the accepted socket of a
        // GTSM peer gets the check (its first bytes may already be queued by then).
        let family: Vec<_> = cfg
            .peers
            .iter()
            .filter(|p| p.address.is_ipv6() == addr.is_ipv6())
            .collect();
        if !family.is_empty() && family.iter().all(|p| p.ttl_security) {
            crate::bgp::sockopt::set_gtsm(&l, addr.is_ipv6()).map_err(|source| {
                DaemonError::Listen {
                    addr: *addr,
                    source,
                }
            })?;
            tracing::info!(%addr, "GTSM on the listener: every peer of its family uses it");
        }
        listeners.push(l);
    }

    let (rib_tx, mut rib_rx) = mpsc::channel::<RibEvent>(1024);
    let mut sessions = Vec::new();
    let mut handles = Vec::new();
    for (i, p) in cfg.peers.iter().enumerate() {
        let sc = session_config(&cfg, i, p, imports.get(i).cloned().flatten());
        let (tx, h) = session::spawn(sc, rib_tx.clone());
        sessions.push(tx);
        handles.push(h);
    }
    let reload = path.map(|path| data::ReloadCtx {
        path,
        config: cfg.clone(),
        sessions: sessions.clone(),
        imports: imports.clone(),
    });
    let data_ops = data::DataOps {
        metrics,
        status: rpki_status,
        control: control_rx,
        caches: cfg
            .rpki
            .rtr_in_preference_order()
            .into_iter()
            .map(|c| c.address.clone())
            .collect(),
    };
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

    let peers: Vec<(std::net::IpAddr, Option<std::net::IpAddr>)> = cfg
        .peers
        .iter()
        .map(|p| (p.address, p.local_address))
        .collect();
    for l in listeners {
        let sessions = sessions.clone();
        let peers = peers.clone();
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
                let found = peers.iter().position(|(addr, la)| {
                    *addr == remote.ip() && la.is_none_or(|la| Some(la) == local)
                });
                match found.and_then(|i| sessions.get(i)) {
                    Some(tx) => {
                        let _ = tx.send(ToSession::Incoming(stream));
                    }
                    None => tracing::warn!(%remote, "connection from an unknown peer refused"),
                }
            }
        });
    }

    // The RIB thread: all route state, all policy evaluation.
    let rib_sessions = sessions.clone();
    let rib_thread = std::thread::Builder::new()
        .name("bgpsieve-rib".into())
        .spawn(move || {
            let start = Instant::now();
            // The most routes held since freed memory was last given back.
            let mut most_held = 0usize;
            while let Some(first) = rib_rx.blocking_recv() {
                // Take everything already queued, and send each peer one batch per session
                // generation for all of it.
                let mut sends: Vec<Vec<(u64, Vec<Vec<u8>>)>> = vec![Vec::new(); rib_sessions.len()];
                let mut stops = Vec::new();
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
                            Output::Send { peer, msgs } => {
                                let generation = rib.peers.get(peer).map_or(0, |p| p.generation);
                                if let Some(v) = sends.get_mut(peer) {
                                    match v.last_mut() {
                                        Some((g, m)) if *g == generation => m.extend(msgs),
                                        _ => v.push((generation, msgs)),
                                    }
                                }
                            }
                            stop @ (Output::Stop { .. } | Output::Start { .. }) => stops.push(stop),
                        }
                    }
                    taken += 1;
                    if taken < 256 && stops.is_empty() {
                        ev = rib_rx.try_recv().ok();
                    }
                }
                rib.refresh_ops(false);
                for incident in std::mem::take(&mut rib.new_incidents) {
                    if let Some(url) = webhook.clone() {
                        runtime.spawn(async move {
                            if let Err(e) = webhook::post(&url, &incident.to_json()).await {
                                tracing::warn!(%url, "incident webhook failed: {e}");
                            }
                        });
                    }
                }
                for (peer, batches) in sends.into_iter().enumerate() {
                    if let Some(tx) = rib_sessions.get(peer) {
                        for (generation, msgs) in batches {
                            let _ = tx.send(ToSession::Send { generation, msgs });
                        }
                    }
                }
                for stop in stops {
                    let (peer, order) = match stop {
                        Output::Stop {
                            peer,
                            notification,
                            restart_after,
                        } => (
                            peer,
                            ToSession::Stop {
                                notification,
                                restart_after,
                            },
                        ),
                        Output::Start { peer } => (peer, ToSession::Start),
                        Output::Send { .. } => continue,
                    };
                    if let Some(tx) = rib_sessions.get(peer) {
                        let _ = tx.send(order);
                    }
                }
            }
        })
        .map_err(DaemonError::Runtime)?;

    // Everything is up: config loaded, RPKI data in (or the RTR wait over), listeners bound,
    // sessions and the RIB thread running. systemd's watchdog counts from READY=1 on.
    tokio::spawn(notify::run_watchdog());
    let listening: Vec<String> = cfg.global.listen.iter().map(|a| a.to_string()).collect();
    notify::ready(&format!(
        "running; peers configured: {}; listening on {}",
        cfg.peers.len(),
        listening.join(", ")
    ));

    wait_for_signal().await;
    notify::stopping();
    tracing::info!("shutting down: administrative shutdown to every peer");
    for tx in &sessions {
        let _ = tx.send(ToSession::Shutdown("bgpsieve is shutting down".into()));
    }
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    drop(sessions);
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
