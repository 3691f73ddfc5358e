//! Every mistake in a rule set, not only the first, for the tools a site
//! owner checks a config with (`collector check`). Native only: the widget
//! reports the first error and stays as small as it is.
//!
//! The parser stops at its first error. Rather than a second walker that
//! could drift from it, this runs the one parser again on the document with
//! each reported mistake taken out — an unknown field removed, a bad value
//! dropped or swapped for a neutral stand-in, a broken rule replaced by one
//! that scores nothing — so every message is the parser's own, hints and all.
//! An error that only follows from an earlier removal (a required field now
//! missing, a rule that lost its condition) is not reported again.

use crate::prelude::*;

use super::super::json::{self, Json, Object};
use super::super::presets::Preset;
use super::parse::parse_document;
use super::{Config, ConfigError, ConfigErrorKind as Kind};

/// More parses than any document has mistakes worth listing; a bound, so
/// that no input can keep the loop going.
const MAX_ROUNDS: usize = 1000;

/// One step of a JSON path: an object's key or an array's index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// [`Config::parse_all_errors`].
pub(super) fn parse_all_errors(text: &str) -> Result<Config, Vec<ConfigError>> {
    let first = match parse_document(text) {
        Ok(config) => return Ok(config),
        Err(error) => error,
    };
    let Ok(mut document) = json::parse(text) else { return Err(vec![first]) };
    let mut errors = vec![first.clone()];
    // Where something was taken out, to tell consequences from new
    // mistakes, and whether it was removed rather than given a stand-in.
    let mut taken_out: Vec<(Vec<Step>, bool)> = Vec::new();
    let mut current = first;
    for _ in 0..MAX_ROUNDS {
        let Some(at) = locate(&document, &current) else { break };
        // Complaining again where something was taken out means that taking
        // it out was not enough: take out what holds it.
        let target = if taken_out.iter().any(|(out, _)| *out == at) { parent(&at) } else { at };
        let Some(out) = take_out(&mut document, target, current.kind()) else { break };
        taken_out.push(out);
        match parse_document(&document.to_string()) {
            Ok(_) => break,
            Err(next) => {
                if !follows(&taken_out, locate(&document, &next)) {
                    errors.push(next.clone());
                }
                current = next;
            }
        }
    }
    Err(errors)
}

/// The steps of an error's path in `document`. Keys may hold `.` or `[`
/// (property names are free text), so each key is matched against the
/// object's real keys, the longest first. A missing last key (a required
/// field) is kept as written. `None` for the document as a whole.
fn locate(document: &Json, error: &ConfigError) -> Option<Vec<Step>> {
    let path = error.path();
    if path == "config" && !matches!(document, Json::Object(top) if top.contains_key("config")) {
        return None;
    }
    let mut steps = Vec::new();
    let (mut value, mut rest) = (Some(document), path);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (digits, tail) = after.split_once(']')?;
            let index: usize = digits.parse().ok()?;
            value = match value {
                Some(Json::Array(items)) => items.get(index),
                _ => None,
            };
            steps.push(Step::Index(index));
            rest = tail;
            continue;
        }
        let rest_key = if steps.is_empty() { rest } else { rest.strip_prefix('.')? };
        let found = match value {
            Some(Json::Object(object)) => object
                .keys()
                .filter(|key| {
                    rest_key
                        .strip_prefix(key.as_str())
                        .is_some_and(|tail| tail.is_empty() || tail.starts_with('.') || tail.starts_with('['))
                })
                .max_by_key(|key| key.len()),
            _ => None,
        };
        let key = match found {
            Some(key) => key.clone(),
            None => rest_key.to_string(),
        };
        rest = &rest_key[key.len()..];
        value = match value {
            Some(Json::Object(object)) => object.get(&key),
            _ => None,
        };
        steps.push(Step::Key(key));
    }
    Some(steps)
}

/// Whether an error at `path` only follows from what was taken out: it is
/// where something was taken out (a required field, now missing), or holds
/// something that was removed (a fit rule that lost its condition). A
/// stand-in is valid, so what holds it has mistakes of its own.
fn follows(taken_out: &[(Vec<Step>, bool)], path: Option<Vec<Step>>) -> bool {
    let Some(path) = path else { return false };
    taken_out.iter().any(|(out, removed)| *out == path || (*removed && out.starts_with(&path)))
}

fn parent(steps: &[Step]) -> Vec<Step> {
    steps[..steps.len().saturating_sub(1)].to_vec()
}

