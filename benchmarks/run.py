#!/usr/bin/env python3
"""orchestrate's benchmarks: `make bench` runs this with the release binary.

Each scenario runs a real `orchestrate` process several times and reports the median; the peers that do the same
job (supervisord, circus, entr, inotifywait; peers.py, installed by install.py when missing) run in the same run,
timed by the same code. Timings are wall clock on a shared machine, so compare them only as ratios within one run.
Results go to stdout (detailed sections, then the summary table of summary.py), to benchmarks/results/latest.json
and, the summary as Markdown, to benchmarks/results/latest.md. benchmarks/README.md explains each scenario.

`--quick` runs every section with a few runs, daemons, files and seconds each (common.QUICK), to check that nothing
broke: its figures are not for comparing, and it writes to .build/bench-quick/ instead. `--baseline-binary PATH`
runs orchestrate's own scenarios (not the peers') for a second binary too, one binary after the other for each
scenario, and the summary shows both and the ratio. A run that breaks (a section raising, a figure missing, a
peer that cannot be installed in a quick run) says so after the summary and exits with status 1.

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
import contextlib
import dataclasses
import http.client
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from typing import NamedTuple

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import install  # noqa: E402  (installs the peers and tools when missing)
import peers  # noqa: E402  (supervisord, circus, entr and inotifywait, measured in the same run)
import processes  # noqa: E402  (the process kind beside them)
import summary  # noqa: E402  (the table at the end)
from common import (FULL, QUICK, TIMEOUT, Binaries, Scale, UnixHTTPConnection, alive, assert_all_gone,  # noqa: E402
                    cpu_seconds, memory_mib, request_json, spread_ms, status_mib)


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
        errors = process.stderr.read().decode()
        process.stderr.close()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {errors}")
        times.append(elapsed)
        peak_kib = max(peak_kib, usage.ru_maxrss)
    return {**spread_ms(times, 2), "peak_rss_kib": peak_kib}


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


class Supervisor(NamedTuple):
    pid: int
    socket_path: str


@contextlib.contextmanager
def detached(binary: str, manifest: pathlib.Path, env: dict[str, str]):
    """`orchestrate up -d --wait` on `manifest`, in its folder; `down` when the block ends, whatever happens (a
    failed `up` included). Yields the supervisor's PID and control socket."""
    folder = manifest.parent
    try:
        subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=folder, timeout=TIMEOUT)
        state = folder / ".orchestrate"
        yield Supervisor(int((state / "orchestrate.pid").read_text().strip()), str(state / "orchestrate.sock"))
    finally:
        subprocess.run([binary, "-f", str(manifest), "down"], env=env, stdout=subprocess.DEVNULL, cwd=folder,
                       timeout=TIMEOUT)


