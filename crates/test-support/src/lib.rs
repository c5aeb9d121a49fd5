//! Test support: a PostgreSQL server for the tests, and a fresh database per test.
//!
//! The server is found or started once per test process, in this order:
//! 1. `CUTOVER_TEST_DATABASE_URL` (a superuser connection; its database is the admin DB);
//! 2. a reachable local server (`postgres@127.0.0.1:5432`, then the Debian socket);
//! 3. a throwaway cluster from the installed server binaries, removed at exit.
//!
//! If none is possible the test fails with the exact command that installs PostgreSQL.
//! Every test gets its own database, so tests run in parallel.

use cutover_db_postgres::cluster::{INSTALL_HINT, TempCluster, find_server_binaries};
use cutover_db_postgres::connect::Target;
use cutover_db_postgres::scratch::DevServer;
use cutover_sql::quote;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
pub use tokio_postgres::Client;

struct Server {
    admin_url: String,
    _cluster: Option<TempCluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// Local servers tried before starting one.
const LOCAL_CANDIDATES: &[&str] =
    &["postgresql://postgres@127.0.0.1:5432/postgres", "host=/var/run/postgresql user=postgres dbname=postgres"];

/// Runs a future to completion on a private runtime on its own thread, so it works from
/// inside or outside a test's runtime.
fn block_on<F: std::future::Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for test support")
                .block_on(future)
        })
        .join()
        .expect("test support thread")
    })
}

/// Hands the PostgreSQL adapter the environment, as the binary does (CUTOVER_PG_BINDIR
/// above all): for tests that start a `TempCluster` themselves. Idempotent.
pub fn install_environment() {
    let environment = cutover_db_postgres::environment::Environment::from_vars(|name| std::env::var_os(name));
    cutover_db_postgres::environment::install(environment);
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        install_environment();
        if let Ok(url) = std::env::var("CUTOVER_TEST_DATABASE_URL") {
            if let Err(e) = block_on(probe(&url)) {
                panic!("CUTOVER_TEST_DATABASE_URL is set but unusable: {e}");
            }
            return Server { admin_url: url, _cluster: None };
        }
        for url in LOCAL_CANDIDATES {
            if block_on(probe(url)).is_ok() {
                return Server { admin_url: url.to_string(), _cluster: None };
            }
        }
        if find_server_binaries().is_none() {
            panic!(
                "no PostgreSQL for the tests: set CUTOVER_TEST_DATABASE_URL, start a local server, or install one with `{INSTALL_HINT}`"
            );
        }
        let cluster = TempCluster::start().unwrap_or_else(|e| panic!("could not start a throwaway PostgreSQL: {e}"));
        Server { admin_url: cluster.url("postgres"), _cluster: Some(cluster) }
    })
}

async fn probe(url: &str) -> Result<(), String> {
    let client = Target::parse(url).map_err(|e| e.to_string())?.connect().await.map_err(|e| e.to_string())?;
    let superuser: bool = client
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    if superuser {
        Ok(())
    } else {
        Err(format!("{} is not a superuser connection", cutover_db_postgres::connect::redact(url)))
    }
}

/// The admin connection string of the test server.
pub fn admin_url() -> &'static str {
    &server().admin_url
}

/// A dev server for SQL sources, on the test server.
pub fn dev_server() -> DevServer {
    DevServer::new(Some(admin_url().to_string()))
}

/// A fresh, empty database, dropped when this value is dropped.
pub struct TestDb {
    pub name: String,
    pub target: Target,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestDb({})", self.name)
    }
}

impl TestDb {
    pub async fn new() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin = Target::parse(admin_url()).expect("admin url");
        let name = format!("cutover_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let client = admin.connect().await.expect("connect to the test server");
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {0}", quote::ident(&name)))
            .await
            .expect("drop a leftover test database");
        client
            .batch_execute(&format!("CREATE DATABASE {} TEMPLATE template0", quote::ident(&name)))
            .await
            .expect("create a test database");
        let target = admin.with_dbname(&name);
        TestDb { name, target }
    }

    pub async fn connect(&self) -> Client {
        self.target.connect().await.expect("connect to the test database")
    }

    /// A `postgresql://` URL for this database, for the CLI.
    pub fn url(&self) -> String {
        let config = &self.target.config;
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => format!("{}", p.display()).replace('/', "%2F"),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        format!("postgresql://{user}@{host}:{port}/{}", self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            let Ok(admin) = Target::parse(admin_url()) else { return };
            let Ok(client) = admin.connect().await else { return };
            let _ = client
                .batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}",
                    quote::literal(&name)
                ))
                .await;
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote::ident(&name))).await;
        });
    }
}

/// Creates a role on the test server unless it exists (roles are server-wide).
pub async fn ensure_role(name: &str) {
    let admin = Target::parse(admin_url()).expect("admin url");
    let client = admin.connect().await.expect("connect to the test server");
    let sql = format!(
        "DO $$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        quote::ident(name)
    );
    client.batch_execute(&sql).await.expect("create role");
}
