//! Fit: how well the visitor matches the ideal customer, graded A–D from
//! identity fields and kept apart from the engagement score.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::config::{FitCondition, FitRule, GradeThresholds};
use super::identity::{email_domain, numeric_range, Field, Identity};
use super::text::{fold, is_word_char};

static FREE_MAIL_LIST: &str = include_str!("freemail.txt");

/// Whether `domain` is a free or consumer email provider from the shipped list.
pub fn is_free_mail_domain(domain: &str) -> bool {
    let domain = domain.trim().to_ascii_lowercase();
    FREE_MAIL_LIST.lines().any(|line| !line.starts_with('#') && line == domain)
}

/// The fit grade. `A` is the ideal customer; `D` is a poor or unknown fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    /// Ideal fit.
    A,
    /// Good fit.
    B,
    /// Some fit.
    C,
    /// Poor or unknown fit.
    D,
}

impl Grade {
    /// The grade as one letter.
    pub const fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }

    pub(crate) fn from_points(points: i64, thresholds: &GradeThresholds) -> Grade {
        if points >= thresholds.a {
            Grade::A
        } else if points >= thresholds.b {
            Grade::B
        } else if points >= thresholds.c {
            Grade::C
        } else {
            Grade::D
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FitRule {
    /// Whether the visitor's identity meets this rule's condition.
    pub fn matches(&self, identity: &Identity) -> bool {
        let value = identity.get(self.field);
        match (&self.condition, value) {
            (FitCondition::Present, value) => value.is_some(),
            (_, None) => false,
            (FitCondition::ContainsAny(words), Some(value)) => {
                let value = fold(value);
                words.iter().any(|word| contains_word(&value, word))
            }
            (FitCondition::In(options), Some(value)) => {
                let value = fold(value.trim());
                options.contains(&value)
            }
            (FitCondition::NotIn(options), Some(value)) => {
                let value = fold(value.trim());
                !options.contains(&value)
            }
            (FitCondition::Range { at_least, at_most }, Some(value)) => match numeric_range(value) {
                Some((low, high)) => at_least.is_none_or(|min| low >= min) && at_most.is_none_or(|max| high <= max),
                None => false,
            },
            (FitCondition::FreeMail, Some(value)) => {
                self.field == Field::Email && email_domain(value).is_some_and(|domain| is_free_mail_domain(&domain))
            }
        }
    }
}

/// Whether `word` (lowercase) occurs in `text` (lowercase) as a whole word, so
/// that "vp" matches "VP Sales" but not "mvp developer".
fn contains_word(text: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(start) = super::text::find_from(text, word, from) {
        let before = text.get(..start).unwrap_or_default().chars().next_back();
        let after = text.get(start + word.len()..).unwrap_or_default().chars().next();
        if !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char) {
            return true;
        }
        // On to the next character: matches may overlap.
        from = start + text.get(start..).unwrap_or_default().chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_mail_list_is_lowercase_and_known() {
        assert!(is_free_mail_domain("gmail.com"));
        assert!(is_free_mail_domain("GMAIL.com"));
        assert!(!is_free_mail_domain("acme.example"));
        for line in FREE_MAIL_LIST.lines().filter(|line| !line.starts_with('#')) {
            assert_eq!(line, line.trim().to_ascii_lowercase(), "freemail.txt line {line:?}");
        }
    }

    #[test]
    fn keywords_match_whole_words() {
        assert!(contains_word("vp sales", "vp"));
        assert!(contains_word("head of growth", "head of"));
        assert!(!contains_word("mvp developer", "vp"));
        assert!(contains_word("mvp, vp sales", "vp"), "a later match after one inside a word");
        assert!(contains_word("é vp", "vp"));
        assert!(contains_word("cto/co-founder", "cto"));
    }
}
