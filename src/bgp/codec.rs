//! BGP message framing (RFC 4271 §4.1, RFC 8654 extended messages) and the ROUTE-REFRESH
//! message (RFC 2918, RFC 7313). Sans-IO: the session task feeds received bytes into a
//! [`Decoder`] and writes what [`encode`] returns; this module never touches a socket, a timer
//! or session state. A header error comes back as the exact NOTIFICATION to send.

use super::notification::Notification;

/// The 16-octet all-ones marker (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];
/// Marker, length, type.
pub const HEADER_LEN: usize = 19;
/// Largest message without RFC 8654.
pub const MAX_LEN: usize = 4096;
/// Largest message once both sides advertised the Extended Message capability (RFC 8654).
pub const EXTENDED_MAX_LEN: usize = 65535;

/// The BGP message types bgpsieve speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Open,
    Update,
    Notification,
    Keepalive,
    RouteRefresh,
}

impl MessageType {
    /// The Type octet.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<MessageType> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// Smallest valid message of this type, header included (RFC 4271 §4.2–§4.5, RFC 2918 §3).
    pub fn min_len(self) -> usize {
        match self {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => HEADER_LEN,
            MessageType::RouteRefresh => 23,
        }
    }

    /// Largest valid message of this type when the session allows `max_len`: KEEPALIVE is
    /// exactly a header, and OPEN never grows past 4096 (RFC 8654 §3: it is sent before the
    /// capability is known).
    pub fn max_len(self, max_len: usize) -> usize {
        match self {
            MessageType::Keepalive => HEADER_LEN,
            MessageType::Open => max_len.min(MAX_LEN),
            _ => max_len,
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        })
    }
}

/// One complete message: its type and the bytes after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: MessageType,
    pub body: Vec<u8>,
}

/// A message that cannot be sent as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{kind} message of {len} bytes is outside {min}..={max}")]
    BadLength {
        kind: MessageType,
        len: usize,
        min: usize,
        max: usize,
    },
    #[error("capability {code} has a value longer than 255 bytes")]
    CapabilityTooLong { code: u8 },
}

/// Splits a byte stream into messages. Starts at [`MAX_LEN`]; raise it with
/// [`Decoder::set_max_len`] once RFC 8654 Extended Message is negotiated.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_len: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { max_len: MAX_LEN }
    }
}

/// What the header at the front of a buffer says.
enum Head {
    /// Not enough bytes to know yet.
    Partial,
    /// A complete message of `len` bytes is at the front.
    Complete { kind: MessageType, len: usize },
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Clamped to `MAX_LEN..=EXTENDED_MAX_LEN`: no BGP speaker may refuse a 4096-byte message.
    pub fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len.clamp(MAX_LEN, EXTENDED_MAX_LEN);
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Checks the header at `buf[at..]`. Errors are reported as soon as the bytes that show
    /// them have arrived: a bad marker octet does not wait for the rest of the header.
    fn head(&self, buf: &[u8], at: usize) -> Result<Head, Notification> {
        let buf = buf.get(at..).unwrap_or_default();
        let marker = buf.get(..16).unwrap_or(buf);
        if marker.iter().any(|&b| b != 0xff) {
            return Err(Notification::connection_not_synchronized());
        }
        let (len, kind) = match buf.get(16..HEADER_LEN) {
            Some(&[hi, lo, kind]) => (u16::from_be_bytes([hi, lo]), kind),
            _ => return Ok(Head::Partial),
        };
        let n = usize::from(len);
        if n < HEADER_LEN || n > self.max_len {
            return Err(Notification::bad_message_length(len));
        }
        let kind = MessageType::from_code(kind).ok_or(Notification::bad_message_type(kind))?;
        if n < kind.min_len() || n > kind.max_len(self.max_len) {
            return Err(Notification::bad_message_length(len));
        }
        if buf.len() < n {
            return Ok(Head::Partial);
        }
        Ok(Head::Complete { kind, len: n })
    }

