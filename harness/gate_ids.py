"""The gate's comparison ids, made in one place.

A comparison's id is ``{architecture}-{oracle}-{quantity}-layer{l}`` (a malformed architecture's
is ``{architecture}-{oracle}-malformed``): the id of its subtest inside its architecture's test
(``test_oracle_agrees_with_reference[{architecture}]``), and the test id its record carries
(``…[{comparison id}]``), as when each comparison was a test of its own.
"""

from __future__ import annotations

#: The gate's test function (tests/test_gate.py).
GATE_FUNCTION = "test_oracle_agrees_with_reference"
MALFORMED = "malformed"


def comparison_id(arch_id: str, oracle: str, quantity: str, layer: int) -> str:
    """The parametrize id of one comparison."""
    return f"{arch_id}-{oracle}-{quantity}-layer{layer}"


def malformed_id(arch_id: str, oracle: str) -> str:
    """The parametrize id of the one failing case a malformed architecture gets per oracle."""
    return f"{arch_id}-{oracle}-{MALFORMED}"


def comparison_of(test: str) -> str:
    """The comparison id inside a record's test id ``…[<comparison id>]`` (the id itself for a
    test id without one)."""
    return test[test.index("[") + 1 : -1] if test.endswith("]") and "[" in test else test
