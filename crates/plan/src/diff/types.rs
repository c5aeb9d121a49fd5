//! Enums, domains, composite and range types.

use super::ctx::Ctx;
use super::graph::{Node, Rank};
use super::meta;
use super::status::{enum_only_adds, enum_renames};
use cutover_schema::{ObjId, QualName, TypeDef, TypeKind};
use cutover_sql::ddl::{CompositeAction, DomainAction, EnumPosition, Stmt, Target};

fn target(name: &QualName, t: &TypeDef) -> Target {
    match t.kind {
        TypeKind::Domain { .. } => Target::Domain(name.clone()),
        _ => Target::Type(name.clone()),
    }
}

fn is_domain(t: &TypeDef) -> bool {
    matches!(t.kind, TypeKind::Domain { .. })
}

pub fn types(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.types {
        let id = ObjId::Type { name: name.clone() };
        let o = old.types.get(name);
        match o {
            Some(o) if ctx.renamed_types.contains_key(name) => {
                let temporary = ctx.renamed_types[name].clone();
                let mut rename = Node::new(
                    Stmt::RenameType { name: name.clone(), new_name: temporary.clone(), domain: is_domain(o) },
                    Rank::Types,
                );
                rename.vacates.push(id.clone());
                ctx.push(rename);
                create(ctx, name, n);
                let mut drop = ctx.drop(
                    Stmt::DropType { name: QualName::new(name.schema.clone(), temporary), domain: is_domain(o) },
                    Rank::DropTypes,
                    vec![id.clone()],
                );
                // The old type's name was freed by the rename, not by this drop.
                drop.vacates.clear();
                ctx.push(drop);
            }
            Some(o) if !ctx.is_replaced(&id) => {
                alter(ctx, name, o, n);
                meta::comment(ctx, target(name, n), id.clone(), Some(&o.comment), &n.comment);
                meta::grants(ctx, target(name, n), id, Some(&o.grants), &n.grants);
            }
            _ => create(ctx, name, n),
        }
    }
    for (name, o) in &old.types {
        let id = ObjId::Type { name: name.clone() };
        let gone = !new.types.contains_key(name);
        if gone || (ctx.is_replaced(&id) && !ctx.renamed_types.contains_key(name)) {
            let node = ctx.drop(Stmt::DropType { name: name.clone(), domain: is_domain(o) }, Rank::DropTypes, vec![id]);
            ctx.push(node);
        }
    }
}

fn create(ctx: &mut Ctx, name: &QualName, n: &TypeDef) {
    let id = ObjId::Type { name: name.clone() };
    let node = ctx.create(Stmt::CreateType { name: name.clone(), kind: n.kind.clone() }, Rank::Types, vec![id.clone()]);
    let created = ctx.push(node);
    if let TypeKind::Domain { constraints, .. } = &n.kind {
        for (cname, c) in constraints.iter().filter(|(_, c)| !c.validated) {
            let action =
                DomainAction::AddConstraint { name: cname.clone(), definition: c.definition.clone(), not_valid: true };
            let mut node = ctx.alter(Stmt::AlterDomain { name: name.clone(), action }, Rank::Types, vec![id.clone()]);
            node.after.push(created);
            ctx.push(node);
        }
    }
    meta::comment(ctx, target(name, n), id.clone(), None, &n.comment);
    meta::grants(ctx, target(name, n), id, None, &n.grants);
}

