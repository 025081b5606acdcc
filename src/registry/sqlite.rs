//! The embedded registry backend: one SQLite file (WAL mode, so several processes can read while
//! one writes). Zero setup: the file and its tables are created on first use.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::{stored_fingerprint, Entry, RegistryError, Store, StoreError, Stored, WORDS};
use crate::layers::fingerprint::PdqHash;

/// Versioned migrations, applied in order on open. Never edit one that has shipped; add another.
const MIGRATIONS: &[&str] = &[
    // 1: entries, their fingerprints, and the multi-index hashing table: one row per 16-bit word
    // of each matchable fingerprint, carrying the whole fingerprint so a probe reads one
    // contiguous range and no other table (about 0.7 KB per entry; manifest stores are 5-30 KB).
    "CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        asset_id TEXT,
        sha256 BLOB NOT NULL,
        format TEXT NOT NULL,
        generator TEXT,
        manifest_store BLOB NOT NULL,
        created_at INTEGER NOT NULL
     );
     CREATE INDEX entries_asset_id ON entries (asset_id);
     CREATE INDEX entries_sha256 ON entries (sha256);
     CREATE INDEX entries_created_at ON entries (created_at);
     CREATE TABLE fingerprints (
        entry INTEGER PRIMARY KEY,
        pdq BLOB NOT NULL,
        quality INTEGER NOT NULL
     );
     CREATE TABLE pdq_words (
        position INTEGER NOT NULL,
        word INTEGER NOT NULL,
        entry INTEGER NOT NULL,
        pdq BLOB NOT NULL,
        PRIMARY KEY (position, word, entry)
     ) WITHOUT ROWID;",
];

const ENTRY_COLUMNS: &str = "e.id, e.asset_id, e.sha256, e.format, e.generator, \
     e.manifest_store, e.created_at, f.pdq, f.quality";

pub struct SqliteStore {
    connection: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path, shown: &str) -> Result<SqliteStore, RegistryError> {
        let open_error = |reason: String| {
            let location = shown.to_string();
            if is_not_a_registry(&reason) {
                RegistryError::NotARegistry { location, reason }
            } else {
                RegistryError::Open { location, reason }
            }
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| open_error(format!("cannot create {}: {e}", parent.display())))?;
        }
        let mut connection = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| open_error(e.to_string()))?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| open_error(describe(&e).to_string()))?;
        migrate(&mut connection).map_err(|e| match e {
            Migration::Newer(found) => RegistryError::NewerSchema {
                location: shown.to_string(),
                found,
                known: MIGRATIONS.len() as i64,
            },
            Migration::Failed(reason) => open_error(reason),
        })?;
        Ok(SqliteStore {
            connection: Mutex::new(connection),
        })
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (transactions roll back).
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// At most `limit` entries meeting `condition`, oldest first.
    fn select(
        &self,
        condition: &str,
        value: &dyn rusqlite::ToSql,
        limit: usize,
    ) -> Result<Vec<Stored>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries e LEFT JOIN fingerprints f ON f.entry = e.id WHERE {condition} ORDER BY e.id LIMIT ?2"
            ))
            .map_err(|e| describe(&e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map([value, &limit], stored_from_row)
            .map_err(|e| describe(&e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| describe(&e))
    }
}

enum Migration {
    Newer(i64),
    Failed(String),
}

fn migrate(connection: &mut Connection) -> Result<(), Migration> {
    let failed = |e: rusqlite::Error| Migration::Failed(describe(&e).to_string());
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    transaction
        .execute_batch("CREATE TABLE IF NOT EXISTS synthmark_schema (version INTEGER NOT NULL)")
        .map_err(failed)?;
    let current: i64 = transaction
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM synthmark_schema",
            [],
            |row| row.get(0),
        )
        .map_err(failed)?;
    if current > MIGRATIONS.len() as i64 {
        return Err(Migration::Newer(current));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        transaction.execute_batch(sql).map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO synthmark_schema (version) VALUES (?1)",
                [index as i64 + 1],
            )
            .map_err(failed)?;
    }
    transaction.commit().map_err(failed)
}

/// SQLite's message, without the statement it quotes.
fn describe(err: &rusqlite::Error) -> StoreError {
    let mut text = err.to_string();
    for verb in [" in SELECT ", " in INSERT ", " in DELETE ", " in CREATE "] {
        if let Some(at) = text.find(verb) {
            text.truncate(at);
        }
    }
    StoreError::new(text)
}

/// SQLite's words for a file that is not a database, or a damaged one.
fn is_not_a_registry(reason: &str) -> bool {
    reason.contains("not a database") || reason.contains("malformed")
}

fn stored_from_row(row: &Row<'_>) -> rusqlite::Result<Stored> {
    let sha: Vec<u8> = row.get(2)?;
    let pdq: Option<Vec<u8>> = row.get(7)?;
    let quality: Option<i64> = row.get(8)?;
    let fingerprint = stored_fingerprint(pdq, quality);
    Ok(Stored {
        id: row.get(0)?,
        entry: Entry {
            asset_id: row.get(1)?,
            sha256: sha.try_into().unwrap_or([0; 32]),
            fingerprint,
            format: row.get(3)?,
            generator: row.get(4)?,
            manifest_store: row.get(5)?,
            created_at: row.get(6)?,
        },
    })
}

