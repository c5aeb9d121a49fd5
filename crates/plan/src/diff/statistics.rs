//! Extended statistics objects (`CREATE STATISTICS`). Their definition cannot be altered in
//! place (only the target can), so a changed one is dropped and created again; they hold
//! no data, only what ANALYZE gathers for them.

use super::ctx::Ctx;
use super::graph::Rank;
use super::meta;
use cutover_schema::ObjId;
use cutover_sql::ddl::{Stmt, Target};

pub fn statistics(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.statistics {
        let id = ObjId::Statistics { name: name.clone() };
        let o = old.statistics.get(name);
        let recreate = o.is_some_and(|o| o.definition != n.definition || o.table != n.table || ctx.is_replaced(&id));
        if recreate {
            let stmt = Stmt::DropStatistics { name: name.clone() };
            let node = ctx.drop(stmt, Rank::DropConstraintsIndexes, vec![id.clone()]);
            ctx.push(node);
        }
        if o.is_none() || recreate {
            let stmt = Stmt::CreateStatistics { name: name.clone(), definition: n.definition.clone() };
            let node = ctx.create(stmt, Rank::AddConstraintsIndexes, vec![id.clone()]);
            ctx.push(node);
            if n.target.is_some() {
                let stmt = Stmt::SetStatisticsTarget { name: name.clone(), target: n.target };
                let node = ctx.alter(stmt, Rank::AddConstraintsIndexes, vec![id.clone()]);
                ctx.push(node);
            }
        } else if o.is_some_and(|o| o.target != n.target) {
            let stmt = Stmt::SetStatisticsTarget { name: name.clone(), target: n.target };
            let node = ctx.alter(stmt, Rank::AddConstraintsIndexes, vec![id.clone()]);
            ctx.push(node);
        }
        let old_comment = if recreate { None } else { o.map(|o| &o.comment) };
        meta::comment(ctx, Target::Statistics(name.clone()), id, old_comment, &n.comment);
    }
    for name in old.statistics.keys().filter(|name| !new.statistics.contains_key(*name)) {
        let id = ObjId::Statistics { name: name.clone() };
        let node = ctx.drop(Stmt::DropStatistics { name: name.clone() }, Rank::DropConstraintsIndexes, vec![id]);
        ctx.push(node);
    }
}
