//! Trust: the browser's score is a claim. The collector replays the lead's
//! evidence through the same engine, compiled natively, under the site's
//! rule set, and says whether the claim holds.

use std::sync::Arc;

use leadscore::core::{Config, Lead, Stage};

use crate::store::Verdict;

/// Scores within this distance of the replay agree: the browser and the
/// collector compute in the same f64 arithmetic, so only rounding differs.
pub const SCORE_TOLERANCE: f64 = 0.01;

/// What the replay of a lead's evidence reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verification {
    /// The score the evidence supports at the lead's `scored_at`.
    pub score: f64,
    /// The stage the evidence supports.
    pub stage: Stage,
    /// Whether the claim holds.
    pub verdict: Verdict,
}

/// Replays `lead` under `config`. A claim holds when the replay reaches the
/// claimed stage and at least the claimed score; a browser may claim less
/// than its evidence supports (a lead sent before a late event was counted).
pub fn verify(lead: &Lead, config: Arc<Config>) -> Verification {
    let same_rules = config.hash_hex() == lead.config_hash;
    let engine = lead.replay(config);
    let (score, stage) = engine.standing(lead.scored_at());
    let holds = stage >= lead.stage && lead.score <= score + SCORE_TOLERANCE;
    let verdict = if holds {
        Verdict::Verified
    } else if !same_rules {
        Verdict::ConfigChanged
    } else if lead.summarised > 0 {
        Verdict::Unverifiable
    } else {
        Verdict::Forged
    };
    Verification { score, stage, verdict }
}
