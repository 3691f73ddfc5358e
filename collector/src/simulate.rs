//! `collector simulate SITE_JSON JOURNEY_JSON`: plays a visitor journey (a
//! JSON list of steps) through the real engine under a site's rule set, so a
//! site owner sees what each step scores, which rules fire and when the
//! visitor qualifies before the rules go live; `--svg` draws the score over
//! time with the stage thresholds. The journey format is in
//! docs/collector.md, "Trying a rule set: check and simulate".
//!
//! Steps become events the way the widget makes them: a visit starts after
//! 30 minutes without activity, measurements belong to the page view before
//! them, a download's `kind` is guessed from its file name, an ad click comes
//! from the landing URL's click id; what the browser never sends with an
//! event (a URL on a `track()` event, a value on a page view) is left out,
//! with a warning, so the journey scores as it would live.

use std::fmt::{self, Write as _};
use std::path::Path;
use std::sync::Arc;

use leadscore::core::did_you_mean;
use leadscore::core::event::{number_text, BUILT_IN_EVENTS};
use leadscore::core::signals::{guess_download_kind, Touch};
use leadscore::core::state::VISIT_TIMEOUT_MS;
use leadscore::core::time::{civil_from_days, days_from_civil, DAY_MS, MAX_MILLIS};
use leadscore::core::{
    Award, Config, Engine, Event, EventId, Field, Grade, Handled, Identity, LedgerEntry, Stage, State, Thresholds,
    Timestamp,
};
use leadscore::session::{page_path, page_query};
use serde_json::{Map, Value};

use crate::dashboard::escape;

/// When a journey starts if its first step gives no absolute time:
/// 2026-01-01T09:00:00Z.
pub const DEFAULT_START: Timestamp = Timestamp::from_millis(1_767_258_000_000);

/// Most steps in one journey: far more than a visitor's story needs, and a
/// bound on the work and the output.
pub const MAX_STEPS: usize = 10_000;

/// Longest offset accepted (ten years), so that times stay in range.
pub const MAX_OFFSET_MS: u64 = 3650 * DAY_MS;

const SECOND_MS: u64 = 1000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;

const EVENT_STEP_FIELDS: &[&str] = &["event", "at", "url", "props", "value"];
const IDENTIFY_STEP_FIELDS: &[&str] = &["identify", "at"];
/// Events the browser sends with the page's or the file's path.
const EVENTS_WITH_URL: &[&str] = &["page_view", "engaged_time", "scroll_depth", "download"];
/// Events the browser sends with a measured amount, and what it is.
const EVENTS_WITH_VALUE: &[(&str, &str)] =
    &[("engaged_time", "the engaged seconds on the page, like 130"), ("scroll_depth", "the depth in percent, like 80")];
/// Events the browser sends without properties of the page's choosing.
const EVENTS_WITHOUT_PROPS: &[&str] = &["page_view", "engaged_time", "scroll_depth"];

/// A mistake in a journey: where (a JSON path such as `[3].at`, or
/// `journey` for the document as a whole) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JourneyError {
    /// The JSON path of the mistake; steps count from 0.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl JourneyError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> JourneyError {
        JourneyError { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for JourneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for JourneyError {}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Something the visitor did, as the widget would report it.
    Event {
        /// The event name, e.g. `page_view`.
        name: String,
        /// The page's (or the file's) path, already reduced to what rules match.
        url: Option<String>,
        /// The page's query string, for attribution (`utm_*`, click ids); page views only.
        query: String,
        /// String properties.
        props: Vec<(String, String)>,
        /// Seconds or percent, for `engaged_time` and `scroll_depth`.
        value: Option<u32>,
    },
    /// Identity answers, as a form would give them.
    Identify(Vec<(Field, String)>),
}

/// One checked step of a journey.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When it happens.
    pub at: Timestamp,
    /// What happens.
    pub action: Action,
}

/// A checked journey: its steps in time order, and what was left out of
/// them because the browser would not send it.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    /// The steps, never going back in time.
    pub steps: Vec<Step>,
    /// `[3].url: ignored: …` lines.
    pub warnings: Vec<String>,
}

/// When a step happens, as written in its `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// An absolute time.
    At(Timestamp),
    /// Milliseconds after the previous step.
    After(u64),
}

/// Reads `at`: an RFC 3339 time (`2026-01-01T09:00:00Z`) or an offset from
/// the previous step (`+2d`, `+30m`).
pub fn parse_when(text: &str) -> Result<When, String> {
    if text.starts_with(['+', '-']) {
        parse_offset(text).map(When::After)
    } else {
        parse_time(text).map(When::At)
    }
}

