#!/usr/bin/env bash
# Puts a cutover binary on the job and names it in the step output `cutover`: $CUTOVER_BIN
# when given, else `cutover` already on PATH, else this action's own version built with
# `cargo install` (libclang and a C compiler are needed for PostgreSQL's parser:
# scripts/build-deps installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
out="${GITHUB_OUTPUT:-/dev/stdout}"
if [ -n "${CUTOVER_BIN:-}" ]; then
  echo "cutover=$CUTOVER_BIN" >>"$out"
  exit 0
fi
if command -v cutover >/dev/null 2>&1; then
  echo "cutover=$(command -v cutover)" >>"$out"
  exit 0
fi
"$here/scripts/build-deps"
root="${RUNNER_TEMP:-/tmp}/cutover-install"
cargo install --locked --quiet --path "$here/crates/cutover" --root "$root"
echo "cutover=$root/bin/cutover" >>"$out"
