//! The BGP finite state machine of one connection (RFC 4271 §8), sans-IO: `Fsm::handle` takes
//! an [`Event`] and returns the [`Action`]s the caller must carry out, in order. It owns no
//! socket, no clock and no task: timers are started and stopped through actions and their expiry
//! comes back as events, connections are opened and closed by the caller, and message bytes are
//! decoded by the caller (`codec`, `open`, `notification`) before they arrive here as events. So
//! every transition is a plain function call, tested below without a socket (the style of
//! RustyBGP's `Connection::process` and Holo's protocol instances).
//!
//! One `Fsm` is one connection. Connection collisions (RFC 4271 §6.8) involve two connections,
//! so the caller, which sees both, runs a second `Fsm` for the second connection, decides with
//! [`collision_winner`] and feeds [`Event::OpenCollisionDump`] to the loser.
//!
//! The caller's side of the contract: carry out the actions in order; deliver no event of a
//! connection after `CloseConnection`; report a timer's expiry only for its latest
//! `StartTimer` (a restarted timer's old expiry must be dropped, e.g. by a generation number).
//! An expiry of a timer the FSM has stopped is ignored, so a queued one is harmless.
//!
//! Beyond RFC 4271 the FSM restarts itself after errors (the IdleHoldTimer of §8.1.1 with an
//! exponential backoff, as BIRD's `error wait time`), sends RFC 6608 FSM-error subcodes, and
//! carries RFC 9003 shutdown communications. Deviations from the RFC text are marked
//! "Deviation:" where they happen.

use super::notification::Notification;
use super::open::{self, Negotiated, Open, PeerExpectation};
use crate::types::Asn;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The HoldTimer while waiting for the peer's OPEN: "a large value", 4 minutes as RFC 4271
/// §8.2.2 suggests.
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// The default longest wait before an automatic restart, however often the session failed.
pub use crate::config::IDLE_HOLD_MAX;

/// How long a session must stay Established before its restart backoff is forgotten (BIRD
/// forgets an error sequence after its `error forget time`, 300 s by default).
pub const STABLE_AFTER: Duration = Duration::from_secs(300);

/// The ConnectRetryTime RFC 4271 §10 suggests.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(120);

/// The smallest backoff step when `idle_hold` is zero, so a flapping session still backs off.
const IDLE_HOLD_MIN_STEP: Duration = Duration::from_secs(1);

// Message types (RFC 4271 §4.1), the data of an RFC 6608 FSM error.
const MSG_OPEN: u8 = 1;
const MSG_UPDATE: u8 = 2;
const MSG_KEEPALIVE: u8 = 4;

/// The session states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl State {
    /// The state as operators read it in `/api/v1/peers` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Connect => "connect",
            State::Active => "active",
            State::OpenSent => "opensent",
            State::OpenConfirm => "openconfirm",
            State::Established => "established",
        }
    }
}

/// Per-peer session attributes (RFC 4271 §8.1.1) that the FSM needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// PassiveTcpEstablishment: never open a connection, wait for the neighbor's (peer key
    /// `passive`).
    pub passive: bool,
    /// ConnectRetryTime (120 s suggested, RFC 4271 §10).
    pub connect_retry: Duration,
    /// The hold time we offer in our OPEN, in seconds (0, or at least 3).
    pub hold_time: u16,
    /// The wait before restarting after an error (peer key `idle_hold`); the first step of the
    /// restart backoff.
    pub idle_hold: Duration,
    /// The cap of the restart backoff (peer key `idle_hold_max`); `idle_hold` if that is
    /// larger.
    pub idle_hold_max: Duration,
    /// DelayOpen: wait this long for the neighbor's OPEN before sending ours.
    pub delay_open: Option<Duration>,
}

impl Default for FsmConfig {
    fn default() -> Self {
        FsmConfig {
            passive: false,
            connect_retry: DEFAULT_CONNECT_RETRY,
            hold_time: 90,
            idle_hold: Duration::from_secs(5),
            idle_hold_max: IDLE_HOLD_MAX,
            delay_open: None,
        }
    }
}

/// The FSM's timers (RFC 4271 §8.1.3 and the optional IdleHoldTimer and DelayOpenTimer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    ConnectRetry,
    Hold,
    Keepalive,
    /// In Idle: the wait before an automatic restart (§8.1.1 IdleHoldTimer, with backoff). In
    /// Established: the time after which the session counts as stable and the backoff is
    /// forgotten ([`STABLE_AFTER`]); that is the only other use, so one timer serves both.
    IdleHold,
    DelayOpen,
}

impl Timer {
    /// Every timer, in the order teardown stops them.
    pub const ALL: [Timer; 5] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::IdleHold,
        Timer::DelayOpen,
    ];

    /// The timer's bit in [`Fsm`]'s set of running timers.
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The inputs of the FSM, with their RFC 4271 §8.1 event numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Event 1, or event 4 (ManualStart_with_PassiveTcpEstablishment) when `passive`: the
    /// operator starts the session. Forgets the restart backoff.
    ManualStart,
    /// Event 2: the operator stops the session. A session with an OPEN exchange in progress or
    /// done is ended with Cease/2 (Administrative Shutdown) carrying this RFC 9003 (ex-8203)
    /// shutdown communication. There is no automatic restart afterwards; in Idle it cancels a
    /// pending one.
    ManualStop { shutdown_message: Option<String> },
    /// Event 3, or event 5 when `passive`: start without operator action (daemon start, config
    /// reload). Ignored while an automatic restart is pending (the damping of events 6/7).
    AutomaticStart,
    /// Event 8: the local system ends the session with this NOTIFICATION, e.g. Cease/1 when
    /// `max_prefix_in` trips with `action = "teardown"`. The FSM restarts after the idle hold
    /// (with backoff); a caller that wants the session to stay down sends `ManualStop` next.
    AutomaticStop(Notification),
    /// Event 9.
    ConnectRetryTimerExpires,
    /// Event 10.
    HoldTimerExpires,
    /// Event 11.
    KeepaliveTimerExpires,
    /// Event 12.
    DelayOpenTimerExpires,
    /// Event 13.
    IdleHoldTimerExpires,
    /// Event 17: the caller accepted a connection from the neighbor and hands it to this FSM.
    TcpConnectionConfirmed,
    /// Event 16: the connection this FSM asked for (`Action::Connect`) is up.
    TcpCrAcked,
    /// Event 18: the connection failed or was closed by the neighbor.
    TcpConnectionFails,
    /// Events 19 and 20 (the FSM knows whether its DelayOpenTimer runs): a well-formed OPEN.
    /// Whether it is acceptable is decided here, by `open::negotiate`.
    BgpOpen(Box<Open>),
    /// Event 21: the message header is wrong; the NOTIFICATION the codec chose.
    BgpHeaderErr(Notification),
    /// Event 22: an OPEN that could not be decoded; the NOTIFICATION the decoder chose.
    BgpOpenMsgErr(Notification),
    /// Event 23: this connection lost a collision (RFC 4271 §6.8, decided by the caller with
    /// [`collision_winner`]); it is closed with Cease/7.
    OpenCollisionDump,
    /// Event 24: a NOTIFICATION with an OPEN version error (2/1) arrived.
    NotifMsgVerErr,
    /// Event 25: any other NOTIFICATION arrived.
    NotifMsg(Notification),
    /// Event 26.
    KeepAliveMsg,
    /// Event 27: a valid UPDATE (or one whose RFC 7606 outcome keeps the session).
    UpdateMsg,
    /// Event 28: an UPDATE whose error resets the session (RFC 7606 session reset); the
    /// NOTIFICATION to send.
    UpdateMsgErr(Notification),
}

impl Event {
    fn timer(&self) -> Option<Timer> {
        match self {
            Event::ConnectRetryTimerExpires => Some(Timer::ConnectRetry),
            Event::HoldTimerExpires => Some(Timer::Hold),
            Event::KeepaliveTimerExpires => Some(Timer::Keepalive),
            Event::IdleHoldTimerExpires => Some(Timer::IdleHold),
            Event::DelayOpenTimerExpires => Some(Timer::DelayOpen),
            _ => None,
        }
    }
}

/// Why an Established session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We ended it with this NOTIFICATION (admin shutdown, hold timer, max-prefix, FSM or UPDATE
    /// error, collision).
    NotificationSent(Notification),
    /// The neighbor ended it with this NOTIFICATION.
    NotificationReceived(Notification),
    /// The neighbor sent a NOTIFICATION with a version error (event 24).
    VersionErrorReceived,
    /// The TCP connection failed or was closed without a NOTIFICATION.
    ConnectionLost,
}

impl std::fmt::Display for DownReason {
    /// For logs: `NOTIFICATION received: Cease/Administrative Shutdown (6/2): "maintenance"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::NotificationSent(n) => write!(f, "NOTIFICATION sent: {n}"),
            DownReason::NotificationReceived(n) => write!(f, "NOTIFICATION received: {n}"),
            DownReason::VersionErrorReceived => f.write_str("version error received"),
            DownReason::ConnectionLost => f.write_str("connection lost"),
        }
    }
}

/// What the caller must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the neighbor; report `TcpCrAcked` or `TcpConnectionFails`.
    Connect,
    /// Close this FSM's connection, or abandon its connection attempt.
    CloseConnection,
    /// Send our OPEN (`Fsm::local_open`).
    SendOpen,
    SendKeepalive,
    SendNotification(Notification),
    /// (Re)start the timer with this duration; its expiry comes back as its event.
    StartTimer(Timer, Duration),
    StopTimer(Timer),
    /// The session is up with these parameters: start sending routes.
    SessionEstablished(Box<Negotiated>),
    /// The Established session ended: withdraw everything learned on it (DESIGN §1).
    SessionDown {
        reason: DownReason,
    },
    /// Pass the UPDATE to route processing; the FSM has restarted the hold timer.
    ProcessUpdate,
}

/// Which connection survives a collision (RFC 4271 §6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollisionWinner {
    /// The connection we opened (`Action::Connect`).
    Outgoing,
    /// The connection the neighbor opened (`Event::TcpConnectionConfirmed`).
    Incoming,
}

/// Decides a connection collision (RFC 4271 §6.8): the connection opened by the speaker with the
/// higher BGP Identifier, compared as a 4-octet unsigned integer, survives. With equal
/// identifiers (legal between ASes since RFC 6286) the one opened by the speaker with the larger
/// AS number survives (RFC 6286 §2.3). Equal identifiers and ASes (an iBGP neighbor using our
/// identifier, which RFC 6286 §2.2 says to refuse with 2/3) decide nothing: `None`.
pub fn collision_winner(
    local_id: Ipv4Addr,
    local_asn: Asn,
    remote_id: Ipv4Addr,
    remote_asn: Asn,
) -> Option<CollisionWinner> {
    let local = (u32::from(local_id), local_asn);
    let remote = (u32::from(remote_id), remote_asn);
    match local.cmp(&remote) {
        std::cmp::Ordering::Greater => Some(CollisionWinner::Outgoing),
        std::cmp::Ordering::Less => Some(CollisionWinner::Incoming),
        std::cmp::Ordering::Equal => None,
    }
}

