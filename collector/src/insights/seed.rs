//! A realistic history for the demo: a few hundred generated visitors
//! played through the real engine, the ones that qualify stored as leads,
//! and their outcomes drawn from a stated model in which some behaviour
//! truly predicts winning and some does not. The Insights page then has
//! something worth reading, and a test checks that the report finds what
//! was planted and nothing where nothing was.
//!
//! The model, per qualified visitor (probabilities of being won):
//! - base 8%;
//! - **used the product demo** (`demo_use`): +40 points of percentage;
//! - **arrived from LinkedIn** (`utm_source=linkedin`): +12;
//! - a content download (whitepaper) and the blog have **no effect**.
//!
//! A visitor that is not won is lost with probability one half, sent back
//! to nurture with one quarter, and otherwise left open at MQL or SAL.

use std::sync::Arc;

use leadscore::core::signals::Touch;
use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, EventId, Lead, Stage, State, Timestamp};

use crate::store::{Action, NewLead, Store, StoreError};
use crate::verify::verify;

/// What a seeding run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Visitors generated.
    pub visitors: u64,
    /// Of them, qualified and stored.
    pub stored: u64,
    /// Of the stored, won.
    pub won: u64,
    /// Of the stored, lost.
    pub lost: u64,
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the
/// same history.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// A whole number of milliseconds in `[low, high)` days.
    fn days(&mut self, low: f64, high: f64) -> u64 {
        ((low + (high - low) * self.unit()) * DAY_MS as f64) as u64
    }
}

/// The probability a qualified visitor is won, by the model above.
pub fn win_probability(used_demo: bool, from_linkedin: bool) -> f64 {
    0.08 + if used_demo { 0.40 } else { 0.0 } + if from_linkedin { 0.12 } else { 0.0 }
}

struct Journey {
    engine: Engine,
    now: Timestamp,
    next_id: u64,
}

impl Journey {
    fn track(&mut self, name: &str, url: &str, prop: Option<(&str, &str)>) -> Result<(), String> {
        self.now = self.now.plus_millis(20_000);
        self.next_id += 1;
        let mut event = Event::new(EventId(self.next_id), self.now, name).map_err(|err| err.to_string())?.with_url(url);
        if let Some((key, value)) = prop {
            event = event.with_prop(key, value).map_err(|err| err.to_string())?;
        }
        self.engine.handle_event(event);
        Ok(())
    }

    fn page(&mut self, path: &str) -> Result<(), String> {
        if self.engine.begin_activity(self.now) {
            self.track("visit", path, None)?;
        }
        self.track("page_view", path, None)
    }
}

