//! The rule set: parsed once from JSON into a checked [`Config`]; nothing
//! past [`Config::parse`] re-checks it.
//!
//! The schema is documented in `docs/config.md` and `docs/config.schema.json`.

use crate::prelude::*;
#[cfg(not(target_arch = "wasm32"))]
mod collect;
mod compiled;
mod error;
mod parse;

pub use error::{ConfigError, ConfigErrorKind};

use super::glob::UrlGlob;
use super::identity::Field;
use super::presets::Preset;

/// Largest config document accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Most engagement rules in one config (a preset's rules included).
pub const MAX_RULES: usize = 200;
/// Most fit rules in one config.
pub const MAX_FIT_RULES: usize = 100;
/// Longest rule id or site name.
pub const MAX_ID_CHARS: usize = 64;
/// Longest URL glob or endpoint.
pub const MAX_STRING_CHARS: usize = 2048;
/// Longest keyword, listed value or property value in a config.
pub const MAX_TEXT_CHARS: usize = 256;
/// Most property conditions on one rule.
pub const MAX_PROP_CONDITIONS: usize = 8;
/// Most entries in any list (keywords, allowed values).
pub const MAX_LIST_ITEMS: usize = 64;
/// Largest absolute number of points one rule can award.
pub const MAX_POINTS: i64 = 1000;
/// Largest `cap`.
pub const MAX_CAP: i64 = 100_000;
/// Largest `min_count`; the state keeps `min_count - 1` recent times per rule.
pub const MAX_MIN_COUNT: i64 = 20;
/// Largest day count for windows, cooldowns and half-lives (ten years).
pub const MAX_DAYS: f64 = 3650.0;
/// Default half-life of engagement points, in days.
pub const DEFAULT_HALF_LIFE_DAYS: f64 = 30.0;

/// Whether the widget needs the visitor's consent before storing or sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentMode {
    /// Nothing is stored or sent until the visitor consents (the default).
    Required,
    /// The site's legal basis needs no opt-in; opt-out signals still apply.
    Implied,
}

/// Which signals the browser widget captures by itself; each can be
/// switched off. `track()` calls are always scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Page views, including single-page-app navigation and back/forward restores.
    pub page_views: bool,
    /// Visits (30 minutes without activity start a new one).
    pub visits: bool,
    /// Engaged time per page view.
    pub engaged_time: bool,
    /// Maximum scroll depth per page view.
    pub scroll_depth: bool,
    /// Form submissions and the identity fields in them.
    pub forms: bool,
    /// Whether form fields are recognised by name, type and autocomplete
    /// heuristics; when off, only `identity_fields` names and standard
    /// autocomplete tokens count.
    pub form_heuristics: bool,
    /// Clicks on elements marked `data-leadscore-event`.
    pub clicks: bool,
    /// Downloads: links to files, or with a `download` attribute.
    pub downloads: bool,
    /// Ad-click arrivals and UTM attribution.
    pub ad_clicks: bool,
}

impl Default for Capture {
    fn default() -> Capture {
        Capture {
            page_views: true,
            visits: true,
            engaged_time: true,
            scroll_depth: true,
            forms: true,
            form_heuristics: true,
            clicks: true,
            downloads: true,
            ad_clicks: true,
        }
    }
}

/// Which consent and opt-out signals the widget honours, and how long a
/// visitor's record is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Privacy {
    /// Global Privacy Control (`navigator.globalPrivacyControl`) opts out.
    pub gpc: bool,
    /// Do Not Track (`navigator.doNotTrack == "1"`) opts out.
    pub dnt: bool,
    /// Read an IAB TCF v2.2 CMP through `__tcfapi` when the page has one.
    pub tcf: bool,
    /// TCF purposes that must be consented besides purpose 1 (storage), each 2 to 11.
    pub tcf_purposes: Vec<u8>,
    /// Read Google Consent Mode v2 (`analytics_storage`, `ad_user_data`) from the dataLayer.
    pub consent_mode: bool,
    /// Days without activity after which the stored record is deleted.
    pub retention_days: u32,
    /// Where `forget()` asks for already-sent leads to be erased, if anywhere.
    pub erase_endpoint: Option<String>,
}

/// Default retention of the visitor's record in the browser, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 180;

