//! What-if on real history: every stored lead's evidence replayed through
//! the engine under a candidate rule set, side by side with what the live
//! rule set gave. Nothing is stored or changed.

use std::sync::Arc;

use leadscore::core::{Config, Stage};
use serde::Serialize;

use super::{Visitor, QUALIFIED_ONLY};
use crate::store::Funnel;
use crate::verify::read_at;

/// Most changed leads listed; the count covers all of them.
pub const MAX_CHANGES_LISTED: usize = 500;

/// A lead's score and stage under one rule set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Standing {
    /// Score.
    pub score: f64,
    /// Stage.
    pub stage: Stage,
}

/// A lead whose stage the candidate changes.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    /// The lead.
    pub lead_id: String,
    /// Its visitor.
    pub visitor_id: String,
    /// Its email, if it gave one.
    pub email: Option<String>,
    /// Where it stands in the funnel.
    pub funnel: Funnel,
    /// Under the live rule set (the collector's verified figures).
    pub live: Standing,
    /// Under the candidate.
    pub candidate: Standing,
}

/// Visitors qualified under one rule set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Qualified {
    /// Visitors with at least one lead at MQL or beyond.
    pub visitors: u64,
    /// Of the won visitors.
    pub won: u64,
    /// Of the lost visitors.
    pub lost: u64,
}

/// The what-if answer.
#[derive(Clone, Debug, Serialize)]
pub struct WhatIf {
    /// Leads replayed.
    pub leads: u64,
    /// Visitors replayed.
    pub visitors: u64,
    /// Visitors won in the history.
    pub won: u64,
    /// Visitors lost in the history.
    pub lost: u64,
    /// Under the live rule set.
    pub live: Qualified,
    /// Under the candidate.
    pub candidate: Qualified,
    /// Leads whose stage differs between the two, as many as there are.
    pub changed_count: u64,
    /// The first [`MAX_CHANGES_LISTED`] of them, in visitor order.
    pub changed: Vec<Changed>,
    /// Leads carrying a summary of older events: their replayed scores are
    /// lower bounds.
    pub lower_bounds: u64,
    /// What the figures can and cannot say.
    pub notes: Vec<&'static str>,
    /// Each visitor's highest replayed standing, in visitor order (for the
    /// suggestions; not part of the answer).
    #[serde(skip)]
    pub replayed: Vec<Option<Standing>>,
}

/// Replays every lead of `visitors` under `candidate`.
pub fn what_if(visitors: &[Visitor], candidate: &Arc<Config>) -> WhatIf {
    let mut answer = WhatIf {
        leads: 0,
        visitors: visitors.len() as u64,
        won: visitors.iter().filter(|v| v.won()).count() as u64,
        lost: visitors.iter().filter(|v| v.lost).count() as u64,
        live: Qualified::default(),
        candidate: Qualified::default(),
        changed_count: 0,
        changed: Vec::new(),
        lower_bounds: 0,
        notes: vec![
            QUALIFIED_ONLY,
            "A visitor who never qualified under the live rule set is not in the history, so a candidate can only \
             be seen to qualify fewer of the visitors here, or the same ones sooner or later.",
            "Leads carrying a summary of older events (lower_bounds) are replayed from the evidence kept: their \
             candidate scores are lower bounds.",
            "Nothing is stored or changed by a what-if.",
        ],
        replayed: Vec::with_capacity(visitors.len()),
    };
    for visitor in visitors {
        let (mut live_qualified, mut candidate_qualified, mut best): (bool, bool, Option<Standing>) =
            (false, false, None);
        for (row, lead) in &visitor.leads {
            answer.leads += 1;
            live_qualified |= row.verified_stage >= Stage::Mql;
            let Some(lead) = lead else { continue };
            answer.lower_bounds += u64::from(lead.summarised > 0);
            let (score, stage) = lead.replay(candidate.clone()).standing(read_at(lead, row.received_at));
            let standing = Standing { score, stage };
            candidate_qualified |= stage >= Stage::Mql;
            if best.is_none_or(|best| score > best.score) {
                best = Some(standing);
            }
            if stage != row.verified_stage {
                answer.changed_count += 1;
                if answer.changed.len() < MAX_CHANGES_LISTED {
                    answer.changed.push(Changed {
                        lead_id: row.lead_id.clone(),
                        visitor_id: row.visitor_id.clone(),
                        email: row.email.clone(),
                        funnel: row.funnel,
                        live: Standing { score: row.verified_score, stage: row.verified_stage },
                        candidate: standing,
                    });
                }
            }
        }
        for (qualified, tally) in [(live_qualified, &mut answer.live), (candidate_qualified, &mut answer.candidate)] {
            if qualified {
                tally.visitors += 1;
                tally.won += u64::from(visitor.won());
                tally.lost += u64::from(visitor.lost);
            }
        }
        answer.replayed.push(best);
    }
    answer
}
