//! Sequences and their `OWNED BY` links.

use super::ctx::Ctx;
use super::graph::Rank;
use super::meta;
use crate::{Hazard, HazardCode};
use cutover_schema::{ObjId, Sequence};
use cutover_sql::ddl::{SequenceChanges, Stmt, Target};

pub fn sequences(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.sequences {
        let id = ObjId::Sequence { name: name.clone() };
        let owner = ObjId::SequenceOwner { name: name.clone() };
        let o = old.sequences.get(name);
        match o {
            None => {
                let stmt = Stmt::CreateSequence {
                    name: name.clone(),
                    data_type: n.data_type.clone(),
                    options: n.options.clone(),
                    unlogged: n.unlogged,
                };
                let node = ctx.create(stmt, Rank::CreateSequences, vec![id.clone()]);
                ctx.push(node);
            }
            Some(o) => alter(ctx, name, o, n),
        }
        let old_owner = o.and_then(|o| o.owned_by.as_ref());
        let relink = old_owner != n.owned_by.as_ref() || ctx.is_replaced(&owner);
        if relink && old_owner.is_some() {
            // Unlink before the old column goes, or dropping the column would drop the
            // sequence with it.
            let stmt = Stmt::SetSequenceOwner { name: name.clone(), owner: None };
            let mut node = ctx.drop(stmt, Rank::DropTriggersPolicies, vec![owner.clone()]);
            node.releases.retain(|d| *d != id);
            ctx.push(node);
        }
        if relink && n.owned_by.is_some() {
            let stmt = Stmt::SetSequenceOwner { name: name.clone(), owner: n.owned_by.clone() };
            let node = ctx.create(stmt, Rank::SequenceOwners, vec![owner.clone()]);
            ctx.push(node);
        }
        meta::comment(ctx, Target::Sequence(name.clone()), id.clone(), o.map(|o| &o.comment), &n.comment);
        meta::grants(ctx, Target::Sequence(name.clone()), id, o.map(|o| &o.grants), &n.grants);
    }
    for (name, o) in &old.sequences {
        if new.sequences.contains_key(name) {
            continue;
        }
        // A sequence owned by a column that goes away is dropped with it (see tables).
        if let Some((table, column)) = &o.owned_by
            && !ctx.new_deps.contains(&ObjId::Column { table: table.clone(), name: column.clone() })
        {
            continue;
        }
        let mut drops = vec![ObjId::Sequence { name: name.clone() }];
        if o.owned_by.is_some() {
            drops.push(ObjId::SequenceOwner { name: name.clone() });
        }
        let mut node = ctx.drop(Stmt::DropSequence { name: name.clone() }, Rank::DropSequences, drops);
        node.hazards.push(Hazard::new(HazardCode::DataLoss, format!("drops sequence {name} and its current value")));
        ctx.push(node);
    }
}

fn alter(ctx: &mut Ctx, name: &cutover_schema::QualName, o: &Sequence, n: &Sequence) {
    let (a, b) = (&o.options, &n.options);
    let changed = SequenceChanges {
        start: a.start != b.start,
        increment: a.increment != b.increment,
        min_value: a.min_value != b.min_value,
        max_value: a.max_value != b.max_value,
        cache: a.cache != b.cache,
        cycle: a.cycle != b.cycle,
    };
    let type_changed = o.data_type != n.data_type;
    if changed != SequenceChanges::default() || type_changed {
        let stmt = Stmt::AlterSequence {
            name: name.clone(),
            data_type: type_changed.then(|| n.data_type.clone()),
            options: n.options.clone(),
            changed,
        };
        let node = ctx.alter(stmt, Rank::CreateSequences, vec![ObjId::Sequence { name: name.clone() }]);
        ctx.push(node);
    }
}
