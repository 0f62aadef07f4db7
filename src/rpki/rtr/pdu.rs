//! RTR PDU codec: RFC 6810 (version 0), RFC 8210 (version 1) and draft-ietf-sidrops-8210bis
//! (version 2, with the ASPA PDU in both of its wire layouts). Pure byte work, no I/O and no
//! protocol state; the session decides what a PDU means.
//!
//! Decoding must never panic on anything a cache sends: every read goes through `get`-style
//! accessors (indexing and `unwrap` are denied crate-wide), a PDU longer than [`MAX_PDU_LEN`] is an
//! error, and every length field is checked against the bytes actually present.

use crate::types::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Every PDU starts with version, type, a 16-bit type-specific field and a 32-bit length
/// (RFC 8210 §5.1).
pub const HEADER_LEN: usize = 8;

/// The longest PDU we accept. The largest legitimate ones are Router Keys (a SubjectPublicKeyInfo
/// of ~91 bytes) and ASPAs (4 bytes per provider; real ones have a handful, the largest seen a few
/// hundred). A cache sending more is broken or hostile: protocol error.
pub const MAX_PDU_LEN: usize = 64 * 1024;

/// The highest protocol version we speak.
pub const MAX_VERSION: u8 = 2;

/// PDU type codes (RFC 8210 §5, 8210bis §5.12 for ASPA).
pub mod kind {
    pub const SERIAL_NOTIFY: u8 = 0;
    pub const SERIAL_QUERY: u8 = 1;
    pub const RESET_QUERY: u8 = 2;
    pub const CACHE_RESPONSE: u8 = 3;
    pub const IPV4_PREFIX: u8 = 4;
    pub const IPV6_PREFIX: u8 = 6;
    pub const END_OF_DATA: u8 = 7;
    pub const CACHE_RESET: u8 = 8;
    pub const ROUTER_KEY: u8 = 9;
    pub const ERROR_REPORT: u8 = 10;
    pub const ASPA: u8 = 11;
}

/// An Error Report code (RFC 8210 §12 registry; 8210bis adds 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    pub const CORRUPT_DATA: ErrorCode = ErrorCode(0);
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(1);
    pub const NO_DATA_AVAILABLE: ErrorCode = ErrorCode(2);
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(3);
    pub const UNSUPPORTED_PROTOCOL_VERSION: ErrorCode = ErrorCode(4);
    pub const UNSUPPORTED_PDU_TYPE: ErrorCode = ErrorCode(5);
    pub const WITHDRAWAL_OF_UNKNOWN_RECORD: ErrorCode = ErrorCode(6);
    pub const DUPLICATE_ANNOUNCEMENT: ErrorCode = ErrorCode(7);
    pub const UNEXPECTED_PROTOCOL_VERSION: ErrorCode = ErrorCode(8);
    pub const ASPA_PROVIDER_LIST_ERROR: ErrorCode = ErrorCode(9);

    /// The registry name.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "Corrupt Data",
            1 => "Internal Error",
            2 => "No Data Available",
            3 => "Invalid Request",
            4 => "Unsupported Protocol Version",
            5 => "Unsupported PDU Type",
            6 => "Withdrawal of Unknown Record",
            7 => "Duplicate Announcement Received",
            8 => "Unexpected Protocol Version",
            9 => "ASPA Provider List Error",
            _ => "unassigned error code",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// The intervals an End of Data carries (RFC 8210 §6), in seconds. Version 0 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
}

impl Timers {
    /// RFC 8210 §6 defaults, used for version 0 caches which send no timers.
    pub const DEFAULT: Timers = Timers {
        refresh: 3600,
        retry: 600,
        expire: 7200,
    };
}

/// The two wire layouts of the version 2 ASPA PDU.
///
/// - `Draft10`: draft-ietf-sidrops-8210bis-10, spoken by StayRTR 0.5.x (Debian's): header bytes
///   2-3 zero; then Flags (1 byte, bit 0 = announce), AFI Flags (1 byte, 0 = IPv4, 1 = IPv6),
///   Provider AS Count (2 bytes), Customer ASN, providers. One record per (customer, AFI); a
///   withdrawal repeats the provider list of the record it withdraws.
/// - `Current`: draft-ietf-sidrops-8210bis -12 and later (Routinator, rpki-client, the `rpki`
///   crate, StayRTR ≥ 0.6): Flags in header byte 2, zero in byte 3; then Customer ASN and
///   providers, no AFI and no count. One record per customer. From -21 a withdrawal carries no
///   providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AspaLayout {
    Draft10,
    Current,
}

