//! Tagging events: which events are tagged, and the tag a model's reading of one makes. The
//! live service, a rescore and a replay all tag through here, so they agree on every tag.

use crate::linear::ModelFileError;
use crate::{Assessment, Lexicon, LinearModel, Model, is_signed};
use pronto_domain::{
    AuthorKind, Classified, Event, Fault, Name, Payload, Polarity, SentimentTag, fact_id,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    #[error("{}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    NotAModel {
        path: PathBuf,
        source: ModelFileError,
    },
}

/// The file named is missing, unreadable or not a model: the operator's to mend.
impl Classified for ModelLoadError {
    fn fault(&self) -> Fault {
        Fault::User
    }
}

/// Reads a model file written by `pronto sentiment train`, or says why it cannot.
pub fn load_model(path: &Path) -> Result<LinearModel, ModelLoadError> {
    let bytes = std::fs::read(path).map_err(|source| ModelLoadError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    LinearModel::from_bytes(&bytes).map_err(|source| ModelLoadError::NotAModel {
        path: path.to_path_buf(),
        source,
    })
}

/// The built-in lexicon, or the model in `path`.
pub fn open_model(path: Option<&Path>) -> Result<Arc<dyn Model>, ModelLoadError> {
    match path {
        None => Ok(Arc::new(Lexicon)),
        Some(p) => load_model(p).map(|m| Arc::new(m) as Arc<dyn Model>),
    }
}

/// What of an event is tagged: its text, whether it is a reply, and whether the reply is
/// signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taggable<'a> {
    pub text: &'a str,
    pub reply: bool,
    pub signed: bool,
}

/// The event's text and kind, when it is something that is tagged: a customer message, or a
/// reply written by a person (with whether it is signed).
pub fn taggable(e: &Event) -> Option<Taggable<'_>> {
    match &e.payload {
        Payload::CustomerMessage { text, .. } => Some(Taggable {
            text: text.as_str(),
            reply: false,
            signed: false,
        }),
        Payload::ReplySent {
            text,
            author: AuthorKind::Human,
            agent_display_name,
            ..
        } => Some(Taggable {
            text: text.as_str(),
            reply: true,
            signed: is_signed(text.as_str(), agent_display_name.as_deref()),
        }),
        _ => None,
    }
}

/// A model's reading of one text, whichever model made it (a local one, or an external model
/// that answered over the network).
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
    /// `model`'s assessment `a`, as a reading.
    pub fn of(a: &Assessment, model: &dyn Model) -> Self {
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

/// The tag of `e` from reading `r`. Its id is derived from the event and the model version,
/// so re-processing the event with the same model makes the same tag.
pub fn build(e: &Event, r: Reading, what: Taggable<'_>) -> SentimentTag {
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
        reply: what.reply,
        signed: what.signed,
        rescored: false,
    }
}

/// Tags one event with `model`: a customer message with its sentiment, a human agent's reply
/// with its tone and whether it is signed; `None` for anything else.
pub fn tag(model: &dyn Model, e: &Event) -> Option<SentimentTag> {
    let what = taggable(e)?;
    let a = model.assess(what.text);
    Some(build(e, Reading::of(&a, model), what))
}