/// How a teardown treats the ConnectRetryCounter.
#[derive(Clone, Copy)]
enum Counter {
    Increment,
    Reset,
    Keep,
}

/// Whether a teardown schedules an automatic restart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Restart {
    Auto,
    Never,
}

/// The way to Idle: what to send first, what to report, what follows.
struct Teardown {
    notify: Option<Notification>,
    reason: DownReason,
    counter: Counter,
    restart: Restart,
}

impl Teardown {
    /// Ends with a NOTIFICATION we send.
    fn sending(n: Notification) -> Teardown {
        Teardown {
            notify: Some(n.clone()),
            reason: DownReason::NotificationSent(n),
            counter: Counter::Increment,
            restart: Restart::Auto,
        }
    }

    /// Ends without sending anything.
    fn silent(reason: DownReason) -> Teardown {
        Teardown {
            notify: None,
            reason,
            counter: Counter::Increment,
            restart: Restart::Auto,
        }
    }

    fn counter(mut self, counter: Counter) -> Teardown {
        self.counter = counter;
        self
    }

    fn never_restart(mut self) -> Teardown {
        self.restart = Restart::Never;
        self
    }
}

/// The BGP FSM of one connection to one neighbor.
#[derive(Debug, Clone)]
pub struct Fsm {
    cfg: FsmConfig,
    local_open: Open,
    expect: PeerExpectation,
    state: State,
    connect_retry_counter: u32,
    negotiated: Option<Box<Negotiated>>,
    /// One bit per running timer ([`Timer::bit`]).
    running: u8,
    /// The wait before the next automatic restart.
    idle_hold: Duration,
}

impl Fsm {
    /// A stopped FSM (Idle). `cfg.hold_time` is the hold time we offer: it replaces
    /// `local_open.hold_time`.
    pub fn new(cfg: FsmConfig, mut local_open: Open, expect: PeerExpectation) -> Fsm {
        local_open.hold_time = cfg.hold_time;
        Fsm {
            idle_hold: cfg.idle_hold,
            cfg,
            local_open,
            expect,
            state: State::Idle,
            connect_retry_counter: 0,
            negotiated: None,
            running: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The ConnectRetryCounter (RFC 4271 §8.1.1): failures since the last start.
    /// The AS the neighbor's OPEN must carry.
    pub fn expected_asn(&self) -> Asn {
        self.expect.asn
    }

    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// The session parameters, in OpenConfirm and Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_deref()
    }

    /// The OPEN to send on `Action::SendOpen`.
    pub fn local_open(&self) -> &Open {
        &self.local_open
    }

    /// Replaces the OPEN sent on the next `Action::SendOpen`, and negotiated against. A pair's
    /// session sends the OPEN the other side sent (DESIGN §1), known only once that has arrived,
    /// so it sets it while the DelayOpenTimer holds its own OPEN back.
    pub fn set_local_open(&mut self, open: Open) {
        self.local_open = open;
    }

    /// Whether the FSM considers this timer running (started and neither stopped nor expired).
    pub fn timer_running(&self, timer: Timer) -> bool {
        self.running & timer.bit() != 0
    }

    /// Processes one event and returns what the caller must do, in order. Never panics.
    pub fn handle(&mut self, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(timer) = ev.timer() {
            if !self.timer_running(timer) {
                // Deviation: RFC 4271 cannot see the expiry of a stopped timer, so lists e.g.
                // ConnectRetryTimer_Expires in Established as an FSM error. Here the expiry may
                // already be queued when the FSM stops the timer; it is stale, not an error.
                return out;
            }
            self.running &= !timer.bit();
        }
        match self.state {
            State::Idle => self.idle(ev, &mut out),
            State::Connect => self.connect(ev, &mut out),
            State::Active => self.active(ev, &mut out),
            State::OpenSent => self.open_sent(ev, &mut out),
            State::OpenConfirm => self.open_confirm(ev, &mut out),
            State::Established => self.established(ev, &mut out),
        }
        out
    }

    // --- states (RFC 4271 §8.2.2) ---

    fn idle(&mut self, ev: Event, out: &mut Vec<Action>) {
        match ev {
            // Events 1/4: an operator start also forgets the backoff and any pending restart.
            Event::ManualStart => {
                self.idle_hold = self.cfg.idle_hold;
                self.stop(out, Timer::IdleHold);
                self.connect_retry_counter = 0;
                self.start_connecting(out);
            }
            // Events 3/5. With a restart pending they are the damped events 6/7 and wait for
            // the IdleHoldTimer (below, ignored).
            Event::AutomaticStart if !self.timer_running(Timer::IdleHold) => {
                self.connect_retry_counter = 0;
                self.start_connecting(out);
            }
            // Event 13: the automatic restart. The counter is kept so it counts the failures.
            Event::IdleHoldTimerExpires => self.start_connecting(out),
            // Event 2. Deviation: RFC 4271 ignores it in Idle; it has no automatic restart to
            // cancel, we do.
            Event::ManualStop { .. } => self.stop(out, Timer::IdleHold),
            // Events 16/17: "refuses all incoming BGP connections"; the caller handed us one, so
            // say it explicitly.
            Event::TcpConnectionConfirmed | Event::TcpCrAcked => out.push(Action::CloseConnection),
            // Events 8-12, 18-28 do not change the state.
            _ => {}
        }
    }

    fn connect(&mut self, ev: Event, out: &mut Vec<Action>) {
        let tcp_up = self.timer_running(Timer::DelayOpen);
        match ev {
            // Events 1, 3-7 are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
            // Event 2. RFC 4271 sends no NOTIFICATION from Connect, even when DelayOpen's
            // connection is up (from Active it does).
            Event::ManualStop { .. } => self.enter_idle(
                out,
                Teardown::silent(DownReason::ConnectionLost)
                    .counter(Counter::Reset)
                    .never_restart(),
            ),
            // Event 9: drop the attempt, try again.
            Event::ConnectRetryTimerExpires => {
                out.push(Action::CloseConnection);
                self.stop(out, Timer::DelayOpen);
                self.start(out, Timer::ConnectRetry, self.cfg.connect_retry);
                out.push(Action::Connect);
            }
            // Event 12.
            Event::DelayOpenTimerExpires => self.send_open(out),
            // Events 16/17.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => self.tcp_up(tcp_up, out),
            // Event 18.
            Event::TcpConnectionFails => {
                if tcp_up {
                    self.start(out, Timer::ConnectRetry, self.cfg.connect_retry);
                    self.stop(out, Timer::DelayOpen);
                    self.state = State::Active;
                } else {
                    self.enter_idle(
                        out,
                        Teardown::silent(DownReason::ConnectionLost).counter(Counter::Keep),
                    );
                }
            }
            // Event 20.
            Event::BgpOpen(open) if tcp_up => self.receive_open(&open, out),
            // Events 21/22 (SendNOTIFICATIONwithoutOPEN is TRUE here).
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.enter_idle(out, Teardown::sending(n))
            }
            // Event 24.
            Event::NotifMsgVerErr => self.version_error_before_open(tcp_up, out),
            // Events 8, 10-11, 13, 19, 23, 25-28.
            other => self.enter_idle(out, Teardown::silent(Self::reason_of(other))),
        }
    }

