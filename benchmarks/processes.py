"""The process kind beside supervisord and circus (issues 6 and 7), measured the same way for all three.

Each system supervises programs `sleep 1000` (named p000, p001, ...), in a temporary folder, on Unix sockets only.
Its daemon runs in the foreground as a child of this script (orchestrate: `orchestrate up`; supervisord: nodaemon;
circus: circusd), so the same code (`common.Peer`) times all three by watching /proc. With the counts of a full run
(`common.FULL`; `--quick` runs fewer, `common.QUICK`):

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

Also for orchestrate alone: `up -d --wait` as a whole command (detached), to all programs running. And the floor of
the starts, timed the same way: a loop of `posix_spawn` that supervises nothing (`SpawnLoop`).
"""

import dataclasses
import json
import subprocess
import sys
import tempfile
import time

import install
import peers
from common import (FULL, POLL, Binaries, Peer, Scale, alive, assert_all_gone, context_switches, cpu_seconds,
                    median_ms, memory_mib, processes, request_json, UnixHTTPConnection)

OURS = (["sleep", "1000"], ["sleep", "1002"])  # the programs' command lines, checked gone at the end


def programs(count: int) -> dict[str, str]:
    """`count` programs `sleep 1000`, p000 onwards."""
    return {f"p{index:03d}": "sleep 1000" for index in range(count)}


class Orchestrate(Peer):
    """`orchestrate up` in the foreground on a manifest of `process` daemons: stop_timeout 1s (supervisord's
    stopwaitsecs and circus' graceful_timeout in peers.py), restart always with a 1 ms backoff that does not grow
    (max 1 ms: each kill finds it reset) and a burst limit the benchmark cannot reach."""

    name = "orchestrate"
    STOP_VERB = "down"

    def __init__(self, folder, programs, executables):
        super().__init__(folder, programs, executables)
        self.config = self.folder / "daemons.yaml"
        self.socket_path = self.folder / ".orchestrate" / "orchestrate.sock"

    def write_config(self, programs: dict[str, str]) -> None:
        lines = ["defaults:", "  stop_timeout: 1s",
                 "  restart: {policy: always, backoff: {initial: 1ms, max: 1ms}, limit: {burst: 10000, window: 1m}}",
                 "daemons:"]
        for name, command in programs.items():
            lines += [f"  {name}:", "    kind: process", f"    command: {json.dumps(command.split())}"]
        self.write_atomically("\n".join(lines) + "\n")

    def daemon_command(self) -> list[str]:
        return [self.daemon_path, "-f", str(self.config), "up"]

    def ctl(self, *arguments: str) -> list[str]:
        return [self.ctl_path, "-f", str(self.config), *arguments]

    def running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        try:
            document = request_json(str(self.socket_path), "GET", "/v1/status")
        except (OSError, ValueError):
            return None
        return {daemon["name"]: (daemon["pids"][0] if daemon["state"] == "running" and daemon["pids"] else None)
                for daemon in document["daemons"] if daemon["name"] in names}

    def apply_commands(self) -> list[list[str]]:
        return []  # the save is the command: the supervisor watches its manifest (reload: auto, debounce 50 ms)

    def own_figures(self, scale: Scale) -> dict:
        """A Prometheus scrape: `GET /metrics` on the control socket, a connection each, from connect to the last
        byte (what the supervisor spends on it, and a little of this script's)."""
        times = []
        for _ in range(scale.status_runs):
            begin = time.perf_counter()
            connection = UnixHTTPConnection(str(self.socket_path))
            try:
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                body = response.read()
            finally:
                connection.close()
            times.append(time.perf_counter() - begin)
            assert response.status == 200 and b"orchestrate_daemon_up{" in body, body[:200]
        return {"metrics_scrape_ms": median_ms(times), "metrics_scrape_runs": len(times),
                "metrics_scrape_bytes": len(body)}


