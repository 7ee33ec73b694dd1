//! Webhook delivery: each new escalation is POSTed as JSON, signed with HMAC-SHA256 when a
//! secret is set, retried with backoff, and parked in the dead-letter topic after the last
//! try, from where `pronto escalation redeliver` posts it again.
//!
//! The signature header is `Pronto-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
//! HMAC-SHA256, keyed with the secret, of `<t>.<body>`: the receiver recomputes it over the
//! raw body and refuses a mismatch or an old `t` (replays).

use hmac::{Hmac, Mac};
use pronto_domain::{EscalationFact, EscalationRaised, EscalationWithdrawn};
use pronto_kafka::Publisher;
use prost::Message as _;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The service name dead letters of failed deliveries carry.
pub const DEAD_LETTER_SERVICE: &str = "escalation-webhook";

/// Attempts before a delivery is parked.
pub const ATTEMPTS: u32 = 4;

/// The JSON body posted to the webhook for a fact: `type` is `escalation.raised` or
/// `escalation.withdrawn`.
pub fn fact_body(f: &EscalationFact) -> serde_json::Value {
    match f {
        EscalationFact::Raised(r) => body(r),
        EscalationFact::Withdrawn(w) => withdrawal_body(w),
    }
}

/// The JSON body of a withdrawal.
pub fn withdrawal_body(w: &EscalationWithdrawn) -> serde_json::Value {
    serde_json::json!({
        "type": "escalation.withdrawn",
        "escalation_id": w.escalation_id,
        "ladder_id": w.ladder_id,
        "tenant": w.context.tenant,
        "conversation_id": w.context.conversation_id,
        "correction_id": w.correction_id,
        "reason": w.reason,
        "at": w.at.to_rfc3339(),
    })
}

/// The JSON body of a new escalation.
pub fn body(e: &EscalationRaised) -> serde_json::Value {
    serde_json::json!({
        "type": "escalation.raised",
        "escalation_id": e.escalation_id,
        "tenant": e.context.tenant,
        "conversation_id": e.context.conversation_id,
        "channel": e.context.channel.as_str(),
        "queue": e.context.queue,
        "priority": e.context.priority.as_str(),
        "customer_tier": e.context.customer_tier,
        "level": e.level,
        "step": e.step,
        "ladder_id": e.ladder_id,
        "recipients": e.recipients,
        "rule": e.rule,
        "reason": e.reason,
        "trigger_ids": e.trigger_ids,
        "raised_at": e.raised_at.to_rfc3339(),
        "policy_version": e.policy_version,
    })
}

/// The `Pronto-Signature` value for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Where and how escalations are delivered.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub client: reqwest::Client,
    /// First wait between attempts; doubled after each.
    pub backoff: Duration,
}

impl Webhook {
    pub fn new(url: String, secret: Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            url,
            secret,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            backoff: Duration::from_millis(200),
        })
    }

    /// Posts `body` (an escalation's JSON) once; `Err` says why it was not accepted.
    pub async fn post_once(&self, escalation_id: &str, body: &[u8]) -> Result<(), String> {
        let mut req = self
            .client
            .post(&self.url)
            .header("Pronto-Escalation-Id", escalation_id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(secret) = &self.secret {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            req = req.header("Pronto-Signature", signature(secret, now, body));
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(format!("refused with {}", resp.status())),
            Err(err) => Err(format!("unreachable: {err}")),
        }
    }

    /// Posts `body`, retrying with backoff; `Err` with the last reason after [`ATTEMPTS`].
    pub async fn deliver(&self, escalation_id: &str, body: &[u8]) -> Result<(), String> {
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.post_once(escalation_id, body).await {
                Ok(()) => return Ok(()),
                Err(why) => {
                    tracing::warn!(attempt, reason = %why, escalation = escalation_id, "webhook delivery failed");
                    last = why;
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(last)
    }
}

/// Delivers `f`; after the last failed attempt, parks the body in the dead-letter topic with
/// the reason, keyed by the conversation.
pub async fn deliver_or_park(
    hook: Webhook,
    publisher: Publisher,
    dead_letter_topic: String,
    escalations_topic: String,
    f: EscalationFact,
) {
    let payload = serde_json::to_vec(&fact_body(&f)).expect("JSON of plain values");
    // The delivery's id: the escalation's, or a withdrawal's own, so that receivers dropping
    // repeats by it never drop a withdrawal as a repeat of its escalation.
    let id = f.fact_id();
    let Err(why) = hook.deliver(&id, &payload).await else {
        return;
    };
    let key = format!("{}/{}", f.context().tenant, f.context().conversation_id);
    let letter = pronto_proto::v1::DeadLetter {
        topic: escalations_topic,
        partition: -1,
        offset: -1,
        key: key.clone().into_bytes(),
        payload,
        reason: format!(
            "webhook {} gave up after {ATTEMPTS} attempts: {why}",
            hook.url
        ),
        service: DEAD_LETTER_SERVICE.into(),
    };
    tracing::error!(escalation = %id, reason = %letter.reason, "webhook delivery parked in the dead-letter topic");
    if let Err(err) = publisher
        .publish(
            &dead_letter_topic,
            &key,
            &letter.encode_to_vec(),
            "pronto.v1.DeadLetter",
        )
        .await
    {
        tracing::error!(escalation = %id, error = %err, "could not park the webhook delivery");
    }
}

/// What a redelivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redelivery {
    /// Parked deliveries found.
    pub parked: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// Posts again every delivery parked in the dead-letter topic (as it stands now), once each,
/// signing anew. Receivers drop repeats by `Pronto-Escalation-Id`. `progress(done, total)`
/// is called as records are read.
pub async fn redeliver(
    brokers: pronto_kafka::Connection,
    dead_letter_topic: &str,
    hook: &Webhook,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Redelivery> {
    use pronto_kafka::rdkafka::message::Message;
    let mut range = pronto_kafka::RangeReader::open(brokers, dead_letter_topic, None, None).await?;
    let total = range.total();
    let mut out = Redelivery::default();
    progress(0, total);
    while let Some(m) = range.next().await? {
        progress(range.read(), total);
        let Ok(letter) = pronto_proto::v1::DeadLetter::decode(m.payload().unwrap_or_default())
        else {
            continue;
        };
        if letter.service != DEAD_LETTER_SERVICE {
            continue;
        }
        out.parked += 1;
        let id = serde_json::from_slice::<serde_json::Value>(&letter.payload)
            .ok()
            .and_then(|v| {
                let escalation = v["escalation_id"].as_str()?;
                Some(if v["type"] == "escalation.withdrawn" {
                    pronto_domain::fact_id("wdr", &[escalation])
                } else {
                    escalation.to_string()
                })
            })
            .unwrap_or_default();
        match hook.deliver(&id, &letter.payload).await {
            Ok(()) => out.delivered += 1,
            Err(why) => {
                out.failed += 1;
                tracing::warn!(escalation = %id, reason = %why, "redelivery failed");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // RFC 4231 test case 2 checks the primitive: key "Jefe", data
        // "what do ya want for nothing?".
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let s = signature("s3cret", 1_772_442_000, br#"{"a":1}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(br#"1772442000.{"a":1}"#);
        assert_eq!(
            s,
            format!(
                "t=1772442000,v1={}",
                hex::encode(mac.finalize().into_bytes())
            )
        );
        assert_ne!(s, signature("other", 1_772_442_000, br#"{"a":1}"#));
        assert_ne!(s, signature("s3cret", 1_772_442_001, br#"{"a":1}"#));
    }
}
