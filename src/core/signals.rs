//! Pure helpers the browser shell uses to turn page facts into signals:
//! which form fields may be read as identity, what looks like a card
//! number, which links are downloads, what marks an ad-click arrival, and
//! which query parameters may leave the page. Kept here, away from the DOM,
//! so every rule of thumb is tested natively.

use crate::prelude::*;
use serde::{Deserialize, Serialize};

use super::identity::Field;
use super::text::{fold_char, is_word_char};
use super::time::Timestamp;

/// What the shell knows about a form control.
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldHints<'a> {
    /// The `type` attribute, e.g. `email`.
    pub input_type: &'a str,
    /// The `name` attribute.
    pub name: &'a str,
    /// The `id` attribute.
    pub id: &'a str,
    /// The `autocomplete` attribute, e.g. `organization-title`.
    pub autocomplete: &'a str,
}

/// Control types that are never read, whatever their name says.
const NEVER_TYPES: &[&str] = &["password", "hidden", "file", "submit", "button", "reset", "image", "checkbox", "radio"];
/// Name fragments that mark secrets or payment data; such fields are never read.
const NEVER_NAMES: &[&str] = &[
    "pass",
    "pwd",
    "card",
    "ccnum",
    "cc_num",
    "cvv",
    "cvc",
    "csc",
    "iban",
    "ssn",
    "social_security",
    "pin",
    "secret",
    "token",
    "otp",
];

/// Heuristic names per field, compared with the control's name or id
/// lowercased with every non-alphanumeric run turned into `_`.
const NAMES: &[(Field, &[&str])] = &[
    (Field::Email, &["email", "e_mail", "mail", "work_email", "business_email", "email_address", "your_email"]),
    (Field::FirstName, &["first_name", "firstname", "fname", "given_name", "forename"]),
    (Field::LastName, &["last_name", "lastname", "lname", "surname", "family_name"]),
    (Field::Name, &["name", "full_name", "fullname", "your_name", "contact_name"]),
    (Field::Company, &["company", "company_name", "organization", "organisation", "org", "business_name", "employer"]),
    (Field::JobTitle, &["job_title", "jobtitle", "title_job", "position", "job_role", "role", "job"]),
    (Field::CompanySize, &["company_size", "employees", "employee_count", "num_employees", "headcount", "team_size"]),
    (Field::Industry, &["industry", "sector", "vertical"]),
    (Field::Country, &["country", "country_code", "country_name"]),
    (Field::Phone, &["phone", "telephone", "tel", "mobile", "phone_number", "mobile_phone"]),
    (Field::Budget, &["budget", "project_budget", "budget_range"]),
    (Field::Timeline, &["timeline", "timeframe", "time_frame", "purchase_timeline", "buying_timeline"]),
];

/// Lowercases and turns runs of anything but letters and digits into `_`.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_word_char(c) {
            out.push(fold_char(c));
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The identity field a form control feeds, if it may be read at all.
///
/// `extra` are the config's own names per field (`identity_fields`); with
/// `heuristics` off only those and the standard `autocomplete` tokens count.
/// Passwords, hidden and file inputs and anything that looks like payment
/// data are never read.
pub fn classify_field(hints: &FieldHints<'_>, extra: &[(Field, Vec<String>)], heuristics: bool) -> Option<Field> {
    let input_type = hints.input_type.trim().to_ascii_lowercase();
    if NEVER_TYPES.contains(&input_type.as_str()) {
        return None;
    }
    let autocomplete = hints.autocomplete.trim().to_ascii_lowercase();
    if autocomplete.split_whitespace().any(|token| token.starts_with("cc-") || super::text::contains(token, "password"))
    {
        return None;
    }
    let names = [normalize(hints.name), normalize(hints.id)];
    let is_secret = names.iter().any(|name| {
        name.split('_').any(|part| NEVER_NAMES.contains(&part))
            || NEVER_NAMES.iter().any(|bad| bad.len() > 3 && super::text::contains(name, bad))
    });
    if is_secret {
        return None;
    }
    for (field, listed) in extra {
        if names.iter().any(|name| !name.is_empty() && listed.iter().any(|listed| normalize(listed) == *name)) {
            return Some(*field);
        }
    }
    let by_autocomplete = autocomplete.split_whitespace().find_map(|token| match token {
        "email" => Some(Field::Email),
        "name" => Some(Field::Name),
        "given-name" => Some(Field::FirstName),
        "family-name" => Some(Field::LastName),
        "organization" => Some(Field::Company),
        "organization-title" => Some(Field::JobTitle),
        "tel" | "tel-national" => Some(Field::Phone),
        "country" | "country-name" => Some(Field::Country),
        _ => None,
    });
    if by_autocomplete.is_some() || !heuristics {
        return by_autocomplete;
    }
    match input_type.as_str() {
        "email" => return Some(Field::Email),
        "tel" => return Some(Field::Phone),
        _ => {}
    }
    names.iter().filter(|name| !name.is_empty()).find_map(|name| {
        NAMES.iter().find(|(_, candidates)| candidates.contains(&name.as_str())).map(|(field, _)| *field)
    })
}