class SpawnLoop(Peer):
    """The floor of a start: a Python script (`python3 -S`, a 10 ms start-up) that `os.posix_spawnp`s each program in a
    new session, one after the other, then writes their PIDs and waits. It supervises nothing; timed by the same
    harness as the three systems (launch to every program running, seen in /proc), it is about the least any
    supervisor started as one process needs on this machine to have that many programs running."""

    name = "spawn-loop"
    SCRIPT = (
        "import json, os, signal, sys\n"
        "programs = json.load(open(sys.argv[1]))\n"
        "pids = {name: os.posix_spawnp(argv[0], argv, os.environ, setsid=True) for name, argv in programs.items()}\n"
        "with open(sys.argv[2] + '.tmp', 'w') as file: json.dump(pids, file)\n"
        "os.replace(sys.argv[2] + '.tmp', sys.argv[2])\n"
        "while True: signal.pause()\n"
    )

    def __init__(self, folder, programs, executables):
        super().__init__(folder, programs, executables)
        self.config = self.folder / "programs.json"
        self.pids_file = self.folder / "pids.json"

    def write_config(self, programs: dict[str, str]) -> None:
        self.write_atomically(json.dumps({name: command.split() for name, command in programs.items()}))

    def daemon_command(self) -> list[str]:
        return [self.daemon_path, "-S", "-c", self.SCRIPT, str(self.config), str(self.pids_file)]

    def running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        try:
            pids = json.loads(self.pids_file.read_text())
        except (OSError, ValueError):
            return None
        return {name: pid for name, pid in pids.items() if name in names}


def _idle(peer: Peer, scale: Scale) -> dict:
    """CPU time of the daemon over `scale.idle_s` with its programs running, how often its threads woke up (context
    switches per second: the kernel counts CPU time in 10 ms ticks, too coarse for a daemon that wakes briefly),
    and its memory after."""
    pid = peer.pid
    time.sleep(scale.settle_s)  # start-up settles
    before, switches = cpu_seconds(pid), context_switches(pid)
    time.sleep(scale.idle_s)
    used = cpu_seconds(pid) - before
    woke = sum(count - switches.get(tid, 0) for tid, count in context_switches(pid).items())
    return {"idle_cpu_ms": round(used * 1000, 1), "idle_wakeups_per_s": round(woke / scale.idle_s, 1),
            **memory_mib(pid)}


def measure(peer_class, executables, scale: Scale, seen: dict) -> dict:
    """start, down and stop by SIGTERM (`scale.process_runs` fresh daemons each), idle CPU and memory, status round
    trip, manifest change applied, restart after kill -9; all with `scale.programs` programs."""
    count, every = scale.programs, programs(scale.programs)
    starts, by_signal, by_ctl = [], [], []
    for index in range(scale.process_runs):
        for via_ctl, stops in ((False, by_signal), (True, by_ctl)):
            with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
                with peer_class(folder, every, executables) as peer:
                    starts.append(peer.start())
                    # A stop comes at no particular moment of the daemon's loop (supervisord polls every 1 s).
                    time.sleep(0.2 + 0.25 * index)
                    stops.append(peer.stop(via_ctl=via_ctl))
                    assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
                seen.update(peer.started)
    figures = {f"start_{count}_ms": median_ms(starts), f"start_{count}_runs": len(starts),
               "down_ms": median_ms(by_ctl), "down_max_ms": round(max(by_ctl) * 1000, 1), "down_runs": len(by_ctl),
               "stop_sigterm_ms": median_ms(by_signal), "stop_sigterm_max_ms": round(max(by_signal) * 1000, 1)}
    with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
        with peer_class(folder, every, executables) as peer:
            peer.start()
            figures.update(_idle(peer, scale))
            figures["status_ms"] = median_ms([peer.status_roundtrip() for _ in range(scale.status_runs)])
            figures["status_runs"] = scale.status_runs
            figures.update(peer.own_figures(scale))
            # Each change adds one program and removes the one the previous change added.
            figures["apply_change_ms"] = median_ms([peer.apply_change({**every, f"added{index:02d}": "sleep 1002"})
                                                    for index in range(scale.change_runs)])
            figures["apply_change_runs"] = scale.change_runs
            restarts, errors = [], []
            for index in range(scale.process_runs):
                try:
                    restarts.append(peer.restart_latency(f"p{index + 1:03d}"))
                except TimeoutError as error:  # a peer that loses track of a program: reported (a problem of the run)
                    errors.append(str(error))
            figures["restart_after_kill_ms"] = median_ms(restarts) if restarts else None
            figures["restart_runs"] = len(restarts)
            if errors:
                figures["restart_errors"] = errors
            peer.stop(via_ctl=True)
            assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
        seen.update(peer.started)
    return figures


