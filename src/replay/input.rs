//! Reading replay inputs: MRT files (TABLE_DUMP, TABLE_DUMP_V2, BGP4MP(_ET), legacy BGP), plain,
//! gzip or bzip2 (detected by magic bytes, not by name), and BGPStream CSV element dumps.
//! A reader thread per file decompresses and frames records into batches; parsing happens on
//! the worker pool. A broken record is counted and skipped; a damaged file (cut short, corrupt
//! compressed data, not MRT at all) is reported with everything before the damage kept.

use super::convert::{self, PeerKey, Update};
use super::decode::{self, Codec, Decoded, Fault, Stash, StreamFault};
use super::report::{FileStatus, NOT_MRT};
use crate::types::Asn;
use bgpkit_parser::models::{Bgp4MpEnum, BgpState, LegacyBgp, MrtMessage, TableDumpV2Message};
use bgpkit_parser::{chunk_mrt_record, ParserError, RawMrtRecord};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Records per batch handed to the worker pool.
pub const BATCH: usize = 2048;

/// A reader that counts the (compressed) bytes read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens a file, transparently decompressing gzip and bzip2. A read error (corrupt or cut-short
/// compressed data) comes after every byte decoded before it.
pub fn open(path: &Path, read: Arc<AtomicU64>) -> io::Result<Box<dyn BufRead + Send>> {
    let r = decoder(path, read)?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, r)))
}

/// Like [`open`], but the stream ends cleanly at its first error, which is kept in the
/// returned [`Fault`]: a record parser reads everything before the damage.
pub fn open_stashed(
    path: &Path,
    read: Arc<AtomicU64>,
) -> io::Result<(Box<dyn BufRead + Send>, Fault)> {
    let (r, fault) = Stash::new(decoder(path, read)?);
    Ok((Box::new(BufReader::with_capacity(1 << 16, r)), fault))
}

fn decoder(path: &Path, read: Arc<AtomicU64>) -> io::Result<Box<dyn Read + Send>> {
    let file = File::open(path)?;
    let mut buf = BufReader::with_capacity(1 << 16, Counting { inner: file, read });
    Ok(match Codec::sniff(buf.fill_buf()?) {
        Codec::Gzip => Box::new(Decoded::new(decode::Gzip::new(buf))),
        Codec::Bzip2 => Box::new(Decoded::new(decode::Bzip2::new(buf))),
        Codec::Plain => Box::new(buf),
    })
}

/// One record after parsing: what the engine consumes.
#[derive(Debug)]
pub enum Event {
    /// An UPDATE, or one RIB entry (announced = its prefix).
    Update(Update),
    /// A session went up (`true`: to Established) or down (left Established).
    State { peer: PeerKey, ts: u64, up: bool },
    /// A record that could not be parsed.
    Malformed,
}

/// What a reader thread sends.
pub enum Chunk {
    /// Framed MRT records, in file order.
    Mrt(Vec<RawMrtRecord>),
    /// Events read from a text format (CSV), in file order.
    Events(Vec<Event>),
    /// The end of the file, and how it ended.
    End(FileEnd),
}

/// How reading a file ended.
#[derive(Debug, Clone, Default)]
pub struct FileEnd {
    /// Records framed (MRT) or lines read (CSV): for a damaged file, those before the damage.
    pub records: u64,
    /// Records that could not even be framed and were skipped.
    pub unreadable: u64,
    /// Decompressed bytes of the whole records read (framed or skipped): where the good part
    /// of a damaged file ends.
    pub bytes: u64,
    pub status: FileStatus,
    /// Why the file was not read whole.
    pub error: Option<String>,
}

impl FileEnd {
    fn stop(&mut self, status: FileStatus, error: String) {
        self.status = status;
        self.error = Some(error);
    }

    /// The end once the stream's own fault is known: a decompression fault explains the stop
    /// better than what the record parser saw of it (a record cut short).
    pub fn settle(mut self, fault: Option<StreamFault>) -> FileEnd {
        match fault {
            Some(StreamFault::Truncated(e)) => self.stop(FileStatus::Truncated, e),
            Some(StreamFault::Corrupt(e)) => self.stop(FileStatus::Corrupt, e),
            None if self.status == FileStatus::Complete
                && self.records == 0
                && self.unreadable == 0
                && self.bytes == 0 =>
            {
                self.status = FileStatus::Empty;
            }
            None => {}
        }
        self
    }

