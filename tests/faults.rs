//! Faults (issue 6) with real BIRD 2 and StayRTR on loopback (127.0.0.100–104, bgpsieve's
//! address toward the router 127.0.1.101): an RTR cache that flaps leaves every route where it
//! was; the router side of the pair restarting gets the whole accepted table again, without the
//! neighbor's session noticing; a bgpsieve restart keeps the router's routes and converges to
//! the same state. Every process
//! is stopped by PID.

mod common;

use common::interop::{
    available, bgpsieve_daemon, bird_neighbor, bird_router, stayrtr, strings, wait_for, write_vrps,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
const CACHE: &str = "127.0.0.104:11604";

const CONFIG: &str = r#"
[global]
asn = 20001
router_id = "127.0.0.100"
listen = ["127.0.0.100:11600", "127.0.1.101:11600"]

[rpki]
rtr = [{ address = "127.0.0.104:11604" }]

[[peer]]
name = "customer-bird"
role = "customer"
asn = 20002
address = "127.0.0.101"
local_address = "127.0.0.100"
port = 11601
idle_hold = "1s"
connect_retry = "1s"
router = { address = "127.0.0.102", local_address = "127.0.1.101", port = 11602 }
"#;

#[test]
fn cache_flaps_router_restarts_and_a_bgpsieve_restart_leave_exactly_the_right_routes() {
    if !available("bird") || !available("birdc") || !available("stayrtr") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 2.0.0.0/24 is invalid (its ROA names AS999); the others are valid or not found.
    let json = write_vrps(
        dir.path(),
        &[(20002, "1.0.0.0/24", 24), (999, "2.0.0.0/24", 24)],
    );
    let mut cache = stayrtr(dir.path(), "stayrtr", CACHE, &json, &[]);
    let announced = ["1.0.0.0/24", "2.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"];
    let neighbor = bird_neighbor(
        dir.path(),
        "127.0.0.101",
        11601,
        "127.0.0.100",
        11600,
        &announced,
    );
    let router = bird_router(
        dir.path(),
        "127.0.0.102",
        11602,
        &[("sieve", "127.0.1.101", 20002)],
    );
    let mut sieve = bgpsieve_daemon(dir.path(), CONFIG);
    let right = strings(&["1.0.0.0/24", "5.0.0.0/24", "6.0.0.0/24"]);
    let shown = || format!("router has {:?}", router.prefixes_from("sieve"));
    wait_for(T, || router.prefixes_from("sieve") == right, shown);
    let router_since = router.since("sieve");

    // The RTR cache flaps five times (each back within the expire interval): the data comes
    // back the same, nothing is withdrawn or announced, no session resets.
    for i in 0..5 {
        cache.terminate();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(router.prefixes_from("sieve"), right, "flap {i}: down");
        cache = stayrtr(dir.path(), &format!("stayrtr-{i}"), CACHE, &json, &[]);
        wait_for(
            T,
            || sieve.log_text().matches("RTR cache up").count() >= i + 2,
            || sieve.log_text(),
        );
        assert_eq!(router.prefixes_from("sieve"), right, "flap {i}: back");
    }
    assert_eq!(router.since("sieve"), router_since, "router session kept");
    assert_eq!(
        sieve.log_text().matches("RPKI data changed").count(),
        0,
        "the same data is no change"
    );

    // The router side of the pair restarts: it gets the whole accepted table again, and the
    // neighbor's session is not touched.
    let neighbor_since = neighbor.since("up");
    router.cli("disable sieve");
    wait_for(T, || router.prefixes_from("sieve").is_empty(), shown);
    router.cli("enable sieve");
    wait_for(T, || router.prefixes_from("sieve") == right, shown);
    assert_eq!(
        neighbor.since("up"),
        neighbor_since,
        "neighbor session kept"
    );

    // bgpsieve restarts: the router keeps the routes meanwhile (graceful restart), and it
    // converges to the same state.
    assert!(sieve.terminate(), "clean exit");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        router.prefixes_from("sieve"),
        right,
        "kept during the restart: {}\n{}",
        router.cli("show protocols all sieve"),
        sieve.log_text()
    );
    sieve = bgpsieve_daemon(dir.path(), CONFIG);
    wait_for(
        T,
        || {
            neighbor.established("up")
                && router.established("sieve")
                && !router
                    .cli("show protocols all sieve")
                    .contains("graceful restart active")
        },
        || format!("{}\n{}", shown(), sieve.log_text()),
    );
    assert_eq!(router.prefixes_from("sieve"), right);
}
