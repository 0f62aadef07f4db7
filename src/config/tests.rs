//! Config tests: the shipped example, every default, and each error kind at its exact
//! line:col with its exact message.

use super::*;
use crate::types::Direction;
use std::io::Write;

/// `[global]` and an RTR cache (so that no "no RPKI source" warning appears): lines 1–5.
const HEAD: &str = "[global]\n\
                    asn = 64500\n\
                    router_id = \"192.0.2.1\"\n\
                    [rpki]\n\
                    rtr = [{ address = \"127.0.0.1:3323\" }]\n";

/// The router table of a test peer, on one line.
const ROUTER: &str = "router = { address = \"10.0.0.1\", local_address = \"10.0.0.101\" }\n";

/// A router table on one line, with bgpsieve's address toward the router `10.0.0.10N`.
fn router_line(n: u8) -> String {
    format!("router = {{ address = \"10.0.0.1\", local_address = \"10.0.0.10{n}\" }}\n")
}

/// HEAD plus a minimal provider `[[peer]]` on lines 6–11, plus `extra` from line 12.
fn with_peer(extra: &str) -> String {
    format!(
        "{HEAD}[[peer]]\n\
         name = \"a\"\n\
         role = \"provider\"\n\
         asn = 64501\n\
         address = \"198.51.100.1\"\n\
         {ROUTER}\
         {extra}"
    )
}

