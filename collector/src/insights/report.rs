//! The outcomes report: per rule, per source, per grade, per score band,
//! and the time from MQL to each later stage.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::stats::{newcombe, quartiles, wilson, Difference, Interval, Quartiles};
use super::{Visitor, QUALIFIED_ONLY, REACHED};

/// Fewer cases than this on either side of a comparison are flagged as few:
/// the interval is then wide, and the report says so instead of a verdict.
pub const FEW_CASES: u64 = 10;

/// How many of a group of visitors reached SAL, SQL and won.
#[derive(Clone, Debug, Serialize)]
pub struct Reach {
    /// Visitors in the group.
    pub visitors: u64,
    /// Reached SAL (or later), with its 95% interval.
    pub sal: Interval,
    /// Reached SQL (or later).
    pub sql: Interval,
    /// Won.
    pub won: Interval,
    /// Closed lost.
    pub lost: u64,
}

impl Reach {
    /// The figures of `visitors`.
    pub fn of<'a>(visitors: impl IntoIterator<Item = &'a Visitor>) -> Reach {
        let (mut all, mut reached, mut lost) = (0, [0u64; 3], 0);
        for visitor in visitors {
            all += 1;
            for (index, count) in reached.iter_mut().enumerate() {
                *count += u64::from(visitor.reached(index));
            }
            lost += u64::from(visitor.lost);
        }
        Reach {
            visitors: all,
            sal: wilson(reached[0], all),
            sql: wilson(reached[1], all),
            won: wilson(reached[2], all),
            lost,
        }
    }

    fn stages(&self) -> [&Interval; 3] {
        [&self.sal, &self.sql, &self.won]
    }
}

/// A rule: the visitors whose ledgers carry it against those whose do not.
#[derive(Clone, Debug, Serialize)]
pub struct RuleRow {
    /// The rule's id.
    pub rule: String,
    /// Visitors carrying it.
    pub with: Reach,
    /// Visitors without it.
    pub without: Reach,
    /// `with − without` for SAL, SQL and won, with 95% intervals.
    pub difference: Differences,
    /// Fewer than [`FEW_CASES`] visitors on one side.
    pub few_cases: bool,
}

/// A difference per later stage.
#[derive(Clone, Debug, Serialize)]
pub struct Differences {
    /// Reached SAL.
    pub sal: Difference,
    /// Reached SQL.
    pub sql: Difference,
    /// Won.
    pub won: Difference,
}

/// Visitors sharing one value of a dimension (a source, a grade, a band).
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    /// The value; `(none)` when the lead carried none.
    pub value: String,
    /// What became of them.
    #[serde(flatten)]
    pub reach: Reach,
    /// Fewer than [`FEW_CASES`] visitors.
    pub few_cases: bool,
}

/// Time from the MQL to each later stage, for the visitors who got there.
#[derive(Clone, Debug, Serialize)]
pub struct Times {
    /// MQL to SAL.
    pub sal: Quartiles,
    /// MQL to SQL.
    pub sql: Quartiles,
    /// MQL to won.
    pub won: Quartiles,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Visitors read (each may have sent more than one lead).
    pub visitors: u64,
    /// Leads read.
    pub leads: u64,
    /// All visitors together.
    pub overall: Reach,
    /// Per rule, most carried first.
    pub rules: Vec<RuleRow>,
    /// Per source dimension (`first_source`, `last_campaign`, `landing_page`,
    /// `click_id`, …), largest group first.
    pub sources: BTreeMap<&'static str, Vec<GroupRow>>,
    /// Per fit grade of the first lead.
    pub grades: Vec<GroupRow>,
    /// Per band of ten points of the verified score at the MQL.
    pub score_bands: Vec<GroupRow>,
    /// Time from MQL to SAL, SQL and won.
    pub times: Times,
    /// What the figures can and cannot say.
    pub notes: Vec<&'static str>,
}

const NONE: &str = "(none)";

/// The path of the earliest evidence event with a URL: where the visitor
/// landed, as far as the evidence kept goes back.
fn landing_page(visitor: &Visitor) -> Option<String> {
    let lead = visitor.first_lead()?;
    let event = lead.evidence.iter().filter(|event| event.url.is_some()).min_by_key(|event| event.at)?;
    let url = event.url.as_deref()?;
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.find('/').map_or("/", |slash| &rest[slash..]));
    Some(path.split(['?', '#']).next().unwrap_or(path).to_string())
}

