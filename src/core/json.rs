//! One small JSON reader and writer for the core, used by the widget and
//! the collector alike, so both read a config (and hash it) byte for byte
//! the same way. Small on purpose: no serde, no float parsing tables, no
//! float formatting. Numbers keep the text they were written as, for
//! messages and for writing back; their value comes from an exact decimal
//! reader (see [`Number`]).

use crate::prelude::*;
use core::fmt;

/// Deeper nesting than any document needs; deeper input is an error, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, with the text it was written as.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, in document order; a repeated key keeps its last value.
    Object(Object),
}

/// A JSON number: its value as an `f64`, and its text.
///
/// The value is the nearest double (ties to even), exactly as
/// `str::parse::<f64>` reads the same text, without its tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    value: f64,
    text: String,
}

impl Number {
    /// The number's value.
    pub fn as_f64(&self) -> Option<f64> {
        Some(self.value)
    }

    /// A number from a value: integers are written without a fraction, other
    /// values as given by `text`.
    pub fn from_parts(value: f64, text: String) -> Number {
        Number { value, text }
    }

    /// The text the number was written as (what `to_string()` gives).
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// A whole number.
    pub fn from_i64(value: i64) -> Number {
        Number { value: value as f64, text: super::text::int(value) }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A JSON object: key-value pairs in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    entries: Vec<(String, Json)>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.entries.iter().find(|(name, _)| name == key).map(|(_, value)| value)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, replacing an earlier value in place.
    pub fn insert(&mut self, key: String, value: Json) {
        match self.entries.iter_mut().find(|(name, _)| *name == key) {
            Some((_, slot)) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The keys, in document order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(key, _)| key)
    }

    /// The entries, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a String, &'a Json);
    type IntoIter = core::iter::Map<core::slice::Iter<'a, (String, Json)>, fn(&'a (String, Json)) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(key, value)| (key, value))
    }
}

impl Json {
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The number's value, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(number) => number.as_f64(),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// A string value.
    pub fn string(text: impl Into<String>) -> Json {
        Json::String(text.into())
    }
}

/// Where and why a document is not JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    message: &'static str,
    line: usize,
    column: usize,
}