impl Default for Privacy {
    fn default() -> Privacy {
        Privacy {
            gpc: true,
            dnt: true,
            tcf: true,
            tcf_purposes: Vec::new(),
            consent_mode: true,
            retention_days: DEFAULT_RETENTION_DAYS,
            erase_endpoint: None,
        }
    }
}

/// How leads are posted and retried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Post `application/json` (needs a CORS preflight cross-origin) instead
    /// of the CORS-simple `text/plain`.
    pub json: bool,
    /// Backoff and bounds for retries.
    pub retry: super::delivery::RetryPolicy,
}

/// Score thresholds of the stages; each is higher than the one before.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Score from which a visitor is `warm`.
    pub warm: f64,
    /// Score from which a visitor is an `mql` (with an email, by default).
    pub mql: f64,
    /// Score from which an MQL is `sales_ready` even without a sales-intent event.
    pub sales_ready: f64,
}

/// Fit points needed for grades A, B and C; below C is D.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GradeThresholds {
    /// Fit points for grade A.
    pub a: i64,
    /// Fit points for grade B.
    pub b: i64,
    /// Fit points for grade C.
    pub c: i64,
}

/// One engagement rule: which events it matches and what it awards.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) on: String,
    pub(crate) url: Option<UrlGlob>,
    /// Property conditions: the event's value for the key must equal one of
    /// the listed values (lowercase, compared case-insensitively).
    pub(crate) props: Vec<(String, Vec<String>)>,
    pub(crate) points: i64,
    pub(crate) cap: Option<i64>,
    pub(crate) once: bool,
    pub(crate) cooldown_ms: Option<u64>,
    pub(crate) min_count: u32,
    pub(crate) window_ms: Option<u64>,
    /// Minimum measured value: seconds for `engaged_time`, percent for `scroll_depth`.
    pub(crate) min_value: Option<u32>,
    pub(crate) decay: Decay,
    pub(crate) sales_intent: bool,
}

/// How a rule's points fade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Decay {
    /// Use the config's `half_life_days`.
    Inherit,
    /// Points never fade.
    Never,
    /// Half of the points are gone after this many milliseconds.
    HalfLife(u64),
}

impl Rule {
    /// The rule's id, as shown in the ledger.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event name the rule matches.
    pub fn on(&self) -> &str {
        &self.on
    }

    /// Points awarded per qualifying match (negative for negative signals).
    pub fn points(&self) -> i64 {
        self.points
    }

    /// The most points the rule can hold at once, if capped.
    pub fn cap(&self) -> Option<i64> {
        self.cap
    }

    /// Whether the rule awards at most once, ever.
    pub fn once(&self) -> bool {
        self.once
    }

    /// Whether a match shows sales intent.
    pub fn sales_intent(&self) -> bool {
        self.sales_intent
    }

    /// The half-life of this rule's points in milliseconds; `None` when they never fade.
    pub fn half_life_ms(&self) -> Option<u64> {
        match self.decay {
            Decay::HalfLife(ms) => Some(ms),
            Decay::Never | Decay::Inherit => None,
        }
    }
}

/// One fit rule over an identity field.
#[derive(Clone, Debug, PartialEq)]
pub struct FitRule {
    pub(crate) id: Option<String>,
    pub(crate) field: Field,
    pub(crate) condition: FitCondition,
    pub(crate) points: i64,
}

impl FitRule {
    /// The rule's id, if it has one (needed to override a preset's rule).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The identity field it reads.
    pub fn field(&self) -> Field {
        self.field
    }

    /// Fit points when it matches.
    pub fn points(&self) -> i64 {
        self.points
    }
}

/// The test a fit rule applies to its field. Strings are lowercase.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FitCondition {
    ContainsAny(Vec<String>),
    In(Vec<String>),
    NotIn(Vec<String>),
    Range { at_least: Option<f64>, at_most: Option<f64> },
    FreeMail,
    Present,
}