fn alter(ctx: &mut Ctx, name: &QualName, o: &TypeDef, n: &TypeDef) {
    let id = ObjId::Type { name: name.clone() };
    match (&o.kind, &n.kind) {
        (TypeKind::Enum { labels: old }, TypeKind::Enum { labels: new }) if enum_only_adds(old, new) => {
            let mut previous: Option<usize> = None;
            for (i, label) in new.iter().enumerate() {
                if old.contains(label) {
                    continue;
                }
                // Insert after the label before it (old or just added); at the front, before
                // the first label that already exists.
                let position = if i > 0 {
                    Some(EnumPosition::After(new[i - 1].clone()))
                } else {
                    new.iter().find(|l| old.contains(*l)).map(|l| EnumPosition::Before(l.clone()))
                };
                let stmt = Stmt::AddEnumValue { name: name.clone(), value: label.clone(), position };
                let mut node = Node::new(stmt, Rank::Types);
                node.creates.push(id.clone());
                node.after.extend(previous);
                previous = Some(ctx.push(node));
            }
        }
        (TypeKind::Enum { labels: old }, TypeKind::Enum { labels: new }) if enum_renames(old, new).is_some() => {
            let mut previous: Option<usize> = None;
            for (from, to) in enum_renames(old, new).unwrap_or_default() {
                let mut node = Node::new(Stmt::RenameEnumValue { name: name.clone(), from, to }, Rank::Types);
                node.creates.push(id.clone());
                node.after.extend(previous);
                previous = Some(ctx.push(node));
            }
        }
        (
            TypeKind::Domain { default: od, not_null: onn, constraints: oc, .. },
            TypeKind::Domain { default: nd, not_null: nnn, constraints: nc, .. },
        ) => {
            let domain = |ctx: &mut Ctx, action: DomainAction, drop: bool| {
                let stmt = Stmt::AlterDomain { name: name.clone(), action };
                let mut node = ctx.alter(stmt, Rank::Types, ctx.new_deps_of(&id));
                if drop {
                    node.releases = ctx.old_deps_of(&id);
                }
                node.creates.push(id.clone());
                ctx.push(node)
            };
            if od != nd {
                match nd {
                    Some(expr) => domain(ctx, DomainAction::SetDefault(expr.clone()), false),
                    None => domain(ctx, DomainAction::DropDefault, true),
                };
            }
            if onn != nnn {
                domain(ctx, if *nnn { DomainAction::SetNotNull } else { DomainAction::DropNotNull }, false);
            }
            for (cname, c) in oc {
                match nc.get(cname) {
                    Some(n) if n.definition == c.definition => {
                        if !c.validated && n.validated {
                            domain(ctx, DomainAction::ValidateConstraint { name: cname.clone() }, false);
                        }
                    }
                    _ => {
                        domain(ctx, DomainAction::DropConstraint { name: cname.clone() }, true);
                    }
                }
            }
            for (cname, c) in nc {
                if oc.get(cname).is_none_or(|o| o.definition != c.definition) {
                    let action = DomainAction::AddConstraint {
                        name: cname.clone(),
                        definition: c.definition.clone(),
                        not_valid: !c.validated,
                    };
                    domain(ctx, action, false);
                }
            }
        }
        (TypeKind::Composite { attributes: oa }, TypeKind::Composite { attributes: na }) => {
            let composite = |ctx: &mut Ctx, action: CompositeAction| {
                let stmt = Stmt::AlterComposite { name: name.clone(), action };
                let mut node = ctx.create(stmt, Rank::Types, vec![id.clone()]);
                node.releases = ctx.old_deps_of(&id);
                ctx.push(node);
            };
            for a in oa {
                match na.iter().find(|b| b.name == a.name) {
                    None => composite(ctx, CompositeAction::DropAttribute { name: a.name.clone() }),
                    Some(b) if b.data_type != a.data_type || b.collation != a.collation => composite(
                        ctx,
                        CompositeAction::AlterAttributeType {
                            name: b.name.clone(),
                            data_type: b.data_type.clone(),
                            collation: b.collation.clone(),
                        },
                    ),
                    Some(_) => {}
                }
            }
            for b in na.iter().filter(|b| !oa.iter().any(|a| a.name == b.name)) {
                composite(
                    ctx,
                    CompositeAction::AddAttribute {
                        name: b.name.clone(),
                        data_type: b.data_type.clone(),
                        collation: b.collation.clone(),
                    },
                );
            }
        }
        _ => {}
    }
}
