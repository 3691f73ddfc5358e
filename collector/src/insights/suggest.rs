//! Suggestions, explained: the MQL threshold that best separates won from
//! lost visitors on replayed scores, and rules whose visitors never or
//! always convert. Each comes with its numbers; only a person applies one.

use serde::Serialize;

use super::{Visitor, QUALIFIED_ONLY};

/// A rule is only suggested on with at least this many closed (won or lost)
/// visitors carrying it.
pub const MIN_CLOSED: u64 = 5;

/// Most threshold candidates listed.
const MAX_CANDIDATES: usize = 40;

/// One candidate MQL threshold, judged on the won and lost visitors.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Threshold {
    /// Qualify at this score or more.
    pub threshold: f64,
    /// Won visitors it qualifies.
    pub won: u64,
    /// Lost visitors it qualifies.
    pub lost: u64,
    /// Of those it qualifies, the share won.
    pub precision: Option<f64>,
    /// Of the won, the share it qualifies.
    pub recall: Option<f64>,
}

/// A rule whose closed visitors all went one way.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSuggestion {
    /// The rule's id.
    pub rule: String,
    /// `never_converts` or `always_converts`.
    pub finding: &'static str,
    /// Closed visitors carrying it.
    pub closed: u64,
    /// Of them, won.
    pub won: u64,
    /// What a person might do about it.
    pub reading: String,
}

/// The suggestions.
#[derive(Clone, Debug, Serialize)]
pub struct Suggestions {
    /// The MQL threshold in force.
    pub current_threshold: f64,
    /// Won and lost visitors the threshold suggestion is judged on.
    pub won: u64,
    /// Lost visitors.
    pub lost: u64,
    /// The candidate with the best separation (recall minus the share of
    /// lost ones qualified, Youden's J), when there are both won and lost.
    pub best_threshold: Option<Threshold>,
    /// Every candidate judged, lowest first.
    pub thresholds: Vec<Threshold>,
    /// Rules whose closed visitors never or always won.
    pub rules: Vec<RuleSuggestion>,
    /// What the suggestions can and cannot say.
    pub notes: Vec<&'static str>,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Suggestions from each visitor with the score it reached under the rule
/// set judged (`None` when it could not be replayed), and the MQL
/// threshold in force.
pub fn suggest(scored: &[(&Visitor, Option<f64>)], current_threshold: f64) -> Suggestions {
    let closed: Vec<(f64, bool)> = scored
        .iter()
        .filter(|(visitor, _)| visitor.won() || visitor.lost)
        .filter_map(|(visitor, score)| Some(((*score)?, visitor.won())))
        .collect();
    let won = closed.iter().filter(|(_, won)| *won).count() as u64;
    let lost = closed.len() as u64 - won;
    let mut levels: Vec<f64> = closed.iter().map(|(score, _)| (score * 10.0).floor() / 10.0).collect();
    levels.push(current_threshold);
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    if levels.len() > MAX_CANDIDATES {
        let step = levels.len() as f64 / MAX_CANDIDATES as f64;
        levels = (0..MAX_CANDIDATES).map(|index| levels[(index as f64 * step) as usize]).collect();
    }
    let thresholds: Vec<Threshold> = levels
        .into_iter()
        .map(|threshold| {
            let won_in = closed.iter().filter(|(score, won)| *won && *score >= threshold).count() as u64;
            let lost_in = closed.iter().filter(|(score, won)| !*won && *score >= threshold).count() as u64;
            Threshold {
                threshold,
                won: won_in,
                lost: lost_in,
                precision: share(won_in, won_in + lost_in),
                recall: share(won_in, won),
            }
        })
        .collect();
    let youden = |t: &Threshold| t.won as f64 / won as f64 - t.lost as f64 / lost as f64;
    let best_threshold = (won > 0 && lost > 0)
        .then(|| {
            thresholds
                .iter()
                .copied()
                .max_by(|a, b| youden(a).total_cmp(&youden(b)).then(b.threshold.total_cmp(&a.threshold)))
        })
        .flatten();

    let mut rules: Vec<RuleSuggestion> = Vec::new();
    let all_rules: std::collections::BTreeSet<&String> = scored.iter().flat_map(|(v, _)| &v.rules).collect();
    for rule in all_rules {
        let carriers = scored.iter().map(|(v, _)| *v).filter(|v| v.rules.contains(rule) && (v.won() || v.lost));
        let (closed, won) = carriers.fold((0, 0), |(closed, won), v| (closed + 1, won + u64::from(v.won())));
        if closed < MIN_CLOSED {
            continue;
        }
        let (finding, reading) = if won == 0 {
            (
                "never_converts",
                format!(
                    "none of the {closed} closed visitors carrying `{rule}` was won: consider fewer points, or none"
                ),
            )
        } else if won == closed {
            (
                "always_converts",
                format!("all {closed} closed visitors carrying `{rule}` were won: consider more points"),
            )
        } else {
            continue;
        };
        rules.push(RuleSuggestion { rule: rule.clone(), finding, closed, won, reading });
    }
    Suggestions {
        current_threshold,
        won,
        lost,
        best_threshold,
        thresholds,
        rules,
        notes: vec![
            QUALIFIED_ONLY,
            "Thresholds are judged on closed visitors only (won or lost), with the score each reached; every \
             visitor here already passed the live threshold, so one below it cannot be judged.",
            "Few closed visitors make any suggestion fragile: check the counts before applying one.",
        ],
    }
}
