//! `grant-ledger-server`: the ledger over HTTP, as the HTTP contract describes it
//! (`docs/reference/http.md`). It serialises the application layer's typed API
//! ([`grant_ledger_projections::Api`]) as JSON, answers every error as problem+json, and
//! authenticates every request under `/api/` by its bearer token. It decides nothing
//! itself: every rule and every sentence comes from the layers below.
//!
//! - [`routes`]: the endpoints and the request bodies they take;
//! - [`auth`]: who a request comes from;
//! - [`body`]: reading bodies within the size limit, by content type;
//! - [`damage`]: a damaged ledger answers nothing (503 before any handler runs);
//! - [`events`]: the event stream (server-sent events);
//! - [`openapi`]: the OpenAPI document, generated from the handlers;
//! - [`problem`]: the one mapping from an error's kind to a status.
//!
//! The engine is the binary's choice: the server takes any `Ledger<S>`.

pub mod auth;
pub mod body;
pub mod damage;
pub mod events;
pub mod openapi;
pub mod problem;
pub mod routes;
mod run;
pub mod web;

pub use run::{serve, ServeConfig, ServeError, Tls};
