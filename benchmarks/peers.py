"""The peers of `make bench`: supervisord and circus (supervising processes), entr and inotifywait (a file change to
a command), driven the same way as orchestrate and measured in the same run.

Standard library only. install.py installs them when missing (`install.ensure_supervisord()` and so on).

- `Supervisord` and `Circus`: `common.Peer`s (context managers that run one daemon in a temporary folder you give,
  with `programs` ({name: command string}) each run as one process, and time its start, a configuration change
  applied, a restart after kill -9, a status round trip and its stop); processes.py runs orchestrate through the
  same class (`processes.Orchestrate`).
- `Entr`, `Inotifywait`: a file change to a shell command, run as one pipeline in a new session (`watch_file`,
  `watch_storm`); run.py times them exactly as it times orchestrate's watchers.

Once a moment is recorded (seen in /proc, see `common.Peer`), the daemon's own API is asked (untimed) to confirm:
supervisord's XML-RPC on its unix socket (state RUNNING with that PID), circus' ZeroMQ endpoint (watcher active,
`list` gives that PID; spoken with a small ZMTP client, as the stdlib has no zmq).

Everything stays local: supervisord listens on a unix socket only (no inet_http_server); circus is given
ipc:// endpoints, no stats endpoint, statsd off, and an empty multicast_endpoint (its default would join a
UDP multicast group). Every process started is ended by its PID, or by the process group id that this
module created (`common.end_session`).
"""

import argparse
import http.client
import json
import os
import pathlib
import random
import shlex
import socket
import struct
import subprocess
import tempfile
import time
import uuid
import xmlrpc.client

import install
from common import (POLL, TIMEOUT, Peer, Session, UnixHTTPConnection, assert_all_gone, descendants, inet_sockets,
                    inotify_watches, median_ms, ms, processes)


# --------------------------------------------------------------------------------------------------
# supervisord
# --------------------------------------------------------------------------------------------------

class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.unix_path, 5.0)  # a new connection per call: nothing goes stale


class Supervisord(Peer):
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

    def write_config(self, programs: dict[str, str]) -> None:
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
        self.write_atomically("\n".join(lines))

    def daemon_command(self) -> list[str]:
        return [self.daemon_path, "-c", str(self.config)]

    def ctl(self, *arguments: str) -> list[str]:
        return [self.ctl_path, "-c", str(self.config), *arguments]

    def running_pids(self, names: set[str]) -> dict[str, int | None] | None:
        try:
            infos = self.rpc.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError, http.client.HTTPException):
            return None  # not listening yet, or still starting up
        return {info["name"]: (info["pid"] if info["statename"] == "RUNNING" else None)
                for info in infos if info["name"] in names}

    def apply_commands(self) -> list[list[str]]:
        return ([self.ctl("reread")] if self.reread else []) + [self.ctl("update")]


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


class Circus(Peer):
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

    def write_config(self, programs: dict[str, str]) -> None:
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
        self.write_atomically("\n".join(lines))

    def daemon_command(self) -> list[str]:
        return [self.daemon_path, str(self.config)]

    def ctl(self, *arguments: str) -> list[str]:
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

    def running_pids(self, names: set[str]) -> dict[str, int | None] | None:
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

    def apply_commands(self) -> list[list[str]]:
        return [self.ctl("reloadconfig")]

    def kill(self) -> None:
        if self.client:
            self.client.close()
            self.client = None
        super().kill()


# --------------------------------------------------------------------------------------------------
# entr and inotifywait: a file change to a command
# --------------------------------------------------------------------------------------------------

class _FileWatcher(Session):
    """A peer that runs a shell command when files change, as one `sh -c` pipeline started in a new session in
    `folder` (a `common.Session`: its PID is the id of a group that is ours to kill), ended by `kill()`. The two
    uses mirror orchestrate's watchers in run.py:
      watch_file(target, command)          `sh -c command` on each write to `target`
      watch_storm(folder, runs, paths)     for each run, a line "TIME COUNT" appended to `runs` and the paths
                                           it was handed (COUNT of them) to `paths`
    Both return 0.5 s after the tool holds its inotify watches (read in /proc, without waking it)."""

    name = "watcher"
    LOG_SUFFIX = "err"

    def __init__(self, folder: str | os.PathLike, executable: str):
        super().__init__(folder)
        self.executable = executable

    def _file_script(self, target: pathlib.Path, command: str) -> str:
        raise NotImplementedError

    def _storm_script(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> str:
        raise NotImplementedError

    def watch_file(self, target: pathlib.Path, command: str) -> None:
        self._launch(self._file_script(target, command))

    def watch_storm(self, folder: pathlib.Path, runs: pathlib.Path, paths: pathlib.Path) -> None:
        self._launch(self._storm_script(folder, runs, paths))

    def _launch(self, script: str) -> None:
        self.spawn(["sh", "-c", script])
        deadline = time.monotonic() + TIMEOUT
        while not any(inotify_watches(pid) for pid in descendants(self.process.pid)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start watching: {self.log_tail()}")
            time.sleep(POLL)
        # The watches exist a little before the tool reads them: entr -p misses a write 10 ms after, not 0.5 s.
        time.sleep(0.5)


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

def _spread_ms(values: list[float]) -> str:
    return f"{median_ms(values)} ms (min {ms(min(values))}, max {ms(max(values))}, n={len(values)})"


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


def _main() -> None:
    parser = argparse.ArgumentParser(description="Measures supervisord and circus as orchestrate's benchmark would.")
    parser.add_argument("--programs", type=int, default=10, help="programs `sleep 1000` per daemon")
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each scenario (median reported)")
    parser.add_argument("--start-stop-only", action="store_true", help="only start and stop (for large counts)")
    arguments = parser.parse_args()
    before = processes()
    seen: dict[int, int | None] = {}  # every PID any daemon here started -> its start time
    programs = {f"p{index:03d}": "sleep 1000" for index in range(arguments.programs)}
    for ensure, peer_class in ((install.ensure_supervisord, Supervisord), (install.ensure_circus, Circus)):
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
    assert_all_gone(seen, before, (["sleep", "1000"], ["sleep", "1001"], ["sleep", "1002"]))
    print(f"no process started here is alive ({len(seen)} PIDs checked in /proc)")


if __name__ == "__main__":
    _main()
