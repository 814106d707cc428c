//! KServe V2 / Open Inference Protocol: `GET /v2`, `/v2/health/{live,ready}`,
//! `GET /v2/models/{m}[/versions/{v}][/ready]`, `POST /v2/models/{m}[/versions/{v}]/infer`.
//!
//! Tabular requests send one input tensor per field (`shape [N]` or `[N, 1]`), or a single
//! `[N, F]` tensor holding the fields in schema order.

use std::collections::BTreeMap;

use neurite_pipeline::FieldKind;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Ctx, converter, outputs_json, schema_json, v2_datatype};
use crate::error::{Result, ServeError};
use crate::http_util::{Request, Response, json as json_resp, ok_json, require_json};
use crate::input::{parse_json, type_name};
use crate::output::{V2Outputs, output_names};
use crate::predict::predict;
use crate::state::AppState;
use crate::store::VersionSel;

pub fn server() -> Response {
    ok_json(&json!({
        "name": "neurite-serve",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

pub fn live() -> Response {
    ok_json(&json!({"live": true}))
}

pub fn ready(state: &AppState) -> Response {
    let ready = !state.is_shutting_down();
    let status = if ready {
        http::StatusCode::OK
    } else {
        http::StatusCode::SERVICE_UNAVAILABLE
    };
    json_resp(status, &json!({"ready": ready}))
}

pub async fn metadata(state: &AppState, model: &str, sel: &VersionSel) -> Result<Response> {
    let m = state.store.get(model, sel).await?;
    let snap = state.store.snapshot();
    let entry = snap.models.get(model);
    let versions: Vec<String> = match (sel, entry) {
        (VersionSel::Default, Some(e)) => {
            e.served_versions().iter().map(|k| k.to_string()).collect()
        }
        _ => vec![m.version.to_string()],
    };
    let inputs: Vec<Value> = m
        .schema
        .iter()
        .map(|f| json!({"name": f.name, "datatype": v2_datatype(&f.kind), "shape": [-1]}))
        .collect();
    let outputs: Vec<Value> = match (m.classes(), m.multilabel()) {
        (_, Some(l)) => vec![
            json!({"name": "labels", "datatype": "BOOL", "shape": [-1, l.len()], "parameters": {"classes": l}}),
            json!({"name": "probabilities", "datatype": "FP32", "shape": [-1, l.len()], "parameters": {"classes": l}}),
        ],
        (Some(c), None) => vec![
            json!({"name": "label", "datatype": "BYTES", "shape": [-1]}),
            json!({"name": "probabilities", "datatype": "FP32", "shape": [-1, c.len()],
                   "parameters": {"classes": c}}),
        ],
        (None, None) => m
            .targets()
            .iter()
            .map(|t| json!({"name": t, "datatype": "FP32", "shape": [-1]}))
            .collect(),
    };
    Ok(ok_json(&json!({
        "name": m.name,
        "versions": versions,
        "platform": "neurite-mlp",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {
            "default_version": m.version.to_string(),
            "aliases": entry.map(|e| json!(e.aliases)).unwrap_or(json!({})),
            "schema": schema_json(&m),
            "task": outputs_json(&m),
        },
    })))
}

pub async fn model_ready(state: &AppState, model: &str, sel: &VersionSel) -> Result<Response> {
    let m = state.store.get(model, sel).await?;
    Ok(ok_json(&json!({"name": m.name, "ready": true})))
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        x => out.push(x),
    }
}

fn datatype_fits(dt: &str, kind: &FieldKind) -> bool {
    let numeric = matches!(
        dt,
        "FP16"
            | "FP32"
            | "FP64"
            | "BF16"
            | "INT8"
            | "INT16"
            | "INT32"
            | "INT64"
            | "UINT8"
            | "UINT16"
            | "UINT32"
            | "UINT64"
    );
    match kind {
        FieldKind::Number | FieldKind::Integer => numeric,
        FieldKind::Boolean => dt == "BOOL" || numeric,
        FieldKind::Categorical { .. } => dt == "BYTES" || numeric || dt == "BOOL",
        FieldKind::Datetime => dt == "BYTES",
    }
}

struct InputTensor<'a> {
    name: &'a str,
    shape: Vec<usize>,
    datatype: &'a str,
    data: Vec<&'a Value>,
}

fn parse_tensor(i: usize, t: &Value) -> Result<InputTensor<'_>> {
    let bad = |d: String| ServeError::BadRequest(format!("inputs[{i}]: {d}"));
    let Value::Object(o) = t else {
        return Err(bad(format!("expected an object, got {}", type_name(t))));
    };
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("missing \"name\"".into()))?;
    let shape: Vec<usize> = o
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("{name}: missing \"shape\"")))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            bad(format!(
                "{name}: shape must be a list of non-negative integers"
            ))
        })?;
    let datatype = o
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{name}: missing \"datatype\"")))?;
    let raw = o
        .get("data")
        .ok_or_else(|| bad(format!("{name}: missing \"data\"")))?;
    let mut data = Vec::new();
    flatten(raw, &mut data);
    let expected = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("{name}: shape too large")))?;
    if expected != data.len() {
        return Err(bad(format!(
            "{name}: shape {shape:?} holds {expected} values but data has {}",
            data.len()
        )));
    }
    Ok(InputTensor {
        name,
        shape,
        datatype,
        data,
    })
}

