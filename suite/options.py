"""The case options both pytest plugins offer: ``--random-count`` and ``--random-seed``.

The gate's plugin (:mod:`harness.gate_plugin`) and the checker's (:mod:`checker.impl_plugin`,
also registered through the ``pytest11`` entry point of an installed wheel) both need them; when
both are loaded, whichever registers first adds them and the other finds them there.
"""

from __future__ import annotations

import pytest

#: Seeded random architectures added to the curated ones, in the gate and in the checker.
RANDOM_COUNT = 60
GROUP = "backprop cross-validation"


def add_case_options(parser: pytest.Parser) -> None:
    """Add --random-count and --random-seed unless another plugin added them already."""
    group = parser.getgroup(GROUP)
    known = {name for option in group.options for name in option.names()}
    if "--random-count" not in known:
        group.addoption(
            "--random-count",
            type=int,
            default=RANDOM_COUNT,
            help=f"how many seeded random architectures to add (default {RANDOM_COUNT})",
        )
    if "--random-seed" not in known:
        group.addoption(
            "--random-seed",
            type=int,
            default=0,
            help="seed of the random architectures (default 0)",
        )


def check_case_options(config: pytest.Config) -> None:
    """Refuse an impossible --random-count in one line."""
    count = config.getoption("--random-count")
    if count < 0:
        raise pytest.UsageError(f"--random-count must be >= 0, got {count}")