/// Changes the document so that the mistake at `target` is gone, and
/// returns where it changed it and whether it removed what was there
/// (rather than putting a stand-in in its place); `None` when nothing is
/// left to take out (the mistake is in the document as a whole).
fn take_out(document: &mut Json, mut target: Vec<Step>, kind: Kind) -> Option<(Vec<Step>, bool)> {
    loop {
        let (last, holder) = target.split_last()?;
        let holder = holder.to_vec();
        let rule_list = match holder.as_slice() {
            [Step::Key(list)] if list == "rules" || list == "fit" => Some(list.clone()),
            _ => None,
        };
        let replacement = match (last, rule_list) {
            // A broken rule: one that scores nothing keeps the indices of
            // the rules after it, so that their errors name the right place.
            (Step::Index(index), Some(list)) => Some(neutral_rule(&list, *index)),
            // A bad item of a smaller list: the list goes.
            (Step::Index(_), None) => {
                target = holder;
                continue;
            }
            (Step::Key(key), _) if kind != Kind::UnknownField => stand_in(&holder, key),
            (Step::Key(_), _) => None,
        };
        let present = find(document, &target);
        let changed = match (replacement, present) {
            (Some(value), present) if present != Some(&value) => {
                rebuild(document, &target, Some(value)).map(|changed| (changed, false))
            }
            (_, Some(_)) if matches!(last, Step::Key(_)) => {
                rebuild(document, &target, None).map(|changed| (changed, true))
            }
            // Already neutral, or a required field that is absent and has
            // no stand-in: what holds it goes.
            _ => None,
        };
        match changed {
            Some((changed, removed)) => {
                *document = changed;
                return Some((target, removed));
            }
            None => target = holder,
        }
    }
}

/// A valid value for a required field whose own value was wrong, so that
/// the rest of its object is still read: a site name, a preset, a rule id,
/// zero points.
fn stand_in(holder: &[Step], key: &str) -> Option<Json> {
    match (holder, key) {
        ([], "site") => Some(Json::string("site")),
        ([], "preset") => Some(Json::string(Preset::ALL[0].name())),
        ([Step::Key(list), Step::Index(index)], "id") if list == "rules" => Some(Json::string(stand_in_id(*index))),
        ([Step::Key(list), Step::Index(_)], "points") if list == "rules" || list == "fit" => Some(zero()),
        _ => None,
    }
}

/// A rule id no site writes, unique per index.
fn stand_in_id(index: usize) -> String {
    format!("zz-checked-{index}")
}

fn zero() -> Json {
    Json::Number(json::Number::from_i64(0))
}

/// A rule (or fit rule) that is valid and scores nothing.
fn neutral_rule(list: &str, index: usize) -> Json {
    let mut rule = Object::new();
    if list == "rules" {
        rule.insert("id".into(), Json::string(stand_in_id(index)));
        rule.insert("on".into(), Json::string("zz-checked"));
    } else {
        rule.insert("field".into(), Json::string("email"));
        rule.insert("present".into(), Json::Bool(true));
    }
    rule.insert("points".into(), zero());
    Json::Object(rule)
}

fn find<'a>(document: &'a Json, steps: &[Step]) -> Option<&'a Json> {
    steps.iter().try_fold(document, |value, step| match (value, step) {
        (Json::Object(object), Step::Key(key)) => object.get(key),
        (Json::Array(items), Step::Index(index)) => items.get(*index),
        _ => None,
    })
}

/// `value` with what is at `steps` set to `new`, or removed for `None`
/// (object keys only); `None` when the path does not lead anywhere. Built
/// anew rather than changed in place: [`Object`] has no mutable access, and
/// documents are small.
fn rebuild(value: &Json, steps: &[Step], new: Option<Json>) -> Option<Json> {
    match (value, steps) {
        (_, []) => new,
        (Json::Object(object), [Step::Key(key), rest @ ..]) => {
            let mut out = Object::new();
            let mut new = Some(new);
            for (name, child) in object.iter() {
                if name != key {
                    out.insert(name.clone(), child.clone());
                } else if let Some(new) = new.take() {
                    let child = if rest.is_empty() { new } else { Some(rebuild(child, rest, new)?) };
                    if let Some(child) = child {
                        out.insert(name.clone(), child);
                    }
                }
            }
            // An absent key is only ever added, at the end of the path.
            if let Some(new) = new {
                if !rest.is_empty() {
                    return None;
                }
                out.insert(key.clone(), new?);
            }
            Some(Json::Object(out))
        }
        (Json::Array(items), [Step::Index(index), rest @ ..]) => {
            let child = rebuild(items.get(*index)?, rest, new)?;
            let mut items = items.clone();
            items[*index] = child;
            Some(Json::Array(items))
        }
        _ => None,
    }
}
