//! Typed DDL statements and their rendering.
//!
//! Every statement Cutover emits is a [`Stmt`]; `Display` renders it as one executable
//! statement without the terminating semicolon. Texts that came from the server's own
//! deparsers (expressions, index and constraint definitions, view queries, routine
//! definitions) are embedded as they are; every name is quoted by [`crate::quote`].

use crate::bound::Bound;
use crate::quote::{ident, literal, qualified};
use cutover_schema::{
    Collation, Column, Constraint, ForeignKey, ForeignKeyAction, FunctionId, Grant, Grantee, Identity, Index, IndexKey,
    MatchType, PartitionBound, Policy, QualName, RoutineKind, SequenceOptions, Table, TypeKind, View,
};
use std::fmt::{self, Display, Formatter, Write};

/// One DDL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    CreateSchema {
        name: String,
    },
    DropSchema {
        name: String,
    },
    CreateExtension {
        name: String,
        schema: String,
        version: Option<String>,
    },
    AlterExtensionUpdate {
        name: String,
        version: String,
    },
    DropExtension {
        name: String,
    },
    CreateCollation {
        name: QualName,
        collation: Collation,
    },
    DropCollation {
        name: QualName,
    },
    /// `definition` is the statement as `pg_get_statisticsobjdef` printed it (identifiers
    /// quoted by the server).
    CreateStatistics {
        name: QualName,
        definition: String,
    },
    DropStatistics {
        name: QualName,
    },
    /// `ALTER STATISTICS ... SET STATISTICS n`; `None` restores the default (-1).
    SetStatisticsTarget {
        name: QualName,
        target: Option<i32>,
    },
    CreateType {
        name: QualName,
        kind: TypeKind,
    },
    DropType {
        name: QualName,
        domain: bool,
    },
    RenameType {
        name: QualName,
        new_name: String,
        domain: bool,
    },
    AddEnumValue {
        name: QualName,
        value: String,
        position: Option<EnumPosition>,
    },
    AlterDomain {
        name: QualName,
        action: DomainAction,
    },
    AlterComposite {
        name: QualName,
        action: CompositeAction,
    },
    CreateSequence {
        name: QualName,
        data_type: String,
        options: SequenceOptions,
        unlogged: bool,
    },
    AlterSequence {
        name: QualName,
        data_type: Option<String>,
        options: SequenceOptions,
        changed: SequenceChanges,
    },
    SetSequenceOwner {
        name: QualName,
        owner: Option<(QualName, String)>,
    },
    DropSequence {
        name: QualName,
    },
    CreateTable {
        name: QualName,
        table: Box<Table>,
    },
    DropTable {
        name: QualName,
    },
    AlterTable {
        name: QualName,
        action: TableAction,
    },
    /// `name` is unqualified: an index lives in its table's schema.
    CreateIndex {
        name: String,
        table: QualName,
        index: Box<Index>,
        concurrently: bool,
    },
    DropIndex {
        name: QualName,
        concurrently: bool,
    },
    CreateView {
        name: QualName,
        view: Box<View>,
    },
    DropView {
        name: QualName,
        materialized: bool,
    },
    RefreshMaterializedView {
        name: QualName,
    },
    CreateFunction {
        definition: String,
    },
    DropFunction {
        id: FunctionId,
        kind: RoutineKind,
    },
    /// `definition` is the statement as `pg_get_triggerdef` printed it, emitted whole;
    /// `table` is the table it is on (from `pg_trigger.tgrelid`), for the planner.
    CreateTrigger {
        table: QualName,
        definition: String,
    },
    DropTrigger {
        table: QualName,
        name: String,
    },
    CreatePolicy {
        table: QualName,
        name: String,
        policy: Policy,
    },
    AlterPolicy {
        table: QualName,
        name: String,
        policy: Policy,
    },
    DropPolicy {
        table: QualName,
        name: String,
    },
    Comment {
        target: Target,
        text: Option<String>,
    },
    Grant {
        target: Target,
        grant: Grant,
    },
    /// `grant_option_only`: `REVOKE GRANT OPTION FOR`, keeping the privilege itself.
    Revoke {
        target: Target,
        grant: Grant,
        grant_option_only: bool,
    },
    RenameIndex {
        name: QualName,
        new_name: String,
    },
    /// A view with the old name of a renamed table, so the running application keeps
    /// working through it (simple views are updatable).
    CreateCompatibilityView {
        name: QualName,
        table: QualName,
    },
    RenameConstraint {
        table: QualName,
        name: String,
        new_name: String,
    },
    RenameSequence {
        name: QualName,
        new_name: String,
    },
    RenameEnumValue {
        name: QualName,
        from: String,
        to: String,
    },
    /// One batch of a backfill: fills `column` from `expression` in up to `batch_size` rows
    /// where it is still NULL. Repeated until it changes no row.
    BackfillBatch {
        table: QualName,
        column: String,
        expression: String,
        batch_size: u64,
        /// Only rows where this also holds (e.g. the source column is not NULL).
        only_where: Option<String>,
    },
    /// A trigger function that keeps two columns of a row in step during an expand/contract
    /// change: `target` is set from `forward` (an expression over `NEW.source`); with
    /// `reverse`, writes that only set `target` also set `source`.
    CreateSyncFunction {
        name: QualName,
        source: String,
        target: String,
        forward: String,
        reverse: Option<String>,
    },
    /// `CREATE TRIGGER name BEFORE INSERT OR UPDATE ON table FOR EACH ROW EXECUTE FUNCTION function()`.
    CreateRowTrigger {
        name: String,
        table: QualName,
        function: QualName,
    },
    SetCheckFunctionBodies {
        on: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnumPosition {
    Before(String),
    After(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainAction {
    SetDefault(String),
    DropDefault,
    SetNotNull,
    DropNotNull,
    AddConstraint { name: String, definition: String, not_valid: bool },
    DropConstraint { name: String },
    ValidateConstraint { name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompositeAction {
    AddAttribute { name: String, data_type: String, collation: Option<QualName> },
    DropAttribute { name: String },
    AlterAttributeType { name: String, data_type: String, collation: Option<QualName> },
}

/// Which sequence options an `ALTER SEQUENCE` sets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SequenceChanges {
    pub start: bool,
    pub increment: bool,
    pub min_value: bool,
    pub max_value: bool,
    pub cache: bool,
    pub cycle: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableAction {
    AddColumn(Box<Column>),
    DropColumn {
        column: String,
    },
    AlterColumnType {
        column: String,
        data_type: String,
        collation: Option<QualName>,
        /// `USING column::data_type` (or through text); `None` for no `USING`.
        using: Option<Conversion>,
    },
    SetDefault {
        column: String,
        expression: String,
    },
    DropDefault {
        column: String,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    AddIdentity {
        column: String,
        identity: Identity,
        data_type: String,
    },
    /// Changes an identity's generation (when `always` is set) and the options `changed` marks.
    SetIdentity {
        column: String,
        always: Option<bool>,
        options: SequenceOptions,
        changed: SequenceChanges,
    },
    DropIdentity {
        column: String,
    },
    SetExpression {
        column: String,
        expression: String,
    },
    DropExpression {
        column: String,
    },
    SetLogged,
    SetUnlogged,
    SetOptions(Vec<String>),
    ResetOptions(Vec<String>),
    Inherit {
        parent: QualName,
    },
    NoInherit {
        parent: QualName,
    },
    AttachPartition {
        partition: QualName,
        bound: PartitionBound,
    },
    DetachPartition {
        partition: QualName,
        concurrently: bool,
    },
    RowLevelSecurity {
        enable: bool,
    },
    ForceRowLevelSecurity {
        force: bool,
    },
    AddConstraint {
        name: String,
        definition: String,
        not_valid: bool,
    },
    DropConstraint {
        name: String,
    },
    ValidateConstraint {
        name: String,
    },
    RenameTo {
        new_name: String,
    },
    RenameColumn {
        column: String,
        new_name: String,
    },
    /// `ADD CONSTRAINT name PRIMARY KEY|UNIQUE USING INDEX index [DEFERRABLE] [INITIALLY DEFERRED]`.
    AddConstraintUsingIndex {
        name: String,
        primary_key: bool,
        index: String,
        deferrable: bool,
        initially_deferred: bool,
    },
    SetTriggerEnabled {
        trigger: String,
        enabled: char,
    },
}

/// How `ALTER COLUMN ... TYPE` converts a value to the new type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// A plain cast: `value::data_type`.
    Cast,
    /// Through text (I/O conversion, which every type has), for types with no cast between
    /// them such as an enum replaced under the same name: `value::text::data_type`.
    ThroughText,
}

impl Conversion {
    /// The conversion applied to the expression `value` (which is parenthesized).
    pub fn apply(self, value: &str, data_type: &str) -> String {
        match self {
            Conversion::Cast => format!("({value})::{data_type}"),
            Conversion::ThroughText => format!("({value})::text::{data_type}"),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Conversion::Cast => "::",
            Conversion::ThroughText => "::text::",
        }
    }
}

/// An object that a comment or a grant is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Schema(String),
    Extension(String),
    Collation(QualName),
    Statistics(QualName),
    Type(QualName),
    Domain(QualName),
    Sequence(QualName),
    Table(QualName),
    Column(QualName, String),
    Constraint(QualName, String),
    DomainConstraint(QualName, String),
    Index(QualName),
    View(QualName),
    MaterializedView(QualName),
    Routine(FunctionId, RoutineKind),
    Trigger(QualName, String),
    Policy(QualName, String),
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Target::Schema(n) => write!(f, "SCHEMA {}", ident(n)),
            Target::Extension(n) => write!(f, "EXTENSION {}", ident(n)),
            Target::Collation(n) => write!(f, "COLLATION {}", qualified(n)),
            Target::Statistics(n) => write!(f, "STATISTICS {}", qualified(n)),
            Target::Type(n) => write!(f, "TYPE {}", qualified(n)),
            Target::Domain(n) => write!(f, "DOMAIN {}", qualified(n)),
            Target::Sequence(n) => write!(f, "SEQUENCE {}", qualified(n)),
            Target::Table(n) => write!(f, "TABLE {}", qualified(n)),
            Target::Column(t, c) => write!(f, "COLUMN {}.{}", qualified(t), ident(c)),
            Target::Constraint(t, c) => write!(f, "CONSTRAINT {} ON {}", ident(c), qualified(t)),
            Target::DomainConstraint(d, c) => write!(f, "CONSTRAINT {} ON DOMAIN {}", ident(c), qualified(d)),
            Target::Index(n) => write!(f, "INDEX {}", qualified(n)),
            Target::View(n) => write!(f, "VIEW {}", qualified(n)),
            Target::MaterializedView(n) => write!(f, "MATERIALIZED VIEW {}", qualified(n)),
            Target::Routine(id, kind) => write!(f, "{} {}", routine_keyword(*kind), routine_signature(id)),
            Target::Trigger(t, n) => write!(f, "TRIGGER {} ON {}", ident(n), qualified(t)),
            Target::Policy(t, n) => write!(f, "POLICY {} ON {}", ident(n), qualified(t)),
        }
    }
}

impl Target {
    /// The object keyword and name as GRANT spells them (GRANT has no VIEW keyword: views
    /// and materialized views are granted `ON TABLE`).
    fn grant_object(&self) -> String {
        match self {
            Target::View(n) | Target::MaterializedView(n) | Target::Table(n) | Target::Column(n, _) => {
                format!("TABLE {}", qualified(n))
            }
            Target::Domain(n) => format!("DOMAIN {}", qualified(n)),
            other => other.to_string(),
        }
    }
}

fn routine_keyword(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Function => "FUNCTION",
        RoutineKind::Procedure => "PROCEDURE",
    }
}

fn routine_signature(id: &FunctionId) -> String {
    format!("{}({})", qualified(&id.name), id.identity_args)
}

/// The `PUBLIC` pseudo-role is a keyword; a role is a name, quoted when needed (a role
/// named `PUBLIC` becomes `"PUBLIC"`).
pub fn grantee(grantee: &Grantee) -> String {
    match grantee {
        Grantee::Public => "PUBLIC".into(),
        Grantee::Role(name) => ident(name),
    }
}

/// `DEFERRABLE` / `INITIALLY DEFERRED`, as a constraint definition ends, with a leading space.
pub fn deferral_clause(deferrable: bool, initially_deferred: bool) -> &'static str {
    match (deferrable, initially_deferred) {
        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
        (true, false) => " DEFERRABLE",
        (false, true) => " INITIALLY DEFERRED",
        (false, false) => "",
    }
}