def supervisor_scenarios(binary: str, scale: Scale, env: dict[str, str]) -> list[dict]:
    """Issue 3's figures: up -d to 100 registered, idle CPU and memory, status as a process, touch to command."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-up-") as folder:
        root = pathlib.Path(folder)
        manifest = supervisor_manifest(root, 50, 50)
        (root / "w000" / "target.txt").write_text("")
        up_times = []
        for _ in range(scale.up_runs):
            start = time.perf_counter()
            subprocess.run([binary, "-f", str(manifest), "up", "-d", "--wait"], check=True, env=env,
                           stdout=subprocess.DEVNULL, cwd=folder, timeout=TIMEOUT)
            up_times.append((time.perf_counter() - start) * 1000)
            subprocess.run([binary, "-f", str(manifest), "down"], check=True, env=env, stdout=subprocess.DEVNULL,
                           cwd=folder, timeout=TIMEOUT)
        results.append({"scenario": "up -d --wait, 100 daemons registered and started", **spread_ms(up_times),
                        "target_ms": 100})
        with detached(binary, manifest, env) as supervisor:
            pid = supervisor.pid
            time.sleep(scale.settle_s)  # let start-up settle before measuring what idling costs
            before = cpu_seconds(pid)
            time.sleep(scale.idle_s)
            idle = cpu_seconds(pid) - before
            results.append({"scenario": f"idle CPU, 100 daemons, over {scale.idle_s:g} s",
                            "cpu_ms": round(idle * 1000, 1), **memory_mib(pid),
                            "target": "no work when nothing is due; < 15 MiB"})
            status = measure([binary, "-f", str(manifest), "status"], scale.runs, env)
            results.append({"scenario": "orchestrate status as a whole process", **status, "target_ms": 8})
            latency = touch_latency(root / "w000" / "target.txt", root / "seen.txt", scale)
            results.append({"scenario": "file write to watcher command started (debounce 50ms)", **latency,
                            "target_ms": 55})
    return results


def touch_latency(target: pathlib.Path, seen: pathlib.Path, scale: Scale) -> dict:
    """Writes `target`, an existing watched file, `scale.writes` times; each time, the delay until the watcher's
    command appends its start time (`date +%s.%N`) to `seen` (no median when every write was missed)."""
    latencies = []
    writes = scale.writes
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
    return {**spread_ms(latencies), "missed": writes - len(latencies),
            "command_own_start_ms": command_start_cost(scale.command_start_runs)}


def line_count(path: pathlib.Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def command_start_cost(runs: int) -> float:
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


def post_reload(socket_path: str) -> dict:
    return request_json(socket_path, "POST", "/v1/reload", {})


def process_counts(pid: int) -> dict:
    return {"fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": len(os.listdir(f"/proc/{pid}/task")),
            "rss_mib": round(status_mib(pid), 1), "rss_anon_mib": round(status_mib(pid, "RssAnon"), 1)}


def run_leak_scenario(binary: str, scale: Scale, env: dict[str, str]) -> dict:
    """10 periodic daemons running `true` every 20 ms until `scale.leak_runs` runs: the supervisor's descriptors,
    threads and memory after `scale.leak_warmup_runs` runs (warmed up) and after all of them."""
    runs = scale.leak_runs
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-runs-") as folder:
        root = pathlib.Path(folder)
        lines = ["daemons:"] + [f"  p{index}: {{kind: periodic, interval: 20ms, command: [\"true\"]}}" for index in range(10)]
        manifest = root / "daemons.yaml"
        manifest.write_text("\n".join(lines) + "\n")
        with detached(binary, manifest, env) as supervisor:
            # 500 runs a second are due: a supervisor that falls far behind is broken, not slow.
            deadline = time.monotonic() + TIMEOUT + runs / 50
            while total_runs(supervisor.socket_path) < scale.leak_warmup_runs:
                time.sleep(0.1)
            before = process_counts(supervisor.pid)
            begin = time.perf_counter()
            while (done := total_runs(supervisor.socket_path)) < runs:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{done:,} of {runs:,} periodic runs after {time.perf_counter() - begin:.0f} s")
                time.sleep(0.5 if runs - done > 500 else 0.1)
            after = process_counts(supervisor.pid)
            return {"scenario": f"{runs:,} periodic runs (10 daemons, `true` every 20 ms)", "before": before,
                    "after": after, "runs": done, "seconds": round(time.perf_counter() - begin, 1),
                    "target": "descriptors, threads and memory flat"}


def reload_scenarios(binary: str, scale: Scale, env: dict[str, str]) -> list[dict]:
    """Issue 4's figures: a save of the manifest to the added daemon's command running (median of
    `scale.reload_saves`, the debounce beside it), and `scale.leak_reloads` reloads in a row alternating two
    manifests of 20 daemons, with the supervisor's descriptors, threads and memory before and after."""
    runs, leak_reloads = scale.reload_saves, scale.leak_reloads
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-reload-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text(reload_manifest(20))
        with detached(binary, manifest, env):
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
            figures = spread_ms(latencies)
            results.append({"scenario": "save of the manifest to the added daemon's command running", **figures,
                            "missed": runs - len(latencies), "debounce_ms": 50,
                            "beyond_debounce_ms": round(figures["median_ms"] - 50, 1) if latencies else None,
                            "command_own_start_ms": command_start_cost(scale.command_start_runs),
                            "target": "50 ms plus the debounce"})

        results += scale_scenarios(binary, root, runs, env)

        # Leaks: manual mode, so each reload is exactly one POST /v1/reload after a save.
        manifest.write_text(reload_manifest(20, manual=True))
        with detached(binary, manifest, env) as supervisor:
            pid, socket_path = supervisor
            versions = [reload_manifest(20, interval="1h", manual=True), reload_manifest(20, interval="2h", manual=True)]
            for index in range(scale.leak_warmup_reloads):  # warm-up: first-use allocations are not leaks
                manifest.write_text(versions[index % 2])
                post_reload(socket_path)
            before = process_counts(pid)
            begun = time.perf_counter()
            failures = 0
            for index in range(scale.leak_warmup_reloads, scale.leak_warmup_reloads + leak_reloads):
                manifest.write_text(versions[index % 2])  # the other version than the last one applied
                answer = post_reload(socket_path)
                if not answer.get("ok") or answer["plan"]["changed"] != ["d00"]:
                    failures += 1
            elapsed = time.perf_counter() - begun
            after = process_counts(pid)
            results.append({"scenario": f"{leak_reloads:,} reloads in a row, 20 daemons, one changed each time",
                            "before": before, "after": after, "failed_reloads": failures,
                            "per_reload_ms": round(elapsed * 1000 / leak_reloads, 2),
                            "target": "descriptors, threads and memory flat"})
    return results


