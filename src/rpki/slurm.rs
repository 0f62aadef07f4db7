//! Local exceptions: RFC 8416 SLURM files, with the ASPA members of draft-ietf-sidrops-aspa-slurm
//! (`aspaFilters: [{"customerAsn"}]`, `aspaAssertions: [{"customerAsn", "providerAsns"}]`,
//! `slurmVersion` 2). Parsing (module `wire`) is strict as RFC 8416 §3 wants: unknown members,
//! host bits, a maxPrefixLength out of range or a bad version reject the file. BGPsec filters and assertions are parsed and ignored (bgpsieve does
//! no BGPsec).

use super::json::{read_with, LoadError};
use super::store::{Aspa, Vrp};
use crate::types::Asn;
use ipnet::IpNet;
use std::path::Path;

/// A parsed SLURM file, in bgpsieve's types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slurm {
    /// `validationOutputFilters.prefixFilters`.
    pub prefix_filters: Vec<PrefixFilter>,
    /// Customer ASes whose ASPAs are removed.
    pub aspa_filters: Vec<Asn>,
    /// VRPs to add (`ta` is `None`, `expires` is `None`).
    pub prefix_assertions: Vec<Vrp>,
    /// ASPAs to add (merged with any other ASPA of the same customer in the snapshot).
    pub aspa_assertions: Vec<Aspa>,
}

/// What applying SLURM did to a data set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlurmEffect {
    /// Entries (VRPs and ASPAs) the filters removed.
    pub removed: usize,
    /// Entries the assertions added.
    pub added: usize,
}

/// RFC 8416 §3.3.1 prefix filter: removes VRPs whose prefix is covered by `prefix` (equal or
/// more specific) and/or whose ASN is `asn`; with both, both must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixFilter {
    /// Removes VRPs for this prefix and its more-specifics.
    pub prefix: Option<IpNet>,
    /// Removes VRPs for this origin AS.
    pub asn: Option<Asn>,
    /// The operator's comment.
    pub comment: Option<String>,
}

impl PrefixFilter {
    /// Whether this filter removes `vrp`.
    pub fn matches(&self, vrp: &Vrp) -> bool {
        self.matches_parts(&vrp.prefix, vrp.asn)
    }

    /// Whether this filter removes a VRP of `prefix` for `asn`.
    pub(crate) fn matches_parts(&self, prefix: &IpNet, asn: Asn) -> bool {
        let prefix_ok = self.prefix.map(|p| p.contains(prefix));
        let asn_ok = self.asn.map(|a| a == asn);
        match (prefix_ok, asn_ok) {
            (Some(p), Some(a)) => p && a,
            (Some(p), None) => p,
            (None, Some(a)) => a,
            (None, None) => false,
        }
    }
}

