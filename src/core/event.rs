//! Signals: what a visitor did, as the shells hand it to the engine.

use super::float::fract;
use super::sorted_map::SortedMap;
use super::text::{hex16, int, uint};
use crate::prelude::*;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// Event names the widget emits by itself or documents for `track()`.
///
/// Any other well-formed name is a custom event; rules may match either.
pub const BUILT_IN_EVENTS: &[&str] = &[
    "page_view",
    "visit",
    "engaged_time",
    "scroll_depth",
    "form_submit",
    "download",
    "wishlist_add",
    "cart_add",
    "demo_use",
    "newsletter_signup",
    "ad_click",
    "contact_request",
    "quote_request",
    "live_demo_request",
    "pricing_request",
    "unsubscribe",
];

/// Events that show sales intent: an MQL who does one of these is `sales_ready`.
pub const SALES_INTENT_EVENTS: &[&str] = &["contact_request", "quote_request", "live_demo_request", "pricing_request"];

/// Longest event name accepted.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest URL path kept on an event; longer paths are cut, never rejected,
/// because they come from the page, not from the site owner.
pub const MAX_URL_CHARS: usize = 512;
/// Most properties kept on one event.
pub const MAX_PROPS: usize = 16;
/// Longest property key.
pub const MAX_PROP_KEY_CHARS: usize = 64;
/// Longest property value kept; longer values are cut.
pub const MAX_PROP_VALUE_CHARS: usize = 256;

/// A unique id for one event, chosen by the shell (random per page load plus
/// a counter). Merging two tabs' states relies on it: an id is counted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub u64);

/// One thing a visitor did, reduced to what scoring can use.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Event {
    /// When it happened. Ordering events by `(at, id)` makes replays deterministic.
    pub at: Timestamp,
    /// Unique id, see [`EventId`].
    pub id: EventId,
    /// The event name, e.g. `page_view` or a custom `video_play`.
    pub name: String,
    /// The path the event is about: the page for `page_view`, `engaged_time`
    /// and `scroll_depth`, the file for `download`.
    pub url: Option<String>,
    /// String properties, e.g. `kind = trial` on a download.
    pub props: SortedMap<String, String>,
    /// The measured amount for measurement events: seconds for
    /// `engaged_time`, percent for `scroll_depth`.
    pub value: Option<u32>,
    /// The page view a measurement belongs to, so a rule such as "120 s
    /// engaged on /product*" counts once per page view however often the
    /// shell reports the growing total.
    pub page_view: Option<EventId>,
}

/// Why an event from `track()` or a shell was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    message: String,
}

impl EventError {
    /// What went wrong, as `to_string()` says it, without core::fmt.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for EventError {}

impl Event {
    /// A new event with no url, properties or value.
    pub fn new(id: EventId, at: Timestamp, name: &str) -> Result<Event, EventError> {
        check_name(name).map_err(|message| EventError { message: cat!("event name ", message) })?;
        Ok(Event { at, id, name: name.to_string(), url: None, props: SortedMap::new(), value: None, page_view: None })
    }

    /// Sets the path the event is about, cut to [`MAX_URL_CHARS`].
    pub fn with_url(mut self, path: &str) -> Event {
        self.url = Some(truncate(path, MAX_URL_CHARS));
        self
    }

    /// Adds a property; values are cut to [`MAX_PROP_VALUE_CHARS`].
    pub fn with_prop(mut self, key: &str, value: &str) -> Result<Event, EventError> {
        if key.is_empty() || super::text::char_count(key) > MAX_PROP_KEY_CHARS {
            return Err(EventError {
                message: cat!(
                    "property key must be 1 to ",
                    uint(MAX_PROP_KEY_CHARS as u64),
                    " characters, got ",
                    uint(super::text::char_count(key) as u64)
                ),
            });
        }
        if !self.props.contains_key(key) && self.props.len() >= MAX_PROPS {
            return Err(EventError {
                message: cat!(
                    "an event holds at most ",
                    uint(MAX_PROPS as u64),
                    " properties; drop \"",
                    key,
                    "\" or another"
                ),
            });
        }
        self.props.insert(key.to_string(), truncate(value, MAX_PROP_VALUE_CHARS));
        Ok(self)
    }

    /// Sets the measured amount (seconds or percent).
    pub fn with_value(mut self, value: u32) -> Event {
        self.value = Some(value);
        self
    }

    /// Ties a measurement to the page view it belongs to.
    pub fn in_page_view(mut self, page_view: EventId) -> Event {
        self.page_view = Some(page_view);
        self
    }
}

/// Checks an event name: 1 to 64 of `A-Z a-z 0-9 _ . : -`. The error text
/// completes a sentence that starts with the name's role.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || super::text::char_count(name) > MAX_NAME_CHARS {
        return Err(cat!(
            "must be 1 to ",
            uint(MAX_NAME_CHARS as u64),
            " characters, got ",
            uint(super::text::char_count(name) as u64)
        ));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))) {
        return Err(cat!(
            "may use letters, digits, '_', '.', ':' and '-' only, found ",
            quoted(bad),
            " in \"",
            preview(name),
            "\""
        ));
    }
    Ok(())
}

/// A number as property text, the same wherever it comes from (a rule's
/// condition, `track()` props, `data-leadscore-props`): `2` and `2.0` are
/// both `"2"`, which is what a page would send.
pub fn number_text(number: f64) -> String {
    if fract(number) == 0.0 && number.abs() < 1e15 {
        int(number as i64)
    } else {
        super::json::format_number(number)
    }
}

/// `text` cut to at most `max` characters, on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text.get(..end).unwrap_or_default().to_string(),
        None => text.to_string(),
    }
}

/// A character as an error message shows it: `'x'`, or `'\u{a}'` for one
/// that would not print (a control character). Not `{:?}`: char's `Debug`
/// brings about 2 KB of escaping code to the wasm for this alone.
pub(crate) fn quoted(c: char) -> String {
    let mut text = String::from("'");
    if c.is_control() {
        let hex = hex16(u64::from(u32::from(c)));
        let digits = hex.trim_start_matches('0');
        text.push_str("\\u{");
        text.push_str(if digits.is_empty() { "0" } else { digits });
        text.push('}');
    } else {
        text.push(c);
    }
    text.push('\'');
    text
}

/// A short preview of untrusted text for error messages.
pub(crate) fn preview(text: &str) -> String {
    if super::text::char_count(text) > 40 {
        cat!(truncate(text, 40), "…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_characters_read_as_before() {
        for c in ['x', 'é', '\0', '\n', '\u{7f}', '\u{9f}', '€'] {
            let expected = if c.is_control() { format!("'\\u{{{:x}}}'", c as u32) } else { format!("'{c}'") };
            assert_eq!(quoted(c), expected);
        }
    }

    #[test]
    fn messages_name_their_numbers() {
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            check_name(&long).unwrap_err(),
            format!("must be 1 to {MAX_NAME_CHARS} characters, got {}", long.len())
        );
        assert_eq!(number_text(-42.0), "-42");
        assert_eq!(number_text(2.5), "2.5");
    }
}
