//! The lead payload: what leaves the browser when a visitor qualifies, and
//! what the collector receives and re-checks. One type for both sides, so
//! they cannot drift apart. Documented in `docs/lead.md` and
//! `docs/lead.schema.json`.

use super::sorted_map::SortedMap;
use crate::prelude::*;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::engine::{Engine, LedgerEntry};
use super::event::Event;
use super::fit::Grade;
use super::signals::Touch;
use super::stage::Stage;
use super::time::Timestamp;

// The id and page a lead carries are made by the outbox, which keys and
// keeps its entries by them; they stay reachable under `lead::` too.
pub use super::outbox::{lead_id, strip_page, MAX_PAGE_CHARS};

/// Version of the payload format, sent as `v`.
pub const LEAD_VERSION: u32 = 1;
/// Largest body a lead may have: the browser's keepalive quota.
pub const MAX_LEAD_BYTES: usize = 64 * 1024;

/// First-touch and last-touch attribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touches {
    /// The earliest attributed arrival.
    pub first: Option<Touch>,
    /// The latest attributed arrival.
    pub last: Option<Touch>,
}

/// A qualified lead, as posted to the endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lead {
    /// Payload version, [`LEAD_VERSION`].
    pub v: u32,
    /// Idempotency key: the same for the same visitor reaching the same stage,
    /// however often it is sent.
    pub lead_id: String,
    /// The site name from the config.
    pub site: String,
    /// The random, first-party visitor id.
    pub visitor_id: String,
    /// The SHA-256 (64 hex digits) of the erasure secret the visitor's
    /// browser keeps: `POST /v1/forget` with the secret erases this lead.
    /// Empty from widgets that kept no secret yet (accepted when absent).
    #[serde(default)]
    pub erasure: String,
    /// The stage that triggered the lead: `mql` or `sales_ready`.
    pub stage: Stage,
    /// The engagement score at `sent_at` (or `created_at` before sending), as
    /// the browser claims it.
    pub score: f64,
    /// The fit grade.
    pub grade: Grade,
    /// The identity fields the visitor gave.
    pub identity: SortedMap<String, String>,
    /// Per-rule explanation of the score.
    pub ledger: Vec<LedgerEntry>,
    /// The scored events kept as evidence (at most the state's bound), from
    /// which the collector recomputes the score.
    pub evidence: Vec<Event>,
    /// How many older events were summarised and are not in `evidence`.
    pub summarised: u32,
    /// First- and last-touch attribution.
    pub touch: Touches,
    /// The config's hash ([`Config::hash_hex`](super::config::Config::hash_hex)).
    pub config_hash: String,
    /// The page the visitor was on, with a query string stripped of all but
    /// UTM parameters and ad click ids.
    pub page: String,
    /// When the lead was created.
    pub created_at: Timestamp,
    /// When this copy was sent (set by the transport on each attempt).
    pub sent_at: Option<Timestamp>,
}

/// Why a received body is not a lead the collector can accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadError {
    /// The field at fault, as a JSON path (`lead` for the body as a whole).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl core::error::Error for LeadError {}

impl Lead {
    /// The lead for the visitor's current stage at `now`, or `None` below `mql`.
    /// `page` is the page URL; its query string is stripped here.
    pub fn from_engine(engine: &Engine, now: Timestamp, page: &str) -> Option<Lead> {
        let (stage, id) = engine.lead_key(now)?;
        Some(Lead::describe(engine, id, stage, now, strip_page(page), now, None))
    }

    /// Recomputes the lead from its own evidence and identity under
    /// `config`: what a collector trusts instead of the claimed score. Events
    /// that were summarised in the browser are not in the evidence, so a lead
    /// with `summarised > 0` replays to a lower bound.
    pub fn replay(&self, config: alloc::sync::Arc<super::config::Config>) -> Engine {
        let mut engine = Engine::new(config, super::state::State::new(&self.visitor_id, self.created_at));
        for event in &self.evidence {
            engine.handle_event(event.clone());
        }
        // Identity answers are replayed as given; bad ones are simply absent.
        for (field, value) in &self.identity {
            let _ = engine.identify(self.created_at, [(field.as_str(), value.as_str())]);
        }
        engine
    }

