//! "Did you mean" hints for misspelt names in configs and API calls.

use crate::prelude::*;
/// The candidate closest to `input`, if it is close enough to be a likely typo.
///
/// Close enough means an edit distance of at most one third of the longer
/// name (at least 1, at most 3), compared case-insensitively.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&input, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(distance, candidate)| {
            let longest = input.chars().count().max(candidate.chars().count());
            *distance <= (longest / 3).clamp(1, 3)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A suffix for error messages: `; did you mean "x"?` or nothing. The
/// shipped modules (the widget and its config compiler) give nothing: their
/// lines are short, and `collector check` gives the hint for a config.
pub(crate) fn hint_suffix<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    if cfg!(feature = "shipped") {
        return String::new();
    }
    match did_you_mean(input, candidates) {
        Some(name) => format!("; did you mean \"{name}\"?"),
        None => String::new(),
    }
}

/// Levenshtein distance with adjacent transpositions counted as one edit,
/// since swapped letters are the most common typo in hand-written JSON.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(128).collect();
    let b: Vec<char> = b.chars().take(128).collect();
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["within_days", "min_count", "points", "once"];
        assert_eq!(did_you_mean("withn_days", fields), Some("within_days"));
        assert_eq!(did_you_mean("piont", fields), Some("points"));
        assert_eq!(did_you_mean("colour", fields), None);
        assert_eq!(did_you_mean("ONCE", fields), Some("once"));
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(edit_distance("pricing", "pricnig"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
