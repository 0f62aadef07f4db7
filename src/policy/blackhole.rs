//! RFC 7999 BLACKHOLE (65535:666): `blackhole-unauthorized` (16), and what an authorized
//! blackhole route may do that other routes may not.
//!
//! A blackhole route asks the receiver to drop traffic toward a prefix, usually a host route
//! under attack, so it is more specific than any prefix-length bound. RFC 7999 §3.2: a receiver
//! honours it only from a neighbor authorized to announce a covering prefix. bgpsieve decides
//! that here and leaves the rest to the router (it adds no NO_EXPORT, it changes no attribute):
//!
//! - **Import.** A route carrying BLACKHOLE is *authorized* when its neighbor is a customer or an
//!   RS client (`blackhole.accept`, on by default for those roles, and refused for the others by
//!   the configuration) and the prefix lies in the space that neighbor is authorized for: an
//!   entry of its IRR prefix list covers it (the entry's length range left aside, origin still
//!   matched), or a VRP whose ASN is the route's origin covers it (its maxLength left aside). An
//!   authorized blackhole may be longer than `prefix_length_v4`/`_v6` up to
//!   `blackhole.max_length_v4`/`_v6` (default /32 and /128); `irr-unregistered` asks whether the
//!   covering space is registered; `rpki-invalid` does not reject it when the only reason it is
//!   Invalid is a maxLength (a covering VRP of its origin exists). Every other check runs as
//!   for any route. Any other route carrying BLACKHOLE fails `blackhole-unauthorized`, whatever
//!   its length: from a provider, peer or route server, with `accept = false`, or outside the
//!   space.
//! - **Export.** A route the router sends with BLACKHOLE (asking the neighbor, typically an
//!   upstream, to blackhole the operator's own or a customer's address) is *authorized* when an
//!   `announce` entry covers it, length range left aside: then `not-announceable` and the length
//!   bound of `export-bogon` (up to the neighbor's `blackhole.max_length_v4`/`_v6`) let it
//!   through, and a maxLength-only Invalid is not `export-rpki-invalid`. Export has no reason of
//!   its own: a blackhole outside that space is judged as any route.

use super::{Ctx, LocalPolicy, PeerPolicy};
use crate::rpki::RpkiData;
use crate::types::{Asn, Community, Direction, PathOrigin, Role, Route};
use ipnet::IpNet;

/// The BLACKHOLE well-known community, 65535:666 (RFC 7999 §5).
pub const BLACKHOLE: Community = 0xFFFF_029A;

/// A neighbor's blackhole settings (`blackhole = { … }` of its `[[peer]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlackholePolicy {
    /// Blackhole routes from this neighbor may be authorized (customer and RS-client only).
    pub accept: bool,
    /// The longest IPv4 blackhole prefix accepted from or sent to the neighbor.
    pub max_length_v4: u8,
    /// The longest IPv6 blackhole prefix accepted from or sent to the neighbor.
    pub max_length_v6: u8,
}

impl BlackholePolicy {
    /// The defaults: accepted from the roles that may ask for it, host routes at most.
    pub fn for_role(role: Role) -> BlackholePolicy {
        BlackholePolicy {
            accept: role_may_blackhole(role),
            max_length_v4: 32,
            max_length_v6: 128,
        }
    }

    /// The longest blackhole prefix of `prefix`'s family.
    pub fn max_length(&self, prefix: &IpNet) -> u8 {
        match prefix {
            IpNet::V4(_) => self.max_length_v4,
            IpNet::V6(_) => self.max_length_v6,
        }
    }
}

/// The roles whose blackhole routes may be accepted: a customer asks its provider, an RS client
/// its route server. A provider, a lateral peer or a route server we are a client of has no
/// authority over space it does not originate for us.
pub fn role_may_blackhole(role: Role) -> bool {
    matches!(role, Role::Customer | Role::RsClient)
}

/// What a route is, as far as blackholing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blackhole {
    /// The route does not carry BLACKHOLE.
    #[default]
    Untagged,
    /// It carries BLACKHOLE and its neighbor may not ask for it, or not for this prefix.
    Unauthorized,
    /// It carries BLACKHOLE from a neighbor that may ask for it, inside its space.
    Authorized {
        /// A VRP whose ASN is the route's origin covers the prefix (its maxLength left aside):
        /// a ROV Invalid is then only a maxLength.
        roa: bool,
    },
}

impl Blackhole {
    pub fn is_authorized(self) -> bool {
        matches!(self, Blackhole::Authorized { .. })
    }
}

/// `blackhole-unauthorized`: the route carries BLACKHOLE and is not authorized.
pub fn blackhole_unauthorized(_route: &Route, ctx: &Ctx<'_>) -> bool {
    ctx.blackhole == Blackhole::Unauthorized
}

/// Whether the route carries BLACKHOLE.
pub fn is_tagged(route: &Route) -> bool {
    route.attrs.communities.contains(&BLACKHOLE)
}

/// The route's blackhole state for `direction` (module doc). Untagged routes cost one scan of
/// their communities; the coverage lookups run only for tagged ones.
pub fn classify(
    direction: Direction,
    route: &Route,
    peer: &PeerPolicy,
    local: &LocalPolicy,
    rpki: &RpkiData,
) -> Blackhole {
    if !is_tagged(route) {
        return Blackhole::Untagged;
    }
    let authorized = match direction {
        Direction::In => import_grant(route, peer, rpki),
        Direction::Out => export_grant(route, local, rpki),
    };
    authorized.map_or(Blackhole::Unauthorized, |roa| Blackhole::Authorized { roa })
}

/// `Some(roa)` when a tagged route from `peer` is authorized (`roa`: a covering VRP of its
/// origin exists), `None` when it is not.
fn import_grant(route: &Route, peer: &PeerPolicy, rpki: &RpkiData) -> Option<bool> {
    if !(peer.blackhole.accept && role_may_blackhole(peer.role)) {
        return None;
    }
    let origin = match route.attrs.as_path.origin() {
        Some(PathOrigin::Asn(a)) => Some(a),
        // An AS_SET origin matches no route object and no ROA.
        Some(PathOrigin::None) => return None,
        None => None,
    };
    let roa = origin.is_some_and(|o| roa_of_origin_covers(rpki, &route.prefix, o));
    let irr = peer
        .irr
        .as_deref()
        .is_some_and(|list| list.covers(&route.prefix, origin));
    (roa || irr).then_some(roa)
}

/// `Some(roa)` when a route the router sends with BLACKHOLE lies in the announceable space.
fn export_grant(route: &Route, local: &LocalPolicy, rpki: &RpkiData) -> Option<bool> {
    if !local.announce.covers(&route.prefix, None) {
        return None;
    }
    let roa = match super::route_origin(route, local) {
        PathOrigin::Asn(o) => roa_of_origin_covers(rpki, &route.prefix, o),
        PathOrigin::None => false,
    };
    Some(roa)
}

/// A VRP with ASN `origin` covers `prefix`, whatever its maxLength (never for AS0, RFC 6483 §4).
fn roa_of_origin_covers(rpki: &RpkiData, prefix: &IpNet, origin: Asn) -> bool {
    origin != Asn(0) && rpki.has_vrps() && rpki.covers_with_origin(prefix, origin)
}

#[cfg(test)]
mod tests;
