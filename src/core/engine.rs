//! The engine: a checked config plus a visitor's state, turning events into
//! a score, a stage, a grade and a ledger. Sans-IO: events carry their time,
//! reads take `now`.

use crate::prelude::*;
use alloc::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::Config;
use super::event::Event;
use super::fit::Grade;
use super::identity::{Field, IdentityError};
use super::outbox::{lead_id, strip_page, Outbox};
use super::stage::Stage;
use super::state::{State, MAX_EVIDENCE, TARGET_STATE_BYTES};
use super::tally::Tally;
use super::time::Timestamp;

/// What [`Engine::handle_event`] did with an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Handled {
    /// At least one rule matched; the points each matching rule awarded
    /// (zero when a cap, cooldown or count condition held it back).
    Scored(Vec<Award>),
    /// No rule matches the event; nothing is kept.
    Unmatched,
    /// An event with this id was already counted.
    Duplicate,
    /// The event is older than the summarised history and cannot be placed.
    TooOld,
}

/// Points one rule awarded for one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Award {
    /// The rule's id.
    pub rule_id: String,
    /// Points awarded, after caps.
    pub points: f64,
}

/// One ledger line: what a rule contributes to the score now and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The rule's id.
    pub rule_id: String,
    /// Points the rule holds now, after decay.
    pub points: f64,
    /// Events the rule matched.
    pub count: u32,
    /// Matches that awarded points.
    pub awards: u32,
    /// First and latest match.
    pub first: Timestamp,
    /// Latest match.
    pub last: Timestamp,
}

/// A visitor being scored under one config.
#[derive(Clone, Debug)]
pub struct Engine {
    config: Arc<Config>,
    state: State,
    /// One tally per config rule: the summary with the evidence folded in.
    tallies: Vec<Tally>,
}

impl Engine {
    /// Scores `state` under `config`. Summaries of rules the config no longer
    /// has are kept in the state but do not count.
    pub fn new(config: Arc<Config>, state: State) -> Engine {
        let mut engine = Engine { config, state, tallies: Vec::new() };
        engine.rebuild();
        engine
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The config, shared, for another engine under the same rules.
    pub fn shared_config(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// The visitor's state, for storage or a lead payload.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state, consuming the engine.
    pub fn into_state(self) -> State {
        self.state
    }

    /// Gives the visitor an erasure secret unless it has one (see
    /// [`State::ensure_erasure_secret`]); true when it was given.
    pub fn ensure_erasure_secret(&mut self, secret: impl FnOnce() -> String) -> bool {
        self.state.ensure_erasure_secret(secret)
    }

    /// Counts one event. Events may arrive out of order (another tab's,
    /// merged later); each id counts once.
    pub fn handle_event(&mut self, event: Event) -> Handled {
        let key = (event.at, event.id);
        if self.state.horizon.is_some_and(|horizon| key <= horizon) {
            return Handled::TooOld;
        }
        if self.state.evidence.iter().any(|kept| kept.id == event.id) {
            return Handled::Duplicate;
        }
        let event = self.minimize(event);
        let in_order = self.state.evidence.last().is_none_or(|last| (last.at, last.id) < key);
        let awards: Vec<Award> = if in_order {
            // Only the rules on this event's name can match it.
            let config = &self.config;
            config
                .rules_on(&event.name)
                .iter()
                .filter_map(|&index| {
                    let rule = &config.rules[index];
                    rule.apply(&mut self.tallies[index], &event)
                        .map(|points| Award { rule_id: rule.id.clone(), points })
                })
                .collect()
        } else {
            // A late event changes what later events earned (windows, caps):
            // place it and replay. Rare, and bounded by the evidence size.
            let matched =
                self.config.rules_on(&event.name).iter().any(|&index| self.config.rules[index].matches(&event));
            if !matched {
                return Handled::Unmatched;
            }
            let position = self.state.evidence.partition_point(|kept| (kept.at, kept.id) < key);
            self.state.evidence.insert(position, event);
            let before = self.tallies.clone();
            self.rebuild();
            let awards = self
                .config
                .rules
                .iter()
                .zip(before.iter().zip(&self.tallies))
                .filter(|(_, (old, new))| new.matches > old.matches)
                .map(|(rule, (old, new))| {
                    // Net change in points held, both sides read at the same instant.
                    let at = old.value_at.max(new.value_at);
                    Award { rule_id: rule.id.clone(), points: rule.value_at(new, at) - rule.value_at(old, at) }
                })
                .collect();
            self.compact();
            return Handled::Scored(awards);
        };
        if awards.is_empty() {
            return Handled::Unmatched;
        }
        self.state.evidence.push(event);
        self.compact();
        Handled::Scored(awards)
    }

    /// Records identity fields, e.g. from a form. Each value is checked;
    /// on the first bad one nothing more is recorded and the error says why.
    pub fn identify<'a>(
        &mut self,
        now: Timestamp,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), IdentityError> {
        for (name, value) in fields {
            let field = Field::parse(name)?;
            self.state.identity.set(now, field, value)?;
        }
        Ok(())
    }

    /// Notes visitor activity; true when a new visit starts (the shell then
    /// emits a `visit` event).
    pub fn begin_activity(&mut self, now: Timestamp) -> bool {
        self.state.begin_activity(now)
    }

    /// Records an attributed arrival (first and last touch).
    pub fn record_touch(&mut self, touch: super::signals::Touch) {
        self.state.record_touch(touch);
    }

    /// Queues a lead when the visitor is at `mql` or beyond and this stage's
    /// lead is not already queued or finished; returns its id. `page` is the
    /// current page URL (stripped here).
    pub fn enqueue_lead(&mut self, now: Timestamp, page: &str) -> Option<String> {
        let (stage, id) = self.lead_key(now)?;
        let page = strip_page(page);
        self.state.outbox.enqueue(id.clone(), stage, now, page).then_some(id)
    }

    /// The stage a lead would be for at `now` and its id; `None` below `mql`.
    pub fn lead_key(&self, now: Timestamp) -> Option<(Stage, String)> {
        let stage = self.stage(now);
        (stage >= Stage::Mql).then(|| (stage, lead_id(self.config.site(), self.state.visitor_id(), stage)))
    }

    /// The outbox, for the shell's transport to record attempts.
    pub fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.state.outbox
    }

