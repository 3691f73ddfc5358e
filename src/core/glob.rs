//! URL globs for rules: `/pricing*`, `/blog/*/comments`, `/docs/?`.

use crate::prelude::*;
use core::fmt;

/// A parsed glob over a page path. `*` matches any run of characters
/// (slashes included, so `/product*` covers `/products/x`), `?` exactly one;
/// everything else matches itself, compared case-insensitively because
/// marketers write `/Pricing` and sites serve both.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlGlob {
    source: String,
    pattern: Vec<Token>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
}

impl UrlGlob {
    /// Parses a glob; the caller has already checked length and that it is
    /// a path (starts with `/` or `*`).
    pub(crate) fn new(source: &str) -> UrlGlob {
        let mut pattern = Vec::with_capacity(source.len());
        for c in source.chars() {
            let token = match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyOne,
                c => Token::Literal(c.to_ascii_lowercase()),
            };
            // Consecutive stars mean the same as one; collapsing keeps matching linear.
            if !(token == Token::AnyRun && pattern.last() == Some(&Token::AnyRun)) {
                pattern.push(token);
            }
        }
        UrlGlob { source: source.to_string(), pattern }
    }

    /// The glob as written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` matches the whole glob.
    pub fn matches(&self, path: &str) -> bool {
        // Iterative wildcard matching with one backtrack point: O(n·m) worst
        // case, no recursion, so hostile paths cannot blow the stack.
        let text: Vec<char> = path.chars().map(|c| c.to_ascii_lowercase()).collect();
        let (mut p, mut t) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.pattern.get(p) {
                Some(Token::AnyRun) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Token::AnyOne) => {
                    p += 1;
                    t += 1;
                }
                Some(Token::Literal(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pattern[p..].iter().all(|token| *token == Token::AnyRun)
    }
}

impl fmt::Debug for UrlGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlGlob({:?})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::UrlGlob;

    #[test]
    fn matches_like_a_shell_glob_over_paths() {
        let cases: &[(&str, &str, bool)] = &[
            ("/pricing*", "/pricing", true),
            ("/pricing*", "/pricing/enterprise", true),
            ("/pricing*", "/Pricing", true),
            ("/pricing*", "/about/pricing", false),
            ("*pricing*", "/about/pricing", true),
            ("/blog/*/comments", "/blog/2026/rust/comments", true),
            ("/blog/*/comments", "/blog/comments", false),
            ("/docs/?", "/docs/a", true),
            ("/docs/?", "/docs/ab", false),
            ("/", "/", true),
            ("/", "/x", false),
            ("*", "", true),
            ("/a**b", "/axxb", true),
        ];
        for (glob, path, expected) in cases {
            assert_eq!(UrlGlob::new(glob).matches(path), *expected, "{glob} vs {path}");
        }
    }

    #[test]
    fn hostile_paths_match_in_bounded_time() {
        let glob = UrlGlob::new("*a*a*a*a*a*b");
        let path = "a".repeat(2000);
        assert!(!glob.matches(&path));
    }
}