/// An offset such as `+2d`, `+30m`, `+45s`, `+1h` or `+1h30m`, in
/// milliseconds: `+` and whole numbers of days (`d`), hours (`h`), minutes
/// (`m`) and seconds (`s`), largest first, at most ten years.
pub fn parse_offset(text: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 4] = [('d', DAY_MS), ('h', HOUR_MS), ('m', MINUTE_MS), ('s', SECOND_MS)];
    let form = "offsets are '+' and whole numbers with d, h, m or s, like \"+2d\", \"+30m\" or \"+1h30m\"";
    let rest = match text.strip_prefix('+') {
        Some(rest) => rest,
        None if text.starts_with('-') => {
            return Err(format!("\"{text}\" goes back in time; steps run forward, so {form}"));
        }
        None => return Err(format!("\"{text}\" is not an offset; {form}")),
    };
    if rest.is_empty() {
        return Err(format!("\"{text}\" has no amount; {form}"));
    }
    let (mut total, mut rest, mut previous_unit) = (0u64, rest, None);
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!("\"{text}\": expected a whole number at \"{rest}\"; {form}"));
        }
        let amount: u64 = rest[..digits].parse().map_err(|_| format!("\"{text}\" is too large; {form}"))?;
        let Some(unit) = rest[digits..].chars().next() else {
            return Err(format!("\"{text}\" has no unit after {amount}; {form}"));
        };
        let Some(position) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(format!("\"{text}\": unknown unit {unit:?}; {form}"));
        };
        if previous_unit.is_some_and(|previous| position <= previous) {
            return Err(format!("\"{text}\": units go from days to seconds, each once; {form}"));
        }
        previous_unit = Some(position);
        total = amount
            .checked_mul(UNITS[position].1)
            .and_then(|ms| total.checked_add(ms))
            .filter(|total| *total <= MAX_OFFSET_MS)
            .ok_or_else(|| format!("\"{text}\" is more than ten years; {form}"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

/// An RFC 3339 time, `2026-01-01T09:00:00Z` (fractions of a second and an
/// offset such as `+01:00` allowed; the time is taken to UTC), from 1970 to
/// 9999.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    let form = "expected an RFC 3339 time like \"2026-01-01T09:00:00Z\" or an offset like \"+2d\"";
    let bad = || format!("\"{text}\" is not a time; {form}");
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !bytes.is_ascii() {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u64, String> {
        let part = &text[range];
        if part.bytes().all(|byte| byte.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|(index, separator)| bytes[*index] != *separator) || !matches!(bytes[10], b'T' | b't') {
        return Err(bad());
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.len() - fraction.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(bad());
        }
        // Milliseconds are what timestamps hold; finer digits are dropped.
        let kept = &fraction[..digits.min(3)];
        millis = kept.parse::<u64>().map_err(|_| bad())? * 10u64.pow(3 - kept.len() as u32);
        rest = &fraction[digits..];
    }
    let offset_minutes: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[3..4], ":") && rest.starts_with(['+', '-']) => {
            let (hours, minutes) = (number(text.len() - 5..text.len() - 3)?, number(text.len() - 2..text.len())?);
            if hours > 23 || minutes > 59 {
                return Err(format!("\"{text}\": the offset {rest} is out of range"));
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (hours * 60 + minutes) as i64
        }
        _ => return Err(format!("\"{text}\": the time needs its zone, \"Z\" for UTC; {form}")),
    };
    if !(1970..=9999).contains(&year) {
        return Err(format!("\"{text}\": the year must be 1970 to 9999"));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("\"{text}\": there is no month {month}")),
    };
    if day == 0 || day > days_in_month {
        return Err(format!("\"{text}\": {year:04}-{month:02} has no day {day}"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("\"{text}\": {hour:02}:{minute:02}:{second:02} is not a time of day"));
    }
    let local = (days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + millis;
    let utc = i128::from(local) - i128::from(offset_minutes) * 60_000;
    u64::try_from(utc)
        .ok()
        .filter(|utc| *utc <= MAX_MILLIS)
        .map(Timestamp::from_millis)
        .ok_or_else(|| format!("\"{text}\" is outside 1970 to 9999 in UTC"))
}

/// `2026-01-05 09:00:00`: a UTC time as the report prints it.
pub fn time_text(at: Timestamp) -> String {
    at.iso8601().replace('T', " ").trim_end_matches('Z').to_string()
}

/// Reads a journey: a JSON array of steps, each an event or identity
/// answers. Every mistake is listed, each at its JSON path; `config` is the
/// rule set the journey will be played under, for warnings about events no
/// rule listens to.
pub fn read_journey(text: &str, config: &Config) -> Result<Journey, Vec<JourneyError>> {
    let document: Value = serde_json::from_str(text)
        .map_err(|err| vec![JourneyError::new("journey", format!("not valid JSON: {err}"))])?;
    let Value::Array(items) = &document else {
        return Err(vec![JourneyError::new(
            "journey",
            format!(
                "expected an array of steps, like [{{\"event\": \"page_view\", \"url\": \"/\"}}], got {}",
                describe(&document)
            ),
        )]);
    };
    if items.is_empty() {
        return Err(vec![JourneyError::new(
            "journey",
            "no steps: add at least one, like {\"event\": \"page_view\", \"url\": \"/\"}",
        )]);
    }
    if items.len() > MAX_STEPS {
        return Err(vec![JourneyError::new("journey", format!("has {} steps; the limit is {MAX_STEPS}", items.len()))]);
    }
    let mut reader = Reader { config, errors: Vec::new(), warnings: Vec::new() };
    let mut steps = Vec::with_capacity(items.len());
    let mut previous: Option<Timestamp> = None;
    for (index, item) in items.iter().enumerate() {
        if let Some(step) = reader.step(item, index, &mut previous) {
            steps.push(step);
        }
    }
    if reader.errors.is_empty() {
        Ok(Journey { steps, warnings: reader.warnings })
    } else {
        Err(reader.errors)
    }
}

/// Walks the steps, collecting every mistake rather than stopping at one.
struct Reader<'a> {
    config: &'a Config,
    errors: Vec<JourneyError>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(JourneyError::new(path, message));
    }

    fn step(&mut self, item: &Value, index: usize, previous: &mut Option<Timestamp>) -> Option<Step> {
        let path = format!("[{index}]");
        let Value::Object(fields) = item else {
            self.error(
                &path,
                format!(
                    "expected a step object, like {{\"event\": \"page_view\", \"url\": \"/\"}}, got {}",
                    describe(item)
                ),
            );
            return None;
        };
        let at = self.at(fields, &path, previous);
        let action = match (fields.get("event"), fields.get("identify")) {
            (Some(_), Some(_)) => {
                self.error(&path, "a step is an event or identity answers, not both; split it into two steps");
                None
            }
            (Some(name), None) => {
                self.unknown_fields(fields, &path, EVENT_STEP_FIELDS);
                self.event(name, fields, &path)
            }
            (None, Some(answers)) => {
                self.unknown_fields(fields, &path, IDENTIFY_STEP_FIELDS);
                self.identify(answers, &format!("{path}.identify"))
            }
            (None, None) => {
                let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                let hint = keys
                    .iter()
                    .find_map(|key| did_you_mean(key, ["event", "identify"]))
                    .map(|name| format!("; did you mean \"{name}\"?"))
                    .unwrap_or_default();
                let found = if keys.is_empty() { "none".to_string() } else { keys.join(", ") };
                self.error(
                    &path,
                    format!("unknown step kind: a step has \"event\" (something the visitor did) or \"identify\" (identity answers){hint}; its fields: {found}"),
                );
                None
            }
        };
        Some(Step { at: at?, action: action? })
    }

    fn unknown_fields(&mut self, fields: &Map<String, Value>, path: &str, known: &[&str]) {
        for key in fields.keys().filter(|key| !known.contains(&key.as_str())) {
            let hint = did_you_mean(key, known.iter().copied())
                .map(|name| format!("; did you mean \"{name}\"?"))
                .unwrap_or_default();
            self.error(
                format!("{path}.{key}"),
                format!("unknown field{hint}; known fields here: {}", known.join(", ")),
            );
        }
    }

    /// The step's time: its `at`, or the previous step's time (the journey's
    /// start for the first step) when it has none.
    fn at(&mut self, fields: &Map<String, Value>, path: &str, previous: &mut Option<Timestamp>) -> Option<Timestamp> {
        let before = previous.unwrap_or(DEFAULT_START);
        let at = match fields.get("at") {
            None | Some(Value::Null) => before,
            Some(Value::String(text)) => match parse_when(text) {
                Ok(When::After(ms)) => before.plus_millis(ms),
                Ok(When::At(at)) => match previous {
                    Some(previous) if at < *previous => {
                        self.error(
                            format!("{path}.at"),
                            format!(
                                "{text} is before the previous step ({}); steps run forward in time",
                                previous.iso8601()
                            ),
                        );
                        return None;
                    }
                    _ => at,
                },
                Err(message) => {
                    self.error(format!("{path}.at"), message);
                    return None;
                }
            },
            Some(other) => {
                self.error(
                    format!("{path}.at"),
                    format!(
                        "expected a time like \"2026-01-01T09:00:00Z\" or an offset like \"+2d\", got {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if at.as_millis() > MAX_MILLIS {
            self.error(format!("{path}.at"), "the journey runs past the year 9999");
            return None;
        }
        *previous = Some(at);
        Some(at)
    }

    fn event(&mut self, name: &Value, fields: &Map<String, Value>, path: &str) -> Option<Action> {
        let name_path = format!("{path}.event");
        let Value::String(name) = name else {
            self.error(&name_path, format!("expected an event name like \"page_view\", got {}", describe(name)));
            return None;
        };
        let name = name.trim();
        if let Err(error) = Event::new(EventId(0), DEFAULT_START, name) {
            self.error(&name_path, error.to_string());
            return None;
        }
        if name == "visit" {
            self.error(
                &name_path,
                format!(
                    "visits start by themselves, as in the browser: at the first step and after {} minutes without activity; remove this step (for a new visit, leave that long before the next one)",
                    VISIT_TIMEOUT_MS / MINUTE_MS
                ),
            );
            return None;
        }
        let listened = self.config.rules().iter().any(|rule| rule.on() == name);
        if !listened && !BUILT_IN_EVENTS.contains(&name) {
            let rule_events = self.config.rules().iter().map(|rule| rule.on());
            let hint = did_you_mean(name, BUILT_IN_EVENTS.iter().copied().chain(rule_events))
                .map(|close| format!("; did you mean \"{close}\"?"))
                .unwrap_or_default();
            self.warnings.push(format!("{name_path}: no rule listens to \"{name}\"{hint}"));
        }

        let mut url = None;
        let mut query = String::new();
        match fields.get("url") {
            None | Some(Value::Null) if name == "page_view" => {
                self.error(format!("{path}.url"), "required for page_view: the page's path or URL, like \"/pricing\"");
            }
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.trim().is_empty() => {
                self.error(format!("{path}.url"), "must not be empty; give the page's path, like \"/pricing\"");
            }
            Some(Value::String(text)) if EVENTS_WITH_URL.contains(&name) => {
                url = Some(page_path(text.trim()));
                if name == "page_view" {
                    query = page_query(text.trim()).to_string();
                }
            }
            Some(Value::String(_)) => self.warnings.push(format!(
                "{path}.url: ignored: the browser sends a url only with {}; track() sends a name and props",
                EVENTS_WITH_URL.join(", ")
            )),
            Some(other) => {
                self.error(format!("{path}.url"), format!("expected a path or URL, got {}", describe(other)))
            }
        }

        let mut props = Vec::new();
        match fields.get("props") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    let text = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(number) => number.as_f64().map_or_else(|| number.to_string(), number_text),
                        Value::Bool(flag) => flag.to_string(),
                        other => {
                            self.error(
                                format!("{path}.props.{key}"),
                                format!("expected a string, number or boolean, got {}", describe(other)),
                            );
                            continue;
                        }
                    };
                    props.push((key.clone(), text));
                }
                if EVENTS_WITHOUT_PROPS.contains(&name) && !props.is_empty() {
                    self.warnings.push(format!("{path}.props: ignored: the browser sends no props with {name}"));
                    props.clear();
                }
            }
            Some(other) => self.error(
                format!("{path}.props"),
                format!("expected an object of properties, like {{\"kind\": \"trial\"}}, got {}", describe(other)),
            ),
        }
        if name == "download" && !props.iter().any(|(key, _)| key == "kind") {
            // As the widget does for links without `data-leadscore-props`.
            if let Some(kind) = url.as_deref().and_then(guess_download_kind) {
                props.push(("kind".into(), kind.into()));
            }
        }
        let check = props.iter().try_fold(Event::new(EventId(0), DEFAULT_START, name).ok()?, |event, (key, value)| {
            event.with_prop(key, value).map_err(|error| (key.clone(), error))
        });
        if let Err((key, error)) = check {
            self.error(format!("{path}.props.{key}"), error.to_string());
        }

        let measured = EVENTS_WITH_VALUE.iter().find(|(event, _)| *event == name).map(|(_, what)| *what);
        let mut value = None;
        match (fields.get("value"), measured) {
            (None | Some(Value::Null), Some(what)) => {
                self.error(format!("{path}.value"), format!("required for {name}: {what}"));
            }
            (None | Some(Value::Null), None) => {}
            (Some(Value::Number(number)), Some(what)) => match number.as_f64() {
                Some(amount) if amount < 0.0 => {
                    self.error(format!("{path}.value"), format!("must not be negative, got {number}; {what}"))
                }
                Some(amount) if name == "scroll_depth" && amount > 100.0 => {
                    self.error(format!("{path}.value"), format!("a scroll depth is a percent, 0 to 100, got {number}"))
                }
                Some(amount) if amount > f64::from(u32::MAX) => {
                    self.error(format!("{path}.value"), format!("is too large, got {number}"))
                }
                // The widget counts whole seconds and percent.
                Some(amount) => value = Some(amount.floor() as u32),
                None => self.error(format!("{path}.value"), format!("is not a number the engine can read: {number}")),
            },
            (Some(Value::Number(_)), None) => self.warnings.push(format!(
                "{path}.value: ignored: the browser sends a value only with engaged_time (seconds) and scroll_depth (percent)"
            )),
            (Some(other), _) => {
                self.error(format!("{path}.value"), format!("expected a number, got {}", describe(other)))
            }
        }
        Some(Action::Event { name: name.to_string(), url, query, props, value })
    }

    fn identify(&mut self, answers: &Value, path: &str) -> Option<Action> {
        let Value::Object(map) = answers else {
            self.error(
                path,
                format!(
                    "expected an object of identity fields, like {{\"email\": \"ada@example.com\"}}, got {}",
                    describe(answers)
                ),
            );
            return None;
        };
        if map.is_empty() {
            self.error(path, "no answers: give at least one field, like {\"email\": \"ada@example.com\"}");
            return None;
        }
        let mut fields = Vec::with_capacity(map.len());
        let mut scratch = Identity::default();
        for (name, value) in map {
            let field_path = format!("{path}.{name}");
            let field = match Field::parse(name) {
                Ok(field) => field,
                Err(error) => {
                    self.error(&field_path, error.to_string());
                    continue;
                }
            };
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.as_f64().map_or_else(|| number.to_string(), number_text),
                other => {
                    self.error(&field_path, format!("expected a string or a number, got {}", describe(other)));
                    continue;
                }
            };
            if let Err(error) = scratch.set(DEFAULT_START, field, &text) {
                let message = error.to_string();
                let message = message.strip_prefix(&format!("{name}: ")).unwrap_or(&message).to_string();
                self.error(&field_path, message);
                continue;
            }
            fields.push((field, text));
        }
        Some(Action::Identify(fields))
    }
}

