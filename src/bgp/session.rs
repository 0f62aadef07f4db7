//! One BGP session as a tokio task: one side of a pair (DESIGN §1). It owns the TCP connection (a
//! small writer task sends what it queues, so a slow peer never blocks reading), drives the
//! sans-IO `Fsm` with socket events and timer expiries, frames and decodes messages, runs the
//! stateless checks on what it decodes, and encodes the routes it is given for its own
//! negotiated parameters. It exchanges typed messages with the RIB (route events up, routes to
//! send down) and with the other session of its pair (its twin): the OPENs each side receives
//! are mirrored to the other, and the router side runs only while the neighbor side has a
//! connection. It holds no routes.
//!
//! Back-pressure: the channel to the RIB is bounded. When it is full the session stops reading
//! from the socket (TCP pushes back on the neighbor) but keeps running its timers, keepalives and
//! commands; a busy RIB never costs a session its hold timer. Toward the neighbor, the writer
//! enforces the RFC 9687 Send Hold Timer and the queue of unsent bytes is capped.

use super::codec::{self, Decoder, Frame, MessageType};
use super::diag::DiagHandle;
use super::fsm::{Action, DownReason, Event, Fsm, FsmConfig, Timer};
use super::graceful::{self, GrLocal, PlannedStop, Retained};
use super::mirror::{mirror, MirrorRules};
use super::notification::Notification;
use super::open::{Negotiated, Open, PeerExpectation};
use super::update::{decode_update, encode_outbound, DecodeCtx, DecodedUpdate, Outbound};
use crate::policy::{SharedPolicy, Verdict};
use crate::types::{Afi, SessionId};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What a session needs to know.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Which pair and side this session is.
    pub id: SessionId,
    /// The pair's name, for logs.
    pub name: String,
    pub remote: SocketAddr,
    pub local_address: Option<IpAddr>,
    pub fsm: FsmConfig,
    /// The OPEN sent when the other side's OPEN is not known (and always by a session that
    /// mirrors nothing).
    pub local_open: Open,
    pub expect: PeerExpectation,
    /// How this side makes its OPEN from the other side's (`None`: it sends `local_open`).
    /// With mirroring, the FSM's DelayOpen holds our OPEN back until the other side's has
    /// arrived.
    pub mirror: Option<MirrorRules>,
    /// The router side of a pair: it starts only while the neighbor side has a connection, and
    /// closes when that connection goes (DESIGN §1).
    pub follows_twin: bool,
    /// The policy in force: when set, the session runs the stateless checks of its direction
    /// (import on the neighbor side, export on the router side) on each UPDATE it decodes, so
    /// policy work spreads over the I/O threads and the RIB thread only applies state.
    pub checks: Option<Arc<SharedPolicy>>,
    /// TCP-MD5 key (RFC 2385) for this peer's connections.
    pub md5: Option<crate::config::Secret>,
    /// GTSM (RFC 5082) on this peer's connections.
    pub gtsm: bool,
    /// Graceful restart (RFC 4724) as bgpsieve advertises it; `None`: off.
    pub graceful_restart: Option<GrLocal>,
    /// Starts administratively down (the pair's `shutdown` key) with this shutdown message:
    /// no connection until `ToSession::AdminUp`. Read once, when the task starts; afterwards
    /// only `AdminDown`/`AdminUp` change it (a `Reconfigure` keeps the state it finds).
    pub admin_down: Option<String>,
}

impl SessionConfig {
    /// The verdict of every announced prefix of an UPDATE, in order, and the generation of the
    /// snapshot they were made with; `None` when the session runs no checks.
    fn evaluate(&self, u: &DecodedUpdate) -> Option<(u64, Vec<Verdict>)> {
        let shared = self.checks.as_ref()?;
        let snap = shared.load();
        let verdicts = match &u.attrs {
            Some(attrs) => snap.evaluate(
                self.id.pair,
                self.id.side.received(),
                &attrs.attrs,
                u.announced.iter().map(|n| (&n.prefix, n.path_id)),
            ),
            None => Vec::new(),
        };
        Some((snap.generation, verdicts))
    }
}

/// Commands to a session.
#[derive(Debug)]
pub enum ToSession {
    /// Routes to announce and withdraw on the session of this generation (see
    /// `FromSession::Up`), encoded here for its negotiated parameters; dropped when that
    /// session is gone, so nothing meant for an old session reaches a new one.
    Routes(Box<Outbound>),
    /// A connection accepted by the listener for this session.
    Incoming(TcpStream),
    /// End the session with this NOTIFICATION (e.g. max-prefix Cease/1, RFC 4486) and start
    /// it again after `restart_after`; `None` = stay down until `Start`.
    Stop {
        notification: Notification,
        restart_after: Option<std::time::Duration>,
    },
    /// Start a session that was stopped (`bgpsieve ctl clear`); not while administratively
    /// down.
    Start,
    /// Administrative shutdown by the operator (`bgpsieve ctl neighbor NAME down`, or the
    /// `shutdown` key): Cease/Administrative Shutdown with this RFC 8203/9003 message (a Hard
    /// Reset where RFC 8538 N was negotiated, so the peer drops the routes at once), then no
    /// restart of any kind and every connection refused with the same NOTIFICATION until
    /// `AdminUp`. A neighbor side's router side closes with the same message.
    AdminDown(String),
    /// The end of an administrative shutdown: the session starts again.
    AdminUp,
    /// Ask the remote for its routes of these families again (RFC 2918 ROUTE-REFRESH), where
    /// route refresh was negotiated on the current session; nothing otherwise.
    RouteRefresh(Vec<Afi>),
    /// New session parameters (a configuration reload): the session ends with Cease/6 (Other
    /// Configuration Change, RFC 4486) and starts again with them.
    Reconfigure(Box<SessionConfig>),
    /// Administrative shutdown (RFC 8203 message), then the task ends.
    Shutdown(String),
    /// The pair was removed from the configuration: Cease/3 Peer De-configured (a Hard Reset
    /// where RFC 8538 N was negotiated, so the peer drops the routes at once), then the task
    /// ends.
    Deconfigure,
    /// News from the other session of the pair.
    Twin(TwinEvent),
}

/// What one session of a pair tells the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwinEvent {
    /// It has a connection to its remote: a router side may start.
    Connected,
    /// Its remote sent this OPEN: the OPEN to mirror.
    Open(Box<Open>),
    /// Its connection is gone. The NOTIFICATION is what the router side ends its session with:
    /// the one the neighbor sent, or an administrative shutdown saying what happened. With
    /// `graceful`, the neighbor restarts gracefully: its routes stay, stale, and the router
    /// side stays up this long for it to come back (RFC 4724 §4.2).
    Lost {
        notification: Notification,
        graceful: Option<Duration>,
    },
}

