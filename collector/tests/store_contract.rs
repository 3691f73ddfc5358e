//! The `Store` contract, tested once against the trait: whichever backend
//! runs it must keep one row per `lead_id`, hand each webhook delivery to
//! one claimer at a time with leases that expire, allow one funnel step of
//! two racing ones, suppress what was erased, and keep sessions. Each test
//! runs against every backend: SQLite in a fresh file, and PostgreSQL on a
//! throwaway server of its own (`common::pg`).

mod common;

use std::sync::Arc;

use common::pg::PgServer;
use common::*;
use leadscore::core::{Lead, Stage, Timestamp};
use leadscore_collector::store::{
    Action, Erasure, Funnel, Inserted, NewLead, PostgresStore, SqliteStore, Store, StoreError, Verdict,
};

/// Every backend, fresh, and the PostgreSQL server under one of them,
/// stopped when the test ends.
struct Backends {
    stores: Vec<(&'static str, Arc<dyn Store>)>,
    sqlite: std::path::PathBuf,
    postgres: PgServer,
}

impl Backends {
    fn each(&self) -> Vec<(&'static str, Arc<dyn Store>)> {
        self.stores.clone()
    }

    /// Runs `sql` on backend `name` directly, for what the trait does not
    /// offer (filling a table fast, counting rows); `?1`/`$1` is `n`.
    fn raw(&self, name: &str, sql: &str, values: &[(String, i64)]) {
        if name == "sqlite" {
            let db = rusqlite::Connection::open(&self.sqlite).unwrap();
            db.execute_batch("BEGIN").unwrap();
            for (text, number) in values {
                db.execute(&sql.replace('$', "?"), rusqlite::params![text, number]).unwrap();
            }
            db.execute_batch("COMMIT").unwrap();
        } else {
            let mut db = postgres::Client::connect(&self.postgres.url, postgres::NoTls).unwrap();
            let mut tx = db.transaction().unwrap();
            for (text, number) in values {
                tx.execute(sql, &[text, number]).unwrap();
            }
            tx.commit().unwrap();
        }
    }

    fn count(&self, name: &str, sql: &str) -> i64 {
        if name == "sqlite" {
            rusqlite::Connection::open(&self.sqlite).unwrap().query_row(sql, [], |row| row.get(0)).unwrap()
        } else {
            let mut db = postgres::Client::connect(&self.postgres.url, postgres::NoTls).unwrap();
            db.query_one(sql, &[]).unwrap().get(0)
        }
    }
}

fn backends() -> Backends {
    let dir = temp_dir();
    let postgres = PgServer::start();
    let stores: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("sqlite", Arc::new(SqliteStore::open(&dir.join("contract.db")).unwrap())),
        ("postgres", Arc::new(PostgresStore::open(&postgres.url).unwrap())),
    ];
    Backends { stores, sqlite: dir.join("contract.db"), postgres }
}

fn new_lead(lead: Lead, received_at: Timestamp) -> NewLead {
    NewLead { lead, verified_score: 50.0, verified_stage: Stage::Mql, verdict: Verdict::Verified, received_at }
}

const NOW: Timestamp = Timestamp(RECEIVED);

#[test]
fn one_row_per_lead_id_and_changed_repeats_kept_aside() {
    let all = backends();
    for (name, store) in all.each() {
        let lead = mql_lead("once@acme.example");
        let created = store.insert_lead(new_lead(lead.clone(), NOW), &[]).unwrap();
        assert!(matches!(created, Inserted::Created(_)), "{name}");
        assert!(
            matches!(store.insert_lead(new_lead(lead.clone(), NOW.plus_millis(1)), &[]).unwrap(), Inserted::Duplicate),
            "{name}"
        );
        let mut changed = lead.clone();
        changed.created_at = Timestamp(changed.created_at.0 + 1);
        assert!(
            matches!(store.insert_lead(new_lead(changed, NOW.plus_millis(2)), &[]).unwrap(), Inserted::Conflict(_)),
            "{name}"
        );
        assert_eq!(store.conflicts(10).unwrap().len(), 1, "{name}");
        assert_eq!(store.lead(&lead.lead_id).unwrap().unwrap().created_at, lead.created_at, "{name}: unchanged");
    }
}

