//! The consent basis, natively: every source, in every order, a refusal
//! from any source wins, what starts tracking and what wipes it, and
//! consent that arrives before the config is kept.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::page::{config_json, shelf, Tab};
use leadscore::session::{Signal, Source, Verdict};

use Source::*;
use Verdict::*;

fn required(extra: &str) -> String {
    config_json("t", &format!(r#""consent":"required",{extra}"rules":[{{"id":"x","on":"x","points":5}}]"#))
}

fn implied(extra: &str) -> String {
    config_json("t", &format!(r#""consent":"implied",{extra}"rules":[{{"id":"x","on":"x","points":5}}]"#))
}

/// What the sources said, in order.
type Reports = &'static [(Source, Verdict)];

/// After `reports`, whether tracking is on and which source refuses.
fn after(config: &str, reports: &[(Source, Verdict)]) -> (bool, Option<&'static str>, bool) {
    let mut tab = Tab::open(config);
    for &(source, verdict) in reports {
        tab.consent(source, verdict);
    }
    tab.track("x").signal(Signal::Flush);
    let stored = tab.shelf.borrow().is_some();
    (tab.session.active(), tab.session.refusal(), stored)
}

#[test]
fn each_source_grants_or_refuses() {
    let cases: &[(&str, String, Reports, bool, Option<&str>)] = &[
        ("required, nothing said", required(""), &[], false, None),
        ("required, consent()", required(""), &[(Api, Granted)], true, None),
        ("required, the consent event", required(""), &[(Event, Granted)], true, None),
        ("required, a TCF grant", required(""), &[(Tcf, Granted)], true, None),
        ("required, TCF where GDPR does not apply", required(""), &[(Tcf, Unset)], false, None),
        ("required, Consent Mode granted", required(""), &[(ConsentMode, Granted)], true, None),
        ("required, consent() refused over a TCF grant", required(""), &[(Tcf, Granted), (Api, Denied)], false, None),
        ("implied, nothing said", implied(""), &[], true, None),
        ("implied, consent() refused", implied(""), &[(Api, Denied)], false, None),
        ("implied, GPC on", implied(""), &[(Gpc, Denied)], false, Some("gpc")),
        ("implied, DNT on", implied(""), &[(Dnt, Denied)], false, Some("dnt")),
        ("implied, GPC off", implied(""), &[(Gpc, Granted)], true, None),
        ("implied, GPC not honoured", implied(r#""privacy":{"gpc":false},"#), &[(Gpc, Denied)], true, None),
        ("implied, TCF refused", implied(""), &[(Tcf, Denied)], false, Some("tcf")),
        ("implied, TCF not read", implied(r#""privacy":{"tcf":false},"#), &[(Tcf, Denied)], true, None),
        ("implied, Consent Mode denied", implied(""), &[(ConsentMode, Denied)], false, Some("consent_mode")),
        (
            "implied, Consent Mode not read",
            implied(r#""privacy":{"consent_mode":false},"#),
            &[(ConsentMode, Denied)],
            true,
            None,
        ),
        ("required, GPC over consent()", required(""), &[(Api, Granted), (Gpc, Denied)], false, Some("gpc")),
        ("required, the privacy panel", required(""), &[(Api, Granted), (Panel, Denied)], false, None),
    ];
    for (name, config, reports, active, refusal) in cases {
        let (is_active, refused_by, stored) = after(config, reports);
        assert_eq!(is_active, *active, "{name}: active");
        assert_eq!(refused_by, *refusal, "{name}: refusal");
        assert_eq!(stored, *active, "{name}: stored only with a basis");
    }
}

/// Every order of the same reports ends the same way: a refusal wins
/// whenever it came.
#[test]
fn the_order_of_reports_does_not_matter() {
    let sets: &[(Reports, bool, Option<&str>)] = &[
        (&[(Api, Granted), (Tcf, Denied), (ConsentMode, Granted)], false, Some("tcf")),
        (&[(Event, Granted), (ConsentMode, Granted), (Dnt, Granted)], true, None),
        (&[(Tcf, Granted), (ConsentMode, Denied), (Gpc, Granted)], false, Some("consent_mode")),
    ];
    for (reports, active, refusal) in sets {
        for order in permutations(reports) {
            let (is_active, refused_by, _) = after(&required(""), &order);
            assert_eq!((is_active, refused_by), (*active, *refusal), "in the order {order:?}");
        }
    }
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for index in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(index);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[test]
fn nothing_is_scored_or_stored_without_a_basis() {
    let mut tab = Tab::open(&required(""));
    tab.track("x").signal(Signal::Flush).signal(Signal::Leaving);
    assert_eq!((tab.score(), tab.writes, tab.removes), (0.0, 0, 0));
    assert!(tab.sent.is_empty() && tab.beacons.is_empty());
}

#[test]
fn a_grant_stores_the_visitor_at_once_and_a_withdrawal_wipes_it() {
    let mut tab = Tab::open(&required(""));
    tab.consent(Api, Granted);
    assert_eq!(tab.writes, 1, "a new visitor is written at once, so a second tab finds it");
    let visitor = tab.visitor();
    tab.track("x");
    assert_eq!(tab.score(), 5.0);
    tab.consent(Api, Denied);
    assert!(tab.shelf.borrow().is_none(), "the key goes at once");
    assert_eq!((tab.score(), tab.removes), (0.0, 1));
    assert_ne!(tab.visitor(), visitor, "a new anonymous visitor in memory");
    assert!(tab.erasures.is_empty(), "nothing was sent, so there is nothing to erase");
}

#[test]
fn reports_before_the_start_only_set_the_starting_point() {
    // A CMP that answers "denied" at once and "granted" later: no wipe at
    // the start (nothing was tracked), tracking when the grant comes.
    let shelf = shelf();
    *shelf.borrow_mut() = None;
    let mut tab = Tab::at("https://shop.example/", &shelf, 1);
    tab.configure(&implied(""));
    tab.consent(Tcf, Denied);
    tab.ready();
    assert_eq!((tab.session.active(), tab.removes), (false, 0));
    tab.consent(Tcf, Granted);
    assert!(tab.session.active());
    assert_eq!(tab.count("x"), 0);
    tab.track("x");
    assert_eq!(tab.count("x"), 1);
}

#[test]
fn consent_given_before_the_config_is_kept_in_order() {
    let mut tab = Tab::at("https://shop.example/", &shelf(), 1);
    // A consent tool's event on a returning visit, before the module had a config.
    tab.consent(Event, Granted);
    tab.track("x");
    tab.configure(&required(""));
    tab.ready();
    assert!(tab.session.active(), "the early grant counts");
    assert_eq!(tab.count("x"), 1, "the call after it counts too");

    let mut withdrawn = Tab::at("https://shop.example/", &shelf(), 2);
    withdrawn.consent(Event, Granted);
    withdrawn.consent(Event, Denied);
    withdrawn.configure(&required(""));
    withdrawn.ready();
    assert!(!withdrawn.session.active(), "the last word wins");
}

/// Calls that arrive after the config but before the start (the shell
/// installs its consent sources in between, and their first reports may
/// bring the `track()` calls the loader kept) wait and count, in order.
#[test]
fn calls_between_the_config_and_the_start_count() {
    let mut tab = Tab::at("https://shop.example/", &shelf(), 1);
    tab.configure(&implied(""));
    tab.track("x").track("x");
    tab.ready();
    assert_eq!(tab.count("x"), 2);

    let mut refused = Tab::at("https://shop.example/", &shelf(), 2);
    refused.configure(&required(""));
    refused.track("x");
    refused.ready();
    assert_eq!(refused.count("x"), 0, "before consent nothing is scored");
    refused.consent(Api, Granted);
    refused.track("x");
    assert_eq!(refused.count("x"), 1, "only the call after the grant");
}

#[test]
fn in_memory_scoring_is_kept_on_consent_and_dropped_on_refusal() {
    let config = required(r#""in_memory_before_consent":true,"#);
    let mut held = Tab::open(&config);
    held.track("x").signal(Signal::Flush);
    assert_eq!((held.score(), held.writes), (5.0, 0), "scored in memory, nothing stored");
    held.consent(Api, Granted);
    held.track("x");
    assert_eq!(held.score(), 10.0, "the page's earlier signals count once consent comes");
    assert!(held.shelf.borrow().is_some());

    let mut refused = Tab::open(&config);
    refused.track("x").consent(Api, Denied).track("x");
    assert_eq!((refused.score(), refused.writes), (0.0, 0), "refusal drops what was held in memory");
}

#[test]
fn another_tab_deleting_the_key_stops_this_one() {
    let shelf = shelf();
    let mut first = Tab::open_on(&implied(""), &shelf, 1);
    let mut second = Tab::open_on(&implied(""), &shelf, 2);
    second.hear(&mut first);
    first.consent(Api, Denied);
    second.hear(&mut first);
    assert!(!second.session.active(), "a withdrawal in one tab stops the others");
    second.track("x").signal(Signal::Flush);
    assert!(shelf.borrow().is_none(), "and its next write cannot bring the record back");
}

#[test]
fn the_panel_erases_and_stops_recording() {
    let mut tab = Tab::open(&implied(""));
    tab.track("x").signal(Signal::Flush);
    tab.consent(Panel, Denied);
    assert!(tab.shelf.borrow().is_none());
    tab.track("x");
    assert_eq!(tab.score(), 0.0);
}
