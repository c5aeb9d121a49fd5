//! Schemas, extensions and collations.

use super::ctx::Ctx;
use super::graph::Rank;
use super::meta;
use crate::{Hazard, HazardCode};
use cutover_schema::ObjId;
use cutover_sql::ddl::{Stmt, Target};

pub fn schemas(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.schemas {
        let id = ObjId::Schema { name: name.clone() };
        let o = old.schemas.get(name);
        if o.is_none() {
            let node = ctx.create(Stmt::CreateSchema { name: name.clone() }, Rank::CreateSchemas, vec![id.clone()]);
            ctx.push(node);
        }
        meta::comment(ctx, Target::Schema(name.clone()), id.clone(), o.map(|o| &o.comment), &n.comment);
        meta::grants(ctx, Target::Schema(name.clone()), id, o.map(|o| &o.grants), &n.grants);
    }
    for name in old.schemas.keys().filter(|n| !new.schemas.contains_key(*n)) {
        let id = ObjId::Schema { name: name.clone() };
        let node = ctx.drop(Stmt::DropSchema { name: name.clone() }, Rank::DropSchemas, vec![id]);
        ctx.push(node);
    }
}

pub fn extensions(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.extensions {
        let id = ObjId::Extension { name: name.clone() };
        match old.extensions.get(name) {
            None => {
                let stmt = Stmt::CreateExtension {
                    name: name.clone(),
                    schema: n.schema.clone(),
                    version: ctx.opts.extension_versions.then(|| n.version.clone()),
                };
                let mut node = ctx.create(stmt, Rank::CreateExtensions, vec![id.clone()]);
                node.requires.push(ObjId::Schema { name: n.schema.clone() });
                node.hazards.push(Hazard::new(HazardCode::ExtensionChange, format!("creates extension {name}")));
                // The comment comes from the extension's control file.
                ctx.push(node);
            }
            Some(o) => {
                if ctx.opts.create_extensions_only {
                    continue;
                }
                if ctx.opts.extension_versions && o.version != n.version {
                    let stmt = Stmt::AlterExtensionUpdate { name: name.clone(), version: n.version.clone() };
                    let mut node = ctx.alter(stmt, Rank::CreateExtensions, vec![id.clone()]);
                    node.creates.push(id.clone());
                    node.hazards.push(Hazard::new(
                        HazardCode::ExtensionChange,
                        format!("updates extension {name} from {} to {}", o.version, n.version),
                    ));
                    ctx.push(node);
                }
                meta::comment(ctx, Target::Extension(name.clone()), id, Some(&o.comment), &n.comment);
            }
        }
    }
    if ctx.opts.create_extensions_only {
        return;
    }
    for name in old.extensions.keys().filter(|n| !new.extensions.contains_key(*n)) {
        let id = ObjId::Extension { name: name.clone() };
        let mut node = ctx.drop(Stmt::DropExtension { name: name.clone() }, Rank::DropExtensions, vec![id]);
        node.hazards.push(Hazard::new(HazardCode::ExtensionChange, format!("drops extension {name}")));
        ctx.push(node);
    }
}

pub fn collations(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.collations {
        let id = ObjId::Collation { name: name.clone() };
        let o = old.collations.get(name).filter(|_| !ctx.is_replaced(&id));
        if o.is_none() {
            let stmt = Stmt::CreateCollation { name: name.clone(), collation: n.clone() };
            let node = ctx.create(stmt, Rank::CreateCollations, vec![id.clone()]);
            ctx.push(node);
        }
        meta::comment(ctx, Target::Collation(name.clone()), id, o.map(|o| &o.comment), &n.comment);
    }
    for name in old.collations.keys() {
        let id = ObjId::Collation { name: name.clone() };
        if !new.collations.contains_key(name) || ctx.is_replaced(&id) {
            let node = ctx.drop(Stmt::DropCollation { name: name.clone() }, Rank::DropCollations, vec![id]);
            ctx.push(node);
        }
    }
}
