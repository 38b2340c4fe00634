"""xdist's per-test messages, sent in batches: larger units of work per worker message.

An xdist worker sends six messages per test (logstart, three reports, logfinish, protocol
complete), each written and flushed to the controller's pipe and read by its receiver thread one
at a time. On the gate's small tests that traffic cost about as much CPU as the tests: measured
on 2 cores (300 random architectures, 16,845 tests), the workers spent a third of their time
sending, and the controller about 0.8 ms per test reading.

Here a worker keeps those six kinds of message (:data:`BATCHED`) and sends them as one message
when it has :data:`MAX_EVENTS`, when the oldest is :data:`MAX_SECONDS` old, before any other kind
of message (order is kept), and before it waits for more work, so the controller always hears
of every finished test before a worker could wait on it. The controller unpacks a batch into the
same events, handled by xdist as if they had come one by one: the terminal, JUnit, the scheduler
and the results see no difference.

A worker that dies (a segfault, the OOM killer) loses what it held, at most MAX_SECONDS of
reports, and xdist would name the first test it has no report of as the one that crashed: maybe
an earlier test that passed. So a worker also writes the id of each test it starts to a small file
(:func:`started`, no flush to disk needed: the kernel keeps it when the process dies), and the
gate's scheduler names that test (:meth:`harness.scheduling.GroupScheduling.remove_node`); the
tests whose reports were lost run again, as xdist reruns any unfinished test. Batching is on only
under ``--dist loadgroup``, where that scheduler is in charge.

Both sides touch pytest-xdist's internals (``WorkerInteractor.sendevent``, its test queue,
``WorkerController.process_from_remote``), so the test dependency bounds xdist to 3.8.x
(pyproject.toml) and tests/test_scheduling.py runs a real ``-n 2`` gate through them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

#: The event a batch travels as, and the worker input that turns batching on.
BATCH = "crossval_batch"
#: The per-test messages a worker holds back and sends together.
BATCHED = frozenset({"logstart", "testreport", "logfinish", "runtest_protocol_complete"})
#: A batch is sent once it holds this many messages (about 50 tests' worth) ...
MAX_EVENTS = 300
#: ... or once its oldest message is this old (what a crashed worker can lose).
MAX_SECONDS = 0.5

Event = tuple[str, dict[str, Any]]


class Batcher:
    """A worker's outgoing messages: per-test ones held back and sent in batches."""

    def __init__(
        self,
        send: Callable[..., None],
        max_events: int = MAX_EVENTS,
        max_seconds: float = MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        started: TextIO | None = None,
    ) -> None:
        self.send = send
        self.max_events, self.max_seconds, self.clock = max_events, max_seconds, clock
        self.started = started  # where the id of the test last started is kept
        self.events: list[Event] = []
        self.oldest = 0.0
        self.batches = 0

    def sendevent(self, name: str, **kwargs: Any) -> None:
        """xdist's ``WorkerInteractor.sendevent``: hold a per-test message, send anything else
        at once, after what is held."""
        if name == "logstart" and self.started is not None:
            self.started.seek(0)
            self.started.write(f"{kwargs['nodeid']}\n")
            self.started.truncate()
            self.started.flush()  # to the kernel: it outlives the process
        if name not in BATCHED:
            self.flush()
            self.send(name, **kwargs)
            return
        if not self.events:
            self.oldest = self.clock()
        self.events.append((name, kwargs))
        if len(self.events) >= self.max_events or self.clock() - self.oldest >= self.max_seconds:
            self.flush()

    def flush(self) -> None:
        """Send what is held, as one message."""
        if self.events:
            events, self.events = self.events, []
            self.send(BATCH, events=events)
            self.batches += 1

    def close(self) -> None:
        """Send what is held; close the started-test file (the worker's session is over)."""
        self.flush()
        if self.started is not None:
            self.started.close()
            self.started = None


def install_in_worker(config: Any) -> Batcher | None:
    """In an xdist worker whose controller unpacks batches: batch its messages; else None."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or not workerinput.get(BATCH):
        return None
    # remote.py runs as the worker's main script, so its class is found by name, not imported
    interactor = next(
        (p for p in config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"),
        None,
    )
    if interactor is None:
        return None
    path = started_file(workerinput[BATCH], workerinput["workerid"])
    batcher = Batcher(interactor.sendevent, started=path.open("w", encoding="utf-8"))
    interactor.sendevent = batcher.sendevent
    queue = interactor.torun
    wait_for_work = queue.get

    def get() -> Any:
        """The next test to run: everything held is sent first if there is none yet."""
        with queue.lock() as pending:
            idle = not pending
        if idle:
            batcher.flush()
        return wait_for_work()

    queue.get = get
    return batcher


def started_file(folder: str, workerid: str) -> Path:
    """Where worker ``workerid`` keeps the id of the test it last started."""
    return Path(folder) / f"{workerid}.started"


def started(node: Any) -> str | None:
    """The id of the test the worker ``node`` last started, if it batches and wrote one."""
    folder = getattr(node, "workerinput", {}).get(BATCH)
    if not folder:
        return None
    try:
        text = started_file(folder, node.workerinput["workerid"]).read_text(encoding="utf-8")
    except OSError:
        return None
    return text.strip() or None


def install_in_controller(node: Any, folder: str) -> None:
    """Ask the worker ``node`` to batch (keeping the id of the test it runs in ``folder``), and
    have the controller unpack what it sends."""
    from xdist.workermanage import WorkerController

    if not getattr(WorkerController, "_crossval_unpacks", False):
        one_by_one = WorkerController.process_from_remote

        def process_from_remote(self: Any, eventcall: Any) -> None:
            if isinstance(eventcall, tuple) and eventcall[0] == BATCH:
                for event in eventcall[1]["events"]:
                    one_by_one(self, event)
            else:
                one_by_one(self, eventcall)

        WorkerController.process_from_remote = process_from_remote
        WorkerController._crossval_unpacks = True
    node.workerinput[BATCH] = folder
