//! The verdict on a lead's claimed score, as stored and shown.

use serde::Serialize;

/// Whether a lead's claimed score held when the collector replayed its evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The replay reaches the claimed stage and score.
    Verified,
    /// The replay falls short, but the browser summarised older events that
    /// are not in the evidence, so the claim cannot be checked in full.
    Unverifiable,
    /// The replay falls short and the lead was scored under another rule set.
    ConfigChanged,
    /// The replay falls short on complete evidence under the same rules, or
    /// the lead's times contradict each other: evidence after `sent_at`, or
    /// in the future beyond the allowed clock skew.
    Forged,
    /// `sent_at` is missing or further than the allowed skew from the time
    /// the collector received the lead, so the browser's clock is not
    /// trusted: the score is checked at the received time instead.
    ClockSkew,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 5] =
        [Verdict::Verified, Verdict::Unverifiable, Verdict::ConfigChanged, Verdict::Forged, Verdict::ClockSkew];

    /// The verdict's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Unverifiable => "unverifiable",
            Verdict::ConfigChanged => "config_changed",
            Verdict::Forged => "forged",
            Verdict::ClockSkew => "clock_skew",
        }
    }

    /// The verdict with this name.
    pub fn parse(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|verdict| verdict.as_str() == name)
    }

    /// Whether the lead is flagged for a human to look at.
    pub const fn flagged(self) -> bool {
        !matches!(self, Verdict::Verified)
    }
}
