//! A throwaway PostgreSQL cluster started from the installed server binaries.
//!
//! `initdb` refuses to run as root, so when Cutover runs as root the cluster is created and
//! run as the `postgres` system user (which every distribution package creates). The server
//! processes start with a cleared environment (only `PATH` and the C locale), skip fsync,
//! and are shut down and deleted when the [`TempCluster`] is dropped.
//!
//! Two kinds: [`TempCluster::start`] listens on a free loopback port and trusts local
//! connections (tests, TLS checks); [`TempCluster::start_private`], the scratch server for
//! SQL written by someone else, listens on no TCP port at all, only on a Unix socket in a
//! directory of mode 0700, and asks for a random password (SCRAM) that only this process
//! knows: nothing else on the host can connect to it, by accident or otherwise.
//!
//! [`TempCluster::restart`] stops the server (fast, or immediately as in a crash) and starts it
//! again on the same port, for tests of clients that lose their server.
//!
//! A process that is killed cannot drop its cluster. Each cluster directory therefore names
//! its owner (pid and start time, in `owner`), and every start first stops and removes the
//! clusters whose owner is gone.

use crate::Error;
use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The exact command that installs PostgreSQL on Debian and Ubuntu, for error messages.
pub const INSTALL_HINT: &str = "apt-get install -y postgresql postgresql-contrib";

/// Where PostgreSQL server binaries live: `CUTOVER_PG_BINDIR`, `pg_config --bindir`, the
/// newest `/usr/lib/postgresql/*/bin` (Debian), or `initdb` on `PATH` (the variables as the
/// binary installed them, [`crate::environment`]).
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let environment = crate::environment::current();
    if let Some(dir) = environment.pg_bindir.clone() {
        return has_server(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_server(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    environment
        .path
        .as_ref()
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/local/pgsql/bin".into(), "/opt/homebrew/bin".into()])
        .find(|d| has_server(d))
}

/// A running throwaway cluster. Dropping it stops the server and deletes its files.
pub struct TempCluster {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// The superuser's password of a private cluster (which listens on a socket only).
    password: Option<String>,
    /// How the server is started, kept to start it again ([`TempCluster::start_again`]).
    launch: Option<Launch>,
}

/// The server's command line, but for the port.
#[derive(Clone)]
struct Launch {
    postgres: PathBuf,
    args: Vec<OsString>,
    run_as: Option<(u32, u32)>,
}

/// How [`TempCluster::stop_server`] shuts the server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// `pg_ctl -m fast` (SIGINT): sessions are ended, a checkpoint is written.
    Fast,
    /// `pg_ctl -m immediate` (SIGQUIT): every process quits at once, as in a crash; the
    /// next start runs crash recovery.
    Immediate,
}

impl std::fmt::Debug for TempCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempCluster")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("private", &self.password.is_some())
            .finish()
    }
}

/// The environment the server binaries run with: nothing of Cutover's (its credentials
/// above all), only what they need to find their helpers.
fn clean_env(cmd: &mut Command) {
    cmd.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin").env("LC_ALL", "C");
}