/// Whether a typed value looks like a payment card number (13 to 19 digits,
/// spaces or dashes allowed, passing the Luhn check); such values are never read.
pub fn looks_like_card_number(value: &str) -> bool {
    let mut digits = Vec::with_capacity(19);
    for c in value.trim().chars() {
        match c {
            '0'..='9' => digits.push(c as u32 - '0' as u32),
            ' ' | '-' => {}
            _ => return false,
        }
    }
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| if index % 2 == 1 { (digit * 2) % 9 + if *digit == 9 { 9 } else { 0 } } else { *digit })
        .sum();
    sum % 10 == 0
}

/// File extensions that make a link a download.
pub const DOWNLOAD_EXTENSIONS: &[&str] = &["pdf", "zip", "dmg", "exe", "pkg", "msi", "docx", "xlsx", "pptx", "csv"];

/// Whether a link's path points at a downloadable file type.
pub fn is_download_path(path: &str) -> bool {
    let file = super::text::after_last_ascii(path, b'/');
    super::text::rsplit_once_ascii(file, b'.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && DOWNLOAD_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// A `kind` for a download guessed from its file name, so preset rules such
/// as "trial download" work without markup.
pub fn guess_download_kind(path: &str) -> Option<&'static str> {
    let file = normalize(super::text::after_last_ascii(path, b'/'));
    [
        ("trial", "trial"),
        ("whitepaper", "whitepaper"),
        ("white_paper", "whitepaper"),
        ("ebook", "ebook"),
        ("e_book", "ebook"),
        ("report", "report"),
        ("guide", "guide"),
        ("case_study", "case-study"),
        ("datasheet", "datasheet"),
    ]
    .into_iter()
    .find(|(needle, _)| super::text::contains(&file, needle))
    .map(|(_, kind)| kind)
}

/// Longest UTM value a touch keeps, in characters.
pub const MAX_TOUCH_CHARS: usize = 100;

/// Click-id parameters of ad networks, and the network each belongs to.
pub const CLICK_IDS: &[(&str, &str)] = &[
    ("gclid", "google"),
    ("gbraid", "google"),
    ("wbraid", "google"),
    ("fbclid", "meta"),
    ("msclkid", "microsoft"),
    ("li_fat_id", "linkedin"),
    ("ttclid", "tiktok"),
];
const UTM_KEYS: &[&str] = &["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

/// Decoded `key=value` pairs of a query string (with or without `?`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16).map(|digit| digit as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(index + 1).and_then(|b| hex(*b)), bytes.get(index + 2).and_then(|b| hex(*b))) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    index += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        index += 1;
    }
    super::text::lossy_utf8(&out)
}

/// How a visitor arrived: UTM parameters and an ad click id, with the time.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Touch {
    /// When the visitor landed.
    pub at: Timestamp,
    /// `utm_source`, or the ad network of a click id.
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
    /// `utm_content`.
    pub content: Option<String>,
    /// The click-id parameter present, e.g. `gclid` (its value is not kept).
    pub click_id: Option<String>,
}

