//! SQLite storage: one file in WAL mode with `synchronous = FULL`, so an
//! answered write survives a power cut. One writer thread owns the write
//! connection and commits whatever requests have queued up in a single
//! transaction (group commit): many concurrent posts share one fsync, each
//! inside its own savepoint so one failure never undoes another. Reads use a
//! second connection, which WAL lets run beside the writer.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;

use leadscore::core::Stage;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rules::{difference, secret_key, visitor_key};
use super::*;
use crate::forward::event_body;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many
/// ran. Append only: a released migration never changes.
const MIGRATIONS: &[&str] = &[
    // 1: leads, their funnel history, repeats kept aside, the forwarding
    // outbox and the erasure suppression list.
    "CREATE TABLE leads (
        lead_id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        visitor_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        claimed_score REAL NOT NULL,
        verified_score REAL NOT NULL,
        verified_stage TEXT NOT NULL,
        verdict TEXT NOT NULL,
        grade TEXT NOT NULL,
        email TEXT,
        source TEXT,
        page TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        funnel TEXT NOT NULL,
        funnel_reason TEXT,
        reached INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX leads_received ON leads(received_at);
    CREATE INDEX leads_visitor ON leads(site, visitor_id);
    CREATE INDEX leads_email ON leads(email);
    CREATE TABLE lifecycle (
        id INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        from_stage TEXT NOT NULL,
        to_stage TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX lifecycle_lead ON lifecycle(lead_id);
    CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        received_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        webhook TEXT NOT NULL,
        event TEXT NOT NULL,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT,
        dead INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX deliveries_due ON deliveries(dead, next_at);
    CREATE TABLE suppressions (
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (kind, digest)
    );",
    // 2: dashboard sessions, by the SHA-256 of their id (the id itself is
    // only ever in the browser's cookie).
    "CREATE TABLE admin_sessions (
        digest TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );",
    // 3: erasures asked from browsers are pruned by age.
    "CREATE INDEX suppressions_age ON suppressions(kind, at);",
    // 4: deliveries are claimed with a lease, so several collectors on one
    // database never post the same webhook at once.
    "ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 256;

type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// Leads in one SQLite file.
pub struct SqliteStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    reader: Mutex<Connection>,
}

fn backend(error: impl fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|err| backend(format!("cannot open {}: {err}", path.display())))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(backend)?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], one transaction per step.
fn migrate(conn: &mut Connection) -> Result<usize, StoreError> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {version}, newer than this collector's {SCHEMA_VERSION}; \
             run a newer collector"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(|err| backend(format!("migration {}: {err}", index + 1)))?;
        tx.pragma_update(None, "user_version", index + 1).map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(version)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut writer = open(path)?;
        let from = migrate(&mut writer)?;
        if from < SCHEMA_VERSION {
            tracing::info!(from, to = SCHEMA_VERSION, path = %path.display(), "database schema migrated");
        }
        let reader = open(path)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer, receiver))
            .map_err(backend)?;
        Ok(SqliteStore { jobs: Mutex::new(sender), reader: Mutex::new(reader) })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        self.read(|conn| conn.query_row("PRAGMA user_version", [], |row| row.get(0)))
    }

    /// Runs `work` on the writer thread inside the next group commit, and
    /// returns once that commit is on disk.
    fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (sender, receiver) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let _ = sender.send(committed.and(result));
            });
            (ok, reply)
        });
        self.jobs
            .lock()
            .map_err(|_| backend("the database writer stopped"))?
            .send(job)
            .map_err(|_| backend("the database writer stopped"))?;
        receiver.recv().map_err(|_| backend("the database writer stopped"))?
    }

    fn read<R>(&self, work: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> Result<R, StoreError> {
        let conn = self.reader.lock().map_err(|_| backend("the database reader panicked"))?;
        work(&conn).map_err(backend)
    }
}

