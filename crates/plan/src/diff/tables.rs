//! Tables and what lives on them: columns, constraints, indexes, triggers, policies.

use super::ctx::Ctx;
use super::graph::{Node, Rank};
use super::meta;
use super::status::column_type_changed;
use crate::{Hazard, HazardCode};
use cutover_schema::*;
use cutover_sql::ddl::{Conversion, SequenceChanges, Stmt, TableAction, Target};
use cutover_sql::quote;

pub fn tables(ctx: &mut Ctx) {
    let (old, new) = (ctx.old, ctx.new);
    for (name, n) in &new.tables {
        let id = ObjId::Table { name: name.clone() };
        match old.tables.get(name).filter(|_| !ctx.is_replaced(&id)) {
            None => create_table(ctx, name, n),
            Some(o) => alter_table(ctx, name, o, n),
        }
    }
    for (name, o) in &old.tables {
        let id = ObjId::Table { name: name.clone() };
        let replaced = ctx.is_replaced(&id);
        if new.tables.contains_key(name) && !replaced {
            continue;
        }
        let mut drops = vec![id];
        drops.extend(o.sub_objects(name));
        drops.extend(owned_sequences_dropped_with(ctx, name, None));
        let mut node = ctx.drop(Stmt::DropTable { name: name.clone() }, Rank::DropTables, drops);
        node.frees_names = constraint_index_names(name, o.constraints.iter()).collect();
        let message = if replaced {
            format!("drops and recreates table {name} (its kind or partition key changes); all of its rows are lost")
        } else {
            format!("drops table {name} and all of its rows")
        };
        node.hazards.push(Hazard::new(HazardCode::DataLoss, message));
        if let Some(h) = indexes_dropped_with(name, o) {
            node.hazards.push(h);
        }
        ctx.push(node);
    }
}

/// The indexes a dropped table takes with it (its own and those of its keys), which queries
/// of other code paths may rely on.
fn indexes_dropped_with(name: &QualName, table: &Table) -> Option<Hazard> {
    let mut indexes: Vec<String> =
        table.indexes.keys().map(|i| QualName::new(name.schema.clone(), i.clone()).to_string()).collect();
    indexes.extend(constraint_index_names(name, table.constraints.iter()).map(|i| i.to_string()));
    indexes.sort();
    indexes.dedup();
    (!indexes.is_empty())
        .then(|| Hazard::new(HazardCode::IndexDropped, format!("drops with {name} its indexes {}", indexes.join(", "))))
}

/// Sequences owned by a column of `table` (or by `column` only) that the new catalog no
/// longer has: PostgreSQL drops them with the column, so the drop statement drops them too.
fn owned_sequences_dropped_with(ctx: &Ctx, table: &QualName, column: Option<&str>) -> Vec<ObjId> {
    let mut out = Vec::new();
    for (name, seq) in &ctx.old.sequences {
        if let Some((t, c)) = &seq.owned_by
            && t == table
            && column.is_none_or(|col| col == c)
            && !ctx.new.sequences.contains_key(name)
        {
            out.push(ObjId::Sequence { name: name.clone() });
            out.push(ObjId::SequenceOwner { name: name.clone() });
        }
    }
    out
}

/// The index names of a table's primary key, unique and exclusion constraints, which live
/// in the namespace of relations.
fn constraint_index_names<'a>(
    table: &'a QualName,
    constraints: impl Iterator<Item = (&'a String, &'a Constraint)> + 'a,
) -> impl Iterator<Item = QualName> + 'a {
    constraints
        .filter(|(_, c)| {
            matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion)
        })
        .map(move |(name, c)| QualName::new(table.schema.clone(), c.index.clone().unwrap_or_else(|| name.clone())))
}

fn col_id(table: &QualName, column: &str) -> ObjId {
    ObjId::Column { table: table.clone(), name: column.to_string() }
}

fn default_id(table: &QualName, column: &str) -> ObjId {
    ObjId::ColumnDefault { table: table.clone(), column: column.to_string() }
}

fn constraint_id(table: &QualName, name: &str) -> ObjId {
    ObjId::Constraint { table: table.clone(), name: name.to_string() }
}

fn index_id(table: &QualName, name: &str) -> ObjId {
    ObjId::Index { name: QualName::new(table.schema.clone(), name.to_string()) }
}

fn alter_stmt(table: &QualName, action: TableAction) -> Stmt {
    Stmt::AlterTable { name: table.clone(), action }
}