    /// The body for an outbox entry, sent at `now`: the entry's stage, id,
    /// creation time and page, with the visitor's score, grade, ledger and
    /// evidence as they are now (the freshest picture for sales).
    pub fn for_pending(engine: &Engine, pending: &super::outbox::Pending, now: Timestamp) -> Lead {
        let (id, page) = (pending.lead_id.clone(), pending.page.clone());
        Lead::describe(engine, id, pending.stage, pending.created, page, now, Some(now))
    }

    /// The visitor as the engine sees them at `scored_at`, under the given
    /// lead identity.
    fn describe(
        engine: &Engine,
        lead_id: String,
        stage: Stage,
        created_at: Timestamp,
        page: String,
        scored_at: Timestamp,
        sent_at: Option<Timestamp>,
    ) -> Lead {
        let config = engine.config();
        let state = engine.state();
        let (first, last) = state.touches();
        Lead {
            v: LEAD_VERSION,
            lead_id,
            site: config.site().to_string(),
            visitor_id: state.visitor_id().to_string(),
            erasure: state.erasure_digest(),
            stage,
            score: engine.score(scored_at),
            grade: engine.grade(),
            // Inserted one by one: `collect()` into a map sorts through std's
            // driftsort, a few KB of wasm for input that is already sorted.
            identity: state.identity().iter().fold(SortedMap::new(), |mut identity, (field, value)| {
                identity.insert(field.name().to_string(), value.to_string());
                identity
            }),
            ledger: engine.ledger(scored_at),
            evidence: state.evidence().to_vec(),
            summarised: state.summarised_events(),
            touch: Touches { first: first.cloned(), last: last.cloned() },
            config_hash: config.hash_hex(),
            page,
            created_at,
            sent_at,
        }
    }

    /// When the claimed score and ledger were read: `sent_at`, else `created_at`.
    pub fn scored_at(&self) -> Timestamp {
        self.sent_at.unwrap_or(self.created_at)
    }

    /// The body to post, at most `limit` bytes: when the JSON is longer, the
    /// oldest evidence is left out (and counted in `summarised`) until it fits.
    /// Browsers give keepalive requests and beacons a 64 KiB budget.
    pub fn to_json_within(mut self, limit: usize) -> String {
        let mut body = self.to_json();
        while body.len() > limit && !self.evidence.is_empty() {
            let cut = self.evidence.len().div_ceil(4);
            self.evidence.drain(..cut);
            self.summarised = self.summarised.saturating_add(cut as u32);
            body = self.to_json();
        }
        body
    }

