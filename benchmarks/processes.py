"""The process kind beside supervisord and circus (issue 6), measured the same way for all three.

Each system supervises 100 programs `sleep 1000` (named p000..p099), in a temporary folder, on Unix sockets
only. Its daemon runs in the foreground as a child of this script (orchestrate: `orchestrate up`;
supervisord: nodaemon; circus: circusd), so the same code in peers.py times all three by watching /proc:

- start: launching the daemon until 100 children run `sleep 1000`;
- idle: CPU time of the daemon over 10 s with the 100 programs running, and its resident memory;
- restart after a crash: kill -9 of one program until a new process runs its command (orchestrate's backoff is
  set to its minimum, 1 ms, and kept from doubling; supervisord and circus restart without a delay of their own);
- down: `orchestrate down` / `supervisorctl shutdown` / `circusctl quit` until the daemon exited and every program
  is gone; and the same after SIGTERM to the daemon.

Also for orchestrate alone: `up -d --wait` as a whole command (detached), to 100 processes running.
"""

import json
import os
import pathlib
import signal
import statistics
import subprocess
import tempfile
import time

import peers

PROGRAMS = {f"p{index:03d}": "sleep 1000" for index in range(100)}


class Orchestrate(peers._Peer):
    """`orchestrate up` in the foreground on a manifest of `process` daemons: stop_timeout 1s (supervisord's
    stopwaitsecs and circus' graceful_timeout in peers.py), restart always with a 1 ms backoff that does not grow
    (max 1 ms: each kill finds it reset) and a burst limit the benchmark cannot reach."""

    name = "orchestrate"
    STOP_VERB = "down"

    def __init__(self, folder, programs, executables):
        super().__init__(folder, programs, executables)
        self.config = self.folder / "daemons.yaml"
        self.socket_path = self.folder / ".orchestrate" / "orchestrate.sock"

    def _write_config(self, programs: dict[str, str]) -> None:
        lines = ["defaults:", "  stop_timeout: 1s",
                 "  restart: {policy: always, backoff: {initial: 1ms, max: 1ms}, limit: {burst: 10000, window: 1m}}",
                 "daemons:"]
        for name, command in programs.items():
            lines += [f"  {name}:", "    kind: process", f"    command: {json.dumps(command.split())}"]
        self._write_atomically("\n".join(lines) + "\n")

    def _daemon_command(self) -> list[str]:
        return [self.daemon_path, "-f", str(self.config), "up"]

    def _ctl(self, *arguments: str) -> list[str]:
        return [self.ctl_path, "-f", str(self.config), *arguments]

    def _running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        try:
            connection = _UnixHTTP(str(self.socket_path))
            connection.request("GET", "/v1/status")
            document = json.loads(connection.getresponse().read())
            connection.close()
        except (OSError, ValueError):
            return None
        return {daemon["name"]: (daemon["pids"][0] if daemon["state"] == "running" and daemon["pids"] else None)
                for daemon in document["daemons"] if daemon["name"] in names}

    def _apply_commands(self) -> list[list[str]]:
        return [self._ctl("reload")]


class _UnixHTTP(peers._UnixHTTPConnection):
    def __init__(self, path: str):
        super().__init__(path, timeout=peers.TIMEOUT)


