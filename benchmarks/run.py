#!/usr/bin/env python3
"""orchestrate's benchmarks: `make bench` runs this with the release binary.

Each scenario runs a real `orchestrate` process several times and reports the median; the peers that do the same
job (supervisord, circus, entr, inotifywait; peers.py) run in the same run, timed by the same code. Timings are
wall clock on a shared machine, so compare them only as ratios within one run. Results go to stdout (detailed
sections, then the summary table of summary.py), to benchmarks/results/latest.json and, the summary as Markdown,
to benchmarks/results/latest.md. benchmarks/README.md explains each scenario.

Sections (`--only` runs some of them):
- manifest: `orchestrate validate` on a generated manifest of 1,000 daemons (all four kinds, with defaults,
  interpolation and an env override), beside the same command on a 1-daemon manifest, which is the process's fixed
  cost (start-up, argument parsing); peak resident memory of the process too.
- supervisor: `up -d --wait`, idle CPU and memory, `status`, a write to a command, with 50 periodic daemons and 50
  watchers.
- reload: a save of the manifest to the added daemon's command; descriptors, threads and memory over 1,000 reloads
  and over 10,000 periodic runs.
- rpc: requests per second (wrk) of an rpc daemon.
- process: the process kind beside supervisord and circus (processes.py).
- watchers: a file write to a command and the 10,000-file storm, orchestrate beside entr and inotifywait.
- lateness: how late 100 periodic daemons at 1 s, then at 100 ms, start their runs.
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
import peers  # noqa: E402  (supervisord, circus, entr and inotifywait, measured in the same run)
import processes  # noqa: E402  (the process kind beside them)
import summary  # noqa: E402  (the table at the end)


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
        (root / "w000" / "target.txt").write_text("")
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
            latency = touch_latency(root / "w000" / "target.txt", root / "seen.txt")
            if latency:
                results.append({"scenario": "file write to watcher command started (debounce 50ms)", **latency,
                                "target_ms": 55})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    return results


def touch_latency(target: pathlib.Path, seen: pathlib.Path, writes: int = 11) -> dict | None:
    """Writes `target`, an existing watched file, `writes` times; each time, the delay until the watcher's command
    appends its start time (`date +%s.%N`) to `seen`."""
    latencies = []
    for index in range(writes):
        count = line_count(seen)
        touched = time.time()
        target.write_text(f"{index}\n")
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = seen.read_text().splitlines() if seen.exists() else []
            if len(lines) > count:
                latencies.append((float(lines[count]) - touched) * 1000)
                break
            time.sleep(0.002)
        time.sleep(0.1)  # the run (and any second one for the same write) is over before the next write
    if not latencies:
        return None
    return {"median_ms": round(statistics.median(latencies), 1), "min_ms": round(min(latencies), 1),
            "max_ms": round(max(latencies), 1), "runs": len(latencies), "missed": writes - len(latencies),
            "command_own_start_ms": command_start_cost()}


def line_count(path: pathlib.Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


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


def run_leak_scenario(binary: str, env: dict[str, str], runs: int = 10_000) -> dict:
    """10 periodic daemons running `true` every 20 ms until `runs` runs: the supervisor's descriptors, threads
    and memory after 500 runs (warmed up) and after all of them."""
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-runs-") as folder:
        root = pathlib.Path(folder)
        lines = ["daemons:"] + [f"  p{index}: {{kind: periodic, interval: 20ms, command: [\"true\"]}}" for index in range(10)]
        manifest = root / "daemons.yaml"
        manifest.write_text("\n".join(lines) + "\n")
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            pid = int((root / ".orchestrate" / "orchestrate.pid").read_text().strip())
            socket_path = str(root / ".orchestrate" / "orchestrate.sock")
            while total_runs(socket_path) < 500:
                time.sleep(0.1)
            before = process_counts(pid)
            begin = time.perf_counter()
            while (done := total_runs(socket_path)) < runs:
                time.sleep(0.5)
            after = process_counts(pid)
            return {"scenario": f"{runs:,} periodic runs (10 daemons, `true` every 20 ms)", "before": before,
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
LATENCY_COMMAND = "date +%s.%N >> quick-seen.txt"  # the same command for orchestrate, entr and inotifywait
PEER_STORM_TIMEOUT = 60  # seconds a peer's storm may take before its figures are taken as they are


def watcher_scenarios(binary: str, env: dict[str, str]) -> list[dict]:
    """A watcher with debounce 0 (a write to the command started), and the 10,000-file storm into a watcher with
    debounce 50 ms (see `storm`)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-watch-") as folder:
        root = pathlib.Path(folder)
        for name in ("quick", "storm"):
            (root / name).mkdir()
        target = root / "quick" / "target.txt"
        target.write_text("")
        manifest = root / "daemons.yaml"
        manifest.write_text(
            "daemons:\n"
            "  quick:\n"
            "    kind: watcher\n"
            "    paths: [quick]\n"
            "    debounce: 0s\n"
            f"    command: [\"sh\", \"-c\", \"{LATENCY_COMMAND}\"]\n"
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
            latency = touch_latency(target, root / "quick-seen.txt")
            if latency:
                results.append({"scenario": "file write to watcher command started (debounce 0)", **latency,
                                "target_ms": 5})
            results.append({"scenario": f"{STORM_FILES:,} files created at once (debounce 50ms)",
                            **storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt"),
                            "target": "1 or 2 runs, every path, last run < 500 ms after the last file"})
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    return results


def storm(folder: pathlib.Path, runs_file: pathlib.Path, paths_file: pathlib.Path, timeout: float = 30,
          quiet: float = 2) -> dict:
    """Writes STORM_FILES new files into the watched `folder` as fast as it can, then waits until the runs stop
    (nothing new for `quiet` s; `timeout` s at most). The watcher's command appends "TIME COUNT [RESCAN]" to `runs_file`
    for each run and the COUNT paths it was handed to `paths_file`. Reports the runs that started after the first
    file, whether every path was handed over, runs marked as a rescan, and the time from the last file written to
    the start of the run that handed it over (or, for a tool that hands over no paths, of the first run that started
    after it)."""
    old_paths = line_count(paths_file)
    begun = time.time()
    for index in range(STORM_FILES):
        (folder / f"file{index:05d}.txt").write_bytes(b"x")
    last_written = time.time()
    last_path = str(folder / f"file{STORM_FILES - 1:05d}.txt")
    settled = wait_quiet(runs_file, timeout, quiet)
    runs = [line.split() for line in runs_file.read_text().splitlines()] if runs_file.exists() else []
    runs = [run for run in runs if float(run[0]) >= begun]  # not a run a tool made at its own start
    lines = paths_file.read_text().splitlines()[old_paths:] if paths_file.exists() else []
    expected = {str(folder / f"file{index:05d}.txt") for index in range(STORM_FILES)}
    handed = set(lines) & expected
    last_run_start = None
    if lines:  # the run that handed over the last file: the first whose paths, in order, reach it
        count = 0
        for run in runs:
            count += int(run[1])
            if last_path in lines[:count]:
                last_run_start = float(run[0])
                break
    else:
        last_run_start = next((float(run[0]) for run in runs if float(run[0]) >= last_written), None)
    return {
        "runs": len(runs),
        "paths_handed_over": len(handed),
        "every_path": handed == expected,
        "rescan_runs": sum(1 for run in runs if len(run) > 2 and run[2] == "1"),
        "last_file_seen": last_path in handed,
        "last_run_after_last_file_ms": round((last_run_start - last_written) * 1000, 1) if last_run_start else None,
        "writing_ms": round((last_written - begun) * 1000, 1),
        "settled": settled,
        "timeout_s": timeout,
    }


def wait_quiet(runs_file: pathlib.Path, timeout: float, quiet: float = 2.0) -> bool:
    """Waits until `runs_file` has had no new line for `quiet` seconds (after at least one); False if `timeout`
    seconds pass first."""
    previous, quiet_since = -1, time.time()
    deadline = time.time() + timeout
    while time.time() < deadline:
        count = line_count(runs_file)
        if count != previous:
            previous, quiet_since = count, time.time()
        elif count > 0 and time.time() - quiet_since > quiet:
            return True
        time.sleep(0.05)
    return False


def watcher_peer_scenarios() -> dict[str, dict | None]:
    """entr and inotifywait on the same two tasks as orchestrate's watchers: a write to `LATENCY_COMMAND` started,
    and the storm (bounded by PEER_STORM_TIMEOUT). None for a tool that cannot be installed. Everything they started
    is checked gone."""
    results: dict[str, dict | None] = {}
    seen: dict[int, int | None] = {}
    for ensure, peer_class in ((peers.ensure_entr, peers.Entr), (peers.ensure_inotifywait, peers.Inotifywait)):
        executable = ensure()
        if executable is None:
            results[peer_class.name] = None
            continue
        with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
            root = pathlib.Path(folder)
            for name in ("quick", "storm"):
                (root / name).mkdir()
            target = root / "quick" / "target.txt"
            target.write_text("")
            with peer_class(folder, executable) as peer:
                peer.watch_file(target, LATENCY_COMMAND)
                latency = touch_latency(target, root / "quick-seen.txt")
            seen.update(peer.started)
            with peer_class(folder, executable) as peer:
                peer.watch_storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt")
                # quiet 3 s: entr, restarted on a list of 10,000 files, takes a second or more before its run.
                outcome = storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt", PEER_STORM_TIMEOUT, 3)
            seen.update(peer.started)
        results[peer_class.name] = {"latency": latency, "storm": outcome}
    left = peers.leftovers(seen)
    assert not left, f"left alive: {left}"
    return results


def lateness_scenario(binary: str, env: dict[str, str], daemons: int = 100, seconds: float = 10.0,
                      interval_ms: int = 100, jitter_ms: int = 0) -> dict:
    """`daemons` periodic daemons at `interval_ms` running `true`, for `seconds`: how late each scheduled run
    started. The supervisor puts it in the run's record (`last_run.late_ms`: from the scheduled instant to the child
    spawned); the records stream over the control socket (`GET /v1/events`), and a record whose last run has no
    duration yet is the start of a run (deduplicated by daemon and start). p50, p99 and max over all runs seen, how
    many runs the supervisor counted meanwhile (the stream keeps the newest 1,024 changes for a slow reader), and how
    many were due, and the supervisor's own CPU time meanwhile (the commands' is theirs). Started together, the
    daemons are due at the same instants, so each instant is a burst of `daemons` spawns; `jitter_ms` spreads them
    (lateness is measured from the jittered time)."""
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-late-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text("daemons:\n" + "".join(f'  p{index:03d}: {{kind: periodic, interval: {interval_ms}ms, jitter: {jitter_ms}ms, command: ["true"]}}\n'
                                                   for index in range(daemons)))
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder)
        try:
            socket_path = str(root / ".orchestrate" / "orchestrate.sock")
            time.sleep(1)  # start-up settles
            pid = int((root / ".orchestrate" / "orchestrate.pid").read_text())
            counted, cpu = -total_runs(socket_path), -cpu_seconds(pid)
            late, unmarked = read_run_starts(socket_path, seconds)
            counted, cpu = counted + total_runs(socket_path), cpu + cpu_seconds(pid)
        finally:
            subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder)
    figures = {"daemons": daemons, "interval_ms": interval_ms, "jitter_ms": jitter_ms, "runs_seen": len(late) + unmarked,
               "runs_counted": counted, "runs_due": int(daemons * seconds * 1000 / interval_ms),
               "runs_without_late_ms": unmarked, "seconds": seconds,
               "supervisor_cpu_ms_per_run": round(cpu * 1000 / counted, 3) if counted else None,
               "target": "p99 < 5 ms"}
    if late:
        ordered = sorted(late)
        figures.update({"p50_ms": round(statistics.median(ordered), 2),
                        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                        "max_ms": round(ordered[-1], 2)})
    return figures


