//! Leads in PostgreSQL, for several collectors on one database. The same
//! contract as SQLite (`tests/store_contract.rs` runs against both): one row
//! per `lead_id` decided by the database (`INSERT … ON CONFLICT DO NOTHING
//! RETURNING`), the conflict row and the webhook deliveries in the same
//! transaction as the change, funnel steps under a row lock, deliveries
//! claimed with `FOR UPDATE SKIP LOCKED` and a lease. Migrations are
//! versioned and run under an advisory lock, so instances may start at
//! once. A returned `Ok` means committed.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use ::postgres::types::ToSql;
use ::postgres::{Client, NoTls, Row, Transaction};
use leadscore::core::Stage;

use super::rules::{difference, secret_key, visitor_key};
use super::*;
use crate::forward::event_body;

/// Applied in order, each once, recorded in `schema_migrations`. Append
/// only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: the schema SQLite reached at its version 4.
    "CREATE TABLE leads (
        lead_id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        visitor_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        claimed_score DOUBLE PRECISION NOT NULL,
        verified_score DOUBLE PRECISION NOT NULL,
        verified_stage TEXT NOT NULL,
        verdict TEXT NOT NULL,
        grade TEXT NOT NULL,
        email TEXT,
        source TEXT,
        page TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        funnel TEXT NOT NULL,
        funnel_reason TEXT,
        reached INTEGER NOT NULL DEFAULT 0,
        updated_at BIGINT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX leads_received ON leads(received_at);
    CREATE INDEX leads_visitor ON leads(site, visitor_id);
    CREATE INDEX leads_email ON leads(email);
    CREATE TABLE lifecycle (
        id BIGSERIAL PRIMARY KEY,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        at BIGINT NOT NULL,
        from_stage TEXT NOT NULL,
        to_stage TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX lifecycle_lead ON lifecycle(lead_id);
    CREATE TABLE conflicts (
        id BIGSERIAL PRIMARY KEY,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        received_at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id BIGSERIAL PRIMARY KEY,
        webhook TEXT NOT NULL,
        event TEXT NOT NULL,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        last_error TEXT,
        dead BOOLEAN NOT NULL DEFAULT false,
        claimed_until BIGINT
    );
    CREATE INDEX deliveries_due ON deliveries(dead, next_at);
    CREATE TABLE suppressions (
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (kind, digest)
    );
    CREATE INDEX suppressions_age ON suppressions(kind, at);
    CREATE TABLE admin_sessions (
        digest TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );",
];

/// The advisory lock migrations run under: one starting instance applies
/// them while the others wait, then find nothing left to do.
const MIGRATION_LOCK: i64 = 0x6c65_6164_7363_6f72; // "leadscor"

/// Connections one collector opens at most, unless the URL's `pool_size`
/// says otherwise. Each instance behind a balancer has its own pool, so the
/// server's `max_connections` must cover the sum.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The most a URL's `pool_size` may ask for.
pub const MAX_POOL_SIZE: usize = 1_000;

/// How long a call waits for a free connection when all are busy; then it
/// fails, and the request is answered 503 to be retried.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Open connections: the idle ones, and how many exist in all.
struct Pool {
    idle: Vec<Client>,
    open: usize,
}

/// Leads in one PostgreSQL database.
pub struct PostgresStore {
    url: String,
    size: usize,
    pool: Mutex<Pool>,
    freed: Condvar,
}

/// `url` without its `pool_size` parameter, which the driver does not know,
/// and the pool size it asks for ([`DEFAULT_POOL_SIZE`] if none).
fn pool_size(url: &str) -> Result<(String, usize), StoreError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), DEFAULT_POOL_SIZE)) };
    let mut size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("pool_size", value)) => {
                size = value.parse().ok().filter(|size| (1..=MAX_POOL_SIZE).contains(size)).ok_or_else(|| {
                    StoreError::Invalid {
                        field: "database".into(),
                        message: format!("pool_size `{value}` is not a whole number from 1 to {MAX_POOL_SIZE}"),
                    }
                })?
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, size))
}

