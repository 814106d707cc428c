//! Loading a model written by the format-version-1 code (`tests/fixtures/manifest_v1`, made
//! before the preprocessor changed shape): it must load, describe its inputs, and predict what
//! that build predicted.

use std::path::Path;

use neurite_pipeline::data::Table;
use neurite_pipeline::{Bundle, FieldKind, Predictions};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn version_1_manifest_loads_and_predicts_as_before() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifest_v1");
    let b = Bundle::load(&dir).unwrap();
    assert_eq!(b.manifest.format_version, 1);
    let schema = b.input_schema();
    let names: Vec<&str> = schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    );
    assert!(
        schema
            .iter()
            .all(|f| f.required && f.kind == FieldKind::Number)
    );
    let t = Table::read_csv(&root().join("data/iris.csv"))
        .unwrap()
        .select_rows(&[0, 1]);
    let Predictions::Classes { proba, .. } = b.predict_table(&t).unwrap() else {
        panic!("expected classes");
    };
    let expected = std::fs::read_to_string(dir.join("expected_head.csv")).unwrap();
    let want: Vec<f32> = expected
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').skip(1).map(|v| v.parse::<f32>().unwrap()))
        .collect();
    assert_eq!(want.len(), proba.len());
    for (a, b) in proba.iter().zip(&want) {
        // The fixture holds 6 decimals.
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    // A version-1 model has no imputation: an empty cell is an input error.
    let rows = vec![vec![
        "5.1".to_string(),
        "".into(),
        "1.4".into(),
        "0.2".into(),
    ]];
    match b.predict_rows(&rows).unwrap_err() {
        neurite_pipeline::Error::Input { row, field, .. } => {
            assert_eq!((row, field.as_str()), (0, "sepal_width"))
        }
        e => panic!("unexpected {e}"),
    }
}