def scale_scenarios(binary: str, root: pathlib.Path, runs: int, env: dict[str, str]) -> list[dict]:
    """Issue 19's figure: `orchestrate scale web 20` of a process daemon run once, to every copy running (each with
    its PID in the status document), and back to 1, to the 19 copies' processes gone; `runs` times each."""
    folder = root / "scale"
    folder.mkdir()
    manifest = folder / "daemons.yaml"
    manifest.write_text('reload: manual\ndaemons:\n  web:\n    kind: process\n    replicas: 1\n'
                        '    command: ["sleep", "3600"]\n    stop_timeout: 5s\n')
    up, down, answered = [], [], []
    with detached(binary, manifest, env) as supervisor:
        socket_path = supervisor.socket_path

        def copies() -> list[dict]:
            daemons = request_json(socket_path, "GET", "/v1/status")["daemons"]
            return [daemon for daemon in daemons if daemon["name"].startswith("web#")]

        for _ in range(runs):
            begun = time.perf_counter()
            answer = request_json(socket_path, "POST", "/v1/daemons/web/scale", {"replicas": 20})
            answered.append((time.perf_counter() - begun) * 1000)
            deadline = time.time() + 10
            while time.time() < deadline:
                now = copies()
                if len(now) == 20 and all(d["state"] == "running" and d["pids"] for d in now):
                    up.append((time.perf_counter() - begun) * 1000)
                    break
                time.sleep(0.001)
            stopped = [pid for d in copies() if d["name"] != "web#1" for pid in d["pids"]]
            begun = time.perf_counter()
            answer = request_json(socket_path, "POST", "/v1/daemons/web/scale", {"replicas": 1})
            deadline = time.time() + 10
            while answer.get("ok") and time.time() < deadline:
                if not any(alive(pid) for pid in stopped):
                    down.append((time.perf_counter() - begun) * 1000)
                    break
                time.sleep(0.001)
    return [
        {"scenario": "scale from 1 to 20 replicas, to all running", **spread_ms(up), "missed": runs - len(up),
         "answer_median_ms": spread_ms(answered)["median_ms"], "target": "as up -d with 20 children"},
        {"scenario": "scale from 20 to 1 replica, to the 19 gone", **spread_ms(down), "missed": runs - len(down),
         "target": "as down with 20 children"},
    ]


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


def rpc_scenarios(binary: str, scale: Scale, env: dict[str, str], wrk_path: str | None) -> list[dict]:
    """Issue 5's figures: requests per second and p99 latency of `GET /health`, a JSON-RPC built-in call
    (`daemons.status`) and a cache `GET`, with wrk at 64 connections for `scale.wrk_s` (10 s); and calls per second
    of a command method (`cat`), from 16 concurrent clients for `scale.method_s` (5 s). Without wrk, its rows say
    "skipped"."""
    seconds = scale.wrk_s
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-rpc-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text(
            "daemons:\n  core:\n    kind: rpc\n    listen: 127.0.0.1:0\n    methods:\n"
            '      echo: {command: ["cat"]}\n'
            "  tick:\n    kind: periodic\n    interval: 1h\n    command: [\"true\"]\n"
        )
        with detached(binary, manifest, env):
            status = json.loads(subprocess.run([binary, "-f", str(manifest), "status", "--json"], env=env,
                                               capture_output=True, text=True, cwd=folder, timeout=TIMEOUT).stdout)
            listen = next(d["health"]["listen"] for d in status["daemons"] if d["name"] == "core")
            base = "http://" + listen
            titles = [f"GET /health, wrk 64 connections {seconds} s", f"POST /rpc daemons.status, wrk 64 connections {seconds} s",
                      f"GET /cache/KEY (256 bytes), wrk 64 connections {seconds} s"]
            if not wrk_path:
                results += [{"scenario": title, "skipped": "wrk is not installed"} for title in titles]
            else:
                results.append({"scenario": titles[0], **wrk(wrk_path, base + "/health", seconds=seconds),
                                "target": "tens of thousands per second"})
                script = root / "rpc.lua"
                script.write_text(
                    'wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    'wrk.body = \'{"jsonrpc":"2.0","id":1,"method":"daemons.status","params":{"name":"tick"}}\'\n'
                )
                results.append({"scenario": titles[1], **wrk(wrk_path, base + "/rpc", script, seconds=seconds),
                                "target": "tens of thousands per second"})
                put = urllib.request.Request(base + "/cache/bench", data=b"x" * 256, method="PUT",
                                             headers={"Content-Type": "application/octet-stream"})
                urllib.request.urlopen(put).read()
                results.append({"scenario": titles[2], **wrk(wrk_path, base + "/cache/bench", seconds=seconds),
                                "target": "tens of thousands per second"})
            host, port = listen.rsplit(":", 1)
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"x": 1}}).encode()
            deadline = time.time() + scale.method_s
            counts = []

            def client() -> None:
                done = 0
                connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
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
            results.append({"scenario": f"command method `cat`, 16 clients {scale.method_s:g} s",
                            "calls_per_s": round(sum(counts) / scale.method_s), "target": "—"})
    return results


