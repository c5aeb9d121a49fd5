//! The model is serializable: every catalog recorded from a scenario (tests/recorded/, read
//! from a real server by the scenario suites) reads back into a `Catalog` and writes out as
//! exactly the same JSON: nothing in the model is lost or renamed on the way.

use cutover_schema::Catalog;
use std::path::Path;

#[test]
fn every_recorded_catalog_round_trips_through_json_unchanged() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/recorded");
    let mut count = 0;
    for family in ["diff", "plan"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(family)).unwrap().flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            for side in ["before", "after"] {
                let catalog: Catalog = serde_json::from_value(value[side].clone())
                    .unwrap_or_else(|e| panic!("{} ({side}): {e}", path.display()));
                assert_eq!(serde_json::to_value(&catalog).unwrap(), value[side], "{} ({side})", path.display());
                count += 1;
            }
        }
    }
    assert!(count >= 2 * 170, "{count} recorded catalogs");
}
