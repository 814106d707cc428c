//! `GET /openapi.json`: an OpenAPI 3.1 description of every route.

use serde_json::{Map, Value, json};

/// (method, path template, tag, summary, needs the API key when set)
pub const ROUTES: &[(&str, &str, &str, &str, bool)] = &[
    (
        "get",
        "/v1/models",
        "v1",
        "List served models (KServe V1)",
        false,
    ),
    (
        "get",
        "/v1/models/{model}",
        "v1",
        "Model status (TF Serving) and readiness (KServe V1)",
        false,
    ),
    (
        "get",
        "/v1/models/{model}/versions/{version}",
        "v1",
        "Status of one version",
        false,
    ),
    (
        "get",
        "/v1/models/{model}/labels/{alias}",
        "v1",
        "Status of the version an alias points to",
        false,
    ),
    (
        "get",
        "/v1/models/{model}/metadata",
        "v1",
        "Signature and input schema",
        false,
    ),
    (
        "get",
        "/v1/models/{model}/versions/{version}/metadata",
        "v1",
        "Metadata of one version",
        false,
    ),
    (
        "get",
        "/v1/models/{model}/labels/{alias}/metadata",
        "v1",
        "Metadata of an aliased version",
        false,
    ),
    (
        "post",
        "/v1/models/{model}:predict",
        "v1",
        "Predict: `instances` (rows) or `inputs` (columns)",
        true,
    ),
    (
        "post",
        "/v1/models/{model}/versions/{version}:predict",
        "v1",
        "Predict with one version",
        true,
    ),
    (
        "post",
        "/v1/models/{model}/labels/{alias}:predict",
        "v1",
        "Predict with an aliased version",
        true,
    ),
    (
        "get",
        "/v2",
        "v2",
        "Server metadata (Open Inference Protocol)",
        false,
    ),
    ("get", "/v2/health/live", "health", "Liveness", false),
    (
        "get",
        "/v2/health/ready",
        "health",
        "Readiness (503 while shutting down)",
        false,
    ),
    (
        "get",
        "/v2/models/{model}",
        "v2",
        "Model metadata: inputs, outputs, versions",
        false,
    ),
    (
        "get",
        "/v2/models/{model}/versions/{version}",
        "v2",
        "Metadata of one version",
        false,
    ),
    (
        "get",
        "/v2/models/{model}/ready",
        "v2",
        "Model readiness",
        false,
    ),
    (
        "get",
        "/v2/models/{model}/versions/{version}/ready",
        "v2",
        "Version readiness",
        false,
    ),
    (
        "post",
        "/v2/models/{model}/infer",
        "v2",
        "Inference: one input tensor per field, or one [N, F] tensor",
        true,
    ),
    (
        "post",
        "/v2/models/{model}/versions/{version}/infer",
        "v2",
        "Inference with one version",
        true,
    ),
    (
        "get",
        "/ping",
        "health",
        "Health (MLflow/SageMaker); also /health and /healthz",
        false,
    ),
    (
        "post",
        "/invocations",
        "mlflow",
        "Predict (MLflow/SageMaker): dataframe_split, dataframe_records, instances, inputs, or text/csv; ?model=NAME[@VERSION]",
        true,
    ),
    ("get", "/metrics", "ops", "Prometheus metrics", false),
    ("get", "/openapi.json", "ops", "This document", false),
    (
        "post",
        "/admin/reload",
        "ops",
        "Re-read the registry now (new versions, moved aliases)",
        true,
    ),
    ("get", "/", "ui", "Web UI", false),
    (
        "get",
        "/api/config",
        "ui",
        "UI configuration (title, charts, whether a key is needed)",
        false,
    ),
    (
        "get",
        "/api/models",
        "ui",
        "Models with versions, aliases, metrics and input schema",
        false,
    ),
    (
        "get",
        "/api/models/{model}",
        "ui",
        "Dashboard of the default version (metrics, charts)",
        false,
    ),
    (
        "get",
        "/api/models/{model}/versions/{version}",
        "ui",
        "Dashboard of one version",
        false,
    ),
    (
        "get",
        "/api/experiments",
        "ui",
        "Every trained version compared",
        false,
    ),
    (
        "get",
        "/api/runs",
        "ui",
        "Training logs in the logs folder",
        false,
    ),
    (
        "get",
        "/api/runs/{run}/events",
        "ui",
        "Server-sent events: one per epoch record of a training log",
        false,
    ),
    (
        "get",
        "/api/runs/{run}/chart",
        "ui",
        "Training-curve charts (SVG) of a log",
        false,
    ),
];

fn param(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary, keyed) in ROUTES {
        let params: Vec<Value> = ["model", "version", "alias", "run"]
            .iter()
            .filter(|p| path.contains(&format!("{{{p}}}")))
            .map(|p| param(p))
            .collect();
        let mut op = json!({
            "tags": [tag],
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad request: `{\"error\", \"code\", \"row\", \"field\"}`"},
                "404": {"description": "Unknown model, version or alias"},
            },
        });
        if *method == "post" {
            let schema = if path.ends_with(":predict") {
                json!({"$ref": "#/components/schemas/V1Predict"})
            } else if path.ends_with("/infer") {
                json!({"$ref": "#/components/schemas/V2Infer"})
            } else {
                json!({"type": "object"})
            };
            let mut content = Map::new();
            content.insert("application/json".into(), json!({"schema": schema}));
            if *path == "/invocations" {
                content.insert("text/csv".into(), json!({"schema": {"type": "string"}}));
            }
            op["requestBody"] = json!({"required": path != &"/admin/reload", "content": content});
            for (code, d) in [
                ("413", "Body over the size limit, or too many rows"),
                ("415", "Wrong content type"),
            ] {
                op["responses"][code] = json!({"description": d});
            }
        }
        if *keyed {
            op["security"] = json!([{"bearer": []}, {"apiKey": []}]);
            op["responses"]["401"] = json!({"description": "Missing or wrong API key"});
        }
        let entry = paths
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "neurite-serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Predictions from neurite models: TF Serving / KServe V1, KServe V2 (Open Inference Protocol), MLflow / SageMaker.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                "V1Predict": {
                    "type": "object",
                    "properties": {
                        "instances": {"type": "array", "items": {"oneOf": [{"type": "object"}, {"type": "array"}]}},
                        "inputs": {"oneOf": [{"type": "object", "additionalProperties": {"type": "array"}}, {"type": "array"}]},
                        "signature_name": {"type": "string"},
                    },
                },
                "V2Infer": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "inputs": {"type": "array", "items": {
                            "type": "object",
                            "required": ["name", "shape", "datatype", "data"],
                            "properties": {
                                "name": {"type": "string"},
                                "shape": {"type": "array", "items": {"type": "integer"}},
                                "datatype": {"type": "string"},
                                "data": {"type": "array"},
                            },
                        }},
                        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    },
                },
            },
        },
    })
}
