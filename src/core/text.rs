//! Case folding and word characters for the text the engine compares (job
//! titles, property values, form field names), without std's Unicode
//! tables: `str::to_lowercase` and `char::is_alphanumeric` bring about
//! 10 KB gzip of tables and code into the widget (BENCHMARKS.md, "Toward
//! 20 KB"). Both sides of a comparison go through [`fold`], in the browser
//! and in the collector alike, so scores agree.
//!
//! Folded: ASCII, Latin-1, Latin Extended-A and -B, Greek, Cyrillic and
//! Latin Extended Additional (Vietnamese), each letter exactly as
//! `char::to_lowercase` maps it (a test compares every one); `İ` becomes
//! `i̇` as in std. Letters of other scripts compare as written.

use crate::prelude::*;
/// Runs of uppercase letters that lowercase by the same offset: `(first,
/// count, stride, offset)`, generated from `char::to_lowercase` over the
/// blocks above (the test `runs_match_std` checks every letter).
const RUNS: [(u16, u8, u8, i16); 87] = [
    (0x00c0, 23, 1, 32),
    (0x00d8, 7, 1, 32),
    (0x0100, 24, 2, 1),
    (0x0132, 3, 2, 1),
    (0x0139, 8, 2, 1),
    (0x014a, 23, 2, 1),
    (0x0178, 1, 1, -121),
    (0x0179, 3, 2, 1),
    (0x0181, 1, 1, 210),
    (0x0182, 2, 2, 1),
    (0x0186, 1, 1, 206),
    (0x0187, 1, 1, 1),
    (0x0189, 2, 1, 205),
    (0x018b, 1, 1, 1),
    (0x018e, 1, 1, 79),
    (0x018f, 1, 1, 202),
    (0x0190, 1, 1, 203),
    (0x0191, 1, 1, 1),
    (0x0193, 1, 1, 205),
    (0x0194, 1, 1, 207),
    (0x0196, 1, 1, 211),
    (0x0197, 1, 1, 209),
    (0x0198, 1, 1, 1),
    (0x019c, 1, 1, 211),
    (0x019d, 1, 1, 213),
    (0x019f, 1, 1, 214),
    (0x01a0, 3, 2, 1),
    (0x01a6, 1, 1, 218),
    (0x01a7, 1, 1, 1),
    (0x01a9, 1, 1, 218),
    (0x01ac, 1, 1, 1),
    (0x01ae, 1, 1, 218),
    (0x01af, 1, 1, 1),
    (0x01b1, 2, 1, 217),
    (0x01b3, 2, 2, 1),
    (0x01b7, 1, 1, 219),
    (0x01b8, 1, 1, 1),
    (0x01bc, 1, 1, 1),
    (0x01c4, 1, 1, 2),
    (0x01c5, 1, 1, 1),
    (0x01c7, 1, 1, 2),
    (0x01c8, 1, 1, 1),
    (0x01ca, 1, 1, 2),
    (0x01cb, 9, 2, 1),
    (0x01de, 9, 2, 1),
    (0x01f1, 1, 1, 2),
    (0x01f2, 2, 2, 1),
    (0x01f6, 1, 1, -97),
    (0x01f7, 1, 1, -56),
    (0x01f8, 20, 2, 1),
    (0x0220, 1, 1, -130),
    (0x0222, 9, 2, 1),
    (0x023a, 1, 1, 10795),
    (0x023b, 1, 1, 1),
    (0x023d, 1, 1, -163),
    (0x023e, 1, 1, 10792),
    (0x0241, 1, 1, 1),
    (0x0243, 1, 1, -195),
    (0x0244, 1, 1, 69),
    (0x0245, 1, 1, 71),
    (0x0246, 5, 2, 1),
    (0x0370, 2, 2, 1),
    (0x0376, 1, 1, 1),
    (0x037f, 1, 1, 116),
    (0x0386, 1, 1, 38),
    (0x0388, 3, 1, 37),
    (0x038c, 1, 1, 64),
    (0x038e, 2, 1, 63),
    (0x0391, 17, 1, 32),
    (0x03a3, 9, 1, 32),
    (0x03cf, 1, 1, 8),
    (0x03d8, 12, 2, 1),
    (0x03f4, 1, 1, -60),
    (0x03f7, 1, 1, 1),
    (0x03f9, 1, 1, -7),
    (0x03fa, 1, 1, 1),
    (0x03fd, 3, 1, -130),
    (0x0400, 16, 1, 80),
    (0x0410, 32, 1, 32),
    (0x0460, 17, 2, 1),
    (0x048a, 27, 2, 1),
    (0x04c0, 1, 1, 15),
    (0x04c1, 7, 2, 1),
    (0x04d0, 48, 2, 1),
    (0x1e00, 75, 2, 1),
    (0x1e9e, 1, 1, -7615),
    (0x1ea0, 48, 2, 1),
];

