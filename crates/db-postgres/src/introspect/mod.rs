//! Reading a [`Catalog`] from a live database.
//!
//! Introspection runs in one `REPEATABLE READ READ ONLY` transaction with an empty
//! `search_path`, issues a fixed set of catalog queries (pipelined on one connection), and
//! builds the model in memory. It never writes to the database and takes no table locks.

use crate::Error;
use cutover_schema::*;
use cutover_sql::catalog_queries::Queries;
use futures_util::stream::{FuturesOrdered, StreamExt, TryStreamExt};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::{Client, Row, RowStream};

/// What to read besides the schema itself (reserved for options such as skipping facts).
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {}

/// The oldest PostgreSQL release Cutover reads.
pub const MIN_SERVER_VERSION: u32 = 120000;

// Fixed OIDs of the system catalogs that appear as `classid` in pg_depend; they are the
// same in every PostgreSQL release.
const PG_TYPE: u32 = 1247;
const PG_PROC: u32 = 1255;
const PG_CLASS: u32 = 1259;
const PG_ATTRDEF: u32 = 2604;
const PG_CONSTRAINT: u32 = 2606;
const PG_NAMESPACE: u32 = 2615;
const PG_REWRITE: u32 = 2618;
const PG_TRIGGER: u32 = 2620;
const PG_EXTENSION: u32 = 3079;
const PG_POLICY: u32 = 3256;
const PG_COLLATION: u32 = 3456;
const PG_STATISTIC_EXT: u32 = 3381;
/// The OID of the database's default collation, `pg_catalog."default"`.
const DEFAULT_COLLATION_OID: u32 = 100;

/// Reads the catalog of the database `client` is connected to.
pub async fn introspect(client: &Client, _options: &IntrospectOptions) -> Result<Catalog, Error> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(|e| Error::query("starting the read-only introspection transaction", e))?;
    let result = read(client).await;
    // Nothing was written; ending the transaction either way is the same.
    let _ = client.batch_execute("ROLLBACK").await;
    result
}

async fn read(client: &Client) -> Result<Catalog, Error> {
    client
        .batch_execute("SET LOCAL search_path = ''")
        .await
        .map_err(|e| Error::query("setting an empty search_path", e))?;
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int4, current_setting('server_version')", &[])
        .await
        .map_err(|e| Error::query("reading the server version", e))?;
    let version = row.get::<_, i32>(0) as u32;
    if version < MIN_SERVER_VERSION {
        return Err(Error::UnsupportedVersion { found: row.get(1) });
    }
    let q = Queries::for_version(version);
    // All queries are sent at once, pipelined on the one connection, in the order the
    // builder needs their results; each result is built into the catalog as it arrives,
    // while the server works on the ones after it. The large results (relations, columns,
    // constraints, indexes, dependencies) are built a chunk of rows at a time, so a
    // result is never held whole: rows as the driver decodes them are several times the
    // size of what the model keeps of them.
    let queries: [(&str, &str); 23] = [
        ("schemas", &q.schemas),
        ("extensions", &q.extensions),
        ("extension members", &q.extension_members),
        ("collations", &q.collations),
        ("collation names", &q.all_collations),
        ("types", &q.types),
        ("domain constraints", &q.domain_constraints),
        ("sequences", &q.sequences),
        ("relations", &q.relations),
        ("column defaults", &q.column_defaults),
        ("column comments", &q.column_comments),
        ("identity sequences", &q.identity_sequences),
        ("columns", &q.columns),
        ("constraints", &q.constraints),
        ("operator classes", &q.opclasses),
        ("index attribute options", &q.index_attribute_options),
        ("indexes", &q.indexes),
        ("triggers", &q.triggers),
        ("policies", &q.policies),
        ("functions", &q.functions),
        ("statistics", &q.statistics),
        ("array types", &q.array_types),
        ("dependencies", &q.dependencies),
    ];
    let results: FuturesOrdered<_> = queries
        .into_iter()
        .map(|(name, sql)| async move {
            let rows = client.query_typed_raw(sql, NO_PARAMETERS).await.map_err(|e| QueryResult::failed(name, e))?;
            Ok::<_, Error>(QueryResult { name, rows })
        })
        .collect();
    let mut results = Pipeline { results };

    let mut b = Builder {
        catalog: Catalog::default(),
        oids: Oids::default(),
        tables: HashMap::default(),
        views: HashMap::default(),
    };
    b.catalog.facts.server_version_num = version;
    b.schemas(&results.all().await?)?;
    let extensions = results.all().await?;
    b.extensions(&extensions, &results.all().await?);
    b.collations(&results.all().await?);
    let collations: HashMap<u32, QualName> =
        results.all().await?.iter().map(|r| (oid(r, 0), QualName::new(text(r, 1), text(r, 2)))).collect();
    let types = results.all().await?;
    b.types(&types, &results.all().await?)?;
    b.sequences(&results.all().await?)?;
    let mut relations = Relations { by_oid: HashMap::default() };
    results.next().await?.each_chunk(|rows| b.relations(rows, &mut relations)).await?;
    b.composite_types(&mut relations);
    let (defaults, comments, identities) = (results.all().await?, results.all().await?, results.all().await?);
    let mut inputs = ColumnInputs::new(&defaults, &comments, &identities);
    let mut order = ColumnOrder::default();
    results.next().await?.each_chunk(|rows| b.columns(rows, &mut inputs, &relations, &collations, &mut order)).await?;
    b.put_columns_in_order(order);
    drop(inputs);
    let mut pending_keys = PendingKeys::default();
    results.next().await?.each_chunk(|rows| b.constraints(rows, &relations, &mut pending_keys)).await?;
    let (opclasses, attoptions) = (results.all().await?, results.all().await?);
    let mut inputs = IndexInputs::new(&opclasses, &attoptions);
    results
        .next()
        .await?
        .each_chunk(|rows| b.indexes(rows, &relations, &mut inputs, &collations, &mut pending_keys))
        .await?;
    check_keys_finished(pending_keys)?;
    b.triggers(&results.all().await?, &relations);
    b.policies(&results.all().await?, &relations);
    b.functions(&results.all().await?)?;
    b.statistics(&results.all().await?, &relations);
    let element: HashMap<u32, u32> = results.all().await?.iter().map(|r| (oid(r, 0), oid(r, 1))).collect();
    results.next().await?.each_chunk(|rows| b.dependencies(rows, &element)).await?;
    b.catalog.dependencies.sort_unstable();
    b.catalog.dependencies.dedup();
    b.catalog.tables = b.tables.drain().map(|(_, named)| named).collect();
    b.catalog.views = b.views.drain().map(|(_, named)| named).collect();
    Ok(b.catalog)
}