fn errors(text: &str) -> Vec<String> {
    match parse_str(text, "t.toml") {
        Ok(l) => panic!("expected errors, got {:?}", l.config),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap_or_default()
}

fn warnings(text: &str) -> Vec<String> {
    match parse_str(text, "t.toml") {
        Ok(l) => l.warnings,
        Err(e) => panic!("{e}"),
    }
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---- the shipped example ----

#[test]
fn example_config_loads_without_errors_or_warnings() {
    let loaded = load(&repo_file("config/bgpsieve.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let c = &loaded.config;
    assert_eq!(c.global.asn, Asn(64500));
    let names: Vec<&str> = c.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["transit-a", "customer-b", "ix-peer-c", "ix-route-server"]
    );
    // Relative data files are resolved against the config file's directory.
    assert_eq!(
        c.global.announce_irr[0],
        repo_file("config/../testdata/irr/bgpq4/json--4.txt")
    );
    assert!(c.global.announce_irr.iter().all(|p| p.is_file()));
    assert_eq!(
        c.rpki.vrp_files,
        vec![repo_file("config/../testdata/vrps/stayrtr_test.rpki.json")]
    );
}

#[test]
fn example_config_values_are_read_as_written() {
    let c = load(&repo_file("config/bgpsieve.toml")).unwrap().config;
    let t = c.peer("transit-a").unwrap();
    assert_eq!(
        t.max_prefix_in,
        MaxPrefixConfig {
            ipv4: Some(1_200_000),
            ipv6: Some(300_000),
            warn_at: 90,
            count: CountMode::Received,
            action: MaxPrefixAction::Teardown,
            restart_after: Some(Duration::from_secs(600)),
        }
    );
    assert_eq!(
        t.max_prefix_out,
        MaxPrefixConfig {
            ipv4: Some(100),
            ipv6: Some(50),
            action: MaxPrefixAction::DropExcess,
            ..MaxPrefixConfig::default()
        }
    );
    assert_eq!(
        t.burst_guard,
        Some(BurstGuardConfig {
            new_prefixes_per_min: Some(5000),
            more_specifics_per_min: Some(1000),
            action: MaxPrefixAction::Teardown,
            restart_after: Some(Duration::from_secs(1800)),
        })
    );
    assert_eq!(t.md5_password, None, "an empty md5_password means none");
    assert_eq!(
        t.next_hop,
        NextHops {
            ipv4: Some("198.51.100.3".parse().unwrap()),
            ipv6: Some("2001:db8:ffff:1::3".parse().unwrap()),
            ipv6_link_local: Some("fe80::3".parse().unwrap()),
        }
    );
    assert_eq!(
        t.router,
        Some(RouterConfig {
            address: "10.0.0.1".parse().unwrap(),
            local_address: "10.0.0.101".parse().unwrap(),
            port: 179,
            passive: false,
            asn: Asn(64500),
            md5_password: None,
            ttl_security: false,
        })
    );
    assert_eq!(t.max_communities, Some(100));
    assert_eq!(
        c.global.announce,
        vec![
            PrefixRange {
                prefix: "203.0.113.0/24".parse().unwrap(),
                min_len: 24,
                max_len: 24
            },
            PrefixRange {
                prefix: "198.51.100.0/22".parse().unwrap(),
                min_len: 22,
                max_len: 24
            },
            PrefixRange {
                prefix: "2001:db8::/32".parse().unwrap(),
                min_len: 32,
                max_len: 48
            },
        ]
    );
    let announce = c.global.announce_list();
    assert!(announce.permits(&"198.51.101.0/24".parse().unwrap(), None));
    assert!(!announce.permits(&"198.51.101.0/25".parse().unwrap(), None));
    let ix = c.peer("ix-peer-c").unwrap();
    assert_eq!(ix.mode, Mode::Observe);
    assert!(ix.passive);
    assert_eq!(ix.peerlock_allow, vec![Asn(64510)]);
    let rs = c.peer("ix-route-server").unwrap();
    assert_eq!(rs.checks_disable, vec![Reason::IrrUnregistered]);
    assert!(!rs.enabled_checks().contains(Reason::IrrUnregistered));
    assert!(rs.enabled_checks().contains(Reason::RpkiInvalid));
    let rtr: Vec<&str> = c
        .rpki
        .rtr_in_preference_order()
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(rtr, ["127.0.0.1:3323", "rtr.example.net:323"]);
    assert_eq!(c.bogons, BogonsConfig::default());
    let b = c.peer("customer-b").unwrap();
    let router = b.router.as_ref().unwrap();
    assert_eq!(router.address, "fd00::1".parse::<IpAddr>().unwrap());
    assert_eq!(b.next_hop.ipv6, Some("2001:db8:ffff::3".parse().unwrap()));
}

#[test]
fn check_config_summarises_the_example() {
    let path = repo_file("config/bgpsieve.toml");
    let (ok, text) = check_config_report(&path);
    assert!(ok, "{text}");
    // 1 VRP file, 2 announce_irr and 2 peer IRR files; 2 + 2 + 62 + 62 IRR entries.
    assert_eq!(
        text,
        format!(
            "{}: OK: AS64500, 4 peers (1 provider, 1 peer, 1 customer, 1 rs), 5 data files \
             referenced, 4 IRR files with 128 entries, 0 warnings\n",
            path.display()
        )
    );
}

// ---- defaults ----

#[test]
fn minimal_config_takes_every_documented_default() {
    let c = parse_str(&with_peer(""), "t.toml").unwrap().config;
    assert_eq!(
        c.global,
        GlobalConfig {
            asn: Asn(64500),
            router_id: "192.0.2.1".parse().unwrap(),
            listen: vec!["0.0.0.0:179".parse().unwrap(), "[::]:179".parse().unwrap()],
            announce: vec![],
            announce_irr: vec![],
            hold_time: 90,
            state_dir: "/var/lib/bgpsieve".into(),
        }
    );
    assert_eq!(c.api.listen, "127.0.0.1:9179".parse().unwrap());
    assert_eq!(
        c.rpki,
        RpkiConfig {
            vrp_files: vec![],
            aspa_files: vec![],
            slurm_files: vec![],
            rtr: vec![RtrCacheConfig {
                address: "127.0.0.1:3323".into(),
                preference: None
            }],
            expire: Duration::from_secs(7200),
            max_shrink_percent: 50,
            max_shrink_hold: Duration::from_secs(3600),
            fail_open: true,
        }
    );
    assert_eq!(c.bogons, BogonsConfig::default());
    assert_eq!(c.peerlock, PeerlockConfig { protected: None });
    assert_eq!(
        c.peers,
        vec![PeerConfig {
            name: "a".into(),
            role: Role::Provider,
            asn: Asn(64501),
            address: "198.51.100.1".parse().unwrap(),
            local_address: None,
            port: 179,
            passive: false,
            afi: vec![Afi::Ipv4, Afi::Ipv6],
            mode: Mode::Enforce,
            checks_disable: vec![],
            allow_private_asn: false,
            irr: vec![],
            max_prefix_in: MaxPrefixConfig {
                ipv4: None,
                ipv6: None,
                warn_at: 90,
                count: CountMode::Received,
                action: MaxPrefixAction::Teardown,
                restart_after: None,
            },
            max_prefix_out: MaxPrefixConfig::default(),
            burst_guard: None,
            role_strict: false,
            idle_hold: Duration::from_secs(5),
            idle_hold_max: Duration::from_secs(300),
            connect_retry: Duration::from_secs(30),
            md5_password: None,
            ttl_security: false,
            next_hop: NextHops::default(),
            router: Some(RouterConfig {
                address: "10.0.0.1".parse().unwrap(),
                local_address: "10.0.0.101".parse().unwrap(),
                port: 179,
                passive: false,
                asn: Asn(64500),
                md5_password: None,
                ttl_security: false,
            }),
            prefix_length_v4: (8, 24),
            prefix_length_v6: (16, 48),
            max_path_length: 64,
            max_communities: None,
            next_hop_is_neighbor: false,
            peerlock_allow: vec![],
            irr_roas_as_routes: false,
            blackhole: BlackholePolicy {
                accept: false,
                max_length_v4: 32,
                max_length_v6: 128,
            },
            shutdown: None,
        }]
    );
    assert_eq!(c.peers[0].max_prefix(Direction::In).limit(Afi::Ipv4), None);
}

#[test]
fn max_prefix_defaults_fill_unset_keys_of_a_given_table() {
    let c = parse_str(&with_peer("max_prefix_in = { ipv6 = 10 }\n"), "t.toml")
        .unwrap()
        .config;
    let m = &c.peers[0].max_prefix_in;
    assert_eq!((m.limit(Afi::Ipv4), m.limit(Afi::Ipv6)), (None, Some(10)));
    assert_eq!(
        (m.warn_at, m.count, m.action, m.restart_after),
        (90, CountMode::Received, MaxPrefixAction::Teardown, None)
    );
}

#[test]
fn asns_may_be_written_as_numbers_text_or_asdot() {
    let text = "[global]\nasn = \"AS64500\"\nrouter_id = \"192.0.2.1\"\n\
                [bogons]\nasns = [0, \"23456\", \"64496-131071\", \"AS4200000000-AS4294967295\"]\n\
                [peerlock]\nprotected = [174, \"AS3356\", \"0.1299\"]\n";
    let c = parse_str(text, "t.toml").unwrap().config;
    assert_eq!(c.global.asn, Asn(64500));
    let r = |a, b| AsnRange {
        first: Asn(a),
        last: Asn(b),
    };
    assert_eq!(
        c.bogons.asns,
        Some(vec![
            r(0, 0),
            r(23456, 23456),
            r(64496, 131071),
            r(4200000000, 4294967295)
        ])
    );
    assert!(r(64496, 131071).contains(Asn(65000)));
    assert_eq!(
        c.peerlock.protected,
        Some(vec![Asn(174), Asn(3356), Asn(1299)])
    );
}

// ---- syntax, type and unknown-key errors (from toml, at its span) ----

#[test]
fn toml_syntax_error_is_located() {
    assert_eq!(
        error("[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n[[peer]\nname = \"a\"\n"),
        "t.toml:4:8: unclosed array table, expected `]`"
    );
}

#[test]
fn type_error_is_located_at_the_value() {
    assert_eq!(
        error(&with_peer("passive = \"yes\"\n")),
        "t.toml:12:11: invalid type: string \"yes\", expected a boolean"
    );
    assert_eq!(
        error("[global]\nasn = true\nrouter_id = \"192.0.2.1\"\n"),
        "t.toml:2:7: invalid type: boolean `true`, expected an AS number (64500 or \"AS64500\")"
    );
    assert_eq!(
        error(&with_peer("max_prefix_in = { ipv4 = -1 }\n")),
        "t.toml:12:26: invalid value: integer `-1`, expected u32"
    );
}

#[test]
fn unknown_key_is_rejected_at_the_key() {
    assert_eq!(
        error("[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\nrouterid = \"192.0.2.2\"\n"),
        "t.toml:4:1: unknown field `routerid`, expected one of `asn`, `router_id`, `listen`, \
         `announce`, `announce_irr`, `hold_time`, `state_dir`"
    );
    let e = error(&with_peer("max_prefix_in = { ipv4 = 10, limit = 5 }\n"));
    assert!(
        e.starts_with("t.toml:12:30: unknown field `limit`, expected one of `ipv4`"),
        "{e}"
    );
    let e = error(&with_peer("next_hop_self = true\n"));
    assert!(
        e.starts_with("t.toml:12:1: unknown field `next_hop_self`"),
        "{e}"
    );
    let e = error(&format!("{HEAD}[daemon]\nthreads = 2\n"));
    assert!(e.starts_with("t.toml:6:2: unknown field `daemon`"), "{e}");
}

#[test]
fn unknown_enum_value_is_rejected_at_the_value() {
    assert_eq!(
        error(&with_peer("mode = \"dry-run\"\n")),
        "t.toml:12:8: unknown variant `dry-run`, expected `enforce` or `observe`"
    );
    assert_eq!(
        error(&with_peer(
            "max_prefix_out = { ipv4 = 1, action = \"drop\" }\n"
        )),
        "t.toml:12:39: unknown variant `drop`, expected one of `warn`, `drop-excess`, `teardown`"
    );
}

#[test]
fn missing_required_key_is_reported_at_its_table() {
    assert_eq!(
        error(&format!(
            "{HEAD}[[peer]]\nname = \"a\"\nrole = \"peer\"\nasn = 64501\n"
        )),
        "t.toml:6:1: missing field `address`"
    );
}

// ---- semantic errors, each at the offending value ----

#[test]
fn prefix_with_host_bits_is_rejected_at_the_value() {
    let text = "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n\
                announce = [\"203.0.113.0/24\", \"192.0.2.77/24\"]\n";
    assert_eq!(
        error(text),
        "t.toml:4:31: announce: host bits set in prefix 192.0.2.77/24 (the network is 192.0.2.0/24)"
    );
    assert_eq!(
        error(&format!(
            "{HEAD}[bogons]\nextra_prefixes = [\"2001:db8::1/32\"]\n"
        )),
        "t.toml:7:19: bogons.extra_prefixes: host bits set in prefix 2001:db8::1/32 (the network \
         is 2001:db8::/32)"
    );
}

#[test]
fn announce_range_shorter_than_its_prefix_is_rejected() {
    let text = "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n\
                announce = [\"198.51.100.0/22-21\"]\n";
    assert_eq!(
        error(text),
        "t.toml:4:13: announce: max length /21 is shorter than the prefix length /22 in \
         \"198.51.100.0/22-21\""
    );
}

#[test]
fn duplicate_peer_names_are_rejected() {
    let text = with_peer(&format!(
        "[[peer]]\nname = \"a\"\nrole = \"peer\"\nasn = 64502\naddress = \"198.51.100.9\"\n{}",
        router_line(2)
    ));
    assert_eq!(
        error(&text),
        "t.toml:13:8: duplicate peer name \"a\" (first defined on line 7)"
    );
}

#[test]
fn duplicate_sessions_are_rejected() {
    // Same address, same (absent) local_address.
    let text = with_peer(&format!(
        "[[peer]]\nname = \"b\"\nrole = \"peer\"\nasn = 64502\naddress = \"198.51.100.1\"\n{}",
        router_line(2)
    ));
    assert_eq!(
        error(&text),
        "t.toml:16:11: peer \"b\": its neighbor session (address 198.51.100.1) is the same as \
         peer \"a\"'s neighbor session (address 198.51.100.1)"
    );
    // Same address and local_address.
    let text = format!(
        "{HEAD}[[peer]]\nname = \"a\"\nrole = \"peer\"\nasn = 64501\naddress = \"198.51.100.1\"\n\
         local_address = \"198.51.100.2\"\n{}\
         [[peer]]\nname = \"b\"\nrole = \"peer\"\nasn = 64502\naddress = \"198.51.100.1\"\n\
         local_address = \"198.51.100.2\"\n{}",
        router_line(1),
        router_line(2)
    );
    assert_eq!(
        error(&text),
        "t.toml:17:11: peer \"b\": its neighbor session (address 198.51.100.1, local_address \
         198.51.100.2) is the same as peer \"a\"'s neighbor session (address 198.51.100.1, \
         local_address 198.51.100.2)"
    );
    // Distinct local addresses tell the sessions apart.
    let ok = text.replacen(
        "local_address = \"198.51.100.2\"\nrouter",
        "local_address = \"198.51.100.4\"\nrouter",
        1,
    );
    assert!(parse_str(&ok, "t.toml").is_ok());
}

#[test]
fn two_pairs_cannot_share_one_router_session() {
    // The router tells its neighbors apart by address: each pair needs its own address toward
    // it.
    let text = with_peer(&format!(
        "[[peer]]\nname = \"b\"\nrole = \"peer\"\nasn = 64502\naddress = \"198.51.100.9\"\n{ROUTER}"
    ));
    assert_eq!(
        error(&text),
        "t.toml:17:10: peer \"b\": its router session (address 10.0.0.1, local_address \
         10.0.0.101) is the same as peer \"a\"'s router session (address 10.0.0.1, local_address \
         10.0.0.101)"
    );
    // Nor can a router session be another pair's neighbor session.
    let text = with_peer(&format!(
        "[[peer]]\nname = \"b\"\nrole = \"peer\"\nasn = 64502\naddress = \"10.0.0.1\"\n\
         local_address = \"10.0.0.101\"\n{}",
        router_line(2)
    ));
    assert_eq!(
        error(&text),
        "t.toml:16:11: peer \"b\": its neighbor session (address 10.0.0.1, local_address \
         10.0.0.101) is the same as peer \"a\"'s router session (address 10.0.0.1, local_address \
         10.0.0.101)"
    );
    // Nor its own neighbor session.
    let text = with_peer("").replace(
        "address = \"198.51.100.1\"\n",
        "address = \"10.0.0.1\"\nlocal_address = \"10.0.0.101\"\n",
    );
    assert_eq!(
        error(&text),
        "t.toml:12:10: peer \"a\": its router session (address 10.0.0.1, local_address \
         10.0.0.101) cannot be told apart from its neighbor session (address 10.0.0.1, \
         local_address 10.0.0.101)"
    );
}

#[test]
fn shared_address_needs_a_local_address_on_every_peer() {
    let text = with_peer(&format!(
        "[[peer]]\nname = \"b\"\nrole = \"peer\"\nasn = 64502\naddress = \"198.51.100.1\"\n\
         local_address = \"198.51.100.2\"\n{}",
        router_line(2)
    ));
    assert_eq!(
        error(&text),
        "t.toml:16:11: peer \"b\": its neighbor session (address 198.51.100.1, local_address \
         198.51.100.2) shares its remote address, without distinct local addresses, with peer \
         \"a\"'s neighbor session (address 198.51.100.1)"
    );
}

#[test]
fn next_hops_are_one_per_kind() {
    let c = parse_str(
        &with_peer("next_hop = [\"192.0.2.3\", \"2001:db8::3\", \"fe80::3\"]\n"),
        "t.toml",
    )
    .unwrap()
    .config;
    assert_eq!(
        c.peers[0].next_hop,
        NextHops {
            ipv4: Some("192.0.2.3".parse().unwrap()),
            ipv6: Some("2001:db8::3".parse().unwrap()),
            ipv6_link_local: Some("fe80::3".parse().unwrap()),
        }
    );
    assert_eq!(
        error(&with_peer("next_hop = [\"192.0.2.3\", \"192.0.2.4\"]\n")),
        "t.toml:12:12: peer \"a\": next_hop takes at most one IPv4, one IPv6 and one IPv6 \
         link-local address, none of them unspecified"
    );
}

#[test]
fn a_router_address_the_listeners_do_not_cover_is_reported() {
    let listen = HEAD.replace(
        "router_id = \"192.0.2.1\"\n",
        "router_id = \"192.0.2.1\"\nlisten = [\"127.0.0.1:1179\"]\n",
    );
    let text = with_peer("").replace(HEAD, &listen);
    assert_eq!(
        warnings(&text),
        vec![
            "t.toml:12:10: warning: peer \"a\": router.local_address 10.0.0.101 is not covered by \
             global.listen, so the router cannot connect to it"
        ]
    );
    let passive = text.replace(
        "local_address = \"10.0.0.101\" }",
        "local_address = \"10.0.0.101\", passive = true }",
    );
    assert!(error(&passive).contains("(and router.passive waits for it to)"));
}

#[test]
fn bad_and_zero_durations_are_rejected() {
    assert_eq!(
        error(&with_peer("idle_hold = \"5 seconds\"\n")),
        "t.toml:12:13: idle_hold: invalid duration \"5 seconds\": expected a number and a unit \
         (ms, s, m, h, d), e.g. \"30s\", \"10m\", \"2h\", \"1h30m\""
    );
    assert_eq!(
        error(&with_peer(
            "max_prefix_in = { ipv4 = 10, restart_after = \"0s\" }\n"
        )),
        "t.toml:12:46: max_prefix_in.restart_after must be longer than zero"
    );
    let text = "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n[rpki]\nexpire = 7200\n";
    assert_eq!(
        error(text),
        "t.toml:5:10: invalid type: integer `7200`, expected a string"
    );
}

#[test]
fn inverted_or_too_long_prefix_lengths_are_rejected() {
    assert_eq!(
        error(&with_peer("prefix_length_v4 = [24, 8]\n")),
        "t.toml:12:20: peer \"a\": prefix_length_v4 minimum /24 is longer than maximum /8"
    );
    assert_eq!(
        error(&with_peer("prefix_length_v6 = [16, 129]\n")),
        "t.toml:12:20: peer \"a\": prefix_length_v6 maximum /129 exceeds /128"
    );
    assert_eq!(
        error(&with_peer("prefix_length_v4 = [8, 24, 32]\n")),
        "t.toml:12:20: peer \"a\": prefix_length_v4 must be [SHORTEST, LONGEST], e.g. [8, 24]"
    );
}

#[test]
fn warn_at_above_100_is_rejected() {
    assert_eq!(
        error(&with_peer("max_prefix_in = { ipv4 = 10, warn_at = 120 }\n")),
        "t.toml:12:40: peer \"a\": max_prefix_in.warn_at 120 is above 100 (a percentage of the \
         limit)"
    );
}

#[test]
fn unknown_reason_code_in_checks_disable_is_rejected() {
    let e = error(&with_peer("checks_disable = [\"peerlock\", \"rpki\"]\n"));
    assert!(
        e.starts_with(
            "t.toml:12:31: peer \"a\": checks_disable: unknown reason code \"rpki\" (one of: \
             malformed, bogon-prefix,"
        ),
        "{e}"
    );
}

#[test]
fn the_removed_router_role_says_what_replaced_it() {
    let text = format!(
        "{HEAD}[[peer]]\nname = \"r\"\nrole = \"router\"\nasn = 64500\naddress = \"192.0.2.10\"\n"
    );
    let e = errors(&text);
    assert!(
        e[0].starts_with(
            "t.toml:8:8: peer \"r\": role \"router\" is gone: the router is not a [[peer]] any \
             more. Give each neighbor's [[peer]] a `router = { address = \"ROUTER\", \
             local_address = \"OWN ADDRESS TOWARD THE ROUTER\" }` table"
        ),
        "{e:#?}"
    );
}

#[test]
fn a_neighbor_with_the_global_asn_is_refused() {
    let text = format!(
        "{HEAD}[[peer]]\nname = \"p\"\nrole = \"peer\"\nasn = 64500\naddress = \"192.0.2.10\"\n\
         {ROUTER}"
    );
    assert_eq!(
        error(&text),
        "t.toml:9:7: peer \"p\": asn 64500 is the global asn: bgpsieve sits between the router \
         and its eBGP neighbors, an iBGP session has no place in a pair"
    );
}

#[test]
fn replay_takes_a_peer_without_a_router_table() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{HEAD}[[peer]]\nname = \"p\"\nrole = \"peer\"\nasn = 64501\naddress = \"192.0.2.10\"\n"
    );
    let f = write(dir.path(), "replay.toml", &text);
    assert!(load(&f).is_err(), "the daemon needs the router table");
    let c = load_for_replay(&f).unwrap().config;
    assert_eq!(c.peers[0].router, None);
}

#[test]
fn every_peer_needs_a_router_table() {
    let text = format!(
        "{HEAD}[[peer]]\nname = \"p\"\nrole = \"peer\"\nasn = 64501\naddress = \"192.0.2.10\"\n"
    );
    assert_eq!(
        error(&text),
        "t.toml:7:8: peer \"p\" has no router table: add `router = { address = \"ROUTER\", \
         local_address = \"OWN ADDRESS TOWARD THE ROUTER\" }` (the session on which bgpsieve \
         speaks to the router as this neighbor)"
    );
}

#[test]
fn unusable_asns_are_rejected() {
    assert_eq!(
        error("[global]\nasn = 23456\nrouter_id = \"192.0.2.1\"\n"),
        "t.toml:2:7: global.asn: 23456 cannot be used on a BGP session (RFC 7607, RFC 6793)"
    );
    assert_eq!(
        error("[global]\nasn = \"AS-FOO\"\nrouter_id = \"192.0.2.1\"\n"),
        "t.toml:2:7: global.asn: invalid ASN \"AS-FOO\""
    );
    assert_eq!(
        error("[global]\nasn = 4294967296\nrouter_id = \"192.0.2.1\"\n"),
        "t.toml:2:7: global.asn: AS number 4294967296 is out of range (0..=4294967295)"
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}[bogons]\nasns = [\"131071-64496\", \"x\"]\n"
        )),
        vec![
            "t.toml:7:9: bogons.asns: range 131071-64496 is inverted",
            "t.toml:7:25: bogons.asns: expected an ASN or a range \"FIRST-LAST\", e.g. \
             \"64496-131071\"",
        ]
    );
}

