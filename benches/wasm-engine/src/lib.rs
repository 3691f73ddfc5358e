//! The engine benchmark's workload as a wasm32 module: `cargo xtask
//! bench-browser` builds it with the widget's release profile, binds it with
//! `wasm-bindgen --target web` and times these calls in headless Chromium,
//! to set events and score reads per second in the browser beside the
//! native criterion figures (BENCHMARKS.md, "Engine speed").
//!
//! Empty on other targets: the native figures come from `benches/engine.rs`.

#![cfg(target_arch = "wasm32")]

use std::hint::black_box;
use std::sync::Arc;

use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, State, Timestamp};
use wasm_bindgen::prelude::*;

#[path = "../../workload/mod.rs"]
mod workload;

use workload::{events, rule_set, T0};

/// One rule set with its 1,000-event stream, and an engine that has seen
/// the stream, for score reads.
#[wasm_bindgen]
pub struct Workload {
    config: Arc<Config>,
    stream: Vec<Event>,
    fed: Engine,
}

#[wasm_bindgen]
impl Workload {
    /// Generates the rule set of `rules` rules and the 1,000 events exactly
    /// as the native benchmark does.
    #[wasm_bindgen(constructor)]
    pub fn new(rules: usize) -> Workload {
        let config = rule_set(rules);
        let stream = events(1000);
        let mut fed = Engine::new(config.clone(), State::new("bench", Timestamp(T0)));
        for event in &stream {
            fed.handle_event(event.clone());
        }
        Workload { config, stream, fed }
    }

    /// One iteration of the native `handle_event` benchmark: a fresh engine
    /// fed a clone of each of the 1,000 events. Returns the final score so
    /// the work cannot be optimized away.
    pub fn handle_all(&self) -> f64 {
        let mut engine = Engine::new(self.config.clone(), State::new("bench", Timestamp(T0)));
        for event in &self.stream {
            black_box(engine.handle_event(event.clone()));
        }
        engine.score(Timestamp(T0 + DAY_MS))
    }

    /// `reads` score reads 90 days after the stream, as the native
    /// `score_read` benchmark does; returns their sum.
    pub fn read_scores(&self, reads: u32) -> f64 {
        let now = Timestamp(T0 + 90 * DAY_MS);
        (0..reads).map(|_| black_box(&self.fed).score(black_box(now))).sum()
    }
}