/// A foreign key's definition from its structure, exactly as `pg_get_constraintdef` prints
/// it (without `NOT VALID`) for the forms it covers: every form but `ON DELETE SET NULL
/// (columns)` (PostgreSQL 15+), temporal keys and `NOT ENFORCED` (18+).
pub fn foreign_key_definition(
    columns: &[String],
    fk: &ForeignKey,
    deferrable: bool,
    initially_deferred: bool,
) -> String {
    let mut def = format!(
        "FOREIGN KEY ({}) REFERENCES {}({})",
        ident_list(columns),
        qualified(&fk.referenced_table),
        ident_list(&fk.referenced_columns)
    );
    def.push_str(match fk.match_type {
        MatchType::Full => " MATCH FULL",
        MatchType::Partial => " MATCH PARTIAL",
        MatchType::Simple => "",
    });
    for (clause, action) in [(" ON UPDATE ", fk.on_update), (" ON DELETE ", fk.on_delete)] {
        let action = match action {
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::Cascade => "CASCADE",
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
            ForeignKeyAction::NoAction => continue, // not printed
        };
        def.push_str(clause);
        def.push_str(action);
    }
    def.push_str(deferral_clause(deferrable, initially_deferred));
    def
}

/// A primary key's or unique constraint's definition from its structure, exactly as
/// `pg_get_constraintdef` prints it.
pub fn key_definition(primary_key: bool, constraint: &Constraint) -> String {
    let mut def = String::from(match primary_key {
        true => "PRIMARY KEY ",
        false if constraint.nulls_not_distinct => "UNIQUE NULLS NOT DISTINCT ",
        false => "UNIQUE ",
    });
    write!(def, "({})", ident_list(&constraint.columns)).unwrap();
    if !constraint.include_columns.is_empty() {
        write!(def, " INCLUDE ({})", ident_list(&constraint.include_columns)).unwrap();
    }
    def.push_str(deferral_clause(constraint.deferrable, constraint.initially_deferred));
    def
}

