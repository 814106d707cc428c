//! Any bytes as a CSV, its last column as the target: schema inference, fitting every kind of
//! preprocessing and transforming (the table itself and rows of other bytes) may fail with an
//! error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_pipeline::data::config::{Encoding, ImputeStrategy, ScalerKind};
use neurite_pipeline::data::infer::infer_schema;
use neurite_pipeline::data::{DataConfig, Preprocessor, Table};

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else { return };
    // Split the input into a training CSV and a request CSV at the first 0xFF byte.
    let (train, request) = match rest.iter().position(|&b| b == 0xFF) {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &rest[..0]),
    };
    let path = std::path::Path::new("fuzz.csv");
    let Ok(t) = Table::from_bytes(path, train) else { return };
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
        cfg.selection.variance_threshold = Some(0.0);
        cfg.selection.correlation_threshold = Some(0.95);
    }
    let Ok(schema) = infer_schema(&t, &cfg, &[target]) else { return };
    let Ok((pre, _)) = Preprocessor::fit(&t, &schema, &cfg, None) else { return };
    if let Ok(x) = pre.transform(&t) {
        assert_eq!(x.len(), t.n_rows() * pre.n_features());
    }
    if let Ok(req) = Table::from_bytes(path, request) {
        let _ = pre.transform_report(&req);
    }
    let json = serde_json_roundtrip(&pre);
    assert_eq!(json.as_ref(), Some(&pre));
});

fn serde_json_roundtrip(p: &Preprocessor) -> Option<Preprocessor> {
    // NaN is not JSON; a fitted preprocessor must never hold one.
    let s = neurite_pipeline::data::preprocess::to_json(p).ok()?;
    neurite_pipeline::data::preprocess::from_json(&s).ok()
}
