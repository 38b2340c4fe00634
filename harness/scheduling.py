"""pytest-xdist's ``--dist loadgroup`` without its quadratic bookkeeping, for large gate runs.

The gate groups an architecture's tests (``xdist_group``) so that one worker builds the case and
runs each oracle once. xdist's group scheduler keeps every group it ever assigned to a worker and,
after each test, counts the pending tests of all of them (``_pending_of``): O(tests run so far)
per test. At 300,000 tests (the 10,000-architecture soak) the controller, not the workers, set
the pace: about 4% of the run a minute at the start, 1.2% a minute at 40%.
:class:`GroupScheduling` drops a group from its worker's assigned work once all its tests are
done, so the count only sees groups in flight. Nothing else changes: same groups, same order.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadGroupScheduling


class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist ships no types
    """``--dist loadgroup`` whose finished groups leave the worker's assigned work."""

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        nodeid = self.registered_collections[node][item_index]
        scope = self._split_scope(nodeid)
        work = self.assigned_work[node]
        work[scope][nodeid] = True
        if all(work[scope].values()):
            del work[scope]  # nothing pending: xdist would recount it after every later test
        self._reschedule(node)


def make_scheduler(config: Any, log: Any) -> GroupScheduling | None:
    """Our scheduler for ``--dist loadgroup``; None (xdist's own) for every other mode."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return GroupScheduling(config, log)
