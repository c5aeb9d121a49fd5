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

/// Every function called anywhere under `node` (last name component, lowercase).
pub fn called_functions(node: &NodeEnum) -> Vec<String> {
    let mut out = Vec::new();
    for (n, _, _, _) in node.nodes() {
        if let pg_query::NodeRef::FuncCall(f) = n
            && let Some(name) = f.funcname.iter().filter_map(string).next_back()
        {
            out.push(name.to_ascii_lowercase());
        }
        if let pg_query::NodeRef::SqlvalueFunction(_) = n {
            out.push("current_timestamp".into());
        }
    }
    out
}
