//! The RTR client task: connects to the caches in preference order, drives a [`Session`] over the
//! TCP stream, runs the RFC 8210 §6 timers, fails over, probes back to more preferred caches and
//! expires data. All protocol decisions are the session's; this file only does I/O and time.
//!
//! Task shape: one task, one `select!` loop per phase (connecting, connected, waiting), no shared
//! state. A background probe of a more preferred cache is a future polled by the same loop, with
//! its own store, adopted whole when it completes a reset.

use super::pdu::{self, ErrorCode, Timers};
use super::session::{Output, Session, SessionEnd, Store};
use super::{Command, RtrClientConfig, RtrDelta, RtrEvent, RtrStatus};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

/// Retry interval before any cache has told us its own (RFC 8210 §6 leaves it to the cache).
const INITIAL_RETRY: Duration = Duration::from_secs(30);
/// Rounds over the caches start at least this far apart, so a cache that accepts and drops at
/// once cannot make us spin.
const MIN_ROUND_GAP: Duration = Duration::from_secs(1);
const READ_BUF: usize = 64 * 1024;

/// Why a connection attempt or a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, io::Error),
    #[error("{0} resolves to no address")]
    NoAddress(String),
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("connect: {0}")]
    Connect(io::Error),
    #[error("I/O error: {0}")]
    Io(io::Error),
    #[error("cache closed the connection")]
    Closed,
    #[error("cache silent for {0:?} with a query outstanding")]
    Silent(Duration),
    #[error("{0}")]
    Session(#[from] SessionEnd),
    #[error("switching to more preferred cache {0}")]
    Preempted(usize),
    #[error("data expired")]
    Expired,
}

/// The client has to stop: shutdown, or nobody listens to its events.
struct Stop;

/// A live, synced connection.
struct Conn {
    cache: usize,
    stream: TcpStream,
    session: Session,
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s).max(1))
}

/// How long a cache may stay silent while a query is out.
fn silence(cfg: &RtrClientConfig) -> Duration {
    cfg.connect_timeout
        .saturating_mul(3)
        .max(Duration::from_secs(1))
}

async fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, ConnError> {
    let attempt = async {
        let addrs = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| ConnError::Resolve(addr.to_string(), e))?;
        let mut last = None;
        for a in addrs {
            match TcpStream::connect(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or_else(
            || ConnError::NoAddress(addr.to_string()),
            ConnError::Connect,
        ))
    };
    let stream = tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnError::ConnectTimeout(timeout))??;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Feeds `bytes` to the session; writes what it wants sent, collects deltas into `deltas`.
async fn pump(
    conn: &mut Conn,
    bytes: &[u8],
    store: &mut Store,
    deltas: &mut Vec<RtrDelta>,
) -> Result<(), ConnError> {
    let mut out = Vec::new();
    let res = conn.session.receive(bytes, store, &mut out);
    if out.iter().any(|o| matches!(o, Output::Data(d) if d.reset)) {
        // A reset's End of Data freed the hash set the response was checked with (~35 bytes per
        // VRP): give it back now, not whenever this thread next allocates after the purge delay.
        crate::release_free_memory();
    }
    for o in out {
        match o {
            Output::Send(b) => {
                if let Err(e) = conn.stream.write_all(&b).await {
                    res.clone()?;
                    return Err(ConnError::Io(e));
                }
            }
            Output::Data(d) => deltas.push(d),
        }
    }
    Ok(res?)
}

/// One connection to `cache` up to its first End of Data. Deltas land in `deltas` even when an
/// error follows them (they are committed to `store`).
async fn open_once(
    cfg: &RtrClientConfig,
    cache: usize,
    version: u8,
    store: &mut Store,
    deltas: &mut Vec<RtrDelta>,
) -> Result<Conn, ConnError> {
    let addr = cfg
        .caches
        .get(cache)
        .map(|c| c.address.as_str())
        .unwrap_or_default();
    let mut stream = connect(addr, cfg.connect_timeout).await?;
    let (session, query) = Session::start(cache, version, store);
    stream.write_all(&query).await.map_err(ConnError::Io)?;
    let mut conn = Conn {
        cache,
        stream,
        session,
    };
    let mut buf = vec![0u8; READ_BUF];
    let quiet = silence(cfg);
    loop {
        let n = match tokio::time::timeout(quiet, conn.stream.read(&mut buf)).await {
            Err(_) => return Err(ConnError::Silent(quiet)),
            Ok(Err(e)) => return Err(ConnError::Io(e)),
            Ok(Ok(0)) => return Err(ConnError::Closed),
            Ok(Ok(n)) => n,
        };
        pump(&mut conn, buf.get(..n).unwrap_or_default(), store, deltas).await?;
        if !deltas.is_empty() {
            return Ok(conn);
        }
    }
}

