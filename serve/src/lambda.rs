//! Lambda mode: `lambda_http` turns API Gateway (REST v1, HTTP v2), function-URL and ALB
//! events into `http::Request`s for the shared handler. The path is the event's raw path (a
//! REST API stage prefix is not part of it). Event streams answer with the lines so far.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::{RequestExt, service_fn};

use crate::error::{Result, ServeError};
use crate::http_util::Body;
use crate::state::AppState;

async fn lambda_entry(
    state: Arc<AppState>,
    req: lambda_http::Request,
) -> std::result::Result<http::Response<lambda_http::Body>, lambda_http::Error> {
    let raw = req.raw_http_path().to_string();
    let (mut parts, body) = req.into_parts();
    if !raw.is_empty() {
        let pq = match parts.uri.query() {
            Some(q) => format!("{raw}?{q}"),
            None => raw,
        };
        if let Ok(pq) = pq.parse::<http::uri::PathAndQuery>() {
            let mut up = parts.uri.clone().into_parts();
            up.path_and_query = Some(pq);
            if let Ok(u) = http::Uri::from_parts(up) {
                parts.uri = u;
            }
        }
    }
    let bytes = Bytes::copy_from_slice(body.as_ref());
    let resp = crate::router::handle(&state, http::Request::from_parts(parts, bytes)).await;
    let (p, b) = resp.into_parts();
    let body = match b {
        Body::Full(b) => lambda_http::Body::Binary(b.to_vec()),
        // Not produced in Lambda mode (event streams answer in full); end it empty.
        Body::Stream(_) => lambda_http::Body::Empty,
    };
    Ok(http::Response::from_parts(p, body))
}

pub async fn run(state: Arc<AppState>) -> Result<()> {
    tracing::info!(
        "Lambda mode: serving {} model(s)",
        state.store.snapshot().models.len()
    );
    let st = state.clone();
    tokio::spawn(async move {
        crate::server::shutdown_signal().await;
        st.begin_shutdown();
        st.infer_log.close();
        std::process::exit(0);
    });
    lambda_http::run(service_fn(move |req| lambda_entry(state.clone(), req)))
        .await
        .map_err(|e| ServeError::Config(format!("Lambda runtime: {e}")))
}
