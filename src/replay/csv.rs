//! BGPStream element CSV (`collector,dump_time,type,time,peer_address,peer_asn,fields`, the
//! `fields` column a JSON object), as in the 2017 Google leak data set. One line is one element
//! (`A` announce or `W` withdraw); lines that do not parse are counted as malformed.

use super::convert::PeerKey;
use super::convert::Update;
use super::input::{Chunk, Event, FileEnd, BATCH};
use super::report::FileStatus;
use crate::types::{AsPath, Asn, Attrs};
use serde::Deserialize;
use std::io::BufRead;
use std::sync::mpsc::SyncSender;

#[derive(Deserialize)]
struct Fields {
    prefix: ipnet::IpNet,
    #[serde(rename = "as-path", default)]
    as_path: Option<String>,
    #[serde(rename = "next-hop", default)]
    next_hop: Option<std::net::IpAddr>,
    #[serde(default)]
    communities: Vec<String>,
}

/// Parses one data line into an event.
pub fn parse_line(line: &str) -> Option<Event> {
    let mut cols = line.splitn(7, ',');
    let _collector = cols.next()?;
    let _dump_time = cols.next()?;
    let kind = cols.next()?;
    let ts: f64 = cols.next()?.parse().ok()?;
    let ip = cols.next()?.parse().ok()?;
    let asn: Asn = cols.next()?.parse().ok()?;
    let f: Fields = serde_json::from_str(cols.next()?).ok()?;
    let peer = PeerKey { asn, ip };
    let ts = ts as u64;
    let prefix = (f.prefix.trunc(), None);
    Some(Event::Update(match kind {
        "A" => {
            let mut attrs = Attrs {
                as_path: AsPath::parse(f.as_path.as_deref()?).ok()?,
                next_hop: f.next_hop,
                ..Attrs::default()
            };
            for c in &f.communities {
                let (hi, lo) = c.split_once(':')?;
                let (hi, lo): (u16, u16) = (hi.parse().ok()?, lo.parse().ok()?);
                attrs
                    .communities
                    .push((u32::from(hi) << 16) | u32::from(lo));
            }
            Update::new(peer, ts, attrs, vec![prefix], vec![])
        }
        "W" => Update::new(peer, ts, Attrs::default(), vec![], vec![prefix]),
        _ => return None,
    }))
}

/// Reader thread body: header line, then one event per line.
/// `None` when the receiver is gone.
pub fn read(input: Box<dyn BufRead + Send>, tx: &SyncSender<Chunk>) -> Option<FileEnd> {
    let mut end = FileEnd::default();
    let mut batch = Vec::with_capacity(BATCH);
    for (i, line) in input.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                end.status = FileStatus::Corrupt;
                end.error = Some(e.to_string());
                break;
            }
        };
        if i == 0 {
            continue;
        }
        end.records += 1;
        end.bytes += line.len() as u64 + 1;
        batch.push(parse_line(&line).unwrap_or(Event::Malformed));
        if batch.len() == BATCH
            && tx
                .send(Chunk::Events(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(BATCH),
                )))
                .is_err()
        {
            return None;
        }
    }
    if !batch.is_empty() && tx.send(Chunk::Events(batch)).is_err() {
        return None;
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcement_and_withdrawal_lines_parse() {
        let a = r#"rrc06,1503629700,A,1503630000,202.249.2.185,25152,{"next-hop": "202.249.2.185", "as-path": "25152 2914 174 61098", "communities": ["2914:420"], "prefix": "89.145.160.0/21"}"#;
        let Some(Event::Update(u)) = parse_line(a) else {
            panic!("no update")
        };
        assert_eq!(u.peer.to_string(), "25152@202.249.2.185");
        assert_eq!(u.ts, 1503630000);
        assert_eq!(u.attrs.as_path.to_string(), "25152 2914 174 61098");
        assert_eq!(u.attrs.communities, vec![(2914 << 16) | 420]);
        assert_eq!(
            u.announced,
            vec![("89.145.160.0/21".parse().unwrap(), None)]
        );
        let w =
            r#"rrc06,1503629700,W,1503630000,202.249.2.185,25152,{"prefix": "103.198.185.0/24"}"#;
        let Some(Event::Update(u)) = parse_line(w) else {
            panic!("no update")
        };
        assert_eq!(u.withdrawn.len(), 1);
        assert!(parse_line("rrc06,x,A,1,1.2.3.4,1,{}").is_none());
    }
}
