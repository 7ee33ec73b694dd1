//! `GET /v1/report`: the report as JSON (default), a text table (`format=text`) or CSV
//! (`format=csv`).

use crate::Shared;
use axum::extract::{Query as QueryParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pronto_domain::EventTime;
use pronto_reporting::{Bucket, Dimension, Query};
use pronto_runtime::CancellationToken;
use serde::Deserialize;

/// Query-string parameters of `GET /v1/report`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Comma-separated: channel, queue, agent, bucket, tenant.
    pub group_by: Option<String>,
    /// hour, day (default), week or month.
    pub bucket: Option<String>,
    /// IANA time zone buckets are cut in; UTC by default.
    pub tz: Option<String>,
    /// RFC 3339; inclusive.
    pub from: Option<String>,
    /// RFC 3339; exclusive.
    pub to: Option<String>,
    /// json (default), text or csv.
    pub format: Option<String>,
}

fn bad(field: &str, reason: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({
            "error": "invalid report query",
            "details": [{ "path": field, "reason": reason }],
        })),
    )
        .into_response()
}

/// Validates the parameters into a [`Query`]; `Err((field, reason))` otherwise.
pub fn parse_query(p: &ReportParams) -> Result<Query, (String, String)> {
    let mut q = Query::default();
    if let Some(g) = p.group_by.as_deref().filter(|g| !g.is_empty()) {
        for d in g.split(',') {
            q.group_by.push(Dimension::parse(d.trim()).ok_or_else(|| {
                (
                    "group_by".to_string(),
                    format!(
                        "unknown dimension '{d}'; expected channel, queue, agent, bucket or tenant"
                    ),
                )
            })?);
        }
    }
    if let Some(b) = &p.bucket {
        q.bucket = Bucket::parse(b).ok_or_else(|| {
            (
                "bucket".to_string(),
                format!("unknown bucket '{b}'; expected hour, day, week or month"),
            )
        })?;
    }
    if let Some(tz) = p.tz.as_deref().filter(|t| !t.is_empty()) {
        q.time_zone = tz.parse().map_err(|_| {
            (
                "tz".to_string(),
                format!("unknown time zone '{tz}'; expected an IANA name such as Europe/Rome"),
            )
        })?;
    }
    let time = |field: &str, v: &Option<String>| -> Result<Option<EventTime>, (String, String)> {
        v.as_deref()
            .map(|s| EventTime::parse_rfc3339(s).map_err(|e| (field.to_string(), e.to_string())))
            .transpose()
    };
    q.from = time("from", &p.from)?;
    q.to = time("to", &p.to)?;
    Ok(q)
}

async fn report(
    State(model): State<Shared>,
    params: Result<QueryParams<ReportParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = match params {
        Ok(QueryParams(p)) => p,
        Err(e) => return bad("query", e.body_text()),
    };
    let q = match parse_query(&params) {
        Ok(q) => q,
        Err((f, r)) => return bad(&f, r),
    };
    let report = model.read().expect("read model lock").report(&q);
    match params.format.as_deref() {
        None | Some("json") => Json(report).into_response(),
        Some("text") => report.to_table().into_response(),
        Some("csv") => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"pronto-report.csv\"",
                ),
            ],
            report.to_csv(),
        )
            .into_response(),
        Some(other) => bad(
            "format",
            format!("unknown format '{other}'; expected json, text or csv"),
        ),
    }
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    model: Shared,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/v1/report", get(report))
        .with_state(model);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "reporting HTTP listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