fn create_table(ctx: &mut Ctx, name: &QualName, n: &Table) {
    let table_id = ObjId::Table { name: name.clone() };
    let mut creates = vec![table_id.clone()];
    for c in &n.columns {
        creates.push(col_id(name, &c.name));
        if c.default.is_some() {
            creates.push(default_id(name, &c.name));
        }
    }
    for (cname, c) in &n.constraints {
        if c.kind != ConstraintKind::ForeignKey && c.validated {
            creates.push(constraint_id(name, cname));
        }
    }
    let mut node =
        ctx.create(Stmt::CreateTable { name: name.clone(), table: Box::new(n.clone()) }, Rank::Tables, creates);
    node.takes_names = constraint_index_names(name, n.constraints.iter().filter(|(_, c)| c.validated)).collect();
    ctx.push(node);

    for (cname, c) in &n.constraints {
        if c.kind == ConstraintKind::ForeignKey || !c.validated {
            add_constraint(ctx, name, cname, c);
        }
    }
    for (iname, index) in n.indexes.iter().filter(|(_, i)| i.parent_index.is_none()) {
        create_index(ctx, name, iname, index);
    }
    for (tname, trigger) in &n.triggers {
        create_trigger(ctx, name, tname, trigger);
    }
    for (pname, policy) in &n.policies {
        create_policy(ctx, name, pname, policy);
    }
    if n.rls_enabled {
        let node = ctx.alter(
            alter_stmt(name, TableAction::RowLevelSecurity { enable: true }),
            Rank::Tables,
            vec![table_id.clone()],
        );
        ctx.push(node);
    }
    if n.rls_forced {
        let node = ctx.alter(
            alter_stmt(name, TableAction::ForceRowLevelSecurity { force: true }),
            Rank::Tables,
            vec![table_id.clone()],
        );
        ctx.push(node);
    }
    table_meta(ctx, name, None, n);
}

/// Comments and grants of a table and everything on it; `o` is `None` for a new table.
fn table_meta(ctx: &mut Ctx, name: &QualName, o: Option<&Table>, n: &Table) {
    let table_id = ObjId::Table { name: name.clone() };
    meta::comment(ctx, Target::Table(name.clone()), table_id.clone(), o.map(|o| &o.comment), &n.comment);
    meta::grants(ctx, Target::Table(name.clone()), table_id, o.map(|o| &o.grants), &n.grants);
    for c in &n.columns {
        let id = col_id(name, &c.name);
        let oc = o.and_then(|o| o.column(&c.name)).filter(|_| !ctx.is_replaced(&id));
        let target = Target::Column(name.clone(), c.name.clone());
        meta::comment(ctx, target.clone(), id.clone(), oc.map(|o| &o.comment), &c.comment);
        meta::grants(ctx, target, id, oc.map(|o| &o.grants), &c.grants);
    }
    for (cname, c) in &n.constraints {
        let id = constraint_id(name, cname);
        let oc = o.and_then(|o| o.constraints.get(cname)).filter(|_| !ctx.is_replaced(&id));
        meta::comment(ctx, Target::Constraint(name.clone(), cname.clone()), id, oc.map(|o| &o.comment), &c.comment);
    }
    for (iname, i) in n.indexes.iter().filter(|(_, i)| i.parent_index.is_none()) {
        let id = index_id(name, iname);
        let oi = o.and_then(|o| o.indexes.get(iname)).filter(|_| !ctx.is_replaced(&id));
        let target = Target::Index(QualName::new(name.schema.clone(), iname.clone()));
        meta::comment(ctx, target, id, oi.map(|o| &o.comment), &i.comment);
    }
    for (tname, t) in &n.triggers {
        let id = ObjId::Trigger { table: name.clone(), name: tname.clone() };
        let ot = o.and_then(|o| o.triggers.get(tname)).filter(|_| !ctx.is_replaced(&id));
        meta::comment(ctx, Target::Trigger(name.clone(), tname.clone()), id, ot.map(|o| &o.comment), &t.comment);
    }
    for (pname, p) in &n.policies {
        let id = ObjId::Policy { table: name.clone(), name: pname.clone() };
        let op = o.and_then(|o| o.policies.get(pname)).filter(|_| !ctx.is_replaced(&id));
        meta::comment(ctx, Target::Policy(name.clone(), pname.clone()), id, op.map(|o| &o.comment), &p.comment);
    }
}

