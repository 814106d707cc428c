//! The three prediction APIs: TF Serving / KServe V1, KServe V2 (Open Inference Protocol),
//! and MLflow / SageMaker. They share model lookup, input checking and the forward pass.

pub mod mlflow;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;

use neurite_pipeline::FieldKind;
use serde_json::{Value, json};

use crate::input::Converter;
use crate::state::AppState;
use crate::store::Loaded;

/// What a handler learned about the request, for metrics and the inference log.
#[derive(Default, Debug)]
pub struct Ctx {
    pub model: Option<(String, u32)>,
    pub rows: usize,
}

impl Ctx {
    pub fn set_model(&mut self, m: &Loaded) {
        self.model = Some((m.name.clone(), m.version));
    }
}

pub fn converter<'a>(state: &AppState, m: &'a Loaded, ignore_extra: bool) -> Converter<'a> {
    Converter {
        schema: &m.schema,
        index: &m.index,
        max_rows: state.limits.max_rows,
        ignore_extra,
    }
}

/// The input schema as JSON (name, type, categories, required).
pub fn schema_json(m: &Loaded) -> Value {
    serde_json::to_value(&m.schema).unwrap_or(Value::Null)
}

/// `{"task", "classes" | "labels" | "targets"}`.
pub fn outputs_json(m: &Loaded) -> Value {
    match (m.classes(), m.multilabel()) {
        (_, Some(l)) => json!({"task": "multilabel", "labels": l}),
        (Some(c), None) => {
            json!({"task": "classification", "label": m.targets().first(), "classes": c})
        }
        (None, None) => json!({"task": "regression", "targets": m.targets()}),
    }
}

pub fn v2_datatype(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Number => "FP32",
        FieldKind::Integer => "INT64",
        FieldKind::Boolean => "BOOL",
        FieldKind::Categorical { .. } | FieldKind::Datetime => "BYTES",
    }
}

/// Insert `unknown_categories` into a response object when any were seen.
pub fn add_unknown(obj: &mut serde_json::Map<String, Value>, unknown: &BTreeMap<String, u64>) {
    if !unknown.is_empty() {
        obj.insert("unknown_categories".into(), json!(unknown));
    }
}