    /// A file that could not be opened.
    pub fn unreadable(error: String) -> FileEnd {
        FileEnd {
            status: FileStatus::Unreadable,
            error: Some(error),
            ..FileEnd::default()
        }
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mrt,
    BgpstreamCsv,
}

/// Starts a reader thread for `path`. The channel holds a few batches, so readers of later
/// files run ahead while earlier files are being processed. Only opening the file can fail;
/// everything after is told by the [`Chunk::End`] of the channel.
pub fn spawn(path: PathBuf, read: Arc<AtomicU64>) -> io::Result<(Format, Receiver<Chunk>)> {
    let (mut input, fault) = open_stashed(&path, read)?;
    let head = input.fill_buf()?;
    let format = if head.starts_with(b"collector,dump_time,type,time") {
        Format::BgpstreamCsv
    } else {
        Format::Mrt
    };
    let (tx, rx) = sync_channel(4);
    std::thread::Builder::new()
        .name("replay-reader".into())
        .spawn(move || {
            let end = match format {
                Format::Mrt => read_mrt(input, &tx),
                Format::BgpstreamCsv => super::csv::read(input, &tx),
            };
            if let Some(end) = end {
                let _ = tx.send(Chunk::End(end.settle(fault.get())));
            }
        })?;
    Ok((format, rx))
}

/// Whether bytes look like text (a file that is not MRT at all).
fn looks_like_text(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
}

/// Why the first record of a file shows it is not MRT, if it does.
fn not_mrt(error: &ParserError, bytes: &[u8]) -> Option<String> {
    let why = match error {
        _ if looks_like_text(bytes.get(..bytes.len().min(12)).unwrap_or_default()) => {
            "it starts with text".to_string()
        }
        ParserError::OversizedRecord { length } => {
            format!("its first record header declares a {length}-byte body")
        }
        ParserError::ParseError(e) => format!("its first record header is invalid ({e})"),
        _ => return None,
    };
    Some(format!("{NOT_MRT}{why}"))
}

/// Frames MRT records and sends them in batches; `None` when the receiver is gone.
fn read_mrt(mut input: Box<dyn BufRead + Send>, tx: &SyncSender<Chunk>) -> Option<FileEnd> {
    let mut end = FileEnd::default();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match chunk_mrt_record(&mut input) {
            Ok(raw) => {
                end.records += 1;
                end.bytes += raw.total_bytes_len() as u64;
                batch.push(raw);
                if batch.len() == BATCH
                    && tx
                        .send(Chunk::Mrt(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(BATCH),
                        )))
                        .is_err()
                {
                    return None;
                }
            }
            Err(e) => {
                let bytes = e.bytes.unwrap_or_default();
                let first = end.records == 0 && end.unreadable == 0;
                match e.error {
                    ParserError::EofExpected => break,
                    // The record was consumed whole: skip it and go on.
                    ParserError::TruncatedMsg(_) | ParserError::Unsupported(_) if !first => {
                        end.unreadable += 1;
                        end.bytes += bytes.len() as u64;
                    }
                    ref other => {
                        match (first.then(|| not_mrt(other, &bytes)).flatten(), other) {
                            (Some(why), _) => end.stop(FileStatus::NotMrt, why),
                            (None, ParserError::IoError(io))
                                if io.kind() == io::ErrorKind::UnexpectedEof =>
                            {
                                end.stop(
                                    FileStatus::Truncated,
                                    format!("cut short inside a record: {io}"),
                                )
                            }
                            (None, ParserError::TruncatedMsg(_) | ParserError::Unsupported(_)) => {
                                end.unreadable += 1;
                                end.bytes += bytes.len() as u64;
                                continue;
                            }
                            (None, other) => end.stop(FileStatus::Corrupt, other.to_string()),
                        }
                        break;
                    }
                }
            }
        }
    }
    if !batch.is_empty() && tx.send(Chunk::Mrt(batch)).is_err() {
        return None;
    }
    Some(end)
}

/// TABLE_DUMP_V2 peer index: RIB entries name their peer by position.
#[derive(Debug, Default, Clone)]
pub struct PeerTable(pub Vec<Option<PeerKey>>);

impl PeerTable {
    fn get(&self, i: u16) -> Option<PeerKey> {
        self.0.get(usize::from(i)).copied().flatten()
    }
}

/// Whether a framed record is a TABLE_DUMP_V2 PEER_INDEX_TABLE (which must be read before the
/// RIB records that follow it).
pub fn is_peer_index(raw: &RawMrtRecord) -> bool {
    raw.common_header.entry_type as u16 == 13 && raw.common_header.entry_subtype == 1
}

/// Reads a PEER_INDEX_TABLE record.
pub fn peer_table(raw: RawMrtRecord) -> Option<PeerTable> {
    let rec = raw.parse().ok()?;
    let MrtMessage::TableDumpV2Message(TableDumpV2Message::PeerIndexTable(t)) = rec.message else {
        return None;
    };
    let max = t.id_peer_map.keys().copied().max().map_or(0, usize::from);
    let mut v = vec![None; max + 1];
    for (i, p) in &t.id_peer_map {
        if let Some(slot) = v.get_mut(usize::from(*i)) {
            *slot = Some(PeerKey {
                asn: Asn(u32::from(p.peer_asn)),
                ip: p.peer_ip,
            });
        }
    }
    Some(PeerTable(v))
}

fn established(s: &BgpState) -> bool {
    matches!(s, BgpState::Established)
}