def start_counts(peer_class, executables, scale: Scale, seen: dict) -> dict:
    """Launch to every program running with each count of `scale.start_counts`, a fresh daemon each time (ended by
    kill, by PID: these runs time the start only)."""
    figures = {}
    for count, runs in scale.start_counts:
        times = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
                with peer_class(folder, programs(count), executables) as peer:
                    times.append(peer.start())
                    peer.kill()
                    assert not peer.leftovers(), f"{peer_class.name} left {peer.leftovers()}"
                seen.update(peer.started)
        figures[f"start_{count}_ms"] = median_ms(times)
        figures[f"start_{count}_runs"] = runs
    return figures


def up_detached(binary: str, scale: Scale) -> dict:
    """`orchestrate up -d --wait` as a whole command, to `scale.programs` processes running, then `down`."""
    times, downs = [], []
    every = programs(scale.programs)
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-upd-") as folder:
        manifest = Orchestrate(folder, every, (binary, binary))
        manifest.write_config(every)
        arguments = [binary, "-f", str(manifest.config)]
        for _ in range(scale.process_runs):
            begin = time.perf_counter()
            subprocess.run(arguments + ["up", "-d", "--wait"], check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - begin)
            status = json.loads(subprocess.run(arguments + ["status", "--json"], check=True, capture_output=True).stdout)
            running = [daemon for daemon in status["daemons"] if daemon["state"] == "running" and daemon["pids"]]
            assert len(running) == len(every), f"{len(running)} of {len(every)} running after up --wait"
            pids = [daemon["pids"][0] for daemon in running]
            begin = time.perf_counter()
            subprocess.run(arguments + ["down"], check=True, stdout=subprocess.DEVNULL)
            while any(alive(pid) for pid in pids):
                time.sleep(POLL)
            downs.append(time.perf_counter() - begin)
    return {"detached_up_d_wait_ms": median_ms(times), "detached_down_ms": median_ms(downs)}


def process_scenarios(binaries: Binaries, scale: Scale = FULL) -> dict[str, dict]:
    """Every figure for orchestrate (each binary of `binaries`, one after the other for each scenario), supervisord
    and circus (a peer that cannot be installed is None). {"new": {"orchestrate": ..., "supervisord": ...,
    "circus": ...}, "baseline": {"orchestrate": ...}} (no "baseline" without a baseline binary)."""
    before = processes()
    seen: dict[int, int | None] = {}
    ours = {key: {} for key in binaries.paths}
    for figures in (binaries.each(lambda binary: measure(Orchestrate, (binary, binary), scale, seen)),
                    binaries.each(lambda binary: start_counts(Orchestrate, (binary, binary), scale, seen)),
                    binaries.each(lambda binary: up_detached(binary, scale))):
        for key, part in figures.items():
            ours[key].update(part)
    results = {key: {"orchestrate": figures} for key, figures in ours.items()}
    for ensure, peer_class in ((install.ensure_supervisord, peers.Supervisord), (install.ensure_circus, peers.Circus)):
        executables = ensure()
        if executables is None:
            results["new"][peer_class.name] = None
            continue
        results["new"][peer_class.name] = measure(peer_class, executables, scale, seen)
        results["new"][peer_class.name].update(start_counts(peer_class, executables, scale, seen))
    # The floor at every count the table shows, the count of the other scenarios too (n as for the others' starts).
    floor_counts = tuple(sorted({*scale.start_counts, (scale.programs, 2 * scale.process_runs)}))
    results["new"][SpawnLoop.name] = start_counts(SpawnLoop, (sys.executable, sys.executable),
                                                  dataclasses.replace(scale, start_counts=floor_counts), seen)
    assert_all_gone(seen, before, OURS)
    return results


