//! The request and response types the shared handler works with, and small helpers.
//! Both adapters (hyper, Lambda) convert to and from these.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::error::ServeError;

pub type Request = http::Request<Bytes>;

/// A response body: complete, or a stream of chunks (server-sent events).
pub enum Body {
    Full(Bytes),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

pub type Response = http::Response<Body>;

pub const JSON: &str = "application/json";

pub fn bytes(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response {
    let mut r = http::Response::new(Body::Full(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub fn json<T: Serialize + ?Sized>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => bytes(status, JSON, b),
        Err(e) => error(&ServeError::Internal(e.to_string()), false),
    }
}

pub fn ok_json<T: Serialize + ?Sized>(v: &T) -> Response {
    json(StatusCode::OK, v)
}

pub fn error(e: &ServeError, mlflow: bool) -> Response {
    let mut r = json(e.status(), &e.to_json(mlflow));
    match e {
        ServeError::Unauthorized => {
            r.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"neurite\""),
            );
        }
        ServeError::MethodNotAllowed { allow, .. } => {
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        _ => {}
    }
    r
}

/// The media type of a request, lower-cased, without parameters; `None` when absent.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    headers.get(CONTENT_TYPE).map(|v| {
        v.to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// JSON routes accept `application/json` (or `+json`), or no content type at all.
pub fn require_json(headers: &HeaderMap) -> Result<(), ServeError> {
    match media_type(headers) {
        None => Ok(()),
        Some(m) if m == JSON || m.ends_with("+json") => Ok(()),
        Some(m) => Err(ServeError::UnsupportedMediaType {
            got: m,
            expected: "Content-Type: application/json",
        }),
    }
}

/// A query parameter, percent-decoded.
pub fn query_param(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_types() {
        let u: http::Uri = "/invocations?model=iris%402&x=1&extra_fields=ignore"
            .parse()
            .unwrap();
        assert_eq!(query_param(&u, "model").as_deref(), Some("iris@2"));
        assert_eq!(query_param(&u, "extra_fields").as_deref(), Some("ignore"));
        assert_eq!(query_param(&u, "nope"), None);
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        let mut h = HeaderMap::new();
        assert!(require_json(&h).is_ok());
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(require_json(&h).is_ok());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(require_json(&h).is_err());
    }
}