/// A trigger definition as `pg_get_triggerdef` prints it once its table `from` is renamed
/// to `to`; `None` when the definition does not name `from` where the table goes.
///
/// The server prints `CREATE [CONSTRAINT] TRIGGER name timing events ON table ...`: before
/// the table only keywords and identifiers (the trigger's name, `UPDATE OF` columns) come,
/// and `ON` is reserved, so the table follows the first `ON` outside a quoted identifier.
pub fn trigger_on_renamed_table(definition: &str, from: &QualName, to: &QualName) -> Option<String> {
    let bytes = definition.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted, // a doubled quote inside flips twice
            b' ' if !quoted && definition[i..].starts_with(" ON ") => {
                let table_at = i + " ON ".len();
                let old = qualified(from);
                let rest = definition[table_at..].strip_prefix(old.as_str())?;
                if !rest.starts_with(' ') {
                    return None;
                }
                return Some(format!("{} ON {}{rest}", &definition[..i], qualified(to)));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A foreign key definition the server printed in a form the structure cannot render
/// (`ON DELETE SET NULL (columns)`, ...), with its one `REFERENCES` clause naming `to`
/// instead of `from`: the clause is the only place a table follows `REFERENCES `.
pub fn foreign_key_on_renamed_table(definition: &str, from: &QualName, to: &QualName) -> String {
    definition.replace(&format!("REFERENCES {}(", qualified(from)), &format!("REFERENCES {}(", qualified(to)))
}

/// `column IS NOT NULL`, the condition of a backfill that copies only what is there.
pub fn is_not_null(column: &str) -> String {
    format!("{} IS NOT NULL", ident(column))
}

/// A CHECK constraint's definition over `expression` (text the server printed, or built
/// here).
pub fn check_definition(expression: &str) -> String {
    format!("CHECK ({expression})")
}

/// A NOT NULL constraint's definition (PostgreSQL 18: `ADD CONSTRAINT name NOT NULL column`).
pub fn not_null_definition(column: &str) -> String {
    format!("NOT NULL {}", ident(column))
}

/// A statement run with `check_function_bodies` off for its own transaction only: each
/// plan step runs in its own transaction, so the session setting a diff starts with goes
/// into the step.
pub fn without_body_checks(statement: &str) -> String {
    format!("SET LOCAL check_function_bodies = off;\n{}", statement.trim_end())
}

/// Drops the trigger function Cutover creates to keep two columns in step (no arguments).
pub fn drop_sync_function(name: &QualName) -> Stmt {
    Stmt::DropFunction {
        id: FunctionId { name: name.clone(), identity_args: String::new() },
        kind: RoutineKind::Function,
    }
}

/// Names as a key list prints them: each quoted where needed, separated by ", ".
fn ident_list(names: &[String]) -> String {
    names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", ")
}

/// An object of the system catalog schema by its bare name (as the server prints it with
/// an empty `search_path`, where `pg_catalog` is still searched); others qualified.
pub fn catalog_name(name: &QualName) -> String {
    if name.schema == "pg_catalog" { ident(&name.name) } else { qualified(name) }
}

/// A dollar-quote tag that does not occur in `body`: `$cutover$`, else `$cutover_1$`, ...
pub fn dollar_tag(body: &str) -> String {
    let mut tag = "$cutover$".to_string();
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$cutover_{n}$");
    }
    tag
}

