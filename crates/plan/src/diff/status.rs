//! Deciding what must be dropped and created again, and what that forces on dependents.
//!
//! Some changes cannot be made in place: a view whose query changes, a function whose
//! result type changes, an enum that loses a value. Dropping such an object means dropping
//! everything that depends on it first (PostgreSQL refuses otherwise), so replacement
//! spreads along the old catalog's dependencies: views and routines are recreated, columns
//! of a replaced type are re-typed, defaults are dropped and set again.

use super::ctx::Ctx;
use cutover_schema::*;

pub fn view_needs_replace(old: &View, new: &View) -> bool {
    old.materialized != new.materialized
        || old.definition != new.definition
        || old.options != new.options
        || old.columns.len() != new.columns.len()
        || old.columns.iter().zip(&new.columns).any(|(a, b)| a.name != b.name || a.data_type != b.data_type)
}

/// `CREATE OR REPLACE` cannot change a routine's kind, result type or argument names and
/// defaults; those need a drop and a create.
pub fn function_needs_replace(old: &Function, new: &Function) -> bool {
    old.definition != new.definition
        && (old.kind != new.kind || old.result != new.result || old.arguments != new.arguments)
}

pub fn table_needs_replace(old: &Table, new: &Table) -> bool {
    old.kind != new.kind || old.partition_key != new.partition_key
}

/// A constraint is dropped and added again when its definition changes, and when a valid one
/// becomes NOT VALID: PostgreSQL has no statement that un-validates a constraint.
pub fn constraint_changed(old: &Constraint, new: &Constraint) -> bool {
    old.kind != new.kind || old.definition != new.definition || (old.validated && !new.validated)
}

pub fn index_changed(old: &Index, new: &Index) -> bool {
    !old.same_definition(new) || (!old.valid && new.valid)
}

/// A policy is created again when its command or kind changes, and when it loses its USING
/// or WITH CHECK clause: ALTER POLICY can replace a clause but not remove one.
pub fn policy_needs_replace(old: &Policy, new: &Policy) -> bool {
    old.command != new.command
        || old.permissive != new.permissive
        || (old.using.is_some() && new.using.is_none())
        || (old.with_check.is_some() && new.with_check.is_none())
}

/// A generated column whose expression changes, or a plain column that becomes generated,
/// is dropped and added again.
pub fn column_needs_replace(old: &Column, new: &Column) -> bool {
    match (&old.generated, &new.generated) {
        (Some(a), Some(b)) => a != b,
        (None, Some(_)) => true,
        _ => false,
    }
}

pub fn column_type_changed(old: &Column, new: &Column) -> bool {
    old.data_type != new.data_type || old.collation != new.collation
}

/// Whether `old` labels appear in `new` in the same order, so the enum only gains values.
pub fn enum_only_adds(old: &[String], new: &[String]) -> bool {
    let mut it = new.iter();
    old.iter().all(|label| it.any(|l| l == label))
}

/// When an enum keeps its length and order and only some labels change in place (none of
/// the new labels existed, none of the old ones remain), those are renames:
/// `ALTER TYPE ... RENAME VALUE` keeps the rows that hold them. Returns the pairs.
pub fn enum_renames(old: &[String], new: &[String]) -> Option<Vec<(String, String)>> {
    if old.len() != new.len() || old == new {
        return None;
    }
    let mut out = Vec::new();
    for (a, b) in old.iter().zip(new) {
        if a != b {
            if new.contains(a) || old.contains(b) {
                return None;
            }
            out.push((a.clone(), b.clone()));
        }
    }
    Some(out)
}

/// Whether a type change needs the type dropped and created again (renamed away first for
/// enums and domains, so that columns can move over with one `ALTER COLUMN ... TYPE`).
pub fn type_needs_replace(old: &TypeKind, new: &TypeKind) -> bool {
    match (old, new) {
        (TypeKind::Enum { labels: a }, TypeKind::Enum { labels: b }) => {
            !enum_only_adds(a, b) && enum_renames(a, b).is_none()
        }
        (TypeKind::Domain { base_type: a, .. }, TypeKind::Domain { base_type: b, .. }) => a != b,
        (TypeKind::Composite { .. }, TypeKind::Composite { .. }) => false,
        (a, b) => a != b,
    }
}

fn collation_changed(old: &Collation, new: &Collation) -> bool {
    old.provider != new.provider
        || old.locale != new.locale
        || old.lc_collate != new.lc_collate
        || old.lc_ctype != new.lc_ctype
        || old.deterministic != new.deterministic
}

