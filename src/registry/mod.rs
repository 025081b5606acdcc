//! The fingerprint and credential registry: the optional third layer of the Code of Practice.
//!
//! Every stamped output can be logged here: its watermark asset id, its PDQ fingerprint and
//! quality, the SHA-256 of the file, the signed manifest store (which names the signer), the generator
//! and the time. No pixels and no prompts are stored. A checker that finds an image here, by asset id,
//! exact hash or a PDQ fingerprint within Meta's match distance, can say "this came from us" even
//! after the metadata was stripped and the watermark damaged, and can hand back the original
//! credentials.
//!
//! One [`Store`] interface, two backends: SQLite ([`sqlite`], the embedded default: a file, zero
//! setup) and PostgreSQL ([`postgres`], shared by several stateless synthmark instances). Both
//! run their versioned migrations when opened. Nearest-neighbour lookup uses multi-index hashing:
//! the 256-bit hash is split into 16 words of 16 bits, and two hashes within 31 bits must agree
//! within one bit on at least one word (pigeonhole), so 16 × 17 indexed probes find every
//! candidate without scanning the table.

pub(crate) mod choice;
pub(crate) mod evidence;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::layers::fingerprint::{Dihedral, Fingerprint, PdqHash, MATCH_DISTANCE};

/// At most this many fingerprint matches are returned by [`Registry::find`], nearest first.
pub const MAX_FINGERPRINT_MATCHES: usize = 8;

/// Number of 16-bit words a PDQ hash is split into for multi-index hashing.
pub const WORDS: usize = 16;

/// What is logged for one stamped output.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The id the output's watermark carries (10 hex digits), when it was watermarked.
    pub asset_id: Option<String>,
    /// SHA-256 of the output file.
    pub sha256: [u8; 32],
    /// PDQ of the output's pixels; `None` for formats this build cannot decode (AVIF, HEIC).
    pub fingerprint: Option<Fingerprint>,
    /// MIME type of the output.
    pub format: String,
    /// The generating model, as declared at stamping.
    pub generator: Option<String>,
    /// The signed C2PA manifest store (JUMBF), as embedded in the output.
    pub manifest_store: Vec<u8>,
    /// When it was stamped, seconds since the Unix epoch.
    pub created_at: i64,
}

/// A logged entry with its row id.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub entry: Entry,
}

/// How a registry entry was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The asset id read from the image's watermark.
    AssetId,
    /// The file is byte-for-byte the stamped output.
    Sha256,
    /// The PDQ fingerprint is within the match distance (of the image or a rotation/mirror).
    Fingerprint { distance: u32 },
}

impl fmt::Display for MatchedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchedBy::AssetId => f.write_str("watermark asset id"),
            MatchedBy::Sha256 => f.write_str("identical file (SHA-256)"),
            MatchedBy::Fingerprint { distance } => {
                write!(f, "PDQ fingerprint, {distance}/256 bits apart")
            }
        }
    }
}

/// A registry entry that matches a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub stored: Stored,
    pub matched_by: MatchedBy,
    /// Bits between the entry's PDQ fingerprint and the image's (or a rotation's or mirror's),
    /// when both are known and matchable, however it was found.
    pub fingerprint_distance: Option<u32>,
}

/// What is known about an image being checked.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub asset_id: Option<String>,
    pub sha256: Option<[u8; 32]>,
    /// The image's PDQ and its dihedral variants; used only when its quality is matchable.
    pub fingerprint: Option<Dihedral>,
}

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("cannot open the registry at {location}: {reason}")]
    Open { location: String, reason: String },
    /// A query failed. The message leaves the location out: it reaches reports and HTTP
    /// answers, where a database address does not belong (`location` is there for logs).
    #[error("the registry failed: {reason}")]
    Query { location: String, reason: String },
    /// This build was made without the backend the location needs.
    #[error("cannot open the registry at {location}: this build has no {feature} support (build synthmark with the `{feature}` feature)")]
    Unsupported {
        location: String,
        feature: &'static str,
    },
    /// The file exists but is not a registry (or is corrupt).
    #[error("cannot open the registry at {location}: {reason} (the file is not a synthmark registry, or it is corrupt)")]
    NotARegistry { location: String, reason: String },
    #[error("registry {location} has schema version {found}, newer than this synthmark knows ({known}); upgrade synthmark")]
    NewerSchema {
        location: String,
        found: i64,
        known: i64,
    },
}

/// Why a storage backend could not answer: the database's own message, without the statement
/// it ran or the database's address (the [`Registry`] adds the location for logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }
}

