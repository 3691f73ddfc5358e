//! From JSON text to a checked [`Config`]: the only place config input is judged.
//!
//! The document is first read into a [`Json`](super::super::json::Json) value
//! by the core's own reader (which bounds nesting depth, so deep input is an
//! error, not a stack overflow), then walked by hand. Walking by hand is what lets every error carry its exact path and
//! a did-you-mean hint for misspelt fields.

use super::super::float::{fract, round};
use super::super::json::{self, Json as Value, Object as Map};
use crate::prelude::*;

use super::super::delivery::RetryPolicy;
use super::super::event::{check_name, number_text, preview, BUILT_IN_EVENTS, SALES_INTENT_EVENTS};
use super::super::fnv::{fnv, FNV_OFFSET};
use super::super::glob::UrlGlob;
use super::super::hint::{did_you_mean, hint_suffix};
use super::super::identity::Field;
use super::super::presets::Preset;
use super::super::text::fold;
use super::super::time::days_to_millis;
use super::error::{why, ConfigError, ConfigErrorKind as Kind};
use super::*;

const TOP_FIELDS: &[&str] = &[
    "$schema",
    "site",
    "endpoint",
    "preset",
    "consent",
    "half_life_days",
    "thresholds",
    "grades",
    "mql_requires_identity",
    "in_memory_before_consent",
    "rules",
    "fit",
    "capture",
    "identity_fields",
    "delivery",
    "privacy",
];
const PRIVACY_FIELDS: &[&str] =
    &["gpc", "dnt", "tcf", "tcf_purposes", "consent_mode", "retention_days", "erase_endpoint"];
const DELIVERY_FIELDS: &[&str] =
    &["content_type", "retry_base_seconds", "retry_cap_seconds", "max_attempts", "max_age_days"];
const CAPTURE_FIELDS: &[&str] = &[
    "page_views",
    "visits",
    "engaged_time",
    "scroll_depth",
    "forms",
    "form_heuristics",
    "clicks",
    "downloads",
    "ad_clicks",
];
const RULE_FIELDS: &[&str] = &[
    "id",
    "on",
    "url",
    "props",
    "points",
    "cap",
    "once",
    "once_every_days",
    "min_count",
    "within_days",
    "min_seconds",
    "min_percent",
    "half_life_days",
    "sales_intent",
];
const FIT_FIELDS: &[&str] =
    &["id", "field", "points", "contains_any", "in", "not_in", "at_least", "at_most", "free_mail", "present"];
const FIT_CONDITIONS: &[&str] = &["contains_any", "in", "not_in", "at_least", "at_most", "free_mail", "present"];
const THRESHOLD_FIELDS: &[&str] = &["warm", "mql", "sales_ready"];
const GRADE_FIELDS: &[&str] = &["a", "b", "c"];

/// Whether a document is a site's own config or a built-in preset, which has no site.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Site,
    Preset,
}

/// A config read from one document, before a preset is applied under it.
struct Draft {
    site: Option<String>,
    endpoint: Option<String>,
    preset: Option<Preset>,
    consent: Option<ConsentMode>,
    half_life: Option<Decay>,
    thresholds: Option<Thresholds>,
    grades: Option<GradeThresholds>,
    mql_requires_identity: Option<bool>,
    in_memory_before_consent: Option<bool>,
    rules: Vec<Rule>,
    fit: Vec<FitRule>,
    warnings: Vec<String>,
    hash: u64,
    capture: Option<Capture>,
    identity_fields: Vec<(Field, Vec<String>)>,
    delivery: Option<Delivery>,
    privacy: Option<Privacy>,
}

pub(super) fn parse_document(json: &str) -> Result<Config, ConfigError> {
    let draft = read_draft(json, Origin::Site)?;
    let base = match draft.preset {
        Some(preset) => Some(compiled_draft(preset)?),
        None => None,
    };
    finish(draft, base)
}

/// A preset's draft from its compiled bytes (`Preset::compiled`), which
/// hold what `finish` reads of a base: its rules (their decays still
/// inherited), fit rules, warnings, hash and top-level values, the defaults
/// already filled in, which lay over a site's draft as the absent values
/// did. The widget carries no preset JSON and never walks one.
fn compiled_draft(preset: Preset) -> Result<Draft, ConfigError> {
    let base = Config::from_bytes(preset.compiled()).map_err(|error| {
        ConfigError::new(Kind::Invalid, "preset", why!("built-in preset \"{preset}\" is unreadable: {error}"))
    })?;
    Ok(Draft {
        site: None,
        endpoint: None,
        preset: None,
        consent: Some(base.consent),
        half_life: Some(base.half_life_ms.map_or(Decay::Never, Decay::HalfLife)),
        thresholds: Some(base.thresholds),
        grades: Some(base.grades),
        mql_requires_identity: Some(base.mql_requires_identity),
        in_memory_before_consent: None,
        rules: base.rules,
        fit: base.fit,
        warnings: base.warnings,
        hash: base.hash,
        capture: None,
        identity_fields: Vec::new(),
        delivery: None,
        privacy: None,
    })
}

pub(super) fn preset_for_site(preset: Preset, site: &str) -> Result<Config, ConfigError> {
    let mut document = Map::new();
    document.insert("site".into(), Value::string(site));
    document.insert("preset".into(), Value::string(preset.name()));
    parse_document(&Value::Object(document).to_string())
}