/// The lowercase form of one character (İ, the only letter here that
/// lowercases to two, is handled by [`fold`]).
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let code = c as u32;
    if code < 0xC0 {
        return c;
    }
    for (first, count, stride, offset) in RUNS {
        let (first, count, stride) = (u32::from(first), u32::from(count), u32::from(stride));
        if code < first {
            break;
        }
        let step = code - first;
        if step % stride == 0 && step / stride < count {
            return char::from_u32(code.wrapping_add_signed(i32::from(offset))).unwrap_or(c);
        }
    }
    c
}

/// `text` lowercased (see the module's note on which scripts fold).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{130}' {
            out.push_str("i\u{307}");
        } else {
            out.push(fold_char(c));
        }
    }
    out
}

/// Whether `c` is part of a word: ASCII letters and digits, the letters and
/// digits of Latin-1, and any other character outside the punctuation,
/// symbol and space blocks (combining accents count as part of their
/// letter).
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    let code = c as u32;
    let latin1_letter_or_digit = matches!(code, 0xAA | 0xB2 | 0xB3 | 0xB5 | 0xB9 | 0xBA | 0xBC..=0xBE);
    let not_word = (code <= 0xBF && !latin1_letter_or_digit)
        || code == 0xD7
        || code == 0xF7
        || (0x2000..=0x2BFF).contains(&code)
        || (0x3000..=0x303F).contains(&code)
        || (0xFE30..=0xFE4F).contains(&code)
        || (0xFF00..=0xFF0F).contains(&code);
    !not_word
}

/// `items` with `separator` between them: `[T]::join` without the
/// generic copy loop it brings to the wasm (about 1 KB of code for a few
/// error messages and one query string).
pub(crate) fn joined<'a>(items: impl IntoIterator<Item = &'a str>, separator: &str) -> String {
    let mut out = String::new();
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(item);
    }
    out
}

/// Where `needle` first occurs in `text` at or after byte `from`: a plain
/// byte search instead of std's two-way `str` searcher, which brings about
/// 2 KB of code to the wasm for the few short texts the engine searches
/// (field names, file names, job titles, URLs). A match of a whole UTF-8
/// needle always starts on a character boundary.
pub fn find_from(text: &str, needle: &str, from: usize) -> Option<usize> {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    if needle.is_empty() {
        return (from <= text.len()).then_some(from);
    }
    let last = text.len().checked_sub(needle.len())?;
    (from..=last).find(|&at| text[at..].starts_with(needle))
}

/// `parts` joined into one text: what `cat!` builds.
pub fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// How many characters `text` has, as `text.chars().count()` counts them:
/// one small loop for the short texts the core checks, instead of std's
/// word-at-a-time count (which core's padding still links for panic
/// messages).
pub fn char_count(text: &str) -> usize {
    // Every byte but a continuation byte (0b10xx_xxxx) starts a character.
    text.bytes().filter(|&byte| (byte as i8) >= -0x40).count()
}

/// `value` in decimal, as `value.to_string()` writes it, without core's
/// integer formatting.
pub fn uint(value: u64) -> String {
    // Backwards into a buffer that holds the longest, `u64::MAX`.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    while let Some(slot) = start.checked_sub(1).and_then(|at| digits.get_mut(at)) {
        *slot = b'0' + (rest % 10) as u8;
        start -= 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut text = String::with_capacity(digits.len() - start);
    for &digit in digits.get(start..).unwrap_or_default() {
        text.push(char::from(digit));
    }
    text
}

/// `value` in decimal, with its sign, as `value.to_string()` writes it.
pub fn int(value: i64) -> String {
    let magnitude = uint(value.unsigned_abs());
    if value < 0 {
        cat!("-", magnitude)
    } else {
        magnitude
    }
}

/// `value` as 16 lowercase hex digits, as `format!("{value:016x}")` writes it.
pub fn hex16(value: u64) -> String {
    let mut text = String::with_capacity(16);
    for place in (0..16).rev() {
        text.push(char::from(b"0123456789abcdef"[(value >> (place * 4)) as usize & 15]));
    }
    text
}

/// Whether `needle` occurs in `text` ([`find_from`]'s search).
pub fn contains(text: &str, needle: &str) -> bool {
    find_from(text, needle, 0).is_some()
}

/// `text` as a natural number: ASCII digits only, `None` when empty or
/// past `u64`. `str::parse::<u64>` reads the same, except that it also takes
/// a leading `+`, which no header, lease or count the widget reads carries;
/// its generic code is about 600 bytes the wasm needs for nothing else.
pub fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |number, byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit < 10)?;
        number.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// `text` split around the last `separator`, an ASCII byte, as