LATENCY_COMMAND = "date +%s.%N >> quick-seen.txt"  # the same command for orchestrate, entr and inotifywait


def watcher_folders(root: pathlib.Path) -> pathlib.Path:
    """The folders of the two watcher tasks in `root`, `quick` and `storm`, and the file written in the first,
    `quick/target.txt` (empty), which it returns."""
    for name in ("quick", "storm"):
        (root / name).mkdir()
    target = root / "quick" / "target.txt"
    target.write_text("")
    return target


def watcher_scenarios(binary: str, scale: Scale, env: dict[str, str]) -> list[dict]:
    """A watcher with debounce 0 (a write to the command started), and the storm of `scale.storm_files` files
    (10,000) into a watcher with debounce 50 ms (see `storm`)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-watch-") as folder:
        root = pathlib.Path(folder)
        target = watcher_folders(root)
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
            "  server:\n"
            "    kind: process\n"
            "    watch: {paths: [code], debounce: 50ms}\n"
            "    command: [\"sh\", \"-c\", \"date +%s.%N >> server-started.txt; exec sleep 3600\"]\n"
        )
        (root / "code").mkdir()
        (root / "code" / "app.py").write_text("0\n")
        with detached(binary, manifest, env):
            latency = touch_latency(target, root / "quick-seen.txt", scale)
            results.append({"scenario": "file write to watcher command started (debounce 0)", **latency,
                            "target_ms": 5})
            results.append({"scenario": f"{scale.storm_files:,} files created at once (debounce 50ms)",
                            **storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt",
                                    scale.storm_files, scale.storm_timeout_s, scale.storm_quiet_s),
                            "target": "1 or 2 runs, every path, last run < 500 ms after the last file"})
            # Restart on change (a process daemon's watch): a save to the new process started, the old one stopped
            # (SIGTERM, which sleep obeys at once) and the debounce included.
            restart = touch_latency(root / "code" / "app.py", root / "server-started.txt", scale)
            results.append({"scenario": "file write to a process restarted (watch, debounce 50ms)", **restart,
                            "debounce_ms": 50, "target": "debounce + stop + start"})
    return results


def storm(folder: pathlib.Path, runs_file: pathlib.Path, paths_file: pathlib.Path, files: int, timeout: float,
          quiet: float) -> dict:
    """Writes `files` new files into the watched `folder` as fast as it can, then waits until the runs stop
    (nothing new for `quiet` s; `timeout` s at most). The watcher's command appends "TIME COUNT [RESCAN]" to `runs_file`
    for each run and the COUNT paths it was handed to `paths_file`. Reports the runs that started after the first
    file, whether every path was handed over, runs marked as a rescan, and the time from the last file written to
    the start of the run that handed it over (or, for a tool that hands over no paths, of the first run that started
    after it)."""
    old_paths = line_count(paths_file)
    begun = time.time()
    for index in range(files):
        (folder / f"file{index:05d}.txt").write_bytes(b"x")
    last_written = time.time()
    last_path = str(folder / f"file{files - 1:05d}.txt")
    settled = wait_quiet(runs_file, timeout, quiet)
    runs = [line.split() for line in runs_file.read_text().splitlines()] if runs_file.exists() else []
    runs = [run for run in runs if float(run[0]) >= begun]  # not a run a tool made at its own start
    lines = paths_file.read_text().splitlines()[old_paths:] if paths_file.exists() else []
    expected = {str(folder / f"file{index:05d}.txt") for index in range(files)}
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


def watcher_peer_scenarios(scale: Scale) -> dict[str, dict | None]:
    """entr and inotifywait on the same two tasks as orchestrate's watchers: a write to `LATENCY_COMMAND` started,
    and the storm (cut after `scale.peer_storm_timeout_s`). None for a tool that cannot be installed. Everything
    they started is checked gone."""
    results: dict[str, dict | None] = {}
    seen: dict[int, int | None] = {}
    for ensure, peer_class in ((install.ensure_entr, peers.Entr), (install.ensure_inotifywait, peers.Inotifywait)):
        executable = ensure()
        if executable is None:
            results[peer_class.name] = None
            continue
        with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
            root = pathlib.Path(folder)
            target = watcher_folders(root)
            with peer_class(folder, executable) as peer:
                peer.watch_file(target, LATENCY_COMMAND)
                latency = touch_latency(target, root / "quick-seen.txt", scale)
            seen.update(peer.started)
            with peer_class(folder, executable) as peer:
                peer.watch_storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt")
                # quiet 3 s in a full run: entr, restarted on a list of 10,000 files, takes a second or more before its run.
                outcome = storm(root / "storm", root / "storm-runs.txt", root / "storm-paths.txt", scale.storm_files,
                                scale.peer_storm_timeout_s, scale.peer_storm_quiet_s)
            seen.update(peer.started)
        results[peer_class.name] = {"latency": latency, "storm": outcome}
    assert_all_gone(seen)
    return results


def lateness_scenario(binary: str, scale: Scale, env: dict[str, str], interval_ms: int = 100,
                      jitter_ms: int = 0) -> dict:
    """`scale.lateness_daemons` (`daemons`) periodic daemons at `interval_ms` running `true`, for
    `scale.lateness_s` (`seconds`) after `scale.settle_s`: how late each scheduled run
    started. The supervisor puts it in the run's record (`last_run.late_ms`: from the scheduled instant to the child
    spawned); the records stream over the control socket (`GET /v1/events`), and a record whose last run has no
    duration yet is the start of a run (deduplicated by daemon and start). p50, p99 and max over all runs seen, how
    many runs the supervisor counted meanwhile (the stream keeps the newest 1,024 changes for a slow reader), and how
    many were due, and the supervisor's own CPU time meanwhile (the commands' is theirs). Started together, the
    daemons are due at the same instants, so each instant is a burst of `daemons` spawns; `jitter_ms` spreads them
    (lateness is measured from the jittered time)."""
    daemons, seconds = scale.lateness_daemons, scale.lateness_s
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-late-") as folder:
        root = pathlib.Path(folder)
        manifest = root / "daemons.yaml"
        manifest.write_text("daemons:\n" + "".join(f'  p{index:03d}: {{kind: periodic, interval: {interval_ms}ms, jitter: {jitter_ms}ms, command: ["true"]}}\n'
                                                   for index in range(daemons)))
        with detached(binary, manifest, env) as (pid, socket_path):
            time.sleep(scale.settle_s)  # start-up settles
            counted, cpu = -total_runs(socket_path), -cpu_seconds(pid)
            late, unmarked = read_run_starts(socket_path, seconds)
            counted, cpu = counted + total_runs(socket_path), cpu + cpu_seconds(pid)
    floor = spawn_floor(daemons, scale.runs, env)
    figures = {"daemons": daemons, "interval_ms": interval_ms, "jitter_ms": jitter_ms, "runs_seen": len(late) + unmarked,
               "runs_counted": counted, "runs_due": int(daemons * seconds * 1000 / interval_ms),
               "runs_without_late_ms": unmarked, "seconds": seconds,
               "supervisor_cpu_ms_per_run": round(cpu * 1000 / counted, 3) if counted else None}
    if late:
        ordered = sorted(late)
        figures.update({"p50_ms": round(statistics.median(ordered), 2),
                        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                        "max_ms": round(ordered[-1], 2)})
    if not jitter_ms:
        # Every instant is a burst of `daemons` spawns: measured against the floor of such a burst, taken here, in
        # the same run, right after the supervisor stopped.
        figures["target"] = "p99 ≤ 1.25× spawn floor"
        figures["spawn_floor_ms"] = floor["median_ms"]
        figures["spawn_floor_runs"] = floor["runs"]
        if late and floor["median_ms"]:
            figures["p50_over_floor"] = round(figures["p50_ms"] / floor["median_ms"], 2)
            figures["p99_over_floor"] = round(figures["p99_ms"] / floor["median_ms"], 2)
    else:
        figures["target"] = "p99 ≤ 2 ms"
    return figures


def spawn_floor(count: int, runs: int, env: dict[str, str]) -> dict:
    """The floor of a burst of `count` spawns on this machine: the time a loop of `os.posix_spawn` (glibc's, a vfork
    and exec like the supervisor's) takes to start `count` processes `true` with `env`, median of `runs` loops
    (each loop's children are reaped after it, untimed). The `count`-th run of a burst of `count` due at once cannot
    start earlier than this after its due time, whatever the supervisor does."""
    program = shutil.which("true", path=env.get("PATH"))
    loops = []
    for _ in range(runs):
        children = []
        start = time.perf_counter()
        for _ in range(count):
            children.append(os.posix_spawn(program, ["true"], env))
        loops.append((time.perf_counter() - start) * 1000)
        for child in children:
            os.waitpid(child, 0)
    return spread_ms(loops, 2)


def total_runs(socket_path: str) -> int:
    """The runs of every daemon, from `GET /v1/status`."""
    return sum(daemon["runs"] for daemon in request_json(socket_path, "GET", "/v1/status")["daemons"])


def read_run_starts(socket_path: str, seconds: float) -> tuple[list[float], int]:
    """Reads `GET /v1/events` for `seconds`: the `late_ms` of each run start (a record whose `last_run` has no
    `duration_ms` yet), once per (daemon, started_at, runs), and how many starts carried no `late_ms`."""
    connection = UnixHTTPConnection(socket_path)
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


def manifest_scenarios(binaries: Binaries, runs: int, daemons: int) -> dict[str, dict]:
    """`validate` on 1 and on `daemons` daemons, and `config --json` on the latter (see the module's docstring), for
    each binary of `binaries`, one after the other for each command."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ORCHESTRATE__DAEMONS__DAEMON_0000__INTERVAL": "5s"}
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-") as folder:
        big = pathlib.Path(folder, "big.yaml")
        big.write_text(generate_manifest(daemons))
        tiny = pathlib.Path(folder, "tiny.yaml")
        tiny.write_text(generate_manifest(1))
        # One untimed run each, so the binaries and the files are in the page cache.
        for manifest in (big, tiny):
            binaries.each(lambda binary: measure([binary, "-f", str(manifest), "validate"], 1, env))
        binaries.each(lambda binary: measure([binary, "--version"], 1, env))
        version = binaries.each(lambda binary: measure([binary, "--version"], runs, env))
        fixed = binaries.each(lambda binary: measure([binary, "-f", str(tiny), "validate"], runs, env))
        load = binaries.each(lambda binary: measure([binary, "-f", str(big), "validate"], runs, env))
        config = binaries.each(lambda binary: measure([binary, "-f", str(big), "config", "--json"], runs, env))
        return {key: {"scenarios": [{"scenario": "orchestrate --version", **version[key], "target_ms": 5},
                                    {"scenario": "validate, 1 daemon (process fixed cost)", **fixed[key]},
                                    {"scenario": f"validate, {daemons} daemons", **load[key], "target_ms": 30},
                                    {"scenario": f"config --json, {daemons} daemons", **config[key]}],
                      "manifest_bytes": big.stat().st_size,
                      "load_beyond_fixed_cost_ms": round(load[key]["median_ms"] - fixed[key]["median_ms"], 2)}
                for key in binaries.paths}


def print_manifest(document: dict, label: str = "") -> None:
    print(f"manifest of {document['daemons']} daemons: {document['manifest_bytes'] / 1024:.0f} KiB of YAML{label}")
    print()
    header = f"{'scenario':<42} {'median':>10} {'min':>10} {'max':>10} {'peak RSS':>10}  target"
    print(header)
    print("-" * len(header))
    for row in document["scenarios"]:
        target = f"≤ {row['target_ms']} ms" if "target_ms" in row else ""
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


def print_watchers(watchers: dict, label: str = "") -> None:
    print_rows(f"watchers (orchestrate{label}):", watchers["orchestrate"])
    for name in ("entr", "inotifywait"):
        if name not in watchers:
            continue
        figures = watchers[name]
        if figures is None:
            print(f"  {name}: skipped (not installed)")
            continue
        for task, row in figures.items():
            values = ", ".join(f"{key}={value}" for key, value in (row or {}).items())
            print(f"  {name}, {'file write to command' if task == 'latency' else 'the storm'}: {values or 'failed'}")


def print_details(document: dict, label: str = "") -> None:
    """The detailed sections of `document` (the new binary's, or with `label` the baseline's) that it has."""
    scale = summary.scale_of(document)
    if "scenarios" in document:
        print_manifest(document, label)
    for name, title in (("supervisor", "supervisor (50 periodic daemons at 1m, 50 watchers)"),
                        ("reload", "hot reload (20 periodic daemons), and leaks over many reloads and runs"),
                        ("rpc", "rpc daemon")):
        if name in document:
            print_rows(f"{title}{label}:", document[name])
    if "watchers" in document:
        print_watchers(document["watchers"], label)
    if "lateness" in document:
        print_rows(f"periodic lateness{label}:",
                   [{"scenario": f"{row['daemons']} periodic daemons at {row['interval_ms']} ms"
                                 f"{', jitter ' + str(row['jitter_ms']) + ' ms' if row['jitter_ms'] else ''}", **row}
                    for row in document["lateness"]])
    if "process" in document and not label:
        print()
        print("process kind: `sleep 1000` processes, beside supervisord and circus (ratio: theirs / ours):")
        baseline = document.get("baseline", {})
        print("\n".join(processes.table(document["process"], scale, baseline.get("process"),
                                        baseline.get("label", "baseline"))))


SECTIONS = ("manifest", "supervisor", "reload", "rpc", "process", "watchers", "lateness")

# What a section must have, beyond figures that are not None: (section, number of rows) for the sections that are
# lists of rows. A row that is missing is a scenario that broke.
EXPECTED_ROWS = {"supervisor": 4, "reload": 5, "rpc": 4, "lateness": 3}
# Figures that may be None: the time to the last run of a storm that was cut before it settled.
MAY_BE_NONE = {"last_run_after_last_file_ms"}


def problems(document: dict, quick: bool) -> list[str]:
    """What broke in a run: figures that are None or missing, rows that are missing, reloads that failed, wrk's
    errors, restarts a peer lost track of; a peer or tool that could not be installed only in a quick run (which
    must drive them all; a full run shows it as skipped)."""
    found = [f"{name}: {error}" for name, error in document.get("errors", {}).items()]

    def walk(where: str, value) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{where}[{index}]", item)
        if not isinstance(value, dict):
            return
        missing = []
        for key, item in value.items():
            if item is not None:
                walk(f"{where}.{key}", item)
            elif key in PEER_NAMES:
                if quick:
                    found.append(f"{where}.{key}: not installed")
            elif not (key in MAY_BE_NONE and value.get("settled") is False):
                missing.append(key)
        if missing:
            found.append(f"{where}: no figure for {', '.join(missing)}")

    for name in SECTIONS:
        if name in document["sections_s"]:
            section = document.get("scenarios" if name == "manifest" else name)
            if section is None:
                continue  # the section raised: in "errors"
            walk(name, section)
            if name in EXPECTED_ROWS and len(section) != EXPECTED_ROWS[name]:
                found.append(f"{name}: {len(section)} rows instead of {EXPECTED_ROWS[name]}")
            for row in section if isinstance(section, list) else []:
                if row.get("failed_reloads"):
                    found.append(f"{name}: {row['failed_reloads']} reloads failed ({row['scenario']})")
                if row.get("problems"):
                    found.append(f"{name}: {row['scenario']}: {'; '.join(row['problems'])}")
                if row.get("skipped") and quick:
                    found.append(f"{name}: {row['scenario']}: skipped ({row['skipped']})")
                if "calls_per_s" in row and not row["calls_per_s"]:
                    found.append(f"{name}: {row['scenario']}: no call answered")
                if name == "lateness" and "p50_ms" not in row:
                    found.append(f"{name}: {row['interval_ms']} ms: no run start with late_ms")
    for name, figures in (document.get("process") or {}).items():
        for error in (figures or {}).get("restart_errors", []):
            found.append(f"process.{name}: restart after kill -9: {error}")
    return found


PEER_NAMES = {"supervisord", "circus", "entr", "inotifywait"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/release/orchestrate")
    parser.add_argument("--label", default="new", help="the binary's name in the summary when there is a baseline")
    parser.add_argument("--baseline-binary", help="a second orchestrate binary to run orchestrate's scenarios with, "
                        "in the same run (the peers run once)")
    parser.add_argument("--baseline-label", default="baseline", help="its name in the summary")
    parser.add_argument("--quick", action="store_true",
                        help="every section with a few runs each, to check that nothing broke (results in "
                             ".build/bench-quick/ unless --output says otherwise)")
    parser.add_argument("--runs", type=int, help="runs of the short commands (default: 21, 3 with --quick)")
    parser.add_argument("--daemons", type=int, default=1000)
    parser.add_argument("--output", help="the JSON results; the Markdown summary goes beside it (default: "
                                         "benchmarks/results/latest.json, .build/bench-quick/latest.json with --quick)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})")
    arguments = parser.parse_args()
    only = [name.strip() for name in arguments.only.split(",") if name.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    scale = QUICK if arguments.quick else FULL
    if arguments.runs:
        scale = dataclasses.replace(scale, runs=arguments.runs)
    binary = str(pathlib.Path(arguments.binary).resolve())
    baseline = str(pathlib.Path(arguments.baseline_binary).resolve()) if arguments.baseline_binary else None
    for path in filter(None, (binary, baseline)):
        if not os.access(path, os.X_OK):
            parser.error(f"{path} is not an executable (make release builds .build/release/orchestrate)")
    binaries = Binaries(binary, baseline)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    output = pathlib.Path(arguments.output) if arguments.output else (
        HERE.parent / ".build" / "bench-quick" / "latest.json" if arguments.quick else HERE / "results" / "latest.json")

    def watchers() -> dict[str, dict]:
        ours = binaries.each(lambda path: watcher_scenarios(path, scale, env))
        found = {key: {"orchestrate": rows} for key, rows in ours.items()}
        found["new"].update(watcher_peer_scenarios(scale))
        return found

    def reload() -> dict[str, list]:
        saves = binaries.each(lambda path: reload_scenarios(path, scale, env))
        leaks = binaries.each(lambda path: run_leak_scenario(path, scale, env))
        return {key: saves[key] + [leaks[key]] for key in binaries.paths}

    def lateness() -> dict[str, list]:
        runs = [binaries.each(lambda path: lateness_scenario(path, scale, env, interval_ms=interval, jitter_ms=jitter))
                for interval, jitter in ((1000, 0), (1000, 900), (100, 0))]
        return {key: [run[key] for run in runs] for key in binaries.paths}

    def rpc() -> dict[str, list]:
        wrk_path = install.ensure_wrk()
        return binaries.each(lambda path: rpc_scenarios(path, scale, env, wrk_path))

    # Each returns {"new": figures, "baseline": figures} ("baseline" only with a baseline binary).
    runners = {
        "manifest": lambda: manifest_scenarios(binaries, scale.runs, arguments.daemons),
        "supervisor": lambda: binaries.each(lambda path: supervisor_scenarios(path, scale, env)),
        "reload": reload,
        "rpc": rpc,
        "process": lambda: processes.process_scenarios(binaries, scale),
        "watchers": watchers,
        "lateness": lateness,
    }
    machine = {"arch": platform.machine(), "cores": os.cpu_count()}
    document = {"machine": machine, "scale": dataclasses.asdict(scale), "runs": scale.runs,
                "daemons": arguments.daemons, "binary": binary, "sections_s": {}, "errors": {}}
    if baseline:
        document["label"] = arguments.label
        document["baseline"] = {"label": arguments.baseline_label, "binary": baseline, "scale": document["scale"],
                                "runs": scale.runs, "daemons": arguments.daemons}
    for name in only:
        begun = time.perf_counter()
        try:
            figures = runners[name]()
        except Exception as error:  # every section runs; the run fails at the end
            traceback.print_exc()
            document["errors"][name] = f"{type(error).__name__}: {error}"
            figures = {}
        for key, part in figures.items():
            target = document if key == "new" else document["baseline"]
            if name == "manifest":
                target.update(part)
            else:
                target[name] = part
        document["sections_s"][name] = round(time.perf_counter() - begun, 1)
    if not document["errors"]:
        del document["errors"]

    kind = "quick run (few runs each: for checking, not for comparing)" if arguments.quick else "medians of the runs given as n"
    print(f"orchestrate benchmarks ({platform.machine()}, {os.cpu_count()} cores), {kind}")
    print_details(document)
    if baseline:
        print()
        print(f"==== the same for the baseline binary, {arguments.baseline_label} ({baseline}) ====")
        print_details(document["baseline"], f", {arguments.baseline_label}")

    found = summary.rows(document)
    labels = (arguments.label, arguments.baseline_label)
    print()
    print("summary (medians; in brackets the peer's figure over orchestrate's: above 1, orchestrate is faster or lighter)")
    if baseline:
        found = summary.with_baseline(found, summary.rows(document["baseline"]))
        print(f"orchestrate ({arguments.label}: {binary}) beside {arguments.baseline_label} ({baseline}), measured in "
              f"the same run; base/new is {arguments.baseline_label}'s figure over {arguments.label}'s, of the row's "
              f"first figure (above 1: {arguments.label} is faster or lighter; for runs and requests per second, "
              f"below 1 is better); ! marks more than {summary.TOLERANCE:.0%} worse")
    print(summary.text(found, width=160 if baseline else 120, labels=labels))
    if baseline:
        worse = summary.worse(found)
        print()
        print(f"more than {summary.TOLERANCE:.0%} worse than {arguments.baseline_label}: "
              + (", ".join(row.scenario for row in worse) if worse else "no row"))
    print()
    print("sections took " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in document["sections_s"].items()))

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    markdown = output.with_suffix(".md")
    markdown.write_text(f"orchestrate benchmarks ({platform.machine()}, {os.cpu_count()} cores, "
                        f"{time.strftime('%Y-%m-%d')}{', quick run' if arguments.quick else ''}): medians of n runs; "
                        f"in brackets the peer's figure over orchestrate's (above 1: orchestrate is faster or "
                        f"lighter).\n\n{summary.markdown(found, labels)}\n")
    for path in (output, markdown):
        shown = path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path
        print(f"written to {shown}")

    broken = problems(document, arguments.quick) + (
        [f"baseline {problem}" for problem in problems(document["baseline"] | {"sections_s": document["sections_s"]},
                                                       False)] if baseline else [])
    if broken:
        print()
        print(f"bench: {len(broken)} problem{'s' if len(broken) > 1 else ''}: the run is broken", file=sys.stderr)
        for problem in broken:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
