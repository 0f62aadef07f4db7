//! VRP and ASPA JSON loaders. Every common dialect is accepted and detected from the content:
//!
//! - rpki-client `json`: `{"metadata", "roas": [{"asn": N, "prefix", "maxLength", "ta",
//!   "expires"}], "aspas": [{"customer_asid", "expires", "providers": [N…]}]}`, and the older
//!   `"provider_authorizations": {"ipv4": […], "ipv6": […]}` with `providers` or `provider_set`;
//! - Routinator `json` (`"asn": "AS123"`) and `jsonext` (`"source": [{"type": "roa",
//!   "validity": {"notAfter"}, "chainValidity": {"notAfter"}}]`, from which `expires` is taken),
//!   with ASPAs as `{"customer": "AS1", "providers": ["AS2", …]}`;
//! - StayRTR/GoRTR `{"roas": […]}` with the ASN as a number or an `"AS123"` string;
//! - a bare array of ROA objects (or, for [`load_aspa_file`], of ASPA objects);
//! - any of these gzip-compressed (magic bytes `1f 8b`, whatever the file name).
//!
//! Unknown members are ignored (dialects add `mnt-by`, `source`, `bgpsec_keys`, …). A file with
//! any bad entry is rejected whole: the error names the file, the line and column, and the entry
//! (`roas[123]`). Parsing streams through serde; no JSON tree is built.

use super::store::{Aspa, Vrp};
use crate::types::Asn;
use flate2::read::MultiGzDecoder;
use ipnet::IpNet;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to load a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `Some(unix time)`: drop entries whose `expires` is at or before it (the daemon).
    /// `None`: keep everything (replay, where old data sets must stay usable).
    pub now: Option<i64>,
}

/// What one file held, after dropping expired entries. Nothing is deduplicated or merged yet;
/// [`super::RpkiData::new`] does that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpkiFile {
    /// VRPs in file order.
    pub vrps: Vec<Vrp>,
    /// ASPA records in file order (rpki-client's older shape lists one per address family).
    pub aspas: Vec<Aspa>,
    /// Entries (VRPs and ASPA records) dropped because they had expired.
    pub dropped_expired: usize,
}

/// Why a file was rejected. Display: `FILE:LINE:COL: [ENTRY: ]message` or `FILE: message`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (or its gzip stream is corrupt).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS or the decompressor said.
        #[source]
        source: io::Error,
    },
    /// Bad JSON or a bad entry, at a position of the (decompressed) text.
    #[error("{}:{line}:{column}: {}{msg}", path.display(), entry_prefix(entry))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the decompressed text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The entry being read, e.g. `roas[17]` or `provider_authorizations.ipv6[3]`.
        entry: Option<String>,
        /// What is wrong.
        msg: String,
    },
    /// The file as a whole is not what was expected (no position applies).
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

fn entry_prefix(entry: &Option<String>) -> String {
    entry.as_ref().map(|e| format!("{e}: ")).unwrap_or_default()
}

impl LoadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::Parse { path, .. }
            | LoadError::Format { path, .. } => path,
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> LoadError {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Converts a serde_json error, removing its own " at line L column C" suffix.
    pub(crate) fn json(path: &Path, e: serde_json::Error, entry: Option<String>) -> LoadError {
        if e.is_io() {
            return LoadError::io(path, io::Error::from(e));
        }
        let (line, column) = (e.line(), e.column());
        let mut msg = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        if msg.ends_with(&suffix) {
            msg.truncate(msg.len() - suffix.len());
        }
        LoadError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            entry,
            msg,
        }
    }
}

/// Loads a VRP file of any dialect (it may carry ASPAs too).
pub fn load_vrp_file(path: &Path, opts: &LoadOptions) -> Result<RpkiFile, LoadError> {
    let ctx = load(path, opts, Want::Vrps)?;
    if !ctx.saw_roas && !ctx.saw_aspas {
        return Err(not_rpki_json(path, &ctx, "\"roas\" or \"aspas\""));
    }
    Ok(RpkiFile {
        vrps: ctx.vrps,
        aspas: ctx.aspas,
        dropped_expired: ctx.dropped,
    })
}