/// Connects to `cache` and syncs, negotiating the version (RFC 8210 §7: reconnect one version
/// lower on Unsupported Protocol Version) and falling back from a Serial Query the cache will not
/// answer to a Reset Query at once (StayRTR answers a session it does not know with Corrupt Data,
/// or just closes).
async fn open(
    cfg: &RtrClientConfig,
    cache: usize,
    version: &mut u8,
    store: &mut Store,
    deltas: &mut Vec<RtrDelta>,
) -> Result<Conn, ConnError> {
    let mut reset_tried = false;
    loop {
        let serial = store.can_serial_query(cache);
        let err = match open_once(cfg, cache, *version, store, deltas).await {
            Ok(c) => return Ok(c),
            Err(e) if !deltas.is_empty() => return Err(e),
            Err(e) => e,
        };
        match &err {
            ConnError::Session(SessionEnd::Downgrade { from, to }) if *to < *version => {
                tracing::info!(cache, from, to, "RTR cache wants a lower protocol version");
                *version = *to;
            }
            ConnError::Closed | ConnError::Session(SessionEnd::CacheError { .. })
                if serial && !reset_tried && !is_no_data(&err) =>
            {
                tracing::info!(cache, error = %err, "RTR Serial Query refused, trying a Reset Query");
                store.forget_session();
                reset_tried = true;
            }
            _ => return Err(err),
        }
    }
}

fn is_no_data(e: &ConnError) -> bool {
    matches!(e, ConnError::Session(SessionEnd::CacheError { code, .. }) if *code == ErrorCode::NO_DATA_AVAILABLE)
}

/// The first more preferred cache (index below `upto`) that completes a reset, with its own
/// store.
type Probed = Option<(Conn, Store, Vec<RtrDelta>, u8)>;

async fn probe(cfg: RtrClientConfig, upto: usize) -> Probed {
    for cache in 0..upto {
        let mut store = Store::for_cache(cache);
        let mut deltas = Vec::new();
        let mut version = pdu::MAX_VERSION;
        match open(&cfg, cache, &mut version, &mut store, &mut deltas).await {
            Ok(conn) => return Some((conn, store, deltas, version)),
            Err(e) => {
                tracing::debug!(cache, error = %e, "RTR probe of a more preferred cache failed")
            }
        }
    }
    None
}

