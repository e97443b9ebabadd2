//! Connecting: the store URL, what of it may be printed, TLS, and the session settings
//! every connection gets.
//!
//! TLS follows the URL's `sslmode`, with one deliberate difference from libpq: whenever TLS
//! is used, the server's certificate chain and host name are verified (`require`,
//! `verify-ca` and `verify-full` all mean verified TLS), because an encrypted channel to an
//! unverified peer protects a ledger from nobody who can intercept it. `disable` and
//! `prefer` (the default) connect in plain text, as suits the local socket or a trusted
//! network. The trusted authorities are the Mozilla roots, or only those of
//! `sslrootcert=FILE` (PEM) when the URL names one, as a department's own CA would be.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use grant_ledger_store::{describe_io, StoreError};
use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error;

/// The `sslmode` values a store URL may give (libpq's, but for `allow`, which would try
/// plain text after TLS and so is not offered).
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

/// What is wrong with a store URL as written, before anything connects: `None` when it
/// reads. A sentence fragment naming the part at fault, without echoing the URL (it may
/// carry a password); the front end names its own option. Malformed input, not an
/// unavailable database: the same URL can never work.
pub fn url_problem(url: &str) -> Option<String> {
    let url = url.trim();
    let pairs: Vec<&str> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        url.split_once('?')
            .map_or_else(Vec::new, |(_, query)| query.split('&').collect())
    } else {
        url.split_whitespace().collect()
    };
    for pair in pairs {
        if let Some(("sslmode", mode)) = pair.split_once('=') {
            let mode = mode.trim_matches('\'');
            if !SSL_MODES.contains(&mode) {
                // Quoted short and escaped, so a refusal stays one line.
                let shown: String = mode.chars().take(40).collect();
                return Some(format!(
                    "sslmode \"{}\" is not one of {}",
                    shown.escape_debug(),
                    SSL_MODES.join(", ")
                ));
            }
        }
    }
    let (rest, _, _) = take_tls_options(url);
    Config::from_str(&rest).err().map(|_| {
        "it is not a PostgreSQL connection string (postgres://USER@HOST:PORT/DATABASE)".to_string()
    })
}

/// A parsed store URL and, when it asks for TLS, the verifying connector: everything a
/// new connection needs, made once when the store opens.
#[derive(Clone)]
pub(crate) struct Connector {
    config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl Connector {
    /// Parses a `postgres://` URL (or libpq key=value string). A malformed one is refused
    /// without echoing it, since it may carry a password.
    pub(crate) fn parse(url: &str) -> Result<Connector, StoreError> {
        let (url, root_cert, verify) = take_tls_options(url);
        let mut config = Config::from_str(&url).map_err(|_| StoreError::Database {
            problem: "the store URL is not a PostgreSQL connection string (postgres://USER@HOST:PORT/DATABASE)".into(),
        })?;
        if verify {
            config.ssl_mode(SslMode::Require);
        }
        Connector::new(config, root_cert.as_deref())
    }

    /// From a parsed configuration: TLS when its `sslmode` is `require`, trusting the
    /// certificates of `root_cert` if given, else the Mozilla roots.
    pub(crate) fn new(config: Config, root_cert: Option<&Path>) -> Result<Connector, StoreError> {
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(MakeRustlsConnect::new(client_config(root_cert)?)),
            _ => None,
        };
        Ok(Connector { config, tls })
    }

    #[cfg(test)]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A new connection with the settings the store relies on: a commit is acknowledged
    /// only once it is durable (`synchronous_commit = on`, whatever the server's default),
    /// and reads see the latest commit (`read committed`).
    pub(crate) fn connect(&self) -> Result<Client, StoreError> {
        let connected = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        };
        let mut client = connected.map_err(|e| error::db(&e, "connecting"))?;
        client
            .batch_execute(
                "SET synchronous_commit = on; \
                 SET default_transaction_isolation = 'read committed'; \
                 SET application_name = 'grant-ledger'",
            )
            .map_err(|e| error::db(&e, "setting up the session"))?;
        Ok(client)
    }

    /// `postgres://user@host:port/database`: the URL without its password, for messages.
    pub(crate) fn place(&self) -> String {
        let config = &self.config;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let db = config.get_dbname().unwrap_or("");
        format!("postgres://{user}{host}:{port}/{db}")
    }
}