fn add_constraint(ctx: &mut Ctx, table: &QualName, cname: &str, c: &Constraint) {
    let action = TableAction::AddConstraint {
        name: cname.to_string(),
        definition: c.definition.clone(),
        not_valid: !c.validated,
    };
    let rank = if c.kind == ConstraintKind::ForeignKey { Rank::AddForeignKeys } else { Rank::AddConstraintsIndexes };
    let mut node = ctx.create(alter_stmt(table, action), rank, vec![constraint_id(table, cname)]);
    let key = cname.to_string();
    node.takes_names = constraint_index_names(table, std::iter::once((&key, c))).collect();
    if c.kind == ConstraintKind::PrimaryKey {
        // A table has one primary key: a new one (under another name) waits for the old.
        node.after_drop = ctx
            .old
            .tables
            .get(table)
            .into_iter()
            .flat_map(|t| &t.constraints)
            .filter(|(_, c)| c.kind == ConstraintKind::PrimaryKey)
            .map(|(name, _)| constraint_id(table, name))
            .collect();
    }
    ctx.push(node);
}

pub(super) fn create_index(ctx: &mut Ctx, relation: &QualName, iname: &str, index: &Index) {
    // Without ONLY, an index on a partitioned table cascades to the partitions.
    let stmt = Stmt::CreateIndex {
        name: iname.to_string(),
        table: relation.clone(),
        index: Box::new(index.clone()),
        concurrently: false,
    };
    let node = ctx.create(stmt, Rank::AddConstraintsIndexes, vec![index_id(relation, iname)]);
    ctx.push(node);
}

pub(super) fn drop_index(ctx: &mut Ctx, relation: &QualName, iname: &str) {
    let qualified = QualName::new(relation.schema.clone(), iname.to_string());
    let message = format!("drops index {qualified}; queries that use it lose it");
    let stmt = Stmt::DropIndex { name: qualified, concurrently: false };
    let mut node = ctx.drop(stmt, Rank::DropConstraintsIndexes, vec![index_id(relation, iname)]);
    node.hazards.push(Hazard::new(HazardCode::IndexDropped, message));
    ctx.push(node);
}

pub(super) fn create_trigger(ctx: &mut Ctx, relation: &QualName, tname: &str, trigger: &Trigger) {
    let id = ObjId::Trigger { table: relation.clone(), name: tname.to_string() };
    let mut node = ctx.create(
        Stmt::CreateTrigger { table: relation.clone(), definition: trigger.definition.clone() },
        Rank::CreateTriggersPolicies,
        vec![id.clone()],
    );
    node.requires.push(ObjId::Function { id: trigger.function.clone() });
    let created = ctx.push(node);
    if trigger.enabled != 'O' {
        let action = TableAction::SetTriggerEnabled { trigger: tname.to_string(), enabled: trigger.enabled };
        let mut node = ctx.alter(alter_stmt(relation, action), Rank::CreateTriggersPolicies, vec![id]);
        node.after.push(created);
        ctx.push(node);
    }
}

pub(super) fn drop_trigger(ctx: &mut Ctx, relation: &QualName, tname: &str) {
    let id = ObjId::Trigger { table: relation.clone(), name: tname.to_string() };
    let stmt = Stmt::DropTrigger { table: relation.clone(), name: tname.to_string() };
    let node = ctx.drop(stmt, Rank::DropTriggersPolicies, vec![id]);
    ctx.push(node);
}

/// Triggers of a table or view that exists on both sides.
pub(super) fn alter_triggers(
    ctx: &mut Ctx,
    relation: &QualName,
    old: &std::collections::BTreeMap<String, Trigger>,
    new: &std::collections::BTreeMap<String, Trigger>,
) {
    for tname in old.keys() {
        let id = ObjId::Trigger { table: relation.clone(), name: tname.clone() };
        if !new.contains_key(tname) || ctx.is_replaced(&id) {
            drop_trigger(ctx, relation, tname);
        }
    }
    for (tname, t) in new {
        let id = ObjId::Trigger { table: relation.clone(), name: tname.clone() };
        match old.get(tname).filter(|_| !ctx.is_replaced(&id)) {
            None => create_trigger(ctx, relation, tname, t),
            Some(ot) if ot.enabled != t.enabled => {
                let action = TableAction::SetTriggerEnabled { trigger: tname.clone(), enabled: t.enabled };
                let node = ctx.alter(alter_stmt(relation, action), Rank::CreateTriggersPolicies, vec![id]);
                ctx.push(node);
            }
            Some(_) => {}
        }
    }
}

