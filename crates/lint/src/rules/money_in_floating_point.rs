//! Money amounts stored in floating-point columns.

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::ast::{column_types, type_name, words};
use crate::context::Ctx;
use crate::diagnostic::Severity;

pub struct MoneyInFloatingPoint;

static INFO: RuleInfo = RuleInfo {
    code: "money-in-floating-point",
    severity: Severity::Warning,
    summary: "Money in real or double precision is rounded to binary fractions, so sums drift by cents.",
    help: "Use numeric with an explicit scale (numeric(12,2)), or bigint in the currency's minor unit (amount_cents).",
    docs: Docs {
        what: "Flags columns of type `real`, `double precision` or `float(n)` (arrays included) in `CREATE TABLE`, `ALTER TABLE ... ADD COLUMN` and `ALTER COLUMN ... TYPE` whose name says they hold money: a word of the name is price, amount, cost, total, balance, fee, tax, salary, wage, revenue, subtotal, discount, payment, payout, refund, charge, credit, debit, budget, cents or money (`unit_price`, `totalAmount`). Names that also say they count or measure something else (`total_count`, `tax_rate`, `price_ratio`, `discount_percent`) or a unit of measure (`amount_ml`, `cost_kwh`) are not flagged.",
        why: "Floating-point types store binary fractions: 0.1 has no exact value, so `0.1 + 0.2 = 0.30000000000000004`, sums of many rows drift, equality comparisons fail, and rounding differs between the database and the application. Accounting and invoicing then disagree by cents. Changing the type later rewrites the table.",
        example: "CREATE TABLE invoices (id bigint PRIMARY KEY, total double precision NOT NULL);",
        instead: "CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);",
    },
};

/// Words that make a column a money amount.
const MONEY: &[&str] = &[
    "price", "prices", "amount", "amounts", "cost", "costs", "total", "totals", "balance", "balances", "fee", "fees",
    "tax", "taxes", "salary", "salaries", "wage", "wages", "revenue", "subtotal", "discount", "payment", "payments",
    "payout", "refund", "charge", "charges", "credit", "debit", "budget", "cents", "money",
];

/// Words that make it a count, a ratio or a measure instead.
const NOT_MONEY: &[&str] = &[
    "count",
    "counts",
    "qty",
    "quantity",
    "number",
    "num",
    "rate",
    "ratio",
    "percent",
    "percentage",
    "pct",
    "score",
    "weight",
    "distance",
    "duration",
    "seconds",
    "ms",
    "time",
    "size",
    "bytes",
    "points",
    "factor",
    "multiplier",
    // units of measure
    "ml",
    "kg",
    "mg",
    "km",
    "mm",
    "cm",
    "lb",
    "lbs",
    "oz",
    "kwh",
    "mb",
    "gb",
    "kb",
    "liters",
    "litres",
    "grams",
];

impl Rule for MoneyInFloatingPoint {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for col in column_types(stmt.node) {
            let float = match type_name(col.type_name).as_str() {
                "float4" => "real",
                "float8" => "double precision",
                _ => continue,
            };
            let words = words(col.column);
            if !words.iter().any(|w| MONEY.contains(&w.as_str()))
                || words.iter().any(|w| NOT_MONEY.contains(&w.as_str()))
            {
                continue;
            }
            let array = if col.type_name.array_bounds.is_empty() { "" } else { "[]" };
            out.push(Finding::new(format!(
                "Column {} holds money in {float}{array}, a binary floating-point type: amounts like 0.10 are stored inexactly and sums drift.",
                col.display()
            )));
        }
    }
}
