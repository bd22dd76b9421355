"""The process kind beside supervisord and circus (issues 6 and 7), measured the same way for all three.

Each system supervises programs `sleep 1000` (named p000, p001, ...), in a temporary folder, on Unix sockets only.
Its daemon runs in the foreground as a child of this script (orchestrate: `orchestrate up`; supervisord: nodaemon;
circus: circusd), so the same code in peers.py times all three by watching /proc:

- start: launching the daemon until 1, 10, 100 or 1,000 children run `sleep 1000` (fresh daemons each time);
- idle: CPU time of the daemon over 10 s with 100 programs running, and its resident memory;
- status: one whole `orchestrate status` / `supervisorctl status` / `circusctl status` process, 100 programs;
- manifest change applied: a new config written with one program added (and the previously added one removed),
  to the new program running and the old one gone; orchestrate applies the save itself (its manifest watcher),
  supervisord after `supervisorctl update`, circus after `circusctl reloadconfig`, each command included;
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

START_COUNTS = {1: 5, 10: 5, 1000: 3}  # programs -> fresh daemons started (100: the starts of `measure`)
STATUS_RUNS = 21
CHANGE_RUNS = 10


def programs(count: int) -> dict[str, str]:
    """`count` programs `sleep 1000`, p000 onwards."""
    return {f"p{index:03d}": "sleep 1000" for index in range(count)}


PROGRAMS = programs(100)


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
        return []  # the save is the command: the supervisor watches its manifest (reload: auto, debounce 50 ms)


class _UnixHTTP(peers._UnixHTTPConnection):
    def __init__(self, path: str):
        super().__init__(path, timeout=peers.TIMEOUT)


def _idle(peer, seconds: float = 10.0) -> dict:
    """CPU time of the daemon over `seconds` with its programs running, how often its threads woke up (context
    switches per second: the kernel counts CPU time in 10 ms ticks, too coarse for a daemon that wakes briefly),
    and its memory after."""
    pid = peer.pid
    time.sleep(1)  # start-up settles
    before, switches = _cpu_seconds(pid), _context_switches(pid)
    time.sleep(seconds)
    used = _cpu_seconds(pid) - before
    woke = sum(count - switches.get(tid, 0) for tid, count in _context_switches(pid).items())
    return {"idle_cpu_ms": round(used * 1000, 1), "idle_wakeups_per_s": round(woke / seconds, 1),
            "rss_mib": round(_status_mib(pid, "VmRSS"), 1), "rss_anon_mib": round(_status_mib(pid, "RssAnon"), 1)}


def _context_switches(pid: int) -> dict[int, int]:
    """Voluntary and involuntary context switches so far of each thread of `pid` (per thread: a thread that ends
    takes its count with it, so a difference is taken over the threads alive at the end)."""
    counts = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            lines = pathlib.Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        counts[int(task)] = sum(int(line.split()[1]) for line in lines if "ctxt_switches:" in line)
    return counts


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
    """start, down and stop by SIGTERM (`runs` fresh daemons each), idle CPU and memory, status round trip,
    manifest change applied, restart after kill -9; all with 100 programs."""
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
    figures = {"start_100_ms": _median(starts), "start_100_runs": len(starts),
               "down_ms": _median(by_ctl), "down_max_ms": round(max(by_ctl) * 1000, 1), "down_runs": len(by_ctl),
               "stop_sigterm_ms": _median(by_signal), "stop_sigterm_max_ms": round(max(by_signal) * 1000, 1)}
    with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
        with peer_class(folder, PROGRAMS, executables) as peer:
            peer.start()
            figures.update(_idle(peer))
            figures["status_ms"] = _median([peer.status_roundtrip() for _ in range(STATUS_RUNS)])
            figures["status_runs"] = STATUS_RUNS
            # Each change adds one program and removes the one the previous change added.
            figures["apply_change_ms"] = _median([peer.apply_change({**PROGRAMS, f"added{index:02d}": "sleep 1002"})
                                                  for index in range(CHANGE_RUNS)])
            figures["apply_change_runs"] = CHANGE_RUNS
            restarts, errors = [], []
            for index in range(runs):
                try:
                    restarts.append(peer.restart_latency(f"p{index + 1:03d}"))
                except TimeoutError as error:  # a peer that loses track of a program: reported, not fatal
                    errors.append(str(error))
            figures["restart_after_kill_ms"] = _median(restarts) if restarts else None
            figures["restart_runs"] = len(restarts)
            if errors:
                figures["restart_errors"] = errors
            peer.stop(via_ctl=True)
            assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
        seen.update(peer.started)
    return figures


def start_counts(peer_class, executables, seen: dict) -> dict:
    """Launch to every program running with each count of START_COUNTS, a fresh daemon each time (ended by
    kill, by PID: these runs time the start only)."""
    figures = {}
    for count, runs in START_COUNTS.items():
        times = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
                with peer_class(folder, programs(count), executables) as peer:
                    times.append(peer.start())
                    peer.kill()
                    assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
                seen.update(peer.started)
        figures[f"start_{count}_ms"] = _median(times)
        figures[f"start_{count}_runs"] = runs
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
    results = {}
    for ensure, peer_class in ((lambda: (binary, binary), Orchestrate), (peers.ensure_supervisord, peers.Supervisord),
                               (peers.ensure_circus, peers.Circus)):
        executables = ensure()
        if executables is None:
            results[peer_class.name] = None
            continue
        results[peer_class.name] = measure(peer_class, executables, runs, seen)
        results[peer_class.name].update(start_counts(peer_class, executables, seen))
    results["orchestrate"].update({"detached_" + key: value for key, value in up_detached(binary, runs).items()})
    left = peers.leftovers(seen)
    ours = (["sleep", "1000"], ["sleep", "1002"])
    strays = [pid for pid, argv in _processes().items() if pid not in before and argv in ours]
    assert not left and not strays, f"left alive: {left} {strays}"
    return results


def _processes() -> dict[int, list[str]]:
    return {int(entry): peers.cmdline(int(entry)) for entry in os.listdir("/proc")
            if entry.isdigit() and peers.alive(int(entry))}


ROWS = [
    *((f"start: launch to {count:,} `sleep` processes running", f"start_{count}_ms", "ms") for count in (1, 10, 100, 1000)),
    ("idle CPU with 100 processes, over 10 s", "idle_cpu_ms", "ms"),
    ("idle wake-ups (context switches) per second", "idle_wakeups_per_s", "/s"),
    ("resident memory (VmRSS) with 100 processes", "rss_mib", "MiB"),
    ("status as a whole process, 100 processes", "status_ms", "ms"),
    ("manifest change applied (one added, one removed)", "apply_change_ms", "ms"),
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
