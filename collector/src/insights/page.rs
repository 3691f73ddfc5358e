//! The dashboard's Insights page: the outcomes report as charts people read
//! at a glance (lift per rule with its interval, won share by source, the
//! funnel over time), the tables behind them, the suggestions, and a
//! what-if form whose answer shows beside the live rule set. Server-rendered
//! HTML and SVG like the rest of the dashboard; every value is escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use leadscore::core::time::DAY_MS;
use leadscore::core::Timestamp;

use super::report::{GroupRow, Reach, Report, RuleRow};
use super::stats::{Interval, Quartiles};
use super::{Suggestions, Visitor, WhatIf};
use crate::dashboard::{escape, page};

/// What the filter form shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The site chosen, if any.
    pub site: String,
    /// From day.
    pub from: String,
    /// Until day.
    pub until: String,
    /// Every configured site.
    pub sites: Vec<String>,
}

impl Filter {
    fn query(&self) -> String {
        let mut pairs = Vec::new();
        for (key, value) in [("site", &self.site), ("from", &self.from), ("until", &self.until)] {
            if !value.is_empty() {
                pairs.push(format!("{key}={}", escape(value)));
            }
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&amp;"))
        }
    }
}

/// A what-if answer to show beside the report, or the error it gave.
pub enum Tried<'a> {
    /// Nothing tried yet.
    Nothing,
    /// The candidate's answer and the rule set as typed.
    Answer(&'a WhatIf, &'a Suggestions, &'a str),
    /// The candidate was refused; the rule set as typed.
    Refused(&'a str, &'a str),
}

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |value| format!("{:.0}%", value * 100.0))
}

fn signed_pct(value: f64) -> String {
    format!("{:+.0}", value * 100.0)
}

fn share_cell(interval: &Interval) -> String {
    format!(
        "<td class=\"num\" title=\"95% interval {}–{}\">{} <span class=\"note\">({}/{})</span></td>",
        pct(Some(interval.low)),
        pct(Some(interval.high)),
        pct(interval.share),
        interval.count,
        interval.of
    )
}

fn days(ms: Option<f64>) -> String {
    ms.map_or_else(|| "–".into(), |ms| format!("{:.1} d", ms / DAY_MS as f64))
}