#[test]
fn a_claimed_delivery_is_nobody_elses_until_its_lease_ends() {
    let all = backends();
    for (name, store) in all.each() {
        let lead = mql_lead("claim@acme.example");
        store.insert_lead(new_lead(lead, NOW), &["crm".into(), "chat".into()]).unwrap();
        let first = store.claim_deliveries(NOW, 10, NOW.plus_millis(1_000)).unwrap();
        assert_eq!(first.len(), 2, "{name}");
        assert!(
            store.claim_deliveries(NOW.plus_millis(999), 10, NOW.plus_millis(5_000)).unwrap().is_empty(),
            "{name}: leased"
        );
        assert_eq!(store.next_delivery_at().unwrap(), Some(NOW.plus_millis(1_000)), "{name}: due when the lease ends");
        let again = store.claim_deliveries(NOW.plus_millis(1_000), 10, NOW.plus_millis(2_000)).unwrap();
        assert_eq!(again.len(), 2, "{name}: an expired lease is claimable again");
        store.delivery_succeeded(again[0].id).unwrap();
        store.delivery_failed(again[1].id, "HTTP 500", Some(NOW.plus_millis(10_000))).unwrap();
        assert!(
            store.claim_deliveries(NOW.plus_millis(2_000), 10, NOW.plus_millis(3_000)).unwrap().is_empty(),
            "{name}: not yet due"
        );
        let retried = store.claim_deliveries(NOW.plus_millis(10_000), 10, NOW.plus_millis(11_000)).unwrap();
        assert_eq!(retried.iter().map(|delivery| delivery.id).collect::<Vec<_>>(), [again[1].id], "{name}");
        assert_eq!(retried[0].attempts, 1, "{name}");
        store.delivery_failed(retried[0].id, "HTTP 410", None).unwrap();
        assert_eq!(store.deliveries(true).unwrap().len(), 1, "{name}: dead");
        assert!(
            store.claim_deliveries(NOW.plus_millis(99_000), 10, NOW.plus_millis(100_000)).unwrap().is_empty(),
            "{name}"
        );
    }
}

#[test]
fn racing_claimers_each_get_different_deliveries() {
    let all = backends();
    for (name, store) in all.each() {
        for n in 0..40 {
            store.insert_lead(new_lead(mql_lead(&format!("race{n}@acme.example")), NOW), &["crm".into()]).unwrap();
        }
        let claimers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let claimed = store.claim_deliveries(NOW, 3, NOW.plus_millis(60_000)).unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        mine.extend(claimed.into_iter().map(|delivery| delivery.id));
                    }
                })
            })
            .collect();
        let mut all: Vec<i64> = claimers.into_iter().flat_map(|claimer| claimer.join().unwrap()).collect();
        all.sort_unstable();
        let claimed = all.len();
        all.dedup();
        assert_eq!((claimed, all.len()), (40, 40), "{name}: every delivery claimed exactly once");
    }
}

#[test]
fn every_funnel_change_of_every_lead_reads_back_oldest_first() {
    let all = backends();
    for (name, store) in all.each() {
        let (a, b) = (mql_lead("a@acme.example"), mql_lead("b@acme.example"));
        for lead in [&a, &b] {
            store.insert_lead(new_lead(lead.clone(), NOW), &[]).unwrap();
        }
        store.transition(&a.lead_id, Action::Accept, None, NOW.plus_millis(1), &[]).unwrap();
        store.transition(&b.lead_id, Action::Reject, Some("student".into()), NOW.plus_millis(2), &[]).unwrap();
        store.transition(&a.lead_id, Action::Qualify, None, NOW.plus_millis(3), &[]).unwrap();
        let changes: Vec<(String, Funnel, Option<String>, Timestamp)> = store
            .all_changes()
            .unwrap()
            .into_iter()
            .map(|change| (change.lead_id, change.to, change.reason, change.at))
            .collect();
        assert_eq!(
            changes,
            [
                (a.lead_id.clone(), Funnel::Sal, None, NOW.plus_millis(1)),
                (b.lead_id.clone(), Funnel::Nurture, Some("student".into()), NOW.plus_millis(2)),
                (a.lead_id.clone(), Funnel::Sql, None, NOW.plus_millis(3)),
            ],
            "{name}"
        );
    }
}

#[test]
fn of_two_racing_funnel_steps_one_wins() {
    let all = backends();
    for (name, store) in all.each() {
        let lead = mql_lead("step@acme.example");
        store.insert_lead(new_lead(lead.clone(), NOW), &[]).unwrap();
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (store, id) = (store.clone(), lead.lead_id.clone());
                std::thread::spawn(move || store.transition(&id, Action::Accept, None, NOW, &[]).map(|_| ()))
            })
            .collect();
        let results: Vec<Result<(), StoreError>> = racers.into_iter().map(|racer| racer.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1, "{name}: {results:?}");
        assert!(results.iter().any(|result| matches!(result, Err(StoreError::Conflict(_)))), "{name}");
        assert_eq!(store.history(&lead.lead_id).unwrap().len(), 1, "{name}: one step recorded");
    }
}

