#!/usr/bin/env bash
# Writes the migration files a pull request adds or changes (the PATHS pathspecs, between
# BASE_SHA and HEAD_SHA, deleted files left out) to $1, one per line, and their number to
# the step output `count`. With the history checked out (fetch-depth: 0) the diff is from
# the merge base, so changes on the base branch since are not counted; without it, the two
# commits are compared directly.
set -euo pipefail
list="$1"
out="${GITHUB_OUTPUT:-/dev/stdout}"
: "${BASE_SHA:?BASE_SHA must be the base commit of the pull request (run on pull_request events)}"
: "${HEAD_SHA:=HEAD}"
read -r -a specs <<<"$(echo "${PATHS:-*.sql}" | tr '\n' ' ')"
if ! git cat-file -e "$BASE_SHA^{commit}" 2>/dev/null; then
  git fetch --no-tags --quiet --depth=1 origin "$BASE_SHA"
fi
if git merge-base "$BASE_SHA" "$HEAD_SHA" >/dev/null 2>&1; then
  range="$BASE_SHA...$HEAD_SHA"
else
  range="$BASE_SHA $HEAD_SHA"
fi
# shellcheck disable=SC2086 # the range is one or two words
git diff --name-only --no-renames --diff-filter=AM -z $range -- "${specs[@]}" | tr '\0' '\n' | LC_ALL=C sort >"$list"
count=$(grep -c . "$list" || true)
echo "count=$count" >>"$out"
echo "$count changed migration file(s)"
sed 's/^/  /' "$list"