impl JsonError {
    /// What `to_string()` says, without core::fmt.
    pub fn text(&self) -> String {
        use super::text::uint;
        cat!(self.message, " at line ", uint(self.line as u64), " column ", uint(self.column as u64))
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl core::error::Error for JsonError {}

/// Reads a whole document.
pub fn parse(text: &str) -> Result<Json, JsonError> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
    reader.skip_space();
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.at < reader.bytes.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

/// Reads one JSON number (the whole of `text`), if it is one.
pub fn parse_number(text: &str) -> Option<f64> {
    let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
    let number = reader.number().ok()?;
    (reader.at == text.len()).then_some(number.value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, message: &'static str) -> JsonError {
        let before = &self.bytes[..self.at.min(self.bytes.len())];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&byte| byte != b'\n').count();
        JsonError { message, line, column }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Result<Json, JsonError> {
        for &expected in word {
            match self.peek() {
                Some(byte) if byte == expected => self.at += 1,
                Some(_) => return Err(self.error("expected value")),
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(value)
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        match self.peek() {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number().map(Json::Number),
            Some(_) => Err(self.error("expected value")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_space();
            if self.peek().is_none() {
                return Err(self.error("EOF while parsing a list"));
            }
            items.push(self.value(depth + 1)?);
            if self.after_item(b']', "expected `,` or `]`", "EOF while parsing a list")? {
                return Ok(Json::Array(items));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.at += 1;
        let mut object = Object::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(object));
        }
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            let key = self.string()?;
            self.skip_space();
            match self.peek() {
                Some(b':') => self.at += 1,
                Some(_) => return Err(self.error("expected `:`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            self.skip_space();
            let value = self.value(depth + 1)?;
            object.insert(key, value);
            if self.after_item(b'}', "expected `,` or `}`", "EOF while parsing an object")? {
                return Ok(Json::Object(object));
            }
        }
    }

    /// After an array item or an object member: a `,` with another item to
    /// come (`false`), or the `close` byte (`true`).
    fn after_item(&mut self, close: u8, expected: &'static str, eof: &'static str) -> Result<bool, JsonError> {
        self.skip_space();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                self.skip_space();
                if self.peek() == Some(close) {
                    return Err(self.error("trailing comma"));
                }
                Ok(false)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(true)
            }
            Some(_) => Err(self.error(expected)),
            None => Err(self.error(eof)),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(byte @ b'0'..=b'9') => byte - b'0',
                Some(byte @ b'a'..=b'f') => byte - b'a' + 10,
                Some(byte @ b'A'..=b'F') => byte - b'A' + 10,
                Some(_) => return Err(self.error("invalid escape")),
                None => return Err(self.error("EOF while parsing a string")),
            };
            code = code * 16 + u32::from(digit);
            self.at += 1;
        }
        Ok(code)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut text = String::new();
        loop {
            let start = self.at;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The input is a `str` and we stopped at an ASCII byte: a boundary.
            text.push_str(
                core::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.error("invalid unicode"))?,
            );
            match self.peek() {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.peek() {
                        None => return Err(self.error("EOF while parsing a string")),
                        Some(byte) => byte,
                    };
                    self.at += 1;
                    let decoded = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    text.push(decoded);
                }
                Some(_) => return Err(self.error("control character (\\u0000-\\u001F) found while parsing a string")),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                return Err(self.error("lone leading surrogate in hex escape"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("lone leading surrogate in hex escape"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("lone trailing surrogate in hex escape"))
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        let int_digits = self.digits();
        if int_digits == 0 {
            return Err(self.error(if self.peek().is_none() { "EOF while parsing a value" } else { "invalid number" }));
        }
        if int_digits > 1 && self.bytes[int_start] == b'0' {
            return Err(self.error("invalid number"));
        }
        let int_end = self.at;
        let (mut frac_start, mut frac_end) = (self.at, self.at);
        if self.peek() == Some(b'.') {
            self.at += 1;
            frac_start = self.at;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
            frac_end = self.at;
        }
        let mut exponent: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let negative_exponent = match self.peek() {
                Some(b'-') => {
                    self.at += 1;
                    true
                }
                Some(b'+') => {
                    self.at += 1;
                    false
                }
                _ => false,
            };
            let exp_start = self.at;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
            for &digit in &self.bytes[exp_start..self.at] {
                exponent = (exponent * 10 + i64::from(digit - b'0')).min(100_000);
            }
            if negative_exponent {
                exponent = -exponent;
            }
        }
        let digits = self.bytes[int_start..int_end].iter().chain(&self.bytes[frac_start..frac_end]).copied();
        let magnitude = decimal_to_f64(digits, exponent - (frac_end - frac_start) as i64);
        if !magnitude.is_finite() {
            return Err(self.error("number out of range"));
        }
        let value = if negative { -magnitude } else { magnitude };
        let text = String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned();
        Ok(Number { value, text })
    }
}

/// Significant digits kept for the exact comparison: enough to tell any
/// two doubles' halfway point apart (767 digits), with a sticky digit for
/// what is cut.
const MAX_EXACT_DIGITS: usize = 800;

/// The decimal `digits × 10^exponent` as the nearest `f64` (ties to even),
/// as `str::parse::<f64>` reads it, without its tables: a first guess from
/// the leading digits (exact on Clinger's fast path), then, when the guess
/// may be off, corrected by comparing the decimal with the halfway points
/// to its neighbours in exact integer arithmetic.
pub(crate) fn decimal_to_f64(digits: impl Iterator<Item = u8>, exponent: i64) -> f64 {
    // value = significant × 10^exponent, with leading zeros dropped.
    let mut significant: Vec<u8> = Vec::new();
    let mut exponent = exponent;
    let mut sticky = false;
    for digit in digits.skip_while(|&digit| digit == b'0') {
        if significant.len() < MAX_EXACT_DIGITS {
            significant.push(digit - b'0');
        } else {
            exponent += 1;
            sticky |= digit != b'0';
        }
    }
    if sticky {
        significant.push(1);
        exponent -= 1;
    }
    while significant.last() == Some(&0) {
        significant.pop();
        exponent += 1;
    }
    if significant.is_empty() {
        return 0.0;
    }
    let exponent = exponent.clamp(-100_000, 100_000);
    let leading = significant.len().min(19);
    let mantissa = significant[..leading].iter().fold(0u64, |value, &digit| value * 10 + u64::from(digit));
    let guess_exponent = exponent + (significant.len() - leading) as i64;
    if significant.len() <= 19 && mantissa < (1 << 53) && (guess_exponent == 0 || guess_exponent.unsigned_abs() <= 22) {
        return fast_guess(mantissa, guess_exponent);
    }
    let mut candidate = fast_guess(mantissa, guess_exponent);
    if candidate.is_infinite() {
        candidate = f64::MAX;
    }
    let exact = Big::from_digits(&significant);
    for _ in 0..64 {
        let bits = candidate.to_bits();
        let (stored_exponent, fraction) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
        let (k, e) =
            if stored_exponent == 0 { (fraction, -1074) } else { (fraction | 1 << 52, stored_exponent - 1075) };
        // Above: halfway to the next double up.
        match compare(&exact, exponent, 2 * k + 1, e - 1) {
            core::cmp::Ordering::Greater => {
                candidate = f64::from_bits(bits + 1);
                if candidate.is_infinite() {
                    return candidate;
                }
                continue;
            }
            core::cmp::Ordering::Equal => return if k % 2 == 1 { f64::from_bits(bits + 1) } else { candidate },
            core::cmp::Ordering::Less => {}
        }
        if bits == 0 {
            return candidate;
        }
        // Below: halfway to the next double down (closer at a binade's start).
        let below = if fraction == 0 && stored_exponent > 1 {
            compare(&exact, exponent, 4 * k - 1, e - 2)
        } else {
            compare(&exact, exponent, 2 * k - 1, e - 1)
        };
        match below {
            core::cmp::Ordering::Less => candidate = f64::from_bits(bits - 1),
            core::cmp::Ordering::Equal => return if k % 2 == 1 { f64::from_bits(bits - 1) } else { candidate },
            core::cmp::Ordering::Greater => return candidate,
        }
    }
    candidate
}

/// `mantissa × 10^exponent` in floating point: exact when the mantissa fits
/// in 53 bits and the exponent in ±22, a close guess otherwise.
fn fast_guess(mantissa: u64, exponent: i64) -> f64 {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let mut result = mantissa as f64;
    if exponent > 330 {
        return f64::INFINITY;
    }
    if exponent < -400 {
        return 0.0;
    }
    let mut rest = exponent;
    while rest > 22 {
        result *= 1e22;
        rest -= 22;
    }
    while rest < -22 {
        result /= 1e22;
        rest += 22;
    }
    if rest >= 0 {
        result * POWERS[rest as usize]
    } else {
        result / POWERS[(-rest) as usize]
    }
}

/// `exact × 10^exponent` against `n × 2^power`, in integers.
fn compare(exact: &Big, exponent: i64, n: u64, power: i64) -> core::cmp::Ordering {
    let mut left = exact.clone();
    let mut right = Big::from_u64(n);
    let (five_left, five_right) = (exponent.max(0), (-exponent).max(0));
    left.mul_pow5(five_left as u32);
    right.mul_pow5(five_right as u32);
    let shift = exponent.max(0) - (power + five_right);
    if shift >= 0 {
        left.shl(shift as u32);
    } else {
        right.shl((-shift) as u32);
    }
    left.cmp(&right)
}

/// `value` as the shortest decimal that reads back as the same `f64`, in
/// positional notation: the text `format!("{value}")` gives, without core's
/// float formatting (Grisu and Dragon, about 14 KB of wasm).
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let magnitude = value.abs();
    if magnitude == 0.0 {
        return cat!(sign, "0");
    }
    let (digits, exponent) = exact_decimal(magnitude);
    for precision in 1..=17 {
        // Ties away from zero here, as Rust's shortest mode does.
        let (rounded, rounded_exponent) = round_digits(&digits, exponent, precision, true);
        if decimal_to_f64(rounded.iter().map(|digit| b'0' + digit), rounded_exponent) == magnitude {
            return cat!(sign, positional(&rounded, rounded_exponent));
        }
    }
    cat!(sign, positional(&digits, exponent))
}

/// `value` with exactly `decimals` digits after the point, rounded half to
/// even on its exact value: the text `format!("{value:.decimals$}")` gives.
pub fn format_fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return format_number(value);
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let magnitude = value.abs();
    let (digits, exponent) = if magnitude == 0.0 { (vec![0], 0) } else { exact_decimal(magnitude) };
    // How many digits stand before the cut at 10^-decimals; none at all
    // (a value below a tenth of the last place) rounds to zero.
    let cut = digits.len() as i64 + exponent + decimals as i64;
    let (mut rounded, rounded_exponent) =
        if cut < 0 { (Vec::new(), -(decimals as i64)) } else { round_digits(&digits, exponent, cut as usize, false) };
    // As an integer count of 10^-decimals.
    let shift = rounded_exponent + decimals as i64;
    rounded.extend(core::iter::repeat_n(0, shift.max(0) as usize));
    let mut text: Vec<u8> = rounded.iter().map(|digit| b'0' + digit).collect();
    while text.len() <= decimals {
        text.insert(0, b'0');
    }
    let point = text.len() - decimals;
    let (whole, fraction) = text.split_at(point);
    let (whole, fraction) = (String::from_utf8_lossy(whole), String::from_utf8_lossy(fraction));
    if decimals == 0 {
        cat!(sign, whole)
    } else {
        cat!(sign, whole, ".", fraction)
    }
}

/// The exact decimal expansion of a positive finite `f64`: digits (no
/// leading zeros) and the power of ten of the last one.
fn exact_decimal(value: f64) -> (Vec<u8>, i64) {
    let bits = value.to_bits();
    let (stored_exponent, fraction) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
    let (k, e) = if stored_exponent == 0 { (fraction, -1074) } else { (fraction | 1 << 52, stored_exponent - 1075) };
    let mut number = Big::from_u64(k);
    let exponent = if e >= 0 {
        number.shl(e as u32);
        0
    } else {
        // k / 2^-e = k·5^-e / 10^-e
        number.mul_pow5((-e) as u32);
        e
    };
    let mut digits = number.to_decimal();
    let mut exponent = exponent;
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    (digits, exponent)
}

/// `digits × 10^exponent` rounded to `precision` significant digits: half to
/// even, or half away from zero with `ties_up`.
fn round_digits(digits: &[u8], exponent: i64, precision: usize, ties_up: bool) -> (Vec<u8>, i64) {
    if digits.len() <= precision {
        return (digits.to_vec(), exponent);
    }
    let mut kept = digits[..precision].to_vec();
    let rest = &digits[precision..];
    let first = rest[0];
    let round_up = first > 5
        || (first == 5
            && (ties_up
                || rest[1..].iter().any(|&digit| digit != 0)
                || kept.last().is_some_and(|digit| digit % 2 == 1)));
    let mut exponent = exponent + rest.len() as i64;
    if round_up {
        let mut index = kept.len();
        loop {
            if index == 0 {
                kept.insert(0, 1);
                break;
            }
            index -= 1;
            if kept[index] == 9 {
                kept[index] = 0;
            } else {
                kept[index] += 1;
                break;
            }
        }
    }
    while kept.len() > 1 && kept.last() == Some(&0) {
        kept.pop();
        exponent += 1;
    }
    (kept, exponent)
}

/// Digits and exponent in positional notation, as Rust's `Display` writes floats.
fn positional(digits: &[u8], exponent: i64) -> String {
    // Digit by digit: the browser build slices no string (src/lib.rs).
    let point = digits.len() as i64 + exponent.min(0);
    let mut text = String::new();
    if point <= 0 {
        text.push_str("0.");
        text.extend(core::iter::repeat_n('0', (-point) as usize));
    }
    for (index, digit) in digits.iter().enumerate() {
        if point > 0 && index as i64 == point {
            text.push('.');
        }
        text.push(char::from(b'0' + digit));
    }
    text.extend(core::iter::repeat_n('0', exponent.max(0) as usize));
    text
}

/// A natural number as little-endian 32-bit limbs, just big enough for
/// [`decimal_to_f64`]'s comparisons and [`format_number`]'s expansions.
#[derive(Clone)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(value: u64) -> Big {
        let mut big = Big(vec![value as u32, (value >> 32) as u32]);
        big.trim();
        big
    }

    fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let value = chunk.iter().fold(0u32, |value, &digit| value * 10 + u32::from(digit));
            big.mul_small(10u32.pow(chunk.len() as u32));
            big.add_small(value);
        }
        big
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, addend: u32) {
        let mut carry = u64::from(addend);
        for limb in &mut self.0 {
            if carry == 0 {
                break;
            }
            let sum = u64::from(*limb) + carry;
            *limb = sum as u32;
            carry = sum >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow5(&mut self, mut power: u32) {
        // 5^13 is the largest power of five in 32 bits.
        while power >= 13 {
            self.mul_small(1_220_703_125);
            power -= 13;
        }
        if power > 0 {
            self.mul_small(5u32.pow(power));
        }
    }

    fn shl(&mut self, bits: u32) {
        let (limbs, bits) = ((bits / 32) as usize, bits % 32);
        if bits > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let next = *limb >> (32 - bits);
                *limb = (*limb << bits) | carry;
                carry = next;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 && !self.0.is_empty() {
            self.0.splice(0..0, core::iter::repeat_n(0, limbs));
        }
    }

    /// Divides by `divisor` in place; the remainder.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let mut remainder = 0u64;
        for limb in self.0.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / u64::from(divisor)) as u32;
            remainder = current % u64::from(divisor);
        }
        self.trim();
        remainder as u32
    }

    /// The decimal digits, most significant first.
    fn to_decimal(&self) -> Vec<u8> {
        let mut number = self.clone();
        number.trim();
        let mut chunks = Vec::new();
        while !number.0.is_empty() {
            chunks.push(number.div_small(1_000_000_000));
        }
        let mut digits = Vec::new();
        for (index, chunk) in chunks.iter().rev().enumerate() {
            let text = super::text::uint(u64::from(*chunk));
            if index > 0 {
                digits.extend(core::iter::repeat_n(0, 9 - text.len()));
            }
            digits.extend(text.bytes().map(|byte| byte - b'0'));
        }
        if digits.is_empty() {
            digits.push(0);
        }
        digits
    }

    fn cmp(&self, other: &Big) -> core::cmp::Ordering {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.trim();
        b.trim();
        a.0.len().cmp(&b.0.len()).then_with(|| a.0.iter().rev().cmp(b.0.iter().rev()))
    }
}