/// A JSON value in a few words, for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => format!("a boolean ({flag})"),
        Value::Number(number) => format!("a number ({number})"),
        Value::String(text) => format!("a string ({text:?})"),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// One played step: where the visitor stands after it, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The step's number, from 1 (its JSON index is one less).
    pub number: usize,
    /// When it happened.
    pub at: Timestamp,
    /// The step in a few words, e.g. `page_view /pricing`.
    pub what: String,
    /// Whether it started a visit (and so a `visit` event).
    pub new_visit: bool,
    /// Points each matching rule awarded at this step, the visit's first.
    pub awards: Vec<Award>,
    /// The score right after the step.
    pub score: f64,
    /// The stage right after the step.
    pub stage: Stage,
    /// The fit grade right after the step.
    pub grade: Grade,
}

/// A journey played through the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct Playback {
    /// The site's name.
    pub site: String,
    /// The rule set's stage thresholds.
    pub thresholds: Thresholds,
    /// Whether `mql` also needs an email.
    pub mql_requires_identity: bool,
    /// One row per step.
    pub rows: Vec<Row>,
    /// The score over time, decay between steps included: what `--svg` draws.
    pub curve: Vec<(Timestamp, f64)>,
    /// The engine's ledger at the last step.
    pub ledger: Vec<LedgerEntry>,
}