    /// The body to post: compact JSON, written by the core's own writer
    /// (the wasm carries no serde serializer); the collector reads it with
    /// [`Lead::from_json`].
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        let mut w = JsonOut(&mut out);
        w.punct('{');
        w.key("v").uint(u64::from(self.v));
        w.key("lead_id").text(&self.lead_id);
        w.key("site").text(&self.site);
        w.key("visitor_id").text(&self.visitor_id);
        w.key("erasure").text(&self.erasure);
        w.key("stage").text(self.stage.as_str());
        w.key("score").float(self.score);
        w.key("grade").text(self.grade.as_str());
        w.key("identity").punct('{');
        for (field, value) in self.identity.iter() {
            w.key(field).text(value);
        }
        w.punct('}');
        w.key("ledger").punct('[');
        for entry in &self.ledger {
            w.item().punct('{');
            w.key("rule_id").text(&entry.rule_id);
            w.key("points").float(entry.points);
            w.key("count").uint(u64::from(entry.count));
            w.key("awards").uint(u64::from(entry.awards));
            w.key("first").uint(entry.first.0);
            w.key("last").uint(entry.last.0);
            w.punct('}');
        }
        w.punct(']');
        w.key("evidence").punct('[');
        for event in &self.evidence {
            w.item().punct('{');
            w.key("at").uint(event.at.0);
            w.key("id").uint(event.id.0);
            w.key("name").text(&event.name);
            w.key("url").option(event.url.as_deref(), |w, url| w.text(url));
            w.key("props").punct('{');
            for (key, value) in event.props.iter() {
                w.key(key).text(value);
            }
            w.punct('}');
            w.key("value").option(event.value, |w, value| w.uint(u64::from(value)));
            w.key("page_view").option(event.page_view, |w, id| w.uint(id.0));
            w.punct('}');
        }
        w.punct(']');
        w.key("summarised").uint(u64::from(self.summarised));
        w.key("touch").punct('{');
        for (name, touch) in [("first", &self.touch.first), ("last", &self.touch.last)] {
            w.key(name).option(touch.as_ref(), |w, touch| {
                w.punct('{');
                w.key("at").uint(touch.at.0);
                for (key, part) in touch.utm().into_iter().chain([("click_id", &touch.click_id)]) {
                    w.key(key).option(part.as_deref(), |w, text| w.text(text));
                }
                w.punct('}');
            });
        }
        w.punct('}');
        w.key("config_hash").text(&self.config_hash);
        w.key("page").text(&self.page);
        w.key("created_at").uint(self.created_at.0);
        w.key("sent_at").option(self.sent_at, |w, at| w.uint(at.0));
        w.punct('}');
        out
    }

    /// Reads and checks a posted body. Errors name the field.
    pub fn from_json(body: &str) -> Result<Lead, LeadError> {
        if body.len() > MAX_LEAD_BYTES {
            return Err(LeadError {
                field: "lead".into(),
                message: format!("body is {} bytes; the limit is {MAX_LEAD_BYTES}", body.len()),
            });
        }
        let lead: Lead = serde_json::from_str(body).map_err(|error| {
            // serde names the field in its message ("missing field `site`").
            let message = error.to_string();
            let field = message.split('`').nth(1).filter(|_| message.contains("field")).unwrap_or("lead").to_string();
            LeadError { field, message }
        })?;
        lead.check()?;
        Ok(lead)
    }

    /// The checks past the JSON shape, every documented bound in one place
    /// (docs/lead.md, "Bounds"): version, stage, the id matching site,
    /// visitor and stage, the length of every string, the size of every
    /// list and map, and the range of every number and time. The first
    /// failure is named by its JSON path (`evidence[3].name`).
    /// [`Lead::from_json`] runs them; a reader that deserializes by other
    /// means runs them itself.
    pub fn check(&self) -> Result<(), LeadError> {
        let mut check = Checker::default();
        check.lead(self);
        check.failure.map_or(Ok(()), Err)
    }
}

/// Most rules a ledger lists: the config's bound.
pub const MAX_LEDGER: usize = super::config::MAX_RULES;
/// Most events of evidence a lead may carry: four times what the state
/// keeps, for a state merged from several tabs before it was folded.
pub const MAX_LEAD_EVIDENCE: usize = super::state::MAX_EVIDENCE * 4;
/// The largest score or ledger points a lead may claim, in either
/// direction: every rule at the largest cap.
pub const MAX_SCORE: f64 = (super::config::MAX_RULES as i64 * super::config::MAX_CAP) as f64;

/// Walks a lead and keeps the first bound it breaks.
#[derive(Default)]
struct Checker {
    failure: Option<LeadError>,
}

impl Checker {
    fn fail(&mut self, field: impl FnOnce() -> String, message: impl FnOnce() -> String) {
        if self.failure.is_none() {
            self.failure = Some(LeadError { field: field(), message: message() });
        }
    }