#[derive(Clone, Copy, PartialEq)]
enum Why {
    /// The object is dropped (for good or to be created again).
    Gone,
    /// The object is altered in place in a way its dependents must not see (a column type).
    Altered,
}

pub fn compute(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    let mut work: Vec<(ObjId, Why)> = Vec::new();

    for (name, o) in &old.collations {
        if let Some(n) = new.collations.get(name)
            && collation_changed(o, n)
        {
            ctx.replaced.insert(ObjId::Collation { name: name.clone() });
        }
    }
    for (name, o) in &old.types {
        if let Some(n) = new.types.get(name)
            && type_needs_replace(&o.kind, &n.kind)
        {
            mark_type_replaced(ctx, name);
        }
    }
    for (id, o) in &old.functions {
        if let Some(n) = new.functions.get(id)
            && function_needs_replace(o, n)
        {
            ctx.replaced.insert(ObjId::Function { id: id.clone() });
        }
    }
    for (name, o) in &old.views {
        let Some(n) = new.views.get(name) else { continue };
        if view_needs_replace(o, n) {
            mark_view_replaced(ctx, name);
            continue;
        }
        for (index, oi) in &o.indexes {
            if n.indexes.get(index).is_some_and(|ni| index_changed(oi, ni)) {
                ctx.replaced.insert(ObjId::Index { name: QualName::new(name.schema.clone(), index.clone()) });
            }
        }
        for (trigger, ot) in &o.triggers {
            if n.triggers.get(trigger).is_some_and(|nt| nt.definition != ot.definition) {
                ctx.replaced.insert(ObjId::Trigger { table: name.clone(), name: trigger.clone() });
            }
        }
    }
    for (name, o) in &old.tables {
        let Some(n) = new.tables.get(name) else { continue };
        if table_needs_replace(o, n) {
            mark_table_replaced(ctx, name);
            continue;
        }
        for (cname, oc) in &o.constraints {
            if n.constraints.get(cname).is_some_and(|nc| constraint_changed(oc, nc)) {
                ctx.replaced.insert(ObjId::Constraint { table: name.clone(), name: cname.clone() });
            }
        }
        for (index, oi) in &o.indexes {
            if n.indexes.get(index).is_some_and(|ni| index_changed(oi, ni)) {
                ctx.replaced.insert(ObjId::Index { name: QualName::new(name.schema.clone(), index.clone()) });
            }
        }
        for (trigger, ot) in &o.triggers {
            if n.triggers.get(trigger).is_some_and(|nt| nt.definition != ot.definition) {
                ctx.replaced.insert(ObjId::Trigger { table: name.clone(), name: trigger.clone() });
            }
        }
        for (policy, op) in &o.policies {
            if n.policies.get(policy).is_some_and(|np| policy_needs_replace(op, np)) {
                ctx.replaced.insert(ObjId::Policy { table: name.clone(), name: policy.clone() });
            }
        }
        if o.partition_of.is_some() {
            continue; // a partition's columns follow its parent
        }
        for oc in o.columns.iter().filter(|c| c.is_local) {
            let Some(nc) = n.column(&oc.name).filter(|c| c.is_local) else { continue };
            let id = ObjId::Column { table: name.clone(), name: oc.name.clone() };
            if column_needs_replace(oc, nc) {
                ctx.replaced.insert(id);
            } else if column_type_changed(oc, nc) {
                work.push((id, Why::Altered));
            }
        }
    }

    for id in old.object_ids() {
        if !ctx.new_deps.contains(&id) {
            work.push((id, Why::Gone));
        }
    }
    work.extend(ctx.replaced.iter().cloned().map(|id| (id, Why::Gone)));

    while let Some((x, why)) = work.pop() {
        let dependents: Vec<ObjId> = ctx.old_deps.dependents_of(&x).cloned().collect();
        for y in dependents {
            if !ctx.new_deps.contains(&y) || ctx.replaced.contains(&y) {
                continue;
            }
            match &y {
                ObjId::Column { .. } => match &x {
                    // A generated column over a column that is dropped or re-typed.
                    ObjId::Column { .. } => {
                        ctx.replaced.insert(y.clone());
                        work.push((y, Why::Gone));
                    }
                    ObjId::Type { .. } | ObjId::Collation { .. } | ObjId::Extension { .. }
                        if why == Why::Gone && ctx.retyped.insert(y.clone()) =>
                    {
                        work.push((y, Why::Altered));
                    }
                    _ => {}
                },
                ObjId::Table { name } if why == Why::Gone => {
                    let name = name.clone();
                    mark_table_replaced(ctx, &name);
                    work.extend(table_objects(ctx.old, &name).into_iter().map(|id| (id, Why::Gone)));
                    work.push((y, Why::Gone));
                }
                ObjId::Type { name } if why == Why::Gone => {
                    let name = name.clone();
                    mark_type_replaced(ctx, &name);
                    work.push((y, Why::Gone));
                }
                ObjId::View { name } => {
                    let name = name.clone();
                    mark_view_replaced(ctx, &name);
                    work.push((y, Why::Gone));
                }
                ObjId::Function { .. } | ObjId::Trigger { .. } | ObjId::Policy { .. } => {
                    ctx.replaced.insert(y.clone());
                    work.push((y, Why::Gone));
                }
                // PostgreSQL rebuilds indexes and constraints itself when a column's type
                // changes; only a drop forces them out.
                ObjId::Index { .. }
                | ObjId::Constraint { .. }
                | ObjId::ColumnDefault { .. }
                | ObjId::SequenceOwner { .. }
                    if why == Why::Gone =>
                {
                    ctx.replaced.insert(y.clone());
                    work.push((y, Why::Gone));
                }
                _ => {}
            }
        }
    }
}

