//! Names that go into URLs: a repository (`owner/name`) and a branch. Both come from
//! configuration or from Linear (`Issue.branchName`), so both are checked before use.

use std::fmt;

use crate::error::GitHubError;

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    owner: String,
    name: String,
}

impl Repo {
    /// Parses `owner/name`: GitHub's owner and repository names are ASCII letters, digits,
    /// `-`, `_` and `.` (not `.` or `..` alone).
    pub fn parse(text: &str) -> Result<Repo, GitHubError> {
        let bad =
            || GitHubError::Invalid(format!("\"{}\" is not a GitHub repository (owner/name)", text.escape_default()));
        let (owner, name) = text.trim().split_once('/').ok_or_else(bad)?;
        let ok = |part: &str| {
            !part.is_empty()
                && part.len() <= 100
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !ok(owner) || !ok(name) {
            return Err(bad());
        }
        Ok(Repo { owner: owner.to_string(), name: name.trim_end_matches(".git").to_string() })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// `/repos/owner/name`.
    pub(crate) fn path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Checks a branch name against git's rules for ref names (`git check-ref-format`), so a
/// hostile name cannot address another ref or another endpoint.
pub fn check_branch(name: &str) -> Result<(), GitHubError> {
    let bad = |why: &str| {
        Err(GitHubError::Invalid(format!("\"{}\" is not a usable branch name: {why}", name.escape_default())))
    };
    if name.is_empty() || name.len() > 200 {
        return bad("empty or longer than 200 bytes");
    }
    if name.bytes().any(|b| b.is_ascii_control() || b == b' ' || b"~^:?*[\\".contains(&b)) {
        return bad("it contains a space, a control character or one of ~^:?*[\\");
    }
    if name.starts_with('-') || name.starts_with('/') || name.ends_with('/') || name.ends_with('.') {
        return bad("it starts with - or /, or ends with / or .");
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") || name == "@" {
        return bad("it contains .., // or @{");
    }
    if name.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        return bad("a component starts with . or ends with .lock");
    }
    Ok(())
}

/// Percent-encodes a branch for a URL path, keeping `/` (GitHub takes `heads/a/b` as is).
pub(crate) fn encode_path(text: &str) -> String {
    encode(text, true)
}

/// Percent-encodes a query value.
pub(crate) fn encode_query(text: &str) -> String {
    encode(text, false)
}

fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_parse_and_refuse_path_tricks() {
        let repo = Repo::parse("acme/shop-api").unwrap();
        assert_eq!((repo.owner(), repo.name(), repo.path().as_str()), ("acme", "shop-api", "/repos/acme/shop-api"));
        for bad in ["acme", "acme/", "/shop", "acme/../x", "acme/shop/x", "ac me/shop", "acme/..", "acme/shop?x=1"] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn branch_names_follow_git() {
        for ok in ["eng-123-add-column", "alice/eng-123-add-column", "feature/a.b"] {
            check_branch(ok).unwrap();
        }
        for bad in ["", "a b", "a..b", "-x", "a/", "/a", "a.lock", "a/.b", "x~1", "a:b", "a\nb", "@", "a@{1}", "a//b"] {
            assert!(check_branch(bad).is_err(), "{bad:?}");
        }
        assert_eq!(encode_path("alice/eng-1 é"), "alice/eng-1%20%C3%A9");
        assert_eq!(encode_query("acme:alice/x"), "acme%3Aalice%2Fx");
    }
}