#[test]
fn other_semantic_checks_have_their_own_messages() {
    let cases = [
        (
            "local_address = \"2001:db8::1\"\n",
            "t.toml:12:17: peer \"a\": local_address 2001:db8::1 and address 198.51.100.1 are of \
             different address families",
        ),
        (
            "afi = []\n",
            "t.toml:12:7: peer \"a\": afi must list \"ipv4\", \"ipv6\" or both",
        ),
        (
            "afi = [\"ipv6\", \"ipv6\"]\n",
            "t.toml:12:7: peer \"a\": afi lists a family twice",
        ),
        (
            "burst_guard = { action = \"warn\" }\n",
            "t.toml:12:15: peer \"a\": burst_guard needs new_prefixes_per_min or \
             more_specifics_per_min",
        ),
        (
            "burst_guard = { new_prefixes_per_min = 0 }\n",
            "t.toml:12:40: peer \"a\": burst_guard rates must be at least 1 per minute",
        ),
        ("port = 0\n", "t.toml:12:8: peer \"a\": port must not be 0"),
        (
            "max_path_length = 0\n",
            "t.toml:12:19: peer \"a\": max_path_length must be at least 1",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(error(&with_peer(extra)), expected, "{extra}");
    }
    let long = "k".repeat(81);
    assert_eq!(
        error(&with_peer(&format!("md5_password = \"{long}\"\n"))),
        "t.toml:12:16: peer \"a\": md5_password is longer than 80 bytes (the TCP-MD5 key limit)"
    );
    assert_eq!(
        errors("[global]\nasn = 64500\nrouter_id = \"0.0.0.0\"\nhold_time = 2\n"),
        vec![
            "t.toml:3:13: router_id must not be 0.0.0.0 (RFC 6286 §2.1)",
            "t.toml:4:13: hold_time 2 must be 0 or at least 3 seconds (RFC 4271 §4.2)",
        ]
    );
}

#[test]
fn rpki_values_are_checked() {
    let text = "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n[rpki]\n\
                rtr = [{ address = \"127.0.0.1\" }, { address = \"cache.example.net:3323\" }]\n\
                expire = \"0s\"\nmax_shrink_percent = 101\n";
    assert_eq!(
        errors(text),
        vec![
            "t.toml:5:20: rtr address: \"127.0.0.1\" is not HOST:PORT (e.g. \"127.0.0.1:3323\", \
             \"rtr.example.net:323\")",
            "t.toml:6:10: expire must be longer than zero",
            "t.toml:7:22: max_shrink_percent 101 is above 100",
        ]
    );
}

#[test]
fn semantic_errors_are_collected_together_in_file_order() {
    let text = "[global]\n\
                asn = 64500\n\
                router_id = \"0.0.0.0\"\n\
                hold_time = 2\n\
                announce = [\"192.0.2.77/24\", \"198.51.100.0/22-21\"]\n\
                [[peer]]\n\
                name = \"a\"\n\
                role = \"customer\"\n\
                asn = 0\n\
                address = \"198.51.100.1\"\n\
                idle_hold = \"soon\"\n\
                checks_disable = [\"nope\"]\n\
                max_prefix_in = { ipv4 = 10, warn_at = 101 }\n\
                router = { address = \"10.0.0.1\", local_address = \"10.0.0.101\" }\n\
                [[peer]]\n\
                name = \"a\"\n\
                role = \"peer\"\n\
                asn = 64502\n\
                address = \"198.51.100.1\"\n\
                prefix_length_v4 = [25, 24]\n\
                router = { address = \"10.0.0.1\", local_address = \"10.0.0.102\" }\n";
    let e = errors(text);
    let located: Vec<&str> = e
        .iter()
        .map(|s| s.split(": ").next().unwrap_or_default())
        .collect();
    assert_eq!(
        located,
        [
            "t.toml:3:13",
            "t.toml:4:13",
            "t.toml:5:13",
            "t.toml:5:30",
            "t.toml:9:7",
            "t.toml:11:13",
            "t.toml:12:19",
            "t.toml:13:40",
            "t.toml:16:8",
            "t.toml:19:11",
            "t.toml:20:20",
        ],
        "{e:#?}"
    );
    assert_eq!(
        e[1],
        "t.toml:4:13: hold_time 2 must be 0 or at least 3 seconds (RFC 4271 §4.2)"
    );
    assert_eq!(
        e[4],
        "t.toml:9:7: peer \"a\": asn: 0 cannot be used on a BGP session (RFC 7607, RFC 6793)"
    );
}

// ---- warnings ----

#[test]
fn customer_or_peer_without_irr_data_is_warned_about() {
    let text = format!(
        "{HEAD}[[peer]]\nname = \"c\"\nrole = \"customer\"\nasn = 64501\naddress = \"198.51.100.1\"\n\
         {}[[peer]]\nname = \"t\"\nrole = \"provider\"\nasn = 64502\naddress = \"198.51.100.5\"\n\
         {}[[peer]]\nname = \"p\"\nrole = \"peer\"\nasn = 64503\naddress = \"198.51.100.9\"\n\
         checks_disable = [\"irr-unregistered\"]\n{}",
        router_line(1),
        router_line(2),
        router_line(3)
    );
    assert_eq!(
        warnings(&text),
        vec![
            "t.toml:7:8: warning: peer \"c\" (customer) has no IRR data (irr = []): \
             irr-unregistered is not checked for it"
        ]
    );
}

#[test]
fn md5_password_is_noted_but_never_shown() {
    let loaded = parse_str(&with_peer("md5_password = \"s3cr3t-key\"\n"), "t.toml").unwrap();
    assert_eq!(
        loaded.warnings,
        vec!["t.toml:12:16: warning: peer \"a\": md5_password is set (TCP-MD5, RFC 2385)"]
    );
    let peer = &loaded.config.peers[0];
    assert_eq!(
        peer.md5_password.as_ref().map(Secret::expose),
        Some("s3cr3t-key")
    );
    assert!(!format!("{:?}", loaded.config).contains("s3cr3t"));
}

#[test]
fn other_risky_settings_are_warned_about() {
    let text = "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n\
                [api]\nlisten = \"0.0.0.0:9179\"\n\
                [[peer]]\nname = \"rs\"\nrole = \"rs\"\nasn = 64501\naddress = \"203.0.113.1\"\n\
                next_hop_is_neighbor = true\n\
                router = { address = \"10.0.0.1\", local_address = \"10.0.0.101\" }\n";
    assert_eq!(
        warnings(text),
        vec![
            "t.toml: warning: no RPKI source (rpki.vrp_files, rpki.aspa_files, rpki.rtr): \
             rpki-invalid and aspa-invalid never reject anything",
            "t.toml:5:10: warning: api.listen 0.0.0.0:9179 is not a loopback address: /metrics \
             and /api/v1 have no authentication",
            "t.toml:11:24: warning: peer \"rs\": next_hop_is_neighbor with role \"rs\": a route \
             server passes its members' next hops, so nearly every route fails next-hop",
        ]
    );
}

// ---- data files ----

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    p
}

