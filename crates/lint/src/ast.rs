//! Small readers over libpg_query's parse tree, so rules say what they look for and not how
//! to dig for it.

use pg_query::NodeEnum;
use pg_query::protobuf::{self, Node, RangeVar, TypeName};

/// A table as a statement names it: schema (when written) and name, as PostgreSQL folded them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn of(rv: &RangeVar) -> TableName {
        TableName { schema: (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone()), name: rv.relname.clone() }
    }

    /// `schema.name`, with `public` for an unqualified name (the usual search_path).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema.as_deref().unwrap_or("public"), self.name)
    }

    /// The model's name, `public` for an unqualified name.
    pub fn qual_name(&self) -> cutover_schema::QualName {
        cutover_schema::QualName::new(self.schema.as_deref().unwrap_or("public"), &self.name)
    }

    /// As written: `name` or `schema.name`.
    pub fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The text of a `String` node.
pub fn string(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

/// The last component of a type's name, lowercase (`int4`, `varchar`, `timestamp`), and
/// whether it was written with a schema (`pg_catalog.int4`).
pub fn type_name(tn: &TypeName) -> String {
    tn.names.iter().filter_map(string).next_back().unwrap_or("").to_ascii_lowercase()
}

/// Integer type modifiers (`varchar(255)` → `[255]`).
pub fn type_mods(tn: &TypeName) -> Vec<i64> {
    tn.typmods
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::AConst(c) => match c.val.as_ref()? {
                protobuf::a_const::Val::Ival(i) => Some(i.ival as i64),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The constraint nodes of a column definition.
pub fn column_constraints(col: &protobuf::ColumnDef) -> impl Iterator<Item = &protobuf::Constraint> {
    col.constraints.iter().filter_map(|n| match n.node.as_ref()? {
        NodeEnum::Constraint(c) => Some(c.as_ref()),
        _ => None,
    })
}

pub fn constr_type(c: &protobuf::Constraint) -> protobuf::ConstrType {
    protobuf::ConstrType::try_from(c.contype).unwrap_or(protobuf::ConstrType::Undefined)
}

pub fn alter_type(cmd: &protobuf::AlterTableCmd) -> protobuf::AlterTableType {
    protobuf::AlterTableType::try_from(cmd.subtype).unwrap_or(protobuf::AlterTableType::Undefined)
}

/// The commands of an `ALTER TABLE`.
pub fn alter_cmds(stmt: &protobuf::AlterTableStmt) -> impl Iterator<Item = &protobuf::AlterTableCmd> {
    stmt.cmds.iter().filter_map(|n| match n.node.as_ref()? {
        NodeEnum::AlterTableCmd(c) => Some(c.as_ref()),
        _ => None,
    })
}

/// A column type written in a statement: a column of `CREATE [FOREIGN] TABLE`, `ALTER TABLE
/// ... ADD COLUMN`, or the new type of `ALTER COLUMN ... TYPE` (for the type-choice rules).
#[derive(Debug, Clone, Copy)]
pub struct ColumnType<'a> {
    pub table: Option<&'a RangeVar>,
    pub column: &'a str,
    pub type_name: &'a TypeName,
}

impl ColumnType<'_> {
    /// `table.column` (or just the column when the table is unnamed).
    pub fn display(&self) -> String {
        match self.table {
            Some(rv) => format!("{}.{}", TableName::of(rv).display(), self.column),
            None => self.column.to_string(),
        }
    }

    /// The type as PostgreSQL spells it, with length and array brackets (`varchar(255)[]`).
    pub fn type_display(&self) -> String {
        let tn = self.type_name;
        let mut s = type_name(tn);
        let mods = type_mods(tn);
        if !mods.is_empty() {
            let mods: Vec<String> = mods.iter().map(i64::to_string).collect();
            s.push_str(&format!("({})", mods.join(",")));
        }
        for _ in &tn.array_bounds {
            s.push_str("[]");
        }
        s
    }
}

/// Every column type a statement writes (see [`ColumnType`]).
pub fn column_types(node: &NodeEnum) -> Vec<ColumnType<'_>> {
    fn table_columns<'a>(stmt: &'a protobuf::CreateStmt, out: &mut Vec<ColumnType<'a>>) {
        for elt in &stmt.table_elts {
            if let Some(NodeEnum::ColumnDef(col)) = elt.node.as_ref()
                && let Some(tn) = col.type_name.as_ref()
            {
                out.push(ColumnType { table: stmt.relation.as_ref(), column: &col.colname, type_name: tn });
            }
        }
    }
    let mut out = Vec::new();
    match node {
        NodeEnum::CreateStmt(s) => table_columns(s, &mut out),
        NodeEnum::CreateForeignTableStmt(s) => {
            if let Some(base) = s.base_stmt.as_ref() {
                table_columns(base, &mut out);
            }
        }
        NodeEnum::AlterTableStmt(s) => {
            for cmd in alter_cmds(s) {
                let Some(NodeEnum::ColumnDef(col)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else { continue };
                let Some(tn) = col.type_name.as_ref() else { continue };
                let column = match alter_type(cmd) {
                    protobuf::AlterTableType::AtAddColumn => col.colname.as_str(),
                    protobuf::AlterTableType::AtAlterColumnType => cmd.name.as_str(),
                    _ => continue,
                };
                out.push(ColumnType { table: s.relation.as_ref(), column, type_name: tn });
            }
        }
        _ => {}
    }
    out
}