fn mark_type_replaced(ctx: &mut Ctx, name: &QualName) {
    ctx.replaced.insert(ObjId::Type { name: name.clone() });
    if let Some(t) = ctx.old.types.get(name)
        && matches!(t.kind, TypeKind::Enum { .. } | TypeKind::Domain { .. })
        && matches!(ctx.new.types.get(name).map(|t| &t.kind), Some(TypeKind::Enum { .. } | TypeKind::Domain { .. }))
    {
        ctx.renamed_types.insert(name.clone(), temporary_type_name(&name.name));
    }
}

/// The name an old enum or domain is renamed to while columns move to its replacement;
/// deterministic so a rerun of a half-applied migration finds it.
pub fn temporary_type_name(name: &str) -> String {
    let suffix = "__cutover_old";
    let mut base: String = name.to_string();
    while base.len() + suffix.len() > 63 {
        base.pop();
    }
    format!("{base}{suffix}")
}

fn mark_view_replaced(ctx: &mut Ctx, name: &QualName) {
    ctx.replaced.insert(ObjId::View { name: name.clone() });
    if let Some(view) = ctx.old.views.get(name) {
        for index in view.indexes.keys() {
            ctx.replaced.insert(ObjId::Index { name: QualName::new(name.schema.clone(), index.clone()) });
        }
        for trigger in view.triggers.keys() {
            ctx.replaced.insert(ObjId::Trigger { table: name.clone(), name: trigger.clone() });
        }
    }
}

fn mark_table_replaced(ctx: &mut Ctx, name: &QualName) {
    ctx.replaced.insert(ObjId::Table { name: name.clone() });
    for id in table_objects(ctx.old, name) {
        ctx.replaced.insert(id);
    }
}

fn table_objects(catalog: &Catalog, name: &QualName) -> Vec<ObjId> {
    catalog.tables.get(name).map(|t| t.sub_objects(name)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn enum_changes_that_only_add_values_stay_in_place() {
        assert!(enum_only_adds(&labels(&["a", "b"]), &labels(&["a", "x", "b", "c"])));
        assert!(!enum_only_adds(&labels(&["a", "b"]), &labels(&["b", "a"])));
        assert!(!enum_only_adds(&labels(&["a", "b"]), &labels(&["a"])));
    }

    #[test]
    fn enum_labels_changed_in_place_are_renames() {
        assert_eq!(
            enum_renames(&labels(&["a", "done"]), &labels(&["a", "completed"])),
            Some(vec![("done".to_string(), "completed".to_string())])
        );
        assert_eq!(enum_renames(&labels(&["a", "b"]), &labels(&["b", "a"])), None);
        assert_eq!(enum_renames(&labels(&["a", "b"]), &labels(&["a", "b", "c"])), None);
    }

    #[test]
    fn temporary_type_names_fit_in_63_bytes() {
        let long = "x".repeat(63);
        assert_eq!(temporary_type_name(&long).len(), 63);
        assert_eq!(temporary_type_name("mood"), "mood__cutover_old");
    }
}
