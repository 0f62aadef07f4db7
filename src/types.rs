//! Core value types shared by every part of bgpsieve: ASNs, address families, roles, AS paths,
//! route attributes and routes. Plain data, no I/O.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// An autonomous system number (RFC 6793: always 4 octets here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Asn(pub u32);

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AS{}", self.0)
    }
}

impl FromStr for Asn {
    type Err = String;
    /// Accepts `64500`, `AS64500` / `as64500`, and asdot `1.10` (RFC 5396).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_prefix("AS")
            .or_else(|| t.strip_prefix("as"))
            .or_else(|| t.strip_prefix("As"))
            .unwrap_or(t);
        if let Some((hi, lo)) = t.split_once('.') {
            let hi: u16 = hi.parse().map_err(|_| format!("invalid ASN {s:?}"))?;
            let lo: u16 = lo.parse().map_err(|_| format!("invalid ASN {s:?}"))?;
            return Ok(Asn((u32::from(hi) << 16) | u32::from(lo)));
        }
        t.parse::<u32>()
            .map(Asn)
            .map_err(|_| format!("invalid ASN {s:?}"))
    }
}

impl From<u32> for Asn {
    fn from(v: u32) -> Self {
        Asn(v)
    }
}

/// Address family of a unicast route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Afi {
    Ipv4,
    Ipv6,
}

impl Afi {
    pub fn of(prefix: &IpNet) -> Afi {
        match prefix {
            IpNet::V4(_) => Afi::Ipv4,
            IpNet::V6(_) => Afi::Ipv6,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
        }
    }
}

/// One value per address family: `counts[afi]` with no bounds to get wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerAfi<T> {
    pub ipv4: T,
    pub ipv6: T,
}

impl<T> PerAfi<T> {
    pub fn new(mut f: impl FnMut(Afi) -> T) -> PerAfi<T> {
        PerAfi {
            ipv4: f(Afi::Ipv4),
            ipv6: f(Afi::Ipv6),
        }
    }
}

impl<T> std::ops::Index<Afi> for PerAfi<T> {
    type Output = T;
    fn index(&self, afi: Afi) -> &T {
        match afi {
            Afi::Ipv4 => &self.ipv4,
            Afi::Ipv6 => &self.ipv6,
        }
    }
}

impl<T> std::ops::IndexMut<Afi> for PerAfi<T> {
    fn index_mut(&mut self, afi: Afi) -> &mut T {
        match afi {
            Afi::Ipv4 => &mut self.ipv4,
            Afi::Ipv6 => &mut self.ipv6,
        }
    }
}

impl fmt::Display for Afi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The relationship of a neighbor to us (RFC 9234 roles). `Provider` means: the neighbor is our
/// provider (we are its customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Provider,
    Customer,
    Peer,
    /// A route server we are a client of (RFC 7947): transparent, first AS is not the RS's.
    Rs,
    /// A client of ours, when we act as the route server.
    RsClient,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Customer => "customer",
            Role::Peer => "peer",
            Role::Rs => "rs",
            Role::RsClient => "rs-client",
        }
    }

    /// The same relationship seen from the other end: what we are to the neighbor. Toward the
    /// router bgpsieve speaks as the neighbor, so the router has this role there (a provider's
    /// pair sees the router as the provider's customer).
    pub fn inverse(self) -> Role {
        match self {
            Role::Provider => Role::Customer,
            Role::Customer => Role::Provider,
            Role::Peer => Role::Peer,
            Role::Rs => Role::RsClient,
            Role::RsClient => Role::Rs,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "provider" => Role::Provider,
            "customer" => Role::Customer,
            "peer" => Role::Peer,
            "rs" => Role::Rs,
            "rs-client" => Role::RsClient,
            _ => {
                return Err(format!(
                    "unknown role {s:?} (provider, customer, peer, rs, rs-client)"
                ))
            }
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a route travels through bgpsieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received from a neighbor, going to the router.
    In,
    /// Announced by the router, going to a neighbor.
    Out,
}

/// One value per direction: `trips[direction]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerDirection<T> {
    pub inbound: T,
    pub outbound: T,
}

