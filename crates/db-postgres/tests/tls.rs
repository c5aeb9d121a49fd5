//! Encrypted connections with libpq's `sslmode` meanings, against a throwaway server that
//! offers TLS with a certificate for `localhost` signed by a test CA made here.

use cutover_db_postgres::cluster::TempCluster;
use cutover_db_postgres::connect::Target;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::PathBuf;

struct Fixture {
    cluster: TempCluster,
    /// The CA that signed the server's certificate, and one that did not.
    ca: PathBuf,
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

fn fixture() -> Fixture {
    let (ca_params, ca_key, ca_pem) = ca("Cutover test CA");
    let (_, _, other_pem) = ca("Some other CA");
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "localhost");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_pem = server.signed_by(&server_key, &issuer).unwrap().pem();
    cutover_test_support::install_environment();
    let cluster = TempCluster::start_with_tls(&server_pem, &server_key.serialize_pem(), &[]).expect("a TLS cluster");
    let dir = tempfile::tempdir().unwrap();
    let (ca, other_ca) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&other_ca, other_pem).unwrap();
    Fixture { cluster, ca, other_ca, _dir: dir }
}

/// A connection string to the TLS cluster on `host` with the given query parameters.
fn url(f: &Fixture, host: &str, params: &str) -> String {
    let port = f.cluster.port();
    let sep = if params.is_empty() { "" } else { "?" };
    format!("postgresql://postgres@{host}:{port}/postgres{sep}{params}")
}

/// Whether the connection made from `url` is encrypted, or the connection error.
async fn encrypted(url: &str) -> Result<bool, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let client = target.connect().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

fn enc(s: &std::path::Path) -> String {
    s.display().to_string().replace('/', "%2F")
}

async fn disable_never_encrypts_and_prefer_encrypts_when_offered(f: &Fixture) {
    assert_eq!(encrypted(&url(f, "127.0.0.1", "sslmode=disable")).await, Ok(false));
    assert_eq!(encrypted(&url(f, "127.0.0.1", "")).await, Ok(true), "prefer is the default, as in libpq");
    assert_eq!(encrypted(&url(f, "127.0.0.1", "sslmode=allow")).await, Ok(true));
}

async fn require_encrypts_without_checking_the_certificate(f: &Fixture) {
    assert_eq!(encrypted(&url(f, "127.0.0.1", "sslmode=require")).await, Ok(true));
}

async fn require_with_a_root_certificate_checks_the_chain(f: &Fixture) {
    let ok = url(f, "127.0.0.1", &format!("sslmode=require&sslrootcert={}", enc(&f.ca)));
    assert_eq!(encrypted(&ok).await, Ok(true));
    let wrong = url(f, "127.0.0.1", &format!("sslmode=require&sslrootcert={}", enc(&f.other_ca)));
    let err = encrypted(&wrong).await.unwrap_err();
    assert!(err.contains("invalid peer certificate: UnknownIssuer"), "{err}");
}

async fn verify_full_checks_the_chain_and_the_host_name(f: &Fixture) {
    let params = format!("sslmode=verify-full&sslrootcert={}", enc(&f.ca));
    assert_eq!(encrypted(&url(f, "localhost", &params)).await, Ok(true));

    let err = encrypted(&url(f, "127.0.0.1", &params)).await.unwrap_err();
    assert!(err.contains("invalid peer certificate") && err.contains("127.0.0.1"), "{err}");

    let untrusted = format!("sslmode=verify-full&sslrootcert={}", enc(&f.other_ca));
    let err = encrypted(&url(f, "localhost", &untrusted)).await.unwrap_err();
    assert!(err.contains("invalid peer certificate: UnknownIssuer"), "{err}");
}

async fn verify_ca_checks_the_chain_but_not_the_host_name(f: &Fixture) {
    let ok = url(f, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={}", enc(&f.ca)));
    assert_eq!(encrypted(&ok).await, Ok(true));
    let untrusted = url(f, "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={}", enc(&f.other_ca)));
    assert!(encrypted(&untrusted).await.unwrap_err().contains("UnknownIssuer"));
}

