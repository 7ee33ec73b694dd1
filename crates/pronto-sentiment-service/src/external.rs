//! The `pronto.v1.SentimentModel` gRPC interface: a client that asks an external model with a
//! deadline and checks its answer, and a server that offers Pronto's own models through it.

use crate::tagger::{Fallback, Tagger};
use pronto_domain::Event;
use pronto_grpc::SentimentModelClient;
use pronto_grpc::{SentimentModel, SentimentModelServer};
use pronto_proto::v1 as pb;
use pronto_sentiment::Reading;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Longest text the model server accepts, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Bounds on what an external model may answer.
const MAX_NAME: usize = 100;
const MAX_TONES: usize = 16;
const MAX_TONE: usize = 32;

/// A client of an external model.
#[derive(Debug, Clone)]
pub struct ExternalModel {
    client: SentimentModelClient<Channel>,
    timeout: Duration,
    url: String,
}

impl ExternalModel {
    /// A client of the model at `url` (e.g. `http://10.0.0.7:50054`). It connects on first
    /// use and reconnects by itself; each call waits at most `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| format!("external model address {url:?}: {e}"))?
            .connect_timeout(timeout);
        Ok(Self {
            client: SentimentModelClient::new(endpoint.connect_lazy()),
            timeout,
            url: url.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The external model's reading of `text`, or why there is none. `own` is the local
    /// model's reading: its language is sent as a hint and kept when the answer has none, and
    /// its tones are kept alongside the answer's.
    pub async fn assess(
        &self,
        e: &Event,
        text: &str,
        reply: bool,
        own: &Reading,
    ) -> Result<Reading, Fallback> {
        let mut request = Request::new(pb::AssessRequest {
            text: text.to_string(),
            language_hint: own.language.to_string(),
            reply,
            tenant: e.envelope.tenant.to_string(),
            channel: pb::Channel::from(e.envelope.channel) as i32,
        });
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        let answer = match tokio::time::timeout(self.timeout, client.assess(request)).await {
            Err(_) => return Err(Fallback::Timeout),
            // The deadline sent with the request expired on the way or at the server.
            Ok(Err(status))
                if matches!(
                    status.code(),
                    tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
                ) =>
            {
                return Err(Fallback::Timeout);
            }
            Ok(Err(status)) => {
                return Err(Fallback::Error(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
            Ok(Ok(r)) => r.into_inner(),
        };
        checked(answer, own).map_err(Fallback::Invalid)
    }
}

/// The answer as a reading, if it keeps the interface's promises.
fn checked(a: pb::AssessResponse, own: &Reading) -> Result<Reading, String> {
    let polarity = pronto_domain::Polarity::try_from(a.polarity())
        .map_err(|_| "polarity is unset".to_string())?;
    if !(a.score.is_finite() && (-1.0..=1.0).contains(&a.score)) {
        return Err(format!("score {} is not in [-1, 1]", a.score));
    }
    if a.model_name.trim().is_empty() {
        return Err("model_name is empty".into());
    }
    if a.model_name.len() > MAX_NAME || a.model_version.len() > MAX_NAME {
        return Err(format!(
            "model_name or model_version is over {MAX_NAME} bytes"
        ));
    }
    if a.language.len() > 8 {
        return Err(format!("language {:?} is not a language code", a.language));
    }
    if a.tones.len() > MAX_TONES || a.tones.iter().any(|t| t.is_empty() || t.len() > MAX_TONE) {
        return Err(format!(
            "tones: at most {MAX_TONES}, each 1 to {MAX_TONE} bytes"
        ));
    }
    let mut tones = own.tones.clone();
    for t in a.tones {
        if !tones.iter().any(|x| *x == t) {
            tones.push(t.into());
        }
    }
    Ok(Reading {
        polarity,
        score: a.score,
        language: if a.language.is_empty() {
            own.language.clone()
        } else {
            a.language.into()
        },
        tones,
        model_name: a.model_name.into(),
        model_version: a.model_version.into(),
    })
}

/// Serves the tagger's local model as a `pronto.v1.SentimentModel`.
pub struct ModelServer(pub Arc<Tagger>);

impl ModelServer {
    pub fn into_service(self) -> SentimentModelServer<Self> {
        SentimentModelServer::new(self)
    }
}

#[tonic::async_trait]
impl SentimentModel for ModelServer {
    async fn assess(
        &self,
        request: Request<pb::AssessRequest>,
    ) -> Result<Response<pb::AssessResponse>, Status> {
        let r = request.into_inner();
        if r.text.len() > MAX_TEXT_BYTES {
            let mut details = ErrorDetails::new();
            details.add_bad_request_violation(
                "text",
                format!("{} bytes; at most {MAX_TEXT_BYTES}", r.text.len()),
            );
            return Err(Status::with_error_details(
                tonic::Code::InvalidArgument,
                "text is too long",
                details,
            ));
        }
        let model = self.0.local();
        let a = model.assess(&r.text);
        Ok(Response::new(pb::AssessResponse {
            polarity: pb::Polarity::from(a.polarity) as i32,
            score: a.score,
            language: a.language.to_string(),
            tones: a.tones.iter().map(|t| t.to_string()).collect(),
            model_name: model.name().to_string(),
            model_version: model.version().to_string(),
        }))
    }
}