    /// Takes one complete message off the front of `buf`. `Ok(None)`: more bytes are needed
    /// (the buffer is left as it is). `Err`: the NOTIFICATION to send before closing; the
    /// buffer is then garbage and should be dropped with the connection.
    pub fn decode(&mut self, buf: &mut Vec<u8>) -> Result<Option<Frame>, Notification> {
        match self.head(buf, 0)? {
            Head::Partial => Ok(None),
            Head::Complete { kind, len } => {
                let body = buf.get(HEADER_LEN..len).unwrap_or_default().to_vec();
                buf.drain(..len);
                Ok(Some(Frame { kind, body }))
            }
        }
    }

    /// Takes every complete message off the front of `buf` into `out`, shifting the remaining
    /// bytes once for the whole batch (cheaper than [`Decoder::decode`] in a loop when one read
    /// returns many small messages). On error, the messages before the bad one are in `out`.
    pub fn decode_all(
        &mut self,
        buf: &mut Vec<u8>,
        out: &mut Vec<Frame>,
    ) -> Result<(), Notification> {
        let mut at = 0;
        let result = loop {
            match self.head(buf, at) {
                Ok(Head::Partial) => break Ok(()),
                Ok(Head::Complete { kind, len }) => {
                    let body = buf
                        .get(at + HEADER_LEN..at + len)
                        .unwrap_or_default()
                        .to_vec();
                    out.push(Frame { kind, body });
                    at += len;
                }
                Err(n) => break Err(n),
            }
        };
        buf.drain(..at);
        result
    }
}

/// A complete message, for a session without RFC 8654 (at most [`MAX_LEN`] bytes).
pub fn encode(kind: MessageType, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    encode_with_max(kind, body, MAX_LEN)
}

/// A complete message, for a session whose negotiated maximum is `max_len` (see
/// [`MessageType::max_len`] for the per-type limits).
pub fn encode_with_max(
    kind: MessageType,
    body: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, EncodeError> {
    let len = HEADER_LEN + body.len();
    let max = kind.max_len(max_len.min(EXTENDED_MAX_LEN));
    let min = kind.min_len();
    let wire_len = match u16::try_from(len) {
        Ok(l) if len >= min && len <= max => l,
        _ => {
            return Err(EncodeError::BadLength {
                kind,
                len,
                min,
                max,
            })
        }
    };
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&wire_len.to_be_bytes());
    out.push(kind.code());
    out.extend_from_slice(body);
    Ok(out)
}

/// A KEEPALIVE (RFC 4271 §4.4): a bare header.
pub fn encode_keepalive() -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&(HEADER_LEN as u16).to_be_bytes());
    out.push(MessageType::Keepalive.code());
    out
}

/// ROUTE-REFRESH message subtype (RFC 7313 §3; RFC 2918 calls the octet Reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshSubtype {
    /// 0: a request to re-advertise the Adj-RIB-Out (RFC 2918).
    Request,
    /// 1: Beginning of Route Refresh.
    Begin,
    /// 2: End of Route Refresh.
    End,
    /// Anything else: RFC 7313 §4 says to ignore the message.
    Other(u8),
}

impl RefreshSubtype {
    pub fn code(self) -> u8 {
        match self {
            RefreshSubtype::Request => 0,
            RefreshSubtype::Begin => 1,
            RefreshSubtype::End => 2,
            RefreshSubtype::Other(v) => v,
        }
    }

    pub fn from_code(v: u8) -> RefreshSubtype {
        match v {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::Begin,
            2 => RefreshSubtype::End,
            v => RefreshSubtype::Other(v),
        }
    }
}

/// A ROUTE-REFRESH message (RFC 2918 §3, RFC 7313 §3). AFI and SAFI are kept as codes so a
/// refresh for a family we do not carry can still be logged and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    pub afi: u16,
    pub subtype: RefreshSubtype,
    pub safi: u8,
}

impl RouteRefresh {
    /// A plain refresh request for one unicast family.
    pub fn request(afi: crate::types::Afi) -> RouteRefresh {
        RouteRefresh {
            afi: super::capability::afi_code(afi),
            subtype: RefreshSubtype::Request,
            safi: super::capability::SAFI_UNICAST,
        }
    }

