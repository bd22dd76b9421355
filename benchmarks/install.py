"""Installs the benchmark's peers and tools when they are missing, and says where they are.

- `ensure_supervisord()` / `ensure_circus()`: the paths of (daemon, ctl); `ensure_entr()`, `ensure_inotifywait()`,
  `ensure_wrk()`: the path of the tool. Each is found first, else installed, else None with a message on stderr
  saying how to install it.
- apt (`apt-get install -y PACKAGE`, after one `apt-get update` per process) when apt-get is there and we are root:
  supervisor, entr, inotify-tools, wrk.
- pip into the benchmark's own virtual environment, VENV (`.build/bench-venv` of the repository, made here with
  `python3 -m venv` on first use), never into the Python that runs the benchmark: circus (Debian has no package),
  and supervisor where apt cannot install it.

An executable is looked for in VENV's `bin`, then in the scripts folder of the Python running this (where a pip
install of the developer's own would be; this also avoids pyenv's shims, shell scripts that would add their own
start-up to every ctl timing), then on PATH.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

from common import say

INSTALL_TIMEOUT = 600  # seconds for one apt-get or pip command
VENV = pathlib.Path(__file__).resolve().parent.parent / ".build" / "bench-venv"

_apt_update_result: bool | None = None  # `apt-get update` runs at most once per process


def _run_quietly(command: list[str], env: dict | None = None) -> bool:
    """Runs an install step, returns whether it worked; on failure shows the end of its output."""
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        say(f"{' '.join(command)}: {error}")
        return False
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        say(f"{' '.join(command)} failed ({done.returncode}): {tail}")
    return done.returncode == 0


def apt_install(package: str) -> bool:
    global _apt_update_result
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if _apt_update_result is None:
        say("apt-get update")
        _apt_update_result = _run_quietly(["apt-get", "update"], env)
    if not _apt_update_result:
        return False
    say(f"apt-get install -y {package}")
    return _run_quietly(["apt-get", "install", "-y", package], env)


def _venv_python() -> pathlib.Path | None:
    """VENV's python, making VENV first if it does not exist (Debian's own Python needs python3-venv for that)."""
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    say(f"{sys.executable} -m venv {VENV}")
    if not _run_quietly([sys.executable, "-m", "venv", str(VENV)]):
        shutil.rmtree(VENV, ignore_errors=True)
        if not (apt_install("python3-venv") and _run_quietly([sys.executable, "-m", "venv", str(VENV)])):
            return None
    return python


def pip_install(package: str) -> bool:
    """`pip install PACKAGE` into VENV."""
    python = _venv_python()
    if python is None:
        return False
    say(f"{python} -m pip install {package}")
    return _run_quietly([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package])


def locate(name: str) -> str | None:
    """The executable `name`: in VENV, in this Python's scripts folder, then on PATH (see the module's docstring)."""
    folders = [VENV / "bin"]
    for scheme in (None, f"{os.name}_user"):
        try:
            folders.append(pathlib.Path(sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")))
        except KeyError:
            continue
    for folder in folders:
        candidate = folder / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _find_working(daemon: str, ctl: str) -> tuple[str, str] | None:
    """Both executables, if present and the daemon answers `--version`."""
    paths = (locate(daemon), locate(ctl))
    if None in paths:
        return None
    try:
        check = subprocess.run([paths[0], "--version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return paths if check.returncode == 0 else None


def _ensure_pair(daemon: str, ctl: str, installers: list[tuple[str, str]]) -> tuple[str, str] | None:
    found = _find_working(daemon, ctl)
    for kind, package in installers:
        if found:
            break
        installed = apt_install(package) if kind == "apt" else pip_install(package)
        found = _find_working(daemon, ctl) if installed else None
    if not found:
        how = " or ".join(f"`apt-get install {package}`" if kind == "apt" else f"`{VENV}/bin/pip install {package}`"
                          for kind, package in installers)
        say(f"{daemon} is missing and could not be installed: skipping it. Install it with {how}.")
    return found


def ensure_supervisord() -> tuple[str, str] | None:
    """(supervisord, supervisorctl). Debian's `supervisor` (4.2.5 in bookworm) is recent enough: apt first."""
    return _ensure_pair("supervisord", "supervisorctl", [("apt", "supervisor"), ("pip", "supervisor")])


def ensure_circus() -> tuple[str, str] | None:
    """(circusd, circusctl). Debian ships no circus package (none in bookworm): pip only."""
    return _ensure_pair("circusd", "circusctl", [("pip", "circus")])


def ensure_tool(name: str, apt_package: str) -> str | None:
    """A command-line tool: found, or installed with apt; None with a message."""
    found = locate(name)
    if not found and apt_install(apt_package):
        found = locate(name)
    if not found:
        say(f"{name} is missing and could not be installed: skipping it. Install it with `apt-get install {apt_package}`.")
    return found


def ensure_entr() -> str | None:
    return ensure_tool("entr", "entr")


def ensure_inotifywait() -> str | None:
    return ensure_tool("inotifywait", "inotify-tools")


def ensure_wrk() -> str | None:
    return ensure_tool("wrk", "wrk")


if __name__ == "__main__":
    # python3 benchmarks/install.py: installs every peer and tool now (what a run would do on first use).
    found = {"supervisord": ensure_supervisord(), "circus": ensure_circus(), "entr": ensure_entr(),
             "inotifywait": ensure_inotifywait(), "wrk": ensure_wrk()}
    for name, where in found.items():
        print(f"{name}: {where or 'missing'}")
    sys.exit(0 if all(found.values()) else 1)
