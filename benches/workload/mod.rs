//! The engine benchmark's workload, shared by the native criterion bench
//! (`benches/engine.rs`) and its wasm32 build (`benches/wasm-engine`), so the
//! browser and native figures measure exactly the same thing.

use std::sync::Arc;

use leadscore::core::{Config, Event, EventId, Timestamp};

/// When the generated history starts (2026-01-01).
pub const T0: u64 = 1_767_225_600_000;
const PATHS: &[&str] = &["/", "/pricing", "/product/analytics", "/blog/launch", "/careers", "/docs/start"];
const NAMES: &[&str] = &["page_view", "cart_add", "wishlist_add", "download", "demo_use", "form_submit"];

/// A rule set of `count` rules mixing every rule kind: globs, props,
/// count windows, cooldowns, caps, measurements and per-rule decay.
pub fn rule_set(count: usize) -> Arc<Config> {
    let rules: Vec<String> = (0..count)
        .map(|index| {
            let name = NAMES[index % NAMES.len()];
            let mut rule =
                format!(r#"{{"id":"r{index}","on":"{name}","points":{},"cap":{}"#, 1 + index % 9, 10 + index % 30);
            match index % 5 {
                0 => rule.push_str(&format!(r#","url":"{}*""#, PATHS[index % PATHS.len()])),
                1 => rule.push_str(r#","props":{"kind":["trial","whitepaper"]}"#),
                2 => rule.push_str(r#","min_count":3,"within_days":7"#),
                3 => rule.push_str(r#","once_every_days":2,"half_life_days":14"#),
                _ => {}
            }
            rule.push('}');
            rule
        })
        .chain(
            [r#"{"id":"read","on":"engaged_time","url":"/blog/*","min_seconds":60,"points":3,"cap":12}"#.to_string()],
        )
        .collect();
    let json = format!(r#"{{"site":"bench","half_life_days":30,"rules":[{}]}}"#, rules[..count].join(","));
    Arc::new(Config::parse(&json).expect("bench config parses"))
}

/// A stream of events, a few minutes apart, cycling through names and pages.
pub fn events(count: usize) -> Vec<Event> {
    (0..count)
        .map(|index| {
            let name = NAMES[index % NAMES.len()];
            Event::new(EventId(index as u64 + 1), Timestamp(T0 + index as u64 * 180_000), name)
                .expect("valid name")
                .with_url(PATHS[index % PATHS.len()])
                .with_prop("kind", if index % 3 == 0 { "trial" } else { "other" })
                .expect("valid prop")
        })
        .collect()
}
