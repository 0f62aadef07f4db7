//! Decompression that keeps everything it decoded before an error. flate2's and bzip2's
//! readers drop the output of the read call that hits a corrupt block (up to a whole buffer of
//! good data); these decoders drive the same codecs ([`flate2::Decompress`],
//! [`bzip2::Decompress`]) themselves, hand out the bytes decoded up to the failure, and report
//! the error on the next read ([`Decoded`] reads them in steps large enough for that).
//! [`Stash`] then turns the first error into a clean end of stream
//! and keeps it, so a record parser reads every whole record before the damage and the caller
//! learns afterwards how the stream ended.

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex};

/// The compression of an input, told by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Plain,
    Gzip,
    Bzip2,
}

impl Codec {
    pub fn sniff(magic: &[u8]) -> Codec {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if magic.starts_with(b"BZh") {
            Codec::Bzip2
        } else {
            Codec::Plain
        }
    }
}

/// How a stream ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamFault {
    /// The data stops before the compressed stream does (a cut-short download).
    #[error("{0}")]
    Truncated(String),
    /// The compressed data is damaged (or followed by something that is not another member).
    #[error("{0}")]
    Corrupt(String),
}

impl StreamFault {
    fn of(e: &io::Error) -> StreamFault {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => StreamFault::Truncated(e.to_string()),
            _ => StreamFault::Corrupt(e.to_string()),
        }
    }
}

fn truncated(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, msg.to_string())
}

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// What one call of a codec did: the bytes it decoded and consumed, and whether the input had
/// ended. Both decoders read the codec's answer through it.
struct Step {
    produced: usize,
    consumed: usize,
    eof: bool,
}

impl Step {
    /// The codec failed: the error, with the bytes decoded before it.
    fn failed(self, msg: &str) -> Result<usize, (usize, io::Error)> {
        Err((self.produced, corrupt(msg.to_string())))
    }

    /// The codec neither failed nor ended its stream: the bytes decoded, or, when it made no
    /// progress, `cut_short` at the end of the input and `stuck` before it.
    fn going_on(self, cut_short: &str, stuck: &str) -> Result<usize, (usize, io::Error)> {
        match (self.produced, self.consumed) {
            (0, 0) if self.eof => Err((0, truncated(cut_short))),
            (0, 0) => Err((0, corrupt(stuck.to_string()))),
            (n, _) => Ok(n),
        }
    }
}

/// What a decoder's `read` returns after a body step: `None` to step again (nothing decoded
/// yet), the bytes decoded, or the error; an error after some bytes waits in `pending` for
/// the next read, so those bytes are handed out first.
fn hand_out(
    step: Result<usize, (usize, io::Error)>,
    pending: &mut Option<io::Error>,
) -> Option<io::Result<usize>> {
    match step {
        Ok(0) => None,
        Ok(n) => Some(Ok(n)),
        Err((0, e)) => Some(Err(e)),
        Err((n, e)) => {
            *pending = Some(e);
            Some(Ok(n))
        }
    }
}

/// Where a decoder stands in its (multi-member) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a member's header; `first`: no member has been read yet.
    Header {
        first: bool,
    },
    Body,
    /// After a member's compressed data: the gzip trailer is next.
    Trailer,
}

/// A multi-member gzip decoder (RFC 1952) that keeps the data decoded before an error.
pub struct Gzip<R> {
    input: R,
    state: State,
    inflate: flate2::Decompress,
    crc: flate2::Crc,
    members: u64,
    /// An error found after some output was returned; reported by the next read.
    pending: Option<io::Error>,
}

impl<R: BufRead> Gzip<R> {
    pub fn new(input: R) -> Gzip<R> {
        Gzip {
            input,
            state: State::Header { first: true },
            inflate: flate2::Decompress::new(false),
            crc: flate2::Crc::new(),
            members: 0,
            pending: None,
        }
    }