/// Events from a session to the RIB.
#[derive(Debug)]
pub enum FromSession {
    Up {
        id: SessionId,
        /// Counts the sessions of this side; `ToSession::Routes` names the one it is for.
        generation: u64,
        negotiated: Box<Negotiated>,
    },
    Down {
        id: SessionId,
        reason: DownReason,
        /// The routes it sent stay on the other side, stale, while it restarts gracefully.
        retained: Option<Retained>,
    },
    Update {
        id: SessionId,
        update: DecodedUpdate,
        /// The stateless verdicts, one per announced prefix, when the session made them, and
        /// the generation of the policy snapshot they were made with.
        verdicts: Option<(u64, Vec<Verdict>)>,
    },
    /// The remote asked for our routes again (RFC 2918).
    RouteRefresh { id: SessionId, afi: Afi },
}

impl FromSession {
    pub fn id(&self) -> SessionId {
        match self {
            FromSession::Up { id, .. }
            | FromSession::Down { id, .. }
            | FromSession::Update { id, .. }
            | FromSession::RouteRefresh { id, .. } => *id,
        }
    }
}

/// Starts a session task on its own (no twin), returning its command channel and task. `E` is
/// the RIB's event type.
pub fn spawn<E: From<FromSession> + Send + 'static>(
    cfg: SessionConfig,
    rib: mpsc::Sender<E>,
) -> (mpsc::UnboundedSender<ToSession>, JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(cfg, rx, rib, None, DiagHandle::default()));
    (tx, task)
}

/// Starts a session task on a command channel made beforehand (the two sessions of a pair
/// need each other's channel before either runs); `twin` is the other session's.
pub fn spawn_with<E: From<FromSession> + Send + 'static>(
    cfg: SessionConfig,
    rx: mpsc::UnboundedReceiver<ToSession>,
    rib: mpsc::Sender<E>,
    twin: Option<mpsc::UnboundedSender<ToSession>>,
    diag: DiagHandle,
) -> JoinHandle<()> {
    tokio::spawn(run(cfg, rx, rib, twin, diag))
}

/// How long a neighbor side waits for the router's OPEN before it sends its own made from the
/// last one known (or from the configuration): the router may be down, and the neighbor's
/// routes are then held until it is back.
pub const MIRROR_WAIT_NEIGHBOR: Duration = Duration::from_secs(5);
/// How long a router side waits for the neighbor's OPEN. It runs only while the neighbor side
/// has a connection, and the neighbor's OPEN normally follows at once.
pub const MIRROR_WAIT_ROUTER: Duration = Duration::from_secs(30);

/// RFC 9687 §4: the suggested SendHoldTime, 8 minutes; never less than twice the negotiated
/// hold time (a peer allowed to stay silent that long may also be slow to read).
const SEND_HOLD_TIME: Duration = Duration::from_secs(8 * 60);

/// The most unsent bytes a connection may queue before the session is closed with Cease/8
/// (Out of Resources). Several full tables with ADD-PATH toward a router fit; a neighbor that
/// reads nothing is caught earlier by the send hold timer.
const MAX_SEND_QUEUE: usize = 1 << 30;

/// How long a closed connection's writer may go on flushing (a last NOTIFICATION) before it
/// is ended, so no writer outlives its connection for long.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The SendHoldTime for a negotiated hold time (RFC 9687 §4).
fn send_hold_time(hold_time: u16) -> Duration {
    SEND_HOLD_TIME.max(Duration::from_secs(2 * u64::from(hold_time)))
}

/// How a connection's writer ended.
#[derive(Debug)]
enum WriterEnd {
    /// Its queue was closed: the connection was dropped on purpose.
    Closed,
    /// A write failed.
    Failed(std::io::Error),
    /// Nothing could be written for the SendHoldTime (RFC 9687).
    SendHoldExpired,
}

/// What the session and its writer share.
#[derive(Debug)]
struct WriterShared {
    /// Bytes queued and not yet handed to the kernel.
    queued: AtomicUsize,
    /// The current SendHoldTime in milliseconds.
    send_hold_ms: AtomicU64,
}

struct Conn {
    reader: tokio::net::tcp::OwnedReadHalf,
    writer: mpsc::UnboundedSender<Vec<u8>>,
    shared: Arc<WriterShared>,
    writer_task: JoinHandle<WriterEnd>,
    buf: Vec<u8>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The writer flushes what is queued (a NOTIFICATION) and ends when its queue closes; one
        // stuck on a peer that reads nothing is ended after the grace period.
        let task = self.writer_task.abort_handle();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(CLOSE_GRACE).await;
                    task.abort();
                });
            }
            Err(_) => task.abort(),
        }
    }
}

