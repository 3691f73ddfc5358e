//! `Config::parse_all_errors`: a rule set with several mistakes gets every
//! one of them, each at its path with the parser's own message and hint,
//! and nothing that only follows from another. Native only, like the
//! function (the widget reports the first error).
#![cfg(not(target_arch = "wasm32"))]

use leadscore::core::config::MAX_RULES;
use leadscore::core::{Config, ConfigErrorKind as Kind};

/// Documents with several mistakes, and the start of each error they must
/// give, in order.
fn cases() -> Vec<(String, Vec<&'static str>)> {
    vec![
        (
            r#"{"site":"acme","sitee":1,"thresholds":{"warm":20,"mql":10,"sales_ready":80},
                "rules":[{"id":"x","on":"visit","points":"ten","withn_days":3,"cap":0},
                         {"id":"x","on":"page_view","points":1}],
                "fit":[{"field":"job_titel","points":5,"present":true},
                       {"field":"email","points":1,"in":["a"],"not_in":["b"]}]}"#
                .into(),
            vec![
                "sitee: unknown field; did you mean \"site\"?",
                "thresholds.mql: must be greater than thresholds.warm (20), got 10",
                "rules[0].withn_days: unknown field; did you mean \"within_days\"?",
                "rules[0].points: expected a whole number, got a string (\"ten\")",
                "rules[0].cap: must be a whole number from 1 to 100000, got 0",
                "rules[1].id: \"x\" is already the id of rules[0]; rule ids must be unique",
                "fit[0].field: unknown identity field \"job_titel\"; did you mean \"job_title\"?",
                "fit[1]: a fit rule needs exactly one condition of contains_any, in, not_in, at_least/at_most, free_mail, present; got in, not_in",
            ],
        ),
        (
            r#"{"site":"Acme","preset":"b2b-sas"}"#.into(),
            vec![
                "site: site names use lowercase letters, digits, '-' and '_' only; found 'A' in \"Acme\"",
                "preset: unknown preset \"b2b-sas\"; did you mean \"b2b-saas\"?",
            ],
        ),
        (
            r#"{"site":"acme","capture":{"page_vews":true,"clciks":false},"identity_fields":{"jobtitle":["role"]},
                "rules":[{"id":"read","on":"engaged_time","min_seconds":0,"points":3,"cap":"x"}]}"#
                .into(),
            vec![
                "capture.page_vews: unknown field; did you mean \"page_views\"?",
                "capture.clciks: unknown field; did you mean \"clicks\"?",
                "identity_fields.jobtitle: unknown identity field \"jobtitle\"; did you mean \"job_title\"?",
                "rules[0].cap: expected a whole number, got a string (\"x\")",
                "rules[0].min_seconds: must be a whole number from 1 to 86400, got 0",
            ],
        ),
        (
            r#"{"site":"acme","rules":[{"id":"a","on":"download","props":{"kind":[null,"x"]},"points":1},
                                       {"id":"b","on":"page_view","url":"pricing","points":2000}],
                "fit":[{"field":"email","contains_any":[1],"points":2}]}"#
                .into(),
            vec![
                "rules[0].props.kind[0]: expected a string, number or boolean, got null",
                "rules[1].url: url globs match the page path and start with '/' or '*'",
                "rules[1].points: must be a whole number from -1000 to 1000, got 2000",
                "fit[0].contains_any[0]: expected a string, got a number (1)",
            ],
        ),
        // Keys with dots are matched against the document's real keys.
        (
            r#"{"site":"acme","rules":[{"id":"a","on":"download","props":{"file.kind":{},"x":[]},"points":1}]}"#.into(),
            vec![
                "rules[0].props.file.kind: expected a string, number or boolean, got an object",
                "rules[0].props.x: must list 1 to 64 accepted values, got 0",
            ],
        ),
    ]
}

#[test]
fn every_mistake_is_listed_at_its_path_with_its_hint() {
    for (document, expected) in cases() {
        let errors = Config::parse_all_errors(&document).expect_err(&document);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), expected.len(), "{document}\ngave {shown:#?}");
        for (error, start) in shown.iter().zip(&expected) {
            assert!(error.starts_with(start), "{document}\nexpected {start:?}, got {error:?}");
        }
    }
}

#[test]
fn the_first_error_is_the_one_parse_gives() {
    for (document, _) in cases() {
        let first = Config::parse(&document).expect_err(&document);
        assert_eq!(Config::parse_all_errors(&document).expect_err(&document)[0], first);
    }
}

#[test]
fn a_good_rule_set_parses_as_parse_reads_it() {
    for document in [
        r#"{"site":"acme","preset":"b2b-saas"}"#,
        r#"{"site":"acme","rules":[{"id":"x","on":"page_veiw","points":1}]}"#,
    ] {
        let config = Config::parse_all_errors(document).expect(document);
        assert_eq!(config, Config::parse(document).unwrap());
        assert_eq!(config.warnings(), Config::parse(document).unwrap().warnings());
    }
}

#[test]
fn what_only_follows_from_a_mistake_is_not_listed_again() {
    // Each bad value is a required field's: setting it aside must not add
    // "required" for the same place, nor for what holds it.
    for (document, only) in [
        (r#"{"site":"acme","preset":"content","thresholds":{"warm":20,"mql":"x","sales_ready":80}}"#, "thresholds.mql"),
        (
            r#"{"site":"acme","rules":[{"id":"a","on":"engaged_time","min_seconds":-1,"points":1}]}"#,
            "rules[0].min_seconds",
        ),
        (r#"{"site":"acme","rules":[{"id":"a","on":"page view","points":1}]}"#, "rules[0].on"),
        (r#"{"site":"acme","rules":[{"id":"A","on":"visit","points":1}]}"#, "rules[0].id"),
        (r#"{"site":"acme","preset":"content","fit":[{"field":"email","in":[],"points":1}]}"#, "fit[0].in"),
        (r#"{"site":"acme","rules":{"id":"a"}}"#, "rules"),
        (r#"{"site":7,"preset":"content"}"#, "site"),
    ] {
        let errors = Config::parse_all_errors(document).expect_err(document);
        let paths: Vec<&str> = errors.iter().map(|error| error.path()).collect();
        assert_eq!(paths, [only], "{document}: {errors:#?}");
    }
}

#[test]
fn a_document_that_is_not_json_has_its_one_error() {
    let errors = Config::parse_all_errors(r#"{"site":"acme", "rules": [}"#).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), Kind::Syntax);
}

#[test]
fn a_rule_set_full_of_mistakes_lists_each_rule_once() {
    let rules: Vec<String> =
        (0..MAX_RULES).map(|index| format!(r#"{{"id":"r{index}","on":"visit","points":1,"cpa":{index}}}"#)).collect();
    let document = format!(r#"{{"site":"acme","rules":[{}]}}"#, rules.join(","));
    let errors = Config::parse_all_errors(&document).unwrap_err();
    assert_eq!(errors.len(), MAX_RULES);
    for (index, error) in errors.iter().enumerate() {
        assert_eq!(error.path(), format!("rules[{index}].cpa"));
        assert!(error.message().contains("did you mean \"cap\"?"), "{error}");
    }
}