/// `str::rsplit_once` splits it: std's reverse character search is about
/// 900 bytes of code the wasm needs only for file names and email domains.
pub fn rsplit_once_ascii(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = text.bytes().rposition(|byte| byte == separator)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// What follows the last `separator` (an ASCII byte) in `text`, or all of
/// it: `text.rsplit(separator).next()`.
pub fn after_last_ascii(text: &str, separator: u8) -> &str {
    rsplit_once_ascii(text, separator).map_or(text, |(_, after)| after)
}

/// The pairs text the loader writes for a props object (www/README.md,
/// `pairs`): `COUNT\0`, then for each key and each value its length in
/// UTF-16 units (JS's `length`), `\0` and the text itself. Lengths, not
/// separators, so a NUL inside a key or a value reads back as it was.
/// Returns the pairs and what follows them (a queued `track()` call's event
/// name); `None` for a text that does not keep to the format.
pub fn read_pairs(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let (count, mut rest) = text.split_once('\0')?;
    let count = decimal(count)?;
    let mut pairs = Vec::new();
    for _ in 0..count {
        let (key, after) = utf16_field(rest)?;
        let (value, after) = utf16_field(after)?;
        pairs.push((key.to_string(), value.to_string()));
        rest = after;
    }
    Some((pairs, rest))
}

/// One `LENGTH\0TEXT` field of [`read_pairs`], and the text after it.
fn utf16_field(text: &str) -> Option<(&str, &str)> {
    let (length, rest) = text.split_once('\0')?;
    let length = decimal(length)?;
    let (mut units, mut end) = (0, rest.len());
    for (at, c) in rest.char_indices() {
        if units >= length {
            end = at;
            break;
        }
        units += c.len_utf16() as u64;
    }
    if units != length {
        return None;
    }
    Some((rest.get(..end)?, rest.get(end..)?))
}

/// `bytes` as text, each invalid UTF-8 sequence replaced by U+FFFD as
/// `String::from_utf8_lossy` does, with `str::from_utf8`'s own scanning:
/// the lossy iterator is about 500 bytes of code the wasm needs for this alone.
pub fn lossy_utf8(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match core::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                return text;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                text.push_str(core::str::from_utf8(valid).unwrap_or_default());
                text.push(char::REPLACEMENT_CHARACTER);
                rest = after.get(error.error_len().unwrap_or(after.len())..).unwrap_or_default();
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// What the loader's `pairs` writes for these pairs, followed by `rest`.
    fn written(pairs: &[(&str, &str)], rest: &str) -> String {
        let mut text = format!("{}\0", pairs.len());
        for (key, value) in pairs {
            for field in [key, value] {
                text += &format!("{}\0{field}", field.encode_utf16().count());
            }
        }
        text + rest
    }

    #[test]
    fn numbers_and_parts_read_as_format_writes_them() {
        let mut unsigned = vec![0, 1, 9, 10, 99, 100, 4_096, u64::from(u32::MAX), u64::MAX - 1, u64::MAX];
        unsigned.extend((0..64).map(|shift| 1u64 << shift).flat_map(|power| [power - 1, power, power + 1]));
        for value in unsigned {
            assert_eq!(uint(value), value.to_string());
            assert_eq!(hex16(value), format!("{value:016x}"));
        }
        for value in [0, 1, -1, 10, -10, 123_456_789, -987_654_321, i64::MIN, i64::MIN + 1, i64::MAX] {
            assert_eq!(int(value), value.to_string());
        }
        for text in ["", "a", "é", "€uro", "𝄞 clef", "日本語のテキスト", "mixed é € 𝄞"] {
            assert_eq!(char_count(text), text.chars().count(), "{text}");
        }
        let owned = String::from("owned");
        assert_eq!(cat!("a ", owned, " ", &owned, " ", uint(7)), "a owned owned 7");
        assert_eq!(concat(&[]), "");
    }

    #[test]
    fn read_pairs_reads_back_what_the_loader_writes() {
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[("item", "sku-1")],
            &[("", ""), ("a", "")],
            &[("kind", "trial"), ("plan", "pro"), ("seats", "12")],
            // NULs and digits inside keys and values are text like any other.
            &[("a\0b", "1\x002\0"), ("3", "\0")],
            // Non-ASCII: lengths count UTF-16 units, as JS does.
            &[("größe", "é"), ("emoji", "🎉🎉"), ("データ", "分析")],
        ];
        for pairs in cases {
            for rest in ["", "cart_add", "page\0view", "é"] {
                let text = written(pairs, rest);
                let (read, after) = read_pairs(&text).unwrap();
                let expected: Vec<(String, String)> =
                    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
                assert_eq!(read, expected, "{pairs:?}");
                assert_eq!(after, rest, "{pairs:?}");
            }
        }
    }

    #[test]
    fn read_pairs_refuses_a_text_that_breaks_the_format() {
        for text in [
            "",
            "1",
            "x\0",
            "1\0",
            "1\x004\0abc",
            "1\x003\0abc",
            "1\x003\0abc9\0d",
            "1\0z\0\x000\0",
            "2\x001\0a1\0b",
            // A length that ends inside a character of two UTF-16 units.
            "1\x001\0🎉0\0",
            "18446744073709551616\0",
        ] {
            assert_eq!(read_pairs(text), None, "{text:?}");
        }
        assert_eq!(read_pairs("0\0"), Some((Vec::new(), "")));
        assert_eq!(read_pairs("1\x000\x000\0x"), Some((vec![(String::new(), String::new())], "x")));
    }

    #[test]
    fn find_from_finds_every_place_std_finds() {
        let texts = ["", "a", "head of growth", "ééa é", "aaaa", "cto/co-founder", "データ分析 データ"];
        let needles = ["", "a", "aa", "é", "of", "データ", "x", "growth!", "ééa é!"];
        for text in texts {
            for needle in needles {
                for from in 0..=text.len() {
                    if !text.is_char_boundary(from) {
                        continue;
                    }
                    let expected = text[from..].find(needle).map(|at| at + from);
                    assert_eq!(find_from(text, needle, from), expected, "{needle:?} in {text:?} from {from}");
                }
                assert_eq!(contains(text, needle), text.contains(needle), "{needle:?} in {text:?}");
            }
        }
        assert_eq!(find_from("ab", "b", 5), None, "past the end");
    }

    use super::*;

    const BLOCKS: [(u32, u32); 5] = [(0, 0x7F), (0x80, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x1E00, 0x1EFF)];

    #[test]
    fn decimals_read_as_parse_does() {
        let cases =
            ["", "0", "7", "007", "120", "18446744073709551615", "18446744073709551616", "99999999999999999999"];
        let others = ["1a", " 1", "1 ", "-1", "1.5", "١", "１", "0x10"];
        for text in cases.iter().chain(&others) {
            assert_eq!(decimal(text), text.parse::<u64>().ok(), "{text:?}");
        }
        assert_eq!(decimal("+5"), None, "unlike parse, no sign");
    }

    #[test]
    fn ascii_splits_are_stds() {
        for text in ["", "@", "a@b", "a@b@c.example", "ü@ß.de", "no separator", "/x/y.pdf", "/", "a/", "😀/😀.zip"]
        {
            for (separator, byte) in [('@', b'@'), ('/', b'/'), ('.', b'.')] {
                assert_eq!(rsplit_once_ascii(text, byte), text.rsplit_once(separator), "{text:?}");
                assert_eq!(after_last_ascii(text, byte), text.rsplit(separator).next().unwrap(), "{text:?}");
            }
        }
    }

    #[test]
    fn lossy_text_is_stds() {
        let cases: [&[u8]; 12] = [
            b"",
            b"plain",
            "ünïcødé 😀".as_bytes(),
            b"\xff",
            b"a\xffb",
            b"\xe2\x82",
            b"\xe2\x82a",
            b"\xf0\x9f\x98",
            b"\xf0\x9f\x98\x80\xf0",
            b"\xc0\x80",
            b"\xed\xa0\x80",
            b"\x80\x80\x80x",
        ];
        for bytes in cases {
            assert_eq!(lossy_utf8(bytes), String::from_utf8_lossy(bytes), "{bytes:?}");
        }
        for first in 0..=255u8 {
            for second in [0x00, 0x41, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff] {
                let bytes = [first, second, 0x80, 0x41];
                assert_eq!(lossy_utf8(&bytes), String::from_utf8_lossy(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn runs_match_std() {
        for (first, last) in BLOCKS {
            for c in (first..=last).filter_map(char::from_u32) {
                let expected: String = c.to_lowercase().collect();
                assert_eq!(fold(&c.to_string()), expected, "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn other_scripts_compare_as_written() {
        for c in ['Ա', 'Ⴀ', '中', 'ア', '😀'] {
            assert_eq!(fold_char(c), c);
        }
        assert_eq!(
            fold("GESCHÄFTSFÜHRER · Ωμέγα · ДИРЕКТОР · İstanbul"),
            "geschäftsführer · ωμέγα · директор · i̇stanbul"
        );
    }

    #[test]
    fn word_chars_are_stds_letters_and_digits() {
        for c in (0..=0xFFu32).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "U+{:04X}", c as u32);
        }
        for (first, last) in BLOCKS {
            for c in (first..=last).filter_map(char::from_u32).filter(|c| c.is_alphanumeric()) {
                assert!(is_word_char(c), "U+{:04X}", c as u32);
            }
        }
        for c in ['–', '—', '’', '“', '…', '€', '、', '！'] {
            assert!(!is_word_char(c), "{c}");
        }
    }
}
