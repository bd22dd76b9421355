"""What the benchmark's modules share (standard library only): the scale of a run, `/proc` readers, medians, HTTP
over a Unix socket, the clean-up of what a run started, and `Peer`, the base of every supervising daemon the
benchmark drives (orchestrate in processes.py, supervisord and circus in peers.py).

Every process the benchmark starts is ended by its PID, or by the process group id that the benchmark created (each
daemon and pipeline is started in a new session, so its PID is its group id): `end_session`.
"""

import collections
import dataclasses
import http.client
import json
import os
import pathlib
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

POLL = 0.005          # seconds between two polls of a daemon's state
POLL_PER_PROGRAM = 0.00005  # ... at least this many seconds per program waited for
FINE_POLL = 0.0005    # ... when a look at the daemon's children is cheap (Children.cheap)
TIMEOUT = 60.0        # seconds before a wait gives up


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# How much of each scenario a run does
# --------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scale:
    """The repetitions, counts and durations of a run: FULL for `make bench`, QUICK for `--quick` (every section,
    a few seconds each, to check that nothing broke; its figures are not for comparing)."""

    name: str
    runs: int                     # runs of a short command (validate, config, status in the supervisor section)
    up_runs: int                  # `up -d --wait` of the supervisor section
    settle_s: float               # pause after a start before an idle or lateness measurement
    idle_s: float                 # idle CPU window
    writes: int                   # file writes timed per watcher
    command_start_runs: int       # runs of `sh -c 'date +%s.%N'` alone
    reload_saves: int             # manifest saves timed in the hot-reload section
    leak_warmup_reloads: int
    leak_reloads: int
    leak_warmup_runs: int
    leak_runs: int                # periodic runs of the leak scenario
    wrk_s: int                    # each wrk run
    method_s: float               # the command method's clients
    programs: int                 # process section: programs of the daemon measured at length
    process_runs: int             # fresh daemons per kind of stop, and restarts after kill -9
    start_counts: tuple[tuple[int, int], ...]  # (programs, fresh daemons) of the start-only runs
    status_runs: int              # process section: status round trips
    change_runs: int              # process section: manifest changes
    storm_files: int
    storm_timeout_s: float        # orchestrate's storm
    storm_quiet_s: float
    peer_storm_timeout_s: float   # a peer's storm is cut after this
    peer_storm_quiet_s: float
    lateness_daemons: int
    lateness_s: float

    def start_sizes(self) -> list[int]:
        """Every program count a start is timed at."""
        return sorted({count for count, _ in self.start_counts} | {self.programs})


FULL = Scale(name="full", runs=21, up_runs=5, settle_s=1.0, idle_s=10.0, writes=11, command_start_runs=21,
             reload_saves=20, leak_warmup_reloads=20, leak_reloads=1_000, leak_warmup_runs=500, leak_runs=10_000,
             wrk_s=10, method_s=5.0, programs=100, process_runs=5, start_counts=((1, 5), (10, 5), (1000, 3)),
             status_runs=21, change_runs=10, storm_files=10_000, storm_timeout_s=30.0, storm_quiet_s=2.0,
             peer_storm_timeout_s=60.0, peer_storm_quiet_s=3.0, lateness_daemons=100, lateness_s=10.0)

QUICK = Scale(name="quick", runs=3, up_runs=2, settle_s=0.3, idle_s=1.0, writes=3, command_start_runs=3,
              reload_saves=3, leak_warmup_reloads=5, leak_reloads=20, leak_warmup_runs=100, leak_runs=300,
              wrk_s=1, method_s=1.0, programs=100, process_runs=1, start_counts=((1, 1), (10, 1)),
              status_runs=3, change_runs=2, storm_files=500, storm_timeout_s=10.0, storm_quiet_s=0.5,
              peer_storm_timeout_s=10.0, peer_storm_quiet_s=1.0, lateness_daemons=20, lateness_s=2.0)


class Binaries:
    """The orchestrate binaries of a run: "new", the one measured, and with `--baseline-binary` "baseline", the one
    it is compared with in the same run. `each(function)` calls `function(path)` for each and returns {key: result};
    which of the two goes first alternates from one call to the next, so that neither always runs on a machine that
    the other has just warmed up or loaded."""

    def __init__(self, new: str, baseline: str | None = None):
        self.paths = {"new": new, **({"baseline": baseline} if baseline else {})}
        self.calls = 0

    def each(self, function):
        order = list(self.paths.items())
        if self.calls % 2:
            order.reverse()
        self.calls += 1
        found = {key: function(path) for key, path in order}
        return {key: found[key] for key in self.paths}


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------