/// Loads a file of ASPAs (rpki-client or Routinator shape, or a bare array of ASPA objects).
/// ROAs in it are skipped, not checked.
pub fn load_aspa_file(path: &Path, opts: &LoadOptions) -> Result<Vec<Aspa>, LoadError> {
    load_aspas(path, opts).map(|f| f.aspas)
}

/// [`load_aspa_file`], with the count of ASPAs dropped as expired (`vrps` stays empty).
pub(crate) fn load_aspas(path: &Path, opts: &LoadOptions) -> Result<RpkiFile, LoadError> {
    let ctx = load(path, opts, Want::Aspas)?;
    if !ctx.saw_aspas {
        return Err(not_rpki_json(
            path,
            &ctx,
            "\"aspas\" or \"provider_authorizations\"",
        ));
    }
    Ok(RpkiFile {
        vrps: Vec::new(),
        aspas: ctx.aspas,
        dropped_expired: ctx.dropped,
    })
}

fn not_rpki_json(path: &Path, ctx: &Ctx, wanted: &str) -> LoadError {
    let hint = if ctx.saw_slurm {
        " (this looks like a SLURM file: load it as one)"
    } else {
        ""
    };
    LoadError::Format {
        path: path.to_path_buf(),
        msg: format!("no {wanted} member found{hint}"),
    }
}

/// Hands `parse` a buffered reader of `path`, through a gzip decoder when the content starts
/// with the gzip magic bytes (for small files; [`load`] keeps concrete reader types for speed).
pub(crate) fn read_with<T>(
    path: &Path,
    parse: impl FnOnce(&mut dyn Read) -> Result<T, LoadError>,
) -> Result<T, LoadError> {
    let file = File::open(path).map_err(|e| LoadError::io(path, e))?;
    let mut raw = BufReader::with_capacity(1 << 16, file);
    let gzip = raw
        .fill_buf()
        .map_err(|e| LoadError::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        let mut r = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw));
        parse(&mut r)
    } else {
        parse(&mut raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Vrps,
    Aspas,
}

fn load(path: &Path, opts: &LoadOptions, want: Want) -> Result<Ctx, LoadError> {
    let file = File::open(path).map_err(|e| LoadError::io(path, e))?;
    let mut raw = BufReader::with_capacity(1 << 16, file);
    let gzip = raw
        .fill_buf()
        .map_err(|e| LoadError::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let mut ctx = Ctx::new(opts.now, want);
    let res = if gzip {
        let r = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw));
        parse(r, &mut ctx)
    } else {
        parse(raw, &mut ctx)
    };
    match res {
        Ok(()) => Ok(ctx),
        Err(e) => {
            let entry = ctx.entry();
            Err(LoadError::json(path, e, entry))
        }
    }
}

fn parse<R: Read>(reader: R, ctx: &mut Ctx) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    TopSeed(ctx).deserialize(&mut de)?;
    ctx.section = None;
    de.end()
}

/// Loader state shared by the visitors.
struct Ctx {
    now: Option<i64>,
    want: Want,
    vrps: Vec<Vrp>,
    aspas: Vec<Aspa>,
    dropped: usize,
    tas: HashSet<Arc<str>>,
    saw_roas: bool,
    saw_aspas: bool,
    saw_slurm: bool,
    /// The entry being read, for error messages.
    section: Option<(&'static str, usize)>,
}

impl Ctx {
    fn new(now: Option<i64>, want: Want) -> Ctx {
        Ctx {
            now,
            want,
            vrps: Vec::new(),
            aspas: Vec::new(),
            dropped: 0,
            tas: HashSet::new(),
            saw_roas: false,
            saw_aspas: false,
            saw_slurm: false,
            section: None,
        }
    }

    fn entry(&self) -> Option<String> {
        self.section.map(|(name, i)| format!("{name}[{i}]"))
    }

    fn intern(&mut self, ta: &str) -> Arc<str> {
        if let Some(t) = self.tas.get(ta) {
            return t.clone();
        }
        let t: Arc<str> = Arc::from(ta);
        self.tas.insert(t.clone());
        t
    }