fn create_policy(ctx: &mut Ctx, table: &QualName, pname: &str, policy: &Policy) {
    let stmt = Stmt::CreatePolicy { table: table.clone(), name: pname.to_string(), policy: policy.clone() };
    let mut node = ctx.create(
        stmt,
        Rank::CreateTriggersPolicies,
        vec![ObjId::Policy { table: table.clone(), name: pname.to_string() }],
    );
    node.hazards.push(Hazard::new(
        HazardCode::PrivilegesChange,
        format!("creates row-level security policy {pname} on {table}"),
    ));
    ctx.push(node);
}

fn alter_table(ctx: &mut Ctx, name: &QualName, o: &Table, n: &Table) {
    let table_id = ObjId::Table { name: name.clone() };
    let table_alter = |ctx: &mut Ctx, action: TableAction| {
        let node = ctx.alter(alter_stmt(name, action), Rank::Tables, vec![ObjId::Table { name: name.clone() }]);
        ctx.push(node)
    };
    if o.unlogged != n.unlogged {
        persistence(ctx, name, n.unlogged);
    }

    // Partition membership.
    if o.partition_of != n.partition_of {
        let mut detached = None;
        if let Some(op) = &o.partition_of {
            // Detach early, before the old parent's columns change under it.
            let action = TableAction::DetachPartition { partition: name.clone(), concurrently: false };
            let mut node =
                ctx.alter(alter_stmt(&op.parent, action), Rank::DropConstraintsIndexes, vec![table_id.clone()]);
            node.releases.push(ObjId::Table { name: op.parent.clone() });
            detached = Some(ctx.push(node));
        }
        if let Some(np) = &n.partition_of {
            // The partition must have its new parent's columns, as the parent will have them.
            let mut requires = vec![table_id.clone(), ObjId::Table { name: np.parent.clone() }];
            requires.extend(n.columns.iter().map(|c| col_id(name, &c.name)));
            if let Some(parent) = ctx.new.tables.get(&np.parent) {
                requires.extend(parent.columns.iter().map(|c| col_id(&np.parent, &c.name)));
            }
            let action = TableAction::AttachPartition { partition: name.clone(), bound: np.bound.clone() };
            let mut node = ctx.alter(alter_stmt(&np.parent, action), Rank::AddConstraintsIndexes, requires);
            node.after.extend(detached);
            ctx.push(node);
        }
    }
    // Inheritance.
    for parent in o.inherits.iter().filter(|p| !n.inherits.contains(p)) {
        let mut node = ctx.alter(
            alter_stmt(name, TableAction::NoInherit { parent: parent.clone() }),
            Rank::Tables,
            vec![table_id.clone()],
        );
        node.releases.push(ObjId::Table { name: parent.clone() });
        ctx.push(node);
    }
    for parent in n.inherits.iter().filter(|p| !o.inherits.contains(p)) {
        let node = ctx.alter(
            alter_stmt(name, TableAction::Inherit { parent: parent.clone() }),
            Rank::Tables,
            vec![table_id.clone(), ObjId::Table { name: parent.clone() }],
        );
        ctx.push(node);
    }

    columns(ctx, name, o, n);

    // Constraints.
    for (cname, oc) in &o.constraints {
        if !n.constraints.contains_key(cname) || ctx.is_replaced(&constraint_id(name, cname)) {
            let rank = if oc.kind == ConstraintKind::ForeignKey {
                Rank::DropForeignKeys
            } else {
                Rank::DropConstraintsIndexes
            };
            let mut node = ctx.drop(
                alter_stmt(name, TableAction::DropConstraint { name: cname.clone() }),
                rank,
                vec![constraint_id(name, cname)],
            );
            node.frees_names = constraint_index_names(name, std::iter::once((cname, oc))).collect();
            for index in &node.frees_names {
                node.hazards.push(Hazard::new(
                    HazardCode::IndexDropped,
                    format!("drops index {index} with constraint {cname}; queries that use it lose it"),
                ));
            }
            ctx.push(node);
        }
    }
    for (cname, nc) in &n.constraints {
        match o.constraints.get(cname).filter(|_| !ctx.is_replaced(&constraint_id(name, cname))) {
            None => add_constraint(ctx, name, cname, nc),
            Some(oc) if !oc.validated && nc.validated => {
                let action = TableAction::ValidateConstraint { name: cname.clone() };
                let node = ctx.alter(alter_stmt(name, action), Rank::AddForeignKeys, vec![constraint_id(name, cname)]);
                ctx.push(node);
            }
            Some(_) => {}
        }
    }

    // Indexes; those attached to a partitioned parent's index come and go with it.
    for iname in o.indexes.iter().filter(|(_, i)| i.parent_index.is_none()).map(|(n, _)| n) {
        let keep = n.indexes.get(iname).is_some_and(|ni| ni.parent_index.is_none());
        if !keep || ctx.is_replaced(&index_id(name, iname)) {
            drop_index(ctx, name, iname);
        }
    }
    for (iname, ni) in n.indexes.iter().filter(|(_, i)| i.parent_index.is_none()) {
        let existed = o.indexes.get(iname).is_some_and(|oi| oi.parent_index.is_none());
        if !existed || ctx.is_replaced(&index_id(name, iname)) {
            create_index(ctx, name, iname, ni);
        }
    }

    alter_triggers(ctx, name, &o.triggers, &n.triggers);

    // Row-level security.
    for pname in o.policies.keys() {
        let id = ObjId::Policy { table: name.clone(), name: pname.clone() };
        if !n.policies.contains_key(pname) || ctx.is_replaced(&id) {
            let stmt = Stmt::DropPolicy { table: name.clone(), name: pname.clone() };
            let mut node = ctx.drop(stmt, Rank::DropTriggersPolicies, vec![id]);
            node.hazards.push(Hazard::new(
                HazardCode::PrivilegesChange,
                format!("drops row-level security policy {pname} on {name}"),
            ));
            ctx.push(node);
        }
    }
    for (pname, np) in &n.policies {
        let id = ObjId::Policy { table: name.clone(), name: pname.clone() };
        match o.policies.get(pname).filter(|_| !ctx.is_replaced(&id)) {
            None => create_policy(ctx, name, pname, np),
            Some(op) if op.roles != np.roles || op.using != np.using || op.with_check != np.with_check => {
                let stmt = Stmt::AlterPolicy { table: name.clone(), name: pname.clone(), policy: np.clone() };
                let mut node = ctx.create(stmt, Rank::CreateTriggersPolicies, vec![id.clone()]);
                node.releases = ctx.old_deps_of(&id);
                node.hazards.push(Hazard::new(
                    HazardCode::PrivilegesChange,
                    format!("changes row-level security policy {pname} on {name}"),
                ));
                ctx.push(node);
            }
            Some(_) => {}
        }
    }
    if o.rls_enabled != n.rls_enabled {
        table_alter(ctx, TableAction::RowLevelSecurity { enable: n.rls_enabled });
    }
    if o.rls_forced != n.rls_forced {
        table_alter(ctx, TableAction::ForceRowLevelSecurity { force: n.rls_forced });
    }

    // Storage parameters.
    let key = |opt: &String| opt.split_once('=').map_or(opt.clone(), |(k, _)| k.to_string());
    let set: Vec<String> = n.options.iter().filter(|opt| !o.options.contains(opt)).cloned().collect();
    let reset: Vec<String> =
        o.options.iter().map(key).filter(|k| !n.options.iter().any(|opt| key(opt) == *k)).collect();
    if !reset.is_empty() {
        table_alter(ctx, TableAction::ResetOptions(reset));
    }
    if !set.is_empty() {
        table_alter(ctx, TableAction::SetOptions(set));
    }

    table_meta(ctx, name, Some(o), n);
}