def total_runs(socket_path: str) -> int:
    """The runs of every daemon, from `GET /v1/status`."""
    connection = ControlSocket(socket_path)
    connection.request("GET", "/v1/status")
    document = json.loads(connection.getresponse().read())
    connection.close()
    return sum(daemon["runs"] for daemon in document["daemons"])


def read_run_starts(socket_path: str, seconds: float) -> tuple[list[float], int]:
    """Reads `GET /v1/events` for `seconds`: the `late_ms` of each run start (a record whose `last_run` has no
    `duration_ms` yet), once per (daemon, started_at, runs), and how many starts carried no `late_ms`."""
    connection = ControlSocket(socket_path)
    connection.request("GET", "/v1/events", headers={"Accept": "text/event-stream"})
    response = connection.getresponse()
    connection.sock.settimeout(5)
    starts: dict[tuple[str, str], float | None] = {}
    deadline = time.monotonic() + seconds
    event = b""
    try:
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                break
            if line.startswith(b"event: "):
                event = line[7:].strip()
            if event != b"daemon" or not line.startswith(b"data: {"):
                continue
            record = json.loads(line[6:])
            run = record.get("last_run") if isinstance(record.get("last_run"), dict) else None
            if run and run.get("duration_ms") is None and "started_at" in run:
                # started_at has whole seconds: the run counter tells apart the runs of one second.
                starts.setdefault((record.get("name"), run["started_at"], record.get("runs")), run.get("late_ms"))
    finally:
        connection.close()
    late = [value for value in starts.values() if value is not None]
    return late, len(starts) - len(late)