/// The storage interface both backends implement. Every method is one short transaction.
pub trait Store: Send + Sync {
    /// Logs entries (in one transaction) and returns their ids.
    fn insert(&self, entries: &[Entry]) -> Result<Vec<i64>, StoreError>;
    /// The first `limit` entries (oldest first) whose watermark carried `asset_id`.
    fn by_asset_id(&self, asset_id: &str, limit: usize) -> Result<Vec<Stored>, StoreError>;
    /// Entries whose file had this SHA-256.
    fn by_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<Stored>, StoreError>;
    /// `(id, hash)` of every entry with a matchable fingerprint whose word `position` equals one
    /// of `words`, for each `(position, words)` probe. An entry found by several probes may
    /// appear more than once.
    fn fingerprint_candidates(
        &self,
        probes: &[(usize, Vec<u16>)],
    ) -> Result<Vec<(i64, PdqHash)>, StoreError>;
    /// One entry by id.
    fn get(&self, id: i64) -> Result<Option<Stored>, StoreError>;
    /// Deletes entries by id; returns how many were deleted.
    fn delete(&self, ids: &[i64]) -> Result<u64, StoreError>;
    /// Ids of entries created before `unix_seconds`.
    fn created_before(&self, unix_seconds: i64) -> Result<Vec<i64>, StoreError>;
    /// Number of entries.
    fn count(&self) -> Result<u64, StoreError>;
}

/// A registry: a [`Store`] and where it lives.
pub struct Registry {
    store: Box<dyn Store>,
    location: String,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("location", &self.location)
            .finish()
    }
}

/// Where a registry lives, parsed from `--registry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (`sqlite:PATH` or a plain path).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

/// Why a registry location was refused. The location itself is never shown: it may hold a
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    #[error("the registry location is empty")]
    Empty,
    #[error("the registry location is a `{scheme}:` URL; only postgres:// URLs (and SQLite files) are supported")]
    Scheme { scheme: String },
    #[error("the registry location looks like a key=value connection string (not shown: it may hold a password); write it as a URL")]
    KeyValue,
}

impl LocationError {
    /// The accepted forms, for a hint.
    pub const FORMS: &'static str = "a file path (registry.sqlite, sqlite:/var/lib/synthmark/registry.sqlite) or postgres://user@host:5432/db";
}

impl Location {
    /// The cargo feature whose backend opens this location.
    pub fn feature(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }

    /// Parses `postgres://…`, `postgresql://…`, `sqlite:PATH` or a plain file path. Anything
    /// else that looks like a connection string (another URL scheme, libpq's `host=… user=…`
    /// form) is refused rather than taken for a file name.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_string()));
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        if path.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(LocationError::Scheme {
                scheme: scheme.chars().take(20).collect(),
            });
        }
        // libpq's keyword form: `host=db user=x password=y` (a path does not start `word=`).
        let first = path.split_whitespace().next().unwrap_or(path);
        if first.split_once('=').is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            return Err(LocationError::KeyValue);
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    /// The location for messages: a PostgreSQL password is replaced by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact_password(url),
        }
    }
}

impl Registry {
    /// Opens (creating if needed) the registry and runs its migrations.
    pub fn open(location: &Location) -> Result<Registry, RegistryError> {
        let shown = location.display();
        let store = open_store(location, &shown)?;
        Ok(Registry {
            store,
            location: shown,
        })
    }

    /// Opens an SQLite registry file.
    pub fn open_sqlite(path: &Path) -> Result<Registry, RegistryError> {
        Registry::open(&Location::Sqlite(path.to_path_buf()))
    }

    /// Where the registry lives (passwords redacted).
    pub fn location(&self) -> &str {
        &self.location
    }

    fn error(&self, cause: StoreError) -> RegistryError {
        RegistryError::Query {
            location: self.location.clone(),
            reason: cause.to_string(),
        }
    }

    /// Logs an entry; returns its id.
    pub fn register(&self, entry: &Entry) -> Result<i64, RegistryError> {
        let ids = self.register_all(std::slice::from_ref(entry))?;
        Ok(ids[0])
    }

    /// Logs entries in one transaction (all or none); returns their ids.
    pub fn register_all(&self, entries: &[Entry]) -> Result<Vec<i64>, RegistryError> {
        self.store.insert(entries).map_err(|e| self.error(e))
    }