/// Writes queued messages until the queue closes (then shuts the write side down), a write
/// fails, or no byte could be written for the SendHoldTime. Everything queued at the moment is
/// written with one call: a full table is ~200k small UPDATEs, and a system call each would
/// cost more than building them.
async fn write_loop(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<WriterShared>,
) -> WriterEnd {
    const CHUNK: usize = 1 << 18;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    while let Some(msg) = rx.recv().await {
        buf.extend_from_slice(&msg);
        while buf.len() < CHUNK {
            match rx.try_recv() {
                Ok(m) => buf.extend_from_slice(&m),
                Err(_) => break,
            }
        }
        let mut done = 0;
        while let Some(rest) = buf.get(done..).filter(|r| !r.is_empty()) {
            // RFC 9687 §3: the timer runs while there is something to send and nothing moves.
            let hold = Duration::from_millis(shared.send_hold_ms.load(Ordering::Relaxed));
            match tokio::time::timeout(hold, w.write(rest)).await {
                Err(_) => return WriterEnd::SendHoldExpired,
                Ok(Err(e)) => return WriterEnd::Failed(e),
                Ok(Ok(0)) => return WriterEnd::Failed(std::io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => done += n,
            }
        }
        shared.queued.fetch_sub(buf.len(), Ordering::Relaxed);
        buf.clear();
    }
    let _ = w.shutdown().await;
    WriterEnd::Closed
}

fn attach(stream: TcpStream) -> Conn {
    attach_with(stream, SEND_HOLD_TIME)
}

fn attach_with(stream: TcpStream, send_hold: Duration) -> Conn {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let shared = Arc::new(WriterShared {
        queued: AtomicUsize::new(0),
        send_hold_ms: AtomicU64::new(send_hold.as_millis().try_into().unwrap_or(u64::MAX)),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let writer_task = tokio::spawn(write_loop(writer, rx, shared.clone()));
    Conn {
        reader,
        writer: tx,
        shared,
        writer_task,
        buf: Vec::with_capacity(1 << 16),
    }
}

async fn connect(
    remote: SocketAddr,
    local: Option<IpAddr>,
    md5: Option<crate::config::Secret>,
    gtsm: bool,
) -> std::io::Result<TcpStream> {
    let socket = match remote {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(key) = &md5 {
        super::sockopt::set_md5(&socket, remote.ip(), key.expose().as_bytes())?;
    }
    if gtsm {
        super::sockopt::set_gtsm(&socket, remote.is_ipv6())?;
    }
    if let Some(ip) = local {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(remote).await
}

struct Session<E> {
    cfg: SessionConfig,
    fsm: Fsm,
    conn: Option<Conn>,
    connecting: Option<JoinHandle<std::io::Result<TcpStream>>>,
    timers: HashMap<Timer, Instant>,
    decoder: Decoder,
    negotiated: Option<Negotiated>,
    rib: mpsc::Sender<E>,
    /// When a stopped session starts again by itself (max-prefix `restart_after`).
    restart_at: Option<Instant>,
    /// Incremented each time the session reaches Established.
    generation: u64,
    /// Whether the current connection is the one we opened.
    outgoing: bool,
    /// A second connection from the peer during our OPEN exchange, read up to its OPEN so the
    /// collision can be resolved by BGP identifier (RFC 4271 §6.8).
    pending: Option<JoinHandle<Option<PendingOpen>>>,
    /// Messages for the RIB that did not fit its channel, oldest first. While any wait, the
    /// socket is not read (back-pressure) but timers and commands go on.
    to_rib: VecDeque<E>,
    /// The connection queued more than [`MAX_SEND_QUEUE`] unsent bytes.
    send_overflow: bool,
    /// The other session of the pair.
    twin: Option<mpsc::UnboundedSender<ToSession>>,
    /// The OPEN the other side's remote sent on its current connection: what ours is made of.
    twin_open: Option<Open>,
    /// The last OPEN the other side's remote ever sent, for when the current one is late.
    last_twin_open: Option<Open>,
    /// Our remote's OPEN, held while ours waits for the other side's.
    held_open: Option<Open>,
    /// A router side may run (its twin has a connection); always true otherwise.
    enabled: bool,
    /// Whether the twin was last told we have a connection.
    told_connected: bool,
    /// Why the last Established session ended, for the twin.
    last_down: Option<DownReason>,
    /// Failed connection attempts, for a log line at info that does not flood.
    connect_failures: FailureLog,
    /// What operators see of this session: FSM state, flaps, last error.
    diag: DiagHandle,
    /// bgpsieve has just started: the graceful restart capability says R until this session
    /// has been Established once.
    restarting: bool,
    /// The next NOTIFICATION ends the session with its routes (Hard Reset where N was
    /// negotiated): a router side closed because its neighbor is gone for good.
    force_hard_reset: bool,
    /// A NOTIFICATION went out as Hard Reset on the current session.
    sent_hard_reset: bool,
    /// What the last Established session's end left on the other side (graceful restart).
    last_retained: Option<Retained>,
    /// A router side whose neighbor restarts gracefully stays up until then for it to return.
    twin_grace_until: Option<Instant>,
    /// bgpsieve is stopping: the session ends on purpose.
    stopping: bool,
    /// Administratively down with this shutdown message: nothing starts the session.
    admin_down: Option<String>,
}

/// How often a run of failed connection attempts is logged at info: the first, then at most
/// one line this often (saying how many failed meanwhile), or sooner when the error changes.
const CONNECT_FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// The rate limit of the "connection failed" log line, as a pure state machine.
#[derive(Debug, Default)]
struct FailureLog {
    /// When the last line was logged, and its error.
    last: Option<(Instant, String)>,
    /// Failures since the last line.
    unlogged: u32,
}

impl FailureLog {
    /// A connection attempt failed at `now` with `error`: `Some(failures since the last line,
    /// this one included)` when a line is due.
    fn failed(&mut self, now: Instant, error: &str) -> Option<u32> {
        self.unlogged += 1;
        let due = match &self.last {
            None => true,
            Some((at, last)) => last != error || now >= *at + CONNECT_FAILURE_LOG_EVERY,
        };
        if !due {
            return None;
        }
        self.last = Some((now, error.to_string()));
        Some(std::mem::take(&mut self.unlogged))
    }

    /// A connection succeeded: the next failure is logged at once.
    fn connected(&mut self) {
        *self = FailureLog::default();
    }
}

/// A second connection read up to its OPEN: the stream, the bytes after the OPEN, the OPEN.
type PendingOpen = (TcpStream, Vec<u8>, Open);

fn timer_event(t: Timer) -> Event {
    match t {
        Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
        Timer::Hold => Event::HoldTimerExpires,
        Timer::Keepalive => Event::KeepaliveTimerExpires,
        Timer::IdleHold => Event::IdleHoldTimerExpires,
        Timer::DelayOpen => Event::DelayOpenTimerExpires,
    }
}

/// The NOTIFICATION a router side ends its session with when the neighbor's connection is
/// gone: the neighbor's own, when it sent one (the router sees what it would have seen), else
/// an administrative shutdown that says what happened (RFC 9003).
fn lost_notification(reason: Option<&DownReason>) -> Notification {
    match reason {
        Some(DownReason::NotificationReceived(n)) => n.clone(),
        Some(r) => Notification::admin_shutdown(&format!("bgpsieve: neighbor session down: {r}")),
        None => Notification::admin_shutdown("bgpsieve: neighbor connection lost"),
    }
}

impl<E: From<FromSession> + Send + 'static> Session<E> {
    fn send(&mut self, msg: Vec<u8>) {
        if let Some(c) = &self.conn {
            let queued = c.shared.queued.fetch_add(msg.len(), Ordering::Relaxed) + msg.len();
            if queued > MAX_SEND_QUEUE {
                self.send_overflow = true;
            }
            let _ = c.writer.send(msg);
        }
    }

    /// Hands a message to the RIB in order: at once when its channel has room and nothing is
    /// waiting, else behind what waits.
    fn hand_to_rib(&mut self, msg: FromSession) {
        let msg = E::from(msg);
        if !self.to_rib.is_empty() {
            self.to_rib.push_back(msg);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(msg)) = self.rib.try_send(msg) {
            self.to_rib.push_back(msg);
        }
    }

    fn tell_twin(&self, ev: TwinEvent) {
        if let Some(t) = &self.twin {
            let _ = t.send(ToSession::Twin(ev));
        }
    }

    /// Tells the twin when we gained or lost our connection.
    fn sync_twin(&mut self) {
        let connected = self.conn.is_some();
        if connected == self.told_connected {
            return;
        }
        self.told_connected = connected;
        if connected {
            self.last_down = None;
            self.last_retained = None;
            self.tell_twin(TwinEvent::Connected);
        } else {
            let graceful = self.last_retained.as_ref().map(|r| r.restart_time);
            if self.cfg.mirror.is_some() && !self.cfg.follows_twin && graceful.is_none() {
                // Our twin goes down with us: its next OPEN is the one to mirror. (A graceful
                // restart keeps it up, and its OPEN stays the one to mirror.)
                self.twin_open = None;
            }
            self.held_open = None;
            // An administrative shutdown reaches the router with the operator's own message.
            let notification = match &self.admin_down {
                Some(m) => Notification::admin_shutdown(m),
                None => lost_notification(self.last_down.as_ref()),
            };
            self.tell_twin(TwinEvent::Lost {
                notification,
                graceful,
            });
        }
    }

    /// Our OPEN made from the other side's, when that is known for the current connection.
    fn mirrored_open(&self, fresh: bool) -> Option<Open> {
        let rules = self.cfg.mirror.as_ref()?;
        let other = if fresh {
            self.twin_open.as_ref()?
        } else {
            self.twin_open.as_ref().or(self.last_twin_open.as_ref())?
        };
        let receiver = self.held_open.as_ref().map(|o| o.router_id);
        Some(self.own(mirror(other, rules, receiver)))
    }

    /// `open` with bgpsieve's own graceful restart capability (or none, when it is off).
    fn own(&self, open: Open) -> Open {
        graceful::with_own_capability(open, self.cfg.graceful_restart, self.restarting)
    }

    /// Whether our OPEN is still held back (DelayOpen runs).
    fn holding_open(&self) -> bool {
        self.fsm.timer_running(Timer::DelayOpen)
    }

    /// Our remote's OPEN arrived. With mirroring, and our OPEN still held back, it waits for
    /// the other side's OPEN; otherwise the FSM negotiates.
    async fn remote_open(&mut self, open: Open) {
        if self.cfg.mirror.is_some() {
            self.tell_twin(TwinEvent::Open(Box::new(open.clone())));
            if self.holding_open() {
                self.held_open = Some(open);
                if let Some(mine) = self.mirrored_open(true) {
                    self.fsm.set_local_open(mine);
                    if let Some(o) = self.held_open.take() {
                        self.event(Event::BgpOpen(Box::new(o))).await;
                    }
                }
                return;
            }
        }
        self.event(Event::BgpOpen(Box::new(open))).await;
    }

    /// The other side's remote sent its OPEN: ours can go.
    async fn twin_open_arrived(&mut self, open: Open) {
        self.last_twin_open = Some(open.clone());
        self.twin_open = Some(open);
        if !self.holding_open() {
            return;
        }
        let Some(mine) = self.mirrored_open(true) else {
            return;
        };
        self.fsm.set_local_open(mine);
        match self.held_open.take() {
            // Event 20: their OPEN came first; ours and a KEEPALIVE answer it.
            Some(o) => self.event(Event::BgpOpen(Box::new(o))).await,
            None => {
                self.timers.remove(&Timer::DelayOpen);
                self.event(Event::DelayOpenTimerExpires).await;
            }
        }
    }

    /// Waiting for the other side's OPEN took too long: send ours made from the last one known,
    /// or from the configuration, then negotiate with what our remote sent.
    async fn mirror_wait_over(&mut self) {
        let mine = self
            .mirrored_open(false)
            .unwrap_or_else(|| self.own(self.cfg.local_open.clone()));
        tracing::info!(
            peer = %self.cfg.name,
            side = %self.cfg.id.side,
            "the other side's OPEN did not come: sending ours from {}",
            if self.last_twin_open.is_some() { "the last one known" } else { "the configuration" }
        );
        self.fsm.set_local_open(mine);
        self.event(Event::DelayOpenTimerExpires).await;
        if let Some(o) = self.held_open.take() {
            self.event(Event::BgpOpen(Box::new(o))).await;
        }
    }

    async fn twin(&mut self, ev: TwinEvent) {
        match ev {
            TwinEvent::Open(o) => self.twin_open_arrived(*o).await,
            TwinEvent::Connected if self.cfg.follows_twin => {
                self.enabled = true;
                self.twin_grace_until = None;
                if self.fsm.state() == super::fsm::State::Idle && self.restart_at.is_none() {
                    self.event(Event::ManualStart).await;
                }
            }
            TwinEvent::Lost {
                graceful: Some(wait),
                ..
            } if self.cfg.follows_twin && self.fsm.state() == super::fsm::State::Established => {
                // The neighbor restarts gracefully: the router keeps its routes (stale at the
                // RIB) and this session stays up while it comes back.
                tracing::info!(peer = %self.cfg.name, seconds = wait.as_secs(), "neighbor restarting gracefully: the router side stays up for it");
                self.twin_open = None;
                self.twin_grace_until = Some(Instant::now() + wait);
            }
            TwinEvent::Lost { notification, .. } if self.cfg.follows_twin => {
                self.twin_gone(notification).await;
            }
            TwinEvent::Connected | TwinEvent::Lost { .. } => {
                if !self.cfg.follows_twin && matches!(ev, TwinEvent::Lost { .. }) {
                    // The router side's next connection brings a fresh OPEN.
                    self.twin_open = None;
                }
            }
        }
    }

    /// A router side's neighbor is gone (not restarting gracefully, or not back in time): the
    /// router sees it go, with its routes (Hard Reset where N was negotiated).
    async fn twin_gone(&mut self, n: Notification) {
        self.enabled = false;
        self.twin_open = None;
        self.twin_grace_until = None;
        if self.fsm.state() != super::fsm::State::Idle {
            tracing::info!(peer = %self.cfg.name, "neighbor side gone: closing the router side");
            self.force_hard_reset = true;
            self.event(Event::AutomaticStop(n)).await;
        }
        // No restart of our own: the neighbor side's next connection starts us.
        self.event(Event::ManualStop {
            shutdown_message: None,
        })
        .await;
    }

    /// May the session start (again)? Not a router side whose neighbor is not connected, nor an
    /// administratively down session.
    fn may_start(&self) -> bool {
        self.enabled && self.admin_down.is_none()
    }

    /// Administrative shutdown (`ToSession::AdminDown`): Cease/2 with `message` where there
    /// is a session (the FSM's ManualStop; sent as Hard Reset where N was negotiated), no
    /// restart, and a router side kept waiting for a gracefully restarting neighbor told to go.
    async fn admin_down(&mut self, message: String) {
        tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, message = %message, "administratively down");
        self.admin_down = Some(message.clone());
        self.restart_at = None;
        if let Some(p) = self.pending.take() {
            p.abort();
        }
        self.event(Event::ManualStop {
            shutdown_message: Some(message.clone()),
        })
        .await;
        if !self.cfg.follows_twin && !self.told_connected {
            // No connection now, but the router side may still be up for a neighbor that was
            // restarting gracefully: it goes now, with the message.
            self.tell_twin(TwinEvent::Lost {
                notification: Notification::admin_shutdown(&message),
                graceful: None,
            });
        }
    }

    /// The end of an administrative shutdown: the session starts (a router side once its
    /// neighbor is connected).
    async fn admin_up(&mut self) {
        if self.admin_down.take().is_none() {
            return;
        }
        tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, "administratively up: starting");
        self.restart_at = None;
        if self.may_start() && self.fsm.state() == super::fsm::State::Idle {
            self.event(Event::ManualStart).await;
        }
    }

    /// Sends a ROUTE-REFRESH (RFC 2918) for each of `afis` the session negotiated, when route
    /// refresh was negotiated.
    fn ask_route_refresh(&mut self, afis: &[Afi]) {
        let Some(neg) = &self.negotiated else {
            return;
        };
        if !neg.route_refresh {
            return;
        }
        let asked: Vec<Afi> = afis
            .iter()
            .copied()
            .filter(|a| neg.families.contains(a))
            .collect();
        for afi in &asked {
            self.send(codec::RouteRefresh::request(*afi).encode());
        }
        tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, families = ?asked, "ROUTE-REFRESH sent");
    }

    /// Ends the session for a planned stop of bgpsieve (SIGTERM), so that a peer helping with
    /// graceful restart keeps the routes: Administrative Reset where N was negotiated, a
    /// closed connection without NOTIFICATION where only graceful restart was, Administrative
    /// Shutdown otherwise.
    async fn planned_stop(&mut self, message: String) {
        self.stopping = true;
        let established = self.fsm.state() == super::fsm::State::Established;
        match graceful::planned_stop(self.negotiated.as_ref().filter(|_| established), &message) {
            PlannedStop::Notify(n) if established && self.cfg.graceful_restart.is_some() => {
                self.event(Event::AutomaticStop(n)).await;
            }
            PlannedStop::Close => {
                tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, "closing the connection without a NOTIFICATION: the peer keeps the routes (graceful restart without RFC 8538)");
                self.conn = None;
                self.event(Event::TcpConnectionFails).await;
            }
            PlannedStop::Notify(_) => {}
        }
        self.event(Event::ManualStop {
            shutdown_message: Some(message),
        })
        .await;
    }

    /// Feeds one event to the FSM and carries out its actions; an action may produce further
    /// events (a failed write), handled in turn.
    async fn event(&mut self, ev: Event) {
        let before = self.fsm.state();
        let mut queue = vec![ev];
        while let Some(ev) = queue.pop() {
            for action in self.fsm.handle(ev) {
                if let Some(next) = self.act(action).await {
                    queue.push(next);
                }
            }
        }
        // Most events (every UPDATE) leave the state as it was: the diagnostics are told only
        // of a change.
        let after = self.fsm.state();
        if after != before {
            self.diag.state(after, crate::unix_now());
        }
    }

    async fn act(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Connect => {
                let (remote, local) = (self.cfg.remote, self.cfg.local_address);
                let (md5, gtsm) = (self.cfg.md5.clone(), self.cfg.gtsm);
                self.connecting = Some(tokio::spawn(connect(remote, local, md5, gtsm)));
            }
            Action::CloseConnection => {
                self.conn = None;
                if let Some(c) = self.connecting.take() {
                    c.abort();
                }
            }
            Action::SendOpen => match self.fsm.local_open().encode() {
                Ok(m) => self.send(m),
                Err(e) => tracing::error!(peer = %self.cfg.name, "cannot encode OPEN: {e}"),
            },
            Action::SendKeepalive => self.send(codec::encode_keepalive()),
            Action::SendNotification(n) => {
                let gr = self
                    .negotiated
                    .as_ref()
                    .and_then(|g| g.graceful_restart.as_ref());
                let wire = graceful::outgoing(n.clone(), gr, self.force_hard_reset);
                self.sent_hard_reset |= wire != n;
                self.notify(wire);
            }
            Action::StartTimer(t, d) => {
                self.timers.insert(t, Instant::now() + d);
            }
            Action::StopTimer(t) => {
                self.timers.remove(&t);
            }
            Action::SessionEstablished(neg) => {
                tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, asn = neg.peer_asn.0, "session established");
                self.decoder.set_max_len(neg.max_message_len());
                if self.restarting {
                    // R is said on the first session after a start only.
                    self.restarting = false;
                    let open = self.own(self.fsm.local_open().clone());
                    self.fsm.set_local_open(open);
                }
                self.force_hard_reset = false;
                self.sent_hard_reset = false;
                self.negotiated = Some((*neg).clone());
                self.generation += 1;
                if let Some(c) = &self.conn {
                    let hold = send_hold_time(neg.hold_time).as_millis();
                    c.shared
                        .send_hold_ms
                        .store(hold.try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
                }
                self.hand_to_rib(FromSession::Up {
                    id: self.cfg.id,
                    generation: self.generation,
                    negotiated: neg,
                });
            }
            Action::SessionDown { reason } => {
                if self.stopping {
                    tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, %reason, "session closed: bgpsieve is stopping");
                } else {
                    tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, %reason, "session down");
                }
                self.diag.down(crate::unix_now(), reason.to_string());
                let retained = self
                    .negotiated
                    .take()
                    .and_then(|neg| graceful::retained(&neg, &reason, self.sent_hard_reset));
                if let Some(r) = &retained {
                    tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, seconds = r.restart_time.as_secs(), "graceful restart: its routes stay, stale, while it comes back");
                }
                self.decoder = Decoder::new();
                self.last_down = Some(reason.clone());
                self.last_retained = retained.clone();
                self.hand_to_rib(FromSession::Down {
                    id: self.cfg.id,
                    reason,
                    retained,
                });
            }
            Action::ProcessUpdate => {}
        }
        None
    }

    /// Sends a NOTIFICATION, logged and shown in the diagnostics.
    fn notify(&mut self, n: Notification) {
        self.diag
            .error(crate::unix_now(), format!("NOTIFICATION sent: {n}"));
        if n.is_bad_peer_as() {
            let expected = self.fsm.expected_asn().0;
            tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, notification = %n, expected_as = expected, "sending NOTIFICATION: the OPEN's AS is not the configured AS {expected}");
        } else {
            tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, notification = %n, "sending NOTIFICATION");
        }
        self.send(n.encode());
    }

    /// Encodes routes from the RIB for this session's negotiated parameters and queues them.
    fn routes(&mut self, out: Outbound) {
        let Some(neg) = &self.negotiated else {
            return;
        };
        if out.generation != self.generation {
            return;
        }
        let (msgs, refused) = encode_outbound(&out, neg, self.cfg.expect.is_ibgp());
        if refused > 0 {
            tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, routes = refused, "routes that cannot be sent on this session withdrawn instead");
        }
        for m in msgs {
            self.send(m);
        }
    }

    async fn frame(&mut self, f: Frame) {
        match f.kind {
            MessageType::Open => match Open::decode(&f.body) {
                Ok(o) => self.remote_open(o).await,
                Err(n) => self.event(Event::BgpOpenMsgErr(n)).await,
            },
            MessageType::Keepalive => self.event(Event::KeepAliveMsg).await,
            MessageType::Notification => match Notification::decode(&f.body) {
                Ok(n) => {
                    tracing::warn!(peer = %self.cfg.name, side = %self.cfg.id.side, notification = %n, "NOTIFICATION received");
                    self.diag
                        .error(crate::unix_now(), format!("NOTIFICATION received: {n}"));
                    let ev = if n.code == 2 && n.subcode == 1 {
                        Event::NotifMsgVerErr
                    } else {
                        Event::NotifMsg(n)
                    };
                    self.event(ev).await
                }
                Err(_) => {
                    self.event(Event::NotifMsg(Notification::new(0, 0, vec![])))
                        .await
                }
            },
            MessageType::Update => {
                let Some(neg) = &self.negotiated else {
                    // Outside Established the FSM answers with an FSM error.
                    self.event(Event::UpdateMsg).await;
                    return;
                };
                let ctx = DecodeCtx::new(neg, !self.cfg.expect.is_ibgp());
                match decode_update(&f.body, &ctx) {
                    Ok(update) => {
                        self.event(Event::UpdateMsg).await;
                        let verdicts = self.cfg.evaluate(&update);
                        self.hand_to_rib(FromSession::Update {
                            id: self.cfg.id,
                            update,
                            verdicts,
                        });
                    }
                    Err(n) => self.event(Event::UpdateMsgErr(n)).await,
                }
            }
            MessageType::RouteRefresh => {
                if let Ok(rr) = codec::RouteRefresh::decode(&f.body) {
                    let afi = match rr.afi {
                        1 => Some(Afi::Ipv4),
                        2 => Some(Afi::Ipv6),
                        _ => None,
                    };
                    if let (Some(afi), true) = (afi, self.negotiated.is_some()) {
                        self.hand_to_rib(FromSession::RouteRefresh {
                            id: self.cfg.id,
                            afi,
                        });
                    }
                }
            }
        }
    }

    /// A connection accepted for this session.
    async fn incoming(&mut self, stream: TcpStream) {
        use super::fsm::State;
        if self.cfg.gtsm {
            if let Err(e) = super::sockopt::set_gtsm(&stream, self.cfg.remote.is_ipv6()) {
                tracing::warn!(peer = %self.cfg.name, "cannot set GTSM: {e}");
            }
        }
        if let Some(message) = &self.admin_down {
            tracing::info!(peer = %self.cfg.name, side = %self.cfg.id.side, "connection refused: administratively down");
            tokio::spawn(refuse(stream, Notification::admin_shutdown(message)));
            return;
        }
        if !self.enabled {
            // A router side runs only while the neighbor side has a connection.
            tracing::debug!(peer = %self.cfg.name, "router connection refused: the neighbor side is not connected");
            tokio::spawn(refuse(
                stream,
                Notification::admin_shutdown("bgpsieve: the neighbor is not connected"),
            ));
            return;
        }
        match self.fsm.state() {
            State::Idle | State::Connect | State::Active if self.conn.is_none() => {
                if let Some(c) = self.connecting.take() {
                    c.abort();
                }
                self.conn = Some(attach(stream));
                self.outgoing = false;
                self.event(Event::TcpConnectionConfirmed).await;
            }
            State::Connect | State::Active
                if !self.outgoing && self.holding_open() && self.held_open.is_none() =>
            {
                // As below, while our OPEN is held back: the FSM still has a connection and its
                // DelayOpenTimer running, only the socket changes.
                tracing::info!(peer = %self.cfg.name, "a new connection replaces one without an OPEN");
                self.conn = Some(attach(stream));
            }
            State::OpenSent if !self.outgoing => {
                // The neighbor opened this connection too and has sent no OPEN on it: a peer
                // has one connection attempt at a time, so it gave the old one up (its FIN may
                // never have reached us, e.g. dropped by GTSM). Take the new one.
                tracing::info!(peer = %self.cfg.name, "a new connection replaces one without an OPEN");
                self.conn = None;
                self.event(Event::TcpConnectionFails).await;
                self.conn = Some(attach(stream));
                self.outgoing = false;
                self.event(Event::TcpConnectionConfirmed).await;
            }
            State::Connect | State::Active | State::OpenSent | State::OpenConfirm
                if self.outgoing && self.pending.is_none() =>
            {
                // RFC 4271 §6.8: keep both until the OPEN on the new one names the peer's BGP
                // identifier, then keep the connection opened by the higher identifier.
                self.pending = Some(tokio::spawn(read_open(stream)));
            }
            _ => {
                tokio::spawn(refuse(
                    stream,
                    Notification::connection_collision_resolution(),
                ));
            }
        }
    }

    /// The second connection's OPEN arrived: keep ours or switch to it.
    async fn resolve_collision(&mut self, stream: TcpStream, rest: Vec<u8>, open: Open) {
        use super::fsm::{collision_winner, CollisionWinner, State};
        let local = self.fsm.local_open();
        let winner = collision_winner(local.router_id, local.asn(), open.router_id, open.asn());
        if self.fsm.state() == State::Established {
            // Ours reached Established first: it stays (RFC 4271 §6.8).
            tokio::spawn(refuse(
                stream,
                Notification::connection_collision_resolution(),
            ));
            return;
        }
        let ours_alive =
            matches!(self.fsm.state(), State::OpenSent | State::OpenConfirm) || self.holding_open();
        if !ours_alive || winner == Some(CollisionWinner::Incoming) {
            tracing::info!(peer = %self.cfg.name, "connection collision: keeping the neighbor's connection");
            if matches!(self.fsm.state(), State::OpenSent | State::OpenConfirm) {
                self.event(Event::OpenCollisionDump).await;
            } else if self.holding_open() {
                // Ours had sent no OPEN yet: the FSM just loses that connection.
                self.conn = None;
                self.event(Event::TcpConnectionFails).await;
            }
            self.conn = None;
            if let Some(c) = self.connecting.take() {
                c.abort();
            }
            if self.fsm.state() == State::Idle {
                self.event(Event::ManualStart).await;
            }
            if let Some(c) = self.connecting.take() {
                c.abort();
            }
            let mut conn = attach(stream);
            conn.buf = rest;
            self.conn = Some(conn);
            self.outgoing = false;
            self.held_open = None;
            self.event(Event::TcpConnectionConfirmed).await;
            self.remote_open(open).await;
            self.data().await;
        } else {
            tracing::info!(peer = %self.cfg.name, "connection collision: keeping our connection");
            tokio::spawn(refuse(
                stream,
                Notification::connection_collision_resolution(),
            ));
        }
    }

    async fn data(&mut self) {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            // All complete messages at once: one move of the buffer's rest, not one per message.
            let mut frames = Vec::new();
            let res = self.decoder.decode_all(&mut conn.buf, &mut frames);
            let progressed = !frames.is_empty();
            for f in frames {
                self.frame(f).await;
                if self.conn.is_none() {
                    return;
                }
            }
            match res {
                Ok(()) => return,
                // The messages before may have raised the limit (RFC 8654 negotiated): retry.
                Err(_) if progressed => continue,
                Err(n) => {
                    self.event(Event::BgpHeaderErr(n)).await;
                    return;
                }
            }
        }
    }
}