    /// One step of the body: `Ok(n)` bytes decoded (0 means "call again" unless the member
    /// ended), or the error together with the bytes decoded before it.
    fn body(&mut self, out: &mut [u8]) -> Result<usize, (usize, io::Error)> {
        let input = self.input.fill_buf().map_err(|e| (0, e))?;
        let eof = input.is_empty();
        let (in0, out0) = (self.inflate.total_in(), self.inflate.total_out());
        let flush = if eof {
            flate2::FlushDecompress::Finish
        } else {
            flate2::FlushDecompress::None
        };
        let status = self.inflate.decompress(input, out, flush);
        let consumed = usize::try_from(self.inflate.total_in() - in0).unwrap_or(0);
        let produced = usize::try_from(self.inflate.total_out() - out0).unwrap_or(0);
        self.input.consume(consumed);
        let got = out.get(..produced).unwrap_or_default();
        self.crc.update(got);
        let step = Step {
            produced,
            consumed,
            eof,
        };
        match status {
            Err(e) => step.failed(&format!("corrupt deflate stream: {e}")),
            Ok(flate2::Status::StreamEnd) => {
                self.state = State::Trailer;
                Ok(produced)
            }
            Ok(_) => step.going_on(
                "gzip stream cut short: deflate data ends early",
                "corrupt deflate stream: no progress",
            ),
        }
    }

    fn trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.input
            .read_exact(&mut t)
            .map_err(|_| truncated("gzip stream cut short: its trailer is missing"))?;
        let [c0, c1, c2, c3, s0, s1, s2, s3] = t;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let size = u32::from_le_bytes([s0, s1, s2, s3]);
        if crc != self.crc.sum() || size != self.crc.amount() {
            return Err(corrupt(format!(
                "corrupt gzip stream: member {} fails its CRC/length check",
                self.members + 1
            )));
        }
        self.members += 1;
        self.state = State::Header { first: false };
        Ok(())
    }

    /// Reads a member header; `Ok(false)` at a clean end after the last member.
    fn header(&mut self, first: bool) -> io::Result<bool> {
        let rest = self.input.fill_buf()?;
        if rest.is_empty() {
            return if first {
                Err(truncated("gzip stream cut short: no header"))
            } else {
                Ok(false)
            };
        }
        if !first && rest.first() != Some(&0x1f) {
            return Err(corrupt(format!(
                "trailing data after gzip member {} is not another member",
                self.members
            )));
        }
        read_gzip_header(&mut self.input).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => truncated("gzip stream cut short in its header"),
            _ if first => e,
            _ => corrupt(format!(
                "trailing data after gzip member {} is not another member",
                self.members
            )),
        })?;
        self.inflate.reset(false);
        self.crc.reset();
        self.state = State::Body;
        Ok(true)
    }
}

/// Skips one RFC 1952 member header.
fn read_gzip_header(r: &mut impl BufRead) -> io::Result<()> {
    let mut h = [0u8; 10];
    r.read_exact(&mut h)?;
    let [id1, id2, cm, flg, ..] = h;
    if (id1, id2) != (0x1f, 0x8b) {
        return Err(corrupt("not a gzip header".into()));
    }
    if cm != 8 {
        return Err(corrupt(format!(
            "gzip compression method {cm} is not deflate"
        )));
    }
    if flg & 0x04 != 0 {
        let mut len = [0u8; 2];
        r.read_exact(&mut len)?;
        let n = u64::from(u16::from_le_bytes(len));
        if io::copy(&mut r.take(n), &mut io::sink())? != n {
            return Err(truncated("gzip header cut short"));
        }
    }
    for flag in [0x08, 0x10] {
        if flg & flag != 0 {
            let mut skipped = Vec::new();
            r.read_until(0, &mut skipped)?;
            if skipped.last() != Some(&0) {
                return Err(truncated("gzip header cut short"));
            }
        }
    }
    if flg & 0x02 != 0 {
        let mut crc = [0u8; 2];
        r.read_exact(&mut crc)?;
    }
    Ok(())
}

impl<R: BufRead> Read for Gzip<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Header { first } => {
                    if !self.header(first)? {
                        return Ok(0);
                    }
                }
                State::Trailer => self.trailer()?,
                State::Body => {
                    let step = self.body(out);
                    if let Some(r) = hand_out(step, &mut self.pending) {
                        return r;
                    }
                }
            }
        }
    }
}

