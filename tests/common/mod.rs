//! A scripted visitor for engine tests: a clock that only moves when told,
//! and one-line helpers for the signals a journey is made of.
#![allow(dead_code)] // each test file uses a different part of the kit

pub mod page;

use std::sync::Arc;

use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, EventId, Handled, Preset, Stage, State, Timestamp};

/// 2026-01-01T00:00:00Z, the start of every scripted journey.
pub const T0: u64 = 1_767_225_600_000;

pub fn config(json: &str) -> Arc<Config> {
    Arc::new(Config::parse(json).unwrap_or_else(|error| panic!("test config rejected: {error}")))
}

pub struct Visitor {
    pub engine: Engine,
    pub now: Timestamp,
    next_id: u64,
}

impl Visitor {
    pub fn new(config: Arc<Config>) -> Visitor {
        Visitor { engine: Engine::new(config, State::new("v-test", Timestamp(T0))), now: Timestamp(T0), next_id: 1 }
    }

    pub fn with_json(json: &str) -> Visitor {
        Visitor::new(config(json))
    }

    pub fn preset(preset: Preset) -> Visitor {
        Visitor::new(Arc::new(Config::preset(preset, "test-site").expect("presets parse")))
    }

    pub fn wait_days(&mut self, days: f64) -> &mut Self {
        self.now = self.now.plus_millis((days * DAY_MS as f64) as u64);
        self
    }

    pub fn wait_minutes(&mut self, minutes: u64) -> &mut Self {
        self.now = self.now.plus_millis(minutes * 60_000);
        self
    }

    pub fn event(&mut self, name: &str) -> Event {
        self.now = self.now.plus_millis(1000);
        self.next_id += 1;
        Event::new(EventId(self.next_id), self.now, name).expect("valid test event name")
    }

    pub fn send(&mut self, event: Event) -> Handled {
        self.engine.handle_event(event)
    }

    pub fn track(&mut self, name: &str) -> Handled {
        let event = self.event(name);
        self.send(event)
    }

    pub fn track_props(&mut self, name: &str, props: &[(&str, &str)]) -> Handled {
        let mut event = self.event(name);
        for (key, value) in props {
            event = event.with_prop(key, value).expect("valid test prop");
        }
        self.send(event)
    }

    /// Starts a visit if 30 minutes passed, then views `path`.
    pub fn page(&mut self, path: &str) -> Handled {
        if self.engine.begin_activity(self.now) {
            self.track("visit");
        }
        let event = self.event("page_view").with_url(path);
        self.send(event)
    }

    pub fn engaged(&mut self, path: &str, seconds: u32, page_view: u64) -> Handled {
        let event = self.event("engaged_time").with_url(path).with_value(seconds).in_page_view(EventId(page_view));
        self.send(event)
    }

    pub fn scrolled(&mut self, path: &str, percent: u32, page_view: u64) -> Handled {
        let event = self.event("scroll_depth").with_url(path).with_value(percent).in_page_view(EventId(page_view));
        self.send(event)
    }

    pub fn identify(&mut self, fields: &[(&str, &str)]) {
        self.engine.identify(self.now, fields.iter().copied()).expect("valid test identity");
    }

    pub fn score(&self) -> f64 {
        self.engine.score(self.now)
    }

    pub fn stage(&self) -> Stage {
        self.engine.stage(self.now)
    }

    pub fn points_of(&self, rule_id: &str) -> f64 {
        self.engine.ledger(self.now).iter().find(|entry| entry.rule_id == rule_id).map_or(0.0, |entry| entry.points)
    }
}

/// Asserts two floats agree within 1e-9.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}
