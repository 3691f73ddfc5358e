//! Compiled configs: the bytes read back to the same config, the shipped
//! preset files are what their JSON compiles to today, and a page that only
//! names a preset and its options gets from them exactly the config the
//! full parse gives (or is sent to the full parse, which then explains it).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::config::Config;
use leadscore::core::json::{self, Json};
use leadscore::core::Preset;

/// A config that sets every field of the schema to something other than its
/// default, so a field the codec forgot shows up as a difference.
const EVERYTHING: &str = r#"{
  "site": "acme", "endpoint": "https://collector.example/v1/leads", "preset": "b2b-saas",
  "consent": "implied", "half_life_days": 12.5,
  "thresholds": {"warm": 15, "mql": 45.5, "sales_ready": 90},
  "grades": {"a": 30, "b": 5, "c": -3},
  "mql_requires_identity": false, "in_memory_before_consent": true,
  "rules": [
    {"id": "pricing", "on": "page_view", "url": "/pricing*", "points": 12, "cap": 36, "half_life_days": "never"},
    {"id": "demo-x", "on": "demo_request", "points": 40, "once": true, "sales_intent": true},
    {"id": "reader", "on": "engaged_time", "min_seconds": 90, "points": 5, "once_every_days": 2},
    {"id": "deep", "on": "scroll_depth", "min_percent": 75, "points": -4, "half_life_days": 3},
    {"id": "plan", "on": "cart_add", "props": {"plan": ["Pro", "team"], "seats": 5}, "points": 7,
     "min_count": 3, "within_days": 7},
    {"id": "custom", "on": "page_veiw", "points": 1}
  ],
  "fit": [
    {"id": "senior", "field": "job_title", "contains_any": ["VP", "head of"], "points": 15},
    {"field": "country", "in": ["de", "at"], "points": 3},
    {"field": "industry", "not_in": ["student"], "points": 2},
    {"id": "size", "field": "company_size", "at_least": 50, "at_most": 5000.5, "points": 10},
    {"field": "company_size", "at_most": 9, "points": -5},
    {"field": "email", "free_mail": true, "points": -20},
    {"field": "phone", "present": true, "points": 4}
  ],
  "capture": {"page_views": true, "visits": false, "engaged_time": true, "scroll_depth": false, "forms": true,
              "form_heuristics": false, "clicks": true, "downloads": false, "ad_clicks": true},
  "identity_fields": {"job_title": ["position", "rolle"], "company": ["firma"]},
  "delivery": {"content_type": "application/json", "retry_base_seconds": 1.5, "retry_cap_seconds": 120,
               "max_attempts": 7, "max_age_days": 2},
  "privacy": {"gpc": false, "dnt": true, "tcf": false, "tcf_purposes": [3, 7], "consent_mode": false,
              "retention_days": 30, "erase_endpoint": "/v1/erase"}
}"#;

#[test]
fn every_field_reads_back_equal() {
    let config = Config::parse(EVERYTHING).unwrap();
    assert!(!config.warnings().is_empty(), "the custom event near a built-in name warns, and the warning is kept");
    let bytes = config.to_bytes();
    assert_eq!(Config::from_bytes(&bytes).unwrap(), config);
    for preset in Preset::ALL {
        let config = Config::preset(preset, "shop").unwrap();
        assert_eq!(Config::from_bytes(&config.to_bytes()).unwrap(), config, "{preset}");
    }
}

#[test]
fn broken_bytes_are_an_error_not_a_panic() {
    let bytes = Config::parse(EVERYTHING).unwrap().to_bytes();
    assert!(Config::from_bytes(b"{\"site\":1}").unwrap_err().contains("not a compiled leadscore config"));
    assert_eq!(Config::from_bytes(&[&bytes[..], b"x"].concat()).unwrap_err(), "bytes after the end of the config");
    // Every cut, and every byte set to every value at a few places, is
    // either read or refused; none panics or reads past the end.
    for end in 0..bytes.len() {
        assert!(Config::from_bytes(&bytes[..end]).is_err(), "cut at {end}");
    }
    for at in (4..bytes.len()).step_by(7) {
        for value in [0u8, 1, 2, 0x7f, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] = value;
            let _ = Config::from_bytes(&changed);
        }
    }
}

