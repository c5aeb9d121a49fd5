//! The same column assigned, listed or defined twice in one statement, which PostgreSQL rejects.

use pg_query::NodeEnum;
use pg_query::protobuf::{self, CmdType, MinMaxOp, Node, SqlValueFunctionOp, SubLinkType};

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::string;
use crate::context::Ctx;
use crate::diagnostic::{Severity, Span};

pub struct DuplicateColumnAssignment;

static INFO: RuleInfo = RuleInfo {
    code: "duplicate-column-assignment",
    severity: Severity::Error,
    summary: "A column assigned, listed or defined twice in one statement makes PostgreSQL reject it.",
    help: "Keep one entry for the column.",
    docs: Docs {
        what: "Flags a column that appears twice in `UPDATE ... SET`, `INSERT` / `MERGE ... INSERT` column lists, `ON CONFLICT DO UPDATE SET`, `MERGE ... UPDATE SET`, the columns of `CREATE [FOREIGN] TABLE`, the column list or output names of `CREATE VIEW`, and the output names of `SELECT ... INTO` / `CREATE TABLE ... AS`. Names are compared as PostgreSQL sees them: case-folded, unquoted and truncated to 63 bytes. Assignments to different fields or elements of one column (`a.x` and `a.y`, `a[1]` and `a[2]`) are fine; output expressions without a name all count as `?column?`, as in PostgreSQL.",
        why: "PostgreSQL rejects these statements (`multiple assignments to same column`, `column specified more than once`), so the migration fails at this point, after earlier statements may already have run. Duplicate SET entries are also a common copy-paste slip where the intended second column never gets its value.",
        example: "UPDATE users SET email = lower(email), email = trim(email);",
        instead: "UPDATE users SET email = lower(trim(email));",
    },
};

/// A name with where it is written (byte offset in the statement, -1 when unknown) and its
/// field/subscript path (`None` when it cannot be compared).
struct Entry {
    name: String,
    path: Option<String>,
    location: i32,
}

impl Rule for DuplicateColumnAssignment {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        // (entries, verb, statement kind)
        let mut lists: Vec<(Vec<Entry>, &str, &str)> = Vec::new();
        match stmt.node {
            NodeEnum::UpdateStmt(s) => lists.push((targets(&s.target_list), "assigned", "UPDATE")),
            NodeEnum::InsertStmt(s) => {
                lists.push((targets(&s.cols), "listed", "INSERT"));
                if let Some(oc) = &s.on_conflict_clause {
                    lists.push((targets(&oc.target_list), "assigned", "ON CONFLICT DO UPDATE"));
                }
            }
            NodeEnum::MergeStmt(s) => {
                for clause in &s.merge_when_clauses {
                    let Some(NodeEnum::MergeWhenClause(c)) = clause.node.as_ref() else { continue };
                    match CmdType::try_from(c.command_type) {
                        Ok(CmdType::CmdUpdate) => lists.push((targets(&c.target_list), "assigned", "MERGE ... UPDATE")),
                        Ok(CmdType::CmdInsert) => lists.push((targets(&c.target_list), "listed", "MERGE ... INSERT")),
                        _ => {}
                    }
                }
            }
            NodeEnum::CreateStmt(s) => lists.push((columns(s), "defined", "CREATE TABLE")),
            NodeEnum::CreateForeignTableStmt(s) => {
                if let Some(base) = &s.base_stmt {
                    lists.push((columns(base), "defined", "CREATE FOREIGN TABLE"));
                }
            }
            NodeEnum::ViewStmt(s) => {
                let entries = if s.aliases.is_empty() {
                    s.query.as_deref().map(output_names).unwrap_or_default()
                } else {
                    plain(&s.aliases, &[])
                };
                lists.push((entries, "defined", "CREATE VIEW"));
            }
            NodeEnum::SelectStmt(s) if s.into_clause.is_some() => {
                let into = s.into_clause.as_deref().map_or(&[][..], |i| i.col_names.as_slice());
                let names = select_output(s);
                lists.push((plain(into, &names), "defined", "SELECT ... INTO"));
            }
            NodeEnum::CreateTableAsStmt(s) => {
                let into = s.into.as_deref().map_or(&[][..], |i| i.col_names.as_slice());
                let names = s.query.as_deref().map(output_names).unwrap_or_default();
                lists.push((plain(into, &names), "defined", "CREATE TABLE ... AS"));
            }
            _ => {}
        }
        for (entries, verb, kind) in lists {
            for (j, later) in entries.iter().enumerate() {
                let clash = entries[..j].iter().any(|earlier| {
                    earlier.name == later.name
                        && match (&earlier.path, &later.path) {
                            (Some(a), Some(b)) => a.is_empty() || b.is_empty() || a == b,
                            (Some(a), None) | (None, Some(a)) => a.is_empty(),
                            (None, None) => false,
                        }
                });
                if !clash {
                    continue;
                }
                let mut finding =
                    Finding::new(format!("Column {} is {verb} more than once in this {kind}.", later.name))
                        .help(format!("Keep one entry for {}.", later.name));
                if later.location >= 0 {
                    let start = stmt.span.start + later.location as usize;
                    let end = (start + later.name.len()).min(stmt.span.end);
                    finding.span = Some(Span { start, end: end.max(start) });
                }
                out.push(finding);
            }
        }
    }
}

