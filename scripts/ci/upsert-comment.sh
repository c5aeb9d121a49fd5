#!/usr/bin/env bash
# Posts $1 as a comment on pull request PR_NUMBER of GITHUB_REPOSITORY, or updates in place
# the comment COMMENT_AUTHOR posted before with the same marker line (the first line of
# $1). With FILES=0 (no migration changed) an existing comment is updated and no new one is
# posted. Speaks GitHub's REST API at GITHUB_API_URL with GITHUB_TOKEN (curl and jq).
set -euo pipefail
body_file="$1"
: "${GITHUB_TOKEN:?}" "${GITHUB_REPOSITORY:?}" "${PR_NUMBER:?}"
api="${GITHUB_API_URL:-https://api.github.com}"
author="${COMMENT_AUTHOR:-github-actions[bot]}"
marker="$(head -n 1 "$body_file")"
case "$marker" in
  '<!--'*'-->') ;;
  *) echo "the comment's first line must be its marker, an HTML comment" >&2; exit 2 ;;
esac

request() {
  curl --silent --show-error --fail-with-body --retry 3 \
    -H "Authorization: Bearer $GITHUB_TOKEN" \
    -H "Accept: application/vnd.github+json" \
    -H "X-GitHub-Api-Version: 2022-11-28" \
    "$@"
}

# The existing comment: the first by the author whose body starts with the marker.
existing=""
page=1
while :; do
  comments="$(request "$api/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments?per_page=100&page=$page")"
  existing="$(jq -r --arg marker "$marker" --arg author "$author" \
    '[.[] | select(.user.login == $author and (.body | startswith($marker)))][0].id // empty' <<<"$comments")"
  [ -n "$existing" ] && break
  [ "$(jq 'length' <<<"$comments")" -lt 100 ] && break
  page=$((page + 1))
done

payload="$(jq -Rs '{body: .}' <"$body_file")"
if [ -n "$existing" ]; then
  request -X PATCH "$api/repos/$GITHUB_REPOSITORY/issues/comments/$existing" -d "$payload" >/dev/null
  echo "updated comment $existing"
elif [ "${FILES:-1}" != 0 ]; then
  id="$(request -X POST "$api/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -d "$payload" | jq -r .id)"
  echo "posted comment $id"
else
  echo "no migration changed and no earlier comment: nothing to post"
fi