/// Longest step description in the table; the chart's tooltips have it whole.
const MAX_WHAT_CHARS: usize = 60;

/// Score samples drawn between two steps, so decay over days shows as a curve.
const SAMPLES_BETWEEN_STEPS: u64 = 24;

/// Plays `journey` through a fresh engine under `config`, as the widget
/// would report it: visits, page views and what belongs to them.
pub fn play(config: Arc<Config>, journey: &Journey) -> Playback {
    let start = journey.steps.first().map_or(DEFAULT_START, |step| step.at);
    let mut engine = Engine::new(config, State::new("simulated-visitor", start));
    let visits = engine.config().capture().visits;
    let mut next_id = 0u64;
    let mut new_id = || {
        next_id += 1;
        EventId(next_id)
    };
    let mut page_view: Option<(EventId, String)> = None;
    let (mut rows, mut curve) = (Vec::with_capacity(journey.steps.len()), Vec::new());
    let mut last: Option<Timestamp> = None;
    for (index, step) in journey.steps.iter().enumerate() {
        let at = step.at;
        if let Some(last) = last {
            let gap = at.millis_since(last);
            for sample in 1..SAMPLES_BETWEEN_STEPS {
                let when = last.plus_millis(gap * sample / SAMPLES_BETWEEN_STEPS);
                curve.push((when, engine.score(when)));
            }
        }
        curve.push((at, engine.score(at)));
        let mut awards = Vec::new();
        let mut new_visit = false;
        let mut handle = |engine: &mut Engine, event: Event| {
            if let Handled::Scored(scored) = engine.handle_event(event) {
                awards.extend(scored);
            }
        };
        let what = match &step.action {
            Action::Event { name, url, query, props, value } => {
                if engine.begin_activity(at) && visits {
                    new_visit = true;
                    if let Ok(visit) = Event::new(new_id(), at, "visit") {
                        handle(&mut engine, visit);
                    }
                }
                let id = new_id();
                // A measurement is about the page it was taken on.
                let url = match (name.as_str(), url, &page_view) {
                    ("engaged_time" | "scroll_depth", None, Some((_, page))) => Some(page.clone()),
                    _ => url.clone(),
                };
                // Checked when the journey was read; a name the engine
                // refuses here cannot occur.
                if let Ok(mut event) = Event::new(id, at, name) {
                    if let Some(url) = &url {
                        event = event.with_url(url);
                    }
                    for (key, text) in props {
                        // Checked when the journey was read, like the name.
                        if let Ok(with) = event.clone().with_prop(key, text) {
                            event = with;
                        }
                    }
                    if let Some(value) = value {
                        event = event.with_value(*value);
                        if let Some((page, _)) = &page_view {
                            event = event.in_page_view(*page);
                        }
                    }
                    handle(&mut engine, event);
                    if name == "page_view" {
                        page_view = url.clone().map(|url| (id, url));
                        arrive(&mut engine, at, query, &mut new_id, &mut handle);
                    }
                }
                describe_event(name, url.as_deref(), props, *value)
            }
            Action::Identify(fields) => {
                // Checked when the journey was read, against the same rules.
                let _ = engine.identify(at, fields.iter().map(|(field, value)| (field.name(), value.as_str())));
                let answers: Vec<String> =
                    fields.iter().map(|(field, value)| format!("{field}={}", shorten(value, 24))).collect();
                format!("identify {}", answers.join(", "))
            }
        };
        let (score, stage) = engine.standing(at);
        curve.push((at, score));
        rows.push(Row { number: index + 1, at, what, new_visit, awards, score, stage, grade: engine.grade() });
        last = Some(at);
    }
    let end = last.unwrap_or(start);
    let config = engine.config();
    Playback {
        site: config.site().to_string(),
        thresholds: config.thresholds(),
        mql_requires_identity: config.mql_requires_identity(),
        rows,
        curve,
        ledger: engine.ledger(end),
    }
}

