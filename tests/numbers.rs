//! No figure the program writes reads as a negative zero: `staircase solve --json` of every
//! preset (at its load and at no load) and of a design without prices.

mod common;

use common::{preset_path, staircase};
use staircase::io::presets;
use staircase::model::NodeKind;

/// Paths of every number in `value` that is a negative zero.
fn negative_zeros(value: &serde_json::Value, path: &str, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Number(n)
            if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) =>
        {
            found.push(path.to_string());
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                negative_zeros(item, &format!("{path}[{i}]"), found);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                negative_zeros(item, &format!("{path}.{key}"), found);
            }
        }
        _ => {}
    }
}

fn assert_no_negative_zero(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = staircase(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(!out.contains("-0.0"), "{args:?} prints -0.0");
    let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let mut found = Vec::new();
    negative_zeros(&value, "", &mut found);
    assert!(found.is_empty(), "{args:?}: -0.0 at {found:?}");
    value
}

#[test]
fn solve_json_of_every_preset_has_no_negative_zero() {
    for preset in presets::PRESETS {
        let path = preset_path(preset.file);
        let value = assert_no_negative_zero(&["solve", "--json", &path]);
        assert!(
            value["monthly_cost_usd"].as_f64().unwrap() > 0.0,
            "{}",
            preset.file
        );
        let idle = assert_no_negative_zero(&["solve", "--json", "--load", "0", &path]);
        assert_eq!(idle["offered_rps"].as_f64(), Some(0.0), "{}", preset.file);
    }
}

#[test]
fn a_design_without_prices_costs_zero_not_negative_zero() {
    // The monthly cost is a sum over no priced tiers: in floating point that sum is -0.0.
    let unpriced = staircase::analysis::generate::station(50.0, NodeKind::Service, 2, 100.0);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("unpriced.ron");
    staircase::io::document::save(&path, &unpriced).unwrap();
    let path = path.to_string_lossy().into_owned();
    let value = assert_no_negative_zero(&["solve", "--json", &path]);
    assert_eq!(value["monthly_cost_usd"].as_f64(), Some(0.0));
    let (_, table, _) = staircase(&["solve", &path]);
    assert!(table.contains("monthly cost $0.00"), "{table}");
}