/// A preset's own rule set, finished with no site document over it: what
/// ships compiled (`Preset::compiled`) for [`options_over_preset`].
///
/// Its rules keep an inherited decay as such (`finish` would resolve it to
/// the preset's half-life), so a site that sets its own `half_life_days`
/// still gives it to them.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn preset_base(preset: Preset) -> Result<Config, ConfigError> {
    let draft = read_draft(preset.json(), Origin::Preset).map_err(|error| preset_broken(preset, error))?;
    let inherited: Vec<bool> = draft.rules.iter().map(|rule| rule.decay == Decay::Inherit).collect();
    let mut config = finish(draft, None)?;
    for (rule, inherits) in config.rules.iter_mut().zip(inherited) {
        if inherits {
            rule.decay = Decay::Inherit;
        }
    }
    Ok(config)
}

/// The keys of a site document that only names a preset and its options.
const OPTION_FIELDS: &[&str] = &["site", "endpoint", "consent", "preset"];

/// A site document of options only, over a compiled preset, exactly as
/// [`parse_document`] would finish it, without the JSON reader or the
/// walker: `site`, `preset` and optionally `endpoint` and `consent`, each a
/// valid string. `None` for anything else, including every document
/// `parse_document` rejects, so the caller gives that one to the full parse.
pub(super) fn options_over_preset(document: &Value, compiled: fn(Preset) -> Option<Config>) -> Option<Config> {
    let Value::Object(map) = document else { return None };
    if map.keys().any(|key| !OPTION_FIELDS.contains(&key.as_str())) {
        return None;
    }
    let site = identifier(map.get("site")?, "site", "site names").ok()?.to_string();
    let preset = Preset::parse(string(map.get("preset")?, "preset", MAX_ID_CHARS).ok()?)?;
    let endpoint = match map.get("endpoint") {
        Some(value) => Some(endpoint(value, "endpoint").ok()?),
        None => None,
    };
    let consent = match map.get("consent") {
        Some(value) => match string(value, "consent", MAX_ID_CHARS).ok()? {
            "required" => Some(ConsentMode::Required),
            "implied" => Some(ConsentMode::Implied),
            _ => return None,
        },
        None => None,
    };
    let mut config = compiled(preset)?;
    // As `finish` lays a site draft with none of these over the preset:
    // the site's own sections (absent here) take their defaults, and the
    // rules that inherit take the preset's half-life.
    config.hash ^= hash_value(document, FNV_OFFSET).rotate_left(1);
    for rule in &mut config.rules {
        if rule.decay == Decay::Inherit {
            rule.decay = config.half_life_ms.map_or(Decay::Never, Decay::HalfLife);
        }
    }
    config.site = site;
    config.endpoint = endpoint;
    config.preset = Some(preset);
    config.consent = consent.unwrap_or(config.consent);
    config.capture = Capture::default();
    config.delivery = Delivery::default();
    config.privacy = Privacy::default();
    config.identity_fields = Vec::new();
    config.in_memory_before_consent = false;
    Some(config)
}

#[cfg(not(target_arch = "wasm32"))]
fn preset_broken(preset: Preset, error: ConfigError) -> ConfigError {
    // Presets ship with the crate and are tested; this only fires if one is edited badly.
    ConfigError::new(error.kind(), "preset", why!("built-in preset \"{}\" is invalid at {error}", preset.name()))
}

