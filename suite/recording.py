"""Where a test's results record goes: to the run's recorder, in the process that ran the test.

:func:`record` (a test's record under its own id) and :func:`record_as` (under another id: a
gate subtest's comparison id) are all a test calls. Under the gate's plugin
(:mod:`harness.gate_plugin`) a :class:`~harness.gate_plugin.Recorder` keeps the records of a
test and appends them to its process's JSON Lines file when the test ends (:mod:`harness.parts`).
Without that plugin (the checker's plugin alone, in a learner's repository) the record stays on
the test's report as a ``user_properties`` entry. Imports nothing beyond the standard library and
pytest's types.
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
    def add(self, nodeid: str, test: str, line: str) -> None: ...


def record_line_json(rec: dict[str, Any]) -> str:
    """A record as its process's part keeps it, and so the results file: keys sorted, no spaces
    (suite.results joins these texts into the file, parsing none again)."""
    return json.dumps(rec, sort_keys=True, separators=(",", ":"))


def record(item: pytest.Item, rec: dict[str, Any]) -> None:
    """Hand one results record of ``item`` to the run's recorder (as one JSON text)."""
    record_as(item, item.nodeid, rec)


def record_as(item: pytest.Item, test: str, rec: dict[str, Any]) -> None:
    """Hand one results record made by ``item`` to the run's recorder, under the id ``test``."""
    line = record_line_json(rec)
    sink: Sink | None = item.config.pluginmanager.get_plugin(RECORDER)
    if sink is None:
        item.user_properties.append((PROPERTY, json.dumps({"test": test, **rec})))
    else:
        sink.add(item.nodeid, test, line)