    fn expired(&mut self, expires: Option<i64>) -> bool {
        let gone = matches!((self.now, expires), (Some(now), Some(exp)) if exp <= now);
        self.dropped += usize::from(gone);
        gone
    }
}

// ---------------------------------------------------------------------------------------------
// Top level: an object with known members, or a bare array.

struct TopSeed<'a>(&'a mut Ctx);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum TopField {
    #[serde(rename = "roas", alias = "vrps")]
    Roas,
    #[serde(rename = "aspas")]
    Aspas,
    #[serde(rename = "provider_authorizations")]
    ProviderAuthorizations,
    #[serde(rename = "slurmVersion")]
    SlurmVersion,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with \"roas\" and/or \"aspas\", or an array of ROA objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Roas => {
                    ctx.saw_roas = true;
                    if ctx.want == Want::Vrps {
                        map.next_value_seed(SeqSeed {
                            ctx: &mut *ctx,
                            name: "roas",
                            kind: Kind::Roa,
                        })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                TopField::Aspas => {
                    ctx.saw_aspas = true;
                    map.next_value_seed(SeqSeed {
                        ctx: &mut *ctx,
                        name: "aspas",
                        kind: Kind::Aspa,
                    })?;
                }
                TopField::ProviderAuthorizations => {
                    ctx.saw_aspas = true;
                    map.next_value_seed(ProviderAuthorizations(&mut *ctx))?;
                }
                TopField::SlurmVersion => {
                    ctx.saw_slurm = true;
                    map.next_value::<IgnoredAny>()?;
                }
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let kind = match self.0.want {
            Want::Vrps => {
                self.0.saw_roas = true;
                Kind::Roa
            }
            Want::Aspas => {
                self.0.saw_aspas = true;
                Kind::Aspa
            }
        };
        SeqSeed {
            ctx: self.0,
            name: "",
            kind,
        }
        .visit_seq(seq)
    }
}

