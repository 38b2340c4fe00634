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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import checker
from checker.isolation import Jail
from checker.protocol import PROGRESS, PROGRESS_TEXT, Message, ProtocolError, Reader, encode
from checker.quoting import visible
from checker.usage import START_MEMORY_MB, ConfigurationError, too_little_memory
from checker.verdict import Finding, ImplementationError

#: Defaults of ``--timeout``, ``--total-timeout`` and ``--memory``: an honest call takes
#: milliseconds (a mini-batch of [784, 30, 10]); network2.py's 164 cases take a few seconds; the
#: worker with NumPy and a book-sized network needs well under 200 MiB of address space.
CALL_LIMIT_S = 10.0
TOTAL_LIMIT_S = 300.0
MEMORY_LIMIT_MB = 2048
#: Seconds the worker may take to start (Python and NumPy, before it says it is ready and before
#: any of the learner's code is imported) on a loaded machine: not the learner's time.
WORKER_S = 60.0
#: Seconds a request may take beyond its calls' per-call limits: the worker's own part (reading
#: the request, copying, answering), milliseconds when honest.
REQUEST_S = 2.0
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
        self.deadline: float | None = None  # the total limit's end, set once the worker is ready
        self.dead: Finding | None = None
        self.calls = 0  # the progress record's count when last read
        self.current = "starting the implementation's process"  # the call it names

    def request(
        self, header: dict[str, Any], arrays: list[Any] | None = None, calls: int = 1
    ) -> Message:
        """Send a request that makes ``calls`` calls into the learner's code; the reply, or
        ImplementationError (HANG, MEMORY, CRASH) after which the process is gone.

        The checker times the request itself: it may take ``calls`` × the per-call limit (and
        :data:`REQUEST_S`) from when it is sent, and the implementation's total limit runs from
        when the worker was ready. The worker's record of when each call started can only bring
        a deadline earlier (a call past the per-call limit), never move one later."""
        if self.dead is not None:
            raise ImplementationError(self.dead)
        total_deadline = self.deadline if self.deadline is not None else self._start()
        # the calls of earlier requests, all answered: their starts must not time this one
        self._progress()
        call_s = self.limits.call_s
        budget = calls * call_s + REQUEST_S
        request_deadline = time.monotonic() + budget
        call_deadline = request_deadline
        try:
            for message in self._exchange(encode(header, arrays or [])):
                if message is not None:
                    reply, got = message
                    if not isinstance(reply.get("reply"), dict):
                        raise ProtocolError("a message that is not a reply")
                    return reply["reply"], got
                started = self._progress()
                if started is not None:
                    call_deadline = min(request_deadline, started + call_s)
                now = time.monotonic()
                if now >= total_deadline:
                    total = f"the total limit of {self.limits.total_s:g} s for this implementation"
                    why = f"was running when {total} ran out; it was stopped"
                    self._end(Finding("HANG", f"{self.current} {why}"))
                if now >= call_deadline:
                    if call_deadline < request_deadline:
                        why = f"within {call_s:g} s (the per-call limit)"
                    else:
                        why = (
                            f"within the {budget:g} s its request allows ({calls} calls into the "
                            f"learner's code × the per-call limit of {call_s:g} s, and "
                            f"{REQUEST_S:g} s for the worker, timed by the checker)"
                        )
                    why = f"did not return {why}, so it was stopped"
                    self._end(Finding("HANG", f"{self.current} {why}"))
        except ProtocolError as exc:
            self._progress()
            self._end(Finding("CRASH", f"during {self.current} the process sent {exc}"))
        except _Ended:
            self._died()
        raise AssertionError("unreachable")  # _exchange yields until a message or _Ended

    def _start(self) -> float:
        """Wait for the worker's ready message (it comes before any of the learner's code is
        imported); a worker that dies or stalls before it is the checker's configuration
        (ConfigurationError), not the learner's verdict. The total limit runs from here: its
        end is returned."""
        deadline = time.monotonic() + WORKER_S
        try:
            for message in self._exchange(b""):
                if message is not None:
                    if message[0] != {"ready": True}:
                        raise ProtocolError("a first message that is not the worker's ready")
                    self.deadline = time.monotonic() + self.limits.total_s
                    return self.deadline
                if time.monotonic() >= deadline:
                    self._stop()
                    raise ConfigurationError(
                        f"the worker process did not start within {WORKER_S:g} s"
                    )
        except (_Ended, ProtocolError):
            pass
        self._stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2.0)
        said = self.tail()
        if "MemoryError" in said or self.limits.memory_mb < 2 * START_MEMORY_MB:
            raise too_little_memory(self.limits.memory_mb)
        last = visible(said.splitlines()[-1][:200]) if said else "no output"
        raise ConfigurationError(
            f"the worker process ended before it was ready (exit status {self.proc.returncode}): "
            f"{last}"
        )

    def _exchange(self, pending_bytes: bytes) -> Iterator[Message | None]:
        """Write ``pending_bytes``, then yield each message received, and None at least every
        0.5 s while waiting (the caller checks its deadlines); _Ended when the reply channel
        closes or the process exits."""
        pending = memoryview(pending_bytes)
        with selectors.DefaultSelector() as sel:
            sel.register(self.res_r, selectors.EVENT_READ)
            if pending:
                sel.register(self.req_w, selectors.EVENT_WRITE)
            while True:
                yield None
                for key, _ in sel.select(0.5):
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
                        raise _Ended
                    yield from self.reader.feed(data)
                if self.proc.poll() is not None:
                    raise _Ended

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
        name = data[PROGRESS.size : PROGRESS.size + length].decode("utf-8", "replace")
        self.current = visible(name)  # the worker's word: shown escaped, on one line
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
        self._stop()
        raise ImplementationError(finding)

    def _stop(self) -> None:
        """End the worker, its namespace and everything left in it; return once all are gone."""
        self.jail.end(self.proc)


class _Ended(Exception):
    """The worker's reply channel closed, or the worker exited."""
