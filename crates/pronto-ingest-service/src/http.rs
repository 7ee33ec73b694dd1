//! `POST /v1/events`: one event object, an array of events, or `{"events": [...]}`.

use crate::{Ingestor, MAX_BATCH};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use pronto_domain::{Classified, Fault, FieldError, RawEvent};
use pronto_runtime::CancellationToken;
use pronto_runtime::fault::http_status;
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

fn error(status: StatusCode, message: &str, details: &[FieldError]) -> Response {
    (
        status,
        Json(json!({ "error": message, "details": details })),
    )
        .into_response()
}

/// Splits a request body into its events, each with its path prefix.
#[allow(clippy::result_large_err)] // the error is the finished HTTP response
fn parse_body(body: &[u8]) -> Result<Vec<(String, RawEvent)>, Response> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "malformed JSON",
            &[FieldError::new("$", format!("{e}"))],
        )
    })?;
    let (items, prefix): (Vec<Value>, &str) = match value {
        Value::Array(items) => (items, ""),
        Value::Object(mut o) if o.contains_key("events") && o.len() == 1 => {
            match o.remove("events") {
                Some(Value::Array(items)) => (items, "events"),
                _ => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "invalid request",
                        &[FieldError::new("events", "must be an array of events")],
                    ));
                }
            }
        }
        v @ Value::Object(_) => (vec![v], "single"),
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid request",
                &[FieldError::new(
                    "$",
                    "expected an event object, an array of events, or {\"events\": [...]}",
                )],
            ));
        }
    };
    if items.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid request",
            &[FieldError::new(
                if prefix.is_empty() { "$" } else { prefix },
                "holds no events",
            )],
        ));
    }
    if items.len() > MAX_BATCH {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch too large",
            &[FieldError::new(
                if prefix.is_empty() { "$" } else { prefix },
                format!(
                    "holds {} events; at most {MAX_BATCH} are accepted per request",
                    items.len()
                ),
            )],
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let place = match prefix {
            "single" => String::new(),
            "" => format!("[{i}]"),
            p => format!("{p}[{i}]"),
        };
        match serde_path_to_error::deserialize::<_, RawEvent>(item) {
            Ok(raw) => out.push((place, raw)),
            Err(e) => {
                let inner = e.path().to_string();
                let path = match (place.is_empty(), inner.as_str()) {
                    (true, ".") => "$".to_string(),
                    (true, p) => p.to_string(),
                    (false, ".") => place.clone(),
                    (false, p) => format!("{place}.{p}"),
                };
                errors.push(FieldError::new(path, e.into_inner().to_string()));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(error(http_status(Fault::User), "invalid event", &errors))
    }
}

async fn post_events(
    State(ingestor): State<Arc<Ingestor>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default();
        if !ct.starts_with("application/json") {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type",
                &[FieldError::new(
                    "Content-Type",
                    format!("is '{ct}'; expected application/json"),
                )],
            );
        }
    }
    let raws = match parse_body(&body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let events = match ingestor.validate(raws) {
        Ok(e) => e,
        Err(errs) => return error(http_status(errs.fault()), "invalid event", &errs.0),
    };
    match ingestor.publish(&events).await {
        Ok(receipts) => (
            StatusCode::OK,
            Json(json!({ "accepted": receipts.len(), "receipts": receipts })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "broker did not acknowledge");
            error(
                http_status(e.fault()),
                "broker did not acknowledge; retry with the same event ids",
                &[FieldError::new("$", e.to_string())],
            )
        }
    }
}

/// The HTTP routes of the ingest service.
pub fn router(ingestor: Arc<Ingestor>) -> Router {
    Router::new()
        .route("/v1/events", post(post_events))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ingestor)
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    ingestor: Arc<Ingestor>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "ingest HTTP listening");
    axum::serve(listener, router(ingestor))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
