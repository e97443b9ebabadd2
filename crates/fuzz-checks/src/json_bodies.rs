//! Every JSON request body of the server, sent through the whole router as a client would
//! (payments, spends, recoveries, reversals, access grants, built-in determinations): any
//! bytes get a 2xx or a 4xx answer, never a 5xx, and every refusal is a problem document
//! whose detail is one sentence. The first input byte picks the endpoint and its caller.

use std::cell::RefCell;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use grant_ledger_domain::{builtin, Role};
use grant_ledger_projections::{Api, Caller, DeterminationSource, Ledger, Session};
use grant_ledger_server::routes::{router, AppState};
use grant_ledger_store::{MemoryStore, SystemClock};
use tower::ServiceExt;

/// A served ledger holding 31/7421 and a token per role.
struct Served {
    runtime: tokio::runtime::Runtime,
    app: Router,
    ledger: Arc<Ledger<MemoryStore>>,
    admin: String,
    finance: String,
    region: String,
    /// Held, not dropped: the router's event stream would end with them.
    _senders: (
        tokio::sync::watch::Sender<u64>,
        tokio::sync::watch::Sender<bool>,
    ),
}

fn served() -> Served {
    let ledger = Arc::new(Ledger::with_store(MemoryStore::new(Arc::new(SystemClock))).unwrap());
    let owner = Session::new(Arc::clone(&ledger), Caller::owner("owner"));
    let determination = builtin("31/7421").unwrap().unwrap();
    owner
        .import_determination(
            None,
            &DeterminationSource::Builtin("31/7421".into()),
            determination,
        )
        .unwrap();
    let admin = owner.grant_access(None, "ada", Role::Admin).unwrap().token;
    let finance = owner
        .grant_access(None, "fiona", Role::Finance)
        .unwrap()
        .token;
    let region = owner
        .grant_access(None, "sam", Role::Region("south-west".into()))
        .unwrap()
        .token;
    let (tx, head) = tokio::sync::watch::channel(ledger.head_position());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let app = router(AppState {
        ledger: Arc::clone(&ledger),
        head,
        stopping,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Served {
        runtime,
        app,
        ledger,
        admin,
        finance,
        region,
        _senders: (tx, stop),
    }
}

thread_local! {
    static SERVED: RefCell<Option<Served>> = const { RefCell::new(None) };
}

pub fn json_bodies(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    SERVED.with(|cell| {
        let mut cell = cell.borrow_mut();
        // A fresh ledger now and then, so accepted writes do not grow it without end.
        if cell
            .as_ref()
            .map_or(true, |s| s.ledger.head_position() > 2000)
        {
            *cell = Some(served());
        }
        let s = cell.as_ref().unwrap();
        let (path, token) = match which % 6 {
            0 => ("/api/v1/payments", &s.finance),
            1 => ("/api/v1/spends", &s.region),
            2 => ("/api/v1/recoveries", &s.finance),
            3 => ("/api/v1/reversals", &s.finance),
            4 => ("/api/v1/access", &s.admin),
            _ => ("/api/v1/determinations", &s.admin),
        };
        let mut request = Request::post(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json");
        // Half the inputs carry a key, so the idempotent path is fuzzed too.
        if which & 0x80 != 0 {
            request = request.header("idempotency-key", format!("k-{}", which & 0x0f));
        }
        let request = request.body(Body::from(body.to_vec())).unwrap();
        let app = s.app.clone();
        let (status, bytes) = s.runtime.block_on(async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes)
        });
        assert!(
            !status.is_server_error(),
            "{path} answered {status} to {:?}: {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() {
            let problem: serde_json::Value =
                serde_json::from_slice(&bytes).expect("a refusal is a problem document");
            let detail = problem["detail"].as_str().expect("with a detail");
            assert!(!detail.is_empty() && !detail.contains('\n'), "{detail:?}");
            assert_eq!(problem["status"], status.as_u16());
        } else {
            assert!(
                matches!(status, StatusCode::OK | StatusCode::CREATED),
                "{status}"
            );
        }
    });
}
