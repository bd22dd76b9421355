"""Runs Schemathesis against a live supervisor: the control API on control.http and the routes of an rpc daemon.

usage: run_schemathesis.py --binary ORCHESTRATE --spec SPEC [--examples N] [--max-time SECONDS] [--seed N]
                           [--report-dir DIR]

Starts ORCHESTRATE (`up -d --wait`) on a manifest in a temporary folder with `control.http` and an rpc daemon on
free loopback ports, each behind a key, plus a periodic and a process daemon for the daemon actions to act on. Then
runs Schemathesis (every phase, every check but two) twice: over the rpc routes against the rpc daemon, then over
the control API against control.http, each with its key as a header. The rpc daemon goes first, so that the control
API's stop and restart cannot take it away in the middle of its run. Each run spends at most --max-time seconds
(Schemathesis fuzzes until its budget is spent), with up to --examples test cases per operation and phase.

Left out: `POST /v1/down`, which would stop the server under test (the end-to-end tests exercise it); and the checks
`unsupported_method` and `allow_header_conformance`: a method that a path does not serve is answered 404 with an
error body, as an unknown path is, not 405 with an Allow header (the description says so).
The event streams are tested, bounded (SCHEMATHESIS_CONFIG below): they never end by themselves.

Then `orchestrate down`, and the supervisor's PID (from its PID file) is killed if it has not ended within 30 s.
Exits non-zero when Schemathesis found a failure or an error, or could not run. Its whole output is in
DIR/rpc.log and DIR/control.log, beside JUnit reports.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CONTROL_KEY = "api-check-control-key"
RPC_KEY = "api-check-rpc-key"

MANIFEST = """\
control: {{http: "127.0.0.1:{control_port}", api_key_env: API_CHECK_CONTROL_KEY}}
reload: manual
daemons:
  core:
    kind: rpc
    listen: "127.0.0.1:{rpc_port}"
    auth: {{api_key_env: API_CHECK_RPC_KEY}}
    max_body: 64KiB
    cache: {{max_entries: 100, max_bytes: 1MiB}}
    methods:
      echo: {{command: ["cat"], timeout: 5s, description: "Returns its params."}}
      upper: {{command: ["tr", "a-z", "A-Z"], timeout: 5s}}
  tick:
    kind: periodic
    interval: 1h
    command: ["true"]
  web:
    kind: process
    command: ["sleep", "3600"]
"""

# Settings for some operations, each for a documented reason:
# - JSON-RPC answers a body that is not a valid request with an error object in a 200;
# - a ttl of the duration's form can still be refused (all zeros: 400), and so can a value larger than the whole
#   cache (413);
# - a reload whose overrides are well formed can still make the manifest invalid (an override that names nothing):
#   422 with the errors;
# - a scale of a well-formed count can still name no daemon (404) or one that runs once (409);
# - the control API's event stream and a daemon's log are asked not to follow (`follow=false`: they end after what
#   is kept; following never ends, and the end-to-end tests' recorded streams check it), and a `since` of the
#   documented shape can still name no time (a 30th of February): 400; an rpc daemon's stream, which has nothing to
#   send unless a client published, is read for half a second.
SCHEMATHESIS_CONFIG = """\
[[operations]]
include-operation-id = "rpcCall"
checks.negative_data_rejection.expected-statuses = [200, 400, 401, 413]

[[operations]]
include-operation-id = "rpcCachePut"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 413]

[[operations]]
include-operation-id = "reload"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 404, 409, 422]

[[operations]]
include-operation-id = "scaleDaemon"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 404, 409]

[[operations]]
include-operation-id = "controlEvents"
max-stream-events = 3
parameters = { "query.follow" = "false" }
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401]

[[operations]]
include-operation-id = "daemonLog"
parameters = { "query.follow" = "false" }