    fn text(&mut self, field: impl FnOnce() -> String, text: &str, min: usize, max: usize) {
        let chars = super::text::char_count(text);
        if chars < min || chars > max {
            self.fail(field, || format!("must be {min} to {max} characters, got {chars}"));
        }
    }

    fn pattern(&mut self, field: &str, text: &str, max: usize, allowed: fn(char) -> bool, what: &str) {
        self.text(|| field.into(), text, 1, max);
        if let Some(bad) = text.chars().find(|&c| !allowed(c)) {
            self.fail(|| field.into(), || format!("may use {what} only, found {}", super::event::quoted(bad)));
        }
    }

    fn time(&mut self, field: impl FnOnce() -> String, at: Timestamp) {
        if at.0 > super::time::MAX_MILLIS {
            self.fail(field, || format!("{} is past the year 9999; times are milliseconds since 1970", at.0));
        }
    }

    fn points(&mut self, field: impl FnOnce() -> String, points: f64) {
        if !points.is_finite() || points.abs() > MAX_SCORE {
            self.fail(field, || format!("must be a finite number between -{MAX_SCORE} and {MAX_SCORE}"));
        }
    }

    fn count(&mut self, field: &str, count: usize, max: usize, what: &str) {
        if count > max {
            self.fail(|| field.into(), || format!("{count} {what}; at most {max} are accepted"));
        }
    }

    fn lead(&mut self, lead: &Lead) {
        if lead.v != LEAD_VERSION {
            let v = lead.v;
            self.fail(
                || "v".into(),
                || format!("unsupported payload version {v}; this collector reads {LEAD_VERSION}"),
            );
        }
        self.pattern(
            "site",
            &lead.site,
            super::config::MAX_ID_CHARS,
            is_id_char,
            "lowercase letters, digits, '-' and '_'",
        );
        self.text(|| "visitor_id".into(), &lead.visitor_id, 1, super::state::MAX_VISITOR_ID_CHARS);
        if !lead.erasure.is_empty() {
            self.pattern("erasure", &lead.erasure, 64, |c| matches!(c, '0'..='9' | 'a'..='f'), "lowercase hex digits");
            self.text(|| "erasure".into(), &lead.erasure, 64, 64);
        }
        if lead.stage < Stage::Mql {
            let stage = lead.stage;
            self.fail(|| "stage".into(), || format!("a lead is sent at mql or sales_ready, got {stage}"));
        }
        if lead.lead_id != lead_id(&lead.site, &lead.visitor_id, lead.stage) {
            self.fail(|| "lead_id".into(), || "does not match site, visitor_id and stage".into());
        }
        self.points(|| "score".into(), lead.score);
        self.count("identity", lead.identity.len(), super::identity::Field::ALL.len(), "identity fields");
        for (name, value) in lead.identity.iter() {
            if super::identity::Field::parse(name).is_err() {
                let known = super::text::joined(super::identity::Field::ALL.iter().map(|field| field.name()), ", ");
                self.fail(
                    || format!("identity.{}", super::event::preview(name)),
                    || format!("unknown identity field; known: {known}"),
                );
            }
            self.text(|| format!("identity.{name}"), value, 0, super::identity::MAX_VALUE_CHARS);
        }
        self.count("ledger", lead.ledger.len(), MAX_LEDGER, "ledger entries");
        for (index, entry) in lead.ledger.iter().enumerate() {
            let at = |field: &str| format!("ledger[{index}].{field}");
            self.pattern(
                &at("rule_id"),
                &entry.rule_id,
                super::config::MAX_ID_CHARS,
                is_id_char,
                "lowercase letters, digits, '-' and '_'",
            );
            self.points(|| at("points"), entry.points);
            self.time(|| at("first"), entry.first);
            self.time(|| at("last"), entry.last);
        }
        self.count("evidence", lead.evidence.len(), MAX_LEAD_EVIDENCE, "events");
        for (index, event) in lead.evidence.iter().enumerate() {
            self.event(index, event);
        }
        for (name, touch) in [("first", &lead.touch.first), ("last", &lead.touch.last)] {
            if let Some(touch) = touch {
                self.touch(name, touch);
            }
        }
        self.pattern(
            "config_hash",
            &lead.config_hash,
            16,
            |c| matches!(c, '0'..='9' | 'a'..='f'),
            "lowercase hex digits",
        );
        self.text(|| "config_hash".into(), &lead.config_hash, 16, 16);
        self.text(|| "page".into(), &lead.page, 0, MAX_PAGE_CHARS);
        self.time(|| "created_at".into(), lead.created_at);
        if let Some(sent_at) = lead.sent_at {
            self.time(|| "sent_at".into(), sent_at);
        }
    }

