//! Storage behind one trait, so the HTTP layer never sees SQL. SQLite is the
//! embedded default ([`SqliteStore`]); [`PostgresStore`] lets several
//! collectors share one database behind a balancer; [`NullStore`] answers
//! without storing and is the baseline of the load benchmark. Times are the
//! core's [`Timestamp`] everywhere above the SQL.

mod funnel;
mod null;
mod postgres;
mod rules;
mod sqlite;
mod verdict;

use std::fmt;

use leadscore::core::time::{DAY_MS, MAX_MILLIS};
pub use leadscore::core::Timestamp;
use leadscore::core::{Lead, Stage};
use serde::Serialize;

pub use funnel::{Action, Funnel};
pub use null::NullStore;
pub use postgres::{PostgresStore, DEFAULT_POOL_SIZE, MAX_POOL_SIZE};
pub use sqlite::{SqliteStore, SCHEMA_VERSION};
pub use verdict::Verdict;

/// A time as both databases keep it: milliseconds since the Unix epoch in a
/// signed 64-bit integer (SQLite's `INTEGER`, PostgreSQL's `BIGINT`). The
/// one place a [`Timestamp`] becomes a column value; every timestamp the
/// collector makes is at most [`MAX_MILLIS`], so the conversion is exact.
pub(crate) fn sql_time(at: Timestamp) -> i64 {
    at.as_millis().min(MAX_MILLIS) as i64
}

/// A column value back as a [`Timestamp`]: the inverse of [`sql_time`]
/// (a negative value, which no collector writes, reads as the epoch).
pub(crate) fn from_sql_time(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis.max(0) as u64)
}

/// A checked lead, ready to store.
#[derive(Clone, Debug)]
pub struct NewLead {
    /// The lead as received.
    pub lead: Lead,
    /// The score the collector's replay reached.
    pub verified_score: f64,
    /// The stage the collector's replay reached.
    pub verified_stage: Stage,
    /// Whether the claim held.
    pub verdict: Verdict,
    /// When the collector received it.
    pub received_at: Timestamp,
}

/// A stored lead.
#[derive(Clone, Debug, Serialize)]
pub struct LeadRow {
    /// Idempotency key from the widget.
    pub lead_id: String,
    /// Site name.
    pub site: String,
    /// The browser's random visitor id: links a visitor's MQL and sales-ready leads.
    pub visitor_id: String,
    /// The stage the browser claimed.
    pub stage: Stage,
    /// The score the browser claimed.
    pub claimed_score: f64,
    /// The score the collector's replay reached.
    pub verified_score: f64,
    /// The stage the collector's replay reached.
    pub verified_stage: Stage,
    /// Whether the claim held.
    pub verdict: Verdict,
    /// Fit grade.
    pub grade: String,
    /// The identity's email, lowercased.
    pub email: Option<String>,
    /// Attribution source of the last (else first) touch.
    pub source: Option<String>,
    /// Page the lead was created on.
    pub page: String,
    /// When the browser created the lead.
    pub created_at: Timestamp,
    /// When the collector stored it.
    pub received_at: Timestamp,
    /// Funnel stage.
    pub funnel: Funnel,
    /// Why it was rejected or lost, if it was.
    pub funnel_reason: Option<String>,
    /// Last funnel change.
    pub updated_at: Timestamp,
    /// The lead JSON as received (ledger, evidence, identity, attribution).
    #[serde(skip)]
    pub payload: String,
}

impl LeadRow {
    /// The row for a new lead, at MQL in the funnel.
    pub fn new(new: &NewLead) -> LeadRow {
        let lead = &new.lead;
        let touch = lead.touch.last.as_ref().or(lead.touch.first.as_ref());
        LeadRow {
            lead_id: lead.lead_id.clone(),
            site: lead.site.clone(),
            visitor_id: lead.visitor_id.clone(),
            stage: lead.stage,
            claimed_score: lead.score,
            verified_score: new.verified_score,
            verified_stage: new.verified_stage,
            verdict: new.verdict,
            grade: lead.grade.as_str().to_string(),
            email: lead.identity.get("email").map(|email| email.trim().to_lowercase()),
            source: touch.and_then(|touch| touch.source.clone()),
            page: lead.page.clone(),
            created_at: lead.created_at,
            received_at: new.received_at,
            funnel: Funnel::Mql,
            funnel_reason: None,
            updated_at: new.received_at,
            payload: lead.to_json(),
        }
    }

