//! MLflow scoring server / SageMaker container contract: `GET /ping`, `POST /invocations`
//! with JSON (`dataframe_split`, `dataframe_records`, `instances` or `inputs`, plus optional
//! `params`) or `text/csv` (a header row, then rows). Errors use MLflow's
//! `{"error_code", "message"}` shape.
//!
//! Which model: `?model=name[@version]`, or the `X-Neurite-Model` or SageMaker's
//! `X-Amzn-SageMaker-Target-Model` header, or the only model served.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Ctx, converter};
use crate::error::{Result, ServeError};
use crate::http_util::{
    Request, Response, header_str, json as json_resp, media_type, ok_json, query_param,
};
use crate::input::parse_json;
use crate::output::RowsView;
use crate::predict::predict;
use crate::state::AppState;
use crate::store::{ServeSpec, VersionSel};

pub fn ping(state: &AppState) -> Response {
    let n = state.store.snapshot().models.len();
    if n > 0 && !state.is_shutting_down() {
        ok_json(&json!({"status": "Healthy", "models": n}))
    } else {
        json_resp(
            http::StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "Unhealthy", "models": n}),
        )
    }
}

fn target(state: &AppState, req: &Request) -> Result<(String, VersionSel)> {
    let explicit = query_param(req.uri(), "model")
        .or_else(|| header_str(req.headers(), "x-neurite-model").map(String::from))
        .or_else(|| header_str(req.headers(), "x-amzn-sagemaker-target-model").map(String::from));
    match explicit {
        Some(r) => ServeSpec::parse_ref(&r),
        None => state
            .store
            .only_model()
            .map(|n| (n, VersionSel::Default))
            .ok_or_else(|| {
                let snap = state.store.snapshot();
                ServeError::BadRequest(format!(
                    "several models are served ({}): choose one with ?model=NAME[@VERSION] or the X-Neurite-Model header",
                    snap.models.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            }),
    }
}

#[derive(Serialize)]
struct Reply<'a> {
    predictions: RowsView<'a>,
    model_name: &'a str,
    model_version: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    unknown_categories: &'a std::collections::BTreeMap<String, u64>,
}

pub async fn invocations(state: &AppState, req: &Request, ctx: &mut Ctx) -> Result<Response> {
    let media = media_type(req.headers());
    let csv = match media.as_deref() {
        None | Some("application/json") => false,
        Some("text/csv") => true,
        Some(other) => {
            return Err(ServeError::UnsupportedMediaType {
                got: other.to_string(),
                expected: "Content-Type: application/json or text/csv",
            });
        }
    };
    let (name, sel) = target(state, req)?;
    let ignore_extra = query_param(req.uri(), "extra_fields").as_deref() == Some("ignore");
    let m = state.store.get(&name, &sel).await?;
    ctx.set_model(&m);
    let conv = converter(state, &m, ignore_extra);
    let rows = if csv {
        if std::str::from_utf8(req.body()).is_err() {
            return Err(ServeError::BadRequest(
                "the CSV body is not valid UTF-8".into(),
            ));
        }
        conv.from_csv(req.body())?
    } else {
        let body = parse_json(req.body())?;
        let Value::Object(obj) = &body else {
            return Err(ServeError::BadRequest("expected a JSON object".into()));
        };
        let keys: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "params")
            .collect();
        let allowed = [
            "dataframe_split",
            "dataframe_records",
            "instances",
            "inputs",
        ];
        if keys.len() != 1 || !allowed.contains(&keys[0]) {
            return Err(ServeError::BadRequest(format!(
                "expected exactly one of {} (plus optional \"params\"), got: {}",
                allowed.join(", "),
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            )));
        }
        let v = &obj[keys[0]];
        match (keys[0], v) {
            ("dataframe_split", Value::Object(s)) => {
                let data = s.get("data").and_then(Value::as_array).ok_or_else(|| {
                    ServeError::BadRequest("dataframe_split needs a \"data\" list".into())
                })?;
                let cols = match s.get("columns") {
                    None => None,
                    Some(Value::Array(c)) => Some(c.as_slice()),
                    Some(_) => {
                        return Err(ServeError::BadRequest(
                            "dataframe_split.columns must be a list".into(),
                        ));
                    }
                };
                conv.from_split(cols, data)?
            }
            ("dataframe_records" | "instances", Value::Array(recs)) => conv.from_records(recs)?,
            ("inputs", Value::Object(cols)) => conv.from_columns(cols)?,
            ("inputs", Value::Array(recs)) => conv.from_records(recs)?,
            (k, _) => {
                return Err(ServeError::BadRequest(format!("{k} has the wrong shape")));
            }
        }
    };
    ctx.rows = rows.cells.len();
    let unknown = rows.unknown_categories.clone();
    let p = predict(state, &m, rows).await?;
    Ok(ok_json(&Reply {
        predictions: RowsView(&p),
        model_name: &m.name,
        model_version: m.version.to_string(),
        unknown_categories: &unknown,
    }))
}
