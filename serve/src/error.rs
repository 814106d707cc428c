//! Typed serving errors. Every error a request can trigger maps to one HTTP status and a JSON
//! body that names, where there is one, the row (0-based) and the field at fault.

use http::StatusCode;
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A malformed request (bad JSON, wrong shape, unknown key).
    #[error("{0}")]
    BadRequest(String),

    /// A value that does not fit the model's input schema.
    #[error("{}", input_message(.row, .field, .detail))]
    Input {
        row: Option<usize>,
        field: Option<String>,
        detail: String,
    },

    #[error("{0}")]
    NotFound(String),

    #[error("method {method} is not allowed here (allowed: {allow})")]
    MethodNotAllowed { method: String, allow: &'static str },

    #[error("missing or wrong API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")]
    Unauthorized,

    #[error("the request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },

    #[error("{rows} rows is more than the limit of {limit} rows per request")]
    TooManyRows { rows: usize, limit: usize },

    #[error("unsupported content type {got:?}: send {expected}")]
    UnsupportedMediaType { got: String, expected: &'static str },

    #[error("the server is shutting down")]
    Unavailable,

    /// A failure on the server's side; the detail goes to the system log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),

    /// Start-up and configuration failures (not reachable from a request).
    #[error("{0}")]
    Config(String),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn input_message(row: &Option<usize>, field: &Option<String>, detail: &str) -> String {
    match (row, field) {
        (Some(r), Some(f)) => format!("row {r}, field {f:?}: {detail}"),
        (Some(r), None) => format!("row {r}: {detail}"),
        (None, Some(f)) => format!("field {f:?}: {detail}"),
        (None, None) => detail.to_string(),
    }
}

pub type Result<T, E = ServeError> = std::result::Result<T, E>;

impl ServeError {
    pub fn input(row: usize, field: &str, detail: impl Into<String>) -> ServeError {
        ServeError::Input {
            row: Some(row),
            field: Some(field.to_string()),
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::BadRequest(_) | ServeError::Input { .. } => StatusCode::BAD_REQUEST,
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            ServeError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ServeError::Unauthorized => StatusCode::UNAUTHORIZED,
            ServeError::BodyTooLarge { .. } | ServeError::TooManyRows { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ServeError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServeError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::Internal(_) | ServeError::Config(_) | ServeError::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A short machine-readable code (MLflow's `error_code` convention).
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::BadRequest(_) => "BAD_REQUEST",
            ServeError::Input { .. } => "INVALID_INPUT",
            ServeError::NotFound(_) => "NOT_FOUND",
            ServeError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ServeError::Unauthorized => "UNAUTHENTICATED",
            ServeError::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            ServeError::TooManyRows { .. } => "TOO_MANY_ROWS",
            ServeError::UnsupportedMediaType { .. } => "UNSUPPORTED_MEDIA_TYPE",
            ServeError::Unavailable => "UNAVAILABLE",
            _ => "INTERNAL_ERROR",
        }
    }

    /// The message a client sees: internal details stay in the server log.
    pub fn public_message(&self) -> String {
        match self {
            ServeError::Internal(_) | ServeError::Io(_) | ServeError::Config(_) => {
                "internal error (see the server log)".to_string()
            }
            e => e.to_string(),
        }
    }

    /// `{"error": msg, "code": .., "row": .., "field": ..}` (TF Serving / KServe style), or
    /// with `mlflow`, `{"error_code": .., "message": .., ...}`.
    pub fn to_json(&self, mlflow: bool) -> Value {
        let mut m = Map::new();
        if mlflow {
            m.insert("error_code".into(), json!(self.code()));
            m.insert("message".into(), json!(self.public_message()));
        } else {
            m.insert("error".into(), json!(self.public_message()));
            m.insert("code".into(), json!(self.code()));
        }
        if let ServeError::Input { row, field, .. } = self {
            if let Some(r) = row {
                m.insert("row".into(), json!(r));
            }
            if let Some(f) = field {
                m.insert("field".into(), json!(f));
            }
        }
        Value::Object(m)
    }
}

impl From<neurite_pipeline::Error> for ServeError {
    fn from(e: neurite_pipeline::Error) -> ServeError {
        use neurite_pipeline::Error as E;
        match e {
            E::Input { row, field, detail } => ServeError::Input {
                row: Some(row),
                field: (!field.is_empty()).then_some(field),
                detail,
            },
            E::Config(m) => ServeError::BadRequest(m),
            e @ (E::UnknownModel { .. } | E::UnknownVersion { .. }) => {
                ServeError::NotFound(e.to_string())
            }
            other => ServeError::Internal(other.to_string()),
        }
    }
}
