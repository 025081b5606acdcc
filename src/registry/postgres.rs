//! The shared registry backend: PostgreSQL, for several stateless synthmark instances (CLI runs
//! or service replicas) logging to and looking up in one registry. Migrations take an advisory
//! lock, so instances starting together apply each one exactly once.

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::{Mutex, MutexGuard};

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use super::{stored_fingerprint, Entry, RegistryError, Store, StoreError, Stored, WORDS};
use crate::layers::fingerprint::PdqHash;

/// Versioned migrations, applied in order on open. Never edit one that has shipped; add another.
const MIGRATIONS: &[&str] = &[
    // 1: entries, their fingerprints, and the multi-index hashing table: one row per 16-bit word
    // of each matchable fingerprint, carrying the whole fingerprint (an index-only scan answers
    // a probe).
    "CREATE TABLE entries (
        id BIGSERIAL PRIMARY KEY,
        asset_id TEXT,
        sha256 BYTEA NOT NULL,
        format TEXT NOT NULL,
        generator TEXT,
        manifest_store BYTEA NOT NULL,
        created_at BIGINT NOT NULL
     );
     CREATE INDEX entries_asset_id ON entries (asset_id);
     CREATE INDEX entries_sha256 ON entries (sha256);
     CREATE INDEX entries_created_at ON entries (created_at);
     CREATE TABLE fingerprints (
        entry BIGINT PRIMARY KEY,
        pdq BYTEA NOT NULL,
        quality SMALLINT NOT NULL
     );
     CREATE TABLE pdq_words (
        position SMALLINT NOT NULL,
        word INTEGER NOT NULL,
        entry BIGINT NOT NULL,
        pdq BYTEA NOT NULL,
        PRIMARY KEY (position, word, entry) INCLUDE (pdq)
     );",
];

/// Key of the advisory lock held while migrating ("synt").
const MIGRATION_LOCK: i64 = 0x7379_6e74;

const ENTRY_COLUMNS: &str = "e.id, e.asset_id, e.sha256, e.format, e.generator, \
     e.manifest_store, e.created_at, f.pdq, f.quality";

pub struct PostgresStore {
    /// Dropped by hand, on a thread of its own (see the `Drop` impl).
    session: ManuallyDrop<Mutex<Session>>,
    /// For reconnecting after the server closed the connection (restart, failover, idle kill).
    config: postgres::Config,
}

/// The connection and the lookups prepared on it (a prepared statement belongs to its
/// connection), so a lookup is one round trip instead of a prepare and an execute.
struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Session {
    fn new(client: Client) -> Session {
        Session {
            client,
            statements: HashMap::new(),
        }
    }

    /// The rows of `sql`, prepared on first use on this connection.
    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = match self.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client.prepare(sql)?;
                self.statements.insert(sql.to_string(), statement.clone());
                statement
            }
        };
        self.client.query(&statement, params)
    }
}