[[operations]]
include-operation-id = "rpcSubscribe"
request-timeout = 0.5
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def run_schemathesis(arguments, config, url, key, tag, exclude, name):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    command = [
        schemathesis, "--config-file", config, "run", os.path.abspath(arguments.spec),
        "--url", url,
        "-H", f"Authorization: Bearer {key}",
        "--include-tag", tag,
        "--checks", "all",
        "--exclude-checks", "unsupported_method,allow_header_conformance",
        "--max-examples", str(arguments.examples),
        "--max-time", str(arguments.max_time),
        # One worker: Hypothesis describing its strategies from several threads at once failed in ast.parse
        # ("AST constructor recursion depth mismatch") on Python 3.11.
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--suppress-health-check", "all",
        "--no-color",
        "--report", "junit", "--report-junit-path", os.path.join(arguments.report_dir, name + ".xml"),
    ]
    if arguments.seed is not None:
        command += ["--seed", str(arguments.seed)]
    for operation_id in exclude:
        command += ["--exclude-operation-id", operation_id]
    print(f"api-check: {name}: schemathesis run --url {url} --include-tag {tag} (every check but "
          "unsupported_method and allow_header_conformance)", flush=True)
    started = time.monotonic()
    # In the report folder, where Schemathesis keeps the failures it found to try them first next time.
    completed = subprocess.run(command, cwd=arguments.report_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, check=False)
    with open(os.path.join(arguments.report_dir, name + ".log"), "w") as handle:
        handle.write(completed.stdout)
    # The failures, errors and summary (their lines cut to a reasonable length); the rest is in the log.
    lines = completed.stdout.splitlines()
    start = next((index for index, line in enumerate(lines) if re.match(r"^=+ (ERRORS|FAILURES|SUMMARY) =+$", line)), 0)
    for line in lines[start:]:
        if line.strip():
            print(line if len(line) <= 300 else line[:300] + " …", flush=True)
    print(f"api-check: {name}: {summary(completed.stdout)}; {time.monotonic() - started:.0f} s", flush=True)
    return completed.returncode


def summary(output):
    """The counts Schemathesis printed: operations tested, test cases, failures."""
    found = []
    tested = re.search(r"API Operations:\s*\n\s*Selected: (\d+)/(\d+)\s*\n\s*Tested: (\d+)", output)
    if tested:
        found.append(f"{tested.group(3)} operations tested ({tested.group(1)} of {tested.group(2)} selected)")
    cases = re.search(r"Test cases:\s*\n\s*(.+)", output)
    if cases:
        found.append("test cases: " + cases.group(1).strip())
    failures = re.search(r"^=+ (.+) in [0-9.]+s =+$", output, re.MULTILINE)
    if failures:
        found.append(failures.group(1))
    return "; ".join(found) or "no summary printed"


def stop(binary, folder, environment):
    subprocess.run([binary, "-f", "daemons.yaml", "down", "--timeout", "30s"], cwd=folder, env=environment,
                   timeout=60, check=False)
    pid_file = os.path.join(folder, ".orchestrate", "orchestrate.pid")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = read_pid(pid_file)
        if pid is None or not alive(pid):
            return
        time.sleep(0.1)
    pid = read_pid(pid_file)
    if pid is not None and alive(pid):
        print(f"api-check: the supervisor (pid {pid}) did not end; killing it", file=sys.stderr)
        os.kill(pid, signal.SIGKILL)


def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """Whether `pid` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--examples", type=int, default=20, help="test cases per operation and phase at most")
    parser.add_argument("--max-time", type=int, default=45, help="seconds for each of the two runs")
    parser.add_argument("--seed", type=int, help="Schemathesis's seed, to repeat a run")
    parser.add_argument("--report-dir", default=".build/api-check")
    arguments = parser.parse_args()
    arguments.report_dir = os.path.abspath(arguments.report_dir)
    os.makedirs(arguments.report_dir, exist_ok=True)

    binary = os.path.abspath(arguments.binary)
    folder = tempfile.mkdtemp(prefix="orchestrate-api-check-")
    control_port, rpc_port = free_port(), free_port()
    with open(os.path.join(folder, "daemons.yaml"), "w") as handle:
        handle.write(MANIFEST.format(control_port=control_port, rpc_port=rpc_port))
    config = os.path.join(folder, "schemathesis.toml")
    with open(config, "w") as handle:
        handle.write(SCHEMATHESIS_CONFIG)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", folder),
        "API_CHECK_CONTROL_KEY": CONTROL_KEY,
        "API_CHECK_RPC_KEY": RPC_KEY,
    }
    started = time.monotonic()
    up = subprocess.run([binary, "-f", "daemons.yaml", "up", "-d", "--wait"], cwd=folder, env=environment,
                        timeout=120, check=False)
    failed = up.returncode != 0
    try:
        if not failed:
            failed |= run_schemathesis(arguments, config, f"http://127.0.0.1:{rpc_port}", RPC_KEY, "rpc", [],
                                       "rpc") != 0
            failed |= run_schemathesis(arguments, config, f"http://127.0.0.1:{control_port}", CONTROL_KEY,
                                       "control", ["down"], "control") != 0
    finally:
        stop(binary, folder, environment)
        log = os.path.join(folder, ".orchestrate", "logs", "orchestrate.log")
        if os.path.exists(log):
            shutil.copy(log, os.path.join(arguments.report_dir, "orchestrate.log"))
        shutil.rmtree(folder, ignore_errors=True)
    outcome = "failed (see above, and the logs in " + arguments.report_dir + ")" if failed else "no failures"
    print(f"api-check: {outcome}; {time.monotonic() - started:.0f} s in all", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
