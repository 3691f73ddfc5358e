//! The engagement clock and page views, natively: engaged time only while
//! visible, focused and active; scroll depth measured only while it can
//! still score; visits after 30 idle minutes; SPA navigations, hash routes
//! and back/forward restores; the landing page as the loader saw it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::page::{config_json, shelf, Tab};
use leadscore::session::{page_path, Signal};

fn implied(rules: &str) -> String {
    config_json("t", &format!(r#""consent":"implied","rules":[{rules}]"#))
}

const ENGAGED: &str = r#"{"id":"read","on":"engaged_time","min_seconds":60,"points":5},
                         {"id":"long","on":"engaged_time","min_seconds":600,"points":7}"#;

fn visibility(visible: Option<bool>, focused: Option<bool>) -> Signal {
    Signal::Visibility { visible, focused }
}

#[test]
fn engaged_time_counts_while_the_visitor_is_active() {
    let mut tab = Tab::open(&implied(ENGAGED));
    for _ in 0..4 {
        tab.advance(20_000).signal(Signal::Input);
    }
    assert_eq!(tab.count("read"), 1, "reported when the 60 s threshold is crossed");
    assert_eq!(tab.values_of("engaged_time"), [60], "the figure when it was crossed");
    // Ten idle minutes: at most 30 s after the last input count.
    tab.advance(600_000).signal(Signal::Input);
    assert_eq!(tab.session.engaged_seconds(), 110);
    assert_eq!(tab.count("long"), 0, "idle time is not engaged time");
}

#[test]
fn hidden_or_blurred_time_is_not_engaged() {
    let cases: &[(&str, Signal)] =
        &[("hidden", visibility(Some(false), None)), ("blurred", visibility(None, Some(false)))];
    for (name, away) in cases {
        let mut tab = Tab::open(&implied(ENGAGED));
        tab.advance(10_000).signal(Signal::Input).signal(away.clone());
        for _ in 0..10 {
            tab.advance(20_000).signal(Signal::Input);
        }
        assert_eq!(tab.session.engaged_seconds(), 10, "{name}: the time away does not count");
        tab.signal(visibility(Some(true), Some(true)));
        for _ in 0..3 {
            tab.advance(20_000).signal(Signal::Input);
        }
        assert_eq!(tab.session.engaged_seconds(), 70, "{name}: counting resumes on return");
        assert_eq!(tab.count("read"), 1);
    }
}

#[test]
fn leaving_reports_what_was_gained_since_the_last_report() {
    let mut tab = Tab::open(&implied(ENGAGED));
    for _ in 0..3 {
        tab.advance(20_000).signal(Signal::Input);
    }
    assert_eq!(tab.values_of("engaged_time"), [60]);
    tab.advance(15_000).signal(Signal::Leaving);
    assert_eq!(tab.values_of("engaged_time"), [60, 75], "the final figure on leaving");
    tab.signal(Signal::Leaving);
    assert_eq!(tab.values_of("engaged_time"), [60, 75], "nothing new, nothing reported");

    let mut brief = Tab::open(&implied(ENGAGED));
    brief.advance(20_000).signal(Signal::Input).advance(10_000).signal(Signal::Leaving);
    assert!(brief.values_of("engaged_time").is_empty(), "below the lowest threshold: nothing to say");
}

#[test]
fn scroll_depth_is_measured_only_while_it_can_still_score() {
    let mut tab = Tab::open(&implied(r#"{"id":"deep","on":"scroll_depth","min_percent":75,"points":2}"#));
    tab.scroll_percent = 10;
    tab.signal(Signal::Scroll);
    assert_eq!((tab.measured, tab.count("deep")), (1, 0));
    tab.scroll_percent = 90;
    tab.signal(Signal::Scroll).signal(Signal::Scroll);
    assert_eq!(tab.count("deep"), 1);
    assert_eq!(tab.measured, 2, "the highest threshold is reported: no more layout reads");
    assert_eq!(tab.values_of("scroll_depth"), [90]);
    tab.signal(Signal::Navigated { url: "https://shop.example/next".into() }).signal(Signal::Scroll);
    assert_eq!(tab.measured, 3, "a new page view measures again");

    let mut off = Tab::open(&implied(r#"{"id":"x","on":"x","points":1}"#));
    off.signal(Signal::Scroll);
    assert_eq!(off.measured, 0, "no scroll rule: never measured");
}

#[test]
fn thirty_idle_minutes_start_a_new_visit() {
    let mut tab = Tab::open(&implied(r#"{"id":"visit","on":"visit","points":1}"#));
    assert_eq!(tab.count("visit"), 1, "the first page view starts a visit");
    tab.advance(10 * 60_000).signal(Signal::Navigated { url: "https://shop.example/a".into() });
    assert_eq!(tab.count("visit"), 1, "ten minutes later: the same visit");
    tab.advance(31 * 60_000).signal(Signal::Navigated { url: "https://shop.example/b".into() });
    assert_eq!(tab.count("visit"), 2, "after 30 idle minutes: a new visit");
}

#[test]
fn navigations_count_as_page_views_when_the_path_changes() {
    let rules =
        r#"{"id":"pv","on":"page_view","points":1},{"id":"pricing","on":"page_view","url":"/pricing*","points":10}"#;
    let mut tab = Tab::open(&implied(rules));
    assert_eq!(tab.count("pv"), 1, "the landing page");
    for url in [
        "https://shop.example/pricing",
        "https://shop.example/pricing",
        "https://shop.example/pricing?plan=pro",
        "https://shop.example/docs",
    ] {
        tab.signal(Signal::Navigated { url: url.into() });
    }
    assert_eq!(tab.count("pv"), 3, "new paths count; the same path and a query change do not");
    assert_eq!(tab.count("pricing"), 1);
    tab.signal(Signal::Navigated { url: "https://shop.example/docs#/pricing/enterprise".into() });
    assert_eq!(tab.count("pricing"), 2, "hash routes count as pages");
    tab.signal(Signal::Restored);
    assert_eq!(tab.count("pv"), 5, "a back/forward restore is a new view of the same page");

    let mut off = Tab::open(&config_json(
        "t",
        &format!(r#""consent":"implied","capture":{{"page_views":false}},"rules":[{rules}]"#),
    ));
    off.signal(Signal::Navigated { url: "https://shop.example/pricing".into() }).signal(Signal::Restored);
    assert_eq!(off.count("pv"), 0, "page views switched off");
}

#[test]
fn the_landing_page_and_early_navigations_each_count() {
    // The loader saw the landing page and two navigations before the module
    // (and its config) arrived: three page views, in order.
    let rules =
        r#"{"id":"pv","on":"page_view","points":1},{"id":"pricing","on":"page_view","url":"/pricing","points":10}"#;
    let mut tab = Tab::at("https://shop.example/pricing", &shelf(), 1);
    tab.signal(Signal::Navigated { url: "https://shop.example/features".into() });
    tab.signal(Signal::Navigated { url: "https://shop.example/signup".into() });
    tab.configure(&implied(rules));
    tab.ready();
    assert_eq!(tab.count("pv"), 3);
    assert_eq!(tab.count("pricing"), 1, "the landing page is the one the loader saw, not the current one");
    assert_eq!(tab.session.page_path(), Some("/signup"));
}

#[test]
fn rule_paths_come_from_the_url() {
    let cases = [
        ("https://shop.example/pricing?plan=pro#top", "/pricing"),
        ("https://shop.example", "/"),
        ("https://shop.example/", "/"),
        ("https://shop.example/app#/pricing?x=1", "/pricing"),
        ("https://shop.example/app#!/docs/intro", "/docs/intro"),
        ("https://shop.example/app#section", "/app"),
        ("/relative/path?q", "/relative/path"),
    ];
    for (url, path) in cases {
        assert_eq!(page_path(url), path, "{url}");
    }
}

#[test]
fn an_ad_click_arrival_is_read_from_the_landing_url() {
    let mut tab = Tab::at("https://shop.example/?gclid=abc&utm_campaign=spring", &shelf(), 1);
    tab.configure(&implied(r#"{"id":"ad","on":"ad_click","points":5}"#));
    tab.ready();
    assert_eq!(tab.count("ad"), 1);
    tab.signal(Signal::Navigated { url: "https://shop.example/?gclid=again".into() });
    assert_eq!(tab.count("ad"), 1, "once per load");
}