/// `LEADSCORE_BLESS=1 cargo test --test core_compiled` rewrites the files
/// after a preset's JSON changed; without it, a stale file fails here.
#[test]
#[cfg(not(target_arch = "wasm32"))]
fn the_shipped_preset_files_are_current() {
    for preset in Preset::ALL {
        let fresh = Config::preset_base(preset).unwrap().to_bytes();
        if std::env::var_os("LEADSCORE_BLESS").is_some() {
            let path = format!("{}/src/core/presets/{}.lsc", env!("CARGO_MANIFEST_DIR"), preset.name());
            std::fs::write(&path, &fresh).unwrap();
        } else {
            assert!(
                preset.compiled() == fresh,
                "src/core/presets/{}.lsc is stale: run LEADSCORE_BLESS=1 cargo test --test core_compiled",
                preset.name()
            );
        }
    }
}

fn document(pairs: &[(&str, &str)]) -> Json {
    let mut object = json::Object::new();
    for (key, value) in pairs {
        object.insert((*key).into(), Json::string(*value));
    }
    Json::Object(object)
}

#[test]
fn options_over_a_preset_give_the_full_parse_config() {
    let sites = ["acme", "a", "Bad Site!", ""];
    let endpoints = [None, Some("https://c.example/v1/leads"), Some("/v1/leads"), Some("//evil"), Some("ftp://x")];
    let consents = [None, Some("required"), Some("implied"), Some("maybe")];
    let presets = ["b2b-saas", "ecommerce", "content", "nope"];
    let mut fast = 0;
    for site in sites {
        for endpoint in endpoints {
            for consent in consents {
                for preset in presets {
                    let mut pairs = vec![("site", site), ("preset", preset)];
                    pairs.extend(endpoint.map(|endpoint| ("endpoint", endpoint)));
                    pairs.extend(consent.map(|consent| ("consent", consent)));
                    let document = document(&pairs);
                    let full = Config::parse(&document.to_string());
                    match Config::from_options(&document) {
                        Some(config) => {
                            fast += 1;
                            assert_eq!(Ok(config), full, "{document}");
                        }
                        None => assert!(full.is_err(), "{document} parses, so it must not need the full parse"),
                    }
                }
            }
        }
    }
    assert_eq!(fast, 2 * 3 * 3 * 3, "every valid combination takes the compiled path");
}

#[test]
fn anything_beyond_options_goes_to_the_full_parse() {
    for extra in [("rules", "x"), ("half_life_days", "3"), ("$schema", "x"), ("sitee", "acme")] {
        let document = document(&[("site", "acme"), ("preset", "content"), extra]);
        assert_eq!(Config::from_options(&document), None, "{document}");
    }
    let mut object = json::Object::new();
    object.insert("site".into(), Json::string("acme"));
    object.insert("preset".into(), Json::string("content"));
    object.insert("endpoint".into(), Json::Null);
    assert_eq!(Config::from_options(&Json::Object(object)), None, "null goes to the parse, which reads it as absent");
    assert_eq!(Config::from_options(&Json::string("acme")), None);
    assert_eq!(Config::from_options(&document(&[("site", "acme")])), None, "no preset: no rules");
}

#[test]
fn a_site_half_life_reaches_the_preset_rules_that_inherit_it() {
    let config = Config::parse(r#"{"site": "acme", "preset": "b2b-saas", "half_life_days": 5}"#).unwrap();
    let day = 86_400_000;
    let unsubscribe = config.rules().iter().find(|rule| rule.id() == "unsubscribe").unwrap();
    assert_eq!(unsubscribe.half_life_ms(), None, "the preset says never for this one");
    let inheriting: Vec<_> = config.rules().iter().filter(|rule| rule.id() != "unsubscribe").collect();
    assert!(inheriting.len() > 5);
    for rule in inheriting {
        assert_eq!(rule.half_life_ms(), Some(5 * day), "{}", rule.id());
    }
    let preset = Config::parse(r#"{"site": "acme", "preset": "b2b-saas"}"#).unwrap();
    assert!(preset
        .rules()
        .iter()
        .filter(|rule| rule.id() != "unsubscribe")
        .all(|rule| rule.half_life_ms() == Some(30 * day)));
}

#[test]
fn the_text_form_is_base64_of_the_bytes_and_reads_back() {
    let config = Config::parse(EVERYTHING).unwrap();
    let text = config.to_text();
    assert_eq!(Config::from_text(&text).unwrap(), config);
    assert!(text.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"+/=".contains(&byte)), "{text}");
    assert_eq!(text.len() % 4, 0, "padded");
    assert!(text.starts_with("TFND"), "base64 of the LSC magic: {text}");
    // Each length modulo 3 pads as base64 does.
    for preset in Preset::ALL {
        let config = Config::preset(preset, "ab").unwrap();
        assert_eq!(Config::from_text(&config.to_text()).unwrap(), config);
    }
    assert_eq!(Config::from_text("not base64!").unwrap_err(), "not a compiled config (not base64)");
    assert!(Config::from_text("eyJzaXRlIjoiYSJ9").unwrap_err().contains("not a compiled leadscore config"));
}

fn attributes(pairs: &[(&str, &str)]) -> json::Object {
    let mut object = json::Object::new();
    for (key, value) in pairs {
        object.insert(key.to_string(), Json::string(*value));
    }
    object
}

/// The config compiler reads the page's text with the tag's attributes
/// (the widget has no JSON reader): the document's own keys win, the
/// attributes fill the rest, and the result is the config the merged
/// document parses to, hash included.
#[test]
fn the_compiler_fills_a_config_text_from_the_tags_attributes() {
    let text = r#"{"site":"own","consent":"implied","rules":[{"id":"p","on":"page_view","points":1}]}"#;
    let tag = attributes(&[("site", "tag"), ("endpoint", "https://c.example/v1/leads")]);
    let config = Config::parse_widget_input(&Config::widget_input(&tag, text)).unwrap();
    let merged = r#"{"site":"own","consent":"implied","rules":[{"id":"p","on":"page_view","points":1}],
                     "endpoint":"https://c.example/v1/leads"}"#;
    let expected = Config::parse(merged).unwrap();
    assert_eq!(config.site(), "own", "the document's site wins");
    assert_eq!(config.endpoint(), Some("https://c.example/v1/leads"), "the tag's endpoint fills the gap");
    assert_eq!(config.hash(), expected.hash());
    assert_eq!(config.to_bytes(), expected.to_bytes());

    // With no attributes the text alone decides.
    let alone = Config::parse_widget_input(&Config::widget_input(&json::Object::new(), text)).unwrap();
    assert_eq!(alone.to_bytes(), Config::parse(text).unwrap().to_bytes());
}

