#!/usr/bin/env python3
"""Benchmark peers for `make bench`: supervisord, circus, entr and inotifywait, measured in the same run as
orchestrate.

Standard library only. What it provides:

- `ensure_supervisord()` / `ensure_circus()`: the paths of (daemon, ctl) executables, installing the peer
  when it is missing (apt when apt-get and root are there, else `python3 -m pip install`); None, with a
  message on stderr saying what to install, when neither works.
- `Supervisord` and `Circus`: context managers that run one peer daemon in a temporary folder you give,
  with `programs` ({name: command string}) each run as one process, and measure, in seconds:
    start()              daemon launched -> every program running
    apply_change(new)    new config file written -> each added or changed program running its (new)
                         command and each removed one gone, through the peer's own reload command
                         (`supervisorctl update`, `circusctl reloadconfig`), that command included
    restart_latency(n)   kill -9 of program n -> a new process running its command
    status_roundtrip()   one whole `supervisorctl status` / `circusctl status` process
    stop(via_ctl=False)  SIGTERM to the daemon (or `supervisorctl shutdown` / `circusctl quit`) ->
                         the daemon exited and every program gone
  plus `pid` (the daemon's), `program_pids()`, `leftovers()` and `kill()` (what __exit__ does).
  processes.py runs orchestrate through the same class (`Orchestrate`).
- `ensure_entr()` / `ensure_inotifywait()` (apt: entr, inotify-tools) and `Entr`, `Inotifywait`: a file change
  to a shell command, run as one pipeline in a new session (`watch_file`, `watch_storm`); run.py times them
  exactly as it times orchestrate's watchers.

How "running" is timed: the moment is seen passively in /proc (a child of the daemon, not one of the old
PIDs, whose /proc/PID/cmdline is the program's command: it has exec'd), polled every POLL seconds (longer
for many programs: one look at 1,000 children costs ~10 ms of this script's CPU, taken from the 2 cores the
daemon runs on, so the pause grows to POLL_PER_PROGRAM per program: 50 ms for 1,000). Asking
the daemon instead would change what is measured: supervisord sleeps up to 1 s in poll() between two
looks at its children, and each request wakes it early. Only once the moment is recorded is the daemon's
own API asked (untimed) to confirm: supervisord's XML-RPC on its unix socket (state RUNNING with that
PID), circus' ZeroMQ endpoint (watcher active, `list` gives that PID; spoken with a small ZMTP client,
as the stdlib has no zmq). `api_lag` keeps how much later that confirmation came.

Everything stays local: supervisord listens on a unix socket only (no inet_http_server); circus is given
ipc:// endpoints, no stats endpoint, statsd off, and an empty multicast_endpoint (its default would join a
UDP multicast group). Every process started is ended by its PID, or by the process group id that this
module created (each daemon and pipeline is started in a new session, so its PID is its group id):
`end_session`.
"""

import argparse
import collections
import json
import os
import pathlib
import random
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import http.client
import xmlrpc.client

POLL = 0.005          # seconds between two polls of a peer's state
POLL_PER_PROGRAM = 0.00005  # ... at least this many seconds per program waited for
TIMEOUT = 60.0        # seconds before a wait gives up
INSTALL_TIMEOUT = 600  # seconds for one apt-get or pip command


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------------------------
# Installing the peers when missing
# --------------------------------------------------------------------------------------------------

_apt_update_result: bool | None = None  # `apt-get update` runs at most once per process


def _run_quietly(command: list[str], env: dict | None = None) -> bool:
    """Runs an install step, returns whether it worked; on failure shows the end of its output."""
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        _say(f"{' '.join(command)}: {error}")
        return False
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        _say(f"{' '.join(command)} failed ({done.returncode}): {tail}")
    return done.returncode == 0


def _apt_install(package: str) -> bool:
    global _apt_update_result
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if _apt_update_result is None:
        _say("apt-get update")
        _apt_update_result = _run_quietly(["apt-get", "update"], env)
    if not _apt_update_result:
        return False
    _say(f"apt-get install -y {package}")
    return _run_quietly(["apt-get", "install", "-y", package], env)