/// Generates `count` visitors for `config`'s site, the first starting
/// about 120 days before `now`, and stores those that qualify with their
/// funnel steps (none that would fall after `now`). Deterministic for a
/// given `seed` and day; a lead already stored is left as it is.
pub fn seed_history(
    store: &dyn Store,
    config: &Arc<Config>,
    count: u64,
    seed: u64,
    now: Timestamp,
) -> Result<Seeded, StoreError> {
    let invalid = |message: String| StoreError::Invalid { field: "seed".into(), message };
    let mut seeded = Seeded::default();
    // Whole days, so a run on another day plays the same visits shifted by
    // days, and every day-based rule window falls the same way.
    let start = now.minus_millis(now.as_millis() % DAY_MS + 120 * DAY_MS);
    for index in 0..count {
        seeded.visitors += 1;
        // A stream of its own per visitor: skipping one (stored before)
        // leaves every other visitor as it was.
        let mut random = Random(seed ^ index.wrapping_mul(0xa24b_aed4_963e_e407));
        random.next();
        let began = start.plus_millis(random.days(0.0, 80.0));
        let visitor_id = format!("seed-{seed}-{index:05}");
        let mut journey =
            Journey { engine: Engine::new(config.clone(), State::new(&visitor_id, began)), now: began, next_id: 0 };
        let source = random.pick(&["google", "linkedin", "newsletter", "direct", "direct"]);
        let landing = random.pick(&["/pricing", "/product/tour", "/blog/lead-scoring", "/"]);
        if source != "direct" {
            let medium = if source == "newsletter" { "email" } else { "cpc" };
            let query = format!("utm_source={source}&utm_medium={medium}&utm_campaign=q{}", 1 + index % 3);
            if let Some(touch) = Touch::from_query(&query, began) {
                journey.engine.record_touch(touch);
            }
        }
        let used_demo = random.chance(0.35);
        let downloaded = random.chance(0.45);
        let days = 2 + random.next() % 4;
        for day in 0..days {
            journey.page(if day == 0 { landing } else { "/pricing" }).map_err(invalid)?;
            if random.chance(0.5) {
                journey.page("/blog/lead-scoring").map_err(invalid)?;
            }
            if day == 0 && used_demo {
                journey.track("demo_use", "/product/tour", None).map_err(invalid)?;
            }
            if day == 1 && downloaded {
                journey.track("download", "/resources", Some(("kind", "whitepaper"))).map_err(invalid)?;
            }
            journey.now = journey.now.plus_millis(DAY_MS + random.days(0.0, 0.5));
        }
        let email =
            format!("lead{index}@{}.example", random.pick(&["northwind", "contoso", "initech", "globex", "umbrella"]));
        let title = random.pick(&["CTO", "Head of Marketing", "Marketing Manager", "Developer", "VP Sales", "Student"]);
        let size = random.pick(&["8", "40", "120", "600"]);
        journey
            .engine
            .identify(journey.now, [("email", email.as_str()), ("job_title", title), ("company_size", size)])
            .map_err(|err| invalid(err.to_string()))?;
        journey.track("form_submit", "/newsletter", None).map_err(invalid)?;
        journey.track("newsletter_signup", "/newsletter", None).map_err(invalid)?;
        if journey.engine.stage(journey.now) < Stage::Mql {
            continue;
        }
        let page = format!("https://{}.example/newsletter", config.site());
        let Some(mut lead) = Lead::from_engine(&journey.engine, journey.now, &page) else { continue };
        lead.sent_at = Some(journey.now);
        let received_at = journey.now.plus_millis(1_500);
        let checked = verify(&lead, config.clone(), received_at);
        let lead_id = lead.lead_id.clone();
        if store.lead(&lead_id)?.is_some() {
            continue; // seeded before: a second run adds nothing
        }
        let new = NewLead {
            lead,
            verified_score: checked.score,
            verified_stage: checked.stage,
            verdict: checked.verdict,
            received_at,
        };
        if !matches!(store.insert_lead(new, &[])?, crate::store::Inserted::Created(_)) {
            continue;
        }
        seeded.stored += 1;

        let won = random.chance(win_probability(used_demo, source == "linkedin"));
        let fate = random.unit();
        let mut at = received_at;
        // A step that would fall after `now` has not happened yet: it and
        // every later one are left out, so recent leads are still open.
        let mut step = |action: Action, reason: Option<&str>, after: u64| -> Result<bool, StoreError> {
            at = at.plus_millis(after);
            if at > now {
                return Ok(false);
            }
            store.transition(&lead_id, action, reason.map(str::to_string), at, &[]).map(|_| true)
        };
        if won {
            step(Action::Accept, None, random.days(0.2, 3.0))?;
            step(Action::Qualify, None, random.days(1.0, 10.0))?;
            seeded.won += u64::from(step(Action::Win, None, random.days(5.0, 30.0))?);
        } else if fate < 0.5 {
            step(Action::Accept, None, random.days(0.2, 3.0))?;
            if random.chance(0.5) {
                step(Action::Qualify, None, random.days(1.0, 10.0))?;
            }
            let reason = random.pick(&["no budget", "chose a competitor", "no decision"]);
            seeded.lost += u64::from(step(Action::Lose, Some(reason), random.days(3.0, 25.0))?);
        } else if fate < 0.75 {
            step(Action::Reject, Some(random.pick(&["student", "not a fit", "no need yet"])), random.days(0.2, 3.0))?;
        } else if random.chance(0.5) {
            step(Action::Accept, None, random.days(0.2, 3.0))?;
        }
    }
    Ok(seeded)
}