#[test]
fn missing_data_files_are_errors_at_their_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vrps.json", "{\"roas\": []}");
    let cfg = write(
        dir.path(),
        "bgpsieve.toml",
        "[global]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n\
         announce_irr = [\"cone.json\"]\n\
         [rpki]\nvrp_files = [\"vrps.json\", \"missing.json\"]\nslurm_files = [\".\"]\n",
    );
    let e = load(&cfg).unwrap_err();
    let lines: Vec<String> = e.0.iter().map(|e| e.to_string()).collect();
    let f = cfg.display().to_string();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!(
            "{f}:4:17: IRR file \"cone.json\" cannot be opened ({}): ",
            dir.path().join("cone.json").display()
        )),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{f}:6:27: VRP file \"missing.json\" cannot be opened"
        )),
        "{lines:#?}"
    );
    assert_eq!(
        lines[2],
        format!("{f}:7:16: SLURM file \".\" is not a regular file")
    );
    // The same text without a file behind it is not checked.
    assert!(parse_str(&std::fs::read_to_string(&cfg).unwrap(), "x.toml").is_ok());
}

#[test]
fn check_config_rejects_a_broken_irr_file_and_load_does_not_parse_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cust.txt",
        "route: 192.0.2.1/24\norigin: AS64501\n",
    );
    let cfg = write(
        dir.path(),
        "bgpsieve.toml",
        &with_peer("irr = [\"cust.txt\"]\n"),
    );
    assert!(load(&cfg).is_ok());
    let (ok, text) = check_config_report(&cfg);
    assert!(!ok);
    assert_eq!(
        text,
        format!(
            "{}:12:8: IRR file rejected: {}:1: route: host bits set in prefix 192.0.2.1/24 (the \
             network is 192.0.2.0/24)\n",
            cfg.display(),
            dir.path().join("cust.txt").display()
        )
    );
}