    /// The full lead (ledger, evidence, identity) from the stored payload.
    pub fn lead(&self) -> Option<Lead> {
        serde_json::from_str(&self.payload).ok()
    }
}

/// What storing a lead did.
#[derive(Clone, Debug)]
pub enum Inserted {
    /// A new row.
    Created(Box<LeadRow>),
    /// The same lead again (a retry, another tab): nothing changed.
    Duplicate,
    /// The same `lead_id` with different content: kept aside, the row unchanged.
    Conflict(String),
    /// The visitor or email was erased: nothing stored.
    Suppressed,
}

/// A funnel change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The lead.
    pub lead_id: String,
    /// Stage before.
    pub from: Funnel,
    /// Stage after.
    pub to: Funnel,
    /// Why, for rejections and losses.
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// A repeat of a `lead_id` whose content differed, kept for review.
#[derive(Clone, Debug, Serialize)]
pub struct Conflict {
    /// Row id.
    pub id: i64,
    /// The lead it repeated.
    pub lead_id: String,
    /// When it arrived.
    pub received_at: Timestamp,
    /// What differed.
    pub reason: String,
    /// The body as received.
    pub payload: String,
}

/// A webhook delivery in the forwarding outbox.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// Row id, sent as `Leadscore-Delivery`.
    pub id: i64,
    /// The webhook's name.
    pub webhook: String,
    /// `lead.created` or `lead.lifecycle`.
    pub event: String,
    /// The lead it is about.
    pub lead_id: String,
    /// The JSON body.
    pub body: String,
    /// When it was queued.
    pub created_at: Timestamp,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_at: Timestamp,
    /// What the last attempt ran into.
    pub last_error: Option<String>,
    /// Given up: on the dead-letter list.
    pub dead: bool,
}

/// Whom to erase.
#[derive(Clone, Debug)]
pub enum Erasure {
    /// Every lead with this email, and their visitors.
    Email(String),
    /// This lead and every lead of its visitor.
    LeadId(String),
    /// A visitor, by its id (the admin API, with the token).
    Visitor {
        /// Site name.
        site: String,
        /// Visitor id.
        visitor_id: String,
    },
    /// A visitor asking from its own browser: only leads that carry the
    /// digest of the secret it proves (and with them its other leads) go.
    /// Whether any matched is never told, and what is kept to refuse leads
    /// still on their way is bounded ([`MAX_SECRET_SUPPRESSIONS`]).
    Secret {
        /// Site name.
        site: String,
        /// Visitor id.
        visitor_id: String,
        /// SHA-256 (hex) of the secret, as leads carry it in `erasure`.
        erasure: String,
    },
}

/// Most suppressions kept for erasures asked from browsers; older ones go
/// first, and any goes after [`SECRET_SUPPRESSION_DAYS`].
pub const MAX_SECRET_SUPPRESSIONS: u64 = 10_000;
/// How long a browser's erasure keeps refusing leads still on their way.
pub const SECRET_SUPPRESSION_DAYS: u64 = 30;

/// What an erasure removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Lead rows deleted.
    pub leads: u64,
    /// Forwarding deliveries deleted.
    pub deliveries: u64,
}

/// Which leads to list.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    /// Only this site.
    pub site: Option<String>,
    /// Only this funnel stage.
    pub funnel: Option<Funnel>,
    /// Only this verdict.
    pub verdict: Option<Verdict>,
    /// At most this many (newest first); 0 means the default of 100.
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
    /// Only leads after this one in the list's order (newest first): its
    /// `(received_at, lead_id)`. Paging by position instead of by offset, so
    /// each page costs the same and rows stored meanwhile never shift one.
    pub after: Option<(Timestamp, String)>,
}

/// Figures for the dashboard.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Distinct visitors that reached MQL, SAL, SQL and won.
    pub reached: [u64; 4],
    /// Leads by current funnel stage, in [`Funnel::ALL`] order.
    pub by_funnel: [u64; 6],
    /// Leads whose claim did not verify.
    pub flagged: u64,
    /// Leads received per day (UTC), oldest first: `(day start, count)`.
    pub per_day: Vec<(Timestamp, u64)>,
    /// Verified scores in buckets of 10 points; the last holds 100 and more.
    pub score_buckets: [u64; 11],
    /// Leads in all.
    pub total: u64,
    /// Deliveries on the dead-letter list.
    pub dead_letters: u64,
    /// Repeats kept aside.
    pub conflicts: u64,
}