async fn run<E: From<FromSession> + Send + 'static>(
    cfg: SessionConfig,
    mut rx: mpsc::UnboundedReceiver<ToSession>,
    rib: mpsc::Sender<E>,
    twin: Option<mpsc::UnboundedSender<ToSession>>,
    diag: DiagHandle,
) {
    let first_open =
        graceful::with_own_capability(cfg.local_open.clone(), cfg.graceful_restart, true);
    let fsm = Fsm::new(cfg.fsm.clone(), first_open, cfg.expect.clone());
    let enabled = !cfg.follows_twin;
    let admin_down = cfg.admin_down.clone();
    let mut s = Session {
        cfg,
        fsm,
        conn: None,
        connecting: None,
        timers: HashMap::new(),
        decoder: Decoder::new(),
        negotiated: None,
        rib,
        restart_at: None,
        generation: 0,
        outgoing: false,
        pending: None,
        to_rib: VecDeque::new(),
        send_overflow: false,
        twin,
        twin_open: None,
        last_twin_open: None,
        held_open: None,
        enabled,
        told_connected: false,
        last_down: None,
        connect_failures: FailureLog::default(),
        diag,
        restarting: true,
        force_hard_reset: false,
        sent_hard_reset: false,
        last_retained: None,
        twin_grace_until: None,
        stopping: false,
        admin_down,
    };
    s.diag.state(s.fsm.state(), crate::unix_now());
    if s.may_start() {
        s.event(Event::ManualStart).await;
    } else if let Some(m) = &s.admin_down {
        tracing::info!(peer = %s.cfg.name, side = %s.cfg.id.side, message = %m, "administratively down (configured)");
    }
    loop {
        let next = s
            .timers
            .iter()
            .min_by_key(|(_, at)| **at)
            .map(|(t, at)| (*t, *at));
        let sleep_until = next.map_or_else(
            || Instant::now() + std::time::Duration::from_secs(3600),
            |(_, at)| at,
        );
        let restart_at = s.restart_at;
        let grace = s.twin_grace_until;
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(ToSession::Routes(out)) => s.routes(*out),
                Some(ToSession::Incoming(stream)) => s.incoming(stream).await,
                Some(ToSession::Stop { notification, restart_after }) => {
                    // AutomaticStop sends the NOTIFICATION; ManualStop then keeps the FSM from
                    // restarting by its own backoff: the restart is ours to time.
                    s.event(Event::AutomaticStop(notification)).await;
                    s.event(Event::ManualStop { shutdown_message: None }).await;
                    s.restart_at = restart_after.map(|d| Instant::now() + d);
                }
                Some(ToSession::Start) => {
                    s.restart_at = None;
                    if s.may_start() {
                        s.event(Event::ManualStart).await;
                    }
                }
                Some(ToSession::AdminDown(message)) => s.admin_down(message).await,
                Some(ToSession::AdminUp) => s.admin_up().await,
                Some(ToSession::RouteRefresh(afis)) => s.ask_route_refresh(&afis),
                Some(ToSession::Reconfigure(cfg)) => {
                    tracing::info!(peer = %s.cfg.name, side = %s.cfg.id.side, "session parameters changed: restarting the session");
                    s.event(Event::AutomaticStop(Notification::other_configuration_change())).await;
                    s.event(Event::ManualStop { shutdown_message: None }).await;
                    s.cfg = *cfg;
                    let open = s.own(s.cfg.local_open.clone());
                    s.fsm = Fsm::new(s.cfg.fsm.clone(), open, s.cfg.expect.clone());
                    s.restart_at = None;
                    if s.may_start() {
                        s.event(Event::ManualStart).await;
                    }
                }
                Some(ToSession::Shutdown(msg)) => {
                    s.planned_stop(msg).await;
                    // Let the writer flush the NOTIFICATION.
                    s.conn = None;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    return;
                }
                Some(ToSession::Deconfigure) => {
                    tracing::info!(peer = %s.cfg.name, side = %s.cfg.id.side, "peer removed from the configuration: closing the session");
                    s.stopping = true;
                    s.event(Event::AutomaticStop(Notification::peer_deconfigured())).await;
                    s.event(Event::ManualStop { shutdown_message: None }).await;
                    s.conn = None;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    return;
                }
                Some(ToSession::Twin(ev)) => s.twin(ev).await,
                None => return,
            },
            permit = s.rib.clone().reserve_owned(), if !s.to_rib.is_empty() => match permit {
                Ok(permit) => drain_to_rib(&mut s.to_rib, &s.rib, permit),
                // The RIB is gone: the daemon is shutting down.
                Err(_) => s.to_rib.clear(),
            },
            ev = conn_event(&mut s.conn, s.to_rib.is_empty()) => match ev {
                ConnEvent::Writer(end) => {
                    s.conn = None;
                    match end {
                        WriterEnd::SendHoldExpired => {
                            tracing::warn!(
                                peer = %s.cfg.name,
                                "send hold timer expired: the neighbor has read nothing (RFC 9687)"
                            );
                            let n = Notification::send_hold_timer_expired();
                            s.event(Event::AutomaticStop(n)).await;
                        }
                        WriterEnd::Failed(e) => {
                            tracing::info!(peer = %s.cfg.name, "write failed: {e}");
                            s.event(Event::TcpConnectionFails).await;
                        }
                        WriterEnd::Closed => s.event(Event::TcpConnectionFails).await,
                    }
                }
                ConnEvent::Read(res) => {
                    match res {
                        Ok(0) | Err(_) => {
                            tracing::info!(
                                peer = %s.cfg.name,
                                side = %s.cfg.id.side,
                                state = s.fsm.state().as_str(),
                                "connection closed by the remote"
                            );
                            s.conn = None;
                            s.event(Event::TcpConnectionFails).await;
                        }
                        Ok(_) => s.data().await,
                    }
                }
            },
            res = wait_connect(&mut s.connecting) => {
                s.connecting = None;
                match res {
                    Ok(stream) if s.conn.is_none() => {
                        s.connect_failures.connected();
                        s.conn = Some(attach(stream));
                        s.outgoing = true;
                        s.event(Event::TcpCrAcked).await;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let error = e.to_string();
                        s.diag.error(
                            crate::unix_now(),
                            format!("connection attempt to {} failed: {error}", s.cfg.remote),
                        );
                        if let Some(failures) = s.connect_failures.failed(Instant::now(), &error) {
                            tracing::info!(peer = %s.cfg.name, side = %s.cfg.id.side, remote = %s.cfg.remote, failures, "connection attempt failed: {error}");
                        } else {
                            tracing::debug!(peer = %s.cfg.name, side = %s.cfg.id.side, "connect failed: {error}");
                        }
                        s.event(Event::TcpConnectionFails).await;
                    }
                }
            }
            res = wait_pending(&mut s.pending) => {
                s.pending = None;
                if let Some((stream, rest, open)) = res {
                    s.resolve_collision(stream, rest, open).await;
                }
            }
            _ = tokio::time::sleep_until(grace.unwrap_or(sleep_until)), if grace.is_some() => {
                tracing::info!(peer = %s.cfg.name, "the neighbor did not come back within its restart time");
                s.twin_gone(Notification::admin_shutdown(
                    "bgpsieve: the neighbor did not come back within its restart time",
                ))
                .await;
            }
            _ = tokio::time::sleep_until(restart_at.unwrap_or(sleep_until)), if restart_at.is_some() => {
                s.restart_at = None;
                tracing::info!(peer = %s.cfg.name, "restarting after max-prefix teardown");
                if s.may_start() {
                    s.event(Event::ManualStart).await;
                }
            }
            _ = tokio::time::sleep_until(sleep_until), if next.is_some() => {
                if let Some((t, _)) = next {
                    if t == Timer::Hold && !s.to_rib.is_empty() {
                        // We stopped reading, not the neighbor: what it sent waits in the
                        // socket. Look again once reading has resumed.
                        s.timers.insert(t, Instant::now() + Duration::from_secs(1));
                    } else if t == Timer::DelayOpen && s.cfg.mirror.is_some() {
                        s.timers.remove(&t);
                        s.mirror_wait_over().await;
                    } else {
                        s.timers.remove(&t);
                        s.event(timer_event(t)).await;
                    }
                }
            }
        }
        if std::mem::take(&mut s.send_overflow) {
            tracing::error!(
                peer = %s.cfg.name,
                limit = MAX_SEND_QUEUE,
                "more unsent bytes queued than the limit: closing the session"
            );
            s.event(Event::AutomaticStop(Notification::out_of_resources()))
                .await;
            s.conn = None;
            s.send_overflow = false;
        }
        s.sync_twin();
    }
}

