//! Local exceptions: RFC 8416 SLURM files, with the ASPA members of draft-ietf-sidrops-aspa-slurm
//! (`aspaFilters: [{"customerAsn"}]`, `aspaAssertions: [{"customerAsn", "providerAsns"}]`,
//! `slurmVersion` 2). Parsing is the `rpki` crate's (`rpki::slurm::SlurmFile`), which is strict
//! as RFC 8416 §3 wants: unknown members, host bits, a maxPrefixLength out of range or a bad
//! version reject the file. BGPsec filters and assertions are parsed and ignored (bgpsieve does
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
    let file = read_with(path, |r| {
        rpki::slurm::SlurmFile::from_reader(r).map_err(|e| LoadError::json(path, e, None))
    })?;
    let format_err = |msg: String| LoadError::Format {
        path: path.to_path_buf(),
        msg,
    };

    let mut slurm = Slurm::default();
    for (i, f) in file.filters.prefix.iter().enumerate() {
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
            asn: f.asn.map(|a| Asn(a.into_u32())),
            comment: f.comment.clone(),
        });
    }
    for (i, f) in file.filters.aspa.iter().flatten().enumerate() {
        let Some(customer) = f.customer_asn else {
            return Err(format_err(format!(
                "validationOutputFilters.aspaFilters[{i}]: needs a \"customerAsn\""
            )));
        };
        slurm.aspa_filters.push(Asn(customer.into_u32()));
    }
    for (i, a) in file.assertions.prefix.iter().enumerate() {
        let p = a.prefix.prefix();
        let prefix = IpNet::new(p.addr(), p.len())
            .map_err(|e| format_err(format!("prefixAssertions[{i}]: {e}")))?;
        slurm.prefix_assertions.push(Vrp {
            prefix,
            max_len: a.prefix.resolved_max_len(),
            asn: Asn(a.asn.into_u32()),
            ta: None,
            expires: None,
        });
    }
    for (i, a) in file.assertions.aspa.iter().flatten().enumerate() {
        if a.provider_asns.is_empty() {
            return Err(format_err(format!(
                "locallyAddedAssertions.aspaAssertions[{i}]: empty \"providerAsns\""
            )));
        }
        slurm.aspa_assertions.push(Aspa::new(
            Asn(a.customer_asn.into_u32()),
            a.provider_asns.iter().map(|p| Asn(p.into_u32())),
            None,
        ));
    }
    Ok(slurm)
}

impl Slurm {
    /// RFC 8416 §4: removes what the filters match, then adds the assertions.
    pub fn apply(&self, vrps: &mut Vec<Vrp>, aspas: &mut Vec<Aspa>) {
        if !self.prefix_filters.is_empty() {
            vrps.retain(|v| !self.prefix_filters.iter().any(|f| f.matches(v)));
        }
        if !self.aspa_filters.is_empty() {
            aspas.retain(|a| !self.aspa_filters.contains(&a.customer));
        }
        vrps.extend(self.prefix_assertions.iter().cloned());
        aspas.extend(self.aspa_assertions.iter().cloned());
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
        s.apply(&mut vrps, &mut aspas);
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
                assert_eq!((*line, *column), (14, 24), "{err}");
                assert!(msg.contains("unknown variant `source`"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err
            .to_string()
            .starts_with(&format!("{}:14:24: ", path.display())));
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
