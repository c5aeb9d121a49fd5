//! The README's commands are the ones the scripts run, and every script that builds Cutover
//! first installs what the build needs (issue: the first command failed on a fresh machine
//! without libclang).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The shell blocks (```sh) of the README section under `heading`, each trimmed.
fn shell_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no section {heading:?}"));
    let section = &readme[start + heading.len() + 2..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block[..block.find("```").expect("an unclosed block")].trim().to_string())
        .collect()
}

/// The command lines of a script: no comments, no blank lines, continuation lines joined.
fn command_lines(script: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_two_commands_are_the_demo_and_the_test_scripts() {
    let readme = read("README.md");
    assert_eq!(shell_blocks(&readme, "## The two commands"), ["scripts/demo", "scripts/test"]);
    assert_eq!(shell_blocks(&readme, "## Install"), ["scripts/install"]);
}

#[test]
fn ci_runs_the_readme_commands_demo_first() {
    let ci = command_lines(&read(".ci/run"));
    let position = |command: &str| {
        ci.iter()
            .position(|l| l == command || l.ends_with(&format!(" {command}")))
            .unwrap_or_else(|| panic!(".ci/run does not run {command}: {ci:?}"))
    };
    let (demo, test) = (position("scripts/demo"), position("scripts/test"));
    assert!(demo < test, "the demo runs first, as on a fresh machine");
    let first_cargo_build = ci.iter().position(|l| l.starts_with("cargo ") && !l.starts_with("cargo fmt"));
    assert!(first_cargo_build.is_none_or(|c| c > demo), "nothing builds before the README's first command: {ci:?}");
}

#[test]
fn every_script_that_builds_installs_the_build_dependencies_first() {
    for script in ["scripts/demo", "scripts/install", "scripts/test"] {
        let lines = command_lines(&read(script));
        let deps = lines.iter().position(|l| l == "scripts/build-deps");
        let cargo = lines.iter().position(|l| l.contains("cargo "));
        let (Some(deps), Some(cargo)) = (deps, cargo) else {
            panic!("{script} must run scripts/build-deps and then cargo: {lines:?}");
        };
        assert!(deps < cargo, "{script} runs cargo before scripts/build-deps");
    }
}

#[test]
fn the_scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    for script in [".ci/run", "scripts/demo", "scripts/install", "scripts/test", "scripts/build-deps"] {
        let mode = std::fs::metadata(root().join(script)).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{script} is not executable");
    }
}
