//! A TLS front for the machine's PostgreSQL, for tests of the store's TLS: it answers the
//! client's SSLRequest with "S", completes the TLS handshake with a certificate the test
//! made, and relays the decrypted stream to 127.0.0.1:5432 in plain text, as a database
//! with TLS switched on would behave. The machine's own server cannot be given a
//! certificate by a test, so the test brings its own endpoint.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SSLRequest message: length 8, then the code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 4, 210, 22, 47];

/// A certificate authority made for one test, and a server certificate it signed.
pub struct TestCa {
    /// The CA's certificate, PEM, in a file: what `sslrootcert` names.
    pub ca_file: PathBuf,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: PrivatePkcs8KeyDer<'static>,
}

impl TestCa {
    /// A CA whose server certificate names `hosts` (e.g. `127.0.0.1`), its PEM under `dir`.
    pub fn new(dir: &Path, hosts: &[&str]) -> TestCa {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let params =
            CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
                .expect("server params");
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("a server certificate");
        let ca_file = dir.join(format!("ca-{}.pem", std::process::id()));
        std::fs::write(&ca_file, ca.pem()).expect("write the CA file");
        TestCa {
            ca_file,
            server_chain: vec![cert.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// The running front: where it listens and how many TLS handshakes it completed.
pub struct TlsProxy {
    pub addr: SocketAddr,
    pub handshakes: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsProxy {
    pub fn start(ca: &TestCa) -> TlsProxy {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                ca.server_chain.clone(),
                PrivateKeyDer::Pkcs8(ca.server_key.clone_key()),
            )
            .expect("the server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&handshakes);
        runtime.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let mut first = [0u8; 8];
                    if client.read_exact(&mut first).await.is_err() || first != SSL_REQUEST {
                        return; // this front speaks only TLS
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    counted.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut upstream) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsProxy {
            addr,
            handshakes,
            _runtime: runtime,
        }
    }

    /// `url` (a `postgres://USER@127.0.0.1:5432/DB` of the machine) pointed at this front.
    pub fn url(&self, url: &str, query: &str) -> String {
        format!(
            "{}?{query}",
            url.replace("127.0.0.1:5432", &self.addr.to_string())
        )
    }
}
