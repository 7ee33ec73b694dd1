//! Pronto's SLA engine: versioned policies, business calendars and reply clocks that run in
//! event time. Pure: no I/O, no wall clock, so a replay yields exactly the live output.

pub mod calendar;
mod engine;
pub mod explain;
mod journal;
pub mod policy;
pub mod published;
/// Reading TOML files with errors that say where (kept here for the crates that read SLA-like
/// files through it).
pub use pronto_config as tomlfile;
mod versions;

pub use calendar::Calendar;
pub use engine::{ClockView, DEFAULT_CORRECTION_WINDOW_MS, Engine, EngineStats};
pub use explain::{Explanation, explain};
pub use policy::{Basis, Policy, PolicyError, Target};
pub use versions::PolicyVersions;

#[cfg(test)]
mod tests;
