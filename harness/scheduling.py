"""pytest-xdist's ``--dist loadgroup`` without its quadratic bookkeeping, for large gate runs.

The gate groups an architecture's tests (``xdist_group``) so that one worker builds the case and
runs each oracle once. Three costs of xdist's group scheduler grow with the run, all paid by the
controller, which on a small machine competes with the workers for the cores:

- after each test it counts the pending tests of every group it ever assigned to the worker
  (``_pending_of``): O(tests run so far) per test. At 300,000 tests (the 10,000-architecture
  soak) the controller set the pace: 4% of the run a minute at the start, 1.2% at 40%.
  Here a group leaves the worker's assigned work once all its tests are done.
- to send a group it looks up each test's index with ``list.index`` over the whole collection:
  O(collection) per test, about 10^10 string comparisons for the soak. Here a dict, built once
  per worker, answers each in O(1).
- it tops a worker up only when at most 2 of its tests are left, so a worker waits on a busy
  controller between groups. Here a worker holds :data:`UNITS_IN_FLIGHT` groups: the one it runs
  and the next, already sent.

- a group is read from the test's node id: xdist's ``@group`` suffix where the worker could add
  it (pytest before 9.2), else the gate's architecture (:func:`harness.gate_ids.architecture_of`).
  On pytest 9.2 xdist's suffix is gone (pytest-xdist issue 1386) and every test was its own
  group: each worker built every architecture's case and ran every oracle on it, twice the work.

Nothing else changes: the same groups, each run whole on one worker, every test once.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadGroupScheduling

from harness.gate_ids import architecture_of
from harness.report_batching import started

#: Groups a worker holds at once: the one it is running and the next (sent ahead).
UNITS_IN_FLIGHT = 2


class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist ships no types
    """``--dist loadgroup`` with linear bookkeeping and one group sent ahead per worker."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._index: dict[Any, dict[str, int]] = {}

    def _split_scope(self, nodeid: str) -> str:
        """The group of a test: its ``xdist_group`` where xdist could name it in the node id,
        else its architecture if it is a gate test, else the test alone."""
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return str(super()._split_scope(nodeid))
        return architecture_of(nodeid) or nodeid

    def remove_node(self, node: Any) -> str | None:
        """xdist's, but a crashed worker's test is the one it last started: its batched reports
        of earlier tests may be lost (:mod:`harness.report_batching`), and xdist would blame the
        first of those. Every unfinished test runs again, as in xdist."""
        crashed = super().remove_node(node)
        if crashed is None:
            return None
        return started(node) or crashed

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        nodeid = self.registered_collections[node][item_index]
        scope = self._split_scope(nodeid)
        work = self.assigned_work[node]
        work[scope][nodeid] = True
        if all(work[scope].values()):
            del work[scope]  # nothing pending: xdist would recount it after every later test
        self._reschedule(node)

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        while self.workqueue and len(self.assigned_work.get(node, {})) < UNITS_IN_FLIGHT:
            self._assign_work_unit(node)

    def _assign_work_unit(self, node: Any) -> None:
        scope, work_unit = self.workqueue.popitem(last=False)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        index = self._index.get(node)
        if index is None:
            collection = self.registered_collections[node]
            index = self._index[node] = {nodeid: i for i, nodeid in enumerate(collection)}
        node.send_runtest_some([index[n] for n, done in work_unit.items() if not done])


def make_scheduler(config: Any, log: Any) -> GroupScheduling | None:
    """Our scheduler for ``--dist loadgroup``; None (xdist's own) for every other mode."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return GroupScheduling(config, log)