impl Stats {
    /// The `days` UTC days (at least one) up to the one holding `now`, oldest
    /// first, each with a count of zero: the frame `per_day` is filled in.
    pub fn days(now: Timestamp, days: u32) -> Vec<(Timestamp, u64)> {
        let today = now.minus_millis(now.as_millis() % DAY_MS);
        let days = u64::from(days.max(1));
        (0..days).map(|day| (today.minus_millis((days - 1 - day) * DAY_MS), 0)).collect()
    }
}

/// Why a store call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No such lead or delivery.
    NotFound(String),
    /// The request conflicts with the current state (a funnel step not allowed).
    Conflict(String),
    /// The request is malformed: the field at fault and why.
    Invalid {
        /// The field, as a JSON path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The database failed; the request may be retried.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(message) | StoreError::Conflict(message) | StoreError::Backend(message) => {
                f.write_str(message)
            }
            StoreError::Invalid { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Everything the collector stores. Calls block (SQLite is synchronous), so
/// async code calls them through `spawn_blocking`. Every write that should
/// be forwarded queues its webhook deliveries in the same transaction, so a
/// lead is never stored without its forwarding, or forwarded without being
/// stored. A returned `Ok` means the write is durable.
pub trait Store: Send + Sync + 'static {
    /// Stores a lead, once per `lead_id`; queues `lead.created` for the
    /// webhooks named in `targets`.
    fn insert_lead(&self, lead: NewLead, targets: &[String]) -> Result<Inserted, StoreError>;
    /// One lead.
    fn lead(&self, lead_id: &str) -> Result<Option<LeadRow>, StoreError>;
    /// Leads, newest first.
    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadRow>, StoreError>;
    /// Moves a lead through the funnel; queues `lead.lifecycle` for `targets`.
    fn transition(
        &self,
        lead_id: &str,
        action: Action,
        reason: Option<String>,
        at: Timestamp,
        targets: &[String],
    ) -> Result<(LeadRow, Change), StoreError>;
    /// A lead's funnel changes, oldest first.
    fn history(&self, lead_id: &str) -> Result<Vec<Change>, StoreError>;
    /// Every lead's funnel changes, oldest first: what the outcomes report
    /// reads.
    fn all_changes(&self) -> Result<Vec<Change>, StoreError>;
    /// Repeats kept aside, newest first.
    fn conflicts(&self, limit: u32) -> Result<Vec<Conflict>, StoreError>;
    /// Deletes the matching leads with everything about them, and suppresses
    /// future leads from the same email or visitor.
    fn erase(&self, erasure: &Erasure, at: Timestamp) -> Result<Erased, StoreError>;
    /// Deletes leads received before `cutoff`.
    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64, StoreError>;
    /// Claims up to `limit` deliveries due at `now`, oldest first, until
    /// `lease_until`: no other caller (another collector on the same
    /// database) gets them before the lease runs out, so each webhook goes
    /// out from one instance at a time. A delivery whose lease ran out (its
    /// claimer died) is claimable again. Success or failure ends the lease.
    fn claim_deliveries(&self, now: Timestamp, limit: u32, lease_until: Timestamp)
        -> Result<Vec<Delivery>, StoreError>;
    /// When the next live delivery is due, or its lease ends.
    fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError>;
    /// A delivery succeeded: it leaves the outbox.
    fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError>;
    /// A delivery failed: retry at `retry_at`, or move it to the dead-letter list.
    fn delivery_failed(&self, id: i64, error: &str, retry_at: Option<Timestamp>) -> Result<(), StoreError>;
    /// The outbox: dead letters only, or everything waiting.
    fn deliveries(&self, dead: bool) -> Result<Vec<Delivery>, StoreError>;
    /// Puts a dead letter back in the outbox, due at `now`.
    fn retry_delivery(&self, id: i64, now: Timestamp) -> Result<(), StoreError>;
    /// Dashboard figures; `per_day` covers `days` days up to `now`.
    fn stats(&self, now: Timestamp, days: u32) -> Result<Stats, StoreError>;
    /// Records a dashboard session by the digest of its id, valid until
    /// `expires_at`; sessions already expired at `now` are dropped.
    fn create_session(&self, digest: &str, now: Timestamp, expires_at: Timestamp) -> Result<(), StoreError>;
    /// Whether the session with this digest exists and is unexpired at `now`.
    fn session_alive(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Ends a session (logout): its id is worthless from here on.
    fn end_session(&self, digest: &str) -> Result<(), StoreError>;
    /// Whether the store can write now: the health check a load balancer
    /// asks (`GET /healthz`).
    fn ping(&self) -> Result<(), StoreError>;
}

/// Runs a blocking store call on tokio's blocking pool, so async code never
/// waits on SQLite; a call that panicked is a backend error.
pub async fn blocking<R: Send + 'static>(
    store: std::sync::Arc<dyn Store>,
    work: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
) -> Result<R, StoreError> {
    tokio::task::spawn_blocking(move || work(store.as_ref()))
        .await
        .unwrap_or_else(|err| Err(StoreError::Backend(format!("store call failed: {err}"))))
}

