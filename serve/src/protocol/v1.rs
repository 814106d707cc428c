//! TF Serving / KServe V1: `GET /v1/models`, `GET /v1/models/{m}[/versions/{v}|/labels/{a}]`
//! (status), `.../metadata`, and `POST ...:predict` with `instances` (rows as objects or
//! arrays) or `inputs` (columns, or rows when a list).

use serde::Serialize;
use serde_json::{Value, json};

use super::{Ctx, converter, outputs_json, schema_json};
use crate::error::{Result, ServeError};
use crate::http_util::{Request, Response, ok_json, require_json};
use crate::input::parse_json;
use crate::output::{ColumnsView, RowsView};
use crate::predict::predict;
use crate::state::AppState;
use crate::store::VersionSel;

pub fn list(state: &AppState) -> Response {
    let snap = state.store.snapshot();
    ok_json(&json!({ "models": snap.models.keys().collect::<Vec<_>>() }))
}

pub fn status(state: &AppState, model: &str, sel: &VersionSel) -> Result<Response> {
    let snap = state.store.snapshot();
    let e = snap
        .models
        .get(model)
        .ok_or_else(|| ServeError::NotFound(format!("no model named {model:?} is served here")))?;
    let versions = match sel {
        VersionSel::Default if e.pin.is_none() => e.served_versions(),
        s => vec![e.resolve(s)?],
    };
    let st: Vec<Value> = versions
        .iter()
        .rev()
        .map(|k| {
            json!({"version": k.to_string(), "state": "AVAILABLE",
                   "status": {"error_code": "OK", "error_message": ""}})
        })
        .collect();
    Ok(ok_json(&json!({
        "name": model,
        "ready": !versions.is_empty(),
        "model_version_status": st,
    })))
}

pub async fn metadata(state: &AppState, model: &str, sel: &VersionSel) -> Result<Response> {
    let m = state.store.get(model, sel).await?;
    let snap = state.store.snapshot();
    let aliases = snap
        .models
        .get(model)
        .map(|e| json!(e.aliases))
        .unwrap_or(json!({}));
    let inputs: serde_json::Map<String, Value> = m
        .schema
        .iter()
        .map(|f| {
            let dt = match super::v2_datatype(&f.kind) {
                "FP32" => "DT_FLOAT",
                "INT64" => "DT_INT64",
                "BOOL" => "DT_BOOL",
                _ => "DT_STRING",
            };
            (
                f.name.clone(),
                json!({"name": f.name, "dtype": dt, "tensor_shape": {"dim": [{"size": "-1"}]}}),
            )
        })
        .collect();
    Ok(ok_json(&json!({
        "model_spec": {"name": m.name, "signature_name": "", "version": m.version.to_string()},
        "metadata": {"signature_def": {"signature_def": {"serving_default": {
            "inputs": inputs,
            "method_name": "tensorflow/serving/predict",
        }}}},
        "schema": schema_json(&m),
        "outputs": outputs_json(&m),
        "aliases": aliases,
    })))
}

#[derive(Serialize)]
struct RowsReply<'a> {
    predictions: RowsView<'a>,
    model_name: &'a str,
    model_version: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    unknown_categories: &'a std::collections::BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct ColumnsReply<'a> {
    outputs: ColumnsView<'a>,
    model_name: &'a str,
    model_version: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    unknown_categories: &'a std::collections::BTreeMap<String, u64>,
}

pub async fn predict_route(
    state: &AppState,
    req: &Request,
    model: &str,
    sel: &VersionSel,
    ctx: &mut Ctx,
) -> Result<Response> {
    require_json(req.headers())?;
    let body = parse_json(req.body())?;
    let m = state.store.get(model, sel).await?;
    ctx.set_model(&m);
    let Value::Object(obj) = &body else {
        return Err(ServeError::BadRequest(
            "expected a JSON object with \"instances\" or \"inputs\"".into(),
        ));
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "instances" | "inputs" | "signature_name") {
            return Err(ServeError::BadRequest(format!(
                "unknown key {k:?}: send \"instances\" (rows) or \"inputs\" (columns)"
            )));
        }
    }
    let conv = converter(state, &m, false);
    let (rows, columnar) = match (obj.get("instances"), obj.get("inputs")) {
        (Some(_), Some(_)) => {
            return Err(ServeError::BadRequest(
                "send either \"instances\" or \"inputs\", not both".into(),
            ));
        }
        (Some(Value::Array(recs)), None) => (conv.from_records(recs)?, false),
        (Some(_), None) => {
            return Err(ServeError::BadRequest(
                "\"instances\" must be a list of rows".into(),
            ));
        }
        (None, Some(Value::Object(cols))) => (conv.from_columns(cols)?, true),
        (None, Some(Value::Array(recs))) => (conv.from_records(recs)?, true),
        (None, Some(_)) => {
            return Err(ServeError::BadRequest(
                "\"inputs\" must be an object of columns or a list of rows".into(),
            ));
        }
        (None, None) => {
            return Err(ServeError::BadRequest(
                "expected \"instances\" (rows) or \"inputs\" (columns)".into(),
            ));
        }
    };
    ctx.rows = rows.cells.len();
    let unknown = rows.unknown_categories.clone();
    let p = predict(state, &m, rows).await?;
    Ok(if columnar {
        ok_json(&ColumnsReply {
            outputs: ColumnsView(&p),
            model_name: &m.name,
            model_version: m.version.to_string(),
            unknown_categories: &unknown,
        })
    } else {
        ok_json(&RowsReply {
            predictions: RowsView(&p),
            model_name: &m.name,
            model_version: m.version.to_string(),
            unknown_categories: &unknown,
        })
    })
}
