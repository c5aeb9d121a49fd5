//! The GitHub Action (action.yml and scripts/ci): the action parses as YAML and names only
//! scripts that exist, inputs it declares and lint flags the binary has; the changed-files
//! selection on a real git history; the lint step's outputs; the comment upsert against a
//! local server speaking GitHub's issue-comments REST shapes (list with pages, create,
//! update), posting once and then updating in place. Not tested here: the run on GitHub
//! itself (the runner, `upload-sarif`, the token's permissions).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
    assert!(out.status.code().is_some(), "killed: {cmd:?}");
    out
}

/// action.yml as JSON, read by PyYAML (the workspace has no YAML crate).
fn action() -> serde_json::Value {
    let out = run(Command::new("python3").args([
        "-c",
        "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        root().join("action.yml").to_str().unwrap(),
    ]));
    assert!(out.status.success(), "action.yml must parse as YAML (needs python3 with PyYAML): {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_action_names_only_what_exists() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    let steps = action["runs"]["steps"].as_array().unwrap();
    let mut scripts = Vec::new();
    for step in steps {
        let whole = step.to_string();
        // Every ${{ inputs.X }} is declared.
        for part in whole.split("inputs.").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
            assert!(inputs.contains_key(&name), "undeclared input {name} in {whole}");
        }
        if let Some(script) = step["run"].as_str() {
            for part in script.split("$GITHUB_ACTION_PATH/").skip(1) {
                let path: String = part.chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
                scripts.push(path);
            }
        }
    }
    assert_eq!(
        scripts,
        [
            "scripts/ci/install-cutover.sh",
            "scripts/ci/changed-migrations.sh",
            "scripts/ci/lint.sh",
            "scripts/ci/upsert-comment.sh"
        ]
    );
    for script in &scripts {
        let meta = std::fs::metadata(root().join(script)).unwrap_or_else(|_| panic!("{script} exists"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert!(meta.permissions().mode() & 0o111 != 0, "{script} is executable");
        }
        let syntax = run(Command::new("bash").arg("-n").arg(root().join(script)));
        assert!(syntax.status.success(), "{script}: {}", text(&syntax.stderr));
    }
    let upload =
        steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@")));
    assert!(upload.is_some(), "the SARIF goes to code scanning");

    // The lint flags the scripts pass exist, and the formats they ask for.
    let help = text(&run(Command::new(env!("CARGO_BIN_EXE_cutover")).args(["lint", "--help"])).stdout);
    let lint = std::fs::read_to_string(root().join("scripts/ci/lint.sh")).unwrap();
    let flags: Vec<&str> = lint
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.len() > 2 && w.starts_with("--") && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    assert!(flags.contains(&"--format") && flags.contains(&"--pg-version"), "{flags:?}");
    for flag in flags {
        assert!(help.contains(flag), "cutover lint has no {flag}:\n{help}");
    }
    for format in ["human", "sarif", "markdown"] {
        assert!(lint.contains(&format!("--format {format}")), "lint.sh asks for {format}");
        assert!(help.contains(format), "cutover lint --format {format} exists:\n{help}");
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com"));
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

#[test]
fn changed_migrations_are_the_added_and_modified_ones_since_the_merge_base() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(repo.join("db/migrations")).unwrap();
    std::fs::write(repo.join("db/migrations/0001_a.sql"), "CREATE TABLE a (id int);\n").unwrap();
    std::fs::write(repo.join("db/migrations/0002_b.sql"), "CREATE TABLE b (id int);\n").unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "base"]);
    git(repo, &["checkout", "-qb", "feature"]);
    std::fs::write(repo.join("db/migrations/0001_a.sql"), "CREATE TABLE a (id bigint);\n").unwrap();
    std::fs::remove_file(repo.join("db/migrations/0002_b.sql")).unwrap();
    std::fs::write(repo.join("db/migrations/0003 c.sql"), "CREATE INDEX i ON a (id);\n").unwrap();
    std::fs::write(repo.join("notes.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(repo.join("README.md"), "x\n").unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "feature"]);
    let head = git(repo, &["rev-parse", "HEAD"]);
    // The base branch moves on: its new migration is not the pull request's.
    git(repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("db/migrations/0004_d.sql"), "CREATE TABLE d (id int);\n").unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "main moves"]);
    let base = git(repo, &["rev-parse", "HEAD"]);

    let list = dir.path().join("list.txt");
    let output = dir.path().join("output.txt");
    let out = run(Command::new(root().join("scripts/ci/changed-migrations.sh"))
        .arg(&list)
        .current_dir(repo)
        .env("BASE_SHA", &base)
        .env("HEAD_SHA", &head)
        .env("PATHS", "db/migrations/*.sql\n")
        .env("GITHUB_OUTPUT", &output));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "db/migrations/0001_a.sql\ndb/migrations/0003 c.sql\n");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "count=2\n");
}