/// SET LOGGED / SET UNLOGGED. A permanent table may not reference an unlogged one, so a
/// table becomes unlogged only after the permanent tables referencing it stopped doing so
/// (their foreign keys dropped, or they became unlogged first), and becomes logged only
/// after the tables it references did.
fn persistence(ctx: &mut Ctx, name: &QualName, unlogged: bool) {
    let table_id = ObjId::Table { name: name.clone() };
    let action = if unlogged { TableAction::SetUnlogged } else { TableAction::SetLogged };
    let mut node = ctx.alter(alter_stmt(name, action), Rank::Tables, vec![table_id.clone()]);
    node.creates.push(table_id);
    for (other, table) in &ctx.old.tables {
        for (cname, c) in &table.constraints {
            let Some(fk) = &c.foreign_key else { continue };
            let (from, to) = (other, &fk.referenced_table);
            if from == to {
                continue;
            }
            if unlogged && to == name {
                node.after_drop.push(constraint_id(from, cname));
                node.requires.push(ObjId::Table { name: from.clone() });
            } else if !unlogged && from == name {
                node.after_drop.push(constraint_id(from, cname));
                node.requires.push(ObjId::Table { name: to.clone() });
            }
        }
    }
    ctx.push(node);
}

fn columns(ctx: &mut Ctx, table: &QualName, o: &Table, n: &Table) {
    // A partition declares no columns of its own: they follow the parent. A table that leaves
    // its parent keeps the columns it had; a table that joins one must already have the new
    // parent's columns when it is attached. So on either side, a partition that is not
    // staying where it is counts all its columns as its own.
    let stays_partition = o.partition_of.is_some()
        && o.partition_of.as_ref().map(|p| &p.parent) == n.partition_of.as_ref().map(|p| &p.parent);
    if stays_partition {
        return;
    }
    // NO INHERIT leaves the columns a table had only through a removed parent as its own.
    let leaves_parents = |c: &Column| {
        !c.is_local
            && o.inherits
                .iter()
                .filter(|p| ctx.old.tables.get(*p).is_some_and(|t| t.column(&c.name).is_some()))
                .all(|p| !n.inherits.contains(p))
    };
    let old_own = |c: &Column| c.is_local || o.partition_of.is_some() || leaves_parents(c);
    let new_own = |c: &Column| c.is_local || n.partition_of.is_some();
    let new_parent_has =
        |column: &str| n.inherits.iter().any(|p| ctx.new.tables.get(p).is_some_and(|t| t.column(column).is_some()));

    for oc in o.columns.iter().filter(|c| old_own(c)) {
        let id = col_id(table, &oc.name);
        let nc = n.column(&oc.name);
        if nc.is_some_and(|nc| !new_own(nc)) {
            continue; // now only inherited: the parent owns it
        }
        if nc.is_none() || ctx.is_replaced(&id) {
            let mut drops = vec![id];
            if oc.default.is_some() {
                drops.push(default_id(table, &oc.name));
            }
            drops.extend(owned_sequences_dropped_with(ctx, table, Some(&oc.name)));
            drops.extend(inherited_copies(ctx, table, &oc.name));
            let stmt = alter_stmt(table, TableAction::DropColumn { column: oc.name.clone() });
            let mut node = ctx.drop(stmt, Rank::DropColumns, drops);
            let message = if ctx.is_replaced(&col_id(table, &oc.name)) {
                format!(
                    "drops and re-adds column {table}.{} to change how it is generated; its current values are replaced",
                    oc.name
                )
            } else {
                format!("drops column {table}.{} and its data", oc.name)
            };
            node.hazards.push(Hazard::new(HazardCode::DataLoss, message));
            ctx.push(node);
        }
    }
    for nc in n.columns.iter().filter(|c| new_own(c)) {
        let id = col_id(table, &nc.name);
        let oc = o.column(&nc.name);
        match oc {
            // Inherited before and the parent keeps it: it stays, now declared here too.
            Some(oc) if !old_own(oc) && new_parent_has(&nc.name) => {}
            // Inherited before from a parent that drops it: it goes with the parent's column
            // and is added back here.
            Some(oc) if old_own(oc) && !ctx.is_replaced(&id) => alter_column(ctx, table, oc, nc),
            _ => {
                let mut creates = vec![id];
                if nc.default.is_some() {
                    creates.push(default_id(table, &nc.name));
                }
                let stmt = alter_stmt(table, TableAction::AddColumn(Box::new(nc.clone())));
                let node = ctx.create(stmt, Rank::Tables, creates);
                ctx.push(node);
            }
        }
    }
}

