//! Engine semantics, rule kind by rule kind: matching, caps, once,
//! cooldowns, count windows, measurements, decay, fit, stages and the ledger.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::{assert_close, Visitor, T0};
use leadscore::core::time::DAY_MS;
use leadscore::core::{Event, EventId, Grade, Handled, Stage, Timestamp};

/// A config with decay off, so points are exact, and the given rules.
fn rules(rules: &str) -> Visitor {
    Visitor::with_json(&format!(r#"{{"site":"t","half_life_days":"never","rules":[{rules}]}}"#))
}

#[test]
fn rules_match_by_name_url_glob_and_props() {
    let mut visitor = rules(
        r#"{"id":"pricing","on":"page_view","url":"/pricing*","points":3},
           {"id":"trial","on":"download","props":{"kind":["trial","beta"]},"points":20},
           {"id":"any-download","on":"download","points":1}"#,
    );
    let cases: Vec<(Event, f64)> = vec![
        (visitor.event("page_view").with_url("/pricing"), 3.0),
        (visitor.event("page_view").with_url("/pricing/enterprise"), 3.0),
        (visitor.event("page_view").with_url("/about"), 0.0),
        (visitor.event("page_view"), 0.0),
        (visitor.event("download").with_prop("kind", "Trial").unwrap(), 21.0),
        (visitor.event("download").with_prop("kind", "beta").unwrap(), 21.0),
        (visitor.event("download").with_prop("kind", "ebook").unwrap(), 1.0),
        (visitor.event("download"), 1.0),
        (visitor.event("cart_add"), 0.0),
    ];
    for (event, expected) in cases {
        let description = format!("{} {:?} {:?}", event.name, event.url, event.props);
        let before = visitor.score();
        let handled = visitor.send(event);
        assert_close(visitor.score() - before, expected);
        assert_eq!(matches!(handled, Handled::Scored(_)), expected != 0.0, "{description}: {handled:?}");
    }
}

#[test]
fn negative_rules_subtract() {
    let mut visitor = rules(
        r#"{"id":"visit","on":"page_view","points":10},{"id":"careers","on":"page_view","url":"/careers*","points":-15,"once":true}"#,
    );
    visitor.page("/");
    visitor.page("/careers/engineer");
    visitor.page("/careers/designer");
    assert_close(visitor.score(), 30.0 - 15.0);
    assert_close(visitor.points_of("careers"), -15.0);
}

#[test]
fn caps_bound_points_held_and_clip_the_last_award() {
    let mut visitor = rules(r#"{"id":"wishlist","on":"wishlist_add","points":8,"cap":20}"#);
    let awarded: Vec<f64> = (0..4)
        .map(|_| match visitor.track("wishlist_add") {
            Handled::Scored(awards) => awards[0].points,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(awarded, [8.0, 8.0, 4.0, 0.0]);
    assert_close(visitor.score(), 20.0);
    let ledger = visitor.engine.ledger(visitor.now);
    assert_eq!((ledger[0].count, ledger[0].awards), (4, 3));
}

#[test]
fn negative_caps_bound_the_magnitude() {
    let mut visitor = rules(r#"{"id":"bounce","on":"bounce","points":-10,"cap":25}"#);
    for _ in 0..5 {
        visitor.track("bounce");
    }
    assert_close(visitor.score(), -25.0);
}

#[test]
fn a_decayed_capped_rule_can_earn_again() {
    let mut visitor = Visitor::with_json(
        r#"{"site":"t","half_life_days":10,"rules":[{"id":"cart","on":"cart_add","points":10,"cap":10}]}"#,
    );
    visitor.track("cart_add");
    visitor.track("cart_add");
    assert!((visitor.score() - 10.0).abs() < 1e-4, "held at the cap, got {}", visitor.score());
    let ledger = visitor.engine.ledger(visitor.now);
    assert_eq!((ledger[0].count, ledger[0].awards), (2, 1), "a sliver of decay is not worth a new award");
    visitor.wait_days(10.0);
    assert!((visitor.score() - 5.0).abs() < 1e-4, "half gone after one half-life, got {}", visitor.score());
    visitor.track("cart_add");
    assert_close(visitor.score(), 10.0);
}

#[test]
fn once_awards_a_single_time_ever() {
    let mut visitor = rules(r#"{"id":"newsletter","on":"newsletter_signup","points":15,"once":true}"#);
    visitor.track("newsletter_signup");
    visitor.wait_days(400.0);
    visitor.track("newsletter_signup");
    assert_close(visitor.score(), 15.0);
    assert_eq!(visitor.engine.ledger(visitor.now)[0].count, 2);
}

#[test]
fn cooldowns_space_awards_out() {
    let mut visitor = rules(r#"{"id":"demo","on":"demo_use","points":5,"once_every_days":7}"#);
    visitor.track("demo_use");
    visitor.wait_days(6.9);
    visitor.track("demo_use");
    assert_close(visitor.score(), 5.0);
    visitor.wait_days(0.2);
    visitor.track("demo_use");
    assert_close(visitor.score(), 10.0);
}

#[test]
fn min_count_without_a_window_counts_a_lifetime() {
    let mut visitor = rules(r#"{"id":"repeat-visit","on":"visit","min_count":2,"points":10,"cap":20}"#);
    let mut scores = Vec::new();
    for _ in 0..4 {
        visitor.track("visit");
        visitor.wait_days(30.0);
        scores.push(visitor.score());
    }
    assert_eq!(scores, [0.0, 10.0, 20.0, 20.0]);
}

#[test]
fn min_count_within_a_window_needs_the_views_close_together() {
    let rule = r#"{"id":"pricing-3x","on":"page_view","url":"/pricing*","min_count":3,"within_days":7,"points":15,"once_every_days":7}"#;

    let mut spread = rules(rule);
    for _ in 0..3 {
        spread.page("/pricing");
        spread.wait_days(4.0);
    }
    assert_close(spread.score(), 0.0);

    let mut close = rules(rule);
    close.page("/pricing");
    close.wait_days(3.0);
    close.page("/pricing");
    assert_close(close.score(), 0.0);
    close.wait_days(3.0);
    close.page("/pricing");
    assert_close(close.score(), 15.0);
    close.page("/pricing");
    assert_close(close.score(), 15.0);
    close.wait_days(7.0);
    close.page("/pricing");
    close.page("/pricing");
    assert_close(close.score(), 15.0);
    close.page("/pricing");
    assert_close(close.score(), 30.0);
}

#[test]
fn engaged_time_counts_once_per_page_view_past_the_threshold() {
    let mut visitor =
        rules(r#"{"id":"deep-read","on":"engaged_time","url":"/product*","min_seconds":120,"points":5,"cap":15}"#);
    visitor.engaged("/product/a", 60, 100);
    assert_close(visitor.score(), 0.0);
    visitor.engaged("/product/a", 130, 100);
    visitor.engaged("/product/a", 300, 100);
    assert_close(visitor.score(), 5.0);
    visitor.engaged("/blog/x", 900, 101);
    assert_close(visitor.score(), 5.0);
    visitor.engaged("/product/b", 121, 102);
    visitor.engaged("/product/c", 500, 103);
    visitor.engaged("/product/d", 500, 104);
    assert_close(visitor.score(), 15.0);
}

#[test]
fn interleaved_page_views_from_two_tabs_count_once_each() {
    let mut visitor = rules(r#"{"id":"deep-read","on":"engaged_time","min_seconds":60,"points":5}"#);
    for page_view in [1, 2, 1, 2, 1] {
        visitor.engaged("/product", 90, page_view);
    }
    assert_close(visitor.score(), 10.0);
}

#[test]
fn sales_intent_waits_for_the_rule_conditions() {
    let mut visitor = Visitor::with_json(
        r#"{"site":"t","half_life_days":"never","mql_requires_identity":false,"rules":[
            {"id":"base","on":"base","points":60},
            {"id":"pricing-asks","on":"pricing_request","min_count":2,"points":0}]}"#,
    );
    visitor.track("base");
    visitor.track("pricing_request");
    assert_eq!(visitor.stage(), Stage::Mql, "one ask is below the rule's min_count");
    visitor.track("pricing_request");
    assert_eq!(visitor.stage(), Stage::SalesReady);
}

#[test]
fn numeric_prop_conditions_match_the_text_pages_send() {
    let mut visitor = rules(r#"{"id":"plan","on":"cart_add","props":{"seats":[2.0, 10]},"points":5}"#);
    visitor.track_props("cart_add", &[("seats", "2")]);
    visitor.track_props("cart_add", &[("seats", " 10 ")]);
    visitor.track_props("cart_add", &[("seats", "3")]);
    assert_close(visitor.score(), 10.0);
}

#[test]
fn scroll_depth_rules_read_percent() {
    let mut visitor = rules(r#"{"id":"deep-scroll","on":"scroll_depth","url":"/blog/*","min_percent":75,"points":2}"#);
    visitor.scrolled("/blog/rust", 50, 1);
    visitor.scrolled("/blog/rust", 74, 1);
    assert_close(visitor.score(), 0.0);
    visitor.scrolled("/blog/rust", 75, 1);
    visitor.scrolled("/blog/rust", 100, 1);
    visitor.scrolled("/blog/wasm", 90, 2);
    assert_close(visitor.score(), 4.0);
}

#[test]
fn decay_halves_points_every_half_life() {
    let mut visitor = Visitor::with_json(
        r#"{"site":"t","half_life_days":30,"rules":[
            {"id":"a","on":"a","points":10},
            {"id":"b","on":"b","points":8,"half_life_days":7},
            {"id":"c","on":"c","points":4,"half_life_days":"never"}]}"#,
    );
    visitor.track("a");
    visitor.track("b");
    visitor.track("c");
    let (a_at, b_at) = (T0 + 1000, T0 + 2000);
    let last = visitor.now;
    let expected = |now: u64| {
        let days = |since: u64| (now - since) as f64 / DAY_MS as f64;
        10.0 * 0.5f64.powf(days(a_at) / 30.0) + 8.0 * 0.5f64.powf(days(b_at) / 7.0) + 4.0
    };
    for days in [0.0, 1.0, 7.0, 30.0, 45.5, 365.0, 3650.0] {
        let now = last.plus_millis((days * DAY_MS as f64) as u64);
        assert_close(visitor.engine.score(now), expected(now.as_millis()));
    }
    assert_close(
        visitor.engine.score(Timestamp(T0 + 1000 + 30 * DAY_MS))
            - 4.0
            - 8.0 * 0.5f64.powf((30.0 * DAY_MS as f64 - 1000.0) / (7.0 * DAY_MS as f64)),
        5.0,
    );
    // A clock that runs behind (another tab, a reset device) never inflates a score.
    assert_close(visitor.engine.score(Timestamp(0)), 10.0 + 8.0 + 4.0);
}

#[test]
fn fit_conditions_and_grades() {
    let json = r#"{"site":"t","grades":{"a":25,"b":10,"c":1},"rules":[{"id":"r","on":"visit","points":1}],"fit":[
        {"field":"job_title","contains_any":["vp","director"],"points":10},
        {"field":"company_size","at_least":50,"at_most":5000,"points":10},
        {"field":"industry","in":["software","finance"],"points":5},
        {"field":"country","not_in":["xx"],"points":2},
        {"field":"budget","at_least":10000,"points":5},
        {"field":"phone","present":true,"points":1},
        {"field":"email","free_mail":true,"points":-10}]}"#;
    type Case<'a> = (Vec<(&'a str, &'a str)>, i64, Grade);
    let cases: Vec<Case> = vec![
        (vec![], 0, Grade::D),
        (vec![("email", "ann@gmail.com")], -10, Grade::D),
        (vec![("email", "ann@acme.example")], 0, Grade::D),
        (vec![("email", "ann@acme.example"), ("phone", "+1 555")], 1, Grade::C),
        (vec![("job_title", "VP Marketing")], 10, Grade::B),
        (vec![("job_title", "MVP developer")], 0, Grade::D),
        (vec![("company_size", "51-200"), ("industry", "Software")], 15, Grade::B),
        (vec![("company_size", "11-50")], 0, Grade::D),
        (vec![("company_size", "10000+")], 0, Grade::D),
        (
            vec![("job_title", "Director"), ("company_size", "200"), ("industry", "finance"), ("country", "DE")],
            27,
            Grade::A,
        ),
        (vec![("budget", "$10k-50k"), ("country", "xx")], 5, Grade::C),
    ];
    for (fields, points, grade) in cases {
        let mut visitor = Visitor::with_json(json);
        visitor.identify(&fields);
        assert_eq!((visitor.engine.fit_points(), visitor.engine.grade()), (points, grade), "{fields:?}");
    }
}

const STAGES: &str = r#"{"site":"t","half_life_days":"never","thresholds":{"warm":20,"mql":50,"sales_ready":80},"rules":[
    {"id":"one","on":"one","points":1},{"id":"ten","on":"ten","points":10},{"id":"quote","on":"quote_request","points":0}]}"#;

fn reach(visitor: &mut Visitor, points: u32) {
    for _ in 0..points / 10 {
        visitor.track("ten");
    }
    for _ in 0..points % 10 {
        visitor.track("one");
    }
}

#[test]
fn stages_switch_exactly_at_their_thresholds() {
    let cases: Vec<(u32, bool, bool, Stage)> = vec![
        (0, false, false, Stage::Cold),
        (19, true, false, Stage::Cold),
        (20, false, false, Stage::Warm),
        (49, true, false, Stage::Warm),
        (50, false, false, Stage::Warm),
        (50, true, false, Stage::Mql),
        (79, true, false, Stage::Mql),
        (80, true, false, Stage::SalesReady),
        (80, false, false, Stage::Warm),
        (50, true, true, Stage::SalesReady),
        (49, true, true, Stage::Warm),
        (10, false, true, Stage::Cold),
    ];
    for (points, email, quote, expected) in cases {
        let mut visitor = Visitor::with_json(STAGES);
        reach(&mut visitor, points);
        if email {
            visitor.identify(&[("email", "pat@acme.example")]);
        }
        if quote {
            visitor.track("quote_request");
        }
        assert_eq!(visitor.stage(), expected, "{points} points, email {email}, quote {quote}");
    }
}

#[test]
fn mql_without_an_email_when_the_config_allows_it() {
    let mut visitor =
        Visitor::with_json(&STAGES.replace(r#""site":"t","#, r#""site":"t","mql_requires_identity":false,"#));
    reach(&mut visitor, 50);
    assert_eq!(visitor.stage(), Stage::Mql);
}

#[test]
fn the_ledger_explains_the_score() {
    let mut visitor = Visitor::with_json(
        r#"{"site":"t","half_life_days":10,"rules":[
            {"id":"pricing","on":"page_view","url":"/pricing","points":4},
            {"id":"unused","on":"cart_add","points":4},
            {"id":"careers","on":"page_view","url":"/careers","points":-6}]}"#,
    );
    visitor.page("/pricing");
    let first = visitor.now;
    visitor.wait_days(10.0);
    visitor.page("/careers");
    visitor.page("/pricing");
    let last = visitor.now;
    visitor.wait_days(10.0);
    let ledger = visitor.engine.ledger(visitor.now);
    let ids: Vec<&str> = ledger.iter().map(|entry| entry.rule_id.as_str()).collect();
    assert_eq!(ids, ["pricing", "careers"], "config order, matched rules only");
    assert_eq!((ledger[0].count, ledger[0].first, ledger[0].last), (2, first, last));
    let total: f64 = ledger.iter().map(|entry| entry.points).sum();
    assert_close(total, visitor.score());
    assert!(ledger[0].points > 2.9 && ledger[0].points < 3.1, "4·½·½ + 4·½ ≈ 3, got {}", ledger[0].points);
}

#[test]
fn each_event_id_counts_once() {
    let mut visitor = rules(r#"{"id":"cart","on":"cart_add","points":5}"#);
    let event = visitor.event("cart_add");
    assert!(matches!(visitor.send(event.clone()), Handled::Scored(_)));
    assert_eq!(visitor.send(event), Handled::Duplicate);
    assert_close(visitor.score(), 5.0);
}

#[test]
fn late_events_are_placed_in_time_and_replayed() {
    let rule = r#"{"id":"pricing-3x","on":"page_view","url":"/pricing","min_count":3,"within_days":7,"points":15}"#;
    let mut in_order = rules(rule);
    let mut shuffled = rules(rule);
    let events: Vec<Event> = (0..3u64)
        .map(|day| {
            Event::new(EventId(10 + day), Timestamp(T0 + day * DAY_MS), "page_view").unwrap().with_url("/pricing")
        })
        .collect();
    for event in &events {
        in_order.send(event.clone());
    }
    for index in [2, 0, 1] {
        shuffled.send(events[index].clone());
    }
    let now = Timestamp(T0 + 5 * DAY_MS);
    assert_close(shuffled.engine.score(now), 15.0);
    assert_eq!(shuffled.engine.ledger(now), in_order.engine.ledger(now));
    assert_eq!(shuffled.engine.state(), in_order.engine.state());
}

#[test]
fn events_are_stored_minimized() {
    let mut visitor = rules(r#"{"id":"trial","on":"download","props":{"kind":"trial"},"points":20}"#);
    let event = visitor
        .event("download")
        .with_url("/files/trial.dmg")
        .with_prop("kind", "trial")
        .unwrap()
        .with_prop("campaign", "x")
        .unwrap();
    visitor.send(event);
    visitor.track("page_view");
    let evidence = visitor.engine.state().evidence();
    assert_eq!(evidence.len(), 1, "unmatched events are not kept");
    assert_eq!(evidence[0].url, None, "no rule reads a download's url");
    assert_eq!(evidence[0].props.keys().collect::<Vec<_>>(), ["kind"]);
}

#[test]
fn visits_start_after_thirty_idle_minutes() {
    let mut visitor = rules(r#"{"id":"visit","on":"visit","points":1}"#);
    let mut starts = Vec::new();
    for gap in [0, 5, 29, 30, 31, 1] {
        visitor.wait_minutes(gap);
        starts.push(visitor.engine.begin_activity(visitor.now));
    }
    assert_eq!(starts, [true, false, false, true, true, false]);
}

#[test]
fn bad_api_input_is_refused_with_reasons() {
    assert_eq!(
        Event::new(EventId(1), Timestamp(0), "sign up").unwrap_err().to_string(),
        "event name may use letters, digits, '_', '.', ':' and '-' only, found ' ' in \"sign up\""
    );
    assert!(Event::new(EventId(1), Timestamp(0), "").is_err());
    assert!(Event::new(EventId(1), Timestamp(0), &"x".repeat(65)).is_err());
    let mut event = Event::new(EventId(1), Timestamp(0), "x").unwrap();
    for index in 0..16 {
        event = event.with_prop(&format!("k{index}"), "v").unwrap();
    }
    assert!(event.clone().with_prop("one_more", "v").unwrap_err().to_string().contains("at most 16 properties"));
    let long = event.with_prop("k0", &"é".repeat(1000)).unwrap();
    assert_eq!(long.props.get("k0").map(|value| value.chars().count()), Some(256));

    let mut visitor = rules(r#"{"id":"r","on":"visit","points":1}"#);
    let error = visitor.engine.identify(visitor.now, [("e-mail", "x@y.z")]).unwrap_err();
    assert!(error.to_string().contains("did you mean \"email\"?"), "{error}");
}