/// `{"ipv4": [ASPA…], "ipv6": [ASPA…]}` (rpki-client before 8.5).
struct ProviderAuthorizations<'a>(&'a mut Ctx);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum AfiField {
    Ipv4,
    Ipv6,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for ProviderAuthorizations<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ProviderAuthorizations<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with \"ipv4\" and \"ipv6\" arrays of ASPA objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<AfiField>()? {
            let name = match key {
                AfiField::Ipv4 => "provider_authorizations.ipv4",
                AfiField::Ipv6 => "provider_authorizations.ipv6",
                AfiField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(SeqSeed {
                ctx: &mut *self.0,
                name,
                kind: Kind::Aspa,
            })?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays of entries.

#[derive(Clone, Copy)]
enum Kind {
    Roa,
    Aspa,
}

struct SeqSeed<'a> {
    ctx: &'a mut Ctx,
    name: &'static str,
    kind: Kind,
}

impl<'de> DeserializeSeed<'de> for SeqSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SeqSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.kind {
            Kind::Roa => f.write_str("an array of ROA objects"),
            Kind::Aspa => f.write_str("an array of ASPA objects"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut i = 0;
        loop {
            ctx.section = Some((self.name, i));
            let more = match self.kind {
                Kind::Roa => seq.next_element_seed(RoaSeed(&mut *ctx))?,
                Kind::Aspa => seq.next_element_seed(AspaSeed(&mut *ctx))?,
            };
            if more.is_none() {
                break;
            }
            i += 1;
        }
        ctx.section = None;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// One ROA / VRP object.

struct RoaSeed<'a>(&'a mut Ctx);

#[derive(Deserialize)]
#[serde(field_identifier)]
enum RoaField {
    #[serde(rename = "asn")]
    Asn,
    #[serde(rename = "prefix")]
    Prefix,
    #[serde(rename = "maxLength", alias = "max_length", alias = "maxPrefixLength")]
    MaxLength,
    #[serde(rename = "ta", alias = "tal")]
    Ta,
    #[serde(rename = "expires")]
    Expires,
    #[serde(rename = "source")]
    Source,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for RoaSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RoaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a ROA object {\"asn\", \"prefix\", \"maxLength\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut asn = None;
        let mut prefix: Option<IpNet> = None;
        let mut max_len: Option<u64> = None;
        let mut ta: Option<Arc<str>> = None;
        let mut expires: Option<i64> = None;
        let mut source: Option<SourceInfo> = None;
        while let Some(key) = map.next_key::<RoaField>()? {
            match key {
                RoaField::Asn => asn = Some(map.next_value::<AsnValue>()?.0),
                RoaField::Prefix => prefix = Some(map.next_value::<PrefixValue>()?.0),
                RoaField::MaxLength => max_len = Some(map.next_value::<u64>()?),
                RoaField::Ta => ta = map.next_value_seed(TaSeed(&mut *ctx))?,
                RoaField::Expires => expires = map.next_value::<Option<i64>>()?,
                RoaField::Source => source = Some(map.next_value_seed(SourceSeed(&mut *ctx))?),
                RoaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let asn = asn.ok_or_else(|| de::Error::missing_field("asn"))?;
        let prefix = prefix.ok_or_else(|| de::Error::missing_field("prefix"))?;
        let len = prefix.prefix_len();
        let max = prefix.max_prefix_len();
        // RFC 6482 §3.3: no maxLength means exactly the prefix length.
        let max_len = max_len.unwrap_or(u64::from(len));
        if max_len < u64::from(len) || max_len > u64::from(max) {
            return Err(de::Error::custom(format!(
                "maxLength {max_len} out of range for {prefix} (must be {len}..={max})"
            )));
        }
        if let Some(src) = source {
            expires = expires.or(src.expires);
            ta = ta.or(src.ta);
        }
        if !ctx.expired(expires) {
            ctx.vrps.push(Vrp {
                prefix,
                max_len: max_len as u8,
                asn,
                ta,
                expires,
            });
        }
        Ok(())
    }
}

/// An ASN as a JSON number or a string: `"AS64500"`, `"64500"`, asdot `"1.10"`.
struct AsnValue(Asn);

impl<'de> Deserialize<'de> for AsnValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AsnVisitor).map(AsnValue)
    }
}

struct AsnVisitor;

impl Visitor<'_> for AsnVisitor {
    type Value = Asn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an AS number (0..=4294967295 or \"AS64500\")")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Asn, E> {
        u32::try_from(v)
            .map(Asn)
            .map_err(|_| E::custom(format!("AS number {v} out of range")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Asn, E> {
        u32::try_from(v)
            .map(Asn)
            .map_err(|_| E::custom(format!("AS number {v} out of range")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Asn, E> {
        v.parse::<Asn>().map_err(E::custom)
    }
}

/// A prefix string with no host bits set.
struct PrefixValue(IpNet);

impl<'de> Deserialize<'de> for PrefixValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IpNet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a prefix string like \"192.0.2.0/24\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IpNet, E> {
                let net: IpNet = v
                    .parse()
                    .map_err(|_| E::custom(format!("invalid prefix {v:?}")))?;
                if net.trunc() != net {
                    return Err(E::custom(format!(
                        "prefix {v} has host bits set (did you mean {}?)",
                        net.trunc()
                    )));
                }
                Ok(net)
            }
        }
        d.deserialize_str(V).map(PrefixValue)
    }
}

/// A trust anchor name, interned; `null` is no name.
struct TaSeed<'a>(&'a mut Ctx);

impl<'de> DeserializeSeed<'de> for TaSeed<'_> {
    type Value = Option<Arc<str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TaSeed<'_> {
    type Value = Option<Arc<str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a trust anchor name")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(self.0.intern(v)))
    }
}

// ---------------------------------------------------------------------------------------------
// Routinator jsonext `source` arrays.

/// What the `source` array of a jsonext entry says: the VRP stays valid while any of its
/// sources does, so `expires` is the latest expiry of the sources; a local exception (or a
/// source without dates) never expires.
#[derive(Debug, Default)]
struct SourceInfo {
    expires: Option<i64>,
    ta: Option<Arc<str>>,
}

struct SourceSeed<'a>(&'a mut Ctx);

impl<'de> DeserializeSeed<'de> for SourceSeed<'_> {
    type Value = SourceInfo;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<SourceInfo, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SourceSeed<'_> {
    type Value = SourceInfo;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of source objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SourceInfo, A::Error> {
        let mut out = SourceInfo::default();
        let mut forever = false;
        let mut latest: Option<i64> = None;
        while let Some(src) = seq.next_element::<RawSource>()? {
            if out.ta.is_none() {
                if let Some(t) = src.tal.as_deref() {
                    out.ta = Some(self.0.intern(t));
                }
            }
            let ends = [
                src.validity.and_then(|v| v.not_after),
                src.chain_validity.and_then(|v| v.not_after),
                src.stale,
            ];
            match ends.iter().flatten().min() {
                Some(end) if src.kind.as_deref() != Some("exception") => {
                    latest = Some(latest.map_or(*end, |l| l.max(*end)));
                }
                _ => forever = true,
            }
        }
        out.expires = if forever { None } else { latest };
        Ok(out)
    }
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    tal: Option<String>,
    #[serde(default)]
    validity: Option<Validity>,
    #[serde(rename = "chainValidity", default)]
    chain_validity: Option<Validity>,
    #[serde(default, deserialize_with = "opt_timestamp")]
    stale: Option<i64>,
}

