//! Real daemons for interop tests: start BIRD (and bgpsieve itself) as child processes on
//! loopback addresses, talk to them through their CLIs, and stop every one of them by PID
//! when the test ends (also when it fails). A missing binary skips the test, or fails it when
//! `BGPSIEVE_REQUIRE_INTEROP=1` (CI sets it).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `bin` can be run; panics if it cannot and interop is required.
pub fn available(bin: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("BGPSIEVE_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{bin} is required (BGPSIEVE_REQUIRE_INTEROP=1) but not installed");
        }
        eprintln!("SKIP: {bin} not installed");
    }
    found
}

/// A child process stopped by PID on drop: SIGTERM, then SIGKILL if it lingers.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait (up to 5 s); returns whether it exited by itself.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// A BIRD 2 instance in the foreground with its own control socket.
pub struct Bird {
    pub proc: Proc,
    pub socket: PathBuf,
}

impl Bird {
    pub fn start(dir: &Path, name: &str, config: &str) -> Bird {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).unwrap();
        let socket = dir.join(format!("{name}.ctl"));
        let mut cmd = Command::new("bird");
        cmd.arg("-f").arg("-c").arg(&conf).arg("-s").arg(&socket);
        let proc = Proc::spawn(name, cmd, dir);
        let mut b = Bird { proc, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.cli("show status").contains("Daemon is up") {
            if !matches!(b.proc.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                panic!("{name} did not start: {}", b.proc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        b
    }

    pub fn cli(&self, cmd: &str) -> String {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(cmd.split_whitespace())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The prefixes in BIRD's table learned from `protocol`.
    pub fn prefixes_from(&self, protocol: &str) -> Vec<String> {
        let out = self.cli(&format!("show route protocol {protocol}"));
        let mut v: Vec<String> = out
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.contains('/') && w.chars().next().is_some_and(|c| c.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Whether `protocol` is Established.
    pub fn established(&self, protocol: &str) -> bool {
        self.cli(&format!("show protocols {protocol}"))
            .lines()
            .any(|l| l.starts_with(protocol) && l.contains("Established"))
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes (then panics with `msg()`).
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool, msg: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out: {}", msg());
}

/// bgpsieve's daemon as a child process.
pub fn bgpsieve_daemon(dir: &Path, config: &str) -> Proc {
    let conf = dir.join("bgpsieve.toml");
    std::fs::write(&conf, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bgpsieve"));
    cmd.arg("run")
        .arg("--config")
        .arg(&conf)
        .env("BGPSIEVE_LOG", "debug");
    Proc::spawn("bgpsieve", cmd, dir)
}