impl PostgresStore {
    pub fn open(url: &str, shown: &str) -> Result<PostgresStore, RegistryError> {
        let open_error = |reason: String| RegistryError::Open {
            location: shown.to_string(),
            reason,
        };
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            open_error(format!("not a valid connection string: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let mut client = config
            .connect(NoTls)
            .map_err(|e| open_error(describe(&e).to_string()))?;
        let current = migrate(&mut client).map_err(|e| open_error(describe(&e).to_string()))?;
        if current > MIGRATIONS.len() as i64 {
            return Err(RegistryError::NewerSchema {
                location: shown.to_string(),
                found: current,
                known: MIGRATIONS.len() as i64,
            });
        }
        Ok(PostgresStore {
            session: ManuallyDrop::new(Mutex::new(Session::new(client))),
            config,
        })
    }

    /// The session, locked; a panic while holding the lock leaves the server consistent
    /// (transactions roll back).
    fn locked(&self) -> MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new connection in place of one the server dropped.
    fn reconnect(&self, session: &mut Session) -> Result<(), StoreError> {
        let client = self.config.connect(NoTls).map_err(|e| {
            StoreError::new(format!(
                "lost the connection and cannot reconnect: {}",
                describe(&e)
            ))
        })?;
        *session = Session::new(client);
        Ok(())
    }

    /// The session for a write, its connection checked with a round trip first and re-opened if
    /// the server dropped it: a write is never sent twice.
    fn for_write(&self) -> Result<MutexGuard<'_, Session>, StoreError> {
        let mut session = self.locked();
        let client = &mut session.client;
        if client.is_closed() || client.is_valid(std::time::Duration::from_secs(5)).is_err() {
            self.reconnect(&mut session)?;
        }
        Ok(session)
    }

    /// A lookup, without a round trip first: if the server turns out to have dropped the
    /// connection, it is re-opened and the lookup asked again, once (reading twice is harmless).
    fn read<T>(
        &self,
        lookup: impl Fn(&mut Session) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut session = self.locked();
        if session.client.is_closed() {
            self.reconnect(&mut session)?;
        }
        match lookup(&mut session) {
            Err(e) if e.is_closed() || session.client.is_closed() => {
                self.reconnect(&mut session)?;
                lookup(&mut session).map_err(|e| describe(&e))
            }
            result => result.map_err(|e| describe(&e)),
        }
    }

    /// At most `limit` entries meeting `condition`, oldest first.
    fn select(
        &self,
        condition: &str,
        value: &(dyn postgres::types::ToSql + Sync),
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries e LEFT JOIN fingerprints f ON f.entry = e.id WHERE {condition} ORDER BY e.id LIMIT $2");
        let rows = self.read(|session| session.query(&sql, &[value, &limit]))?;
        rows.iter().map(stored_from_row).collect()
    }
}

impl Drop for PostgresStore {
    /// Closes the connection on a thread of its own: `postgres::Client` closes by blocking on a
    /// runtime of its own, which panics on an async runtime's thread ("Cannot start a runtime
    /// from within a runtime"), where a service, or a library user's async code, may well drop
    /// the last reference to its registry.
    fn drop(&mut self) {
        // SAFETY: `session` is taken once, here, and `self` is never used again.
        let session = unsafe { ManuallyDrop::take(&mut self.session) };
        std::thread::scope(|scope| {
            // Without a thread to be had, the closure, and the client in it, is dropped here.
            let _ = std::thread::Builder::new()
                .name("registry-close".into())
                .spawn_scoped(scope, move || drop(session));
        });
    }
}

/// Applies missing migrations under an advisory lock; returns the schema version found.
fn migrate(client: &mut Client) -> Result<i64, postgres::Error> {
    let mut transaction = client.transaction()?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS synthmark_schema (version BIGINT NOT NULL)")?;
    let current: i64 = transaction
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM synthmark_schema",
            &[],
        )?
        .get(0);
    if current > MIGRATIONS.len() as i64 {
        return Ok(current);
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        transaction.batch_execute(sql)?;
        transaction.execute(
            "INSERT INTO synthmark_schema (version) VALUES ($1)",
            &[&(index as i64 + 1)],
        )?;
    }
    transaction.commit()?;
    Ok(current)
}

/// The server's message when there is one (the driver's top-level text is often just "db error").
fn describe(err: &postgres::Error) -> StoreError {
    StoreError::new(match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    })
}

fn stored_from_row(row: &Row) -> Result<Stored, StoreError> {
    let get_error = |e: postgres::Error| describe(&e);
    let sha: Vec<u8> = row.try_get(2).map_err(get_error)?;
    let pdq: Option<Vec<u8>> = row.try_get(7).map_err(get_error)?;
    let quality: Option<i16> = row.try_get(8).map_err(get_error)?;
    let fingerprint = stored_fingerprint(pdq, quality.map(i64::from));
    Ok(Stored {
        id: row.try_get(0).map_err(get_error)?,
        entry: Entry {
            asset_id: row.try_get(1).map_err(get_error)?,
            sha256: sha.try_into().unwrap_or([0; 32]),
            fingerprint,
            format: row.try_get(3).map_err(get_error)?,
            generator: row.try_get(4).map_err(get_error)?,
            manifest_store: row.try_get(5).map_err(get_error)?,
            created_at: row.try_get(6).map_err(get_error)?,
        },
    })
}