fn write_loop(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let begun = conn.execute_batch("BEGIN IMMEDIATE").map_err(backend);
        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            if begun.is_err() {
                let (_, reply) = job(&conn);
                replies.push(reply);
                continue;
            }
            let saved = conn.execute_batch("SAVEPOINT job").is_ok();
            let (ok, reply) = job(&conn);
            let end = if ok || !saved { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            let _ = conn.execute_batch(end);
            replies.push(reply);
        }
        let committed = begun.and_then(|()| conn.execute_batch("COMMIT").map_err(backend));
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(committed.clone());
        }
    }
}

const LEAD_COLUMNS: &str = "lead_id, site, visitor_id, stage, claimed_score, verified_score, verified_stage, verdict, \
     grade, email, source, page, created_at, received_at, funnel, funnel_reason, updated_at, payload";

fn stage(text: String) -> Stage {
    Stage::parse(&text).unwrap_or(Stage::Mql)
}

fn time(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get(index).map(from_sql_time)
}

fn lead_row(row: &Row<'_>) -> rusqlite::Result<LeadRow> {
    Ok(LeadRow {
        lead_id: row.get(0)?,
        site: row.get(1)?,
        visitor_id: row.get(2)?,
        stage: stage(row.get(3)?),
        claimed_score: row.get(4)?,
        verified_score: row.get(5)?,
        verified_stage: stage(row.get(6)?),
        verdict: Verdict::parse(&row.get::<_, String>(7)?).unwrap_or(Verdict::Forged),
        grade: row.get(8)?,
        email: row.get(9)?,
        source: row.get(10)?,
        page: row.get(11)?,
        created_at: time(row, 12)?,
        received_at: time(row, 13)?,
        funnel: Funnel::parse(&row.get::<_, String>(14)?).unwrap_or(Funnel::Mql),
        funnel_reason: row.get(15)?,
        updated_at: time(row, 16)?,
        payload: row.get(17)?,
    })
}

fn delivery_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: row.get(0)?,
        webhook: row.get(1)?,
        event: row.get(2)?,
        lead_id: row.get(3)?,
        body: row.get(4)?,
        created_at: time(row, 5)?,
        attempts: row.get(6)?,
        next_at: time(row, 7)?,
        last_error: row.get(8)?,
        dead: row.get(9)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, webhook, event, lead_id, body, created_at, attempts, next_at, last_error, dead";

fn find_lead(conn: &Connection, lead_id: &str) -> rusqlite::Result<Option<LeadRow>> {
    conn.prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE lead_id = ?1"))?
        .query_row([lead_id], lead_row)
        .optional()
}

fn suppressed(conn: &Connection, kind: &str, value: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM suppressions WHERE kind = ?1 AND digest = ?2",
        params![kind, digest(kind, value)],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

fn suppress(conn: &Connection, kind: &str, value: &str, at: Timestamp) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO suppressions (kind, digest, at) VALUES (?1, ?2, ?3)",
        params![kind, digest(kind, value), sql_time(at)],
    )
    .map(drop)
}

fn enqueue(
    conn: &Connection,
    targets: &[String],
    event: &str,
    row: &LeadRow,
    change: Option<&Change>,
    now: Timestamp,
) -> rusqlite::Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    let body = event_body(event, row, change, now);
    for webhook in targets {
        conn.execute(
            "INSERT INTO deliveries (webhook, event, lead_id, body, created_at, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![webhook, event, row.lead_id, body, sql_time(now)],
        )?;
    }
    Ok(())
}