def _pip_install(package: str) -> bool:
    _say(f"{sys.executable} -m pip install {package}")
    return _run_quietly([sys.executable, "-m", "pip", "install", "--quiet", package])


def _locate(name: str) -> str | None:
    """The executable `name`: first in this Python's scripts folder (where pip puts it; this also avoids
    pyenv's shims, shell scripts that would add their own start-up to every ctl timing), then on PATH."""
    for scheme in (None, f"{os.name}_user"):
        try:
            folder = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which(name)


def _find_working(daemon: str, ctl: str) -> tuple[str, str] | None:
    """Both executables, if present and the daemon answers `--version`."""
    paths = (_locate(daemon), _locate(ctl))
    if None in paths:
        return None
    try:
        check = subprocess.run([paths[0], "--version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return paths if check.returncode == 0 else None


def _ensure(daemon: str, ctl: str, installers: list[tuple[str, str]]) -> tuple[str, str] | None:
    found = _find_working(daemon, ctl)
    for kind, package in installers:
        if found:
            break
        installed = _apt_install(package) if kind == "apt" else _pip_install(package)
        found = _find_working(daemon, ctl) if installed else None
    if not found:
        how = " or ".join(f"`apt-get install {package}`" if kind == "apt" else f"`python3 -m pip install {package}`"
                          for kind, package in installers)
        _say(f"{daemon} is missing and could not be installed: skipping it. Install it with {how}.")
    return found


def ensure_supervisord() -> tuple[str, str] | None:
    """(supervisord, supervisorctl). Debian's `supervisor` (4.2.5 in bookworm) is recent enough: apt first."""
    return _ensure("supervisord", "supervisorctl", [("apt", "supervisor"), ("pip", "supervisor")])


def ensure_tool(name: str, apt_package: str) -> str | None:
    """A command-line tool (wrk, entr, inotifywait): found, or installed with apt; None with a message."""
    found = _locate(name)
    if not found and _apt_install(apt_package):
        found = _locate(name)
    if not found:
        _say(f"{name} is missing and could not be installed: skipping it. Install it with `apt-get install {apt_package}`.")
    return found


def ensure_circus() -> tuple[str, str] | None:
    """(circusd, circusctl). Debian ships no circus package (none in bookworm): pip only."""
    return _ensure("circusd", "circusctl", [("pip", "circus")])


# --------------------------------------------------------------------------------------------------
# Processes, read from /proc
# --------------------------------------------------------------------------------------------------

def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state), None if no such process."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): with the PID, it names one process for good."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def alive(pid: int, started: int | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie), and the same one as at `started` if given."""
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X", "x"):
        return False
    return started is None or int(fields[19]) == started


def cmdline(pid: int) -> list[str]:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError):
        return []


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...), from the parent PIDs in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


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


class _Children:
    """The children of one process, read from /proc (this kernel has no /proc/PID/task/TID/children).
    A PID once seen with another parent is not read again: a process never becomes a child of a process
    other than the one that forked it, and PIDs are not reused within a benchmark's seconds."""

    def __init__(self, parent: int):
        self.parent = parent
        self.others: set[int] = set()

    def __call__(self) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in self.others:
                continue
            fields = _stat(int(entry))
            if fields and int(fields[1]) == self.parent:
                found.append(int(entry))
            elif fields:
                self.others.add(int(entry))
        return found


def _wait_stopped(pid: int, timeout: float = 1.0) -> None:
    """Waits until every thread of `pid` is stopped (or dead), after a SIGSTOP."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            return
        states = [(_stat(f"{pid}/task/{task}") or ["X"])[0] for task in tasks]
        if all(state in "TtZXx" for state in states):
            return
        time.sleep(0.001)


def _kill(pid: int, started: int | None = None, sig: int = signal.SIGKILL) -> None:
    """Sends `sig` to one process by PID, only if it is still the process we saw (same start time)."""
    if alive(pid, started):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait_gone(pids: list[int]) -> None:
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
        _wait_stopped(group)  # a signal lands asynchronously: a fork could still complete until then
        for pid in descendants(group):
            started.setdefault(pid, start_time(pid))
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid, begun in started.items():
        _kill(pid, begun)
    process.wait(timeout=TIMEOUT)
    _wait_gone(list(started))


def leftovers(started: dict[int, int | None]) -> list[int]:
    """The PIDs of `started` (PID -> start time) that are still the same live processes."""
    return [pid for pid, begun in started.items() if alive(pid, begun)]


# --------------------------------------------------------------------------------------------------
# What the two peers share: start, apply a change, restart, status, stop, clean-up
# --------------------------------------------------------------------------------------------------

class _Peer:
    """A peer daemon run in `folder` with `programs` ({name: command string}), one process each."""

    name = "peer"

    def __init__(self, folder: str | os.PathLike, programs: dict[str, str], executables: tuple[str, str]):
        self.folder = pathlib.Path(folder).resolve()
        self.programs = dict(programs)
        self.daemon_path, self.ctl_path = executables
        self.config = self.folder / f"{self.name}.conf"
        self.process: subprocess.Popen | None = None
        self.started: dict[int, int | None] = {}  # every PID seen (daemon, programs) -> its start time
        (self.folder / "logs").mkdir(parents=True, exist_ok=True)

    # The parts each peer defines.
    def _write_config(self, programs: dict[str, str]) -> None:
        raise NotImplementedError

    def _daemon_command(self) -> list[str]:
        raise NotImplementedError

    def _running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        """{name: pid if running else None} for `names` (absent: no such program), None while the daemon
        does not answer yet."""
        raise NotImplementedError

    def _apply_commands(self) -> list[list[str]]:
        raise NotImplementedError

    def _ctl(self, *arguments: str) -> list[str]:
        """The ctl command line, pointed at this daemon, with `arguments`."""
        raise NotImplementedError

    def _status_command(self) -> list[str]:
        return self._ctl("status")

    def _stop_command(self) -> list[str]:
        return self._ctl(self.STOP_VERB)

    def _write_atomically(self, text: str) -> None:
        """The config file as a whole (rename), so a daemon never reads half of it."""
        temporary = self.config.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.config)

    # Context manager: whatever happens, nothing started here outlives the block.
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, wait_running: bool = True) -> float:
        """Seconds from launching the daemon to every program running (just launching if not wait_running)."""
        self._write_config(self.programs)
        log = open(self.folder / f"{self.name}.out", "ab")
        begin = time.perf_counter()
        # A new session: the daemon's PID is also the id of a process group that is ours to kill.
        self.process = subprocess.Popen(self._daemon_command(), stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)
        log.close()
        self.started[self.process.pid] = start_time(self.process.pid)
        if not wait_running:
            return time.perf_counter() - begin
        return self._wait(self.programs, {}, set()) - begin

    def program_pids(self) -> dict[str, int]:
        pids = self._running_pids(set(self.programs)) or {}
        return {name: pid for name, pid in pids.items() if pid}

    def apply_change(self, new_programs: dict[str, str]) -> float:
        """Seconds from writing the new config to every added or changed program running its new command and
        every removed one gone, through the peer's own reload commands."""
        old_pids = self.program_pids()
        targets = {name: command for name, command in new_programs.items() if self.programs.get(name) != command}
        removed = set(self.programs) - set(new_programs)
        begin = time.perf_counter()
        self._write_config(new_programs)
        for command in self._apply_commands():
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        detected = self._wait(targets, old_pids, removed)
        self.programs = dict(new_programs)
        return detected - begin

    def restart_latency(self, name: str) -> float:
        """Seconds from kill -9 of program `name` to a new process running its command (the peer must
        restart it: supervisord's autorestart=True, circus' respawn)."""
        old_pids = self.program_pids()
        begin = time.perf_counter()
        os.kill(old_pids[name], signal.SIGKILL)
        return self._wait({name: self.programs[name]}, old_pids, set()) - begin

    def status_roundtrip(self) -> float:
        """Seconds for one whole status process (the ctl's start-up, the request, the table printed)."""
        begin = time.perf_counter()
        subprocess.run(self._status_command(), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
        return time.perf_counter() - begin

    def stop(self, via_ctl: bool = False) -> float:
        """Seconds from SIGTERM to the daemon (or, via_ctl, from running `supervisorctl shutdown` / `circusctl
        quit`) until the daemon has exited and every program it ran is gone. The programs are listed from
        /proc, not asked of the daemon: a request just before the signal would wake supervisord's loop and
        so choose the moment the signal lands in its 1 s poll."""
        programs = _Children(self.process.pid)()
        begin = time.perf_counter()
        if via_ctl:
            subprocess.run(self._stop_command(), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        else:
            os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=TIMEOUT)
        _wait_gone(programs)
        return time.perf_counter() - begin

    def kill(self) -> None:
        """Kills what is left, by id (see `end_session`)."""
        if self.process is not None:
            end_session(self.process, self.started)

    def leftovers(self) -> list[int]:
        """PIDs started here that are still alive (should be empty after stop() or kill())."""
        return leftovers(self.started)

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
        children, exec_done = _Children(self.process.pid), {}
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
                             len(targets) * POLL_PER_PROGRAM)

    def _wait_api(self, targets: dict[str, str], old_pids: dict[str, int], removed: set[str]) -> None:
        expected = {name: shlex.split(command) for name, command in targets.items()}
        deadline = time.monotonic() + TIMEOUT
        while True:
            pids = self._running_pids(set(targets) | removed)
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

    def _poll_again(self, deadline: float, what: str, pause: float = POLL) -> None:
        """Sleeps one poll (`pause`, POLL at least); raises if the daemon died or `deadline` (time.monotonic) has
        passed."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self._log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {TIMEOUT}s: {what}")
        time.sleep(max(POLL, pause))

    def _log_tail(self) -> str:
        try:
            return "\n".join((self.folder / f"{self.name}.out").read_text().splitlines()[-5:])
        except OSError:
            return ""


# --------------------------------------------------------------------------------------------------
# supervisord
# --------------------------------------------------------------------------------------------------

class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, for supervisord's XML-RPC."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return _UnixHTTPConnection(self.unix_path, 5.0)  # a new connection per call: nothing goes stale


class Supervisord(_Peer):
    """supervisord with one [program:NAME] per program: autostart, startsecs=0 (RUNNING as soon as spawned),
    stopwaitsecs=1, output logged to files in the folder. nodaemon=true: we hold its PID as its parent.
    apply_change runs `supervisorctl update`, which rereads the config itself (reread=True adds a separate
    `supervisorctl reread` before it, as many people type it)."""

    name = "supervisord"
    STOP_VERB = "shutdown"

    def __init__(self, folder, programs, executables, autorestart: bool = True, reread: bool = False):
        super().__init__(folder, programs, executables)
        self.autorestart = autorestart
        self.reread = reread
        self.socket_path = self.folder / "supervisor.sock"
        self.rpc = xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(str(self.socket_path)))

    def _write_config(self, programs: dict[str, str]) -> None:
        folder = self.folder
        lines = [
            "[unix_http_server]", f"file = {self.socket_path}", "chmod = 0700", "",
            "[supervisord]", f"logfile = {folder}/supervisord.log", f"pidfile = {folder}/supervisord.pid",
            f"childlogdir = {folder}/logs", "nodaemon = true", "loglevel = warn", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl = unix://{self.socket_path}", "",
        ]
        for name, command in programs.items():
            lines += [
                f"[program:{name}]", f"command = {command}", "autostart = true",
                f"autorestart = {'true' if self.autorestart else 'false'}", "startsecs = 0", "startretries = 3",
                "stopwaitsecs = 1", f"stdout_logfile = {folder}/logs/{name}.out",
                f"stderr_logfile = {folder}/logs/{name}.err", "",
            ]
        self._write_atomically("\n".join(lines))

    def _daemon_command(self) -> list[str]:
        return [self.daemon_path, "-c", str(self.config)]

    def _ctl(self, *arguments: str) -> list[str]:
        return [self.ctl_path, "-c", str(self.config), *arguments]

    def _running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        try:
            infos = self.rpc.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError, http.client.HTTPException):
            return None  # not listening yet, or still starting up
        return {info["name"]: (info["pid"] if info["statename"] == "RUNNING" else None)
                for info in infos if info["name"] in names}

    def _apply_commands(self) -> list[list[str]]:
        return ([self._ctl("reread")] if self.reread else []) + [self._ctl("update")]


# --------------------------------------------------------------------------------------------------
# circus
# --------------------------------------------------------------------------------------------------

class _ZmtpDealer:
    """A minimal ZeroMQ DEALER (ZMTP 3.0, NULL security) over a unix socket, enough to send circus' JSON
    commands to its ROUTER endpoint and read the replies: the stdlib has no zmq."""

    GREETING = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31

    def __init__(self, path: str, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
            self.sock.sendall(self.GREETING)
            greeting = self._read(64)
            if greeting[0] != 0xFF or greeting[9] != 0x7F or greeting[10] < 3:
                raise ConnectionError("not a ZMTP 3 peer")
            socket_type = b"Socket-Type"
            self._send(b"\x05READY" + bytes([len(socket_type)]) + socket_type + struct.pack(">I", 6) + b"DEALER",
                       command=True)
            self._receive_frames(commands=True)  # the peer's READY
        except BaseException:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("circus closed the connection")
            data += chunk
        return data

    def _send(self, body: bytes, command: bool = False) -> None:
        flags = 0x04 if command else 0x00
        if len(body) > 255:
            self.sock.sendall(bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body)
        else:
            self.sock.sendall(bytes([flags, len(body)]) + body)

    def _receive_frames(self, commands: bool = False) -> list[bytes]:
        """One message (its frames); command frames are skipped unless `commands`."""
        frames = []
        while True:
            flags = self._read(1)[0]
            size = struct.unpack(">Q", self._read(8))[0] if flags & 0x02 else self._read(1)[0]
            body = self._read(size)
            if flags & 0x04:
                if commands:
                    return [body]
                continue
            frames.append(body)
            if not flags & 0x01:
                return frames

    def requests(self, messages: list[dict]) -> list[dict]:
        """Sends every message, then reads the replies (pipelined), in the order of `messages`."""
        ids = []
        for message in messages:
            ids.append(uuid.uuid4().hex)
            self._send(json.dumps({"id": ids[-1], **message}).encode())
        replies = {}
        while len(replies) < len(ids):
            reply = json.loads(self._receive_frames()[-1])
            replies[reply.get("id")] = reply
        return [replies[mid] for mid in ids]


class Circus(_Peer):
    """circusd with one [watcher:NAME] per program: numprocesses=1, warmup_delay=0, respawn=True,
    graceful_timeout=1 (stopwaitsecs' peer), copy_env, output to files in the folder. circus reaps and
    respawns only on its periodic check (no SIGCHLD handler), so restart latency follows check_delay.
    apply_change runs `circusctl reloadconfig` (circus 0.19: diffs the config file, stops removed and
    changed watchers, starts added and changed ones; returns before they run, so we poll)."""

    name = "circus"
    STOP_VERB = "quit"

    def __init__(self, folder, programs, executables, check_delay: float = 0.1):
        super().__init__(folder, programs, executables)
        self.check_delay = check_delay
        self.endpoint = self.folder / "endpoint"
        if len(str(self.folder / "pubsub")) > 100:  # a unix socket's path holds at most 107 bytes
            raise ValueError(f"folder path too long for circus' ipc endpoints: {self.folder}")
        self.client: _ZmtpDealer | None = None
        for name in programs:
            if name != name.lower():
                raise ValueError(f"circus lower-cases watcher names: use {name.lower()!r}")

    def _write_config(self, programs: dict[str, str]) -> None:
        folder = self.folder
        lines = [
            "[circus]", f"endpoint = ipc://{self.endpoint}", f"pubsub_endpoint = ipc://{folder}/pubsub",
            "multicast_endpoint =",  # empty: no UDP multicast group for cluster discovery
            "statsd = False", "httpd = False", f"check_delay = {self.check_delay}", "warmup_delay = 0",
            f"logoutput = {folder}/circusd.log", "loglevel = WARNING", "",
        ]
        for name, command in programs.items():
            lines += [
                f"[watcher:{name}]", f"cmd = {command}", "numprocesses = 1", "warmup_delay = 0",
                "respawn = True", "graceful_timeout = 1", "copy_env = True",
                "stdout_stream.class = FileStream", f"stdout_stream.filename = {folder}/logs/{name}.out",
                "stderr_stream.class = FileStream", f"stderr_stream.filename = {folder}/logs/{name}.err", "",
            ]
        self._write_atomically("\n".join(lines))

    def _daemon_command(self) -> list[str]:
        return [self.daemon_path, str(self.config)]

    def _ctl(self, *arguments: str) -> list[str]:
        return [self.ctl_path, "--endpoint", f"ipc://{self.endpoint}", *arguments]

    def _ask(self, messages: list[dict]) -> list[dict] | None:
        """circus' replies, None while it does not answer (the connection is kept between calls)."""
        try:
            if self.client is None:
                self.client = _ZmtpDealer(str(self.endpoint))
            return self.client.requests(messages)
        except (OSError, ValueError):
            if self.client:
                self.client.close()
            self.client = None
            return None

    def _running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        """One `status` request; then, for the watchers that are active, their pids (one `list` each,
        pipelined)."""
        replies = self._ask([{"command": "status", "properties": {}}])
        if replies is None or "statuses" not in replies[0]:
            return None
        statuses = replies[0]["statuses"]
        active = sorted(name for name in names if statuses.get(name) == "active")
        pids: dict[str, int | None] = {name: None for name in names if name in statuses}
        if active:
            lists = self._ask([{"command": "list", "properties": {"name": name}} for name in active])
            if lists is None:
                return None
            for name, reply in zip(active, lists):
                pids[name] = (reply.get("pids") or [None])[0]
        return pids

    def _apply_commands(self) -> list[list[str]]:
        return [self._ctl("reloadconfig")]

    def kill(self) -> None:
        if self.client:
            self.client.close()
            self.client = None
        super().kill()


# --------------------------------------------------------------------------------------------------
# entr and inotifywait: a file change to a command
# --------------------------------------------------------------------------------------------------

def ensure_entr() -> str | None:
    return ensure_tool("entr", "entr")


def ensure_inotifywait() -> str | None:
    return ensure_tool("inotifywait", "inotify-tools")


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


class _FileWatcher:
    """A peer that runs a shell command when files change, as one `sh -c` pipeline started in a new session in
    `folder` (so its PID is the id of a group that is ours to kill) and ended like a daemon by `kill()`. The two
    uses mirror orchestrate's watchers in run.py:
      watch_file(target, command)          `sh -c command` on each write to `target`
      watch_storm(folder, runs, paths)     for each run, a line "TIME COUNT" appended to `runs` and the paths
                                           it was handed (COUNT of them) to `paths`
    Both return 0.5 s after the tool holds its inotify watches (read in /proc, without waking it)."""

    name = "watcher"

    def __init__(self, folder: str | os.PathLike, executable: str):
        self.folder = pathlib.Path(folder).resolve()
        self.executable = executable
        self.process: subprocess.Popen | None = None
        self.started: dict[int, int | None] = {}

    def _file_script(self, target: pathlib.Path, command: str) -> str:
        raise NotImplementedError

    def _storm_script(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> str:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def watch_file(self, target: pathlib.Path, command: str) -> None:
        self._launch(self._file_script(target, command))

    def watch_storm(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> None:
        self._launch(self._storm_script(folder, runs, paths))

    def _launch(self, script: str) -> None:
        log = open(self.folder / f"{self.name}.err", "ab")
        self.process = subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        cwd=self.folder, start_new_session=True)
        log.close()
        self.started[self.process.pid] = start_time(self.process.pid)
        deadline = time.monotonic() + TIMEOUT
        while not any(inotify_watches(pid) for pid in descendants(self.process.pid)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start watching: {self._log_tail()}")
            time.sleep(POLL)
        # The watches exist a little before the tool reads them: entr -p misses a write 10 ms after, not 0.5 s.
        time.sleep(0.5)

    def kill(self) -> None:
        """Kills the pipeline and whatever it started, by id (see `end_session`)."""
        if self.process is not None:
            end_session(self.process, self.started)

    def leftovers(self) -> list[int]:
        return leftovers(self.started)

    def _log_tail(self) -> str:
        try:
            return "\n".join((self.folder / f"{self.name}.err").read_text().splitlines()[-5:])
        except OSError:
            return ""


class Entr(_FileWatcher):
    """entr 5.x, non-interactive (`-n`: no TTY). A file: `echo FILE | entr -n -p sh -c COMMAND` (`-p`: no run at
    start). A storm of new files: entr watches the files it is given and, with `-d`, exits (status 2) when a file is
    added to their folder, so the man page's idiom restarts it in a loop over a fresh list; each start runs the
    command once (no `-p`), which is how the new files are seen. entr hands no paths to the command."""

    name = "entr"

    def _file_script(self, target: pathlib.Path, command: str) -> str:
        return f"echo {shlex.quote(str(target))} | {shlex.quote(self.executable)} -n -p sh -c {shlex.quote(command)}"

    def _storm_script(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> str:
        command = f"echo $(date +%s.%N) 0 >> {shlex.quote(str(runs))}"
        return (f"while :; do find {shlex.quote(str(folder))} | {shlex.quote(self.executable)} -n -d sh -c"
                f" {shlex.quote(command)}; [ $? -eq 2 ] || exit; done")


class Inotifywait(_FileWatcher):
    """inotifywait (inotify-tools) in monitor mode on the folder, `-e close_write,moved_to`, one path per line, read
    by a shell loop that runs the command once per event: `inotifywait -m -q -e close_write,moved_to --format %w%f
    DIR | while read -r f; do sh -c COMMAND sh "$f"; done`. Each run is handed its one path."""

    name = "inotifywait"

    def _loop(self, folder: pathlib.Path, command: str) -> str:
        return (f"{shlex.quote(self.executable)} -m -q -e close_write,moved_to --format %w%f {shlex.quote(str(folder))}"
                f' | while read -r f; do sh -c {shlex.quote(command)} sh "$f"; done')

    def _file_script(self, target: pathlib.Path, command: str) -> str:
        return self._loop(target.parent, command)

    def _storm_script(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> str:
        command = f'echo $(date +%s.%N) 1 >> {shlex.quote(str(runs))}; echo "$1" >> {shlex.quote(str(paths))}'
        return self._loop(folder, command)


# --------------------------------------------------------------------------------------------------
# Self-test: python3 peers.py [--programs 10] [--runs 5] [--start-stop-only]
# --------------------------------------------------------------------------------------------------

def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _median_ms(values: list[float]) -> float:
    return _ms(statistics.median(values))


def _spread_ms(values: list[float]) -> str:
    return f"{_median_ms(values)} ms (min {_ms(min(values))}, max {_ms(max(values))}, n={len(values)})"


def _start_stop(peer_class, executables, programs: dict, runs: int, seen: dict) -> dict:
    """`runs` fresh daemons stopped by SIGTERM and `runs` stopped by the ctl: start, and both stops."""
    starts, by_signal, by_ctl = [], [], []
    for _ in range(runs):
        for via_ctl, stops in ((False, by_signal), (True, by_ctl)):
            with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
                with peer_class(folder, programs, executables) as peer:
                    starts.append(peer.start())
                    # A stop comes at no particular moment of the daemon's loop (supervisord's poll lasts
                    # up to 1 s, and a signal does not cut it short): spread the moments over 1 s.
                    time.sleep(random.uniform(0.2, 1.2))
                    stops.append(peer.stop(via_ctl=via_ctl))
                seen.update(peer.started)
    return {"start": _spread_ms(starts), "stop (SIGTERM)": _spread_ms(by_signal),
            f"stop ({peer_class.STOP_VERB})": _spread_ms(by_ctl)}


def _scenarios(peer_class, executables, programs: dict, runs: int, seen: dict) -> dict:
    """One daemon: status round trip, config changes (add, remove, change a command), restart after kill -9,
    each `runs` times; and that it holds no IP socket."""
    figures = {}
    with tempfile.TemporaryDirectory(prefix=f"orchestrate-bench-{peer_class.name}-") as folder:
        with peer_class(folder, programs, executables) as peer:
            peer.start()
            figures["IP sockets"] = inet_sockets(peer.pid)  # must stay empty: unix sockets only
            figures["status"] = _spread_ms([peer.status_roundtrip() for _ in range(runs)])
            adds, removes, changes = [], [], []
            for index in range(runs):
                adds.append(peer.apply_change({**peer.programs, "extra": "sleep 1002"}))
                removes.append(peer.apply_change({k: v for k, v in peer.programs.items() if k != "extra"}))
                command = "sleep 1001" if index % 2 == 0 else "sleep 1000"
                changes.append(peer.apply_change({**peer.programs, "p000": command}))
            figures["apply: add one"] = _spread_ms(adds)
            figures["apply: remove one"] = _spread_ms(removes)
            figures["apply: change one command"] = _spread_ms(changes)
            figures["restart after kill -9"] = _spread_ms([peer.restart_latency("p001") for _ in range(runs)])
            peer.stop()
            figures["left alive after stop()"] = peer.leftovers()
        seen.update(peer.started)
    assert not figures["IP sockets"], f"{peer_class.name} holds IP sockets: {figures['IP sockets']}"
    return figures


def _processes() -> dict[int, list[str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            found[int(entry)] = cmdline(int(entry))
    return found


def _main() -> None:
    parser = argparse.ArgumentParser(description="Measures supervisord and circus as orchestrate's benchmark would.")
    parser.add_argument("--programs", type=int, default=10, help="programs `sleep 1000` per daemon")
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each scenario (median reported)")
    parser.add_argument("--start-stop-only", action="store_true", help="only start and stop (for large counts)")
    arguments = parser.parse_args()
    before = _processes()
    seen: dict[int, int | None] = {}  # every PID any daemon here started -> its start time
    programs = {f"p{index:03d}": "sleep 1000" for index in range(arguments.programs)}
    for ensure, peer_class in ((ensure_supervisord, Supervisord), (ensure_circus, Circus)):
        executables = ensure()
        if executables is None:
            print(f"{peer_class.name}: skipped (see above)")
            continue
        version = subprocess.run([executables[0], "--version"], capture_output=True, text=True).stdout.strip()
        print(f"{peer_class.name} {version} ({executables[0]}), {arguments.programs} programs:")
        figures = _start_stop(peer_class, executables, programs, arguments.runs, seen)
        if not arguments.start_stop_only:
            figures.update(_scenarios(peer_class, executables, programs, arguments.runs, seen))
        for key, value in figures.items():
            print(f"  {key}: {value}")
    # Nothing started here may be alive: no PID seen (same start time), no new process naming our folders
    # or running one of our commands.
    left = [pid for pid, started in seen.items() if alive(pid, started)]
    ours = (["sleep", "1000"], ["sleep", "1001"], ["sleep", "1002"])  # other sessions run sleeps of their own
    strays = {pid: argv for pid, argv in _processes().items() if pid not in before
              and (argv in ours or any("orchestrate-bench-" in part for part in argv))}
    assert not left and not strays, f"left alive: {left} {strays}"
    print(f"no process started here is alive ({len(seen)} PIDs checked in /proc)")


if __name__ == "__main__":
    _main()
