//! Trust: the browser's score is a claim. The collector replays the lead's
//! evidence through the same engine, compiled natively, under the site's
//! rule set, and says whether the claim holds.

use std::sync::Arc;

use leadscore::core::{Config, Lead, Stage, Timestamp};

use crate::store::Verdict;

/// Scores within this distance of the replay agree: the browser and the
/// collector compute in the same f64 arithmetic, so only rounding differs.
pub const SCORE_TOLERANCE: f64 = 0.01;

/// What the replay of a lead's evidence reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verification {
    /// The score the evidence supports at the lead's `sent_at`, within the
    /// allowed skew of the time it was received.
    pub score: f64,
    /// The stage the evidence supports.
    pub stage: Stage,
    /// Whether the claim holds.
    pub verdict: Verdict,
}

/// How far a lead's `sent_at` may be from the collector's clock at receipt
/// and still be trusted: ten minutes, for browsers whose clocks drift and
/// for the time a request spends on the way.
pub const MAX_CLOCK_SKEW_MS: u64 = 10 * 60 * 1000;

/// When a lead's score is read: its `sent_at` (else `created_at`) moved into
/// [`MAX_CLOCK_SKEW_MS`] of `received_at`. Verification and the what-if
/// replay read a lead at the same moment.
pub fn read_at(lead: &Lead, received_at: Timestamp) -> Timestamp {
    let claimed_at = lead.sent_at.unwrap_or(lead.created_at);
    Timestamp(
        claimed_at
            .0
            .clamp(received_at.0.saturating_sub(MAX_CLOCK_SKEW_MS), received_at.plus_millis(MAX_CLOCK_SKEW_MS).0),
    )
}

/// Replays `lead` under `config`, on the collector's clock: `received_at`
/// is when it arrived. A claim holds when the replay reaches the claimed
/// stage and at least the claimed score; a browser may claim less than its
/// evidence supports (a lead sent before a late event was counted).
///
/// The browser's clock is trusted only within [`MAX_CLOCK_SKEW_MS`] of
/// `received_at`: the score is read at `sent_at` moved into that window, so
/// a year-old evidence set sent with a `sent_at` of a year ago is read as it
/// stands today. A `sent_at` outside the window, or none, gives
/// [`Verdict::ClockSkew`]; times that contradict each other (evidence or
/// `created_at` after `sent_at`, or anything beyond the window's future
/// edge) give [`Verdict::Forged`].
pub fn verify(lead: &Lead, config: Arc<Config>, received_at: Timestamp) -> Verification {
    let (earliest, latest) =
        (received_at.0.saturating_sub(MAX_CLOCK_SKEW_MS), received_at.plus_millis(MAX_CLOCK_SKEW_MS));
    let claimed_at = lead.sent_at.unwrap_or(lead.created_at);
    let at = read_at(lead, received_at);
    let same_rules = config.hash_hex() == lead.config_hash;
    let engine = lead.replay(config);
    let (score, stage) = engine.standing(at);
    let holds = stage >= lead.stage && lead.score <= score + SCORE_TOLERANCE;
    let contradicts = lead.created_at > claimed_at
        || claimed_at > latest
        || lead.evidence.iter().any(|event| event.at > claimed_at || event.at > latest)
        || lead.ledger.iter().any(|entry| entry.last > claimed_at || entry.last > latest);
    let skewed = lead.sent_at.is_none_or(|sent_at| sent_at.0 < earliest);
    let verdict = if contradicts {
        Verdict::Forged
    } else if skewed {
        Verdict::ClockSkew
    } else if holds {
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
