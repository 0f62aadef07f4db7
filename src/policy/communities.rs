//! `too-many-communities` (15): standard, extended and large communities together above the
//! peer's limit (a defence against bloated UPDATEs).

use super::Ctx;
use crate::types::Route;

pub fn too_many_communities(route: &Route, ctx: &Ctx<'_>) -> bool {
    ctx.peer
        .max_communities
        .is_some_and(|max| route.attrs.community_count() > max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testutil::*;
    use crate::types::Role;

    #[test]
    fn counts_all_community_kinds_against_the_limit() {
        let l = local();
        let mut p = peer(Role::Peer, 64501);
        let r = route_with("8.8.8.0/24", "64501", |a| {
            a.communities = vec![1, 2, 3];
            a.large_communities = vec![[1, 2, 3]];
            a.ext_community_count = 1;
        });
        assert!(
            !check(too_many_communities, &r, &p, &l),
            "no limit configured"
        );
        p.max_communities = Some(5);
        assert!(!check(too_many_communities, &r, &p, &l));
        p.max_communities = Some(4);
        assert!(check(too_many_communities, &r, &p, &l));
    }
}