/// Horizontal bars with whiskers: one row per `(label, value, low, high,
/// faint)` on a scale from `min` to `max`, with a zero line when 0 is in it.
fn whiskers(rows: &[(String, Option<f64>, f64, f64, bool)], min: f64, max: f64, unit: &str) -> String {
    let (label_w, plot_w, row_h) = (170.0, 330.0, 22.0);
    let height = rows.len().max(1) as f64 * row_h + 22.0;
    let x = |value: f64| label_w + (value - min) / (max - min) * plot_w;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {} {height}\" width=\"100%\" role=\"img\" font-size=\"11\">",
        label_w + plot_w + 50.0
    );
    for tick in 0..=4 {
        let value = min + (max - min) * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"{1:.1}\" stroke=\"#e3e7ef\"/>\
             <text class=\"axis\" x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{3}{unit}</text>",
            x(value),
            height - 16.0,
            height - 4.0,
            if min < 0.0 { signed_pct(value) } else { format!("{:.0}", value * 100.0) }
        );
    }
    if min < 0.0 && max > 0.0 {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"{1:.1}\" stroke=\"#5b6577\"/>",
            x(0.0),
            height - 16.0
        );
    }
    for (index, (label, value, low, high, faint)) in rows.iter().enumerate() {
        let y = index as f64 * row_h;
        let colour = if *faint { "#adb5bd" } else { "#3b5bdb" };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#1d2433\">{}</text>",
            label_w - 8.0,
            y + 14.0,
            escape(label)
        );
        if let Some(value) = value {
            let (from, to) = (x(value.min(0.0).max(min)), x(value.max(0.0).max(min)));
            let from = if min < 0.0 { from } else { x(min) };
            let _ = write!(
                svg,
                "<rect x=\"{from:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"{colour}\" opacity=\"0.75\">\
                 <title>{}: {:.1}{unit} (95% {:.1} to {:.1})</title></rect>",
                y + 5.0,
                (to - from).max(1.0),
                escape(label),
                value * 100.0,
                low * 100.0,
                high * 100.0
            );
        }
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\" stroke=\"#1d2433\" stroke-width=\"1.5\"/>\
             <line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{3:.1}\" y2=\"{4:.1}\" stroke=\"#1d2433\"/>\
             <line x1=\"{1:.1}\" x2=\"{1:.1}\" y1=\"{3:.1}\" y2=\"{4:.1}\" stroke=\"#1d2433\"/>",
            x(low.max(min)),
            x(high.min(max)),
            y + 10.0,
            y + 6.0,
            y + 14.0
        );
        if *faint {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\">few cases</text>",
                label_w + plot_w + 4.0,
                y + 14.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The lift chart: won share with the rule minus without, per rule.
fn lift_chart(rules: &[RuleRow]) -> String {
    let rows: Vec<_> = rules
        .iter()
        .filter(|row| row.without.visitors > 0)
        .take(16)
        .map(|row| {
            let won = &row.difference.won;
            (format!("{} ({})", row.rule, row.with.visitors), won.value, won.low, won.high, row.few_cases)
        })
        .collect();
    if rows.is_empty() {
        return "<p class=\"note\">No rule is carried by some visitors and not by others yet.</p>".into();
    }
    whiskers(&rows, -1.0, 1.0, " pts")
}

/// Won share per value of a source dimension.
fn source_chart(groups: &[GroupRow]) -> String {
    let rows: Vec<_> = groups
        .iter()
        .take(10)
        .map(|row| {
            let won = &row.reach.won;
            (format!("{} ({})", row.value, row.reach.visitors), won.share, won.low, won.high, row.few_cases)
        })
        .collect();
    whiskers(&rows, 0.0, 1.0, "%")
}

/// Visitors entering MQL, SAL, SQL and won per week, as lines.
fn funnel_chart(visitors: &[Visitor]) -> String {
    const WEEK: u64 = 7 * DAY_MS;
    let week = |at: Timestamp| at.as_millis() / WEEK;
    let mut counts: BTreeMap<u64, [u64; 4]> = BTreeMap::new();
    for visitor in visitors {
        counts.entry(week(visitor.mql_at)).or_default()[0] += 1;
        for (index, entered) in visitor.entered.iter().enumerate() {
            if let Some(at) = entered {
                counts.entry(week(*at)).or_default()[index + 1] += 1;
            }
        }
    }
    let (Some(first), Some(last)) = (counts.keys().next().copied(), counts.keys().last().copied()) else {
        return "<p class=\"note\">No leads in this range.</p>".into();
    };
    let first = first.max(last.saturating_sub(25));
    let weeks: Vec<u64> = (first..=last).collect();
    let max = weeks.iter().filter_map(|w| counts.get(w)).flat_map(|c| c.iter()).copied().max().unwrap_or(1).max(1);
    let (left, width, height) = (30.0, 880.0, 170.0);
    let x = |index: usize| left + index as f64 * width / (weeks.len().max(2) - 1) as f64;
    let y = |count: u64| 10.0 + height - count as f64 / max as f64 * height;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" font-size=\"11\">",
        left + width + 70.0,
        height + 40.0
    );
    for tick in [0, max / 2, max] {
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#e3e7ef\"/>\
             <text class=\"axis\" x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{tick}</text>",
            left + width,
            y(tick),
            left - 4.0,
            y(tick) + 3.0
        );
    }
    let series = [("MQL", "#adb5bd"), ("SAL", "#748ffc"), ("SQL", "#3b5bdb"), ("won", "#2b8a3e")];
    for (index, (name, colour)) in series.iter().enumerate() {
        let points: Vec<String> = weeks
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{:.1},{:.1}", x(i), y(counts.get(w).map_or(0, |c| c[index]))))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{name} per week</title></polyline>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\" font-weight=\"600\">{name}</text>",
            points.join(" "),
            left + width + 8.0,
            24.0 + index as f64 * 16.0
        );
    }
    for (index, w) in weeks.iter().enumerate() {
        if index % 4 == 0 || index + 1 == weeks.len() {
            let day = Timestamp::from_millis(w * WEEK).iso8601();
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x(index),
                height + 28.0,
                &day[5..10]
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn reach_cells(reach: &Reach) -> String {
    format!(
        "<td class=\"num\">{}</td>{}{}{}",
        reach.visitors,
        share_cell(&reach.sal),
        share_cell(&reach.sql),
        share_cell(&reach.won)
    )
}

fn group_table(title: &str, rows: &[GroupRow]) -> String {
    let mut html = format!(
        "<div class=\"card\"><h2>{}</h2><table><tr><th></th><th>visitors</th><th>SAL</th><th>SQL</th><th>won</th></tr>",
        escape(title)
    );
    for row in rows.iter().take(12) {
        let few = if row.few_cases { " <span class=\"badge\">few cases</span>" } else { "" };
        let _ = write!(html, "<tr><td>{}{few}</td>{}</tr>", escape(&row.value), reach_cells(&row.reach));
    }
    html.push_str("</table></div>");
    html
}

fn times_table(label: &str, quartiles: &Quartiles) -> String {
    format!(
        "<tr><td>MQL → {label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        quartiles.count,
        days(quartiles.q1_ms),
        days(quartiles.median_ms),
        days(quartiles.q3_ms)
    )
}

fn suggestions_html(suggestions: &Suggestions) -> String {
    let mut html = String::new();
    match &suggestions.best_threshold {
        Some(best) => {
            let _ = write!(
                html,
                "<p>MQL threshold now <b>{}</b>. On the {} won and {} lost visitors, <b>{}</b> separates them best: \
                 it keeps {} won ({} recall) and {} lost ({} precision).</p>",
                suggestions.current_threshold,
                suggestions.won,
                suggestions.lost,
                best.threshold,
                best.won,
                pct(best.recall),
                best.lost,
                pct(best.precision)
            );
        }
        None => {
            html.push_str("<p class=\"note\">A threshold can be judged once there are both won and lost visitors.</p>")
        }
    }
    if !suggestions.thresholds.is_empty() {
        html.push_str(
            "<table><tr><th>threshold</th><th>won kept</th><th>lost kept</th><th>precision</th><th>recall</th></tr>",
        );
        for row in suggestions.thresholds.iter().take(12) {
            let _ = write!(
                html,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                row.threshold,
                row.won,
                row.lost,
                pct(row.precision),
                pct(row.recall)
            );
        }
        html.push_str("</table>");
    }
    for rule in &suggestions.rules {
        let _ = write!(html, "<p><span class=\"badge\">{}</span> {}</p>", escape(rule.finding), escape(&rule.reading));
    }
    html.push_str("<p class=\"note\">Suggestions only: a person decides, and changes the site's rule set.</p>");
    html
}

fn tried_html(tried: &Tried<'_>, filter: &Filter) -> String {
    let typed = match tried {
        Tried::Nothing => "",
        Tried::Answer(_, _, typed) | Tried::Refused(_, typed) => typed,
    };
    let mut html = format!(
        "<div class=\"card\"><h2>What if</h2><form method=\"post\" action=\"/admin/insights/what-if{}\">\
         <p class=\"note\">Paste a candidate rule set (the same JSON a site uses). Every stored lead's evidence is replayed \
         under it; nothing is changed.</p><textarea name=\"rule_set\" rows=\"6\" style=\"width:100%;font:12px monospace\">{}</textarea>\
         <p><button>Replay history</button></p></form>",
        filter.query(),
        escape(typed)
    );
    match tried {
        Tried::Nothing => {}
        Tried::Refused(error, _) => {
            let _ = write!(html, "<p class=\"error\">{}</p>", escape(error));
        }
        Tried::Answer(answer, suggestions, _) => {
            let _ = write!(
                html,
                "<table><tr><th></th><th>live rule set</th><th>candidate</th></tr>\
                 <tr><td>qualified visitors</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>of the {} won</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>of the {} lost</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>\
                 <p class=\"note\">{} leads replayed; {} change stage; {} carry a summary, so their scores are lower bounds.</p>",
                answer.live.visitors,
                answer.candidate.visitors,
                answer.won,
                answer.live.won,
                answer.candidate.won,
                answer.lost,
                answer.live.lost,
                answer.candidate.lost,
                answer.leads,
                answer.changed_count,
                answer.lower_bounds
            );
            if !answer.changed.is_empty() {
                html.push_str("<table><tr><th>lead</th><th>funnel</th><th>live</th><th>candidate</th></tr>");
                for row in answer.changed.iter().take(20) {
                    let _ = write!(
                        html,
                        "<tr><td><a href=\"/admin/leads/{0}\">{1}</a></td><td>{2}</td><td>{3:.1} {4}</td><td>{5:.1} {6}</td></tr>",
                        escape(&row.lead_id),
                        escape(row.email.as_deref().unwrap_or(&row.visitor_id)),
                        row.funnel,
                        row.live.score,
                        row.live.stage,
                        row.candidate.score,
                        row.candidate.stage
                    );
                }
                html.push_str("</table>");
            }
            html.push_str("<h2 style=\"margin-top:14px\">Suggestions under the candidate</h2>");
            html.push_str(&suggestions_html(suggestions));
        }
    }
    html.push_str("</div>");
    html
}

/// The whole page.
pub fn insights_page(
    filter: &Filter,
    visitors: &[Visitor],
    report: &Report,
    suggestions: Option<&Suggestions>,
    tried: &Tried<'_>,
) -> String {
    let mut html = String::from("<form method=\"get\" action=\"/admin/insights\" class=\"inline\"><select name=\"site\"><option value=\"\">every site</option>");
    for site in &filter.sites {
        let selected = if *site == filter.site { " selected" } else { "" };
        let _ = write!(html, "<option{selected}>{}</option>", escape(site));
    }
    let _ = write!(
        html,
        "</select><input type=\"text\" name=\"from\" placeholder=\"from YYYY-MM-DD\" value=\"{}\">\
         <input type=\"text\" name=\"until\" placeholder=\"until YYYY-MM-DD\" value=\"{}\"><button>Show</button></form>",
        escape(&filter.from),
        escape(&filter.until)
    );
    let overall = &report.overall;
    let _ = write!(
        html,
        "<div class=\"cards\"><div class=\"card\"><h2>Outcomes</h2><p><b>{}</b> qualified visitors ({} leads): \
         {} reached SAL, {} SQL, {} won, {} lost.</p><p class=\"note\">{}</p></div>",
        report.visitors,
        report.leads,
        pct(overall.sal.share),
        pct(overall.sql.share),
        pct(overall.won.share),
        overall.lost,
        escape(super::QUALIFIED_ONLY)
    );
    let _ = write!(
        html,
        "<div class=\"card\"><h2>Time from MQL</h2><table><tr><th></th><th>visitors</th><th>Q1</th><th>median</th><th>Q3</th></tr>{}{}{}</table></div></div>",
        times_table("SAL", &report.times.sal),
        times_table("SQL", &report.times.sql),
        times_table("won", &report.times.won)
    );
    let _ = write!(
        html,
        "<div class=\"cards\"><div class=\"card\"><h2>Lift per rule: won share with the rule minus without</h2>{}\
         <p class=\"note\">Bars are the difference in points of percentage, whiskers its 95% interval (Newcombe). A whisker \
         crossing zero means the data cannot tell yet.</p></div>\
         <div class=\"card\"><h2>Won by first-touch source</h2>{}<p class=\"note\">Share won, whiskers the 95% interval (Wilson).</p></div></div>",
        lift_chart(&report.rules),
        source_chart(report.sources.get("first_source").map_or(&[][..], Vec::as_slice))
    );
    let _ =
        write!(html, "<div class=\"card\"><h2>The funnel over time (per week)</h2>{}</div>", funnel_chart(visitors));

    html.push_str("<div class=\"card\" style=\"margin-top:16px\"><h2>Per rule</h2><table><tr><th>rule</th><th>with</th><th>SAL</th><th>SQL</th><th>won</th><th>without</th><th>SAL</th><th>SQL</th><th>won</th><th>won, difference (95%)</th></tr>");
    for row in &report.rules {
        let won = &row.difference.won;
        let difference = won.value.map_or_else(
            || "–".into(),
            |value| format!("{} ({} to {})", signed_pct(value), signed_pct(won.low), signed_pct(won.high)),
        );
        let few = if row.few_cases { " <span class=\"badge\">few cases</span>" } else { "" };
        let _ = write!(
            html,
            "<tr><td>{}{few}</td>{}{}<td class=\"num\">{difference}</td></tr>",
            escape(&row.rule),
            reach_cells(&row.with),
            reach_cells(&row.without)
        );
    }
    html.push_str("</table></div><div class=\"cards\" style=\"margin-top:16px\">");
    for (name, title) in [
        ("first_source", "First touch: source"),
        ("first_campaign", "First touch: campaign"),
        ("last_source", "Last touch: source"),
        ("landing_page", "Landing page"),
        ("click_id", "Ad click id"),
    ] {
        if let Some(rows) = report.sources.get(name) {
            html.push_str(&group_table(title, rows));
        }
    }
    html.push_str(&group_table("Fit grade", &report.grades));
    html.push_str(&group_table("Score at the MQL", &report.score_bands));
    html.push_str("</div><div class=\"cards\">");
    if let Some(suggestions) = suggestions {
        let _ = write!(html, "<div class=\"card\"><h2>Suggestions</h2>{}</div>", suggestions_html(suggestions));
    }
    html.push_str(&tried_html(tried, filter));
    html.push_str("</div><div class=\"card\"><h2>Reading this page</h2><ul>");
    for note in &report.notes {
        let _ = write!(html, "<li class=\"note\">{}</li>", escape(note));
    }
    html.push_str("</ul></div>");
    page("Insights", &html)
}