/// Loads a SLURM file (gzip-compressed or not).
pub fn load_slurm_file(path: &Path) -> Result<Slurm, LoadError> {
    let file: wire::SlurmFile = read_with(path, |r| {
        serde_json::from_reader(r).map_err(|e| LoadError::json(path, e, None))
    })?;
    let format_err = |msg: String| LoadError::Format {
        path: path.to_path_buf(),
        msg,
    };

    let filters = file.validation_output_filters;
    let assertions = file.locally_added_assertions;
    let mut slurm = Slurm::default();
    for (i, f) in filters.prefix_filters.into_iter().enumerate() {
        if f.prefix.is_none() && f.asn.is_none() {
            return Err(format_err(format!(
                "validationOutputFilters.prefixFilters[{i}]: needs a \"prefix\" or an \"asn\" \
                 (RFC 8416 §3.3.1)"
            )));
        }
        let prefix = f
            .prefix
            .map(|p| IpNet::new(p.addr(), p.len()))
            .transpose()
            .map_err(|e| format_err(format!("prefixFilters[{i}]: {e}")))?;
        slurm.prefix_filters.push(PrefixFilter {
            prefix,
            asn: f.asn.map(Asn),
            comment: f.comment,
        });
    }
    for (i, f) in filters.aspa_filters.into_iter().flatten().enumerate() {
        let Some(customer) = f.customer_asn else {
            return Err(format_err(format!(
                "validationOutputFilters.aspaFilters[{i}]: needs a \"customerAsn\""
            )));
        };
        slurm.aspa_filters.push(Asn(customer));
    }
    for (i, a) in assertions.prefix_assertions.into_iter().enumerate() {
        let p = a.prefix.prefix();
        let prefix = IpNet::new(p.addr(), p.len())
            .map_err(|e| format_err(format!("prefixAssertions[{i}]: {e}")))?;
        slurm.prefix_assertions.push(Vrp {
            prefix,
            max_len: a.prefix.resolved_max_len(),
            asn: Asn(a.asn),
            ta: None,
            expires: None,
        });
    }
    for (i, a) in assertions.aspa_assertions.into_iter().flatten().enumerate() {
        if a.provider_asns.is_empty() {
            return Err(format_err(format!(
                "locallyAddedAssertions.aspaAssertions[{i}]: empty \"providerAsns\""
            )));
        }
        slurm.aspa_assertions.push(Aspa::new(
            Asn(a.customer_asn),
            a.provider_asns.into_iter().map(Asn),
            None,
        ));
    }
    Ok(slurm)
}

/// The RFC 8416 JSON members, strict as §3 wants: an unknown member, a prefix with host bits, a
/// `maxPrefixLength` out of range or a version other than 1 or 2 rejects the file. Prefixes are
/// the `rpki` crate's (`rpki::resources::addr`, which needs none of its crypto); the structure
/// is declared here because the crate's own SLURM parser comes only with its `crypto` feature
/// (aws-lc).
mod wire {
    use rpki::resources::addr::{MaxLenPrefix, Prefix};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(super) struct SlurmFile {
        #[allow(dead_code)] // read to be checked
        pub slurm_version: Version,
        pub validation_output_filters: Filters,
        pub locally_added_assertions: Assertions,
    }

    /// `slurmVersion`: 1 (RFC 8416) or 2 (draft-ietf-sidrops-aspa-slurm).
    #[derive(Deserialize)]
    #[serde(try_from = "u8")]
    pub(super) struct Version;