fn read_draft(json: &str, origin: Origin) -> Result<Draft, ConfigError> {
    if json.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            Kind::TooLarge,
            "",
            why!("document is {} bytes; the limit is {MAX_CONFIG_BYTES}", json.len()),
        ));
    }
    let document: Value =
        json::parse(json).map_err(|error| ConfigError::new(Kind::Syntax, "", why!("not valid JSON: {error}")))?;
    let top = Fields::open(&document, "", TOP_FIELDS)?;

    let mut warnings = Vec::new();
    let site = match top.get("site") {
        Some(value) => Some(identifier(value, &top.path("site"), "site names")?.to_string()),
        None if origin == Origin::Site => {
            return Err(ConfigError::new(
                Kind::Missing,
                "site",
                why!("required: the name leads are filed under, like \"acme\""),
            ))
        }
        None => None,
    };
    let endpoint = top.get("endpoint").map(|value| endpoint(value, "endpoint")).transpose()?;
    let preset = match top.get("preset") {
        Some(_) if origin == Origin::Preset => {
            return Err(ConfigError::new(Kind::Invalid, "preset", why!("a preset cannot build on another preset")))
        }
        Some(value) => {
            let name = string(value, "preset", MAX_ID_CHARS)?;
            Some(Preset::parse(name).ok_or_else(|| {
                ConfigError::new(
                    Kind::Invalid,
                    "preset",
                    why!(
                        "unknown preset \"{}\"{}; built-in presets: {}",
                        preview(name),
                        hint_suffix(name, Preset::ALL.iter().map(|p| p.name())),
                        Preset::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?)
        }
        None => None,
    };
    let consent = top
        .get("consent")
        .map(|value| match string(value, "consent", MAX_ID_CHARS)? {
            "required" => Ok(ConsentMode::Required),
            "implied" => Ok(ConsentMode::Implied),
            other => Err(ConfigError::new(
                Kind::Invalid,
                "consent",
                why!("must be \"required\" or \"implied\", got \"{}\"", preview(other)),
            )),
        })
        .transpose()?;
    let half_life = top.get("half_life_days").map(|value| half_life(value, "half_life_days")).transpose()?;
    let thresholds = top.get("thresholds").map(|value| thresholds(value, "thresholds")).transpose()?;
    let grades = top.get("grades").map(|value| grades(value, "grades")).transpose()?;
    let mql_requires_identity =
        top.get("mql_requires_identity").map(|value| boolean(value, "mql_requires_identity")).transpose()?;
    let in_memory_before_consent =
        top.get("in_memory_before_consent").map(|value| boolean(value, "in_memory_before_consent")).transpose()?;

    let capture = top.get("capture").map(|value| capture(value, "capture")).transpose()?;
    let delivery = top.get("delivery").map(|value| delivery(value, "delivery")).transpose()?;
    let privacy = top.get("privacy").map(|value| privacy(value, "privacy")).transpose()?;
    let identity_fields = top
        .get("identity_fields")
        .map(|value| identity_fields(value, "identity_fields"))
        .transpose()?
        .unwrap_or_default();
    let rules = match top.get("rules") {
        Some(value) => {
            let items = list(value, "rules", MAX_RULES)?;
            let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let path = format!("rules[{index}]");
                let rule = rule(item, &path, &mut warnings)?;
                if let Some(first) = rules.iter().position(|earlier| earlier.id == rule.id) {
                    return Err(ConfigError::new(
                        Kind::Duplicate,
                        &format!("{path}.id"),
                        why!("\"{}\" is already the id of rules[{first}]; rule ids must be unique", rule.id),
                    ));
                }
                rules.push(rule);
            }
            rules
        }
        None => Vec::new(),
    };
    let fit = match top.get("fit") {
        Some(value) => {
            let items = list(value, "fit", MAX_FIT_RULES)?;
            let mut fit: Vec<FitRule> = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let path = format!("fit[{index}]");
                let rule = fit_rule(item, &path)?;
                if let Some(id) = &rule.id {
                    if let Some(first) = fit.iter().position(|earlier| earlier.id.as_ref() == Some(id)) {
                        return Err(ConfigError::new(
                            Kind::Duplicate,
                            &format!("{path}.id"),
                            why!("\"{id}\" is already the id of fit[{first}]; fit rule ids must be unique"),
                        ));
                    }
                }
                fit.push(rule);
            }
            fit
        }
        None => Vec::new(),
    };
    Ok(Draft {
        site,
        endpoint,
        preset,
        consent,
        half_life,
        thresholds,
        grades,
        mql_requires_identity,
        in_memory_before_consent,
        rules,
        fit,
        warnings,
        hash: hash_value(&document, FNV_OFFSET),
        capture,
        identity_fields,
        delivery,
        privacy,
    })
}

/// Lays the site's draft over its preset (if any) and resolves defaults:
/// top-level fields override the preset's; a rule with a preset rule's id
/// replaces it in place; other rules are appended.
fn finish(draft: Draft, base: Option<Draft>) -> Result<Config, ConfigError> {
    let mut hash = draft.hash;
    let (mut rules, mut fit, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let (mut half_life, mut thresholds, mut grades, mut mql_requires_identity, mut consent) =
        (None, None, None, None, None);
    if let Some(base) = base {
        hash = base.hash ^ hash.rotate_left(1);
        rules = base.rules;
        fit = base.fit;
        warnings = base.warnings;
        half_life = base.half_life;
        thresholds = base.thresholds;
        grades = base.grades;
        mql_requires_identity = base.mql_requires_identity;
        consent = base.consent;
    }
    let base_rule_count = rules.len();
    for rule in draft.rules {
        match rules[..base_rule_count].iter_mut().find(|existing| existing.id == rule.id) {
            Some(existing) => *existing = rule,
            None => rules.push(rule),
        }
    }
    for rule in draft.fit {
        match fit.iter_mut().find(|existing| existing.id.is_some() && existing.id == rule.id) {
            Some(existing) => *existing = rule,
            None => fit.push(rule),
        }
    }
    warnings.extend(draft.warnings);
    if rules.is_empty() {
        return Err(ConfigError::new(
            Kind::Missing,
            "rules",
            why!("no rules: add at least one rule, or set \"preset\" to one of b2b-saas, ecommerce, content"),
        ));
    }
    if rules.len() > MAX_RULES {
        return Err(ConfigError::new(
            Kind::TooLarge,
            "rules",
            why!("the preset and this config have {} rules together; the limit is {MAX_RULES}", rules.len()),
        ));
    }
    if fit.len() > MAX_FIT_RULES {
        return Err(ConfigError::new(
            Kind::TooLarge,
            "fit",
            why!("the preset and this config have {} fit rules together; the limit is {MAX_FIT_RULES}", fit.len()),
        ));
    }
    let half_life_ms = match draft.half_life.or(half_life) {
        Some(Decay::HalfLife(ms)) => Some(ms),
        Some(Decay::Never) => None,
        // `half_life()` never yields Inherit; only rules start out inheriting.
        Some(Decay::Inherit) | None => Some(days_to_millis(DEFAULT_HALF_LIFE_DAYS)),
    };
    for rule in &mut rules {
        if rule.decay == Decay::Inherit {
            rule.decay = half_life_ms.map_or(Decay::Never, Decay::HalfLife);
        }
    }
    let (by_event, engaged_thresholds, scroll_thresholds) = super::compiled::index_rules(&rules);
    Ok(Config {
        by_event,
        engaged_thresholds,
        scroll_thresholds,
        capture: draft.capture.unwrap_or_default(),
        delivery: draft.delivery.unwrap_or_default(),
        privacy: draft.privacy.unwrap_or_default(),
        identity_fields: draft.identity_fields,
        site: draft.site.unwrap_or_default(),
        endpoint: draft.endpoint,
        preset: draft.preset,
        consent: draft.consent.or(consent).unwrap_or(ConsentMode::Required),
        half_life_ms,
        thresholds: draft.thresholds.or(thresholds).unwrap_or(Thresholds { warm: 20.0, mql: 50.0, sales_ready: 80.0 }),
        grades: draft.grades.or(grades).unwrap_or(GradeThresholds { a: 20, b: 10, c: 1 }),
        mql_requires_identity: draft.mql_requires_identity.or(mql_requires_identity).unwrap_or(true),
        in_memory_before_consent: draft.in_memory_before_consent.unwrap_or(false),
        rules,
        fit,
        hash,
        warnings,
    })
}

fn rule(value: &Value, path: &str, warnings: &mut Vec<String>) -> Result<Rule, ConfigError> {
    let fields = Fields::open(value, path, RULE_FIELDS)?;
    let id = identifier(fields.require("id", "a short name such as \"pricing-3x\"")?, &fields.path("id"), "rule ids")?;
    let on_path = fields.path("on");
    let on = string(fields.require("on", "the event name to match, such as \"page_view\"")?, &on_path, MAX_ID_CHARS)?;
    check_name(on).map_err(|message| ConfigError::new(Kind::Invalid, &on_path, message))?;
    if !BUILT_IN_EVENTS.contains(&on) {
        if let Some(built_in) = did_you_mean(on, BUILT_IN_EVENTS.iter().copied()) {
            warnings.push(format!("{on_path}: \"{on}\" is a custom event; did you mean the built-in \"{built_in}\"?"));
        }
    }
    let url = fields
        .get("url")
        .map(|value| {
            let path = fields.path("url");
            let glob = string(value, &path, MAX_STRING_CHARS)?;
            if !(glob.starts_with('/') || glob.starts_with('*')) {
                return Err(ConfigError::new(
                    Kind::Invalid,
                    &path,
                    why!(
                        "url globs match the page path and start with '/' or '*', like \"/pricing*\"; got \"{}\"",
                        preview(glob)
                    ),
                ));
            }
            Ok(UrlGlob::new(glob))
        })
        .transpose()?;
    let props = fields.get("props").map(|value| props(value, &fields.path("props"))).transpose()?.unwrap_or_default();
    let points = integer(
        fields.require("points", "a whole number such as 10 or -15")?,
        &fields.path("points"),
        -MAX_POINTS,
        MAX_POINTS,
    )?;
    let cap = fields.get("cap").map(|value| integer(value, &fields.path("cap"), 1, MAX_CAP)).transpose()?;
    let once = fields.get("once").map(|value| boolean(value, &fields.path("once"))).transpose()?.unwrap_or(false);
    let cooldown_ms =
        fields.get("once_every_days").map(|value| days(value, &fields.path("once_every_days"))).transpose()?;
    if once && cooldown_ms.is_some() {
        return Err(ConfigError::new(
            Kind::Invalid,
            &fields.path("once_every_days"),
            why!("\"once\" already allows a single award ever; remove one of \"once\" and \"once_every_days\""),
        ));
    }
    let min_count = fields
        .get("min_count")
        .map(|value| integer(value, &fields.path("min_count"), 1, MAX_MIN_COUNT))
        .transpose()?
        .unwrap_or(1);
    let window_ms = fields.get("within_days").map(|value| days(value, &fields.path("within_days"))).transpose()?;
    if window_ms.is_some() && min_count < 2 {
        return Err(ConfigError::new(
            Kind::Invalid,
            &fields.path("within_days"),
            why!("a window only matters with \"min_count\" of 2 or more; set \"min_count\" or remove \"within_days\""),
        ));
    }
    let min_seconds =
        fields.get("min_seconds").map(|value| integer(value, &fields.path("min_seconds"), 1, 86_400)).transpose()?;
    let min_percent =
        fields.get("min_percent").map(|value| integer(value, &fields.path("min_percent"), 1, 100)).transpose()?;
    let min_value = match (on, min_seconds, min_percent) {
        ("engaged_time", Some(seconds), None) => Some(seconds),
        ("scroll_depth", None, Some(percent)) => Some(percent),
        ("engaged_time", _, Some(_)) | ("scroll_depth", Some(_), _) => {
            let (field, applies_to) =
                if on == "engaged_time" { ("min_percent", "scroll_depth") } else { ("min_seconds", "engaged_time") };
            return Err(ConfigError::new(
                Kind::Invalid,
                &fields.path(field),
                why!("only applies to \"{applies_to}\" rules, and this rule is on \"{on}\""),
            ));
        }
        ("engaged_time", None, _) => {
            return Err(ConfigError::new(
                Kind::Missing,
                &fields.path("min_seconds"),
                why!("required for engaged_time rules: the engaged seconds on one page that count, like 120"),
            ))
        }
        ("scroll_depth", _, None) => {
            return Err(ConfigError::new(
                Kind::Missing,
                &fields.path("min_percent"),
                why!("required for scroll_depth rules: the page depth in percent that counts, like 75"),
            ))
        }
        (_, Some(_), _) => {
            return Err(ConfigError::new(
                Kind::Invalid,
                &fields.path("min_seconds"),
                why!("only applies to \"engaged_time\" rules, and this rule is on \"{on}\""),
            ))
        }
        (_, _, Some(_)) => {
            return Err(ConfigError::new(
                Kind::Invalid,
                &fields.path("min_percent"),
                why!("only applies to \"scroll_depth\" rules, and this rule is on \"{on}\""),
            ))
        }
        _ => None,
    };
    let decay =
        fields.get("half_life_days").map(|value| half_life(value, &fields.path("half_life_days"))).transpose()?;
    let sales_intent = fields
        .get("sales_intent")
        .map(|value| boolean(value, &fields.path("sales_intent")))
        .transpose()?
        .unwrap_or_else(|| SALES_INTENT_EVENTS.contains(&on));
    Ok(Rule {
        id: id.to_string(),
        on: on.to_string(),
        url,
        props,
        points,
        cap,
        once,
        cooldown_ms,
        min_count: min_count as u32,
        window_ms,
        min_value: min_value.map(|value| value as u32),
        decay: decay.unwrap_or(Decay::Inherit),
        sales_intent,
    })
}

fn props(value: &Value, path: &str) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let Value::Object(map) = value else {
        return Err(wrong_type(path, "an object of property conditions, like {\"kind\": \"trial\"}", value));
    };
    if map.len() > MAX_PROP_CONDITIONS {
        return Err(ConfigError::new(
            Kind::TooLarge,
            path,
            why!("has {} conditions; the limit is {MAX_PROP_CONDITIONS}", map.len()),
        ));
    }
    let mut conditions = Vec::with_capacity(map.len());
    for (key, expected) in map {
        let key_path = format!("{path}.{key}");
        if key.is_empty() || crate::core::text::char_count(key) > MAX_ID_CHARS {
            return Err(ConfigError::new(
                Kind::Invalid,
                &key_path,
                why!("property names are 1 to {MAX_ID_CHARS} characters"),
            ));
        }
        let alternatives = match expected {
            Value::Array(items) => {
                if items.is_empty() || items.len() > MAX_LIST_ITEMS {
                    return Err(ConfigError::new(
                        Kind::OutOfRange,
                        &key_path,
                        why!("must list 1 to {MAX_LIST_ITEMS} accepted values, got {}", items.len()),
                    ));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| scalar_text(item, &format!("{key_path}[{index}]")))
                    .collect::<Result<Vec<_>, _>>()?
            }
            other => vec![scalar_text(other, &key_path)?],
        };
        conditions.push((key.clone(), alternatives));
    }
    Ok(conditions)
}

fn fit_rule(value: &Value, path: &str) -> Result<FitRule, ConfigError> {
    let fields = Fields::open(value, path, FIT_FIELDS)?;
    let id = fields.get("id").map(|value| identifier(value, &fields.path("id"), "fit rule ids")).transpose()?;
    let field_path = fields.path("field");
    let field_name =
        string(fields.require("field", "an identity field such as \"job_title\"")?, &field_path, MAX_ID_CHARS)?;
    let field =
        Field::parse(field_name).map_err(|error| ConfigError::new(Kind::Invalid, &field_path, error.to_string()))?;
    let points = integer(
        fields.require("points", "a whole number such as 10 or -10")?,
        &fields.path("points"),
        -MAX_POINTS,
        MAX_POINTS,
    )?;
    let given: Vec<&str> = FIT_CONDITIONS.iter().copied().filter(|name| fields.get(name).is_some()).collect();
    let is_range = !given.is_empty() && given.iter().all(|name| matches!(*name, "at_least" | "at_most"));
    if given.is_empty() || (given.len() > 1 && !is_range) {
        return Err(ConfigError::new(
            Kind::Invalid,
            path,
            why!(
                "a fit rule needs exactly one condition of contains_any, in, not_in, at_least/at_most, free_mail, present; got {}",
                if given.is_empty() { "none".to_string() } else { given.join(", ") }
            ),
        ));
    }
    let condition = if is_range {
        let bound = |name: &str| fields.get(name).map(|value| number(value, &fields.path(name), 0.0, 1e15)).transpose();
        let (at_least, at_most) = (bound("at_least")?, bound("at_most")?);
        if let (Some(low), Some(high)) = (at_least, at_most) {
            if low > high {
                return Err(ConfigError::new(
                    Kind::OutOfRange,
                    &fields.path("at_most"),
                    why!(
                        "must be at least \"at_least\" ({}), got {}",
                        json::format_number(low),
                        json::format_number(high)
                    ),
                ));
            }
        }
        FitCondition::Range { at_least, at_most }
    } else {
        let name = given[0];
        let condition_path = fields.path(name);
        let value = fields.get(name).unwrap_or(&Value::Null);
        match name {
            "contains_any" => FitCondition::ContainsAny(text_list(value, &condition_path)?),
            "in" => FitCondition::In(text_list(value, &condition_path)?),
            "not_in" => FitCondition::NotIn(text_list(value, &condition_path)?),
            "free_mail" | "present" => {
                if !boolean(value, &condition_path)? {
                    return Err(ConfigError::new(
                        Kind::Invalid,
                        &condition_path,
                        why!("only `true` is meaningful; remove the rule to stop scoring {name}"),
                    ));
                }
                if name == "free_mail" && field != Field::Email {
                    return Err(ConfigError::new(
                        Kind::Invalid,
                        &condition_path,
                        why!("free_mail reads the email domain, so it needs \"field\": \"email\", not \"{field}\""),
                    ));
                }
                if name == "free_mail" {
                    FitCondition::FreeMail
                } else {
                    FitCondition::Present
                }
            }
            // FIT_CONDITIONS lists only the names matched above; an error,
            // not a panic, in case the two lists ever drift apart.
            other => {
                return Err(ConfigError::new(Kind::Invalid, path, why!("unknown fit condition {other}")));
            }
        }
    };
    Ok(FitRule { id: id.map(str::to_string), field, condition, points })
}

fn capture(value: &Value, path: &str) -> Result<Capture, ConfigError> {
    let fields = Fields::open(value, path, CAPTURE_FIELDS)?;
    let flag = |name: &str| fields.switch(name);
    Ok(Capture {
        page_views: flag("page_views")?,
        visits: flag("visits")?,
        engaged_time: flag("engaged_time")?,
        scroll_depth: flag("scroll_depth")?,
        forms: flag("forms")?,
        form_heuristics: flag("form_heuristics")?,
        clicks: flag("clicks")?,
        downloads: flag("downloads")?,
        ad_clicks: flag("ad_clicks")?,
    })
}

fn privacy(value: &Value, path: &str) -> Result<Privacy, ConfigError> {
    let fields = Fields::open(value, path, PRIVACY_FIELDS)?;
    let flag = |name: &str| fields.switch(name);
    let mut tcf_purposes = Vec::new();
    if let Some(value) = fields.get("tcf_purposes") {
        let at = fields.path("tcf_purposes");
        let Value::Array(items) = value else { return Err(wrong_type(&at, "an array of TCF purpose numbers", value)) };
        for (index, item) in items.iter().enumerate() {
            let purpose = integer(item, &format!("{at}[{index}]"), 1, 11)? as u8;
            // Purpose 1 (storage) is always required; naming it is harmless.
            if purpose != 1 && !tcf_purposes.contains(&purpose) {
                tcf_purposes.push(purpose);
            }
        }
    }
    let retention_days = match fields.get("retention_days") {
        None => super::DEFAULT_RETENTION_DAYS,
        Some(value) => integer(value, &fields.path("retention_days"), 1, 3650)? as u32,
    };
    let erase_endpoint =
        fields.get("erase_endpoint").map(|value| endpoint(value, &fields.path("erase_endpoint"))).transpose()?;
    Ok(Privacy {
        gpc: flag("gpc")?,
        dnt: flag("dnt")?,
        tcf: flag("tcf")?,
        tcf_purposes,
        consent_mode: flag("consent_mode")?,
        retention_days,
        erase_endpoint,
    })
}

fn delivery(value: &Value, path: &str) -> Result<Delivery, ConfigError> {
    let fields = Fields::open(value, path, DELIVERY_FIELDS)?;
    let defaults = RetryPolicy::default();
    let json = match fields.get("content_type") {
        None => false,
        Some(value) => match string(value, &fields.path("content_type"), MAX_ID_CHARS)? {
            "text/plain" => false,
            "application/json" => true,
            other => {
                return Err(ConfigError::new(
                    Kind::Invalid,
                    &fields.path("content_type"),
                    why!(
                        "must be \"text/plain\" (no CORS preflight) or \"application/json\", got \"{}\"",
                        preview(other)
                    ),
                ))
            }
        },
    };
    let seconds = |name: &str, default_ms: u64| -> Result<u64, ConfigError> {
        match fields.get(name) {
            Some(value) => Ok(round(number(value, &fields.path(name), 0.01, 86_400.0)? * 1000.0) as u64),
            None => Ok(default_ms),
        }
    };
    let base_ms = seconds("retry_base_seconds", defaults.base_ms)?;
    let cap_ms = seconds("retry_cap_seconds", defaults.cap_ms)?;
    if cap_ms < base_ms {
        return Err(ConfigError::new(
            Kind::OutOfRange,
            &fields.path("retry_cap_seconds"),
            why!(
                "must be at least retry_base_seconds ({}), got {}",
                json::format_number(base_ms as f64 / 1000.0),
                json::format_number(cap_ms as f64 / 1000.0)
            ),
        ));
    }
    let max_attempts = match fields.get("max_attempts") {
        Some(value) => integer(value, &fields.path("max_attempts"), 1, 1000)? as u32,
        None => defaults.max_attempts,
    };
    let max_age_ms = match fields.get("max_age_days") {
        Some(value) => days(value, &fields.path("max_age_days"))?,
        None => defaults.max_age_ms,
    };
    Ok(Delivery { json, retry: RetryPolicy { base_ms, cap_ms, max_attempts, max_age_ms } })
}

/// `{"job_title": ["position", "rolle"]}`: the site's own form-field names.
fn identity_fields(value: &Value, path: &str) -> Result<Vec<(Field, Vec<String>)>, ConfigError> {
    let Value::Object(map) = value else {
        return Err(wrong_type(path, "an object of field names, like {\"job_title\": [\"position\"]}", value));
    };
    let mut fields = Vec::with_capacity(map.len());
    for (name, names) in map {
        let field_path = format!("{path}.{name}");
        let field =
            Field::parse(name).map_err(|error| ConfigError::new(Kind::UnknownField, &field_path, error.to_string()))?;
        fields.push((field, text_list(names, &field_path)?));
    }
    Ok(fields)
}

fn thresholds(value: &Value, path: &str) -> Result<Thresholds, ConfigError> {
    let fields = Fields::open(value, path, THRESHOLD_FIELDS)?;
    let read = |name: &str| -> Result<f64, ConfigError> {
        number(fields.require(name, "a score, such as 50")?, &fields.path(name), 1.0, MAX_CAP as f64)
    };
    let (warm, mql, sales_ready) = (read("warm")?, read("mql")?, read("sales_ready")?);
    for (lower, higher, lower_value, higher_value) in
        [("warm", "mql", warm, mql), ("mql", "sales_ready", mql, sales_ready)]
    {
        if higher_value <= lower_value {
            return Err(ConfigError::new(
                Kind::OutOfRange,
                &fields.path(higher),
                why!(
                    "must be greater than {path}.{lower} ({}), got {}",
                    json::format_number(lower_value),
                    json::format_number(higher_value)
                ),
            ));
        }
    }
    Ok(Thresholds { warm, mql, sales_ready })
}

fn grades(value: &Value, path: &str) -> Result<GradeThresholds, ConfigError> {
    let fields = Fields::open(value, path, GRADE_FIELDS)?;
    let read = |name: &str| -> Result<i64, ConfigError> {
        integer(fields.require(name, "fit points, such as 20")?, &fields.path(name), -MAX_CAP, MAX_CAP)
    };
    let (a, b, c) = (read("a")?, read("b")?, read("c")?);
    for (lower, higher, lower_value, higher_value) in [("c", "b", c, b), ("b", "a", b, a)] {
        if higher_value <= lower_value {
            return Err(ConfigError::new(
                Kind::OutOfRange,
                &fields.path(higher),
                why!("must be greater than {path}.{lower} ({lower_value}), got {higher_value}"),
            ));
        }
    }
    Ok(GradeThresholds { a, b, c })
}

fn half_life(value: &Value, path: &str) -> Result<Decay, ConfigError> {
    match value {
        Value::String(text) if text == "never" => Ok(Decay::Never),
        Value::String(text) => Err(ConfigError::new(
            Kind::Invalid,
            path,
            why!("must be a number of days or \"never\", got \"{}\"", preview(text)),
        )),
        other => Ok(Decay::HalfLife(days(other, path)?)),
    }
}

fn endpoint(value: &Value, path: &str) -> Result<String, ConfigError> {
    let url = string(value, path, MAX_STRING_CHARS)?;
    let valid =
        url.starts_with("https://") || url.starts_with("http://") || (url.starts_with('/') && !url.starts_with("//"));
    if !valid || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::new(
            Kind::Invalid,
            path,
            why!("must be an http(s) URL or a path on this site such as \"/v1/leads\", got \"{}\"", preview(url)),
        ));
    }
    Ok(url.to_string())
}

