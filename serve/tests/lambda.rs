//! Lambda mode: the real binary against a small Lambda Runtime API emulator (the protocol of
//! lambda_runtime 1.x: `/2018-06-01/runtime/invocation/next`, `.../{id}/response`,
//! `.../{id}/error`), with API Gateway HTTP (v2), function-URL, REST (v1) and malformed events.

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Default)]
struct Emu {
    events: Mutex<VecDeque<(String, String)>>,
    /// (kind: "response" | "error" | "init", request id, body)
    posted: Mutex<Vec<(String, String, String)>>,
    cv: Condvar,
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut it = line.split_whitespace();
    let (method, path) = (it.next()?.to_string(), it.next()?.to_string());
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn serve_conn(emu: Arc<Emu>, stream: TcpStream) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut r) {
        let path = path.trim_start_matches("/2018-06-01/runtime/");
        if method == "GET" && path == "invocation/next" {
            let ev = loop {
                if let Some(ev) = emu.events.lock().unwrap().pop_front() {
                    break ev;
                }
                // After the last event: hold the long poll, as Lambda does between invocations.
                std::thread::sleep(Duration::from_millis(20));
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:neurite\r\nLambda-Runtime-Trace-Id: Root=1-0-0\r\nContent-Length: {}\r\n\r\n{}",
                ev.0,
                ev.1.len(),
                ev.1
            );
        } else {
            let kind = if path.ends_with("/response") {
                "response"
            } else if path.ends_with("/error") {
                "error"
            } else {
                "other"
            };
            let id = path
                .trim_start_matches("invocation/")
                .split('/')
                .next()
                .unwrap_or("")
                .to_string();
            emu.posted.lock().unwrap().push((
                kind.to_string(),
                id,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            emu.cv.notify_all();
            let _ = write!(
                w,
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{{\"status\":\"OK\"}}"
            );
        }
        let _ = w.flush();
    }
}

fn apigw_v2(
    method: &str,
    path: &str,
    query: &str,
    ctype: &str,
    body: &str,
    b64: bool,
    domain: &str,
) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": ctype, "host": domain},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "accountId": "123456789012", "apiId": "x",
            "domainName": domain, "domainPrefix": "x", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": b64
    })
}

fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

#[test]
fn lambda_mode_answers_api_gateway_function_url_and_rest_events() {
    // The package layout: models/ next to the bootstrap binary ($LAMBDA_TASK_ROOT).
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    common::train(&models, "iris.csv", &["species"], "iris", 10, 1);
    let row = common::iris_row();
    let predict = json!({"instances": [row]}).to_string();
    let csv =
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n";
    let events: Vec<(&str, Value)> = vec![
        (
            "v2",
            apigw_v2(
                "POST",
                "/v1/models/iris:predict",
                "",
                "application/json",
                &predict,
                false,
                "abc.execute-api.us-east-1.amazonaws.com",
            ),
        ),
        (
            "url",
            apigw_v2(
                "GET",
                "/v2/health/ready",
                "",
                "application/json",
                "",
                false,
                "abc.lambda-url.us-east-1.on.aws",
            ),
        ),
        (
            "url-csv",
            apigw_v2(
                "POST",
                "/invocations",
                "model=iris",
                "text/csv",
                &b64(csv.as_bytes()),
                true,
                "abc.lambda-url.us-east-1.on.aws",
            ),
        ),
        ("malformed", json!({"hello": "world"})),
        (
            "rest",
            json!({
                "resource": "/{proxy+}", "path": "/v2/models/iris/infer", "httpMethod": "POST",
                "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {"Content-Type": ["application/json"]},
                "queryStringParameters": null, "multiValueQueryStringParameters": null, "pathParameters": {"proxy": "v2/models/iris/infer"},
                "stageVariables": null,
                "requestContext": {"accountId": "123456789012", "resourceId": "x", "stage": "prod", "requestId": "r", "identity": {"sourceIp": "127.0.0.1"},
                    "resourcePath": "/{proxy+}", "httpMethod": "POST", "apiId": "x", "path": "/prod/v2/models/iris/infer"},
                "body": json!({"id": "7", "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}).to_string(),
                "isBase64Encoded": false
            }),
        ),
        (
            "bad-input",
            apigw_v2(
                "POST",
                "/v1/models/iris:predict",
                "",
                "application/json",
                r#"{"instances": [{"sepal_length": NaN}]}"#,
                false,
                "x",
            ),
        ),
        (
            "escape",
            apigw_v2(
                "GET",
                "/v1/models/..%2F..%2Fetc/metadata",
                "",
                "application/json",
                "",
                false,
                "x",
            ),
        ),
    ];
    let emu = Arc::new(Emu::default());
    for (i, (_, e)) in events.iter().enumerate() {
        emu.events
            .lock()
            .unwrap()
            .push_back((format!("req-{i}"), e.to_string()));
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let e2 = emu.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let e = e2.clone();
            std::thread::spawn(move || serve_conn(e, s));
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurite-serve"))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "neurite")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/neurite")
        .env("LAMBDA_TASK_ROOT", dir.path())
        .env_remove("NEURITE_MODELS")
        .env_remove("NEURITE_API_KEY")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    {
        let mut posted = emu.posted.lock().unwrap();
        while posted.len() < events.len() && t0.elapsed() < Duration::from_secs(60) {
            posted = emu
                .cv
                .wait_timeout(posted, Duration::from_millis(200))
                .unwrap()
                .0;
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let posted = emu.posted.lock().unwrap().clone();
    assert_eq!(
        posted.len(),
        events.len(),
        "posted: {posted:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_id = |i: usize| {
        posted
            .iter()
            .find(|p| p.1 == format!("req-{i}"))
            .unwrap()
            .clone()
    };
    let reply = |i: usize| -> (u64, Value) {
        let (kind, _, body) = by_id(i);
        assert_eq!(kind, "response", "{}: {body}", events[i].0);
        let v: Value = serde_json::from_str(&body).unwrap();
        let b = v["body"].as_str().unwrap_or("");
        (
            v["statusCode"].as_u64().unwrap(),
            serde_json::from_str(b).unwrap_or(Value::Null),
        )
    };
    let (st, v) = reply(0);
    assert_eq!(st, 200);
    assert_eq!(v["predictions"][0]["label"], "setosa");
    assert_eq!(v["model_version"], "1");
    let (st, v) = reply(1);
    assert_eq!((st, v), (200, json!({"ready": true})));
    let (st, v) = reply(2);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["predictions"].as_array().unwrap().len(), 2);
    // A malformed event is reported to the runtime as an invocation error; the next ones still run.
    assert_eq!(by_id(3).0, "error", "{:?}", by_id(3));
    let (st, v) = reply(4);
    assert_eq!(st, 200, "REST v1 with a stage: {v}");
    assert_eq!(
        (v["id"].as_str(), v["outputs"][0]["data"][0].as_str()),
        (Some("7"), Some("setosa"))
    );
    let (st, v) = reply(5);
    assert_eq!((st, v["field"].as_str()), (400, Some("sepal_length")));
    let (st, _) = reply(6);
    assert_eq!(st, 400);
    // The inference log goes to stdout (CloudWatch): one JSON line per prediction request.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l["route"].is_string()).count(),
        4,
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "invocations" && l["rows"] == 2)
    );
}