#[derive(Deserialize)]
struct Validity {
    #[serde(rename = "notAfter", default, deserialize_with = "opt_timestamp")]
    not_after: Option<i64>,
}

/// An RFC 3339 UTC timestamp string (or a number of seconds) as Unix time.
fn opt_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 timestamp like \"2024-01-31T12:00:00Z\"")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("timestamp out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_rfc3339(v)
                .map(Some)
                .ok_or_else(|| E::custom(format!("invalid timestamp {v:?}")))
        }
    }
    d.deserialize_option(V)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` to Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

// ---------------------------------------------------------------------------------------------
// One ASPA object.

struct AspaSeed<'a>(&'a mut Ctx);

#[derive(Deserialize)]
#[serde(field_identifier)]
enum AspaField {
    #[serde(
        rename = "customer_asid",
        alias = "customer",
        alias = "customerAsid",
        alias = "customerAsn",
        alias = "customer_asn"
    )]
    Customer,
    #[serde(
        rename = "providers",
        alias = "provider_set",
        alias = "provider_asids",
        alias = "providerAsns",
        alias = "provider_asns"
    )]
    Providers,
    #[serde(rename = "expires")]
    Expires,
    #[serde(rename = "source")]
    Source,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for AspaSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AspaSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ASPA object {\"customer_asid\", \"providers\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut customer = None;
        let mut providers: Option<Vec<ProviderValue>> = None;
        let mut expires: Option<i64> = None;
        let mut source: Option<SourceInfo> = None;
        while let Some(key) = map.next_key::<AspaField>()? {
            match key {
                AspaField::Customer => customer = Some(map.next_value::<AsnValue>()?.0),
                AspaField::Providers => providers = Some(map.next_value()?),
                AspaField::Expires => expires = map.next_value::<Option<i64>>()?,
                AspaField::Source => source = Some(map.next_value_seed(SourceSeed(&mut *ctx))?),
                AspaField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let customer = customer.ok_or_else(|| de::Error::missing_field("customer_asid"))?;
        let providers = providers.ok_or_else(|| de::Error::missing_field("providers"))?;
        if providers.is_empty() {
            return Err(de::Error::custom(format!(
                "ASPA of {customer} has an empty provider list (AS0 attests \"no providers\")"
            )));
        }
        if let Some(src) = source {
            expires = expires.or(src.expires);
        }
        if !ctx.expired(expires) {
            ctx.aspas.push(Aspa::new(
                customer,
                providers.into_iter().map(|p| p.0),
                expires,
            ));
        }
        Ok(())
    }
}

/// A provider: a number, an `"AS…"` string, or an object `{"provider_asid": N, …}` (older
/// rpki-client `provider_set` entries, which also carried an AFI limit).
struct ProviderValue(Asn);

impl<'de> Deserialize<'de> for ProviderValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Asn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a provider AS number, \"AS…\" string or {\"provider_asid\": N}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Asn, E> {
                AsnVisitor.visit_u64(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Asn, E> {
                AsnVisitor.visit_i64(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Asn, E> {
                AsnVisitor.visit_str(v)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Asn, A::Error> {
                #[derive(Deserialize)]
                #[serde(field_identifier)]
                enum F {
                    #[serde(rename = "provider_asid", alias = "asid", alias = "asn")]
                    Asid,
                    #[serde(other)]
                    Other,
                }
                let mut asn = None;
                while let Some(k) = map.next_key::<F>()? {
                    match k {
                        F::Asid => asn = Some(map.next_value::<AsnValue>()?.0),
                        F::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                asn.ok_or_else(|| de::Error::missing_field("provider_asid"))
            }
        }
        d.deserialize_any(V).map(ProviderValue)
    }
}

#[cfg(test)]
mod tests;
