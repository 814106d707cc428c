//! Server mode: a hyper 1.x HTTP/1.1 + HTTP/2 server around the shared handler, with graceful
//! shutdown on SIGTERM/SIGINT (stop accepting, let in-flight requests finish, end event
//! streams, flush the inference log).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::error::{Result, ServeError};
use crate::http_util::{self, Body};
use crate::state::AppState;

/// The hyper response body: a full buffer or a stream of chunks.
pub enum HyperBody {
    Full(Full<Bytes>),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for HyperBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            HyperBody::Full(f) => Pin::new(f).poll_frame(cx),
            HyperBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            HyperBody::Full(f) => f.is_end_stream(),
            HyperBody::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            HyperBody::Full(f) => f.size_hint(),
            HyperBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

fn to_hyper(r: http_util::Response) -> http::Response<HyperBody> {
    let (p, b) = r.into_parts();
    let body = match b {
        Body::Full(b) => HyperBody::Full(Full::new(b)),
        Body::Stream(rx) => HyperBody::Stream(rx),
    };
    http::Response::from_parts(p, body)
}

/// Read the body within the size limit, then run the shared handler.
pub async fn hyper_entry(
    state: Arc<AppState>,
    req: http::Request<Incoming>,
) -> std::result::Result<http::Response<HyperBody>, Infallible> {
    let limit = state.limits.max_body_bytes;
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mlflow = req.uri().path() == "/invocations";
    let too_large = || {
        to_hyper(http_util::error(
            &ServeError::BodyTooLarge { limit },
            mlflow,
        ))
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(too_large());
            }
            return Ok(to_hyper(http_util::error(
                &ServeError::BadRequest(format!("could not read the request body: {e}")),
                mlflow,
            )));
        }
    };
    let req = http::Request::from_parts(parts, bytes);
    Ok(to_hyper(crate::router::handle(&state, req).await))
}

/// Resolves at SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn serve(state: Arc<AppState>, addr: SocketAddr, grace: Duration) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Config(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    // A fixed line on stderr that scripts and tests wait for.
    eprintln!("neurite-serve listening on http://{local}");
    tracing::info!(
        "serving {} model(s) on http://{local}",
        state.store.snapshot().models.len()
    );
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, _) = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not exit.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let st = state.clone();
                let svc = hyper::service::service_fn(move |req| hyper_entry(st.clone(), req));
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                let fut = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = fut.await;
                });
            }
            _ = &mut signal => break,
        }
    }
    drop(listener);
    state.begin_shutdown();
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over; closing open connections"),
    }
    Ok(())
}