impl Touch {
    /// The UTM values by their payload names, in payload order.
    pub fn utm(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("source", &self.source),
            ("medium", &self.medium),
            ("campaign", &self.campaign),
            ("term", &self.term),
            ("content", &self.content),
        ]
    }

    /// The attribution a landing URL's query carries, if any. Values are cut
    /// to [`MAX_TOUCH_CHARS`] characters.
    pub fn from_query(query: &str, at: Timestamp) -> Option<Touch> {
        let pairs = query_pairs(query);
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(name, value)| name == key && !value.trim().is_empty())
                .map(|(_, value)| super::event::truncate(value.trim(), MAX_TOUCH_CHARS))
        };
        let click = CLICK_IDS.iter().find(|(param, _)| get(param).is_some());
        let touch = Touch {
            at,
            source: get("utm_source").or_else(|| click.map(|(_, network)| network.to_string())),
            medium: get("utm_medium"),
            campaign: get("utm_campaign"),
            term: get("utm_term"),
            content: get("utm_content"),
            click_id: click.map(|(param, _)| param.to_string()),
        };
        (touch.source.is_some() || touch.medium.is_some() || touch.campaign.is_some() || touch.click_id.is_some())
            .then_some(touch)
    }

    /// Whether this arrival came from a paid ad: a click id, or a paid `utm_medium`.
    pub fn is_ad_click(&self) -> bool {
        self.click_id.is_some()
            || self.medium.as_deref().is_some_and(|medium| {
                let medium = medium.to_ascii_lowercase();
                medium == "cpc" || medium == "ppc" || medium.starts_with("paid")
            })
    }
}

/// A query string reduced to what may leave the page: UTM parameters and ad
/// click ids; everything else (emails, tokens, search terms) is dropped.
/// Returns the query with its leading `?`, or an empty string.
pub fn strip_query(query: &str) -> String {
    let kept: Vec<&str> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| {
            let key = percent_decode(pair.split('=').next().unwrap_or(""));
            UTM_KEYS.contains(&key.as_str()) || CLICK_IDS.iter().any(|(param, _)| *param == key)
        })
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        cat!("?", super::text::joined(kept, "&"))
    }
}

/// Parses `data-leadscore-props`: a flat JSON object whose values are
/// strings, numbers or booleans, returned as text pairs.
pub fn parse_props(json: &str) -> Result<Vec<(String, String)>, String> {
    use super::json::Json;
    let value = super::json::parse(json).map_err(|error| cat!("data-leadscore-props is not JSON: ", error.text()))?;
    let Json::Object(map) = value else { return Err(PROPS_NOT_AN_OBJECT.into()) };
    props_from_values(map.iter().map(|(key, value)| {
        let value = match value {
            Json::String(text) => PropValue::Text(text.clone()),
            Json::Bool(flag) => PropValue::Bool(*flag),
            Json::Number(number) => match number.as_f64() {
                Some(number) => PropValue::Number(number),
                None => PropValue::Text(number.as_text().into()),
            },
            _ => PropValue::Other,
        };
        (key.clone(), value)
    }))
}

/// What `data-leadscore-props` must be.
pub const PROPS_NOT_AN_OBJECT: &str = "data-leadscore-props must be a JSON object like {\"kind\":\"trial\"}";

/// One value of `data-leadscore-props`, as JSON gave it.
pub enum PropValue {
    /// A string, kept as it is.
    Text(String),
    /// `true` or `false`, as that text.
    Bool(bool),
    /// A number, as [`super::event::number_text`] writes it.
    Number(f64),
    /// `null`, an array or an object: not allowed.
    Other,
}

/// The pairs of `data-leadscore-props` as text, by key, or the first key
/// whose value is not a string, number or boolean. The widget reads the
/// attribute with the browser's `JSON.parse` and hands its entries here, so
/// it carries no JSON reader of its own; [`parse_props`] does the same natively.
pub fn props_from_values(entries: impl Iterator<Item = (String, PropValue)>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (key, value) in entries {
        let text = match value {
            PropValue::Text(text) => text,
            PropValue::Bool(flag) => String::from(if flag { "true" } else { "false" }),
            PropValue::Number(number) => super::event::number_text(number),
            PropValue::Other => return Err(cat!("data-leadscore-props.", key, " must be a string, number or boolean")),
        };
        pairs.push((key, text));
    }
    // By key, as before: the order a page wrote them in says nothing.
    super::small_sort::sort_by(&mut pairs, |a, b| a.0.cmp(&b.0));
    Ok(pairs)
}
