//! BGP NOTIFICATION messages (RFC 4271 §4.5, §6): the value a session sends or receives when it
//! ends, a named constructor for every error the speaker reports, the wire form and a `Display`
//! an operator can read (code and subcode in words, RFC 9003 shutdown communication escaped).
//! Pure data handling: no I/O, no timers, no session state.

use super::codec::{HEADER_LEN, MARKER};
use crate::types::Afi;
use std::fmt;

/// Error codes (RFC 4271 §4.5, RFC 7313 §5).
pub mod code {
    pub const MESSAGE_HEADER: u8 = 1;
    pub const OPEN: u8 = 2;
    pub const UPDATE: u8 = 3;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const CEASE: u8 = 6;
    pub const ROUTE_REFRESH: u8 = 7;
    /// RFC 9687 §3.
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Cease subcodes (RFC 4486, RFC 8538, RFC 9384).
pub mod cease {
    pub const MAX_PREFIXES: u8 = 1;
    pub const ADMIN_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMIN_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
    pub const BFD_DOWN: u8 = 10;
}

/// RFC 9003 §2: the shutdown communication is at most 255 octets of UTF-8.
pub const MAX_SHUTDOWN_MESSAGE: usize = 255;

/// A NOTIFICATION: error code, subcode and data (RFC 4271 §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

/// A NOTIFICATION body that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationDecodeError {
    #[error("NOTIFICATION body of {0} bytes is shorter than its 2-byte code and subcode")]
    TooShort(usize),
}