impl<T> PerDirection<T> {
    pub fn new(mut f: impl FnMut(Direction) -> T) -> PerDirection<T> {
        PerDirection {
            inbound: f(Direction::In),
            outbound: f(Direction::Out),
        }
    }
}

impl<T> std::ops::Index<Direction> for PerDirection<T> {
    type Output = T;
    fn index(&self, d: Direction) -> &T {
        match d {
            Direction::In => &self.inbound,
            Direction::Out => &self.outbound,
        }
    }
}

impl<T> std::ops::IndexMut<Direction> for PerDirection<T> {
    fn index_mut(&mut self, d: Direction) -> &mut T {
        match d {
            Direction::In => &mut self.inbound,
            Direction::Out => &mut self.outbound,
        }
    }
}

/// The two sessions of a pair (DESIGN §1): toward the neighbor bgpsieve speaks as the operator's
/// router; toward the router it speaks as the neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Neighbor,
    Router,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Neighbor, Side::Router];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Neighbor => "neighbor",
            Side::Router => "router",
        }
    }

    /// The other session of the pair.
    pub fn other(self) -> Side {
        match self {
            Side::Neighbor => Side::Router,
            Side::Router => Side::Neighbor,
        }
    }

    /// The direction of the routes received on this side: from the neighbor they go in
    /// (import), from the router out (export).
    pub fn received(self) -> Direction {
        match self {
            Side::Neighbor => Direction::In,
            Side::Router => Direction::Out,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per side of a pair: `sessions[side]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerSide<T> {
    pub neighbor: T,
    pub router: T,
}

impl<T> PerSide<T> {
    pub fn new(mut f: impl FnMut(Side) -> T) -> PerSide<T> {
        PerSide {
            neighbor: f(Side::Neighbor),
            router: f(Side::Router),
        }
    }

    /// The value of one side, the other dropped.
    pub fn into_side(self, side: Side) -> T {
        match side {
            Side::Neighbor => self.neighbor,
            Side::Router => self.router,
        }
    }
}

impl<T> std::ops::Index<Side> for PerSide<T> {
    type Output = T;
    fn index(&self, s: Side) -> &T {
        match s {
            Side::Neighbor => &self.neighbor,
            Side::Router => &self.router,
        }
    }
}

impl<T> std::ops::IndexMut<Side> for PerSide<T> {
    fn index_mut(&mut self, s: Side) -> &mut T {
        match s {
            Side::Neighbor => &mut self.neighbor,
            Side::Router => &mut self.router,
        }
    }
}

/// One session of bgpsieve: a side of a configured pair. Pair ids are positions in the
/// configuration's `[[peer]]` list, assigned by bgpsieve, never taken from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    pub pair: usize,
    pub side: Side,
}

impl SessionId {
    pub fn new(pair: usize, side: Side) -> SessionId {
        SessionId { pair, side }
    }
    /// The other session of the same pair.
    pub fn twin(self) -> SessionId {
        SessionId {
            pair: self.pair,
            side: self.side.other(),
        }
    }
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// BGP ORIGIN attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Igp,
    Egp,
    #[default]
    Incomplete,
}

/// One AS_PATH segment (RFC 4271 §4.3, RFC 5065 confederation segments).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Sequence(Vec<Asn>),
    Set(Vec<Asn>),
    ConfedSequence(Vec<Asn>),
    ConfedSet(Vec<Asn>),
}

impl Segment {
    pub fn asns(&self) -> &[Asn] {
        match self {
            Segment::Sequence(v)
            | Segment::Set(v)
            | Segment::ConfedSequence(v)
            | Segment::ConfedSet(v) => v,
        }
    }
}

/// The origin of a path for RFC 6811: a single ASN, or none when the path ends in an AS_SET
/// (RFC 6811 §2: "NONE"; such a route can only be NotFound or Invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathOrigin {
    Asn(Asn),
    None,
}

/// An AS_PATH (with AS4_PATH already merged, RFC 6793 §4.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    pub segments: Vec<Segment>,
}

impl AsPath {
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> AsPath {
        let v: Vec<Asn> = asns.into_iter().map(Asn).collect();
        if v.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment::Sequence(v)],
        }
    }

    /// Parses the usual text form: `64501 64502 {64510,64511}`; `(...)` is a confederation sequence,
    /// `[...]` a confederation set.
    pub fn parse(s: &str) -> Result<AsPath, String> {
        let mut segments: Vec<Segment> = Vec::new();
        let mut seq: Vec<Asn> = Vec::new();
        let mut rest = s.trim();
        while let Some(c) = rest.chars().next() {
            let close = match c {
                '{' => Some('}'),
                '(' => Some(')'),
                '[' => Some(']'),
                _ => None,
            };
            if let Some(close) = close {
                if !seq.is_empty() {
                    segments.push(Segment::Sequence(std::mem::take(&mut seq)));
                }
                let end = rest
                    .find(close)
                    .ok_or_else(|| format!("unclosed {c:?} in AS path {s:?}"))?;
                let members = rest[1..end]
                    .split(|ch: char| ch == ',' || ch.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(Asn::from_str)
                    .collect::<Result<Vec<_>, _>>()?;
                segments.push(match close {
                    '}' => Segment::Set(members),
                    ')' => Segment::ConfedSequence(members),
                    _ => Segment::ConfedSet(members),
                });
                rest = rest[end + 1..].trim_start();
            } else {
                let end = rest
                    .find(|ch: char| ch.is_whitespace() || ch == '{' || ch == '(' || ch == '[')
                    .unwrap_or(rest.len());
                seq.push(rest[..end].parse()?);
                rest = rest[end..].trim_start();
            }
        }
        if !seq.is_empty() {
            segments.push(Segment::Sequence(seq));
        }
        Ok(AsPath { segments })
    }

    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns().is_empty())
    }

    /// Every ASN in every segment, left to right.
    pub fn asns(&self) -> impl Iterator<Item = Asn> + '_ {
        self.segments.iter().flat_map(|s| s.asns().iter().copied())
    }

    /// Number of ASNs over all segments (the `as-path-length` check counts these).
    pub fn asn_count(&self) -> usize {
        self.segments.iter().map(|s| s.asns().len()).sum()
    }

    /// The left-most ASN, if the path starts with an AS_SEQUENCE.
    pub fn first_asn(&self) -> Option<Asn> {
        match self.segments.first() {
            Some(Segment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// RFC 6811 §2: the right-most ASN of a final AS_SEQUENCE; NONE if the last segment is
    /// an AS_SET (or any other kind); for an empty path (a route of our own iBGP) the
    /// caller supplies the local AS.
    pub fn origin(&self) -> Option<PathOrigin> {
        match self.segments.iter().rev().find(|s| !s.asns().is_empty()) {
            None => None,
            Some(Segment::Sequence(v)) => v.last().copied().map(PathOrigin::Asn),
            Some(_) => Some(PathOrigin::None),
        }
    }

    pub fn has_set_or_confed(&self) -> bool {
        self.segments
            .iter()
            .any(|s| !matches!(s, Segment::Sequence(_)) && !s.asns().is_empty())
    }

    /// The path with AS_SEQUENCE prepends collapsed, in the order received (left = nearest).
    /// `None` if the path holds anything but AS_SEQUENCE segments.
    pub fn dedup_sequence(&self) -> Option<Vec<Asn>> {
        let mut out: Vec<Asn> = Vec::with_capacity(self.asn_count());
        for s in &self.segments {
            match s {
                Segment::Sequence(v) => {
                    for a in v {
                        if out.last() != Some(a) {
                            out.push(*a);
                        }
                    }
                }
                _ if s.asns().is_empty() => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// A new path with `asn` prepended (what an eBGP speaker sends).
    pub fn prepend(&self, asn: Asn) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(Segment::Sequence(v)) if v.len() < 255 => v.insert(0, asn),
            _ => segments.insert(0, Segment::Sequence(vec![asn])),
        }
        AsPath { segments }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            let (open, close, sep) = match s {
                Segment::Sequence(_) => ("", "", " "),
                Segment::Set(_) => ("{", "}", ","),
                Segment::ConfedSequence(_) => ("(", ")", " "),
                Segment::ConfedSet(_) => ("[", "]", ","),
            };
            if s.asns().is_empty() {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(open)?;
            for (i, a) in s.asns().iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{}", a.0)?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// RFC 1997 community value.
pub type Community = u32;
/// RFC 8092 large community.
pub type LargeCommunity = [u32; 3];

/// The path attributes bgpsieve looks at. All prefixes of one UPDATE share one `Arc<Attrs>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Attrs {
    pub origin: Origin,
    pub as_path: AsPath,
    /// NEXT_HOP, or the global next hop of MP_REACH_NLRI.
    pub next_hop: Option<IpAddr>,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    /// RFC 9234 Only-to-Customer.
    pub otc: Option<Asn>,
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    /// Count of extended communities (they count toward `too-many-communities`).
    pub ext_community_count: usize,
    /// RFC 7606 treat-as-withdraw findings, human-readable; non-empty means `malformed`.
    pub malformed: Vec<String>,
}

impl Attrs {
    pub fn community_count(&self) -> usize {
        self.communities.len() + self.large_communities.len() + self.ext_community_count
    }
}

/// One route: a prefix (with ADD-PATH identifier) and its shared attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: IpNet,
    pub path_id: Option<u32>,
    pub attrs: Arc<Attrs>,
}

impl Route {
    pub fn new(prefix: IpNet, attrs: Arc<Attrs>) -> Route {
        Route {
            prefix,
            path_id: None,
            attrs,
        }
    }
    pub fn afi(&self) -> Afi {
        Afi::of(&self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_parses_plain_prefixed_and_asdot() {
        assert_eq!("64500".parse::<Asn>().unwrap(), Asn(64500));
        assert_eq!("AS15169".parse::<Asn>().unwrap(), Asn(15169));
        assert_eq!("1.10".parse::<Asn>().unwrap(), Asn(65546));
        assert!("AS-FOO".parse::<Asn>().is_err());
    }

    #[test]
    fn as_path_parses_sets_and_confeds_and_prints_back() {
        let p = AsPath::parse("701 15169 {64510,64511}").unwrap();
        assert_eq!(p.segments.len(), 2);
        assert_eq!(p.to_string(), "701 15169 {64510,64511}");
        assert_eq!(p.origin(), Some(PathOrigin::None));
        assert!(p.has_set_or_confed());
        let q = AsPath::parse("(65001 65002) 3356 3356 13335").unwrap();
        assert_eq!(q.first_asn(), None);
        assert_eq!(q.origin(), Some(PathOrigin::Asn(Asn(13335))));
        assert_eq!(q.asn_count(), 5);
    }

    #[test]
    fn as_path_parse_refuses_garbage_without_panicking() {
        for bad in ["{1,2", "1 x 3", "(", "{é}", "99999999999", "1 {2,}}"] {
            assert!(AsPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dedup_sequence_collapses_prepends_and_refuses_sets() {
        let p = AsPath::parse("3356 3356 174 174 174 13335").unwrap();
        assert_eq!(
            p.dedup_sequence().unwrap(),
            vec![Asn(3356), Asn(174), Asn(13335)]
        );
        assert!(AsPath::parse("1 {2,3}").unwrap().dedup_sequence().is_none());
    }

    #[test]
    fn prepend_adds_to_first_sequence() {
        let p = AsPath::parse("64501 64502").unwrap().prepend(Asn(64500));
        assert_eq!(p.to_string(), "64500 64501 64502");
        let q = AsPath::parse("{1,2}").unwrap().prepend(Asn(64500));
        assert_eq!(q.to_string(), "64500 {1,2}");
    }
}
