//! Identifiers longer than 63 bytes, which PostgreSQL silently truncates.

use pg_query::protobuf::Token;

use super::{Docs, Finding, Rule, RuleInfo, StmtRef};
use crate::context::Ctx;
use crate::diagnostic::{Severity, Span};

pub struct IdentifierTooLong;

/// PostgreSQL's NAMEDATALEN - 1.
const MAX_BYTES: usize = 63;

static INFO: RuleInfo = RuleInfo {
    code: "identifier-too-long",
    severity: Severity::Error,
    summary: "Identifiers longer than 63 bytes are silently truncated, so the object gets a different name than the one written.",
    help: "Use a name of at most 63 bytes.",
    docs: Docs {
        what: "Flags every identifier (table, column, index, constraint, ... name; quoted or not) longer than 63 bytes after PostgreSQL's case folding and unquoting, in any statement. It reads the statement's tokens, because the parse tree already holds the truncated names. The length is in bytes, so non-ASCII names reach the limit sooner.",
        why: "PostgreSQL truncates longer names to 63 bytes with only a NOTICE. The object then exists under a name nobody wrote: later migrations, ORMs and tools that use the full name do not find it, and two long names that share their first 63 bytes collide.",
        example: "CREATE INDEX index_orders_on_customer_id_and_created_at_and_status_and_region ON orders (customer_id, created_at, status, region);",
        instead: "CREATE INDEX orders_customer_created_status_region_idx ON orders (customer_id, created_at, status, region);",
    },
};

impl Rule for IdentifierTooLong {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, stmt: &StmtRef<'_>, _ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Ok(scan) = pg_query::scan(stmt.text) else { return };
        for token in &scan.tokens {
            if Token::try_from(token.token) != Ok(Token::Ident) {
                continue;
            }
            let (start, end) = (token.start.max(0) as usize, token.end.max(0) as usize);
            let Some(raw) = stmt.text.get(start..end) else { continue };
            let name = identifier(raw);
            if name.len() <= MAX_BYTES {
                continue;
            }
            let mut cut = MAX_BYTES;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut finding = Finding::new(format!(
                "Identifier {name} is {} bytes; PostgreSQL truncates it to 63 bytes ({}).",
                name.len(),
                &name[..cut]
            ));
            finding.span = Some(Span { start: stmt.span.start + start, end: stmt.span.start + end });
            out.push(finding);
        }
    }
}

/// The name an identifier token stands for: quoted ones unquoted (`""` is `"`), others
/// folded to lower case as PostgreSQL does (ASCII letters only).
fn identifier(raw: &str) -> String {
    match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => raw.to_ascii_lowercase(),
    }
}
