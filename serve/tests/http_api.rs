//! Server mode over real HTTP: every route, every request shape, every bad input.

mod common;

use std::sync::OnceLock;

use common::{Server, iris_row, registry};
use serde_json::{Value, json};

fn models() -> &'static str {
    static REG: OnceLock<tempfile::TempDir> = OnceLock::new();
    let d = REG.get_or_init(|| {
        let d = registry();
        std::fs::write(
            d.path().join("models/iris/aliases.json"),
            r#"{"production": 1, "staging": 2}"#,
        )
        .unwrap();
        let logs = d.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(
            logs.join("run1.jsonl"),
            "{\"epoch\":1,\"loss\":0.9,\"val_loss\":1.0}\n{\"epoch\":2,\"loss\":0.7,\"val_loss\":0.8,\"val_accuracy\":0.6}\n",
        )
        .unwrap();
        d
    });
    d.path().to_str().unwrap()
}

fn start(extra: &[&str]) -> Server {
    let root = models();
    let m = format!("{root}/models");
    let logs = format!("{root}/logs");
    let mut args = vec!["--models", &m, "--logs", &logs, "--inference-log", "off"];
    args.extend_from_slice(extra);
    Server::start(&args, &[])
}

fn probs(v: &Value) -> Vec<f64> {
    let p = &v["probabilities"];
    ["setosa", "versicolor", "virginica"]
        .iter()
        .map(|c| p[c].as_f64().unwrap())
        .collect()
}