/// A page load's attribution, as the widget records it: the landing URL's
/// UTM parameters and click ids, and an `ad_click` for a paid arrival.
fn arrive(
    engine: &mut Engine,
    at: Timestamp,
    query: &str,
    new_id: &mut impl FnMut() -> EventId,
    handle: &mut impl FnMut(&mut Engine, Event),
) {
    if !engine.config().capture().ad_clicks {
        return;
    }
    let Some(touch) = Touch::from_query(query, at) else { return };
    let source = touch.is_ad_click().then(|| touch.source.clone().unwrap_or_else(|| "paid".into()));
    engine.record_touch(touch);
    if let Some(source) = source {
        if let Ok(event) = Event::new(new_id(), at, "ad_click").and_then(|event| event.with_prop("source", &source)) {
            handle(engine, event);
        }
    }
}

fn describe_event(name: &str, url: Option<&str>, props: &[(String, String)], value: Option<u32>) -> String {
    let mut what = name.to_string();
    if let Some(url) = url {
        let _ = write!(what, " {}", shorten(url, 48));
    }
    for (key, text) in props {
        let _ = write!(what, " {key}={}", shorten(text, 24));
    }
    match (name, value) {
        ("engaged_time", Some(seconds)) => {
            let _ = write!(what, " {seconds} s");
        }
        (_, Some(value)) => {
            let _ = write!(what, " {value} %");
        }
        (_, None) => {}
    }
    what
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    } else {
        text.to_string()
    }
}

/// `+10`, `-15`, `+0`, or with one decimal when not whole.
fn points_text(points: f64) -> String {
    if (points - points.round()).abs() < 0.05 {
        format!("{:+}", points.round() as i64)
    } else {
        format!("{points:+.1}")
    }
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Cold => "cold",
        Stage::Warm => "warm",
        Stage::Mql => "MQL",
        Stage::SalesReady => "sales-ready",
    }
}

impl Playback {
    /// The first step after which the visitor is at `stage` or beyond.
    pub fn first_at(&self, stage: Stage) -> Option<&Row> {
        self.rows.iter().find(|row| row.stage >= stage)
    }

    /// The highest stage the visitor reached.
    pub fn highest(&self) -> Stage {
        self.rows.iter().map(|row| row.stage).max().unwrap_or(Stage::Cold)
    }

    /// `mql at step 12 (2026-01-05 11:13:30), …` with the first step at
    /// each stage from warm up, or `never qualified (highest stage: warm)`.
    pub fn outcome(&self) -> String {
        let reached: Vec<String> = [Stage::Warm, Stage::Mql, Stage::SalesReady]
            .into_iter()
            .filter_map(|stage| {
                self.first_at(stage).map(|row| format!("{stage} at step {} ({})", row.number, time_text(row.at)))
            })
            .collect();
        if self.first_at(Stage::Mql).is_some() {
            reached.join(", ")
        } else {
            format!("never qualified (highest stage: {})", self.highest())
        }
    }

