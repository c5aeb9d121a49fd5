//! Opening connections, and showing connection strings without their passwords.

use crate::Error;
use crate::tls::{self, SslMode, TlsOptions};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use tokio_postgres::config::{Host, SslMode as DriverSslMode};
use tokio_postgres::{Client, Config, NoTls};

/// A parsed connection target that remembers how to show itself without a password.
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    /// The connection string as given, password redacted.
    pub display: String,
    /// The connection string as given (with any password; never shown), and the database
    /// that replaces the one it names, if any.
    source: String,
    dbname_override: Option<String>,
    /// `sslmode` and `sslrootcert`, which the driver does not read (see [`crate::tls`]).
    pub tls: TlsOptions,
    /// The TLS configuration for `tls`, made at the first encrypted connection (it may read
    /// root certificates) and shared by every connection to this server.
    tls_config: Arc<OnceLock<Result<Arc<rustls::ClientConfig>, String>>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, Error> {
        let invalid = |why: String| {
            Error::InvalidSource(format!("{} is not a valid PostgreSQL connection string: {why}", redact(url)))
        };
        let (rest, tls) = tls::take_options(url, |name| crate::environment::current().libpq(name)).map_err(invalid)?;
        let mut config = Config::from_str(&rest).map_err(|e| invalid(e.to_string()))?;
        config.ssl_mode(match tls.mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        });
        Ok(Target {
            config,
            display: redact(url),
            source: url.to_string(),
            dbname_override: None,
            tls,
            tls_config: Arc::default(),
        })
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> Target {
        let mut config = self.config.clone();
        config.dbname(dbname);
        Target {
            config,
            display: format!("{} (database {dbname})", self.display),
            source: self.source.clone(),
            dbname_override: Some(dbname.to_string()),
            tls: self.tls.clone(),
            tls_config: self.tls_config.clone(),
        }
    }

    /// Whether both name the same database on the same server, as far as the connection
    /// strings tell: the same database name (libpq's default: the user's name) and a host in
    /// common on the same port, where the loopback addresses, `localhost` and Unix sockets
    /// all count as this machine.
    pub fn same_database(&self, other: &Target) -> bool {
        fn places(t: &Target) -> Vec<(String, u16)> {
            let hosts = t.config.get_hosts();
            let ports = t.config.get_ports();
            let local = Host::Unix(std::path::PathBuf::from("/var/run/postgresql"));
            let hosts = if hosts.is_empty() { std::slice::from_ref(&local) } else { hosts };
            hosts
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                    let host = match h {
                        Host::Tcp(name) if matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]") => {
                            "this machine".to_string()
                        }
                        Host::Tcp(name) => name.to_ascii_lowercase(),
                        Host::Unix(_) => "this machine".to_string(),
                    };
                    (host, port)
                })
                .collect()
        }
        fn dbname(t: &Target) -> Option<&str> {
            t.config.get_dbname().or(t.config.get_user())
        }
        let shared = places(self).iter().any(|p| places(other).contains(p));
        shared && dbname(self).is_some() && dbname(self) == dbname(other)
    }

    /// The same server and database as another user, with that user's password.
    pub fn as_user(&self, user: &str, password: &str) -> Target {
        let mut config = self.config.clone();
        config.user(user).password(password);
        // Later settings win in both forms, so the connection string says the same.
        let source = match self.source.split_once("://") {
            Some(_) => {
                let separator = if self.source.contains('?') { '&' } else { '?' };
                format!("{}{separator}user={}&password={}", self.source, percent(user), percent(password))
            }
            None => format!("{} user={} password={}", self.source, conninfo_value(user), conninfo_value(password)),
        };
        Target {
            config,
            display: format!("{} (as {user})", self.display),
            source,
            dbname_override: self.dbname_override.clone(),
            tls: self.tls.clone(),
            tls_config: self.tls_config.clone(),
        }
    }

    /// A connection string for this target, for handing to another component. It holds the
    /// password when the original did: never print it (use `display`).
    pub fn connection_string(&self) -> String {
        let Some(dbname) = &self.dbname_override else { return self.source.clone() };
        match self.source.split_once("://") {
            Some((scheme, rest)) => {
                let (before_query, query) = match rest.split_once('?') {
                    Some((b, q)) => (b, Some(q)),
                    None => (rest, None),
                };
                let authority = before_query.split('/').next().unwrap_or("");
                let encoded = percent(dbname);
                match query {
                    Some(q) => format!("{scheme}://{authority}/{encoded}?{q}"),
                    None => format!("{scheme}://{authority}/{encoded}"),
                }
            }
            None => format!("{} dbname='{}'", self.source, dbname.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }

    pub fn dbname(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    pub async fn connect(&self) -> Result<Client, Error> {
        let failed = |message: String| Error::Connect { url: self.display.clone(), message };
        // The server never offers TLS on a Unix socket; libpq does not ask there either.
        let unix_only =
            self.config.get_hosts().iter().all(|h| matches!(h, Host::Unix(_))) && !self.config.get_hosts().is_empty();
        if self.tls.mode == SslMode::Disable || unix_only {
            return self.connect_plain().await;
        }
        let config =
            self.tls_config.get_or_init(|| tls::client_config(&self.tls).map(Arc::new)).clone().map_err(failed)?;
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(Arc::unwrap_or_clone(config));
        match self.config.connect(tls).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(client)
            }
            // libpq's `prefer` (and `allow`): when the TLS handshake itself fails, connect
            // without TLS.
            Err(e) if !self.tls.mode.requires_tls() && e.to_string().starts_with("error performing TLS handshake") => {
                self.connect_plain().await
            }
            Err(e) => {
                let message = crate::error::connect_failure(&e);
                Err(failed(if self.tls.mode.requires_tls() && !message.contains("TLS") {
                    format!("TLS connection failed: {message}")
                } else {
                    message
                }))
            }
        }
    }

    async fn connect_plain(&self) -> Result<Client, Error> {
        let mut config = self.config.clone();
        config.ssl_mode(DriverSslMode::Disable);
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| Error::Connect { url: self.display.clone(), message: crate::error::connect_failure(&e) })?;
        tokio::spawn(async move {
            // The connection ends when the client is dropped; an error here surfaces on the
            // client's next call, so there is nothing more to report.
            let _ = connection.await;
        });
        Ok(client)
    }
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Whether the session still answers, asked after an error: a terminated session reports
/// the termination as the error of the query it was running, before the client sees it
/// closed. Runners (`apply`, the backfill engine) tell a lost session from a failed statement
/// by it.
pub async fn alive(client: &Client) -> bool {
    !client.is_closed() && client.batch_execute(cutover_sql::apply::PING).await.is_ok()
}