/// A random secret, hex-encoded: 32 bytes from the operating system.
pub(crate) fn random_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Cluster(format!("could not read random bytes: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl TempCluster {
    /// Creates and starts a cluster; takes about a second.
    pub fn start() -> Result<TempCluster, Error> {
        Self::start_with(None, &[], false)
    }

    /// A cluster reachable only by this process: a Unix socket in a private directory, no
    /// TCP port, and a random superuser password. The scratch server for request SQL.
    pub fn start_private() -> Result<TempCluster, Error> {
        Self::start_with(None, &[], true)
    }

    /// A cluster that also offers TLS on its TCP port, with the given PEM certificate
    /// (chain) and private key and further server settings (`name=value`, such as the TLS
    /// protocol versions it accepts): for tests of encrypted connections.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str, settings: &[&str]) -> Result<TempCluster, Error> {
        Self::start_with(Some((cert_pem, key_pem)), settings, false)
    }

    fn start_with(tls: Option<(&str, &str)>, settings: &[&str], private: bool) -> Result<TempCluster, Error> {
        let bin = find_server_binaries().ok_or_else(|| {
            Error::Cluster(format!(
                "no PostgreSQL server binaries found (looked at $CUTOVER_PG_BINDIR, pg_config, /usr/lib/postgresql/*/bin and PATH); install them with `{INSTALL_HINT}` or pass --dev-url"
            ))
        })?;
        let run_as = run_as_user()?;
        let dir = tempfile::Builder::new()
            .prefix("cutover-pg-")
            .tempdir_in(short_temp_dir())
            .map_err(|e| Error::Cluster(format!("could not create a temporary directory: {e}")))?
            .keep();
        let password = if private { Some(random_secret()?) } else { None };
        let mut cluster = TempCluster { dir, port: 0, child: None, password, launch: None };
        if let Some(me) = owner_stamp(std::process::id()) {
            let _ = fs::write(cluster.dir.join(OWNER_FILE), me);
        }
        remove_abandoned_clusters(&cluster.dir);
        if let Some((uid, gid)) = run_as {
            nix::unistd::chown(&cluster.dir, Some(uid.into()), Some(gid.into())).map_err(|e| {
                Error::Cluster(format!("could not hand {} to the postgres user: {e}", cluster.dir.display()))
            })?;
        }
        let data = cluster.dir.join("data");
        let hand_over = |path: &Path, what: &str| -> Result<(), Error> {
            if let Some((uid, gid)) = run_as {
                nix::unistd::chown(path, Some(uid.into()), Some(gid.into()))
                    .map_err(|e| Error::Cluster(format!("could not hand {what} to the postgres user: {e}")))?;
            }
            Ok(())
        };
        let private_file = |name: &str, text: &str| -> Result<PathBuf, Error> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let path = cluster.dir.join(name);
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| Error::Cluster(format!("could not write {name}: {e}")))?;
            hand_over(&path, name)?;
            Ok(path)
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .stdin(Stdio::null());
        let pwfile = match &cluster.password {
            Some(password) => {
                let pwfile = private_file("pwfile", password)?;
                initdb.args(["-A", "scram-sha-256"]).arg(format!("--pwfile={}", pwfile.display()));
                Some(pwfile)
            }
            None => {
                initdb.args(["-A", "trust"]);
                None
            }
        };
        clean_env(&mut initdb);
        as_user(&mut initdb, run_as);
        let out = initdb.output().map_err(|e| Error::Cluster(format!("could not run initdb: {e}")))?;
        if let Some(pwfile) = pwfile {
            let _ = fs::remove_file(pwfile);
        }
        if !out.status.success() {
            return Err(Error::Cluster(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }

        let mut tls_settings = Vec::new();
        if let Some((cert, key)) = tls {
            // The server refuses a key that others can read.
            let (cert, key) = (private_file("server.crt", cert)?, private_file("server.key", key)?);
            tls_settings = vec![
                "-c".to_string(),
                "ssl=on".to_string(),
                "-c".to_string(),
                format!("ssl_cert_file={}", cert.display()),
                "-c".to_string(),
                format!("ssl_key_file={}", key.display()),
            ];
            for setting in settings {
                tls_settings.extend(["-c".to_string(), setting.to_string()]);
            }
        }

        // A private cluster's socket lives in a directory only the server's user may enter.
        let socket_dir = if cluster.password.is_some() {
            use std::os::unix::fs::DirBuilderExt;
            let dir = cluster.dir.join("socket");
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::Cluster(format!("could not create the socket directory: {e}")))?;
            hand_over(&dir, "the socket directory")?;
            dir
        } else {
            cluster.dir.clone()
        };
        let listen = if cluster.password.is_some() {
            // No TCP at all; the port only names the socket file.
            vec!["listen_addresses=".to_string(), "unix_socket_permissions=0700".to_string()]
        } else {
            vec!["listen_addresses=127.0.0.1".to_string()]
        };

        let mut args: Vec<OsString> =
            vec!["-D".into(), data.clone().into_os_string(), "-k".into(), socket_dir.into_os_string()];
        args.extend(listen.iter().flat_map(|setting| ["-c".into(), setting.into()]));
        for setting in [
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=300",
            "max_locks_per_transaction=256",
        ] {
            args.extend(["-c".into(), setting.into()]);
        }
        args.extend(tls_settings.into_iter().map(OsString::from));
        cluster.launch = Some(Launch { postgres: bin.join("postgres"), args, run_as });

        let mut last_error = String::new();
        for _ in 0..5 {
            let port = if cluster.password.is_some() { 5432 } else { free_port()? };
            match cluster.spawn(port) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    last_error = e;
                    cluster.stop();
                    if !last_error.contains("could not bind") && !last_error.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        Err(Error::Cluster(format!("postgres did not start: {last_error}")))
    }

    /// Starts the server on `port` and waits until it accepts connections.
    fn spawn(&mut self, port: u16) -> Result<(), String> {
        let Some(launch) = self.launch.clone() else { return Err("the cluster was never set up".into()) };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map_err(|e| format!("could not open the server log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        if let Some((uid, gid)) = launch.run_as {
            let _ = nix::unistd::chown(&self.dir.join("server.log"), Some(uid.into()), Some(gid.into()));
        }
        let mut postgres = Command::new(&launch.postgres);
        postgres.args(&launch.args).arg("-p").arg(port.to_string()).stdin(Stdio::null()).stdout(log).stderr(log_err);
        clean_env(&mut postgres);
        as_user(&mut postgres, launch.run_as);
        let child = postgres.spawn().map_err(|e| format!("could not start postgres: {e}"))?;
        self.child = Some(child);
        self.port = port;
        self.wait_ready(Duration::from_secs(60))
    }

    /// Stops the server and waits for it to exit; the data stays, and
    /// [`TempCluster::start_again`] starts it again on the same port. For tests of clients
    /// that lose their server (a restart, a crash).
    pub fn stop_server(&mut self, mode: Shutdown) {
        self.signal_stop(match mode {
            Shutdown::Fast => nix::sys::signal::Signal::SIGINT,
            Shutdown::Immediate => nix::sys::signal::Signal::SIGQUIT,
        });
    }

    /// Starts the stopped server again, on the port it had, and waits until it accepts
    /// connections (after crash recovery, when it was stopped immediately).
    pub fn start_again(&mut self) -> Result<(), Error> {
        if self.child.is_some() {
            return Err(Error::Cluster("the server is already running".into()));
        }
        self.spawn(self.port).map_err(|e| Error::Cluster(format!("postgres did not start again: {e}")))
    }

    /// Stops the server (`mode`), waits `pause` (clients see connections refused), and
    /// starts it again on the same port.
    pub fn restart(&mut self, mode: Shutdown, pause: Duration) -> Result<(), Error> {
        self.stop_server(mode);
        std::thread::sleep(pause);
        self.start_again()
    }

    /// A connection string for database `dbname` as the `postgres` superuser: a URL for a
    /// cluster on a TCP port; for a private cluster the socket directory and the password
    /// (never print it: `connect::redact` hides it).
    pub fn url(&self, dbname: &str) -> String {
        match &self.password {
            None => format!("postgresql://postgres@127.0.0.1:{}/{dbname}", self.port),
            Some(password) => format!(
                "host={} port={} user=postgres password={password} dbname={dbname} sslmode=disable",
                self.dir.join("socket").display(),
                self.port
            ),
        }
    }

    /// The cluster's directory (data, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id of the running server.
    pub fn server_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        let pid_file = self.dir.join("data").join("postmaster.pid");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("postgres exited with {status}: {}", self.log_tail()));
            }
            // Line 8 of postmaster.pid is the postmaster status, `ready` once it accepts
            // connections (PostgreSQL 10+); this is what pg_ctl waits for.
            // The first line is the postmaster's pid: a file left by an earlier server of
            // this directory does not count.
            let pid = self.child.as_ref().map(|c| c.id().to_string());
            if let Ok(text) = fs::read_to_string(&pid_file)
                && text.lines().next().map(str::trim) == pid.as_deref()
                && text.lines().nth(7).is_some_and(|l| l.trim() == "ready")
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!("timed out after {timeout:?}: {}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    fn stop(&mut self) {
        // SIGINT is PostgreSQL's "fast shutdown": abort sessions, stop cleanly.
        self.signal_stop(nix::sys::signal::Signal::SIGINT);
    }

    /// Sends the postmaster `signal` and waits up to ten seconds for it to exit (then kills it).
    fn signal_stop(&mut self, signal: nix::sys::signal::Signal) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, signal);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The file in a cluster directory that names the process owning it.
