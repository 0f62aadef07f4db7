//! systemd's service notification protocol (sd_notify(3)) without libsystemd: start-up done
//! (`READY=1`), reload begun (`RELOADING=1`, then `READY=1` again), shutdown begun
//! (`STOPPING=1`) and the watchdog (`WATCHDOG=1` at half of `WATCHDOG_USEC`), each a datagram to
//! the Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
//!
//! Outside systemd (no `NOTIFY_SOCKET`) every function does nothing, silently. Notification is
//! best effort: the first failure is logged with `warn`, later ones with `debug`, and nothing
//! here panics or stops the daemon. The functions that do the work take the socket and the
//! environment values as arguments, so the tests never touch the process environment; the
//! `pub(super)` wrappers read it. The environment is left as it is (sd_notify's
//! `unset_environment` is not offered): changing it in a multi-threaded process is unsound.
//!
//! `RELOADING=1` is sent without `MONOTONIC_USEC=`: only `Type=notify-reload` (systemd ≥ 253)
//! needs it, and reading CLOCK_MONOTONIC as a number takes libc. The unit uses `Type=notify`.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a notification failure has been logged at `warn` already.
static WARNED: AtomicBool = AtomicBool::new(false);

/// How long a datagram may wait for room in systemd's socket queue before it is given up.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Start-up (or a reload) is complete; `status` is what `systemctl status` shows.
pub(super) fn ready(status: &str) {
    notify(&ready_message(status));
}

/// A reload has begun; [`ready`] must follow when it is over, also when it failed.
pub(super) fn reloading(status: &str) {
    notify(&reloading_message(status));
}

/// Shutdown has begun (systemd stops expecting watchdog pings and waits for the exit).
pub(super) fn stopping() {
    notify(STOPPING);
}

/// One watchdog keep-alive.
pub(super) fn ping() {
    notify(WATCHDOG);
}

/// The watchdog interval systemd expects pings within, when it set one for this process.
pub(super) fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var_os("WATCHDOG_USEC")?;
    let pid = std::env::var_os("WATCHDOG_PID");
    match parse_watchdog(&usec, pid.as_deref(), std::process::id()) {
        Ok(interval) => interval,
        Err(e) => {
            log_failure(&e);
            None
        }
    }
}

/// Pings the watchdog at half its interval until the runtime drops the task; returns at once
/// when systemd runs no watchdog for this process.
pub(super) async fn run_watchdog() {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Some(interval) = watchdog_interval() {
        tracing::debug!(
            interval_ms = interval.as_millis() as u64,
            "systemd watchdog enabled"
        );
        watchdog_loop(interval, ping).await;
    }
}

const STOPPING: &str = "STOPPING=1";
const WATCHDOG: &str = "WATCHDOG=1";

fn ready_message(status: &str) -> String {
    format!("READY=1\nSTATUS={}", one_line(status))
}

fn reloading_message(status: &str) -> String {
    format!("RELOADING=1\nSTATUS={}", one_line(status))
}

/// A status is one assignment: a newline in it would start another (`READY=1`, …).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Calls `ping` at once and then every half `interval` (never faster than every millisecond).
async fn watchdog_loop(interval: Duration, ping: impl Fn()) -> ! {
    let every = (interval / 2).max(Duration::from_millis(1));
    let mut tick = tokio::time::interval(every);
    // After a stall, ping once and carry on: a burst of late pings proves nothing more.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        ping();
    }
}

fn notify(state: &str) {
    if let Some(socket) = std::env::var_os("NOTIFY_SOCKET") {
        if let Err(e) = send(&socket, state) {
            log_failure(&format!(
                "systemd notification {:?} to {socket:?} failed: {e}",
                first_assignment(state)
            ));
        }
    }
}

fn first_assignment(state: &str) -> &str {
    state.split('\n').next().unwrap_or(state)
}

fn log_failure(message: &str) {
    if WARNED.swap(true, Ordering::Relaxed) {
        tracing::debug!("{message}");
    } else {
        tracing::warn!("{message} (further notification failures are logged at debug level)");
    }
}

/// Sends one notification datagram to `socket` (a `NOTIFY_SOCKET` value).
fn send(socket: &OsStr, state: &str) -> io::Result<()> {
    let addr = socket_addr(socket)?;
    let sock = UnixDatagram::unbound()?;
    sock.set_write_timeout(Some(SEND_TIMEOUT))?;
    let sent = sock.send_to_addr(state.as_bytes(), &addr)?;
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("{sent} of {} bytes sent", state.len()),
        ));
    }
    Ok(())
}

/// `/path` is a socket in the file system, `@name` one in the abstract namespace (its first
/// byte is NUL on the wire). systemd ≥ 254 also offers `vsock:`, which a host service does not
/// get.
fn socket_addr(socket: &OsStr) -> io::Result<SocketAddr> {
    match socket.as_bytes().split_first() {
        Some((b'@', name)) => SocketAddr::from_abstract_name(name),
        Some((b'/', _)) => SocketAddr::from_pathname(Path::new(socket)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "NOTIFY_SOCKET is neither an absolute path nor an @abstract name",
        )),
    }
}