/// Moves waiting messages into the RIB's channel, the first one with the permit got, the others
/// while there is room.
fn drain_to_rib<E>(waiting: &mut VecDeque<E>, rib: &mpsc::Sender<E>, permit: mpsc::OwnedPermit<E>) {
    if let Some(first) = waiting.pop_front() {
        permit.send(first);
    }
    while let Some(msg) = waiting.pop_front() {
        if let Err(e) = rib.try_send(msg) {
            if let mpsc::error::TrySendError::Full(msg) = e {
                waiting.push_front(msg);
            }
            return;
        }
    }
}

/// Something happened on the connection.
enum ConnEvent {
    /// Bytes were read into its buffer (0: the neighbor closed it), or reading failed.
    Read(std::io::Result<usize>),
    /// Its writer ended.
    Writer(WriterEnd),
}

/// Reads more bytes into the connection's buffer (when `read`), or sees its writer end; never
/// completes without a connection.
async fn conn_event(conn: &mut Option<Conn>, read: bool) -> ConnEvent {
    let Some(c) = conn else {
        return std::future::pending().await;
    };
    tokio::select! {
        r = c.reader.read_buf(&mut c.buf), if read => ConnEvent::Read(r),
        end = &mut c.writer_task => ConnEvent::Writer(
            end.unwrap_or_else(|e| WriterEnd::Failed(std::io::Error::other(e))),
        ),
    }
}

/// Reads a pending second connection up to its OPEN (10 s at most).
async fn read_open(mut stream: TcpStream) -> Option<PendingOpen> {
    let mut buf = Vec::with_capacity(4096);
    let mut dec = Decoder::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        match dec.decode(&mut buf) {
            Ok(Some(f)) if f.kind == MessageType::Open => {
                return Open::decode(&f.body).ok().map(|o| (stream, buf, o));
            }
            Ok(None) => continue,
            _ => return None,
        }
    }
}

/// Waits for the pending connection's OPEN; never completes without one.
async fn wait_pending(
    pending: &mut Option<JoinHandle<Option<PendingOpen>>>,
) -> Option<PendingOpen> {
    match pending {
        Some(h) => h.await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// Writes a NOTIFICATION on a connection we are about to drop.
async fn refuse(mut stream: TcpStream, n: Notification) {
    let _ = stream.write_all(&n.encode()).await;
    let _ = stream.shutdown().await;
}

/// Waits for the connection attempt; never completes without one.
async fn wait_connect(
    connecting: &mut Option<JoinHandle<std::io::Result<TcpStream>>>,
) -> std::io::Result<TcpStream> {
    match connecting {
        Some(h) => h.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