def manifest_scenarios(binary: str, runs: int, daemons: int) -> dict:
    """`validate` on 1 and on `daemons` daemons, and `config --json` on the latter (see the module's docstring)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ORCHESTRATE__DAEMONS__DAEMON_0000__INTERVAL": "5s"}
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-") as folder:
        big = pathlib.Path(folder, "big.yaml")
        big.write_text(generate_manifest(daemons))
        tiny = pathlib.Path(folder, "tiny.yaml")
        tiny.write_text(generate_manifest(1))
        # One untimed run each, so the binary and the files are in the page cache.
        for manifest in (big, tiny):
            measure([binary, "-f", str(manifest), "validate"], 1, env)
        baseline = measure([binary, "-f", str(tiny), "validate"], runs, env)
        load = measure([binary, "-f", str(big), "validate"], runs, env)
        config = measure([binary, "-f", str(big), "config", "--json"], runs, env)
        return {"scenarios": [{"scenario": "validate, 1 daemon (process fixed cost)", **baseline},
                              {"scenario": f"validate, {daemons} daemons", **load, "target_ms": 50},
                              {"scenario": f"config --json, {daemons} daemons", **config}],
                "manifest_bytes": big.stat().st_size,
                "load_beyond_fixed_cost_ms": round(load["median_ms"] - baseline["median_ms"], 2)}


def print_manifest(document: dict) -> None:
    print(f"manifest of {document['daemons']} daemons: {document['manifest_bytes'] / 1024:.0f} KiB of YAML")
    print()
    header = f"{'scenario':<42} {'median':>10} {'min':>10} {'max':>10} {'peak RSS':>10}  target"
    print(header)
    print("-" * len(header))
    for row in document["scenarios"]:
        target = f"< {row['target_ms']} ms" if "target_ms" in row else ""
        print(
            f"{row['scenario']:<42} {row['median_ms']:>7.1f} ms {row['min_ms']:>7.1f} ms {row['max_ms']:>7.1f} ms"
            f" {row['peak_rss_kib'] / 1024:>6.1f} MiB  {target}"
        )
    print()
    print(f"load and validate of {document['daemons']} daemons beyond the fixed cost: "
          f"{document['load_beyond_fixed_cost_ms']:.1f} ms")


def print_rows(title: str, rows: list[dict]) -> None:
    print()
    print(title)
    for row in rows:
        figures = ", ".join(f"{key}={value}" for key, value in row.items() if key != "scenario")
        print(f"  {row['scenario']}: {figures}")


def watchers_section(binary: str, env: dict[str, str]) -> dict:
    """orchestrate's watchers, then entr and inotifywait on the same tasks."""
    return {"orchestrate": watcher_scenarios(binary, env), **watcher_peer_scenarios()}