/// The watchdog interval from `WATCHDOG_USEC` and `WATCHDOG_PID`, as sd_watchdog_enabled(3)
/// reads them: `Ok(None)` when the watchdog is meant for another process (a `WATCHDOG_PID`
/// that is not `our_pid`), an error for values systemd does not write.
fn parse_watchdog(
    usec: &OsStr,
    pid: Option<&OsStr>,
    our_pid: u32,
) -> Result<Option<Duration>, String> {
    let usec = usec
        .to_str()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&u| u != 0 && u != u64::MAX)
        .ok_or_else(|| format!("WATCHDOG_USEC={usec:?} is not a watchdog interval"))?;
    if let Some(pid) = pid {
        let pid = pid
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("WATCHDOG_PID={pid:?} is not a process id"))?;
        if pid != our_pid {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(usec)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::sync::atomic::AtomicUsize;

    /// A socket in a fresh temporary directory, standing in for systemd's, and the
    /// `NOTIFY_SOCKET` value that names it.
    fn manager() -> (tempfile::TempDir, UnixDatagram, OsString) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (dir, sock, path.into_os_string())
    }

    fn recv(sock: &UnixDatagram) -> String {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn ready_is_one_datagram_with_the_status() {
        let (_dir, sock, name) = manager();
        send(&name, &ready_message("3 peers; listening on 0.0.0.0:179")).unwrap();
        assert_eq!(
            recv(&sock),
            "READY=1\nSTATUS=3 peers; listening on 0.0.0.0:179"
        );
    }

    #[test]
    fn reload_is_reloading_then_ready() {
        let (_dir, sock, name) = manager();
        send(&name, &reloading_message("reloading the RPKI files")).unwrap();
        send(&name, &ready_message("RPKI files reloaded")).unwrap();
        assert_eq!(recv(&sock), "RELOADING=1\nSTATUS=reloading the RPKI files");
        assert_eq!(recv(&sock), "READY=1\nSTATUS=RPKI files reloaded");
    }

    #[test]
    fn stopping_and_watchdog_are_bare_assignments() {
        let (_dir, sock, name) = manager();
        send(&name, STOPPING).unwrap();
        send(&name, WATCHDOG).unwrap();
        assert_eq!(recv(&sock), "STOPPING=1");
        assert_eq!(recv(&sock), "WATCHDOG=1");
    }

    #[test]
    fn a_status_cannot_inject_another_assignment() {
        let (_dir, sock, name) = manager();
        send(&name, &reloading_message("bad file\nREADY=1\r\nX")).unwrap();
        assert_eq!(recv(&sock), "RELOADING=1\nSTATUS=bad file READY=1  X");
    }

    #[test]
    fn an_at_sign_names_an_abstract_socket() {
        let name = format!("bgpsieve-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let sock = UnixDatagram::bind_addr(&addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        send(OsStr::new(&format!("@{name}")), &ready_message("up")).unwrap();
        assert_eq!(recv(&sock), "READY=1\nSTATUS=up");
        // The address really is abstract: NUL first byte, no file.
        assert_eq!(
            socket_addr(OsStr::new(&format!("@{name}")))
                .unwrap()
                .as_abstract_name(),
            Some(name.as_bytes())
        );
    }

    #[test]
    fn an_unusable_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-socket").into_os_string();
        assert!(send(&missing, STOPPING).is_err());
        for bad in ["", "relative/notify", "vsock:2:1234"] {
            let e = send(OsStr::new(bad), STOPPING).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn watchdog_usec_without_pid_applies_to_us() {
        assert_eq!(
            parse_watchdog(OsStr::new("30000000"), None, 4242),
            Ok(Some(Duration::from_secs(30)))
        );
    }

    #[test]
    fn watchdog_pid_must_be_ours() {
        let usec = OsStr::new("500000");
        assert_eq!(
            parse_watchdog(usec, Some(OsStr::new("4242")), 4242),
            Ok(Some(Duration::from_millis(500)))
        );
        // Inherited from a parent that systemd watches: not our watchdog.
        assert_eq!(parse_watchdog(usec, Some(OsStr::new("1")), 4242), Ok(None));
    }

    #[test]
    fn watchdog_values_systemd_does_not_write_are_errors() {
        for usec in ["", "0", "-1", "30s", "18446744073709551615", " 30000000"] {
            assert!(
                parse_watchdog(OsStr::new(usec), None, 1).is_err(),
                "WATCHDOG_USEC={usec:?}"
            );
        }
        for pid in ["", "0", "abc", "-5"] {
            assert!(
                parse_watchdog(OsStr::new("1000"), Some(OsStr::new(pid)), 1).is_err(),
                "WATCHDOG_PID={pid:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_watchdog_pings_at_half_the_interval() {
        let (_dir, sock, name) = manager();
        let pings = AtomicUsize::new(0);
        // 40 ms interval: pings at 0, 20, 40, … ms; 150 ms leave room for a loaded machine.
        let _ = tokio::time::timeout(
            Duration::from_millis(150),
            watchdog_loop(Duration::from_millis(40), || {
                pings.fetch_add(1, Ordering::Relaxed);
                send(&name, WATCHDOG).unwrap();
            }),
        )
        .await;
        let n = pings.load(Ordering::Relaxed);
        assert!((3..=9).contains(&n), "{n} pings in 150 ms");
        for _ in 0..n {
            assert_eq!(recv(&sock), "WATCHDOG=1");
        }
    }

    #[tokio::test]
    async fn a_zero_length_interval_does_not_panic_the_watchdog() {
        let pings = AtomicUsize::new(0);
        let _ = tokio::time::timeout(
            Duration::from_millis(20),
            watchdog_loop(Duration::from_micros(1), || {
                pings.fetch_add(1, Ordering::Relaxed);
            }),
        )
        .await;
        assert!(pings.load(Ordering::Relaxed) >= 1);
    }
}