    fn active(&mut self, ev: Event, out: &mut Vec<Action>) {
        let tcp_up = self.timer_running(Timer::DelayOpen);
        match ev {
            // Events 1, 3-7 are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
            // Event 2: with the connection up (DelayOpenTimer running) and
            // SendNOTIFICATIONwithoutOPEN, the RFC sends a Cease.
            Event::ManualStop { shutdown_message } => {
                let td = if tcp_up {
                    Teardown::sending(admin_shutdown(shutdown_message))
                } else {
                    Teardown::silent(DownReason::ConnectionLost)
                };
                self.enter_idle(out, td.counter(Counter::Reset).never_restart())
            }
            // Event 9: only an active peer runs the ConnectRetryTimer in Active.
            Event::ConnectRetryTimerExpires => {
                self.start(out, Timer::ConnectRetry, self.cfg.connect_retry);
                out.push(Action::Connect);
                self.state = State::Connect;
            }
            // Event 12.
            Event::DelayOpenTimerExpires => self.send_open(out),
            // Events 16/17.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => self.tcp_up(tcp_up, out),
            // Event 18. Deviation: the RFC restarts the ConnectRetryTimer on the way to Idle,
            // where it has no effect; we leave it stopped.
            Event::TcpConnectionFails => {
                self.enter_idle(out, Teardown::silent(DownReason::ConnectionLost))
            }
            // Event 20.
            Event::BgpOpen(open) if tcp_up => self.receive_open(&open, out),
            // Events 21/22 (SendNOTIFICATIONwithoutOPEN is TRUE here).
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.enter_idle(out, Teardown::sending(n))
            }
            // Event 24.
            Event::NotifMsgVerErr => self.version_error_before_open(tcp_up, out),
            // Events 8, 10-11, 13, 19, 23, 25-28.
            other => self.enter_idle(out, Teardown::silent(Self::reason_of(other))),
        }
    }

    fn open_sent(&mut self, ev: Event, out: &mut Vec<Action>) {
        match ev {
            // Events 1, 3-7 are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
            // Event 2.
            Event::ManualStop { shutdown_message } => self.enter_idle(
                out,
                Teardown::sending(admin_shutdown(shutdown_message))
                    .counter(Counter::Reset)
                    .never_restart(),
            ),
            // Event 8.
            Event::AutomaticStop(n) => self.enter_idle(out, Teardown::sending(n)),
            // Event 10.
            Event::HoldTimerExpires => {
                self.enter_idle(out, Teardown::sending(Notification::hold_timer_expired()))
            }
            // Events 16/17: a second connection; the caller tracks it for §6.8 until its OPEN.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            // Event 18: back to listening (and, for an active peer, retrying).
            Event::TcpConnectionFails => {
                out.push(Action::CloseConnection);
                self.stop(out, Timer::Hold);
                if !self.cfg.passive {
                    self.start(out, Timer::ConnectRetry, self.cfg.connect_retry);
                }
                self.state = State::Active;
            }
            // Event 19.
            Event::BgpOpen(open) => self.receive_open(&open, out),
            // Events 21/22.
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.enter_idle(out, Teardown::sending(n))
            }
            // Event 23.
            Event::OpenCollisionDump => self.collision_dump(out),
            // Event 24: no increment, so a version fallback does not count as a failure.
            Event::NotifMsgVerErr => self.enter_idle(
                out,
                Teardown::silent(DownReason::VersionErrorReceived).counter(Counter::Keep),
            ),
            // Event 25. Deviation: RFC 4271 lists it among the "other events" that send an FSM
            // error; answering a NOTIFICATION, after which the neighbor closes, is pointless.
            Event::NotifMsg(n) => {
                self.enter_idle(out, Teardown::silent(DownReason::NotificationReceived(n)))
            }
            // Events 26-28: RFC 6608 5/1 with the message type.
            Event::KeepAliveMsg => self.fsm_error(
                out,
                Notification::unexpected_message_in_open_sent(MSG_KEEPALIVE),
            ),
            Event::UpdateMsg | Event::UpdateMsgErr(_) => self.fsm_error(
                out,
                Notification::unexpected_message_in_open_sent(MSG_UPDATE),
            ),
            // Events 9, 11-13: timers that do not run here, so never reached (stale expiries
            // are dropped in `handle`); an FSM error as RFC 4271 says, 5/0 as RFC 6608 says.
            Event::ConnectRetryTimerExpires
            | Event::KeepaliveTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::DelayOpenTimerExpires => self.fsm_error(out, Notification::fsm_error()),
        }
    }

    fn open_confirm(&mut self, ev: Event, out: &mut Vec<Action>) {
        match ev {
            // Events 1, 3-7 are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
            // Event 2.
            Event::ManualStop { shutdown_message } => self.enter_idle(
                out,
                Teardown::sending(admin_shutdown(shutdown_message))
                    .counter(Counter::Reset)
                    .never_restart(),
            ),
            // Event 8.
            Event::AutomaticStop(n) => self.enter_idle(out, Teardown::sending(n)),
            // Event 10.
            Event::HoldTimerExpires => {
                self.enter_idle(out, Teardown::sending(Notification::hold_timer_expired()))
            }
            // Event 11.
            Event::KeepaliveTimerExpires => self.send_keepalive(out),
            // Events 16/17: a second connection; the caller tracks it for §6.8.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            // Event 18.
            Event::TcpConnectionFails => {
                self.enter_idle(out, Teardown::silent(DownReason::ConnectionLost))
            }
            // Event 25.
            Event::NotifMsg(n) => {
                self.enter_idle(out, Teardown::silent(DownReason::NotificationReceived(n)))
            }
            // Event 24.
            Event::NotifMsgVerErr => self.enter_idle(
                out,
                Teardown::silent(DownReason::VersionErrorReceived).counter(Counter::Keep),
            ),
            // Event 23.
            Event::OpenCollisionDump => self.collision_dump(out),
            // Events 21/22.
            Event::BgpHeaderErr(n) | Event::BgpOpenMsgErr(n) => {
                self.enter_idle(out, Teardown::sending(n))
            }
            // Event 26: the session is up.
            Event::KeepAliveMsg => {
                self.restart_hold(out);
                self.state = State::Established;
                if let Some(neg) = &self.negotiated {
                    out.push(Action::SessionEstablished(neg.clone()));
                }
                if self.idle_hold > self.cfg.idle_hold {
                    self.start(out, Timer::IdleHold, STABLE_AFTER);
                }
            }
            // Event 19. Deviation: RFC 4271 runs collision detection here, for the OPEN of
            // another connection; that is the caller's job. A second OPEN on this connection
            // is an unexpected message (RFC 6608 5/2).
            Event::BgpOpen(_) => self.fsm_error(
                out,
                Notification::unexpected_message_in_open_confirm(MSG_OPEN),
            ),
            // Events 27/28.
            Event::UpdateMsg | Event::UpdateMsgErr(_) => self.fsm_error(
                out,
                Notification::unexpected_message_in_open_confirm(MSG_UPDATE),
            ),
            // Events 9, 12-13: timers that do not run here (see `open_sent`).
            Event::ConnectRetryTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::DelayOpenTimerExpires => self.fsm_error(out, Notification::fsm_error()),
        }
    }

    fn established(&mut self, ev: Event, out: &mut Vec<Action>) {
        match ev {
            // Events 1, 3-7 are ignored.
            Event::ManualStart | Event::AutomaticStart => {}
            // Event 2.
            Event::ManualStop { shutdown_message } => self.enter_idle(
                out,
                Teardown::sending(admin_shutdown(shutdown_message))
                    .counter(Counter::Reset)
                    .never_restart(),
            ),
            // Event 8 (AllowAutomaticStop is TRUE).
            Event::AutomaticStop(n) => self.enter_idle(out, Teardown::sending(n)),
            // Event 10.
            Event::HoldTimerExpires => {
                self.enter_idle(out, Teardown::sending(Notification::hold_timer_expired()))
            }
            // Event 11.
            Event::KeepaliveTimerExpires => self.send_keepalive(out),
            // Event 13 in our second use of the timer: the session stayed up.
            Event::IdleHoldTimerExpires => self.idle_hold = self.cfg.idle_hold,
            // Events 16/17: a second connection. CollisionDetectEstablishedState is FALSE by
            // default; the caller refuses it or, if it chooses otherwise, sends event 23 here.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            // Event 18.
            Event::TcpConnectionFails => {
                self.enter_idle(out, Teardown::silent(DownReason::ConnectionLost))
            }
            // Events 24/25.
            Event::NotifMsgVerErr => {
                self.enter_idle(out, Teardown::silent(DownReason::VersionErrorReceived))
            }
            Event::NotifMsg(n) => {
                self.enter_idle(out, Teardown::silent(DownReason::NotificationReceived(n)))
            }
            // Event 26.
            Event::KeepAliveMsg => self.restart_hold(out),
            // Event 27.
            Event::UpdateMsg => {
                out.push(Action::ProcessUpdate);
                self.restart_hold(out);
            }
            // Event 28.
            Event::UpdateMsgErr(n) => self.enter_idle(out, Teardown::sending(n)),
            // Event 23.
            Event::OpenCollisionDump => self.collision_dump(out),
            // Event 21. Deviation: RFC 4271 §8.2.2 lists it among the "other events" that close
            // without a NOTIFICATION, but §6.1 requires the header error to be sent.
            Event::BgpHeaderErr(n) => self.enter_idle(out, Teardown::sending(n)),
            // Events 19, 22. Deviation: RFC 4271 closes silently; §6.6 and RFC 6608 say an
            // unexpected message is reported, 5/3 with the message type.
            Event::BgpOpen(_) | Event::BgpOpenMsgErr(_) => self.fsm_error(
                out,
                Notification::unexpected_message_in_established(MSG_OPEN),
            ),
            // Events 9, 12: timers that do not run here (see `open_sent`).
            Event::ConnectRetryTimerExpires | Event::DelayOpenTimerExpires => {
                self.fsm_error(out, Notification::fsm_error())
            }
        }
    }

    // --- steps shared by several states ---

    /// Idle to Connect (active) or Active (passive).
    fn start_connecting(&mut self, out: &mut Vec<Action>) {
        if self.cfg.passive {
            // Deviation: RFC 4271 starts the ConnectRetryTimer for events 4/5 too, but its only
            // effect (Active -> Connect) would open a connection, which `passive` forbids.
            self.state = State::Active;
        } else {
            self.start(out, Timer::ConnectRetry, self.cfg.connect_retry);
            out.push(Action::Connect);
            self.state = State::Connect;
        }
    }

    /// Events 16/17 in Connect or Active.
    fn tcp_up(&mut self, already_up: bool, out: &mut Vec<Action>) {
        if already_up {
            // A second connection while DelayOpen waits on the first: the FSM owns one
            // connection; the caller tracks the other for §6.8.
            return;
        }
        self.stop(out, Timer::ConnectRetry);
        match self.cfg.delay_open {
            Some(delay) => self.start(out, Timer::DelayOpen, delay),
            None => self.send_open(out),
        }
    }

    /// Sends our OPEN and waits for the neighbor's under the large hold time.
    fn send_open(&mut self, out: &mut Vec<Action>) {
        self.stop(out, Timer::ConnectRetry);
        out.push(Action::SendOpen);
        self.start(out, Timer::Hold, OPEN_HOLD_TIME);
        self.state = State::OpenSent;
    }

    /// Events 19/20: negotiate; on success KEEPALIVE and OpenConfirm.
    fn receive_open(&mut self, open: &Open, out: &mut Vec<Action>) {
        match open::negotiate(&self.local_open, open, &self.expect) {
            Ok(neg) => {
                let delayed = self.state != State::OpenSent;
                self.stop(out, Timer::ConnectRetry);
                self.stop(out, Timer::DelayOpen);
                if delayed {
                    // Event 20: the neighbor's OPEN came first, during DelayOpen.
                    out.push(Action::SendOpen);
                }
                out.push(Action::SendKeepalive);
                if neg.hold_time == 0 {
                    self.stop(out, Timer::Hold);
                } else {
                    self.start(out, Timer::Hold, secs(neg.hold_time));
                    self.start(out, Timer::Keepalive, keepalive_interval(&neg));
                }
                self.negotiated = Some(Box::new(neg));
                self.state = State::OpenConfirm;
            }
            // SendNOTIFICATIONwithoutOPEN is TRUE for event 20: the neighbor learns why.
            Err(n) => self.enter_idle(out, Teardown::sending(n)),
        }
    }

    /// Event 24 in Connect or Active: a connection that answered our OPEN (DelayOpen) with a
    /// version error does not count as a failure.
    fn version_error_before_open(&mut self, tcp_up: bool, out: &mut Vec<Action>) {
        let counter = if tcp_up {
            Counter::Keep
        } else {
            Counter::Increment
        };
        self.enter_idle(
            out,
            Teardown::silent(DownReason::VersionErrorReceived).counter(counter),
        )
    }

    /// Event 23: Cease/7. This FSM is done; the caller carries on with the winner's, so there is
    /// no automatic restart and no backoff.
    fn collision_dump(&mut self, out: &mut Vec<Action>) {
        self.enter_idle(
            out,
            Teardown::sending(Notification::connection_collision_resolution()).never_restart(),
        )
    }

    fn fsm_error(&mut self, out: &mut Vec<Action>, n: Notification) {
        self.enter_idle(out, Teardown::sending(n))
    }

    fn send_keepalive(&mut self, out: &mut Vec<Action>) {
        out.push(Action::SendKeepalive);
        if let Some(neg) = &self.negotiated {
            if neg.hold_time != 0 {
                let interval = keepalive_interval(neg);
                self.start(out, Timer::Keepalive, interval);
            }
        }
    }

    /// Every KEEPALIVE or UPDATE received restarts the HoldTimer, unless the hold time is 0.
    fn restart_hold(&mut self, out: &mut Vec<Action>) {
        if let Some(neg) = &self.negotiated {
            if neg.hold_time != 0 {
                let hold = secs(neg.hold_time);
                self.start(out, Timer::Hold, hold);
            }
        }
    }

    /// The common way to Idle: NOTIFICATION (if there is a connection to send it on), close,
    /// stop every timer, report a lost session, count, and schedule the automatic restart.
    fn enter_idle(&mut self, out: &mut Vec<Action>, td: Teardown) {
        let was = self.state;
        let connected = self.connected();
        if let (Some(n), true) = (td.notify, connected) {
            out.push(Action::SendNotification(n));
        }
        if connected || was == State::Connect {
            out.push(Action::CloseConnection);
        }
        for timer in Timer::ALL {
            self.stop(out, timer);
        }
        if was == State::Established {
            out.push(Action::SessionDown { reason: td.reason });
        }
        self.connect_retry_counter = match td.counter {
            Counter::Increment => self.connect_retry_counter.saturating_add(1),
            Counter::Reset => 0,
            Counter::Keep => self.connect_retry_counter,
        };
        self.negotiated = None;
        self.state = State::Idle;
        if td.restart == Restart::Auto {
            // An attempt of ours that failed before the OPEN exchange (refused, timed out, or
            // closed by the remote) is retried after ConnectRetryTime, as documented for
            // `connect_retry`; a failure after OPEN, or a passive session (which only listens
            // again), waits `idle_hold` and its backoff.
            let wait = if was < State::OpenSent && !self.cfg.passive {
                self.cfg.connect_retry
            } else {
                self.idle_hold
            };
            self.start(out, Timer::IdleHold, wait);
            // Only a neighbor that answered and then failed oscillates (RFC 4271 §8.1.1
            // DampPeerOscillations); one that cannot be reached is paced by the same wait
            // without growing it.
            if was >= State::OpenSent {
                let cap = self.cfg.idle_hold.max(self.cfg.idle_hold_max);
                self.idle_hold = self
                    .idle_hold
                    .saturating_mul(2)
                    .max(IDLE_HOLD_MIN_STEP)
                    .min(cap);
            }
        }
    }

    /// Whether a TCP connection is up: from OpenSent on, or while DelayOpen waits on one.
    fn connected(&self) -> bool {
        self.state >= State::OpenSent || self.timer_running(Timer::DelayOpen)
    }

    /// The DownReason of an "other event" in Connect or Active (reported nowhere: no session
    /// existed, but kept accurate).
    fn reason_of(ev: Event) -> DownReason {
        match ev {
            Event::AutomaticStop(n) => DownReason::NotificationSent(n),
            Event::NotifMsg(n) => DownReason::NotificationReceived(n),
            _ => DownReason::ConnectionLost,
        }
    }

    fn start(&mut self, out: &mut Vec<Action>, timer: Timer, duration: Duration) {
        self.running |= timer.bit();
        out.push(Action::StartTimer(timer, duration));
    }

    fn stop(&mut self, out: &mut Vec<Action>, timer: Timer) {
        if self.timer_running(timer) {
            self.running &= !timer.bit();
            out.push(Action::StopTimer(timer));
        }
    }
}