/// Each way a config text can be wrong is one line naming it, as the
/// widget's own reader said before the reading moved to the compiler.
#[test]
fn a_bad_config_text_is_one_line_from_the_compiler() {
    let none = json::Object::new();
    let error = |text: &str| Config::parse_widget_input(&Config::widget_input(&none, text)).unwrap_err();
    assert!(error(r#"{"site": "a",}"#).starts_with("config: not valid JSON: "), "{}", error(r#"{"site": "a",}"#));
    assert_eq!(error("[1, 2]"), "config: expected a JSON object");
    assert!(error("{}").starts_with("no config: add data-site"), "{}", error("{}"));
    assert!(error(r#"{"site":"a","rules":[{"id":"x"}]}"#).contains("(`collector check` explains it)"));
    let nested = format!(r#"{{"site":"a","deep":{}{}}}"#, "[".repeat(400), "]".repeat(400));
    assert!(error(&nested).starts_with("config: not valid JSON: "), "{}", error(&nested));
    let huge = format!(r#"{{"site":"a","pad":"{}"}}"#, "x".repeat(300 * 1024));
    // Natively the message says the numbers; in the browser, its kind.
    let too_large = if cfg!(target_arch = "wasm32") { "over its size limit" } else { "the limit is" };
    assert!(error(&huge).starts_with("config: ") && error(&huge).contains(too_large), "{}", error(&huge));
    assert!(!error(&huge).starts_with("config: config"), "{}", error(&huge));
    // A compiled config given as a JSON string reads as one.
    let compiled =
        Config::parse(r#"{"site":"c","consent":"implied","rules":[{"id":"p","on":"page_view","points":1}]}"#).unwrap();
    let text = format!("\"{}\"", compiled.to_text());
    let read = Config::parse_widget_input(&Config::widget_input(&none, &text)).unwrap();
    assert_eq!(read.to_bytes(), compiled.to_bytes());
}

/// The document the widget starts from: attributes fill only what the
/// page's config lacks; a compiled config is kept whole.
#[test]
fn the_widget_document_takes_attributes_only_for_missing_keys() {
    let tag = attributes(&[("site", "tag"), ("preset", "b2b-saas")]);
    let own = json::parse(r#"{"site":"own"}"#).unwrap();
    let merged = Config::widget_document(Some(own), &tag).unwrap();
    assert_eq!(merged.to_string(), r#"{"site":"own","preset":"b2b-saas"}"#);
    let alone = Config::widget_document(None, &tag).unwrap();
    assert_eq!(alone.to_string(), r#"{"site":"tag","preset":"b2b-saas"}"#);
    let compiled = Json::string("AAAA");
    assert_eq!(Config::widget_document(Some(compiled.clone()), &tag).unwrap(), compiled);
    assert!(Config::widget_document(None, &json::Object::new()).unwrap_err().starts_with("no config"));
}