/// Parses one framed record into events.
pub fn parse(raw: RawMrtRecord, peers: &PeerTable, out: &mut Vec<Event>) {
    let ts = u64::from(raw.common_header.timestamp);
    let rec = match raw.parse() {
        Ok(r) => r,
        Err(_) => {
            out.push(Event::Malformed);
            return;
        }
    };
    let key = |asn: bgpkit_parser::models::Asn, ip| PeerKey {
        asn: Asn(u32::from(asn)),
        ip,
    };
    match rec.message {
        MrtMessage::TableDumpMessage(m) => out.push(rib_entry(
            key(m.peer_asn, m.peer_ip),
            ts,
            &m.attributes,
            m.prefix,
        )),
        MrtMessage::TableDumpMessageBatch(ms) => {
            for m in ms {
                out.push(rib_entry(
                    key(m.peer_asn, m.peer_ip),
                    ts,
                    &m.attributes,
                    m.prefix,
                ))
            }
        }
        MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(rib)) => {
            for e in rib.rib_entries {
                match peers.get(e.peer_index) {
                    Some(peer) => {
                        let mut p = rib.prefix;
                        p.path_id = e.path_id;
                        out.push(rib_entry(peer, ts, &e.attributes, p));
                    }
                    None => out.push(Event::Malformed),
                }
            }
        }
        MrtMessage::TableDumpV2Message(_) => {}
        MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)) => {
            if let Some(u) = convert::update(key(m.peer_asn, m.peer_ip), ts, &m.bgp_message) {
                out.push(Event::Update(u));
            }
        }
        MrtMessage::Bgp4Mp(Bgp4MpEnum::StateChange(s)) => {
            if established(&s.new_state) != established(&s.old_state) {
                out.push(Event::State {
                    peer: key(s.peer_asn, s.peer_ip),
                    ts,
                    up: established(&s.new_state),
                });
            }
        }
        MrtMessage::LegacyBgp(LegacyBgp::Message(m)) => {
            if let Some(u) = convert::update(key(m.peer_asn, m.peer_ip), ts, &m.bgp_message) {
                out.push(Event::Update(u));
            }
        }
        MrtMessage::LegacyBgp(LegacyBgp::StateChange(s)) => {
            if established(&s.new_state) != established(&s.old_state) {
                out.push(Event::State {
                    peer: key(s.peer_asn, s.peer_ip),
                    ts,
                    up: established(&s.new_state),
                });
            }
        }
    }
}

fn rib_entry(
    peer: PeerKey,
    ts: u64,
    a: &bgpkit_parser::models::Attributes,
    p: bgpkit_parser::models::NetworkPrefix,
) -> Event {
    let (attrs, warnings, reset) = convert::attrs(a);
    Event::Update(Update {
        peer,
        ts,
        attrs: Arc::new(attrs),
        announced: if reset {
            vec![]
        } else {
            vec![(p.prefix, p.path_id)]
        },
        withdrawn: vec![],
        end_of_rib: false,
        warnings,
        reset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bird() -> Vec<u8> {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mrt/lab/bird_bgp"))
            .unwrap()
    }

    /// Frames `bytes` as a plain MRT file and settles its end without a stream fault.
    fn end_of(bytes: Vec<u8>) -> FileEnd {
        let (tx, _rx) = sync_channel(64);
        read_mrt(Box::new(io::Cursor::new(bytes)), &tx)
            .unwrap()
            .settle(None)
    }

    #[test]
    fn a_whole_file_is_complete_and_a_cut_one_truncated_after_its_whole_records() {
        let whole = end_of(bird());
        assert_eq!(whole.status, FileStatus::Complete);
        assert_eq!((whole.records, whole.bytes), (29, bird().len() as u64));
        let mut cut = bird();
        cut.truncate(cut.len() - 5);
        let end = end_of(cut);
        assert_eq!(end.status, FileStatus::Truncated);
        assert_eq!(end.records, 28);
        assert!(end.bytes < bird().len() as u64 - 5);
    }

    #[test]
    fn text_is_not_mrt_and_nothing_is_empty() {
        let end = end_of(b"collector dumps are here\n".to_vec());
        assert_eq!(end.status, FileStatus::NotMrt);
        assert!(end.error.unwrap().starts_with("not an MRT file"));
        // A binary header of an unknown type, first in the file.
        let end = end_of([0, 0, 0, 1, 0x7f, 0x7f, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4].to_vec());
        assert_eq!(end.status, FileStatus::NotMrt);
        assert_eq!(end_of(Vec::new()).status, FileStatus::Empty);
    }

    #[test]
    fn an_unknown_record_type_after_good_records_is_corrupt() {
        let mut bytes = bird();
        bytes.extend_from_slice(&[0, 0, 0, 1, 0x7f, 0x7f, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        bytes.extend_from_slice(&bird());
        let end = end_of(bytes);
        assert_eq!(end.status, FileStatus::Corrupt);
        assert_eq!(end.records, 29);
    }

    #[test]
    fn the_streams_fault_explains_the_stop() {
        let mut cut = bird();
        cut.truncate(100);
        let (tx, _rx) = sync_channel(64);
        let end = read_mrt(Box::new(io::Cursor::new(cut)), &tx)
            .unwrap()
            .settle(Some(StreamFault::Corrupt("bad block".into())));
        assert_eq!(end.status, FileStatus::Corrupt);
        assert_eq!(end.error.as_deref(), Some("bad block"));
    }
}