    impl TryFrom<u8> for Version {
        type Error = &'static str;
        fn try_from(v: u8) -> Result<Self, Self::Error> {
            match v {
                1 | 2 => Ok(Version),
                _ => Err("slurmVersion must be 1 or 2"),
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(super) struct Filters {
        pub prefix_filters: Vec<PrefixFilter>,
        #[allow(dead_code)] // BGPsec is parsed and ignored
        pub bgpsec_filters: Vec<BgpsecFilter>,
        #[serde(default)]
        pub aspa_filters: Option<Vec<AspaFilter>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct PrefixFilter {
        #[serde(default)]
        pub prefix: Option<Prefix>,
        #[serde(default)]
        pub asn: Option<u32>,
        #[serde(default)]
        pub comment: Option<String>,
    }

    #[allow(dead_code)] // BGPsec is parsed and ignored
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct BgpsecFilter {
        #[serde(default, rename = "SKI")]
        pub ski: Option<String>,
        #[serde(default)]
        pub asn: Option<u32>,
        #[serde(default)]
        pub comment: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(super) struct AspaFilter {
        #[serde(default)]
        pub customer_asn: Option<u32>,
        #[allow(dead_code)]
        #[serde(default)]
        pub comment: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(super) struct Assertions {
        pub prefix_assertions: Vec<PrefixAssertion>,
        #[allow(dead_code)] // BGPsec is parsed and ignored
        pub bgpsec_assertions: Vec<BgpsecAssertion>,
        #[serde(default)]
        pub aspa_assertions: Option<Vec<AspaAssertion>>,
    }

    /// A prefix assertion, its `maxPrefixLength` checked against the prefix.
    #[derive(Deserialize)]
    #[serde(try_from = "RawPrefixAssertion")]
    pub(super) struct PrefixAssertion {
        pub prefix: MaxLenPrefix,
        pub asn: u32,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct RawPrefixAssertion {
        prefix: Prefix,
        asn: u32,
        #[serde(default)]
        max_prefix_length: Option<u8>,
        #[allow(dead_code)]
        #[serde(default)]
        comment: Option<String>,
    }

    impl TryFrom<RawPrefixAssertion> for PrefixAssertion {
        type Error = String;
        fn try_from(r: RawPrefixAssertion) -> Result<Self, Self::Error> {
            let prefix = MaxLenPrefix::new(r.prefix, r.max_prefix_length)
                .map_err(|e| format!("prefix {}: maxPrefixLength: {e}", r.prefix))?;
            Ok(PrefixAssertion { prefix, asn: r.asn })
        }
    }

    #[allow(dead_code)] // BGPsec is parsed and ignored
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct BgpsecAssertion {
        pub asn: u32,
        #[serde(rename = "SKI")]
        pub ski: String,
        #[serde(rename = "routerPublicKey")]
        pub router_public_key: String,
        #[serde(default)]
        pub comment: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(super) struct AspaAssertion {
        pub customer_asn: u32,
        pub provider_asns: Vec<u32>,
        #[allow(dead_code)]
        #[serde(default)]
        pub comment: Option<String>,
    }
}

impl Slurm {
    /// RFC 8416 §4: removes what the filters match, then adds the assertions. Returns how many
    /// entries (VRPs and ASPAs) the filters removed and the assertions added.
    pub fn apply(&self, vrps: &mut Vec<Vrp>, aspas: &mut Vec<Aspa>) -> SlurmEffect {
        let before = vrps.len() + aspas.len();
        if !self.prefix_filters.is_empty() {
            vrps.retain(|v| !self.prefix_filters.iter().any(|f| f.matches(v)));
        }
        if !self.aspa_filters.is_empty() {
            aspas.retain(|a| !self.aspa_filters.contains(&a.customer));
        }
        let removed = before - (vrps.len() + aspas.len());
        vrps.extend(self.prefix_assertions.iter().cloned());
        aspas.extend(self.aspa_assertions.iter().cloned());
        SlurmEffect {
            removed,
            added: self.prefix_assertions.len() + self.aspa_assertions.len(),
        }
    }

    /// Appends another file's filters and assertions (several SLURM files act as one).
    pub fn merge(&mut self, other: Slurm) {
        self.prefix_filters.extend(other.prefix_filters);
        self.aspa_filters.extend(other.aspa_filters);
        self.prefix_assertions.extend(other.prefix_assertions);
        self.aspa_assertions.extend(other.aspa_assertions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpki::json::{load_vrp_file, LoadOptions};
    use crate::rpki::RpkiData;
    use std::path::PathBuf;

    fn testdata(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/vrps")
            .join(name)
    }

    #[test]
    fn hand_written_slurm_file_parses_into_filters_and_assertions() {
        let s = load_slurm_file(&testdata("slurm_example.json")).unwrap();
        assert_eq!(
            s.prefix_filters,
            vec![
                PrefixFilter {
                    prefix: Some("192.0.2.0/24".parse().unwrap()),
                    asn: None,
                    comment: Some("All VRPs encompassed by prefix".into()),
                },
                PrefixFilter {
                    prefix: None,
                    asn: Some(Asn(64496)),
                    comment: Some("All VRPs matching ASN".into()),
                },
                PrefixFilter {
                    prefix: Some("198.51.100.0/24".parse().unwrap()),
                    asn: Some(Asn(64497)),
                    comment: Some("All VRPs encompassed by prefix, matching ASN".into()),
                },
            ]
        );
        assert_eq!(s.aspa_filters, vec![Asn(64499)]);
        let p = |s: &str| -> IpNet { s.parse().unwrap() };
        assert_eq!(
            s.prefix_assertions
                .iter()
                .map(|v| (v.prefix, v.max_len, v.asn))
                .collect::<Vec<_>>(),
            vec![
                (p("198.51.100.0/24"), 24, Asn(64496)),
                (p("2001:db8::/32"), 48, Asn(64496)),
                (p("2001:db8::/32"), 32, Asn(64499)),
            ]
        );
        assert_eq!(
            s.aspa_assertions,
            vec![Aspa::new(Asn(64497), [Asn(64498), Asn(64496)], None)]
        );
    }

    #[test]
    fn filters_apply_before_assertions() {
        let s = load_slurm_file(&testdata("slurm_example.json")).unwrap();
        let v = |p: &str, m: u8, a: u32| Vrp {
            prefix: p.parse().unwrap(),
            max_len: m,
            asn: Asn(a),
            ta: Some("ripe".into()),
            expires: None,
        };
        let mut vrps = vec![
            v("192.0.2.0/24", 24, 1),        // covered by the prefix-only filter
            v("192.0.2.128/25", 25, 2),      // more specific: also removed
            v("192.0.0.0/16", 24, 3),        // less specific: kept
            v("203.0.113.0/24", 24, 64496),  // ASN filter
            v("198.51.100.0/24", 24, 64497), // prefix+ASN filter
            v("198.51.100.0/24", 24, 64498), // same prefix, other ASN: kept
        ];
        let mut aspas = vec![
            Aspa::new(Asn(64499), [Asn(1)], None), // filtered
            Aspa::new(Asn(64497), [Asn(2)], None), // kept; the assertion adds more
        ];
        let effect = s.apply(&mut vrps, &mut aspas);
        // 4 VRPs and 1 ASPA filtered; 3 prefix and 1 ASPA assertions.
        assert_eq!(
            effect,
            SlurmEffect {
                removed: 5,
                added: 4
            }
        );
        let got: Vec<(String, u32)> = vrps
            .iter()
            .map(|v| (v.prefix.to_string(), v.asn.0))
            .collect();
        assert_eq!(
            got,
            vec![
                ("192.0.0.0/16".to_string(), 3),
                ("198.51.100.0/24".to_string(), 64498),
                // Assertions are added after filtering, even for a filtered ASN.
                ("198.51.100.0/24".to_string(), 64496),
                ("2001:db8::/32".to_string(), 64496),
                ("2001:db8::/32".to_string(), 64499),
            ]
        );
        let d = RpkiData::new(vrps, aspas);
        assert_eq!(d.aspa_providers(Asn(64499)), None);
        assert_eq!(
            d.aspa_providers(Asn(64497)),
            Some(&[Asn(2), Asn(64496), Asn(64498)][..])
        );
    }

    #[test]
    fn dn42_slurm_export_is_rejected_for_its_non_rfc8416_members() {
        // The dn42 export adds "source" and "mnt-by" to every prefix assertion (and has a null
        // prefix and two "asn": "" entries further down). RFC 8416 has no such members.
        let path = testdata("export_rfc8416_dn42.json");
        let err = load_slurm_file(&path).unwrap_err();
        match &err {
            LoadError::Parse {
                path: p,
                line,
                column,
                msg,
                ..
            } => {
                assert_eq!(p, &path);
                assert_eq!((*line, *column), (14, 25), "{err}");
                assert!(msg.contains("unknown field `source`"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err
            .to_string()
            .starts_with(&format!("{}:14:25: ", path.display())));
    }

    #[test]
    fn slurm_with_host_bits_or_bad_max_length_is_rejected_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                r#"{"slurmVersion": 1,
 "validationOutputFilters": {"prefixFilters": [], "bgpsecFilters": []},
 "locallyAddedAssertions": {"prefixAssertions": [
   {"asn": 64496, "prefix": "198.51.100.1/24"}], "bgpsecAssertions": []}}"#,
                4,
                "host",
            ),
            (
                r#"{"slurmVersion": 1,
 "validationOutputFilters": {"prefixFilters": [], "bgpsecFilters": []},
 "locallyAddedAssertions": {"prefixAssertions": [
   {"asn": 64496, "prefix": "198.51.100.0/24", "maxPrefixLength": 33}], "bgpsecAssertions": []}}"#,
                4,
                "max",
            ),
            (
                r#"{"slurmVersion": 1,
 "validationOutputFilters": {"prefixFilters": [{"comment": "nothing"}], "bgpsecFilters": []},
 "locallyAddedAssertions": {"prefixAssertions": [], "bgpsecAssertions": []}}"#,
                0,
                "prefixfilters[0]: needs",
            ),
        ];
        for (i, (text, line, needle)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("bad{i}.slurm.json"));
            std::fs::write(&path, text).unwrap();
            let err = load_slurm_file(&path).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with(&path.display().to_string()), "{shown}");
            assert!(shown.to_lowercase().contains(needle), "{shown}");
            match err {
                LoadError::Parse { line: l, .. } => assert_eq!(l, *line, "{shown}"),
                LoadError::Format { .. } => assert_eq!(*line, 0, "{shown}"),
                LoadError::Io { .. } => panic!("{shown}"),
            }
        }
    }

    #[test]
    fn version_and_members_are_checked_and_bgpsec_is_parsed_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let body = |version: u32, extra: &str| {
            format!(
                r#"{{"slurmVersion": {version}, {extra}
 "validationOutputFilters": {{"prefixFilters": [],
   "bgpsecFilters": [{{"asn": 64496, "SKI": "Zm9v", "comment": "key"}}]}},
 "locallyAddedAssertions": {{"prefixAssertions": [],
   "bgpsecAssertions": [{{"asn": 64496, "SKI": "Zm9v", "routerPublicKey": "YmFy"}}]}}}}"#
            )
        };
        let load = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            load_slurm_file(&path)
        };
        assert_eq!(load("v1.json", body(1, "")).unwrap(), Slurm::default());
        assert_eq!(load("v2.json", body(2, "")).unwrap(), Slurm::default());
        let err = load("v3.json", body(3, "")).unwrap_err().to_string();
        assert!(err.contains("slurmVersion must be 1 or 2"), "{err}");
        let err = load("extra.json", body(1, r#""x": 1,"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `x`"), "{err}");
        let err = load(
            "missing.json",
            r#"{"slurmVersion": 1, "validationOutputFilters": {"prefixFilters": []},
 "locallyAddedAssertions": {"prefixAssertions": [], "bgpsecAssertions": []}}"#
                .to_string(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing field `bgpsecFilters`"), "{err}");
        let err = load(
            "v4-max.json",
            r#"{"slurmVersion": 1,
 "validationOutputFilters": {"prefixFilters": [], "bgpsecFilters": []},
 "locallyAddedAssertions": {"prefixAssertions": [
   {"asn": 64496, "prefix": "198.51.100.0/24", "maxPrefixLength": 23}], "bgpsecAssertions": []}}"#
                .to_string(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("198.51.100.0/24: maxPrefixLength"), "{err}");
    }

    #[test]
    fn slurm_assertions_reach_the_snapshot_through_load_rpki() {
        let vrp_file = testdata("rtrtr_vrps.rpki-client.json");
        let before = load_vrp_file(&vrp_file, &LoadOptions::default()).unwrap();
        assert_eq!(before.vrps.len(), 2);
        let d = crate::rpki::load_rpki(
            &[vrp_file],
            &[],
            &[testdata("slurm_example.json")],
            &LoadOptions::default(),
        )
        .unwrap();
        // rtrtr's 192.0.2.0/24 AS64512 falls under the 192.0.2.0/24 filter; its 2001:DB8::/32
        // AS4200000000 stays; the example adds 198.51.100.0/24 and two 2001:db8::/32 VRPs.
        assert_eq!(d.vrp_count(), (1, 3));
        assert_eq!(d.aspa_count(), 1);
    }
}