#[test]
fn the_lint_step_writes_sarif_the_comment_and_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // A file name from the pull request is someone else's text: it stays one argument.
    let migration = dir.path().join("0001 $(touch pwned); `touch pwned2` index.sql");
    std::fs::write(&migration, "CREATE INDEX i ON t (c);\n").unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(&list, format!("{}\n", migration.display())).unwrap();
    let out_dir = dir.path().join("out");
    let output = dir.path().join("output.txt");
    let out = run(Command::new(root().join("scripts/ci/lint.sh"))
        .args([&list, &out_dir])
        .current_dir(dir.path())
        .env("CUTOVER", env!("CARGO_BIN_EXE_cutover"))
        .env("PG_VERSION", "16")
        .env("GITHUB_OUTPUT", &output));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists(), "a file name ran as a command");
    assert!(text(&out.stdout).contains("error[add-index-non-concurrently]"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=1\n");
    let direct = run(Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["lint", "--pg-version", "16", "--format", "markdown"])
        .arg(&migration));
    assert_eq!(std::fs::read_to_string(out_dir.join("comment.md")).unwrap(), text(&direct.stdout));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("cutover.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "add-index-non-concurrently");

    // No changed migration: exit code 0 and a comment that says so.
    std::fs::write(&list, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let out =
        run(Command::new(root().join("scripts/ci/lint.sh")).args([&list, &out_dir]).env("GITHUB_OUTPUT", &output));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=0\n");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("comment.md")).unwrap(),
        "<!-- cutover-lint -->\n### Cutover lint: no migration changed in this pull request\n"
    );
}

/// A pull request's comments, as GitHub's REST API keeps them.
#[derive(Default)]
struct Fake {
    comments: Vec<serde_json::Value>,
    next_id: u64,
    requests: Vec<String>,
}

/// Serves `GET /repos/o/r/issues/7/comments?per_page&page`, `POST` to the same path and
/// `PATCH /repos/o/r/issues/comments/{id}`, checking the headers and bodies GitHub requires.
fn serve(state: Arc<Mutex<Fake>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                let (k, v) = line.split_once(':').unwrap();
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let mut body = vec![0; header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0)];
            reader.read_exact(&mut body).unwrap();
            let mut parts = request_line.split_whitespace();
            let (method, target) = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
            let mut fake = state.lock().unwrap();
            fake.requests.push(format!("{method} {target}"));
            let (status, reply) = if header("authorization").as_deref() != Some("Bearer secret-token") {
                (401, serde_json::json!({ "message": "Bad credentials" }))
            } else if header("accept").as_deref() != Some("application/vnd.github+json") {
                (415, serde_json::json!({ "message": "Unsupported Accept" }))
            } else {
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let param = |k: &str| {
                    query
                        .split('&')
                        .find_map(|p| p.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse::<usize>().ok())
                };
                let input: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
                let body_ok =
                    input.as_ref().and_then(|v| v.as_object()).is_some_and(|o| o.len() == 1 && o["body"].is_string());
                match (method.as_str(), path) {
                    ("GET", "/repos/o/r/issues/7/comments") => {
                        let per_page = param("per_page").unwrap_or(30).min(100);
                        let page = param("page").unwrap_or(1);
                        let items: Vec<_> =
                            fake.comments.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
                        (200, serde_json::Value::Array(items))
                    }
                    ("POST", "/repos/o/r/issues/7/comments") if body_ok => {
                        fake.next_id += 1;
                        let comment = serde_json::json!({
                            "id": fake.next_id, "body": input.unwrap()["body"],
                            "user": { "login": "github-actions[bot]", "type": "Bot" },
                        });
                        fake.comments.push(comment.clone());
                        (201, comment)
                    }
                    ("PATCH", p) if body_ok && p.starts_with("/repos/o/r/issues/comments/") => {
                        let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                        match fake.comments.iter_mut().find(|c| c["id"] == id) {
                            Some(c) => {
                                c["body"] = input.unwrap()["body"].clone();
                                (200, c.clone())
                            }
                            None => (404, serde_json::json!({ "message": "Not Found" })),
                        }
                    }
                    _ => (422, serde_json::json!({ "message": "Validation Failed" })),
                }
            };
            let reply = reply.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    url
}