#[test]
fn check_config_prints_each_error_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "bgpsieve.toml",
        "[global]\nasn = 0\nrouter_id = \"0.0.0.0\"\n",
    );
    let (ok, text) = check_config_report(&cfg);
    assert!(!ok);
    let f = cfg.display();
    assert_eq!(
        text,
        format!(
            "{f}:2:7: global.asn: 0 cannot be used on a BGP session (RFC 7607, RFC 6793)\n\
             {f}:3:13: router_id must not be 0.0.0.0 (RFC 6286 §2.1)\n"
        )
    );
    let (ok, text) = check_config_report(&dir.path().join("absent.toml"));
    assert!(!ok);
    assert!(
        text.contains("absent.toml: cannot read the configuration: "),
        "{text}"
    );
}

#[test]
fn a_bad_global_asn_is_reported_once_not_again_for_every_peer() {
    let text = format!(
        "[global]\nasn = 0\nrouter_id = \"192.0.2.1\"\n\
         [[peer]]\nname = \"r\"\nrole = \"peer\"\nasn = 64501\naddress = \"192.0.2.10\"\n{ROUTER}"
    );
    let text = text.as_str();
    assert_eq!(
        errors(text),
        vec!["t.toml:2:7: global.asn: 0 cannot be used on a BGP session (RFC 7607, RFC 6793)"]
    );
}

