//! The widget's rules of thumb, tested away from the DOM: which form fields
//! are read as identity (and which never are), card numbers, downloads,
//! ad-click arrivals, attribution and the query parameters that may leave.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::signals::{
    classify_field, guess_download_kind, is_download_path, looks_like_card_number, parse_props, strip_query,
    FieldHints, Touch,
};
use leadscore::core::{Config, Field, Timestamp};

fn hints<'a>(input_type: &'a str, name: &'a str, autocomplete: &'a str) -> FieldHints<'a> {
    FieldHints { input_type, name, id: "", autocomplete }
}

#[test]
fn form_fields_map_to_identity_through_the_allowlist() {
    let cases: &[(&str, &str, &str, Option<Field>)] = &[
        ("email", "anything", "", Some(Field::Email)),
        ("text", "Email-Address", "", Some(Field::Email)),
        ("text", "x", "email", Some(Field::Email)),
        ("text", "fname", "", Some(Field::FirstName)),
        ("text", "x", "given-name", Some(Field::FirstName)),
        ("text", "last_name", "", Some(Field::LastName)),
        ("text", "company", "", Some(Field::Company)),
        ("text", "x", "organization-title", Some(Field::JobTitle)),
        ("text", "job-title", "", Some(Field::JobTitle)),
        ("select-one", "company_size", "", Some(Field::CompanySize)),
        ("text", "industry", "", Some(Field::Industry)),
        ("text", "country", "", Some(Field::Country)),
        ("tel", "whatever", "", Some(Field::Phone)),
        ("text", "budget", "", Some(Field::Budget)),
        ("text", "timeline", "", Some(Field::Timeline)),
        ("text", "message", "", None),
        ("text", "shoe_size", "", None),
        // Never read, whatever the name says.
        ("password", "email", "", None),
        ("hidden", "email", "", None),
        ("file", "company", "", None),
        ("text", "card_number", "", None),
        ("text", "email", "cc-number", None),
        ("text", "cvv", "", None),
        ("text", "company_iban", "", None),
        ("text", "user_password", "", None),
    ];
    for (input_type, name, autocomplete, expected) in cases {
        assert_eq!(
            classify_field(&hints(input_type, name, autocomplete), &[], true),
            *expected,
            "{input_type} {name} {autocomplete}"
        );
    }
}

#[test]
fn the_config_adds_names_and_can_turn_heuristics_off() {
    let config = Config::parse(
        r#"{"site":"t","preset":"content","identity_fields":{"job_title":["Position"],"email":["kontakt"]},
            "capture":{"form_heuristics":false}}"#,
    )
    .unwrap();
    let extra = config.identity_fields();
    let heuristics = config.capture().form_heuristics;
    assert!(!heuristics);
    assert_eq!(classify_field(&hints("text", "position", ""), extra, heuristics), Some(Field::JobTitle));
    assert_eq!(classify_field(&hints("text", "KONTAKT", ""), extra, heuristics), Some(Field::Email));
    assert_eq!(classify_field(&hints("text", "company", ""), extra, heuristics), None, "heuristics off");
    assert_eq!(classify_field(&hints("text", "x", "organization"), extra, heuristics), Some(Field::Company));
    assert_eq!(classify_field(&hints("password", "position", ""), extra, heuristics), None, "never passwords");
    let error = Config::parse(r#"{"site":"t","preset":"content","identity_fields":{"jobtitle":["x"]}}"#).unwrap_err();
    assert!(error.to_string().starts_with("identity_fields.jobtitle: unknown identity field"), "{error}");
    let error = Config::parse(r#"{"site":"t","preset":"content","capture":{"form":false}}"#).unwrap_err();
    // The hint is native only: in the browser the error is kept short.
    let expected = if cfg!(target_arch = "wasm32") { "capture.form: unknown field" } else { "did you mean \"forms\"?" };
    assert!(error.to_string().contains(expected), "{error}");
}

#[test]
fn card_numbers_are_recognised() {
    for number in ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500005555555559", "378282246310005"] {
        assert!(looks_like_card_number(number), "{number}");
    }
    for other in ["4111 1111 1111 1112", "12345", "+44 20 7946 0000", "2026-11-22", "ann@acme.example", ""] {
        assert!(!looks_like_card_number(other), "{other}");
    }
}

#[test]
fn downloads_are_recognised_by_extension_and_named_by_file() {
    for path in ["/files/guide.pdf", "/a/b/Setup.DMG", "/x.zip", "/report.xlsx", "/data.csv", "/app.msi"] {
        assert!(is_download_path(path), "{path}");
    }
    for path in ["/pricing", "/blog/post.html", "/pdf", "/.pdf"] {
        assert!(!is_download_path(path), "{path}");
    }
    assert_eq!(guess_download_kind("/files/Acme-Trial-2.3.dmg"), Some("trial"));
    assert_eq!(guess_download_kind("/files/state-of-leads-whitepaper.pdf"), Some("whitepaper"));
    assert_eq!(guess_download_kind("/files/E-Book_Scoring.pdf"), Some("ebook"));
    assert_eq!(guess_download_kind("/files/logo.zip"), None);
}

#[test]
fn ad_clicks_and_attribution_come_from_the_landing_query() {
    let at = Timestamp(1);
    let touch = Touch::from_query("?gclid=abc123&utm_campaign=spring%20sale", at).unwrap();
    assert_eq!(touch.source.as_deref(), Some("google"));
    assert_eq!(touch.campaign.as_deref(), Some("spring sale"));
    assert_eq!(touch.click_id.as_deref(), Some("gclid"));
    assert!(touch.is_ad_click());
    for query in
        ["?utm_source=bing&utm_medium=cpc", "?utm_medium=paid_social", "?msclkid=1", "?li_fat_id=9", "?ttclid=x"]
    {
        assert!(Touch::from_query(query, at).unwrap().is_ad_click(), "{query}");
    }
    let newsletter = Touch::from_query("?utm_source=newsletter&utm_medium=email", at).unwrap();
    assert!(!newsletter.is_ad_click());
    assert_eq!(Touch::from_query("?q=boots&page=2", at), None);
    assert_eq!(Touch::from_query("", at), None);
}

#[test]
fn only_utm_and_click_ids_survive_in_urls() {
    assert_eq!(strip_query("?email=ann%40acme.example&utm_source=x&token=secret&gclid=1&q=a"), "?utm_source=x&gclid=1");
    assert_eq!(strip_query("?session=abc"), "");
    assert_eq!(strip_query(""), "");
}

#[test]
fn element_props_are_a_flat_json_object() {
    assert_eq!(
        parse_props(r#"{"kind":"trial","seats":5,"beta":true}"#).unwrap(),
        [("beta".to_string(), "true".to_string()), ("kind".into(), "trial".into()), ("seats".into(), "5".into())]
    );
    assert_eq!(
        parse_props(r#"{"two":2.0,"half":2.5}"#).unwrap(),
        [("half".to_string(), "2.5".to_string()), ("two".into(), "2".into())],
        "numbers read as rule conditions read them"
    );
    assert!(parse_props("{kind:trial}").unwrap_err().contains("not JSON"));
    assert!(parse_props("[1]").unwrap_err().contains("must be a JSON object"));
    assert!(parse_props(r#"{"a":{"b":1}}"#).unwrap_err().contains("data-leadscore-props.a"));
}
