//! The catalog queries introspection (`cutover_db_postgres::introspect`) sends. Each returns
//! every object of its kind in one round trip, so introspection costs the same number of
//! queries for ten tables or ten thousand. Built from constants and the server version only.
//!
//! All queries run with an empty `search_path`, so every name that `format_type`,
//! `pg_get_expr` and the `pg_get_*def` functions print is schema-qualified.

/// Namespaces that hold application objects. `cutover` is where `cutover apply` keeps its
/// state (`cutover_sql::apply::SCHEMA`): it is Cutover's, not the application's, so a diff
/// never proposes to drop it.
const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') \
     AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'";

/// Relations (of the given relkinds) in application namespaces, for queries over their
/// attributes, constraints and indexes: filtering relations once is much cheaper than
/// filtering every attribute. Relations of extensions come back too; the builder skips
/// them (it knows the extension members), which costs less than asking `pg_depend` about
/// every relation in every query.
fn user_relations(relkinds: &str) -> String {
    format!(
        "rels AS (SELECT c.oid, c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ({relkinds}) AND {USER_NS})"
    )
}

/// Objects that belong to an extension are the extension's business, not the schema's.
fn not_extension_member(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass \
         AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// Grants on an object as a JSON array of `[grantee, privilege, grantable]`, with a NULL
/// ACL read as the built-in default and the owner's own privileges left out (an owner
/// always holds them, and owners differ between environments). The PUBLIC pseudo-role is
/// a JSON null: a role may really be named `PUBLIC`.
fn grants(acl: &str, kind: char, owner: &str) -> String {
    format!(
        "(SELECT json_agg(json_build_array(CASE WHEN g.grantee <> 0 \
         THEN pg_get_userbyid(g.grantee)::text END, g.privilege_type, g.is_grantable)) \
         FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) g \
         WHERE g.grantee <> {owner})::text"
    )
}

/// One query per kind of object, for one server version.
pub struct Queries {
    pub schemas: String,
    pub extensions: String,
    pub extension_members: String,
    pub collations: String,
    pub types: String,
    pub domain_constraints: String,
    pub sequences: String,
    pub relations: String,
    pub columns: String,
    pub column_defaults: String,
    pub column_comments: String,
    pub constraints: String,
    pub indexes: String,
    pub index_attribute_options: String,
    pub opclasses: String,
    pub all_collations: String,
    pub triggers: String,
    pub policies: String,
    pub functions: String,
    pub dependencies: String,
    pub array_types: String,
    pub identity_sequences: String,
    pub statistics: String,
}

impl Queries {
    /// The queries for `version` (`server_version_num`).
    pub fn for_version(version: u32) -> Queries {
        let collation_locale = if version >= 170000 {
            "c.colllocale"
        } else if version >= 150000 {
            "c.colliculocale"
        } else {
            "NULL::text"
        };
        let nulls_not_distinct = if version >= 150000 { "i.indnullsnotdistinct" } else { "false" };
        // Triggers cloned onto partitions point at their parent from PostgreSQL 13 on; on 12
        // they are marked internal.
        let trigger_parent = if version >= 130000 { "AND t.tgparentid = 0" } else { "" };
        // Constraint forms that the builder leaves to pg_get_constraintdef: ON DELETE SET
        // NULL/DEFAULT with a column list (15+), temporal keys and NOT ENFORCED (18+).
        let server_rendered_constraints = match version {
            180000.. => " OR con.confdelsetcols IS NOT NULL OR con.conperiod OR NOT con.conenforced",
            150000.. => " OR con.confdelsetcols IS NOT NULL",
            _ => "",
        };
        let sql_body = if version >= 140000 { "p.prosqlbody IS NOT NULL" } else { "false" };
        let multirange = if version >= 140000 {
            "(SELECT m.typname::text FROM pg_type m WHERE m.oid = r.rngmultitypid), r.rngmultitypid"
        } else {
            "NULL::text, NULL::oid"
        };

        Queries {
            schemas: format!(
                "SELECT n.oid, n.nspname::text, obj_description(n.oid, 'pg_namespace'), {grants} \
                 FROM pg_namespace n WHERE {USER_NS} AND {ext}",
                grants = grants("n.nspacl", 'n', "n.nspowner"),
                ext = not_extension_member("pg_namespace", "n.oid"),
            ),
            extensions: "SELECT e.oid, e.extname::text, n.nspname::text, e.extversion, \
                 obj_description(e.oid, 'pg_extension') \
                 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
                 WHERE e.extname <> 'plpgsql'"
                .into(),
            extension_members: "SELECT d.classid, d.objid, e.extname::text FROM pg_depend d \
                 JOIN pg_extension e ON e.oid = d.refobjid \
                 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'"
                .into(),
            collations: format!(
                "SELECT c.oid, n.nspname::text, c.collname::text, c.collprovider::text, \
                 {collation_locale}, c.collcollate, c.collctype, c.collisdeterministic, \
                 obj_description(c.oid, 'pg_collation') \
                 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace \
                 WHERE {USER_NS} AND {ext}",
                ext = not_extension_member("pg_collation", "c.oid"),
            ),
            types: format!(
                "SELECT t.oid, n.nspname::text, t.typname::text, t.typtype::text, \
                 obj_description(t.oid, 'pg_type'), {grants}, \
                 CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e \
                   WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END, \
                 CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, \
                 t.typnotnull, pg_get_expr(t.typdefaultbin, 0), \
                 CASE WHEN t.typcollation <> 0 AND t.typcollation <> coalesce(b.typcollation, 0) THEN cn.nspname::text END, \
                 CASE WHEN t.typcollation <> 0 AND t.typcollation <> coalesce(b.typcollation, 0) THEN co.collname::text END, \
                 t.typrelid, \
                 format_type(r.rngsubtype, NULL), \
                 CASE WHEN NOT opc.opcdefault THEN ARRAY[opn.nspname::text, opc.opcname::text] END, \
                 CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN ARRAY[rcn.nspname::text, rco.collname::text] END, \
                 (SELECT ARRAY[fn.nspname::text, f.proname::text] FROM pg_proc f \
                   JOIN pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = r.rngcanonical), \
                 (SELECT ARRAY[fn.nspname::text, f.proname::text] FROM pg_proc f \
                   JOIN pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = r.rngsubdiff), \
                 {multirange} \
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 LEFT JOIN pg_type b ON b.oid = t.typbasetype \
                 LEFT JOIN pg_collation co ON co.oid = t.typcollation \
                 LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace \
                 LEFT JOIN pg_range r ON r.rngtypid = t.oid \
                 LEFT JOIN pg_type st ON st.oid = r.rngsubtype \
                 LEFT JOIN pg_opclass opc ON opc.oid = r.rngsubopc \
                 LEFT JOIN pg_namespace opn ON opn.oid = opc.opcnamespace \
                 LEFT JOIN pg_collation rco ON rco.oid = r.rngcollation \
                 LEFT JOIN pg_namespace rcn ON rcn.oid = rco.collnamespace \
                 WHERE {USER_NS} AND {ext} AND (t.typtype IN ('e', 'd', 'r') \
                   OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class k WHERE k.oid = t.typrelid AND k.relkind = 'c')))",
                grants = grants("t.typacl", 'T', "t.typowner"),
                ext = not_extension_member("pg_type", "t.oid"),
            ),
            domain_constraints: "SELECT con.oid, con.contypid, con.conname::text, \
                 pg_get_constraintdef(con.oid), con.convalidated \
                 FROM pg_constraint con WHERE con.contypid <> 0 AND con.contype = 'c'"
                .into(),
            sequences: format!(
                "SELECT c.oid, n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL), \
                 s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
                 c.relpersistence = 'u', obj_description(c.oid, 'pg_class'), {grants}, \
                 own.nspname, own.relname, own.attname \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_sequence s ON s.seqrelid = c.oid \
                 LEFT JOIN LATERAL (SELECT tn.nspname::text, tc.relname::text, a.attname::text, d.deptype \
                   FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid \
                   JOIN pg_namespace tn ON tn.oid = tc.relnamespace \
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                   AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 \
                   AND d.deptype IN ('a', 'i') LIMIT 1) own ON true \
                 WHERE c.relkind = 'S' AND {USER_NS} AND {ext} AND own.deptype IS DISTINCT FROM 'i'",
                grants = grants("c.relacl", 's', "c.relowner"),
                ext = not_extension_member("pg_class", "c.oid"),
            ),
            relations: format!(
                "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, c.relpersistence::text, \
                 pg_get_partkeydef(c.oid), CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, \
                 c.reloptions::text[], c.relrowsecurity, c.relforcerowsecurity, \
                 d.description, CASE WHEN c.relacl IS NOT NULL THEN {grants} END, \
                 ARRAY(SELECT pn.nspname::text FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent \
                   JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid ORDER BY i.inhseqno), \
                 ARRAY(SELECT pc.relname::text FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent \
                   WHERE i.inhrelid = c.oid ORDER BY i.inhseqno), \
                 c.relispartition, \
                 CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, \
                 c.relispopulated, c.reltuples::float8, c.relpages::int8 * current_setting('block_size')::int8, \
                 (SELECT r.oid FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN'), \
                 c.reltype, pt.partstrat::text, \
                 CASE WHEN pt.partrelid IS NOT NULL THEN ARRAY(SELECT a.attname::text \
                   FROM unnest(pt.partattrs::int2[]) WITH ORDINALITY k(num, ord) \
                   LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.num AND k.num > 0 \
                   ORDER BY k.ord) END \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid \
                 LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid \
                   AND d.objsubid = 0 \
                 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {USER_NS}",
                // A relation's default ACL grants its owner alone: nothing to report.
                grants = grants("c.relacl", 'r', "c.relowner"),
            ),
            // Attributes only; defaults and comments come from their own (much smaller)
            // catalogs in separate queries, which is cheaper than joining them per attribute.
            columns: format!(
                "WITH {rels} \
                 SELECT a.attrelid, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                 a.attnotnull, a.attidentity::text, a.attgenerated::text, a.attislocal, \
                 a.attcollation, t.typcollation, \
                 CASE WHEN a.attacl IS NOT NULL THEN {grants} END \
                 FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attnum > 0 AND NOT a.attisdropped",
                rels = user_relations("'r', 'p', 'v', 'm', 'c'"),
                grants = grants("a.attacl", 'c', "c.relowner"),
            ),
            // pg_get_expr opens and locks the relation when given one, which is most of its
            // cost; only an expression that refers to columns (a generated column's) needs it
            // to print their names.
            column_defaults: "SELECT ad.oid, ad.adrelid, ad.adnum, pg_get_expr(ad.adbin, \
                 CASE WHEN ad.adbin::text LIKE '%{VAR %' THEN ad.adrelid ELSE 0 END) FROM pg_attrdef ad"
                .into(),
            column_comments: "SELECT d.objoid, d.objsubid, d.description FROM pg_description d \
                 WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0"
                .into(),
            // Key columns come back as attribute numbers and are named from the columns query.
            // `pg_get_constraintdef` reads pg_constraint afresh on every call (tens of
            // microseconds each); primary keys, unique constraints and foreign keys, by far
            // the most numerous, are printed by the builder from the same catalog columns
            // instead, exactly as PostgreSQL prints them (see `constraint_definitions` in the
            // tests). Forms the builder does not print come from the server.
            constraints: format!(
                "WITH {rels} \
                 SELECT con.oid, con.conrelid, con.conname::text, con.contype::text, \
                 CASE WHEN con.contype IN ('c', 'x'){server_rendered} THEN pg_get_constraintdef(con.oid) END, \
                 con.convalidated, con.condeferrable, con.condeferred, con.conkey, fn.nspname::text, fc.relname::text, con.confrelid, con.confkey, \
                 con.confupdtype::text, con.confdeltype::text, con.confmatchtype::text, \
                 ic.relname::text, d.description, con.conindid \
                 FROM rels c JOIN pg_constraint con ON con.conrelid = c.oid \
                 LEFT JOIN pg_class fc ON fc.oid = con.confrelid \
                 LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
                 LEFT JOIN pg_class ic ON ic.oid = con.conindid AND con.contype IN ('p', 'u', 'x') \
                 LEFT JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = con.oid \
                   AND d.objsubid = 0 \
                 WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conparentid = 0 AND con.conislocal",
                rels = user_relations("'r', 'p'"),
                server_rendered = server_rendered_constraints,
            ),
            // The index of a constraint is the constraint (mapped from the constraints query and
            // skipped by the builder). Index
            // definitions are rebuilt from the catalog (see `cutover-sql`); pg_get_indexdef
            // costs tens of microseconds per index, and its only expensive part (choosing
            // whether to print each operator class) is a lookup here.
            indexes: format!(
                "WITH {rels} \
                 SELECT i.indexrelid, i.indrelid, ic.relname::text, am.amname::text, i.indisunique, \
                 i.indkey::int2[], i.indnkeyatts, i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[], \
                 CASE WHEN i.indexprs IS NOT NULL THEN \
                   ARRAY(SELECT CASE WHEN k.num = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int, false) END \
                     FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) ORDER BY k.ord) END, \
                 pg_get_expr(i.indpred, i.indrelid), \
                 {nulls_not_distinct}, i.indisvalid, \
                 pn.nspname::text, pc.relname::text, d.description, ic.reloptions::text[] \
                 FROM rels c JOIN pg_index i ON i.indrelid = c.oid \
                 JOIN pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_am am ON am.oid = ic.relam \
                 LEFT JOIN pg_inherits inh ON inh.inhrelid = i.indexrelid \
                 LEFT JOIN pg_class pc ON pc.oid = inh.inhparent \
                 LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace \
                 LEFT JOIN pg_description d ON d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid \
                   AND d.objsubid = 0",
                rels = user_relations("'r', 'p', 'm'"),
            ),
            // Operator class parameters live on the index's attributes (PostgreSQL 13+).
            index_attribute_options: "SELECT a.attrelid, a.attnum, a.attoptions FROM pg_attribute a \
                 JOIN pg_class i ON i.oid = a.attrelid AND i.relkind IN ('i', 'I') \
                 WHERE a.attoptions IS NOT NULL AND a.attnum > 0"
                .into(),
            opclasses: "SELECT o.oid, n.nspname::text, o.opcname::text, o.opcdefault \
                 FROM pg_opclass o JOIN pg_namespace n ON n.oid = o.opcnamespace"
                .into(),
            all_collations: "SELECT c.oid, n.nspname::text, c.collname::text \
                 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace"
                .into(),
            triggers: format!(
                "SELECT t.oid, t.tgrelid, t.tgname::text, pg_get_triggerdef(t.oid), t.tgenabled::text, \
                 pn.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), \
                 obj_description(t.oid, 'pg_trigger') \
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace \
                 WHERE NOT t.tgisinternal {trigger_parent} AND {USER_NS} AND {ext}",
                ext = not_extension_member("pg_class", "c.oid"),
            ),
            policies: format!(
                "SELECT p.oid, p.polrelid, p.polname::text, p.polcmd::text, p.polpermissive, \
                 ARRAY(SELECT CASE WHEN r <> 0 THEN pg_get_userbyid(r)::text END \
                   FROM unnest(p.polroles) r), \
                 pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), \
                 obj_description(p.oid, 'pg_policy') \
                 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS} AND {ext}",
                ext = not_extension_member("pg_class", "c.oid"),
            ),
            // Range and multirange constructors are created with their type (an internal
            // dependency) and are not objects of their own.
            functions: format!(
                "SELECT p.oid, n.nspname::text, p.proname::text, p.prokind::text, pg_get_functiondef(p.oid), \
                 l.lanname::text, pg_get_function_arguments(p.oid), pg_get_function_identity_arguments(p.oid), \
                 CASE WHEN p.prokind = 'f' THEN pg_get_function_result(p.oid) END, \
                 obj_description(p.oid, 'pg_proc'), {grants}, {sql_body}, p.provolatile::text \
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 JOIN pg_language l ON l.oid = p.prolang \
                 WHERE p.prokind IN ('f', 'p') AND {USER_NS} AND {ext} \
                 AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass \
                   AND i.objid = p.oid AND i.deptype = 'i')",
                grants = grants("p.proacl", 'f', "p.proowner"),
                ext = not_extension_member("pg_proc", "p.oid"),
            ),
            // Array types stand for their element type, so a column of type `mood[]`
            // depends on `mood`. Objects below FirstNormalObjectId (16384) are built in.
            // Internal dependencies ('i') only tie an object to its own implementation (a
            // table's row type, a constraint's index, a view's rule, TOAST, identity
            // sequences) and a default always depends on its own column: none of them order
            // anything, and together they are over half of pg_depend.
            dependencies:
                "SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype::text \
                 FROM pg_depend d \
                 WHERE d.deptype IN ('n', 'a', 'P', 'S') AND d.objid >= 16384 AND d.refobjid >= 16384 \
                 AND NOT (d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass)"
                    .into(),
            // Array types stand for their element type, so a column of type `mood[]`
            // depends on `mood`.
            array_types: "SELECT t.oid, t.typelem FROM pg_type t \
                 WHERE t.oid >= 16384 AND t.typcategory = 'A' AND t.typelem <> 0"
                .into(),
            // Extended statistics; their table comes from the relations query (extension
            // tables are skipped by the builder). A target of -1 (before 17) or NULL is the
            // default.
            statistics: format!(
                "SELECT s.oid, n.nspname::text, s.stxname::text, s.stxrelid, pg_get_statisticsobjdef(s.oid), \
                 CASE WHEN s.stxstattarget >= 0 THEN s.stxstattarget::int4 END, \
                 obj_description(s.oid, 'pg_statistic_ext') \
                 FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE {USER_NS}"
            ),
            identity_sequences: "SELECT d.refobjid, d.refobjsubid, s.seqstart, s.seqincrement, s.seqmin, \
                 s.seqmax, s.seqcache, s.seqcycle \
                 FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid \
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
                 AND d.deptype = 'i' AND d.refobjsubid > 0"
                .into(),
        }
    }
}
