//! `promtool check metrics` (Prometheus' own linter) on a populated `/metrics` page: it must
//! parse, and follow the naming rules (units, `_total` counters, help texts) without a single
//! lint finding. Skips without promtool, fails with `BGPSIEVE_REQUIRE_INTEROP=1`.

mod common;

use bgpsieve::metrics::{Metrics, PeerLabel};
use bgpsieve::policy::Reason;
use bgpsieve::{Afi, Direction};
use std::io::Write;
use std::process::{Command, Stdio};

fn populated() -> String {
    let m = Metrics::new(&[
        PeerLabel {
            name: "transit-a".into(),
        },
        PeerLabel {
            name: "customer-b".into(),
        },
        PeerLabel {
            name: "router".into(),
        },
    ]);
    m.peer_up(0, true);
    m.peer_up(2, true);
    m.received(0, Afi::Ipv4, 950_000);
    m.received(0, Afi::Ipv6, 200_000);
    m.received(1, Afi::Ipv4, 12);
    for r in [
        Reason::RpkiInvalid,
        Reason::BogonPrefix,
        Reason::AspaInvalid,
    ] {
        m.rejected(0, Direction::In, r);
    }
    m.rejected(1, Direction::Out, Reason::NotAnnounceable);
    m.rejected(1, Direction::Out, Reason::Malformed);
    m.routes_current(0, Direction::In, Afi::Ipv4, 949_000);
    m.routes_current(1, Direction::Out, Afi::Ipv4, 950_000);
    m.max_prefix_trip(1, Direction::In);
    for s in [0.00002, 0.0004, 0.003, 0.2, 2.0] {
        m.observe_update(s);
    }
    m.vrps(Afi::Ipv4, 424_000);
    m.vrps(Afi::Ipv6, 98_000);
    m.aspas(1200);
    m.rtr("127.0.0.1:3323", true, Some(4711));
    m.rtr("[::1]:3323", false, None);
    m.reevaluation("rpki", 3000, 12);
    m.reevaluation("policy", 40, 2);
    m.reload_error("config");
    m.circuit_breaker_held(true);
    m.policy_generation(9);
    m.render()
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    if !common::interop::available("promtool") {
        return;
    }
    let text = populated();
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.is_empty() && stderr.is_empty(),
        "promtool: {:?}\nstdout: {stdout}\nstderr: {stderr}\ninput:\n{text}",
        out.status
    );
    // What was checked is what the tests meant to check.
    for line in [
        r#"bgpsieve_routes_rejected_total{direction="out",peer="customer-b",reason="malformed"} 1"#,
        r#"bgpsieve_rtr_serial{cache="127.0.0.1:3323"} 4711"#,
        "bgpsieve_update_processing_seconds_count 5",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}");
    }
}
