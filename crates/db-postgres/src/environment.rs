//! What Cutover takes from the process environment. Only the binary reads the environment
//! (ARCHITECTURE.md); it hands the variables this crate honours to [`install`] once, before
//! any connection or cluster, and everything here reads them from [`current`]. A process
//! that installs nothing (a library user, a test) gets libpq's defaults without them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The environment variables the PostgreSQL adapter honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `PGSSLMODE`: the `sslmode` of connection strings that do not set one.
    pub ssl_mode: Option<String>,
    /// `PGSSLROOTCERT`: the `sslrootcert` of connection strings that do not set one.
    pub ssl_root_cert: Option<String>,
    /// `HOME`: libpq's default root certificate is `~/.postgresql/root.crt`.
    pub home: Option<PathBuf>,
    /// `CUTOVER_PG_BINDIR`: where the PostgreSQL server binaries are (searched before the
    /// usual places).
    pub pg_bindir: Option<PathBuf>,
    /// `PATH`, searched last for the server binaries.
    pub path: Option<OsString>,
    /// `TMPDIR`: where throwaway clusters put their files (default /tmp).
    pub temp_dir: Option<PathBuf>,
}

impl Environment {
    /// The variables by name from `var` (the binary passes `std::env::var_os`); empty values
    /// count as unset, as libpq does.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Environment {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| get(name).map(|v| v.to_string_lossy().into_owned());
        Environment {
            ssl_mode: text("PGSSLMODE"),
            ssl_root_cert: text("PGSSLROOTCERT"),
            home: get("HOME").map(PathBuf::from),
            pg_bindir: get("CUTOVER_PG_BINDIR").map(PathBuf::from),
            path: get("PATH"),
            temp_dir: get("TMPDIR").map(PathBuf::from),
        }
    }

    /// A libpq variable by name (`PGSSLMODE`, `PGSSLROOTCERT`), for [`crate::tls::take_options`].
    pub fn libpq(&self, name: &str) -> Option<String> {
        match name {
            "PGSSLMODE" => self.ssl_mode.clone(),
            "PGSSLROOTCERT" => self.ssl_root_cert.clone(),
            _ => None,
        }
    }

    /// Where throwaway clusters put their files.
    pub fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(|| PathBuf::from("/tmp"))
    }
}

static INSTALLED: OnceLock<Environment> = OnceLock::new();

/// Installs the environment for the rest of the process; returns false (and changes
/// nothing) when one was installed already.
pub fn install(environment: Environment) -> bool {
    INSTALLED.set(environment).is_ok()
}

/// The installed environment, or an empty one.
pub fn current() -> &'static Environment {
    static EMPTY: OnceLock<Environment> = OnceLock::new();
    INSTALLED.get().unwrap_or_else(|| EMPTY.get_or_init(Environment::default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_read_by_name_and_empty_ones_are_unset() {
        let env = Environment::from_vars(|name| match name {
            "PGSSLMODE" => Some("verify-full".into()),
            "PGSSLROOTCERT" => Some("".into()),
            "CUTOVER_PG_BINDIR" => Some("/opt/pg/bin".into()),
            _ => None,
        });
        assert_eq!(env.libpq("PGSSLMODE").as_deref(), Some("verify-full"));
        assert_eq!(env.libpq("PGSSLROOTCERT"), None);
        assert_eq!(env.pg_bindir, Some(PathBuf::from("/opt/pg/bin")));
        assert_eq!(env.temp_dir(), PathBuf::from("/tmp"));
    }
}
