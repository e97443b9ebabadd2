//! One connection of the backend: reconnected when it was lost, whether it holds the
//! write transaction, and the statements prepared on it.

use std::collections::HashMap;

use grant_ledger_store::StoreError;
use postgres::types::ToSql;
use postgres::{Client, Statement};

use crate::connect::Connector;

/// A connection, reconnected when it was lost, whether it holds an open transaction, and
/// its prepared statements.
pub(crate) struct Conn {
    pub(crate) client: Option<Client>,
    pub(crate) in_transaction: bool,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    pub(crate) fn new(client: Option<Client>) -> Conn {
        Conn {
            client,
            in_transaction: false,
            statements: HashMap::new(),
        }
    }

    pub(crate) fn client(&mut self, connector: &Connector) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        match &mut self.client {
            Some(c) => Ok(c),
            slot @ None => {
                // Prepared statements belong to the connection that was lost.
                self.statements.clear();
                Ok(slot.insert(connector.connect()?))
            }
        }
    }

    pub(crate) fn cached(&mut self, connector: &Connector) -> Result<Cached<'_>, StoreError> {
        self.client(connector)?;
        match &mut self.client {
            Some(client) => Ok(Cached {
                client,
                statements: &mut self.statements,
            }),
            None => Err(StoreError::Database {
                problem: "the connection was lost while connecting".into(),
            }),
        }
    }
}

/// A client whose statements are prepared once per connection: a query by text costs a
/// round trip to prepare it and one to run it, and every append runs the same few.
pub(crate) struct Cached<'a> {
    client: &'a mut Client,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Cached<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }
}