fn insert(conn: &Connection, new: NewLead, targets: &[String]) -> rusqlite::Result<Inserted> {
    let lead = &new.lead;
    let email = lead.identity.get("email");
    let erased_by_browser = !lead.erasure.is_empty()
        && suppressed(conn, "secret", &secret_key(&lead.site, &lead.visitor_id, &lead.erasure))?;
    if erased_by_browser
        || suppressed(conn, "visitor", &visitor_key(&lead.site, &lead.visitor_id))?
        || email.map(|email| suppressed(conn, "email", email)).transpose()?.unwrap_or(false)
    {
        return Ok(Inserted::Suppressed);
    }
    if let Some(stored) = find_lead(conn, &lead.lead_id)? {
        let Some(reason) = difference(&stored, lead) else { return Ok(Inserted::Duplicate) };
        conn.execute(
            "INSERT INTO conflicts (lead_id, received_at, reason, payload) VALUES (?1, ?2, ?3, ?4)",
            params![lead.lead_id, sql_time(new.received_at), reason, lead.to_json()],
        )?;
        return Ok(Inserted::Conflict(reason));
    }
    let row = LeadRow::new(&new);
    // Cached: the writer thread is the collector's bottleneck, so the SQL is
    // parsed once, not on every lead.
    conn.prepare_cached(&format!(
        "INSERT INTO leads ({LEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
         ?15, ?16, ?17, ?18)"
    ))?
    .execute(params![
        row.lead_id,
        row.site,
        row.visitor_id,
        row.stage.as_str(),
        row.claimed_score,
        row.verified_score,
        row.verified_stage.as_str(),
        row.verdict.as_str(),
        row.grade,
        row.email,
        row.source,
        row.page,
        sql_time(row.created_at),
        sql_time(row.received_at),
        row.funnel.as_str(),
        row.funnel_reason,
        sql_time(row.updated_at),
        row.payload,
    ])?;
    enqueue(conn, targets, "lead.created", &row, None, new.received_at)?;
    Ok(Inserted::Created(Box::new(row)))
}

fn transition(
    conn: &Connection,
    lead_id: &str,
    action: Action,
    reason: Option<String>,
    at: Timestamp,
    targets: &[String],
) -> Result<(LeadRow, Change), StoreError> {
    let mut row = find_lead(conn, lead_id).map_err(backend)?.ok_or_else(|| not_found(lead_id))?;
    let reason = reason.map(|reason| reason.trim().to_string()).filter(|reason| !reason.is_empty());
    let to = action.apply(row.funnel, reason.as_deref())?;
    let change = Change { lead_id: lead_id.to_string(), from: row.funnel, to, reason, at };
    conn.execute(
        "UPDATE leads SET funnel = ?2, funnel_reason = ?3, reached = max(reached, ?4), updated_at = ?5 WHERE lead_id = ?1",
        params![lead_id, to.as_str(), change.reason, to.rank(), sql_time(at)],
    )
    .map_err(backend)?;
    conn.execute(
        "INSERT INTO lifecycle (lead_id, at, from_stage, to_stage, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![lead_id, sql_time(at), change.from.as_str(), to.as_str(), change.reason],
    )
    .map_err(backend)?;
    row.funnel = to;
    row.funnel_reason = change.reason.clone();
    row.updated_at = at;
    enqueue(conn, targets, "lead.lifecycle", &row, Some(&change), at).map_err(backend)?;
    Ok((row, change))
}

fn not_found(lead_id: &str) -> StoreError {
    StoreError::NotFound(format!("no lead with lead_id `{lead_id}`"))
}

