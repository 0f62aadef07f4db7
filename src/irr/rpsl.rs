//! Reader for RPSL `route:` / `route6:` objects (RFC 2622 §4, RFC 4012 §3), as in IRR database
//! dumps (`ripe.db.route.gz`) or whois output.
//!
//! Objects are separated by blank lines; `#` and `%` lines are comments; a line starting with
//! space, tab or `+` continues the previous attribute; `#` also starts an end-of-line comment.
//! Only route/route6 objects are kept (as exact-length entries with their origin); other classes
//! are skipped. The input is read line by line (a full registry dump does not fit comfortably in
//! memory) and need not be UTF-8: dumps carry Latin-1 in `descr:`, and only ASCII attributes are
//! used. Any malformed line or route object rejects the whole file.

use super::prefix_list::check_no_host_bits;
use super::{IrrError, PrefixList};
use crate::types::Asn;
use ipnet::IpNet;
use std::io::BufRead;
use std::path::Path;

/// The attributes of one object that matter here, with the line each started on.
#[derive(Default)]
struct Object {
    /// Class (first attribute name, lower case) and the line of the object's first attribute.
    class: Option<(String, usize)>,
    route: Option<(String, usize)>,
    origins: Vec<(String, usize)>,
    /// Which kept value the previous attribute line filled, for continuation lines.
    continuing: Continuing,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum Continuing {
    #[default]
    Nothing,
    Route,
    Origin,
}

pub(super) fn parse(reader: impl BufRead, path: &Path) -> Result<PrefixList, IrrError> {
    let err = |line: usize, message: String| IrrError::Rpsl {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut out = PrefixList::new();
    let mut routes = 0usize;
    let mut obj = Object::default();
    let mut line_no = 0usize;
    for raw in reader.split(b'\n') {
        line_no += 1;
        let raw = raw.map_err(|source| IrrError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8_lossy(&raw);
        let line = text.strip_suffix('\r').unwrap_or(&text);
        if line.trim().is_empty() {
            routes += finish(std::mem::take(&mut obj), &mut out).map_err(|(l, m)| err(l, m))?;
            continue;
        }
        if line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix('+')
            .or_else(|| line.starts_with([' ', '\t']).then_some(line))
        {
            if obj.class.is_none() {
                return Err(err(line_no, "continuation line outside an object".into()));
            }
            let value = strip_comment(rest);
            match obj.continuing {
                Continuing::Nothing => {}
                Continuing::Route => {
                    if let Some((v, _)) = obj.route.as_mut() {
                        v.push(' ');
                        v.push_str(value);
                    }
                }
                Continuing::Origin => {
                    if let Some((v, _)) = obj.origins.last_mut() {
                        v.push(' ');
                        v.push_str(value);
                    }
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(err(
                line_no,
                format!("expected \"attribute: value\", found {:?}", truncate(line)),
            ));
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(err(
                line_no,
                format!("invalid attribute name {:?}", truncate(name)),
            ));
        }
        let name = name.to_ascii_lowercase();
        let value = strip_comment(value).to_string();
        let first = obj.class.is_none();
        if first {
            obj.class = Some((name.clone(), line_no));
        }
        obj.continuing = Continuing::Nothing;
        let is_route_class = matches!(&obj.class, Some((c, _)) if c == "route" || c == "route6");
        if !is_route_class {
            continue;
        }
        if first {
            obj.route = Some((value, line_no));
            obj.continuing = Continuing::Route;
        } else if name == "origin" {
            obj.origins.push((value, line_no));
            obj.continuing = Continuing::Origin;
        }
    }
    routes += finish(obj, &mut out).map_err(|(l, m)| err(l, m))?;
    if routes == 0 {
        return Err(err(
            line_no.max(1),
            "no route or route6 objects in the file".into(),
        ));
    }
    Ok(out)
}

/// Validates a finished object and adds it when it is a route/route6 object; returns how many
/// route objects it added (0 or 1).
fn finish(obj: Object, out: &mut PrefixList) -> Result<usize, (usize, String)> {
    let Some((class, start)) = obj.class else {
        return Ok(0);
    };
    if class != "route" && class != "route6" {
        return Ok(0);
    }
    let Some((route, route_line)) = obj.route else {
        return Ok(0);
    };
    let prefix: IpNet = route.trim().parse().map_err(|_| {
        (
            route_line,
            format!("{class}: invalid prefix {:?}", route.trim()),
        )
    })?;
    check_no_host_bits(&prefix).map_err(|m| (route_line, format!("{class}: {m}")))?;
    let family_ok = matches!(
        (class.as_str(), prefix),
        ("route", IpNet::V4(_)) | ("route6", IpNet::V6(_))
    );
    if !family_ok {
        return Err((
            route_line,
            format!("{class}: {prefix} is of the wrong address family for this class"),
        ));
    }
    let origin = match obj.origins.as_slice() {
        [] => {
            return Err((
                start,
                format!("{class} object {prefix} has no origin attribute"),
            ))
        }
        [(value, line)] => value
            .trim()
            .parse::<Asn>()
            .map_err(|e| (*line, format!("origin: {e}")))?,
        [_, (_, line), ..] => {
            return Err((
                *line,
                format!("{class} object {prefix} has more than one origin attribute"),
            ))
        }
    };
    let len = prefix.prefix_len();
    out.insert(prefix, len, len, Some(origin));
    Ok(1)
}

fn strip_comment(value: &str) -> &str {
    value.split_once('#').map_or(value, |(v, _)| v).trim()
}

/// Keeps error messages short when a binary or very long line is fed in by mistake.
fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}
