//! Cold start: time from spawning `neurite-serve` to its first successful prediction.
//!
//! `coldstart <neurite-serve binary> <models dir> [runs]` starts the server (port 0, logs
//! off), waits for its "listening on" line, POSTs one row to `/v1/models/iris:predict` on a
//! fresh connection until a 200 comes back, kills the server, and prints the time of each run
//! and their median. With runs = 1 it is the command `hyperfine` times.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn one(bin: &str, models: &str) -> Duration {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "--mode",
            "server",
            "--port",
            "0",
            "--inference-log",
            "off",
            "--models",
            models,
        ])
        .env("NEURITE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn neurite-serve");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("server exited before listening");
        }
        if let Some(a) = line
            .trim()
            .strip_prefix("neurite-serve listening on http://")
        {
            break a.to_string();
        }
    };
    let body = br#"{"instances":[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}]}"#;
    let elapsed = loop {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.set_nodelay(true);
            let head = format!(
                "POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
            let mut resp = Vec::new();
            let _ = s.read_to_end(&mut resp);
            if resp.starts_with(b"HTTP/1.1 200") {
                break t0.elapsed();
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (bin, models) = (a.get(1).expect("binary"), a.get(2).expect("models dir"));
    let runs: usize = a.get(3).and_then(|r| r.parse().ok()).unwrap_or(1);
    let mut t: Vec<f64> = (0..runs)
        .map(|_| one(bin, models).as_secs_f64() * 1e3)
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    if runs > 1 {
        println!(
            "cold start to first prediction over {runs} runs: median {:.2} ms, min {:.2} ms, max {:.2} ms",
            t[runs / 2],
            t[0],
            t[runs - 1]
        );
    }
}
