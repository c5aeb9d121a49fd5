//! Properties of the request parser over hostile Markdown (nested and unbalanced fences,
//! backtick runs, comments, CRLF, unicode, large inputs): it never panics, a request and
//! problems never come together, and every line of SQL maps back to the description line it
//! was written on. Round trip: a template rendered from generated fields (any heading style,
//! section order and line ending) parses back to exactly those fields.
//!
//! Cases: 256 per property (`PROPTEST_CASES` overrides), from a fixed seed
//! (`PROPTEST_RNG_SEED` overrides).

use cutover_request::{Downtime, MigrationType, Parsed, ProblemKind, ProposedChange, SqlBlock, ValidationItem, parse};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5eed_0005)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/parser_property.txt"))),
        ..ProptestConfig::default()
    }
}

/// Lines that are hard for a Markdown reader: fences of every length and kind, inline code
/// runs, comments, headings, labels, list items, and SQL.
const HOSTILE_LINES: &[&str] = &[
    "```",
    "```sql",
    "````",
    "````sql",
    "~~~",
    "~~~sql",
    "``` x",
    "```sql```",
    "`````````````",
    "   ```sql",
    "\t~~~",
    "``",
    "`",
    "`a` `` ` ``",
    "## Objective",
    "# Proposed schema changes",
    "### Migration type",
    "## Downtime tolerance",
    "## Validation plan",
    "## Affected services",
    "**Migration type:** additive",
    "__Downtime__: zero-downtime",
    "Objective: plain label",
    "Objective",
    "===",
    "---",
    "- [x] users",
    "- [ ] orders",
    "1) a",
    "| a | b |",
    "|---|---|",
    "<!--",
    "-->",
    "<!-- hidden -->",
    "\\<!--",
    "additive, rollback",
    "zero-downtime",
    "5-10 min",
    "02:00-03:00 UTC",
    "ALTER TABLE users ADD COLUMN x int;",
    "SELECT 1;",
    "`db/schema.sql`",
    "../../etc/passwd",
    "/abs/path.sql",
    "p95 < 120 ms",
    "row counts match",
    "é日本🦀",
    "\u{feff}",
    "\u{2028}",
    "\u{0}",
    "",
    " ",
    "\r",
];

fn hostile_markdown() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => prop::sample::select(HOSTILE_LINES).prop_map(String::from),
        1 => "[`~#*_\\-<>!\\[\\]()| a-z0-9:.,\r\t]{0,30}",
        1 => any::<String>(),
        1 => (1usize..40).prop_map(|n| "`".repeat(n)),
    ];
    (prop::collection::vec(line, 0..80), prop::sample::select(vec!["\n", "\r\n", "\r"]))
        .prop_map(|(lines, end)| lines.join(end))
}

/// The invariants of any result.
fn check(text: &str, parsed: &Parsed) -> Result<(), TestCaseError> {
    prop_assert_eq!(parsed.request.is_some(), parsed.problems.is_empty(), "a request xor problems");
    prop_assert!(parsed.problems.is_sorted_by_key(|p| p.field));
    prop_assert_eq!(parsed.elicitation().is_some(), !parsed.problems.is_empty());
    let lines: Vec<&str> = text.split('\n').collect();
    if let Some(request) = &parsed.request {
        prop_assert!(!request.migration_types.is_empty() && request.migration_types.is_sorted());
        let _ = request.to_string();
        if let ProposedChange::Sql(block) = &request.proposed {
            check_sql_lines(&lines, block)?;
        }
        for item in &request.validation {
            if let ValidationItem::Query(block) = item {
                prop_assert!(block.pieces.iter().all(|p| (1..=lines.len()).contains(&p.description_line)));
            }
        }
        for section in &request.other_sections {
            prop_assert!((1..=lines.len()).contains(&section.line));
        }
    }
    Ok(())
}

/// Every SQL line maps to a description line inside the text, and that line is the SQL line
/// as written (fence indentation aside).
fn check_sql_lines(lines: &[&str], block: &SqlBlock) -> Result<(), TestCaseError> {
    let sql_lines: Vec<&str> = block.text.split('\n').collect();
    // The text ends with '\n': the last piece of the split is empty.
    prop_assert_eq!(sql_lines.last(), Some(&""));
    let count = sql_lines.len() - 1;
    prop_assert_eq!(block.pieces.iter().map(|p| p.lines).sum::<usize>(), count);
    for (i, sql) in sql_lines[..count].iter().enumerate() {
        let at = block.description_line(i + 1);
        prop_assert!((1..=lines.len()).contains(&at), "SQL line {} maps to line {} of {}", i + 1, at, lines.len());
        let written = lines[at - 1].strip_suffix('\r').unwrap_or(lines[at - 1]);
        prop_assert!(
            written.ends_with(sql) && written[..written.len() - sql.len()].chars().all(|c| c == ' ' || c == '\t'),
            "SQL line {} {:?} maps to line {} {:?}",
            i + 1,
            sql,
            at,
            written
        );
    }
    for sql_line in [0, count + 1, usize::MAX] {
        prop_assert!((1..=lines.len()).contains(&block.description_line(sql_line)));
    }
    Ok(())
}

