//! SQL that `cutover write` puts around a plan's steps in a framework migration: a small
//! backfill repeated in a loop, and the check that a backfill left to the engine is done.

use crate::backfill::Spec;
use crate::ddl::dollar_tag;
use crate::quote::{ident, literal, qualified};
use cutover_schema::QualName;

/// A DO block that runs a backfill batch (`batch`, one UPDATE) until it changes no row, in
/// the transaction of the migration that holds it.
pub fn repeat_until_done(batch: &str) -> String {
    let batch = batch.trim().trim_end_matches(';');
    let body = format!("\nBEGIN\n  LOOP\n    {batch};\n    EXIT WHEN NOT FOUND;\n  END LOOP;\nEND\n");
    let tag = dollar_tag(&body);
    format!("DO {tag}{body}{tag};")
}

/// A DO block that fails while a backfill has rows left to fill, naming the command that
/// fills them; it only reads.
pub fn check_done(spec: &Spec) -> String {
    let table = qualified(&spec.table);
    let message =
        format!("the backfill of {table}.{} is not done: run cutover backfill run first", ident(&spec.column));
    let body = format!(
        "\nBEGIN\n  IF EXISTS (SELECT FROM {table} WHERE {}) THEN\n    RAISE EXCEPTION {};\n  END IF;\nEND\n",
        spec.pending(),
        literal(&message).replace('%', "%%")
    );
    let tag = dollar_tag(&body);
    format!("DO {tag}{body}{tag};")
}

/// A DO block that fails unless `index` exists and is valid: what a migration run inside a
/// transaction checks for a concurrent index build it cannot run itself.
pub fn check_index_valid(index: &QualName) -> String {
    let message =
        format!("the index {} is missing or INVALID: build it first, outside a transaction", qualified(index));
    let body = format!(
        "\nBEGIN\n  IF NOT EXISTS (SELECT FROM pg_catalog.pg_index WHERE indexrelid = pg_catalog.to_regclass({}) AND indisvalid) THEN\n    RAISE EXCEPTION {};\n  END IF;\nEND\n",
        literal(&qualified(index)),
        literal(&message).replace('%', "%%")
    );
    let tag = dollar_tag(&body);
    format!("DO {tag}{body}{tag};")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backfill::Key;

    #[test]
    fn a_loop_repeats_the_batch_until_no_row_changes() {
        assert_eq!(
            repeat_until_done("UPDATE t SET b = a WHERE b IS NULL;"),
            "DO $cutover$\nBEGIN\n  LOOP\n    UPDATE t SET b = a WHERE b IS NULL;\n    EXIT WHEN NOT FOUND;\n  END LOOP;\nEND\n$cutover$;"
        );
    }

    #[test]
    fn the_check_quotes_names_and_escapes_percent_signs() {
        let spec = Spec {
            table: QualName::new("public", "Or%ders"),
            key: Key::Ctid,
            column: "new".into(),
            expression: "a".into(),
            only_where: None,
            batch_size: 10,
        };
        let sql = check_done(&spec);
        assert!(sql.contains("SELECT FROM public.\"Or%ders\" WHERE new IS NULL"), "{sql}");
        assert!(sql.contains("RAISE EXCEPTION 'the backfill of public.\"Or%%ders\".new"), "{sql}");
    }
}