/// Where each OID of the database went in the model, to translate `pg_depend`.
#[derive(Default)]
struct Oids {
    class: HashMap<u32, ObjId>,
    attnames: HashMap<(u32, i32), String>,
    attcollations: HashMap<(u32, i32), u32>,
    types: HashMap<u32, ObjId>,
    procs: HashMap<u32, ObjId>,
    constraints: HashMap<u32, ObjId>,
    attrdefs: HashMap<u32, ObjId>,
    rewrites: HashMap<u32, ObjId>,
    triggers: HashMap<u32, ObjId>,
    policies: HashMap<u32, ObjId>,
    namespaces: HashMap<u32, ObjId>,
    extensions: HashMap<u32, ObjId>,
    collations: HashMap<u32, ObjId>,
    statistics: HashMap<u32, ObjId>,
    extension_members: HashMap<(u32, u32), ObjId>,
}

impl Oids {
    fn resolve(&self, classid: u32, objid: u32, subid: i32) -> Option<ObjId> {
        if let Some(ext) = self.extension_members.get(&(classid, objid)) {
            return Some(ext.clone());
        }
        let map = match classid {
            PG_CLASS => {
                let base = self.class.get(&objid)?;
                return match base {
                    ObjId::Table { name } if subid > 0 => {
                        Some(ObjId::Column { table: name.clone(), name: self.attnames.get(&(objid, subid))?.clone() })
                    }
                    other => Some(other.clone()),
                };
            }
            PG_TYPE => &self.types,
            PG_PROC => &self.procs,
            PG_CONSTRAINT => &self.constraints,
            PG_ATTRDEF => &self.attrdefs,
            PG_REWRITE => &self.rewrites,
            PG_TRIGGER => &self.triggers,
            PG_POLICY => &self.policies,
            PG_NAMESPACE => &self.namespaces,
            PG_EXTENSION => &self.extensions,
            PG_COLLATION => &self.collations,
            PG_STATISTIC_EXT => &self.statistics,
            _ => return None,
        };
        map.get(&objid).cloned()
    }
}

/// What a `pg_class` OID of a table or view is, to attach its columns and sub-objects.
struct Relations {
    by_oid: HashMap<u32, (QualName, RelKind)>,
}

#[derive(Clone, Copy, PartialEq)]
enum RelKind {
    Table,
    View,
    Composite,
}

struct Builder {
    catalog: Catalog,
    oids: Oids,
    /// Tables and views by OID while they are being filled in; moved into the catalog at
    /// the end (one ordered insertion each instead of a name lookup per column).
    tables: HashMap<u32, (QualName, Table)>,
    views: HashMap<u32, (QualName, View)>,
}

fn oid(row: &Row, i: usize) -> u32 {
    row.get::<_, u32>(i)
}

fn opt_oid(row: &Row, i: usize) -> Option<u32> {
    row.get::<_, Option<u32>>(i)
}

fn text(row: &Row, i: usize) -> String {
    row.get::<_, String>(i)
}

fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get::<_, Option<String>>(i)
}

fn grants(row: &Row, i: usize) -> Result<BTreeSet<Grant>, Error> {
    let Some(json) = opt_text(row, i) else {
        return Ok(BTreeSet::new());
    };
    let items: Vec<(Option<String>, String, bool)> = serde_json::from_str(&json)
        .map_err(|e| Error::Query { what: "reading privileges".into(), message: e.to_string() })?;
    Ok(items
        .into_iter()
        .map(|(role, privilege, grantable)| Grant { grantee: grantee(role), privilege, grantable })
        .collect())
}

/// A role OID of 0 (read as NULL) is the PUBLIC pseudo-role.
fn grantee(role: Option<String>) -> Grantee {
    match role {
        Some(name) => Grantee::Role(name),
        None => Grantee::Public,
    }
}