/// A JSON object being read field by field, with the path it sits at.
struct Fields<'a> {
    at: &'a str,
    map: &'a Map,
}

impl<'a> Fields<'a> {
    /// Checks that `value` is an object whose fields are all in `allowed`.
    fn open(value: &'a Value, at: &'a str, allowed: &[&str]) -> Result<Fields<'a>, ConfigError> {
        let Value::Object(map) = value else {
            return Err(wrong_type(at, "an object", value));
        };
        if let Some(unknown) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
            let fields = Fields { at, map };
            let known = allowed.iter().filter(|name| !name.starts_with('$')).copied().collect::<Vec<_>>().join(", ");
            return Err(ConfigError::new(
                Kind::UnknownField,
                &fields.path(unknown),
                why!("unknown field{}; known fields here: {known}", hint_suffix(unknown, allowed.iter().copied())),
            ));
        }
        Ok(Fields { at, map })
    }

    /// A field's value; `null` counts as absent, as most JSON writers expect.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// An optional on/off switch that defaults to on.
    fn switch(&self, name: &str) -> Result<bool, ConfigError> {
        self.get(name).map_or(Ok(true), |value| boolean(value, &self.path(name)))
    }

    fn require(&self, name: &str, what: &str) -> Result<&'a Value, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::new(Kind::Missing, &self.path(name), why!("required: {what}")))
    }

    fn path(&self, name: &str) -> String {
        if self.at.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.at)
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => format!("a boolean ({flag})"),
        Value::Number(number) => format!("a number ({number})"),
        Value::String(text) => format!("a string (\"{}\")", preview(text)),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