    /// The complete message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(23);
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&23u16.to_be_bytes());
        out.push(MessageType::RouteRefresh.code());
        out.extend_from_slice(&self.afi.to_be_bytes());
        out.push(self.subtype.code());
        out.push(self.safi);
        out
    }

    /// Decodes the body (after the header). A BoRR/EoRR whose body is not exactly 4 bytes is
    /// 7/1 with the whole message as data (RFC 7313 §5). A longer subtype-0 message carries
    /// RFC 5291 ORF entries, which we never negotiate: the entries are ignored.
    pub fn decode(body: &[u8]) -> Result<RouteRefresh, Notification> {
        let invalid = || {
            let mut msg = Vec::with_capacity(HEADER_LEN + body.len());
            msg.extend_from_slice(&MARKER);
            let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
            msg.extend_from_slice(&len.to_be_bytes());
            msg.push(MessageType::RouteRefresh.code());
            msg.extend_from_slice(body);
            Notification::route_refresh_invalid_length(&msg)
        };
        let Some(&[a0, a1, subtype, safi]) = body.get(..4) else {
            return Err(invalid());
        };
        let subtype = RefreshSubtype::from_code(subtype);
        if body.len() != 4 && matches!(subtype, RefreshSubtype::Begin | RefreshSubtype::End) {
            return Err(invalid());
        }
        Ok(RouteRefresh {
            afi: u16::from_be_bytes([a0, a1]),
            subtype,
            safi,
        })
    }
}