/// Which address family a `Draft10` ASPA record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AspaAfi {
    Ipv4,
    Ipv6,
}

/// One decoded PDU. Fields the protocol defines as zero are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu {
    SerialNotify {
        version: u8,
        session_id: u16,
        serial: u32,
    },
    SerialQuery {
        version: u8,
        session_id: u16,
        serial: u32,
    },
    ResetQuery {
        version: u8,
    },
    CacheResponse {
        version: u8,
        session_id: u16,
    },
    /// IPv4 Prefix or IPv6 Prefix (RFC 8210 §5.6, §5.7). `prefix` has no host bits set.
    Prefix {
        version: u8,
        announce: bool,
        prefix: IpNet,
        max_len: u8,
        asn: Asn,
    },
    /// `timers` is `None` in version 0 (RFC 6810 §5.8).
    EndOfData {
        version: u8,
        session_id: u16,
        serial: u32,
        timers: Option<Timers>,
    },
    CacheReset {
        version: u8,
    },
    /// Router Key (RFC 8210 §5.10): read and ignored, so only what a log needs is kept.
    RouterKey {
        version: u8,
        announce: bool,
        asn: Asn,
    },
    ErrorReport {
        version: u8,
        code: ErrorCode,
        /// The erroneous PDU the sender copied in (may be empty).
        pdu: Vec<u8>,
        text: String,
    },
    /// ASPA (8210bis §5.12). `afi` is `Some` exactly for the `Draft10` layout. `providers` are as
    /// on the wire (the session sorts them).
    Aspa {
        version: u8,
        announce: bool,
        layout: AspaLayout,
        afi: Option<AspaAfi>,
        customer: Asn,
        providers: Vec<Asn>,
    },
}

/// Why a byte sequence is not a valid PDU, and which Error Report code answers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {msg}")]
pub struct DecodeError {
    pub code: ErrorCode,
    pub msg: String,
    /// The PDU type byte, when the header was readable (an Error Report is never answered with
    /// one, RFC 8210 §5.11).
    pub pdu_type: Option<u8>,
}

