//! Properties of `analyze()` over hostile repository content: near-code built from the
//! pieces the readers look for (model and table syntax, quotes of every kind, brackets,
//! SQL keywords, the plan's names, multi-byte characters), cut anywhere, under every file
//! name the readers dispatch on. It never panics, every finding points inside its file on
//! the line its excerpt comes from, the edits apply to the file they name, and the same
//! input gives the same result.
//!
//! Cases: 256 per property (`PROPTEST_CASES` overrides), from a fixed seed
//! (`PROPTEST_RNG_SEED` overrides).

use cutover_impact::{Limits, SourceFile, analyze};
use cutover_plan::planner::Plan;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

fn config() -> ProptestConfig {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(0x5eed_0012)),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/impact_property.txt"))),
        ..ProptestConfig::default()
    }
}

fn plan() -> Plan {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/impact/plan/plan.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const PIECES: &[&str] = &[
    "class Order(models.Model):\n",
    "    notes = models.TextField(",
    "db_column=\"",
    "class Meta:\n",
    "        db_table = ",
    "model Order {\n",
    "  notes String? @map(\"",
    "@db.VarChar(20)",
    "  quantity @db.Int(",
    "  quantity Int",
    "@@map(\"orders\")\n",
    "}\n",
    "{",
    "(",
    ")",
    "[",
    "]",
    "diesel::table! {\n",
    "    orders (id) {\n",
    "        notes -> Nullable<Text>,\n",
    "#[max_length = 20]\n",
    "#[sql_name = \"",
    "allow_tables_to_appear_in_same_query!(",
    "joinable!(orders -> customers (customer_id));\n",
    "__tablename__ = \"orders\"\n",
    "Column(\"notes\"",
    "mapped_column(",
    "ForeignKey(\"orders.notes\")",
    "Table(\"audit_log\", m, ",
    "create_table \"orders\" do |t|\n",
    "  t.text \"notes\"\n",
    "end\n",
    "class Order < ApplicationRecord\n",
    "self.table_name = \"",
    "@Entity(\"orders\")\n",
    "export class Order {\n",
    "@Column({ name: \"notes\" })\n",
    "notes!: string;\n",
    "@JoinColumn(",
    "SELECT notes FROM orders o WHERE o.quantity = $1",
    "FROM public.invoices AS i ",
    "UPDATE orders SET ",
    "\"",
    "'",
    "`",
    "\"\"\"",
    "'''",
    "r#\"",
    "\"#",
    "<<~SQL\n",
    "SQL\n",
    "${",
    "#{",
    "}",
    "//",
    "/*",
    "*/",
    "#",
    "--",
    "\\",
    "\n",
    " ",
    "é",
    "日本",
    "€(",
    "Order.objects.filter(notes__",
    "notes=",
    ".values(\"notes\"",
    "update_fields=[\"notes\"]",
    "\u{1F600}",
    "::",
    ":notes",
    ",",
    ";",
    ".",
    "=",
    "->",
    "<",
    ">",
    "customers.fullname",
    "\"Notes\"",
];

fn near_code() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
}

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "shop/models.py",
        "app/models.py",
        "shop/views.py",
        "prisma/schema.prisma",
        "src/schema.rs",
        "db/schema.rb",
        "app/models/order.rb",
        "src/entity/Order.ts",
        "src/q.go",
        "q.sql",
        "lib/q.java",
        "q.php",
        "q.kt",
        "q.js",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn analysis_never_panics_and_points_inside_the_files(
        files in prop::collection::vec((path(), near_code(), 0usize..400), 1..4)
    ) {
        let mut seen = std::collections::BTreeSet::new();
        // A repository has one file per path.
        let files: Vec<SourceFile> = files
            .into_iter()
            .filter(|(path, _, _)| seen.insert(path.clone()))
            .map(|(path, text, cut)| {
                // Cut anywhere on a character boundary.
                let at = text.char_indices().map(|(i, _)| i).chain([text.len()]).nth(cut).unwrap_or(text.len());
                SourceFile { path, text: text[..at].to_string() }
            })
            .collect();
        let plan = plan();
        let impact = analyze(&plan, &files, Limits::default());
        for f in &impact.findings {
            let file = files.iter().find(|x| x.path == f.file).expect("a finding names a file given");
            let line = file.text.split('\n').nth(f.line - 1).expect("the line is in the file");
            prop_assert!(f.column >= 1 && f.column <= line.chars().count() + 1, "{f:?}");
            prop_assert!(f.change < impact.changes.len());
            let trimmed: String = line.trim().chars().take(120).collect();
            prop_assert!(f.excerpt.starts_with(trimmed.trim_end_matches('\r')), "{f:?} {line:?}");
        }
        for e in &impact.edits {
            prop_assert!(files.iter().any(|x| x.path == e.file && x.text != e.text));
        }
        prop_assert_eq!(analyze(&plan, &files, Limits::default()), impact);
    }
}
