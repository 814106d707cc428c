//! Paths → routes. Model and version names in paths are validated here, so nothing past this
//! point can be handed a name that leaves the model folder.

use http::Method;

use crate::error::ServeError;
use crate::store::VersionSel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V1Action {
    Status,
    Metadata,
    Predict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V2Action {
    Metadata,
    Ready,
    Infer,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    V1Models,
    V1 {
        model: String,
        sel: VersionSel,
        action: V1Action,
    },
    V2Server,
    V2Live,
    V2Ready,
    V2 {
        model: String,
        sel: VersionSel,
        action: V2Action,
    },
    Ping,
    Invocations,
    Metrics,
    OpenApi,
    AdminReload,
    /// A static UI file (index at `/`).
    Asset(&'static str),
    ApiConfig,
    ApiModels,
    ApiModel {
        model: String,
        sel: VersionSel,
    },
    ApiExperiments,
    ApiRuns,
    ApiRunEvents(String),
    ApiRunChart(String),
    NotFound,
    /// A path that names something invalid (e.g. `../x` as a model).
    Invalid(String),
}

impl Route {
    /// The label used in metrics and the inference log.
    pub fn label(&self) -> &'static str {
        match self {
            Route::V1Models => "v1_models",
            Route::V1 { action, .. } => match action {
                V1Action::Status => "v1_status",
                V1Action::Metadata => "v1_metadata",
                V1Action::Predict => "v1_predict",
            },
            Route::V2Server => "v2_server",
            Route::V2Live => "v2_live",
            Route::V2Ready => "v2_ready",
            Route::V2 { action, .. } => match action {
                V2Action::Metadata => "v2_metadata",
                V2Action::Ready => "v2_model_ready",
                V2Action::Infer => "v2_infer",
            },
            Route::Ping => "ping",
            Route::Invocations => "invocations",
            Route::Metrics => "metrics",
            Route::OpenApi => "openapi",
            Route::AdminReload => "admin_reload",
            Route::Asset(_) => "ui",
            Route::ApiConfig
            | Route::ApiModels
            | Route::ApiModel { .. }
            | Route::ApiExperiments
            | Route::ApiRuns
            | Route::ApiRunChart(_) => "ui_api",
            Route::ApiRunEvents(_) => "ui_events",
            Route::NotFound => "not_found",
            Route::Invalid(_) => "invalid",
        }
    }

    /// The method each route answers, as for an `Allow` header.
    pub fn allow(&self) -> &'static str {
        match self {
            Route::V1 {
                action: V1Action::Predict,
                ..
            }
            | Route::V2 {
                action: V2Action::Infer,
                ..
            }
            | Route::Invocations
            | Route::AdminReload => "POST",
            Route::NotFound | Route::Invalid(_) => "GET, POST",
            _ => "GET, HEAD",
        }
    }

    pub fn method_ok(&self, m: &Method) -> bool {
        match self.allow() {
            "POST" => m == Method::POST,
            "GET, POST" => true,
            _ => m == Method::GET || m == Method::HEAD,
        }
    }

    /// Routes that run a model (inference log, API key).
    pub fn is_prediction(&self) -> bool {
        matches!(
            self,
            Route::V1 {
                action: V1Action::Predict,
                ..
            } | Route::V2 {
                action: V2Action::Infer,
                ..
            } | Route::Invocations
        )
    }

    /// Routes that need the API key when one is set.
    pub fn needs_key(&self) -> bool {
        self.is_prediction() || matches!(self, Route::AdminReload)
    }

    pub fn is_mlflow(&self) -> bool {
        matches!(self, Route::Invocations | Route::Ping)
    }

    pub fn parse(path: &str) -> Route {
        let path = if path.contains('%') {
            std::borrow::Cow::Owned(path.replace("%3A", ":").replace("%3a", ":"))
        } else {
            std::borrow::Cow::Borrowed(path)
        };
        let path = path.as_ref();
        match path {
            "/" | "/index.html" => return Route::Asset("index.html"),
            "/favicon.ico" => return Route::Asset("favicon.svg"),
            "/v1/models" | "/v1/models/" => return Route::V1Models,
            "/v2" | "/v2/" => return Route::V2Server,
            "/v2/health/live" => return Route::V2Live,
            "/v2/health/ready" => return Route::V2Ready,
            "/ping" | "/health" | "/healthz" => return Route::Ping,
            "/invocations" => return Route::Invocations,
            "/metrics" => return Route::Metrics,
            "/openapi.json" => return Route::OpenApi,
            "/admin/reload" => return Route::AdminReload,
            "/api/config" => return Route::ApiConfig,
            "/api/models" => return Route::ApiModels,
            "/api/experiments" => return Route::ApiExperiments,
            "/api/runs" => return Route::ApiRuns,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/assets/") {
            return match crate::ui::asset_name(rest) {
                Some(n) => Route::Asset(n),
                None => Route::NotFound,
            };
        }
        let r = if let Some(rest) = path.strip_prefix("/v1/models/") {
            parse_v1(rest)
        } else if let Some(rest) = path.strip_prefix("/v2/models/") {
            parse_v2(rest)
        } else if let Some(rest) = path.strip_prefix("/api/models/") {
            parse_api_model(rest)
        } else if let Some(rest) = path.strip_prefix("/api/runs/") {
            parse_run(rest)
        } else {
            Ok(Route::NotFound)
        };
        r.unwrap_or_else(|e| Route::Invalid(e.to_string()))
    }
}