/// A `[schema, name]` pair read as one text array.
fn opt_qual_name(row: &Row, i: usize) -> Option<QualName> {
    match row.get::<_, Option<Vec<String>>>(i)?.as_slice() {
        [schema, name] => Some(QualName::new(schema.clone(), name.clone())),
        _ => None,
    }
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

impl Builder {
    /// Column names of relation `rel` for the attribute numbers of constraint `constraint`'s
    /// key, in order; a number without a column is an error rather than a shorter key.
    fn key_names(&self, rel: u32, attnums: &Option<Vec<i16>>, constraint: &str) -> Result<Vec<String>, Error> {
        attnums
            .iter()
            .flatten()
            .map(|&n| {
                self.oids.attnames.get(&(rel, n as i32)).cloned().ok_or_else(|| Error::Query {
                    what: "reading constraints".into(),
                    message: format!("constraint {constraint} refers to column number {n}, which was not read"),
                })
            })
            .collect()
    }

    fn schemas(&mut self, rows: &[Row]) -> Result<(), Error> {
        for row in rows {
            let name = text(row, 1);
            self.oids.namespaces.insert(oid(row, 0), ObjId::Schema { name: name.clone() });
            self.catalog.schemas.insert(name, Namespace { comment: opt_text(row, 2), grants: grants(row, 3)? });
        }
        Ok(())
    }

    fn extensions(&mut self, rows: &[Row], members: &[Row]) {
        for row in rows {
            let name = text(row, 1);
            self.oids.extensions.insert(oid(row, 0), ObjId::Extension { name: name.clone() });
            self.catalog
                .extensions
                .insert(name, Extension { schema: text(row, 2), version: text(row, 3), comment: opt_text(row, 4) });
        }
        for row in members {
            self.oids.extension_members.insert((oid(row, 0), oid(row, 1)), ObjId::Extension { name: text(row, 2) });
        }
    }

    fn collations(&mut self, rows: &[Row]) {
        for row in rows {
            let name = QualName::new(text(row, 1), text(row, 2));
            self.oids.collations.insert(oid(row, 0), ObjId::Collation { name: name.clone() });
            let provider = match text(row, 3).as_str() {
                "i" => "icu",
                "b" => "builtin",
                "c" => "libc",
                _ => "default",
            };
            self.catalog.collations.insert(
                name,
                Collation {
                    provider: provider.into(),
                    locale: opt_text(row, 4),
                    lc_collate: opt_text(row, 5),
                    lc_ctype: opt_text(row, 6),
                    deterministic: row.get(7),
                    comment: opt_text(row, 8),
                },
            );
        }
    }

    fn types(&mut self, rows: &[Row], domain_constraints: &[Row]) -> Result<(), Error> {
        let mut domains_by_oid: HashMap<u32, QualName> = HashMap::default();
        for row in rows {
            let type_oid = oid(row, 0);
            let name = QualName::new(text(row, 1), text(row, 2));
            let id = ObjId::Type { name: name.clone() };
            self.oids.types.insert(type_oid, id.clone());
            let collation = |schema: usize, coll: usize| -> Option<QualName> {
                Some(QualName::new(opt_text(row, schema)?, opt_text(row, coll)?))
            };
            let kind = match text(row, 3).as_str() {
                "e" => TypeKind::Enum { labels: row.get::<_, Option<Vec<String>>>(6).unwrap_or_default() },
                "d" => {
                    domains_by_oid.insert(type_oid, name.clone());
                    TypeKind::Domain {
                        base_type: opt_text(row, 7).unwrap_or_default(),
                        not_null: row.get(8),
                        default: opt_text(row, 9),
                        collation: collation(10, 11),
                        constraints: BTreeMap::new(),
                    }
                }
                "c" => {
                    self.oids.class.insert(oid(row, 12), id.clone());
                    TypeKind::Composite { attributes: Vec::new() }
                }
                _ => {
                    if let Some(multi) = opt_oid(row, 19) {
                        self.oids.types.insert(multi, id.clone());
                    }
                    TypeKind::Range {
                        subtype: opt_text(row, 13).unwrap_or_default(),
                        subtype_opclass: opt_qual_name(row, 14),
                        collation: opt_qual_name(row, 15),
                        canonical: opt_qual_name(row, 16),
                        subtype_diff: opt_qual_name(row, 17),
                        multirange: opt_text(row, 18),
                    }
                }
            };
            self.catalog.types.insert(name, TypeDef { kind, comment: opt_text(row, 4), grants: grants(row, 5)? });
        }
        for row in domain_constraints {
            let Some(domain) = domains_by_oid.get(&oid(row, 1)) else { continue };
            self.oids.constraints.insert(oid(row, 0), ObjId::Type { name: domain.clone() });
            let validated: bool = row.get(4);
            let definition = strip_not_valid(text(row, 3), validated);
            if let Some(TypeDef { kind: TypeKind::Domain { constraints, .. }, .. }) = self.catalog.types.get_mut(domain)
            {
                constraints.insert(text(row, 2), DomainConstraint { definition, validated });
            }
        }
        Ok(())
    }

    fn sequences(&mut self, rows: &[Row]) -> Result<(), Error> {
        for row in rows {
            let name = QualName::new(text(row, 1), text(row, 2));
            self.oids.class.insert(oid(row, 0), ObjId::Sequence { name: name.clone() });
            let owned_by = match (opt_text(row, 13), opt_text(row, 14), opt_text(row, 15)) {
                (Some(schema), Some(table), Some(column)) => Some((QualName::new(schema, table), column)),
                _ => None,
            };
            self.catalog.sequences.insert(
                name,
                Sequence {
                    data_type: text(row, 3),
                    options: SequenceOptions {
                        start: row.get(4),
                        increment: row.get(5),
                        min_value: row.get(6),
                        max_value: row.get(7),
                        cache: row.get(8),
                        cycle: row.get(9),
                    },
                    owned_by,
                    unlogged: row.get(10),
                    comment: opt_text(row, 11),
                    grants: grants(row, 12)?,
                },
            );
        }
        Ok(())
    }

    fn relations(&mut self, rows: &[Row], relations: &mut Relations) -> Result<(), Error> {
        let by_oid = &mut relations.by_oid;
        for row in rows {
            let rel_oid = oid(row, 0);
            if self.oids.extension_members.contains_key(&(PG_CLASS, rel_oid)) {
                continue; // the extension's business
            }
            let name = QualName::new(text(row, 1), text(row, 2));
            let relkind = text(row, 3);
            let mut options: Vec<String> = row.get::<_, Option<Vec<String>>>(7).unwrap_or_default();
            options.sort();
            let parents: Vec<QualName> = row
                .get::<_, Vec<String>>(12)
                .into_iter()
                .zip(row.get::<_, Vec<String>>(13))
                .map(|(s, n)| QualName::new(s, n))
                .collect();
            let is_partition: bool = row.get(14);
            if let Some(rewrite) = opt_oid(row, 19) {
                self.oids.rewrites.insert(rewrite, ObjId::View { name: name.clone() });
            }
            match relkind.as_str() {
                "v" | "m" => {
                    let id = ObjId::View { name: name.clone() };
                    self.oids.class.insert(rel_oid, id.clone());
                    self.oids.types.insert(oid(row, 20), id);
                    by_oid.insert(rel_oid, (name.clone(), RelKind::View));
                    self.views.insert(
                        rel_oid,
                        (
                            name,
                            View {
                                materialized: relkind == "m",
                                definition: opt_text(row, 15).unwrap_or_default(),
                                columns: Vec::new(),
                                options,
                                populated: relkind == "m" && row.get::<_, bool>(16),
                                indexes: BTreeMap::new(),
                                triggers: BTreeMap::new(),
                                comment: opt_text(row, 10),
                                grants: grants(row, 11)?,
                            },
                        ),
                    );
                }
                _ => {
                    let id = ObjId::Table { name: name.clone() };
                    self.oids.class.insert(rel_oid, id.clone());
                    self.oids.types.insert(oid(row, 20), id);
                    by_oid.insert(rel_oid, (name.clone(), RelKind::Table));
                    let reltuples: f64 = row.get(17);
                    self.catalog.facts.tables.insert(
                        name.clone(),
                        TableFacts {
                            rows: (reltuples >= 0.0).then_some(reltuples.round() as u64),
                            bytes: row.get::<_, i64>(18).max(0) as u64,
                        },
                    );
                    let (partition_of, inherits) = if is_partition {
                        let printed = opt_text(row, 6).unwrap_or_default();
                        // Read value by value: the planner needs the values, and the text
                        // is never searched again.
                        let bound = cutover_sql::bound::parse(&printed).ok_or_else(|| Error::Query {
                            what: "reading partition bounds".into(),
                            message: format!("the bound of partition {name} is not understood: {printed}"),
                        })?;
                        (parents.into_iter().next().map(|parent| PartitionOf { parent, bound }), Vec::new())
                    } else {
                        (None, parents)
                    };
                    let partition_key = match (opt_text(row, 5), opt_text(row, 21)) {
                        (Some(definition), Some(strategy)) => Some(PartitionKey {
                            strategy: match strategy.as_str() {
                                "r" => PartitionStrategy::Range,
                                "l" => PartitionStrategy::List,
                                _ => PartitionStrategy::Hash,
                            },
                            columns: row.get::<_, Option<Vec<Option<String>>>>(22).unwrap_or_default(),
                            definition,
                        }),
                        _ => None,
                    };
                    self.tables.insert(
                        rel_oid,
                        (
                            name,
                            Table {
                                kind: if relkind == "p" { TableKind::Partitioned } else { TableKind::Ordinary },
                                unlogged: text(row, 4) == "u",
                                columns: Vec::new(),
                                partition_key,
                                partition_of,
                                inherits,
                                constraints: BTreeMap::new(),
                                indexes: BTreeMap::new(),
                                triggers: BTreeMap::new(),
                                policies: BTreeMap::new(),
                                rls_enabled: row.get(8),
                                rls_forced: row.get(9),
                                options,
                                comment: opt_text(row, 10),
                                grants: grants(row, 11)?,
                            },
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// Composite types are relations too (their attributes come with the columns).
    fn composite_types(&self, relations: &mut Relations) {
        for (class_oid, id) in &self.oids.class {
            if let ObjId::Type { name } = id {
                relations.by_oid.insert(*class_oid, (name.clone(), RelKind::Composite));
            }
        }
    }

    /// Columns of tables and views and attributes of composite types, in the order they
    /// arrive; `order` records their attribute numbers for [`Builder::put_columns_in_order`].
    fn columns(
        &mut self,
        rows: &[Row],
        inputs: &mut ColumnInputs,
        relations: &Relations,
        collations: &HashMap<u32, QualName>,
        order: &mut ColumnOrder,
    ) -> Result<(), Error> {
        let ColumnInputs { defaults, comments, identities } = inputs;
        for row in rows {
            let rel_oid = oid(row, 0);
            let attnum: i16 = row.get(1);
            let name = text(row, 2);
            // Named also for relations of extensions, which foreign keys may reference.
            self.oids.attnames.insert((rel_oid, attnum as i32), name.clone());
            let Some((rel, kind)) = relations.by_oid.get(&rel_oid) else { continue };
            let attcollation = oid(row, 8);
            self.oids.attcollations.insert((rel_oid, attnum as i32), attcollation);
            let data_type = text(row, 3);
            // Only a collation other than the type's own is part of the column.
            let collation = (attcollation != oid(row, 9)).then(|| collations.get(&attcollation).cloned()).flatten();
            let comment = comments.remove(&(rel_oid, attnum as i32));
            match kind {
                RelKind::View => {
                    if let Some((_, view)) = self.views.get_mut(&rel_oid) {
                        view.columns.push(ViewColumn { name, data_type, comment });
                        order.arrived(rel_oid, attnum);
                    }
                }
                RelKind::Composite => {
                    if let Some(TypeDef { kind: TypeKind::Composite { attributes }, .. }) =
                        self.catalog.types.get_mut(rel)
                    {
                        attributes.push(Attribute { name, data_type, collation });
                        order.arrived(rel_oid, attnum);
                    }
                }
                RelKind::Table => {
                    let Some((_, table)) = self.tables.get_mut(&rel_oid) else { continue };
                    let expr = match defaults.get(&(rel_oid, attnum)) {
                        Some((attrdef, expr)) => {
                            self.oids
                                .attrdefs
                                .insert(*attrdef, ObjId::ColumnDefault { table: rel.clone(), column: name.clone() });
                            Some(expr.clone())
                        }
                        None => None,
                    };
                    let generated_kind = text(row, 6);
                    let (default, generated) = match generated_kind.as_str() {
                        "s" | "v" => {
                            (None, expr.map(|expression| Generated { expression, stored: generated_kind == "s" }))
                        }
                        _ => (expr, None),
                    };
                    let identity = match (text(row, 5).as_str(), identities.get(&(rel_oid, attnum as i32))) {
                        (kind @ ("a" | "d"), Some(seq)) => Some(Identity {
                            always: kind == "a",
                            sequence: SequenceOptions {
                                start: seq.get(2),
                                increment: seq.get(3),
                                min_value: seq.get(4),
                                max_value: seq.get(5),
                                cache: seq.get(6),
                                cycle: seq.get(7),
                            },
                        }),
                        _ => None,
                    };
                    let is_local = table.partition_of.is_none() && row.get::<_, bool>(7);
                    table.columns.push(Column {
                        name,
                        data_type,
                        not_null: row.get(4),
                        default,
                        identity,
                        generated,
                        collation,
                        is_local,
                        comment,
                        grants: grants(row, 10)?,
                    });
                    order.arrived(rel_oid, attnum);
                }
            }
        }
        Ok(())
    }

    /// Sorts the columns of every relation whose columns did not arrive in attribute
    /// number order (the server returns them so in practice, but does not promise it).
    fn put_columns_in_order(&mut self, order: ColumnOrder) {
        for (rel_oid, attnums) in order.attnums {
            if attnums.is_sorted() {
                continue;
            }
            if let Some((_, table)) = self.tables.get_mut(&rel_oid) {
                sort_by_attnum(&mut table.columns, &attnums);
            } else if let Some((_, view)) = self.views.get_mut(&rel_oid) {
                sort_by_attnum(&mut view.columns, &attnums);
            } else if let Some(ObjId::Type { name }) = self.oids.class.get(&rel_oid)
                && let Some(TypeDef { kind: TypeKind::Composite { attributes }, .. }) = self.catalog.types.get_mut(name)
            {
                sort_by_attnum(attributes, &attnums);
            }
        }
    }

    /// Table constraints. Definitions the server did not print (primary keys, unique
    /// constraints and foreign keys, see the query) are printed here: foreign keys at once,
    /// primary keys and unique constraints once their index has been read (it holds the
    /// INCLUDE columns and NULLS NOT DISTINCT); `pending` keeps those by index OID.
    fn constraints(&mut self, rows: &[Row], relations: &Relations, pending: &mut PendingKeys) -> Result<(), Error> {
        for row in rows {
            let table_oid = oid(row, 1);
            let Some((rel, RelKind::Table)) = relations.by_oid.get(&table_oid) else { continue };
            let name = text(row, 2);
            let id = ObjId::Constraint { table: rel.clone(), name: name.clone() };
            let contype = text(row, 3);
            if matches!(contype.as_str(), "p" | "u" | "x") {
                // The constraint's index stands for the constraint (foreign keys depend on it).
                self.oids.class.insert(oid(row, 18), id.clone());
            }
            self.oids.constraints.insert(oid(row, 0), id);
            let kind = match contype.as_str() {
                "p" => ConstraintKind::PrimaryKey,
                "u" => ConstraintKind::Unique,
                "f" => ConstraintKind::ForeignKey,
                "c" => ConstraintKind::Check,
                _ => ConstraintKind::Exclusion,
            };
            let validated: bool = row.get(5);
            let (deferrable, initially_deferred): (bool, bool) = (row.get(6), row.get(7));
            let foreign_key = match (kind, opt_text(row, 9), opt_text(row, 10)) {
                (ConstraintKind::ForeignKey, Some(schema), Some(ref_table)) => {
                    let unknown = |what: &str, letter: String| Error::Query {
                        what: "reading constraints".into(),
                        message: format!("foreign key {name} has an unknown {what} '{letter}'"),
                    };
                    let action = |i: usize, what: &str| {
                        let letter = text(row, i);
                        ForeignKeyAction::from_catalog(&letter).ok_or_else(|| unknown(what, letter))
                    };
                    let match_letter = text(row, 15);
                    Some(ForeignKey {
                        referenced_table: QualName::new(schema, ref_table),
                        referenced_columns: self.key_names(oid(row, 11), &row.get(12), &name)?,
                        on_update: action(13, "ON UPDATE action")?,
                        on_delete: action(14, "ON DELETE action")?,
                        match_type: MatchType::from_catalog(&match_letter)
                            .ok_or_else(|| unknown("match type", match_letter.clone()))?,
                    })
                }
                _ => None,
            };
            let columns = self.key_names(table_oid, &row.get(8), &name)?;
            let definition = match (opt_text(row, 4), &foreign_key) {
                (Some(printed), _) => strip_not_valid(printed, validated),
                (None, Some(fk)) => {
                    cutover_sql::ddl::foreign_key_definition(&columns, fk, deferrable, initially_deferred)
                }
                (None, None) => {
                    // Finished by `indexes`, which reads the constraint's index.
                    pending.insert(oid(row, 18), (table_oid, name.clone()));
                    String::new()
                }
            };
            let Some((_, table)) = self.tables.get_mut(&table_oid) else { continue };
            table.constraints.insert(
                name,
                Constraint {
                    kind,
                    definition,
                    columns,
                    validated,
                    deferrable,
                    initially_deferred,
                    foreign_key,
                    index: opt_text(row, 16),
                    // Primary keys and unique constraints: set by `finish_key_definition`.
                    include_columns: Vec::new(),
                    nulls_not_distinct: false,
                    comment: opt_text(row, 17),
                },
            );
        }
        Ok(())
    }

    /// The definition of a primary key or unique constraint as pg_get_constraintdef prints
    /// it, from the constraint and a row of the indexes query for its index.
    fn finish_key_definition(&mut self, (table_oid, name): (u32, String), index_row: &Row) -> Result<(), Error> {
        let include = {
            let attnums: Vec<i16> = index_row.get(5);
            let key_count = (index_row.get::<_, i16>(6).max(0) as usize).min(attnums.len());
            self.key_names(table_oid, &Some(attnums[key_count..].to_vec()), &name)?
        };
        let nulls_not_distinct: bool = index_row.get(12);
        let Some((_, table)) = self.tables.get_mut(&table_oid) else { return Ok(()) };
        let Some(constraint) = table.constraints.get_mut(&name) else { return Ok(()) };
        constraint.include_columns = include;
        constraint.nulls_not_distinct = nulls_not_distinct && constraint.kind == ConstraintKind::Unique;
        constraint.definition =
            cutover_sql::ddl::key_definition(constraint.kind == ConstraintKind::PrimaryKey, constraint);
        Ok(())
    }

    fn indexes(
        &mut self,
        rows: &[Row],
        relations: &Relations,
        inputs: &mut IndexInputs,
        collations: &HashMap<u32, QualName>,
        pending: &mut PendingKeys,
    ) -> Result<(), Error> {
        let IndexInputs { opclasses, options_by_index } = inputs;
        for row in rows {
            let table_oid = oid(row, 1);
            let Some((rel, _)) = relations.by_oid.get(&table_oid) else { continue };
            if self.oids.class.contains_key(&oid(row, 0)) {
                // The index of a constraint, which stands for it.
                if let Some(key) = pending.remove(&oid(row, 0)) {
                    self.finish_key_definition(key, row)?;
                }
                continue;
            }
            let name = text(row, 2);
            self.oids.class.insert(oid(row, 0), ObjId::Index { name: QualName::new(rel.schema.clone(), name.clone()) });
            let parent_index = match (opt_text(row, 14), opt_text(row, 15)) {
                (Some(s), Some(n)) => Some(QualName::new(s, n)),
                _ => None,
            };
            let attnums: Vec<i16> = row.get(5);
            let key_count = (row.get::<_, i16>(6).max(0) as usize).min(attnums.len());
            let classes: Vec<u32> = row.get(7);
            let index_collations: Vec<u32> = row.get(8);
            let flags: Vec<i16> = row.get(9);
            let expressions: Vec<Option<String>> = row.get::<_, Option<Vec<Option<String>>>>(10).unwrap_or_default();
            let attoptions = options_by_index.remove(&oid(row, 0)).unwrap_or_default();
            let mut keys = Vec::with_capacity(key_count);
            for (k, &attnum) in attnums.iter().take(key_count).enumerate() {
                let column =
                    (attnum > 0).then(|| self.oids.attnames.get(&(table_oid, attnum as i32)).cloned()).flatten();
                let expression = if attnum == 0 { expressions.get(k).cloned().flatten() } else { None };
                // The collation is printed when it is not what the column (or, for an
                // expression, the database default) would give.
                let natural = if attnum > 0 {
                    self.oids.attcollations.get(&(table_oid, attnum as i32)).copied().unwrap_or(0)
                } else {
                    DEFAULT_COLLATION_OID
                };
                let coll = index_collations.get(k).copied().unwrap_or(0);
                let collation = (coll != 0 && coll != natural).then(|| collations.get(&coll).cloned()).flatten();
                let flag = flags.get(k).copied().unwrap_or(0);
                let descending = flag & 1 != 0;
                keys.push(IndexKey {
                    column,
                    expression,
                    collation,
                    opclass: classes.get(k).and_then(|c| opclasses.get(c)).cloned().flatten(),
                    opclass_options: attoptions
                        .iter()
                        .find(|(n, _)| *n as usize == k + 1)
                        .map(|(_, o)| o.clone())
                        .unwrap_or_default(),
                    descending,
                    nulls_first: flag & 2 != 0,
                });
            }
            let include_columns = attnums
                .iter()
                .skip(key_count)
                .filter_map(|&n| self.oids.attnames.get(&(table_oid, n as i32)).cloned())
                .collect();
            let mut options: Vec<String> = row.get::<_, Option<Vec<String>>>(17).unwrap_or_default();
            options.sort();
            let index = Index {
                method: text(row, 3),
                unique: row.get(4),
                keys,
                include_columns,
                predicate: opt_text(row, 11),
                nulls_not_distinct: row.get(12),
                options,
                valid: row.get(13),
                parent_index,
                comment: opt_text(row, 16),
            };
            if let Some((_, table)) = self.tables.get_mut(&table_oid) {
                table.indexes.insert(name, index);
            } else if let Some((_, view)) = self.views.get_mut(&table_oid) {
                view.indexes.insert(name, index);
            }
        }
        Ok(())
    }

    fn triggers(&mut self, rows: &[Row], relations: &Relations) {
        for row in rows {
            let Some((rel, _)) = relations.by_oid.get(&oid(row, 1)) else { continue };
            let name = text(row, 2);
            self.oids.triggers.insert(oid(row, 0), ObjId::Trigger { table: rel.clone(), name: name.clone() });
            let trigger = Trigger {
                definition: text(row, 3),
                enabled: first_char(&text(row, 4)),
                function: FunctionId { name: QualName::new(text(row, 5), text(row, 6)), identity_args: text(row, 7) },
                comment: opt_text(row, 8),
            };
            if let Some((_, table)) = self.tables.get_mut(&oid(row, 1)) {
                table.triggers.insert(name, trigger);
            } else if let Some((_, view)) = self.views.get_mut(&oid(row, 1)) {
                view.triggers.insert(name, trigger);
            }
        }
    }

    fn policies(&mut self, rows: &[Row], relations: &Relations) {
        for row in rows {
            let Some((rel, RelKind::Table)) = relations.by_oid.get(&oid(row, 1)) else { continue };
            let Some((_, table)) = self.tables.get_mut(&oid(row, 1)) else { continue };
            let name = text(row, 2);
            self.oids.policies.insert(oid(row, 0), ObjId::Policy { table: rel.clone(), name: name.clone() });
            let mut roles: Vec<Grantee> = row.get::<_, Vec<Option<String>>>(5).into_iter().map(grantee).collect();
            roles.sort();
            let command = match text(row, 3).as_str() {
                "r" => "SELECT",
                "a" => "INSERT",
                "w" => "UPDATE",
                "d" => "DELETE",
                _ => "ALL",
            };
            table.policies.insert(
                name,
                Policy {
                    command: command.into(),
                    permissive: row.get(4),
                    roles,
                    using: opt_text(row, 6),
                    with_check: opt_text(row, 7),
                    comment: opt_text(row, 8),
                },
            );
        }
    }

    fn functions(&mut self, rows: &[Row]) -> Result<(), Error> {
        for row in rows {
            let id = FunctionId { name: QualName::new(text(row, 1), text(row, 2)), identity_args: text(row, 7) };
            self.oids.procs.insert(oid(row, 0), ObjId::Function { id: id.clone() });
            self.catalog.functions.insert(
                id,
                Function {
                    kind: if text(row, 3) == "p" { RoutineKind::Procedure } else { RoutineKind::Function },
                    definition: text(row, 4),
                    language: text(row, 5),
                    arguments: text(row, 6),
                    result: opt_text(row, 8),
                    comment: opt_text(row, 9),
                    grants: grants(row, 10)?,
                    sql_body: row.get(11),
                    volatility: match text(row, 12).as_str() {
                        "i" => Volatility::Immutable,
                        "s" => Volatility::Stable,
                        _ => Volatility::Volatile,
                    },
                },
            );
        }
        Ok(())
    }

    fn statistics(&mut self, rows: &[Row], relations: &Relations) {
        for row in rows {
            let Some((table, RelKind::Table)) = relations.by_oid.get(&oid(row, 3)) else { continue };
            let name = QualName::new(text(row, 1), text(row, 2));
            self.oids.statistics.insert(oid(row, 0), ObjId::Statistics { name: name.clone() });
            self.catalog.statistics.insert(
                name,
                Statistics {
                    table: table.clone(),
                    definition: text(row, 4),
                    target: row.get(5),
                    comment: opt_text(row, 6),
                },
            );
        }
    }

    /// Dependencies between modelled objects; `element` maps array types to their element.
    fn dependencies(&mut self, rows: &[Row], element: &HashMap<u32, u32>) -> Result<(), Error> {
        for row in rows {
            let (classid, objid, subid) = (oid(row, 0), oid(row, 1), row.get::<_, i32>(2));
            let (refclassid, mut refobjid, refsubid) = (oid(row, 3), oid(row, 4), row.get::<_, i32>(5));
            if refclassid == PG_TYPE
                && let Some(&elem) = element.get(&refobjid)
            {
                refobjid = elem;
            }
            let deptype = text(row, 6);
            let Some(mut dependent) = self.oids.resolve(classid, objid, subid) else { continue };
            let Some(referenced) = self.oids.resolve(refclassid, refobjid, refsubid) else { continue };
            if matches!(dependent, ObjId::Extension { .. }) || dependent == referenced {
                continue;
            }
            // A sequence's automatic dependency on a column is its OWNED BY link.
            if let (ObjId::Sequence { name }, ObjId::Column { .. }, "a") = (&dependent, &referenced, deptype.as_str()) {
                dependent = ObjId::SequenceOwner { name: name.clone() };
            }
            self.catalog.dependencies.push(Dependency { dependent, referenced });
        }
        Ok(())
    }
}

/// Primary keys and unique constraints waiting for their index: index OID → (table OID,
/// constraint name).
type PendingKeys = HashMap<u32, (u32, String)>;

fn check_keys_finished(pending: PendingKeys) -> Result<(), Error> {
    match pending.into_values().next() {
        Some((_, name)) => Err(Error::Query {
            what: "reading indexes".into(),
            message: format!("the index of constraint {name} was not read"),
        }),
        None => Ok(()),
    }
}

/// Statements without parameters. Each is sent whole (parse, bind, execute) the moment its
/// future is first polled, so the queries reach the server in the order they were listed and
/// without a prepare round trip each; the results are then read in that same order.
const NO_PARAMETERS: [(i32, tokio_postgres::types::Type); 0] = [];

/// Rows read before the build takes them, at most: enough to amortize the hand-over,
/// few enough that a result of a million rows never sits in memory whole.
const CHUNK_ROWS: usize = 1024;

/// The results of the pipelined queries, in the order they were sent.
struct Pipeline<F: Future> {
    results: FuturesOrdered<F>,
}

impl<F: Future<Output = Result<QueryResult, Error>>> Pipeline<F> {
    async fn next(&mut self) -> Result<QueryResult, Error> {
        self.results.next().await.expect("one result per query")
    }

    async fn all(&mut self) -> Result<Vec<Row>, Error> {
        self.next().await?.all().await
    }
}

/// One pipelined query's result, still arriving.
struct QueryResult {
    name: &'static str,
    rows: RowStream,
}

impl QueryResult {
    fn failed(name: &str, e: tokio_postgres::Error) -> Error {
        Error::query(format!("reading {name}"), e)
    }

    /// The whole result, for the small ones.
    async fn all(self) -> Result<Vec<Row>, Error> {
        let name = self.name;
        self.rows.try_collect().await.map_err(|e| Self::failed(name, e))
    }

    /// Hands the rows to `build` in chunks as they arrive.
    async fn each_chunk(self, mut build: impl FnMut(&[Row]) -> Result<(), Error>) -> Result<(), Error> {
        let mut rows = std::pin::pin!(self.rows);
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        while let Some(row) = rows.next().await {
            chunk.push(row.map_err(|e| Self::failed(self.name, e))?);
            if chunk.len() == CHUNK_ROWS {
                build(&chunk)?;
                chunk.clear();
            }
        }
        build(&chunk)
    }
}

/// What the columns query needs from the three before it.
struct ColumnInputs<'a> {
    /// (table, attnum) → (pg_attrdef OID, expression).
    defaults: HashMap<(u32, i16), (u32, String)>,
    comments: HashMap<(u32, i32), String>,
    identities: HashMap<(u32, i32), &'a Row>,
}

impl<'a> ColumnInputs<'a> {
    fn new(defaults: &[Row], comments: &[Row], identities: &'a [Row]) -> ColumnInputs<'a> {
        ColumnInputs {
            defaults: defaults.iter().map(|r| ((oid(r, 1), r.get(2)), (oid(r, 0), text(r, 3)))).collect(),
            comments: comments.iter().map(|r| ((oid(r, 0), r.get(1)), text(r, 2))).collect(),
            identities: identities.iter().map(|r| ((oid(r, 0), r.get::<_, i32>(1)), r)).collect(),
        }
    }
}

/// The attribute numbers of each relation's columns, in the order they were added.
#[derive(Default)]
struct ColumnOrder {
    attnums: HashMap<u32, Vec<i16>>,
}

impl ColumnOrder {
    fn arrived(&mut self, rel: u32, attnum: i16) {
        self.attnums.entry(rel).or_default().push(attnum);
    }
}

fn sort_by_attnum<T>(items: &mut Vec<T>, attnums: &[i16]) {
    if items.len() != attnums.len() {
        return; // cannot happen (one number per column added); never drop a column over it
    }
    let mut keyed: Vec<(i16, T)> = attnums.iter().copied().zip(items.drain(..)).collect();
    keyed.sort_by_key(|(n, _)| *n);
    items.extend(keyed.into_iter().map(|(_, item)| item));
}

/// What the indexes query needs from the two before it.
struct IndexInputs {
    /// Operator classes by OID: `None` for a default class (not printed), else its name.
    opclasses: HashMap<u32, Option<QualName>>,
    /// Operator class options by index OID: (attribute number, options).
    options_by_index: HashMap<u32, Vec<(i16, Vec<String>)>>,
}

impl IndexInputs {
    fn new(opclasses: &[Row], attoptions: &[Row]) -> IndexInputs {
        let mut options_by_index: HashMap<u32, Vec<(i16, Vec<String>)>> = HashMap::default();
        for r in attoptions {
            options_by_index.entry(oid(r, 0)).or_default().push((r.get(1), r.get(2)));
        }
        let opclasses = opclasses
            .iter()
            .map(|r| (oid(r, 0), (!r.get::<_, bool>(3)).then(|| QualName::new(text(r, 1), text(r, 2)))))
            .collect();
        IndexInputs { opclasses, options_by_index }
    }
}

/// `pg_get_constraintdef` appends ` NOT VALID` to unvalidated constraints; the model keeps
/// validity as a flag of its own.
fn strip_not_valid(definition: String, validated: bool) -> String {
    if !validated && let Some(stripped) = definition.strip_suffix(" NOT VALID") {
        return stripped.to_string();
    }
    definition
}
