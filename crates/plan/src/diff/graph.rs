//! Ordering statements by what they create, drop and depend on.
//!
//! Every statement is a [`Node`] that says which objects it creates (or alters into their
//! new form), which it drops, which names it frees (`vacates`), which objects of the new
//! catalog it needs (`requires`) and which objects of the old catalog it stops needing
//! (`releases`). From these the edges follow:
//!
//! 1. a creator of X runs before every statement that requires X;
//! 2. a statement that releases X runs before every statement that drops X;
//! 3. a *drop* that releases X also runs before every statement that vacates X (so a
//!    dependent is gone before its referent is renamed away or altered in place);
//! 4. a statement that must run once X is gone (`after_drop`) follows the drop of X;
//! 5. a statement that vacates X runs before the statement that creates X again, and
//!    before any statement that creates another object under the same relation name
//!    (tables, views, sequences, indexes and composite types share one namespace).
//!
//! Ties are broken by a rank (drops of dependents, then creates, then table changes, then
//! late drops, then comments and grants) and then by generation order, which keeps the
//! output stable and readable.

use crate::hazard::Hazard;
use cutover_schema::{ObjId, QualName};
use cutover_sql::ddl::Stmt;
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Tie-breaking ranks; lower runs earlier when the dependencies allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Session = 0,
    DropTriggersPolicies = 10,
    DropViews = 11,
    DropForeignKeys = 12,
    DropConstraintsIndexes = 13,
    DropRoutines = 14,
    CreateSchemas = 20,
    CreateExtensions = 21,
    CreateCollations = 22,
    Types = 23,
    CreateSequences = 24,
    CreateRoutines = 25,
    Tables = 30,
    DropColumns = 31,
    SequenceOwners = 35,
    CreateSqlRoutines = 40,
    CreateViews = 45,
    AddConstraintsIndexes = 50,
    AddForeignKeys = 52,
    CreateTriggersPolicies = 55,
    DropTables = 60,
    DropSequences = 62,
    DropLateRoutines = 63,
    DropTypes = 64,
    DropCollations = 65,
    DropExtensions = 68,
    DropSchemas = 69,
    Comments = 70,
    Grants = 71,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub stmt: Stmt,
    pub hazards: Vec<Hazard>,
    pub rank: Rank,
    pub creates: Vec<ObjId>,
    pub drops: Vec<ObjId>,
    pub vacates: Vec<ObjId>,
    pub requires: Vec<ObjId>,
    pub releases: Vec<ObjId>,
    /// Objects of the old catalog that must be gone before this statement runs (a column
    /// can only lose NOT NULL once the primary key over it is dropped).
    pub after_drop: Vec<ObjId>,
    /// Nodes (by index) that must run before this one, beyond what the objects imply.
    pub after: Vec<usize>,
    /// Relation names this statement takes or frees beyond its objects' own (the index of a
    /// primary key, unique or exclusion constraint shares the namespace of tables).
    pub takes_names: Vec<QualName>,
    pub frees_names: Vec<QualName>,
}

impl Node {
    pub fn new(stmt: Stmt, rank: Rank) -> Node {
        Node {
            stmt,
            hazards: Vec::new(),
            rank,
            creates: Vec::new(),
            drops: Vec::new(),
            vacates: Vec::new(),
            requires: Vec::new(),
            releases: Vec::new(),
            after_drop: Vec::new(),
            takes_names: Vec::new(),
            frees_names: Vec::new(),
            after: Vec::new(),
        }
    }

    fn is_drop(&self) -> bool {
        !self.drops.is_empty()
    }
}

/// The nodes in an order that satisfies every edge; `cycles` counts the times no node was
/// ready and the lowest-ranked one was taken anyway (zero unless dependencies are circular).
pub struct Ordered {
    pub nodes: Vec<Node>,
    /// For each node in output order, the output positions of the nodes it must follow.
    pub after: Vec<Vec<usize>>,
    pub cycles: usize,
}

