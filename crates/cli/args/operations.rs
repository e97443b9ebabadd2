//! The arguments of the commands on the ledger as a whole: `verify`, `checkpoint`,
//! `rebuild`, `migrate` and `serve`.

use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Receipts from `checkpoint` that the ledger must still extend
    #[arg(long, value_name = "RECEIPT", num_args = 1..)]
    pub against: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    #[command(subcommand)]
    pub action: Option<CheckpointCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Check a receipt's signature with a public key, with no ledger at all
    #[command(
        long_about = "Check that RECEIPT (from `checkpoint`) is signed by the public key K: 64 hex \
digits, or a file holding them. Needs no ledger. Exit 0 and one line when it is; exit 1 when \
it is not (an edited receipt, or another key); exit 2 when RECEIPT or K does not parse.",
        after_help = "Example:\n  grant-ledger checkpoint verify receipt.json --public-key ledger.pub"
    )]
    Verify(CheckpointVerifyArgs),
}

#[derive(Debug, Args)]
pub struct CheckpointVerifyArgs {
    /// The receipt file (JSON, as `checkpoint` prints it)
    #[arg(value_name = "RECEIPT")]
    pub receipt: PathBuf,
    /// The ledger's public key: 64 hex digits, or a file holding them
    #[arg(long = "public-key", value_name = "K")]
    pub public_key: String,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// Why the models are rebuilt, for the audit trail
    #[arg(long)]
    pub reason: String,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where to copy to: a PostgreSQL URL (postgres://...) or a ledger directory; it must hold no ledger yet
    #[arg(long, value_name = "DIR|URL", value_parser = NonEmptyStringValueParser::new())]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7421")]
    pub listen: String,
    /// A PEM certificate chain: with --tls-key, serve HTTPS only
    #[arg(long = "tls-cert", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long = "tls-key", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}
