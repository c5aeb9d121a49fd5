//! Views and materialized views.

use super::ctx::Ctx;
use super::graph::Rank;
use super::meta;
use super::tables::{alter_triggers, create_index, create_trigger, drop_index};
use cutover_schema::{ObjId, QualName, View};
use cutover_sql::ddl::{Stmt, Target};

fn target(name: &QualName, view: &View) -> Target {
    if view.materialized { Target::MaterializedView(name.clone()) } else { Target::View(name.clone()) }
}

pub fn views(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, o) in &old.views {
        let id = ObjId::View { name: name.clone() };
        if !new.views.contains_key(name) || ctx.is_replaced(&id) {
            let stmt = Stmt::DropView { name: name.clone(), materialized: o.materialized };
            let mut drops = vec![id];
            drops
                .extend(o.indexes.keys().map(|i| ObjId::Index { name: QualName::new(name.schema.clone(), i.clone()) }));
            drops.extend(o.triggers.keys().map(|t| ObjId::Trigger { table: name.clone(), name: t.clone() }));
            let node = ctx.drop(stmt, Rank::DropViews, drops);
            ctx.push(node);
        }
    }
    for (name, n) in &new.views {
        let id = ObjId::View { name: name.clone() };
        match old.views.get(name).filter(|_| !ctx.is_replaced(&id)) {
            None => {
                let stmt = Stmt::CreateView { name: name.clone(), view: Box::new(n.clone()) };
                let node = ctx.create(stmt, Rank::CreateViews, vec![id.clone()]);
                ctx.push(node);
                for (iname, index) in &n.indexes {
                    create_index(ctx, name, iname, index);
                }
                for (tname, trigger) in &n.triggers {
                    create_trigger(ctx, name, tname, trigger);
                }
                view_meta(ctx, name, None, n);
            }
            Some(o) => {
                for iname in o.indexes.keys() {
                    let index = ObjId::Index { name: QualName::new(name.schema.clone(), iname.clone()) };
                    if !n.indexes.contains_key(iname) || ctx.is_replaced(&index) {
                        drop_index(ctx, name, iname);
                    }
                }
                for (iname, ni) in &n.indexes {
                    let index = ObjId::Index { name: QualName::new(name.schema.clone(), iname.clone()) };
                    if !o.indexes.contains_key(iname) || ctx.is_replaced(&index) {
                        create_index(ctx, name, iname, ni);
                    }
                }
                alter_triggers(ctx, name, &o.triggers, &n.triggers);
                if n.materialized && n.populated && !o.populated {
                    let node = ctx.alter(
                        Stmt::RefreshMaterializedView { name: name.clone() },
                        Rank::CreateViews,
                        vec![id.clone()],
                    );
                    ctx.push(node);
                }
                view_meta(ctx, name, Some(o), n);
            }
        }
    }
}

fn view_meta(ctx: &mut Ctx, name: &QualName, o: Option<&View>, n: &View) {
    let id = ObjId::View { name: name.clone() };
    meta::comment(ctx, target(name, n), id.clone(), o.map(|o| &o.comment), &n.comment);
    meta::grants(ctx, target(name, n), id.clone(), o.map(|o| &o.grants), &n.grants);
    for c in &n.columns {
        let old = o.map(|o| o.columns.iter().find(|oc| oc.name == c.name).and_then(|oc| oc.comment.clone()));
        meta::comment(ctx, Target::Column(name.clone(), c.name.clone()), id.clone(), old.as_ref(), &c.comment);
    }
    for (iname, i) in &n.indexes {
        let index = ObjId::Index { name: QualName::new(name.schema.clone(), iname.clone()) };
        let old = o.and_then(|o| o.indexes.get(iname)).filter(|_| !ctx.is_replaced(&index)).map(|i| &i.comment);
        meta::comment(ctx, Target::Index(QualName::new(name.schema.clone(), iname.clone())), index, old, &i.comment);
    }
    for (tname, t) in &n.triggers {
        let trigger = ObjId::Trigger { table: name.clone(), name: tname.clone() };
        let old = o.and_then(|o| o.triggers.get(tname)).filter(|_| !ctx.is_replaced(&trigger)).map(|t| &t.comment);
        meta::comment(ctx, Target::Trigger(name.clone(), tname.clone()), trigger, old, &t.comment);
    }
}
