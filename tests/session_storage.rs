//! Storage, natively: batched writes, read-merge-write so tabs never
//! overwrite each other, corrupt values, retention, and forget().

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::page::{config_json, shelf, Tab};
use leadscore::session::{Signal, Source, Verdict, FLUSH_AFTER_MS};

fn implied(extra: &str) -> String {
    config_json("t", &format!(r#""consent":"implied",{extra}"rules":[{{"id":"x","on":"x","points":5}}]"#))
}

#[test]
fn a_burst_of_events_is_one_write() {
    let mut tab = Tab::open(&implied(""));
    let at_start = tab.writes;
    for _ in 0..50 {
        tab.track("x");
    }
    assert_eq!(tab.writes, at_start, "no write per event");
    tab.advance(FLUSH_AFTER_MS - 1);
    assert_eq!(tab.writes, at_start, "not before the batching delay");
    tab.advance(1);
    assert_eq!(tab.writes, at_start + 1, "one write a second after the first change");
    tab.track("x").signal(Signal::Leaving);
    assert_eq!(tab.writes, at_start + 2, "and at once when the page goes away");
    tab.signal(Signal::Leaving).advance(5_000);
    assert_eq!(tab.writes, at_start + 2, "nothing new, nothing written");
    assert_eq!(tab.count("x"), 51);
}

#[test]
fn a_reload_picks_the_record_up() {
    let shelf = shelf();
    let mut first = Tab::open_on(&implied(""), &shelf, 1);
    first.track("x").signal(Signal::Leaving);
    let visitor = first.visitor();
    let second = Tab::open_on(&implied(""), &shelf, 2);
    assert_eq!((second.score(), second.visitor()), (5.0, visitor), "the next page load adopts the visitor");
}

#[test]
fn two_tabs_count_each_others_events_once() {
    let shelf = shelf();
    let mut first = Tab::open_on(&implied(""), &shelf, 1);
    let mut second = Tab::open_on(&implied(""), &shelf, 2);
    assert_eq!(first.visitor(), second.visitor(), "a tab opened right away finds the same visitor");
    first.track("x");
    second.track("x").track("x");
    // The second writes without having heard the first: it reads and merges first.
    first.signal(Signal::Flush);
    second.signal(Signal::Flush);
    first.hear(&mut second);
    assert_eq!((first.count("x"), second.count("x")), (3, 3), "both tabs' events count, once each");
    second.hear(&mut first);
    assert_eq!(second.count("x"), 3, "hearing them again changes nothing");
}

#[test]
fn a_corrupt_value_is_replaced_with_one_warning() {
    let shelf = shelf();
    *shelf.borrow_mut() = Some("%%% not ours %%%".into());
    let mut tab = Tab::open_on(&implied(""), &shelf, 1);
    tab.track("x").signal(Signal::Flush);
    assert_eq!(tab.score(), 5.0);
    let stored = shelf.borrow().clone().unwrap_or_default();
    assert_ne!(stored, "%%% not ours %%%", "our key is reset on the next write");
    assert_eq!(tab.warnings.len(), 1, "{:?}", tab.warnings);
    assert!(tab.session.storage_warning().is_some_and(|warning| warning.contains("stored state ignored")));
}

#[test]
fn a_record_past_its_retention_is_deleted_on_load() {
    let config = implied(r#""privacy":{"retention_days":30},"#);
    let shelf = shelf();
    let mut first = Tab::open_on(&config, &shelf, 1);
    first.track("x").signal(Signal::Leaving);
    let visitor = first.visitor();
    let record = shelf.borrow().clone();
    for (days, kept) in [(29u64, true), (31, false)] {
        *shelf.borrow_mut() = record.clone();
        let mut later = Tab::at("https://shop.example/", &shelf, 3);
        later.now = first.now.plus_millis(days * 86_400_000);
        later.configure(&config);
        later.ready();
        assert_eq!(later.visitor() == visitor, kept, "{days} days idle");
        assert_eq!(later.removes, usize::from(!kept), "{days} days idle: the old record deleted");
        assert!(shelf.borrow().is_some(), "{days} days: a record is stored");
    }
}

#[test]
fn forget_deletes_the_record_and_starts_a_new_visitor() {
    let mut tab = Tab::open(&implied(""));
    tab.track("x").signal(Signal::Flush);
    let visitor = tab.visitor();
    tab.signal(Signal::Forget);
    assert!(tab.shelf.borrow().is_none());
    assert_eq!(tab.score(), 0.0);
    assert_ne!(tab.visitor(), visitor);
    tab.track("x").signal(Signal::Flush);
    assert!(tab.shelf.borrow().is_some(), "with consent, the new visitor is stored");
}

#[test]
fn nothing_is_written_before_consent_even_when_asked() {
    let mut tab = Tab::open(&config_json("t", r#""consent":"required","rules":[{"id":"x","on":"x","points":5}]"#));
    tab.track("x").signal(Signal::Flush).signal(Signal::Leaving).advance(10_000);
    assert_eq!(tab.writes, 0);
    tab.consent(Source::Api, Verdict::Granted);
    assert_eq!(tab.writes, 1);
}

#[test]
fn a_record_from_before_erasure_secrets_gets_one_when_next_written() {
    use leadscore::session::{decode_record, encode_record};
    let shelf = shelf();
    let mut first = Tab::open_on(&implied(""), &shelf, 1);
    first.track("x").signal(Signal::Leaving);
    let state = decode_record(&shelf.borrow().clone().unwrap()).unwrap();
    assert_eq!(state.erasure_secret().len(), 32, "a new visitor has a secret from the start");
    // The same visitor as the previous release stored it: format 1, the
    // same body without the secret at its end.
    let mut v1 = state.encode();
    v1.truncate(v1.len() - 1 - state.erasure_secret().len());
    v1[2] = 1;
    assert_eq!(leadscore::core::State::decode(&v1).unwrap().erasure_secret(), "");
    *shelf.borrow_mut() = Some(encode_record(&v1));
    let mut later = Tab::open_on(&implied(""), &shelf, 2);
    assert_eq!(later.visitor(), first.visitor(), "the old record is adopted");
    later.advance(FLUSH_AFTER_MS);
    let written = decode_record(&shelf.borrow().clone().unwrap()).unwrap();
    assert_eq!(written.erasure_secret().len(), 32, "and written back with a secret, unprompted");
    let again = Tab::open_on(&implied(""), &shelf, 3);
    let kept = decode_record(&again.shelf.borrow().clone().unwrap()).unwrap();
    assert_eq!(kept.erasure_secret(), written.erasure_secret(), "the secret stays once given");
}
