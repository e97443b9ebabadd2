//! Test databases on the PostgreSQL of the machine: each test gets its own schema or
//! database, removed when dropped.
//!
//! Where to connect: `GL_TEST_POSTGRES` (a connection string to an administrative
//! database), else 127.0.0.1:5432 as `postgres`, then as `root`, database `postgres`. When
//! none answers, tests skip after ONE line on stderr; with `CI=true` they fail instead, so
//! CI cannot pass by skipping.
#![allow(dead_code)]

pub mod tls_proxy;

use std::io::Write;
use std::str::FromStr;
use std::sync::OnceLock;

use postgres::{Client, Config, NoTls};

fn candidates() -> Vec<String> {
    match std::env::var("GL_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => vec![url],
        _ => vec![
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres".into(),
            "host=127.0.0.1 port=5432 user=root dbname=postgres".into(),
        ],
    }
}

/// The administrative connection's configuration, or `None` (skip) after saying so once.
pub fn admin() -> Option<Config> {
    static FOUND: OnceLock<Option<Config>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            for c in candidates() {
                let Ok(config) = Config::from_str(&c) else { continue };
                if config.connect(NoTls).is_ok() {
                    return Some(config);
                }
            }
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but PostgreSQL does not answer at 127.0.0.1:5432 (set GL_TEST_POSTGRES)");
            }
            // Straight to the process's stderr: the test harness captures eprintln! of a
            // passing test, and this line is the one sign that tests were skipped.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL does not answer (127.0.0.1:5432, or GL_TEST_POSTGRES): skipping the tests that need it"
            );
            None
        })
        .clone()
}

/// A random name with `prefix`, lower-case so it needs no quoting.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("the OS gives random bytes");
    format!("{prefix}_{}", hex::encode(bytes))
}

fn admin_client(config: &Config) -> Client {
    config
        .connect(NoTls)
        .expect("the test database server answers")
}

/// A schema of its own in the administrative database, dropped (with everything in it)
/// when this is dropped. `config` connects with it as the search path.
pub struct TestSchema {
    admin: Config,
    pub name: String,
    pub config: Config,
}

impl TestSchema {
    pub fn new() -> Option<TestSchema> {
        let admin = admin()?;
        let name = unique("gl_test");
        admin_client(&admin)
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("create the test schema");
        let mut config = admin.clone();
        config.options(&format!("-c search_path={name}"));
        Some(TestSchema {
            admin,
            name,
            config,
        })
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// A database of its own, dropped when this is dropped (with `FORCE`, so a server killed
/// mid-test does not keep it). `url` is what a `--store` option takes.
pub struct TestDatabase {
    admin: Config,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn new() -> Option<TestDatabase> {
        let admin = admin()?;
        let name = unique("gl_test");
        admin_client(&admin)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let user = admin.get_user().unwrap_or("postgres");
        let url = format!("postgres://{user}@127.0.0.1:5432/{name}");
        Some(TestDatabase { admin, name, url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.connect(NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
