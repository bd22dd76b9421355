#!/bin/sh
# The issues daemon as one periodic run: export the issue database to JSONL and commit it to git.
# The "database" is a small SQLite-free stand-in: issues.db.tsv beside this script (id<TAB>state<TAB>title).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=${ISSUES_REPO:-.orchestrate/issues-repo}
mkdir -p "$repo"
if [ ! -d "$repo/.git" ]; then
    git -C "$repo" init -q
    git -C "$repo" config user.email orchestrate@localhost
    git -C "$repo" config user.name orchestrate
fi
awk -F '\t' '{ printf "{\"id\":%s,\"state\":\"%s\",\"title\":\"%s\"}\n", $1, $2, $3 }' \
    "$here/issues.db.tsv" > "$repo/issues.jsonl"
git -C "$repo" add issues.jsonl
if git -C "$repo" diff --cached --quiet; then
    echo "issues-sync: no change (run ${ORCHESTRATE_RUN:-?})"
else
    git -C "$repo" commit -qm "sync issues (run ${ORCHESTRATE_RUN:-?})"
    echo "issues-sync: committed $(wc -l < "$repo/issues.jsonl") issues"
fi