/// Helpers shared by the wire tests of `bgp`.
#[cfg(test)]
pub(super) mod testutil {
    /// Bytes from hex text; whitespace is ignored.
    pub fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// `len` pseudo-random bytes (xorshift64), and a random length up to `len` for variety.
    pub fn xorshift_bytes(state: &mut u64, max_len: usize) -> Vec<u8> {
        let mut next = || {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        };
        let len = (next() % (max_len as u64 + 1)) as usize;
        (0..len).map(|_| (next() >> 24) as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{hex, xorshift_bytes};
    use super::*;

    fn header(len: u16, kind: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(kind);
        v
    }

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = header((HEADER_LEN + body.len()) as u16, kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn keepalive_round_trips() {
        let wire = encode_keepalive();
        assert_eq!(wire, hex("ffffffffffffffffffffffffffffffff001304"));
        assert_eq!(encode(MessageType::Keepalive, &[]).unwrap(), wire);
        let mut buf = wire.clone();
        let f = Decoder::new().decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            f,
            Frame {
                kind: MessageType::Keepalive,
                body: vec![]
            }
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn decode_waits_for_a_complete_message_and_leaves_the_rest() {
        let a = msg(2, &[0, 0, 0, 0]);
        let b = encode_keepalive();
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        let mut d = Decoder::new();
        // Fed one byte at a time: no frame until each message is whole.
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        for byte in &stream {
            buf.push(*byte);
            while let Some(f) = d.decode(&mut buf).unwrap() {
                frames.push(f);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(
            frames,
            vec![
                Frame {
                    kind: MessageType::Update,
                    body: vec![0, 0, 0, 0]
                },
                Frame {
                    kind: MessageType::Keepalive,
                    body: vec![]
                }
            ]
        );
        // A partial second message stays in the buffer untouched.
        let mut buf = a.clone();
        buf.extend_from_slice(&b[..10]);
        assert!(d.decode(&mut buf).unwrap().is_some());
        assert_eq!(buf, b[..10].to_vec());
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        assert_eq!(buf, b[..10].to_vec());
    }

    #[test]
    fn decode_all_takes_every_complete_message_in_one_shift() {
        let mut buf = Vec::new();
        for _ in 0..3 {
            buf.extend_from_slice(&encode_keepalive());
        }
        buf.extend_from_slice(&msg(5, &[0, 1, 0, 1]));
        buf.extend_from_slice(&[0xff; 5]);
        let mut out = Vec::new();
        Decoder::new().decode_all(&mut buf, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[3].kind, MessageType::RouteRefresh);
        assert_eq!(buf, vec![0xff; 5]);
        // An error after good messages: the good ones are delivered, the error reported.
        let mut buf = encode_keepalive();
        buf.extend_from_slice(&header(19, 9));
        let mut out = Vec::new();
        assert_eq!(
            Decoder::new().decode_all(&mut buf, &mut out),
            Err(Notification::bad_message_type(9))
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_bad_marker_is_connection_not_synchronized_as_soon_as_seen() {
        let mut buf = vec![0xff, 0xff, 0xfe];
        assert_eq!(
            Decoder::new().decode(&mut buf),
            Err(Notification::new(1, 1, vec![]))
        );
        let mut wire = encode_keepalive();
        wire[15] = 0;
        assert_eq!(
            Decoder::new().decode(&mut wire),
            Err(Notification::new(1, 1, vec![]))
        );
    }

    #[test]
    fn length_outside_19_to_max_is_bad_message_length_with_the_length() {
        for len in [0u16, 18, 4097, 65535] {
            let mut buf = header(len, 2);
            assert_eq!(
                Decoder::new().decode(&mut buf),
                Err(Notification::new(1, 2, len.to_be_bytes().to_vec())),
                "length {len}"
            );
        }
        // With RFC 8654 negotiated, a 65535-byte UPDATE is fine.
        let mut d = Decoder::new();
        d.set_max_len(EXTENDED_MAX_LEN);
        let mut buf = msg(2, &vec![0; 65535 - 19]);
        let f = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.body.len(), 65516);
    }

    #[test]
    fn per_type_minimum_lengths_are_enforced() {
        let cases: [(u8, u16); 6] = [(1, 28), (2, 22), (3, 20), (4, 20), (5, 22), (4, 18)];
        for (kind, len) in cases {
            let mut buf = header(len, kind);
            assert_eq!(
                Decoder::new().decode(&mut buf),
                Err(Notification::new(1, 2, len.to_be_bytes().to_vec())),
                "type {kind} length {len}"
            );
        }
        for (kind, len) in [(1u8, 29u16), (2, 23), (3, 21), (4, 19), (5, 23)] {
            let mut buf = header(len, kind);
            buf.resize(usize::from(len), 0);
            assert!(Decoder::new().decode(&mut buf).unwrap().is_some());
        }
    }

    #[test]
    fn an_extended_open_is_refused_even_after_rfc_8654() {
        let mut d = Decoder::new();
        d.set_max_len(EXTENDED_MAX_LEN);
        let mut buf = header(4097, 1);
        assert_eq!(
            d.decode(&mut buf),
            Err(Notification::new(1, 2, vec![0x10, 0x01]))
        );
    }

    #[test]
    fn unknown_type_is_bad_message_type_with_the_type() {
        for kind in [0u8, 6, 255] {
            let mut buf = header(19, kind);
            assert_eq!(
                Decoder::new().decode(&mut buf),
                Err(Notification::new(1, 3, vec![kind]))
            );
        }
    }

    #[test]
    fn message_types_round_trip_their_codes() {
        for code in 1..=5u8 {
            let kind = MessageType::from_code(code).unwrap();
            assert_eq!(kind.code(), code);
        }
        assert_eq!(MessageType::from_code(6), None);
        assert_eq!(MessageType::RouteRefresh.to_string(), "ROUTE-REFRESH");
    }

    #[test]
    fn set_max_len_is_clamped() {
        let mut d = Decoder::new();
        d.set_max_len(100);
        assert_eq!(d.max_len(), MAX_LEN);
        d.set_max_len(1 << 20);
        assert_eq!(d.max_len(), EXTENDED_MAX_LEN);
    }

    #[test]
    fn encode_refuses_oversize_and_undersize_messages() {
        let body = vec![0; 4096 - 19];
        assert_eq!(encode(MessageType::Update, &body).unwrap().len(), 4096);
        assert_eq!(
            encode(MessageType::Update, &vec![0; 4096 - 18]),
            Err(EncodeError::BadLength {
                kind: MessageType::Update,
                len: 4097,
                min: 23,
                max: 4096
            })
        );
        assert!(
            encode_with_max(MessageType::Update, &vec![0; 65535 - 19], EXTENDED_MAX_LEN).is_ok()
        );
        assert!(
            encode_with_max(MessageType::Update, &vec![0; 65535 - 18], EXTENDED_MAX_LEN).is_err()
        );
        assert!(encode_with_max(MessageType::Open, &vec![0; 5000], EXTENDED_MAX_LEN).is_err());
        assert!(encode(MessageType::Keepalive, &[0]).is_err());
        assert!(encode(MessageType::Update, &[0]).is_err());
    }

    #[test]
    fn route_refresh_from_wireshark_bgp_soft_reset_cap() {
        // pcap/wireshark/BGP_soft_reset.cap: a plain RFC 2918 request for IPv4 unicast.
        let wire = hex("ffffffffffffffffffffffffffffffff00170500010001");
        let mut buf = wire.clone();
        let f = Decoder::new().decode(&mut buf).unwrap().unwrap();
        assert_eq!(f.kind, MessageType::RouteRefresh);
        let rr = RouteRefresh::decode(&f.body).unwrap();
        assert_eq!(rr, RouteRefresh::request(crate::types::Afi::Ipv4));
        assert_eq!(rr.encode(), wire);
    }

    #[test]
    fn enhanced_route_refresh_markers_from_wireshark_bgp_add_path_cap() {
        // pcap/wireshark/bgp-add-path.cap: BoRR then EoRR for IPv4 unicast (RFC 7313).
        let borr = hex("ffffffffffffffffffffffffffffffff00170500010101");
        let eorr = hex("ffffffffffffffffffffffffffffffff00170500010201");
        let b = RouteRefresh::decode(&borr[19..]).unwrap();
        let e = RouteRefresh::decode(&eorr[19..]).unwrap();
        assert_eq!(
            b,
            RouteRefresh {
                afi: 1,
                subtype: RefreshSubtype::Begin,
                safi: 1
            }
        );
        assert_eq!(e.subtype, RefreshSubtype::End);
        assert_eq!(b.encode(), borr);
        assert_eq!(e.encode(), eorr);
    }

    #[test]
    fn route_refresh_length_errors_carry_the_whole_message() {
        let body = [0, 2, 1, 1, 0xaa];
        let err = RouteRefresh::decode(&body).unwrap_err();
        assert_eq!((err.code, err.subcode), (7, 1));
        assert_eq!(err.data, msg(5, &body));
        // Too short for any subtype.
        let err = RouteRefresh::decode(&[0, 2]).unwrap_err();
        assert_eq!(err, Notification::new(7, 1, msg(5, &[0, 2])));
        // Subtype 0 with ORF entries: the entries are ignored.
        assert_eq!(
            RouteRefresh::decode(&[0, 2, 0, 1, 1, 2, 3]).unwrap(),
            RouteRefresh {
                afi: 2,
                subtype: RefreshSubtype::Request,
                safi: 1
            }
        );
        // Unknown subtypes are reported, for the caller to ignore (RFC 7313 §4).
        assert_eq!(
            RouteRefresh::decode(&[0, 1, 7, 1]).unwrap().subtype,
            RefreshSubtype::Other(7)
        );
    }

    #[test]
    fn decoders_never_panic_on_truncations_or_random_bytes() {
        let valid = [
            encode_keepalive(),
            msg(2, &[0, 0, 0, 0]),
            msg(5, &[0, 1, 0, 1]),
            msg(3, &[6, 2, 3, b'b', b'y', b'e']),
        ];
        let mut d = Decoder::new();
        for m in &valid {
            for cut in 0..=m.len() {
                let mut buf = m[..cut].to_vec();
                let r = d.decode(&mut buf);
                assert_eq!(r.as_ref().map(|f| f.is_some()), Ok(cut == m.len()));
                let mut buf = m[..cut].to_vec();
                let _ = d.decode_all(&mut buf, &mut Vec::new());
                let _ = RouteRefresh::decode(&m[HEADER_LEN.min(cut)..cut]);
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..4000 {
            let mut bytes = xorshift_bytes(&mut state, 64);
            if i % 2 == 0 {
                // Half the inputs get a valid marker so the length and type paths are reached.
                bytes.splice(..0, MARKER);
            }
            let mut buf = bytes.clone();
            let _ = d.decode(&mut buf);
            let mut buf = bytes.clone();
            let _ = d.decode_all(&mut buf, &mut Vec::new());
            let _ = RouteRefresh::decode(&bytes);
        }
    }
}
