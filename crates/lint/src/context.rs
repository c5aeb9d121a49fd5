//! What the history has done before the statement being checked, and what the database
//! holds. Rules read it; `observe` moves it past each statement.

use std::collections::BTreeSet;

use cutover_schema::Catalog;
use pg_query::NodeEnum;
use pg_query::protobuf::{TransactionStmtKind, VariableSetKind};

use crate::LintOptions;
use crate::ast::{TableName, string};
use crate::diagnostic::Span;

/// Rows up to which a table counts as small: a lock on it is brief (the planner's threshold).
pub const SMALL_TABLE_ROWS: u64 = cutover_plan::planner::SMALL_TABLE_ROWS;

pub struct Ctx<'a> {
    pub pg_version: u32,
    pub assume_in_transaction: bool,
    pub database: Option<&'a Catalog>,
    /// The naming conventions new names are checked against (`naming-convention`).
    pub naming: crate::naming::Conventions,
    /// Tables created earlier in this history (qualified names).
    created: BTreeSet<String>,
    /// The keys the history gave tables so far (all files): the columns of each primary key,
    /// unique constraint and plain btree index, in order (`foreign-key-without-index`).
    pub keys: Vec<(TableName, Vec<String>)>,
    /// `SET lock_timeout` / `SET statement_timeout` in effect (session or current transaction).
    lock_timeout: Timeout,
    statement_timeout: Timeout,
    /// Explicit `BEGIN` nesting: 0 outside, 1 inside; more is a (PostgreSQL-ignored) nested BEGIN.
    pub transaction_depth: u32,
    /// Tables a statement in the current explicit transaction locked against writes.
    pub locked_in_transaction: Vec<String>,
    /// The statements of the current file before this one. Rules may look back through it,
    /// but only once the current statement is a candidate (scanning it for every statement
    /// would make linting quadratic).
    pub previous: Vec<NodeEnum>,
    /// Where each of `previous` is in the file, for findings made at the end of a file
    /// about an earlier statement.
    pub previous_spans: Vec<Span>,
    /// Positions in `previous` of the `ALTER TABLE`s of each table (qualified name), so rules
    /// that need a table's earlier changes do not scan the whole file.
    alters: std::collections::HashMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timeout {
    session: bool,
    local: bool,
}

impl Timeout {
    fn set(&self) -> bool {
        self.session || self.local
    }
}