/// The column definition an `ALTER TABLE ... ADD COLUMN` adds.
pub fn added_column(cmd: &protobuf::AlterTableCmd) -> Option<&protobuf::ColumnDef> {
    match cmd.def.as_ref()?.node.as_ref()? {
        NodeEnum::ColumnDef(c) if alter_type(cmd) == protobuf::AlterTableType::AtAddColumn => Some(c.as_ref()),
        _ => None,
    }
}

/// The constraint an `ALTER TABLE ... ADD CONSTRAINT` adds.
pub fn added_constraint(cmd: &protobuf::AlterTableCmd) -> Option<&protobuf::Constraint> {
    match cmd.def.as_ref()?.node.as_ref()? {
        NodeEnum::Constraint(c) if alter_type(cmd) == protobuf::AlterTableType::AtAddConstraint => Some(c.as_ref()),
        _ => None,
    }
}

/// `serial`, `bigserial`, `smallserial`, `serial2/4/8`: an implicit sequence default.
pub fn is_serial_type(tn: &TypeName) -> bool {
    matches!(type_name(tn).as_str(), "serial" | "serial2" | "serial4" | "serial8" | "smallserial" | "bigserial")
}

/// What kind of statement this is, for messages (`ALTER TABLE`, `CREATE INDEX`, `UPDATE`);
/// falls back to the first two words of its text.
pub fn statement_label(node: &NodeEnum, text: &str) -> String {
    let known = match node {
        NodeEnum::AlterTableStmt(_) => "ALTER TABLE",
        NodeEnum::IndexStmt(s) if s.concurrent => "CREATE INDEX CONCURRENTLY",
        NodeEnum::IndexStmt(_) => "CREATE INDEX",
        NodeEnum::CreateStmt(_) => "CREATE TABLE",
        NodeEnum::UpdateStmt(_) => "UPDATE",
        NodeEnum::DeleteStmt(_) => "DELETE",
        NodeEnum::InsertStmt(_) => "INSERT",
        NodeEnum::MergeStmt(_) => "MERGE",
        NodeEnum::TruncateStmt(_) => "TRUNCATE",
        NodeEnum::ReindexStmt(_) => "REINDEX",
        NodeEnum::LockStmt(_) => "LOCK TABLE",
        NodeEnum::VacuumStmt(_) => "VACUUM",
        NodeEnum::CommentStmt(_) => "COMMENT ON",
        NodeEnum::RenameStmt(_) => "ALTER ... RENAME",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let words: Vec<String> = text.split_whitespace().take(2).map(|w| w.to_ascii_uppercase()).collect();
    words.join(" ").trim_end_matches(|c: char| !c.is_ascii_alphabetic()).to_string()
}

/// A schema-changing statement, as the timeout rules count them (squawk's `possibly_slow_stmt`):
/// CREATE/ALTER/DROP of anything (except a CREATE TABLE without foreign keys, which locks
/// nothing that exists), CLUSTER, COMMENT, LOCK, REFRESH, REINDEX, TRUNCATE, VACUUM, SELECT INTO.
pub fn is_ddl(node: &NodeEnum) -> bool {
    match node {
        NodeEnum::CreateStmt(s) => {
            let fk = |n: &Node| match n.node.as_ref() {
                Some(NodeEnum::Constraint(c)) => constr_type(c) == protobuf::ConstrType::ConstrForeign,
                Some(NodeEnum::ColumnDef(col)) => {
                    column_constraints(col).any(|c| constr_type(c) == protobuf::ConstrType::ConstrForeign)
                }
                _ => false,
            };
            s.table_elts.iter().any(fk)
        }
        NodeEnum::SelectStmt(s) => s.into_clause.is_some(),
        NodeEnum::VacuumStmt(s) => s.is_vacuumcmd,
        NodeEnum::AlterCollationStmt(_)
        | NodeEnum::AlterDatabaseRefreshCollStmt(_)
        | NodeEnum::AlterDatabaseSetStmt(_)
        | NodeEnum::AlterDatabaseStmt(_)
        | NodeEnum::AlterDefaultPrivilegesStmt(_)
        | NodeEnum::AlterDomainStmt(_)
        | NodeEnum::AlterEnumStmt(_)
        | NodeEnum::AlterEventTrigStmt(_)
        | NodeEnum::AlterExtensionContentsStmt(_)
        | NodeEnum::AlterExtensionStmt(_)
        | NodeEnum::AlterFdwStmt(_)
        | NodeEnum::AlterForeignServerStmt(_)
        | NodeEnum::AlterFunctionStmt(_)
        | NodeEnum::AlterObjectDependsStmt(_)
        | NodeEnum::AlterObjectSchemaStmt(_)
        | NodeEnum::AlterOpFamilyStmt(_)
        | NodeEnum::AlterOperatorStmt(_)
        | NodeEnum::AlterOwnerStmt(_)
        | NodeEnum::AlterPolicyStmt(_)
        | NodeEnum::AlterPublicationStmt(_)
        | NodeEnum::AlterRoleSetStmt(_)
        | NodeEnum::AlterRoleStmt(_)
        | NodeEnum::AlterSeqStmt(_)
        | NodeEnum::AlterStatsStmt(_)
        | NodeEnum::AlterSubscriptionStmt(_)
        | NodeEnum::AlterSystemStmt(_)
        | NodeEnum::AlterTableMoveAllStmt(_)
        | NodeEnum::AlterTableSpaceOptionsStmt(_)
        | NodeEnum::AlterTableStmt(_)
        | NodeEnum::AlterTsconfigurationStmt(_)
        | NodeEnum::AlterTsdictionaryStmt(_)
        | NodeEnum::AlterTypeStmt(_)
        | NodeEnum::AlterUserMappingStmt(_)
        | NodeEnum::CreateAmStmt(_)
        | NodeEnum::CreateCastStmt(_)
        | NodeEnum::CreateConversionStmt(_)
        | NodeEnum::CreateDomainStmt(_)
        | NodeEnum::CreateEnumStmt(_)
        | NodeEnum::CreateEventTrigStmt(_)
        | NodeEnum::CreateExtensionStmt(_)
        | NodeEnum::CreateFdwStmt(_)
        | NodeEnum::CreateForeignServerStmt(_)
        | NodeEnum::CreateForeignTableStmt(_)
        | NodeEnum::CreateFunctionStmt(_)
        | NodeEnum::CreateOpClassStmt(_)
        | NodeEnum::CreateOpFamilyStmt(_)
        | NodeEnum::CreatePlangStmt(_)
        | NodeEnum::CreatePolicyStmt(_)
        | NodeEnum::CreatePublicationStmt(_)
        | NodeEnum::CreateRangeStmt(_)
        | NodeEnum::CreateRoleStmt(_)
        | NodeEnum::CreateSchemaStmt(_)
        | NodeEnum::CreateSeqStmt(_)
        | NodeEnum::CreateStatsStmt(_)
        | NodeEnum::CreateSubscriptionStmt(_)
        | NodeEnum::CreateTableAsStmt(_)
        | NodeEnum::CreateTableSpaceStmt(_)
        | NodeEnum::CreateTransformStmt(_)
        | NodeEnum::CreateTrigStmt(_)
        | NodeEnum::CreateUserMappingStmt(_)
        | NodeEnum::CreatedbStmt(_)
        | NodeEnum::DropOwnedStmt(_)
        | NodeEnum::DropRoleStmt(_)
        | NodeEnum::DropStmt(_)
        | NodeEnum::DropSubscriptionStmt(_)
        | NodeEnum::DropTableSpaceStmt(_)
        | NodeEnum::DropUserMappingStmt(_)
        | NodeEnum::DropdbStmt(_)
        | NodeEnum::ClusterStmt(_)
        | NodeEnum::CommentStmt(_)
        | NodeEnum::ImportForeignSchemaStmt(_)
        | NodeEnum::LoadStmt(_)
        | NodeEnum::LockStmt(_)
        | NodeEnum::RefreshMatViewStmt(_)
        | NodeEnum::ReindexStmt(_)
        | NodeEnum::TruncateStmt(_)
        | NodeEnum::RenameStmt(_)
        | NodeEnum::IndexStmt(_)
        | NodeEnum::ViewStmt(_)
        | NodeEnum::RuleStmt(_)
        | NodeEnum::DefineStmt(_)
        | NodeEnum::CompositeTypeStmt(_) => true,
        _ => false,
    }
}

/// The names of a list of `String` nodes (a constraint's key columns).
pub fn names(nodes: &[Node]) -> Vec<String> {
    nodes.iter().filter_map(string).map(String::from).collect()
}

/// A constraint a statement writes and the columns it is on: a table constraint's keys (a
/// foreign key's referencing columns), or the column a column constraint is written on.
#[derive(Debug, Clone)]
pub struct WrittenConstraint<'a> {
    pub constraint: &'a protobuf::Constraint,
    pub columns: Vec<String>,
}