/// The options `CREATE SEQUENCE ... AS data_type` picks when none are given.
pub fn default_sequence_options(data_type: &str, increment: i64) -> SequenceOptions {
    let (type_min, type_max) = match data_type {
        "smallint" => (i16::MIN as i64, i16::MAX as i64),
        "integer" => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let (min_value, max_value) = if increment > 0 { (1, type_max) } else { (type_min, -1) };
    SequenceOptions {
        start: if increment > 0 { min_value } else { max_value },
        increment,
        min_value,
        max_value,
        cache: 1,
        cycle: false,
    }
}

/// Sequence option clauses that differ from the defaults for `data_type`.
fn sequence_option_clauses(data_type: &str, options: &SequenceOptions) -> Vec<String> {
    let defaults = default_sequence_options(data_type, options.increment);
    let mut out = Vec::new();
    if options.increment != 1 {
        out.push(format!("INCREMENT BY {}", options.increment));
    }
    if options.min_value != defaults.min_value {
        out.push(format!("MINVALUE {}", options.min_value));
    }
    if options.max_value != defaults.max_value {
        out.push(format!("MAXVALUE {}", options.max_value));
    }
    let default_start = if options.increment > 0 { options.min_value } else { options.max_value };
    if options.start != default_start {
        out.push(format!("START WITH {}", options.start));
    }
    if options.cache != 1 {
        out.push(format!("CACHE {}", options.cache));
    }
    if options.cycle {
        out.push("CYCLE".into());
    }
    out
}

fn identity_clause(identity: &Identity, data_type: &str) -> String {
    let mut text = format!("GENERATED {} AS IDENTITY", if identity.always { "ALWAYS" } else { "BY DEFAULT" });
    let options = sequence_option_clauses(data_type, &identity.sequence);
    if !options.is_empty() {
        write!(text, " ({})", options.join(" ")).unwrap();
    }
    text
}

fn collate_clause(collation: &Option<QualName>) -> String {
    collation.as_ref().map(|c| format!(" COLLATE {}", qualified(c))).unwrap_or_default()
}

/// A column as it appears in `CREATE TABLE` and `ADD COLUMN`.
pub fn column_definition(column: &Column) -> String {
    let mut text = format!("{} {}{}", ident(&column.name), column.data_type, collate_clause(&column.collation));
    if let Some(generated) = &column.generated {
        write!(
            text,
            " GENERATED ALWAYS AS ({}) {}",
            generated.expression,
            if generated.stored { "STORED" } else { "VIRTUAL" }
        )
        .unwrap();
    }
    if let Some(identity) = &column.identity {
        write!(text, " {}", identity_clause(identity, &column.data_type)).unwrap();
    }
    if let Some(default) = &column.default {
        write!(text, " DEFAULT {default}").unwrap();
    }
    if column.not_null {
        text.push_str(" NOT NULL");
    }
    text
}

fn options_list(options: &[String]) -> String {
    options.join(", ")
}

fn policy_roles(roles: &[Grantee]) -> String {
    roles.iter().map(grantee).collect::<Vec<_>>().join(", ")
}

impl Display for Stmt {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stmt::CreateSchema { name } => write!(f, "CREATE SCHEMA {}", ident(name)),
            Stmt::DropSchema { name } => write!(f, "DROP SCHEMA {}", ident(name)),
            Stmt::CreateExtension { name, schema, version } => {
                write!(f, "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}", ident(name), ident(schema))?;
                if let Some(version) = version {
                    write!(f, " VERSION {}", literal(version))?;
                }
                Ok(())
            }
            Stmt::AlterExtensionUpdate { name, version } => {
                write!(f, "ALTER EXTENSION {} UPDATE TO {}", ident(name), literal(version))
            }
            Stmt::DropExtension { name } => write!(f, "DROP EXTENSION {}", ident(name)),
            Stmt::CreateCollation { name, collation } => {
                let mut parts = vec![format!("provider = {}", collation.provider)];
                match (&collation.locale, &collation.lc_collate, &collation.lc_ctype) {
                    (Some(locale), _, _) => parts.push(format!("locale = {}", literal(locale))),
                    (None, Some(collate), Some(ctype)) if collate == ctype => {
                        parts.push(format!("locale = {}", literal(collate)))
                    }
                    (None, collate, ctype) => {
                        if let Some(c) = collate {
                            parts.push(format!("lc_collate = {}", literal(c)));
                        }
                        if let Some(c) = ctype {
                            parts.push(format!("lc_ctype = {}", literal(c)));
                        }
                    }
                }
                if !collation.deterministic {
                    parts.push("deterministic = false".into());
                }
                write!(f, "CREATE COLLATION {} ({})", qualified(name), parts.join(", "))
            }
            Stmt::DropCollation { name } => write!(f, "DROP COLLATION {}", qualified(name)),
            Stmt::CreateStatistics { definition, .. } => f.write_str(definition),
            Stmt::DropStatistics { name } => write!(f, "DROP STATISTICS {}", qualified(name)),
            Stmt::SetStatisticsTarget { name, target } => {
                write!(f, "ALTER STATISTICS {} SET STATISTICS {}", qualified(name), target.unwrap_or(-1))
            }
            Stmt::CreateType { name, kind } => render_create_type(f, name, kind),
            Stmt::DropType { name, domain } => {
                write!(f, "DROP {} {}", if *domain { "DOMAIN" } else { "TYPE" }, qualified(name))
            }
            Stmt::RenameType { name, new_name, domain } => write!(
                f,
                "ALTER {} {} RENAME TO {}",
                if *domain { "DOMAIN" } else { "TYPE" },
                qualified(name),
                ident(new_name)
            ),
            Stmt::AddEnumValue { name, value, position } => render_add_enum_value(f, name, value, position, false),
            Stmt::AlterDomain { name, action } => {
                write!(f, "ALTER DOMAIN {} ", qualified(name))?;
                match action {
                    DomainAction::SetDefault(expr) => write!(f, "SET DEFAULT {expr}"),
                    DomainAction::DropDefault => f.write_str("DROP DEFAULT"),
                    DomainAction::SetNotNull => f.write_str("SET NOT NULL"),
                    DomainAction::DropNotNull => f.write_str("DROP NOT NULL"),
                    DomainAction::AddConstraint { name, definition, not_valid } => write!(
                        f,
                        "ADD CONSTRAINT {} {definition}{}",
                        ident(name),
                        if *not_valid { " NOT VALID" } else { "" }
                    ),
                    DomainAction::DropConstraint { name } => write!(f, "DROP CONSTRAINT {}", ident(name)),
                    DomainAction::ValidateConstraint { name } => write!(f, "VALIDATE CONSTRAINT {}", ident(name)),
                }
            }
            Stmt::AlterComposite { name, action } => {
                write!(f, "ALTER TYPE {} ", qualified(name))?;
                match action {
                    CompositeAction::AddAttribute { name, data_type, collation } => {
                        write!(f, "ADD ATTRIBUTE {} {data_type}{}", ident(name), collate_clause(collation))
                    }
                    CompositeAction::DropAttribute { name } => write!(f, "DROP ATTRIBUTE {}", ident(name)),
                    CompositeAction::AlterAttributeType { name, data_type, collation } => write!(
                        f,
                        "ALTER ATTRIBUTE {} SET DATA TYPE {data_type}{}",
                        ident(name),
                        collate_clause(collation)
                    ),
                }
            }
            Stmt::CreateSequence { name, data_type, options, unlogged } => {
                write!(f, "CREATE {}SEQUENCE {}", if *unlogged { "UNLOGGED " } else { "" }, qualified(name))?;
                if data_type != "bigint" {
                    write!(f, " AS {data_type}")?;
                }
                for clause in sequence_option_clauses(data_type, options) {
                    write!(f, " {clause}")?;
                }
                Ok(())
            }
            Stmt::AlterSequence { name, data_type, options, changed } => {
                write!(f, "ALTER SEQUENCE {}", qualified(name))?;
                if let Some(data_type) = data_type {
                    write!(f, " AS {data_type}")?;
                }
                if changed.increment {
                    write!(f, " INCREMENT BY {}", options.increment)?;
                }
                if changed.min_value {
                    write!(f, " MINVALUE {}", options.min_value)?;
                }
                if changed.max_value {
                    write!(f, " MAXVALUE {}", options.max_value)?;
                }
                if changed.start {
                    write!(f, " START WITH {}", options.start)?;
                }
                if changed.cache {
                    write!(f, " CACHE {}", options.cache)?;
                }
                if changed.cycle {
                    f.write_str(if options.cycle { " CYCLE" } else { " NO CYCLE" })?;
                }
                Ok(())
            }
            Stmt::SetSequenceOwner { name, owner } => match owner {
                Some((table, column)) => {
                    write!(f, "ALTER SEQUENCE {} OWNED BY {}.{}", qualified(name), qualified(table), ident(column))
                }
                None => write!(f, "ALTER SEQUENCE {} OWNED BY NONE", qualified(name)),
            },
            Stmt::DropSequence { name } => write!(f, "DROP SEQUENCE {}", qualified(name)),
            Stmt::CreateTable { name, table } => render_create_table(f, name, table),
            Stmt::DropTable { name } => write!(f, "DROP TABLE {}", qualified(name)),
            Stmt::AlterTable { name, action } => render_alter_table(f, name, action),
            Stmt::CreateIndex { name, table, index, concurrently } => {
                render_create_index(f, name, table, index, *concurrently)
            }
            Stmt::CreateCompatibilityView { name, table } => {
                write!(f, "CREATE VIEW {} AS SELECT * FROM {}", qualified(name), qualified(table))
            }
            Stmt::RenameConstraint { table, name, new_name } => {
                write!(f, "ALTER TABLE {} RENAME CONSTRAINT {} TO {}", qualified(table), ident(name), ident(new_name))
            }
            Stmt::RenameSequence { name, new_name } => {
                write!(f, "ALTER SEQUENCE {} RENAME TO {}", qualified(name), ident(new_name))
            }
            Stmt::RenameEnumValue { name, from, to } => {
                write!(f, "ALTER TYPE {} RENAME VALUE {} TO {}", qualified(name), literal(from), literal(to))
            }
            Stmt::RenameIndex { name, new_name } => {
                write!(f, "ALTER INDEX {} RENAME TO {}", qualified(name), ident(new_name))
            }
            Stmt::BackfillBatch { table, column, expression, batch_size, only_where } => write!(
                f,
                "UPDATE {t} SET {c} = {expression} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {c} IS NULL{extra} LIMIT {batch_size}))",
                t = qualified(table),
                c = ident(column),
                extra = only_where.as_ref().map(|w| format!(" AND {w}")).unwrap_or_default()
            ),
            Stmt::CreateSyncFunction { name, source, target, forward, reverse } => {
                let (s, t) = (ident(source), ident(target));
                let mut body = String::from("BEGIN\n");
                match reverse {
                    None => writeln!(body, "  NEW.{t} := {forward};")?,
                    Some(reverse) => {
                        writeln!(body, "  IF TG_OP = 'INSERT' THEN")?;
                        writeln!(body, "    IF NEW.{t} IS NULL THEN NEW.{t} := {forward};")?;
                        writeln!(body, "    ELSIF NEW.{s} IS NULL THEN NEW.{s} := {reverse};")?;
                        writeln!(body, "    END IF;")?;
                        writeln!(body, "  ELSIF NEW.{s} IS DISTINCT FROM OLD.{s} THEN NEW.{t} := {forward};")?;
                        writeln!(body, "  ELSIF NEW.{t} IS DISTINCT FROM OLD.{t} THEN NEW.{s} := {reverse};")?;
                        writeln!(body, "  END IF;")?;
                    }
                }
                writeln!(body, "  RETURN NEW;")?;
                writeln!(body, "END")?;
                // The body holds expressions and names from the schema: its quote tag must
                // not occur in it, or the body would end early.
                let tag = dollar_tag(&body);
                write!(
                    f,
                    "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {tag}\n{body}{tag}",
                    qualified(name)
                )
            }
            Stmt::CreateRowTrigger { name, table, function } => write!(
                f,
                "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
                ident(name),
                qualified(table),
                qualified(function)
            ),
            Stmt::DropIndex { name, concurrently } => {
                write!(f, "DROP INDEX {}{}", if *concurrently { "CONCURRENTLY " } else { "" }, qualified(name))
            }
            Stmt::CreateView { name, view } => {
                let definition = view.definition.trim_end().trim_end_matches(';');
                if view.materialized {
                    write!(f, "CREATE MATERIALIZED VIEW {}", qualified(name))?;
                    if !view.options.is_empty() {
                        write!(f, " WITH ({})", options_list(&view.options))?;
                    }
                    write!(f, " AS\n{definition}")?;
                    if !view.populated {
                        f.write_str("\nWITH NO DATA")?;
                    }
                    Ok(())
                } else {
                    write!(f, "CREATE VIEW {}", qualified(name))?;
                    if !view.options.is_empty() {
                        write!(f, " WITH ({})", options_list(&view.options))?;
                    }
                    write!(f, " AS\n{definition}")
                }
            }
            Stmt::DropView { name, materialized } => {
                write!(f, "DROP {}VIEW {}", if *materialized { "MATERIALIZED " } else { "" }, qualified(name))
            }
            Stmt::RefreshMaterializedView { name } => write!(f, "REFRESH MATERIALIZED VIEW {}", qualified(name)),
            Stmt::CreateFunction { definition } => f.write_str(definition.trim_end()),
            Stmt::DropFunction { id, kind } => {
                write!(f, "DROP {} {}", routine_keyword(*kind), routine_signature(id))
            }
            Stmt::CreateTrigger { definition, .. } => f.write_str(definition),
            Stmt::DropTrigger { table, name } => write!(f, "DROP TRIGGER {} ON {}", ident(name), qualified(table)),
            Stmt::CreatePolicy { table, name, policy } => {
                write!(f, "CREATE POLICY {} ON {}", ident(name), qualified(table))?;
                if !policy.permissive {
                    f.write_str(" AS RESTRICTIVE")?;
                }
                if policy.command != "ALL" {
                    write!(f, " FOR {}", policy.command)?;
                }
                if policy.roles != [Grantee::Public] {
                    write!(f, " TO {}", policy_roles(&policy.roles))?;
                }
                if let Some(using) = &policy.using {
                    write!(f, " USING ({using})")?;
                }
                if let Some(check) = &policy.with_check {
                    write!(f, " WITH CHECK ({check})")?;
                }
                Ok(())
            }
            Stmt::AlterPolicy { table, name, policy } => {
                write!(f, "ALTER POLICY {} ON {} TO {}", ident(name), qualified(table), policy_roles(&policy.roles))?;
                if let Some(using) = &policy.using {
                    write!(f, " USING ({using})")?;
                }
                if let Some(check) = &policy.with_check {
                    write!(f, " WITH CHECK ({check})")?;
                }
                Ok(())
            }
            Stmt::DropPolicy { table, name } => write!(f, "DROP POLICY {} ON {}", ident(name), qualified(table)),
            Stmt::Comment { target, text } => match text {
                Some(text) => write!(f, "COMMENT ON {target} IS {}", literal(text)),
                None => write!(f, "COMMENT ON {target} IS NULL"),
            },
            Stmt::Grant { target, grant } => {
                write!(f, "GRANT {}", grant.privilege)?;
                if let Target::Column(_, column) = target {
                    write!(f, " ({})", ident(column))?;
                }
                write!(f, " ON {} TO {}", target.grant_object(), grantee(&grant.grantee))?;
                if grant.grantable {
                    f.write_str(" WITH GRANT OPTION")?;
                }
                Ok(())
            }
            Stmt::Revoke { target, grant, grant_option_only } => {
                f.write_str("REVOKE ")?;
                if *grant_option_only {
                    f.write_str("GRANT OPTION FOR ")?;
                }
                f.write_str(&grant.privilege)?;
                if let Target::Column(_, column) = target {
                    write!(f, " ({})", ident(column))?;
                }
                write!(f, " ON {} FROM {}", target.grant_object(), grantee(&grant.grantee))
            }
            Stmt::SetCheckFunctionBodies { on } => {
                write!(f, "SET check_function_bodies = {}", if *on { "on" } else { "off" })
            }
        }
    }
}

