//! Scratch databases on a dev server, where SQL sources are applied and read back.

use crate::Error;
use crate::cluster::TempCluster;
use crate::connect::Target;
use cutover_sql::quote;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::OnceCell;
use tokio_postgres::Client;

/// A server where scratch databases can be created: the one `--dev-url` names, or a
/// throwaway cluster started on first use and removed when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct DevServer {
    inner: Arc<DevInner>,
}

#[derive(Debug)]
struct DevInner {
    url: Option<String>,
    started: OnceCell<(Target, Option<TempCluster>)>,
}

impl DevServer {
    /// `url` is `--dev-url`; `None` means a throwaway local cluster, started lazily.
    pub fn new(url: Option<String>) -> DevServer {
        DevServer { inner: Arc::new(DevInner { url, started: OnceCell::new() }) }
    }

    /// The admin target (the dev server's own database), starting the cluster if needed.
    pub async fn target(&self) -> Result<&Target, Error> {
        let (target, _) = self
            .inner
            .started
            .get_or_try_init(|| async {
                match &self.inner.url {
                    Some(url) => Ok((Target::parse(url)?, None)),
                    None => {
                        let cluster = tokio::task::spawn_blocking(TempCluster::start_private)
                            .await
                            .map_err(|e| Error::Cluster(e.to_string()))??;
                        Ok((Target::parse(&cluster.url("postgres"))?, Some(cluster)))
                    }
                }
            })
            .await?;
        Ok(target)
    }

    /// Creates an empty database for one source.
    pub async fn create_scratch(&self) -> Result<ScratchDb, Error> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin = self.target().await?.clone();
        let name = format!(
            "cutover_scratch_{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos()
        );
        let client = admin.connect().await?;
        client
            .batch_execute(&format!("CREATE DATABASE {} TEMPLATE template0", quote::ident(&name)))
            .await
            .map_err(|e| Error::query(format!("creating scratch database {name} on {}", admin.display), e))?;
        let target = admin.with_dbname(&name);
        Ok(ScratchDb { name, target, admin })
    }
}

/// A scratch database; call [`ScratchDb::remove`] when done.
#[derive(Debug)]
pub struct ScratchDb {
    pub name: String,
    pub target: Target,
    admin: Target,
}

impl ScratchDb {
    pub async fn connect(&self) -> Result<Client, Error> {
        self.target.connect().await
    }

    /// The dev server's admin target (its own database), which created this one.
    pub fn admin_target(&self) -> &Target {
        &self.admin
    }

    /// Drops the database, ending any session still connected to it.
    pub async fn remove(self) -> Result<(), Error> {
        let client = self.admin.connect().await?;
        let name = quote::ident(&self.name);
        let literal = quote::literal(&self.name);
        // Two messages: DROP DATABASE cannot run in the implicit transaction of a
        // multi-statement simple query.
        client
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {literal} AND pid <> pg_backend_pid()"
            ))
            .await
            .map_err(|e| Error::query(format!("ending sessions on scratch database {}", self.name), e))?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .map_err(|e| Error::query(format!("dropping scratch database {}", self.name), e))
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}