#[test]
fn health_metadata_and_docs() {
    let s = start(&[]);
    for p in ["/ping", "/health", "/healthz"] {
        let r = s.get(p);
        assert_eq!(r.status, 200, "{p}");
        assert_eq!(r.json()["status"], "Healthy");
    }
    assert_eq!(s.get("/v2").json()["name"], "neurite-serve");
    assert_eq!(s.get("/v2/health/live").json(), json!({"live": true}));
    assert_eq!(s.get("/v2/health/ready").json(), json!({"ready": true}));
    assert_eq!(
        s.get("/v1/models").json(),
        json!({"models": ["iris", "linnerud"]})
    );
    // TF Serving status: every version, newest first; one version; an alias.
    let st = s.get("/v1/models/iris").json();
    assert_eq!(st["ready"], true);
    assert_eq!(st["model_version_status"][0]["version"], "2");
    assert_eq!(st["model_version_status"][1]["state"], "AVAILABLE");
    let st = s.get("/v1/models/iris/versions/1").json();
    assert_eq!(st["model_version_status"].as_array().unwrap().len(), 1);
    let st = s.get("/v1/models/iris/labels/production").json();
    assert_eq!(st["model_version_status"][0]["version"], "1");
    for p in [
        "/v1/models/iris/metadata",
        "/v1/models/iris/versions/2/metadata",
        "/v1/models/iris/labels/staging/metadata",
    ] {
        let md = s.get(p).json();
        assert_eq!(md["model_spec"]["version"], "2", "{p}");
        assert_eq!(md["schema"].as_array().unwrap().len(), 4);
        assert!(md["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["petal_width"].is_object());
    }
    assert_eq!(
        s.get("/v1/models/iris/labels/production/metadata").json()["model_spec"]["version"],
        "1"
    );
    let md = s.get("/v2/models/iris").json();
    assert_eq!(md["versions"], json!(["1", "2"]));
    assert_eq!(
        md["inputs"][0],
        json!({"name": "sepal_length", "datatype": "FP32", "shape": [-1]})
    );
    assert_eq!(
        md["outputs"][1]["parameters"]["classes"],
        json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(
        s.get("/v2/models/iris/versions/1").json()["versions"],
        json!(["1"])
    );
    let lin = s.get("/v2/models/linnerud").json();
    let outs: Vec<&str> = lin["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outs, ["weight", "waist", "pulse"]);
    assert_eq!(
        s.get("/v2/models/iris/ready").json(),
        json!({"name": "iris", "ready": true})
    );
    assert_eq!(s.get("/v2/models/iris/versions/1/ready").status, 200);
    assert_eq!(s.get("/v2/models/iris/versions/9/ready").status, 404);

    // OpenAPI lists every route the server answers.
    let doc = s.get("/openapi.json").json();
    for (method, path, ..) in neurite_serve::openapi::ROUTES {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // UI and its API.
    let ui = s.get("/");
    assert_eq!(ui.status, 200);
    assert!(ui.header("content-type").unwrap().starts_with("text/html"));
    assert!(ui.text().contains("/assets/app.js"));
    assert_eq!(s.get("/assets/app.js").status, 200);
    assert_eq!(s.get("/assets/style.css").status, 200);
    assert_eq!(s.get("/assets/nope.js").status, 404);
    let cfg = s.get("/api/config").json();
    assert_eq!(
        (cfg["title"].as_str(), cfg["auth_required"].as_bool()),
        (Some("neurite"), Some(false))
    );
    let ms = s.get("/api/models").json();
    assert_eq!(
        ms["models"][0]["aliases"],
        json!({"production": 1, "staging": 2})
    );
    assert_eq!(ms["models"][0]["versions"].as_array().unwrap().len(), 2);
    assert!(ms["models"][0]["versions"][0]["metrics"]["test"]["accuracy"].is_number());
    let dash = s.get("/api/models/iris/versions/1").json();
    let ids: Vec<&str> = dash["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"confusion_matrix")
            && ids.contains(&"roc_curve")
            && ids.contains(&"training_curves")
    );
    for c in dash["charts"].as_array().unwrap() {
        assert!(
            c["svg"].as_str().unwrap().starts_with("<svg"),
            "{}",
            c["id"]
        );
    }
    // Regression dashboard: predicted vs actual from the evaluation.json training wrote.
    let dash = s.get("/api/models/linnerud").json();
    let pva = dash["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "predicted_vs_actual")
        .unwrap();
    assert!(pva["svg"].as_str().unwrap().contains("<svg"), "{pva}");
    let ex = s.get("/api/experiments").json();
    assert_eq!(ex["runs"].as_array().unwrap().len(), 3);
    assert!(ex["charts"][0]["svg"].as_str().unwrap().contains("<rect"));
    let runs = s.get("/api/runs").json();
    assert_eq!(runs["runs"][0]["run"], "run1");
    assert_eq!(runs["runs"][0]["last"]["epoch"], 2);
    let ch = s.get("/api/runs/run1/chart").json();
    assert_eq!(ch["epochs"], 2);
    assert_eq!(s.get("/api/runs/nope/chart").status, 404);
    // HEAD works where GET does, with no body.
    let h = common::request(s.addr, "HEAD", "/v2/health/live", &[], b"");
    assert_eq!((h.status, h.body.len()), (200, 0));
    // Metrics count what happened.
    let m = s.get("/metrics").text();
    assert!(
        m.contains(
            "neurite_requests_total{route=\"ping\",model=\"\",version=\"\",status=\"200\"} 3"
        ),
        "{m}"
    );
    assert!(m.contains("# TYPE neurite_request_duration_seconds histogram"));
    assert!(m.contains("neurite_in_flight_requests 1"));
}

#[test]
fn every_request_shape_gives_the_same_prediction() {
    let s = start(&[]);
    let row = iris_row();
    let arr = json!([5.1, 3.5, 1.4, 0.2]);
    let cols = json!({"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4], "petal_width": [0.2]});
    let base = s.post_json("/v1/models/iris:predict", &json!({"instances": [row]}));
    assert_eq!(base.status, 200, "{}", base.text());
    let base = base.json();
    assert_eq!(
        (base["model_name"].as_str(), base["model_version"].as_str()),
        (Some("iris"), Some("2"))
    );
    let want = probs(&base["predictions"][0]);
    assert!((want.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    let label = base["predictions"][0]["label"].clone();

    let check = |v: &Value, what: &str| {
        let got = probs(v);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{what}: {got:?} vs {want:?}");
        }
        assert_eq!(v["label"], label, "{what}");
    };
    // V1 rows as arrays; columns; inputs as a list of rows; a signature name.
    let r = s
        .post_json("/v1/models/iris:predict", &json!({"instances": [arr, row]}))
        .json();
    check(&r["predictions"][0], "v1 arrays");
    check(&r["predictions"][1], "v1 mixed");
    let r = s
        .post_json(
            "/v1/models/iris/versions/2:predict",
            &json!({"inputs": cols}),
        )
        .json();
    assert_eq!(r["outputs"]["label"][0], label);
    check(
        &json!({"label": r["outputs"]["label"][0], "probabilities": r["outputs"]["probabilities"][0]}),
        "v1 columns",
    );
    let r = s
        .post_json(
            "/v1/models/iris:predict",
            &json!({"signature_name": "serving_default", "inputs": [row]}),
        )
        .json();
    assert_eq!(r["outputs"]["label"][0], label);
    // Versions and aliases route to their versions.
    let r = s
        .post_json(
            "/v1/models/iris/labels/production:predict",
            &json!({"instances": [row]}),
        )
        .json();
    assert_eq!(r["model_version"], "1");
    let r = s
        .post_json(
            "/v1/models/iris/versions/1:predict",
            &json!({"instances": [row]}),
        )
        .json();
    assert_eq!(r["model_version"], "1");

    // V2: one tensor per field ([N] and [N,1]), one [N,F] tensor, an output filter, the id.
    let per_field = json!({"id": "abc", "inputs": [
        {"name": "sepal_length", "shape": [1], "datatype": "FP32", "data": [5.1]},
        {"name": "sepal_width", "shape": [1, 1], "datatype": "FP64", "data": [[3.5]]},
        {"name": "petal_length", "shape": [1], "datatype": "FP32", "data": [1.4]},
        {"name": "petal_width", "shape": [1], "datatype": "FP32", "data": [0.2]}]});
    let r = s.post_json("/v2/models/iris/infer", &per_field).json();
    assert_eq!(
        (r["id"].as_str(), r["model_version"].as_str()),
        (Some("abc"), Some("2"))
    );
    assert_eq!(r["outputs"][0]["data"][0], label);
    assert_eq!(r["outputs"][1]["shape"], json!([1, 3]));
    let p: Vec<f64> = r["outputs"][1]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    check(
        &json!({"label": label, "probabilities": {"setosa": p[0], "versicolor": p[1], "virginica": p[2]}}),
        "v2",
    );
    let tensor = json!({"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, 5.1, 3.5, 1.4, 0.2]}],
                        "outputs": [{"name": "label"}]});
    let r = s
        .post_json("/v2/models/iris/versions/1/infer", &tensor)
        .json();
    assert_eq!(r["model_version"], "1");
    assert_eq!(r["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(r["outputs"][0]["shape"], json!([2]));

    // MLflow: the four JSON shapes and CSV.
    let q = "/invocations?model=iris";
    for body in [
        json!({"dataframe_split": {"columns": ["petal_width", "sepal_length", "sepal_width", "petal_length"], "data": [[0.2, 5.1, 3.5, 1.4]]}}),
        json!({"dataframe_split": {"index": [0], "data": [[5.1, 3.5, 1.4, 0.2]]}}),
        json!({"dataframe_records": [row]}),
        json!({"instances": [row], "params": {"x": 1}}),
        json!({"inputs": cols}),
        json!({"inputs": [row]}),
    ] {
        let r = s.post_json(q, &body);
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        check(&r.json()["predictions"][0], &body.to_string());
    }
    let csv =
        b"petal_width,sepal_length,sepal_width,petal_length\n0.2,5.1,3.5,1.4\n0.2,5.1,3.5,1.4\n";
    let r = s
        .post(q, &[("Content-Type", "text/csv; charset=utf-8")], csv)
        .json();
    assert_eq!(r["predictions"].as_array().unwrap().len(), 2);
    check(&r["predictions"][1], "csv");
    let r = s
        .post(
            "/invocations",
            &[
                ("Content-Type", "application/json"),
                ("X-Neurite-Model", "iris@1"),
            ],
            json!({"instances": [row]}).to_string().as_bytes(),
        )
        .json();
    assert_eq!(r["model_version"], "1");
    let r = s
        .post(
            "/invocations",
            &[
                ("Content-Type", "application/json"),
                ("X-Amzn-SageMaker-Target-Model", "iris@production"),
            ],
            json!({"instances": [row]}).to_string().as_bytes(),
        )
        .json();
    assert_eq!(r["model_version"], "1");
    // Extra CSV columns are ignored only when asked (the UI's CSV upload).
    let with_target =
        b"sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n";
    assert_eq!(
        s.post(q, &[("Content-Type", "text/csv")], with_target)
            .status,
        400
    );
    let r = s.post(
        "/invocations?model=iris&extra_fields=ignore",
        &[("Content-Type", "text/csv")],
        with_target,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Regression: one value per named target, rows and columns.
    let r = s
        .post_json(
            "/v1/models/linnerud:predict",
            &json!({"instances": [{"chins": 5, "situps": 162, "jumps": 60}, [2, 110, 60]]}),
        )
        .json();
    let p = &r["predictions"];
    assert_eq!(p.as_array().unwrap().len(), 2);
    for t in ["weight", "waist", "pulse"] {
        assert!(p[0][t].is_number() && p[1][t].is_number(), "{t}");
    }
    let c = s
        .post_json(
            "/v1/models/linnerud:predict",
            &json!({"inputs": {"chins": [5, 2], "situps": [162, 110], "jumps": [60, 60]}}),
        )
        .json();
    assert_eq!(c["outputs"]["pulse"][1], p[1]["pulse"]);
    let v2 = s.post_json("/v2/models/linnerud/infer", &json!({"inputs": [{"name": "t", "shape": [1, 3], "datatype": "INT64", "data": [5, 162, 60]}]})).json();
    assert_eq!(v2["outputs"][2]["name"], "pulse");
    assert_eq!(v2["outputs"][2]["data"][0], p[0]["pulse"]);

    // The rows reached the metrics.
    let m = s.get("/metrics").text();
    assert!(
        m.contains("neurite_rows_predicted_total{model=\"linnerud\",version=\"1\"} 5"),
        "{m}"
    );
}

/// (status, error JSON) of a request.
fn err(r: common::Resp) -> (u16, Value) {
    let s = r.status;
    (s, r.json())
}

#[test]
fn bad_inputs_get_4xx_naming_row_and_field() {
    let s = start(&["--max-rows", "3", "--max-body-bytes", "4000"]);
    let ok = iris_row();
    let p = "/v1/models/iris:predict";
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("petal_width");
    let mut extra = ok.clone();
    extra["colour"] = json!("red");
    let mut wrong = ok.clone();
    wrong["sepal_width"] = json!("wide");
    for (row, field, code) in [
        (missing, "petal_width", "INVALID_INPUT"),
        (extra, "colour", "INVALID_INPUT"),
        (wrong, "sepal_width", "INVALID_INPUT"),
    ] {
        let (st, e) = err(s.post_json(p, &json!({"instances": [ok, row]})));
        assert_eq!(st, 400, "{e}");
        assert_eq!(
            (e["row"].as_u64(), e["field"].as_str(), e["code"].as_str()),
            (Some(1), Some(field), Some(code)),
            "{e}"
        );
        assert!(e["error"].as_str().unwrap().contains("row 1"), "{e}");
    }
    // NaN and Infinity tokens (not JSON, but sent by some clients) are named too.
    for tok in ["NaN", "Infinity", "-Infinity"] {
        let body = format!(
            r#"{{"instances": [{{"sepal_length": 1, "sepal_width": {tok}, "petal_length": 1, "petal_width": 1}}]}}"#
        );
        let (st, e) = err(s.post(p, &[("Content-Type", "application/json")], body.as_bytes()));
        assert_eq!(
            (st, e["row"].as_u64(), e["field"].as_str()),
            (400, Some(0), Some("sepal_width")),
            "{e}"
        );
        assert!(e["error"].as_str().unwrap().contains(tok));
    }
    // A CSV cell that is not finite, and one that is not a number.
    let q = "/invocations?model=iris";
    let (st, e) = err(s.post(
        q,
        &[("Content-Type", "text/csv")],
        b"sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,inf,3,4\n",
    ));
    assert_eq!(
        (
            st,
            e["row"].as_u64(),
            e["field"].as_str(),
            e["error_code"].as_str()
        ),
        (400, Some(1), Some("sepal_width"), Some("INVALID_INPUT"))
    );
    let (st, e) = err(s.post(
        q,
        &[("Content-Type", "text/csv")],
        b"sepal_length,sepal_width,petal_length,petal_width\n1,2,x,4\n",
    ));
    assert_eq!((st, e["field"].as_str()), (400, Some("petal_length")));
    // Array rows of the wrong length; columns of unequal length; V2 data not matching shape.
    let (st, e) = err(s.post_json(p, &json!({"instances": [[1, 2, 3]]})));
    assert_eq!((st, e["row"].as_u64()), (400, Some(0)));
    let (st, e) = err(s.post_json(p, &json!({"inputs": {"sepal_length": [1, 2], "sepal_width": [1], "petal_length": [1, 2], "petal_width": [1, 2]}})));
    assert_eq!(st, 400, "{e}");
    let (st, _) = err(s.post_json(
        "/v2/models/iris/infer",
        &json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}),
    ));
    assert_eq!(st, 400);
    let (st, e) = err(s.post_json("/v2/models/iris/infer", &json!({"inputs": [{"name": "sepal_length", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})));
    assert_eq!((st, e["field"].as_str()), (400, Some("sepal_length")));
    let (st, _) = err(s.post_json(
        "/v2/models/iris/infer",
        &json!({"inputs": [{"name": "nope", "shape": [1], "datatype": "FP32", "data": [1]}]}),
    ));
    assert_eq!(st, 400);
    let (st, _) = err(s.post_json("/v2/models/iris/infer", &json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "bogus"}]})));
    assert_eq!(st, 400);
    // Shapes of the request itself.
    for body in [
        json!({"instances": [ok], "inputs": {}}),
        json!({}),
        json!([1]),
        json!({"instances": []}),
        json!({"instances": {}}),
        json!({"rows": []}),
    ] {
        let (st, e) = err(s.post_json(p, &body));
        assert_eq!(st, 400, "{body}: {e}");
        assert!(e["error"].is_string());
    }
    for body in [
        json!({}),
        json!({"instances": [ok], "dataframe_records": [ok]}),
        json!({"dataframe_split": [1]}),
    ] {
        let (st, e) = err(s.post_json(q, &body));
        assert_eq!(
            (st, e["error_code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{body}"
        );
    }
    let (st, e) = err(s.post(
        p,
        &[("Content-Type", "application/json")],
        b"{\"instances\": [1,",
    ));
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().starts_with("invalid JSON"));
    // Too many rows (limit 3).
    let (st, e) = err(s.post_json(p, &json!({"instances": [ok, ok, ok, ok]})));
    assert_eq!((st, e["code"].as_str()), (413, Some("TOO_MANY_ROWS")));
    let (st, _) = err(s.post(
        q,
        &[("Content-Type", "text/csv")],
        b"sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n",
    ));
    assert_eq!(st, 413);
    // A body over the size limit (4000 bytes): declared, and streamed in chunks without a length.
    let big = vec![b' '; 5000];
    let (st, e) = err(s.post(p, &[("Content-Type", "application/json")], &big));
    assert_eq!((st, e["code"].as_str()), (413, Some("BODY_TOO_LARGE")));
    let chunked = {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        let mut req = format!("POST {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
        for _ in 0..5 {
            req.extend_from_slice(format!("{:x}\r\n", 1000).as_bytes());
            req.extend_from_slice(&[b' '; 1000]);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let _ = c.write_all(&req);
        let mut raw = Vec::new();
        let _ = c.read_to_end(&mut raw);
        common::parse_response(&raw, false)
    };
    assert_eq!(chunked.status, 413);
    // Wrong content types.
    let (st, e) = err(s.post(
        p,
        &[("Content-Type", "text/plain")],
        json!({"instances": [ok]}).to_string().as_bytes(),
    ));
    assert_eq!(
        (st, e["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let (st, e) = err(s.post(q, &[("Content-Type", "application/xml")], b"<x/>"));
    assert_eq!(
        (st, e["error_code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    // Unknown model, version, alias; names that try to leave the model folder; wrong methods.
    for (path, status) in [
        ("/v1/models/nope:predict", 404),
        ("/v1/models/iris/versions/9:predict", 404),
        ("/v1/models/iris/labels/canary:predict", 404),
        ("/v1/models/..:predict", 400),
        ("/v1/models/.hidden:predict", 400),
        ("/v1/models/iris/versions/..:predict", 400),
        ("/v1/models/iris/labels/..%2F..%2Fetc:predict", 400),
        ("/v2/models/..%2Fx/infer", 400),
        ("/invocations?model=../../etc/passwd", 400),
        ("/v1/models/iris:explain", 404),
    ] {
        let (st, e) = err(s.post_json(path, &json!({"instances": [ok]})));
        assert_eq!(st, status, "{path}: {e}");
    }
    let (st, e) = err(s.post_json("/invocations", &json!({"instances": [ok]})));
    assert_eq!(st, 400, "two models: must choose: {e}");
    let r = s.get("/v1/models/iris:predict");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    assert_eq!(s.post("/v1/models", &[], b"").status, 405);
    assert_eq!(s.get("/nope/../../etc/passwd").status, 404);
    // None of this hurt the server.
    assert_eq!(s.post_json(p, &json!({"instances": [ok]})).status, 200);
    let m = s.get("/metrics").text();
    assert!(m.contains("neurite_request_errors_total{route=\"v1_predict\",model=\"iris\",version=\"2\",status=\"400\"}"), "{m}");
}

#[test]
fn api_key_guards_predictions_and_admin_only() {
    let root = models();
    let m = format!("{root}/models");
    let s = Server::start(
        &["--models", &m, "--inference-log", "off"],
        &[("NEURITE_API_KEY", "s3cret-key")],
    );
    let body = json!({"instances": [iris_row()]}).to_string();
    let p = "/v1/models/iris:predict";
    let ct = ("Content-Type", "application/json");
    let r = s.post(p, &[ct], body.as_bytes());
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(
        s.post(p, &[ct, ("Authorization", "Bearer wrong")], body.as_bytes())
            .status,
        401
    );
    assert_eq!(
        s.post(
            p,
            &[ct, ("Authorization", "Bearer s3cret-key")],
            body.as_bytes()
        )
        .status,
        200
    );
    assert_eq!(
        s.post(p, &[ct, ("X-API-Key", "s3cret-key")], body.as_bytes())
            .status,
        200
    );
    assert_eq!(s.post("/v2/models/iris/infer", &[ct], b"{}").status, 401);
    assert_eq!(
        s.post("/invocations?model=iris", &[ct], body.as_bytes())
            .status,
        401
    );
    assert_eq!(s.post("/admin/reload", &[], b"").status, 401);
    let r = s.post("/admin/reload", &[("X-API-Key", "s3cret-key")], b"");
    assert_eq!(
        (r.status, r.json()["reloaded"].as_bool()),
        (200, Some(true))
    );
    // Health, metrics, docs and the read-only UI stay open.
    for path in [
        "/ping",
        "/v2/health/live",
        "/v2/health/ready",
        "/metrics",
        "/openapi.json",
        "/",
        "/api/models",
        "/api/models/iris",
        "/v1/models/iris/metadata",
    ] {
        assert_eq!(s.get(path).status, 200, "{path}");
    }
    assert_eq!(s.get("/api/config").json()["auth_required"], true);
}

#[test]
fn large_batches_run_off_the_async_threads_with_the_same_results() {
    let root = models();
    let m = format!("{root}/models");
    let inline = Server::start(&["--models", &m, "--inference-log", "off"], &[]);
    let offload = Server::start(
        &[
            "--models",
            &m,
            "--inference-log",
            "off",
            "--offload-above-macs",
            "0",
        ],
        &[],
    );
    let rows: Vec<Value> = (0..2000)
        .map(|i| {
            json!([
                4.0 + (i % 40) as f64 * 0.1,
                3.0,
                1.0 + (i % 50) as f64 * 0.1,
                0.2 + (i % 20) as f64 * 0.1
            ])
        })
        .collect();
    let body = json!({"instances": rows});
    let a = inline.post_json("/v1/models/iris:predict", &body);
    let b = offload.post_json("/v1/models/iris:predict", &body);
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.json()["predictions"], b.json()["predictions"]);
    assert_eq!(a.json()["predictions"].as_array().unwrap().len(), 2000);
}

#[test]
fn server_side_events_stream_a_growing_log() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let log = logs.join("live1.jsonl");
    std::fs::write(&log, "{\"epoch\":1,\"loss\":0.9}\n").unwrap();
    let root = models();
    let m = format!("{root}/models");
    let s = Server::start(
        &[
            "--models",
            &m,
            "--logs",
            logs.to_str().unwrap(),
            "--inference-log",
            "off",
        ],
        &[],
    );
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(c, "GET /api/runs/live1/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    let mut seen = Vec::new();
    let mut appended = false;
    let mut line = String::new();
    while seen.len() < 3 {
        line.clear();
        if r.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with("content-type") {
            assert!(line.contains("text/event-stream"));
        }
        if let Some(d) = line.strip_prefix("data: ") {
            seen.push(serde_json::from_str::<Value>(d.trim()).unwrap());
            if !appended {
                // A training appends epochs while the browser watches; a partial line waits.
                let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
                f.write_all(b"{\"epoch\":2,\"loss\":0.7}\n{\"epoch\":3,")
                    .unwrap();
                f.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(600));
                f.write_all(b"\"loss\":0.5}\n").unwrap();
                appended = true;
            }
        }
    }
    let epochs: Vec<u64> = seen.iter().map(|v| v["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3]);
    // Resuming after event 2 sends only what follows.
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        c,
        "GET /api/runs/live1/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 2\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(c);
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.starts_with("id: ") {
            assert_eq!(line.trim(), "id: 3");
            break;
        }
    }
    assert_eq!(s.get("/api/runs/missing/events").status, 404);
    assert_eq!(s.get("/api/runs/..%2F..%2Fetc/events").status, 400);
}

#[test]
fn concurrent_small_requests_batched_together_get_their_own_answers() {
    let s = start(&[]);
    let row = |i: usize| {
        json!([
            4.3 + (i % 36) as f64 * 0.1,
            2.0 + (i % 24) as f64 * 0.1,
            1.0 + (i % 59) as f64 * 0.1,
            0.1 + (i % 25) as f64 * 0.1
        ])
    };
    // Alone (a batch of one), then from 16 clients at once (batched with each other).
    let alone: Vec<Value> = (0..64)
        .map(|i| {
            s.post_json(
                "/v1/models/iris:predict",
                &json!({"instances": [row(i), row(i + 100)]}),
            )
            .json()["predictions"]
                .clone()
        })
        .collect();
    let addr = s.addr;
    let together: Vec<(usize, Value)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..16)
            .map(|t| {
                sc.spawn(move || {
                    (0..4)
                        .map(|k| {
                            let i = t * 4 + k;
                            let body = json!({"instances": [row(i), row(i + 100)]}).to_string();
                            let r = common::request(
                                addr,
                                "POST",
                                "/v1/models/iris:predict",
                                &[("Content-Type", "application/json")],
                                body.as_bytes(),
                            );
                            assert_eq!(r.status, 200);
                            (i, r.json()["predictions"].clone())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    // Every small request went through the batcher (passes ≤ requests).
    let m = s.get("/metrics").text();
    let count = |name: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("no {name} in {m}"))
    };
    let (passes, requests) = (
        count("neurite_batched_passes_total "),
        count("neurite_batched_requests_total "),
    );
    assert_eq!(requests, 128, "{m}");
    assert!(passes >= 1 && passes <= requests);
    println!("128 small requests in {passes} forward passes");
    for (i, p) in together {
        for r in 0..2 {
            assert_eq!(p[r]["label"], alone[i][r]["label"], "request {i} row {r}");
            for (a, b) in probs(&p[r]).iter().zip(probs(&alone[i][r])) {
                assert!((a - b).abs() < 1e-6, "request {i} row {r}: {a} vs {b}");
            }
        }
    }
}
