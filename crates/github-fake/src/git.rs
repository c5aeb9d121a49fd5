//! Git objects as git stores them, so ids are the real SHA-1s: a blob, a tree or a commit made
//! twice with the same content is the same object (which is what makes Cutover's retries safe,
//! and what the fake must not hide).

use std::collections::{BTreeMap, HashMap};

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch (UTC).
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeItem {
    pub name: String,
    /// "100644", "100755", "120000" (blobs) or "40000" (trees).
    pub mode: String,
    pub sha: String,
}

impl TreeItem {
    pub fn is_tree(&self) -> bool {
        self.mode == "40000"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitObject {
    pub tree: String,
    pub parents: Vec<String>,
    pub author: Signature,
    pub committer: Signature,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    Blob(Vec<u8>),
    Tree(Vec<TreeItem>),
    Commit(CommitObject),
}

/// A repository's objects by id.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    map: HashMap<String, Object>,
}

fn hash(kind: &str, payload: &[u8]) -> String {
    let mut data = format!("{kind} {}\0", payload.len()).into_bytes();
    data.extend_from_slice(payload);
    hex::encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, &data))
}

impl Objects {
    pub fn get(&self, sha: &str) -> Option<&Object> {
        self.map.get(sha)
    }

    pub fn commits(&self) -> usize {
        self.map.values().filter(|o| matches!(o, Object::Commit(_))).count()
    }

    pub fn put_blob(&mut self, content: Vec<u8>) -> String {
        let sha = hash("blob", &content);
        self.map.entry(sha.clone()).or_insert(Object::Blob(content));
        sha
    }

    /// Stores a tree (entries sorted as git sorts them: a tree's name compares with a `/`).
    pub fn put_tree(&mut self, mut items: Vec<TreeItem>) -> String {
        let key = |item: &TreeItem| {
            let mut name = item.name.clone().into_bytes();
            if item.is_tree() {
                name.push(b'/');
            }
            name
        };
        items.sort_by_key(key);
        let mut payload = Vec::new();
        for item in &items {
            payload.extend_from_slice(format!("{} {}\0", item.mode, item.name).as_bytes());
            payload.extend_from_slice(&hex::decode(&item.sha).unwrap_or_else(|_| vec![0; 20]));
        }
        let sha = hash("tree", &payload);
        self.map.entry(sha.clone()).or_insert(Object::Tree(items));
        sha
    }

    pub fn put_commit(&mut self, commit: CommitObject) -> String {
        let mut text = format!("tree {}\n", commit.tree);
        for parent in &commit.parents {
            text.push_str(&format!("parent {parent}\n"));
        }
        for (role, who) in [("author", &commit.author), ("committer", &commit.committer)] {
            text.push_str(&format!("{role} {} <{}> {} +0000\n", who.name, who.email, who.time));
        }
        text.push('\n');
        text.push_str(&commit.message);
        let sha = hash("commit", text.as_bytes());
        self.map.entry(sha.clone()).or_insert(Object::Commit(commit));
        sha
    }

    /// Every file below a tree: path → (mode, blob id).
    pub fn flatten(&self, tree: &str) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        self.flatten_into(tree, "", &mut out);
        out
    }

    fn flatten_into(&self, tree: &str, prefix: &str, out: &mut BTreeMap<String, (String, String)>) {
        let Some(Object::Tree(items)) = self.get(tree) else { return };
        for item in items {
            let path = format!("{prefix}{}", item.name);
            if item.is_tree() {
                self.flatten_into(&item.sha, &format!("{path}/"), out);
            } else {
                out.insert(path, (item.mode.clone(), item.sha.clone()));
            }
        }
    }

    /// Every entry below a tree as GitHub's recursive tree lists it: (path, item), trees
    /// before their contents.
    pub fn walk(&self, tree: &str) -> Vec<(String, TreeItem)> {
        let mut out = Vec::new();
        self.walk_into(tree, "", &mut out);
        out
    }

    fn walk_into(&self, tree: &str, prefix: &str, out: &mut Vec<(String, TreeItem)>) {
        let Some(Object::Tree(items)) = self.get(tree) else { return };
        for item in items {
            let path = format!("{prefix}{}", item.name);
            out.push((path.clone(), item.clone()));
            if item.is_tree() {
                self.walk_into(&item.sha, &format!("{path}/"), out);
            }
        }
    }

    /// Builds the nested trees for a flat set of files; returns the root tree's id.
    pub fn build(&mut self, files: &BTreeMap<String, (String, String)>) -> String {
        let mut here: Vec<TreeItem> = Vec::new();
        let mut below: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        for (path, (mode, sha)) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    below.entry(dir.to_string()).or_default().insert(rest.to_string(), (mode.clone(), sha.clone()));
                }
                None => here.push(TreeItem { name: path.clone(), mode: mode.clone(), sha: sha.clone() }),
            }
        }
        for (dir, files) in below {
            let sha = self.build(&files);
            here.push(TreeItem { name: dir, mode: "40000".into(), sha });
        }
        self.put_tree(here)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_gits() {
        let mut objects = Objects::default();
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(objects.put_blob(b"hello\n".to_vec()), "ce013625030ba8dba906f756967f9e9ca394464a");
        // `git mktree </dev/null`: the empty tree.
        assert_eq!(objects.put_tree(Vec::new()), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }
}
