//! A scripted page for session tests: a session, a clock that only moves
//! when told, a localStorage slot tabs can share, and a record of every
//! effect the session asked for. The shell's job, done by hand, so every
//! rule of the widget is tested natively.

use std::cell::RefCell;
use std::rc::Rc;

use leadscore::core::{Config, Stage, Timestamp};
use leadscore::session::{Answer, Effect, Landing, Notice, Outgoing, Session, Signal, Source, Verdict};

use super::T0;

/// Our key's slot in a localStorage that several tabs share.
pub type Shelf = Rc<RefCell<Option<String>>>;

pub fn shelf() -> Shelf {
    Rc::new(RefCell::new(None))
}

pub struct Tab {
    pub session: Session,
    pub now: Timestamp,
    pub shelf: Shelf,
    pub writes: usize,
    pub removes: usize,
    pub sent: Vec<Outgoing>,
    pub beacons: Vec<Outgoing>,
    pub erasures: Vec<String>,
    pub notices: Vec<Notice>,
    pub reveals: Vec<Stage>,
    pub warnings: Vec<String>,
    pub redraws: usize,
    /// What the page reports when the session asks to measure the scroll depth.
    pub scroll_percent: u32,
    pub measured: usize,
    /// Whether `sendBeacon` takes what it is given.
    pub beacon_takes: bool,
    /// Texts this tab wrote, for other tabs' `storage` events.
    pub written: Vec<Option<String>>,
}

/// A config in one line: `site` and the rest of the JSON object.
pub fn config_json(site: &str, rest: &str) -> String {
    format!(r#"{{"site":"{site}","half_life_days":"never",{rest}}}"#)
}

impl Tab {
    /// A page at `url`, visible and focused, not configured yet.
    pub fn at(url: &str, shelf: &Shelf, seed: u8) -> Tab {
        let landing = Landing { url: url.into(), visible: true, focused: true };
        Tab {
            session: Session::new([seed; 32], landing),
            now: Timestamp(T0),
            shelf: shelf.clone(),
            writes: 0,
            removes: 0,
            sent: Vec::new(),
            beacons: Vec::new(),
            erasures: Vec::new(),
            notices: Vec::new(),
            reveals: Vec::new(),
            warnings: Vec::new(),
            redraws: 0,
            scroll_percent: 0,
            measured: 0,
            beacon_takes: true,
            written: Vec::new(),
        }
    }

    /// A configured, started page at `https://shop.example/`.
    pub fn open(json: &str) -> Tab {
        Tab::open_on(json, &shelf(), 1)
    }

    pub fn open_on(json: &str, shelf: &Shelf, seed: u8) -> Tab {
        let mut tab = Tab::at("https://shop.example/", shelf, seed);
        tab.configure(json);
        tab.ready();
        tab
    }

    pub fn configure(&mut self, json: &str) {
        let config = Config::parse(json).map_err(|error| error.to_string());
        assert!(config.is_ok(), "test config rejected: {config:?}");
        self.session.handle_config(self.now, config);
        self.run();
    }

    pub fn ready(&mut self) {
        self.session.handle_ready(self.now);
        self.run();
    }

    pub fn signal(&mut self, signal: Signal) -> &mut Self {
        self.session.handle_signal(self.now, signal);
        self.run();
        self
    }

    pub fn track(&mut self, name: &str) -> &mut Self {
        self.signal(Signal::Track { name: name.into(), props: Vec::new() })
    }

    pub fn consent(&mut self, source: Source, verdict: Verdict) -> &mut Self {
        self.session.handle_consent(self.now, source, verdict);
        self.run();
        self
    }

    pub fn answer(&mut self, lead_id: &str, answer: Answer) -> &mut Self {
        self.session.handle_answer(self.now, lead_id, answer);
        self.run();
        self
    }

    /// Moves the clock, firing every deadline the session set on the way.
    pub fn advance(&mut self, ms: u64) -> &mut Self {
        let until = self.now.plus_millis(ms);
        while let Some(deadline) = self.session.poll_timeout().filter(|deadline| *deadline <= until) {
            self.now = deadline.max(self.now);
            self.session.handle_timeout(self.now);
            self.run();
        }
        self.now = until;
        self
    }

    /// Another tab's writes and deletions, as `storage` events.
    pub fn hear(&mut self, other: &mut Tab) {
        for value in std::mem::take(&mut other.written) {
            self.signal(Signal::OtherTab(value));
        }
    }

    /// Carries out the session's effects, as the shell would.
    pub fn run(&mut self) {
        while let Some(effect) = self.session.poll_effect() {
            match effect {
                Effect::ReadRecord => {
                    let text = self.shelf.borrow().clone();
                    self.session.handle_stored(self.now, text.as_deref());
                }
                Effect::WriteRecord(text) => {
                    self.writes += 1;
                    *self.shelf.borrow_mut() = Some(text.clone());
                    self.written.push(Some(text));
                }
                Effect::RemoveRecord => {
                    self.removes += 1;
                    *self.shelf.borrow_mut() = None;
                    self.written.push(None);
                }
                Effect::Send(outgoing) => self.sent.push(outgoing),
                Effect::Beacon(outgoing) => {
                    if self.beacon_takes {
                        self.session.handle_answer(self.now, &outgoing.lead_id, Answer::Beaconed);
                        self.beacons.push(outgoing);
                    }
                }
                Effect::RequestErasure { url, body } => self.erasures.push(format!("{url} {body}")),
                Effect::Notify(notice) => self.notices.push(notice),
                Effect::Reveal(stage) => self.reveals.push(stage),
                Effect::MeasureScroll => {
                    self.measured += 1;
                    self.session.handle_signal(self.now, Signal::Scrolled(self.scroll_percent));
                }
                Effect::Redraw => self.redraws += 1,
                Effect::Warn(message) => self.warnings.push(message),
            }
        }
    }

    pub fn score(&self) -> f64 {
        self.session.engine().map_or(0.0, |engine| engine.score(self.now))
    }

    pub fn stage(&self) -> Stage {
        self.session.engine().map_or(Stage::Cold, |engine| engine.stage(self.now))
    }

    /// The ledger count of a rule.
    pub fn count(&self, rule: &str) -> u32 {
        let Some(engine) = self.session.engine() else { return 0 };
        engine.ledger(self.now).iter().find(|entry| entry.rule_id == rule).map_or(0, |entry| entry.count)
    }

    pub fn visitor(&self) -> String {
        self.session.engine().map(|engine| engine.state().visitor_id().to_string()).unwrap_or_default()
    }

    pub fn pending(&self) -> usize {
        self.session.engine().map_or(0, |engine| engine.state().outbox().pending().len())
    }

    /// The values of `engaged_time` or `scroll_depth` events in the evidence.
    pub fn values_of(&self, name: &str) -> Vec<u32> {
        let Some(engine) = self.session.engine() else { return Vec::new() };
        engine.state().evidence().iter().filter(|event| event.name == name).filter_map(|event| event.value).collect()
    }
}