fn render_create_type(f: &mut Formatter<'_>, name: &QualName, kind: &TypeKind) -> fmt::Result {
    match kind {
        TypeKind::Enum { labels } => write!(
            f,
            "CREATE TYPE {} AS ENUM ({})",
            qualified(name),
            labels.iter().map(|l| literal(l)).collect::<Vec<_>>().join(", ")
        ),
        TypeKind::Domain { base_type, not_null, default, collation, constraints } => {
            write!(f, "CREATE DOMAIN {} AS {base_type}{}", qualified(name), collate_clause(collation))?;
            if let Some(default) = default {
                write!(f, " DEFAULT {default}")?;
            }
            if *not_null {
                f.write_str(" NOT NULL")?;
            }
            for (constraint, c) in constraints {
                // A NOT VALID domain constraint can only be added by ALTER DOMAIN; the diff
                // adds those separately.
                if c.validated {
                    write!(f, " CONSTRAINT {} {}", ident(constraint), c.definition)?;
                }
            }
            Ok(())
        }
        TypeKind::Composite { attributes } => {
            write!(f, "CREATE TYPE {} AS (", qualified(name))?;
            for (i, a) in attributes.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "\n    {} {}{}", ident(&a.name), a.data_type, collate_clause(&a.collation))?;
            }
            if !attributes.is_empty() {
                f.write_str("\n")?;
            }
            f.write_str(")")
        }
        TypeKind::Range { subtype, subtype_opclass, collation, canonical, subtype_diff, multirange } => {
            let mut parts = vec![format!("SUBTYPE = {subtype}")];
            if let Some(opclass) = subtype_opclass {
                parts.push(format!("SUBTYPE_OPCLASS = {}", catalog_name(opclass)));
            }
            if let Some(collation) = collation {
                parts.push(format!("COLLATION = {}", qualified(collation)));
            }
            if let Some(canonical) = canonical {
                parts.push(format!("CANONICAL = {}", catalog_name(canonical)));
            }
            if let Some(diff) = subtype_diff {
                parts.push(format!("SUBTYPE_DIFF = {}", catalog_name(diff)));
            }
            if let Some(multirange) = multirange {
                parts.push(format!(
                    "MULTIRANGE_TYPE_NAME = {}",
                    qualified(&QualName::new(name.schema.clone(), multirange.clone()))
                ));
            }
            write!(f, "CREATE TYPE {} AS RANGE ({})", qualified(name), parts.join(", "))
        }
    }
}

