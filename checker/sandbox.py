"""The implementation under test in a process of its own, with limits it cannot defeat.

As CPython's regrtest runs its workers: a fresh interpreter (``python -m checker.worker``, never a
fork of the checker) in a new session, so the whole process group can be ended with ``os.killpg``;
its stdout and stderr go to a temporary file, its replies come through a pipe of their own. The
child sets its address-space, CPU-time and file-size limits before it imports anything; the
checker enforces wall-clock limits itself, per call into the learner's code and per
implementation, by killing the group. A call that ends otherwise than with a reply is named:
HANG (which call, which limit), MEMORY, or CRASH with the exit status or signal.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import checker
from checker.isolation import Jail
from checker.protocol import PROGRESS, PROGRESS_TEXT, Message, ProtocolError, Reader, encode
from checker.verdict import Finding, ImplementationError

#: Defaults of ``--timeout``, ``--total-timeout`` and ``--memory``: an honest call takes
#: milliseconds (a mini-batch of [784, 30, 10]); network2.py's 164 cases take a few seconds; the
#: worker with NumPy and a book-sized network needs well under 200 MiB of address space.
CALL_LIMIT_S = 10.0
TOTAL_LIMIT_S = 300.0
MEMORY_LIMIT_MB = 2048
#: Seconds the worker may take for its own part of a request (starting Python and NumPy, reading,
#: answering) on a loaded machine: not the learner's time, which the per-call limit bounds.
WORKER_S = 60.0
#: The learner's output kept on disk at most (RLIMIT_FSIZE), and the tail shown on failure.
OUTPUT_LIMIT_MB = 256
TAIL_CHARS = 600
#: One thread per BLAS: the arrays are small, and the machine is shared.
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Limits:
    """Per call into the learner's code and per implementation (wall clock, s); memory (MiB)."""

    call_s: float = CALL_LIMIT_S
    total_s: float = TOTAL_LIMIT_S
    memory_mb: int = MEMORY_LIMIT_MB
    isolation: str = "auto"  # checker.isolation.MODES