#[test]
fn erased_visitors_and_emails_stay_erased() {
    let all = backends();
    for (name, store) in all.each() {
        let lead = mql_lead("gone@acme.example");
        store.insert_lead(new_lead(lead.clone(), NOW), &["crm".into()]).unwrap();
        let erased = store.erase(&Erasure::Email("Gone@Acme.example".into()), NOW).unwrap();
        assert_eq!((erased.leads, erased.deliveries), (1, 1), "{name}");
        assert!(
            matches!(store.insert_lead(new_lead(lead, NOW.plus_millis(1)), &[]).unwrap(), Inserted::Suppressed),
            "{name}"
        );
        // A browser's erasure with the right secret, and with a wrong one.
        let own = mql_lead("own@acme.example");
        store.insert_lead(new_lead(own.clone(), NOW), &[]).unwrap();
        let secret = |visitor: &str| leadscore::core::sha256::sha256_hex(secret_of(visitor).as_bytes());
        let wrong =
            Erasure::Secret { site: own.site.clone(), visitor_id: own.visitor_id.clone(), erasure: secret("x") };
        assert_eq!(store.erase(&wrong, NOW).unwrap().leads, 0, "{name}");
        let right = Erasure::Secret {
            site: own.site.clone(),
            visitor_id: own.visitor_id.clone(),
            erasure: secret(&own.visitor_id),
        };
        assert_eq!(store.erase(&right, NOW).unwrap().leads, 1, "{name}");
        assert!(store.lead(&own.lead_id).unwrap().is_none(), "{name}");
    }
}

#[test]
fn retention_deletes_only_what_is_older() {
    let all = backends();
    for (name, store) in all.each() {
        store.insert_lead(new_lead(mql_lead("old@acme.example"), NOW.minus_millis(10)), &[]).unwrap();
        store.insert_lead(new_lead(mql_lead("new@acme.example"), NOW.plus_millis(10)), &[]).unwrap();
        assert_eq!(store.delete_older_than(NOW).unwrap(), 1, "{name}");
        assert_eq!(store.leads(&Default::default()).unwrap().len(), 1, "{name}");
    }
}

#[test]
fn sessions_live_until_they_expire_or_end() {
    let all = backends();
    for (name, store) in all.each() {
        store.create_session("digest-a", NOW, NOW.plus_millis(1_000)).unwrap();
        store.create_session("digest-b", NOW, NOW.plus_millis(1_000)).unwrap();
        assert!(store.session_alive("digest-a", NOW.plus_millis(999)).unwrap(), "{name}");
        assert!(!store.session_alive("digest-a", NOW.plus_millis(1_000)).unwrap(), "{name}: expired");
        store.end_session("digest-b").unwrap();
        assert!(!store.session_alive("digest-b", NOW).unwrap(), "{name}: ended");
        assert!(!store.session_alive("never", NOW).unwrap(), "{name}");
    }
}

#[test]
fn browser_erasures_keep_a_bounded_suppression_list() {
    use leadscore_collector::store::{MAX_SECRET_SUPPRESSIONS, SECRET_SUPPRESSION_DAYS};
    let all = backends();
    for (name, store) in all.each() {
        let count = || all.count(name, "SELECT count(*) FROM suppressions WHERE kind = 'secret'");
        let erase = |at: Timestamp, visitor: &str| {
            let erasure = Erasure::Secret { site: "acme".into(), visitor_id: visitor.into(), erasure: "ab".repeat(32) };
            store.erase(&erasure, at).unwrap()
        };
        erase(NOW, "old-one");
        assert_eq!(count(), 1, "{name}");
        erase(NOW.plus_millis(SECRET_SUPPRESSION_DAYS * 86_400_000 + 1), "a-month-later");
        assert_eq!(count(), 1, "{name}: a month-old one is gone");
        // Fill the list to its cap, then ask once more: the oldest makes room.
        let fillers: Vec<(String, i64)> = (0..MAX_SECRET_SUPPRESSIONS as i64)
            .map(|n| (format!("filler-{n}"), RECEIVED as i64 + 86_400_000 * 31 + n))
            .collect();
        all.raw(name, "INSERT INTO suppressions (kind, digest, at) VALUES ('secret', $1, $2)", &fillers);
        erase(NOW.plus_millis(86_400_000 * 32), "one-more");
        assert_eq!(count() as u64, MAX_SECRET_SUPPRESSIONS, "{name}");
    }
}

/// PostgreSQL's own: the pool never opens more connections than its size,
/// however many calls arrive at once, and every call still succeeds.
#[test]
fn postgres_keeps_to_its_pool_size_under_concurrent_calls() {
    let postgres = PgServer::start();
    let store = Arc::new(PostgresStore::open(&format!("{}?pool_size=2", postgres.url)).unwrap());
    let busiest = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let callers: Vec<_> = (0..8)
        .map(|caller| {
            let (store, busiest) = (store.clone(), busiest.clone());
            std::thread::spawn(move || {
                for n in 0..5 {
                    let lead = mql_lead(&format!("pool{caller}-{n}@acme.example"));
                    assert!(matches!(store.insert_lead(new_lead(lead, NOW), &[]).unwrap(), Inserted::Created(_)));
                    busiest.fetch_max(store.connections(), std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    assert!(busiest.load(std::sync::atomic::Ordering::Relaxed) <= 2, "more connections than the pool size");
    let mut db = postgres::Client::connect(&postgres.url, postgres::NoTls).unwrap();
    let others: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(others <= 2, "{others} connections open on the server");
    assert_eq!(store.leads(&Default::default()).unwrap().len(), 40);
}