/// A checked rule set. Build it with [`Config::parse`] or [`Config::preset`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub(crate) site: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) preset: Option<Preset>,
    pub(crate) consent: ConsentMode,
    pub(crate) half_life_ms: Option<u64>,
    pub(crate) thresholds: Thresholds,
    pub(crate) grades: GradeThresholds,
    pub(crate) mql_requires_identity: bool,
    pub(crate) in_memory_before_consent: bool,
    pub(crate) rules: Vec<Rule>,
    pub(crate) fit: Vec<FitRule>,
    pub(crate) hash: u64,
    pub(crate) warnings: Vec<String>,
    pub(crate) capture: Capture,
    pub(crate) delivery: Delivery,
    pub(crate) privacy: Privacy,
    pub(crate) identity_fields: Vec<(Field, Vec<String>)>,
    /// Rule indices by event name, so an event only visits its own rules.
    /// Sorted by name for binary search; a list rather than a map, since
    /// each map type costs the wasm its own copy of the B-tree code.
    pub(crate) by_event: Vec<(String, Vec<usize>)>,
    /// `min_seconds` of the engaged-time rules and `min_percent` of the
    /// scroll-depth rules, ascending: read on every input and scroll event,
    /// so worked out once here.
    pub(crate) engaged_thresholds: Vec<u32>,
    pub(crate) scroll_thresholds: Vec<u32>,
}

impl Config {
    /// Indices into [`Config::rules`] of the rules on event `name`.
    pub(crate) fn rules_on(&self, name: &str) -> &[usize] {
        match self.by_event.binary_search_by(|(on, _)| on.as_str().cmp(name)) {
            Ok(at) => &self.by_event[at].1,
            Err(_) => &[],
        }
    }

    /// Parses and checks a JSON rule set.
    ///
    /// Every error names the place (`rules[3].within_days`) and the fix; no
    /// input, however large or malformed, panics.
    pub fn parse(json: &str) -> Result<Config, ConfigError> {
        parse::parse_document(json)
    }

    /// [`Config::parse`] as the widget reports it: one line, the path and
    /// the reason, pointing to `collector check` for the full explanation.
    pub fn parse_for_widget(json: &str) -> Result<Config, String> {
        Config::parse(json).map_err(|error| {
            // An error about the document as a whole says `config` once.
            let error = if error.path() == "config" { error.message().to_string() } else { error.text() };
            cat!("config: ", error, " (`collector check` explains it)")
        })
    }

    /// What the config compiler reads (`src/compiler.rs`), as the widget
    /// writes it ([`Config::widget_input`]): the tag's attributes as a JSON
    /// object, a NUL, then the page's config text. The text is read here,
    /// not in the widget, which carries no JSON reader; then as
    /// [`Config::widget_document`] merges them, then
    /// [`Config::parse_for_widget`].
    pub fn parse_widget_input(input: &str) -> Result<Config, String> {
        use super::json::{self, Json};
        let (attributes, text) = input.split_once('\0').unwrap_or(("{}", input));
        let Ok(Json::Object(attributes)) = json::parse(attributes) else {
            return Err("config: the tag's attributes did not reach the config compiler".into());
        };
        if text.len() > MAX_CONFIG_BYTES {
            // Its own error, before any reading.
            return Config::parse_for_widget(text);
        }
        let document = json::parse(text).map_err(|error| cat!("config: not valid JSON: ", error.text()))?;
        match Config::widget_document(Some(document), &attributes)? {
            Json::String(compiled) => Config::from_text(&compiled).map_err(|error| cat!("config: ", error)),
            document => Config::parse_for_widget(&document.text()),
        }
    }

    /// The compiler's input for a config `text` and the tag's `attributes`
    /// (see [`Config::parse_widget_input`]).
    pub fn widget_input(attributes: &super::json::Object, text: &str) -> String {
        let mut input = super::json::Json::Object(attributes.clone()).text();
        input.push('\0');
        input.push_str(text);
        input
    }

    /// The config document the widget starts from: the page's (`base`: an
    /// inline, fetched or `init` config) with the tag's `attributes`
    /// (`site`, `endpoint`, `preset`) filling the keys it lacks. A compiled
    /// config (a JSON string) is kept as it is: it carries its own site and
    /// endpoint.
    pub fn widget_document(
        base: Option<super::json::Json>,
        attributes: &super::json::Object,
    ) -> Result<super::json::Json, String> {
        use super::json::{Json, Object};
        let mut document = match base {
            Some(Json::Object(map)) => map,
            Some(compiled @ Json::String(_)) => return Ok(compiled),
            Some(_) => return Err("config: expected a JSON object".into()),
            None => Object::new(),
        };
        for (key, value) in attributes.iter() {
            if !document.contains_key(key) {
                document.insert(key.clone(), value.clone());
            }
        }
        if document.is_empty() {
            return Err("no config: add data-site and data-preset to the script tag, an inline \
                        <script type=\"application/json\" id=\"leadscore-config\">, or leadscore('init', {...})"
                .into());
        }
        Ok(Json::Object(document))
    }