    /// Every entry matching the query: every entry sharing the asset id (oldest first, at most
    /// [`choice::MAX_SHARING`] + 1, so that [`choice::choose`] can tell that the cap was
    /// passed), then exact hashes, then the nearest fingerprints by distance. Each carries its
    /// fingerprint's distance to the image when both are known; [`choice::choose`] decides which
    /// one, if any, is the image's.
    pub fn find(&self, query: &Query) -> Result<Vec<Match>, RegistryError> {
        let mut found: Vec<Match> = Vec::new();
        let image = query.fingerprint.filter(|d| d.original.is_matchable());
        let push = |stored: Stored, matched_by: MatchedBy, found: &mut Vec<Match>| {
            if !found.iter().any(|m| m.stored.id == stored.id) {
                let fingerprint_distance = image
                    .as_ref()
                    .and_then(|image| distance(image, stored.entry.fingerprint.as_ref()));
                found.push(Match {
                    stored,
                    matched_by,
                    fingerprint_distance,
                });
            }
        };
        if let Some(id) = &query.asset_id {
            let sharing = self
                .store
                .by_asset_id(id, choice::MAX_SHARING + 1)
                .map_err(|e| self.error(e))?;
            for stored in sharing {
                push(stored, MatchedBy::AssetId, &mut found);
            }
        }
        if let Some(sha) = &query.sha256 {
            for stored in self.store.by_sha256(sha).map_err(|e| self.error(e))? {
                push(stored, MatchedBy::Sha256, &mut found);
            }
        }
        if let Some(dihedral) = image {
            // The nearest few are fetched (each with its manifest store), not every match.
            for (id, distance) in self
                .nearest(&dihedral)?
                .into_iter()
                .take(MAX_FINGERPRINT_MATCHES)
            {
                if found.iter().any(|m| m.stored.id == id) {
                    continue;
                }
                // Deleted between the probe and now: not a match any more.
                if let Some(stored) = self.store.get(id).map_err(|e| self.error(e))? {
                    push(stored, MatchedBy::Fingerprint { distance }, &mut found);
                }
            }
        }
        Ok(found)
    }

    /// Ids and distances of fingerprints within [`MATCH_DISTANCE`] of the image or any of its
    /// rotations and mirrors, nearest first.
    pub fn nearest(&self, dihedral: &Dihedral) -> Result<Vec<(i64, u32)>, RegistryError> {
        let hashes: Vec<PdqHash> = std::iter::once(dihedral.original.hash)
            .chain(dihedral.variants)
            .collect();
        let probes = probes(&hashes);
        let mut candidates = self
            .store
            .fingerprint_candidates(&probes)
            .map_err(|e| self.error(e))?;
        candidates.sort_unstable_by_key(|(id, _)| *id);
        candidates.dedup_by_key(|(id, _)| *id);
        let mut best: Vec<(i64, u32)> = candidates
            .into_iter()
            .filter_map(|(id, stored)| {
                let distance = hashes.iter().map(|h| h.distance(&stored)).min()?;
                (distance <= MATCH_DISTANCE).then_some((id, distance))
            })
            .collect();
        best.sort_by_key(|&(id, distance)| (distance, id));
        Ok(best)
    }

    /// One entry by id.
    pub fn get(&self, id: i64) -> Result<Option<Stored>, RegistryError> {
        self.store.get(id).map_err(|e| self.error(e))
    }

