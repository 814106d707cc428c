//! No train/serve skew: the same raw rows through the training path (the preprocessor fitted in
//! training, applied to the table training read) and through a reloaded bundle's request path
//! (cells as strings) give bit-identical model inputs, and the same predictions.

use std::path::Path;

use neurite_pipeline::config::TrainConfig;
use neurite_pipeline::data::DataConfig;
use neurite_pipeline::data::config::ImputeStrategy;
use neurite_pipeline::prepare::{SplitOptions, prepare};
use neurite_pipeline::train::{TrainEnv, train};
use neurite_pipeline::{FieldKind, Registry};

/// A small messy table: numbers with gaps, a category with gaps, a boolean, a date, an id.
fn messy_csv(dir: &Path) -> std::path::PathBuf {
    let mut s = String::from("id,age,city,member,joined,score,label\n");
    for i in 0..120u32 {
        let age = if i % 9 == 0 {
            "NA".to_string()
        } else {
            format!("{}", 20 + (i * 7) % 50)
        };
        let city = ["paris", "lyon", "", "nice"][(i % 4) as usize];
        let member = if i % 11 == 0 {
            ""
        } else if i % 3 == 0 {
            "yes"
        } else {
            "no"
        };
        let joined = if i % 13 == 0 {
            String::new()
        } else {
            format!("2019-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
        };
        let score = (i as f64 * 0.37).sin() * 10.0;
        let label = if (i % 3 == 0) ^ (score > 2.0) {
            "hi"
        } else {
            "lo"
        };
        s.push_str(&format!(
            "{},{age},{city},{member},{joined},{score:.4},{label}\n",
            1000 + i
        ));
    }
    let p = dir.join("messy.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn training_path_and_reloaded_bundle_give_identical_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = messy_csv(dir.path());
    let reg = Registry::new(dir.path().join("models"));
    let mut o = TrainConfig {
        target: vec!["label".into()],
        ..Default::default()
    };
    o.training.epochs = 3;
    o.data = DataConfig {
        missing_indicators: true,
        impute: ImputeStrategy::Median,
        ..Default::default()
    };
    let out = train(&path, &o, TrainEnv::new(&reg)).unwrap();
    // The training path: the table as training read it, through the fitted preprocessor.
    let split = SplitOptions {
        seed: o.training.seed,
        ..Default::default()
    };
    let prep = prepare(&path, &o.target, None, &o.data, &split).unwrap();
    let x_train = out.manifest.preprocessor.transform(&prep.table).unwrap();

    // The serving path: a reloaded bundle, rows as strings in the schema's order.
    let b = reg.load("messy").unwrap();
    let schema = b.input_schema();
    let names: Vec<&str> = schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["age", "city", "member", "joined", "score"]);
    assert_eq!(schema[0].kind, FieldKind::Integer);
    assert_eq!(
        schema[1].kind,
        FieldKind::Categorical {
            categories: vec!["lyon".into(), "nice".into(), "paris".into()]
        }
    );
    assert_eq!(schema[2].kind, FieldKind::Boolean);
    assert_eq!(schema[3].kind, FieldKind::Datetime);
    // A field is optional exactly when training saw it missing (and can impute it).
    for (f, i) in schema.iter().zip(&out.manifest.preprocessor.inputs) {
        assert_eq!(f.required, !i.missing_in_training, "{}", f.name);
    }
    assert!(
        schema.iter().any(|f| !f.required),
        "the messy file has missing values"
    );
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let head: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let cols: Vec<usize> = names
        .iter()
        .map(|n| head.iter().position(|h| h == n).unwrap())
        .collect();
    let rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            cols.iter().map(|&c| r[c].to_string()).collect()
        })
        .collect();
    let x_serve = b.transform_rows(&rows).unwrap();
    assert_eq!(x_train.len(), x_serve.len());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&x_train), bits(&x_serve), "train/serve skew");
    assert_eq!(
        b.predict_rows(&rows).unwrap(),
        b.predict_table(&prep.table).unwrap()
    );

    // Missing cells and unseen categories are accepted and reported.
    let req = vec![
        vec![
            "".to_string(),
            "marseille".into(),
            "".into(),
            "".into(),
            "1.5".into(),
        ],
        vec![
            "31".to_string(),
            "paris".into(),
            "yes".into(),
            "2020-02-02".into(),
            "".into(),
        ],
    ];
    let (p, rep) = b.predict_rows_report(&req).unwrap();
    assert_eq!(p.rows(), 2);
    assert_eq!(rep.unseen["city"], 1);
    assert_eq!(rep.imputed["age"], 1);
    assert_eq!(rep.imputed["score"], 1);
    // A bad value names its row and field.
    let bad = vec![req[1].clone(), {
        let mut r = req[1].clone();
        r[3] = "someday".into();
        r
    }];
    match b.predict_rows(&bad).unwrap_err() {
        neurite_pipeline::Error::Input { row, field, .. } => {
            assert_eq!((row, field.as_str()), (1, "joined"))
        }
        e => panic!("unexpected {e}"),
    }
    assert!(
        out.manifest
            .data
            .warnings
            .iter()
            .any(|w| w.contains("\"id\""))
    );
}