/// The shutdown communication of a Cease/2 or Cease/4 (RFC 9003 §2), as found on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownMessage<'a> {
    /// A well-formed message (possibly empty).
    Text(&'a str),
    /// The length byte overruns the data, or the text is not UTF-8: RFC 9003 §4 says to log
    /// the raw bytes rather than interpret them.
    Invalid(&'a [u8]),
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    fn bare(code: u8, subcode: u8) -> Notification {
        Notification::new(code, subcode, Vec::new())
    }

    // --- 1: Message Header Error (RFC 4271 §6.1) ---

    /// 1/1: the marker is not all ones.
    pub fn connection_not_synchronized() -> Notification {
        Notification::bare(code::MESSAGE_HEADER, 1)
    }

    /// 1/2: the data is the erroneous Length field.
    pub fn bad_message_length(len: u16) -> Notification {
        Notification::new(code::MESSAGE_HEADER, 2, len.to_be_bytes().to_vec())
    }

    /// 1/3: the data is the erroneous Type field.
    pub fn bad_message_type(kind: u8) -> Notification {
        Notification::new(code::MESSAGE_HEADER, 3, vec![kind])
    }

    // --- 2: OPEN Message Error (RFC 4271 §6.2) ---

    /// 2/0: an OPEN whose structure is broken (optional parameter lengths inconsistent, a
    /// recognized parameter malformed; RFC 4271 §6.2, RFC 9072 §3).
    pub fn malformed_open() -> Notification {
        Notification::bare(code::OPEN, 0)
    }

    /// 2/1: the data is the largest locally supported version, a 2-octet integer (RFC 4271 §6.2).
    pub fn unsupported_version(supported: u16) -> Notification {
        Notification::new(code::OPEN, 1, supported.to_be_bytes().to_vec())
    }

    /// Whether this is 2/2, Bad Peer AS.
    pub fn is_bad_peer_as(&self) -> bool {
        (self.code, self.subcode) == (code::OPEN, 2)
    }

    /// 2/2 (Bad Peer AS), naming the AS the neighbor's OPEN gave. RFC 4271 leaves the data
    /// open; like other speakers we send that AS: two octets when it fits, four otherwise.
    pub fn bad_peer_as_for(received: u32) -> Notification {
        let data = match u16::try_from(received) {
            Ok(short) => short.to_be_bytes().to_vec(),
            Err(_) => received.to_be_bytes().to_vec(),
        };
        Notification::new(code::OPEN, 2, data)
    }

    /// 2/3.
    pub fn bad_bgp_identifier() -> Notification {
        Notification::bare(code::OPEN, 3)
    }

    /// 2/4.
    pub fn unsupported_optional_parameter() -> Notification {
        Notification::bare(code::OPEN, 4)
    }

    /// 2/6.
    pub fn unacceptable_hold_time() -> Notification {
        Notification::bare(code::OPEN, 6)
    }

    /// 2/7: the data is the unsupported capability (or capabilities) as encoded in the OPEN
    /// (RFC 5492 §5).
    pub fn unsupported_capability(capability_tlvs: &[u8]) -> Notification {
        Notification::new(code::OPEN, 7, capability_tlvs.to_vec())
    }

    /// 2/11 Role Mismatch (RFC 9234 §4.2).
    pub fn role_mismatch() -> Notification {
        Notification::bare(code::OPEN, 11)
    }

    // --- 3: UPDATE Message Error (RFC 4271 §6.3) ---

    /// Any UPDATE error; the named constructors below are preferred.
    pub fn update_error(subcode: u8, data: &[u8]) -> Notification {
        Notification::new(code::UPDATE, subcode, data.to_vec())
    }

    /// 3/1.
    pub fn malformed_attribute_list() -> Notification {
        Notification::bare(code::UPDATE, 1)
    }

    /// 3/2: the data is the unrecognized attribute (type, length and value).
    pub fn unrecognized_well_known_attribute(attribute: &[u8]) -> Notification {
        Notification::update_error(2, attribute)
    }

    /// 3/3: the data is the type code of the missing attribute.
    pub fn missing_well_known_attribute(type_code: u8) -> Notification {
        Notification::new(code::UPDATE, 3, vec![type_code])
    }

    /// 3/4: the data is the erroneous attribute.
    pub fn attribute_flags_error(attribute: &[u8]) -> Notification {
        Notification::update_error(4, attribute)
    }

    /// 3/5: the data is the erroneous attribute.
    pub fn attribute_length_error(attribute: &[u8]) -> Notification {
        Notification::update_error(5, attribute)
    }

    /// 3/6: the data is the erroneous attribute.
    pub fn invalid_origin_attribute(attribute: &[u8]) -> Notification {
        Notification::update_error(6, attribute)
    }

    /// 3/8: the data is the erroneous attribute.
    pub fn invalid_next_hop_attribute(attribute: &[u8]) -> Notification {
        Notification::update_error(8, attribute)
    }

    /// 3/9: the data is the erroneous attribute.
    pub fn optional_attribute_error(attribute: &[u8]) -> Notification {
        Notification::update_error(9, attribute)
    }

    /// 3/10.
    pub fn invalid_network_field() -> Notification {
        Notification::bare(code::UPDATE, 10)
    }

    /// 3/11.
    pub fn malformed_as_path() -> Notification {
        Notification::bare(code::UPDATE, 11)
    }

    // --- 4: Hold Timer Expired ---

    /// 4/0.
    pub fn hold_timer_expired() -> Notification {
        Notification::bare(code::HOLD_TIMER_EXPIRED, 0)
    }

    // --- 8: Send Hold Timer Expired (RFC 9687) ---

    /// 8/0: the neighbor has not read what we had to send for the SendHoldTime.
    pub fn send_hold_timer_expired() -> Notification {
        Notification::bare(code::SEND_HOLD_TIMER_EXPIRED, 0)
    }

    // --- 5: Finite State Machine Error (RFC 4271 §6.6, RFC 6608) ---

    /// 5/0 Unspecified Error.
    pub fn fsm_error() -> Notification {
        Notification::bare(code::FSM, 0)
    }

    /// 5/1: the data is the type of the unexpected message (RFC 6608 §4).
    pub fn unexpected_message_in_open_sent(message_type: u8) -> Notification {
        Notification::new(code::FSM, 1, vec![message_type])
    }

    /// 5/2: the data is the type of the unexpected message (RFC 6608 §4).
    pub fn unexpected_message_in_open_confirm(message_type: u8) -> Notification {
        Notification::new(code::FSM, 2, vec![message_type])
    }

    /// 5/3: the data is the type of the unexpected message (RFC 6608 §4).
    pub fn unexpected_message_in_established(message_type: u8) -> Notification {
        Notification::new(code::FSM, 3, vec![message_type])
    }

    // --- 6: Cease (RFC 4486, RFC 9003, RFC 8538, RFC 9384) ---

    /// 6/1: data AFI (2), SAFI (1, unicast) and the prefix limit (4) (RFC 4486 §4).
    pub fn max_prefixes(afi: Afi, limit: u32) -> Notification {
        let afi: u16 = match afi {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
        };
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&afi.to_be_bytes());
        data.push(1);
        data.extend_from_slice(&limit.to_be_bytes());
        Notification::new(code::CEASE, cease::MAX_PREFIXES, data)
    }

    /// 6/2 with an RFC 9003 shutdown communication (empty message = no data).
    pub fn admin_shutdown(message: &str) -> Notification {
        Notification::new(
            code::CEASE,
            cease::ADMIN_SHUTDOWN,
            shutdown_communication(message),
        )
    }

    /// 6/3.
    pub fn peer_deconfigured() -> Notification {
        Notification::bare(code::CEASE, cease::PEER_DECONFIGURED)
    }

    /// 6/4 with an RFC 9003 shutdown communication (empty message = no data).
    pub fn admin_reset(message: &str) -> Notification {
        Notification::new(
            code::CEASE,
            cease::ADMIN_RESET,
            shutdown_communication(message),
        )
    }

    /// 6/5.
    pub fn connection_rejected() -> Notification {
        Notification::bare(code::CEASE, cease::CONNECTION_REJECTED)
    }

    /// 6/6.
    pub fn other_configuration_change() -> Notification {
        Notification::bare(code::CEASE, cease::OTHER_CONFIG_CHANGE)
    }

    /// 6/7.
    pub fn connection_collision_resolution() -> Notification {
        Notification::bare(code::CEASE, cease::CONNECTION_COLLISION)
    }

    /// 6/8.
    pub fn out_of_resources() -> Notification {
        Notification::bare(code::CEASE, cease::OUT_OF_RESOURCES)
    }

    /// 6/9 Hard Reset: the data is the NOTIFICATION that caused it, code, subcode and data
    /// (RFC 8538 §3).
    pub fn hard_reset(cause: &Notification) -> Notification {
        let mut data = Vec::with_capacity(2 + cause.data.len());
        data.push(cause.code);
        data.push(cause.subcode);
        data.extend_from_slice(&cause.data);
        Notification::new(code::CEASE, cease::HARD_RESET, data)
    }

    /// 6/10 BFD Down (RFC 9384).
    pub fn bfd_down() -> Notification {
        Notification::bare(code::CEASE, cease::BFD_DOWN)
    }

    // --- 7: ROUTE-REFRESH Message Error (RFC 7313 §5) ---

    /// 7/1: the data is the complete ROUTE-REFRESH message, header included.
    pub fn route_refresh_invalid_length(message: &[u8]) -> Notification {
        Notification::new(code::ROUTE_REFRESH, 1, message.to_vec())
    }

    // --- wire ---

    /// The complete message, header included. A NOTIFICATION must fit in one message, so data
    /// beyond 4096 - 21 bytes is cut (RFC 8654 §4 forbids relying on the extended size here
    /// before we know the peer supports it).
    pub fn encode(&self) -> Vec<u8> {
        let max_data = super::codec::MAX_LEN - HEADER_LEN - 2;
        let data = self.data.get(..max_data).unwrap_or(&self.data);
        let len = HEADER_LEN + 2 + data.len();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MARKER);
        // `len` is at most MAX_LEN, so it fits.
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.push(3);
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(data);
        out
    }

    /// Decodes the body (the message after its 19-byte header).
    pub fn decode(body: &[u8]) -> Result<Notification, NotificationDecodeError> {
        match body {
            [code, subcode, data @ ..] => Ok(Notification::new(*code, *subcode, data.to_vec())),
            _ => Err(NotificationDecodeError::TooShort(body.len())),
        }
    }

    /// The RFC 9003 shutdown communication of a Cease/2 or Cease/4; `None` for any other
    /// NOTIFICATION or when there is no data.
    pub fn shutdown_message(&self) -> Option<ShutdownMessage<'_>> {
        if self.code != code::CEASE
            || !(self.subcode == cease::ADMIN_SHUTDOWN || self.subcode == cease::ADMIN_RESET)
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        match rest.get(..usize::from(len)) {
            Some(text) => match std::str::from_utf8(text) {
                Ok(s) => Some(ShutdownMessage::Text(s)),
                Err(_) => Some(ShutdownMessage::Invalid(&self.data)),
            },
            None => Some(ShutdownMessage::Invalid(&self.data)),
        }
    }

    /// The code in words.
    pub fn code_name(&self) -> &'static str {
        match self.code {
            code::MESSAGE_HEADER => "Message Header Error",
            code::OPEN => "OPEN Message Error",
            code::UPDATE => "UPDATE Message Error",
            code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            code::FSM => "Finite State Machine Error",
            code::CEASE => "Cease",
            code::ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
            code::SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
            _ => "Unknown Error Code",
        }
    }

    /// The subcode in words (IANA "BGP Error Subcodes" registries).
    pub fn subcode_name(&self) -> &'static str {
        match (self.code, self.subcode) {
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 5) => "Authentication Failure (deprecated)",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (2, 11) => "Role Mismatch",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 7) => "AS Routing Loop (deprecated)",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (5, 0) => "Unspecified Error",
            (6, 1) => "Maximum Number of Prefixes Reached",
            (6, 2) => "Administrative Shutdown",
            (6, 3) => "Peer De-configured",
            (6, 4) => "Administrative Reset",
            (6, 5) => "Connection Rejected",
            (6, 6) => "Other Configuration Change",
            (6, 7) => "Connection Collision Resolution",
            (6, 8) => "Out of Resources",
            (6, 9) => "Hard Reset",
            (6, 10) => "BFD Down",
            (7, 1) => "Invalid Message Length",
            (_, 0) => "Unspecific",
            _ => "Unknown Subcode",
        }
    }
}