impl Json {
    /// Compact JSON text, as `to_string()` writes it, without core::fmt.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_into(&mut out);
        out
    }

    fn write_into(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
            Json::Number(number) => out.push_str(&number.text),
            Json::String(text) => {
                let _ = write_string(out, text);
            }
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write_into(out);
                }
                out.push(']');
            }
            Json::Object(object) => {
                out.push('{');
                for (index, (key, value)) in object.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    let _ = write_string(out, key);
                    out.push(':');
                    value.write_into(out);
                }
                out.push('}');
            }
        }
    }
}

impl fmt::Display for Json {
    /// Compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A JSON string literal for `text`.
pub fn write_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.write_char('"')?;
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Never out of bounds or off a boundary (an ASCII byte is at
        // `index`); `get`, as the browser build slices nothing (src/lib.rs).
        out.write_str(text.get(start..index).unwrap_or_default())?;
        if escape.is_empty() {
            out.write_str("\\u00")?;
            out.write_char(HEX[usize::from(byte >> 4)] as char)?;
            out.write_char(HEX[usize::from(byte & 15)] as char)?;
        } else {
            out.write_str(escape)?;
        }
        start = index + 1;
    }
    out.write_str(text.get(start..).unwrap_or_default())?;
    out.write_char('"')
}
