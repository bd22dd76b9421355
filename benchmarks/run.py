#!/usr/bin/env python3
"""orchestrate's benchmarks: `make bench` runs this with the release binary.

Each scenario runs a real `orchestrate` process several times and reports the median. Timings are wall
clock on a shared machine, so compare them only as ratios within one run. Results go to stdout as a
table and to benchmarks/results/latest.json.

Scenarios now:
- manifest-load: `orchestrate validate` on a generated manifest of 1,000 daemons (all four kinds, with
  defaults, interpolation and an env override), beside the same command on a 1-daemon manifest, which
  is the process's fixed cost (start-up, argument parsing). Peak resident memory of the process too.
"""

import argparse
import http.client
import json
import os
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402  (supervisord and circus, measured in the same run)
import processes  # noqa: E402  (the process kind beside them)


def generate_manifest(count: int) -> str:
    """A manifest of `count` daemons cycling through the four kinds, as a real project would write them."""
    lines = [
        "version: 1",
        "env: {LOG_LEVEL: info, REGION: \"${REGION:-eu}\"}",
        "defaults:",
        "  restart: {policy: on-failure, backoff: {initial: 1s, max: 1m}, limit: {burst: 5, window: 1m}}",
        "  stop_timeout: 10s",
        "  log: {max_size: 10MiB, keep: 5}",
        "daemons:",
    ]
    for index in range(count):
        name = f"daemon-{index:04d}"
        kind = index % 4
        if kind == 0:
            lines += [
                f"  {name}:",
                "    kind: periodic",
                f"    interval: {index % 50 + 1}s",
                "    jitter: 100ms",
                "    timeout: 20s",
                "    overlap: skip",
                "    env: {JOB: \"${JOB_NAME:-sync}\"}",
                '    command: ["sh", "-c", "echo run $$ORCHESTRATE_RUN"]',
            ]
        elif kind == 1:
            lines += [
                f"  {name}:",
                "    kind: watcher",
                f"    paths: [src/{name}]",
                '    patterns: ["**/*.py", "**/*.{md,txt}"]',
                '    ignore: ["**/__pycache__/**"]',
                "    debounce: 300ms",
                '    command: ["python3", "scan.py"]',
            ]
        elif kind == 2:
            lines += [
                f"  {name}:",
                "    kind: rpc",
                f"    listen: 127.0.0.1:{20000 + index}",
                "    methods:",
                '      status: {command: ["sh", "status.sh"], timeout: 5s}',
                "    cache: {max_entries: 1000}",
            ]
        else:
            depends = f"    depends_on: [daemon-{index - 1:04d}]" if index > 0 else ""
            lines += [
                f"  {name}:",
                "    kind: process",
                "    command: [sleep, infinity]",
                '    ready: {tcp: "127.0.0.1:1", timeout: 10s}',
            ] + ([depends] if depends else [])
    return "\n".join(lines) + "\n"


def measure(command: list[str], runs: int, env: dict[str, str]) -> dict:
    """Median, min and max wall time (ms) and the largest peak RSS (KiB) of `runs` runs of `command`."""
    times = []
    peak_kib = 0
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"bench: {' '.join(command)} failed ({process.returncode}): {process.stderr.read().decode()}")
        process.stderr.close()
        times.append(elapsed)
        peak_kib = max(peak_kib, usage.ru_maxrss)
    return {
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "runs": runs,
        "peak_rss_kib": peak_kib,
    }