/// The fields a template is rendered from.
#[derive(Debug, Clone)]
struct Fields {
    objective: Vec<String>,
    services: Vec<String>,
    /// Each block: its fence, info string and lines.
    sql: Vec<(&'static str, &'static str, Vec<String>)>,
    types: Vec<MigrationType>,
    downtime: Option<u32>,
    validation: Vec<(String, ValidationItem)>,
}

fn objective() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z]{1,8}( [a-zé日]{1,8}){0,6}\\.?".prop_map(|l| format!("Make {l}")), 1..4)
}

fn sql_line() -> impl Strategy<Value = String> {
    let name = "[a-z_][a-z0-9_]{0,10}";
    prop_oneof![
        (name, name).prop_map(|(t, c)| format!("ALTER TABLE {t} ADD COLUMN {c} bigint;")),
        (name, name).prop_map(|(t, c)| format!("  CREATE INDEX CONCURRENTLY ON {t} ({c});")),
        "[a-z ;'`#*é]{0,20}".prop_map(|c| format!("-- {c}")),
        Just("CREATE TABLE \"Ünïcode ```\" (x text DEFAULT '## Objective');".to_string()),
        Just("SELECT $$ ``` $$;".to_string()),
        Just(String::new()),
    ]
}

fn sql_blocks() -> impl Strategy<Value = Vec<(&'static str, &'static str, Vec<String>)>> {
    let fence =
        prop::sample::select(vec![("```", "sql"), ("~~~", "sql"), ("````", "postgresql"), ("```", ""), ("```", "SQL")]);
    prop::collection::vec(
        (fence, prop::collection::vec(sql_line(), 1..6))
            .prop_filter("not blank", |(_, lines)| lines.iter().any(|l| !l.trim().is_empty() && !l.starts_with("--")))
            .prop_map(|((marker, info), lines)| (marker, info, lines)),
        1..3,
    )
}

fn validation() -> impl Strategy<Value = Vec<(String, ValidationItem)>> {
    let item = prop_oneof![
        (1u32..5000).prop_map(|ms| {
            let text = format!("p95 latency of `POST /login` stays under {ms} ms");
            (text.clone(), ValidationItem::Latency { text, budget_ms: Some(ms) })
        }),
        "[a-z]{1,8}".prop_map(|t| {
            let text = format!("row counts of `{t}` match before and after");
            (text.clone(), ValidationItem::RowCount(text))
        }),
        "[a-z]{1,8}".prop_map(|t| {
            let text = format!("look at the {t} dashboard");
            (text.clone(), ValidationItem::Note(text))
        }),
    ];
    prop::collection::vec(item, 0..4)
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        objective(),
        prop::collection::vec("svc-[a-z0-9_-]{0,10}", 0..4),
        sql_blocks(),
        prop::collection::btree_set(prop::sample::select(MigrationType::ALL.to_vec()), 1..4),
        prop::option::of(1u32..600),
        validation(),
    )
        .prop_map(|(objective, services, sql, types, downtime, validation)| Fields {
            objective,
            services,
            sql,
            types: types.into_iter().collect(),
            downtime,
            validation,
        })
}

#[derive(Debug, Clone)]
struct Style {
    /// One per section: 0 `## Title`, 1 `# Title`, 2 `### Title`, 3 `**Title:**` on its own line.
    headings: Vec<u8>,
    order: Vec<usize>,
    crlf: bool,
    aliases: bool,
    comments: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop::collection::vec(0u8..4, 6),
        Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(headings, order, crlf, aliases, comments)| Style { headings, order, crlf, aliases, comments })
}

