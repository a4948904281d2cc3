//! `carbon serve --tls-cert --tls-key` on loopback with a certificate made
//! here (a throw-away CA and a leaf for 127.0.0.1 and localhost): a TLS
//! client that trusts the CA is served, a plaintext client and a TLS client
//! without the CA are not; `carbon submit --ca` and `carbon audit supply
//! --server --ca` work over TLS.

mod grpc_support;

use std::path::{Path, PathBuf};

use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::ledger_client::LedgerClient;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// A CA and a server certificate it signed, as PEM files in `dir`.
fn make_pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Carbon Ledger test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let pki = Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
    std::fs::write(&pki.cert, leaf.pem()).unwrap();
    std::fs::write(&pki.key, leaf_key.serialize_pem()).unwrap();
    pki
}

async fn tls_channel(url: String, ca: Option<&Path>) -> Result<Channel, tonic::transport::Error> {
    let config = match ca {
        Some(ca) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap())),
        None => ClientTlsConfig::new().with_native_roots(),
    };
    Channel::from_shared(url).unwrap().tls_config(config)?.connect().await
}

#[tokio::test]
async fn tls_with_the_ca_works_and_plaintext_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let server = Server::with_test_genesis_and(
        dir.path(),
        &[
            "--tls-cert",
            pki.cert.to_str().unwrap(),
            "--tls-key",
            pki.key.to_str().unwrap(),
        ],
    );
    let port = server.addr.port();

    // A TLS client that trusts the CA: by IP address and by name.
    for host in ["127.0.0.1", "localhost"] {
        let ch = tls_channel(format!("https://{host}:{port}"), Some(&pki.ca))
            .await
            .unwrap_or_else(|e| panic!("TLS to {host}: {e:?}"));
        let cp = LedgerClient::new(ch)
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .expect("a checkpoint over TLS");
        assert_eq!(cp.into_inner().tree_size, 1);
    }
    let mut c = LedgerClient::new(
        tls_channel(format!("https://127.0.0.1:{port}"), Some(&pki.ca))
            .await
            .unwrap(),
    );
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;

    // Plaintext: refused (the connection or the call fails).
    let plain = async {
        let ch = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .map_err(|e| format!("{e:?}"))?;
        LedgerClient::new(ch)
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .map_err(|e| format!("{e:?}"))
    };
    assert!(plain.await.is_err(), "a plaintext client was served");

    // TLS without the CA: the certificate is not trusted.
    let untrusted = async {
        let ch = tls_channel(format!("https://127.0.0.1:{port}"), None)
            .await
            .map_err(|e| format!("{e:?}"))?;
        LedgerClient::new(ch)
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .map_err(|e| format!("{e:?}"))
    };
    assert!(untrusted.await.is_err(), "a client without the CA was served");

    // The command line: `--ca` with host:port means https.
    let op_file = write_test_key_file(dir.path(), OPERATOR);
    let run = |args: &[&str]| {
        std::process::Command::new(carbon_bin())
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    };
    let addr = server.addr.to_string();
    let deposit = json!({"cmd": "deposit", "account": "NB-POWER", "amount": "5.00"}).to_string();
    // `carbon submit` of the deposit to `server`, with `tls` options first.
    let submit = |server: &str, tls: &[&str]| {
        let mut args = vec!["submit", "--server", server];
        args.extend_from_slice(tls);
        args.extend(["--key", op_file.to_str().unwrap(), "--actor", OPERATOR, &deposit]);
        run(&args)
    };
    let ok = submit(&addr, &["--ca", pki.ca.to_str().unwrap()]);
    assert!(ok.status.success(), "carbon submit --ca: {ok:?}");
    let no_ca = submit(&format!("https://{addr}"), &[]);
    assert!(!no_ca.status.success(), "carbon submit without --ca was served");
    let plain = submit(&addr, &[]);
    assert!(!plain.status.success(), "carbon submit in plaintext was served");
    let supply = run(&[
        "audit",
        "supply",
        "--server",
        &format!("https://localhost:{port}"),
        "--ca",
        pki.ca.to_str().unwrap(),
        "--json",
    ]);
    assert!(supply.status.success(), "carbon audit supply --ca: {supply:?}");
    assert!(
        String::from_utf8_lossy(&supply.stdout).contains("ZJEA-2025"),
        "{supply:?}"
    );
    assert_eq!(account(&mut c, "NB-POWER").await.cash_available, "5.00");
}
