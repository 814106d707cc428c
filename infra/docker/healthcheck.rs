//! `neurite-healthcheck [PATH]`: the serving image's HEALTHCHECK. The runtime image has no
//! shell and no curl, so this is a tiny std-only HTTP/1.1 client, built in the image's build
//! stage with plain `rustc` (no crates):
//!
//!     rustc --edition 2021 -C opt-level=s -C strip=symbols -o neurite-healthcheck healthcheck.rs
//!
//! It sends `GET PATH` (default `/v2/health/ready`) to 127.0.0.1:$PORT (default 8080) and exits
//! 0 on a 2xx status, 1 otherwise (connection refused, timeout, any other status). Two seconds
//! at most.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

fn check(port: u16, path: &str) -> Result<u16, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let limit = Duration::from_secs(2);
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(limit)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // The status line is all we need: "HTTP/1.1 200 OK".
    let mut buf = [0u8; 64];
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(e.to_string()),
        }
        if buf[..n].contains(&b'\n') {
            break;
        }
    }
    let line = String::from_utf8_lossy(&buf[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP status line in {line:?}"))
}

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/v2/health/ready".into());
    let port = match std::env::var("PORT") {
        Ok(p) => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("neurite-healthcheck: PORT={p:?} is not a port number");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => 8080,
    };
    match check(port, &path) {
        Ok(code) if (200..300).contains(&code) => ExitCode::SUCCESS,
        Ok(code) => {
            eprintln!("neurite-healthcheck: GET {path} -> {code}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("neurite-healthcheck: GET {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
