//! `collector simulate` and `collector check` as a site owner runs them
//! before going live: the demo's shipped journeys give the outcomes their
//! names promise under the demo's rule set, `--svg` writes a well-formed
//! chart with the thresholds, and every mistake in a journey or a rule set
//! is named with its file, JSON path and reason, with a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn demo_site() -> PathBuf {
    root().join("www/demo/site.json")
}

fn journey(name: &str) -> PathBuf {
    root().join("www/demo/journeys").join(format!("{name}.json"))
}

fn collector(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collector")).args(args).output().unwrap()
}

fn simulate(site: &Path, journey: &Path) -> (Output, String, String) {
    let output = collector(&[Path::new("simulate"), site, journey]);
    let (stdout, stderr) =
        (String::from_utf8(output.stdout.clone()).unwrap(), String::from_utf8(output.stderr.clone()).unwrap());
    (output, stdout, stderr)
}

/// A folder of this test's own, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("leadscore-simulate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The table row of step `number`.
fn row(stdout: &str, number: usize) -> &str {
    let prefix = format!("{number:>4}  ");
    stdout.lines().find(|line| line.starts_with(&prefix)).unwrap_or_else(|| panic!("no step {number}:\n{stdout}"))
}

#[test]
fn the_readme_visitor_is_an_mql_when_the_newsletter_form_is_sent() {
    let (output, stdout, stderr) = simulate(&demo_site(), &journey("readme-visitor"));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr, "", "the shipped journey plays without warnings");
    // Three pricing views make the visitor warm; the trial does not make an
    // MQL without an email; the newsletter form gives both.
    assert!(row(&stdout, 7).contains("pricing-3x +10") && row(&stdout, 7).contains("warm ↑"), "{stdout}");
    assert!(row(&stdout, 9).contains("trial-download +20") && row(&stdout, 9).contains("warm "), "{stdout}");
    assert!(row(&stdout, 11).contains("identify email=dana@acme-industries"), "{stdout}");
    let mql = row(&stdout, 12);
    assert!(mql.contains("form_submit") && mql.contains("mql ↑") && mql.contains("form-fill +10"), "{stdout}");
    assert!(stdout.contains(
        "outcome: warm at step 7 (2026-01-05 11:09:00), mql at step 12 (2026-01-05 11:13:30), \
         sales_ready at step 16 (2026-01-05 11:19:30)"
    ));
    assert!(row(&stdout, 17).contains("quote-request +40"), "{stdout}");
    assert!(stdout.contains("grade B"), "the contact form's job title and company grade the visitor: {stdout}");
}

#[test]
fn the_curious_download_never_qualifies() {
    let (output, stdout, stderr) = simulate(&demo_site(), &journey("curious-download"));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert!(stdout.lines().filter(|line| line.contains("· new visit")).count() == 1, "one visit: {stdout}");
    assert!(row(&stdout, 4).contains("kind=guide") && row(&stdout, 4).contains("content-download +10"), "{stdout}");
    assert!(stdout.contains("outcome: never qualified (highest stage: cold)"), "{stdout}");
    assert!((1..=5).all(|step| row(&stdout, step).contains(" cold ")), "cold at every step: {stdout}");
}

#[test]
fn the_careers_visitor_never_qualifies() {
    let (output, stdout, stderr) = simulate(&demo_site(), &journey("careers-visitor"));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    assert!(row(&stdout, 1).contains("careers -15"), "{stdout}");
    assert!(row(&stdout, 6).contains("jobs -15"), "{stdout}");
    assert!(row(&stdout, 9).contains("form-fill +10"), "a form, and still cold: {stdout}");
    assert!(stdout.contains("outcome: never qualified (highest stage: cold)"), "{stdout}");
}

#[test]
fn every_shipped_journey_plays_under_the_demo_rule_set() {
    let mut played = 0;
    for entry in std::fs::read_dir(root().join("www/demo/journeys")).unwrap() {
        let path = entry.unwrap().path();
        let (output, stdout, stderr) = simulate(&demo_site(), &path);
        assert!(output.status.success(), "{}: {stdout}{stderr}", path.display());
        assert_eq!(stderr, "", "{}", path.display());
        played += 1;
    }
    assert_eq!(played, 3);
}

