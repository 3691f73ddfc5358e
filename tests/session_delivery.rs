//! Delivery decisions, natively: when a lead is queued and sent, one at a
//! time; what each answer leads to (delivered, refused, retried, another
//! tab's turn or its delivery); beacons on leaving; back online; and the
//! callbacks, reveals and redraws that follow a change.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::page::{config_json, shelf, Tab};
use leadscore::core::Stage;
use leadscore::session::{Answer, Effect, Notice, Signal, Source, Verdict, BUSY_RETRY_MS};

/// An MQL after two `x`, sales-ready after a quote request; fast retries.
fn site(extra: &str) -> String {
    config_json(
        "t",
        &format!(
            r#""consent":"implied",{extra}"mql_requires_identity":false,
               "thresholds":{{"warm":5,"mql":10,"sales_ready":50}},
               "delivery":{{"retry_base_seconds":1,"retry_cap_seconds":4,"max_attempts":5,"max_age_days":1}},
               "rules":[{{"id":"x","on":"x","points":5}},{{"id":"quote","on":"quote_request","points":40}}]"#
        ),
    )
}

fn with_endpoint() -> String {
    site(r#""endpoint":"https://collect.example/v1/leads","#)
}

/// A page whose visitor just qualified, and the lead it is sending.
fn qualified() -> (Tab, String) {
    let mut tab = Tab::open(&with_endpoint());
    tab.track("x").track("x");
    let lead_id = tab.sent[0].lead_id.clone();
    (tab, lead_id)
}

fn ok() -> Answer {
    Answer::Status { status: 201, retry_after: None }
}

fn status(status: u16) -> Answer {
    Answer::Status { status, retry_after: None }
}

#[test]
fn a_lead_goes_out_once_when_the_visitor_qualifies() {
    let mut tab = Tab::open(&with_endpoint());
    tab.track("x");
    assert!(tab.sent.is_empty(), "warm is not a lead");
    tab.track("x").track("x");
    assert_eq!(tab.sent.len(), 1, "one lead, however many events follow");
    let lead = tab.sent[0].clone();
    assert_eq!((lead.stage, lead.endpoint.as_str()), (Stage::Mql, "https://collect.example/v1/leads"));
    assert!(lead.body.contains(&lead.lead_id) && !lead.json);
    assert!(tab.shelf.borrow().is_some(), "the queued lead is stored before it is sent");
    let writes = tab.writes;
    tab.answer(&lead.lead_id, ok());
    assert_eq!(tab.pending(), 0);
    assert!(tab.writes > writes, "the answer is stored before the send lock is released");
    assert!(tab.notices.contains(&Notice::Sent { lead_id: lead.lead_id.clone(), stage: Stage::Mql, status: 201 }));
    tab.track("quote_request");
    assert_eq!(tab.sent.len(), 2, "sales-ready is a second lead");
    assert_ne!(tab.sent[1].lead_id, lead.lead_id);
    assert_eq!(tab.sent[1].stage, Stage::SalesReady);
}

#[test]
fn no_lead_without_an_endpoint_or_a_basis() {
    let mut no_endpoint = Tab::open(&site(""));
    no_endpoint.track("x").track("x");
    assert_eq!(no_endpoint.stage(), Stage::Mql);
    assert!(no_endpoint.sent.is_empty() && no_endpoint.pending() == 0);

    let required =
        with_endpoint().replace(r#""consent":"implied""#, r#""consent":"required","in_memory_before_consent":true"#);
    let mut in_memory = Tab::open(&required);
    in_memory.track("x").track("x");
    assert_eq!(in_memory.stage(), Stage::Mql);
    assert!(in_memory.sent.is_empty(), "no lead before consent");
    in_memory.consent(Source::Api, Verdict::Granted);
    assert_eq!(in_memory.sent.len(), 1, "a visitor who qualified in memory is a lead once consent comes");
}

#[test]
fn each_answer_decides_what_follows() {
    // (answer, notice reason, still pending, retried later)
    let cases: &[(&str, Answer, Option<&str>, bool)] = &[
        ("created", status(201), None, false),
        ("a duplicate", status(200), None, false),
        ("refused", status(404), Some("rejected"), false),
        ("server error", status(503), None, true),
        ("rate limited", status(429), None, true),
        ("offline", Answer::NetworkError, None, true),
    ];
    for (name, answer, failed, retried) in cases {
        let (mut tab, lead_id) = qualified();
        tab.answer(&lead_id, answer.clone());
        let reason = tab.notices.iter().find_map(|notice| match notice {
            Notice::Failed { reason, .. } => Some(*reason),
            _ => None,
        });
        assert_eq!(reason, *failed, "{name}: the failed notice");
        assert_eq!(tab.pending() == 1, *retried, "{name}: still waiting");
        tab.advance(10_000);
        assert_eq!(tab.sent.len(), if *retried { 2 } else { 1 }, "{name}: sent again after the backoff");
    }
}

#[test]
fn retry_after_is_a_minimum() {
    let (mut tab, lead_id) = qualified();
    tab.answer(&lead_id, Answer::Status { status: 429, retry_after: Some("120".into()) });
    tab.advance(119_000);
    assert_eq!(tab.sent.len(), 1, "not before Retry-After");
    tab.signal(Signal::Online);
    assert_eq!(tab.sent.len(), 1, "coming back online does not override Retry-After");
    tab.advance(1_500);
    assert_eq!(tab.sent.len(), 2);
}

#[test]
fn another_tabs_turn_and_another_tabs_delivery() {
    let (mut tab, lead_id) = qualified();
    tab.answer(&lead_id, Answer::Busy);
    let deadline = tab.session.poll_timeout().map(|at| at.millis_since(tab.now));
    assert_eq!(deadline, Some(BUSY_RETRY_MS), "another tab held the lock: look again shortly");
    tab.advance(BUSY_RETRY_MS);
    assert_eq!(tab.sent.len(), 2);

    // Under the lock, the stored record says another tab delivered it.
    let shelf = shelf();
    let mut first = Tab::open_on(&with_endpoint(), &shelf, 1);
    let mut second = Tab::open_on(&with_endpoint(), &shelf, 2);
    first.track("x").track("x");
    second.hear(&mut first);
    let lead_id = first.sent[0].lead_id.clone();
    first.answer(&lead_id, ok());
    let stored = shelf.borrow().clone();
    second.session.handle_stored(second.now, stored.as_deref());
    second.run();
    assert!(!second.session.is_pending(&lead_id), "the second tab sees the delivery and does not post");
    second.answer(&lead_id, Answer::Finished);
    assert!(!second.notices.iter().any(|notice| matches!(notice, Notice::Sent { .. } | Notice::Failed { .. })));
}

#[test]
fn leaving_hands_due_leads_to_the_beacon() {
    let (mut tab, lead_id) = qualified();
    tab.answer(&lead_id, Answer::NetworkError);
    tab.signal(Signal::Leaving);
    assert!(tab.beacons.is_empty(), "not due yet: nothing to beacon");
    tab.now = tab.now.plus_millis(30_000);
    tab.signal(Signal::Leaving);
    assert_eq!(tab.beacons.len(), 1, "a due lead goes by beacon");
    assert_eq!(tab.pending(), 1, "and stays queued until an answer confirms it");
    tab.signal(Signal::Leaving);
    assert_eq!(tab.beacons.len(), 1, "after a beacon it waits a backoff before the next");
}

#[test]
fn back_online_sends_what_waited_at_once() {
    let (mut tab, lead_id) = qualified();
    tab.answer(&lead_id, Answer::NetworkError);
    tab.signal(Signal::Online);
    assert_eq!(tab.sent.len(), 2, "no waiting for the backoff");
}

#[test]
fn callbacks_reveals_and_redraws_follow_changes() {
    let mut tab = Tab::open(&site(""));
    assert_eq!(tab.reveals, [Stage::Cold], "stage actions are looked at on start");
    tab.notices.clear();
    let redraws = tab.redraws;
    tab.signal(Signal::Input);
    assert_eq!((tab.notices.len(), tab.redraws), (0, redraws), "input that scores nothing costs nothing");
    tab.track("x");
    assert_eq!(tab.notices, [Notice::Score(5), Notice::Stage(Stage::Warm)]);
    tab.track("x");
    assert_eq!(tab.notices[2..], [Notice::Score(10), Notice::Stage(Stage::Mql), Notice::Mql(Stage::Mql)]);
    tab.track("quote_request");
    assert_eq!(tab.notices[5..], [Notice::Score(50), Notice::Stage(Stage::SalesReady)], "reaching mql is told once");
    assert_eq!(tab.reveals, [Stage::Cold, Stage::Warm, Stage::Mql, Stage::SalesReady]);
    tab.signal(Signal::Navigated { url: "https://shop.example/next".into() });
    assert_eq!(tab.reveals.last(), Some(&Stage::SalesReady), "a new page view looks at its stage actions");
    assert_eq!(tab.reveals.len(), 5);
    assert!(tab.redraws > redraws);
}

#[test]
fn effects_come_out_in_the_order_the_shell_must_carry_them_out() {
    // A read answered by the shell comes before what was queued after it.
    let mut tab = Tab::open(&with_endpoint());
    tab.track("x");
    tab.session.handle_signal(tab.now, Signal::Track { name: "x".into(), props: Vec::new() });
    let mut order = Vec::new();
    while let Some(effect) = tab.session.poll_effect() {
        order.push(match &effect {
            Effect::ReadRecord => "read",
            Effect::WriteRecord(_) => "write",
            Effect::Send(_) => "send",
            Effect::Notify(_) => "notify",
            Effect::Reveal(_) => "reveal",
            Effect::Redraw => "redraw",
            _ => "other",
        });
        if effect == Effect::ReadRecord {
            let text = tab.shelf.borrow().clone();
            tab.session.handle_stored(tab.now, text.as_deref());
        }
    }
    let read = order.iter().position(|step| *step == "read");
    let write = order.iter().position(|step| *step == "write");
    let send = order.iter().position(|step| *step == "send");
    assert!(
        matches!((read, write, send), (Some(read), Some(write), Some(send)) if read < write && write < send),
        "the lead is stored before it is sent: {order:?}"
    );
}

/// Calls made before the config arrived (a `data-config` fetch, the config
/// compiler) are replayed one by one, each told as it would have been live.
#[test]
fn calls_queued_before_the_config_are_each_told_when_replayed() {
    let mut tab = Tab::at("https://shop.example/", &common::page::shelf(), 1);
    tab.track("x").track("x");
    assert!(tab.notices.is_empty(), "nothing is told before the config");
    tab.configure(&site(""));
    tab.ready();
    let scores: Vec<&Notice> = tab.notices.iter().filter(|notice| matches!(notice, Notice::Score(_))).collect();
    assert_eq!(scores, [&Notice::Score(5), &Notice::Score(10)], "{:?}", tab.notices);
    assert!(tab.notices.contains(&Notice::Mql(Stage::Mql)));
}