/// The columns of inheriting tables and partitions that PostgreSQL drops together with
/// `table.column` because they only exist through it.
fn inherited_copies(ctx: &Ctx, table: &QualName, column: &str) -> Vec<ObjId> {
    let mut out = Vec::new();
    let mut parents = vec![table.clone()];
    while let Some(parent) = parents.pop() {
        for (name, t) in &ctx.old.tables {
            let child = t.inherits.contains(&parent) || t.partition_of.as_ref().is_some_and(|p| p.parent == parent);
            if child && t.column(column).is_some_and(|c| !c.is_local || t.partition_of.is_some()) {
                out.push(col_id(name, column));
                parents.push(name.clone());
            }
        }
    }
    out
}

fn alter_column(ctx: &mut Ctx, table: &QualName, oc: &Column, nc: &Column) {
    let id = col_id(table, &nc.name);
    let def = default_id(table, &nc.name);
    let table_id = ObjId::Table { name: table.clone() };
    let column = nc.name.clone();
    let mut last: Option<usize> = None;
    let mut chain = |ctx: &mut Ctx, mut node: Node| {
        node.after.extend(last);
        last = Some(ctx.push(node));
    };
    let releases_of =
        |ctx: &Ctx, id: &ObjId| -> Vec<ObjId> { ctx.old_deps_of(id).into_iter().filter(|d| *d != table_id).collect() };

    if oc.identity.is_some() && nc.identity.is_none() {
        let node = ctx.alter(
            alter_stmt(table, TableAction::DropIdentity { column: column.clone() }),
            Rank::Tables,
            vec![id.clone()],
        );
        chain(ctx, node);
    }
    if oc.generated.is_some() && nc.generated.is_none() {
        let mut node = ctx.alter(
            alter_stmt(table, TableAction::DropExpression { column: column.clone() }),
            Rank::Tables,
            vec![id.clone()],
        );
        node.releases = releases_of(ctx, &id);
        chain(ctx, node);
    }
    let type_change = column_type_changed(oc, nc) || ctx.retyped.contains(&id);
    let default_recreated = oc.default.is_some() && (ctx.is_replaced(&def) || type_change);
    if default_recreated || (oc.default.is_some() && nc.default.is_none()) {
        let node = ctx.drop(
            alter_stmt(table, TableAction::DropDefault { column: column.clone() }),
            Rank::Tables,
            vec![def.clone()],
        );
        chain(ctx, node);
    }
    if type_change {
        let using = type_change_using(ctx, oc, nc);
        let action = TableAction::AlterColumnType {
            column: column.clone(),
            data_type: nc.data_type.clone(),
            collation: nc.collation.clone(),
            using: Some(using),
        };
        let mut node = ctx.create(alter_stmt(table, action), Rank::Tables, vec![id.clone()]);
        node.vacates.push(id.clone());
        node.releases = releases_of(ctx, &id);
        if !is_widening(&oc.data_type, &nc.data_type) {
            node.hazards.push(Hazard::new(
                HazardCode::DataLoss,
                format!(
                    "changes the type of {table}.{column} from {} to {}; values may be truncated or changed",
                    oc.data_type, nc.data_type
                ),
            ));
        }
        chain(ctx, node);
    }
    if let Some(expr) = &nc.default
        && (default_recreated || oc.default.as_ref() != Some(expr))
    {
        let mut node = ctx.create(
            alter_stmt(table, TableAction::SetDefault { column: column.clone(), expression: expr.clone() }),
            Rank::Tables,
            vec![def.clone()],
        );
        if !default_recreated {
            node.releases = ctx.old_deps_of(&def).into_iter().filter(|d| *d != id).collect();
        }
        chain(ctx, node);
    }
    if oc.not_null != nc.not_null {
        let action = if nc.not_null {
            TableAction::SetNotNull { column: column.clone() }
        } else {
            TableAction::DropNotNull { column: column.clone() }
        };
        let mut node = ctx.alter(alter_stmt(table, action), Rank::Tables, vec![id.clone()]);
        if !nc.not_null {
            // PostgreSQL refuses while the column is in a primary key.
            node.after_drop = primary_keys_over(ctx.old, table, &column);
        }
        chain(ctx, node);
    }
    match (&oc.identity, &nc.identity) {
        (None, Some(identity)) => {
            let action = TableAction::AddIdentity {
                column: column.clone(),
                identity: identity.clone(),
                data_type: nc.data_type.clone(),
            };
            let node = ctx.alter(alter_stmt(table, action), Rank::Tables, vec![id.clone()]);
            chain(ctx, node);
        }
        (Some(a), Some(b)) if a != b => {
            let (x, y) = (&a.sequence, &b.sequence);
            let changed = SequenceChanges {
                start: x.start != y.start,
                increment: x.increment != y.increment,
                min_value: x.min_value != y.min_value,
                max_value: x.max_value != y.max_value,
                cache: x.cache != y.cache,
                cycle: x.cycle != y.cycle,
            };
            let always = (a.always != b.always).then_some(b.always);
            let action = TableAction::SetIdentity { column: column.clone(), always, options: y.clone(), changed };
            let node = ctx.alter(alter_stmt(table, action), Rank::Tables, vec![id.clone()]);
            chain(ctx, node);
        }
        _ => {}
    }
}

