//! Who the visitor says they are: identity fields captured from forms or
//! `identify()`, the only input to fit scoring.

use super::sorted_map::SortedMap;
use crate::prelude::*;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::event::{preview, truncate};
use super::hint::hint_suffix;
use super::time::Timestamp;

/// Longest identity value kept; longer answers are cut.
pub const MAX_VALUE_CHARS: usize = 128;

/// The identity fields the engine knows. Anything else a form holds is never
/// read, which keeps what the widget can learn to an explicit allowlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Field {
    /// Work or personal email; needed for `mql` unless the config waives it.
    Email,
    /// Full name.
    Name,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Company or organisation.
    Company,
    /// Job title, matched by keywords for seniority.
    JobTitle,
    /// Company size, a number or a range such as `51-200` or `1000+`.
    CompanySize,
    /// Industry.
    Industry,
    /// Country, as a name or ISO code.
    Country,
    /// Phone number.
    Phone,
    /// Budget (BANT), a number or a range such as `10k-50k`.
    Budget,
    /// Purchase timeline (BANT), free text such as `this quarter`.
    Timeline,
}

impl Field {
    /// Every field, in a fixed order.
    pub const ALL: [Field; 12] = [
        Field::Email,
        Field::Name,
        Field::FirstName,
        Field::LastName,
        Field::Company,
        Field::JobTitle,
        Field::CompanySize,
        Field::Industry,
        Field::Country,
        Field::Phone,
        Field::Budget,
        Field::Timeline,
    ];

    /// The field's name in configs, payloads and the JS API.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Company => "company",
            Field::JobTitle => "job_title",
            Field::CompanySize => "company_size",
            Field::Industry => "industry",
            Field::Country => "country",
            Field::Phone => "phone",
            Field::Budget => "budget",
            Field::Timeline => "timeline",
        }
    }

    /// The field with this name, or an error with a did-you-mean hint.
    pub fn parse(name: &str) -> Result<Field, IdentityError> {
        Field::ALL.into_iter().find(|field| field.name() == name).ok_or_else(|| IdentityError {
            message: cat!(
                "unknown identity field \"",
                preview(name),
                "\"",
                hint_suffix(name, Field::ALL.iter().map(|f| f.name())),
                "; known fields: ",
                super::text::joined(Field::ALL.iter().map(|f| f.name()), ", ")
            ),
        })
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an identity value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityError {
    message: String,
}

impl IdentityError {
    /// What went wrong, as `to_string()` says it, without core::fmt.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for IdentityError {}

/// One remembered answer and when it was given; the newest answer wins when
/// two tabs disagree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Answer {
    /// When the visitor gave it.
    pub at: Timestamp,
    /// The trimmed value.
    pub value: String,
}

/// The visitor's identity fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    answers: SortedMap<Field, Answer>,
}

impl Identity {
    /// The answers, by field (for the state codec).
    pub(crate) fn answers(&self) -> &SortedMap<Field, Answer> {
        &self.answers
    }

    /// An identity from stored answers (for the state codec).
    pub(crate) fn from_answers(answers: SortedMap<Field, Answer>) -> Identity {
        Identity { answers }
    }

    /// Records `value` for `field` at `at`. Empty values are ignored (a blank
    /// optional form field says nothing); emails must look like emails.
    pub fn set(&mut self, at: Timestamp, field: Field, value: &str) -> Result<(), IdentityError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        let value = truncate(value, MAX_VALUE_CHARS);
        if field == Field::Email && !looks_like_email(&value) {
            return Err(IdentityError {
                message: cat!("email: \"", preview(&value), "\" is not an email address (expected name@domain.tld)"),
            });
        }
        let answer = Answer { at, value: if field == Field::Email { value.to_ascii_lowercase() } else { value } };
        match self.answers.get(&field) {
            Some(existing) if *existing >= answer => {}
            _ => {
                self.answers.insert(field, answer);
            }
        }
        Ok(())
    }

    /// The current value of `field`.
    pub fn get(&self, field: Field) -> Option<&str> {
        self.answers.get(&field).map(|answer| answer.value.as_str())
    }

    /// Whether the visitor gave an email address.
    pub fn has_email(&self) -> bool {
        self.answers.contains_key(&Field::Email)
    }

    /// Whether no field is known.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// Every known field and its value, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.answers.iter().map(|(field, answer)| (*field, answer.value.as_str()))
    }

    /// Merges another tab's answers: per field, the newer answer wins (ties
    /// broken by value so that merging is order-independent).
    pub fn merge(&mut self, other: &Identity) {
        for (field, answer) in &other.answers {
            match self.answers.get(field) {
                Some(existing) if existing >= answer => {}
                _ => {
                    self.answers.insert(*field, answer.clone());
                }
            }
        }
    }
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = super::text::rsplit_once_ascii(value, b'@') else { return false };
    !local.is_empty()
        && !value.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// The domain of an email address, lowercased.
pub(crate) fn email_domain(email: &str) -> Option<String> {
    super::text::rsplit_once_ascii(email, b'@').map(|(_, domain)| domain.to_ascii_lowercase())
}