/// A stable digest of an identifier, for the suppression list: erasure keeps
/// no email or visitor id in clear, only what it takes to recognise it again.
pub fn digest(kind: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0x1f]);
    hasher.update(value.trim().to_lowercase().as_bytes());
    crate::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funnel_steps_follow_the_sales_process() {
        use Funnel::*;
        let allowed = [
            (Action::Accept, Mql, Sal),
            (Action::Accept, Nurture, Sal),
            (Action::Reject, Mql, Nurture),
            (Action::Reject, Sal, Nurture),
            (Action::Reject, Sql, Nurture),
            (Action::Qualify, Sal, Sql),
            (Action::Win, Sql, Won),
            (Action::Lose, Sal, Lost),
            (Action::Lose, Sql, Lost),
        ];
        for action in Action::ALL {
            for from in Funnel::ALL {
                let expected = allowed.iter().find(|(a, f, _)| *a == action && *f == from).map(|(_, _, to)| *to);
                match (action.apply(from, Some("no budget")), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{action:?} from {from}"),
                    (Err(StoreError::Conflict(message)), None) => {
                        assert!(message.starts_with(&format!("cannot {} a lead at {from}", action.as_str())))
                    }
                    (other, expected) => panic!("{action:?} from {from}: {other:?}, expected {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn rejecting_needs_a_reason() {
        for reason in [None, Some(""), Some("  ")] {
            let error = Action::Reject.apply(Funnel::Mql, reason).unwrap_err();
            assert!(matches!(error, StoreError::Invalid { ref field, .. } if field == "reason"), "{error:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for stage in Funnel::ALL {
            assert_eq!(Funnel::parse(stage.as_str()), Some(stage));
        }
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Verdict::parse("forged"), Some(Verdict::Forged));
        assert_eq!(Funnel::parse("MQL"), None);
    }

    #[test]
    fn times_become_column_values_and_back() {
        for millis in [0, 1, 1_767_225_600_000, MAX_MILLIS] {
            assert_eq!(from_sql_time(sql_time(Timestamp(millis))), Timestamp(millis));
        }
        assert_eq!(sql_time(Timestamp(u64::MAX)), MAX_MILLIS as i64, "never a negative column value");
        assert_eq!(from_sql_time(-5), Timestamp(0));
    }

    #[test]
    fn the_days_of_a_chart_end_with_today() {
        let noon = Timestamp(1_767_225_600_000 + DAY_MS / 2);
        let days = Stats::days(noon, 3);
        let starts: Vec<u64> = days.iter().map(|(day, _)| day.as_millis()).collect();
        assert_eq!(starts, [1_767_225_600_000 - 2 * DAY_MS, 1_767_225_600_000 - DAY_MS, 1_767_225_600_000]);
        assert!(days.iter().all(|(_, count)| *count == 0));
        assert_eq!(Stats::days(noon, 0).len(), 1, "at least one day");
    }

    #[test]
    fn digests_ignore_case_and_space_but_not_kind() {
        assert_eq!(digest("email", " Lee@Acme.example "), digest("email", "lee@acme.example"));
        assert_ne!(digest("email", "lee@acme.example"), digest("visitor", "lee@acme.example"));
        assert_eq!(digest("email", "x").len(), 64);
    }
}
