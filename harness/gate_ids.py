"""The gate's test ids, made and read in one place.

A comparison's id is ``{architecture}-{oracle}-{quantity}-layer{l}`` (a malformed architecture's
is ``{architecture}-{oracle}-malformed``), so ``-k`` picks any one comparison, and the xdist
scheduler (:mod:`harness.scheduling`) can read the architecture back from a test's node id: all
of one architecture's comparisons go to one worker, which builds the case and runs each oracle
once. pytest-xdist's own ``xdist_group`` grouping no longer reaches the scheduler on pytest 9.2
(it renames node ids, which pytest 9.2 no longer lets a plugin do: pytest-xdist issue 1386).
"""

from __future__ import annotations

import re

from reference import QUANTITIES

#: The gate's test function (tests/test_gate.py).
GATE_FUNCTION = "test_oracle_agrees_with_reference"
MALFORMED = "malformed"

_GATE_ID = re.compile(
    rf"::{GATE_FUNCTION}\[(?P<arch>.+)-(?P<oracle>[^-\]]+)-"
    rf"(?:(?:{'|'.join(QUANTITIES)})-layer\d+|{MALFORMED})[^\]]*\]$"
)


def comparison_id(arch_id: str, oracle: str, quantity: str, layer: int) -> str:
    """The parametrize id of one comparison."""
    return f"{arch_id}-{oracle}-{quantity}-layer{layer}"


def malformed_id(arch_id: str, oracle: str) -> str:
    """The parametrize id of the one failing case a malformed architecture gets per oracle."""
    return f"{arch_id}-{oracle}-{MALFORMED}"


def architecture_of(nodeid: str) -> str | None:
    """The architecture id of a gate test's node id; None for any other test."""
    found = _GATE_ID.search(nodeid)
    return found["arch"] if found else None
