//! Where a store is: `--db` (or `CHAINSCHED_DB`) names either a folder (the embedded sled
//! store) or a PostgreSQL database (`postgres://user@host:port/dbname`, also `postgresql://`).
//! [`ChainStore::open`] is the one place that turns that text into a store, so every command
//! accepts both the same way.
//!
//! Why an access mode: an engine writes, so on PostgreSQL it creates or migrates the schema and
//! opens the sessions engines need (docs/scale-out.md); views and `store check` only read, so
//! they neither create anything nor coordinate with engines, and they can read while engines
//! run. (sled allows one process at a time
//! whatever it does: the mode changes nothing there.)

use super::chain_store::ChainStore;
use super::layout::FORMAT_KEY;
use super::pg_store::{is_postgres_url, redact_url, PgAccess, PgOptions, PgStore};
use super::sled_store::SledOptions;
use super::{KvStore, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// The store folder used when neither `--db` nor `CHAINSCHED_DB` is given.
pub const DEFAULT_DB: &str = "./chainsched-data";
/// The environment variable that supplies `--db` when the flag is not given.
pub const DB_ENV: &str = "CHAINSCHED_DB";

/// A parsed `--db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A folder holding a sled store.
    Sled(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DbLocation {
    /// A `postgres://`/`postgresql://` URL is a database; another `scheme://` is refused (it is
    /// surely not meant as a folder); anything else is a folder.
    pub fn parse(db: &str) -> Result<DbLocation, StoreError> {
        if is_postgres_url(db) {
            return Ok(DbLocation::Postgres(db.trim().to_string()));
        }
        if let Some((scheme, _)) = db.split_once("://") {
            let plain = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if plain {
                return Err(StoreError::Open {
                    path: redact_url(db),
                    message: format!(
                        "'{scheme}://' is not a store chainsched knows: give a folder (the \
                         embedded sled store) or a postgres:// URL"
                    ),
                });
            }
        }
        if db.trim().is_empty() {
            return Err(StoreError::Open {
                path: db.to_string(),
                message: "an empty --db names no store".into(),
            });
        }
        Ok(DbLocation::Sled(PathBuf::from(db)))
    }

    /// How messages name it (a URL's password hidden).
    pub fn display(&self) -> String {
        match self {
            DbLocation::Sled(p) => p.display().to_string(),
            DbLocation::Postgres(url) => redact_url(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbLocation::Postgres(_))
    }
}

/// `db` as messages show it: a folder as given, a database URL with its password hidden.
pub fn display_db(db: &str) -> String {
    match DbLocation::parse(db) {
        Ok(loc) => loc.display(),
        Err(_) => redact_url(db),
    }
}

/// What the opener will do with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Run an engine: create the store if needed, write (on PostgreSQL, beside other engines).
    Engine,
    /// Read only (views, `store check`): never create or migrate; never write.
    Read,
}

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    pub access: Access,
    /// Used when the store is a sled folder.
    pub sled: SledOptions,
    /// Used when the store is a PostgreSQL database (its `access` is set from `access`).
    pub pg: PgOptions,
}

impl OpenOptions {
    /// Defaults for the given access.
    pub fn new(access: Access) -> OpenOptions {
        OpenOptions {
            access,
            sled: SledOptions::default(),
            pg: PgOptions::default(),
        }
    }
}

impl ChainStore {
    /// Open the store `db` names — a folder (sled) or a `postgres://` URL — for `options.access`
    /// (see [`DbLocation::parse`] and the module docs).
    pub fn open(db: &str, options: &OpenOptions) -> Result<ChainStore, StoreError> {
        match DbLocation::parse(db)? {
            DbLocation::Sled(path) => ChainStore::open_sled(&path, &options.sled),
            DbLocation::Postgres(url) => {
                let pg = PgOptions {
                    access: match options.access {
                        Access::Engine => PgAccess::Engine,
                        Access::Read => PgAccess::Read,
                    },
                    ..options.pg.clone()
                };
                let kv = PgStore::open(&url, &pg)?;
                let display = kv.display().to_string();
                if options.access == Access::Read && kv.get(FORMAT_KEY)?.is_none() {
                    // The schema is there but no engine has stamped the store yet: nothing to
                    // read, and a reader does not create the store.
                    return Err(StoreError::Open {
                        path: display,
                        message: "no chainsched store in this database yet (an engine \
                                  creates it: `chainsched run`, `resume` or `serve` with this \
                                  --db)"
                            .into(),
                    });
                }
                ChainStore::from_kv(Arc::new(kv), &display)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_text_names_a_folder_or_a_database() {
        assert_eq!(
            DbLocation::parse("./chainsched-data").unwrap(),
            DbLocation::Sled(PathBuf::from("./chainsched-data"))
        );
        assert!(DbLocation::parse("postgres://u@h:5432/d")
            .unwrap()
            .is_postgres());
        assert!(DbLocation::parse("postgresql://u@h/d")
            .unwrap()
            .is_postgres());
        let err = DbLocation::parse("mysql://u:pw@h/d")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'mysql://' is not a store"), "{err}");
        assert!(!err.contains("pw"), "passwords are not shown: {err}");
        assert!(DbLocation::parse("").is_err());
        // A folder whose name merely contains "://" after a path separator stays a folder.
        assert!(matches!(
            DbLocation::parse("/data/a://b").unwrap(),
            DbLocation::Sled(_)
        ));
        assert_eq!(
            DbLocation::parse("postgres://u:secret@h/d")
                .unwrap()
                .display(),
            "postgres://u:***@h/d"
        );
    }
}