fn name(s: &str) -> Result<String, ServeError> {
    crate::store::check_name(s)?;
    Ok(s.to_string())
}

fn parse_v1(rest: &str) -> Result<Route, ServeError> {
    let (rest, verb) = match rest.rsplit_once(':') {
        Some((r, v)) => (r, Some(v)),
        None => (rest, None),
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let (model, sel, tail) = match segs.as_slice() {
        [m, tail @ ..] if tail.first() == Some(&"versions") && tail.len() >= 2 => {
            (name(m)?, VersionSel::parse_number(tail[1])?, &tail[2..])
        }
        [m, tail @ ..] if tail.first() == Some(&"labels") && tail.len() >= 2 => {
            (name(m)?, VersionSel::Alias(name(tail[1])?), &tail[2..])
        }
        [m, tail @ ..] => (name(m)?, VersionSel::Default, tail),
        [] => return Ok(Route::NotFound),
    };
    let action = match (tail, verb) {
        ([], None) => V1Action::Status,
        (["metadata"], None) => V1Action::Metadata,
        ([], Some("predict")) => V1Action::Predict,
        _ => return Ok(Route::NotFound),
    };
    Ok(Route::V1 { model, sel, action })
}

fn parse_v2(rest: &str) -> Result<Route, ServeError> {
    let segs: Vec<&str> = rest.split('/').collect();
    let (model, sel, tail) = match segs.as_slice() {
        [m, "versions", v, tail @ ..] => (name(m)?, VersionSel::parse_number(v)?, tail),
        [m, tail @ ..] => (name(m)?, VersionSel::Default, tail),
        [] => return Ok(Route::NotFound),
    };
    let action = match tail {
        [] => V2Action::Metadata,
        ["ready"] => V2Action::Ready,
        ["infer"] => V2Action::Infer,
        _ => return Ok(Route::NotFound),
    };
    Ok(Route::V2 { model, sel, action })
}

fn parse_api_model(rest: &str) -> Result<Route, ServeError> {
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        [m] => Ok(Route::ApiModel {
            model: name(m)?,
            sel: VersionSel::Default,
        }),
        [m, "versions", v] => Ok(Route::ApiModel {
            model: name(m)?,
            sel: VersionSel::parse_number(v)?,
        }),
        _ => Ok(Route::NotFound),
    }
}

fn parse_run(rest: &str) -> Result<Route, ServeError> {
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [run, "events"] => Ok(Route::ApiRunEvents(name(run)?)),
        [run, "chart"] => Ok(Route::ApiRunChart(name(run)?)),
        _ => Ok(Route::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape() {
        let v1 = |m: &str, sel: VersionSel, action| Route::V1 {
            model: m.into(),
            sel,
            action,
        };
        assert_eq!(Route::parse("/v1/models"), Route::V1Models);
        assert_eq!(
            Route::parse("/v1/models/iris"),
            v1("iris", VersionSel::Default, V1Action::Status)
        );
        assert_eq!(
            Route::parse("/v1/models/iris/versions/2/metadata"),
            v1("iris", VersionSel::Number(2), V1Action::Metadata)
        );
        assert_eq!(
            Route::parse("/v1/models/iris/labels/production:predict"),
            v1(
                "iris",
                VersionSel::Alias("production".into()),
                V1Action::Predict
            )
        );
        assert_eq!(
            Route::parse("/v1/models/iris%3Apredict"),
            v1("iris", VersionSel::Default, V1Action::Predict)
        );
        assert_eq!(Route::parse("/v1/models/iris:explain"), Route::NotFound);
        assert!(matches!(
            Route::parse("/v1/models/..:predict"),
            Route::Invalid(_)
        ));
        assert!(matches!(
            Route::parse("/v1/models/iris/versions/x:predict"),
            Route::Invalid(_)
        ));
        assert_eq!(
            Route::parse("/v2/models/iris/versions/3/infer"),
            Route::V2 {
                model: "iris".into(),
                sel: VersionSel::Number(3),
                action: V2Action::Infer
            }
        );
        assert_eq!(
            Route::parse("/v2/models/iris/ready"),
            Route::V2 {
                model: "iris".into(),
                sel: VersionSel::Default,
                action: V2Action::Ready
            }
        );
        assert!(matches!(Route::parse("/v2/models/.x"), Route::Invalid(_)));
        assert_eq!(
            Route::parse("/api/runs/r1/events"),
            Route::ApiRunEvents("r1".into())
        );
        assert!(matches!(
            Route::parse("/api/runs/..%2F/events"),
            Route::Invalid(_)
        ));
        assert_eq!(Route::parse("/etc/passwd"), Route::NotFound);
        assert_eq!(Route::parse("/assets/../../etc/passwd"), Route::NotFound);
    }
}