pub fn order(nodes: Vec<Node>) -> Ordered {
    let n = nodes.len();
    let mut creators: HashMap<&ObjId, Vec<usize>> = HashMap::default();
    let mut droppers: HashMap<&ObjId, Vec<usize>> = HashMap::default();
    let mut vacaters: HashMap<&ObjId, Vec<usize>> = HashMap::default();
    let mut name_vacaters: HashMap<&QualName, Vec<usize>> = HashMap::default();
    for (i, node) in nodes.iter().enumerate() {
        for id in &node.creates {
            creators.entry(id).or_default().push(i);
        }
        for id in &node.drops {
            droppers.entry(id).or_default().push(i);
        }
        for id in &node.vacates {
            vacaters.entry(id).or_default().push(i);
            if let Some(name) = relation_name(id) {
                name_vacaters.entry(name).or_default().push(i);
            }
        }
        for name in &node.frees_names {
            name_vacaters.entry(name).or_default().push(i);
        }
    }

    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut edge = |from: usize, to: usize| {
        if from != to {
            successors[from].push(to);
        }
    };
    for (i, node) in nodes.iter().enumerate() {
        for id in &node.requires {
            // Statements that each alter X in place are peers, ordered by `after`, not by
            // requiring each other.
            if node.creates.contains(id) {
                continue;
            }
            for &c in creators.get(id).into_iter().flatten() {
                edge(c, i);
            }
        }
        for id in &node.releases {
            for &d in droppers.get(id).into_iter().flatten() {
                edge(i, d);
            }
            if node.is_drop() {
                for &v in vacaters.get(id).into_iter().flatten() {
                    edge(i, v);
                }
            }
        }
        for id in &node.vacates {
            for &c in creators.get(id).into_iter().flatten() {
                edge(i, c);
            }
        }
        for &a in &node.after {
            edge(a, i);
        }
        for id in &node.after_drop {
            for &d in droppers.get(id).into_iter().flatten() {
                edge(d, i);
            }
        }
        let taken = node.creates.iter().filter_map(relation_name).chain(&node.takes_names);
        for name in taken {
            for &v in name_vacaters.get(name).into_iter().flatten() {
                edge(v, i);
            }
        }
    }
    for s in &mut successors {
        s.sort_unstable();
        s.dedup();
    }
    let mut indegree = vec![0usize; n];
    for s in &successors {
        for &t in s {
            indegree[t] += 1;
        }
    }

    let key = |i: usize| Reverse((nodes[i].rank, i));
    let mut ready: BinaryHeap<Reverse<(Rank, usize)>> = (0..n).filter(|&i| indegree[i] == 0).map(key).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut cycles = 0;
    while order.len() < n {
        let next = match ready.pop() {
            Some(Reverse((_, i))) if !done[i] => i,
            Some(_) => continue,
            None => {
                // A cycle: take the lowest-ranked remaining node and carry on.
                cycles += 1;
                (0..n).filter(|&i| !done[i]).min_by_key(|&i| (nodes[i].rank, i)).expect("nodes remain")
            }
        };
        done[next] = true;
        order.push(next);
        for &s in &successors[next] {
            indegree[s] = indegree[s].saturating_sub(1);
            if indegree[s] == 0 && !done[s] {
                ready.push(key(s));
            }
        }
    }

    let mut position = vec![0usize; n];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos;
    }
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (from, succ) in successors.iter().enumerate() {
        for &to in succ {
            // Edges broken to escape a cycle point backwards; they constrain nothing.
            if position[from] < position[to] {
                after[position[to]].push(position[from]);
            }
        }
    }
    for a in &mut after {
        a.sort_unstable();
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    Ordered { nodes: order.into_iter().map(|i| slots[i].take().expect("each node once")).collect(), after, cycles }
}

/// The name an object takes in `pg_class`/`pg_type`, where tables, views, sequences,
/// indexes and composite types must not collide.
fn relation_name(id: &ObjId) -> Option<&QualName> {
    match id {
        ObjId::Table { name }
        | ObjId::View { name }
        | ObjId::Sequence { name }
        | ObjId::Index { name }
        | ObjId::Type { name } => Some(name),
        _ => None,
    }
}
