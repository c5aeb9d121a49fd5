//! The state of one diff: both catalogs, their dependency graphs, what must be replaced,
//! and the statements generated so far.

use super::DiffOptions;
use super::graph::{Node, Rank};
use cutover_schema::{Catalog, ObjId, QualName};
use cutover_sql::ddl::Stmt;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Dependencies of one catalog: what each object needs, and what needs it.
#[derive(Default)]
pub struct Deps {
    referenced: HashMap<ObjId, Vec<ObjId>>,
    dependents: HashMap<ObjId, Vec<ObjId>>,
    ids: HashSet<ObjId>,
}

impl Deps {
    pub fn new(catalog: &Catalog) -> Deps {
        let mut deps = Deps { ids: catalog.object_ids().into_iter().collect(), ..Deps::default() };
        for d in &catalog.dependencies {
            deps.add(d.dependent.clone(), d.referenced.clone());
        }
        // Structural dependencies that pg_depend does not record.
        for (name, table) in &catalog.tables {
            let table_id = ObjId::Table { name: name.clone() };
            for sub in table.sub_objects(name) {
                match &sub {
                    ObjId::ColumnDefault { table, column } => {
                        deps.add(sub.clone(), ObjId::Column { table: table.clone(), name: column.clone() })
                    }
                    _ => deps.add(sub, table_id.clone()),
                }
            }
        }
        for (name, view) in &catalog.views {
            let view_id = ObjId::View { name: name.clone() };
            for index in view.indexes.keys() {
                deps.add(ObjId::Index { name: QualName::new(name.schema.clone(), index.clone()) }, view_id.clone());
            }
            for trigger in view.triggers.keys() {
                deps.add(ObjId::Trigger { table: name.clone(), name: trigger.clone() }, view_id.clone());
            }
        }
        for (name, seq) in &catalog.sequences {
            if let Some((table, column)) = &seq.owned_by {
                let owner = ObjId::SequenceOwner { name: name.clone() };
                deps.add(owner.clone(), ObjId::Sequence { name: name.clone() });
                deps.add(owner, ObjId::Column { table: table.clone(), name: column.clone() });
            }
        }
        for list in deps.referenced.values_mut().chain(deps.dependents.values_mut()) {
            list.sort();
            list.dedup();
        }
        deps
    }

    fn add(&mut self, dependent: ObjId, referenced: ObjId) {
        if dependent == referenced {
            return;
        }
        self.dependents.entry(referenced.clone()).or_default().push(dependent.clone());
        self.referenced.entry(dependent).or_default().push(referenced);
    }

    pub fn of(&self, id: &ObjId) -> &[ObjId] {
        self.referenced.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn dependents_of(&self, id: &ObjId) -> &[ObjId] {
        self.dependents.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, id: &ObjId) -> bool {
        self.ids.contains(id)
    }
}

pub struct Ctx<'a> {
    pub old: &'a Catalog,
    pub new: &'a Catalog,
    pub opts: &'a DiffOptions,
    pub old_deps: Deps,
    pub new_deps: Deps,
    /// Objects present on both sides that are dropped and created again.
    pub replaced: BTreeSet<ObjId>,
    /// Columns whose type must be set again although its name is unchanged (the type
    /// itself is replaced).
    pub retyped: BTreeSet<ObjId>,
    /// Enums and domains replaced by renaming the old one away: old name -> temporary name.
    pub renamed_types: BTreeMap<QualName, String>,
    pub nodes: Vec<Node>,
}

impl<'a> Ctx<'a> {
    pub fn new(old: &'a Catalog, new: &'a Catalog, opts: &'a DiffOptions) -> Ctx<'a> {
        Ctx {
            old,
            new,
            opts,
            old_deps: Deps::new(old),
            new_deps: Deps::new(new),
            replaced: BTreeSet::new(),
            retyped: BTreeSet::new(),
            renamed_types: BTreeMap::new(),
            nodes: Vec::new(),
        }
    }

    pub fn is_replaced(&self, id: &ObjId) -> bool {
        self.replaced.contains(id)
    }

    pub fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// A statement that creates `creates` (or brings them to their new form) and so needs
    /// everything they depend on in the new catalog.
    pub fn create(&self, stmt: Stmt, rank: Rank, creates: Vec<ObjId>) -> Node {
        let mut node = Node::new(stmt, rank);
        let mut requires: Vec<ObjId> = creates
            .iter()
            .flat_map(|id| self.new_deps.of(id).iter().cloned())
            .filter(|d| !creates.contains(d))
            .collect();
        requires.sort();
        requires.dedup();
        node.requires = requires;
        node.creates = creates;
        node
    }

    /// A statement that drops `drops` and so must wait for everything that stops using
    /// them, and comes before the drop of anything they used.
    pub fn drop(&self, stmt: Stmt, rank: Rank, drops: Vec<ObjId>) -> Node {
        let mut node = Node::new(stmt, rank);
        let mut releases: Vec<ObjId> =
            drops.iter().flat_map(|id| self.old_deps.of(id).iter().cloned()).filter(|d| !drops.contains(d)).collect();
        releases.sort();
        releases.dedup();
        node.releases = releases;
        node.vacates = drops.clone();
        node.drops = drops;
        node
    }

    /// A statement that changes something in place and only needs `requires` to exist.
    pub fn alter(&self, stmt: Stmt, rank: Rank, requires: Vec<ObjId>) -> Node {
        let mut node = Node::new(stmt, rank);
        node.requires = requires;
        node
    }

    /// The new-catalog dependencies of `id`.
    pub fn new_deps_of(&self, id: &ObjId) -> Vec<ObjId> {
        self.new_deps.of(id).to_vec()
    }

    /// The old-catalog dependencies of `id`.
    pub fn old_deps_of(&self, id: &ObjId) -> Vec<ObjId> {
        self.old_deps.of(id).to_vec()
    }
}