fn wrong_type(path: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError::new(Kind::WrongType, path, why!("expected {expected}, got {}", describe(got)))
}

fn string<'a>(value: &'a Value, path: &str, max_chars: usize) -> Result<&'a str, ConfigError> {
    let Value::String(text) = value else {
        return Err(wrong_type(path, "a string", value));
    };
    let chars = crate::core::text::char_count(text);
    if chars > max_chars {
        return Err(ConfigError::new(
            Kind::TooLarge,
            path,
            why!("is {chars} characters long; the limit is {max_chars}"),
        ));
    }
    if text.is_empty() {
        return Err(ConfigError::new(Kind::Invalid, path, why!("must not be empty")));
    }
    Ok(text)
}

/// A site name or id: 1 to 64 of `a-z 0-9 _ -` (ids end up in URLs and CSV).
fn identifier<'a>(value: &'a Value, path: &str, what: &str) -> Result<&'a str, ConfigError> {
    let text = string(value, path, MAX_ID_CHARS)?;
    if let Some(bad) = text.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')))
    {
        return Err(ConfigError::new(
            Kind::Invalid,
            path,
            why!("{what} use lowercase letters, digits, '-' and '_' only; found {bad:?} in \"{}\"", preview(text)),
        ));
    }
    Ok(text)
}