const OWNER_FILE: &str = "owner";

/// "pid starttime" of a running process (start time in clock ticks since boot, from
/// /proc), which tells it apart from a later process that got the same pid. `None` where
/// /proc does not say (the process is gone, or this is not Linux).
fn owner_stamp(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; the fields after it start
    // at field 3 (state), so field 22 (starttime) is the 20th.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None; // exited, not yet reaped
    }
    Some(format!("{pid} {}", fields.get(19)?))
}

/// Stops and removes the throwaway clusters (other than `own`) whose owning process has
/// died without removing them. Clusters without an owner file are left alone: they may be
/// starting right now.
fn remove_abandoned_clusters(own: &Path) {
    let Some(parent) = own.parent() else { return };
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let dir = entry.path();
        if dir == own || !entry.file_name().to_string_lossy().starts_with("cutover-pg-") {
            continue;
        }
        let Ok(owner) = fs::read_to_string(dir.join(OWNER_FILE)) else { continue };
        let Some(pid) = owner.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if owner_stamp(pid).as_deref() == Some(owner.trim()) {
            continue; // its owner still runs
        }
        if !Path::new("/proc/self/stat").exists() {
            return; // cannot tell a dead owner from a live one here
        }
        stop_abandoned_server(&dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Stops the server of an abandoned cluster directory, if it still runs: an immediate
/// shutdown (SIGQUIT), waited for up to five seconds.
fn stop_abandoned_server(dir: &Path) {
    let data = dir.join("data");
    let Ok(pid_file) = fs::read_to_string(data.join("postmaster.pid")) else { return };
    let Some(pid) = pid_file.lines().next().and_then(|l| l.trim().parse::<i32>().ok()) else { return };
    // Only a postgres process serving this very directory.
    let serves_it = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(&*data.to_string_lossy()))
        .unwrap_or(false);
    if !serves_it {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGQUIT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while owner_stamp(pid.as_raw() as u32).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The uid and gid to run the server as: `None` unless we are root.
fn run_as_user() -> Result<Option<(u32, u32)>, Error> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .map_err(|e| Error::Cluster(format!("could not look up the postgres user: {e}")))?
        .ok_or_else(|| {
            Error::Cluster(
                "initdb cannot run as root and there is no `postgres` user to run it as; create one with `useradd --system --home /var/lib/postgresql postgres`".into(),
            )
        })?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

fn as_user(cmd: &mut Command, run_as: Option<(u32, u32)>) {
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid).gid(gid).current_dir("/");
    }
}

/// Unix socket paths are limited to 107 bytes, so prefer /tmp over a long $TMPDIR.
fn short_temp_dir() -> PathBuf {
    let tmp = crate::environment::current().temp_dir();
    if tmp.as_os_str().len() > 40 { PathBuf::from("/tmp") } else { tmp }
}

fn free_port() -> Result<u16, Error> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Cluster(format!("could not find a free port: {e}")))?;
    Ok(listener.local_addr().map_err(|e| Error::Cluster(e.to_string()))?.port())
}
