//! What the service tags with: its own model (the built-in lexicon or a trained model file,
//! reloadable while running) and, optionally, an external model over gRPC that it falls back
//! from on error or timeout.

use crate::external::ExternalModel;
use pronto_domain::{AuthorKind, Event, Name, Payload, Polarity, SentimentTag, fact_id};
use pronto_sentiment::{Assessment, Lexicon, LinearModel, Model, is_signed};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Reads a model file written by `pronto sentiment train`, or says why it cannot.
pub fn load_model(path: &Path) -> Result<LinearModel, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    LinearModel::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The built-in lexicon, or the model in `path`.
pub fn open_model(path: Option<&Path>) -> Result<Arc<dyn Model>, String> {
    match path {
        None => Ok(Arc::new(Lexicon)),
        Some(p) => load_model(p).map(|m| Arc::new(m) as Arc<dyn Model>),
    }
}

/// The event's text and kind, when it is something the service tags: a customer message, or
/// a reply written by a person (with whether it is signed).
fn taggable(e: &Event) -> Option<(&str, bool, bool)> {
    match &e.payload {
        Payload::CustomerMessage { text, .. } => Some((text.as_str(), false, false)),
        Payload::ReplySent {
            text,
            author: AuthorKind::Human,
            agent_display_name,
            ..
        } => Some((
            text.as_str(),
            true,
            is_signed(text.as_str(), agent_display_name.as_deref()),
        )),
        _ => None,
    }
}

/// A model's reading of one text, whichever model made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub polarity: Polarity,
    pub score: f64,
    pub language: Name,
    pub tones: Vec<Name>,
    pub model_name: Name,
    pub model_version: Name,
}

impl Reading {
    fn of(a: &Assessment, model: &dyn Model) -> Self {
        Self {
            polarity: a.polarity,
            score: a.score,
            language: a.language.into(),
            tones: a.tones.iter().map(|t| Name::from(*t)).collect(),
            model_name: model.name().into(),
            model_version: model.version().into(),
        }
    }
}

fn build(e: &Event, r: Reading, reply: bool, signed: bool) -> SentimentTag {
    let env = &e.envelope;
    let (name, version) = (r.model_name.as_str(), r.model_version.as_str());
    SentimentTag {
        fact_id: fact_id(
            "snt",
            &[env.tenant.as_str(), env.event_id.as_str(), name, version],
        ),
        event_id: env.event_id.as_str().into(),
        tenant: env.tenant.as_str().into(),
        conversation_id: env.conversation_id.as_str().into(),
        channel: env.channel,
        occurred_at: env.occurred_at,
        polarity: r.polarity,
        score: r.score,
        language: r.language,
        tones: r.tones,
        model_name: r.model_name,
        model_version: r.model_version,
        reply,
        signed,
        rescored: false,
    }
}

/// Tags one event with `model`: a customer message with its sentiment, a human agent's reply
/// with its tone and whether it is signed; `None` for anything else. A tag's id is derived
/// from the event and the model version, so re-processing publishes nothing new.
pub fn tag(model: &dyn Model, e: &Event) -> Option<SentimentTag> {
    let (text, reply, signed) = taggable(e)?;
    let a = model.assess(text);
    Some(build(e, Reading::of(&a, model), reply, signed))
}

/// Why a tag came from the service's own model although an external one is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    Timeout,
    Error(String),
    Invalid(String),
}

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::Error(e) => write!(f, "error: {e}"),
            Self::Invalid(e) => write!(f, "invalid answer: {e}"),
        }
    }
}

/// The service's models.
pub struct Tagger {
    local: RwLock<Arc<dyn Model>>,
    /// The file the local model came from, re-read by [`Tagger::reload`].
    source: Option<PathBuf>,
    external: Option<ExternalModel>,
}

impl Tagger {
    /// Tags with `model` only.
    pub fn new(model: Arc<dyn Model>) -> Self {
        Self {
            local: RwLock::new(model),
            source: None,
            external: None,
        }
    }

    /// Tags with the model in `path` (the built-in lexicon when `None`), re-read on reload.
    pub fn from_file(path: Option<PathBuf>) -> Result<Self, String> {
        let model = open_model(path.as_deref())?;
        Ok(Self {
            local: RwLock::new(model),
            source: path,
            external: None,
        })
    }

    /// Asks `external` first, and the local model when it fails.
    pub fn with_external(mut self, external: ExternalModel) -> Self {
        self.external = Some(external);
        self
    }

    /// The local model in use.
    pub fn local(&self) -> Arc<dyn Model> {
        self.local
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn external(&self) -> Option<&ExternalModel> {
        self.external.as_ref()
    }

    /// Re-reads the model file. On success the new model tags from the next message on; on
    /// failure the model in use stays and the reason is returned.
    pub fn reload(&self) -> Result<Arc<dyn Model>, String> {
        let model = open_model(self.source.as_deref())?;
        *self
            .local
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = model.clone();
        Ok(model)
    }

    /// Tags one event, with the external model when one is configured and answers in time,
    /// else with the local model (and the reason it fell back).
    pub async fn tag(&self, e: &Event) -> Option<(SentimentTag, Option<Fallback>)> {
        let (text, reply, signed) = taggable(e)?;
        let local = self.local();
        let own = Reading::of(&local.assess(text), local.as_ref());
        let Some(external) = &self.external else {
            return Some((build(e, own, reply, signed), None));
        };
        match external.assess(e, text, reply, &own).await {
            Ok(theirs) => Some((build(e, theirs, reply, signed), None)),
            Err(why) => Some((build(e, own, reply, signed), Some(why))),
        }
    }
}
