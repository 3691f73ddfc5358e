//! The core's JSON reader and writer: documents round-trip, errors say what
//! and where, and numbers are read bit for bit as `str::parse::<f64>` reads
//! them (so the widget and the collector hash a config the same way, and as
//! before).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::json::{self, Json};

#[test]
fn documents_round_trip() {
    let text = r#"{"site":"acme","n":[1,-2.5,1e3,0],"ok":true,"no":false,"none":null,"s":"a\"b\\c\n\u0001é😀"}"#;
    let value = json::parse(text).unwrap();
    let written = value.to_string();
    assert_eq!(
        written,
        r#"{"site":"acme","n":[1,-2.5,1e3,0],"ok":true,"no":false,"none":null,"s":"a\"b\\c\n\u0001é😀"}"#
    );
    assert_eq!(json::parse(&written).unwrap(), value);
    let Json::Object(object) = &value else { panic!("an object") };
    assert_eq!(object.keys().map(String::as_str).collect::<Vec<_>>(), ["site", "n", "ok", "no", "none", "s"]);
    assert_eq!(object.get("s").and_then(Json::as_str), Some("a\"b\\c\n\u{1}é😀"));
    assert_eq!(json::parse(r#""\ud83d\ude00""#).unwrap(), Json::string("😀"));
}

#[test]
fn a_repeated_key_keeps_its_last_value_in_first_place() {
    let value = json::parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
    assert_eq!(value.to_string(), r#"{"a":3,"b":2}"#);
}

#[test]
fn errors_say_what_and_where() {
    let cases = [
        ("", "EOF while parsing a value at line 1 column 0"),
        ("{\"a\":", "EOF while parsing a value at line 1 column 5"),
        ("{\"a\":1", "EOF while parsing an object at line 1 column 6"),
        ("[1,2", "EOF while parsing a list at line 1 column 4"),
        ("\"abc", "EOF while parsing a string at line 1 column 4"),
        ("[1,]", "trailing comma at line 1 column 3"),
        ("{\"a\":1,}", "trailing comma at line 1 column 7"),
        ("{a:1}", "key must be a string at line 1 column 1"),
        ("{\"a\" 1}", "expected `:` at line 1 column 5"),
        ("[1 2]", "expected `,` or `]` at line 1 column 3"),
        ("{\n  \"a\": tru\n}", "expected value at line 2 column 10"),
        ("01", "invalid number at line 1 column 2"),
        ("1.", "invalid number at line 1 column 2"),
        ("1e", "invalid number at line 1 column 2"),
        ("-", "EOF while parsing a value at line 1 column 1"),
        ("1e400", "number out of range at line 1 column 5"),
        ("\"\\x\"", "invalid escape at line 1 column 3"),
        ("\"\\ud800\"", "lone leading surrogate in hex escape at line 1 column 7"),
        ("\"a\nb\"", "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 2"),
        ("{} {}", "trailing characters at line 1 column 3"),
    ];
    for (text, message) in cases {
        assert_eq!(json::parse(text).unwrap_err().to_string(), message, "{text:?}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(json::parse(&deep).unwrap_err().to_string().starts_with("recursion limit exceeded"));
    let fine = format!("{}{}", "[".repeat(json::MAX_DEPTH - 1), "]".repeat(json::MAX_DEPTH - 1));
    assert!(json::parse(&fine).is_ok());
}

#[test]
fn numbers_are_read_exactly() {
    let mut cases: Vec<String> = [
        "0",
        "-0",
        "1",
        "0.1",
        "0.2",
        "0.3",
        "1e23",
        "8.98846567431158e307",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "4.9406564584124654e-324",
        "2.4703282292062328e-324",
        "2.4703282292062327e-324",
        "5e-324",
        "1e-400",
        "9007199254740993",
        "9007199254740992.5",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "0.000000000000000000000000000001",
        "3.141592653589793238462643383279",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "7.2057594037927933e16",
        "1e22",
        "1e-22",
        "123.456e-7",
        "-65.613616999999977",
        "30",
        "0.25",
        "86400000",
        "1000000000000000",
    ]
    .iter()
    .map(|case| case.to_string())
    .collect();
    cases.push(format!("1{}", "0".repeat(300)));
    cases.push(format!("0.{}1", "0".repeat(320)));
    cases.push(format!("{}e-{}", "7".repeat(900), 1200));
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let digits = 1 + (seed % 25) as usize;
        let mantissa: String = (0..digits).map(|i| char::from(b'0' + ((seed >> (i * 2 % 60)) % 10) as u8)).collect();
        let mantissa = mantissa.trim_start_matches('0');
        let mantissa = if mantissa.is_empty() { "0" } else { mantissa };
        let exponent = (seed >> 40) as i64 % 700 - 350;
        cases.push(format!("{mantissa}e{exponent}"));
        cases.push(format!("0.{mantissa}"));
    }
    for text in cases {
        let expected = text.parse::<f64>().unwrap();
        if expected.is_infinite() {
            assert!(json::parse(&text).is_err(), "{text} is out of range");
            assert_eq!(json::parse_number(&text), None);
            continue;
        }
        let read = json::parse(&text).unwrap().as_f64().unwrap();
        assert_eq!(read.to_bits(), expected.to_bits(), "{text}: read {read:e}, expected {expected:e}");
    }
}

#[test]
fn numbers_keep_their_text() {
    for text in ["1e3", "2.50", "-0.0", "100"] {
        let Json::Number(number) = json::parse(text).unwrap() else { panic!("a number") };
        assert_eq!(number.to_string(), text);
    }
}

/// Numbers are written as Rust writes them (`{}` and `{:.N}`), without its
/// float formatting code.
#[test]
fn numbers_are_written_as_rust_writes_them() {
    let mut values = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.2,
        0.3,
        2.5,
        -2.5,
        1e21,
        1e22,
        1e-7,
        123.456,
        1e300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        0.125,
        0.25,
        0.35,
        1.05,
        2.675,
        9.995,
        99.95,
        0.5,
        1.5,
        -0.05,
        103.29640462707096,
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..5_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let value = f64::from_bits(seed);
        if value.is_finite() && value.abs() < 1e30 && value.abs() > 1e-30 {
            values.push(value);
        }
        values.push((seed % 1_000_000) as f64 / 1000.0 - 500.0);
    }
    for value in values {
        assert_eq!(json::format_number(value), format!("{value}"), "{value:e}");
        for decimals in [0, 1, 2] {
            assert_eq!(json::format_fixed(value, decimals), format!("{value:.decimals$}"), "{value:e} to {decimals}");
        }
    }
}