/// A multi-stream bzip2 decoder that keeps the data decoded before an error.
pub struct Bzip2<R> {
    input: R,
    state: State,
    decompress: bzip2::Decompress,
    pending: Option<io::Error>,
}

impl<R: BufRead> Bzip2<R> {
    pub fn new(input: R) -> Bzip2<R> {
        Bzip2 {
            input,
            state: State::Header { first: true },
            decompress: bzip2::Decompress::new(false),
            pending: None,
        }
    }

    fn body(&mut self, out: &mut [u8]) -> Result<usize, (usize, io::Error)> {
        let input = self.input.fill_buf().map_err(|e| (0, e))?;
        let eof = input.is_empty();
        let (in0, out0) = (self.decompress.total_in(), self.decompress.total_out());
        let status = self.decompress.decompress(input, out);
        let consumed = usize::try_from(self.decompress.total_in() - in0).unwrap_or(0);
        let produced = usize::try_from(self.decompress.total_out() - out0).unwrap_or(0);
        self.input.consume(consumed);
        let step = Step {
            produced,
            consumed,
            eof,
        };
        match status {
            Err(e) => step.failed(&format!("corrupt bzip2 stream: {e}")),
            Ok(bzip2::Status::StreamEnd) => {
                self.state = State::Header { first: false };
                Ok(produced)
            }
            Ok(_) => step.going_on(
                "bzip2 stream cut short: compressed data ends early",
                "corrupt bzip2 stream: no progress",
            ),
        }
    }
}

impl<R: BufRead> Read for Bzip2<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if let State::Header { first } = self.state {
                let rest = self.input.fill_buf()?;
                if rest.is_empty() && !first {
                    return Ok(0);
                }
                if !first && !rest.starts_with(b"BZh") {
                    return Err(corrupt(
                        "trailing data after a bzip2 stream is not another stream".into(),
                    ));
                }
                if !first {
                    self.decompress = bzip2::Decompress::new(false);
                }
                self.state = State::Body;
            }
            let step = self.body(out);
            if let Some(r) = hand_out(step, &mut self.pending) {
                return r;
            }
        }
    }
}

/// The size of the reads [`Decoded`] makes: above miniz_oxide's 32 KiB window, so a call that
/// meets an error can hand out everything the decoder had decoded before it.
const DECODE_BUF: usize = 1 << 16;

/// A decoder read in large steps whatever the caller's buffer: a read that fails drops the
/// decoder's internal output beyond the buffer it was given, so the buffer must hold it all.
pub struct Decoded<D> {
    inner: D,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl<D: Read> Decoded<D> {
    pub fn new(inner: D) -> Decoded<D> {
        Decoded {
            inner,
            buf: vec![0; DECODE_BUF],
            pos: 0,
            len: 0,
        }
    }
}

impl<D: Read> Read for Decoded<D> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        let ready = self.buf.get(self.pos..self.len).unwrap_or_default();
        let n = ready.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), ready.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// Where [`Stash`] keeps the first error, readable by another owner.
#[derive(Debug, Clone, Default)]
pub struct Fault(Arc<Mutex<Option<StreamFault>>>);

impl Fault {
    /// The first error of the stream, if it had one.
    pub fn get(&self) -> Option<StreamFault> {
        self.0.lock().ok().and_then(|f| f.clone())
    }

    fn set(&self, f: StreamFault) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(f);
        }
    }
}

/// A reader that ends at its inner reader's first error (other than `Interrupted`), keeping
/// the error in a [`Fault`].
pub struct Stash<R> {
    inner: R,
    fault: Fault,
    done: bool,
}

impl<R: Read> Stash<R> {
    pub fn new(inner: R) -> (Stash<R>, Fault) {
        let fault = Fault::default();
        (
            Stash {
                inner,
                fault: fault.clone(),
                done: false,
            },
            fault,
        )
    }
}

