//! A throwaway PostgreSQL server with production-like durability, for benchmarks whose
//! numbers depend on it (the backfill benchmark: commits, WAL, checkpoints).
//!
//! `cutover_db_postgres::cluster::TempCluster` turns `fsync`, `synchronous_commit` and
//! `full_page_writes` off, as tests want; a backfill measured that way would not pay for
//! its commits. This one keeps PostgreSQL's defaults for those and takes the settings the
//! benchmark names (shared_buffers, max_wal_size...), so the report can state them all.
//! Its own server also keeps the results free of other users' load on a shared server.

use anyhow::{Context, bail};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Server {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// The server runs as the `postgres` user when this process is root (PostgreSQL
    /// refuses to run as root).
    as_postgres: bool,
    /// The settings given on the command line, as `name=value`.
    pub settings: Vec<String>,
}

impl Server {
    /// `initdb` and start, on a free loopback port with trust authentication.
    pub fn start(settings: &[String]) -> anyhow::Result<Server> {
        let bin = cutover_db_postgres::cluster::find_server_binaries()
            .context("no PostgreSQL server binaries found (pg_config, /usr/lib/postgresql/*/bin, PATH)")?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("cutover-bench-pg-").tempdir()?.keep();
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let server = Server { dir, bin, port, as_postgres, settings: settings.to_vec() };
        if as_postgres {
            let status = Command::new("chown").arg("postgres:postgres").arg(&server.dir).status()?;
            if !status.success() {
                bail!("could not hand {} to the postgres user", server.dir.display());
            }
        }
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D".into(),
                data.display().to_string(),
                "-U".into(),
                "postgres".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C".into(),
                "-A".into(),
                "trust".into(),
            ],
        )?;
        let mut options = format!("-c listen_addresses=127.0.0.1 -p {} -k {}", server.port, server.dir.display());
        for s in &server.settings {
            options.push_str(&format!(" -c {s}"));
        }
        let log = server.dir.join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".into(),
                data.display().to_string(),
                "-l".into(),
                log.display().to_string(),
                "-o".into(),
                options,
                "-w".into(),
                "-t".into(),
                "120".into(),
                "start".into(),
            ],
        )?;
        Ok(server)
    }

    fn run(&self, program: &str, args: &[String]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C");
        let out = cmd.output().with_context(|| format!("running {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            );
        }
        Ok(())
    }

    /// The URL of `dbname` as the `postgres` superuser.
    pub fn url(&self, dbname: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{dbname}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D".into(), data, "-m".into(), "fast".into(), "-w".into(), "stop".into()]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
