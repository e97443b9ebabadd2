//! What the PostgreSQL benchmarks share: the connection the tests use, a database of each
//! run's own, and the plain SQL baseline the backend is measured against.
//!
//! Included by `#[path]` into each bench that needs it, so some benches use only part.
#![allow(dead_code)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use postgres::{Config, NoTls};

type PgResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The server to use, found as the PostgreSQL tests find it: `GL_TEST_POSTGRES`, else
/// 127.0.0.1:5432 as `postgres`, then as `root`.
pub fn admin() -> Option<Config> {
    let candidates = match std::env::var("GL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => vec![url],
        _ => vec![
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres".to_string(),
            "host=127.0.0.1 port=5432 user=root dbname=postgres".to_string(),
        ],
    };
    candidates
        .iter()
        .filter_map(|c| Config::from_str(c).ok())
        .find(|c| c.connect(NoTls).is_ok())
}

/// A database of its own, dropped at the end.
pub struct Db {
    pub admin: Config,
    pub name: String,
    pub config: Config,
    pub url: String,
}

impl Db {
    pub fn new(admin: &Config, tag: &str) -> PgResult<Db> {
        let name = format!("gl_bench_{tag}_{}", std::process::id());
        let mut c = admin.connect(NoTls)?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let mut config = admin.clone();
        config.dbname(&name);
        let user = admin.get_user().unwrap_or("postgres");
        let url = format!("postgres://{user}@127.0.0.1:5432/{name}");
        Ok(Db {
            admin: admin.clone(),
            name,
            config,
            url,
        })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The baseline's tables: a one-row head and the log, durable commits.
pub const BASELINE_SCHEMA: &str =
    "CREATE TABLE head (id boolean PRIMARY KEY, position bigint NOT NULL);
     INSERT INTO head VALUES (true, 0);
     CREATE TABLE log (position bigint PRIMARY KEY, envelope bytea NOT NULL);
     SET synchronous_commit = on";

/// Plain SQL: one transaction per event behind a head-row lock, for each envelope in turn.
pub fn baseline_inserts(db: &Db, envelopes: &[Vec<u8>]) -> PgResult<Duration> {
    let mut c = db.config.connect(NoTls)?;
    c.batch_execute(BASELINE_SCHEMA)?;
    let start = Instant::now();
    for envelope in envelopes {
        let mut tx = c.transaction()?;
        let row = tx.query_one("SELECT position FROM head FOR UPDATE", &[])?;
        let next: i64 = row.try_get::<_, i64>(0)? + 1;
        tx.execute(
            "INSERT INTO log (position, envelope) VALUES ($1, $2)",
            &[&next, envelope],
        )?;
        tx.execute("UPDATE head SET position = $1", &[&next])?;
        tx.commit()?;
    }
    Ok(start.elapsed())
}