async fn key_value_connection_strings_take_the_same_parameters(f: &Fixture) {
    let port = f.cluster.port();
    let kv = format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{}'",
        f.ca.display()
    );
    assert_eq!(encrypted(&kv).await, Ok(true));
}

async fn verification_without_a_root_certificate_says_what_to_add(f: &Fixture) {
    let err = encrypted(&url(f, "localhost", "sslmode=verify-full")).await.unwrap_err();
    assert!(
        err.ends_with(
            "sslmode=verify-full needs the server's root certificate: add sslrootcert=PATH to the connection string, or sslrootcert=system to trust the system's certificate authorities"
        ),
        "{err}"
    );
    let missing = url(f, "localhost", "sslmode=verify-full&sslrootcert=%2Fnonexistent%2Fca.pem");
    let err = encrypted(&missing).await.unwrap_err();
    assert!(err.contains("could not read the root certificate /nonexistent/ca.pem"), "{err}");
}

/// One TLS server for all the cases (each takes a second to start); it is stopped and
/// removed at the end, as every throwaway cluster must be.
#[tokio::test]
async fn sslmode_and_sslrootcert_mean_what_they_mean_in_libpq() {
    let f = fixture();
    disable_never_encrypts_and_prefer_encrypts_when_offered(&f).await;
    require_encrypts_without_checking_the_certificate(&f).await;
    require_with_a_root_certificate_checks_the_chain(&f).await;
    verify_full_checks_the_chain_and_the_host_name(&f).await;
    verify_ca_checks_the_chain_but_not_the_host_name(&f).await;
    key_value_connection_strings_take_the_same_parameters(&f).await;
    verification_without_a_root_certificate_says_what_to_add(&f).await;
}

/// A server that only speaks TLS 1.1, which rustls refuses: the handshake fails.
#[tokio::test]
async fn prefer_falls_back_to_plain_text_when_the_handshake_fails_and_require_does_not() {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    cutover_test_support::install_environment();
    let old = TempCluster::start_with_tls(
        &cert.pem(),
        &key.serialize_pem(),
        &["ssl_min_protocol_version=TLSv1", "ssl_max_protocol_version=TLSv1.1"],
    )
    .expect("a TLS 1.1 cluster");
    let base = format!("postgresql://postgres@127.0.0.1:{}/postgres", old.port());
    assert_eq!(encrypted(&base).await, Ok(false), "prefer connects without TLS, as libpq does");
    let err = encrypted(&format!("{base}?sslmode=require")).await.unwrap_err();
    assert!(err.contains("TLS"), "{err}");
}

#[tokio::test]
async fn require_fails_against_a_server_without_tls() {
    cutover_test_support::install_environment();
    let plain = TempCluster::start().expect("a cluster without TLS");
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres?sslmode=require", plain.port());
    let err = encrypted(&url).await.unwrap_err();
    assert!(err.contains("server does not support TLS"), "{err}");
    let prefer = format!("postgresql://postgres@127.0.0.1:{}/postgres", plain.port());
    assert_eq!(encrypted(&prefer).await, Ok(false), "prefer falls back to an unencrypted connection");
}

#[test]
fn bad_tls_parameters_are_one_sentence_naming_the_parameter() {
    let err = Target::parse("postgresql://u:secret@db/app?sslmode=on").unwrap_err().to_string();
    assert_eq!(
        err,
        "postgresql://u:***@db/app?sslmode=on is not a valid PostgreSQL connection string: sslmode \"on\" is not one of disable, allow, prefer, require, verify-ca, verify-full"
    );
    let err = Target::parse("postgresql://db/app?sslcert=%2Fc.pem").unwrap_err().to_string();
    assert!(err.ends_with("sslcert (TLS client certificates) is not supported yet"), "{err}");
}
