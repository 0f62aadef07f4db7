//! IRR data: per-neighbor prefix lists from `bgpq4 -j` JSON and RPSL route/route6 objects.
//!
//! A loader reads one file into an immutable [`PrefixList`] that the `irr-unregistered` and
//! `not-announceable` checks query per route. Loading is all or nothing: a file with any error is
//! rejected whole (with its path and line, or line:col for JSON), so a refresh that produced a
//! broken file leaves the previous snapshot in place instead of shrinking a customer's filter.
//! Files may be gzip- or bzip2-compressed (detected by magic bytes). This module only reads files;
//! scheduling refreshes and swapping snapshots is the daemon's job.

mod bgpq4;
mod prefix_list;
mod rpsl;

pub(crate) use prefix_list::check_no_host_bits;
pub use prefix_list::PrefixList;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Why an IRR file was rejected. Display gives `FILE:LINE[:COL]: message`.
#[derive(Debug, thiserror::Error)]
pub enum IrrError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    Rpsl {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
}

impl IrrError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            IrrError::Io { path, .. }
            | IrrError::Json { path, .. }
            | IrrError::Rpsl { path, .. }
            | IrrError::Format { path, .. } => path,
        }
    }
}

/// Loads a `bgpq4 -j` prefix list (entries have no origin).
pub fn load_bgpq4_json(path: &Path) -> Result<PrefixList, IrrError> {
    let mut reader = open(path)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(path, source))?;
    bgpq4::parse(&bytes, path)
}

/// Loads RPSL route/route6 objects (entries are exact-length, with their origin).
pub fn load_rpsl(path: &Path) -> Result<PrefixList, IrrError> {
    rpsl::parse(open(path)?, path)
}

/// Loads either format, deciding by content: JSON starts with `{`, anything else is RPSL.
pub fn load_irr_file(path: &Path) -> Result<PrefixList, IrrError> {
    let mut reader = open(path)?;
    // Read until the first non-blank byte (or EOF); those bytes are put back in front.
    let mut head = Vec::new();
    let first = loop {
        let buf = reader.fill_buf().map_err(|source| io_error(path, source))?;
        if buf.is_empty() {
            break None;
        }
        let n = buf.len();
        head.extend_from_slice(buf);
        reader.consume(n);
        if let Some(b) = head.iter().copied().find(|b| !b.is_ascii_whitespace()) {
            break Some(b);
        }
    };
    let reader = io::Cursor::new(head).chain(reader);
    match first {
        None => Err(IrrError::Format {
            path: path.to_path_buf(),
            message: "empty file (neither bgpq4 JSON nor RPSL)".into(),
        }),
        Some(b'{') => {
            let mut bytes = Vec::new();
            let mut reader = reader;
            reader
                .read_to_end(&mut bytes)
                .map_err(|source| io_error(path, source))?;
            bgpq4::parse(&bytes, path)
        }
        Some(_) => rpsl::parse(reader, path),
    }
}

fn io_error(path: &Path, source: io::Error) -> IrrError {
    IrrError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path`, transparently decompressing gzip (`1f 8b`) and bzip2 (`BZh`).
fn open(path: &Path) -> Result<Box<dyn BufRead>, IrrError> {
    let mut file = File::open(path).map_err(|source| io_error(path, source))?;
    let mut magic = [0u8; 3];
    let mut got = 0;
    while let Some(rest) = magic.get_mut(got..).filter(|r| !r.is_empty()) {
        let n = file.read(rest).map_err(|source| io_error(path, source))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|source| io_error(path, source))?;
    const CAP: usize = 64 * 1024;
    Ok(match magic.get(..got).unwrap_or_default() {
        [0x1f, 0x8b, ..] => Box::new(BufReader::with_capacity(
            CAP,
            flate2::read::MultiGzDecoder::new(file),
        )),
        [b'B', b'Z', b'h'] => Box::new(BufReader::with_capacity(
            CAP,
            bzip2::read::MultiBzDecoder::new(file),
        )),
        _ => Box::new(BufReader::with_capacity(CAP, file)),
    })
}

#[cfg(test)]
mod tests;
