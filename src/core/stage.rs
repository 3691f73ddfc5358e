//! Where a visitor stands: the engine decides it, and the outbox and the
//! lead payload carry it. In its own file so that those three can share it
//! without importing each other.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Where a visitor stands, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Below the `warm` threshold.
    Cold,
    /// Showing some interest.
    Warm,
    /// A marketing qualified lead: enough engagement, and an email unless the
    /// config waives it.
    Mql,
    /// An MQL who showed sales intent (contact, quote, live demo or pricing
    /// request) or passed the `sales_ready` threshold.
    SalesReady,
}

impl Stage {
    /// The stage's name in payloads, events and `data-leadscore-show`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Cold => "cold",
            Stage::Warm => "warm",
            Stage::Mql => "mql",
            Stage::SalesReady => "sales_ready",
        }
    }

    /// The stage with this name.
    pub fn parse(name: &str) -> Option<Stage> {
        [Stage::Cold, Stage::Warm, Stage::Mql, Stage::SalesReady].into_iter().find(|stage| stage.as_str() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