/// `digits` (ASCII digits, at most one `.`, starting with a digit) as the
/// nearest `f64`, exactly as `str::parse::<f64>` reads it, through the
/// core's exact decimal reader (`str::parse` would link core's
/// decimal-to-float tables, over 10 KB of wasm). Too large is infinite.
pub(crate) fn decimal(digits: &str) -> Option<f64> {
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let exponent = -(fraction.len() as i64);
    Some(super::json::decimal_to_f64(whole.bytes().chain(fraction.bytes()), exponent))
}

/// Reads a size or money answer as an inclusive range: `75` → 75..=75,
/// `51-200` → 51..=200, `1000+` → 1000..=∞, `10k-50k` → 10000..=50000,
/// `€25,000` → 25000..=25000. `None` when no number is in the text.
pub(crate) fn numeric_range(text: &str) -> Option<(f64, f64)> {
    let mut numbers = Vec::with_capacity(2);
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if !c.is_ascii_digit() {
            chars.next();
            continue;
        }
        let mut digits = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' {
                digits.push(c);
            } else if c != ',' && c != '_' {
                break;
            }
            chars.next();
        }
        let mut number = decimal(digits.trim_end_matches('.'))?;
        match chars.peek().map(|c| c.to_ascii_lowercase()) {
            Some('k') => number *= 1e3,
            Some('m') => number *= 1e6,
            _ => {}
        }
        numbers.push(number);
        if numbers.len() == 2 {
            break;
        }
    }
    match numbers.as_slice() {
        [] => None,
        [only] if text.contains('+') || super::text::contains(&text.to_ascii_lowercase(), "over") => {
            Some((*only, f64::INFINITY))
        }
        [only] => Some((*only, *only)),
        [low, high] => Some((low.min(*high), low.max(*high))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_reads_like_parse() {
        let mut cases: Vec<String> = [
            "0",
            "000",
            "7",
            "007",
            "0.5",
            "00.50",
            "1.2.3",
            "12.",
            "75",
            "25000",
            "0.1",
            "0.3",
            "1.005",
            "123456789012345",
            "1234567890123456",
            "12345678901234567890",
            "9007199254740993",
            "0.000000000000000000001",
            "1000000000000000000000000",
            "4.35",
            "2.675",
            "0.1000000000000000055511151231257827",
        ]
        .iter()
        .map(|text| text.to_string())
        .collect();
        cases.push(format!("1{}", "0".repeat(400)));
        cases.push(format!("0.{}1", "0".repeat(400)));
        cases.push(format!("{}.{}", "9".repeat(40), "9".repeat(40)));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 24) as usize;
            let point = (seed >> 8) as usize % (len + 1);
            let mut text: String = (0..len).map(|i| char::from(b'0' + ((seed >> (i * 2 % 60)) % 10) as u8)).collect();
            if point > 0 && point < len {
                text.insert(point, '.');
            }
            cases.push(text);
        }
        for text in cases {
            let expected = text.parse::<f64>().ok().filter(|_| !text.contains("..") && text.matches('.').count() <= 1);
            assert_eq!(decimal(&text).map(f64::to_bits), expected.map(f64::to_bits), "{text}");
        }
    }

    #[test]
    fn reads_ranges_people_type() {
        let cases: &[(&str, Option<(f64, f64)>)] = &[
            ("75", Some((75.0, 75.0))),
            ("51-200", Some((51.0, 200.0))),
            ("1000+", Some((1000.0, f64::INFINITY))),
            ("10k-50k", Some((10_000.0, 50_000.0))),
            ("€25,000", Some((25_000.0, 25_000.0))),
            ("over 500", Some((500.0, f64::INFINITY))),
            ("$1.5m", Some((1_500_000.0, 1_500_000.0))),
            ("not sure", None),
        ];
        for (text, expected) in cases {
            assert_eq!(numeric_range(text), *expected, "{text}");
        }
    }

    #[test]
    fn newest_answer_wins_in_either_merge_order() {
        let mut older = Identity::default();
        older.set(Timestamp(1), Field::Company, "Old Co").unwrap();
        let mut newer = Identity::default();
        newer.set(Timestamp(2), Field::Company, "New Co").unwrap();
        let mut a = older.clone();
        a.merge(&newer);
        let mut b = newer.clone();
        b.merge(&older);
        assert_eq!(a, b);
        assert_eq!(a.get(Field::Company), Some("New Co"));
    }

    #[test]
    fn refuses_non_emails_and_unknown_fields() {
        let mut identity = Identity::default();
        assert!(identity.set(Timestamp(1), Field::Email, "not-an-email").is_err());
        assert!(identity.set(Timestamp(1), Field::Email, "Ada@Example.COM").is_ok());
        assert_eq!(identity.get(Field::Email), Some("ada@example.com"));
        let error = Field::parse("jobtitle").unwrap_err().to_string();
        assert!(error.contains("did you mean \"job_title\"?"), "{error}");
    }
}