fn render_create_table(f: &mut Formatter<'_>, name: &QualName, table: &Table) -> fmt::Result {
    write!(f, "CREATE {}TABLE {}", if table.unlogged { "UNLOGGED " } else { "" }, qualified(name))?;
    // Foreign keys and NOT VALID constraints are added by separate statements.
    let inline_constraints: Vec<_> = table
        .constraints
        .iter()
        .filter(|(_, c)| c.kind != cutover_schema::ConstraintKind::ForeignKey && c.validated)
        .collect();
    let mut elements: Vec<String> = Vec::new();
    if let Some(partition) = &table.partition_of {
        write!(f, " PARTITION OF {}", qualified(&partition.parent))?;
        for (cname, c) in &inline_constraints {
            elements.push(format!("CONSTRAINT {} {}", ident(cname), c.definition));
        }
        if !elements.is_empty() {
            write!(f, " (\n    {}\n)", elements.join(",\n    "))?;
        }
        write!(f, " {}", Bound(&partition.bound))?;
    } else {
        for column in table.columns.iter().filter(|c| c.is_local) {
            elements.push(column_definition(column));
        }
        for (cname, c) in &inline_constraints {
            elements.push(format!("CONSTRAINT {} {}", ident(cname), c.definition));
        }
        if elements.is_empty() {
            f.write_str(" ()")?;
        } else {
            write!(f, " (\n    {}\n)", elements.join(",\n    "))?;
        }
        if !table.inherits.is_empty() {
            write!(f, " INHERITS ({})", table.inherits.iter().map(qualified).collect::<Vec<_>>().join(", "))?;
        }
    }
    if let Some(key) = &table.partition_key {
        write!(f, " PARTITION BY {}", key.definition)?;
    }
    if !table.options.is_empty() {
        write!(f, " WITH ({})", options_list(&table.options))?;
    }
    Ok(())
}

fn render_alter_table(f: &mut Formatter<'_>, name: &QualName, action: &TableAction) -> fmt::Result {
    write!(f, "ALTER TABLE {} ", qualified(name))?;
    match action {
        TableAction::AddColumn(column) => write!(f, "ADD COLUMN {}", column_definition(column)),
        TableAction::DropColumn { column } => write!(f, "DROP COLUMN {}", ident(column)),
        TableAction::AlterColumnType { column, data_type, collation, using } => {
            write!(f, "ALTER COLUMN {} TYPE {data_type}{}", ident(column), collate_clause(collation))?;
            if let Some(using) = using {
                write!(f, " USING {}{}{data_type}", ident(column), using.suffix())?;
            }
            Ok(())
        }
        TableAction::SetDefault { column, expression } => {
            write!(f, "ALTER COLUMN {} SET DEFAULT {expression}", ident(column))
        }
        TableAction::DropDefault { column } => write!(f, "ALTER COLUMN {} DROP DEFAULT", ident(column)),
        TableAction::SetNotNull { column } => write!(f, "ALTER COLUMN {} SET NOT NULL", ident(column)),
        TableAction::DropNotNull { column } => write!(f, "ALTER COLUMN {} DROP NOT NULL", ident(column)),
        TableAction::AddIdentity { column, identity, data_type } => {
            write!(f, "ALTER COLUMN {} ADD {}", ident(column), identity_clause(identity, data_type))
        }
        TableAction::SetIdentity { column, always, options, changed } => {
            write!(f, "ALTER COLUMN {}", ident(column))?;
            if let Some(always) = always {
                write!(f, " SET GENERATED {}", if *always { "ALWAYS" } else { "BY DEFAULT" })?;
            }
            if changed.increment {
                write!(f, " SET INCREMENT BY {}", options.increment)?;
            }
            if changed.min_value {
                write!(f, " SET MINVALUE {}", options.min_value)?;
            }
            if changed.max_value {
                write!(f, " SET MAXVALUE {}", options.max_value)?;
            }
            if changed.start {
                write!(f, " SET START WITH {}", options.start)?;
            }
            if changed.cache {
                write!(f, " SET CACHE {}", options.cache)?;
            }
            if changed.cycle {
                f.write_str(if options.cycle { " SET CYCLE" } else { " SET NO CYCLE" })?;
            }
            Ok(())
        }
        TableAction::DropIdentity { column } => write!(f, "ALTER COLUMN {} DROP IDENTITY", ident(column)),
        TableAction::SetExpression { column, expression } => {
            write!(f, "ALTER COLUMN {} SET EXPRESSION AS ({expression})", ident(column))
        }
        TableAction::DropExpression { column } => write!(f, "ALTER COLUMN {} DROP EXPRESSION", ident(column)),
        TableAction::SetLogged => f.write_str("SET LOGGED"),
        TableAction::SetUnlogged => f.write_str("SET UNLOGGED"),
        TableAction::SetOptions(options) => write!(f, "SET ({})", options_list(options)),
        TableAction::ResetOptions(keys) => write!(f, "RESET ({})", keys.join(", ")),
        TableAction::Inherit { parent } => write!(f, "INHERIT {}", qualified(parent)),
        TableAction::NoInherit { parent } => write!(f, "NO INHERIT {}", qualified(parent)),
        TableAction::AttachPartition { partition, bound } => {
            write!(f, "ATTACH PARTITION {} {}", qualified(partition), Bound(bound))
        }
        TableAction::DetachPartition { partition, concurrently } => {
            write!(f, "DETACH PARTITION {}{}", qualified(partition), if *concurrently { " CONCURRENTLY" } else { "" })
        }
        TableAction::RowLevelSecurity { enable } => {
            write!(f, "{} ROW LEVEL SECURITY", if *enable { "ENABLE" } else { "DISABLE" })
        }
        TableAction::ForceRowLevelSecurity { force } => {
            write!(f, "{}FORCE ROW LEVEL SECURITY", if *force { "" } else { "NO " })
        }
        TableAction::AddConstraint { name, definition, not_valid } => {
            write!(f, "ADD CONSTRAINT {} {definition}{}", ident(name), if *not_valid { " NOT VALID" } else { "" })
        }
        TableAction::DropConstraint { name } => write!(f, "DROP CONSTRAINT {}", ident(name)),
        TableAction::ValidateConstraint { name } => write!(f, "VALIDATE CONSTRAINT {}", ident(name)),
        TableAction::RenameTo { new_name } => write!(f, "RENAME TO {}", ident(new_name)),
        TableAction::RenameColumn { column, new_name } => {
            write!(f, "RENAME COLUMN {} TO {}", ident(column), ident(new_name))
        }
        TableAction::AddConstraintUsingIndex { name, primary_key, index, deferrable, initially_deferred } => {
            write!(
                f,
                "ADD CONSTRAINT {} {} USING INDEX {}{}",
                ident(name),
                if *primary_key { "PRIMARY KEY" } else { "UNIQUE" },
                ident(index),
                deferral_clause(*deferrable, *initially_deferred)
            )
        }
        TableAction::SetTriggerEnabled { trigger, enabled } => {
            let verb = match enabled {
                'D' => "DISABLE TRIGGER",
                'R' => "ENABLE REPLICA TRIGGER",
                'A' => "ENABLE ALWAYS TRIGGER",
                _ => "ENABLE TRIGGER",
            };
            write!(f, "{verb} {}", ident(trigger))
        }
    }
}

