//! API errors: every failure is `{"error": {"code", "message"}}` with a 4xx/5xx status, so a
//! client never has to parse text. Engine refusals keep the engine's own message (it names the
//! job, step or chain).

use crate::core::types::CoreError;
use crate::runtime::EngineError;
use crate::views::ViewError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra members of the `error` object (e.g. reload diagnostics).
    pub extra: Option<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    pub fn with(mut self, key: &'static str, value: serde_json::Value) -> ApiError {
        self.extra = Some((key, value));
        self
    }
}

impl ApiError {
    /// The JSON body this error answers with.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some((k, v)), Some(obj)) = (self.extra.clone(), error.as_object_mut()) {
            obj.insert(k.to_string(), v);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> Self {
        match e {
            ViewError::NotFound { .. } => ApiError::not_found(e.to_string()),
            ViewError::BadRequest(m) => ApiError::bad_request(m),
            ViewError::Store(m) => ApiError::internal(m),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match &e {
            EngineError::Core(core) => match core {
                CoreError::UnknownJob(_)
                | CoreError::UnknownChain { .. }
                | CoreError::UnknownStep { .. }
                | CoreError::UnknownChainStep { .. } => ApiError::not_found(message),
                CoreError::DuplicateJob(_) => {
                    ApiError::new(StatusCode::CONFLICT, "job_exists", message)
                }
                CoreError::StepRunning { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "step_running", message)
                }
                CoreError::JobEnded(_) => ApiError::new(StatusCode::CONFLICT, "job_ended", message),
                CoreError::EndedJobName { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "job_name_taken", message)
                }
                CoreError::SerializeConflict { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "serialize_conflict", message)
                }
                CoreError::NotRestartable { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "not_restartable", message)
                }
                CoreError::Invalid(_) => ApiError::bad_request(message),
            },
            EngineError::UnknownJobNear { .. } => ApiError::not_found(message),
            EngineError::Invalid(_) => ApiError::bad_request(message),
            EngineError::Store(_) => ApiError::internal(message),
            EngineError::NotRunning(_) | EngineError::Elsewhere { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "engine_unavailable",
                message,
            ),
        }
    }
}