#[test]
fn an_offset_on_the_first_step_counts_from_the_documented_start() {
    let dir = scratch("start");
    let file = dir.join("late.json");
    std::fs::write(
        &file,
        r#"[{"event": "page_view", "url": "/pricing", "at": "+1h"}, {"event": "page_view", "url": "/"}]"#,
    )
    .unwrap();
    let (output, stdout, stderr) = simulate(&demo_site(), &file);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(row(&stdout, 1).contains("2026-01-01 10:00:00"), "{stdout}");
    assert!(row(&stdout, 2).contains("2026-01-01 10:00:00"), "no `at`: the previous step's time: {stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_the_browser_would_not_send_is_left_out_with_a_warning() {
    let dir = scratch("warnings");
    let site = dir.join("site.json");
    std::fs::write(
        &site,
        r#"{"site": "acme", "rules": [{"id": "pricing-form", "on": "form_submit", "url": "/pricing*", "points": 30}]}"#,
    )
    .unwrap();
    let file = dir.join("journey.json");
    std::fs::write(
        &file,
        r#"[{"event": "page_view", "url": "/pricing", "value": 4, "props": {"x": 1}},
            {"event": "form_submit", "url": "/pricing"},
            {"event": "page_veiw", "url": "/"}]"#,
    )
    .unwrap();
    let (output, stdout, stderr) = simulate(&site, &file);
    assert!(output.status.success(), "{stdout}{stderr}");
    for expected in [
        "journey.json: warning: [0].value: ignored: the browser sends a value only with engaged_time",
        "journey.json: warning: [0].props: ignored: the browser sends no props with page_view",
        "journey.json: warning: [1].url: ignored: the browser sends a url only with page_view, engaged_time, scroll_depth, download",
        "journey.json: warning: [2].event: no rule listens to \"page_veiw\"; did you mean \"page_view\"?",
    ] {
        assert!(stderr.contains(expected), "{expected}\nnot in:\n{stderr}");
    }
    // Live, a form sends no url, so the rule never matches: nor does it here.
    assert!(row(&stdout, 2).ends_with("  -"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_journey_is_named_with_its_file_path_and_reason() {
    let dir = scratch("bad");
    let cases: &[(&str, &[&str])] = &[
        (
            r#"[{"event": "page_view", "url": "/"}, {"click": "buy-button", "at": "+1m"}]"#,
            &[r#"[1]: unknown step kind: a step has "event" (something the visitor did) or "identify" (identity answers); its fields: at, click"#],
        ),
        (r#"[{"evnt": "page_view"}]"#, &[r#"[0]: unknown step kind"#, r#"did you mean "event"?"#]),
        (
            r#"[{"event": "page_view", "url": "/", "at": "+2x"}]"#,
            &[r#"[0].at: "+2x": unknown unit 'x'; offsets are '+' and whole numbers with d, h, m or s"#],
        ),
        (r#"[{"event": "page_view", "url": "/", "at": "tomorrow"}]"#, &[r#"[0].at: "tomorrow" is not a time"#]),
        (r#"[{"event": "page_view", "url": "/", "at": 5}]"#, &["[0].at: expected a time like"]),
        (
            r#"[{"event": "page_view", "url": "/", "at": "2026-01-05T09:00:00Z"},
                {"event": "page_view", "url": "/", "at": "2026-01-04T09:00:00Z"}]"#,
            &["[1].at: 2026-01-04T09:00:00Z is before the previous step (2026-01-05T09:00:00Z); steps run forward in time"],
        ),
        (r#"[{"event": "page_view", "url": "/", "at": "-1h"}]"#, &[r#"[0].at: "-1h" goes back in time"#]),
        (r#"[{"event": "page_view", "url": "/",]"#, &["journey: not valid JSON: ", "at line 1 column"]),
        (r#"{"event": "page_view"}"#, &["journey: expected an array of steps"]),
        (r#"[]"#, &["journey: no steps"]),
        (
            r#"[{"event": "page_view", "ur": "/"}, {"event": "engaged_time"}, {"event": "visit"}]"#,
            &[
                r#"[0].ur: unknown field; did you mean "url"?"#,
                "[0].url: required for page_view",
                "[1].value: required for engaged_time",
                "[2].event: visits start by themselves",
            ],
        ),
        (
            r#"[{"identify": {"emial": "a@b.example", "email": "not-an-email"}}, {"event": "page_view", "url": "/", "identify": {}}]"#,
            &[
                r#"[0].identify.email: "not-an-email" is not an email address"#,
                r#"[0].identify.emial: unknown identity field "emial"; did you mean "email"?"#,
                "[1]: a step is an event or identity answers, not both",
            ],
        ),
        (r#"[{"event": "scroll_depth", "value": 140}]"#, &["[0].value: a scroll depth is a percent, 0 to 100, got 140"]),
        (r#"[{"event": "page view", "url": "/"}]"#, &["[0].event: event name may use letters, digits"]),
    ];
    for (index, (text, expected)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad-{index}.json"));
        std::fs::write(&file, text).unwrap();
        let (output, stdout, stderr) = simulate(&demo_site(), &file);
        assert!(!output.status.success(), "{text}: {stdout}");
        assert_eq!(stdout, "", "{text}: nothing is played");
        let named = format!("{}: ", file.display());
        assert!(stderr.lines().all(|line| line.starts_with(&named)), "every line names the file: {stderr}");
        for fragment in expected.iter() {
            assert!(
                stderr.lines().any(|line| line.starts_with(&named) && line.contains(fragment)),
                "{text}\nexpected a line naming {} with {fragment:?}, got:\n{stderr}",
                file.display()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_rule_set_stops_the_simulation_with_every_mistake() {
    let dir = scratch("bad-site");
    let site = dir.join("site.json");
    std::fs::write(
        &site,
        r#"{"site": "acme", "preset": "b2b-sas", "rules": [{"id": "x", "on": "visit", "pionts": 1}]}"#,
    )
    .unwrap();
    let (output, stdout, stderr) = simulate(&site, &journey("readme-visitor"));
    assert!(!output.status.success());
    assert_eq!(stdout, "");
    let named = format!("{}: ", site.display());
    for expected in [
        r#"preset: unknown preset "b2b-sas"; did you mean "b2b-saas"?"#,
        r#"rules[0].pionts: unknown field; did you mean "points"?"#,
    ] {
        assert!(stderr.contains(&format!("{named}{expected}")), "{expected}\nnot in:\n{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_svg_is_a_well_formed_chart_with_the_thresholds() {
    let dir = scratch("svg");
    let chart = dir.join("readme.svg");
    let output =
        collector(&[Path::new("simulate"), &demo_site(), &journey("readme-visitor"), Path::new("--svg"), &chart]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8(output.stdout).unwrap().contains(&format!("wrote {}", chart.display())));
    let svg = std::fs::read_to_string(&chart).unwrap();
    well_formed(&svg);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "standalone: {}", &svg[..80]);
    // The MQL and sales-ready thresholds (and warm) as labelled horizontal lines.
    for (stage, label) in [("warm", "warm 20"), ("MQL", "MQL 50"), ("sales-ready", "sales-ready 80")] {
        let group = svg
            .lines()
            .find(|line| line.contains(&format!("class=\"threshold\" data-stage=\"{stage}\"")))
            .unwrap_or_else(|| panic!("no {stage} threshold in\n{svg}"));
        let y1 = attribute(group, "y1");
        assert_eq!(y1, attribute(group, "y2"), "horizontal: {group}");
        assert!(group.contains(&format!(">{label}</text>")), "{group}");
    }
    let lines: Vec<&str> = svg.lines().collect();
    let y_of = |stage: &str| -> f64 {
        let group = lines.iter().find(|line| line.contains(&format!("data-stage=\"{stage}\""))).unwrap();
        attribute(group, "y1").parse().unwrap()
    };
    assert!(y_of("sales-ready") < y_of("MQL") && y_of("MQL") < y_of("warm"), "higher scores are higher up");
    assert_eq!(svg.matches("<circle class=\"step\"").count(), 17, "a point per step");
    assert!(svg.contains("<title>step 12, 2026-01-05 11:13:30: form_submit · score 56.0, mql, grade D</title>"));
    assert!(svg.contains(">MQL at step 12</text>") && svg.contains(">sales-ready at step 16</text>"), "{svg}");
    assert!(svg.contains(">09:00</text>") && svg.contains(">Jan 5</text>"), "times and the date on the axis");
    assert!(svg.contains("time (UTC), from 2026-01-05 09:00:00") && svg.contains(">score</text>"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_lists_every_mistake_with_its_hint_and_fails() {
    let dir = scratch("check");
    let bad = dir.join("site.json");
    std::fs::write(
        &bad,
        r#"{"site": "acme", "preset": "b2b-saas", "tresholds": {"mql": 40},
            "rules": [{"id": "pricing", "on": "page_view", "url": "/pricing*", "piont": 5, "points": 5},
                      {"id": "trial", "on": "download", "points": "lots", "withn_days": 3},
                      {"id": "pricing", "on": "page_view", "points": 2}],
            "fit": [{"field": "job_titel", "contains_any": ["vp"], "points": 10}]}"#,
    )
    .unwrap();
    let output = collector(&[Path::new("check"), &bad]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!output.status.success(), "{stdout}");
    let named = format!("{}: ", bad.display());
    let expected = [
        r#"tresholds: unknown field; did you mean "thresholds"?"#,
        r#"rules[0].piont: unknown field; did you mean "points"?"#,
        r#"rules[1].withn_days: unknown field; did you mean "within_days"?"#,
        r#"rules[1].points: expected a whole number, got a string ("lots")"#,
        r#"rules[2].id: "pricing" is already the id of rules[0]; rule ids must be unique"#,
        r#"fit[0].field: unknown identity field "job_titel"; did you mean "job_title"?"#,
        "6 mistakes",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, expected) in lines.iter().zip(expected) {
        assert!(line.starts_with(&format!("{named}{expected}")), "expected {expected:?}, got {line:?}");
    }

    let output = collector(&[Path::new("check"), &demo_site()]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("site.json: ok: site \"demo\""), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The value of `name="…"` in one line of markup.
fn attribute<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 3;
    &line[start..start + line[start..].find('"').unwrap()]
}

/// Fails unless `xml` is well-formed: one root element, every tag closed
/// in order, attributes quoted, `&` only in the five entities.
fn well_formed(xml: &str) {
    let entity_ok = |text: &str| {
        text.match_indices('&').all(|(at, _)| {
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|entity| text[at..].starts_with(entity))
        })
    };
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(entity_ok(text) && !text.contains('>'), "bad text {text:?}");
        assert!(!open.is_empty() || text.trim().is_empty(), "text outside the root: {text:?}");
        let end = rest[start..].find('>').expect("an unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "a tag inside a tag: {tag:?}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.trim()), "closing {name}");
        } else {
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let (name, mut attributes) = body.split_once(' ').unwrap_or((body, ""));
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "name {name:?}");
            while !attributes.trim().is_empty() {
                let (key, after) = attributes.trim_start().split_once("=\"").expect("attributes are key=\"value\"");
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'), "key {key:?}");
                let close = after.find('"').expect("a closing quote");
                assert!(entity_ok(&after[..close]), "value {:?}", &after[..close]);
                attributes = &after[close + 1..];
            }
            if open.is_empty() {
                roots += 1;
            }
            if !self_closing {
                open.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
    assert!(open.is_empty(), "unclosed: {open:?}");
    assert_eq!(roots, 1, "one root element");
}

#[test]
fn a_landing_url_with_a_click_id_is_an_ad_click_and_measurements_belong_to_their_page() {
    let dir = scratch("arrival");
    let file = dir.join("journey.json");
    std::fs::write(
        &file,
        r#"[{"event": "page_view", "url": "https://northwind.example/product.html?gclid=abc#top"},
            {"event": "engaged_time", "at": "+2m", "value": 121.9},
            {"event": "engaged_time", "at": "+1m", "value": 180}]"#,
    )
    .unwrap();
    let (output, stdout, stderr) = simulate(&demo_site(), &file);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(row(&stdout, 1).contains("page_view /product.html · new visit"), "{stdout}");
    assert!(row(&stdout, 1).contains("ad-click +5"), "{stdout}");
    assert!(
        row(&stdout, 2).contains("engaged_time /product.html 121 s") && row(&stdout, 2).contains("product-read +5")
    );
    // The same page view's growing total matches again but counts once.
    assert!(row(&stdout, 3).ends_with("product-read +0"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