def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def median_ms(seconds: list[float]) -> float:
    """The median of durations in seconds, in milliseconds."""
    return ms(statistics.median(seconds))


def spread_ms(milliseconds: list[float], digits: int = 1) -> dict:
    """Median, min and max of durations already in milliseconds, and how many; None figures when there are none
    (which the run reports as a missing figure)."""
    if not milliseconds:
        return {"median_ms": None, "min_ms": None, "max_ms": None, "runs": 0}
    return {"median_ms": round(statistics.median(milliseconds), digits), "min_ms": round(min(milliseconds), digits),
            "max_ms": round(max(milliseconds), digits), "runs": len(milliseconds)}


# --------------------------------------------------------------------------------------------------
# Processes, read from /proc
# --------------------------------------------------------------------------------------------------

def stat_fields(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state), None if no such process."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): with the PID, it names one process for good."""
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie), and the same one as at `started` if given."""
    fields = stat_fields(pid)
    if not fields or fields[0] in ("Z", "X", "x"):
        return False
    return started is None or int(fields[19]) == started


def cmdline(pid: int) -> list[str]:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []


def processes() -> dict[int, list[str]]:
    """Every live process: PID -> argv."""
    return {int(entry): cmdline(int(entry)) for entry in os.listdir("/proc")
            if entry.isdigit() and alive(int(entry))}


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...), from the parent PIDs in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` so far (counted by the kernel in ticks of 10 ms)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid: int, field: str = "VmRSS") -> float:
    """A size of /proc/PID/status (VmRSS, RssAnon, ...) in MiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_mib(pid: int) -> dict[str, float]:
    """The resident memory of `pid` three ways, in MiB: `rss_mib` (VmRSS: every page mapped), `pss_mib` (Pss of
    /proc/PID/smaps_rollup: each shared page divided among the processes that map it) and `rss_anon_mib` (RssAnon:
    its own heap and stacks, the rest being pages of files)."""
    pss = 0.0
    for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1]) / 1024
    return {"rss_mib": round(status_mib(pid, "VmRSS"), 1), "pss_mib": round(pss, 1),
            "rss_anon_mib": round(status_mib(pid, "RssAnon"), 1)}


def context_switches(pid: int) -> dict[int, int]:
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