async fn next_command(rx: &mut mpsc::Receiver<Command>, open: bool) -> Option<Command> {
    if !open {
        return std::future::pending().await;
    }
    rx.recv().await
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

struct Driver {
    cfg: RtrClientConfig,
    events: mpsc::Sender<RtrEvent>,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    store: Store,
    /// Per cache, the version to propose next.
    versions: Vec<u8>,
    /// Timers of the last End of Data from any cache.
    timers: Option<Timers>,
    /// When the data we hold was last confirmed by an End of Data (`None`: nothing to expire).
    last_good: Option<Instant>,
}

pub(super) async fn run(
    cfg: RtrClientConfig,
    events: mpsc::Sender<RtrEvent>,
    commands: mpsc::Receiver<Command>,
) {
    if cfg.caches.is_empty() {
        return;
    }
    let n = cfg.caches.len();
    let mut d = Driver {
        cfg,
        events,
        commands,
        commands_open: true,
        store: Store::default(),
        versions: vec![pdu::MAX_VERSION; n],
        timers: None,
        last_good: None,
    };
    let _ = d.main().await;
    tracing::debug!("RTR client stopped");
}

enum Attempt {
    Up(Box<Conn>),
    Failed,
    /// Data expired meanwhile: start the round over (every query is now a reset).
    Expired,
}

impl Driver {
    fn refresh(&self) -> Duration {
        secs(self.timers.unwrap_or(Timers::DEFAULT).refresh)
    }

    fn retry(&self) -> Duration {
        self.timers.map_or(INITIAL_RETRY, |t| secs(t.retry))
    }

    fn expiry(&self) -> Option<Instant> {
        let expire = self
            .cfg
            .expire
            .unwrap_or_else(|| secs(self.timers.unwrap_or(Timers::DEFAULT).expire));
        self.last_good.map(|t| t + expire)
    }

    async fn send(&self, ev: RtrEvent) -> Result<(), Stop> {
        self.events.send(ev).await.map_err(|_| Stop)
    }

    async fn status(&self, cache: usize, up: bool, message: String) -> Result<(), Stop> {
        let s = self
            .store
            .session
            .filter(|_| self.store.cache == Some(cache));
        self.send(RtrEvent::Status(RtrStatus {
            cache,
            up,
            version: s.map(|s| s.0),
            session_id: s.map(|s| s.1),
            serial: s.map(|s| s.2),
            message,
        }))
        .await
    }

    async fn emit(&mut self, deltas: Vec<RtrDelta>) -> Result<(), Stop> {
        for d in deltas {
            tracing::debug!(
                cache = d.cache,
                reset = d.reset,
                serial = d.serial,
                announced = d.vrps_announced.len(),
                withdrawn = d.vrps_withdrawn.len(),
                aspas = d.aspas.len(),
                aspas_withdrawn = d.aspas_withdrawn.len(),
                "RTR End of Data"
            );
            self.last_good = Some(Instant::now());
            self.timers = self.store.timers.or(self.timers);
            self.send(RtrEvent::Data(d)).await?;
        }
        Ok(())
    }

    async fn expire(&mut self) -> Result<(), Stop> {
        tracing::warn!("RTR data expired: no cache delivered an End of Data in time");
        self.store = Store::default();
        self.last_good = None;
        self.send(RtrEvent::Expired).await
    }

    /// Handles a command arriving while busy; `Err` on shutdown.
    fn on_command(&mut self, c: Option<Command>) -> Result<bool, Stop> {
        match c {
            Some(Command::Shutdown) => Err(Stop),
            Some(Command::Refresh) => Ok(true),
            None => {
                self.commands_open = false;
                Ok(false)
            }
        }
    }

    async fn main(&mut self) -> Result<(), Stop> {
        let mut last_round: Option<Instant> = None;
        'round: loop {
            if let Some(t) = last_round {
                self.wait(t + MIN_ROUND_GAP, false).await?;
            }
            last_round = Some(Instant::now());
            for cache in 0..self.cfg.caches.len() {
                match self.attempt(cache).await? {
                    Attempt::Up(conn) => {
                        self.run_active(*conn).await?;
                        continue 'round;
                    }
                    Attempt::Failed => {}
                    Attempt::Expired => continue 'round,
                }
            }
            let until = Instant::now() + self.retry();
            self.wait(until, true).await?;
        }
    }

    /// Waits until `until` (or a refresh command, if `interruptible`), expiring data on the way.
    async fn wait(&mut self, until: Instant, interruptible: bool) -> Result<(), Stop> {
        loop {
            let expiry = self.expiry();
            tokio::select! {
                c = next_command(&mut self.commands, self.commands_open) => {
                    if self.on_command(c)? && interruptible {
                        return Ok(());
                    }
                }
                () = sleep_until(until) => return Ok(()),
                () = sleep_until_opt(expiry) => self.expire().await?,
            }
        }
    }

    /// Tries to connect and sync with `cache`.
    async fn attempt(&mut self, cache: usize) -> Result<Attempt, Stop> {
        let mut fresh = (self.store.cache != Some(cache)).then(|| Store::for_cache(cache));
        if !self.store.can_serial_query(cache) {
            // A new session may use a newer version than the last one did.
            if let Some(v) = self.versions.get_mut(cache) {
                *v = pdu::MAX_VERSION;
            }
        }
        let mut version = self
            .versions
            .get(cache)
            .copied()
            .unwrap_or(pdu::MAX_VERSION);
        let mut deltas = Vec::new();
        let expiry = self.expiry();
        let outcome = {
            let store = match fresh.as_mut() {
                Some(s) => s,
                None => &mut self.store,
            };
            let fut = open(&self.cfg, cache, &mut version, store, &mut deltas);
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    r = &mut fut => break Some(r),
                    c = next_command(&mut self.commands, self.commands_open) => match c {
                        Some(Command::Shutdown) => return Err(Stop),
                        Some(Command::Refresh) => {}
                        None => self.commands_open = false,
                    },
                    () = sleep_until_opt(expiry) => break None,
                }
            }
        };
        if let Some(v) = self.versions.get_mut(cache) {
            *v = version;
        }
        let Some(result) = outcome else {
            self.expire().await?;
            return Ok(Attempt::Expired);
        };
        let synced = !deltas.is_empty();
        if synced {
            if let Some(s) = fresh {
                self.store = s;
            }
            let conn_version = result.as_ref().map_or(version, |c| c.session.version());
            tracing::info!(cache, address = %self.addr(cache), version = conn_version, "RTR cache up");
            self.status(cache, true, format!("synced with {}", self.addr(cache)))
                .await?;
            self.emit(deltas).await?;
        }
        match result {
            Ok(conn) => Ok(Attempt::Up(Box::new(conn))),
            Err(e) => {
                self.log_end(cache, &e);
                self.status(cache, false, format!("{}: {e}", self.addr(cache)))
                    .await?;
                Ok(Attempt::Failed)
            }
        }
    }

    fn addr(&self, cache: usize) -> &str {
        self.cfg
            .caches
            .get(cache)
            .map(|c| c.address.as_str())
            .unwrap_or_default()
    }

    fn log_end(&self, cache: usize, e: &ConnError) {
        let addr = self.addr(cache);
        match e {
            ConnError::Session(SessionEnd::CacheError { code, text }) => {
                tracing::warn!(cache, address = %addr, code = code.0, error = %code, text = %text, "RTR cache sent an Error Report");
            }
            _ => tracing::warn!(cache, address = %addr, error = %e, "RTR connection ended"),
        }
    }

    /// Runs a synced connection until it ends (its status is reported here), switching to a more
    /// preferred cache when a background probe syncs with one.
    async fn run_active(&mut self, mut conn: Conn) -> Result<(), Stop> {
        let quiet = silence(&self.cfg);
        let mut buf = vec![0u8; READ_BUF];
        let mut next_refresh = Instant::now() + self.refresh();
        let mut last_rx = Instant::now();
        let mut probing: Option<Pin<Box<dyn Future<Output = Probed> + Send>>> = None;
        let mut next_probe = Instant::now() + self.retry();
        let end: ConnError = loop {
            let silent_at = (!conn.session.is_idle()).then(|| last_rx + quiet);
            let can_probe = conn.cache > 0 && probing.is_none();
            let expiry = self.expiry();
            tokio::select! {
                c = next_command(&mut self.commands, self.commands_open) => {
                    if self.on_command(c)? {
                        if let Some(q) = conn.session.refresh(&self.store) {
                            if let Err(e) = conn.stream.write_all(&q).await {
                                break ConnError::Io(e);
                            }
                        }
                    }
                }
                r = conn.stream.read(&mut buf) => {
                    let n = match r {
                        Ok(0) => break ConnError::Closed,
                        Ok(n) => n,
                        Err(e) => break ConnError::Io(e),
                    };
                    last_rx = Instant::now();
                    let mut deltas = Vec::new();
                    let res = pump(&mut conn, buf.get(..n).unwrap_or_default(), &mut self.store, &mut deltas).await;
                    if !deltas.is_empty() {
                        next_refresh = Instant::now() + self.refresh();
                        self.emit(deltas).await?;
                    }
                    if let Err(e) = res {
                        break e;
                    }
                }
                () = sleep_until(next_refresh) => {
                    // RFC 8210 §6: poll every Refresh Interval.
                    next_refresh = Instant::now() + self.refresh();
                    if let Some(q) = conn.session.refresh(&self.store) {
                        if let Err(e) = conn.stream.write_all(&q).await {
                            break ConnError::Io(e);
                        }
                    }
                }
                () = sleep_until_opt(silent_at) => break ConnError::Silent(quiet),
                () = sleep_until_opt(expiry) => break ConnError::Expired,
                () = sleep_until(next_probe), if can_probe => {
                    probing = Some(Box::pin(probe(self.cfg.clone(), conn.cache)));
                }
                found = async { match probing.as_mut() { Some(p) => p.await, None => std::future::pending().await } }, if probing.is_some() => {
                    probing = None;
                    next_probe = Instant::now() + self.retry();
                    if let Some((new, store, deltas, version)) = found {
                        let old = std::mem::replace(&mut conn, new);
                        if let Some(v) = self.versions.get_mut(conn.cache) {
                            *v = version;
                        }
                        let e = ConnError::Preempted(conn.cache);
                        self.log_end(old.cache, &e);
                        self.status(old.cache, false, format!("{}: {e}", self.addr(old.cache))).await?;
                        drop(old);
                        self.store = store;
                        tracing::info!(cache = conn.cache, address = %self.addr(conn.cache), "RTR cache up");
                        self.status(conn.cache, true, format!("synced with {}", self.addr(conn.cache))).await?;
                        self.emit(deltas).await?;
                        next_refresh = Instant::now() + self.refresh();
                        last_rx = Instant::now();
                    }
                }
            }
        };
        self.log_end(conn.cache, &end);
        let _ = conn.stream.shutdown().await;
        self.status(
            conn.cache,
            false,
            format!("{}: {end}", self.addr(conn.cache)),
        )
        .await?;
        if matches!(end, ConnError::Expired) {
            self.expire().await?;
        }
        Ok(())
    }
}