#[test]
fn state_dir_and_incidents_keep() {
    let c = parse_str(&with_peer(""), "t.toml").unwrap().config;
    assert_eq!(c.global.state_dir, Path::new("/var/lib/bgpsieve"));
    assert_eq!(c.incidents.keep, 100);
    let text = with_peer("[incidents]\nkeep = 5000\n").replacen(
        "[global]\n",
        "[global]\nstate_dir = \"/srv/bgpsieve\"\n",
        1,
    );
    let c = parse_str(&text, "t.toml").unwrap().config;
    assert_eq!(c.global.state_dir, Path::new("/srv/bgpsieve"));
    assert_eq!(c.incidents.keep, 5000);
    assert_eq!(
        error(&with_peer("[incidents]\nkeep = 0\n")),
        "t.toml:13:8: incidents.keep must be between 1 and 100000"
    );
    assert_eq!(
        error(&HEAD.replacen("[global]\n", "[global]\nstate_dir = \"\"\n", 1)),
        "t.toml:2:13: state_dir: empty directory name"
    );
    // From a file, a relative directory is relative to the file's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.toml");
    std::fs::write(
        &path,
        with_peer("").replacen("[global]\n", "[global]\nstate_dir = \"state\"\n", 1),
    )
    .unwrap();
    let c = load(&path).unwrap().config;
    assert_eq!(c.global.state_dir, dir.path().join("state"));
}

