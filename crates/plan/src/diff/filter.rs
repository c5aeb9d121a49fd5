//! Restricting a catalog to the schemas a diff is about.

use super::DiffOptions;
use cutover_schema::Catalog;
use std::borrow::Cow;

/// The part of `catalog` inside the included schemas and outside the excluded ones.
/// Extensions are kept only when their schema is kept; dependencies that leave the kept
/// part are dropped.
pub fn filter<'a>(catalog: &'a Catalog, options: &DiffOptions) -> Cow<'a, Catalog> {
    if options.schemas.is_empty() && options.exclude_schemas.is_empty() {
        return Cow::Borrowed(catalog);
    }
    let keep = |schema: &str| {
        (options.schemas.is_empty() || options.schemas.iter().any(|s| s == schema))
            && !options.exclude_schemas.iter().any(|s| s == schema)
    };
    let mut out = catalog.clone();
    out.schemas.retain(|name, _| keep(name));
    out.extensions.retain(|_, e| keep(&e.schema));
    out.collations.retain(|name, _| keep(&name.schema));
    out.types.retain(|name, _| keep(&name.schema));
    out.sequences.retain(|name, _| keep(&name.schema));
    out.tables.retain(|name, _| keep(&name.schema));
    out.views.retain(|name, _| keep(&name.schema));
    out.statistics.retain(|name, _| keep(&name.schema));
    out.functions.retain(|id, _| keep(&id.name.schema));
    out.dependencies.retain(|d| d.dependent.schema().is_none_or(keep) && d.referenced.schema().is_none_or(keep));
    Cow::Owned(out)
}