    /// The table of steps, the outcome and the final ledger, as
    /// `collector simulate` prints them.
    pub fn report(&self, site_file: &str, journey_file: &str) -> String {
        let mut out = String::new();
        let Thresholds { warm, mql, sales_ready } = self.thresholds;
        let email = if self.mql_requires_identity { " with an email" } else { "" };
        let _ = writeln!(
            out,
            "site \"{}\" ({site_file}): warm from {warm}, mql from {mql}{email}, sales_ready from {sales_ready}",
            self.site
        );
        if let (Some(first), Some(last)) = (self.rows.first(), self.rows.last()) {
            let _ = writeln!(
                out,
                "journey {journey_file}: {} steps, {} to {} UTC\n",
                self.rows.len(),
                time_text(first.at),
                time_text(last.at)
            );
        }
        let what_of = |row: &Row| {
            let what = if row.new_visit { format!("{} · new visit", row.what) } else { row.what.clone() };
            shorten(&what, MAX_WHAT_CHARS)
        };
        let what_width = self.rows.iter().map(|row| what_of(row).chars().count()).max().unwrap_or(4).max(4);
        let _ = writeln!(
            out,
            "{:>4}  {:<19}  {:<what_width$}  {:>6}  {:<13}  {:<5}  rules",
            "step", "time (UTC)", "what", "score", "stage", "grade"
        );
        let mut previous = Stage::Cold;
        for row in &self.rows {
            let what = what_of(row);
            let arrow = match row.stage.cmp(&previous) {
                std::cmp::Ordering::Greater => " ↑",
                std::cmp::Ordering::Less => " ↓",
                std::cmp::Ordering::Equal => "",
            };
            let stage = format!("{}{arrow}", row.stage);
            let rules = if row.awards.is_empty() {
                "-".to_string()
            } else {
                let fired: Vec<String> =
                    row.awards.iter().map(|award| format!("{} {}", award.rule_id, points_text(award.points))).collect();
                fired.join(", ")
            };
            let _ = writeln!(
                out,
                "{:>4}  {:<19}  {:<what_width$}  {:>6.1}  {:<13}  {:<5}  {rules}",
                row.number,
                time_text(row.at),
                what,
                row.score,
                stage,
                row.grade.as_str()
            );
            previous = row.stage;
        }
        let _ = writeln!(out, "\noutcome: {}", self.outcome());
        if let Some(last) = self.rows.last() {
            let _ = writeln!(
                out,
                "at the end: score {:.1}, stage {}, grade {}",
                last.score,
                last.stage,
                last.grade.as_str()
            );
        }
        if !self.ledger.is_empty() {
            let width = self.ledger.iter().map(|entry| entry.rule_id.chars().count()).max().unwrap_or(4).max(4);
            let _ = writeln!(
                out,
                "\nledger at the end:\n  {:<width$}  {:>7}  {:>7}  {:>7}",
                "rule", "points", "matches", "awards"
            );
            for entry in &self.ledger {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:>7.1}  {:>7}  {:>7}",
                    entry.rule_id, entry.points, entry.count, entry.awards
                );
            }
        }
        out
    }

    /// The score over time as a standalone SVG: the score's line (decay
    /// between steps included), each step as a point in its stage's colour
    /// with a tooltip, the warm, MQL and sales-ready thresholds as labelled
    /// dashed lines, the first step at each stage marked, and time and
    /// score axes. The dashboard's colours and type.
    pub fn svg(&self, title: &str) -> String {
        let (width, height) = (880.0, 420.0);
        let (left, right, top, bottom) = (56.0, 130.0, 60.0, 64.0);
        let (plot_w, plot_h) = (width - left - right, height - top - bottom);
        let Thresholds { warm, mql, sales_ready } = self.thresholds;

        let start = self.rows.first().map_or(DEFAULT_START, |row| row.at);
        let mut end = self.rows.last().map_or(start, |row| row.at);
        if end.millis_since(start) < MINUTE_MS {
            end = start.plus_millis(HOUR_MS);
        }
        let span = end.millis_since(start) as f64;
        let x = |at: Timestamp| left + at.millis_since(start) as f64 / span * plot_w;

        let scores = self.curve.iter().map(|(_, score)| *score);
        let highest = scores.clone().fold(sales_ready, f64::max);
        let lowest = scores.fold(0.0, f64::min);
        let step = nice_step((highest - lowest) / 5.0);
        let (low, high) = ((lowest / step).floor() * step, (highest * 1.08 / step).ceil() * step);
        let y = |score: f64| top + (high - score) / (high - low) * plot_h;

        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
             role=\"img\" font-family=\"system-ui,-apple-system,Segoe UI,Roboto,sans-serif\" font-size=\"11\">\n\
             <title>{}</title>\n\
             <rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"#fff\" stroke=\"#e3e7ef\"/>\n\
             <text x=\"{left}\" y=\"26\" font-size=\"15\" font-weight=\"600\" fill=\"#1d2433\">{}</text>\n\
             <text class=\"outcome\" x=\"{left}\" y=\"44\" fill=\"#5b6577\">{}</text>\n",
            escape(title),
            width - 1.0,
            height - 1.0,
            escape(title),
            escape(&self.outcome())
        );
        // Score grid and axis.
        let mut tick = low;
        while tick <= high + step / 2.0 {
            let _ = writeln!(
                svg,
                "<line x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#e3e7ef\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"#5b6577\">{tick}</text>",
                x2 = left + plot_w,
                py = y(tick),
                tx = left - 6.0,
                ty = y(tick) + 4.0,
            );
            tick += step;
        }
        let _ = writeln!(
            svg,
            "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#5b6577\">score</text>",
            top + plot_h / 2.0
        );
        // Time axis: ticks on round times, the date under the first tick of each day.
        let interval = time_interval(end.millis_since(start));
        let mut at = start.as_millis().div_ceil(interval) * interval;
        let mut last_day = None;
        while at <= end.as_millis() {
            let when = Timestamp::from_millis(at);
            let (px, stamp) = (x(when), when.iso8601());
            let _ = write!(
                svg,
                "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#e3e7ef\"/>",
                top + plot_h + 4.0
            );
            let day = at / DAY_MS;
            if interval < DAY_MS {
                let _ = write!(
                    svg,
                    "<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5b6577\">{}</text>",
                    top + plot_h + 17.0,
                    &stamp[11..16]
                );
            }
            if last_day != Some(day) || interval >= DAY_MS {
                let (_, month, date) = civil_from_days(day);
                let row = if interval < DAY_MS { 31.0 } else { 17.0 };
                let _ = write!(
                    svg,
                    "<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5b6577\">{} {date}</text>",
                    top + plot_h + row,
                    MONTHS[(month as usize).clamp(1, 12) - 1]
                );
                last_day = Some(day);
            }
            svg.push('\n');
            at += interval;
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5b6577\">time (UTC), from {}</text>",
            left + plot_w / 2.0,
            height - 12.0,
            time_text(start)
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#5b6577\"/>\
             <line x1=\"{left}\" x2=\"{:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"#5b6577\"/>",
            top + plot_h,
            left + plot_w,
            y(low.max(0.0).min(high))
        );
        // The thresholds, each in the colour of the stage it starts.
        for (name, score, colour) in [
            ("warm", warm, STAGE_COLOURS[1]),
            ("MQL", mql, STAGE_COLOURS[2]),
            ("sales-ready", sales_ready, STAGE_COLOURS[3]),
        ] {
            let _ = writeln!(
                svg,
                "<g class=\"threshold\" data-stage=\"{name}\"><line x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" \
                 stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty:.1}\" fill=\"{colour}\" font-weight=\"600\">{name} {value}</text></g>",
                x2 = left + plot_w,
                py = y(score),
                tx = left + plot_w + 8.0,
                ty = y(score) + 4.0,
                value = number_text(score)
            );
        }
        // The score, then the steps on it.
        let points: Vec<String> =
            self.curve.iter().map(|(at, score)| format!("{:.1},{:.1}", x(*at), y(*score))).collect();
        let _ = writeln!(
            svg,
            "<polyline class=\"score\" fill=\"none\" stroke=\"#1d2433\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{}\"/>",
            points.join(" ")
        );
        for row in &self.rows {
            let colour = STAGE_COLOURS[row.stage as usize];
            let _ = writeln!(
                svg,
                "<circle class=\"step\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\" stroke=\"#fff\" stroke-width=\"1.5\">\
                 <title>step {}, {}: {} · score {:.1}, {}, grade {}</title></circle>",
                x(row.at),
                y(row.score),
                row.number,
                time_text(row.at),
                escape(&row.what),
                row.score,
                row.stage,
                row.grade.as_str()
            );
        }
        for stage in [Stage::Warm, Stage::Mql, Stage::SalesReady] {
            let Some(row) = self.first_at(stage) else { continue };
            if row.stage > stage {
                // Jumped past this stage: the higher stage's mark says it.
                continue;
            }
            let (px, py) = (x(row.at), y(row.score));
            let anchor = if px > left + plot_w * 0.75 { "end" } else { "start" };
            let dx = if anchor == "end" { -8.0 } else { 8.0 };
            let _ = writeln!(
                svg,
                "<text class=\"reached\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{}\" font-weight=\"600\">{} at step {}</text>",
                px + dx,
                py - 8.0,
                STAGE_COLOURS[stage as usize],
                stage_label(stage),
                row.number
            );
        }
        // A legend for the points' colours, right of the title.
        let mut lx = width - 24.0;
        for (index, stage) in [Stage::Cold, Stage::Warm, Stage::Mql, Stage::SalesReady].into_iter().enumerate().rev() {
            let label = stage_label(stage);
            // Roughly the label's width at 11 px, so the entries do not overlap.
            lx -= label.chars().count() as f64 * 6.0 + 24.0;
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"22\" r=\"4\" fill=\"{}\"/><text x=\"{:.1}\" y=\"26\" fill=\"#5b6577\">{label}</text>",
                lx + 4.0,
                STAGE_COLOURS[index],
                lx + 12.0
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

/// Cold, warm, MQL and sales-ready: the dashboard's faint grey, light
/// brand, brand and success colours.
const STAGE_COLOURS: [&str; 4] = ["#adb5bd", "#748ffc", "#3b5bdb", "#2b8a3e"];

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// 1, 2 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let rough = rough.max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|factor| factor * power).find(|step| *step >= rough).unwrap_or(10.0 * power)
}

