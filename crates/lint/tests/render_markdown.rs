//! The pull-request comment (`lint --format markdown`) the GitHub Action posts: the marker
//! first, the summary, per file the diagnostics with their source line; hostile file names
//! and source stay quoted; a long report is cut with a count of the rest.

use cutover_lint::{LintOptions, SourceFile, lint, render};

fn comment(files: &[SourceFile]) -> String {
    let report = lint(files, &LintOptions::default());
    render::markdown(&report, files)
}

#[test]
fn a_comment_with_findings_in_two_files() {
    let files = [
        SourceFile {
            path: "migrations/0041_orders.sql".into(),
            text: "ALTER TABLE orders ADD COLUMN notes text;\nCREATE INDEX orders_notes ON orders (notes);\n".into(),
        },
        SourceFile {
            path: "migrations/0042_customers.sql".into(),
            text: "ALTER TABLE customers ALTER COLUMN email SET NOT NULL;\n".into(),
        },
    ];
    insta::assert_snapshot!(comment(&files));
}

#[test]
fn a_clean_comment() {
    let files = [SourceFile {
        path: "migrations/0043_ok.sql".into(),
        text: "CREATE TABLE t (id bigint PRIMARY KEY);\n".into(),
    }];
    insta::assert_snapshot!(comment(&files));
}

#[test]
fn hostile_paths_and_source_stay_quoted() {
    let files = [SourceFile {
        path: "migrations/<img src=x>`.sql".into(),
        text: "CREATE INDEX i ON t (c); -- ``` [link](http://example.com) <script>\n".into(),
    }];
    let out = comment(&files);
    assert!(out.starts_with(render::MARKDOWN_MARKER), "{out}");
    // Inside a code span (two backticks: the name holds one), HTML is shown, not rendered.
    assert!(out.contains("#### ``migrations/<img src=x>`.sql``"), "{out}");
    assert!(out.contains("````sql"), "a fence longer than the source's backticks: {out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_long_report_is_cut_and_counted() {
    let text = "CREATE INDEX i ON t (c);\n".repeat(60);
    let files = [SourceFile { path: "m.sql".into(), text }];
    let out = comment(&files);
    // 60 unsafe builds, one missing lock_timeout, one missing statement_timeout.
    assert!(out.contains("### Cutover lint: 61 errors, 1 warning in 1 file checked\n"), "{out}");
    assert_eq!(out.matches("\n- **").count(), 50, "{out}");
    assert!(out.ends_with("…and 12 more diagnostics (all of them are in the code scanning results).\n"), "{out}");
}