impl Store for PostgresStore {
    fn insert(&self, entries: &[Entry]) -> Result<Vec<i64>, StoreError> {
        let mut session = self.for_write()?;
        let mut transaction = session.client.transaction().map_err(|e| describe(&e))?;
        let insert_entry = transaction
            .prepare(
                "INSERT INTO entries (asset_id, sha256, format, generator, manifest_store, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .map_err(|e| describe(&e))?;
        let insert_fingerprint = transaction
            .prepare("INSERT INTO fingerprints (entry, pdq, quality) VALUES ($1, $2, $3)")
            .map_err(|e| describe(&e))?;
        let insert_words = transaction
            .prepare(
                "INSERT INTO pdq_words (position, word, entry, pdq)
                 SELECT p, w, $3, $4 FROM unnest($1::smallint[], $2::integer[]) AS t (p, w)",
            )
            .map_err(|e| describe(&e))?;
        let mut ids = Vec::with_capacity(entries.len());
        for entry in entries {
            let id: i64 = transaction
                .query_one(
                    &insert_entry,
                    &[
                        &entry.asset_id,
                        &&entry.sha256[..],
                        &entry.format,
                        &entry.generator,
                        &entry.manifest_store,
                        &entry.created_at,
                    ],
                )
                .map_err(|e| describe(&e))?
                .get(0);
            if let Some(fingerprint) = &entry.fingerprint {
                transaction
                    .execute(
                        &insert_fingerprint,
                        &[
                            &id,
                            &&fingerprint.hash.0[..],
                            &i16::from(fingerprint.quality),
                        ],
                    )
                    .map_err(|e| describe(&e))?;
                if fingerprint.is_matchable() {
                    let positions: Vec<i16> = (0..WORDS as i16).collect();
                    let words: Vec<i32> = (0..WORDS)
                        .map(|p| i32::from(fingerprint.hash.word(p)))
                        .collect();
                    transaction
                        .execute(
                            &insert_words,
                            &[&positions, &words, &id, &&fingerprint.hash.0[..]],
                        )
                        .map_err(|e| describe(&e))?;
                }
            }
            ids.push(id);
        }
        transaction.commit().map_err(|e| describe(&e))?;
        Ok(ids)
    }

    fn by_asset_id(&self, asset_id: &str, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.select("e.asset_id = $1", &asset_id, limit)
    }

    fn by_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<Stored>, StoreError> {
        self.select("e.sha256 = $1", &&sha256[..], usize::MAX)
    }

    fn fingerprint_candidates(
        &self,
        probes: &[(usize, Vec<u16>)],
    ) -> Result<Vec<(i64, PdqHash)>, StoreError> {
        // Every probe in one query, so one round trip: the (position, word) pairs go in as two
        // parallel arrays, and each pair is an index seek.
        let (positions, words): (Vec<i16>, Vec<i32>) = probes
            .iter()
            .flat_map(|(position, words)| {
                words
                    .iter()
                    .map(move |&word| (*position as i16, i32::from(word)))
            })
            .unzip();
        let rows = self.read(|session| {
            session.query(
                "SELECT entry, pdq FROM pdq_words \
                 WHERE (position, word) IN (SELECT * FROM unnest($1::smallint[], $2::integer[]))",
                &[&positions, &words],
            )
        })?;
        let mut candidates = Vec::new();
        for row in rows {
            let id: i64 = row.get(0);
            let pdq: Vec<u8> = row.get(1);
            if let Ok(bytes) = pdq.try_into() {
                candidates.push((id, PdqHash(bytes)));
            }
        }
        Ok(candidates)
    }

    fn get(&self, id: i64) -> Result<Option<Stored>, StoreError> {
        Ok(self.select("e.id = $1", &id, 1)?.into_iter().next())
    }

    fn delete(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let mut session = self.for_write()?;
        let mut transaction = session.client.transaction().map_err(|e| describe(&e))?;
        let ids = ids.to_vec();
        // The index rows are found by their primary key: (position, word) of each fingerprint.
        let (mut positions, mut words, mut entries) = (Vec::new(), Vec::new(), Vec::new());
        for row in transaction
            .query(
                "SELECT entry, pdq FROM fingerprints WHERE entry = ANY($1)",
                &[&ids],
            )
            .map_err(|e| describe(&e))?
        {
            let entry: i64 = row.get(0);
            let pdq: Vec<u8> = row.get(1);
            let Ok(bytes) = <[u8; 32]>::try_from(pdq) else {
                continue;
            };
            let hash = PdqHash(bytes);
            for position in 0..WORDS {
                positions.push(position as i16);
                words.push(i32::from(hash.word(position)));
                entries.push(entry);
            }
        }
        transaction
            .execute(
                "DELETE FROM pdq_words WHERE (position, word, entry) IN
                 (SELECT * FROM unnest($1::smallint[], $2::integer[], $3::bigint[]))",
                &[&positions, &words, &entries],
            )
            .map_err(|e| describe(&e))?;
        transaction
            .execute("DELETE FROM fingerprints WHERE entry = ANY($1)", &[&ids])
            .map_err(|e| describe(&e))?;
        let deleted = transaction
            .execute("DELETE FROM entries WHERE id = ANY($1)", &[&ids])
            .map_err(|e| describe(&e))?;
        transaction.commit().map_err(|e| describe(&e))?;
        Ok(deleted)
    }

    fn created_before(&self, unix_seconds: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.read(|session| {
            session.query(
                "SELECT id FROM entries WHERE created_at < $1 ORDER BY id",
                &[&unix_seconds],
            )
        })?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn count(&self) -> Result<u64, StoreError> {
        let rows = self.read(|session| session.query("SELECT COUNT(*) FROM entries", &[]))?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::new("SELECT COUNT(*) returned no row"))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
