#!/usr/bin/env bash
# Lints the files listed in $1 (one per line) as one history, in that order, into $2:
# cutover.sarif (code scanning) and comment.md (the pull-request comment); the exit code of
# `cutover lint` goes to the step output `exit-code` and the human report to the log.
set -euo pipefail
list="$1"
dir="$2"
out="${GITHUB_OUTPUT:-/dev/stdout}"
cutover="${CUTOVER:-cutover}"
mkdir -p "$dir"
mapfile -t files <"$list"
if [ "${#files[@]}" -eq 0 ]; then
  printf '%s\n### Cutover lint: no migration changed in this pull request\n' '<!-- cutover-lint -->' >"$dir/comment.md"
  echo "exit-code=0" >>"$out"
  exit 0
fi
args=()
[ -n "${PG_VERSION:-}" ] && args+=(--pg-version "$PG_VERSION")
[ -n "${CONFIG:-}" ] && args+=(--config "$CONFIG")
[ "${ASSUME_IN_TRANSACTION:-false}" = true ] && args+=(--assume-in-transaction)
code=0
"$cutover" lint "${args[@]}" --format human -- "${files[@]}" || code=$?
if [ "$code" -le 1 ]; then
  "$cutover" lint "${args[@]}" --format sarif -- "${files[@]}" >"$dir/cutover.sarif" || true
  "$cutover" lint "${args[@]}" --format markdown -- "${files[@]}" >"$dir/comment.md" || true
else
  printf '%s\n### Cutover lint could not lint the migrations\n\nSee the job log.\n' '<!-- cutover-lint -->' >"$dir/comment.md"
fi
echo "exit-code=$code" >>"$out"