def inet_sockets(pid: int) -> list[str]:
    """The IP sockets (TCP, UDP, raw; v4 and v6) that process `pid` holds open, from /proc: for checking
    that a peer listens and sends on nothing but unix sockets."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        lines = pathlib.Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        found += [f"{table} {line.split()[1]}" for line in lines if line.split()[9] in inodes]
    return found


def inotify_watches(pid: int) -> int:
    """How many inotify watches process `pid` holds (the `inotify wd:` lines of its descriptors' fdinfo)."""
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                    count += pathlib.Path(f"/proc/{pid}/fdinfo/{fd}").read_text().count("inotify wd:")
            except OSError:
                continue
    except OSError:
        return 0
    return count


class Children:
    """The children of one process, from /proc: from each of its threads' /proc/PID/task/TID/children where the
    kernel has them (CONFIG_PROC_CHILDREN; a few small reads, so `cheap` is true and a wait may poll often), else
    from every process's parent PID. There, a PID once seen with another parent is not read again: a process never
    becomes a child of a process other than the one that forked it, and PIDs are not reused within a benchmark's
    seconds."""

    def __init__(self, parent: int):
        self.parent = parent
        self.others: set[int] = set()
        self.cheap = os.path.exists(f"/proc/{parent}/task/{parent}/children")

    def __call__(self) -> list[int]:
        if self.cheap:
            return self._from_threads()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in self.others:
                continue
            fields = stat_fields(int(entry))
            if fields and int(fields[1]) == self.parent:
                found.append(int(entry))
            elif fields:
                self.others.add(int(entry))
        return found

    def _from_threads(self) -> list[int]:
        found = []
        try:
            threads = os.listdir(f"/proc/{self.parent}/task")
        except FileNotFoundError:
            return found
        for thread in threads:
            try:
                found += [int(pid) for pid in pathlib.Path(f"/proc/{self.parent}/task/{thread}/children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
        return found


# --------------------------------------------------------------------------------------------------
# Ending what a run started, by id
# --------------------------------------------------------------------------------------------------

def wait_stopped(pid: int, timeout: float = 1.0) -> None:
    """Waits until every thread of `pid` is stopped (or dead), after a SIGSTOP."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            return
        states = [(stat_fields(f"{pid}/task/{task}") or ["X"])[0] for task in tasks]
        if all(state in "TtZXx" for state in states):
            return
        time.sleep(0.001)


def kill_if_same(pid: int, started: int | None = None, sig: int = signal.SIGKILL) -> None:
    """Sends `sig` to one process by PID, only if it is still the process we saw (same start time)."""
    if alive(pid, started):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still alive: {[pid for pid in pids if alive(pid)]}")
        time.sleep(POLL)


def end_session(process: subprocess.Popen, started: dict[int, int | None]) -> None:
    """Kills what is left of a process started in a new session (its PID is its group's id), by id: freeze the
    group (so it forks no more), list its descendants into `started`, kill the group, then each descendant and
    each PID ever recorded in `started` (PID -> start time, so a reused PID is left alone); waits until all are
    gone."""
    group = process.pid
    if process.poll() is None:
        try:
            os.killpg(group, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        wait_stopped(group)  # a signal lands asynchronously: a fork could still complete until then
        for pid in descendants(group):
            started.setdefault(pid, start_time(pid))
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid, begun in started.items():
        kill_if_same(pid, begun)
    process.wait(timeout=TIMEOUT)
    wait_gone(list(started))


def leftovers(started: dict[int, int | None]) -> list[int]:
    """The PIDs of `started` (PID -> start time) that are still the same live processes."""
    return [pid for pid, begun in started.items() if alive(pid, begun)]


def assert_all_gone(started: dict[int, int | None], before: dict[int, list[str]] | None = None,
                    commands: tuple[list[str], ...] = ()) -> None:
    """Raises unless every process of `started` is gone and, given `before` (`processes()` at the beginning), no
    process that was not there then runs one of `commands` or names one of the benchmark's folders (other
    sessions run sleeps of their own: only new ones count)."""
    left = leftovers(started)
    strays = {pid: argv for pid, argv in processes().items() if before is not None and pid not in before
              and (argv in commands or any("orchestrate-bench-" in part for part in argv))}
    assert not left and not strays, f"left alive: {left} {strays}"


class Session:
    """A process that the benchmark starts in `folder` in a new session (so its PID is the id of a process group
    that is ours to kill), with its output in `folder/NAME.LOG_SUFFIX` and every PID it is seen to start in
    `started` (PID -> start time). A context manager: whatever happens, nothing started here outlives the block."""

    name = "session"
    LOG_SUFFIX = "out"

    def __init__(self, folder: str | os.PathLike):
        self.folder = pathlib.Path(folder).resolve()
        self.process: subprocess.Popen | None = None
        self.started: dict[int, int | None] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spawn(self, command: list[str]) -> None:
        log = open(self.folder / f"{self.name}.{self.LOG_SUFFIX}", "ab")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.folder, start_new_session=True)
        log.close()
        self.started[self.process.pid] = start_time(self.process.pid)

    def kill(self) -> None:
        """Kills the process and whatever it started, by id (see `end_session`)."""
        if self.process is not None:
            end_session(self.process, self.started)

    def leftovers(self) -> list[int]:
        """PIDs started here that are still alive (should be empty after kill())."""
        return leftovers(self.started)

    def log_tail(self) -> str:
        try:
            return "\n".join((self.folder / f"{self.name}.{self.LOG_SUFFIX}").read_text().splitlines()[-5:])
        except OSError:
            return ""


# --------------------------------------------------------------------------------------------------
# HTTP over a Unix socket (orchestrate's control socket, supervisord's XML-RPC)
# --------------------------------------------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix socket, for requests without a process per call."""

    def __init__(self, path: str, timeout: float | None = TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def request_json(socket_path: str, method: str, route: str, body: dict | None = None):
    """One request to orchestrate's control socket, its answer decoded (a connection per request)."""
    connection = UnixHTTPConnection(socket_path)
    try:
        if body is None:
            connection.request(method, route)
        else:
            connection.request(method, route, body=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------------
# A supervising daemon driven by the benchmark: start, apply a change, restart, status, stop, clean-up
# --------------------------------------------------------------------------------------------------

class Peer(Session):
    """A supervising daemon run in `folder` with `programs` ({name: command string}), one process each. A subclass
    gives its configuration, its command lines and how to ask it which programs run (see the methods that raise
    NotImplementedError). Everything is timed in seconds:

        start()              daemon launched -> every program running
        apply_change(new)    new config file written -> each added or changed program running its (new)
                             command and each removed one gone, through the daemon's own reload commands
        restart_latency(n)   kill -9 of program n -> a new process running its command
        status_roundtrip()   one whole status process
        stop(via_ctl=False)  SIGTERM to the daemon (or its ctl's stop command) -> the daemon exited and every
                             program gone

    How "running" is timed: the moment is seen passively in /proc (a child of the daemon, not one of the old PIDs,
    whose /proc/PID/cmdline is the program's command: it has exec'd), polled every POLL seconds, or FINE_POLL where
    the kernel lists each thread's children (Children.cheap; a 5 ms poll added 2.5 ms to a start on average, and a
    scan of all of /proc took more), and longer for many programs: one look at 1,000 children costs ~10 ms of this
    script's CPU, taken from the 2 cores the daemon runs on, so the pause grows to POLL_PER_PROGRAM per program: 50
    ms for 1,000. Asking the daemon instead would change
    what is measured: supervisord sleeps up to 1 s in poll() between two looks at its children, and each request
    wakes it early. Only once the moment is recorded is the daemon's own API asked (untimed) to confirm; `api_lag`
    keeps how much later that confirmation came."""

    name = "peer"
    STOP_VERB = "stop"

    def __init__(self, folder: str | os.PathLike, programs: dict[str, str], executables: tuple[str, str]):
        super().__init__(folder)
        self.programs = dict(programs)
        self.daemon_path, self.ctl_path = executables
        self.config = self.folder / f"{self.name}.conf"
        self.api_lag = 0.0
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)

    # The parts each daemon defines.
    def write_config(self, programs: dict[str, str]) -> None:
        """Writes the configuration file for `programs` (with `write_atomically`)."""
        raise NotImplementedError

    def daemon_command(self) -> list[str]:
        raise NotImplementedError

    def running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        """{name: pid if running else None} for `names` (absent: no such program), None while the daemon
        does not answer yet."""
        raise NotImplementedError

    def apply_commands(self) -> list[list[str]]:
        """The commands that make the daemon apply a new configuration file (none: it applies it by itself)."""
        raise NotImplementedError

    def ctl(self, *arguments: str) -> list[str]:
        """The ctl command line, pointed at this daemon, with `arguments`."""
        raise NotImplementedError

    def status_command(self) -> list[str]:
        return self.ctl("status")

    def own_figures(self, scale) -> dict:
        """Figures only this daemon has (measured with its programs running, after the status round trips)."""
        return {}

    def stop_command(self) -> list[str]:
        return self.ctl(self.STOP_VERB)

    def write_atomically(self, text: str) -> None:
        """The config file as a whole (rename), so a daemon never reads half of it."""
        temporary = self.config.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.config)

    def start(self, wait_running: bool = True) -> float:
        """Seconds from launching the daemon to every program running (just launching if not wait_running)."""
        self.write_config(self.programs)
        begin = time.perf_counter()
        self.spawn(self.daemon_command())
        if not wait_running:
            return time.perf_counter() - begin
        return self._wait(self.programs, {}, set()) - begin

    def program_pids(self) -> dict[str, int]:
        pids = self.running_pids(set(self.programs)) or {}
        return {name: pid for name, pid in pids.items() if pid}

    def apply_change(self, new_programs: dict[str, str]) -> float:
        """Seconds from writing the new config to every added or changed program running its new command and
        every removed one gone, through the daemon's own reload commands."""
        old_pids = self.program_pids()
        targets = {name: command for name, command in new_programs.items() if self.programs.get(name) != command}
        removed = set(self.programs) - set(new_programs)
        begin = time.perf_counter()
        self.write_config(new_programs)
        for command in self.apply_commands():
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        detected = self._wait(targets, old_pids, removed)
        self.programs = dict(new_programs)
        return detected - begin

    def restart_latency(self, name: str) -> float:
        """Seconds from kill -9 of program `name` to a new process running its command (the daemon must
        restart it: supervisord's autorestart=True, circus' respawn, orchestrate's restart policy)."""
        old_pids = self.program_pids()
        begin = time.perf_counter()
        os.kill(old_pids[name], signal.SIGKILL)
        return self._wait({name: self.programs[name]}, old_pids, set()) - begin

    def status_roundtrip(self) -> float:
        """Seconds for one whole status process (the ctl's start-up, the request, the table printed)."""
        begin = time.perf_counter()
        subprocess.run(self.status_command(), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
        return time.perf_counter() - begin

    def stop(self, via_ctl: bool = False) -> float:
        """Seconds from SIGTERM to the daemon (or, via_ctl, from running its ctl's stop command) until the daemon
        has exited and every program it ran is gone. The programs are listed from /proc, not asked of the daemon:
        a request just before the signal would wake supervisord's loop and so choose the moment the signal lands
        in its 1 s poll."""
        programs = Children(self.process.pid)()
        begin = time.perf_counter()
        if via_ctl:
            subprocess.run(self.stop_command(), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        else:
            os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=TIMEOUT)
        wait_gone(programs)
        return time.perf_counter() - begin

    # Waiting. The moment a change is done is seen passively in /proc: polling the daemon's API instead
    # would wake its event loop (supervisord sleeps up to 1 s in poll() between two looks at its children)
    # and so shorten the very latency measured. The API is asked only afterwards, to confirm.
    def _wait(self, targets: dict[str, str], old_pids: dict[str, int], removed: set[str]) -> float:
        """Waits until each program in `targets` runs its command in a new child of the daemon and the old
        processes of `targets` and `removed` are gone; returns that moment (perf_counter). Then waits,
        untimed, until the daemon's API reports the same (new pid running, removed names unknown);
        `self.api_lag` is how much later that was."""
        detected = self._wait_processes(targets, old_pids, removed)
        self._wait_api(targets, old_pids, removed)
        self.api_lag = time.perf_counter() - detected
        return detected

    def _wait_processes(self, targets: dict[str, str], old_pids: dict[str, int], removed: set[str]) -> float:
        wanted = collections.Counter(tuple(shlex.split(command)) for command in targets.values())
        gone = [old_pids[name] for name in set(targets) | removed if name in old_pids]
        children, exec_done = Children(self.process.pid), {}
        # Where the children are a few small reads, a look costs little of the 2 cores: poll 10 times as often.
        poll = FINE_POLL if children.cheap else POLL
        deadline = time.monotonic() + TIMEOUT
        while True:
            missing = collections.Counter(wanted)
            for pid in children():
                argv = exec_done.get(pid) or tuple(cmdline(pid))  # before exec: the daemon's own argv
                if pid not in old_pids.values() and missing[argv] > 0 and alive(pid):
                    exec_done[pid] = argv
                    missing[argv] -= 1
            if not +missing and not any(alive(pid) for pid in gone):
                return time.perf_counter()
            self._poll_again(deadline, f"processes of {sorted(targets)} not running, or {gone} not gone",
                             len(targets) * POLL_PER_PROGRAM, poll)

    def _wait_api(self, targets: dict[str, str], old_pids: dict[str, int], removed: set[str]) -> None:
        expected = {name: shlex.split(command) for name, command in targets.items()}
        deadline = time.monotonic() + TIMEOUT
        while True:
            pids = self.running_pids(set(targets) | removed)
            if pids is not None and self._reached(pids, expected, old_pids, removed):
                for name in targets:
                    self.started.setdefault(pids[name], start_time(pids[name]))
                return
            self._poll_again(deadline, f"{self.name} does not report {sorted(targets)} running: {pids}",
                             len(targets) * POLL_PER_PROGRAM)

    @staticmethod
    def _reached(pids: dict, expected: dict[str, list[str]], old_pids: dict[str, int], removed: set[str]) -> bool:
        """Whether the API's `pids` show each expected program on a new pid running its argv, and no
        removed program (whose old process is gone)."""
        for name, argv in expected.items():
            pid = pids.get(name)
            if not pid or pid == old_pids.get(name) or cmdline(pid) != argv:
                return False
        for name in removed:
            old_pid = old_pids.get(name)
            if name in pids or (old_pid and alive(old_pid)):
                return False
        return True

    def _poll_again(self, deadline: float, what: str, pause: float = POLL, least: float = POLL) -> None:
        """Sleeps one poll (`pause`, `least` at least); raises if the daemon died or `deadline` (time.monotonic) has
        passed."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {TIMEOUT}s: {what}")
        time.sleep(max(least, pause))