/// `ResTarget`s of SET lists and column lists: name plus field/subscript path.
fn targets(list: &[Node]) -> Vec<Entry> {
    list.iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::ResTarget(t) => {
                Some(Entry { name: t.name.clone(), path: path(&t.indirection), location: t.location })
            }
            _ => None,
        })
        .collect()
}

fn columns(stmt: &protobuf::CreateStmt) -> Vec<Entry> {
    stmt.table_elts
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::ColumnDef(c) => {
                Some(Entry { name: c.colname.clone(), path: Some(String::new()), location: c.location })
            }
            _ => None,
        })
        .collect()
}

/// Explicit names (`String` nodes) overriding the first output names; the rest as computed.
fn plain(names: &[Node], rest: &[Entry]) -> Vec<Entry> {
    let mut out: Vec<Entry> = names
        .iter()
        .filter_map(string)
        .map(|n| Entry { name: n.to_string(), path: Some(String::new()), location: -1 })
        .collect();
    let skip = out.len();
    out.extend(rest.iter().skip(skip).map(|e| Entry {
        name: e.name.clone(),
        path: e.path.clone(),
        location: e.location,
    }));
    out
}

/// `.field` / `[n]` path of an assignment target; `None` for subscripts that are not constants.
fn path(indirection: &[Node]) -> Option<String> {
    let mut s = String::new();
    for n in indirection {
        match n.node.as_ref()? {
            NodeEnum::String(f) => {
                s.push('.');
                s.push_str(&f.sval);
            }
            NodeEnum::AIndices(i) => {
                s.push('[');
                if let Some(l) = &i.lidx {
                    s.push_str(&constant(l)?);
                }
                if i.is_slice {
                    s.push(':');
                }
                if let Some(u) = &i.uidx {
                    s.push_str(&constant(u)?);
                }
                s.push(']');
            }
            _ => return None,
        }
    }
    Some(s)
}

fn constant(node: &Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            protobuf::a_const::Val::Ival(i) => Some(i.ival.to_string()),
            protobuf::a_const::Val::Sval(s) => Some(format!("'{}'", s.sval)),
            _ => None,
        },
        _ => None,
    }
}

/// The output column names of a query, as PostgreSQL names them.
fn output_names(query: &Node) -> Vec<Entry> {
    match query.node.as_ref() {
        Some(NodeEnum::SelectStmt(s)) => select_output(s),
        _ => Vec::new(),
    }
}

fn select_output(s: &protobuf::SelectStmt) -> Vec<Entry> {
    if let Some(left) = s.larg.as_deref() {
        return select_output(left);
    }
    s.target_list
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::ResTarget(t) => {
                let val = t.val.as_deref();
                if val.is_some_and(is_star) {
                    return None;
                }
                let name = if t.name.is_empty() {
                    val.and_then(|v| figure(v).map(|(n, _)| n)).unwrap_or_else(|| "?column?".to_string())
                } else {
                    t.name.clone()
                };
                Some(Entry { name, path: Some(String::new()), location: t.location })
            }
            _ => None,
        })
        .collect()
}