class Child:
    """One worker process serving one implementation; :meth:`request` is one round trip."""

    def __init__(self, limits: Limits, learner: Path | None = None) -> None:
        self.limits = limits
        self.tmp = tempfile.TemporaryDirectory(prefix="checker-")
        self.output = Path(self.tmp.name) / "output.txt"
        workdir = Path(self.tmp.name) / "cwd"
        workdir.mkdir()
        self.progress = os.open(Path(self.tmp.name) / "progress", os.O_RDWR | os.O_CREAT, 0o600)
        req_r, self.req_w = os.pipe()
        self.res_r, res_w = os.pipe()
        package_root = str(Path(checker.__file__).resolve().parent.parent)
        folders = (Path(package_root) / "checker", *([learner.parent] if learner else []))
        self.jail = Jail(limits.isolation, folders)
        pythonpath = [package_root, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
        env = self.jail.env([p for p in pythonpath if p], workdir) | dict.fromkeys(THREADS, "1")
        cpu = int(limits.total_s) + 1
        argv = [str(req_r), str(res_w), str(self.progress), str(limits.memory_mb << 20), str(cpu)]
        argv.append(str(OUTPUT_LIMIT_MB << 20))
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                self.jail.command([sys.executable, "-P", "-m", "checker.worker", *argv]),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                pass_fds=(req_r, res_w, self.progress, *self.jail.fds()),
                start_new_session=True,
                cwd=workdir,
                env=env,
            )
        self.jail.started(self.proc)
        os.close(req_r)
        os.close(res_w)
        os.set_blocking(self.req_w, False)
        os.set_blocking(self.res_r, False)
        self.reader = Reader()
        self.deadline = time.monotonic() + limits.total_s
        self.dead: Finding | None = None
        self.calls = 0  # the progress record's count when last read
        self.current = "starting the implementation's process"  # the call it names

    def request(self, header: dict[str, Any], arrays: list[Any] | None = None) -> Message:
        """Send a request; the reply, or ImplementationError (HANG, MEMORY, CRASH) after which
        the process is gone."""
        if self.dead is not None:
            raise ImplementationError(self.dead)
        # the calls of earlier requests, all answered: their starts must not time this one
        self._progress()
        pending = memoryview(encode(header, arrays or []))
        # the worker's own part (starting, reading, answering) may take WORKER_S; each call into
        # the learner's code, call_s from the moment the worker recorded its start
        limit = max(self.limits.call_s, WORKER_S)
        call_deadline = time.monotonic() + limit
        with selectors.DefaultSelector() as sel:
            sel.register(self.res_r, selectors.EVENT_READ)
            if pending:
                sel.register(self.req_w, selectors.EVENT_WRITE)
            while True:
                started = self._progress()
                if started is not None:
                    limit = self.limits.call_s
                    call_deadline = started + limit
                now = time.monotonic()
                if now >= min(call_deadline, self.deadline):
                    self._hang(self.current, limit, whole=self.deadline <= call_deadline)
                wait = min(call_deadline, self.deadline, now + 0.5) - now
                for key, _ in sel.select(wait):
                    if key.fd == self.req_w:
                        try:
                            pending = pending[os.write(self.req_w, pending) :]
                        except BrokenPipeError:
                            pending = pending[:0]
                        if not pending:
                            sel.unregister(self.req_w)
                        continue
                    data = os.read(self.res_r, 1 << 20)
                    if not data:
                        self._died()
                    try:
                        for reply, got in self.reader.feed(data):
                            if not isinstance(reply.get("reply"), dict):
                                raise ProtocolError("a message that is not a reply")
                            return reply["reply"], got
                    except ProtocolError as exc:
                        self._progress()
                        self._end(Finding("CRASH", f"during {self.current} the process sent {exc}"))
                if self.proc.poll() is not None:
                    self._died()

    def _progress(self) -> float | None:
        """When the latest call the worker recorded started, if it is newer than the last read
        (its name becomes :attr:`current`); a start in the future is not believed."""
        data = os.pread(self.progress, PROGRESS.size + PROGRESS_TEXT, 0)
        if len(data) < PROGRESS.size:
            return None
        started, calls, length = PROGRESS.unpack_from(data)
        if calls == self.calls or not 0 < started <= time.monotonic():
            return None
        self.calls = calls
        self.current = data[PROGRESS.size : PROGRESS.size + length].decode("utf-8", "replace")
        return float(started)

    def tail(self) -> str:
        """The end of the learner's output (stdout and stderr), at most TAIL_CHARS characters."""
        try:
            with open(self.output, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - TAIL_CHARS))
                data = f.read(TAIL_CHARS)
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def close(self) -> None:
        """End the process group and the jail (every process left in it) and remove the
        temporary files."""
        self.jail.end(self.proc)
        for fd in (self.req_w, self.res_r, self.progress):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.tmp.cleanup()

    def _hang(self, call: str, limit: float, *, whole: bool) -> NoReturn:
        if whole:
            total = f"the total limit of {self.limits.total_s:g} s for this implementation"
            self._end(Finding("HANG", f"{call} was running when {total} ran out; it was stopped"))
        which = "the per-call limit" if limit == self.limits.call_s else "the worker's own limit"
        message = f"{call} did not return within {limit:g} s ({which}), so it was stopped"
        self._end(Finding("HANG", message))

    def _died(self) -> NoReturn:
        self._progress()
        call = self.current
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:  # the pipe closed, the process lives on: end it
            self._end(Finding("CRASH", f"during {call} the process closed its reply channel"))
        if code == -signal.SIGXCPU:
            self._end(
                Finding(
                    "HANG",
                    f"{call} was running when the CPU-time limit of {int(self.limits.total_s) + 1}"
                    " s ran out; it was stopped",
                )
            )
        if code == -signal.SIGXFSZ:
            why = f"its output passed the {OUTPUT_LIMIT_MB} MiB limit (SIGXFSZ)"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            why = f"it was killed by signal {name}"
        else:
            why = f"the process exited with status {code} (os._exit or sys.exit) without replying"
        self._end(Finding("CRASH", f"during {call}, {why}"))

    def _end(self, finding: Finding) -> NoReturn:
        self.dead = finding
        self.jail.end(self.proc)
        raise ImplementationError(finding)