    fn event(&mut self, index: usize, event: &Event) {
        use super::event::{check_name, MAX_PROPS, MAX_PROP_KEY_CHARS, MAX_PROP_VALUE_CHARS, MAX_URL_CHARS};
        let at = |field: &str| format!("evidence[{index}].{field}");
        self.time(|| at("at"), event.at);
        if let Err(message) = check_name(&event.name) {
            self.fail(|| at("name"), || message);
        }
        if let Some(url) = &event.url {
            self.text(|| at("url"), url, 0, MAX_URL_CHARS);
        }
        self.count(&at("props"), event.props.len(), MAX_PROPS, "properties");
        for (key, value) in event.props.iter() {
            self.text(|| at("props"), key, 1, MAX_PROP_KEY_CHARS);
            self.text(|| format!("{}.{}", at("props"), super::event::preview(key)), value, 0, MAX_PROP_VALUE_CHARS);
        }
    }

    fn touch(&mut self, name: &str, touch: &Touch) {
        let at = |field: &str| format!("touch.{name}.{field}");
        self.time(|| at("at"), touch.at);
        for (field, part) in touch.utm() {
            if let Some(text) = part {
                self.text(|| at(field), text, 0, super::signals::MAX_TOUCH_CHARS);
            }
        }
        if let Some(click_id) = &touch.click_id {
            if !super::signals::CLICK_IDS.iter().any(|(param, _)| param == click_id) {
                let known = super::text::joined(super::signals::CLICK_IDS.iter().map(|(param, _)| *param), ", ");
                self.fail(|| at("click_id"), || format!("unknown click id; known: {known}"));
            }
        }
    }
}

/// A character of a site name or rule id.
fn is_id_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')
}

/// A compact JSON writer for the lead: commas placed by nesting level.
struct JsonOut<'a>(&'a mut String);

impl JsonOut<'_> {
    fn comma(&mut self) {
        if !matches!(self.0.chars().last(), Some('{' | '[' | ':') | None) {
            self.0.push(',');
        }
    }

    /// `{`, `}`, `[` or `]`.
    fn punct(&mut self, bracket: char) -> &mut Self {
        self.0.push(bracket);
        self
    }

    /// Before an array item.
    fn item(&mut self) -> &mut Self {
        self.comma();
        self
    }

    fn key(&mut self, key: &str) -> &mut Self {
        self.comma();
        let _ = super::json::write_string(self.0, key);
        self.0.push(':');
        self
    }

    fn text(&mut self, text: &str) {
        let _ = super::json::write_string(self.0, text);
    }

    fn uint(&mut self, value: u64) {
        self.0.push_str(&super::text::uint(value));
    }

    /// A finite number as its shortest decimal; anything else as `null`, as
    /// JSON has no infinities.
    fn float(&mut self, value: f64) {
        if value.is_finite() {
            self.0.push_str(&super::json::format_number(value));
        } else {
            self.0.push_str("null");
        }
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            Some(value) => write(self, value),
            None => self.0.push_str("null"),
        }
    }
}
