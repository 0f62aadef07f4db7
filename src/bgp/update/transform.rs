//! The changes the daemon makes to a route's attributes before sending it (prepend, next hop,
//! OTC, reject-reason large communities, the iBGP-only attributes), as pure functions over
//! [`PathAttributes`]: each returns a new attribute set and leaves the original, which other
//! routes may share, as it is. No policy here: the caller decides which transform applies.

use super::{code, PathAttributes, LINK_LOCAL_NEXT_HOP};
use crate::types::{Asn, Segment};
use std::net::IpAddr;
use std::sync::Arc;

impl PathAttributes {
    /// RFC 9234 §5: adds OTC = `asn` when the route has none; an existing OTC is never replaced.
    pub fn with_otc(&self, asn: Asn) -> PathAttributes {
        let mut p = self.clone();
        Arc::make_mut(&mut p.attrs).otc.get_or_insert(asn);
        p
    }

    /// Adds a large community (RFC 8092) unless it is already there.
    pub fn with_large_community(&self, c: [u32; 3]) -> PathAttributes {
        let mut p = self.clone();
        if !p.attrs.large_communities.contains(&c) {
            Arc::make_mut(&mut p.attrs).large_communities.push(c);
        }
        p
    }

    /// `asn` prepended to AS_PATH (what an eBGP speaker sends, RFC 4271 §5.1.2). The encoder
    /// splits sequences longer than 255.
    pub fn prepend(&self, asn: Asn) -> PathAttributes {
        let mut p = self.clone();
        let path = &mut Arc::make_mut(&mut p.attrs).as_path;
        match path.segments.first_mut() {
            Some(Segment::Sequence(v)) => v.insert(0, asn),
            _ => path.segments.insert(0, Segment::Sequence(vec![asn])),
        }
        p
    }

    /// A new next hop (RFC 4271 §5.1.3 third-party next hop); the old link-local one no longer
    /// applies and is dropped.
    pub fn with_next_hop(&self, ip: IpAddr) -> PathAttributes {
        let mut p = self.clone();
        Arc::make_mut(&mut p.attrs).next_hop = Some(ip);
        p.other.retain(|a| a.code != LINK_LOCAL_NEXT_HOP);
        p
    }

    /// Without LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST, which never go to an external peer
    /// (RFC 4271 §5.1.5, RFC 4456 §8).
    pub fn without_ibgp_only(&self) -> PathAttributes {
        let mut p = self.clone();
        if p.attrs.local_pref.is_some() {
            Arc::make_mut(&mut p.attrs).local_pref = None;
        }
        p.other
            .retain(|a| a.code != code::ORIGINATOR_ID && a.code != code::CLUSTER_LIST);
        p
    }
}
