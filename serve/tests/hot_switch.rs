//! Alias hot switch under concurrent requests, new versions picked up without a restart,
//! graceful shutdown on SIGTERM, and the inference log.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, iris_row, registry, write_atomic};
use serde_json::{Value, json};

#[test]
fn alias_moves_without_restart_or_failed_requests() {
    let dir = registry();
    let models = dir.path().join("models");
    let aliases = models.join("iris/aliases.json");
    write_atomic(&aliases, r#"{"production": 1}"#);
    let log = dir.path().join("infer.jsonl");
    let s = Server::start(
        &[
            "--models",
            models.to_str().unwrap(),
            "--model",
            "iris@production",
            "--reload-ms",
            "100",
            "--inference-log",
            log.to_str().unwrap(),
        ],
        &[],
    );
    let body = json!({"instances": [iris_row()]});
    assert_eq!(
        s.post_json("/v1/models/iris:predict", &body).json()["model_version"],
        "1"
    );
    // Pinned to the alias: other versions are not served.
    assert_eq!(
        s.post_json("/v1/models/iris/versions/2:predict", &body)
            .status,
        404
    );
    assert_eq!(s.get("/v1/models").json(), json!({"models": ["iris"]}));

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let counts = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let addr = s.addr;
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (stop, failures, counts, body) =
                (stop.clone(), failures.clone(), counts.clone(), body.clone());
            std::thread::spawn(move || {
                let path = if i % 2 == 0 {
                    "/v1/models/iris:predict"
                } else {
                    "/v1/models/iris/labels/production:predict"
                };
                while !stop.load(Ordering::Relaxed) {
                    let r = common::request(
                        addr,
                        "POST",
                        path,
                        &[("Content-Type", "application/json")],
                        body.to_string().as_bytes(),
                    );
                    if r.status != 200 {
                        failures.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let v: Value = r.json();
                    match v["model_version"].as_str() {
                        Some("1") => counts[1].fetch_add(1, Ordering::Relaxed),
                        Some("2") => counts[2].fetch_add(1, Ordering::Relaxed),
                        _ => counts[0].fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    // `neurite models promote iris 2 --alias production` writes this file atomically.
    write_atomic(&aliases, r#"{"production": 2}"#);
    let t0 = Instant::now();
    let mut switched = None;
    while t0.elapsed() < Duration::from_secs(10) {
        if s.post_json("/v1/models/iris:predict", &body).json()["model_version"] == "2" {
            switched = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let switched = switched.expect("the alias move was never picked up");
    assert!(switched < Duration::from_secs(3), "took {switched:?}");
    // Once switched, every request gets the new version.
    std::thread::sleep(Duration::from_millis(300));
    let before = counts[1].load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "requests failed during the switch"
    );
    assert_eq!(counts[0].load(Ordering::Relaxed), 0);
    assert!(counts[1].load(Ordering::Relaxed) > 0 && counts[2].load(Ordering::Relaxed) > 0);
    assert_eq!(
        counts[1].load(Ordering::Relaxed),
        before,
        "v1 answered after the switch"
    );
    assert_eq!(
        s.get("/v1/models/iris").json()["model_version_status"][0]["version"],
        "2"
    );

    // A broken aliases.json keeps the last good aliases.
    write_atomic(&aliases, "{\"production\": ");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        s.post_json("/v1/models/iris:predict", &body).json()["model_version"],
        "2"
    );

    // A new model appears without a restart when all models are served.
    drop(s);
    let s = Server::start(
        &[
            "--models",
            models.to_str().unwrap(),
            "--reload-ms",
            "100",
            "--inference-log",
            "off",
        ],
        &[],
    );
    assert_eq!(
        s.get("/v1/models").json(),
        json!({"models": ["iris", "linnerud"]})
    );
    common::train(&models, "iris.csv", &["species"], "iris", 2, 9);
    let t0 = Instant::now();
    loop {
        let v = s.post_json("/v1/models/iris:predict", &body).json();
        if v["model_version"] == "3" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "v3 not picked up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The inference log of the first server has one line per prediction request.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 10);
    let l = &lines[0];
    for k in [
        "time",
        "route",
        "model",
        "version",
        "rows",
        "latency_ms",
        "status",
    ] {
        assert!(!l[k].is_null(), "{k} in {l}");
    }
    assert!(lines.iter().any(|l| l["status"] == 404));
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let dir = registry();
    let models = dir.path().join("models");
    let log = dir.path().join("infer.jsonl");
    let mut s = Server::start(
        &[
            "--models",
            models.to_str().unwrap(),
            "--inference-log",
            log.to_str().unwrap(),
            "--offload-above-macs",
            "0",
        ],
        &[],
    );
    // A slow-ish request in flight when the signal arrives.
    let rows: Vec<Value> = (0..10_000).map(|_| json!([5.1, 3.5, 1.4, 0.2])).collect();
    let addr = s.addr;
    let big = std::thread::spawn(move || {
        common::request(
            addr,
            "POST",
            "/v1/models/iris:predict",
            &[("Content-Type", "application/json")],
            json!({"instances": rows}).to_string().as_bytes(),
        )
    });
    std::thread::sleep(Duration::from_millis(30));
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let r = big.join().unwrap();
    assert_eq!(r.status, 200);
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("\"rows\":10000"),
        "the log was not flushed: {text}"
    );
}