/// The template, and the description line of each SQL line.
fn render(f: &Fields, style: &Style) -> String {
    let titles = if style.aliases {
        ["Goal", "Affected tables", "DDL", "Type of change", "Downtime", "Validation"]
    } else {
        [
            "Objective",
            "Affected services",
            "Proposed schema changes",
            "Migration type",
            "Downtime tolerance",
            "Validation plan",
        ]
    };
    let mut sections: Vec<Vec<String>> = vec![Vec::new(); 6];
    sections[0] = f.objective.clone();
    sections[1] = f.services.iter().map(|s| format!("- {s}")).collect();
    for (i, (marker, info, lines)) in f.sql.iter().enumerate() {
        if i > 0 {
            sections[2].push("and then:".into());
        }
        sections[2].push(format!("{marker}{info}"));
        sections[2].extend(lines.iter().cloned());
        sections[2].push(marker.to_string());
    }
    let types: Vec<&str> = f.types.iter().map(|t| t.as_str()).collect();
    sections[3] = vec![types.join(", ")];
    sections[4] = vec![match f.downtime {
        None => "zero-downtime".to_string(),
        Some(minutes) => format!("{minutes} minutes"),
    }];
    sections[5] = f.validation.iter().map(|(text, _)| format!("- {text}")).collect();
    let mut out: Vec<String> = Vec::new();
    for &i in &style.order {
        let title = titles[i];
        out.push(match style.headings[i] {
            0 => format!("## {title}"),
            1 => format!("# {title}"),
            2 => format!("### {title}"),
            _ => format!("**{title}:**"),
        });
        if style.comments {
            out.push("<!-- fill this in; ``` is not a fence here -->".into());
        }
        out.extend(sections[i].iter().cloned());
        out.push(String::new());
    }
    out.join(if style.crlf { "\r\n" } else { "\n" })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hostile_markdown_never_panics(text in hostile_markdown()) {
        check(&text, &parse(&text))?;
    }

    #[test]
    fn hostile_lines_in_a_valid_template_keep_sql_lines_mapped(
        f in fields(),
        style in style(),
        inserts in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(HOSTILE_LINES)), 1..8),
    ) {
        // A request that still parses must map its SQL to the lines it came from, wherever
        // fences, comments and headings were slipped in.
        let mut lines: Vec<String> = render(&f, &style).split('\n').map(String::from).collect();
        for (at, line) in inserts {
            lines.insert(at.index(lines.len() + 1), line.to_string());
        }
        let text = lines.join("\n");
        check(&text, &parse(&text))?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text, &parse(&text))?;
    }

    #[test]
    fn a_rendered_template_parses_back_to_its_fields(f in fields(), style in style()) {
        let text = render(&f, &style);
        let parsed = parse(&text);
        check(&text, &parsed)?;
        if f.types.contains(&MigrationType::Rollback) && f.types.contains(&MigrationType::Additive) {
            prop_assert!(parsed.request.is_none());
            prop_assert!(
                parsed.problems.iter().any(|p| matches!(p.kind, ProblemKind::Contradictory(_))),
                "{:?}", parsed.problems
            );
            return Ok(());
        }
        let Some(request) = parsed.request else {
            return Err(TestCaseError::fail(format!("problems {:?} in\n{text}", parsed.problems)));
        };
        prop_assert_eq!(request.objective, f.objective.join("\n"));
        prop_assert_eq!(request.affected_services, f.services.clone());
        let ProposedChange::Sql(block) = &request.proposed else {
            return Err(TestCaseError::fail(format!("not SQL: {:?}", request.proposed)));
        };
        let expected_sql: String = f.sql.iter().flat_map(|(_, _, lines)| lines).map(|l| format!("{l}\n")).collect();
        prop_assert_eq!(&block.text, &expected_sql);
        prop_assert_eq!(block.pieces.len(), f.sql.len());
        prop_assert_eq!(request.migration_types, f.types.clone());
        let downtime = match f.downtime {
            None => Downtime::ZeroDowntime,
            Some(minutes) => Downtime::Window { text: format!("{minutes} minutes"), seconds: Some(minutes * 60) },
        };
        prop_assert_eq!(request.downtime, downtime);
        let validation: Vec<ValidationItem> = f.validation.iter().map(|(_, item)| item.clone()).collect();
        prop_assert_eq!(request.validation, validation);
        prop_assert!(request.other_sections.is_empty(), "{:?}", request.other_sections);
    }
}

/// Found while probing the parser with large hostile shapes: every "<!--" of a line scanned the
/// rest of the line for "-->", so a 200 KB line of "<!--" took 17 s (quadratic). Each shape here,
/// 1 MiB, must be read in well under the bound.
#[test]
fn large_hostile_shapes_are_read_in_linear_time() {
    const MIB: usize = 1 << 20;
    let shapes = [
        "<!--",
        "a <!--",
        "-->",
        "`",
        "`a",
        "```\n",
        "**Objective:** x\n",
        "- [x] a, b; c (d, e)\n",
        "(",
        "# ",
        "*",
        "\\",
        "Objective\n===\n",
        "## Downtime tolerance\n5-10 min 02:00-03:00\n",
        "## Proposed schema changes\n`a/b.sql` ",
        "## Validation plan\n- p95 latency 5 ms `select 1`\n",
    ];
    for shape in shapes {
        let text = shape.repeat(MIB / shape.len());
        let start = std::time::Instant::now();
        let parsed = parse(&text);
        let _ = parsed.elicitation();
        assert!(start.elapsed().as_secs() < 5, "{shape:?} x {}: {:?}", MIB / shape.len(), start.elapsed());
    }
}

#[test]
fn a_large_hostile_description_is_read_within_the_bound() {
    // Linear caps descriptions well below this; the parser must stay linear-ish on it.
    let mut text = String::new();
    for i in 0..50_000 {
        text.push_str(HOSTILE_LINES[i % HOSTILE_LINES.len()]);
        text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
    }
    let start = std::time::Instant::now();
    let parsed = parse(&text);
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    assert_eq!(parsed.request.is_some(), parsed.problems.is_empty());
}
