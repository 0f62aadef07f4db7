//! AS_PATH (type 2, RFC 4271 §5.1.2) and AS4_PATH (type 17, RFC 6793 §3): segments of 2- or
//! 4-octet ASNs (AS_PATH as the session negotiated, AS4_PATH always 4), adjacent AS_SEQUENCEs
//! joined so equal paths compare equal. RFC 7606 §7.2 makes an AS_PATH that cannot be read
//! malformed, and one with confederation segments from an external peer; RFC 7607 §2 one with AS
//! 0. RFC 6793 §6 gives AS4_PATH its own rules. The merge of the two on a 2-octet session (RFC
//! 6793 §4.2.3) is here too; whether it applies is the walk's to decide, with AGGREGATOR.

use super::{Decoded, Malformed};
use crate::bgp::notification::Notification;
use crate::bgp::rfc7606::Problem;
use crate::types::{AsPath, Asn, Segment};

/// AS_PATH: the path, or why it cannot be read.
pub(crate) fn decode_as_path(value: &[u8], four_octet_asn: bool) -> Decoded<AsPath> {
    parse_as_path(value, four_octet_asn)
        .map_err(|e| malformed_as_path(format!("malformed AS_PATH: {e}")))
}

/// What is wrong with an AS_PATH that could be read: confederation segments from an external
/// peer (RFC 7606 §7.2; RFC 5065 keeps them inside the confederation) or AS 0 (RFC 7607 §2).
/// The caller keeps the path either way, so the route shows what was received.
pub(crate) fn check_as_path(path: &AsPath, ebgp: bool) -> Option<Malformed> {
    let what = if ebgp && path.segments.iter().any(is_confed) {
        "AS_PATH from an external peer holds a confederation segment"
    } else if path.asns().any(|a| a.0 == 0) {
        "AS_PATH holds AS 0"
    } else {
        return None;
    };
    Some(malformed_as_path(what.into()))
}

/// AS4_PATH: the path, or why it is malformed (RFC 6793 §6: it cannot be read, or it holds a
/// confederation segment; RFC 7607 §2 defers AS 0 to RFC 6793).
pub(crate) fn decode_as4_path(value: &[u8]) -> Decoded<AsPath> {
    let what = match parse_as_path(value, true) {
        Ok(p) if p.segments.iter().any(is_confed) => {
            "AS4_PATH with a confederation segment discarded".to_string()
        }
        Ok(p) if p.asns().any(|a| a.0 == 0) => "AS4_PATH with AS 0 discarded".to_string(),
        Ok(p) => return Ok(p),
        Err(e) => format!("malformed AS4_PATH discarded: {e}"),
    };
    Err(malformed_as_path(what))
}

fn malformed_as_path(what: String) -> Malformed {
    Malformed {
        problem: Problem::Value,
        what,
        notify: |_| Notification::malformed_as_path(),
    }
}

fn is_confed(s: &Segment) -> bool {
    matches!(s, Segment::ConfedSequence(_) | Segment::ConfedSet(_))
}
/// Why an AS path could not be read (RFC 7606 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathError {
    Overrun,
    OneOctetLeft,
    ZeroLength,
    BadType(u8),
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::Overrun => f.write_str("a segment runs past the attribute"),
            PathError::OneOctetLeft => f.write_str("one octet left after the last segment"),
            PathError::ZeroLength => f.write_str("a segment of length 0"),
            PathError::BadType(t) => write!(f, "unknown segment type {t}"),
        }
    }
}

/// AS_PATH / AS4_PATH segments, 2- or 4-octet ASNs; adjacent AS_SEQUENCEs joined.
fn parse_as_path(mut b: &[u8], four: bool) -> Result<AsPath, PathError> {
    let width = if four { 4 } else { 2 };
    let mut segments: Vec<Segment> = Vec::with_capacity(1);
    while !b.is_empty() {
        let Some((&[kind, count], rest)) = b.split_first_chunk::<2>() else {
            return Err(PathError::OneOctetLeft);
        };
        if count == 0 {
            return Err(PathError::ZeroLength);
        }
        let n = usize::from(count) * width;
        let body = rest.get(..n).ok_or(PathError::Overrun)?;
        b = rest.get(n..).ok_or(PathError::Overrun)?;
        let asns = body
            .chunks_exact(width)
            .map(|c| Asn(c.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))));
        match kind {
            2 => match segments.last_mut() {
                Some(Segment::Sequence(v)) => v.extend(asns),
                _ => segments.push(Segment::Sequence(asns.collect())),
            },
            1 => segments.push(Segment::Set(asns.collect())),
            3 => segments.push(Segment::ConfedSequence(asns.collect())),
            4 => segments.push(Segment::ConfedSet(asns.collect())),
            t => return Err(PathError::BadType(t)),
        }
    }
    Ok(AsPath { segments })
}

/// RFC 6793 §4.2.3 path length: an AS_SET counts one, confederation segments nothing.
fn path_len(p: &AsPath) -> usize {
    p.segments
        .iter()
        .map(|s| match s {
            Segment::Sequence(v) => v.len(),
            Segment::Set(_) => 1,
            Segment::ConfedSequence(_) | Segment::ConfedSet(_) => 0,
        })
        .sum()
}

/// RFC 6793 §4.2.3: the leading part of AS_PATH that AS4_PATH does not cover, then AS4_PATH.
/// An AS4_PATH longer than AS_PATH is ignored.
pub(crate) fn merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath {
    let (n, n4) = (path_len(&as_path), path_len(&as4_path));
    if n < n4 {
        return as_path;
    }
    let mut need = n - n4;
    let mut segments: Vec<Segment> = Vec::with_capacity(as_path.segments.len() + 1);
    let mut prev_taken = true; // a leading confederation segment is always taken
    for s in as_path.segments {
        prev_taken = match s {
            // "a valid AS_CONFED_SEQUENCE or AS_CONFED_SET path segment SHALL be prepended if
            // it is either the leading path segment or is adjacent to a path segment that is
            // prepended"
            Segment::ConfedSequence(_) | Segment::ConfedSet(_) if prev_taken || need > 0 => {
                segments.push(s);
                true
            }
            Segment::Sequence(mut v) if need > 0 => {
                v.truncate(need);
                need -= v.len();
                segments.push(Segment::Sequence(v));
                true
            }
            Segment::Set(v) if need > 0 => {
                need -= 1;
                segments.push(Segment::Set(v));
                true
            }
            _ => break,
        };
    }
    for s in as4_path.segments {
        match (segments.last_mut(), s) {
            (Some(Segment::Sequence(v)), Segment::Sequence(w)) => v.extend(w),
            (_, s) => segments.push(s),
        }
    }
    AsPath { segments }
}
