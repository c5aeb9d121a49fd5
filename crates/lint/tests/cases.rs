//! Rule cases as data: each `tests/cases/<name>.sql` is linted (one history per file; a
//! first line `-- lint: pg_version=12 assume_in_transaction enable=<opt-in rule>` sets options) and its
//! compiler-style output is the snapshot `tests/cases/snapshots/cases__<name>.snap`.

use cutover_lint::{LintOptions, SourceFile, lint, render};

#[test]
fn cases() {
    insta::glob!("cases/*.sql", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut options = LintOptions::default();
        if let Some(header) = text.lines().next().and_then(|l| l.strip_prefix("-- lint:")) {
            for word in header.split_whitespace() {
                match word.split_once('=') {
                    Some(("pg_version", v)) => options.pg_version = v.parse().unwrap(),
                    Some(("enable", code)) => {
                        options.rules.enabled.insert(code.to_string());
                    }
                    None if word == "assume_in_transaction" => options.assume_in_transaction = true,
                    _ => panic!("unknown option {word} in {}", path.display()),
                }
            }
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let files = [SourceFile { path: name, text }];
        let report = lint(&files, &options);
        insta::assert_snapshot!(render::human(&report, &files));
    });
}