def print_watchers(watchers: dict) -> None:
    print_rows("watchers (orchestrate):", watchers["orchestrate"])
    for name in ("entr", "inotifywait"):
        figures = watchers.get(name)
        if figures is None:
            print(f"  {name}: skipped (not installed)")
            continue
        for task, row in figures.items():
            values = ", ".join(f"{key}={value}" for key, value in (row or {}).items())
            print(f"  {name}, {'file write to command' if task == 'latency' else 'the storm'}: {values or 'failed'}")


SECTIONS = ("manifest", "supervisor", "reload", "rpc", "process", "watchers", "lateness")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/orchestrate")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--daemons", type=int, default=1000)
    parser.add_argument("--output", default=str(HERE / "results" / "latest.json"))
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})")
    arguments = parser.parse_args()
    only = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    binary = str(pathlib.Path(arguments.binary).resolve())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    runners = {
        "manifest": lambda: manifest_scenarios(binary, arguments.runs, arguments.daemons),
        "supervisor": lambda: supervisor_scenarios(binary, arguments.runs, env),
        "reload": lambda: reload_scenarios(binary, env) + [run_leak_scenario(binary, env)],
        "rpc": lambda: rpc_scenarios(binary, env),
        "process": lambda: processes.process_scenarios(binary),
        "watchers": lambda: watchers_section(binary, env),
        "lateness": lambda: [lateness_scenario(binary, env, interval_ms=1000),
                             lateness_scenario(binary, env, interval_ms=1000, jitter_ms=900),
                             lateness_scenario(binary, env, interval_ms=100)],
    }
    document = {"machine": {"arch": platform.machine(), "cores": os.cpu_count()}, "runs": arguments.runs,
                "daemons": arguments.daemons, "sections_s": {}}
    for name in only:
        begun = time.perf_counter()
        figures = runners[name]()
        if name == "manifest":
            document.update(figures)
        else:
            document[name] = figures
        document["sections_s"][name] = round(time.perf_counter() - begun, 1)

    print(f"orchestrate benchmarks ({platform.machine()}, {os.cpu_count()} cores), medians of the runs given as n")
    if "manifest" in document["sections_s"]:
        print_manifest(document)
    for name, title in (("supervisor", "supervisor (50 periodic daemons at 1m, 50 watchers):"),
                        ("reload", "hot reload (20 periodic daemons), and leaks over many reloads and runs:"),
                        ("rpc", "rpc daemon:")):
        if name in document:
            print_rows(title, document[name])
    if "watchers" in document:
        print_watchers(document["watchers"])
    if "lateness" in document:
        print_rows("periodic lateness:", [{"scenario": f"{row['daemons']} periodic daemons at {row['interval_ms']} ms"
                                                       f"{', jitter ' + str(row['jitter_ms']) + ' ms' if row['jitter_ms'] else ''}", **row}
                                          for row in document["lateness"]])
    if "process" in document:
        print()
        print("process kind: `sleep 1000` processes, beside supervisord and circus (ratio: theirs / ours):")
        print("\n".join(processes.table(document["process"])))

    found = summary.rows(document)
    print()
    print("summary (medians; in brackets the peer's figure over orchestrate's: above 1, orchestrate is faster or lighter)")
    print(summary.text(found))
    print()
    print("sections took " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in document["sections_s"].items()))

    output = pathlib.Path(arguments.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    markdown = output.with_suffix(".md")
    markdown.write_text(f"orchestrate benchmarks ({platform.machine()}, {os.cpu_count()} cores, "
                        f"{time.strftime('%Y-%m-%d')}): medians of n runs; in brackets the peer's figure over "
                        f"orchestrate's (above 1: orchestrate is faster or lighter).\n\n{summary.markdown(found)}\n")
    for path in (output, markdown):
        shown = path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path
        print(f"written to {shown}")


if __name__ == "__main__":
    main()
