//! Config parsing: every bad input gets an error naming the place and the
//! fix; good input becomes the rules it says.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::config::{MAX_CONFIG_BYTES, MAX_RULES};
use leadscore::core::{Config, ConfigError, ConfigErrorKind as Kind, ConsentMode, Preset};

/// Whether `error` says `expected` (a part of its full text, `path: message`).
/// Natively that is the full message. On wasm32 the engine keeps config
/// messages short (the path and the kind's reason; `collector check` has the
/// full one), so there the error must read exactly that, at the path the
/// expected text starts with.
fn says(error: &ConfigError, expected: &str) -> bool {
    let shown = error.to_string();
    if cfg!(target_arch = "wasm32") {
        let short = format!("{}: {}", error.path(), error.kind().reason());
        let path_matches = match expected.split_once(": ") {
            Some((path, _)) if !path.contains(' ') => path == error.path(),
            _ => true,
        };
        // Messages made outside the config reader (event names) stay whole.
        (shown == short || shown.contains(expected)) && path_matches
    } else {
        shown.contains(expected)
    }
}

/// [`says`], with the whole full text natively.
fn says_exactly(error: &ConfigError, full: &str) -> bool {
    says(error, full) && (cfg!(target_arch = "wasm32") || error.to_string() == full)
}

/// A valid single-rule config with `extra` spliced into the rule.
fn with_rule(extra: &str) -> String {
    format!(r#"{{"site":"acme","rules":[{{"id":"r","on":"page_view","points":5{extra}}}]}}"#)
}

#[test]
fn errors_name_the_place_and_the_fix() {
    let cases: Vec<(String, Kind, &str)> = vec![
        (r#"{"rules":[]}"#.into(), Kind::Missing, "site: required"),
        (r#"{"site":"acme"}"#.into(), Kind::Missing, "rules: no rules"),
        (r#"{"site":"Acme Inc","preset":"content"}"#.into(), Kind::Invalid, "site: site names use lowercase"),
        (r#"{"site":"acme","preset":"b2b"}"#.into(), Kind::Invalid, "preset: unknown preset \"b2b\""),
        (r#"{"site":"acme","preset":"ecomerce"}"#.into(), Kind::Invalid, "did you mean \"ecommerce\"?"),
        (
            r#"{"site":"acme","preset":"content","thresholds":{"warm":20,"mql":10,"sales_ready":80}}"#.into(),
            Kind::OutOfRange,
            "thresholds.mql: must be greater than thresholds.warm (20), got 10",
        ),
        (
            r#"{"site":"acme","preset":"content","thresholds":{"warm":20,"mql":50}}"#.into(),
            Kind::Missing,
            "thresholds.sales_ready: required",
        ),
        (
            r#"{"site":"acme","preset":"content","grades":{"a":5,"b":10,"c":1}}"#.into(),
            Kind::OutOfRange,
            "grades.a: must be greater than grades.b (10), got 5",
        ),
        (
            r#"{"site":"acme","preset":"content","consent":"maybe"}"#.into(),
            Kind::Invalid,
            "consent: must be \"required\" or \"implied\"",
        ),
        (
            r#"{"site":"acme","preset":"content","endpoint":"ftp://x"}"#.into(),
            Kind::Invalid,
            "endpoint: must be an http(s) URL",
        ),
        (
            r#"{"site":"acme","preset":"content","half_life_days":"soon"}"#.into(),
            Kind::Invalid,
            "half_life_days: must be a number of days or \"never\"",
        ),
        (
            r#"{"site":"acme","preset":"content","treshold":1}"#.into(),
            Kind::UnknownField,
            "treshold: unknown field; did you mean \"thresholds\"?",
        ),
        (
            with_rule(r#","withn_days":3"#),
            Kind::UnknownField,
            "rules[0].withn_days: unknown field; did you mean \"within_days\"?",
        ),
        (with_rule(r#","colour":3"#), Kind::UnknownField, "known fields here: id, on, url"),
        (with_rule(r#","min_count":3,"within_days":0"#), Kind::OutOfRange, "rules[0].within_days: must be > 0, got 0"),
        (
            with_rule(r#","within_days":7"#),
            Kind::Invalid,
            "rules[0].within_days: a window only matters with \"min_count\" of 2 or more",
        ),
        (
            with_rule(r#","min_count":0"#),
            Kind::OutOfRange,
            "rules[0].min_count: must be a whole number from 1 to 20, got 0",
        ),
        (with_rule(r#","cap":2.5"#), Kind::OutOfRange, "rules[0].cap: must be a whole number"),
        (with_rule(r#","cap":"10""#), Kind::WrongType, "rules[0].cap: expected a whole number, got a string (\"10\")"),
        (with_rule(r#","once":1"#), Kind::WrongType, "rules[0].once: expected true or false, got a number (1)"),
        (
            with_rule(r#","once":true,"once_every_days":7"#),
            Kind::Invalid,
            "remove one of \"once\" and \"once_every_days\"",
        ),
        (
            with_rule(r#","url":"pricing*""#),
            Kind::Invalid,
            "rules[0].url: url globs match the page path and start with '/' or '*'",
        ),
        (
            with_rule(r#","min_seconds":30"#),
            Kind::Invalid,
            "rules[0].min_seconds: only applies to \"engaged_time\" rules",
        ),
        (
            with_rule(r#","props":{"kind":[]}"#),
            Kind::OutOfRange,
            "rules[0].props.kind: must list 1 to 64 accepted values, got 0",
        ),
        (
            with_rule(r#","props":{"kind":{"a":1}}"#),
            Kind::WrongType,
            "rules[0].props.kind: expected a string, number or boolean",
        ),
        (with_rule(r#","half_life_days":-1"#), Kind::OutOfRange, "rules[0].half_life_days: must be > 0, got -1"),
        (
            with_rule(r#","once_every_days":99999"#),
            Kind::OutOfRange,
            "rules[0].once_every_days: must be at most 3650 days",
        ),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"page_view","points":1e300}]}"#.into(),
            Kind::OutOfRange,
            "rules[0].points: must be a whole number from -1000 to 1000",
        ),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"page_view","points":18446744073709551616}]}"#.into(),
            Kind::OutOfRange,
            "rules[0].points: must be a whole number from -1000 to 1000",
        ),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"engaged_time","points":5}]}"#.into(),
            Kind::Missing,
            "rules[0].min_seconds: required for engaged_time rules",
        ),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"scroll_depth","points":5,"min_percent":150}]}"#.into(),
            Kind::OutOfRange,
            "rules[0].min_percent: must be a whole number from 1 to 100, got 150",
        ),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"page view","points":5}]}"#.into(),
            Kind::Invalid,
            "rules[0].on: may use letters, digits",
        ),
        (r#"{"site":"acme","rules":[{"on":"page_view","points":5}]}"#.into(), Kind::Missing, "rules[0].id: required"),
        (
            r#"{"site":"acme","rules":[{"id":"a","on":"visit","points":1},{"id":"a","on":"visit","points":2}]}"#.into(),
            Kind::Duplicate,
            "rules[1].id: \"a\" is already the id of rules[0]",
        ),
        (r#"{"site":"acme","rules":{"id":"a"}}"#.into(), Kind::WrongType, "rules: expected an array, got an object"),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"jobtitle","points":5,"present":true}]}"#.into(),
            Kind::Invalid,
            "fit[0].field: unknown identity field \"jobtitle\"; did you mean \"job_title\"?",
        ),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"job_title","points":5}]}"#.into(),
            Kind::Invalid,
            "fit[0]: a fit rule needs exactly one condition",
        ),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"job_title","points":5,"in":["a"],"present":true}]}"#
                .into(),
            Kind::Invalid,
            "got in, present",
        ),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"company","points":5,"free_mail":true}]}"#.into(),
            Kind::Invalid,
            "fit[0].free_mail: free_mail reads the email domain, so it needs \"field\": \"email\"",
        ),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"budget","points":5,"at_least":100,"at_most":10}]}"#
                .into(),
            Kind::OutOfRange,
            "fit[0].at_most: must be at least \"at_least\" (100), got 10",
        ),
        (
            r#"{"site":"acme","preset":"content","fit":[{"field":"industry","points":5,"in":[]}]}"#.into(),
            Kind::Invalid,
            "fit[0].in: must list at least one value",
        ),
        ("[1,2,3]".into(), Kind::WrongType, "config: expected an object, got an array of 3 items"),
        (r#"{"site":"acme","rules":[{"id":"r","#.into(), Kind::Syntax, "config: not valid JSON: EOF while parsing"),
        (
            r#"{"site":"acme","rules":[{"id":"r","on":"page_view","points":5,}]}"#.into(),
            Kind::Syntax,
            "config: not valid JSON: trailing comma",
        ),
        ("".into(), Kind::Syntax, "config: not valid JSON"),
    ];
    for (json, kind, expected) in cases {
        let error = Config::parse(&json).expect_err(&json);
        let shown = error.to_string();
        assert!(says(&error, expected), "for {json}\n  expected: {expected}\n  got:      {shown}");
        assert_eq!(error.kind(), kind, "for {json}: {shown}");
        assert!(!shown.ends_with('.'), "errors have no trailing period: {shown}");
    }
}