/// The primary keys of the old catalog that include `table.column`.
fn primary_keys_over(catalog: &Catalog, table: &QualName, column: &str) -> Vec<ObjId> {
    catalog
        .tables
        .get(table)
        .into_iter()
        .flat_map(|t| &t.constraints)
        .filter(|(_, c)| c.kind == ConstraintKind::PrimaryKey && c.columns.iter().any(|k| k == column))
        .map(|(name, _)| constraint_id(table, name))
        .collect()
}

/// `USING` for a type change: through text when the target is an enum or domain replaced
/// under the same name (the old and new types have no cast between them), else a plain cast.
fn type_change_using(ctx: &Ctx, oc: &Column, nc: &Column) -> Conversion {
    let through_text = ctx.renamed_types.keys().any(|t| mentions_type(&nc.data_type, t))
        || ctx.new.types.iter().any(|(t, def)| {
            matches!(def.kind, TypeKind::Enum { .. })
                && mentions_type(&nc.data_type, t)
                && !mentions_type(&oc.data_type, t)
        });
    if through_text || !has_direct_cast(&oc.data_type, &nc.data_type) {
        Conversion::ThroughText
    } else {
        Conversion::Cast
    }
}

/// Whether PostgreSQL has a cast from `from` to `to` (as `format_type` prints them) that
/// `USING col::to` can use. Between unrelated types (integer to timestamptz) there is none,
/// and `ALTER COLUMN TYPE` fails at once even on an empty table; through text (I/O
/// conversion, which every type has) it runs and fails only on values that do not convert.
/// Conservative: unknown pairs go through text.
pub fn has_direct_cast(from: &str, to: &str) -> bool {
    fn base(t: &str) -> &str {
        t.split('(').next().unwrap_or(t).trim()
    }
    const TEXT: &[&str] = &["text", "character varying", "character", "name", "\"char\"", "citext"];
    const FAMILIES: &[&[&str]] = &[
        &["smallint", "integer", "bigint", "numeric", "real", "double precision", "money"],
        &[
            "date",
            "timestamp without time zone",
            "timestamp with time zone",
            "time without time zone",
            "time with time zone",
            "interval",
        ],
        &["integer", "boolean"],
        &["json", "jsonb"],
        &["bit", "bit varying", "integer", "bigint"],
        &["inet", "cidr"],
    ];
    let (from_array, to_array) = (from.ends_with("[]"), to.ends_with("[]"));
    if from_array != to_array {
        return false;
    }
    let (f, t) = (base(from.trim_end_matches("[]")), base(to.trim_end_matches("[]")));
    f == t || TEXT.contains(&f) || TEXT.contains(&t) || FAMILIES.iter().any(|fam| fam.contains(&f) && fam.contains(&t))
}

