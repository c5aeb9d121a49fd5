//! Comments and privileges, which every kind of object can carry.

use super::ctx::Ctx;
use super::graph::Rank;
use cutover_schema::{Grant, Grantee, ObjId};
use cutover_sql::ddl::{Stmt, Target, grantee};
use std::collections::BTreeSet;

/// Sets the comment when it differs. `old` is `None` when the object is new or recreated.
pub fn comment(ctx: &mut Ctx, target: Target, object: ObjId, old: Option<&Option<String>>, new: &Option<String>) {
    let old = old.cloned().flatten();
    if old == *new {
        return;
    }
    let node = ctx.alter(Stmt::Comment { target, text: new.clone() }, Rank::Comments, vec![object]);
    ctx.push(node);
}

/// The privileges a newly created object starts with, besides its owner's.
pub fn default_grants(target: &Target) -> BTreeSet<Grant> {
    let public = |privilege: &str| Grant { grantee: Grantee::Public, privilege: privilege.into(), grantable: false };
    match target {
        Target::Routine(..) => [public("EXECUTE")].into(),
        Target::Type(_) | Target::Domain(_) => [public("USAGE")].into(),
        _ => BTreeSet::new(),
    }
}

/// Grants and revokes so that `new` holds. `old` is `None` when the object is new or
/// recreated, in which case it starts from the default privileges.
pub fn grants(ctx: &mut Ctx, target: Target, object: ObjId, old: Option<&BTreeSet<Grant>>, new: &BTreeSet<Grant>) {
    if !ctx.opts.privileges {
        return;
    }
    let defaults;
    let old = match old {
        Some(old) => old,
        None => {
            defaults = if matches!(target, Target::Column(..)) { BTreeSet::new() } else { default_grants(&target) };
            &defaults
        }
    };
    // Compare by grantee and privilege; the grant option alone can be added by GRANT and
    // taken away by REVOKE GRANT OPTION FOR, without touching the privilege itself.
    let key = |g: &Grant| (g.grantee.clone(), g.privilege.clone());
    let mut revokes = Vec::new();
    for grant in old {
        let revoke = match new.iter().find(|n| key(n) == key(grant)) {
            None => false,
            Some(n) if grant.grantable && !n.grantable => true,
            Some(_) => continue,
        };
        let stmt = Stmt::Revoke { target: target.clone(), grant: grant.clone(), grant_option_only: revoke };
        let mut node = ctx.alter(stmt, Rank::Grants, vec![object.clone()]);
        let what = if revoke { "the grant option of " } else { "" };
        node.hazards.push(crate::Hazard::new(
            crate::HazardCode::PrivilegesChange,
            format!("revokes {what}{} on {} from {}", grant.privilege, target, grantee(&grant.grantee)),
        ));
        revokes.push((key(grant), ctx.push(node)));
    }
    for grant in new {
        let needed = match old.iter().find(|o| key(o) == key(grant)) {
            None => true,
            Some(o) => grant.grantable && !o.grantable,
        };
        if !needed {
            continue;
        }
        let mut node =
            ctx.alter(Stmt::Grant { target: target.clone(), grant: grant.clone() }, Rank::Grants, vec![object.clone()]);
        node.hazards.push(crate::Hazard::new(
            crate::HazardCode::PrivilegesChange,
            format!("grants {} on {} to {}", grant.privilege, target, grantee(&grant.grantee)),
        ));
        // A revoke of the same privilege (taking back the grant option) must come first.
        node.after = revokes.iter().filter(|(k, _)| *k == key(grant)).map(|(_, i)| *i).collect();
        ctx.push(node);
    }
}