fn render_create_index(
    f: &mut Formatter<'_>,
    name: &str,
    table: &QualName,
    index: &Index,
    concurrently: bool,
) -> fmt::Result {
    write!(
        f,
        "CREATE {}INDEX {}{} ON {} USING {} (",
        if index.unique { "UNIQUE " } else { "" },
        if concurrently { "CONCURRENTLY " } else { "" },
        ident(name),
        qualified(table),
        ident(&index.method)
    )?;
    for (i, key) in index.keys.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        render_index_key(f, key)?;
    }
    f.write_str(")")?;
    if !index.include_columns.is_empty() {
        write!(f, " INCLUDE ({})", index.include_columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "))?;
    }
    if index.nulls_not_distinct {
        f.write_str(" NULLS NOT DISTINCT")?;
    }
    if !index.options.is_empty() {
        write!(f, " WITH ({})", options_list(&index.options))?;
    }
    if let Some(predicate) = &index.predicate {
        write!(f, " WHERE {predicate}")?;
    }
    Ok(())
}

fn render_index_key(f: &mut Formatter<'_>, key: &IndexKey) -> fmt::Result {
    match (&key.column, &key.expression) {
        (Some(column), _) => f.write_str(&ident(column))?,
        (None, Some(expr)) => f.write_str(expr)?,
        (None, None) => f.write_str("NULL")?,
    }
    if let Some(collation) = &key.collation {
        write!(f, " COLLATE {}", qualified(collation))?;
    }
    if let Some(opclass) = &key.opclass {
        write!(f, " {}", catalog_name(opclass))?;
        if !key.opclass_options.is_empty() {
            write!(f, " ({})", key.opclass_options.join(", "))?;
        }
    }
    match (key.descending, key.nulls_first) {
        (false, false) | (true, true) => {}
        (false, true) => f.write_str(" NULLS FIRST")?,
        (true, false) => {}
    }
    if key.descending {
        f.write_str(" DESC")?;
        if !key.nulls_first {
            f.write_str(" NULLS LAST")?;
        }
    }
    Ok(())
}

fn render_add_enum_value(
    f: &mut Formatter<'_>,
    name: &QualName,
    value: &str,
    position: &Option<EnumPosition>,
    if_not_exists: bool,
) -> fmt::Result {
    let guard = if if_not_exists { "IF NOT EXISTS " } else { "" };
    write!(f, "ALTER TYPE {} ADD VALUE {guard}{}", qualified(name), literal(value))?;
    match position {
        Some(EnumPosition::Before(label)) => write!(f, " BEFORE {}", literal(label)),
        Some(EnumPosition::After(label)) => write!(f, " AFTER {}", literal(label)),
        None => Ok(()),
    }
}

/// A statement that adds something outside a transaction, rendered with `IF NOT EXISTS`
/// where PostgreSQL has it: a plan step whose runner died after it ran (done, but not
/// recorded) runs again without failing. Other statements render unchanged.
#[derive(Debug, Clone, Copy)]
pub struct IfNotExists<'a>(pub &'a Stmt);

impl Display for IfNotExists<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Stmt::AddEnumValue { name, value, position } => render_add_enum_value(f, name, value, position, true),
            other => write!(f, "{other}"),
        }
    }
}

/// A drop statement rendered with `IF EXISTS`, for rollbacks that may run after a partial
/// failure. Statements that are not drops render unchanged.
#[derive(Debug, Clone, Copy)]
pub struct IfExists<'a>(pub &'a Stmt);