    /// Takes another visitor record's history into this one, as this
    /// visitor's: its scored events, identity answers (with their times),
    /// attribution and last activity. Used when a page that scored in memory
    /// before consent adopts the stored visitor; unlike [`Engine::merge`],
    /// the two records need not share a visitor id. Events already folded
    /// into `other`'s summary are not carried over.
    pub fn absorb(&mut self, other: &State) {
        for event in other.evidence() {
            self.handle_event(event.clone());
        }
        self.state.identity.merge(other.identity());
        let (first, last) = other.touches();
        for touch in [first, last].into_iter().flatten() {
            self.state.record_touch(touch.clone());
        }
        self.state.last_activity = self.state.last_activity.max(other.last_activity());
    }

    /// Merges another tab's copy of this visitor's state.
    pub fn merge(&mut self, other: &State) {
        self.state.merge(other);
        self.rebuild();
        self.compact();
    }

    /// The engagement score at `now`, after decay.
    pub fn score(&self, now: Timestamp) -> f64 {
        self.config.rules.iter().zip(&self.tallies).map(|(rule, tally)| rule.value_at(tally, now)).sum()
    }

    /// Fit points from the identity fields.
    pub fn fit_points(&self) -> i64 {
        self.config.fit.iter().filter(|rule| rule.matches(&self.state.identity)).map(|rule| rule.points).sum()
    }

    /// The fit grade; `D` when nothing is known about the visitor.
    pub fn grade(&self) -> Grade {
        if self.state.identity.is_empty() {
            return Grade::D;
        }
        Grade::from_points(self.fit_points(), &self.config.grades)
    }

    /// Whether a rule that shows sales intent has matched.
    pub fn has_sales_intent(&self) -> bool {
        // Intent counts once the rule's own conditions (counts, windows) are met.
        self.config.rules.iter().zip(&self.tallies).any(|(rule, tally)| rule.sales_intent && tally.awards > 0)
    }

    /// The stage at `now`.
    pub fn stage(&self, now: Timestamp) -> Stage {
        self.standing(now).1
    }

    /// The score and the stage at `now`, the score read once.
    pub fn standing(&self, now: Timestamp) -> (f64, Stage) {
        let score = self.score(now);
        (score, self.stage_at(score))
    }

