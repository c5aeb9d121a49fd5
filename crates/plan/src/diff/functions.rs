//! Functions and procedures.

use super::ctx::Ctx;
use super::graph::{Node, Rank};
use super::meta;
use crate::{Hazard, HazardCode};
use cutover_schema::{Function, ObjId};
use cutover_sql::ddl::{Stmt, Target};

/// SQL-language routines with a string body are checked against the catalog when created,
/// so they go after the tables they may read; other languages are checked at call time.
fn create_rank(f: &Function) -> Rank {
    if f.language == "sql" { Rank::CreateSqlRoutines } else { Rank::CreateRoutines }
}

pub fn functions(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    let mut created_sql_body = false;
    for (fid, n) in &new.functions {
        let id = ObjId::Function { id: fid.clone() };
        let target = Target::Routine(fid.clone(), n.kind);
        let o = old.functions.get(fid).filter(|_| !ctx.is_replaced(&id));
        match o {
            Some(o) if o.definition == n.definition => {}
            _ => {
                let stmt = Stmt::CreateFunction { definition: n.definition.clone() };
                let mut node = ctx.create(stmt, create_rank(n), vec![id.clone()]);
                if o.is_some() {
                    // CREATE OR REPLACE in place: it stops needing what the old body needed.
                    node.releases = ctx.old_deps_of(&id);
                }
                let string_body = !n.sql_body;
                if string_body && (n.language == "sql" || n.language == "plpgsql") {
                    node.hazards.push(Hazard::new(
                        HazardCode::UntrackedDependencies,
                        format!("the body of {fid} may use objects that PostgreSQL does not track as dependencies"),
                    ));
                }
                created_sql_body |= string_body && n.language == "sql";
                ctx.push(node);
            }
        }
        meta::comment(ctx, target.clone(), id.clone(), o.map(|o| &o.comment), &n.comment);
        meta::grants(ctx, target, id, o.map(|o| &o.grants), &n.grants);
    }
    for (fid, o) in &old.functions {
        let id = ObjId::Function { id: fid.clone() };
        let gone = !new.functions.contains_key(fid);
        if gone || ctx.is_replaced(&id) {
            let rank = if gone { Rank::DropLateRoutines } else { Rank::DropRoutines };
            let node = ctx.drop(Stmt::DropFunction { id: fid.clone(), kind: o.kind }, rank, vec![id]);
            ctx.push(node);
        }
    }
    if created_sql_body {
        // pg_dump does the same: bodies may refer to objects created later in the script.
        ctx.push(Node::new(Stmt::SetCheckFunctionBodies { on: false }, Rank::Session));
    }
}
