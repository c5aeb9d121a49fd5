# Shared by the scripts of the README (demo, install, test): what they need from the machine.
# Sourced, not run. Every function installs with the distribution's packages when running as
# root with apt-get, and otherwise prints the exact command and exits 2.

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Rust toolchain the workspace asks for (rust-version in Cargo.toml).
require_rust() {
  local want have
  want=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
  if ! command -v cargo >/dev/null 2>&1; then
    log "cargo is missing: Cutover needs Rust $want or later; install it with rustup (https://rustup.rs)"
    exit 2
  fi
  have=$(rustc --version | sed -n 's/^rustc \([0-9]*\.[0-9]*\).*/\1/p')
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    log "Rust $have is too old: Cutover needs Rust $want or later (rustup update)"
    exit 2
  fi
}

# The directory of the PostgreSQL server binaries (initdb, postgres), or nothing. The same
# places, in the same order, as the binary looks (crates/db-postgres/src/cluster.rs).
pg_bindir() {
  local d
  if [ -n "${CUTOVER_PG_BINDIR:-}" ]; then
    [ -x "$CUTOVER_PG_BINDIR/initdb" ] && echo "$CUTOVER_PG_BINDIR"
    return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
}

# PostgreSQL's server binaries, installed when missing; and, as root, the `postgres` user
# that initdb (which refuses root) runs as.
require_server_binaries() {
  if [ -z "$(pg_bindir)" ]; then
    if can_install; then
      log "no PostgreSQL server binaries found; installing the distribution package"
      apt_install postgresql postgresql-contrib
    else
      log "no PostgreSQL server binaries found. Install them with: sudo apt-get install -y postgresql postgresql-contrib"
      log "(or set CUTOVER_PG_BINDIR to the directory holding initdb and postgres)"
      exit 2
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql postgres
  fi
}