#[test]
fn blackhole_defaults_follow_the_role_and_the_table_sets_them() {
    let peer_of = |text: &str| parse_str(text, "t.toml").unwrap().config.peers[0].blackhole;
    let customer = with_peer("").replace("role = \"provider\"", "role = \"customer\"");
    assert_eq!(
        peer_of(&customer),
        BlackholePolicy {
            accept: true,
            max_length_v4: 32,
            max_length_v6: 128
        }
    );
    let rs_client = with_peer("").replace("role = \"provider\"", "role = \"rs-client\"");
    assert!(peer_of(&rs_client).accept);
    for role in ["provider", "peer", "rs"] {
        let text = with_peer("").replace("role = \"provider\"", &format!("role = \"{role}\""));
        assert!(!peer_of(&text).accept, "{role}");
    }
    let set = format!(
        "{customer}blackhole = {{ accept = false, max_length_v4 = 30, max_length_v6 = 64 }}\n"
    );
    assert_eq!(
        peer_of(&set),
        BlackholePolicy {
            accept: false,
            max_length_v4: 30,
            max_length_v6: 64
        }
    );
    // A provider's maxima bound what the router sends it.
    let provider = with_peer("blackhole = { max_length_v4 = 28 }\n");
    assert_eq!(peer_of(&provider).max_length_v4, 28);
    assert!(!peer_of(&provider).accept);
}