impl DecodeError {
    fn new(code: ErrorCode, pdu_type: u8, msg: impl Into<String>) -> DecodeError {
        DecodeError {
            code,
            msg: msg.into(),
            pdu_type: Some(pdu_type),
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

fn byte_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// How long the PDU at the start of `buf` is, once its header is there: `Ok(None)` = need more
/// bytes, `Ok(Some(n))` = the first `n` bytes are one whole PDU. A length below the header size or
/// above [`MAX_PDU_LEN`] is an error: the stream cannot be framed after it.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let (Some(ty), Some(len)) = (byte_at(buf, 1), u32_at(buf, 4)) else {
        return Ok(None);
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len < HEADER_LEN {
        return Err(DecodeError::new(
            ErrorCode::CORRUPT_DATA,
            ty,
            format!("PDU length {len} is shorter than the header"),
        ));
    }
    if len > MAX_PDU_LEN {
        return Err(DecodeError::new(
            ErrorCode::CORRUPT_DATA,
            ty,
            format!("PDU length {len} exceeds the limit of {MAX_PDU_LEN}"),
        ));
    }
    Ok((buf.len() >= len).then_some(len))
}

impl Pdu {
    /// The protocol version the PDU carries.
    pub fn version(&self) -> u8 {
        match self {
            Pdu::SerialNotify { version, .. }
            | Pdu::SerialQuery { version, .. }
            | Pdu::ResetQuery { version }
            | Pdu::CacheResponse { version, .. }
            | Pdu::Prefix { version, .. }
            | Pdu::EndOfData { version, .. }
            | Pdu::CacheReset { version }
            | Pdu::RouterKey { version, .. }
            | Pdu::ErrorReport { version, .. }
            | Pdu::Aspa { version, .. } => *version,
        }
    }

    /// Decodes exactly one PDU; `frame` is what [`frame_len`] delimited. `aspa_hint` is the ASPA
    /// layout this session has already seen unambiguously, used to read ambiguous ones.
    pub fn decode(frame: &[u8], aspa_hint: Option<AspaLayout>) -> Result<Pdu, DecodeError> {
        let short = || DecodeError {
            code: ErrorCode::CORRUPT_DATA,
            msg: "truncated PDU header".into(),
            pdu_type: byte_at(frame, 1),
        };
        let version = byte_at(frame, 0).ok_or_else(short)?;
        let ty = byte_at(frame, 1).ok_or_else(short)?;
        let field = u16_at(frame, 2).ok_or_else(short)?;
        let len = u32_at(frame, 4).ok_or_else(short)?;
        if usize::try_from(len).ok() != Some(frame.len()) {
            return Err(DecodeError::new(
                ErrorCode::CORRUPT_DATA,
                ty,
                format!("length field {len} but {} bytes", frame.len()),
            ));
        }
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        let bad_len = |what: &str| {
            DecodeError::new(
                ErrorCode::CORRUPT_DATA,
                ty,
                format!("{what} PDU with length {len}"),
            )
        };
        // An Error Report is readable in any version, so a cache can tell us it does not speak
        // ours (RFC 8210 §7). Anything else in a version we do not know is not.
        if version > MAX_VERSION && ty != kind::ERROR_REPORT {
            return Err(DecodeError::new(
                ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
                ty,
                format!("protocol version {version}"),
            ));
        }
        match ty {
            kind::SERIAL_NOTIFY | kind::SERIAL_QUERY => {
                let serial = u32_at(body, 0)
                    .filter(|_| body.len() == 4)
                    .ok_or_else(|| bad_len("Serial Notify/Query"))?;
                Ok(if ty == kind::SERIAL_NOTIFY {
                    Pdu::SerialNotify {
                        version,
                        session_id: field,
                        serial,
                    }
                } else {
                    Pdu::SerialQuery {
                        version,
                        session_id: field,
                        serial,
                    }
                })
            }
            kind::RESET_QUERY | kind::CACHE_RESPONSE | kind::CACHE_RESET => {
                if !body.is_empty() {
                    return Err(bad_len("Reset Query/Cache Response/Cache Reset"));
                }
                Ok(match ty {
                    kind::RESET_QUERY => Pdu::ResetQuery { version },
                    kind::CACHE_RESPONSE => Pdu::CacheResponse {
                        version,
                        session_id: field,
                    },
                    _ => Pdu::CacheReset { version },
                })
            }
            kind::IPV4_PREFIX | kind::IPV6_PREFIX => decode_prefix(version, ty, body, len),
            kind::END_OF_DATA => {
                let want = if version == 0 { 4 } else { 16 };
                if body.len() != want {
                    return Err(bad_len("End of Data"));
                }
                let serial = u32_at(body, 0).ok_or_else(|| bad_len("End of Data"))?;
                let timers = if version == 0 {
                    None
                } else {
                    Some(Timers {
                        refresh: u32_at(body, 4).ok_or_else(|| bad_len("End of Data"))?,
                        retry: u32_at(body, 8).ok_or_else(|| bad_len("End of Data"))?,
                        expire: u32_at(body, 12).ok_or_else(|| bad_len("End of Data"))?,
                    })
                };
                Ok(Pdu::EndOfData {
                    version,
                    session_id: field,
                    serial,
                    timers,
                })
            }
            kind::ROUTER_KEY if version >= 1 => {
                // Flags, zero, then a 20-byte SKI, the ASN and a non-empty SPKI (RFC 8210 §5.10).
                let asn = u32_at(body, 20)
                    .filter(|_| body.len() > 24)
                    .ok_or_else(|| bad_len("Router Key"))?;
                Ok(Pdu::RouterKey {
                    version,
                    announce: field >> 8 & 1 == 1,
                    asn: Asn(asn),
                })
            }
            kind::ERROR_REPORT => decode_error_report(version, field, body, len),
            kind::ASPA if version >= 2 => decode_aspa(version, field, body, len, aspa_hint),
            _ => Err(DecodeError::new(
                ErrorCode::UNSUPPORTED_PDU_TYPE,
                ty,
                format!("PDU type {ty} in protocol version {version}"),
            )),
        }
    }

    /// The wire form (used to send queries and Error Reports, and by the tests for every type).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        let header = |out: &mut Vec<u8>, version: u8, ty: u8, field: u16| {
            out.push(version);
            out.push(ty);
            out.extend_from_slice(&field.to_be_bytes());
            out.extend_from_slice(&[0; 4]);
        };
        match self {
            Pdu::SerialNotify {
                version,
                session_id,
                serial,
            }
            | Pdu::SerialQuery {
                version,
                session_id,
                serial,
            } => {
                let ty = if matches!(self, Pdu::SerialNotify { .. }) {
                    kind::SERIAL_NOTIFY
                } else {
                    kind::SERIAL_QUERY
                };
                header(&mut out, *version, ty, *session_id);
                out.extend_from_slice(&serial.to_be_bytes());
            }
            Pdu::ResetQuery { version } => header(&mut out, *version, kind::RESET_QUERY, 0),
            Pdu::CacheResponse {
                version,
                session_id,
            } => header(&mut out, *version, kind::CACHE_RESPONSE, *session_id),
            Pdu::CacheReset { version } => header(&mut out, *version, kind::CACHE_RESET, 0),
            Pdu::Prefix {
                version,
                announce,
                prefix,
                max_len,
                asn,
            } => {
                let ty = match prefix {
                    IpNet::V4(_) => kind::IPV4_PREFIX,
                    IpNet::V6(_) => kind::IPV6_PREFIX,
                };
                header(&mut out, *version, ty, 0);
                out.extend_from_slice(&[u8::from(*announce), prefix.prefix_len(), *max_len, 0]);
                match prefix {
                    IpNet::V4(p) => out.extend_from_slice(&p.addr().octets()),
                    IpNet::V6(p) => out.extend_from_slice(&p.addr().octets()),
                }
                out.extend_from_slice(&asn.0.to_be_bytes());
            }
            Pdu::EndOfData {
                version,
                session_id,
                serial,
                timers,
            } => {
                header(&mut out, *version, kind::END_OF_DATA, *session_id);
                out.extend_from_slice(&serial.to_be_bytes());
                if let Some(t) = timers {
                    for v in [t.refresh, t.retry, t.expire] {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            Pdu::RouterKey {
                version,
                announce,
                asn,
            } => {
                header(
                    &mut out,
                    *version,
                    kind::ROUTER_KEY,
                    u16::from(*announce) << 8,
                );
                out.extend_from_slice(&[0; 20]);
                out.extend_from_slice(&asn.0.to_be_bytes());
                out.push(0); // a one-byte stand-in SPKI: we never send real ones
            }
            Pdu::ErrorReport {
                version,
                code,
                pdu,
                text,
            } => {
                header(&mut out, *version, kind::ERROR_REPORT, code.0);
                out.extend_from_slice(&len_u32(pdu.len()).to_be_bytes());
                out.extend_from_slice(pdu);
                out.extend_from_slice(&len_u32(text.len()).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Pdu::Aspa {
                version,
                announce,
                layout,
                afi,
                customer,
                providers,
            } => match layout {
                AspaLayout::Draft10 => {
                    header(&mut out, *version, kind::ASPA, 0);
                    out.push(u8::from(*announce));
                    out.push(u8::from(*afi == Some(AspaAfi::Ipv6)));
                    let count = u16::try_from(providers.len()).unwrap_or(u16::MAX);
                    out.extend_from_slice(&count.to_be_bytes());
                    out.extend_from_slice(&customer.0.to_be_bytes());
                    for p in providers.iter().take(usize::from(count)) {
                        out.extend_from_slice(&p.0.to_be_bytes());
                    }
                }
                AspaLayout::Current => {
                    header(&mut out, *version, kind::ASPA, u16::from(*announce) << 8);
                    out.extend_from_slice(&customer.0.to_be_bytes());
                    for p in providers {
                        out.extend_from_slice(&p.0.to_be_bytes());
                    }
                }
            },
        }
        let len = len_u32(out.len()).to_be_bytes();
        if let Some(slot) = out.get_mut(4..8) {
            slot.copy_from_slice(&len);
        }
        out
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn decode_prefix(version: u8, ty: u8, body: &[u8], len: u32) -> Result<Pdu, DecodeError> {
    let (want, bits) = if ty == kind::IPV4_PREFIX {
        (12, 32)
    } else {
        (24, 128)
    };
    let err = |msg: String| DecodeError::new(ErrorCode::CORRUPT_DATA, ty, msg);
    if body.len() != want {
        return Err(err(format!("Prefix PDU with length {len}")));
    }
    let (Some(flags), Some(plen), Some(max_len)) =
        (byte_at(body, 0), byte_at(body, 1), byte_at(body, 2))
    else {
        return Err(err("truncated Prefix PDU".into()));
    };
    // RFC 8210 §5.6: prefix length 0..=32 (128), max length from prefix length to 32 (128).
    if plen > bits || max_len > bits || max_len < plen {
        return Err(err(format!(
            "invalid prefix length {plen} / max length {max_len}"
        )));
    }
    let addr_end = want - 4;
    let addr = body
        .get(4..addr_end)
        .ok_or_else(|| err("truncated Prefix PDU".into()))?;
    let asn = u32_at(body, addr_end).ok_or_else(|| err("truncated Prefix PDU".into()))?;
    let prefix = if ty == kind::IPV4_PREFIX {
        let o: [u8; 4] = addr
            .try_into()
            .map_err(|_| err("truncated Prefix PDU".into()))?;
        Ipv4Net::new(Ipv4Addr::from(o), plen).map(IpNet::V4)
    } else {
        let o: [u8; 16] = addr
            .try_into()
            .map_err(|_| err("truncated Prefix PDU".into()))?;
        Ipv6Net::new(Ipv6Addr::from(o), plen).map(IpNet::V6)
    }
    .map_err(|e| err(e.to_string()))?;
    Ok(Pdu::Prefix {
        version,
        announce: flags & 1 == 1,
        // Host bits are cleared rather than refused: the VRP means the same.
        prefix: prefix.trunc(),
        max_len,
        asn: Asn(asn),
    })
}

fn decode_error_report(version: u8, code: u16, body: &[u8], len: u32) -> Result<Pdu, DecodeError> {
    // RFC 8210 §5.11: encapsulated PDU length, the PDU, text length, the text.
    let err = || {
        DecodeError::new(
            ErrorCode::CORRUPT_DATA,
            kind::ERROR_REPORT,
            format!("Error Report PDU with inconsistent lengths (total {len})"),
        )
    };
    let pdu_len = usize::try_from(u32_at(body, 0).ok_or_else(err)?).map_err(|_| err())?;
    let pdu_end = pdu_len.checked_add(4).ok_or_else(err)?;
    let pdu = body.get(4..pdu_end).ok_or_else(err)?.to_vec();
    let text_len = usize::try_from(u32_at(body, pdu_end).ok_or_else(err)?).map_err(|_| err())?;
    let text_start = pdu_end.checked_add(4).ok_or_else(err)?;
    let text_end = text_start.checked_add(text_len).ok_or_else(err)?;
    let text = body.get(text_start..text_end).ok_or_else(err)?;
    if text_end != body.len() {
        return Err(err());
    }
    // StayRTR NUL-terminates the text; the RFC does not, so strip one if present.
    let text = text.strip_suffix(&[0]).unwrap_or(text);
    Ok(Pdu::ErrorReport {
        version,
        code: ErrorCode(code),
        pdu,
        text: String::from_utf8_lossy(text).into_owned(),
    })
}

/// Reads a version 2 ASPA PDU in whichever layout it is (see [`AspaLayout`]).
///
/// The two are told apart by shape: a `Current` announcement has flag bit 0 set in header byte 2,
/// which `Draft10` keeps zero; a `Current` withdrawal without providers is 12 bytes, shorter than
/// any `Draft10` PDU (16). What remains ambiguous is a header with byte 2 zero whose body also
/// parses as `Draft10` (Flags and AFI Flags 0 or 1, a count that matches the length): a `Current`
/// withdrawal with a provider list would need a customer ASN whose bytes happen to form such a
/// header. That is read as `Draft10` unless the session has already seen `Current` PDUs.
fn decode_aspa(
    version: u8,
    field: u16,
    body: &[u8],
    len: u32,
    hint: Option<AspaLayout>,
) -> Result<Pdu, DecodeError> {
    let err = |msg: &str| {
        DecodeError::new(
            ErrorCode::CORRUPT_DATA,
            kind::ASPA,
            format!("ASPA PDU with length {len}: {msg}"),
        )
    };
    let header_flags = (field >> 8) as u8;
    let draft10 = header_flags == 0
        && matches!(byte_at(body, 0), Some(0 | 1))
        && matches!(byte_at(body, 1), Some(0 | 1))
        && u16_at(body, 2).is_some_and(|count| body.len() == 8 + 4 * usize::from(count));
    let current = header_flags & !1 == 0 && body.len() >= 4 && body.len().is_multiple_of(4);
    let layout = match (draft10, current) {
        (true, true) if hint == Some(AspaLayout::Current) => AspaLayout::Current,
        (true, _) => AspaLayout::Draft10,
        (false, true) => AspaLayout::Current,
        (false, false) => return Err(err("neither ASPA layout fits")),
    };
    let asns = |from: usize| -> Vec<Asn> {
        body.get(from..)
            .unwrap_or_default()
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(|b| Asn(u32::from_be_bytes(b))))
            .collect()
    };
    let pdu = match layout {
        AspaLayout::Draft10 => Pdu::Aspa {
            version,
            announce: byte_at(body, 0) == Some(1),
            layout,
            afi: Some(if byte_at(body, 1) == Some(1) {
                AspaAfi::Ipv6
            } else {
                AspaAfi::Ipv4
            }),
            customer: Asn(u32_at(body, 4).ok_or_else(|| err("truncated"))?),
            providers: asns(8),
        },
        AspaLayout::Current => Pdu::Aspa {
            version,
            announce: header_flags & 1 == 1,
            layout,
            afi: None,
            customer: Asn(u32_at(body, 0).ok_or_else(|| err("truncated"))?),
            providers: asns(4),
        },
    };
    Ok(pdu)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn both_ways(bytes: &str, pdu: Pdu) {
        let b = hex(bytes);
        assert_eq!(frame_len(&b), Ok(Some(b.len())));
        assert_eq!(Pdu::decode(&b, None), Ok(pdu.clone()));
        assert_eq!(pdu.encode(), b);
    }

    // The byte vectors below marked "StayRTR" were captured from Debian's stayrtr 0.5.1 serving
    // a small JSON file (see tests/rtr_stayrtr.rs for the same data).

    #[test]
    fn stayrtr_cache_response_and_prefixes() {
        both_ways(
            "0203683c00000008",
            Pdu::CacheResponse {
                version: 2,
                session_id: 0x683c,
            },
        );
        both_ways(
            "020400000000001401181800c00002000000fbf4",
            Pdu::Prefix {
                version: 2,
                announce: true,
                prefix: "192.0.2.0/24".parse().unwrap(),
                max_len: 24,
                asn: Asn(64500),
            },
        );
        both_ways(
            "02060000000000200120300020010db80000000000000000000000000000fbf5",
            Pdu::Prefix {
                version: 2,
                announce: true,
                prefix: "2001:db8::/32".parse().unwrap(),
                max_len: 48,
                asn: Asn(64501),
            },
        );
        // A withdrawal (flags 0), version 1.
        both_ways(
            "0106000000000020 00203000 20010db8000000000000000000000000 0000fbf5",
            Pdu::Prefix {
                version: 1,
                announce: false,
                prefix: "2001:db8::/32".parse().unwrap(),
                max_len: 48,
                asn: Asn(64501),
            },
        );
    }

    #[test]
    fn end_of_data_per_version() {
        both_ways(
            "0207683c000000180000000100000e100000025800001c20",
            Pdu::EndOfData {
                version: 2,
                session_id: 0x683c,
                serial: 1,
                timers: Some(Timers::DEFAULT),
            },
        );
        // Version 0 (RFC 6810 §5.8) has no timers; StayRTR -protocol 0.
        both_ways(
            "00072e550000000c00000000",
            Pdu::EndOfData {
                version: 0,
                session_id: 0x2e55,
                serial: 0,
                timers: None,
            },
        );
        // A version 1 End of Data without timers is malformed.
        let e = Pdu::decode(&hex("01072e550000000c00000000"), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::CORRUPT_DATA);
    }

    #[test]
    fn queries_notify_reset() {
        both_ways(
            "0201c0cb0000000c00000003",
            Pdu::SerialQuery {
                version: 2,
                session_id: 0xc0cb,
                serial: 3,
            },
        );
        both_ways(
            "0200c0cb0000000c00000002",
            Pdu::SerialNotify {
                version: 2,
                session_id: 0xc0cb,
                serial: 2,
            },
        );
        both_ways("0102000000000008", Pdu::ResetQuery { version: 1 });
        both_ways("0208000000000008", Pdu::CacheReset { version: 2 });
    }

    #[test]
    fn stayrtr_error_reports() {
        // StayRTR's answer to a Serial Query with a foreign session ID; its text ends in a NUL.
        let b = hex("020a00000000003e000000000000002e53657373696f6e204944206d69736d617463683a20636c69656e7420697320646573796e6368726f6e697a656400");
        assert_eq!(
            Pdu::decode(&b, None),
            Ok(Pdu::ErrorReport {
                version: 2,
                code: ErrorCode::CORRUPT_DATA,
                pdu: vec![],
                text: "Session ID mismatch: client is desynchronized".into(),
            })
        );
        // Its answer to a version 3 Reset Query: Unsupported Protocol Version, sent as version 0.
        let b = hex("000a00040000002500000000000000154261642070726f746f636f6c2076657273696f6e00");
        let Ok(Pdu::ErrorReport { version, code, .. }) = Pdu::decode(&b, None) else {
            panic!("not an Error Report");
        };
        assert_eq!(
            (version, code),
            (0, ErrorCode::UNSUPPORTED_PROTOCOL_VERSION)
        );
        // Ours, with the offending PDU copied in; and an Error Report in a version we do not
        // speak is still readable.
        both_ways(
            "030a0006 0000001c 00000008 0102000000000008 00000004 74657374",
            Pdu::ErrorReport {
                version: 3,
                code: ErrorCode::WITHDRAWAL_OF_UNKNOWN_RECORD,
                pdu: hex("0102000000000008"),
                text: "test".into(),
            },
        );
    }

    #[test]
    fn stayrtr_aspa_is_draft_10_layout() {
        // customer AS64500, IPv4, providers AS64510 AS64511
        both_ways(
            "020b000000000018 01 00 0002 0000fbf4 0000fbfe 0000fbff",
            Pdu::Aspa {
                version: 2,
                announce: true,
                layout: AspaLayout::Draft10,
                afi: Some(AspaAfi::Ipv4),
                customer: Asn(64500),
                providers: vec![Asn(64510), Asn(64511)],
            },
        );
        // customer AS64502, IPv6, "no providers" as AS0
        both_ways(
            "020b000000000014 01 01 0001 0000fbf6 00000000",
            Pdu::Aspa {
                version: 2,
                announce: true,
                layout: AspaLayout::Draft10,
                afi: Some(AspaAfi::Ipv6),
                customer: Asn(64502),
                providers: vec![Asn(0)],
            },
        );
        // StayRTR's withdrawal repeats the old provider list.
        both_ways(
            "020b000000000018 00 00 0002 0000fbf4 0000fbfe 0000fbff",
            Pdu::Aspa {
                version: 2,
                announce: false,
                layout: AspaLayout::Draft10,
                afi: Some(AspaAfi::Ipv4),
                customer: Asn(64500),
                providers: vec![Asn(64510), Asn(64511)],
            },
        );
    }

    #[test]
    fn current_aspa_layout_and_empty_withdrawal() {
        both_ways(
            "020b0100 00000014 0000fbf4 0000fbfe 0000fbff",
            Pdu::Aspa {
                version: 2,
                announce: true,
                layout: AspaLayout::Current,
                afi: None,
                customer: Asn(64500),
                providers: vec![Asn(64510), Asn(64511)],
            },
        );
        // 8210bis ≥ -21: a withdrawal has no providers (the `rpki` crate 0.20 rejects this one).
        both_ways(
            "020b0000 0000000c 0000fbf4",
            Pdu::Aspa {
                version: 2,
                announce: false,
                layout: AspaLayout::Current,
                afi: None,
                customer: Asn(64500),
                providers: vec![],
            },
        );
    }

    #[test]
    fn ambiguous_aspa_follows_the_session_hint() {
        // Current-layout withdrawal of customer 0x01000002 with 3 providers: its body also reads
        // as a Draft10 announcement (flags 1, IPv4, count 2).
        let b = hex("020b0000 00000018 01000002 0000fbfe 0000fbff 0000fc00");
        let Ok(Pdu::Aspa { layout, .. }) = Pdu::decode(&b, None) else {
            panic!()
        };
        assert_eq!(layout, AspaLayout::Draft10);
        let Ok(Pdu::Aspa {
            layout,
            customer,
            announce,
            ..
        }) = Pdu::decode(&b, Some(AspaLayout::Current))
        else {
            panic!()
        };
        assert_eq!(
            (layout, customer, announce),
            (AspaLayout::Current, Asn(0x0100_0002), false)
        );
    }

    #[test]
    fn aspa_and_router_key_need_their_versions() {
        let aspa = hex("010b0100 0000000c 0000fbf4");
        assert_eq!(
            Pdu::decode(&aspa, None).unwrap_err().code,
            ErrorCode::UNSUPPORTED_PDU_TYPE
        );
        let rk = Pdu::RouterKey {
            version: 1,
            announce: true,
            asn: Asn(64500),
        };
        assert_eq!(Pdu::decode(&rk.encode(), None), Ok(rk));
        let mut v0 = Pdu::RouterKey {
            version: 1,
            announce: true,
            asn: Asn(64500),
        }
        .encode();
        v0[0] = 0;
        assert_eq!(
            Pdu::decode(&v0, None).unwrap_err().code,
            ErrorCode::UNSUPPORTED_PDU_TYPE
        );
    }

    #[test]
    fn bad_prefix_lengths_are_corrupt_data() {
        for (plen, max) in [(33u8, 33u8), (24, 23), (24, 40)] {
            let mut b = hex("020400000000001401181800c00002000000fbf4");
            b[9] = plen;
            b[10] = max;
            assert_eq!(
                Pdu::decode(&b, None).unwrap_err().code,
                ErrorCode::CORRUPT_DATA,
                "{plen}/{max}"
            );
        }
        // Host bits are cleared.
        let b = hex("020400000000001401181800c00002ff0000fbf4");
        let Ok(Pdu::Prefix { prefix, .. }) = Pdu::decode(&b, None) else {
            panic!()
        };
        assert_eq!(prefix, "192.0.2.0/24".parse::<IpNet>().unwrap());
    }

    #[test]
    fn framing_bounds() {
        assert_eq!(frame_len(&hex("0207683c")), Ok(None));
        assert_eq!(frame_len(&hex("0207683c00000018")), Ok(None));
        assert!(frame_len(&hex("0207683c00000007")).is_err());
        assert!(frame_len(&hex("0207683c00010001")).is_err()); // 65537
        let mut b = hex("0207683c00010000"); // exactly 64 KiB: framed, then rejected by type
        assert_eq!(frame_len(&b), Ok(None));
        b.resize(65536, 0);
        assert_eq!(frame_len(&b), Ok(Some(65536)));
        assert!(Pdu::decode(&b, None).is_err());
        // Unknown version: Unsupported Protocol Version.
        assert_eq!(
            Pdu::decode(&hex("0307683c00000008"), None)
                .unwrap_err()
                .code,
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
        );
    }

    /// A small xorshift generator: the tests need no `rand`.
    pub(crate) struct XorShift(pub u64);
    impl XorShift {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn garbage_never_panics() {
        let seeds: Vec<Vec<u8>> = [
            "020b000000000018010000020000fbf40000fbfe0000fbff",
            "020b01000000000c0000fbf4",
            "020a00000000003e000000000000002e53657373696f6e204944206d69736d617463683a20636c69656e7420697320646573796e6368726f6e697a656400",
            "02060000000000200120300020010db80000000000000000000000000000fbf5",
            "0207683c000000180000000100000e100000025800001c20",
        ]
        .iter()
        .map(|s| hex(s))
        .collect();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..200_000u32 {
            let mut b = seeds[round as usize % seeds.len()].clone();
            match rng.next() % 4 {
                0 => b.truncate((rng.next() as usize) % (b.len() + 1)),
                1 => {
                    for _ in 0..1 + rng.next() % 4 {
                        let i = (rng.next() as usize) % b.len();
                        b[i] = rng.next() as u8;
                    }
                }
                2 => {
                    let n = (rng.next() % 64) as usize;
                    b = (0..n).map(|_| rng.next() as u8).collect();
                }
                _ => {
                    // Random length field over real content.
                    let l = (rng.next() % 80) as u32;
                    if b.len() >= 8 {
                        b[4..8].copy_from_slice(&l.to_be_bytes());
                    }
                }
            }
            if let Ok(Some(n)) = frame_len(&b) {
                let _ = Pdu::decode(&b[..n], None);
                let _ = Pdu::decode(&b[..n], Some(AspaLayout::Current));
            }
            let _ = Pdu::decode(&b, None);
        }
    }
}