/// Whether a `format_type` string names `t` (possibly as an array).
fn mentions_type(data_type: &str, t: &QualName) -> bool {
    let base = data_type.trim_end_matches("[]");
    base == format!("{}.{}", quote::ident(&t.schema), quote::ident(&t.name)) || base == quote::ident(&t.name)
}

/// Type changes PostgreSQL makes without losing information.
pub fn is_widening(from: &str, to: &str) -> bool {
    fn split(t: &str) -> (&str, Vec<i64>) {
        match t.split_once('(') {
            Some((base, args)) => {
                let args = args.trim_end_matches(')');
                (base.trim(), args.split(',').filter_map(|a| a.trim().parse().ok()).collect())
            }
            None => (t.trim(), Vec::new()),
        }
    }
    if from == to {
        return true;
    }
    let (fb, fa) = split(from);
    let (tb, ta) = split(to);
    let ints = ["smallint", "integer", "bigint"];
    match (fb, tb) {
        ("character varying", "character varying") | ("bit varying", "bit varying") => {
            ta.is_empty() || (!fa.is_empty() && ta[0] >= fa[0])
        }
        ("character varying" | "character" | "text", "text") => true,
        ("character varying", "character varying[]") => false,
        ("numeric", "numeric") => ta.is_empty() || (fa.len() == 2 && ta.len() == 2 && ta[1] == fa[1] && ta[0] >= fa[0]),
        ("timestamp without time zone", "timestamp without time zone")
        | ("timestamp with time zone", "timestamp with time zone")
        | ("time without time zone", "time without time zone")
        | ("interval", "interval") => {
            ta.is_empty() || fa.is_empty() && ta[0] >= 6 || (!fa.is_empty() && ta[0] >= fa[0])
        }
        ("real", "double precision") => true,
        (a, b) if ints.contains(&a) && ints.contains(&b) => {
            ints.iter().position(|i| *i == b) >= ints.iter().position(|i| *i == a)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_widening;

    #[test]
    fn widening_type_changes_are_recognised() {
        assert!(is_widening("character varying(10)", "character varying(20)"));
        assert!(is_widening("character varying(10)", "text"));
        assert!(is_widening("integer", "bigint"));
        assert!(is_widening("numeric(10,2)", "numeric(12,2)"));
        assert!(is_widening("numeric(10,2)", "numeric"));
        assert!(!is_widening("character varying(20)", "character varying(10)"));
        assert!(!is_widening("bigint", "integer"));
        assert!(!is_widening("text", "integer"));
        assert!(!is_widening("numeric(10,2)", "numeric(12,3)"));
    }
}