/// Cease/2 with the RFC 9003 shutdown communication, if any (cut at 255 bytes on a character
/// boundary by `Notification::admin_shutdown`).
fn admin_shutdown(message: Option<String>) -> Notification {
    Notification::admin_shutdown(message.as_deref().unwrap_or(""))
}

fn secs(s: u16) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// The negotiated keepalive interval; never 0 with a non-zero hold time, which would make the
/// timer spin.
fn keepalive_interval(neg: &Negotiated) -> Duration {
    if neg.keepalive != 0 {
        secs(neg.keepalive)
    } else {
        secs((neg.hold_time / 3).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::capability::Capability;
    use crate::types::{Afi, Role};
    use Action as A;
    use Event as E;
    use State as S;
    use Timer as T;

    const LOCAL_ASN: u32 = 64500;
    const PEER_ASN: u32 = 64501;
    const CR: Duration = Duration::from_secs(120);
    const IDLE: Duration = Duration::from_secs(5);
    const DELAY: Duration = Duration::from_secs(10);
    const HOLD: Duration = Duration::from_secs(90);
    const KA: Duration = Duration::from_secs(30);

    fn open(asn: u32, router_id: [u8; 4], hold_time: u16) -> Open {
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time,
            router_id: Ipv4Addr::from(router_id),
            capabilities: vec![Capability::FourOctetAs(Asn(asn))],
        }
    }

    fn peer_open() -> Event {
        E::BgpOpen(Box::new(open(PEER_ASN, [198, 51, 100, 1], 90)))
    }

    fn wrong_as_open() -> Event {
        E::BgpOpen(Box::new(open(64999, [198, 51, 100, 1], 90)))
    }

    fn expect() -> PeerExpectation {
        PeerExpectation {
            asn: Asn(PEER_ASN),
            local_asn: Asn(LOCAL_ASN),
            role: Some(Role::Provider),
            role_strict: false,
        }
    }

    /// What the session to `peer_open()` negotiates (our OPEN offers `cfg().hold_time`).
    fn negotiated() -> Box<Negotiated> {
        let E::BgpOpen(peer) = peer_open() else {
            unreachable!()
        };
        let ours = open(LOCAL_ASN, [192, 0, 2, 1], 90);
        Box::new(open::negotiate(&ours, &peer, &expect()).unwrap())
    }

    fn cfg() -> FsmConfig {
        FsmConfig {
            passive: false,
            connect_retry: CR,
            hold_time: 90,
            idle_hold: IDLE,
            idle_hold_max: IDLE_HOLD_MAX,
            delay_open: None,
        }
    }

    fn fsm_with(cfg: FsmConfig) -> Fsm {
        Fsm::new(cfg, open(LOCAL_ASN, [192, 0, 2, 1], 180), expect())
    }

    fn driven(cfg: FsmConfig, events: Vec<Event>) -> Fsm {
        let mut fsm = fsm_with(cfg);
        for ev in events {
            fsm.handle(ev);
        }
        fsm
    }

    fn passive() -> FsmConfig {
        FsmConfig {
            passive: true,
            ..cfg()
        }
    }

    fn delayed(cfg: FsmConfig) -> FsmConfig {
        FsmConfig {
            delay_open: Some(DELAY),
            ..cfg
        }
    }

    // Starting points of the transition table; every one has ConnectRetryCounter 0.
    fn idle() -> Fsm {
        fsm_with(cfg())
    }
    fn idle_passive() -> Fsm {
        fsm_with(passive())
    }
    /// Idle with an automatic restart pending (the connection attempt failed).
    fn idle_restart_pending() -> Fsm {
        driven(cfg(), vec![E::ManualStart, E::TcpConnectionFails])
    }
    /// Connecting, ConnectRetryTimer running.
    fn connect() -> Fsm {
        driven(cfg(), vec![E::ManualStart])
    }
    fn connect_delay_open() -> Fsm {
        driven(delayed(cfg()), vec![E::ManualStart])
    }
    /// Connected, DelayOpenTimer running.
    fn connect_tcp_up() -> Fsm {
        driven(delayed(cfg()), vec![E::ManualStart, E::TcpCrAcked])
    }
    /// An active peer back to listening after a failure, ConnectRetryTimer running.
    fn active() -> Fsm {
        driven(
            cfg(),
            vec![E::ManualStart, E::TcpCrAcked, E::TcpConnectionFails],
        )
    }
    fn active_passive() -> Fsm {
        driven(passive(), vec![E::ManualStart])
    }
    fn active_passive_delay_open() -> Fsm {
        driven(delayed(passive()), vec![E::ManualStart])
    }
    /// Connected, DelayOpenTimer running.
    fn active_tcp_up() -> Fsm {
        driven(
            delayed(passive()),
            vec![E::ManualStart, E::TcpConnectionConfirmed],
        )
    }
    fn open_sent() -> Fsm {
        driven(cfg(), vec![E::ManualStart, E::TcpCrAcked])
    }
    fn open_sent_passive() -> Fsm {
        driven(passive(), vec![E::ManualStart, E::TcpConnectionConfirmed])
    }
    fn open_confirm() -> Fsm {
        driven(cfg(), vec![E::ManualStart, E::TcpCrAcked, peer_open()])
    }
    fn established() -> Fsm {
        driven(
            cfg(),
            vec![E::ManualStart, E::TcpCrAcked, peer_open(), E::KeepAliveMsg],
        )
    }

    fn start(t: Timer, d: Duration) -> Action {
        A::StartTimer(t, d)
    }
    fn stop(t: Timer) -> Action {
        A::StopTimer(t)
    }
    fn send(n: Notification) -> Action {
        A::SendNotification(n)
    }
    fn down_sent(n: Notification) -> Action {
        A::SessionDown {
            reason: DownReason::NotificationSent(n),
        }
    }
    fn cease_1() -> Notification {
        Notification::max_prefixes(Afi::Ipv4, 1000)
    }
    fn peer_cease() -> Notification {
        Notification::admin_shutdown("peer maintenance")
    }
    fn header_err() -> Notification {
        Notification::bad_message_length(5000)
    }
    fn open_err() -> Notification {
        Notification::unsupported_optional_parameter()
    }
    fn update_err() -> Notification {
        Notification::malformed_attribute_list()
    }
    fn manual_stop(msg: &str) -> Event {
        E::ManualStop {
            shutdown_message: Some(msg.to_string()),
        }
    }
    fn manual_stop_silent() -> Event {
        E::ManualStop {
            shutdown_message: None,
        }
    }

    struct Row {
        from: fn() -> Fsm,
        from_name: &'static str,
        event: Event,
        to: State,
        counter: u32,
        actions: Vec<Action>,
    }

    macro_rules! row {
        ($from:ident, $event:expr => $to:expr, $counter:expr, $actions:expr) => {
            Row {
                from: $from,
                from_name: stringify!($from),
                event: $event,
                to: $to,
                counter: $counter,
                actions: Vec::<Action>::from($actions),
            }
        };
    }

    // Actions as the table spells them.
    const CLOSE: Action = A::CloseConnection;
    const CONNECT: Action = A::Connect;
    const SEND_OPEN: Action = A::SendOpen;
    const SEND_KA: Action = A::SendKeepalive;
    const START_CR: Action = A::StartTimer(T::ConnectRetry, CR);
    const START_HOLD: Action = A::StartTimer(T::Hold, HOLD);
    const START_KA: Action = A::StartTimer(T::Keepalive, KA);
    const START_DELAY: Action = A::StartTimer(T::DelayOpen, DELAY);
    const HOLD_LARGE: Action = A::StartTimer(T::Hold, OPEN_HOLD_TIME);
    /// The automatic restart after the first failure.
    const RESTART: Action = A::StartTimer(T::IdleHold, IDLE);
    /// The automatic restart after an attempt of ours failed before the OPEN exchange.
    const RESTART_CR: Action = A::StartTimer(T::IdleHold, CR);
    const STOP_CR: Action = A::StopTimer(T::ConnectRetry);
    const STOP_HOLD: Action = A::StopTimer(T::Hold);
    const STOP_KA: Action = A::StopTimer(T::Keepalive);
    const STOP_DELAY: Action = A::StopTimer(T::DelayOpen);
    const STOP_IDLE: Action = A::StopTimer(T::IdleHold);

    /// Every transition of RFC 4271 §8.2.2 the FSM implements, as (state, event) -> (state,
    /// ConnectRetryCounter, actions).
    fn transitions() -> Vec<Row> {
        let to_open_confirm = [SEND_KA, START_HOLD, START_KA];
        let idle_after_open_confirm =
            |n: Notification| vec![send(n), CLOSE, STOP_HOLD, STOP_KA, RESTART];
        let idle_after_established = |n: Notification| {
            vec![
                send(n.clone()),
                CLOSE,
                STOP_HOLD,
                STOP_KA,
                down_sent(n),
                RESTART,
            ]
        };
        let lost_established = |reason| {
            vec![
                CLOSE,
                STOP_HOLD,
                STOP_KA,
                A::SessionDown { reason },
                RESTART,
            ]
        };
        let fsm_err_open_confirm =
            |t| idle_after_open_confirm(Notification::unexpected_message_in_open_confirm(t));
        let fsm_err_established =
            |t| idle_after_established(Notification::unexpected_message_in_established(t));
        let fsm_err_open_sent = |t| {
            vec![
                send(Notification::unexpected_message_in_open_sent(t)),
                CLOSE,
                STOP_HOLD,
                RESTART,
            ]
        };
        let mut rows = vec![
            // --- Idle ---
            row!(idle, E::ManualStart => S::Connect, 0, [START_CR, CONNECT]), // 1
            row!(idle_passive, E::ManualStart => S::Active, 0, []),           // 4
            row!(idle, E::AutomaticStart => S::Connect, 0, [START_CR, CONNECT]), // 3
            row!(idle_passive, E::AutomaticStart => S::Active, 0, []),        // 5
            row!(idle, manual_stop_silent() => S::Idle, 0, []),               // 2 ignored
            row!(idle, E::AutomaticStop(cease_1()) => S::Idle, 0, []),        // 8 ignored
            row!(idle, E::TcpConnectionConfirmed => S::Idle, 0, [CLOSE]),     // 17 refused
            row!(idle, E::TcpCrAcked => S::Idle, 0, [CLOSE]),                 // 16 refused
            row!(idle, E::TcpConnectionFails => S::Idle, 0, []),
            row!(idle, peer_open() => S::Idle, 0, []),
            row!(idle, E::KeepAliveMsg => S::Idle, 0, []),
            row!(idle, E::NotifMsg(peer_cease()) => S::Idle, 0, []),
            row!(idle, E::ConnectRetryTimerExpires => S::Idle, 0, []), // stale
            // 13
            row!(idle_restart_pending, E::IdleHoldTimerExpires => S::Connect, 0,
                [START_CR, CONNECT]),
            row!(idle_restart_pending, E::AutomaticStart => S::Idle, 0, []), // 6: damped
            row!(idle_restart_pending, E::ManualStart => S::Connect, 0,
                [STOP_IDLE, START_CR, CONNECT]),
            row!(idle_restart_pending, manual_stop_silent() => S::Idle, 0, [STOP_IDLE]),
            // --- Connect ---
            row!(connect, E::ManualStart => S::Connect, 0, []),
            row!(connect, E::AutomaticStart => S::Connect, 0, []),
            row!(connect, manual_stop("bye") => S::Idle, 0, [CLOSE, STOP_CR]), // 2
            // 9
            row!(connect, E::ConnectRetryTimerExpires => S::Connect, 0,
                [CLOSE, START_CR, CONNECT]),
            row!(connect, E::TcpCrAcked => S::OpenSent, 0, [STOP_CR, SEND_OPEN, HOLD_LARGE]), // 16
            // 17
            row!(connect, E::TcpConnectionConfirmed => S::OpenSent, 0,
                [STOP_CR, SEND_OPEN, HOLD_LARGE]),
            // 16 DelayOpen
            row!(connect_delay_open, E::TcpCrAcked => S::Connect, 0,
                [STOP_CR, START_DELAY]),
            // second connection
            row!(connect_tcp_up, E::TcpConnectionConfirmed => S::Connect, 0,
                []),
            // 12
            row!(connect_tcp_up, E::DelayOpenTimerExpires => S::OpenSent, 0,
                [SEND_OPEN, HOLD_LARGE]),
            // 18 DelayOpen
            row!(connect_tcp_up, E::TcpConnectionFails => S::Active, 0,
                [START_CR, STOP_DELAY]),
            row!(connect, E::TcpConnectionFails => S::Idle, 0, [CLOSE, STOP_CR, RESTART_CR]), // 18
            // 20
            row!(connect_tcp_up, peer_open() => S::OpenConfirm, 0,
                [STOP_DELAY, SEND_OPEN, SEND_KA, START_HOLD, START_KA]),
            // 20, refused
            row!(connect_tcp_up, wrong_as_open() => S::Idle, 1,
                [send(Notification::bad_peer_as_for(64999)), CLOSE, STOP_DELAY, RESTART_CR]),
            row!(connect, peer_open() => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]), // 19
            // 21
            row!(connect_tcp_up, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                [send(header_err()), CLOSE, STOP_DELAY, RESTART_CR]),
            // 22
            row!(connect_tcp_up, E::BgpOpenMsgErr(open_err()) => S::Idle, 1,
                [send(open_err()), CLOSE, STOP_DELAY, RESTART_CR]),
            // 21, no connection
            row!(connect, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                [CLOSE, STOP_CR, RESTART_CR]),
            // 24 DelayOpen
            row!(connect_tcp_up, E::NotifMsgVerErr => S::Idle, 0,
                [CLOSE, STOP_DELAY, RESTART_CR]),
            row!(connect, E::NotifMsgVerErr => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]), // 24
            // 8
            row!(connect, E::AutomaticStop(cease_1()) => S::Idle, 1,
                [CLOSE, STOP_CR, RESTART_CR]),
            row!(connect, E::OpenCollisionDump => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]), // 23
            row!(connect, E::NotifMsg(peer_cease()) => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]), // 25
            row!(connect, E::KeepAliveMsg => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]), // 26
            row!(connect, E::UpdateMsg => S::Idle, 1, [CLOSE, STOP_CR, RESTART_CR]),    // 27
            // 28
            row!(connect, E::UpdateMsgErr(update_err()) => S::Idle, 1,
                [CLOSE, STOP_CR, RESTART_CR]),
            row!(connect, E::HoldTimerExpires => S::Connect, 0, []), // stale
            // --- Active ---
            row!(active, E::ManualStart => S::Active, 0, []),
            row!(active, E::AutomaticStart => S::Active, 0, []),
            row!(active, manual_stop_silent() => S::Idle, 0, [STOP_CR]), // 2
            // 2 DelayOpen
            row!(active_tcp_up, manual_stop("bye") => S::Idle, 0,
                [send(Notification::admin_shutdown("bye")), CLOSE, STOP_DELAY]),
            row!(active, E::ConnectRetryTimerExpires => S::Connect, 0, [START_CR, CONNECT]), // 9
            // 17
            row!(active, E::TcpConnectionConfirmed => S::OpenSent, 0,
                [STOP_CR, SEND_OPEN, HOLD_LARGE]),
            row!(active, E::TcpCrAcked => S::OpenSent, 0, [STOP_CR, SEND_OPEN, HOLD_LARGE]), // 16
            // 17 passive
            row!(active_passive, E::TcpConnectionConfirmed => S::OpenSent, 0,
                [SEND_OPEN, HOLD_LARGE]),
            // 17 DelayOpen
            row!(active_passive_delay_open, E::TcpConnectionConfirmed => S::Active, 0,
                [START_DELAY]),
            row!(active_tcp_up, E::TcpConnectionConfirmed => S::Active, 0, []), // second connection
            // 12
            row!(active_tcp_up, E::DelayOpenTimerExpires => S::OpenSent, 0,
                [SEND_OPEN, HOLD_LARGE]),
            row!(active, E::TcpConnectionFails => S::Idle, 1, [STOP_CR, RESTART_CR]), // 18
            // 18 DelayOpen
            row!(active_tcp_up, E::TcpConnectionFails => S::Idle, 1,
                [CLOSE, STOP_DELAY, RESTART]),
            // 20
            row!(active_tcp_up, peer_open() => S::OpenConfirm, 0,
                [STOP_DELAY, SEND_OPEN, SEND_KA, START_HOLD, START_KA]),
            // 22
            row!(active_tcp_up, E::BgpOpenMsgErr(open_err()) => S::Idle, 1,
                [send(open_err()), CLOSE, STOP_DELAY, RESTART]),
            // 21
            row!(active_tcp_up, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                [send(header_err()), CLOSE, STOP_DELAY, RESTART]),
            // 24 DelayOpen
            row!(active_tcp_up, E::NotifMsgVerErr => S::Idle, 0,
                [CLOSE, STOP_DELAY, RESTART]),
            row!(active, E::NotifMsgVerErr => S::Idle, 1, [STOP_CR, RESTART_CR]), // 24
            row!(active, E::AutomaticStop(cease_1()) => S::Idle, 1, [STOP_CR, RESTART_CR]), // 8
            row!(active, peer_open() => S::Idle, 1, [STOP_CR, RESTART_CR]),       // 19
            row!(active, E::OpenCollisionDump => S::Idle, 1, [STOP_CR, RESTART_CR]), // 23
            row!(active, E::NotifMsg(peer_cease()) => S::Idle, 1, [STOP_CR, RESTART_CR]), // 25
            row!(active, E::KeepAliveMsg => S::Idle, 1, [STOP_CR, RESTART_CR]),   // 26
            row!(active, E::UpdateMsg => S::Idle, 1, [STOP_CR, RESTART_CR]),      // 27
            row!(active, E::UpdateMsgErr(update_err()) => S::Idle, 1, [STOP_CR, RESTART_CR]), // 28
            // never runs when passive
            row!(active_passive, E::ConnectRetryTimerExpires => S::Active, 0,
                []),
            // --- OpenSent ---
            row!(open_sent, E::ManualStart => S::OpenSent, 0, []),
            row!(open_sent, E::AutomaticStart => S::OpenSent, 0, []),
            // 2
            row!(open_sent, manual_stop_silent() => S::Idle, 0,
                [send(Notification::admin_shutdown("")), CLOSE, STOP_HOLD]),
            // 8
            row!(open_sent, E::AutomaticStop(cease_1()) => S::Idle, 1,
                [send(cease_1()), CLOSE, STOP_HOLD, RESTART]),
            // 10
            row!(open_sent, E::HoldTimerExpires => S::Idle, 1,
                [send(Notification::hold_timer_expired()), CLOSE, RESTART]),
            // 17: collision candidate
            row!(open_sent, E::TcpConnectionConfirmed => S::OpenSent, 0,
                []),
            row!(open_sent, E::TcpCrAcked => S::OpenSent, 0, []), // 16
            // 18
            row!(open_sent, E::TcpConnectionFails => S::Active, 0,
                [CLOSE, STOP_HOLD, START_CR]),
            // 18 passive
            row!(open_sent_passive, E::TcpConnectionFails => S::Active, 0,
                [CLOSE, STOP_HOLD]),
            row!(open_sent, peer_open() => S::OpenConfirm, 0, to_open_confirm.clone()), // 19
            // 19 refused
            row!(open_sent, wrong_as_open() => S::Idle, 1,
                [send(Notification::bad_peer_as_for(64999)), CLOSE, STOP_HOLD, RESTART]),
            // 21
            row!(open_sent, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                [send(header_err()), CLOSE, STOP_HOLD, RESTART]),
            // 22
            row!(open_sent, E::BgpOpenMsgErr(open_err()) => S::Idle, 1,
                [send(open_err()), CLOSE, STOP_HOLD, RESTART]),
            // 23
            row!(open_sent, E::OpenCollisionDump => S::Idle, 1,
                [send(Notification::connection_collision_resolution()), CLOSE, STOP_HOLD]),
            row!(open_sent, E::NotifMsgVerErr => S::Idle, 0, [CLOSE, STOP_HOLD, RESTART]), // 24
            // 25
            row!(open_sent, E::NotifMsg(peer_cease()) => S::Idle, 1,
                [CLOSE, STOP_HOLD, RESTART]),
            row!(open_sent, E::KeepAliveMsg => S::Idle, 1, fsm_err_open_sent(MSG_KEEPALIVE)), // 26
            row!(open_sent, E::UpdateMsg => S::Idle, 1, fsm_err_open_sent(MSG_UPDATE)),       // 27
            // 28
            row!(open_sent, E::UpdateMsgErr(update_err()) => S::Idle, 1,
                fsm_err_open_sent(MSG_UPDATE)),
            row!(open_sent, E::ConnectRetryTimerExpires => S::OpenSent, 0, []), // stale
            row!(open_sent, E::KeepaliveTimerExpires => S::OpenSent, 0, []),    // stale
            // --- OpenConfirm ---
            row!(open_confirm, E::ManualStart => S::OpenConfirm, 0, []),
            row!(open_confirm, E::AutomaticStart => S::OpenConfirm, 0, []),
            // 2
            row!(open_confirm, manual_stop("maintenance") => S::Idle, 0,
                [send(Notification::admin_shutdown("maintenance")), CLOSE, STOP_HOLD, STOP_KA]),
            // 8
            row!(open_confirm, E::AutomaticStop(cease_1()) => S::Idle, 1,
                idle_after_open_confirm(cease_1())),
            // 10
            row!(open_confirm, E::HoldTimerExpires => S::Idle, 1,
                [send(Notification::hold_timer_expired()), CLOSE, STOP_KA, RESTART]),
            // 11
            row!(open_confirm, E::KeepaliveTimerExpires => S::OpenConfirm, 0,
                [SEND_KA, START_KA]),
            // 17: collision candidate
            row!(open_confirm, E::TcpConnectionConfirmed => S::OpenConfirm, 0,
                []),
            row!(open_confirm, E::TcpCrAcked => S::OpenConfirm, 0, []), // 16
            // 18
            row!(open_confirm, E::TcpConnectionFails => S::Idle, 1,
                [CLOSE, STOP_HOLD, STOP_KA, RESTART]),
            // 25
            row!(open_confirm, E::NotifMsg(peer_cease()) => S::Idle, 1,
                [CLOSE, STOP_HOLD, STOP_KA, RESTART]),
            // 24
            row!(open_confirm, E::NotifMsgVerErr => S::Idle, 0,
                [CLOSE, STOP_HOLD, STOP_KA, RESTART]),
            // 23
            row!(open_confirm, E::OpenCollisionDump => S::Idle, 1,
                [send(Notification::connection_collision_resolution()), CLOSE, STOP_HOLD, STOP_KA]),
            // 21
            row!(open_confirm, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                idle_after_open_confirm(header_err())),
            // 22
            row!(open_confirm, E::BgpOpenMsgErr(open_err()) => S::Idle, 1,
                idle_after_open_confirm(open_err())),
            // 26
            row!(open_confirm, E::KeepAliveMsg => S::Established, 0,
                [START_HOLD, A::SessionEstablished(negotiated())]),
            // 19 on this connection
            row!(open_confirm, peer_open() => S::Idle, 1,
                fsm_err_open_confirm(MSG_OPEN)),
            // 27
            row!(open_confirm, E::UpdateMsg => S::Idle, 1,
                fsm_err_open_confirm(MSG_UPDATE)),
            // 28
            row!(open_confirm, E::UpdateMsgErr(update_err()) => S::Idle, 1,
                fsm_err_open_confirm(MSG_UPDATE)),
            row!(open_confirm, E::DelayOpenTimerExpires => S::OpenConfirm, 0, []), // stale
            // --- Established ---
            row!(established, E::ManualStart => S::Established, 0, []),
            row!(established, E::AutomaticStart => S::Established, 0, []),
            row!(established, manual_stop("maintenance") => S::Idle, 0, [
                send(Notification::admin_shutdown("maintenance")), CLOSE, STOP_HOLD, STOP_KA,
                down_sent(Notification::admin_shutdown("maintenance"))]), // 2
            // 8
            row!(established, E::AutomaticStop(cease_1()) => S::Idle, 1,
                idle_after_established(cease_1())),
            row!(established, E::HoldTimerExpires => S::Idle, 1, [
                send(Notification::hold_timer_expired()), CLOSE, STOP_KA,
                down_sent(Notification::hold_timer_expired()), RESTART]), // 10
            // 11
            row!(established, E::KeepaliveTimerExpires => S::Established, 0,
                [SEND_KA, START_KA]),
            // 17: refused by the caller
            row!(established, E::TcpConnectionConfirmed => S::Established, 0,
                []),
            row!(established, E::TcpCrAcked => S::Established, 0, []), // 16
            // 18
            row!(established, E::TcpConnectionFails => S::Idle, 1,
                lost_established(DownReason::ConnectionLost)),
            // 24
            row!(established, E::NotifMsgVerErr => S::Idle, 1,
                lost_established(DownReason::VersionErrorReceived)),
            // 25
            row!(established, E::NotifMsg(peer_cease()) => S::Idle, 1,
                lost_established(DownReason::NotificationReceived(peer_cease()))),
            row!(established, E::KeepAliveMsg => S::Established, 0, [START_HOLD]), // 26
            // 27
            row!(established, E::UpdateMsg => S::Established, 0,
                [A::ProcessUpdate, START_HOLD]),
            // 28
            row!(established, E::UpdateMsgErr(update_err()) => S::Idle, 1,
                idle_after_established(update_err())),
            row!(established, E::OpenCollisionDump => S::Idle, 1, [
                send(Notification::connection_collision_resolution()), CLOSE, STOP_HOLD, STOP_KA,
                down_sent(Notification::connection_collision_resolution())]), // 23
            // 21
            row!(established, E::BgpHeaderErr(header_err()) => S::Idle, 1,
                idle_after_established(header_err())),
            // 19
            row!(established, peer_open() => S::Idle, 1,
                fsm_err_established(MSG_OPEN)),
            // 22
            row!(established, E::BgpOpenMsgErr(open_err()) => S::Idle, 1,
                fsm_err_established(MSG_OPEN)),
            row!(established, E::ConnectRetryTimerExpires => S::Established, 0, []), // stale
            row!(established, E::DelayOpenTimerExpires => S::Established, 0, []),    // stale
        ];
        rows.shrink_to_fit();
        rows
    }

    #[test]
    fn every_rfc_4271_transition_matches_the_table() {
        let mut failures = Vec::new();
        for (i, row) in transitions().into_iter().enumerate() {
            let mut fsm = (row.from)();
            let from = fsm.state();
            let actions = fsm.handle(row.event.clone());
            let got = (fsm.state(), fsm.connect_retry_counter(), &actions);
            if got != (row.to, row.counter, &row.actions) {
                failures.push(format!(
                    "row {i}: {} ({from:?}) + {:?}\n  expected {:?} counter {} {:?}\n  \
                     got      {:?} counter {} {:?}",
                    row.from_name, row.event, row.to, row.counter, row.actions, got.0, got.1, got.2
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    // --- scenarios ---

    /// The IdleHold wait an action list schedules, if any.
    fn idle_hold_scheduled(actions: &[Action]) -> Option<Duration> {
        actions.iter().find_map(|a| match a {
            A::StartTimer(T::IdleHold, d) => Some(*d),
            _ => None,
        })
    }

    /// From Connect: connection up, OPENs exchanged, KEEPALIVE received.
    fn establish(fsm: &mut Fsm) -> Vec<Action> {
        assert_eq!(
            fsm.handle(E::TcpCrAcked).first(),
            Some(&stop(T::ConnectRetry))
        );
        fsm.handle(peer_open());
        let actions = fsm.handle(E::KeepAliveMsg);
        assert_eq!(fsm.state(), S::Established);
        actions
    }

    #[test]
    fn active_open_reaches_established_and_exchanges_keepalives() {
        let mut fsm = idle();
        assert_eq!(
            fsm.handle(E::AutomaticStart),
            [start(T::ConnectRetry, CR), A::Connect]
        );
        assert_eq!(
            fsm.handle(E::TcpCrAcked),
            [
                stop(T::ConnectRetry),
                A::SendOpen,
                start(T::Hold, OPEN_HOLD_TIME)
            ]
        );
        // Our OPEN offers cfg.hold_time (90), not the 180 the Open was built with.
        assert_eq!(fsm.local_open().hold_time, 90);
        assert_eq!(
            fsm.handle(peer_open()),
            [
                A::SendKeepalive,
                start(T::Hold, HOLD),
                start(T::Keepalive, KA)
            ]
        );
        assert_eq!(fsm.state(), S::OpenConfirm);
        assert_eq!(fsm.negotiated().map(|n| n.peer_asn), Some(Asn(PEER_ASN)));
        assert_eq!(
            fsm.handle(E::KeepAliveMsg),
            [start(T::Hold, HOLD), A::SessionEstablished(negotiated())]
        );
        for _ in 0..3 {
            assert_eq!(
                fsm.handle(E::KeepaliveTimerExpires),
                [A::SendKeepalive, start(T::Keepalive, KA)]
            );
            assert_eq!(fsm.handle(E::KeepAliveMsg), [start(T::Hold, HOLD)]);
            assert_eq!(
                fsm.handle(E::UpdateMsg),
                [A::ProcessUpdate, start(T::Hold, HOLD)]
            );
        }
        assert_eq!(fsm.state(), S::Established);
        assert_eq!(fsm.connect_retry_counter(), 0);
    }

    #[test]
    fn opens_built_for_a_provider_and_its_customer_negotiate_to_established() {
        use crate::bgp::open::LocalSpeaker;
        let speaker = |asn: u32, id: [u8; 4], neighbor_role: Role| LocalSpeaker {
            asn: Asn(asn),
            router_id: Ipv4Addr::from(id),
            hold_time: 90,
            families: vec![Afi::Ipv4, Afi::Ipv6],
            add_path: vec![],
            neighbor_role: Some(neighbor_role),
            extended_message: true,
            enhanced_route_refresh: false,
        };
        let ours = Open::new(&speaker(LOCAL_ASN, [192, 0, 2, 1], Role::Provider));
        let theirs = Open::new(&speaker(PEER_ASN, [198, 51, 100, 1], Role::Customer));
        let mut fsm = Fsm::new(cfg(), ours, expect());
        fsm.handle(E::ManualStart);
        fsm.handle(E::TcpCrAcked);
        fsm.handle(E::BgpOpen(Box::new(theirs)));
        let actions = fsm.handle(E::KeepAliveMsg);
        let [_, A::SessionEstablished(neg)] = actions.as_slice() else {
            panic!("not established: {actions:?}");
        };
        assert_eq!(neg.peer_asn, Asn(PEER_ASN));
        assert_eq!(neg.families, [Afi::Ipv4, Afi::Ipv6]);
        assert_eq!((neg.hold_time, neg.keepalive), (90, 30));
    }

    #[test]
    fn passive_open_never_connects_and_reaches_established_on_the_neighbors_connection() {
        let mut fsm = idle_passive();
        assert_eq!(fsm.handle(E::ManualStart), []);
        assert_eq!(fsm.state(), S::Active);
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
        assert_eq!(
            fsm.handle(E::TcpConnectionConfirmed),
            [A::SendOpen, start(T::Hold, OPEN_HOLD_TIME)]
        );
        fsm.handle(peer_open());
        assert!(matches!(
            fsm.handle(E::KeepAliveMsg).as_slice(),
            [_, A::SessionEstablished(_)]
        ));
        // The neighbor goes away: back to Idle, then listening again, never connecting.
        let down = fsm.handle(E::TcpConnectionFails);
        assert!(!down.contains(&A::Connect));
        assert_eq!(fsm.handle(E::IdleHoldTimerExpires), []);
        assert_eq!(fsm.state(), S::Active);
    }

    #[test]
    fn delay_open_waits_for_the_neighbors_open_then_answers_with_open_and_keepalive() {
        let mut fsm = fsm_with(delayed(cfg()));
        fsm.handle(E::ManualStart);
        assert_eq!(
            fsm.handle(E::TcpCrAcked),
            [stop(T::ConnectRetry), start(T::DelayOpen, DELAY)]
        );
        assert_eq!(fsm.state(), S::Connect);
        assert_eq!(
            fsm.handle(peer_open()),
            [
                stop(T::DelayOpen),
                A::SendOpen,
                A::SendKeepalive,
                start(T::Hold, HOLD),
                start(T::Keepalive, KA)
            ]
        );
        assert_eq!(fsm.state(), S::OpenConfirm);
    }

    #[test]
    fn hold_timer_expiry_sends_notification_4_0() {
        let mut fsm = established();
        let actions = fsm.handle(E::HoldTimerExpires);
        assert_eq!(actions[0], send(Notification::new(4, 0, vec![])));
        assert_eq!(actions[1], A::CloseConnection);
        assert!(actions.contains(&down_sent(Notification::hold_timer_expired())));
        assert_eq!(fsm.state(), S::Idle);
        assert_eq!(idle_hold_scheduled(&actions), Some(IDLE));
    }

    #[test]
    fn notification_received_goes_idle_and_reports_session_down() {
        let mut fsm = established();
        let actions = fsm.handle(E::NotifMsg(peer_cease()));
        assert_eq!(fsm.state(), S::Idle);
        assert!(!actions.iter().any(|a| matches!(a, A::SendNotification(_))));
        assert!(actions.contains(&A::SessionDown {
            reason: DownReason::NotificationReceived(peer_cease())
        }));
        assert_eq!(fsm.negotiated(), None);
    }

    #[test]
    fn admin_shutdown_sends_cease_2_with_the_rfc_8203_message_and_stays_down() {
        let mut fsm = established();
        let actions = fsm.handle(manual_stop("moving to new router, back at 14:00 UTC"));
        let mut data = vec![39];
        data.extend_from_slice(b"moving to new router, back at 14:00 UTC");
        let cease_2 = Notification::new(6, 2, data);
        assert_eq!(actions[0], send(cease_2.clone()));
        assert!(actions.contains(&down_sent(cease_2)));
        assert_eq!(idle_hold_scheduled(&actions), None);
        assert_eq!(fsm.state(), S::Idle);
        assert_eq!(fsm.connect_retry_counter(), 0);
        // An automatic start (config reload) brings it back only because the caller asks;
        // nothing in the FSM does.
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
    }

    #[test]
    fn admin_shutdown_without_message_sends_bare_cease_2() {
        let mut fsm = open_sent();
        assert_eq!(
            fsm.handle(manual_stop_silent())[0],
            send(Notification::new(6, 2, vec![]))
        );
    }

    #[test]
    fn max_prefix_teardown_sends_cease_1_and_restarts_with_doubling_backoff() {
        let mut fsm = idle();
        fsm.handle(E::AutomaticStart);
        establish(&mut fsm);
        let mut waits = Vec::new();
        for _ in 0..8 {
            let actions = fsm.handle(E::AutomaticStop(cease_1()));
            assert_eq!(actions[0], send(cease_1()));
            assert!(actions.contains(&down_sent(cease_1())));
            let wait = idle_hold_scheduled(&actions).expect("automatic restart scheduled");
            waits.push(wait.as_secs());
            // While the restart is pending, an automatic start is damped.
            assert_eq!(fsm.handle(E::AutomaticStart), []);
            assert_eq!(
                fsm.handle(E::IdleHoldTimerExpires),
                [start(T::ConnectRetry, CR), A::Connect]
            );
            let up = establish(&mut fsm);
            // A session that came back after a backoff is watched for stability.
            assert!(up.contains(&start(T::IdleHold, STABLE_AFTER)));
        }
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(fsm.connect_retry_counter(), 8);
        // It stays up for STABLE_AFTER: the backoff is forgotten.
        assert_eq!(fsm.handle(E::IdleHoldTimerExpires), []);
        let actions = fsm.handle(E::AutomaticStop(cease_1()));
        assert_eq!(idle_hold_scheduled(&actions), Some(IDLE));
    }

    #[test]
    fn a_down_reason_reads_as_text() {
        assert_eq!(
            DownReason::NotificationReceived(Notification::hold_timer_expired()).to_string(),
            "NOTIFICATION received: Hold Timer Expired/Unspecific (4/0)"
        );
        assert_eq!(DownReason::ConnectionLost.to_string(), "connection lost");
    }

    #[test]
    fn idle_hold_max_caps_the_backoff() {
        let waits_with = |idle_hold: Duration, idle_hold_max: Duration| {
            let mut fsm = fsm_with(FsmConfig {
                idle_hold,
                idle_hold_max,
                ..cfg()
            });
            fsm.handle(E::AutomaticStart);
            establish(&mut fsm);
            (0..5)
                .map(|_| {
                    let actions = fsm.handle(E::AutomaticStop(cease_1()));
                    fsm.handle(E::IdleHoldTimerExpires);
                    establish(&mut fsm);
                    idle_hold_scheduled(&actions).expect("restart scheduled")
                })
                .collect::<Vec<_>>()
        };
        let ms = Duration::from_millis;
        assert_eq!(
            waits_with(ms(0), ms(200)),
            [ms(0), ms(200), ms(200), ms(200), ms(200)]
        );
        assert_eq!(
            waits_with(ms(5000), ms(12_000)),
            [ms(5000), ms(10_000), ms(12_000), ms(12_000), ms(12_000)]
        );
        // A cap below idle_hold means no growth.
        assert_eq!(waits_with(ms(5000), ms(1000)), [ms(5000); 5]);
    }

    #[test]
    fn manual_start_forgets_the_backoff() {
        let mut fsm = established();
        fsm.handle(E::AutomaticStop(cease_1()));
        fsm.handle(E::IdleHoldTimerExpires);
        establish(&mut fsm);
        let actions = fsm.handle(E::AutomaticStop(cease_1()));
        assert_eq!(idle_hold_scheduled(&actions), Some(IDLE * 2));
        assert_eq!(
            fsm.handle(E::ManualStart),
            [stop(T::IdleHold), start(T::ConnectRetry, CR), A::Connect]
        );
        assert_eq!(fsm.connect_retry_counter(), 0);
        let up = establish(&mut fsm);
        assert!(!up
            .iter()
            .any(|a| matches!(a, A::StartTimer(T::IdleHold, _))));
        let actions = fsm.handle(E::AutomaticStop(cease_1()));
        assert_eq!(idle_hold_scheduled(&actions), Some(IDLE));
    }

    #[test]
    fn stay_down_after_max_prefix_is_automatic_stop_then_manual_stop() {
        let mut fsm = established();
        fsm.handle(E::AutomaticStop(cease_1()));
        assert_eq!(fsm.handle(manual_stop_silent()), [stop(T::IdleHold)]);
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
        assert_eq!(fsm.handle(E::IdleHoldTimerExpires), []);
        assert_eq!(fsm.state(), S::Idle);
    }

    #[test]
    fn unreachable_neighbor_is_retried_after_connect_retry_without_growing_it() {
        let mut fsm = idle();
        fsm.handle(E::AutomaticStart);
        for _ in 0..5 {
            let actions = fsm.handle(E::TcpConnectionFails);
            assert_eq!(fsm.state(), S::Idle);
            assert_eq!(
                idle_hold_scheduled(&actions),
                Some(CR),
                "connect_retry, not idle_hold"
            );
            fsm.handle(E::IdleHoldTimerExpires);
            assert_eq!(fsm.state(), S::Connect);
        }
    }

    #[test]
    fn zero_idle_hold_still_backs_off_a_flapping_session() {
        let mut fsm = fsm_with(FsmConfig {
            idle_hold: Duration::ZERO,
            ..cfg()
        });
        fsm.handle(E::ManualStart);
        establish(&mut fsm);
        let mut waits = Vec::new();
        for _ in 0..3 {
            let actions = fsm.handle(E::HoldTimerExpires);
            waits.push(idle_hold_scheduled(&actions).unwrap().as_secs());
            fsm.handle(E::IdleHoldTimerExpires);
            establish(&mut fsm);
        }
        assert_eq!(waits, [0, 1, 2]);
    }

    #[test]
    fn bad_open_with_wrong_as_sends_2_2_and_goes_idle() {
        let mut fsm = open_sent();
        let actions = fsm.handle(wrong_as_open());
        assert_eq!(
            actions[0],
            send(Notification::new(2, 2, 64999u16.to_be_bytes().to_vec())),
            "the data names the AS of the OPEN"
        );
        assert_eq!(actions[1], A::CloseConnection);
        assert_eq!(fsm.state(), S::Idle);
        assert_eq!(fsm.negotiated(), None);
        assert_eq!(fsm.connect_retry_counter(), 1);
    }

    #[test]
    fn zero_hold_time_negotiated_runs_no_hold_or_keepalive_timer() {
        let mut fsm = open_sent();
        let actions = fsm.handle(E::BgpOpen(Box::new(open(PEER_ASN, [198, 51, 100, 1], 0))));
        assert_eq!(actions, [A::SendKeepalive, stop(T::Hold)]);
        assert_eq!(fsm.state(), S::OpenConfirm);
        let actions = fsm.handle(E::KeepAliveMsg);
        assert!(matches!(actions.as_slice(), [A::SessionEstablished(n)] if n.hold_time == 0));
        assert_eq!(fsm.handle(E::KeepAliveMsg), []);
        assert_eq!(fsm.handle(E::UpdateMsg), [A::ProcessUpdate]);
        // Expiries of timers that do not run are stale and ignored.
        assert_eq!(fsm.handle(E::HoldTimerExpires), []);
        assert_eq!(fsm.handle(E::KeepaliveTimerExpires), []);
        assert_eq!(fsm.state(), S::Established);
        assert!(Timer::ALL.iter().all(|t| !fsm.timer_running(*t)));
    }

    #[test]
    fn stale_timer_expiry_after_stop_is_ignored() {
        let mut fsm = connect();
        fsm.handle(E::TcpCrAcked); // stops the ConnectRetryTimer
        assert_eq!(fsm.handle(E::ConnectRetryTimerExpires), []);
        assert_eq!(fsm.state(), S::OpenSent);
    }

    #[test]
    fn open_collision_dump_sends_cease_7_and_does_not_restart() {
        let mut fsm = open_confirm();
        let actions = fsm.handle(E::OpenCollisionDump);
        assert_eq!(actions[0], send(Notification::new(6, 7, vec![])));
        assert_eq!(idle_hold_scheduled(&actions), None);
        assert_eq!(fsm.state(), S::Idle);
    }

    #[test]
    fn collision_keeps_the_connection_of_the_higher_bgp_identifier() {
        let low = Ipv4Addr::new(192, 0, 2, 1);
        let high = Ipv4Addr::new(198, 51, 100, 1);
        let (a, b) = (Asn(64500), Asn(64501));
        assert_eq!(
            collision_winner(high, a, low, b),
            Some(CollisionWinner::Outgoing)
        );
        assert_eq!(
            collision_winner(low, b, high, a),
            Some(CollisionWinner::Incoming)
        );
        // Compared as unsigned 32-bit integers: 128.0.0.0 is above 127.255.255.255.
        assert_eq!(
            collision_winner(
                Ipv4Addr::new(128, 0, 0, 0),
                a,
                Ipv4Addr::new(127, 255, 255, 255),
                a
            ),
            Some(CollisionWinner::Outgoing)
        );
    }

    #[test]
    fn collision_with_equal_identifiers_keeps_the_connection_of_the_larger_as() {
        let id = Ipv4Addr::new(192, 0, 2, 1);
        assert_eq!(
            collision_winner(id, Asn(64501), id, Asn(64500)),
            Some(CollisionWinner::Outgoing)
        );
        assert_eq!(
            collision_winner(id, Asn(64500), id, Asn(4_200_000_000)),
            Some(CollisionWinner::Incoming)
        );
        // Same identifier and AS: an invalid OPEN (RFC 6286 §2.2), nothing to decide.
        assert_eq!(collision_winner(id, Asn(64500), id, Asn(64500)), None);
    }

    #[test]
    fn both_sides_of_a_collision_keep_the_same_connection() {
        // The connection opened by X is "Outgoing" at X and "Incoming" at Y: both sides must
        // keep the same one.
        let ids = [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 1]];
        let asns = [64500, 64500, 64501];
        for (x_id, x_as) in ids.iter().zip(asns) {
            for (y_id, y_as) in ids.iter().zip(asns) {
                let (x_id, y_id) = (Ipv4Addr::from(*x_id), Ipv4Addr::from(*y_id));
                let at_x = collision_winner(x_id, Asn(x_as), y_id, Asn(y_as));
                let at_y = collision_winner(y_id, Asn(y_as), x_id, Asn(x_as));
                let flipped = at_y.map(|w| match w {
                    CollisionWinner::Outgoing => CollisionWinner::Incoming,
                    CollisionWinner::Incoming => CollisionWinner::Outgoing,
                });
                assert_eq!(at_x, flipped, "{x_id} AS{x_as} vs {y_id} AS{y_as}");
            }
        }
    }

    // --- no panic, consistent state, on any event sequence ---

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn any_event(rng: &mut XorShift) -> Event {
        match rng.below(23) {
            0 => E::ManualStart,
            1 => E::ManualStop {
                shutdown_message: (rng.below(2) == 0).then(|| "bye".to_string()),
            },
            2 => E::AutomaticStart,
            3 => E::AutomaticStop(cease_1()),
            4 => E::ConnectRetryTimerExpires,
            5 => E::HoldTimerExpires,
            6 => E::KeepaliveTimerExpires,
            7 => E::IdleHoldTimerExpires,
            8 => E::DelayOpenTimerExpires,
            9 => E::TcpConnectionConfirmed,
            10 => E::TcpCrAcked,
            11 => E::TcpConnectionFails,
            12 => peer_open(),
            13 => wrong_as_open(),
            14 => E::BgpOpen(Box::new(open(PEER_ASN, [198, 51, 100, 1], 0))),
            15 => E::BgpHeaderErr(header_err()),
            16 => E::BgpOpenMsgErr(open_err()),
            17 => E::OpenCollisionDump,
            18 => E::NotifMsgVerErr,
            19 => E::NotifMsg(peer_cease()),
            20 => E::KeepAliveMsg,
            21 => E::UpdateMsg,
            _ => E::UpdateMsgErr(update_err()),
        }
    }

    /// The event that moves a healthy session forward, so that random walks reach
    /// Established often.
    fn forward_event(fsm: &Fsm, rng: &mut XorShift) -> Event {
        match fsm.state() {
            S::Idle if fsm.timer_running(T::IdleHold) => E::IdleHoldTimerExpires,
            S::Idle => E::AutomaticStart,
            S::Connect | S::Active if fsm.timer_running(T::DelayOpen) => {
                [peer_open(), E::DelayOpenTimerExpires][rng.below(2)].clone()
            }
            S::Connect => E::TcpCrAcked,
            S::Active => E::TcpConnectionConfirmed,
            S::OpenSent => peer_open(),
            S::OpenConfirm => E::KeepAliveMsg,
            S::Established => {
                [E::UpdateMsg, E::KeepAliveMsg, E::KeepaliveTimerExpires][rng.below(3)].clone()
            }
        }
    }

    /// Timers each state may run, and what it must run.
    fn assert_consistent(fsm: &Fsm, cfg: &FsmConfig, context: &str) {
        let run = |t| fsm.timer_running(t);
        let hold = fsm.negotiated().map(|n| n.hold_time);
        let ok = match fsm.state() {
            S::Idle => {
                !run(T::ConnectRetry)
                    && !run(T::Hold)
                    && !run(T::Keepalive)
                    && !run(T::DelayOpen)
                    && hold.is_none()
            }
            S::Connect => {
                !cfg.passive
                    && (run(T::ConnectRetry) != run(T::DelayOpen))
                    && !run(T::Hold)
                    && !run(T::Keepalive)
                    && !run(T::IdleHold)
                    && hold.is_none()
            }
            S::Active => {
                (if cfg.passive {
                    !run(T::ConnectRetry)
                } else {
                    run(T::ConnectRetry) != run(T::DelayOpen)
                }) && !run(T::Hold)
                    && !run(T::Keepalive)
                    && !run(T::IdleHold)
                    && hold.is_none()
            }
            S::OpenSent => {
                run(T::Hold)
                    && !run(T::ConnectRetry)
                    && !run(T::Keepalive)
                    && !run(T::IdleHold)
                    && !run(T::DelayOpen)
                    && hold.is_none()
            }
            S::OpenConfirm | S::Established => {
                let live = hold.is_some_and(|h| h != 0);
                hold.is_some()
                    && run(T::Hold) == live
                    && run(T::Keepalive) == live
                    && !run(T::ConnectRetry)
                    && !run(T::DelayOpen)
                    && (fsm.state() == S::Established || !run(T::IdleHold))
            }
        };
        let running: Vec<Timer> = Timer::ALL.into_iter().filter(|t| run(*t)).collect();
        assert!(ok, "{context}: {:?} with timers {running:?}", fsm.state());
        if cfg.delay_open.is_none() {
            assert!(!run(T::DelayOpen), "{context}");
        }
    }

    #[test]
    fn random_event_sequences_never_panic_and_keep_timers_consistent() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut visits = [0usize; 6];
        for seq in 0..3000 {
            let cfg = FsmConfig {
                passive: rng.below(3) == 0,
                hold_time: [90, 0, 3][rng.below(3)],
                idle_hold: [IDLE, Duration::ZERO][rng.below(2)],
                delay_open: [None, Some(DELAY)][rng.below(2)],
                ..cfg()
            };
            let mut fsm = fsm_with(cfg.clone());
            // The caller's view of the timers, kept only from actions and expiries.
            let mut timers = [false; 5];
            for step in 0..80 {
                let ev = if rng.below(2) == 0 {
                    forward_event(&fsm, &mut rng)
                } else {
                    any_event(&mut rng)
                };
                let context = format!(
                    "sequence {seq} step {step} {cfg:?} {:?} + {ev:?}",
                    fsm.state()
                );
                let before = fsm.state();
                let was_connected = fsm.connected();
                let stale = ev.timer().is_some_and(|t| !timers[t as usize]);
                if let Some(t) = ev.timer() {
                    timers[t as usize] = false;
                }
                let actions = fsm.handle(ev);
                let after = fsm.state();
                visits[after as usize] += 1;
                if stale {
                    assert!(
                        actions.is_empty() && before == after,
                        "{context}: {actions:?}"
                    );
                }
                for (i, a) in actions.iter().enumerate() {
                    match a {
                        A::StartTimer(t, d) => {
                            assert!(*t == T::IdleHold || !d.is_zero(), "{context}: {a:?}");
                            timers[*t as usize] = true;
                        }
                        A::StopTimer(t) => {
                            assert!(timers[*t as usize], "{context}: stops a stopped timer");
                            timers[*t as usize] = false;
                        }
                        A::Connect => assert!(!cfg.passive && after == S::Connect, "{context}"),
                        A::SendOpen => {
                            assert!(matches!(after, S::OpenSent | S::OpenConfirm), "{context}")
                        }
                        A::SendKeepalive => assert!(
                            matches!(after, S::OpenConfirm | S::Established),
                            "{context}"
                        ),
                        A::SendNotification(_) => {
                            assert!(was_connected && after == S::Idle, "{context}");
                            assert_eq!(actions.get(i + 1), Some(&A::CloseConnection), "{context}");
                        }
                        A::SessionEstablished(_) => assert!(
                            before == S::OpenConfirm && after == S::Established,
                            "{context}"
                        ),
                        A::SessionDown { .. } => {
                            assert!(before == S::Established && after == S::Idle, "{context}")
                        }
                        A::ProcessUpdate => assert!(
                            before == S::Established && after == S::Established,
                            "{context}"
                        ),
                        A::CloseConnection => {}
                    }
                }
                let reached = before == S::OpenConfirm && after == S::Established;
                assert_eq!(
                    reached,
                    actions
                        .iter()
                        .any(|a| matches!(a, A::SessionEstablished(_))),
                    "{context}"
                );
                let left = before == S::Established && after != S::Established;
                assert_eq!(
                    left,
                    actions.iter().any(|a| matches!(a, A::SessionDown { .. })),
                    "{context}"
                );
                for t in Timer::ALL {
                    assert_eq!(timers[t as usize], fsm.timer_running(t), "{context}: {t:?}");
                }
                assert_consistent(&fsm, &cfg, &context);
            }
        }
        // The walk went everywhere, often.
        assert!(visits.iter().all(|v| *v > 1000), "{visits:?}");
    }
}
