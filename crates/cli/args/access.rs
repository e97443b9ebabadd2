//! The arguments of `access grant | list | revoke`.

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Create an access token and print it, once
    #[command(
        long_about = "Create an access token for a person or a system and print it once (JSON: {name, role, token}). \
ROLE is admin, finance, region:SLUG (e.g. region:south-west), auditor or reader. Names are \
unique among tokens not revoked. On a ledger directory it needs no token (whoever can open \
the directory owns the ledger: this is how the first admin token is made); with --server \
it needs an admin token.",
        after_help = "Example:\n  grant-ledger access grant --name ann --role finance"
    )]
    Grant(GrantArgs),
    /// Show every grant: name, role, granted_at, granted_by, revoked_at (never a token)
    #[command(after_help = "Example:\n  grant-ledger access list --format json")]
    List,
    /// Revoke a token: it is refused from the next request on
    #[command(after_help = "Example:\n  grant-ledger access revoke ann")]
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Who the token is for; recorded as the actor of everything done with it
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// admin, finance, region:SLUG, auditor or reader
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The name the token was granted to
    #[arg(value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    pub name: String,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}
