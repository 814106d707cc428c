//! On every shipped dataset, the imputer, the scalers and the one-hot encoder give what
//! scikit-learn gives (fixtures in tests/fixtures/sklearn, made by make_fixtures.py there, which
//! documents the columns, the injected missing cells and the versions). Fitted statistics agree
//! to 1e-9 and outputs (f32) to 1e-6, relative to max(1, |value|).

use std::path::{Path, PathBuf};

use neurite_pipeline::data::config::{ColumnType, ImputeStrategy, ScalerKind};
use neurite_pipeline::data::infer::{ColumnInfo, Schema};
use neurite_pipeline::data::preprocess::InputKind;
use neurite_pipeline::data::{Column, DataConfig, Preprocessor, ReadOptions, Table};
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sklearn");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 8, "one fixture per shipped dataset");
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn close(ours: f64, theirs: f64, tol: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= tol * theirs.abs().max(1.0),
        "{what}: neurite {ours} vs scikit-learn {theirs}"
    );
}

fn schema(t: &Table, cols: &[String], ty: ColumnType) -> Schema {
    Schema {
        columns: cols
            .iter()
            .map(|c| ColumnInfo {
                name: c.clone(),
                index: t.col_index(c).unwrap(),
                ty,
                missing: 0,
                distinct: None,
                datetime_format: None,
                excluded: None,
            })
            .collect(),
        warnings: Vec::new(),
    }
}

const STRATEGIES: [(&str, ImputeStrategy); 4] = [
    ("mean", ImputeStrategy::Mean),
    ("median", ImputeStrategy::Median),
    ("most_frequent", ImputeStrategy::MostFrequent),
    ("constant", ImputeStrategy::Constant),
];
const SCALERS: [(&str, ScalerKind); 3] = [
    ("standard", ScalerKind::Standard),
    ("minmax", ScalerKind::Minmax),
    ("robust", ScalerKind::Robust),
];

#[test]
fn imputer_scalers_and_onehot_match_scikit_learn() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for f in fixtures() {
        let fx: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let name = fx["dataset"].as_str().unwrap();
        let numeric = strings(&fx["numeric"]);
        let cats = strings(&fx["categorical"]);
        let rows: Vec<usize> = fx["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() as usize)
            .collect();
        let opts = ReadOptions {
            text_columns: cats.clone(),
            ..Default::default()
        };
        let mut t = Table::read_csv_with(&root.join(format!("data/{name}.csv")), &opts).unwrap();
        // The fixture's missing cells: (7r + 13j) % 10 == 0.
        for (j, col) in numeric.iter().enumerate() {
            let c = t.col_index(col).unwrap();
            let Column::Number(n) = &mut t.columns[c] else {
                panic!("{name}: {col} is not numeric")
            };
            for (r, v) in n.values.iter_mut().enumerate() {
                if (7 * r + 13 * j) % 10 == 0 {
                    *v = f32::NAN;
                }
            }
        }
        let sub = t.select_rows(&rows);
        let num_schema = schema(&t, &numeric, ColumnType::Float);
        for (sname, strategy) in STRATEGIES {
            for (cname, scaler) in SCALERS {
                let cfg = DataConfig {
                    impute: strategy,
                    scaler,
                    fill_value: Some(0.0),
                    ..Default::default()
                };
                let (p, _) = Preprocessor::fit(&t, &num_schema, &cfg, None).unwrap();
                let what = format!("{name} {sname}+{cname}");
                let stats = nums(&fx["imputer"][sname]);
                for (j, inp) in p.inputs.iter().enumerate() {
                    let fill = inp.imputer.as_ref().unwrap().values[0];
                    close(
                        fill,
                        stats[j],
                        1e-9,
                        &format!("{what} imputer {}", inp.name),
                    );
                }
                if sname == "mean" {
                    let off = nums(&fx["scaler"][cname]["offset"]);
                    let scale = nums(&fx["scaler"][cname]["scale"]);
                    for j in 0..numeric.len() {
                        // scikit-learn keeps a zero range in data_range_ (and scales by 1).
                        let s = if scale[j] == 0.0 { 1.0 } else { scale[j] };
                        close(
                            p.scaler.offset[j],
                            off[j],
                            1e-9,
                            &format!("{what} offset {j}"),
                        );
                        close(p.scaler.scale[j], s, 1e-9, &format!("{what} scale {j}"));
                    }
                }
                let x = p.transform(&sub).unwrap();
                let want = &fx["pipelines"][format!("{sname}+{cname}")];
                for (i, row) in want.as_array().unwrap().iter().enumerate() {
                    let want = nums(row);
                    for (j, &w) in want.iter().enumerate() {
                        let got = x[i * numeric.len() + j] as f64;
                        close(got, w, 1e-6, &format!("{what} row {} col {j}", rows[i]));
                    }
                }
            }
        }
        if cats.is_empty() {
            continue;
        }
        let cat_schema = schema(&t, &cats, ColumnType::Categorical);
        for (sname, strategy) in [
            ("most_frequent", ImputeStrategy::MostFrequent),
            ("constant", ImputeStrategy::Constant),
        ] {
            let cfg = DataConfig {
                impute_categorical: Some(strategy),
                ..Default::default()
            };
            let (p, _) = Preprocessor::fit(&t, &cat_schema, &cfg, None).unwrap();
            let fxo = &fx["onehot"][sname];
            for (k, inp) in p.inputs.iter().enumerate() {
                let InputKind::Categorical { categories, .. } = &inp.kind else {
                    panic!()
                };
                assert_eq!(
                    categories,
                    &strings(&fxo["categories"][k]),
                    "{name} {sname} categories of {}",
                    inp.name
                );
            }
            let x = p.transform(&sub).unwrap();
            let nf = p.n_features();
            for (i, row) in fxo["output"].as_array().unwrap().iter().enumerate() {
                let want: Vec<f32> = nums(row).iter().map(|&v| v as f32).collect();
                assert_eq!(
                    &x[i * nf..(i + 1) * nf],
                    &want[..],
                    "{name} {sname} row {}",
                    rows[i]
                );
            }
            let unseen = vec![vec!["zzz-unseen".to_string(); cats.len()]];
            let u = Table::from_rows_with("unseen", cats.clone(), &unseen, &cats).unwrap();
            let (xu, rep) = p.transform_report(&u).unwrap();
            let want: Vec<f32> = nums(&fxo["unseen"]).iter().map(|&v| v as f32).collect();
            assert_eq!(xu, want, "{name} {sname} unseen");
            assert_eq!(rep.total_unseen(), cats.len());
        }
    }
}