    /// Deletes every entry with this asset id or SHA-256 (hex); returns how many.
    pub fn delete(&self, id_or_sha256: &str) -> Result<u64, RegistryError> {
        let text = id_or_sha256.trim().to_ascii_lowercase();
        let mut ids: Vec<i64> = self
            .store
            .by_asset_id(&text, usize::MAX)
            .map_err(|e| self.error(e))?
            .into_iter()
            .map(|s| s.id)
            .collect();
        if let Some(sha) = parse_sha256(&text) {
            ids.extend(
                self.store
                    .by_sha256(&sha)
                    .map_err(|e| self.error(e))?
                    .into_iter()
                    .map(|s| s.id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        self.store.delete(&ids).map_err(|e| self.error(e))
    }

    /// Deletes every entry created before `unix_seconds`; returns how many.
    pub fn prune_before(&self, unix_seconds: i64) -> Result<u64, RegistryError> {
        let ids = self
            .store
            .created_before(unix_seconds)
            .map_err(|e| self.error(e))?;
        let mut deleted = 0;
        for batch in ids.chunks(1000) {
            deleted += self.store.delete(batch).map_err(|e| self.error(e))?;
        }
        Ok(deleted)
    }

    /// Number of entries.
    pub fn count(&self) -> Result<u64, RegistryError> {
        self.store.count().map_err(|e| self.error(e))
    }
}

/// Bits between a stored fingerprint and the image or its nearest rotation or mirror; `None`
/// when there is no stored fingerprint or it is too unreliable to match on.
fn distance(image: &Dihedral, stored: Option<&Fingerprint>) -> Option<u32> {
    let stored = stored.filter(|f| f.is_matchable())?;
    std::iter::once(image.original.hash)
        .chain(image.variants)
        .map(|hash| hash.distance(&stored.hash))
        .min()
}

/// The multi-index probes for a set of hashes: for each word position, the word of every hash
/// and every value one bit away from it.
fn probes(hashes: &[PdqHash]) -> Vec<(usize, Vec<u16>)> {
    (0..WORDS)
        .map(|position| {
            let mut words: Vec<u16> = hashes
                .iter()
                .flat_map(|hash| {
                    let word = hash.word(position);
                    std::iter::once(word).chain((0..16).map(move |bit| word ^ (1 << bit)))
                })
                .collect();
            words.sort_unstable();
            words.dedup();
            (position, words)
        })
        .collect()
}

/// A stored fingerprint from its columns; `None` when there is none or it is malformed.
/// The backend for `location`, when this build has it.
fn open_store(location: &Location, shown: &str) -> Result<Box<dyn Store>, RegistryError> {
    match location {
        #[cfg(feature = "sqlite")]
        Location::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(path, shown)?)),
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Box::new(postgres::PostgresStore::open(url, shown)?)),
        #[allow(unreachable_patterns)]
        _ => Err(RegistryError::Unsupported {
            location: shown.to_string(),
            feature: location.feature(),
        }),
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn stored_fingerprint(pdq: Option<Vec<u8>>, quality: Option<i64>) -> Option<Fingerprint> {
    Some(Fingerprint {
        hash: PdqHash(pdq?.try_into().ok()?),
        quality: quality?.clamp(0, 100) as u8,
    })
}

/// Parses a SHA-256 written as 64 hex digits.
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    crate::hex::decode_32(text)
}

/// Lower-case hex, as SHA-256 digests are shown.
pub(crate) fn hex(bytes: &[u8]) -> String {
    crate::hex::encode(bytes)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also `password=…` keys.
fn redact_password(url: &str) -> String {
    let mut shown = url.to_string();
    if let Some(scheme_end) = shown.find("://") {
        let rest_start = scheme_end + 3;
        // The driver takes the user information up to the first `@`, so a password may contain
        // `/`, `?` or `:`; only the host part ends at them.
        if let Some(at) = shown[rest_start..].find('@') {
            let userinfo = &shown[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                shown.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(start) = shown.find("password=") {
        let value_start = start + "password=".len();
        let value_end = shown[value_start..]
            .find(['&', ' '])
            .map_or(shown.len(), |i| value_start + i);
        shown.replace_range(value_start..value_end, "***");
    }
    shown
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_hide_passwords() {
        assert_eq!(
            Location::parse("postgres://u:pw@db:5432/x").unwrap(),
            Location::Postgres("postgres://u:pw@db:5432/x".into())
        );
        assert_eq!(
            Location::parse("sqlite:/tmp/r.db").unwrap(),
            Location::Sqlite("/tmp/r.db".into())
        );
        assert_eq!(
            Location::parse("r.db").unwrap(),
            Location::Sqlite("r.db".into())
        );
        for refused in [
            "host=db user=me password=secret dbname=x",
            "mysql://u:secret@db/x",
            "",
            "sqlite:",
        ] {
            let err = Location::parse(refused).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
        assert_eq!(
            Location::parse("postgres://u:pw@db:5432/x")
                .unwrap()
                .display(),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(
            Location::parse("postgresql://db/x?password=pw&sslmode=disable")
                .unwrap()
                .display(),
            "postgresql://db/x?password=***&sslmode=disable"
        );
        assert_eq!(
            Location::parse("postgres://u@127.0.0.1/test")
                .unwrap()
                .display(),
            "postgres://u@127.0.0.1/test"
        );
        assert_eq!(
            Location::parse("postgres://u:pa/s?s:w@db/x")
                .unwrap()
                .display(),
            "postgres://u:***@db/x"
        );
    }

    #[test]
    fn every_hash_within_the_match_distance_shares_a_probed_word() {
        // Pigeonhole: 31 differing bits over 16 words leave a word with at most one.
        let base = PdqHash([0x5a; 32]);
        let mut near = base;
        for k in 0..31 {
            let byte = (k * 37) % 32;
            near.0[byte] ^= 1 << (k % 8);
        }
        assert!(base.distance(&near) <= MATCH_DISTANCE);
        let probes = probes(&[base]);
        assert_eq!(probes.len(), WORDS);
        assert!(probes.iter().all(|(_, words)| words.len() == 17));
        assert!(probes
            .iter()
            .any(|(position, words)| words.contains(&near.word(*position))));
    }
}
