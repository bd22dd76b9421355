#!/usr/bin/env bash
# The http-check kind end to end with this package's own orchestrate (`make custom-kind-check` builds it first):
# validate, an unknown field, schema, the reference, config, both exports, `up -d --wait`, `status --json`, `down`.
# Everything listens on loopback, in a temporary folder; the supervisor and its daemons are ended with `down`. Exits
# non-zero on the first failed step.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/.build/debug/orchestrate-custom"
work="$(mktemp -d)"
manifest="$work/daemons.yaml"
cp "$here/daemons.yaml" "$manifest"
cd "$work"

fail() {
    echo "custom-kind-check: $*" >&2
    exit 1
}
finish() {
    status=$?
    if [ "$status" != 0 ] && [ -d .orchestrate/logs ]; then tail -n 20 .orchestrate/logs/*.log >&2 || true; fi
    "$bin" -f "$manifest" down >/dev/null 2>&1 || true
    cd / && rm -rf "$work"
    exit "$status"
}
trap finish EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WEB_PORT="$(free_port)"
CLOSED_PORT="$(free_port)"
export WEB_PORT CLOSED_PORT

# validate: the manifest is valid, and an unknown field of an http-check daemon is an error (exit 2).
summary="$("$bin" -f "$manifest" validate)"
[ "$summary" = "3 daemons: 1 process, 2 http-check" ] || fail "validate said: $summary"
sed 's/^    misses: 3$/    missez: 3/' "$manifest" >bad.yaml
status=0; "$bin" -f bad.yaml validate >/dev/null 2>bad.err || status=$?
[ "$status" = 2 ] || fail "validate of an unknown field exited $status, not 2"
grep -q "unknown key 'missez' in an http-check daemon; did you mean 'misses'?" bad.err || fail "$(cat bad.err)"

# schema: it has the kind, and an independent validator accepts the manifest and refuses the bad one with it.
"$bin" schema >schema.json
# Python's jsonschema, from the test tools' virtual environment when make names it.
"${ORCHESTRATE_TEST_PYTHON:-python3}" - schema.json "$manifest" bad.yaml <<'PY' || fail "the schema check failed"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
assert "http-check" in schema["$defs"], "no http-check in $defs"
validator = jsonschema.Draft202012Validator(schema)
assert not list(validator.iter_errors(yaml.safe_load(open(sys.argv[2])))), "the schema refuses daemons.yaml"
assert list(validator.iter_errors(yaml.safe_load(open(sys.argv[3])))), "the schema accepts an unknown field"
PY

# reference: the manual's field tables (docs/manifest.md) document the kind too, made from its fields.
"$bin" reference "$here/../../docs/manifest.md" >manifest.md
grep -q "^## The http-check kind$" manifest.md || fail "the reference has no http-check section"
grep -q '^| `url` | `http://` URL | required |' manifest.md || fail "the reference does not list the url field"

# config: the resolved http-check daemons, defaults filled in.
"$bin" -f "$manifest" config >config.yaml
grep -q "^    kind: http-check$" config.yaml || fail "config does not show the http-check daemons"
grep -q "^    url: \"\?http://127.0.0.1:$CLOSED_PORT/\"\?$" config.yaml || fail "config does not show the url"

# export: a kind the exports do not know runs under a supervisor of its own (`up --only NAME --no-deps`), on Kubernetes
# (the objects pass kubernetes-validate's strict check) and under systemd (the units pass systemd-analyze verify).
"$bin" -f "$manifest" export kubernetes --image custom-kind:1 >objects.yaml 2>export.err ||
    fail "export kubernetes: $(cat export.err)"
grep -q 'up, "--only", web-check, "--no-deps"' objects.yaml || fail "export kubernetes: no pod of web-check's own"
"${ORCHESTRATE_TEST_PYTHON:-python3}" -m kubernetes_validate -k 1.37.0 --strict objects.yaml >validate.out 2>&1 ||
    fail "kubernetes-validate: $(cat validate.out)"
"$bin" -f "$manifest" export systemd -o units 2>export.err || fail "export systemd: $(cat export.err)"
grep -q '"up" "--only" "web-check" "--no-deps"' units/web-check.service || fail "export systemd: $(cat units/web-check.service)"
if command -v systemd-analyze >/dev/null; then
    verify="$(systemd-analyze verify units/* 2>&1)" || fail "systemd-analyze verify: $verify"
    [ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
fi

# up -d --wait: it returns once everything is ready; nothing-there may already have failed by then, and --wait
# then exits 1 naming it (the supervisor keeps running).
status=0; "$bin" -f "$manifest" up -d --wait >up.out 2>up.err || status=$?
if [ "$status" != 0 ]; then
    grep -q "nothing-there: failed" up.err || fail "up -d --wait exited $status: $(cat up.err)"
    [ "$(grep -c '^  ' up.err)" = 1 ] || fail "up -d --wait: $(cat up.err)"
fi

# status --json: web-check passes its checks; nothing-there ends failed after its three misses.
for _ in $(seq 1 300); do
    "$bin" -f "$manifest" status --json >status.json
    if python3 - status.json <<'PY'; then break; fi
import json, sys
daemons = {d["name"]: d for d in json.load(open(sys.argv[1]))["daemons"]}
ok, missing = daemons["web-check"], daemons["nothing-there"]
done = ok["runs"] >= 2 and ok["last_run"] and ok["last_run"]["duration_ms"] is not None
done = done and missing["state"] == "failed"
sys.exit(0 if done else 1)
PY
    sleep 0.1
done
"$bin" -f "$manifest" status
python3 - status.json <<'PY' || fail "status --json: $(cat status.json)"
import json, sys
daemons = {d["name"]: d for d in json.load(open(sys.argv[1]))["daemons"]}
ok, missing = daemons["web-check"], daemons["nothing-there"]
assert ok["kind"] == "http-check" and missing["kind"] == "http-check"
assert ok["state"] in ("idle", "running"), ok
assert ok["runs"] >= 2 and ok["failures"] == 0 and ok["last_error"] is None, ok
assert ok["last_run"]["exit_code"] == 0 and ok["last_run"]["duration_ms"] >= 0, ok
assert missing["state"] == "failed", missing
assert missing["runs"] == 3 and missing["failures"] == 3, missing
assert missing["last_run"]["exit_code"] == 1, missing
assert "3 checks in a row failed" in missing["last_error"], missing
PY

"$bin" -f "$manifest" down >/dev/null || fail "down failed"
echo "custom-kind-check: ok (http-check validated, in the schema, config and both exports, run by up: one passing, one failed)"