fn erase(conn: &Connection, erasure: &Erasure, at: Timestamp) -> rusqlite::Result<Erased> {
    // Every visitor the erasure reaches: their other leads go too, and the
    // visitor is suppressed, so a lead still waiting in their browser is refused.
    let visitors: Vec<(String, String)> = match erasure {
        Erasure::Email(email) => {
            suppress(conn, "email", email, at)?;
            let mut query = conn.prepare("SELECT DISTINCT site, visitor_id FROM leads WHERE email = ?1")?;
            let rows = query.query_map([email.trim().to_lowercase()], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        }
        Erasure::LeadId(lead_id) => conn
            .query_row("SELECT site, visitor_id FROM leads WHERE lead_id = ?1", [lead_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?
            .into_iter()
            .collect(),
        Erasure::Visitor { site, visitor_id } => vec![(site.clone(), visitor_id.clone())],
        Erasure::Secret { site, visitor_id, erasure } => {
            // Kept for leads still on their way (another tab's retry), and
            // bounded: a month, and the newest MAX_SECRET_SUPPRESSIONS.
            suppress(conn, "secret", &secret_key(site, visitor_id, erasure), at)?;
            conn.execute(
                "DELETE FROM suppressions WHERE kind = 'secret' AND at < ?1",
                [sql_time(at.minus_millis(super::SECRET_SUPPRESSION_DAYS * DAY_MS))],
            )?;
            conn.execute(
                "DELETE FROM suppressions WHERE kind = 'secret' AND rowid IN (SELECT rowid FROM suppressions \
                 WHERE kind = 'secret' ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?1)",
                [super::MAX_SECRET_SUPPRESSIONS as i64],
            )?;
            let proven: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM leads WHERE site = ?1 AND visitor_id = ?2 \
                 AND json_extract(payload, '$.erasure') = ?3)",
                params![site, visitor_id, erasure],
                |row| row.get(0),
            )?;
            if proven {
                vec![(site.clone(), visitor_id.clone())]
            } else {
                Vec::new()
            }
        }
    };
    let mut erased = Erased::default();
    for (site, visitor_id) in visitors {
        suppress(conn, "visitor", &visitor_key(&site, &visitor_id), at)?;
        let in_visitor = "lead_id IN (SELECT lead_id FROM leads WHERE site = ?1 AND visitor_id = ?2)";
        erased.deliveries +=
            conn.execute(&format!("DELETE FROM deliveries WHERE {in_visitor}"), params![site, visitor_id])? as u64;
        erased.leads +=
            conn.execute("DELETE FROM leads WHERE site = ?1 AND visitor_id = ?2", params![site, visitor_id])? as u64;
    }
    Ok(erased)
}

impl Store for SqliteStore {
    fn insert_lead(&self, lead: NewLead, targets: &[String]) -> Result<Inserted, StoreError> {
        let targets = targets.to_vec();
        self.write(move |conn| insert(conn, lead, &targets).map_err(backend))
    }

    fn lead(&self, lead_id: &str) -> Result<Option<LeadRow>, StoreError> {
        self.read(|conn| find_lead(conn, lead_id))
    }

    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadRow>, StoreError> {
        let limit = if filter.limit == 0 { 100 } else { filter.limit.min(10_000) };
        self.read(|conn| {
            let mut query = conn.prepare(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads
                 WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR funnel = ?2) AND (?3 IS NULL OR verdict = ?3)
                   AND (?6 IS NULL OR received_at < ?6 OR (received_at = ?6 AND lead_id > ?7))
                 ORDER BY received_at DESC, lead_id LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = query.query_map(
                params![
                    filter.site,
                    filter.funnel.map(Funnel::as_str),
                    filter.verdict.map(Verdict::as_str),
                    limit,
                    filter.offset,
                    filter.after.as_ref().map(|(at, _)| sql_time(*at)),
                    filter.after.as_ref().map(|(_, id)| id.as_str()),
                ],
                lead_row,
            )?;
            rows.collect()
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
        let (lead_id, targets) = (lead_id.to_string(), targets.to_vec());
        self.write(move |conn| transition(conn, &lead_id, action, reason, at, &targets))
    }

    fn history(&self, lead_id: &str) -> Result<Vec<Change>, StoreError> {
        self.read(|conn| {
            let mut query =
                conn.prepare("SELECT from_stage, to_stage, reason, at FROM lifecycle WHERE lead_id = ?1 ORDER BY id")?;
            let rows = query.query_map([lead_id], |row| {
                Ok(Change {
                    lead_id: lead_id.to_string(),
                    from: Funnel::parse(&row.get::<_, String>(0)?).unwrap_or(Funnel::Mql),
                    to: Funnel::parse(&row.get::<_, String>(1)?).unwrap_or(Funnel::Mql),
                    reason: row.get(2)?,
                    at: time(row, 3)?,
                })
            })?;
            rows.collect()
        })
    }

    fn all_changes(&self) -> Result<Vec<Change>, StoreError> {
        self.read(|conn| {
            let mut query =
                conn.prepare("SELECT lead_id, from_stage, to_stage, reason, at FROM lifecycle ORDER BY id")?;
            let rows = query.query_map([], |row| {
                Ok(Change {
                    lead_id: row.get(0)?,
                    from: Funnel::parse(&row.get::<_, String>(1)?).unwrap_or(Funnel::Mql),
                    to: Funnel::parse(&row.get::<_, String>(2)?).unwrap_or(Funnel::Mql),
                    reason: row.get(3)?,
                    at: time(row, 4)?,
                })
            })?;
            rows.collect()
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        // Through the writer thread, so a stuck or dead writer shows.
        self.write(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
    }

    fn conflicts(&self, limit: u32) -> Result<Vec<Conflict>, StoreError> {
        self.read(|conn| {
            let mut query = conn
                .prepare("SELECT id, lead_id, received_at, reason, payload FROM conflicts ORDER BY id DESC LIMIT ?1")?;
            let rows = query.query_map([limit], |row| {
                Ok(Conflict {
                    id: row.get(0)?,
                    lead_id: row.get(1)?,
                    received_at: time(row, 2)?,
                    reason: row.get(3)?,
                    payload: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    fn erase(&self, erasure: &Erasure, at: Timestamp) -> Result<Erased, StoreError> {
        let erasure = erasure.clone();
        self.write(move |conn| erase(conn, &erasure, at).map_err(backend))
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        self.write(move |conn| {
            conn.execute("DELETE FROM leads WHERE received_at < ?1", [sql_time(cutoff)])
                .map(|n| n as u64)
                .map_err(backend)
        })
    }

    fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.write(move |conn| {
            let mut claim = conn
                .prepare(&format!(
                    "UPDATE deliveries SET claimed_until = ?3 WHERE id IN (SELECT id FROM deliveries \
                     WHERE dead = 0 AND next_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1) \
                     ORDER BY next_at, id LIMIT ?2) RETURNING {DELIVERY_COLUMNS}"
                ))
                .map_err(backend)?;
            let rows =
                claim.query_map(params![sql_time(now), limit, sql_time(lease_until)], delivery_row).map_err(backend)?;
            let mut claimed: Vec<Delivery> = rows.collect::<rusqlite::Result<_>>().map_err(backend)?;
            claimed.sort_by_key(|delivery| (delivery.next_at, delivery.id));
            Ok(claimed)
        })
    }

    fn next_delivery_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT min(max(next_at, coalesce(claimed_until, next_at))) FROM deliveries WHERE dead = 0",
                [],
                |row| row.get::<_, Option<i64>>(0).map(|at| at.map(from_sql_time)),
            )
        })
    }

    fn delivery_succeeded(&self, id: i64) -> Result<(), StoreError> {
        self.write(move |conn| conn.execute("DELETE FROM deliveries WHERE id = ?1", [id]).map(drop).map_err(backend))
    }

    fn delivery_failed(&self, id: i64, error: &str, retry_at: Option<Timestamp>) -> Result<(), StoreError> {
        let error = error.to_string();
        self.write(move |conn| {
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_at = coalesce(?3, next_at),
                 dead = (?3 IS NULL), claimed_until = NULL WHERE id = ?1",
                params![id, error, retry_at.map(sql_time)],
            )
            .map(drop)
            .map_err(backend)
        })
    }

    fn deliveries(&self, dead: bool) -> Result<Vec<Delivery>, StoreError> {
        self.read(|conn| {
            let mut query =
                conn.prepare(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE dead = ?1 ORDER BY id"))?;
            let rows = query.query_map([dead], delivery_row)?;
            rows.collect()
        })
    }

    fn retry_delivery(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE deliveries SET dead = 0, attempts = 0, next_at = ?2 WHERE id = ?1 AND dead = 1",
                    params![id, sql_time(now)],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("no dead delivery with id {id}")));
            }
            Ok(())
        })
    }

    fn create_session(&self, digest: &str, now: Timestamp, expires_at: Timestamp) -> Result<(), StoreError> {
        let digest = digest.to_string();
        self.write(move |conn| {
            conn.execute("DELETE FROM admin_sessions WHERE expires_at <= ?1", [sql_time(now)]).map_err(backend)?;
            conn.execute(
                "INSERT INTO admin_sessions (digest, created_at, expires_at) VALUES (?1, ?2, ?3)",
                params![digest, sql_time(now), sql_time(expires_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn session_alive(&self, digest: &str, now: Timestamp) -> Result<bool, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM admin_sessions WHERE digest = ?1 AND expires_at > ?2)",
                params![digest, sql_time(now)],
                |row| row.get(0),
            )
        })
    }

    fn end_session(&self, digest: &str) -> Result<(), StoreError> {
        let digest = digest.to_string();
        self.write(move |conn| {
            conn.execute("DELETE FROM admin_sessions WHERE digest = ?1", [digest]).map_err(backend)?;
            Ok(())
        })
    }

    fn stats(&self, now: Timestamp, days: u32) -> Result<Stats, StoreError> {
        let mut per_day = Stats::days(now, days);
        let first_day = sql_time(per_day[0].0);
        self.read(|conn| {
            let mut stats = Stats::default();
            for (rank, reached) in stats.reached.iter_mut().enumerate() {
                *reached = conn.query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM leads GROUP BY site, visitor_id HAVING max(reached) >= ?1)",
                    [rank as i64],
                    |row| row.get(0),
                )?;
            }
            for (index, stage) in Funnel::ALL.iter().enumerate() {
                stats.by_funnel[index] =
                    conn.query_row("SELECT count(*) FROM leads WHERE funnel = ?1", [stage.as_str()], |row| row.get(0))?;
            }
            stats.total = conn.query_row("SELECT count(*) FROM leads", [], |row| row.get(0))?;
            stats.flagged =
                conn.query_row("SELECT count(*) FROM leads WHERE verdict != 'verified'", [], |row| row.get(0))?;
            let mut query = conn.prepare(
                "SELECT (received_at - ?1) / ?2 AS day, count(*) FROM leads WHERE received_at >= ?1 GROUP BY day",
            )?;
            for row in query.query_map(params![first_day, DAY_MS as i64], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, u64>(1)?))
            })? {
                let (day, count) = row?;
                if let Some(slot) = per_day.get_mut(day as usize) {
                    slot.1 = count;
                }
            }
            stats.per_day = per_day;
            let mut query = conn.prepare(
                "SELECT min(CAST(max(verified_score, 0) / 10 AS INTEGER), 10), count(*) FROM leads GROUP BY 1",
            )?;
            for row in query.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, u64>(1)?)))? {
                let (bucket, count) = row?;
                stats.score_buckets[bucket.clamp(0, 10) as usize] = count;
            }
            stats.dead_letters =
                conn.query_row("SELECT count(*) FROM deliveries WHERE dead = 1", [], |row| row.get(0))?;
            stats.conflicts = conn.query_row("SELECT count(*) FROM conflicts", [], |row| row.get(0))?;
            Ok(stats)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("leadscore-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("leads.db")
    }

    #[test]
    fn a_new_database_is_migrated_once() {
        let path = temp_db("migrate");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let path = temp_db("newer");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(conn);
        let Err(StoreError::Backend(message)) = SqliteStore::open(&path) else {
            panic!("a newer schema must be refused")
        };
        assert!(message.contains("newer than this collector"), "{message}");
    }

    #[test]
    fn a_failed_write_does_not_undo_its_batch_neighbours() {
        let store = SqliteStore::open(&temp_db("batch")).unwrap();
        let store = std::sync::Arc::new(store);
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                thread::spawn(move || {
                    store.write(move |conn| {
                        conn.execute(
                            "INSERT INTO suppressions (kind, digest, at) VALUES ('test', ?1, 0)",
                            [if i % 2 == 0 { i.to_string() } else { "same".to_string() }],
                        )
                        .map_err(backend)
                    })
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|handle| handle.join().unwrap()).collect();
        let stored: i64 = store
            .read(|conn| conn.query_row("SELECT count(*) FROM suppressions WHERE kind = 'test'", [], |row| row.get(0)))
            .unwrap();
        let succeeded = results.iter().filter(|result| result.is_ok()).count();
        // Eight distinct keys and one "same": the seven repeats fail alone.
        assert_eq!(stored, 9);
        assert_eq!(succeeded, 9);
    }
}
