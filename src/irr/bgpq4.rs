//! Reader for `bgpq4 -j` prefix lists.
//!
//! bgpq4 prints `{ "NAME": [ {"prefix": "192.0.2.0\/24", "exact": true}, {"prefix": "…",
//! "exact": false, "greater-equal": 17, "less-equal": 24}, … ] }` (`printer.c`,
//! `bgpq4_print_json_prefix`; `greater-equal` is left out when it equals the prefix length).
//! Entries carry no origin. Every entry is checked, and the first bad one rejects the file: a
//! half-read filter would silently drop a customer's routes.

use super::prefix_list::check_no_host_bits;
use super::{IrrError, PrefixList};
use ipnet::IpNet;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(deserialize_with = "network")]
    prefix: IpNet,
    exact: bool,
    #[serde(rename = "greater-equal")]
    greater_equal: Option<u8>,
    #[serde(rename = "less-equal")]
    less_equal: Option<u8>,
}

/// A prefix without host bits; checked while its string is read, so the error points at it.
fn network<'de, D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
    let s = String::deserialize(d)?;
    let prefix: IpNet = s
        .trim()
        .parse()
        .map_err(|_| de::Error::custom(format!("invalid prefix {s:?}")))?;
    check_no_host_bits(&prefix).map_err(de::Error::custom)?;
    Ok(prefix)
}

/// One validated entry. The length range is checked inside `visit_map`, so serde_json places
/// an error at the entry's closing brace.
struct Entry {
    prefix: IpNet,
    min_len: u8,
    max_len: u8,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a bgpq4 prefix entry {\"prefix\": …, \"exact\": …}")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        let raw = RawEntry::deserialize(de::value::MapAccessDeserializer::new(map))?;
        validate(raw).map_err(de::Error::custom)
    }
}

fn validate(raw: RawEntry) -> Result<Entry, String> {
    let prefix = raw.prefix;
    let len = prefix.prefix_len();
    let max = prefix.max_prefix_len();
    if raw.exact {
        if raw.greater_equal.is_some() || raw.less_equal.is_some() {
            return Err(format!(
                "entry {prefix} is exact but has greater-equal/less-equal"
            ));
        }
        return Ok(Entry {
            prefix,
            min_len: len,
            max_len: len,
        });
    }
    let Some(le) = raw.less_equal else {
        return Err(format!("entry {prefix} is not exact but has no less-equal"));
    };
    let ge = raw.greater_equal.unwrap_or(len);
    if ge < len || ge > le || le > max {
        return Err(format!(
            "entry {prefix}: greater-equal {ge} and less-equal {le} must satisfy \
             {len} <= greater-equal <= less-equal <= {max}"
        ));
    }
    Ok(Entry {
        prefix,
        min_len: ge,
        max_len: le,
    })
}

/// Parses bgpq4 JSON text. Every named list in the object is read (bgpq4 writes one, named by
/// `-l`, default `NN`).
pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<PrefixList, IrrError> {
    let lists: BTreeMap<String, Vec<Entry>> =
        serde_json::from_slice(bytes).map_err(|e| IrrError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            col: e.column(),
            message: json_message(&e),
        })?;
    let mut out = PrefixList::new();
    for entry in lists.values().flatten() {
        out.insert(entry.prefix, entry.min_len, entry.max_len, None);
    }
    Ok(out)
}

/// serde_json's Display appends " at line L column C"; the position is reported separately.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(m) => m.to_string(),
        None => full,
    }
}
