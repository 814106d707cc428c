//! The one request handler both modes call: route, check the method and the API key, run
//! the route, and record metrics and the inference log. Nothing here panics on request data:
//! every failure is a typed [`ServeError`] turned into a JSON error response.

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};

use crate::error::{Result, ServeError};
use crate::http_util::{self, Body, Request, Response};
use crate::infer_log::{Entry, now};
use crate::protocol::{Ctx, mlflow, v1, v2};
use crate::routes::{Route, V1Action, V2Action};
use crate::state::AppState;
use crate::{api, live, openapi, ui};

pub async fn handle(state: &Arc<AppState>, req: Request) -> Response {
    let start = Instant::now();
    let _in_flight = state.metrics.start();
    let route = Route::parse(req.uri().path());
    let mut ctx = Ctx::default();
    let is_head = req.method() == Method::HEAD;
    let result = dispatch(state, &route, &req, &mut ctx).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(route = route.label(), "{e}");
            }
            http_util::error(&e, route.is_mlflow())
        }
    };
    if is_head {
        *resp.body_mut() = Body::Full(bytes::Bytes::new());
    }
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let model = ctx.model.as_ref().map(|(n, v)| (n.as_str(), *v));
    state
        .metrics
        .record(route.label(), model, status, secs, ctx.rows);
    if route.is_prediction() && state.infer_log.enabled() {
        state.infer_log.write(&Entry {
            time: now(),
            route: route.label(),
            model: model.map(|m| m.0),
            version: model.map(|m| m.1),
            rows: ctx.rows,
            latency_ms: secs * 1e3,
            status,
        });
    }
    resp
}

async fn dispatch(
    state: &Arc<AppState>,
    route: &Route,
    req: &Request,
    ctx: &mut Ctx,
) -> Result<Response> {
    if !route.method_ok(req.method()) {
        return Err(ServeError::MethodNotAllowed {
            method: req.method().to_string(),
            allow: route.allow(),
        });
    }
    if route.needs_key()
        && let Some(key) = &state.api_key
        && !crate::auth::authorized(req.headers(), key)
    {
        return Err(ServeError::Unauthorized);
    }
    if req.body().len() > state.limits.max_body_bytes {
        return Err(ServeError::BodyTooLarge {
            limit: state.limits.max_body_bytes,
        });
    }
    if route.is_prediction() && state.is_shutting_down() {
        return Err(ServeError::Unavailable);
    }
    match route {
        Route::V1Models => Ok(v1::list(state)),
        Route::V1 { model, sel, action } => match action {
            V1Action::Status => v1::status(state, model, sel),
            V1Action::Metadata => v1::metadata(state, model, sel).await,
            V1Action::Predict => v1::predict_route(state, req, model, sel, ctx).await,
        },
        Route::V2Server => Ok(v2::server()),
        Route::V2Live => Ok(v2::live()),
        Route::V2Ready => Ok(v2::ready(state)),
        Route::V2 { model, sel, action } => match action {
            V2Action::Metadata => v2::metadata(state, model, sel).await,
            V2Action::Ready => v2::model_ready(state, model, sel).await,
            V2Action::Infer => v2::infer(state, req, model, sel, ctx).await,
        },
        Route::Ping => Ok(mlflow::ping(state)),
        Route::Invocations => mlflow::invocations(state, req, ctx).await,
        Route::Metrics => Ok(http_util::bytes(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(state.store.snapshot().models.len()),
        )),
        Route::OpenApi => Ok(http_util::ok_json(&openapi::document())),
        Route::AdminReload => {
            let st = state.clone();
            let changed = tokio::task::spawn_blocking(move || st.store.refresh())
                .await
                .map_err(|e| ServeError::Internal(e.to_string()))??;
            Ok(http_util::ok_json(
                &serde_json::json!({"reloaded": true, "changed": changed}),
            ))
        }
        Route::Asset(name) => ui::asset(name),
        Route::ApiConfig => Ok(api::config(state)),
        Route::ApiModels => api::models(state).await,
        Route::ApiModel { model, sel } => api::model(state, model, sel).await,
        Route::ApiExperiments => api::experiments(state).await,
        Route::ApiRuns => live::runs(state).await,
        Route::ApiRunEvents(run) => live::events(state, run, req).await,
        Route::ApiRunChart(run) => live::chart(state, run).await,
        Route::NotFound => Err(ServeError::NotFound(format!(
            "no route for {} {} (see /openapi.json)",
            req.method(),
            req.uri().path()
        ))),
        Route::Invalid(msg) => Err(ServeError::BadRequest(msg.clone())),
    }
}
