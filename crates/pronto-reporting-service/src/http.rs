//! `GET /v1/report`: the report as JSON (default), a text table (`format=text`) or CSV
//! (`format=csv`); `GET /v1/report/conversations`: the conversations behind a figure;
//! `GET /v1/escalations`: escalations by state; `GET /dashboard`: the live dashboard.

use crate::Shared;
use axum::extract::{Query as QueryParams, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pronto_domain::{EscalationState, EventTime, Fault};
use pronto_reporting::{Bucket, Dimension, Figure, Query};
use pronto_runtime::CancellationToken;
use pronto_runtime::fault::http_status;
use serde::Deserialize;

/// Query-string parameters of `GET /v1/report`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Comma-separated: channel, queue, agent, tier, outsourcer, bucket, tenant.
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
        http_status(Fault::User),
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
                    format!("unknown dimension '{d}'; expected {}", Dimension::NAMES),
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

/// Query-string parameters of `GET /v1/report/conversations`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DrillParams {
    /// The figure: customer_messages, sla_breached, ...
    pub(crate) figure: Option<String>,
    /// The slice, by the values the report shows; any left out are not filtered on.
    pub(crate) channel: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) agent: Option<String>,
    pub(crate) tier: Option<String>,
    pub(crate) outsourcer: Option<String>,
    pub(crate) tenant: Option<String>,
    /// A bucket's label (e.g. 2026-03 for a month), with `bucket` and `tz` as in the report.
    pub(crate) bucket_key: Option<String>,
    pub(crate) bucket: Option<String>,
    pub(crate) tz: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    /// Most conversations to list (default 1000, at most 100000).
    pub(crate) limit: Option<usize>,
}

async fn drill(
    State(model): State<Shared>,
    params: Result<QueryParams<DrillParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match params {
        Ok(QueryParams(p)) => p,
        Err(e) => return bad("query", e.body_text()),
    };
    let Some(figure) = p.figure.as_deref() else {
        return bad("figure", format!("is required: one of {}", Figure::NAMES));
    };
    let Some(figure) = Figure::parse(figure) else {
        return bad(
            "figure",
            format!(
                "unknown figure '{figure}'; expected one of {}",
                Figure::NAMES
            ),
        );
    };
    let q = match parse_query(&ReportParams {
        bucket: p.bucket.clone(),
        tz: p.tz.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
        ..ReportParams::default()
    }) {
        Ok(q) => q,
        Err((f, r)) => return bad(&f, r),
    };
    let limit = p.limit.unwrap_or(1000);
    if !(1..=100_000).contains(&limit) {
        return bad("limit", format!("{limit} is not between 1 and 100000"));
    }
    let filter: Vec<(Dimension, String)> = [
        (Dimension::Channel, &p.channel),
        (Dimension::Queue, &p.queue),
        (Dimension::Agent, &p.agent),
        (Dimension::Tier, &p.tier),
        (Dimension::Outsourcer, &p.outsourcer),
        (Dimension::Tenant, &p.tenant),
        (Dimension::Bucket, &p.bucket_key),
    ]
    .into_iter()
    .filter_map(|(d, v)| v.clone().map(|v| (d, v)))
    .collect();
    let d = model
        .read()
        .expect("read model lock")
        .drill(&q, &filter, figure, limit);
    Json(d).into_response()
}

/// Query-string parameters of `GET /v1/escalations`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalationParams {
    /// open, acknowledged or resolved; any when absent.
    pub(crate) state: Option<String>,
    /// Most to list, newest first (default 100, at most 10000).
    pub(crate) limit: Option<usize>,
}

async fn escalations(
    State(model): State<Shared>,
    params: Result<QueryParams<EscalationParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let p = match params {
        Ok(QueryParams(p)) => p,
        Err(e) => return bad("query", e.body_text()),
    };
    // Withdrawn escalations leave the list, so a filter on them would always be empty.
    let state = match p.state.as_deref().map(EscalationState::from_name) {
        None => None,
        Some(Some(s)) if s != EscalationState::Withdrawn => Some(s),
        Some(_) => {
            return bad(
                "state",
                format!(
                    "unknown state '{}'; expected open, acknowledged or resolved",
                    p.state.unwrap_or_default()
                ),
            );
        }
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return bad("limit", format!("{limit} is not between 1 and 10000"));
    }
    let (total, items) = model
        .read()
        .expect("read model lock")
        .escalation_list(state, limit);
    Json(serde_json::json!({ "total": total, "escalations": items })).into_response()
}

/// The OpenAPI 3.1 description of the HTTP API (ingest's and reporting's).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// The dashboard: one page that polls the JSON API and redraws itself.
async fn dashboard() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("dashboard.html"),
    )
        .into_response()
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
        .route("/v1/report/conversations", get(drill))
        .route("/v1/escalations", get(escalations))
        .route("/dashboard", get(dashboard))
        .route(
            "/v1/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .route(
            "/",
            get(|| async { axum::response::Redirect::temporary("/dashboard") }),
        )
        .with_state(model);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "reporting HTTP listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
