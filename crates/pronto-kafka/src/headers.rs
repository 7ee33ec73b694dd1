//! Record headers: the payload type and W3C trace context.

use opentelemetry::propagation::{Extractor, Injector};
use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Names the protobuf message in a record's payload, e.g. `pronto.v1.Event`.
pub const TYPE_HEADER: &str = "pronto-type";

struct HeaderWriter(Vec<(String, String)>);

impl Injector for HeaderWriter {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_string(), value));
    }
}

struct HeaderReader<'a, H: Headers>(&'a H);

impl<H: Headers> Extractor for HeaderReader<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.key == key)
            .and_then(|h| h.value)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|h| h.key).collect()
    }
}

/// Headers for a new record: its type, and the current span's trace context.
pub(crate) fn outgoing(kind: &str) -> OwnedHeaders {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    let mut w = HeaderWriter(Vec::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut w));
    let mut headers = OwnedHeaders::new().insert(Header {
        key: TYPE_HEADER,
        value: Some(kind),
    });
    for (k, v) in &w.0 {
        headers = headers.insert(Header {
            key: k,
            value: Some(v),
        });
    }
    headers
}

/// The trace context a record carries, to parent the span that processes it.
pub fn extract_context<H: Headers>(headers: Option<&H>) -> opentelemetry::Context {
    match headers {
        Some(h) => opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderReader(h))),
        None => opentelemetry::Context::new(),
    }
}

/// A header's value as text.
pub fn header_str<'a, H: Headers>(headers: Option<&'a H>, key: &str) -> Option<&'a str> {
    headers?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// A span for processing one consumed record, parented on the trace context in its headers,
/// so that what the record causes downstream stays in the producer's trace.
pub fn record_span(
    service: &'static str,
    m: &rdkafka::message::BorrowedMessage<'_>,
) -> tracing::Span {
    use rdkafka::message::Message;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::info_span!(
        "process_record",
        service,
        topic = m.topic(),
        partition = m.partition(),
        offset = m.offset()
    );
    let _ = span.set_parent(extract_context(m.headers()));
    span
}