/// Connects to `url` (a `postgres://` URL or a key=value connection string).
pub async fn connect(url: &str) -> Result<Client, Error> {
    Target::parse(url)?.connect().await
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) {
        let scheme = &url[..url.len() - rest.len()];
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rfind('@') {
            Some(at) => {
                let (userinfo, host) = authority.split_at(at);
                match userinfo.find(':') {
                    Some(colon) => format!("{}:***{}", &userinfo[..colon], host),
                    None => authority.to_string(),
                }
            }
            None => authority.to_string(),
        };
        return format!("{scheme}{authority}{}", redact_query_password(tail));
    }
    // key=value form
    url.split_whitespace()
        .map(|pair| if pair.starts_with("password=") { "password=***" } else { pair })
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let query = query
        .split('&')
        .map(|p| if p.starts_with("password=") { "password=***" } else { p })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_user_is_in_the_connection_string_too() {
        let url = Target::parse("postgresql://admin:pw@db:5433/x?sslmode=disable").unwrap().as_user("r o", "p'w");
        let again = Target::parse(&url.with_dbname("y").connection_string()).unwrap();
        assert_eq!((again.config.get_user(), again.config.get_password()), (Some("r o"), Some(&b"p'w"[..])));
        assert_eq!(again.dbname(), Some("y"));
        let kv = Target::parse("host=/tmp user=admin dbname=x").unwrap().as_user("r", "p'w\\");
        let again = Target::parse(&kv.connection_string()).unwrap();
        assert_eq!((again.config.get_user(), again.config.get_password()), (Some("r"), Some(&b"p'w\\"[..])));
        assert!(!kv.display.contains("p'w"));
    }

    #[test]
    fn the_same_database_however_it_is_written() {
        let same = |a: &str, b: &str| Target::parse(a).unwrap().same_database(&Target::parse(b).unwrap());
        assert!(same("postgresql://app@localhost/shop", "postgresql://other:pw@127.0.0.1:5432/shop"));
        assert!(same("host=/var/run/postgresql dbname=shop", "postgres://u@[::1]/shop"));
        assert!(same("postgresql://shop@db.internal/", "postgresql://x@DB.internal:5432/shop"));
        assert!(!same("postgresql://app@localhost/shop", "postgresql://app@localhost/shop_dev"));
        assert!(!same("postgresql://app@localhost:5433/shop", "postgresql://app@localhost:5432/shop"));
        assert!(!same("postgresql://app@db1/shop", "postgresql://app@db2/shop"));
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/prod"), "postgres://app:***@db:5432/prod");
        assert_eq!(
            redact("postgresql://app@db/prod?password=s3cret&sslmode=disable"),
            "postgresql://app@db/prod?password=***&sslmode=disable"
        );
        assert_eq!(redact("host=db user=app password=s3cret"), "host=db user=app password=***");
        assert_eq!(redact("postgres://db/prod"), "postgres://db/prod");
    }

    #[test]
    fn debug_of_a_target_hides_the_password() {
        let target = Target::parse("postgres://app:s3cret@db:5432/prod").unwrap();
        assert!(!format!("{target:?}").contains("s3cret"));
    }
}

#[cfg(test)]
mod connection_string_tests {
    use super::Target;

    #[test]
    fn another_database_keeps_credentials_host_and_parameters() {
        let t = Target::parse("postgresql://u:p%40ss@db.example:5433/app?sslmode=disable").unwrap();
        assert_eq!(t.connection_string(), "postgresql://u:p%40ss@db.example:5433/app?sslmode=disable");
        assert_eq!(
            t.with_dbname("scratch 1").connection_string(),
            "postgresql://u:p%40ss@db.example:5433/scratch%201?sslmode=disable"
        );
        let bare = Target::parse("postgres://postgres@127.0.0.1:5432").unwrap();
        assert_eq!(bare.with_dbname("x").connection_string(), "postgres://postgres@127.0.0.1:5432/x");
        let kv = Target::parse("host=/tmp user=postgres").unwrap();
        assert_eq!(kv.with_dbname("it's").connection_string(), "host=/tmp user=postgres dbname='it\\'s'");
        assert_eq!(Target::parse(&kv.with_dbname("it's").connection_string()).unwrap().dbname(), Some("it's"));
    }
}