def supervisor_manifest(folder: pathlib.Path, periodic: int, watchers: int, debounce: str = "50ms") -> pathlib.Path:
    """`periodic` daemons at 1 minute and `watchers` watchers, each of its own folder, as issue 3 describes."""
    lines = ["daemons:"]
    for index in range(periodic):
        lines += [f"  p{index:03d}:", "    kind: periodic", "    interval: 1m", '    command: ["true"]']
    for index in range(watchers):
        (folder / f"w{index:03d}").mkdir(parents=True, exist_ok=True)
        lines += [
            f"  w{index:03d}:",
            "    kind: watcher",
            f"    paths: [w{index:03d}]",
            f"    debounce: {debounce}",
            '    command: ["sh", "-c", "date +%s.%N >> seen.txt; cat \\"$ORCHESTRATE_CHANGED_FILE\\" | wc -l >> counts.txt"]'.replace("$O", "$$O"),
        ]
    manifest = folder / "daemons.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def supervisor_scenarios(binary: str, runs: int, env: dict[str, str]) -> list[dict]:
    """Issue 3's figures: up -d to 100 registered, idle CPU and memory, status as a process, touch to command."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-up-") as folder:
        root = pathlib.Path(folder)
        manifest = supervisor_manifest(root, 50, 50)
        up_times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                           stdout=subprocess.DEVNULL, cwd=folder)
            up_times.append((time.perf_counter() - start) * 1000)
            subprocess.run([binary, "-f", str(manifest), "down"], check=True, env=env, stdout=subprocess.DEVNULL, cwd=folder)
        results.append({"scenario": "up -d --wait, 100 daemons registered and started",
                        "median_ms": round(statistics.median(up_times), 1), "min_ms": round(min(up_times), 1),
                        "max_ms": round(max(up_times), 1), "runs": 5, "target_ms": 100})
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env, stdout=subprocess.DEVNULL, cwd=folder)
        try:
            pid = int((root / ".orchestrate" / "orchestrate.pid").read_text().strip())
            time.sleep(1)  # let start-up settle before measuring what idling costs
            before = cpu_seconds(pid)
            time.sleep(10)
            idle = cpu_seconds(pid) - before
            results.append({"scenario": "idle CPU, 100 daemons, over 10 s", "cpu_ms": round(idle * 1000, 1),
                            "rss_mib": round(rss_mib(pid), 1), "rss_anon_mib": round(rss_mib(pid, "RssAnon"), 1),
                            "target": "no work when nothing is due; < 15 MiB"})
            status = measure([binary, "-f", str(manifest), "status"], runs, env)
            results.append({"scenario": "orchestrate status as a whole process", **status, "target_ms": 15})
            latency = touch_latency(root / "w000", root / "seen.txt")
            if latency:
                results.append({"scenario": "file write to watcher command started (debounce 50ms)", **latency,
                                "target_ms": 55})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    results += watcher_scenarios(binary, env)
    return results


def touch_latency(folder: pathlib.Path, seen: pathlib.Path, writes: int = 11) -> dict | None:
    """Writes a new file in `folder` `writes` times; each time, the delay until the watcher's command appends its
    start time (`date +%s.%N`) to `seen`."""
    latencies = []
    for index in range(writes):
        count = len(seen.read_text().splitlines()) if seen.exists() else 0
        touched = time.time()
        (folder / f"f{index}.txt").write_text("x")
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = seen.read_text().splitlines() if seen.exists() else []
            if len(lines) > count:
                latencies.append((float(lines[-1]) - touched) * 1000)
                break
            time.sleep(0.002)
        time.sleep(0.05)
    if not latencies:
        return None
    return {"median_ms": round(statistics.median(latencies), 1), "min_ms": round(min(latencies), 1),
            "max_ms": round(max(latencies), 1), "runs": len(latencies),
            "command_own_start_ms": command_start_cost()}


def command_start_cost(runs: int = 21) -> float:
    """What the measuring command costs by itself: from a spawn of `sh -c 'date +%s.%N'` to the time it prints,
    median; part of every watcher latency above, whoever spawns it."""
    costs = []
    for _ in range(runs):
        spawned = time.time()
        printed = subprocess.run(["sh", "-c", "date +%s.%N"], capture_output=True, text=True).stdout
        costs.append((float(printed) - spawned) * 1000)
    return round(statistics.median(costs), 1)


def reload_manifest(daemons: int, extra: str = "", interval: str = "1h", manual: bool = False) -> str:
    """`daemons` periodic daemons at `interval` (the first one's interval varies), then `extra`."""
    lines = ["reload: manual"] if manual else []
    lines.append("daemons:")
    for index in range(daemons):
        lines += [f"  d{index:02d}:", "    kind: periodic", f"    interval: {interval if index == 0 else '1h'}",
                  '    command: ["true"]']
    return "\n".join(lines) + "\n" + extra


def save_by_rename(path: pathlib.Path, text: str) -> None:
    """Saves like an editor: a temporary file in the same folder, renamed over the manifest."""
    temporary = path.with_name("." + path.name + ".swp")
    temporary.write_text(text)
    os.rename(temporary, path)


class ControlSocket(http.client.HTTPConnection):
    """HTTP/1.1 over the supervisor's Unix socket, for requests without a process per call."""

    def __init__(self, path: str):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def post_reload(socket_path: str) -> dict:
    connection = ControlSocket(socket_path)
    connection.request("POST", "/v1/reload", body=b"{}", headers={"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def process_counts(pid: int) -> dict:
    return {"fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": len(os.listdir(f"/proc/{pid}/task")),
            "rss_mib": round(rss_mib(pid), 1), "rss_anon_mib": round(rss_mib(pid, "RssAnon"), 1)}


def run_leak_scenario(binary: str, env: dict[str, str], total_runs: int = 10_000) -> dict:
    """10 periodic daemons running `true` every 20 ms until `total_runs` runs: the supervisor's descriptors, threads
    and memory after 500 runs (warmed up) and after all of them."""
    def runs(socket_path: str) -> int:
        connection = ControlSocket(socket_path)
        connection.request("GET", "/v1/status")
        document = json.loads(connection.getresponse().read())
        connection.close()
        return sum(daemon["runs"] for daemon in document["daemons"])

    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-runs-") as folder:
        root = pathlib.Path(folder)
        lines = ["daemons:"] + [f"  p{index}: {{kind: periodic, interval: 20ms, command: [\"true\"]}}" for index in range(10)]
        manifest = root / "daemons.yaml"
        manifest.write_text("\n".join(lines) + "\n")
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            pid = int((root / ".orchestrate" / "orchestrate.pid").read_text().strip())
            socket_path = str(root / ".orchestrate" / "orchestrate.sock")
            while runs(socket_path) < 500:
                time.sleep(0.1)
            before = process_counts(pid)
            begin = time.perf_counter()
            while (done := runs(socket_path)) < total_runs:
                time.sleep(0.5)
            after = process_counts(pid)
            return {"scenario": f"{total_runs:,} periodic runs (10 daemons, `true` every 20 ms)", "before": before,
                    "after": after, "runs": done, "seconds": round(time.perf_counter() - begin, 1),
                    "target": "descriptors, threads and memory flat"}
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL)


def reload_scenarios(binary: str, env: dict[str, str], runs: int = 20, leak_reloads: int = 1_000) -> list[dict]:
    """Issue 4's figures: a save of the manifest to the added daemon's command running (median of `runs`, the
    debounce beside it), and `leak_reloads` reloads in a row alternating two manifests of 20 daemons, with the
    supervisor's descriptors, threads and memory before and after."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-reload-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text(reload_manifest(20))
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder)
        try:
            started = root / "started.txt"
            latencies = []
            for index in range(runs):
                count = len(started.read_text().splitlines()) if started.exists() else 0
                added = (f"  added{index:02d}:\n    kind: periodic\n    interval: 1h\n    run_on_start: true\n"
                         '    command: ["sh", "-c", "date +%s.%N >> started.txt"]\n')
                saved = time.time()
                save_by_rename(manifest, reload_manifest(20, added))
                deadline = time.time() + 5
                while time.time() < deadline:
                    lines = started.read_text().splitlines() if started.exists() else []
                    if len(lines) > count:
                        latencies.append((float(lines[-1]) - saved) * 1000)
                        break
                    time.sleep(0.002)
                time.sleep(0.1)
            if latencies:
                results.append({"scenario": "save of the manifest to the added daemon's command running",
                                "median_ms": round(statistics.median(latencies), 1),
                                "min_ms": round(min(latencies), 1), "max_ms": round(max(latencies), 1),
                                "runs": len(latencies), "debounce_ms": 50,
                                "beyond_debounce_ms": round(statistics.median(latencies) - 50, 1),
                                "command_own_start_ms": command_start_cost(),
                                "target": "50 ms plus the debounce"})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
        if latencies:
            peer = supervisord_apply_change(runs)
            if peer:
                row = results[-1]
                row["supervisord_median_ms"] = peer["median_ms"]
                row["supervisord_min_ms"] = peer["min_ms"]
                row["supervisord_max_ms"] = peer["max_ms"]
                row["supervisord_vs_orchestrate"] = round(peer["median_ms"] / row["median_ms"], 1)

        # Leaks: manual mode, so each reload is exactly one POST /v1/reload after a save.
        manifest.write_text(reload_manifest(20, manual=True))
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder)
        try:
            pid = int((root / ".orchestrate" / "orchestrate.pid").read_text().strip())
            socket_path = str(root / ".orchestrate" / "orchestrate.sock")
            versions = [reload_manifest(20, interval="1h", manual=True), reload_manifest(20, interval="2h", manual=True)]
            for index in range(20):  # warm-up: first-use allocations are not leaks
                manifest.write_text(versions[index % 2])
                post_reload(socket_path)
            before = process_counts(pid)
            begun = time.perf_counter()
            failures = 0
            for index in range(leak_reloads):
                manifest.write_text(versions[index % 2])
                answer = post_reload(socket_path)
                if not answer.get("ok") or answer["plan"]["changed"] != ["d00"]:
                    failures += 1
            elapsed = time.perf_counter() - begun
            after = process_counts(pid)
            results.append({"scenario": f"{leak_reloads:,} reloads in a row, 20 daemons, one changed each time",
                            "before": before, "after": after, "failed_reloads": failures,
                            "per_reload_ms": round(elapsed * 1000 / leak_reloads, 2),
                            "target": "descriptors, threads and memory flat"})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    return results


def supervisord_apply_change(runs: int) -> dict | None:
    """The same change in supervisord: 20 programs, one added (and the previous one removed) per run, applied by
    `supervisorctl reread` and `update` right after the config is written; from the write to the new program
    running. None when supervisord cannot be installed here."""
    executables = peers.ensure_supervisord()
    if not executables:
        return None
    base = {f"d{index:02d}": "sleep 1000" for index in range(20)}
    times = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-supervisord-") as folder:
        with peers.Supervisord(folder, base, executables, reread=True) as peer:
            peer.start()
            for index in range(runs):
                times.append(peer.apply_change({**base, f"added{index:02d}": "sleep 1002"}) * 1000)
            peer.stop()
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1)}


def wrk(wrk_path: str, url: str, script: pathlib.Path | None = None, seconds: int = 10, connections: int = 64) -> dict:
    """`wrk` with 2 threads and `connections` connections for `seconds`: requests per second and latency
    percentiles (from `--latency`)."""
    command = [wrk_path, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    text = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    figures = {}
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["requests_per_s"] = round(float(parts[1]))
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            figures[f"p{parts[0].rstrip('%')}_ms"] = round(wrk_milliseconds(parts[1]), 3)
        elif "Non-2xx" in line or "Socket errors" in line:
            figures.setdefault("problems", []).append(line.strip())
    return figures


def wrk_milliseconds(value: str) -> float:
    """wrk's `456.78us`, `1.23ms` or `1.02s` in milliseconds."""
    if value.endswith("us"):
        return float(value[:-2]) / 1000
    if value.endswith("ms"):
        return float(value[:-2])
    return float(value.rstrip("s")) * 1000


def rpc_scenarios(binary: str, env: dict[str, str]) -> list[dict]:
    """Issue 5's figures: requests per second and p99 latency of `GET /health`, a JSON-RPC built-in call
    (`daemons.status`) and a cache `GET`, with wrk at 64 connections for 10 s; and calls per second of a command
    method (`cat`), from 16 concurrent clients for 5 s."""
    wrk_path = peers.ensure_tool("wrk", "wrk")
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-rpc-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text(
            "daemons:\n  core:\n    kind: rpc\n    listen: 127.0.0.1:0\n    methods:\n"
            '      echo: {command: ["cat"]}\n'
            "  tick:\n    kind: periodic\n    interval: 1h\n    command: [\"true\"]\n"
        )
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder)
        try:
            status = json.loads(subprocess.run([binary, "-f", str(manifest), "status", "--json"], env=env,
                                               capture_output=True, text=True, cwd=folder).stdout)
            listen = next(d["health"]["listen"] for d in status["daemons"] if d["name"] == "core")
            base = "http://" + listen
            if wrk_path:
                results.append({"scenario": "GET /health, wrk 64 connections 10 s", **wrk(wrk_path, base + "/health"),
                                "target": "tens of thousands per second"})
                script = root / "rpc.lua"
                script.write_text(
                    'wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.body = \'{"jsonrpc":"2.0","id":1,"method":"daemons.status","params":{"name":"tick"}}\'\n'
                )
                results.append({"scenario": "POST /rpc daemons.status, wrk 64 connections 10 s",
                                **wrk(wrk_path, base + "/rpc", script), "target": "tens of thousands per second"})
                put = urllib.request.Request(base + "/cache/bench", data=b"x" * 256, method="PUT",
                                             headers={"Content-Type": "application/octet-stream"})
                urllib.request.urlopen(put).read()
                results.append({"scenario": "GET /cache/KEY (256 bytes), wrk 64 connections 10 s",
                                **wrk(wrk_path, base + "/cache/bench"), "target": "tens of thousands per second"})
            host, port = listen.rsplit(":", 1)
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"x": 1}}).encode()
            deadline = time.time() + 5
            counts = []

            def client() -> None:
                done = 0
                connection = http.client.HTTPConnection(host, int(port))
                while time.time() < deadline:
                    connection.request("POST", "/rpc", body=body, headers={"Content-Type": "application/json"})
                    answer = connection.getresponse().read()
                    if b'"result"' in answer:
                        done += 1
                connection.close()
                counts.append(done)

            threads = [threading.Thread(target=client) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results.append({"scenario": "command method `cat`, 16 clients 5 s",
                            "calls_per_s": round(sum(counts) / 5), "target": "—"})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    return results


STORM_FILES = 10_000


def watcher_scenarios(binary: str, env: dict[str, str]) -> list[dict]:
    """A watcher with debounce 0 (write to command started), and the 10,000-file storm: how many runs, whether
    every path was handed over, and how long after the last file the run that had it started."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-watch-") as folder:
        root = pathlib.Path(folder)
        for name in ("quick", "storm"):
            (root / name).mkdir()
        manifest = root / "daemons.yaml"
        manifest.write_text(
            "daemons:\n"
            "  quick:\n"
            "    kind: watcher\n"
            "    paths: [quick]\n"
            "    debounce: 0s\n"
            "    command: [\"sh\", \"-c\", \"date +%s.%N >> quick-seen.txt\"]\n"
            "  storm:\n"
            "    kind: watcher\n"
            "    paths: [storm]\n"
            "    debounce: 50ms\n"
            "    command: [\"sh\", \"-c\", \"echo $$(date +%s.%N) $$ORCHESTRATE_CHANGED_COUNT $$ORCHESTRATE_RESCAN >> storm-runs.txt;"
            " cat \\\"$$ORCHESTRATE_CHANGED_FILE\\\" >> storm-paths.txt\"]\n"
        )
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder)
        try:
            latency = touch_latency(root / "quick", root / "quick-seen.txt")
            if latency:
                results.append({"scenario": "file write to watcher command started (debounce 0)", **latency,
                                "target_ms": 5})
            runs_file, paths_file = root / "storm-runs.txt", root / "storm-paths.txt"
            storm = root / "storm"
            for index in range(STORM_FILES):
                (storm / f"file{index:05d}.txt").write_bytes(b"x")
            last_written = time.time()
            last_path = str(storm / f"file{STORM_FILES - 1:05d}.txt")
            # Done once the runs stop: nothing new for 2 s (debounce 50 ms, max_wait 10 s by default).
            previous, quiet_since = -1, time.time()
            deadline = time.time() + 30
            while time.time() < deadline:
                count = len(runs_file.read_text().splitlines()) if runs_file.exists() else 0
                if count != previous:
                    previous, quiet_since = count, time.time()
                elif count > 0 and time.time() - quiet_since > 2:
                    break
                time.sleep(0.05)
            runs = [line.split() for line in runs_file.read_text().splitlines()] if runs_file.exists() else []
            paths = set(paths_file.read_text().splitlines()) if paths_file.exists() else set()
            expected = {str(storm / f"file{index:05d}.txt") for index in range(STORM_FILES)}
            # The run that handed over the last file: the first whose paths, in order, reach it.
            handed, last_run_start = 0, None
            if paths_file.exists():
                lines = paths_file.read_text().splitlines()
                for run in runs:
                    handed += int(run[1])
                    if last_path in lines[:handed]:
                        last_run_start = float(run[0])
                        break
            results.append({
                "scenario": f"{STORM_FILES:,} files created at once (debounce 50ms)",
                "runs": len(runs),
                "paths_handed_over": len(paths & expected),
                "every_path": expected <= paths,
                "rescan_runs": sum(1 for run in runs if len(run) > 2 and run[2] == "1"),
                "last_file_seen": last_path in paths,
                "last_run_after_last_file_ms": round((last_run_start - last_written) * 1000, 1)
                if last_run_start else None,
                "target": "1 or 2 runs, every path, last run < 500 ms after the last file",
            })
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/orchestrate")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--daemons", type=int, default=1000)
    parser.add_argument("--output", default=str(HERE / "results" / "latest.json"))
    arguments = parser.parse_args()
    binary = str(pathlib.Path(arguments.binary).resolve())

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ORCHESTRATE__DAEMONS__DAEMON_0000__INTERVAL": "5s"}
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-") as folder:
        big = pathlib.Path(folder, "big.yaml")
        big.write_text(generate_manifest(arguments.daemons))
        tiny = pathlib.Path(folder, "tiny.yaml")
        tiny.write_text(generate_manifest(1))
        # One untimed run each, so the binary and the files are in the page cache.
        for manifest in (big, tiny):
            measure([binary, "-f", str(manifest), "validate"], 1, env)
        baseline = measure([binary, "-f", str(tiny), "validate"], arguments.runs, env)
        load = measure([binary, "-f", str(big), "validate"], arguments.runs, env)
        config = measure([binary, "-f", str(big), "config", "--json"], arguments.runs, env)
        results.append({"scenario": "validate, 1 daemon (process fixed cost)", **baseline})
        results.append({"scenario": f"validate, {arguments.daemons} daemons", **load, "target_ms": 50})
        results.append({"scenario": f"config --json, {arguments.daemons} daemons", **config})
        size = big.stat().st_size

    supervisor = supervisor_scenarios(binary, arguments.runs, env={"PATH": env["PATH"]})
    reloads = reload_scenarios(binary, env={"PATH": env["PATH"]})
    reloads.append(run_leak_scenario(binary, env={"PATH": env["PATH"]}))
    rpc = rpc_scenarios(binary, env={"PATH": env["PATH"]})
    process = processes.process_scenarios(binary)

    print(f"orchestrate benchmarks ({platform.machine()}, {os.cpu_count()} cores), medians of {arguments.runs} runs")
    print(f"manifest of {arguments.daemons} daemons: {size / 1024:.0f} KiB of YAML")
    print()
    header = f"{'scenario':<42} {'median':>10} {'min':>10} {'max':>10} {'peak RSS':>10}  target"
    print(header)
    print("-" * len(header))
    for row in results:
        target = f"< {row['target_ms']} ms" if "target_ms" in row else ""
        print(
            f"{row['scenario']:<42} {row['median_ms']:>7.1f} ms {row['min_ms']:>7.1f} ms {row['max_ms']:>7.1f} ms"
            f" {row['peak_rss_kib'] / 1024:>6.1f} MiB  {target}"
        )
    loaded = results[1]["median_ms"] - results[0]["median_ms"]
    print()
    print(f"load and validate of {arguments.daemons} daemons beyond the fixed cost: {loaded:.1f} ms")

    for title, rows in (("supervisor (50 periodic daemons at 1m, 50 watchers):", supervisor),
                        ("hot reload (20 periodic daemons), and leaks over many reloads and runs:", reloads),
                        ("rpc daemon:", rpc)):
        print()
        print(title)
        for row in rows:
            figures = ", ".join(f"{key}={value}" for key, value in row.items() if key != "scenario")
            print(f"  {row['scenario']}: {figures}")

    print()
    print("process kind: 100 `sleep 1000` processes, beside supervisord and circus (ratio: theirs / ours):")
    print("\n".join(processes.table(process)))

    output = pathlib.Path(arguments.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": {"arch": platform.machine(), "cores": os.cpu_count()},
        "runs": arguments.runs,
        "daemons": arguments.daemons,
        "manifest_bytes": size,
        "scenarios": results,
        "supervisor": supervisor,
        "reload": reloads,
        "rpc": rpc,
        "process": process,
        "load_beyond_fixed_cost_ms": round(loaded, 2),
    }
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {output.relative_to(pathlib.Path.cwd()) if output.is_relative_to(pathlib.Path.cwd()) else output}")


if __name__ == "__main__":
    main()