impl WrittenConstraint<'_> {
    pub fn kind(&self) -> protobuf::ConstrType {
        constr_type(self.constraint)
    }
}

fn written<'a>(c: &'a protobuf::Constraint, column: Option<&str>) -> WrittenConstraint<'a> {
    let keys = if constr_type(c) == protobuf::ConstrType::ConstrForeign { &c.fk_attrs } else { &c.keys };
    let columns = match column {
        Some(col) => vec![col.to_string()],
        None => names(keys),
    };
    WrittenConstraint { constraint: c, columns }
}

/// Every constraint of a `CREATE TABLE`: table constraints and column constraints.
pub fn create_constraints(stmt: &protobuf::CreateStmt) -> Vec<WrittenConstraint<'_>> {
    let mut out = Vec::new();
    for elt in stmt.table_elts.iter().chain(&stmt.constraints) {
        match elt.node.as_ref() {
            Some(NodeEnum::Constraint(c)) => out.push(written(c, None)),
            Some(NodeEnum::ColumnDef(col)) => {
                out.extend(column_constraints(col).map(|c| written(c, Some(&col.colname))));
            }
            _ => {}
        }
    }
    out
}

/// The constraints an `ALTER TABLE` adds: `ADD CONSTRAINT`, and those of `ADD COLUMN`.
pub fn alter_constraints(stmt: &protobuf::AlterTableStmt) -> Vec<WrittenConstraint<'_>> {
    let mut out = Vec::new();
    for cmd in alter_cmds(stmt) {
        if let Some(c) = added_constraint(cmd) {
            out.push(written(c, None));
        } else if let Some(col) = added_column(cmd) {
            out.extend(column_constraints(col).map(|c| written(c, Some(&col.colname))));
        }
    }
    out
}

/// The column definitions of a `CREATE TABLE`.
pub fn create_columns(stmt: &protobuf::CreateStmt) -> impl Iterator<Item = &protobuf::ColumnDef> {
    stmt.table_elts.iter().filter_map(|n| match n.node.as_ref()? {
        NodeEnum::ColumnDef(c) => Some(c.as_ref()),
        _ => None,
    })
}

/// The key columns of an index, in order, up to the first expression.
pub fn index_columns(stmt: &protobuf::IndexStmt) -> Vec<String> {
    stmt.index_params
        .iter()
        .map_while(|n| match n.node.as_ref()? {
            NodeEnum::IndexElem(e) if !e.name.is_empty() => Some(e.name.clone()),
            _ => None,
        })
        .collect()
}

/// Splits an identifier into lower-case words at `_` and at lower-to-upper case changes
/// (`unitPrice` and `unit_price` are both `unit`, `price`).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(['_', '-', ' ']) {
        let mut word = String::new();
        let mut previous_lower = false;
        for c in part.chars() {
            if c.is_uppercase() && previous_lower && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}