def rows(scale: Scale) -> list[tuple[str, str, str]]:
    """(title, key, unit) of each figure of the table, for the counts of `scale`."""
    count = scale.programs
    return [
        *((f"start: launch to {size:,} `sleep` processes running", f"start_{size}_ms", "ms")
          for size in scale.start_sizes()),
        (f"idle CPU with {count} processes, over {scale.idle_s:g} s", "idle_cpu_ms", "ms"),
        ("idle wake-ups (context switches) per second", "idle_wakeups_per_s", "/s"),
        (f"resident memory (VmRSS) with {count} processes", "rss_mib", "MiB"),
        ("  of it proportional (PSS)", "pss_mib", "MiB"),
        ("  of it its own heap and stacks (RssAnon)", "rss_anon_mib", "MiB"),
        (f"status as a whole process, {count} processes", "status_ms", "ms"),
        ("manifest change applied (one added, one removed)", "apply_change_ms", "ms"),
        ("restart after kill -9 of one process", "restart_after_kill_ms", "ms"),
        (f"down: {count} processes gone, the daemon exited", "down_ms", "ms"),
        ("stop by SIGTERM to the daemon, all gone", "stop_sigterm_ms", "ms"),
    ]


def _cell(value: float | None, unit: str, missing: str = "failed") -> str:
    return f"{value:>9.1f} {unit:<3}" if value is not None else f"{missing:>13}"


def table(results: dict, scale: Scale = FULL, baseline: dict | None = None, label: str = "baseline") -> list[str]:
    """The rows: scenario, orchestrate, then (with `baseline`, the results of the baseline binary) the baseline's
    figure and baseline over new, then each peer and the peer's figure over orchestrate's."""
    ours = results["orchestrate"]
    theirs_base = (baseline or {}).get("orchestrate")
    names = [name for name in ("supervisord", "circus", SpawnLoop.name) if results.get(name)]
    header = f"  {'scenario':<48} {'orchestrate':>13}"
    if theirs_base is not None:
        header += f" {label[:13]:>13} {'base/new':>8}"
    lines = [header + " " + " ".join(f"{name:>13} {'ratio':>7}" for name in names)]
    for title, key, unit in rows(scale):
        figure = ours.get(key)
        cells = [_cell(figure, unit)]
        if theirs_base is not None:
            base = theirs_base.get(key)
            cells.append(_cell(base, unit) + f" {f'{base / figure:.2f}x' if base is not None and figure else '-':>8}")
        for name in names:
            theirs = results[name].get(key)
            ratio = f"{theirs / figure:.1f}x" if theirs is not None and figure else "-"
            # The spawn loop only starts programs: its other cells are empty, not failures.
            cells.append(f"{_cell(theirs, unit, '-' if name == SpawnLoop.name else 'failed')} {ratio:>7}")
        lines.append(f"  {title:<48} " + " ".join(cells))
    for name in names:
        for error in results[name].get("restart_errors", []):
            lines.append(f"  {name}, restart after kill -9: {error}")
    for who, figures in (("orchestrate", ours), (label, theirs_base)):
        if figures is not None:
            lines.append(f"  {who} up -d --wait (detached), {scale.programs} processes running: "
                         f"{figures.get('detached_up_d_wait_ms')} ms; its down: {figures.get('detached_down_ms')} ms")
    return lines


if __name__ == "__main__":
    import sys
    found = process_scenarios(Binaries(sys.argv[1] if len(sys.argv) > 1 else ".build/release/orchestrate"))
    print(json.dumps(found, indent=2))
    print("\n".join(table(found["new"])))
