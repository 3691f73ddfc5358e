//! What converts: the outcomes report, the what-if replay and the
//! suggestions, all read from what the collector already holds (each lead's
//! verified ledger and evidence, its touches, its grade, and its path through
//! the funnel).
//!
//! The unit is the **visitor**: a visitor sent as an MQL and later as
//! sales-ready is one case, with the union of its rules and the furthest
//! stage any of its leads reached. Only qualified visitors reach the
//! collector, so every figure compares qualified visitors with each other,
//! never with the visitors who never qualified.

pub mod page;
pub mod report;
pub mod seed;
pub mod stats;
pub mod suggest;
pub mod whatif;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use leadscore::core::{Lead, Timestamp};

use crate::store::{Change, Funnel, LeadFilter, LeadRow, Store, StoreError};

pub use report::{report, Report};
pub use seed::{seed_history, win_probability, Seeded};
pub use stats::{newcombe, quartiles, wilson, Interval, Quartiles};
pub use suggest::{suggest, Suggestions};
pub use whatif::{what_if, WhatIf};

/// Which leads a report or replay reads.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only this site.
    pub site: Option<String>,
    /// Only leads received at or after this time.
    pub from: Option<Timestamp>,
    /// Only leads received before this time.
    pub until: Option<Timestamp>,
}

impl Scope {
    fn holds(&self, row: &LeadRow) -> bool {
        self.from.is_none_or(|from| row.received_at >= from) && self.until.is_none_or(|until| row.received_at < until)
    }
}

/// The funnel stages a visitor can reach after MQL, in order.
pub const REACHED: [Funnel; 3] = [Funnel::Sal, Funnel::Sql, Funnel::Won];

/// One visitor's leads and what became of them.
#[derive(Clone, Debug)]
pub struct Visitor {
    /// Site name.
    pub site: String,
    /// The browser's visitor id.
    pub visitor_id: String,
    /// Its leads, oldest first, each with its payload when it reads.
    pub leads: Vec<(LeadRow, Option<Lead>)>,
    /// When its first lead (the MQL) was received.
    pub mql_at: Timestamp,
    /// When it first entered SAL, SQL and won, if it did.
    pub entered: [Option<Timestamp>; 3],
    /// Whether its furthest lead ended lost (and none was won).
    pub lost: bool,
    /// Every rule that matched in any of its leads' ledgers.
    pub rules: BTreeSet<String>,
}

impl Visitor {
    /// Whether it reached `REACHED[index]` (or a later stage).
    pub fn reached(&self, index: usize) -> bool {
        self.entered[index..].iter().any(Option::is_some)
    }

    /// Whether it was won.
    pub fn won(&self) -> bool {
        self.entered[2].is_some()
    }

    /// Its first lead, the one that made it an MQL.
    pub fn first(&self) -> &LeadRow {
        &self.leads[0].0
    }

    /// The first lead's payload, if it reads.
    pub fn first_lead(&self) -> Option<&Lead> {
        self.leads[0].1.as_ref()
    }
}

/// Builds visitors from lead rows and every funnel change; rows outside
/// `scope` are left out. Visitors come sorted by site and id.
pub fn visitors(rows: Vec<LeadRow>, changes: &[Change], scope: &Scope) -> Vec<Visitor> {
    let mut by_lead: HashMap<&str, Vec<&Change>> = HashMap::new();
    for change in changes {
        by_lead.entry(change.lead_id.as_str()).or_default().push(change);
    }
    let mut grouped: BTreeMap<(String, String), Vec<LeadRow>> = BTreeMap::new();
    for row in rows.into_iter().filter(|row| scope.holds(row)) {
        grouped.entry((row.site.clone(), row.visitor_id.clone())).or_default().push(row);
    }
    grouped
        .into_iter()
        .map(|((site, visitor_id), mut rows)| {
            rows.sort_by(|a, b| (a.received_at, &a.lead_id).cmp(&(b.received_at, &b.lead_id)));
            let mut entered = [None; 3];
            let mut rules = BTreeSet::new();
            let mut lost = false;
            for row in &rows {
                for change in by_lead.get(row.lead_id.as_str()).into_iter().flatten() {
                    if let Some(index) = REACHED.iter().position(|stage| *stage == change.to) {
                        let slot: &mut Option<Timestamp> = &mut entered[index];
                        *slot = Some(slot.map_or(change.at, |at| at.min(change.at)));
                    }
                }
                lost |= row.funnel == Funnel::Lost;
            }
            let leads: Vec<(LeadRow, Option<Lead>)> = rows
                .into_iter()
                .map(|row| {
                    let lead = row.lead();
                    (row, lead)
                })
                .collect();
            for lead in leads.iter().filter_map(|(_, lead)| lead.as_ref()) {
                rules.extend(lead.ledger.iter().filter(|entry| entry.count > 0).map(|entry| entry.rule_id.clone()));
            }
            let mql_at = leads[0].0.received_at;
            let lost = lost && entered[2].is_none();
            Visitor { site, visitor_id, leads, mql_at, entered, lost, rules }
        })
        .collect()
}

/// Most leads read in one page.
const PAGE: u32 = 10_000;

/// Reads every lead in `scope` (page by page) and every funnel change, and
/// groups them by visitor. A blocking call: run it on the blocking pool.
pub fn load(store: &dyn Store, scope: &Scope) -> Result<Vec<Visitor>, StoreError> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let filter = LeadFilter { site: scope.site.clone(), limit: PAGE, after: after.clone(), ..Default::default() };
        let page = store.leads(&filter)?;
        let full = page.len() == PAGE as usize;
        after = page.last().map(|row| (row.received_at, row.lead_id.clone()));
        rows.extend(page);
        if !full {
            break;
        }
    }
    let changes = store.all_changes()?;
    Ok(visitors(rows, &changes, scope))
}

/// What every answer says about its limits.
pub const QUALIFIED_ONLY: &str = "Only qualified leads reach the collector: these figures compare qualified \
     visitors with each other, not with visitors who never qualified.";