impl Store for SqliteStore {
    fn insert(&self, entries: &[Entry]) -> Result<Vec<i64>, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| describe(&e))?;
        let mut ids = Vec::with_capacity(entries.len());
        {
            let mut insert_entry = transaction
                .prepare_cached(
                    "INSERT INTO entries (asset_id, sha256, format, generator, manifest_store, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| describe(&e))?;
            let mut insert_fingerprint = transaction
                .prepare_cached(
                    "INSERT INTO fingerprints (entry, pdq, quality) VALUES (?1, ?2, ?3)",
                )
                .map_err(|e| describe(&e))?;
            let mut insert_word = transaction
                .prepare_cached(
                    "INSERT INTO pdq_words (position, word, entry, pdq) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| describe(&e))?;
            for entry in entries {
                let id = insert_entry
                    .insert(params![
                        entry.asset_id,
                        &entry.sha256[..],
                        entry.format,
                        entry.generator,
                        entry.manifest_store,
                        entry.created_at
                    ])
                    .map_err(|e| describe(&e))?;
                if let Some(fingerprint) = &entry.fingerprint {
                    insert_fingerprint
                        .execute(params![id, &fingerprint.hash.0[..], fingerprint.quality])
                        .map_err(|e| describe(&e))?;
                    if fingerprint.is_matchable() {
                        for position in 0..WORDS {
                            insert_word
                                .execute(params![
                                    position as i64,
                                    fingerprint.hash.word(position),
                                    id,
                                    &fingerprint.hash.0[..]
                                ])
                                .map_err(|e| describe(&e))?;
                        }
                    }
                }
                ids.push(id);
            }
        }
        transaction.commit().map_err(|e| describe(&e))?;
        Ok(ids)
    }

    fn by_asset_id(&self, asset_id: &str, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.select("e.asset_id = ?1", &asset_id, limit)
    }

    fn by_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<Stored>, StoreError> {
        self.select("e.sha256 = ?1", &&sha256[..], usize::MAX)
    }

    fn fingerprint_candidates(
        &self,
        probes: &[(usize, Vec<u16>)],
    ) -> Result<Vec<(i64, PdqHash)>, StoreError> {
        let connection = self.connection();
        // One cached statement for every probe: the words go in as a JSON array, which SQLite
        // reads as a list and seeks the primary key once per word (the same plan as an inlined
        // list, without parsing a new statement of ~140 numbers 16 times per check).
        let mut statement = connection
            .prepare_cached(
                "SELECT entry, pdq FROM pdq_words \
                 WHERE position = ?1 AND word IN (SELECT value FROM json_each(?2))",
            )
            .map_err(|e| describe(&e))?;
        let mut candidates = Vec::new();
        let mut list = String::new();
        for (position, words) in probes {
            list.clear();
            list.push('[');
            for (i, word) in words.iter().enumerate() {
                let comma = if i > 0 { "," } else { "" };
                let _ = write!(list, "{comma}{word}"); // writing to a String cannot fail
            }
            list.push(']');
            let rows = statement
                .query_map(rusqlite::params![*position as i64, list], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .map_err(|e| describe(&e))?;
            for row in rows {
                let (id, pdq) = row.map_err(|e| describe(&e))?;
                if let Ok(bytes) = pdq.try_into() {
                    candidates.push((id, PdqHash(bytes)));
                }
            }
        }
        Ok(candidates)
    }

    fn get(&self, id: i64) -> Result<Option<Stored>, StoreError> {
        let connection = self.connection();
        connection
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM entries e LEFT JOIN fingerprints f ON f.entry = e.id WHERE e.id = ?1"),
                [id],
                stored_from_row,
            )
            .optional()
            .map_err(|e| describe(&e))
    }

    fn delete(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction().map_err(|e| describe(&e))?;
        let mut deleted = 0;
        for &id in ids {
            let pdq: Option<Vec<u8>> = transaction
                .query_row("SELECT pdq FROM fingerprints WHERE entry = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| describe(&e))?;
            if let Some(Ok(bytes)) = pdq.map(<[u8; 32]>::try_from) {
                let hash = PdqHash(bytes);
                for position in 0..WORDS {
                    transaction
                        .execute(
                            "DELETE FROM pdq_words WHERE position = ?1 AND word = ?2 AND entry = ?3",
                            params![position as i64, hash.word(position), id],
                        )
                        .map_err(|e| describe(&e))?;
                }
            }
            transaction
                .execute("DELETE FROM fingerprints WHERE entry = ?1", [id])
                .map_err(|e| describe(&e))?;
            deleted += transaction
                .execute("DELETE FROM entries WHERE id = ?1", [id])
                .map_err(|e| describe(&e))? as u64;
        }
        transaction.commit().map_err(|e| describe(&e))?;
        Ok(deleted)
    }

    fn created_before(&self, unix_seconds: i64) -> Result<Vec<i64>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT id FROM entries WHERE created_at < ?1 ORDER BY id")
            .map_err(|e| describe(&e))?;
        let ids = statement
            .query_map([unix_seconds], |r| r.get(0))
            .map_err(|e| describe(&e))?;
        ids.collect::<Result<Vec<i64>, _>>()
            .map_err(|e| describe(&e))
    }

    fn count(&self) -> Result<u64, StoreError> {
        self.connection()
            .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| describe(&e))
    }
}