fn is_star(node: &Node) -> bool {
    matches!(node.node.as_ref(), Some(NodeEnum::ColumnRef(c)) if matches!(c.fields.last().and_then(|f| f.node.as_ref()), Some(NodeEnum::AStar(_))))
}

/// PostgreSQL's FigureColname: the name of an unnamed output expression and its strength
/// (2 = a real name, 1 = a fallback such as a type name or `case`); `None` is `?column?`.
fn figure(node: &Node) -> Option<(String, u8)> {
    let strong = |s: &str| Some((s.to_string(), 2));
    match node.node.as_ref()? {
        NodeEnum::ColumnRef(c) => c.fields.last().and_then(string).and_then(strong),
        NodeEnum::AIndirection(i) => match i.indirection.iter().rev().find_map(string) {
            Some(name) => strong(name),
            None => i.arg.as_deref().and_then(figure),
        },
        NodeEnum::FuncCall(f) => f.funcname.last().and_then(string).and_then(strong),
        NodeEnum::AExpr(e) if e.kind == protobuf::AExprKind::AexprNullif as i32 => strong("nullif"),
        NodeEnum::TypeCast(t) => match t.arg.as_deref().and_then(figure) {
            Some((name, 2)) => Some((name, 2)),
            _ => t.type_name.as_ref().and_then(|tn| tn.names.last()).and_then(string).map(|n| (n.to_string(), 1)),
        },
        NodeEnum::CollateClause(c) => c.arg.as_deref().and_then(figure),
        NodeEnum::GroupingFunc(_) => strong("grouping"),
        NodeEnum::MergeSupportFunc(_) => strong("merge_action"),
        NodeEnum::SubLink(s) => match SubLinkType::try_from(s.sub_link_type) {
            Ok(SubLinkType::ExistsSublink) => strong("exists"),
            Ok(SubLinkType::ArraySublink) => strong("array"),
            Ok(SubLinkType::ExprSublink | SubLinkType::MultiexprSublink) => s
                .subselect
                .as_deref()
                .map(output_names)
                .and_then(|names| names.into_iter().next())
                .filter(|e| e.name != "?column?")
                .map(|e| (e.name, 2)),
            _ => None,
        },
        NodeEnum::CaseExpr(c) => match c.defresult.as_deref().and_then(figure) {
            Some((name, 2)) => Some((name, 2)),
            _ => Some(("case".to_string(), 1)),
        },
        NodeEnum::AArrayExpr(_) => strong("array"),
        NodeEnum::RowExpr(_) => strong("row"),
        NodeEnum::CoalesceExpr(_) => strong("coalesce"),
        NodeEnum::MinMaxExpr(m) => match MinMaxOp::try_from(m.op) {
            Ok(MinMaxOp::IsGreatest) => strong("greatest"),
            Ok(MinMaxOp::IsLeast) => strong("least"),
            _ => None,
        },
        NodeEnum::SqlvalueFunction(f) => {
            let op = SqlValueFunctionOp::try_from(f.op).ok()?;
            let name = op.as_str_name().to_ascii_lowercase();
            let name = name.strip_prefix("svfop_").unwrap_or(&name);
            strong(name.strip_suffix("_n").unwrap_or(name))
        }
        NodeEnum::XmlSerialize(_) => strong("xmlserialize"),
        NodeEnum::JsonObjectConstructor(_) => strong("json_object"),
        NodeEnum::JsonArrayConstructor(_) | NodeEnum::JsonArrayQueryConstructor(_) => strong("json_array"),
        NodeEnum::JsonObjectAgg(_) => strong("json_objectagg"),
        NodeEnum::JsonArrayAgg(_) => strong("json_arrayagg"),
        NodeEnum::JsonParseExpr(_) => strong("json"),
        NodeEnum::JsonScalarExpr(_) => strong("json_scalar"),
        NodeEnum::JsonSerializeExpr(_) => strong("json_serialize"),
        _ => None,
    }
}