/// The value of one source dimension for a visitor.
type Dimension = (&'static str, fn(&Visitor) -> Option<String>);

const SOURCES: [Dimension; 8] = [
    ("first_source", |v| v.first_lead()?.touch.first.as_ref()?.source.clone()),
    ("first_medium", |v| v.first_lead()?.touch.first.as_ref()?.medium.clone()),
    ("first_campaign", |v| v.first_lead()?.touch.first.as_ref()?.campaign.clone()),
    ("last_source", |v| v.first_lead()?.touch.last.as_ref()?.source.clone()),
    ("last_medium", |v| v.first_lead()?.touch.last.as_ref()?.medium.clone()),
    ("last_campaign", |v| v.first_lead()?.touch.last.as_ref()?.campaign.clone()),
    ("landing_page", landing_page),
    ("click_id", |v| {
        let touch = &v.first_lead()?.touch;
        touch.last.as_ref().and_then(|t| t.click_id.clone()).or_else(|| touch.first.as_ref()?.click_id.clone())
    }),
];

/// Groups visitors by `key`, largest group first, then by value.
fn groups(visitors: &[Visitor], key: impl Fn(&Visitor) -> String) -> Vec<GroupRow> {
    let mut by_value: BTreeMap<String, Vec<&Visitor>> = BTreeMap::new();
    for visitor in visitors {
        by_value.entry(key(visitor)).or_default().push(visitor);
    }
    let mut rows: Vec<GroupRow> = by_value
        .into_iter()
        .map(|(value, members)| {
            let reach = Reach::of(members);
            GroupRow { value, few_cases: reach.visitors < FEW_CASES, reach }
        })
        .collect();
    rows.sort_by(|a, b| b.reach.visitors.cmp(&a.reach.visitors).then_with(|| a.value.cmp(&b.value)));
    rows
}

/// The band of ten points a score falls in: `40–49`, or `100+`.
pub fn score_band(score: f64) -> String {
    let band = (score.max(0.0) / 10.0).floor() as u64 * 10;
    if band >= 100 {
        "100+".into()
    } else {
        format!("{band}–{}", band + 9)
    }
}

/// The report over `visitors`.
pub fn report(visitors: &[Visitor]) -> Report {
    let rules: BTreeSet<&String> = visitors.iter().flat_map(|visitor| &visitor.rules).collect();
    let mut rule_rows: Vec<RuleRow> = rules
        .into_iter()
        .map(|rule| {
            let (with, without): (Vec<&Visitor>, Vec<&Visitor>) =
                visitors.iter().partition(|visitor| visitor.rules.contains(rule));
            let (with, without) = (Reach::of(with), Reach::of(without));
            let [sal, sql, won] = [0, 1, 2].map(|index| newcombe(with.stages()[index], without.stages()[index]));
            RuleRow {
                rule: rule.clone(),
                few_cases: with.visitors.min(without.visitors) < FEW_CASES,
                with,
                without,
                difference: Differences { sal, sql, won },
            }
        })
        .collect();
    rule_rows.sort_by(|a, b| b.with.visitors.cmp(&a.with.visitors).then_with(|| a.rule.cmp(&b.rule)));

    let sources = SOURCES
        .iter()
        .map(|(name, value)| (*name, groups(visitors, |visitor| value(visitor).unwrap_or_else(|| NONE.into()))))
        .collect();
    let mut score_bands = groups(visitors, |visitor| score_band(visitor.first().verified_score));
    score_bands.sort_by_key(|row| row.value.split(['–', '+']).next().and_then(|low| low.parse::<u64>().ok()));
    let mut grades = groups(visitors, |visitor| visitor.first().grade.clone());
    grades.sort_by(|a, b| a.value.cmp(&b.value));

    let time_to = |index: usize| {
        quartiles(visitors.iter().filter_map(|v| Some(v.entered[index]?.millis_since(v.mql_at))).collect())
    };
    let notes = vec![
        QUALIFIED_ONLY,
        "Each visitor counts once, with every rule any of its leads carried and the furthest stage any reached.",
        "Intervals are 95% (Wilson for shares, Newcombe for differences); rows marked few_cases have fewer than 10 \
         visitors on a side, and their intervals are wide: read them as not yet known.",
        "Visitors still open count as not (yet) converted: recent MQLs lower every share.",
    ];
    debug_assert_eq!(REACHED.len(), 3);
    Report {
        visitors: visitors.len() as u64,
        leads: visitors.iter().map(|visitor| visitor.leads.len() as u64).sum(),
        overall: Reach::of(visitors),
        rules: rule_rows,
        sources,
        grades,
        score_bands,
        times: Times { sal: time_to(0), sql: time_to(1), won: time_to(2) },
        notes,
    }
}
