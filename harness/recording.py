"""Where a test's results record goes: to the run's recorder, in the process that ran the test.

:func:`record` is all a test calls. Under the gate's plugin (:mod:`harness.pytest_plugin`) a
:class:`~harness.pytest_plugin.Recorder` keeps the record (an xdist worker spools it to a file
the controller reads once at the end, so no record rides on a test report). Without that plugin
(the checker's plugin alone, in a learner's repository) the record stays on the test's report as
a ``user_properties`` entry. Imports nothing beyond the standard library and pytest's types.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pytest

#: The name the gate's recorder is registered under (``config.pluginmanager``).
RECORDER = "crossval-recorder"
#: The ``user_properties`` name of a record left on a report.
PROPERTY = "crossval"


class Sink(Protocol):
    def add(self, nodeid: str, line: str) -> None: ...


def record(item: pytest.Item, rec: dict[str, Any]) -> None:
    """Hand one results record of ``item`` to the run's recorder (as one JSON text)."""
    line = json.dumps(rec)
    sink: Sink | None = item.config.pluginmanager.get_plugin(RECORDER)
    if sink is None:
        item.user_properties.append((PROPERTY, line))
    else:
        sink.add(item.nodeid, line)