def _idle(peer, seconds: float = 10.0) -> dict:
    """CPU time of the daemon over `seconds` with its programs running, and its memory after."""
    pid = peer.pid
    time.sleep(1)  # start-up settles
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    used = _cpu_seconds(pid) - before
    return {"idle_cpu_ms": round(used * 1000, 1), "rss_mib": round(_status_mib(pid, "VmRSS"), 1),
            "rss_anon_mib": round(_status_mib(pid, "RssAnon"), 1)}


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_mib(pid: int, field: str) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _median(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def measure(peer_class, executables, runs: int, seen: dict) -> dict:
    """start, down and stop by SIGTERM (`runs` fresh daemons each), idle CPU and memory, restart after kill -9."""
    starts, by_signal, by_ctl = [], [], []
    for index in range(runs):
        for via_ctl, stops in ((False, by_signal), (True, by_ctl)):
            with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
                with peer_class(folder, PROGRAMS, executables) as peer:
                    starts.append(peer.start())
                    # A stop comes at no particular moment of the daemon's loop (supervisord polls every 1 s).
                    time.sleep(0.2 + 0.25 * index)
                    stops.append(peer.stop(via_ctl=via_ctl))
                    assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
                seen.update(peer.started)
    figures = {"start_ms": _median(starts), "down_ms": _median(by_ctl), "stop_sigterm_ms": _median(by_signal),
               "down_max_ms": round(max(by_ctl) * 1000, 1), "stop_sigterm_max_ms": round(max(by_signal) * 1000, 1)}
    with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
        with peer_class(folder, PROGRAMS, executables) as peer:
            peer.start()
            figures.update(_idle(peer))
            restarts, errors = [], []
            for index in range(runs):
                try:
                    restarts.append(peer.restart_latency(f"p{index + 1:03d}"))
                except TimeoutError as error:  # a peer that loses track of a program: reported, not fatal
                    errors.append(str(error))
            figures["restart_after_kill_ms"] = _median(restarts) if restarts else None
            if errors:
                figures["restart_errors"] = errors
            peer.stop(via_ctl=True)
            assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
        seen.update(peer.started)
    return figures


def up_detached(binary: str, runs: int) -> dict:
    """`orchestrate up -d --wait` as a whole command, to 100 processes running, then `down`."""
    times, downs = [], []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-upd-") as folder:
        manifest = Orchestrate(folder, PROGRAMS, (binary, binary))
        manifest._write_config(PROGRAMS)
        arguments = [binary, "-f", str(manifest.config)]
        for _ in range(runs):
            begin = time.perf_counter()
            subprocess.run(arguments + ["up", "-d", "--wait"], check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - begin)
            status = json.loads(subprocess.run(arguments + ["status", "--json"], check=True, capture_output=True).stdout)
            running = [daemon for daemon in status["daemons"] if daemon["state"] == "running" and daemon["pids"]]
            assert len(running) == 100, f"{len(running)} of 100 running after up --wait"
            pids = [daemon["pids"][0] for daemon in running]
            begin = time.perf_counter()
            subprocess.run(arguments + ["down"], check=True, stdout=subprocess.DEVNULL)
            while any(peers.alive(pid) for pid in pids):
                time.sleep(peers.POLL)
            downs.append(time.perf_counter() - begin)
    return {"up_d_wait_ms": _median(times), "down_ms": _median(downs)}


def process_scenarios(binary: str, runs: int = 5) -> dict:
    """Every figure for orchestrate, supervisord and circus (a peer that cannot be installed is left out)."""
    before = _processes()
    seen: dict[int, int | None] = {}
    results = {"orchestrate": measure(Orchestrate, (binary, binary), runs, seen)}
    results["orchestrate"].update({"detached_" + key: value for key, value in up_detached(binary, runs).items()})
    for ensure, peer_class in ((peers.ensure_supervisord, peers.Supervisord), (peers.ensure_circus, peers.Circus)):
        executables = ensure()
        if executables is None:
            results[peer_class.name] = None
            continue
        results[peer_class.name] = measure(peer_class, executables, runs, seen)
    left = [pid for pid, started in seen.items() if peers.alive(pid, started)]
    strays = [pid for pid, argv in _processes().items() if pid not in before and argv == ["sleep", "1000"]]
    assert not left and not strays, f"left alive: {left} {strays}"
    return results


def _processes() -> dict[int, list[str]]:
    return {int(entry): peers.cmdline(int(entry)) for entry in os.listdir("/proc")
            if entry.isdigit() and peers.alive(int(entry))}


ROWS = [
    ("start: launch to 100 `sleep` processes running", "start_ms", "ms"),
    ("idle CPU with 100 processes, over 10 s", "idle_cpu_ms", "ms"),
    ("resident memory (VmRSS) with 100 processes", "rss_mib", "MiB"),
    ("restart after kill -9 of one process", "restart_after_kill_ms", "ms"),
    ("down: 100 processes gone, the daemon exited", "down_ms", "ms"),
    ("stop by SIGTERM to the daemon, all gone", "stop_sigterm_ms", "ms"),
]


def table(results: dict) -> list[str]:
    """The rows: scenario, orchestrate, each peer, and the peer's figure over orchestrate's."""
    ours = results["orchestrate"]
    names = [name for name in ("supervisord", "circus") if results.get(name)]
    lines = [f"  {'scenario':<48} {'orchestrate':>12} " + " ".join(f"{name:>12} {'ratio':>7}" for name in names)]
    for title, key, unit in ROWS:
        cells = [f"{ours[key]:>9.1f} {unit:<3}"]
        for name in names:
            theirs = results[name].get(key)
            if theirs is None or ours[key] is None:
                cells.append(f"{'failed':>13} {'-':>7}")
                continue
            ratio = f"{theirs / ours[key]:.1f}x" if ours[key] > 0 else "-"
            cells.append(f"{theirs:>9.1f} {unit:<3} {ratio:>7}")
        lines.append(f"  {title:<48} " + " ".join(cells))
    for name in names:
        for error in results[name].get("restart_errors", []):
            lines.append(f"  {name}, restart after kill -9: {error}")
    lines.append(f"  orchestrate up -d --wait (detached), 100 processes running: {ours['detached_up_d_wait_ms']} ms;"
                 f" its down: {ours['detached_down_ms']} ms")
    return lines


if __name__ == "__main__":
    import sys
    figures = process_scenarios(sys.argv[1] if len(sys.argv) > 1 else ".build/release/orchestrate")
    print(json.dumps(figures, indent=2))
    print("\n".join(table(figures)))