fn backend(error: impl fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// `postgres://user@host:port/db` without a password, for messages.
fn shown(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| rest.rsplit_once('@').map(|(_, host)| (scheme, host))) {
        Some((scheme, host)) => format!("{scheme}://…@{host}"),
        None => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host:port/db`, with
    /// an optional `?pool_size=N`, [`DEFAULT_POOL_SIZE`] by default) and
    /// brings the schema up to date.
    ///
    /// The synchronous client runs a small runtime of its own, which may not
    /// start inside an async task; opening happens on a thread of its own, so
    /// a caller in async code (the binary's start) may call this directly.
    /// Every other call comes through the blocking pool.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        std::thread::scope(|scope| {
            let opening = scope.spawn(|| {
                let (url, size) = pool_size(url)?;
                let pool = Mutex::new(Pool { idle: Vec::new(), open: 0 });
                let store = PostgresStore { url, size, pool, freed: Condvar::new() };
                let mut client = store.client()?;
                let migrated = migrate(&mut client);
                store.give_back(client);
                migrated.map(|()| store)
            });
            opening.join().unwrap_or_else(|_| Err(backend("the thread opening PostgreSQL panicked")))
        })
    }

    fn connect(&self) -> Result<Client, StoreError> {
        Client::connect(&self.url, NoTls).map_err(|err| {
            backend(format!(
                "cannot connect to PostgreSQL at {}: {err}; check that the server runs, listens there, \
                 and lets this user in (pg_hba.conf)",
                shown(&self.url)
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns a connection to the pool; a closed one (the server went
    /// away) is dropped, and its place may be taken by a new one.
    fn give_back(&self, client: Client) {
        let mut pool = self.lock();
        if client.is_closed() {
            pool.open -= 1;
        } else {
            pool.idle.push(client);
        }
        drop(pool);
        self.freed.notify_one();
    }

    /// An idle connection, else a new one while fewer than the pool size
    /// are open, else the first one given back within [`POOL_WAIT`].
    fn client(&self) -> Result<Client, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut pool = self.lock();
        loop {
            if let Some(client) = pool.idle.pop() {
                return Ok(client);
            }
            if pool.open < self.size {
                pool.open += 1;
                drop(pool);
                let connected = self.connect();
                if connected.is_err() {
                    self.lock().open -= 1;
                    self.freed.notify_one();
                }
                return connected;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(backend(format!(
                    "all {} connections to PostgreSQL stayed busy for {} s; raise pool_size in the database URL \
                     or look for slow queries",
                    self.size,
                    POOL_WAIT.as_secs()
                )));
            }
            pool = self.freed.wait_timeout(pool, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
    }

    /// Connections open now, idle or in use (at most the pool size).
    pub fn connections(&self) -> usize {
        self.lock().open
    }

    /// Runs `work` in one transaction, committed before it returns `Ok`.
    fn tx<R>(&self, work: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut client = self.client()?;
        let result = (|| {
            let mut tx = client.transaction().map_err(backend)?;
            let value = work(&mut tx)?;
            tx.commit().map_err(backend)?;
            Ok(value)
        })();
        self.give_back(client);
        result
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        self.tx(|tx| {
            let version: Option<i32> =
                tx.query_one("SELECT max(version) FROM schema_migrations", &[]).map_err(backend)?.get(0);
            Ok(version.unwrap_or(0) as usize)
        })
    }
}

impl Drop for PostgresStore {
    /// The pooled clients each own a runtime, which may not be dropped in an
    /// async task (the server drops the store as it stops): they go on a
    /// thread of their own.
    fn drop(&mut self) {
        let idle = self.pool.get_mut().map(|pool| std::mem::take(&mut pool.idle)).unwrap_or_default();
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(backend)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, at BIGINT NOT NULL)")
        .map_err(backend)?;
    let done: Option<i32> = tx.query_one("SELECT max(version) FROM schema_migrations", &[]).map_err(backend)?.get(0);
    let done = done.unwrap_or(0) as usize;
    if done > MIGRATIONS.len() {
        return Err(backend(format!(
            "the database has schema version {done}, newer than this collector's {}; run a newer collector",
            MIGRATIONS.len()
        )));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(migration).map_err(|err| backend(format!("migration {}: {err}", index + 1)))?;
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |t| t.as_millis() as i64);
        tx.execute("INSERT INTO schema_migrations (version, at) VALUES ($1, $2)", &[&(index as i32 + 1), &now])
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

const LEAD_COLUMNS: &str = "lead_id, site, visitor_id, stage, claimed_score, verified_score, verified_stage, verdict, \
     grade, email, source, page, created_at, received_at, funnel, funnel_reason, updated_at, payload";

const DELIVERY_COLUMNS: &str = "id, webhook, event, lead_id, body, created_at, attempts, next_at, last_error, dead";

fn lead_row(row: &Row) -> LeadRow {
    let stage = |index: usize| Stage::parse(row.get::<_, &str>(index)).unwrap_or(Stage::Mql);
    LeadRow {
        lead_id: row.get(0),
        site: row.get(1),
        visitor_id: row.get(2),
        stage: stage(3),
        claimed_score: row.get(4),
        verified_score: row.get(5),
        verified_stage: stage(6),
        verdict: Verdict::parse(row.get(7)).unwrap_or(Verdict::Forged),
        grade: row.get(8),
        email: row.get(9),
        source: row.get(10),
        page: row.get(11),
        created_at: time(row, 12),
        received_at: time(row, 13),
        funnel: Funnel::parse(row.get(14)).unwrap_or(Funnel::Mql),
        funnel_reason: row.get(15),
        updated_at: time(row, 16),
        payload: row.get(17),
    }
}

fn delivery_row(row: &Row) -> Delivery {
    Delivery {
        id: row.get(0),
        webhook: row.get(1),
        event: row.get(2),
        lead_id: row.get(3),
        body: row.get(4),
        created_at: time(row, 5),
        attempts: row.get::<_, i32>(6).max(0) as u32,
        next_at: time(row, 7),
        last_error: row.get(8),
        dead: row.get(9),
    }
}

fn time(row: &Row, index: usize) -> Timestamp {
    from_sql_time(row.get(index))
}

fn count(tx: &mut Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
    Ok(tx.query_one(sql, params).map_err(backend)?.get::<_, i64>(0).max(0) as u64)
}

fn suppressed(tx: &mut Transaction<'_>, kind: &str, value: &str) -> Result<bool, StoreError> {
    let found = tx
        .query_opt("SELECT 1 FROM suppressions WHERE kind = $1 AND digest = $2", &[&kind, &digest(kind, value)])
        .map_err(backend)?;
    Ok(found.is_some())
}

fn suppress(tx: &mut Transaction<'_>, kind: &str, value: &str, at: Timestamp) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO suppressions (kind, digest, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&kind, &digest(kind, value), &sql_time(at)],
    )
    .map(drop)
    .map_err(backend)
}

fn enqueue(
    tx: &mut Transaction<'_>,
    targets: &[String],
    event: &str,
    row: &LeadRow,
    change: Option<&Change>,
    now: Timestamp,
) -> Result<(), StoreError> {
    if targets.is_empty() {
        return Ok(());
    }
    let body = event_body(event, row, change, now);
    for webhook in targets {
        tx.execute(
            "INSERT INTO deliveries (webhook, event, lead_id, body, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $5)",
            &[webhook, &event, &row.lead_id, &body, &sql_time(now)],
        )
        .map_err(backend)?;
    }
    Ok(())
}

fn find_lead(tx: &mut Transaction<'_>, lead_id: &str, lock: bool) -> Result<Option<LeadRow>, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row = tx
        .query_opt(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE lead_id = $1{lock}"), &[&lead_id])
        .map_err(backend)?;
    Ok(row.as_ref().map(lead_row))
}

fn insert(tx: &mut Transaction<'_>, new: NewLead, targets: &[String]) -> Result<Inserted, StoreError> {
    let lead = &new.lead;
    let email = lead.identity.get("email");
    let erased_by_browser =
        !lead.erasure.is_empty() && suppressed(tx, "secret", &secret_key(&lead.site, &lead.visitor_id, &lead.erasure))?;
    let erased_email = match email {
        Some(email) => suppressed(tx, "email", email)?,
        None => false,
    };
    if erased_by_browser || erased_email || suppressed(tx, "visitor", &visitor_key(&lead.site, &lead.visitor_id))? {
        return Ok(Inserted::Suppressed);
    }
    let row = LeadRow::new(&new);
    let created = tx
        .query_opt(
            &format!(
                "INSERT INTO leads ({LEAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, $16, $17, $18) ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id"
            ),
            &[
                &row.lead_id,
                &row.site,
                &row.visitor_id,
                &row.stage.as_str(),
                &row.claimed_score,
                &row.verified_score,
                &row.verified_stage.as_str(),
                &row.verdict.as_str(),
                &row.grade,
                &row.email,
                &row.source,
                &row.page,
                &sql_time(row.created_at),
                &sql_time(row.received_at),
                &row.funnel.as_str(),
                &row.funnel_reason,
                &sql_time(row.updated_at),
                &row.payload,
            ],
        )
        .map_err(backend)?;
    if created.is_none() {
        let stored = find_lead(tx, &lead.lead_id, false)?.ok_or_else(|| backend("a lead vanished while inserting"))?;
        let Some(reason) = difference(&stored, lead) else { return Ok(Inserted::Duplicate) };
        tx.execute(
            "INSERT INTO conflicts (lead_id, received_at, reason, payload) VALUES ($1, $2, $3, $4)",
            &[&lead.lead_id, &sql_time(new.received_at), &reason, &lead.to_json()],
        )
        .map_err(backend)?;
        return Ok(Inserted::Conflict(reason));
    }
    enqueue(tx, targets, "lead.created", &row, None, new.received_at)?;
    Ok(Inserted::Created(Box::new(row)))
}

fn erase(tx: &mut Transaction<'_>, erasure: &Erasure, at: Timestamp) -> Result<Erased, StoreError> {
    let visitors: Vec<(String, String)> = match erasure {
        Erasure::Email(email) => {
            suppress(tx, "email", email, at)?;
            let rows = tx
                .query("SELECT DISTINCT site, visitor_id FROM leads WHERE email = $1", &[&email.trim().to_lowercase()])
                .map_err(backend)?;
            rows.iter().map(|row| (row.get(0), row.get(1))).collect()
        }
        Erasure::LeadId(lead_id) => tx
            .query_opt("SELECT site, visitor_id FROM leads WHERE lead_id = $1", &[lead_id])
            .map_err(backend)?
            .map(|row| (row.get(0), row.get(1)))
            .into_iter()
            .collect(),
        Erasure::Visitor { site, visitor_id } => vec![(site.clone(), visitor_id.clone())],
        Erasure::Secret { site, visitor_id, erasure } => {
            suppress(tx, "secret", &secret_key(site, visitor_id, erasure), at)?;
            tx.execute(
                "DELETE FROM suppressions WHERE kind = 'secret' AND at < $1",
                &[&sql_time(at.minus_millis(SECRET_SUPPRESSION_DAYS * DAY_MS))],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM suppressions WHERE kind = 'secret' AND digest IN (SELECT digest FROM suppressions \
                 WHERE kind = 'secret' ORDER BY at DESC, digest DESC OFFSET $1)",
                &[&(MAX_SECRET_SUPPRESSIONS as i64)],
            )
            .map_err(backend)?;
            let proven: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM leads WHERE site = $1 AND visitor_id = $2 \
                     AND (payload::jsonb)->>'erasure' = $3)",
                    &[site, visitor_id, erasure],
                )
                .map_err(backend)?
                .get(0);
            if proven {
                vec![(site.clone(), visitor_id.clone())]
            } else {
                Vec::new()
            }
        }
    };
    let mut erased = Erased::default();
    for (site, visitor_id) in visitors {
        suppress(tx, "visitor", &visitor_key(&site, &visitor_id), at)?;
        erased.deliveries += tx
            .execute(
                "DELETE FROM deliveries WHERE lead_id IN (SELECT lead_id FROM leads WHERE site = $1 AND visitor_id = $2)",
                &[&site, &visitor_id],
            )
            .map_err(backend)?;
        erased.leads += tx
            .execute("DELETE FROM leads WHERE site = $1 AND visitor_id = $2", &[&site, &visitor_id])
            .map_err(backend)?;
    }
    Ok(erased)
}

impl Store for PostgresStore {
    fn insert_lead(&self, lead: NewLead, targets: &[String]) -> Result<Inserted, StoreError> {
        self.tx(|tx| insert(tx, lead, targets))
    }

    fn lead(&self, lead_id: &str) -> Result<Option<LeadRow>, StoreError> {
        self.tx(|tx| find_lead(tx, lead_id, false))
    }

    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadRow>, StoreError> {
        let limit = i64::from(if filter.limit == 0 { 100 } else { filter.limit.min(10_000) });
        let (after_at, after_id) = match &filter.after {
            Some((at, id)) => (Some(sql_time(*at)), Some(id.as_str())),
            None => (None, None),
        };
        self.tx(|tx| {
            let rows = tx
                .query(
                    &format!(
                        "SELECT {LEAD_COLUMNS} FROM leads
                         WHERE ($1::text IS NULL OR site = $1) AND ($2::text IS NULL OR funnel = $2)
                           AND ($3::text IS NULL OR verdict = $3)
                           AND ($6::bigint IS NULL OR received_at < $6 OR (received_at = $6 AND lead_id > $7))
                         ORDER BY received_at DESC, lead_id COLLATE \"C\" LIMIT $4 OFFSET $5"
                    ),
                    &[
                        &filter.site,
                        &filter.funnel.map(Funnel::as_str),
                        &filter.verdict.map(Verdict::as_str),
                        &limit,
                        &i64::from(filter.offset),
                        &after_at,
                        &after_id,
                    ],
                )
                .map_err(backend)?;
            Ok(rows.iter().map(lead_row).collect())
        })
    }

    fn transition(
        &self,
        lead_id: &str,
        action: Action,
        reason: Option<String>,
        at: Timestamp,
        targets: &[String],
    ) -> Result<(LeadRow, Change), StoreError> {
        self.tx(|tx| {
            // The row lock makes two racing steps take turns: the second sees
            // the first's result and is refused by the funnel.
            let mut row = find_lead(tx, lead_id, true)?
                .ok_or_else(|| StoreError::NotFound(format!("no lead with lead_id `{lead_id}`")))?;
            let reason = reason.map(|reason| reason.trim().to_string()).filter(|reason| !reason.is_empty());
            let to = action.apply(row.funnel, reason.as_deref())?;
            let change = Change { lead_id: lead_id.to_string(), from: row.funnel, to, reason, at };
            tx.execute(
                "UPDATE leads SET funnel = $2, funnel_reason = $3, reached = greatest(reached, $4), updated_at = $5 \
                 WHERE lead_id = $1",
                &[&lead_id, &to.as_str(), &change.reason, &i32::from(to.rank()), &sql_time(at)],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO lifecycle (lead_id, at, from_stage, to_stage, reason) VALUES ($1, $2, $3, $4, $5)",
                &[&lead_id, &sql_time(at), &change.from.as_str(), &to.as_str(), &change.reason],
            )
            .map_err(backend)?;
            row.funnel = to;
            row.funnel_reason = change.reason.clone();
            row.updated_at = at;
            enqueue(tx, targets, "lead.lifecycle", &row, Some(&change), at)?;
            Ok((row, change))
        })
    }

    fn history(&self, lead_id: &str) -> Result<Vec<Change>, StoreError> {
        self.tx(|tx| {
            let rows = tx
                .query(
                    "SELECT from_stage, to_stage, reason, at FROM lifecycle WHERE lead_id = $1 ORDER BY id",
                    &[&lead_id],
                )
                .map_err(backend)?;
            Ok(rows
                .iter()
                .map(|row| Change {
                    lead_id: lead_id.to_string(),
                    from: Funnel::parse(row.get(0)).unwrap_or(Funnel::Mql),
                    to: Funnel::parse(row.get(1)).unwrap_or(Funnel::Mql),
                    reason: row.get(2),
                    at: time(row, 3),
                })
                .collect())
        })
    }

    fn all_changes(&self) -> Result<Vec<Change>, StoreError> {
        self.tx(|tx| {
            let rows = tx
                .query("SELECT lead_id, from_stage, to_stage, reason, at FROM lifecycle ORDER BY id", &[])
                .map_err(backend)?;
            Ok(rows
                .iter()
                .map(|row| Change {
                    lead_id: row.get(0),
                    from: Funnel::parse(row.get(1)).unwrap_or(Funnel::Mql),
                    to: Funnel::parse(row.get(2)).unwrap_or(Funnel::Mql),
                    reason: row.get(3),
                    at: time(row, 4),
                })
                .collect())
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.tx(|tx| tx.batch_execute("SELECT 1").map_err(backend))
    }

    fn conflicts(&self, limit: u32) -> Result<Vec<Conflict>, StoreError> {
        self.tx(|tx| {
            let rows = tx
                .query(
                    "SELECT id, lead_id, received_at, reason, payload FROM conflicts ORDER BY id DESC LIMIT $1",
                    &[&i64::from(limit)],
                )
                .map_err(backend)?;
            Ok(rows
                .iter()
                .map(|row| Conflict {
                    id: row.get(0),
                    lead_id: row.get(1),
                    received_at: time(row, 2),
                    reason: row.get(3),
                    payload: row.get(4),
                })
                .collect())
        })
    }

    fn erase(&self, erasure: &Erasure, at: Timestamp) -> Result<Erased, StoreError> {
        self.tx(|tx| erase(tx, erasure, at))
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.tx(|tx| tx.execute("DELETE FROM leads WHERE received_at < $1", &[&sql_time(cutoff)]).map_err(backend))
    }

    fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.tx(|tx| {
            let rows = tx
                .query(
                    &format!(
                        "UPDATE deliveries SET claimed_until = $3 WHERE id IN (SELECT id FROM deliveries \
                         WHERE NOT dead AND next_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) \
                         ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING {DELIVERY_COLUMNS}"
                    ),
                    &[&sql_time(now), &i64::from(limit), &sql_time(lease_until)],
                )
                .map_err(backend)?;
            let mut claimed: Vec<Delivery> = rows.iter().map(delivery_row).collect();
            claimed.sort_by_key(|delivery| (delivery.next_at, delivery.id));
            Ok(claimed)
        })
    }

    fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.tx(|tx| {
            let row = tx
                .query_one(
                    "SELECT min(greatest(next_at, coalesce(claimed_until, next_at))) FROM deliveries WHERE NOT dead",
                    &[],
                )
                .map_err(backend)?;
            Ok(row.get::<_, Option<i64>>(0).map(from_sql_time))
        })
    }

    fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError> {
        self.tx(|tx| tx.execute("DELETE FROM deliveries WHERE id = $1", &[&id]).map(drop).map_err(backend))
    }

    fn delivery_failed(&self, id: i64, error: &str, retry_at: Option<Timestamp>) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, next_at = coalesce($3, next_at), \
                 dead = ($3::bigint IS NULL), claimed_until = NULL WHERE id = $1",
                &[&id, &error, &retry_at.map(sql_time)],
            )
            .map(drop)
            .map_err(backend)
        })
    }

    fn deliveries(&self, dead: bool) -> Result<Vec<Delivery>, StoreError> {
        self.tx(|tx| {
            let rows = tx
                .query(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE dead = $1 ORDER BY id"), &[&dead])
                .map_err(backend)?;
            Ok(rows.iter().map(delivery_row).collect())
        })
    }

    fn retry_delivery(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.tx(|tx| {
            let changed = tx
                .execute(
                    "UPDATE deliveries SET dead = false, attempts = 0, next_at = $2 WHERE id = $1 AND dead",
                    &[&id, &sql_time(now)],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no dead delivery with id {id}")));
            }
            Ok(())
        })
    }

    fn stats(&self, now: Timestamp, days: u32) -> Result<Stats, StoreError> {
        let mut per_day = Stats::days(now, days);
        let first_day = sql_time(per_day[0].0);
        self.tx(|tx| {
            let mut stats = Stats::default();
            for (rank, reached) in stats.reached.iter_mut().enumerate() {
                *reached = count(
                    tx,
                    "SELECT count(*) FROM (SELECT 1 FROM leads GROUP BY site, visitor_id HAVING max(reached) >= $1) AS v",
                    &[&(rank as i32)],
                )?;
            }
            for (index, stage) in Funnel::ALL.iter().enumerate() {
                stats.by_funnel[index] = count(tx, "SELECT count(*) FROM leads WHERE funnel = $1", &[&stage.as_str()])?;
            }
            stats.total = count(tx, "SELECT count(*) FROM leads", &[])?;
            stats.flagged = count(tx, "SELECT count(*) FROM leads WHERE verdict != 'verified'", &[])?;
            let rows = tx
                .query(
                    "SELECT (received_at - $1) / $2 AS day, count(*) FROM leads WHERE received_at >= $1 GROUP BY day",
                    &[&first_day, &(DAY_MS as i64)],
                )
                .map_err(backend)?;
            for row in rows {
                let (day, count): (i64, i64) = (row.get(0), row.get(1));
                if let Some(slot) = per_day.get_mut(day as usize) {
                    slot.1 = count.max(0) as u64;
                }
            }
            stats.per_day = per_day;
            let rows = tx
                .query(
                    "SELECT least(floor(greatest(verified_score, 0) / 10)::bigint, 10) AS bucket, count(*) \
                     FROM leads GROUP BY bucket",
                    &[],
                )
                .map_err(backend)?;
            for row in rows {
                let (bucket, count): (i64, i64) = (row.get(0), row.get(1));
                stats.score_buckets[bucket.clamp(0, 10) as usize] = count.max(0) as u64;
            }
            stats.dead_letters = count(tx, "SELECT count(*) FROM deliveries WHERE dead", &[])?;
            stats.conflicts = count(tx, "SELECT count(*) FROM conflicts", &[])?;
            Ok(stats)
        })
    }

    fn create_session(&self, digest: &str, now: Timestamp, expires_at: Timestamp) -> Result<(), StoreError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM admin_sessions WHERE expires_at <= $1", &[&sql_time(now)]).map_err(backend)?;
            tx.execute(
                "INSERT INTO admin_sessions (digest, created_at, expires_at) VALUES ($1, $2, $3)",
                &[&digest, &sql_time(now), &sql_time(expires_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn session_alive(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError> {
        self.tx(|tx| {
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM admin_sessions WHERE digest = $1 AND expires_at > $2)",
                    &[&digest, &sql_time(now)],
                )
                .map_err(backend)?;
            Ok(row.get(0))
        })
    }

    fn end_session(&self, digest: &str) -> Result<(), StoreError> {
        self.tx(|tx| tx.execute("DELETE FROM admin_sessions WHERE digest = $1", &[&digest]).map(drop).map_err(backend))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_comes_from_the_url_and_the_driver_never_sees_it() {
        let base = "postgres://leadscore@db:5432/leads";
        assert_eq!(pool_size(base), Ok((base.to_string(), DEFAULT_POOL_SIZE)));
        assert_eq!(pool_size(&format!("{base}?pool_size=4")), Ok((base.to_string(), 4)));
        assert_eq!(
            pool_size(&format!("{base}?sslmode=disable&pool_size=40&application_name=c1")),
            Ok((format!("{base}?sslmode=disable&application_name=c1"), 40))
        );
        for bad in ["0", "-1", "many", "1001", ""] {
            let Err(StoreError::Invalid { field, message }) = pool_size(&format!("{base}?pool_size={bad}")) else {
                panic!("pool_size={bad} was taken")
            };
            assert_eq!(field, "database");
            assert!(message.contains(&format!("`{bad}`")) && message.contains("1 to 1000"), "{message}");
        }
    }
}
