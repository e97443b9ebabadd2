//! A served ledger for the web tests: the built-in determination 31/7421 on an in-memory
//! store, a token for each role the tests sign in as, and the whole router (API and
//! pages) on a real port of 127.0.0.1, as `grant-ledger serve` runs it.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use grant_ledger_domain::{builtin, Money, Role};
use grant_ledger_projections::{
    Api, Caller, DeterminationSource, HistoryFilter, Ledger, PayRequest, Session,
};
use grant_ledger_server::routes::{router, AppState};
use grant_ledger_store::{MemoryStore, SystemClock};

pub type Store = MemoryStore;

/// A running server and the tokens of its users.
pub struct Served {
    pub url: String,
    pub ledger: Arc<Ledger<Store>>,
    pub finance: String,
    pub south_west: String,
    pub auditor: String,
    _runtime: tokio::runtime::Runtime,
}

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

impl Served {
    /// The determination imported, tokens granted; with `paid_south_west`, South West paid
    /// in full (so it has money to spend).
    pub fn start(paid_south_west: bool) -> TestResult<Served> {
        let ledger = Arc::new(Ledger::with_store(MemoryStore::new(Arc::new(SystemClock)))?);
        let owner = Session::new(Arc::clone(&ledger), Caller::owner("owner"));
        let determination = builtin("31/7421").ok_or("no built-in 31/7421")??;
        owner.import_determination(
            None,
            &DeterminationSource::Builtin("31/7421".into()),
            determination,
        )?;
        let finance = owner.grant_access(None, "fiona", Role::Finance)?.token;
        let south_west = owner
            .grant_access(None, "sam", Role::Region("south-west".into()))?
            .token;
        let auditor = owner.grant_access(None, "alex", Role::Auditor)?.token;
        if paid_south_west {
            let fin = Session::new(Arc::clone(&ledger), ledger.authenticate(&finance)?);
            fin.pay(
                None,
                PayRequest {
                    determination: "31/7421".into(),
                    region: "South West".into(),
                    amount: Money::parse("260600")?,
                    date: date(2024, 8, 20),
                    reference: None,
                    late_reason: None,
                },
            )?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let (tx, head) = tokio::sync::watch::channel(ledger.head_position());
        ledger.on_commit(move |p| {
            let _ = tx.send(p);
        });
        // Never stopped: the runtime ends with the test.
        let (stop, stopping) = tokio::sync::watch::channel(false);
        std::mem::forget(stop);
        let app = runtime.block_on(async {
            router(AppState {
                ledger: Arc::clone(&ledger),
                head,
                stopping,
            })
        });
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Served {
            url,
            ledger,
            finance,
            south_west,
            auditor,
            _runtime: runtime,
        })
    }

    /// How many events the ledger holds.
    pub fn events(&self) -> usize {
        let owner = Session::new(Arc::clone(&self.ledger), Caller::owner("owner"));
        let mut n = 0;
        let _ = owner.history(&HistoryFilter::default(), &mut |_| {
            n += 1;
            Ok(())
        });
        n
    }
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}