    fn stage_at(&self, score: f64) -> Stage {
        let thresholds = &self.config.thresholds;
        let identified = !self.config.mql_requires_identity || self.state.identity.has_email();
        if score >= thresholds.mql && identified {
            if self.has_sales_intent() || score >= thresholds.sales_ready {
                Stage::SalesReady
            } else {
                Stage::Mql
            }
        } else if score >= thresholds.warm {
            Stage::Warm
        } else {
            Stage::Cold
        }
    }

    /// Why the score is what it is: one entry per rule that matched anything,
    /// in config order.
    pub fn ledger(&self, now: Timestamp) -> Vec<LedgerEntry> {
        self.config
            .rules
            .iter()
            .zip(&self.tallies)
            .filter(|(_, tally)| tally.matches > 0)
            .map(|(rule, tally)| LedgerEntry {
                rule_id: rule.id.clone(),
                points: rule.value_at(tally, now),
                count: tally.matches,
                awards: tally.awards,
                first: tally.first,
                last: tally.last,
            })
            .collect()
    }

    /// Recomputes every tally from the summary and the evidence.
    fn rebuild(&mut self) {
        self.tallies = self
            .config
            .rules
            .iter()
            .map(|rule| self.state.summary.get(&rule.id).cloned().unwrap_or_default())
            .collect();
        for event in &self.state.evidence {
            for &index in self.config.rules_on(&event.name) {
                self.config.rules[index].apply(&mut self.tallies[index], event);
            }
        }
    }

    /// Keeps only what the config's rules read from an event: minimal data
    /// in the browser and in every lead.
    fn minimize(&self, mut event: Event) -> Event {
        let config = &self.config;
        let rules = || config.rules_on(&event.name).iter().map(|&index| &config.rules[index]);
        let keep_url = rules().any(|rule| rule.url.is_some());
        let keep_value = rules().any(|rule| rule.min_value.is_some());
        let used_props: Vec<&str> = rules().flat_map(|rule| rule.props.iter().map(|(key, _)| key.as_str())).collect();
        event.props.retain(|key, _| used_props.contains(&key.as_str()));
        if !keep_url {
            event.url = None;
        }
        if !keep_value {
            event.value = None;
            event.page_view = None;
        }
        event
    }

    /// Keeps the evidence within [`MAX_EVIDENCE`] events. Folding a batch at
    /// a time (down to three quarters of the bound) keeps the cost per event
    /// flat instead of folding on every event once the bound is reached.
    fn compact(&mut self) {
        let len = self.state.evidence.len();
        if len > MAX_EVIDENCE {
            self.fold_oldest(len - MAX_EVIDENCE * 3 / 4);
        }
    }

    /// The state as bytes for storage, within [`TARGET_STATE_BYTES`] whenever
    /// the summaries and identity alone fit: older evidence is folded into
    /// the summary until it does. The shell calls this when it persists
    /// (batched), not per event.
    pub fn encode_state(&mut self) -> Vec<u8> {
        // Summaries of rules the site has since removed or renamed score nothing.
        let config = &self.config;
        self.state.summary.retain(|rule_id, _| config.rules.iter().any(|rule| rule.id == *rule_id));
        loop {
            let bytes = self.state.encode();
            if bytes.len() <= TARGET_STATE_BYTES || self.state.evidence.is_empty() {
                return bytes;
            }
            self.fold_oldest((self.state.evidence.len() / 4).max(1));
        }
    }

    fn fold_oldest(&mut self, count: usize) {
        let folded: Vec<Event> = self.state.evidence.drain(..count).collect();
        self.state.folded = self.state.folded.saturating_add(folded.len() as u32);
        let Some(last) = folded.last() else { return };
        self.state.horizon = Some((last.at, last.id));
        // A flag per rule rather than sorting the indices: rule order, each
        // once, without another sort in the wasm.
        let mut touched = vec![false; self.config.rules.len()];
        for event in &folded {
            for index in self.config.rules_on(&event.name) {
                touched[*index] = true;
            }
        }
        for index in (0..touched.len()).filter(|index| touched[*index]) {
            let rule = &self.config.rules[index];
            let mut tally = self.state.summary.get(&rule.id).cloned().unwrap_or_default();
            for event in folded.iter().filter(|event| event.name == rule.on) {
                rule.apply(&mut tally, event);
            }
            self.state.summary.insert(rule.id.clone(), tally);
        }
    }
}