fn boolean(value: &Value, path: &str) -> Result<bool, ConfigError> {
    value.as_bool().ok_or_else(|| wrong_type(path, "true or false", value))
}

fn number(value: &Value, path: &str, min: f64, max: f64) -> Result<f64, ConfigError> {
    let Some(number) = value.as_f64() else {
        return Err(wrong_type(path, "a number", value));
    };
    if !(min..=max).contains(&number) {
        return Err(ConfigError::new(
            Kind::OutOfRange,
            path,
            why!(
                "must be between {} and {}, got {}",
                json::format_number(min),
                json::format_number(max),
                json::format_number(number)
            ),
        ));
    }
    Ok(number)
}

fn integer(value: &Value, path: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let Some(number) = value.as_f64() else {
        return Err(wrong_type(path, "a whole number", value));
    };
    if fract(number) != 0.0 || number < min as f64 || number > max as f64 {
        return Err(ConfigError::new(
            Kind::OutOfRange,
            path,
            why!("must be a whole number from {min} to {max}, got {value}"),
        ));
    }
    Ok(number as i64)
}

/// A positive day count, fractions allowed, at most ten years.
fn days(value: &Value, path: &str) -> Result<u64, ConfigError> {
    let Some(days) = value.as_f64() else {
        return Err(wrong_type(path, "a number of days", value));
    };
    if days <= 0.0 {
        return Err(ConfigError::new(Kind::OutOfRange, path, why!("must be > 0, got {value}")));
    }
    if days > MAX_DAYS {
        return Err(ConfigError::new(
            Kind::OutOfRange,
            path,
            why!("must be at most {} days, got {value}", json::format_number(MAX_DAYS)),
        ));
    }
    Ok(days_to_millis(days).max(1))
}

