//! `ReportingService.GetReport` over gRPC.

use crate::Shared;
use pronto_domain::{EventTime, Fault};
use pronto_grpc::{ReportingService, ReportingServiceServer};
use pronto_proto::v1 as pb;
use pronto_reporting::{Bucket, Dimension, LatencyStats, Query, Row};
use pronto_runtime::CancellationToken;
use pronto_runtime::fault::grpc_code;
use tonic::{Request, Response, Status};

struct Api(Shared);

fn stats(s: &LatencyStats) -> Option<pb::LatencyStats> {
    Some(pb::LatencyStats {
        count: s.count,
        p50_ms: s.p50_ms,
        p90_ms: s.p90_ms,
        p99_ms: s.p99_ms,
        mean_ms: s.mean_ms,
    })
}

fn row(r: &Row) -> pb::ReportRow {
    pb::ReportRow {
        keys: r.keys.clone(),
        customer_messages: r.customer_messages,
        answered_messages: r.answered_messages,
        response_rate: r.response_rate,
        human_replies: r.human_replies,
        first_reply_calendar: stats(&r.first_reply_calendar),
        first_reply_business: stats(&r.first_reply_business),
        reply_calendar: stats(&r.reply_calendar),
        reply_business: stats(&r.reply_business),
        sla_met: r.sla_met,
        sla_breached: r.sla_breached,
        sla_compliance: r.sla_compliance,
        resolution_calendar: stats(&r.resolution_calendar),
        resolution_business: stats(&r.resolution_business),
        resolution_met: r.resolution_met,
        resolution_breached: r.resolution_breached,
        resolution_compliance: r.resolution_compliance,
        escalations_by_level: r
            .escalations_by_level
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        unanswered_conversations: r.unanswered_conversations,
        sentiment_positive: r.sentiment_positive,
        sentiment_neutral: r.sentiment_neutral,
        sentiment_negative: r.sentiment_negative,
        sentiment_models: r
            .sentiment_models
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        escalations: r.escalations,
        signed_replies: r.signed_replies,
        tagged_replies: r.tagged_replies,
        signed_reply_rate: r.signed_reply_rate,
    }
}

/// A request that asks for no report Pronto makes: the caller's to change.
fn invalid(message: String) -> Status {
    Status::new(grpc_code(Fault::User), message)
}

fn query(req: &pb::ReportRequest) -> Result<Query, Status> {
    let mut q = Query::default();
    for (i, d) in req.group_by.iter().enumerate() {
        q.group_by.push(match pb::Dimension::try_from(*d) {
            Ok(pb::Dimension::Channel) => Dimension::Channel,
            Ok(pb::Dimension::Queue) => Dimension::Queue,
            Ok(pb::Dimension::Agent) => Dimension::Agent,
            Ok(pb::Dimension::Bucket) => Dimension::Bucket,
            Ok(pb::Dimension::Tenant) => Dimension::Tenant,
            Ok(pb::Dimension::Tier) => Dimension::Tier,
            Ok(pb::Dimension::Outsourcer) => Dimension::Outsourcer,
            _ => {
                return Err(invalid(format!("group_by[{i}]: unknown dimension {d}")));
            }
        });
    }
    q.bucket = match pb::Bucket::try_from(req.bucket) {
        Ok(pb::Bucket::Hour) => Bucket::Hour,
        Ok(pb::Bucket::Week) => Bucket::Week,
        Ok(pb::Bucket::Month) => Bucket::Month,
        Ok(pb::Bucket::Day | pb::Bucket::Unspecified) => Bucket::Day,
        Err(_) => {
            return Err(invalid(format!("bucket: unknown value {}", req.bucket)));
        }
    };
    let time =
        |field: &str, t: &Option<prost_types::Timestamp>| -> Result<Option<EventTime>, Status> {
            t.as_ref()
                .map(|t| {
                    EventTime::from_parts(t.seconds, t.nanos)
                        .map_err(|e| invalid(format!("{field}: {e}")))
                })
                .transpose()
        };
    q.from = time("from", &req.from)?;
    q.to = time("to", &req.to)?;
    if !req.time_zone.is_empty() {
        q.time_zone = req.time_zone.parse().map_err(|_| {
            invalid(format!(
                "time_zone: unknown time zone '{}'; expected an IANA name such as Europe/Rome",
                req.time_zone
            ))
        })?;
    }
    Ok(q)
}

#[tonic::async_trait]
impl ReportingService for Api {
    async fn get_report(
        &self,
        req: Request<pb::ReportRequest>,
    ) -> Result<Response<pb::Report>, Status> {
        let q = query(req.get_ref())?;
        let r = self.0.read().expect("read model lock").report(&q);
        Ok(Response::new(pb::Report {
            group_by: r.group_by.iter().map(|d| d.as_str().to_string()).collect(),
            rows: r.rows.iter().map(row).collect(),
            total: Some(row(&r.total)),
            facts_seen: r.facts_seen,
        }))
    }
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    model: Shared,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    pronto_runtime::serve_grpc(
        listener,
        tonic::service::Routes::new(ReportingServiceServer::new(Api(model))),
        "pronto.v1.ReportingService",
        shutdown,
    )
    .await
}