#[test]
fn hostile_documents_get_errors_not_panics() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let error = Config::parse(&deep).unwrap_err();
    assert_eq!(error.kind(), Kind::Syntax, "{error}");
    assert!(says(&error, "recursion limit exceeded"), "{error}");

    let nested = format!(r#"{{"site":"acme","rules":{}1{}}}"#, "[".repeat(500), "]".repeat(500));
    let error = Config::parse(&nested).unwrap_err();
    assert_eq!(error.kind(), Kind::Syntax);
    assert!(says(&error, "recursion limit"), "{error}");

    let long_site = format!(r#"{{"site":"{}","preset":"content"}}"#, "a".repeat(MAX_CONFIG_BYTES - 100));
    let error = Config::parse(&long_site).unwrap_err();
    let expected = format!("site: is {} characters long; the limit is 64", MAX_CONFIG_BYTES - 100);
    assert!(says_exactly(&error, &expected), "{error}");

    let megabyte = format!(r#"{{"site":"{}"}}"#, "x".repeat(1 << 20));
    let error = Config::parse(&megabyte).unwrap_err();
    let expected = format!("config: document is {} bytes; the limit is {MAX_CONFIG_BYTES}", megabyte.len());
    assert!(says_exactly(&error, &expected), "{error}");

    let too_many: Vec<String> =
        (0..=MAX_RULES).map(|index| format!(r#"{{"id":"r{index}","on":"visit","points":1}}"#)).collect();
    let json = format!(r#"{{"site":"acme","rules":[{}]}}"#, too_many.join(","));
    let error = Config::parse(&json).unwrap_err();
    assert!(says_exactly(&error, "rules: has 201 entries; the limit is 200"), "{error}");

    assert_eq!(Config::parse("1e400").unwrap_err().kind(), Kind::Syntax);
    assert_eq!(Config::parse("\"\\ud800\"").unwrap_err().kind(), Kind::Syntax);
}

#[test]
fn a_full_config_becomes_the_rules_it_says() {
    let config = Config::parse(
        r#"{
          "$schema": "https://leadscore.example/config.schema.json",
          "site": "acme",
          "endpoint": "https://collect.acme.example/v1/leads",
          "consent": "implied",
          "half_life_days": 10,
          "thresholds": { "warm": 10, "mql": 30, "sales_ready": 60 },
          "mql_requires_identity": false,
          "rules": [
            { "id": "pricing-3x", "on": "page_view", "url": "/pricing*", "min_count": 3, "within_days": 7, "points": 15, "once_every_days": 7 },
            { "id": "trial", "on": "download", "props": { "kind": "trial" }, "points": 20, "once": true },
            { "id": "careers", "on": "page_view", "url": "/careers*", "points": -15, "once": true, "half_life_days": "never" },
            { "id": "meeting", "on": "meeting_booked", "points": 40, "sales_intent": true }
          ],
          "fit": [ { "field": "email", "free_mail": true, "points": -10 } ]
        }"#,
    )
    .unwrap();
    assert_eq!(config.site(), "acme");
    assert_eq!(config.endpoint(), Some("https://collect.acme.example/v1/leads"));
    assert_eq!(config.consent(), ConsentMode::Implied);
    assert_eq!(config.half_life_ms(), Some(10 * 86_400_000));
    assert!(!config.mql_requires_identity());
    let ids: Vec<&str> = config.rules().iter().map(|rule| rule.id()).collect();
    assert_eq!(ids, ["pricing-3x", "trial", "careers", "meeting"]);
    assert_eq!(config.rules()[0].half_life_ms(), Some(10 * 86_400_000), "rules inherit the global half-life");
    assert_eq!(config.rules()[2].half_life_ms(), None, "\"never\" turns decay off for one rule");
    assert!(config.rules()[3].sales_intent());
    assert!(config.warnings().is_empty());
    assert_eq!(config.fit_rules().len(), 1);
}

#[test]
fn defaults_are_documented_values() {
    let config = Config::parse(r#"{"site":"acme","rules":[{"id":"r","on":"contact_request","points":5}]}"#).unwrap();
    assert_eq!(config.consent(), ConsentMode::Required);
    assert_eq!(config.half_life_ms(), Some(30 * 86_400_000));
    assert_eq!(
        (config.thresholds().warm, config.thresholds().mql, config.thresholds().sales_ready),
        (20.0, 50.0, 80.0)
    );
    assert!(config.mql_requires_identity());
    assert!(config.rules()[0].sales_intent(), "contact requests show sales intent by default");
    assert_eq!(config.endpoint(), None);
}

#[test]
fn typos_of_built_in_events_are_warned_about() {
    let config = Config::parse(r#"{"site":"acme","rules":[{"id":"r","on":"page_veiw","points":5}]}"#).unwrap();
    assert_eq!(
        config.warnings(),
        [r#"rules[0].on: "page_veiw" is a custom event; did you mean the built-in "page_view"?"#]
    );
    let config = Config::parse(r#"{"site":"acme","rules":[{"id":"r","on":"video_play","points":5}]}"#).unwrap();
    assert!(config.warnings().is_empty());
}

#[test]
fn a_site_config_builds_on_a_preset() {
    let preset = Config::preset(Preset::B2bSaas, "acme").unwrap();
    let config = Config::parse(
        r#"{"site":"acme","preset":"b2b-saas","endpoint":"/v1/leads",
            "rules":[{"id":"careers","on":"page_view","url":"/careers*","points":-40,"once":true},
                     {"id":"webinar","on":"webinar_join","points":12}],
            "fit":[{"id":"free-mail","field":"email","free_mail":true,"points":-20}]}"#,
    )
    .unwrap();
    assert_eq!(config.rules().len(), preset.rules().len() + 1, "same id replaces, new id appends");
    let careers = config.rules().iter().position(|rule| rule.id() == "careers").unwrap();
    assert_eq!(careers, preset.rules().iter().position(|rule| rule.id() == "careers").unwrap(), "replaced in place");
    assert_eq!(config.rules()[careers].points(), -40);
    assert_eq!(config.rules().last().unwrap().id(), "webinar");
    assert_eq!(config.fit_rules().len(), preset.fit_rules().len());
    assert_eq!(config.fit_rules().iter().find(|rule| rule.id() == Some("free-mail")).unwrap().points(), -20);
    assert_eq!(config.thresholds(), preset.thresholds(), "thresholds come from the preset unless set");
    assert_ne!(config.hash(), preset.hash());
}

#[test]
fn the_hash_ignores_layout_and_sees_content() {
    let a = Config::parse(r#"{"site":"acme","rules":[{"id":"r","on":"visit","points":5}]}"#).unwrap();
    let b = Config::parse(
        "{\n  \"rules\": [ { \"points\": 5, \"on\": \"visit\", \"id\": \"r\" } ],\n  \"site\": \"acme\"\n}",
    )
    .unwrap();
    let c = Config::parse(r#"{"site":"acme","rules":[{"id":"r","on":"visit","points":6}]}"#).unwrap();
    assert_eq!(a.hash(), b.hash());
    assert_ne!(a.hash(), c.hash());
    assert_eq!(a.hash_hex().len(), 16);
}

#[test]
fn every_preset_parses_cleanly() {
    for preset in Preset::ALL {
        let config = Config::preset(preset, "acme").unwrap_or_else(|error| panic!("{preset}: {error}"));
        assert!(config.warnings().is_empty(), "{preset}: {:?}", config.warnings());
        assert_eq!(config.preset_name(), Some(preset));
        assert!(config
            .rules()
            .iter()
            .all(|rule| rule.cap().is_some() || rule.once() || rule.points() <= 0 || rule.half_life_ms().is_some()));
    }
}

#[test]
fn privacy_settings_parse_with_defaults_and_errors() {
    let config =
        Config::parse(r#"{"site":"acme","preset":"b2b-saas","endpoint":"https://c.example/v1/leads"}"#).unwrap();
    let privacy = config.privacy();
    assert!(privacy.gpc && privacy.dnt && privacy.tcf && privacy.consent_mode);
    assert!(privacy.tcf_purposes.is_empty());
    assert_eq!(privacy.retention_days, leadscore::core::config::DEFAULT_RETENTION_DAYS);
    assert_eq!(config.erase_endpoint().as_deref(), Some("https://c.example/v1/forget"));

    let config = Config::parse(
        r#"{"site":"acme","preset":"b2b-saas","endpoint":"/hooks/lead",
            "privacy":{"tcf_purposes":[1,7,7,8],"consent_mode":false,"retention_days":30}}"#,
    )
    .unwrap();
    assert_eq!(config.privacy().tcf_purposes, [7, 8], "purpose 1 is implied; repeats collapse");
    assert!(!config.privacy().consent_mode);
    assert_eq!(config.privacy().retention_days, 30);
    assert_eq!(config.erase_endpoint(), None, "no erasure for an endpoint that is not a collector's");

    let config = Config::parse(r#"{"site":"acme","preset":"b2b-saas","privacy":{"erase_endpoint":"/gdpr/erase"}}"#);
    assert_eq!(config.unwrap().erase_endpoint().as_deref(), Some("/gdpr/erase"));

    for (privacy, path) in [
        (r#"{"tcf_purposes":[12]}"#, "privacy.tcf_purposes[0]"),
        (r#"{"tcf_purposes":"1"}"#, "privacy.tcf_purposes"),
        (r#"{"retention_days":0}"#, "privacy.retention_days"),
        (r#"{"erase_endpoint":"ftp://x"}"#, "privacy.erase_endpoint"),
        (r#"{"consent_mod":true}"#, "privacy.consent_mod"),
    ] {
        let json = format!(r#"{{"site":"acme","preset":"b2b-saas","privacy":{privacy}}}"#);
        let error = Config::parse(&json).unwrap_err();
        assert!(error.to_string().starts_with(path), "{privacy}: {error}");
    }
}