impl<'a> Ctx<'a> {
    pub fn new(options: &'a LintOptions) -> Ctx<'a> {
        Ctx {
            pg_version: options.pg_version,
            assume_in_transaction: options.assume_in_transaction,
            database: options.database.as_ref(),
            naming: crate::naming::Conventions::new(&options.rules.naming, options.database.as_ref()),
            created: BTreeSet::new(),
            keys: Vec::new(),
            lock_timeout: Timeout::default(),
            statement_timeout: Timeout::default(),
            transaction_depth: 0,
            locked_in_transaction: Vec::new(),
            previous: Vec::new(),
            previous_spans: Vec::new(),
            alters: std::collections::HashMap::new(),
        }
    }

    /// A new file of the history: session settings carry over only when the runner uses one
    /// session for the whole history, which we do not assume.
    pub fn start_file(&mut self) {
        self.lock_timeout = Timeout::default();
        self.statement_timeout = Timeout::default();
        self.transaction_depth = 0;
        self.locked_in_transaction.clear();
        self.previous.clear();
        self.previous_spans.clear();
        self.alters.clear();
    }

    /// Whether statements run inside a transaction block (explicit, or the runner's).
    pub fn in_transaction(&self) -> bool {
        self.transaction_depth > 0 || self.assume_in_transaction
    }

    pub fn lock_timeout_set(&self) -> bool {
        self.lock_timeout.set()
    }

    pub fn statement_timeout_set(&self) -> bool {
        self.statement_timeout.set()
    }

    /// The table was created earlier in this history, so it is new and empty when this runs.
    pub fn is_new_table(&self, table: &TableName) -> bool {
        self.created.contains(&table.qualified())
    }

    /// Row estimate from the live database, when one was given and has the table.
    pub fn table_rows(&self, table: &TableName) -> Option<u64> {
        let db = self.database?;
        let key = table.qual_name();
        db.facts.tables.get(&key).and_then(|f| f.rows)
    }

    /// Known to be small (from the live database) or new in this history.
    pub fn is_small(&self, table: &TableName) -> bool {
        self.is_new_table(table) || self.table_rows(table).is_some_and(|r| r <= SMALL_TABLE_ROWS)
    }

    /// The table exists in the live database (None without one).
    pub fn table_exists(&self, table: &TableName) -> Option<bool> {
        let db = self.database?;
        let key = table.qual_name();
        Some(db.tables.contains_key(&key))
    }

    /// Moves past a statement.
    pub fn observe(&mut self, node: &NodeEnum, span: Span) {
        self.keys.extend(keys_of(node));
        match node {
            NodeEnum::CreateStmt(s) => {
                if let Some(rv) = &s.relation {
                    self.created.insert(TableName::of(rv).qualified());
                }
            }
            NodeEnum::CreateTableAsStmt(s) => {
                if let Some(rv) = s.into.as_ref().and_then(|i| i.rel.as_ref()) {
                    self.created.insert(TableName::of(rv).qualified());
                }
            }
            NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
                Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => {
                    self.transaction_depth += 1;
                }
                Ok(
                    TransactionStmtKind::TransStmtCommit
                    | TransactionStmtKind::TransStmtRollback
                    | TransactionStmtKind::TransStmtPrepare,
                ) => {
                    self.transaction_depth = 0;
                    self.lock_timeout.local = false;
                    self.statement_timeout.local = false;
                    self.locked_in_transaction.clear();
                }
                _ => {}
            },
            NodeEnum::SelectStmt(select) => {
                // `SELECT set_config('lock_timeout', '5s', false)` sets it like SET does.
                for (name, value, local) in select.target_list.iter().filter_map(set_config_call) {
                    let target = match name {
                        "lock_timeout" => &mut self.lock_timeout,
                        "statement_timeout" => &mut self.statement_timeout,
                        _ => continue,
                    };
                    let on = !is_zero(value);
                    if local {
                        target.local = on;
                    } else {
                        target.session = on;
                        target.local = false;
                    }
                }
            }
            NodeEnum::VariableSetStmt(v) => {
                let target = match v.name.as_str() {
                    "lock_timeout" => &mut self.lock_timeout,
                    "statement_timeout" => &mut self.statement_timeout,
                    _ => return,
                };
                let kind = VariableSetKind::try_from(v.kind).unwrap_or(VariableSetKind::Undefined);
                let on = match kind {
                    VariableSetKind::VarSetValue => !v.args.iter().all(is_zero),
                    _ => false,
                };
                if v.is_local {
                    target.local = on;
                } else {
                    target.session = on;
                    target.local = false;
                }
            }
            _ => {}
        }
        if self.in_transaction()
            && let Some(table) = locks_against_writes(node)
        {
            self.locked_in_transaction.push(table.qualified());
        }
        if let NodeEnum::AlterTableStmt(alter) = node
            && let Some(rv) = &alter.relation
        {
            self.alters.entry(TableName::of(rv).qualified()).or_default().push(self.previous.len());
        }
        self.previous.push(node.clone());
        self.previous_spans.push(span);
    }
}

/// The keys a statement gives tables: primary keys and unique constraints (of `CREATE TABLE`
/// and `ALTER TABLE`), and btree indexes without a `WHERE` (up to their first expression).
fn keys_of(node: &NodeEnum) -> Vec<(TableName, Vec<String>)> {
    use pg_query::protobuf::ConstrType;
    let (table, constraints) = match node {
        NodeEnum::CreateStmt(s) => match &s.relation {
            Some(rv) => (TableName::of(rv), crate::ast::create_constraints(s)),
            None => return Vec::new(),
        },
        NodeEnum::AlterTableStmt(s) => match &s.relation {
            Some(rv) => (TableName::of(rv), crate::ast::alter_constraints(s)),
            None => return Vec::new(),
        },
        NodeEnum::IndexStmt(s) => {
            let btree = s.access_method.is_empty() || s.access_method == "btree";
            return match &s.relation {
                Some(rv) if btree && s.where_clause.is_none() => {
                    vec![(TableName::of(rv), crate::ast::index_columns(s))]
                }
                _ => Vec::new(),
            };
        }
        _ => return Vec::new(),
    };
    constraints
        .into_iter()
        .filter(|c| matches!(c.kind(), ConstrType::ConstrPrimary | ConstrType::ConstrUnique))
        .filter(|c| !c.columns.is_empty())
        .map(|c| (table.clone(), c.columns))
        .collect()
}

/// The table a statement locks against writes (SHARE or stronger) until its transaction ends.
pub fn locks_against_writes(node: &NodeEnum) -> Option<TableName> {
    match node {
        NodeEnum::AlterTableStmt(s) => s.relation.as_ref().map(TableName::of),
        NodeEnum::IndexStmt(s) if !s.concurrent => s.relation.as_ref().map(TableName::of),
        NodeEnum::RenameStmt(s) => s.relation.as_ref().map(TableName::of),
        NodeEnum::TruncateStmt(s) => s.relations.iter().find_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(rv) => Some(TableName::of(rv)),
            _ => None,
        }),
        _ => None,
    }
}