fn list<'a>(value: &'a Value, path: &str, max: usize) -> Result<&'a [Value], ConfigError> {
    let Value::Array(items) = value else {
        return Err(wrong_type(path, "an array", value));
    };
    if items.len() > max {
        return Err(ConfigError::new(Kind::TooLarge, path, why!("has {} entries; the limit is {max}", items.len())));
    }
    Ok(items)
}

/// A non-empty list of strings, lowercased for case-insensitive matching.
fn text_list(value: &Value, path: &str) -> Result<Vec<String>, ConfigError> {
    let items = list(value, path, MAX_LIST_ITEMS)?;
    if items.is_empty() {
        return Err(ConfigError::new(Kind::Invalid, path, why!("must list at least one value")));
    }
    items.iter().enumerate().map(|(index, item)| trimmed_text(item, &format!("{path}[{index}]"))).collect()
}

/// A non-blank string, trimmed and lowercased for case-insensitive matching.
fn trimmed_text(value: &Value, path: &str) -> Result<String, ConfigError> {
    let text = string(value, path, MAX_TEXT_CHARS)?.trim();
    if text.is_empty() {
        return Err(ConfigError::new(Kind::Invalid, path, why!("must not be blank")));
    }
    Ok(fold(text))
}

/// A property value to compare against: strings, numbers and booleans all
/// compare as lowercase text, since the browser hands properties over as text.
fn scalar_text(value: &Value, path: &str) -> Result<String, ConfigError> {
    match value {
        Value::String(_) => trimmed_text(value, path),
        Value::Number(number) => Ok(number.as_f64().map_or_else(|| number.to_string(), number_text)),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(wrong_type(path, "a string, number or boolean", other)),
    }
}

/// FNV-1a over a canonical walk of the document (object keys sorted, numbers
/// by bit pattern), so whitespace and key order never change the hash.
fn hash_value(value: &Value, hash: u64) -> u64 {
    match value {
        Value::Null => fnv(hash, b"n"),
        Value::Bool(flag) => fnv(hash, if *flag { b"t" } else { b"f" }),
        Value::Number(number) => fnv(fnv(hash, b"#"), &number.as_f64().unwrap_or(0.0).to_bits().to_le_bytes()),
        Value::String(text) => fnv(fnv(fnv(hash, b"s"), &(text.len() as u64).to_le_bytes()), text.as_bytes()),
        Value::Array(items) => {
            let hash = fnv(fnv(hash, b"["), &(items.len() as u64).to_le_bytes());
            items.iter().fold(hash, |hash, item| hash_value(item, hash))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            super::super::small_sort::sort(&mut keys);
            let hash = fnv(fnv(hash, b"{"), &(keys.len() as u64).to_le_bytes());
            keys.into_iter().fold(hash, |hash, key| {
                let hash = fnv(fnv(hash, &(key.len() as u64).to_le_bytes()), key.as_bytes());
                map.get(key).map_or(hash, |value| hash_value(value, hash))
            })
        }
    }
}
