//! The scratch server for SQL written by someone else: reachable only by the process that
//! started it, and started without that process's environment (its credentials).

use cutover_db_postgres::cluster::TempCluster;
use cutover_db_postgres::connect::Target;
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_server_inherits_nothing_of_the_environment() {
    cutover_test_support::install_environment();
    let cluster = TempCluster::start_private().expect("a private cluster");
    let pid = cluster.server_pid().expect("running");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the server's environment");
    let mut names: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).split('=').next().unwrap_or_default().to_string())
        .collect();
    names.sort();
    // PATH and LC_ALL are what Cutover gives it; PostgreSQL adds PG* variables of its own.
    let foreign: Vec<&String> =
        names.iter().filter(|n| !matches!(n.as_str(), "PATH" | "LC_ALL") && !n.starts_with("PG")).collect();
    assert!(foreign.is_empty(), "the server inherited {foreign:?} (all: {names:?})");
}

#[tokio::test]
async fn it_listens_on_a_private_socket_only_and_asks_for_a_password() {
    cutover_test_support::install_environment();
    let cluster = tokio::task::spawn_blocking(TempCluster::start_private).await.unwrap().expect("a private cluster");
    let socket_dir = cluster.dir().join("socket");
    let mode = std::fs::metadata(&socket_dir).expect("the socket directory").permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "socket directory mode");

    let client = Target::parse(&cluster.url("postgres")).unwrap().connect().await.expect("the owner connects");
    let listen: String = client.query_one("SHOW listen_addresses", &[]).await.unwrap().get(0);
    assert_eq!(listen, "");
    let hba: Vec<String> = client
        .query("SELECT auth_method FROM pg_hba_file_rules WHERE error IS NULL", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!hba.is_empty() && hba.iter().all(|m| m == "scram-sha-256"), "authentication methods: {hba:?}");

    // Without the password nobody gets in, not even as the superuser over the socket.
    let guess = format!("host={} port={} user=postgres dbname=postgres", socket_dir.display(), cluster.port());
    let err = Target::parse(&guess).unwrap().connect().await.expect_err("no password, no connection");
    assert!(err.to_string().contains("password"), "{err}");
    let wrong = format!("{guess} password=postgres");
    let err = Target::parse(&wrong).unwrap().connect().await.expect_err("a wrong password");
    assert!(err.to_string().contains("password authentication failed"), "{err}");
    // And the connection string never shows the password.
    assert!(!Target::parse(&cluster.url("postgres")).unwrap().display.contains(&password_of(&cluster.url("postgres"))));
}

fn password_of(conninfo: &str) -> String {
    conninfo.split_whitespace().find_map(|kv| kv.strip_prefix("password=")).unwrap().to_string()
}