/// The options the driver does not know, taken out of the URL: `sslrootcert=FILE`, and
/// `sslmode=verify-ca|verify-full` (returned as "verify", and left out). Both the URL form
/// (`?a=b&c=d`) and the key=value form are read.
fn take_tls_options(url: &str) -> (String, Option<PathBuf>, bool) {
    let mut root_cert = None;
    let mut verify = false;
    let mut keep = |pair: &str| -> bool {
        match pair.split_once('=') {
            Some(("sslrootcert", file)) => {
                root_cert = Some(PathBuf::from(file.trim_matches('\'')));
                false
            }
            Some(("sslmode", "verify-ca" | "verify-full")) => {
                verify = true;
                false
            }
            _ => true,
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query.split('&').filter(|p| keep(p)).collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        let kept: Vec<&str> = url.split_whitespace().filter(|p| keep(p)).collect();
        kept.join(" ")
    };
    (rest, root_cert, verify)
}

/// rustls with the ring provider (the one the server's TLS uses), TLS 1.2 and 1.3.
fn client_config(root_cert: Option<&Path>) -> Result<rustls::ClientConfig, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(file) => {
            let unreadable = |why: String| StoreError::Database {
                problem: format!(
                    "the certificate file {} named by sslrootcert {why}",
                    file.display()
                ),
            };
            let pem = std::fs::read(file)
                .map_err(|e| unreadable(format!("cannot be read ({})", describe_io(&e))))?;
            let mut found = 0;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|_| unreadable("is not PEM".into()))?;
                roots
                    .add(cert)
                    .map_err(|_| unreadable("holds a certificate rustls cannot use".into()))?;
                found += 1;
            }
            if found == 0 {
                return Err(unreadable("holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| StoreError::Database {
            problem: "TLS could not be set up (no protocol version in common)".into(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_sslmode_is_named_before_anything_connects() {
        assert_eq!(
            url_problem("postgres://u:secret@h:5432/db?sslmode=requried").as_deref(),
            Some("sslmode \"requried\" is not one of disable, prefer, require, verify-ca, verify-full")
        );
        assert!(url_problem("host=h user=u sslmode=bogus").is_some());
        for good in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            assert_eq!(
                url_problem(&format!("postgres://u@h/db?sslmode={good}")),
                None
            );
        }
        assert!(url_problem("postgres://u@h:notaport/db")
            .is_some_and(|p| p.contains("not a PostgreSQL connection string")));
    }

    #[test]
    fn sslrootcert_is_taken_out_of_a_url() {
        let (url, cert, verify) =
            take_tls_options("postgres://u@h:5432/db?sslmode=require&sslrootcert=/ca.pem");
        assert_eq!(url, "postgres://u@h:5432/db?sslmode=require");
        assert_eq!(cert, Some(PathBuf::from("/ca.pem")));
        assert!(!verify);
    }

    #[test]
    fn verify_full_becomes_require() {
        let (url, _, verify) = take_tls_options("postgres://u@h/db?sslmode=verify-full");
        assert_eq!(url, "postgres://u@h/db");
        assert!(verify);
        let c = Connector::parse("postgres://u@h/db?sslmode=verify-full").unwrap();
        assert_eq!(c.config().get_ssl_mode(), SslMode::Require);
        assert!(c.tls.is_some());
    }

    #[test]
    fn key_value_strings_are_read_too() {
        let (rest, cert, verify) =
            take_tls_options("host=h user=u sslmode=verify-ca sslrootcert=/x.pem");
        assert_eq!(rest, "host=h user=u");
        assert_eq!(cert, Some(PathBuf::from("/x.pem")));
        assert!(verify);
    }

    #[test]
    fn prefer_and_disable_connect_in_plain_text() {
        for mode in ["prefer", "disable"] {
            let c = Connector::parse(&format!("postgres://u@h/db?sslmode={mode}")).unwrap();
            assert!(c.tls.is_none(), "{mode}");
        }
        assert!(Connector::parse("postgres://u@h/db").unwrap().tls.is_none());
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let Err(StoreError::Database { problem }) =
            Connector::parse("postgres://u@h/db?sslmode=require&sslrootcert=/no/such/ca.pem")
        else {
            panic!("a missing sslrootcert must be refused");
        };
        assert!(problem.contains("/no/such/ca.pem"), "{problem}");
    }

    #[test]
    fn a_password_is_never_in_the_place() {
        let c = Connector::parse("postgres://u:secret@h:5433/db").unwrap();
        assert_eq!(c.place(), "postgres://u@h:5433/db");
    }
}