#[derive(Serialize)]
struct InferReply<'a> {
    model_name: &'a str,
    model_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    outputs: V2Outputs<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

pub async fn infer(
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
            "expected a JSON object with \"inputs\"".into(),
        ));
    };
    let id = match obj.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(ServeError::BadRequest("\"id\" must be a string".into())),
    };
    let inputs = obj
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| ServeError::BadRequest("\"inputs\" must be a list of tensors".into()))?;
    let tensors: Vec<InputTensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| parse_tensor(i, t))
        .collect::<Result<_>>()?;
    let known = output_names(m.classes(), m.multilabel().is_some(), &m.targets());
    let mut wanted = Vec::new();
    if let Some(outs) = obj.get("outputs") {
        let outs = outs
            .as_array()
            .ok_or_else(|| ServeError::BadRequest("\"outputs\" must be a list".into()))?;
        for o in outs {
            let n = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                ServeError::BadRequest("each requested output needs a \"name\"".into())
            })?;
            if !known.iter().any(|k| k == n) {
                return Err(ServeError::BadRequest(format!(
                    "unknown output {n:?} (outputs: {})",
                    known.join(", ")
                )));
            }
            wanted.push(n.to_string());
        }
    }
    let conv = converter(state, &m, false);
    let per_field = !tensors.is_empty() && tensors.iter().all(|t| m.index.contains_key(t.name));
    let rows = if per_field {
        let mut cols = Map::new();
        for t in &tensors {
            let Some(f) = m.index.get(t.name).and_then(|&i| m.schema.get(i)) else {
                continue;
            };
            if !datatype_fits(t.datatype, &f.kind) {
                return Err(ServeError::Input {
                    row: None,
                    field: Some(f.name.clone()),
                    detail: format!(
                        "datatype {} does not fit a {} field",
                        t.datatype,
                        v2_datatype(&f.kind)
                    ),
                });
            }
            let n = t.shape.first().copied().unwrap_or(0);
            if t.shape.len() > 2 || (t.shape.len() == 2 && t.shape[1] != 1) {
                return Err(ServeError::Input {
                    row: None,
                    field: Some(f.name.clone()),
                    detail: format!("shape {:?}: expected [N] or [N, 1]", t.shape),
                });
            }
            debug_assert_eq!(n, t.data.len());
            if cols
                .insert(
                    t.name.to_string(),
                    Value::Array(t.data.iter().map(|v| (*v).clone()).collect()),
                )
                .is_some()
            {
                return Err(ServeError::BadRequest(format!(
                    "input {:?} appears twice",
                    t.name
                )));
            }
        }
        conv.from_columns(&cols)?
    } else if tensors.len() == 1
        && tensors[0].shape.len() == 2
        && tensors[0].shape[1] == m.schema.len()
    {
        let t = &tensors[0];
        let f = m.schema.len();
        let records: Vec<Value> = t
            .data
            .chunks(f.max(1))
            .map(|r| Value::Array(r.iter().map(|v| (*v).clone()).collect()))
            .collect();
        if records.is_empty() {
            return Err(ServeError::BadRequest("the request has no rows".into()));
        }
        conv.from_records(&records)?
    } else {
        let unknown: Vec<&str> = tensors
            .iter()
            .map(|t| t.name)
            .filter(|n| !m.index.contains_key(*n))
            .collect();
        return Err(ServeError::BadRequest(format!(
            "send one input per field ({}) or one [N, {}] tensor; unknown inputs: {}",
            m.schema
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            m.schema.len(),
            if unknown.is_empty() {
                "none".to_string()
            } else {
                unknown.join(", ")
            }
        )));
    };
    ctx.rows = rows.cells.len();
    let unknown: BTreeMap<String, u64> = rows.unknown_categories.clone();
    let p = predict(state, &m, rows).await?;
    Ok(ok_json(&InferReply {
        model_name: &m.name,
        model_version: m.version.to_string(),
        id,
        outputs: V2Outputs {
            p: &p,
            wanted: &wanted,
        },
        parameters: (!unknown.is_empty()).then(|| json!({ "unknown_categories": unknown })),
    }))
}