/// A round time between ticks that gives at most eight of them over `span`.
fn time_interval(span: u64) -> u64 {
    [
        MINUTE_MS,
        2 * MINUTE_MS,
        5 * MINUTE_MS,
        10 * MINUTE_MS,
        15 * MINUTE_MS,
        30 * MINUTE_MS,
        HOUR_MS,
        2 * HOUR_MS,
        3 * HOUR_MS,
        6 * HOUR_MS,
        12 * HOUR_MS,
        DAY_MS,
        2 * DAY_MS,
        7 * DAY_MS,
        14 * DAY_MS,
        30 * DAY_MS,
        91 * DAY_MS,
        365 * DAY_MS,
    ]
    .into_iter()
    .find(|interval| span / interval <= 8)
    .unwrap_or(3650 * DAY_MS)
}

/// What `collector simulate` prints: the report, and the warnings (for
/// standard error).
#[derive(Clone, Debug, PartialEq)]
pub struct Simulated {
    /// The table, the outcome and the ledger.
    pub report: String,
    /// Warnings about the rule set and the journey.
    pub warnings: Vec<String>,
    /// The playback itself.
    pub playback: Playback,
}

/// `collector simulate SITE_JSON JOURNEY_JSON [--svg FILE]`: reads both files,
/// plays the journey and writes the chart. Errors are lines naming the file
/// and, for mistakes in it, the JSON path.
pub fn run(site_file: &Path, journey_file: &Path, svg_file: Option<&Path>) -> Result<Simulated, Vec<String>> {
    let (site_name, journey_name) = (site_file.display().to_string(), journey_file.display().to_string());
    let site_text =
        std::fs::read_to_string(site_file).map_err(|err| vec![format!("{site_name}: cannot read: {err}")])?;
    let config = Config::parse_all_errors(&site_text)
        .map_err(|errors| errors.iter().map(|error| format!("{site_name}: {error}")).collect::<Vec<_>>())?;
    let journey_text =
        std::fs::read_to_string(journey_file).map_err(|err| vec![format!("{journey_name}: cannot read: {err}")])?;
    let journey = read_journey(&journey_text, &config)
        .map_err(|errors| errors.iter().map(|error| format!("{journey_name}: {error}")).collect::<Vec<_>>())?;
    let mut warnings: Vec<String> =
        config.warnings().iter().map(|warning| format!("{site_name}: warning: {warning}")).collect();
    warnings.extend(journey.warnings.iter().map(|warning| format!("{journey_name}: warning: {warning}")));
    let playback = play(Arc::new(config), &journey);
    let mut report = playback.report(&site_name, &journey_name);
    if let Some(svg_file) = svg_file {
        let title = format!(
            "{}: {}",
            playback.site,
            journey_file.file_stem().map_or(journey_name.clone(), |stem| stem.to_string_lossy().into_owned())
        );
        std::fs::write(svg_file, playback.svg(&title))
            .map_err(|err| vec![format!("{}: cannot write: {err}", svg_file.display())])?;
        let _ = writeln!(report, "\nwrote {}", svg_file.display());
    }
    Ok(Simulated { report, warnings, playback })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_days_hours_minutes_and_seconds() {
        for (text, ms) in [
            ("+2d", 2 * DAY_MS),
            ("+30m", 30 * MINUTE_MS),
            ("+45s", 45 * SECOND_MS),
            ("+1h", HOUR_MS),
            ("+1h30m", HOUR_MS + 30 * MINUTE_MS),
            ("+1d2h3m4s", DAY_MS + 2 * HOUR_MS + 3 * MINUTE_MS + 4 * SECOND_MS),
            ("+0s", 0),
            ("+3650d", MAX_OFFSET_MS),
        ] {
            assert_eq!(parse_offset(text), Ok(ms), "{text}");
            assert_eq!(parse_when(text), Ok(When::After(ms)), "{text}");
        }
    }

    #[test]
    fn bad_offsets_say_what_is_wrong() {
        for (text, says) in [
            ("", "is not an offset"),
            ("2d", "is not an offset"),
            ("+", "has no amount"),
            ("+2", "has no unit after 2"),
            ("+d", "expected a whole number at \"d\""),
            ("+2x", "unknown unit 'x'"),
            ("+2D", "unknown unit 'D'"),
            ("-1h", "goes back in time"),
            ("+1.5h", "unknown unit '.'"),
            ("+ 2d", "expected a whole number at \" 2d\""),
            ("+30m1h", "units go from days to seconds"),
            ("+1h1h", "units go from days to seconds"),
            ("+3651d", "more than ten years"),
            ("+99999999999999999999999d", "too large"),
        ] {
            let error = parse_offset(text).expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains("\"+2d\""), "{text}: the error shows the form: {error}");
        }
    }

    #[test]
    fn times_are_rfc_3339_taken_to_utc() {
        let nine = DEFAULT_START;
        for text in
            ["2026-01-01T09:00:00Z", "2026-01-01t09:00:00z", "2026-01-01T10:00:00+01:00", "2026-01-01T04:30:00-04:30"]
        {
            assert_eq!(parse_time(text), Ok(nine), "{text}");
        }
        assert_eq!(parse_time("2026-01-01T09:00:00.25Z"), Ok(nine.plus_millis(250)));
        assert_eq!(parse_time("2024-02-29T00:00:00Z").map(Timestamp::iso8601), Ok("2024-02-29T00:00:00Z".into()));
        assert_eq!(parse_when("2026-01-01T09:00:00Z"), Ok(When::At(nine)));
        for (text, says) in [
            ("2026-01-01", "is not a time"),
            ("2026-01-01 09:00:00Z", "is not a time"),
            ("2026-01-01T09:00:00", "is not a time"),
            ("2026-01-01T09:00:00+0100", "needs its zone"),
            ("2026-13-01T09:00:00Z", "no month 13"),
            ("2025-02-29T09:00:00Z", "2025-02 has no day 29"),
            ("2026-01-01T24:00:00Z", "not a time of day"),
            ("1969-12-31T23:59:59Z", "1970 to 9999"),
            ("yesterday at nine", "is not a time"),
        ] {
            let error = parse_time(text).expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn hints_catch_typos_only() {
        assert_eq!(did_you_mean("evnt", ["event", "identify"]), Some("event"));
        assert_eq!(did_you_mean("identfy", ["event", "identify"]), Some("identify"));
        assert_eq!(did_you_mean("click", ["event", "identify"]), None);
        assert_eq!(did_you_mean("page_veiw", BUILT_IN_EVENTS.iter().copied()), Some("page_view"));
    }

    #[test]
    fn chart_steps_are_round() {
        assert_eq!(nice_step(0.3), 1.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(nice_step(41.0), 50.0);
        assert_eq!(time_interval(2 * HOUR_MS), 15 * MINUTE_MS);
        assert_eq!(time_interval(3 * DAY_MS), 12 * HOUR_MS);
    }
}