fn upsert(url: &str, body: &Path, files: &str) -> Output {
    run(Command::new(root().join("scripts/ci/upsert-comment.sh"))
        .arg(body)
        .env("GITHUB_API_URL", url)
        .env("GITHUB_TOKEN", "secret-token")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("PR_NUMBER", "7")
        .env("FILES", files))
}

#[test]
fn the_comment_is_posted_once_then_updated_in_place() {
    let state = Arc::new(Mutex::new(Fake { next_id: 1000, ..Fake::default() }));
    {
        // 120 comments first, so the action's lands on the second page; one of them quotes
        // the marker but is someone else's.
        let mut fake = state.lock().unwrap();
        for i in 0..120 {
            let (login, body) = match i {
                3 => ("alice", "<!-- cutover-lint -->\nquoted by a person".to_string()),
                5 => ("github-actions[bot]", "another workflow's comment".to_string()),
                _ => ("bob", format!("comment {i}")),
            };
            fake.comments
                .push(serde_json::json!({ "id": i, "body": body, "user": { "login": login, "type": "User" } }));
        }
    }
    let url = serve(state.clone());
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("comment.md");

    // No migration changed and no earlier comment: nothing is posted.
    std::fs::write(&body, "<!-- cutover-lint -->\n### Cutover lint: no migration changed in this pull request\n")
        .unwrap();
    let out = upsert(&url, &body, "0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(state.lock().unwrap().comments.len(), 120);

    std::fs::write(&body, "<!-- cutover-lint -->\n### Cutover lint: 1 error, 0 warnings in 1 file checked\n").unwrap();
    let out = upsert(&url, &body, "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "posted comment 1001\n");

    std::fs::write(&body, "<!-- cutover-lint -->\n### Cutover lint: 0 errors, 0 warnings in 1 file checked\n").unwrap();
    let out = upsert(&url, &body, "1");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "updated comment 1001\n");

    let fake = state.lock().unwrap();
    assert_eq!(fake.comments.len(), 121);
    assert_eq!(
        fake.comments[120]["body"],
        "<!-- cutover-lint -->\n### Cutover lint: 0 errors, 0 warnings in 1 file checked\n"
    );
    assert_eq!(fake.comments[3]["body"], "<!-- cutover-lint -->\nquoted by a person");
    assert_eq!(
        fake.requests,
        [
            "GET /repos/o/r/issues/7/comments?per_page=100&page=1",
            "GET /repos/o/r/issues/7/comments?per_page=100&page=2",
            "GET /repos/o/r/issues/7/comments?per_page=100&page=1",
            "GET /repos/o/r/issues/7/comments?per_page=100&page=2",
            "POST /repos/o/r/issues/7/comments",
            "GET /repos/o/r/issues/7/comments?per_page=100&page=1",
            "GET /repos/o/r/issues/7/comments?per_page=100&page=2",
            "PATCH /repos/o/r/issues/comments/1001",
        ]
    );
}

#[test]
fn a_comment_without_its_marker_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("comment.md");
    std::fs::write(&body, "### no marker\n").unwrap();
    let out = upsert("http://127.0.0.1:9", &body, "1");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "the comment's first line must be its marker, an HTML comment\n");
}