impl Display for IfExists<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Stmt::DropSchema { name } => write!(f, "DROP SCHEMA IF EXISTS {}", ident(name)),
            Stmt::DropExtension { name } => write!(f, "DROP EXTENSION IF EXISTS {}", ident(name)),
            Stmt::DropCollation { name } => write!(f, "DROP COLLATION IF EXISTS {}", qualified(name)),
            Stmt::DropStatistics { name } => write!(f, "DROP STATISTICS IF EXISTS {}", qualified(name)),
            Stmt::DropType { name, domain } => {
                write!(f, "DROP {} IF EXISTS {}", if *domain { "DOMAIN" } else { "TYPE" }, qualified(name))
            }
            Stmt::DropSequence { name } => write!(f, "DROP SEQUENCE IF EXISTS {}", qualified(name)),
            Stmt::DropTable { name } => write!(f, "DROP TABLE IF EXISTS {}", qualified(name)),
            Stmt::DropIndex { name, concurrently } => write!(
                f,
                "DROP INDEX {}IF EXISTS {}",
                if *concurrently { "CONCURRENTLY " } else { "" },
                qualified(name)
            ),
            Stmt::DropView { name, materialized } => {
                write!(f, "DROP {}VIEW IF EXISTS {}", if *materialized { "MATERIALIZED " } else { "" }, qualified(name))
            }
            Stmt::DropFunction { id, kind } => {
                write!(f, "DROP {} IF EXISTS {}", routine_keyword(*kind), routine_signature(id))
            }
            Stmt::DropTrigger { table, name } => {
                write!(f, "DROP TRIGGER IF EXISTS {} ON {}", ident(name), qualified(table))
            }
            Stmt::DropPolicy { table, name } => {
                write!(f, "DROP POLICY IF EXISTS {} ON {}", ident(name), qualified(table))
            }
            Stmt::AlterTable { name, action: TableAction::DropColumn { column } } => {
                write!(f, "ALTER TABLE {} DROP COLUMN IF EXISTS {}", qualified(name), ident(column))
            }
            Stmt::AlterTable { name, action: TableAction::DropConstraint { name: constraint } } => {
                write!(f, "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", qualified(name), ident(constraint))
            }
            other => write!(f, "{other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alter(action: TableAction) -> String {
        Stmt::AlterTable { name: QualName::new("public", "users"), action }.to_string()
    }

    #[test]
    fn the_planner_s_constraint_texts_quote_their_names() {
        let add = |definition: String| TableAction::AddConstraint { name: "n n".into(), definition, not_valid: true };
        assert_eq!(
            alter(add(not_null_definition("E\"mail"))),
            "ALTER TABLE public.users ADD CONSTRAINT \"n n\" NOT NULL \"E\"\"mail\" NOT VALID"
        );
        assert_eq!(
            alter(add(check_definition(&is_not_null("Email")))),
            "ALTER TABLE public.users ADD CONSTRAINT \"n n\" CHECK (\"Email\" IS NOT NULL) NOT VALID"
        );
        let sync = QualName::new("public", "users_email_cutover_sync");
        assert_eq!(drop_sync_function(&sync).to_string(), "DROP FUNCTION public.users_email_cutover_sync()");
        assert_eq!(
            IfExists(&drop_sync_function(&sync)).to_string(),
            "DROP FUNCTION IF EXISTS public.users_email_cutover_sync()"
        );
        assert_eq!(
            without_body_checks("CREATE FUNCTION f() ...\n"),
            "SET LOCAL check_function_bodies = off;\nCREATE FUNCTION f() ..."
        );
        let (from, to) = (QualName::new("public", "users"), QualName::new("app", "people"));
        assert_eq!(
            foreign_key_on_renamed_table(
                "FOREIGN KEY (a) REFERENCES public.users(id) ON DELETE SET NULL (a)",
                &from,
                &to
            ),
            "FOREIGN KEY (a) REFERENCES app.people(id) ON DELETE SET NULL (a)"
        );
    }

    #[test]
    fn using_index_deferral_comes_from_flags_never_from_names() {
        let name = "x DEFERRABLE;DROP TABLE users;--";
        let sql = alter(TableAction::AddConstraintUsingIndex {
            name: name.into(),
            primary_key: false,
            index: name.into(),
            deferrable: true,
            initially_deferred: true,
        });
        assert_eq!(
            sql,
            "ALTER TABLE public.users ADD CONSTRAINT \"x DEFERRABLE;DROP TABLE users;--\" UNIQUE USING INDEX \
             \"x DEFERRABLE;DROP TABLE users;--\" DEFERRABLE INITIALLY DEFERRED"
        );
        let plain = alter(TableAction::AddConstraintUsingIndex {
            name: "k".into(),
            primary_key: true,
            index: "k".into(),
            deferrable: false,
            initially_deferred: false,
        });
        assert_eq!(plain, "ALTER TABLE public.users ADD CONSTRAINT k PRIMARY KEY USING INDEX k");
    }

    #[test]
    fn key_and_foreign_key_definitions_come_from_structure() {
        let key = Constraint {
            kind: cutover_schema::ConstraintKind::Unique,
            definition: String::new(),
            columns: vec!["x DEFERRABLE;DROP TABLE users;--".into()],
            validated: true,
            deferrable: false,
            initially_deferred: false,
            foreign_key: None,
            index: None,
            include_columns: vec!["a\") INCLUDE (\"b".into()],
            nulls_not_distinct: true,
            comment: None,
        };
        assert_eq!(
            key_definition(false, &key),
            "UNIQUE NULLS NOT DISTINCT (\"x DEFERRABLE;DROP TABLE users;--\") INCLUDE (\"a\"\") INCLUDE (\"\"b\")"
        );
        let fk = ForeignKey {
            referenced_table: QualName::new("public", "Users"),
            referenced_columns: vec!["id".into()],
            on_update: ForeignKeyAction::NoAction,
            on_delete: ForeignKeyAction::Cascade,
            match_type: MatchType::Full,
        };
        assert_eq!(
            foreign_key_definition(&["user id".into()], &fk, true, false),
            "FOREIGN KEY (\"user id\") REFERENCES public.\"Users\"(id) MATCH FULL ON DELETE CASCADE DEFERRABLE"
        );
    }

    #[test]
    fn a_renamed_table_is_found_where_a_trigger_names_it() {
        let (from, to) = (QualName::new("public", "orders"), QualName::new("public", "Orders 2"));
        let def = "CREATE TRIGGER \"t ON public.orders x\" BEFORE UPDATE OF \"c ON public.orders \"\"\" ON public.orders \
                   FOR EACH ROW WHEN ((new.note <> ' ON public.orders ')) EXECUTE FUNCTION public.f()";
        assert_eq!(
            trigger_on_renamed_table(def, &from, &to).unwrap(),
            "CREATE TRIGGER \"t ON public.orders x\" BEFORE UPDATE OF \"c ON public.orders \"\"\" ON public.\"Orders 2\" \
             FOR EACH ROW WHEN ((new.note <> ' ON public.orders ')) EXECUTE FUNCTION public.f()"
        );
        assert_eq!(trigger_on_renamed_table(def, &QualName::new("public", "other"), &to), None);
    }

    #[test]
    fn a_role_named_public_is_not_the_public_pseudo_role() {
        let grant = |grantee| Stmt::Grant {
            target: Target::Table(QualName::new("public", "t")),
            grant: Grant { grantee, privilege: "SELECT".into(), grantable: false },
        };
        assert_eq!(grant(Grantee::Public).to_string(), "GRANT SELECT ON TABLE public.t TO PUBLIC");
        assert_eq!(grant(Grantee::Role("PUBLIC".into())).to_string(), "GRANT SELECT ON TABLE public.t TO \"PUBLIC\"");
    }

    #[test]
    fn the_dollar_tag_of_a_generated_body_never_occurs_in_it() {
        assert_eq!(dollar_tag("BEGIN END"), "$cutover$");
        assert_eq!(dollar_tag("x := '$cutover$'"), "$cutover_1$");
        assert_eq!(dollar_tag("$cutover$ $cutover_1$"), "$cutover_2$");
        let sync = Stmt::CreateSyncFunction {
            name: QualName::new("public", "sync"),
            source: "a$cutover$".into(),
            target: "b".into(),
            forward: "NEW.\"a$cutover$\" || '$cutover$'".into(),
            reverse: None,
        }
        .to_string();
        assert!(sync.contains("AS $cutover_1$\nBEGIN\n"), "{sync}");
        assert!(sync.ends_with("END\n$cutover_1$"), "{sync}");
    }

    #[test]
    fn access_methods_and_operator_classes_are_quoted() {
        let index = Index {
            method: "My AM".into(),
            unique: false,
            keys: vec![IndexKey {
                column: Some("c".into()),
                expression: None,
                collation: None,
                opclass: Some(QualName::new("my schema", "Ops\"x")),
                opclass_options: Vec::new(),
                descending: false,
                nulls_first: false,
            }],
            include_columns: Vec::new(),
            predicate: None,
            nulls_not_distinct: false,
            options: Vec::new(),
            valid: true,
            parent_index: None,
            comment: None,
        };
        let mut catalog_opclass = index.clone();
        catalog_opclass.method = "btree".into();
        catalog_opclass.keys[0].opclass = Some(QualName::new("pg_catalog", "text_pattern_ops"));
        let create = |index: &Index| {
            Stmt::CreateIndex {
                name: "i".into(),
                table: QualName::new("public", "t"),
                index: Box::new(index.clone()),
                concurrently: false,
            }
            .to_string()
        };
        assert_eq!(create(&index), "CREATE INDEX i ON public.t USING \"My AM\" (c \"my schema\".\"Ops\"\"x\")");
        assert_eq!(create(&catalog_opclass), "CREATE INDEX i ON public.t USING btree (c text_pattern_ops)");
    }
}