/// RFC 9003 §2: a length octet and at most 255 octets of UTF-8. A longer message is cut at
/// the last character boundary that fits, so the peer never sees a broken character.
fn shutdown_communication(message: &str) -> Vec<u8> {
    if message.is_empty() {
        return Vec::new();
    }
    let mut end = message.len().min(MAX_SHUTDOWN_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let text = message.as_bytes().get(..end).unwrap_or_default();
    let mut data = Vec::with_capacity(1 + text.len());
    // `end` is at most 255.
    data.push(end as u8);
    data.extend_from_slice(text);
    data
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Display for Notification {
    /// `Cease/Administrative Shutdown (6/2): "maintenance"`. Text from the peer is printed with
    /// Rust's debug escaping, so control characters and quotes cannot forge log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ({}/{})",
            self.code_name(),
            self.subcode_name(),
            self.code,
            self.subcode
        )?;
        if let Some(msg) = self.shutdown_message() {
            return match msg {
                ShutdownMessage::Text("") => Ok(()),
                ShutdownMessage::Text(s) => write!(f, ": {s:?}"),
                ShutdownMessage::Invalid(raw) => {
                    f.write_str(": invalid shutdown communication 0x")?;
                    write_hex(f, raw)
                }
            };
        }
        match (self.code, self.subcode, self.data.as_slice()) {
            (_, _, []) => Ok(()),
            (code::CEASE, cease::MAX_PREFIXES, [a0, a1, safi, l0, l1, l2, l3]) => write!(
                f,
                ": AFI {} SAFI {} limit {}",
                u16::from_be_bytes([*a0, *a1]),
                safi,
                u32::from_be_bytes([*l0, *l1, *l2, *l3])
            ),
            (code::CEASE, cease::HARD_RESET, [c, s, rest @ ..]) => {
                let inner = Notification::new(*c, *s, rest.to_vec());
                write!(f, ": caused by {inner}")
            }
            (code::OPEN, 2, [a, b]) => write!(f, ": AS {}", u16::from_be_bytes([*a, *b])),
            (code::OPEN, 2, [a, b, c, d]) => {
                write!(f, ": AS {}", u32::from_be_bytes([*a, *b, *c, *d]))
            }
            (code::MESSAGE_HEADER, 2, [a, b]) | (code::OPEN, 1, [a, b]) => {
                write!(f, ": {}", u16::from_be_bytes([*a, *b]))
            }
            (code::MESSAGE_HEADER, 3, [t]) | (code::FSM, 1..=3, [t]) | (code::UPDATE, 3, [t]) => {
                write!(f, ": type {t}")
            }
            (_, _, data) => {
                f.write_str(": data 0x")?;
                write_hex(f, data)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::codec::testutil::{hex, xorshift_bytes};

    fn ff() -> String {
        "ff".repeat(16)
    }

    #[test]
    fn bad_peer_as_from_wireshark_bgp_notification_cap() {
        // pcap/wireshark/BGP_notification.cap: 1.1.1.1 refuses AS 65200 with 2/2, data = the AS.
        let wire = hex(&format!("{}0017030202feb0", ff()));
        let n = Notification::decode(&wire[19..]).unwrap();
        assert_eq!(n, Notification::new(2, 2, vec![0xfe, 0xb0]));
        assert_eq!(n.encode(), wire);
        assert_eq!(
            n.to_string(),
            "OPEN Message Error/Bad Peer AS (2/2): AS 65200"
        );
    }

    #[test]
    fn bad_peer_as_with_text_from_wireshark_bgp_notification_msg_cap() {
        // pcap/wireshark/BGP_notification_msg.cap: a 2/2 carrying an explanation as data.
        let wire = hex(&format!(
            "{}004b03020241534e20696e204f50454e202836353030312920646964206e6f74206d617463682041534e2065787065637465642028363530303029",
            ff()
        ));
        let n = Notification::decode(&wire[19..]).unwrap();
        assert_eq!((n.code, n.subcode), (2, 2));
        assert_eq!(
            n.data,
            b"ASN in OPEN (65001) did not match ASN expected (65000)".to_vec()
        );
        assert_eq!(n.encode(), wire);
    }

    #[test]
    fn header_errors_carry_length_and_type() {
        assert_eq!(
            Notification::connection_not_synchronized(),
            Notification::new(1, 1, vec![])
        );
        assert_eq!(
            Notification::bad_message_length(4097),
            Notification::new(1, 2, vec![0x10, 0x01])
        );
        assert_eq!(
            Notification::bad_message_type(9),
            Notification::new(1, 3, vec![9])
        );
    }

    #[test]
    fn open_errors_have_the_rfc_codes() {
        assert_eq!(
            Notification::unsupported_version(4),
            Notification::new(2, 1, vec![0, 4])
        );
        assert_eq!(
            Notification::malformed_open(),
            Notification::new(2, 0, vec![])
        );
        assert_eq!(
            Notification::bad_peer_as_for(64501).to_string(),
            "OPEN Message Error/Bad Peer AS (2/2): AS 64501"
        );
        assert_eq!(
            Notification::bad_peer_as_for(4_200_000_001),
            Notification::new(2, 2, 4_200_000_001u32.to_be_bytes().to_vec())
        );
        assert_eq!(
            Notification::bad_peer_as_for(4_200_000_001).to_string(),
            "OPEN Message Error/Bad Peer AS (2/2): AS 4200000001"
        );
        assert_eq!(
            Notification::bad_bgp_identifier(),
            Notification::new(2, 3, vec![])
        );
        assert_eq!(
            Notification::unsupported_optional_parameter(),
            Notification::new(2, 4, vec![])
        );
        assert_eq!(
            Notification::unacceptable_hold_time(),
            Notification::new(2, 6, vec![])
        );
        assert_eq!(
            Notification::unsupported_capability(&[65, 4, 0, 0, 0xfd, 0xe8]),
            Notification::new(2, 7, vec![65, 4, 0, 0, 0xfd, 0xe8])
        );
        assert_eq!(
            Notification::role_mismatch(),
            Notification::new(2, 11, vec![])
        );
    }

    #[test]
    fn update_errors_have_the_rfc_codes() {
        let attr = [0x40, 1, 1, 7];
        let cases = [
            (Notification::malformed_attribute_list(), 1, vec![]),
            (
                Notification::unrecognized_well_known_attribute(&attr),
                2,
                attr.to_vec(),
            ),
            (Notification::missing_well_known_attribute(3), 3, vec![3]),
            (Notification::attribute_flags_error(&attr), 4, attr.to_vec()),
            (
                Notification::attribute_length_error(&attr),
                5,
                attr.to_vec(),
            ),
            (
                Notification::invalid_origin_attribute(&attr),
                6,
                attr.to_vec(),
            ),
            (
                Notification::invalid_next_hop_attribute(&attr),
                8,
                attr.to_vec(),
            ),
            (
                Notification::optional_attribute_error(&attr),
                9,
                attr.to_vec(),
            ),
            (Notification::invalid_network_field(), 10, vec![]),
            (Notification::malformed_as_path(), 11, vec![]),
        ];
        for (n, sub, data) in cases {
            assert_eq!(n, Notification::new(3, sub, data));
        }
    }

    #[test]
    fn hold_timer_and_fsm_errors() {
        assert_eq!(
            Notification::hold_timer_expired(),
            Notification::new(4, 0, vec![])
        );
        assert_eq!(Notification::fsm_error(), Notification::new(5, 0, vec![]));
        assert_eq!(
            Notification::send_hold_timer_expired().to_string(),
            "Send Hold Timer Expired/Unspecific (8/0)"
        );
        assert_eq!(
            Notification::unexpected_message_in_open_sent(4),
            Notification::new(5, 1, vec![4])
        );
        assert_eq!(
            Notification::unexpected_message_in_open_confirm(2),
            Notification::new(5, 2, vec![2])
        );
        assert_eq!(
            Notification::unexpected_message_in_established(1),
            Notification::new(5, 3, vec![1])
        );
        assert_eq!(
            Notification::unexpected_message_in_open_sent(4).to_string(),
            "Finite State Machine Error/Receive Unexpected Message in OpenSent State (5/1): type 4"
        );
    }

    #[test]
    fn cease_subcodes_follow_rfc_4486_8538_9384() {
        assert_eq!(
            Notification::max_prefixes(Afi::Ipv6, 300_000),
            Notification::new(6, 1, vec![0, 2, 1, 0x00, 0x04, 0x93, 0xe0])
        );
        assert_eq!(
            Notification::max_prefixes(Afi::Ipv4, 1000).to_string(),
            "Cease/Maximum Number of Prefixes Reached (6/1): AFI 1 SAFI 1 limit 1000"
        );
        assert_eq!(
            Notification::peer_deconfigured(),
            Notification::new(6, 3, vec![])
        );
        assert_eq!(
            Notification::connection_rejected(),
            Notification::new(6, 5, vec![])
        );
        assert_eq!(
            Notification::other_configuration_change(),
            Notification::new(6, 6, vec![])
        );
        assert_eq!(
            Notification::connection_collision_resolution(),
            Notification::new(6, 7, vec![])
        );
        assert_eq!(
            Notification::out_of_resources(),
            Notification::new(6, 8, vec![])
        );
        assert_eq!(Notification::bfd_down(), Notification::new(6, 10, vec![]));
        let hard = Notification::hard_reset(&Notification::hold_timer_expired());
        assert_eq!(hard, Notification::new(6, 9, vec![4, 0]));
        assert_eq!(
            hard.to_string(),
            "Cease/Hard Reset (6/9): caused by Hold Timer Expired/Unspecific (4/0)"
        );
        assert_eq!(
            Notification::route_refresh_invalid_length(&[1, 2]),
            Notification::new(7, 1, vec![1, 2])
        );
    }

    #[test]
    fn admin_shutdown_carries_rfc_9003_communication() {
        let n = Notification::admin_shutdown("maintenance");
        assert_eq!(n.code, 6);
        assert_eq!(n.subcode, 2);
        assert_eq!(n.data, b"\x0bmaintenance".to_vec());
        assert_eq!(
            n.shutdown_message(),
            Some(ShutdownMessage::Text("maintenance"))
        );
        assert_eq!(
            n.to_string(),
            "Cease/Administrative Shutdown (6/2): \"maintenance\""
        );
        let reset = Notification::admin_reset("");
        assert_eq!(reset, Notification::new(6, 4, vec![]));
        assert_eq!(reset.to_string(), "Cease/Administrative Reset (6/4)");
    }

    #[test]
    fn shutdown_communication_is_cut_on_a_char_boundary_at_255_bytes() {
        // 127 two-byte characters = 254 bytes, then a 3-byte one that does not fit.
        let msg = format!("{}€tail", "é".repeat(127));
        let n = Notification::admin_shutdown(&msg);
        assert_eq!(n.data.first(), Some(&254));
        assert_eq!(n.data.len(), 255);
        assert_eq!(
            n.shutdown_message(),
            Some(ShutdownMessage::Text("é".repeat(127).as_str()))
        );
        let long = "x".repeat(400);
        let n = Notification::admin_reset(&long);
        assert_eq!(n.data.first(), Some(&255));
        assert_eq!(n.data.len(), 256);
    }

    #[test]
    fn display_escapes_control_characters_in_a_shutdown_message() {
        let n = Notification::new(6, 2, b"\x0bbye\n\x1b[31mx\"".to_vec());
        let shown = n.to_string();
        assert_eq!(
            shown,
            "Cease/Administrative Shutdown (6/2): \"bye\\n\\u{1b}[31mx\\\"\""
        );
        assert!(!shown.contains('\n') && !shown.contains('\x1b'));
    }

    #[test]
    fn display_shows_a_broken_shutdown_message_as_hex() {
        // Length byte overruns the data.
        let n = Notification::new(6, 2, vec![10, b'a']);
        assert_eq!(
            n.shutdown_message(),
            Some(ShutdownMessage::Invalid(&[10, b'a']))
        );
        assert_eq!(
            n.to_string(),
            "Cease/Administrative Shutdown (6/2): invalid shutdown communication 0x0a61"
        );
        // Not UTF-8.
        let n = Notification::new(6, 4, vec![2, 0xc3, 0x28]);
        assert!(matches!(
            n.shutdown_message(),
            Some(ShutdownMessage::Invalid(_))
        ));
    }

    #[test]
    fn display_names_unknown_codes() {
        assert_eq!(
            Notification::new(99, 42, vec![]).to_string(),
            "Unknown Error Code/Unknown Subcode (99/42)"
        );
        assert_eq!(
            Notification::new(1, 2, vec![0, 3]).to_string(),
            "Message Header Error/Bad Message Length (1/2): 3"
        );
    }

    #[test]
    fn decode_refuses_a_body_without_code_and_subcode() {
        assert_eq!(
            Notification::decode(&[]),
            Err(NotificationDecodeError::TooShort(0))
        );
        assert_eq!(
            Notification::decode(&[6]),
            Err(NotificationDecodeError::TooShort(1))
        );
        assert_eq!(
            Notification::decode(&[6, 2]),
            Ok(Notification::new(6, 2, vec![]))
        );
    }

    #[test]
    fn encode_cuts_data_to_fit_one_standard_message() {
        let n = Notification::new(3, 9, vec![0xaa; 5000]);
        let wire = n.encode();
        assert_eq!(wire.len(), 4096);
        assert_eq!(&wire[16..19], &[0x10, 0x00, 3]);
    }

    #[test]
    fn decode_and_display_never_panic() {
        let valid = Notification::admin_shutdown("maintenance until 12:00 UTC").encode();
        for cut in 0..valid.len() {
            if let Ok(n) = Notification::decode(valid.get(19..cut).unwrap_or_default()) {
                let _ = n.to_string();
            }
        }
        let mut state = 0xdead_beef_cafe_f00du64;
        for i in 0..4000 {
            let mut bytes = xorshift_bytes(&mut state, 40);
            if i % 2 == 0 && bytes.len() >= 2 {
                // Steer half of them into the Cease and header codes that parse data.
                bytes[0] = [1, 2, 5, 6][i % 8 / 2];
                bytes[1] %= 11;
            }
            if let Ok(n) = Notification::decode(&bytes) {
                let shown = n.to_string();
                assert!(!shown.contains('\n') && !shown.contains('\r'));
                let wire = n.encode();
                assert_eq!(Notification::decode(&wire[19..]), Ok(n));
            }
        }
    }
}