impl<R: Read> Read for Stash<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fault.set(StreamFault::of(&e));
                    self.done = true;
                    return Ok(0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn bzip2(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Reads through a Stash: (data, fault).
    fn drain(codec: Codec, bytes: &[u8]) -> (Vec<u8>, Option<StreamFault>) {
        let r: Box<dyn Read> = match codec {
            Codec::Gzip => Box::new(Decoded::new(Gzip::new(bytes))),
            Codec::Bzip2 => Box::new(Decoded::new(Bzip2::new(bytes))),
            Codec::Plain => Box::new(bytes),
        };
        let (mut s, fault) = Stash::new(r);
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        (out, fault.get())
    }

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 1000).to_be_bytes())
            .collect()
    }

    #[test]
    fn whole_streams_and_members_decode_like_the_reference() {
        let data = sample();
        for codec in [Codec::Gzip, Codec::Bzip2] {
            let one = match codec {
                Codec::Gzip => gzip(&data),
                _ => bzip2(&data),
            };
            assert_eq!(drain(codec, &one), (data.clone(), None));
            let two = [one.clone(), one].concat();
            assert_eq!(
                drain(codec, &two),
                ([data.clone(), data.clone()].concat(), None)
            );
        }
    }

    #[test]
    fn a_cut_stream_is_truncated_and_keeps_its_prefix() {
        let data = sample();
        for (codec, z) in [(Codec::Gzip, gzip(&data)), (Codec::Bzip2, bzip2(&data))] {
            for cut in [3, 10, z.len() / 2, z.len() - 1] {
                let (out, fault) = drain(codec, z.get(..cut).unwrap());
                assert!(
                    matches!(fault, Some(StreamFault::Truncated(_))),
                    "{codec:?} {cut}"
                );
                assert_eq!(out.as_slice(), data.get(..out.len()).unwrap());
            }
        }
    }

    #[test]
    fn corruption_keeps_what_was_decoded_before_it() {
        // A RIS update file with four bytes of its deflate data overwritten: miniz_oxide
        // decodes 4,001 good bytes (33 whole MRT records) before it finds the damage.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/mrt/ris/ris.rrc06.updates.1427846400.gz");
        let mut z = std::fs::read(path).unwrap();
        let mut intact = Vec::new();
        flate2::read::GzDecoder::new(z.as_slice())
            .read_to_end(&mut intact)
            .unwrap();
        z[976..980].copy_from_slice(&[0xff; 4]);
        // flate2's own reader loses the whole read that meets the error.
        let mut lost = vec![0u8; 1 << 16];
        assert!(flate2::read::GzDecoder::new(z.as_slice())
            .read(&mut lost)
            .is_err());
        let (out, fault) = drain(Codec::Gzip, &z);
        assert!(matches!(fault, Some(StreamFault::Corrupt(_))), "{fault:?}");
        assert!(out.len() >= 4_001, "{}", out.len());
        assert_eq!(out[..], intact[..out.len()]);
    }

    #[test]
    fn trailing_garbage_is_corrupt_after_all_the_data() {
        let data = sample();
        let z = [gzip(&data), b"garbage".to_vec()].concat();
        let (out, fault) = drain(Codec::Gzip, &z);
        assert_eq!(out, data);
        assert!(matches!(fault, Some(StreamFault::Corrupt(_))));
    }

    #[test]
    fn any_damage_ends_the_stream_without_panic_and_cuts_keep_a_prefix() {
        let data: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i * 2_654_435_761).to_be_bytes())
            .collect();
        for (codec, z) in [(Codec::Gzip, gzip(&data)), (Codec::Bzip2, bzip2(&data))] {
            for at in (0..z.len()).step_by(z.len() / 97 + 1) {
                for pattern in [0x00u8, 0xff, 0x55] {
                    let mut bad = z.clone();
                    for b in bad.iter_mut().skip(at).take(3) {
                        *b = pattern;
                    }
                    // Whatever the damage: it ends, and it says so unless the bytes were equal.
                    let (out, fault) = drain(codec, &bad);
                    assert!(fault.is_some() || bad == z || out == data, "{codec:?} {at}");
                }
                let (out, _) = drain(codec, &z[..at]);
                assert_eq!(out[..], data[..out.len()], "{codec:?} cut at {at}");
            }
        }
    }
}
