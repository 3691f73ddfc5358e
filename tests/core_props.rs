//! Laws the engine must keep for every input, checked with proptest:
//! caps bound the score, decay only shrinks points, merging is a join,
//! encoding round-trips, and no input makes the parser or decoder panic.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, EventId, State, Timestamp};
use proptest::prelude::*;

const T0: u64 = 1_767_225_600_000;
const NAMES: &[&str] = &["page_view", "cart_add", "visit", "download", "engaged_time", "quote_request"];
const PATHS: &[&str] = &["/", "/pricing", "/product/a", "/careers"];

/// One rule as JSON: every positive rule has a cap or `once`, so the sum
/// of positive caps bounds the score.
fn rule_json() -> impl Strategy<Value = String> {
    (
        0..NAMES.len(),
        -20i64..=20,
        1i64..=40,
        any::<bool>(),
        1u32..=4,
        prop::option::of(1u32..=10),
        prop::option::of(1u32..=10),
        prop::option::of(prop_oneof![Just("\"never\"".to_string()), (1u32..=60).prop_map(|d| d.to_string())]),
        prop::option::of(0..PATHS.len()),
    )
        .prop_map(|(name, points, cap, once, min_count, window, cooldown, half_life, path)| {
            let mut json = format!(r#""on":"{}","points":{points},"cap":{cap}"#, NAMES[name]);
            if once {
                json.push_str(r#","once":true"#);
            } else if let Some(days) = cooldown {
                json.push_str(&format!(r#","once_every_days":{days}"#));
            }
            if min_count > 1 {
                json.push_str(&format!(r#","min_count":{min_count}"#));
                if let Some(days) = window {
                    json.push_str(&format!(r#","within_days":{days}"#));
                }
            }
            if NAMES[name] == "engaged_time" {
                json.push_str(r#","min_seconds":30"#);
            }
            if let Some(days) = half_life {
                json.push_str(&format!(r#","half_life_days":{days}"#));
            }
            if let Some(path) = path {
                json.push_str(&format!(r#","url":"{}*""#, PATHS[path]));
            }
            json
        })
}

fn config_strategy() -> impl Strategy<Value = (Arc<Config>, String)> {
    prop::collection::vec(rule_json(), 1..8).prop_map(|rules| {
        let rules: Vec<String> =
            rules.iter().enumerate().map(|(index, rule)| format!(r#"{{"id":"r{index}",{rule}}}"#)).collect();
        let json = format!(r#"{{"site":"p","half_life_days":10,"rules":[{}]}}"#, rules.join(","));
        (Arc::new(Config::parse(&json).unwrap_or_else(|error| panic!("{error}\n{json}"))), json)
    })
}

/// Events with unique ids and increasing times.
fn events_strategy(max: usize) -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec((0..NAMES.len(), 0..PATHS.len(), 0u32..600, 0u64..3 * DAY_MS, 0u64..4), 0..max).prop_map(
        |raw| {
            let mut at = T0;
            raw.into_iter()
                .enumerate()
                .map(|(index, (name, path, value, gap, page))| {
                    at += gap;
                    Event::new(EventId(index as u64 * 7919 + 1), Timestamp(at), NAMES[name])
                        .unwrap()
                        .with_url(PATHS[path])
                        .with_value(value)
                        .in_page_view(EventId(page + index as u64 / 4))
                })
                .collect()
        },
    )
}

fn engine_with(config: &Arc<Config>, events: &[Event]) -> Engine {
    let mut engine = Engine::new(config.clone(), State::new("v", Timestamp(T0)));
    for event in events {
        engine.handle_event(event.clone());
    }
    engine
}

/// Three overlapping views of one history, as three tabs would hold it.
fn tabs(events: &[Event], picks: &[u8]) -> [Vec<Event>; 3] {
    let mut tabs: [Vec<Event>; 3] = Default::default();
    for (index, event) in events.iter().enumerate() {
        let pick = picks.get(index).copied().unwrap_or(7);
        for (tab, events) in tabs.iter_mut().enumerate() {
            if pick & (1 << tab) != 0 {
                events.push(event.clone());
            }
        }
    }
    tabs
}

fn merged(a: &State, b: &State) -> State {
    let mut state = a.clone();
    state.merge(b);
    state
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn score_never_exceeds_the_sum_of_positive_caps(
        (config, _) in config_strategy(),
        events in events_strategy(120),
        later in 0u64..400 * DAY_MS,
    ) {
        let engine = engine_with(&config, &events);
        let bound: f64 = config.rules().iter().filter(|rule| rule.points() > 0).map(|rule| rule.cap().unwrap() as f64).sum();
        let last = events.last().map_or(T0, |event| event.at.as_millis());
        for now in [last, last + later] {
            let score = engine.score(Timestamp(now));
            prop_assert!(score <= bound + 1e-9, "score {} above {}", score, bound);
        }
    }

    #[test]
    fn decay_never_grows_points_as_time_passes(
        (config, _) in config_strategy(),
        events in events_strategy(60),
        steps in prop::collection::vec(0u64..90 * DAY_MS, 1..6),
    ) {
        let engine = engine_with(&config, &events);
        let mut now = events.last().map_or(T0, |event| event.at.as_millis());
        let mut previous = engine.ledger(Timestamp(now));
        for step in steps {
            now += step;
            let ledger = engine.ledger(Timestamp(now));
            for (before, after) in previous.iter().zip(&ledger) {
                prop_assert!(after.points.abs() <= before.points.abs() + 1e-12, "{} grew: {} -> {}", after.rule_id, before.points, after.points);
            }
            previous = ledger;
        }
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent(
        (config, _) in config_strategy(),
        events in events_strategy(140),
        picks in prop::collection::vec(1u8..8, 140),
    ) {
        let [a, b, c] = tabs(&events, &picks).map(|events| engine_with(&config, &events).into_state());
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
        prop_assert_eq!(merged(&a, &a), a.clone());
        let ab = merged(&a, &b);
        prop_assert_eq!(merged(&ab, &b), ab);
    }

    #[test]
    fn merging_tabs_counts_each_event_once(
        (config, _) in config_strategy(),
        events in events_strategy(40),
        picks in prop::collection::vec(1u8..8, 40),
    ) {
        // Below the evidence bound nothing is summarised, so merging the tabs
        // must score exactly what one tab seeing everything scores.
        let [a, b, c] = tabs(&events, &picks).map(|events| engine_with(&config, &events).into_state());
        let mut together = Engine::new(config.clone(), a);
        together.merge(&b);
        together.merge(&c);
        let reference = engine_with(&config, &events);
        let now = Timestamp(events.last().map_or(T0, |event| event.at.as_millis()));
        prop_assert_eq!(together.ledger(now), reference.ledger(now));
        prop_assert!((together.score(now) - reference.score(now)).abs() < 1e-9);
    }

    #[test]
    fn encode_decode_round_trips(
        (config, _) in config_strategy(),
        events in events_strategy(150),
        email in "[a-z]{1,10}@[a-z]{1,10}\\.(com|org)",
        company in "\\PC{0,200}",
    ) {
        let mut engine = engine_with(&config, &events);
        engine.identify(Timestamp(T0), [("email", email.as_str()), ("company", company.as_str())]).unwrap();
        let state = engine.state();
        prop_assert_eq!(&State::decode(&state.encode()).unwrap(), state);
        // The hand-written body is the serde + postcard encoding earlier
        // releases stored, byte for byte, both ways.
        let bytes = state.encode();
        let serde_body = postcard::to_allocvec(state).unwrap();
        prop_assert_eq!(&bytes[3..], serde_body.as_slice());
        prop_assert_eq!(&postcard::from_bytes::<State>(&bytes[3..]).unwrap(), state);
    }

    #[test]
    fn the_config_parser_never_panics_on_text(text in "\\PC{0,400}") {
        let _ = Config::parse(&text);
    }

    #[test]
    fn the_config_parser_never_panics_on_json(document in json_strategy()) {
        let _ = Config::parse(&document.to_string());
    }

    #[test]
    fn the_state_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut prefixed = b"LS\x01".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = State::decode(&bytes);
        let _ = State::decode(&prefixed);
    }

    #[test]
    fn the_state_decoder_survives_bit_flips(
        (config, _) in config_strategy(),
        events in events_strategy(60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = engine_with(&config, &events).state().encode();
        for (index, value) in flips {
            let position = index.index(bytes.len());
            bytes[position] = value;
        }
        if let Ok(state) = State::decode(&bytes) {
            // Whatever decodes is a state the engine can score.
            let engine = Engine::new(config, state);
            prop_assert!(engine.score(Timestamp(T0)).is_finite());
        }
    }
}

/// JSON documents shaped like configs: the schema's field names with values
/// of any type, so the parser's deeper paths get exercised, not just syntax.
fn json_strategy() -> impl Strategy<Value = serde_json::Value> {
    const KEYS: &[&str] = &[
        "site",
        "preset",
        "rules",
        "fit",
        "id",
        "on",
        "url",
        "points",
        "cap",
        "once",
        "min_count",
        "within_days",
        "once_every_days",
        "min_seconds",
        "min_percent",
        "props",
        "field",
        "in",
        "contains_any",
        "at_least",
        "at_most",
        "thresholds",
        "warm",
        "mql",
        "sales_ready",
        "grades",
        "a",
        "b",
        "c",
        "half_life_days",
        "free_mail",
        "present",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |n| n.is_finite()).prop_map(serde_json::Value::from),
        prop_oneof![
            Just("b2b-saas".to_string()),
            Just("page_view".to_string()),
            Just("acme".to_string()),
            "\\PC{0,20}"
        ]
        .prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}
