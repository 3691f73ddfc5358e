//! The dashboard's HTML: server-rendered pages with inline CSS and SVG, no
//! script and no external CDN, so it works behind any firewall and under a
//! strict Content-Security-Policy. Every value from a lead is escaped.

use std::fmt::Write;

use leadscore::core::Lead;

use crate::store::{Action, Change, Delivery, Funnel, LeadRow, Stats};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--ink:#1d2433;--muted:#5b6577;--line:#e3e7ef;--bg:#f6f8fb;--brand:#3b5bdb;--ok:#2b8a3e;--warn:#c92a2a}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:12px 24px;display:flex;gap:16px;align-items:center}
header h1{font-size:17px;margin:0}header nav{margin-left:auto;display:flex;gap:12px;align-items:center}
main{max-width:1180px;margin:0 auto;padding:20px 24px}a{color:var(--brand)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px;margin-bottom:16px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px}.card h2{font-size:14px;margin:0 0 10px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
table{width:100%;border-collapse:collapse;background:#fff}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;background:#edf2ff;color:var(--brand)}
.badge.flag{background:#fff5f5;color:var(--warn)}.badge.ok{background:#ebfbee;color:var(--ok)}
.bar{fill:var(--brand)}.axis{fill:var(--muted);font-size:10px}.note{color:var(--muted);font-size:12px}
.funnel td{border:0;padding:4px 6px}.funnel .track{background:#edf2ff;border-radius:4px;height:18px;position:relative}
.funnel .fill{background:var(--brand);border-radius:4px;height:18px}
form.inline{display:inline-flex;gap:6px;margin:0 6px 6px 0}button{font:inherit;padding:4px 10px;border:1px solid var(--brand);background:var(--brand);color:#fff;border-radius:5px;cursor:pointer}
button.secondary{background:#fff;color:var(--brand)}input[type=text],input[type=password]{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:5px}
.error{background:#fff5f5;border:1px solid #ffc9c9;color:var(--warn);padding:8px 12px;border-radius:6px;margin-bottom:12px}
pre{white-space:pre-wrap;word-break:break-all;font-size:12px;margin:0}
";

/// A dashboard page around `body`, with the header and navigation.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{} · leadscore</title><style>{STYLE}</style></head>\
         <body><header><h1>leadscore collector</h1><nav><a href=\"/admin\">Leads</a><a href=\"/admin/insights\">Insights</a>\
         <a href=\"/admin/export.csv\">CSV</a><a href=\"/admin/export.json\">JSON</a>\
         <form class=\"inline\" method=\"post\" action=\"/admin/logout\"><button class=\"secondary\">Log out</button></form></nav></header>\
         <main>{body}</main></body></html>",
        escape(title)
    )
}

/// The login page, with an error after a wrong token.
pub fn login(error: Option<&str>) -> String {
    let error = error.map(|error| format!("<p class=\"error\">{}</p>", escape(error))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · leadscore</title><style>{STYLE}</style></head>\
         <body><main style=\"max-width:420px;margin-top:12vh\"><div class=\"card\"><h2>leadscore collector</h2>{error}\
         <form method=\"post\" action=\"/admin/login\"><p><label>Admin token<br>\
         <input type=\"password\" name=\"token\" autocomplete=\"current-password\" style=\"width:100%\" autofocus></label></p>\
         <button>Log in</button></form><p class=\"note\">The token is the collector's <code>admin_token</code> \
         (or <code>LEADSCORE_ADMIN_TOKEN</code>); a collector started without one prints the token it generated.</p>\
         </div></main></body></html>"
    )
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

/// The funnel: visitors that reached each stage, with conversion between steps.
fn funnel(stats: &Stats) -> String {
    let names = ["MQL", "SAL", "SQL", "Won"];
    let top = stats.reached[0].max(1);
    let mut html = String::from(
        "<table class=\"funnel\"><tr><td>Warm</td><td colspan=\"3\" class=\"note\">scored in visitors' own browsers; \
         only qualified leads reach the collector</td></tr>",
    );
    for (index, name) in names.iter().enumerate() {
        let count = stats.reached[index];
        let conversion = if index == 0 { String::new() } else { percent(count, stats.reached[index - 1]) };
        let width = count as f64 * 100.0 / top as f64;
        let _ = write!(
            html,
            "<tr><td>{name}</td><td style=\"width:60%\"><div class=\"track\"><div class=\"fill\" style=\"width:{width:.1}%\"></div></div></td>\
             <td class=\"num\">{count}</td><td class=\"num note\">{conversion}</td></tr>"
        );
    }
    let lost = stats.by_funnel[4];
    let nurture = stats.by_funnel[5];
    let _ = write!(
        html,
        "</table><p class=\"note\">Lost: {lost} · back in nurture: {nurture} · flagged claims: {}</p>",
        stats.flagged
    );
    html
}

/// Vertical bars as inline SVG, one per `(label, count)`.
fn bars(values: &[(String, u64)], label_every: usize) -> String {
    // About the width a card gets, so text stays at its size and the
    // chart fills the card's height.
    let (width, height) = (320.0, 140.0);
    let max = values.iter().map(|(_, count)| *count).max().unwrap_or(0).max(1) as f64;
    let slot = width / values.len().max(1) as f64;
    let mut svg =
        format!("<svg viewBox=\"0 0 {width} {}\" width=\"100%\" overflow=\"visible\" role=\"img\">", height + 16.0);
    for (index, (label, count)) in values.iter().enumerate() {
        let bar = (*count as f64 / max) * (height - 14.0);
        let x = index as f64 * slot;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\"><title>{}: {count}</title></rect>",
            x + slot * 0.15,
            height - bar,
            slot * 0.7,
            escape(label)
        );
        if *count > 0 {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{count}</text>",
                x + slot / 2.0,
                height - bar - 3.0
            );
        }
        if index % label_every.max(1) == 0 {
            let _ = write!(
                svg,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                height + 12.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn verdict_badge(row: &LeadRow) -> String {
    let class = if row.verdict.flagged() { "badge flag" } else { "badge ok" };
    format!("<span class=\"{class}\">{}</span>", row.verdict.as_str())
}

fn stage_badge(funnel: Funnel) -> String {
    format!("<span class=\"badge\">{}</span>", funnel.as_str())
}

/// The overview: funnel, leads per day, score distribution, lead list and
/// dead letters.
pub fn overview(stats: &Stats, leads: &[LeadRow], dead: &[Delivery], sites: &[&str]) -> String {
    let per_day: Vec<(String, u64)> =
        stats.per_day.iter().map(|(day, count)| (day.iso8601()[5..10].to_string(), *count)).collect();
    let buckets: Vec<(String, u64)> = stats
        .score_buckets
        .iter()
        .enumerate()
        .map(|(index, count)| (if index == 10 { "100+".to_string() } else { format!("{}", index * 10) }, *count))
        .collect();
    let mut html = String::new();
    let _ = write!(
        html,
        "<div class=\"cards\"><section class=\"card\"><h2>Funnel</h2>{}</section>\
         <section class=\"card\"><h2>Leads per day (30 days)</h2>{}</section>\
         <section class=\"card\"><h2>Verified score distribution</h2>{}</section></div>",
        funnel(stats),
        bars(&per_day, 5),
        bars(&buckets, 1)
    );
    let _ = write!(
        html,
        "<section class=\"card\"><h2>Leads ({} in all, newest first)</h2><table><tr><th>Received</th><th>Email</th><th>Site</th>\
         <th>Stage</th><th>Funnel</th><th class=\"num\">Claimed</th><th class=\"num\">Verified</th><th>Check</th><th>Grade</th><th>Source</th></tr>",
        stats.total
    );
    if leads.is_empty() {
        let sites = if sites.is_empty() { "none configured".to_string() } else { sites.join(", ") };
        let _ =
            write!(html, "<tr><td colspan=\"10\" class=\"note\">No leads yet. Sites: {}.</td></tr>", escape(&sites));
    }
    for row in leads {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><a href=\"/admin/leads/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            &row.received_at.iso8601()[..16].replace('T', " "),
            escape(&row.lead_id),
            escape(row.email.as_deref().unwrap_or("(no email)")),
            escape(&row.site),
            row.stage,
            stage_badge(row.funnel),
            row.claimed_score,
            row.verified_score,
            verdict_badge(row),
            escape(&row.grade),
            escape(row.source.as_deref().unwrap_or("direct")),
        );
    }
    html.push_str("</table></section>");
    let _ = write!(
        html,
        "<section class=\"card\" id=\"dead-letters\" style=\"margin-top:16px\"><h2>Dead letters ({})</h2>",
        dead.len()
    );
    if dead.is_empty() {
        html.push_str("<p class=\"note\">Every webhook delivery went through, or is still being retried.</p>");
    } else {
        html.push_str("<table><tr><th>Id</th><th>Webhook</th><th>Event</th><th>Lead</th><th>Attempts</th><th>Last error</th><th></th></tr>");
        for delivery in dead {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/admin/leads/{lead}\">{lead}</a></td><td class=\"num\">{}</td><td>{}</td>\
                 <td><form class=\"inline\" method=\"post\" action=\"/admin/deliveries/{}/retry\"><button>Retry</button></form></td></tr>",
                delivery.id,
                escape(&delivery.webhook),
                escape(&delivery.event),
                delivery.attempts,
                escape(delivery.last_error.as_deref().unwrap_or("")),
                delivery.id,
                lead = escape(&delivery.lead_id),
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</section>");
    if stats.conflicts > 0 {
        let _ = write!(
            html,
            "<p class=\"note\">{} repeated lead posts differed from the stored lead and were kept aside \
             (<a href=\"/v1/admin/conflicts\">see them</a>).</p>",
            stats.conflicts
        );
    }
    page("Leads", &html)
}

/// One lead: its figures, ledger, identity, attribution, funnel history and
/// the funnel steps sales can take, with an error after a refused step.
pub fn lead(row: &LeadRow, history: &[Change], error: Option<&str>) -> String {
    let lead: Option<Lead> = row.lead();
    let mut html = String::new();
    if let Some(error) = error {
        let _ = write!(html, "<p class=\"error\">{}</p>", escape(error));
    }
    let _ = write!(
        html,
        "<div class=\"cards\"><section class=\"card\"><h2>Lead</h2><table>\
         <tr><th>Email</th><td>{}</td></tr><tr><th>Lead id</th><td>{}</td></tr><tr><th>Visitor</th><td>{}</td></tr>\
         <tr><th>Site</th><td>{}</td></tr><tr><th>Stage claimed</th><td>{}</td></tr><tr><th>Stage verified</th><td>{}</td></tr>\
         <tr><th>Score</th><td>{:.2} claimed · {:.2} verified {}</td></tr><tr><th>Grade</th><td>{}</td></tr>\
         <tr><th>Funnel</th><td>{} {}</td></tr><tr><th>Page</th><td>{}</td></tr><tr><th>Source</th><td>{}</td></tr>\
         <tr><th>Created</th><td>{}</td></tr><tr><th>Received</th><td>{}</td></tr></table></section>",
        escape(row.email.as_deref().unwrap_or("(no email)")),
        escape(&row.lead_id),
        escape(&row.visitor_id),
        escape(&row.site),
        row.stage,
        row.verified_stage,
        row.claimed_score,
        row.verified_score,
        verdict_badge(row),
        escape(&row.grade),
        stage_badge(row.funnel),
        escape(row.funnel_reason.as_deref().unwrap_or("")),
        escape(&row.page),
        escape(row.source.as_deref().unwrap_or("direct")),
        row.created_at.iso8601(),
        row.received_at.iso8601(),
    );
    html.push_str("<section class=\"card\"><h2>Sales steps</h2>");
    let possible: Vec<Action> =
        Action::ALL.into_iter().filter(|action| action.apply(row.funnel, Some("reason")).is_ok()).collect();
    if possible.is_empty() {
        let _ = write!(html, "<p class=\"note\">This lead is closed ({}).</p>", row.funnel);
    }
    for action in possible {
        let reason = match action {
            Action::Reject => "<input type=\"text\" name=\"reason\" placeholder=\"reason (required)\" required>",
            Action::Lose => "<input type=\"text\" name=\"reason\" placeholder=\"reason\">",
            _ => "",
        };
        let _ = write!(
            html,
            "<form class=\"inline\" method=\"post\" action=\"/admin/leads/{}/{}\">{reason}<button>{}</button></form><br>",
            escape(&row.lead_id),
            action.as_str(),
            label(action)
        );
    }
    html.push_str(
        "<h2 style=\"margin-top:14px\">History</h2><table><tr><th>When</th><th>Step</th><th>Reason</th></tr>",
    );
    let _ = write!(html, "<tr><td>{}</td><td>received as {}</td><td></td></tr>", row.received_at.iso8601(), row.stage);
    for change in history {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            change.at.iso8601(),
            change.from,
            change.to,
            escape(change.reason.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</table></section></div>");
    if let Some(lead) = lead {
        html.push_str("<div class=\"cards\"><section class=\"card\"><h2>Ledger: why this score</h2><table><tr><th>Rule</th><th class=\"num\">Points</th><th class=\"num\">Matches</th><th>Last</th></tr>");
        for entry in &lead.ledger {
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&entry.rule_id),
                entry.points,
                entry.count,
                entry.last.iso8601()
            );
        }
        let _ = write!(
            html,
            "</table><p class=\"note\">{} events of evidence{}.</p></section>",
            lead.evidence.len(),
            if lead.summarised > 0 {
                format!(", {} older ones summarised in the browser", lead.summarised)
            } else {
                String::new()
            }
        );
        html.push_str("<section class=\"card\"><h2>Identity and attribution</h2><table>");
        for (field, value) in &lead.identity {
            let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", escape(field), escape(value));
        }
        for (name, touch) in [("First touch", &lead.touch.first), ("Last touch", &lead.touch.last)] {
            let text = touch.as_ref().map_or("–".to_string(), |touch| {
                [&touch.source, &touch.medium, &touch.campaign, &touch.click_id]
                    .iter()
                    .filter_map(|part| part.as_deref())
                    .collect::<Vec<_>>()
                    .join(" / ")
            });
            let _ = write!(html, "<tr><th>{name}</th><td>{}</td></tr>", escape(&text));
        }
        html.push_str("</table></section></div>");
    }
    page(row.email.as_deref().unwrap_or(&row.lead_id), &html)
}

fn label(action: Action) -> &'static str {
    match action {
        Action::Accept => "Accept (SAL)",
        Action::Reject => "Reject to nurture",
        Action::Qualify => "Qualify (SQL)",
        Action::Win => "Mark won",
        Action::Lose => "Mark lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn the_funnel_shows_conversion_between_steps() {
        let stats = Stats { reached: [10, 5, 2, 1], ..Stats::default() };
        let html = funnel(&stats);
        assert!(html.contains("<td>SAL</td>"), "{html}");
        assert!(html.contains(">50%<"), "SAL/MQL: {html}");
        assert!(html.contains(">40%<"), "SQL/SAL: {html}");
        assert!(html.contains("only qualified leads reach the collector"));
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = bars(&[("a".into(), 2), ("b".into(), 4)], 1);
        assert!(svg.contains("height=\"126.0\""), "{svg}");
        assert!(svg.contains("height=\"63.0\""), "{svg}");
        assert!(svg.contains("<title>b: 4</title>"));
    }
}