    /// [`Config::parse`] of a document that only names a preset and its
    /// options (`site`, `preset`, `endpoint`, `consent`, as strings), the
    /// same config, read from the preset's compiled bytes without parsing
    /// or walking any JSON (what most pages give the widget). `None` for
    /// any other document, and for every one [`Config::parse`] rejects:
    /// give those to [`Config::parse`].
    pub fn from_options(document: &super::json::Json) -> Option<Config> {
        parse::options_over_preset(document, |preset| Config::from_bytes(preset.compiled()).ok())
    }

    /// A preset's rule set with no site over it, as its compiled bytes
    /// (`src/core/presets/*.lsc`) hold it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn preset_base(preset: Preset) -> Result<Config, ConfigError> {
        parse::preset_base(preset)
    }

    /// [`Config::parse`], but on a bad rule set every mistake it can find,
    /// in the order the parser reads them, each with its path and hint,
    /// instead of only the first (which is the error [`Config::parse`]
    /// gives). An error that only follows from an earlier one (a required
    /// field whose bad value was set aside) is not listed again. For tools
    /// that check a config before it goes live, such as `collector check`;
    /// not in the widget, which reports the first error and stays small.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn parse_all_errors(json: &str) -> Result<Config, Vec<ConfigError>> {
        collect::parse_all_errors(json)
    }

    /// A built-in preset for `site`, used as is.
    pub fn preset(preset: Preset, site: &str) -> Result<Config, ConfigError> {
        parse::preset_for_site(preset, site)
    }

    /// The site name leads are filed under.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// Where qualifying leads are posted, if configured.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Where `forget()` asks for already-sent leads to be erased:
    /// `privacy.erase_endpoint`, or, for an endpoint ending in `/v1/leads`
    /// (the collector's), its `/v1/forget` beside it.
    pub fn erase_endpoint(&self) -> Option<String> {
        if let Some(url) = &self.privacy.erase_endpoint {
            return Some(url.clone());
        }
        let base = self.endpoint.as_deref()?.split(['?', '#']).next()?.strip_suffix("/v1/leads")?;
        Some(cat!(base, "/v1/forget"))
    }

    /// The preset the rules build on, if any.
    pub fn preset_name(&self) -> Option<Preset> {
        self.preset
    }

    /// The consent mode.
    pub fn consent(&self) -> ConsentMode {
        self.consent
    }

    /// Default half-life of points in milliseconds; `None` when points never fade.
    pub fn half_life_ms(&self) -> Option<u64> {
        self.half_life_ms
    }

    /// Stage thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Grade thresholds.
    pub fn grades(&self) -> GradeThresholds {
        self.grades
    }

    /// Whether, under `required` consent, scoring may run in memory for the
    /// current page before consent (nothing stored or sent; dropped if
    /// consent never comes).
    pub fn in_memory_before_consent(&self) -> bool {
        self.in_memory_before_consent
    }

    /// Whether `mql` needs an email address.
    pub fn mql_requires_identity(&self) -> bool {
        self.mql_requires_identity
    }

    /// Engagement rules, in config order (the ledger's order).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Fit rules.
    pub fn fit_rules(&self) -> &[FitRule] {
        &self.fit
    }

    /// A stable 64-bit hash of the effective rule set, sent with each lead so
    /// the collector can tell which rules scored it.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// [`Config::hash`] as 16 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        super::text::hex16(self.hash)
    }

    /// Which opt-out signals are honoured.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// How leads are posted and retried.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// What the widget captures by itself.
    pub fn capture(&self) -> Capture {
        self.capture
    }

    /// The site's own form-field names per identity field, beyond the heuristics.
    pub fn identity_fields(&self) -> &[(Field, Vec<String>)] {
        &self.identity_fields
    }

    /// The `min_seconds` of every engaged-time rule, ascending: the points at
    /// which the widget reports a page's growing engaged time.
    pub fn engaged_thresholds(&self) -> &[u32] {
        &self.engaged_thresholds
    }

    /// The `min_percent` of every scroll-depth rule, ascending.
    pub fn scroll_thresholds(&self) -> &[u32] {
        &self.scroll_thresholds
    }

    /// Non-fatal findings, such as a custom event name one typo away from a
    /// built-in one. Shown by the debug overlay.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
