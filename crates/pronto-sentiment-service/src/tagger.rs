//! What the service tags with: its own model (the built-in lexicon or a trained model file,
//! reloadable while running) and, optionally, an external model over gRPC that it falls back
//! from on error or timeout.

use crate::external::ExternalModel;
use pronto_domain::{Event, SentimentTag};
use pronto_sentiment::tag::build;
use pronto_sentiment::{Model, Reading, open_model, taggable};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

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
        let model = open_model(path.as_deref()).map_err(|e| e.to_string())?;
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
        let model = open_model(self.source.as_deref()).map_err(|e| e.to_string())?;
        *self
            .local
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = model.clone();
        Ok(model)
    }

    /// Tags one event, with the external model when one is configured and answers in time,
    /// else with the local model (and the reason it fell back).
    pub async fn tag(&self, e: &Event) -> Option<(SentimentTag, Option<Fallback>)> {
        let what = taggable(e)?;
        let local = self.local();
        let own = Reading::of(&local.assess(what.text), local.as_ref());
        let Some(external) = &self.external else {
            return Some((build(e, own, what), None));
        };
        match external.assess(e, what.text, what.reply, &own).await {
            Ok(theirs) => Some((build(e, theirs, what), None)),
            Err(why) => Some((build(e, own, what), Some(why))),
        }
    }
}
