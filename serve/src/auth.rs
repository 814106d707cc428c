//! The optional API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in
//! constant time.

use http::HeaderMap;

pub fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let x_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    [bearer, x_key]
        .into_iter()
        .flatten()
        .any(|given| ct_eq(given.as_bytes(), key.as_bytes()))
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn bearer_and_x_api_key() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        assert!(authorized(&h, "s3cret"));
        h.insert("authorization", HeaderValue::from_static("bearer wrong!"));
        assert!(!authorized(&h, "s3cret"));
        h.insert("x-api-key", HeaderValue::from_static("s3cret"));
        assert!(authorized(&h, "s3cret"));
        assert!(!ct_eq(b"abc", b"abd"));
    }
}
