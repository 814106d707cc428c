//! The fuzz targets' properties on stable Rust, in `cargo test`: random CSV-like bytes through
//! the loader, schema inference, every preprocessing option and transformation give a result
//! or an error, never a panic. (The coverage-guided versions are in pipeline/fuzz/.)

use neurite_pipeline::data::config::{Encoding, ImputeStrategy, ScalerKind};
use neurite_pipeline::data::infer::infer_schema;
use neurite_pipeline::data::preprocess::{from_json, to_json};
use neurite_pipeline::data::{DataConfig, Preprocessor, ReadOptions, Table};
use proptest::prelude::*;

/// Bytes biased towards CSV structure: separators, quotes, newlines, numbers, missing tokens,
/// dates, words, and some invalid UTF-8.
fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b",".to_vec()),
        Just(b",".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"NA".to_vec()),
        Just(b"".to_vec()),
        Just(b"?".to_vec()),
        Just(b"yes".to_vec()),
        Just(b"2012-01-31".to_vec()),
        Just(b"31/01/2012".to_vec()),
        Just(b"1e39".to_vec()),
        Just(b"-0".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xff".to_vec()),
        (-1000i32..1000).prop_map(|v| v.to_string().into_bytes()),
        (-1e6f64..1e6).prop_map(|v| format!("{v}").into_bytes()),
        "[a-c]{1,3}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    proptest::collection::vec(token, 0..120).prop_map(|v| v.concat())
}

fn header_and(body: Vec<u8>, cols: usize) -> Vec<u8> {
    let mut h: Vec<u8> = (0..cols)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",")
        .into_bytes();
    h.push(b'\n');
    h.extend(body);
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics(bytes in csv_bytes(), d in 0usize..4) {
        let opts = ReadOptions {
            delimiter: [None, Some(b','), Some(b';'), Some(b'\t')][d],
            ..Default::default()
        };
        let path = std::path::Path::new("p.csv");
        if let Ok(t) = Table::from_bytes_with(path, &bytes, &opts) {
            prop_assert!(t.n_rows() > 0);
            prop_assert!(t.lines.windows(2).all(|w| w[0] < w[1]));
            for c in 0..t.n_cols() {
                prop_assert_eq!(t.columns[c].len(), t.n_rows());
            }
        }
    }

    #[test]
    fn preprocessing_never_panics(
        body in csv_bytes(),
        request in csv_bytes(),
        cols in 2usize..5,
        knobs in any::<u8>(),
    ) {
        let path = std::path::Path::new("p.csv");
        let Ok(t) = Table::from_bytes(path, &header_and(body, cols)) else { return Ok(()) };
        let target = t.headers[t.n_cols() - 1].clone();
        let mut cfg = DataConfig {
            impute: [
                ImputeStrategy::Mean,
                ImputeStrategy::Median,
                ImputeStrategy::MostFrequent,
                ImputeStrategy::Constant,
            ][(knobs & 3) as usize],
            scaler: [ScalerKind::Standard, ScalerKind::Minmax, ScalerKind::Robust, ScalerKind::None]
                [((knobs >> 2) & 3) as usize],
            encoding: if knobs & 16 != 0 { Encoding::Ordinal } else { Encoding::Onehot },
            missing_indicators: knobs & 32 != 0,
            drop_missing_rows: knobs & 64 != 0,
            ..Default::default()
        };
        if knobs & 128 != 0 {
            cfg.features.polynomial = Some(2);
            cfg.features.log.push("c0".into());
            cfg.features.yeo_johnson.push("c1".into());
            cfg.features.bins.insert("c0".into(), 3);
            cfg.selection.variance_threshold = Some(0.0);
            cfg.selection.correlation_threshold = Some(0.9);
        }
        let Ok(schema) = infer_schema(&t, &cfg, &[target]) else { return Ok(()) };
        let Ok((pre, _)) = Preprocessor::fit(&t, &schema, &cfg, None) else { return Ok(()) };
        if let Ok(x) = pre.transform(&t) {
            prop_assert_eq!(x.len(), t.n_rows() * pre.n_features());
        }
        // The fitted preprocessor survives JSON exactly (what a bundle stores).
        let back = from_json(&to_json(&pre).unwrap()).unwrap();
        prop_assert_eq!(&back, &pre);
        if let Ok(req) = Table::from_bytes(path, &header_and(request, cols)) {
            let _ = pre.transform_report(&req);
        }
    }
}
