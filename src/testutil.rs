//! Helpers shared by the unit tests of several modules.

use crate::bgp::open::Negotiated;
use crate::types::{Afi, Asn};

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `v` (not empty).
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// What a session with `asn` negotiated: 4-octet ASNs, IPv4 and IPv6, route refresh.
pub fn negotiated(asn: u32) -> Negotiated {
    Negotiated {
        peer_asn: Asn(asn),
        peer_router_id: "192.0.2.9".parse().unwrap(),
        hold_time: 90,
        keepalive: 30,
        four_octet_asn: true,
        families: vec![Afi::Ipv4, Afi::Ipv6],
        add_path_receive: vec![],
        add_path_send: vec![],
        extended_message: false,
        route_refresh: true,
        enhanced_route_refresh: false,
        peer_role: None,
        graceful_restart: None,
    }
}