#[test]
fn blackhole_errors_are_located() {
    assert_eq!(
        error(&with_peer("blackhole = { accept = true }\n")),
        "t.toml:12:24: peer \"a\": blackhole.accept = true with role \"provider\": only a \
         customer or an rs-client may ask for a blackhole (RFC 7999 §3.2); BLACKHOLE routes \
         from a provider, peer or route server are rejected as blackhole-unauthorized"
    );
    assert_eq!(
        error(&with_peer("blackhole = { max_length_v4 = 33 }\n")),
        "t.toml:12:31: peer \"a\": blackhole.max_length_v4 /33 exceeds /32"
    );
    assert_eq!(
        error(&with_peer(
            "prefix_length_v6 = [16, 64]\nblackhole = { max_length_v6 = 56 }\n"
        )),
        "t.toml:13:31: peer \"a\": blackhole.max_length_v6 /56 is shorter than the longest \
         prefix any route may have (prefix_length_v6 maximum /64)"
    );
    let e = error(&with_peer("blackhole = { accept = true, max_len = 32 }\n"));
    assert!(
        e.starts_with(
            "t.toml:12:30: unknown field `max_len`, expected one of `accept`, \
             `max_length_v4`, `max_length_v6`"
        ),
        "{e}"
    );
}

#[test]
fn shutdown_is_a_flag_or_a_message() {
    let shutdown_of = |extra: &str| {
        parse_str(&with_peer(extra), "t.toml").unwrap().config.peers[0]
            .shutdown
            .clone()
    };
    assert_eq!(shutdown_of(""), None);
    assert_eq!(shutdown_of("shutdown = false\n"), None);
    assert_eq!(shutdown_of("shutdown = true\n"), Some(String::new()));
    assert_eq!(
        shutdown_of("shutdown = \"maintenance until 14:00 UTC\"\n"),
        Some("maintenance until 14:00 UTC".into())
    );
    // 255 bytes fit a shutdown communication (RFC 9003).
    let longest = format!("shutdown = \"{}\"\n", "é".repeat(127) + "x");
    assert_eq!(shutdown_of(&longest).map(|m| m.len()), Some(255));
}

#[test]
fn shutdown_errors_are_located() {
    let long = format!("shutdown = \"{}\"\n", "x".repeat(256));
    assert_eq!(
        error(&with_peer(&long)),
        "t.toml:12:12: peer \"a\": shutdown: the message is 256 bytes; a shutdown \
         communication holds at most 255 (RFC 9003)"
    );
    assert_eq!(
        error(&with_peer("shutdown = \"line\\nbreak\"\n")),
        "t.toml:12:12: peer \"a\": shutdown: the message holds a control character (a line \
         break, a tab…)"
    );
    let e = error(&with_peer("shutdown = 1\n"));
    assert!(
        e.starts_with(
            "t.toml:12:12: invalid type: integer `1`, expected true, false or a shutdown message"
        ),
        "{e}"
    );
}
