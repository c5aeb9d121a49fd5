//! The state of one diff: both catalogs, their dependency graphs, what must be replaced,
//! and the statements generated so far.

use super::DiffOptions;
use super::graph::{Node, Rank};
use cutover_schema::{Catalog, ObjId, QualName};
use cutover_sql::ddl::Stmt;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;

/// Dependencies of one catalog: what each object needs, and what needs it. Objects are
/// interned once (the table holds indices into `ids`, hashed by the object itself), so the
/// graph never copies a name.
#[derive(Default)]
pub struct Deps {
    ids: Vec<ObjId>,
    table: HashTable<u32>,
    /// Whether the object exists in the catalog (not only referenced).
    exists: Vec<bool>,
    referenced: Vec<Vec<u32>>,
    dependents: Vec<Vec<u32>>,
}

fn hash(id: &ObjId) -> u64 {
    FxBuildHasher.hash_one(id)
}

impl Deps {
    pub fn new(catalog: &Catalog) -> Deps {
        let mut deps = Deps::default();
        // Structural dependencies that pg_depend does not record follow from the order of
        // `object_ids`: sub-objects come right after their table or view, a column's default
        // right after the column, an OWNED BY link right after its sequence.
        let (mut relation, mut column, mut sequence) = (0u32, 0u32, 0u32);
        for id in catalog.object_ids() {
            let parent = match &id {
                ObjId::Column { .. } | ObjId::Constraint { .. } | ObjId::Index { .. } => Some(relation),
                ObjId::Trigger { .. } | ObjId::Policy { .. } => Some(relation),
                ObjId::ColumnDefault { .. } => Some(column),
                ObjId::SequenceOwner { .. } => Some(sequence),
                _ => None,
            };
            let i = deps.intern(id);
            deps.exists[i as usize] = true;
            match &deps.ids[i as usize] {
                ObjId::Table { .. } | ObjId::View { .. } => relation = i,
                ObjId::Column { .. } => column = i,
                ObjId::Sequence { .. } => sequence = i,
                _ => {}
            }
            if let Some(parent) = parent {
                deps.add(i, parent);
            }
        }
        for (name, seq) in &catalog.sequences {
            if let Some((table, column)) = &seq.owned_by {
                let owner = deps.intern(ObjId::SequenceOwner { name: name.clone() });
                let column = deps.intern(ObjId::Column { table: table.clone(), name: column.clone() });
                deps.add(owner, column);
            }
        }
        for d in &catalog.dependencies {
            let (a, b) = (deps.intern_ref(&d.dependent), deps.intern_ref(&d.referenced));
            deps.add(a, b);
        }
        for list in deps.referenced.iter_mut().chain(deps.dependents.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        deps
    }

    fn find(&self, id: &ObjId) -> Option<u32> {
        self.table.find(hash(id), |&i| self.ids[i as usize] == *id).copied()
    }

    fn intern(&mut self, id: ObjId) -> u32 {
        if let Some(i) = self.find(&id) {
            return i;
        }
        let i = self.ids.len() as u32;
        let ids = &self.ids;
        self.table.insert_unique(hash(&id), i, |&j| hash(&ids[j as usize]));
        self.ids.push(id);
        self.exists.push(false);
        self.referenced.push(Vec::new());
        self.dependents.push(Vec::new());
        i
    }

    fn intern_ref(&mut self, id: &ObjId) -> u32 {
        match self.find(id) {
            Some(i) => i,
            None => self.intern(id.clone()),
        }
    }

    fn add(&mut self, dependent: u32, referenced: u32) {
        if dependent != referenced {
            self.dependents[referenced as usize].push(dependent);
            self.referenced[dependent as usize].push(referenced);
        }
    }

    /// What `id` depends on.
    pub fn of<'s>(&'s self, id: &ObjId) -> impl Iterator<Item = &'s ObjId> + 's {
        let list = self.find(id).map(|i| self.referenced[i as usize].as_slice()).unwrap_or(&[]);
        list.iter().map(|&i| &self.ids[i as usize])
    }

    /// What depends on `id`.
    pub fn dependents_of<'s>(&'s self, id: &ObjId) -> impl Iterator<Item = &'s ObjId> + 's {
        let list = self.find(id).map(|i| self.dependents[i as usize].as_slice()).unwrap_or(&[]);
        list.iter().map(|&i| &self.ids[i as usize])
    }

    /// Whether the object exists in the catalog.
    pub fn contains(&self, id: &ObjId) -> bool {
        self.find(id).is_some_and(|i| self.exists[i as usize])
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
        // The two graphs are independent and, for large catalogs, the largest part of a
        // diff's time: they are built side by side.
        let (old_deps, new_deps) = std::thread::scope(|scope| {
            let old_deps = scope.spawn(|| Deps::new(old));
            let new_deps = Deps::new(new);
            (old_deps.join().expect("building the dependency graph"), new_deps)
        });
        Ctx {
            old,
            new,
            opts,
            old_deps,
            new_deps,
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
        let mut requires: Vec<ObjId> =
            creates.iter().flat_map(|id| self.new_deps.of(id).cloned()).filter(|d| !creates.contains(d)).collect();
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
            drops.iter().flat_map(|id| self.old_deps.of(id).cloned()).filter(|d| !drops.contains(d)).collect();
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
        self.new_deps.of(id).cloned().collect()
    }

    /// The old-catalog dependencies of `id`.
    pub fn old_deps_of(&self, id: &ObjId) -> Vec<ObjId> {
        self.old_deps.of(id).cloned().collect()
    }
}