/// `0`, `'0'`, `'0ms'`: the timeout is off.
/// `set_config(name, value, is_local)` in a SELECT list, with constant arguments: (name,
/// value, is_local).
fn set_config_call(target: &pg_query::protobuf::Node) -> Option<(&str, &pg_query::protobuf::Node, bool)> {
    let Some(NodeEnum::ResTarget(res)) = target.node.as_ref() else { return None };
    let Some(NodeEnum::FuncCall(call)) = res.val.as_ref()?.node.as_ref() else { return None };
    let name = call.funcname.last().and_then(string)?;
    if name != "set_config" || call.args.len() != 3 {
        return None;
    }
    let setting = match call.args[0].node.as_ref() {
        Some(NodeEnum::AConst(c)) => match c.val.as_ref() {
            Some(pg_query::protobuf::a_const::Val::Sval(s)) => s.sval.as_str(),
            _ => return None,
        },
        _ => return None,
    };
    let local = match call.args[2].node.as_ref() {
        Some(NodeEnum::AConst(c)) => match c.val.as_ref() {
            Some(pg_query::protobuf::a_const::Val::Boolval(b)) => b.boolval,
            Some(pg_query::protobuf::a_const::Val::Sval(s)) => matches!(s.sval.as_str(), "t" | "true" | "on"),
            _ => return None,
        },
        _ => return None,
    };
    Some((setting, &call.args[1], local))
}

fn is_zero(node: &pg_query::protobuf::Node) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::AConst(c)) => match c.val.as_ref() {
            Some(pg_query::protobuf::a_const::Val::Ival(i)) => i.ival == 0,
            Some(pg_query::protobuf::a_const::Val::Sval(s)) => {
                s.sval.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim() == "0"
            }
            _ => false,
        },
        _ => string(node) == Some("0"),
    }
}

/// History look-ups for rules whose statement is already a candidate (they scan `previous`).
impl Ctx<'_> {
    /// Index in `previous` of the last transaction-control statement that opens or ends a
    /// transaction (BEGIN/START, COMMIT, ROLLBACK, PREPARE TRANSACTION), with its kind.
    fn last_boundary(&self) -> Option<(usize, TransactionStmtKind)> {
        self.previous.iter().enumerate().rev().find_map(|(i, n)| match n {
            NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind) {
                Ok(
                    k @ (TransactionStmtKind::TransStmtBegin
                    | TransactionStmtKind::TransStmtStart
                    | TransactionStmtKind::TransStmtCommit
                    | TransactionStmtKind::TransStmtRollback
                    | TransactionStmtKind::TransStmtPrepare),
                ) => Some((i, k)),
                _ => None,
            },
            _ => None,
        })
    }

    /// Whether the statement runs inside a transaction block: after a BEGIN, or under the
    /// runner's transaction (`assume_in_transaction`) unless a COMMIT/ROLLBACK ended it.
    pub fn in_transaction_block(&self) -> bool {
        match self.last_boundary() {
            Some((_, TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart)) => true,
            Some(_) => false,
            None => self.assume_in_transaction,
        }
    }

    /// The earlier `ALTER TABLE`s of `table` in this file, oldest first.
    pub fn alters_of(&self, table: &TableName) -> impl DoubleEndedIterator<Item = &pg_query::protobuf::AlterTableStmt> {
        self.alters.get(&table.qualified()).into_iter().flatten().filter_map(|&i| match &self.previous[i] {
            NodeEnum::AlterTableStmt(alter) => Some(alter),
            _ => None,
        })
    }

    /// The earlier statements of the transaction this statement runs in (empty in autocommit).
    pub fn transaction_so_far(&self) -> &[NodeEnum] {
        if !self.in_transaction_block() {
            return &[];
        }
        match self.last_boundary() {
            Some((i, _)) => &self.previous[i + 1..],
            None => &self.previous,
        }
    }

    /// An earlier statement of this file was a DDL statement (`ast::is_ddl`) that ran before
    /// any `SET {setting}` — the timeout rules report only the first such statement.
    pub fn ddl_ran_before_set(&self, setting: &str) -> bool {
        for node in &self.previous {
            if let NodeEnum::VariableSetStmt(v) = node
                && v.name == setting
                && VariableSetKind::try_from(v.kind) == Ok(VariableSetKind::VarSetValue)
            {
                return false;
            }
            if let NodeEnum::SelectStmt(select) = node
                && select.target_list.iter().filter_map(set_config_call).any(|(name, _, _)| name == setting)
            {
                return false;
            }
            if crate::ast::is_ddl(node) {
                return true;
            }
        }
        false
    }

    /// The table an index created earlier in this file belongs to.
    pub fn created_index_table(&self, index: &str) -> Option<TableName> {
        self.previous.iter().rev().find_map(|n| match n {
            NodeEnum::IndexStmt(s) if s.idxname == index => s.relation.as_ref().map(TableName::of),
            _ => None,
        })
    }
}
