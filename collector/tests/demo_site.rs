//! The demo site's rule set (`www/demo/site.json`) is valid, and the visit
//! the README describes — pricing three times, the trial download, the
//! newsletter with an email — makes an MQL in one session, while a curious
//! whitepaper download alone does not.

use std::sync::Arc;

use leadscore::core::{Config, Engine, Event, EventId, Stage, State, Timestamp};

const T0: u64 = 1_767_225_600_000;

fn demo_config() -> Arc<Config> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/demo/site.json");
    let json = std::fs::read_to_string(path).unwrap();
    Arc::new(Config::parse(&json).unwrap_or_else(|err| panic!("www/demo/site.json: {err}")))
}

struct Visit {
    engine: Engine,
    now: Timestamp,
    id: u64,
}

impl Visit {
    fn new() -> Visit {
        let mut engine = Engine::new(demo_config(), State::new("demo-visitor", Timestamp(T0)));
        engine.begin_activity(Timestamp(T0));
        let mut visit = Visit { engine, now: Timestamp(T0), id: 0 };
        visit.event("visit", "/", &[]);
        visit
    }

    fn event(&mut self, name: &str, url: &str, props: &[(&str, &str)]) {
        self.now = self.now.plus_millis(20_000);
        self.id += 1;
        let mut event = Event::new(EventId(self.id), self.now, name).unwrap().with_url(url);
        for (key, value) in props {
            event = event.with_prop(key, value).unwrap();
        }
        self.engine.handle_event(event);
    }

    fn stage(&self) -> Stage {
        self.engine.stage(self.now)
    }
}

#[test]
fn the_readme_journey_makes_an_mql_and_a_curious_download_does_not() {
    let mut curious = Visit::new();
    curious.event("page_view", "/blog/scoring-in-the-browser.html", &[]);
    curious.event("download", "/files/northwind-lead-scoring-guide.pdf", &[("kind", "whitepaper")]);
    assert!(curious.stage() < Stage::Mql);

    let mut visit = Visit::new();
    for _ in 0..3 {
        visit.event("page_view", "/pricing.html", &[]);
    }
    visit.event("download", "/files/northwind-trial.zip", &[("kind", "trial")]);
    visit.engine.identify(visit.now, [("email", "ann@company.example")]).unwrap();
    visit.event("form_submit", "/", &[]);
    visit.event("newsletter_signup", "/", &[]);
    assert_eq!(visit.stage(), Stage::Mql, "score {}", visit.engine.score(visit.now));

    visit.event("quote_request", "/contact.html", &[]);
    assert_eq!(visit.stage(), Stage::SalesReady);
}

#[test]
fn the_shop_actions_and_careers_have_rules() {
    let config = demo_config();
    let rule = |id: &str| config.rules().iter().find(|rule| rule.id() == id).map(|rule| rule.points());
    assert_eq!(rule("wishlist"), Some(10));
    assert_eq!(rule("cart"), Some(10));
    assert_eq!(rule("careers"), Some(-15));
    assert_eq!(config.endpoint(), Some("/v1/leads"));
    assert_eq!(config.erase_endpoint().as_deref(), Some("/v1/forget"));
}

/// Every page of the demo carries the one tag its integration page shows.
#[test]
fn every_page_embeds_the_tag_the_integration_page_shows() {
    let demo = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/demo"));
    let integration = std::fs::read_to_string(demo.join("integration.html")).unwrap();
    let shown =
        integration.split("<pre>").nth(1).and_then(|rest| rest.split("</pre>").next()).expect("a <pre> snippet");
    let tag = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    assert!(tag.starts_with("<script async src=\"/dist/leadscore.js\""), "{tag}");
    let mut pages = 0;
    let mut folders = vec![demo.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "html") {
                let html = std::fs::read_to_string(&path).unwrap();
                assert_eq!(html.matches(&tag).count(), 1, "{} must carry the tag once", path.display());
                pages += 1;
            }
        }
    }
    assert!(pages >= 12, "only {pages} pages");
}
