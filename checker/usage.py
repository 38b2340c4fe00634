"""The limits an implementation runs under, their options, and what a caller can get wrong.

Both front ends take the same options from :data:`OPTIONS`, parsed by the same types:
``python -m checker --timeout S`` and ``pytest --impl … --impl-timeout S`` alike. A limit that is
not a positive finite number, or a configuration under which the worker cannot start
(``--memory 1``), is the caller's usage error (exit 2 from the command line, pytest's usage
error, exit 4, under ``pytest --impl``), never the learner's verdict. Only the standard library
is imported here (the pytest plugin imports this module at load).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from checker.isolation import MODES

#: The largest limits accepted: a week of seconds, a tebibyte of address space (both far above
#: any honest run, and within what setrlimit takes).
MAX_SECONDS = 7 * 24 * 3600.0
MAX_MEBIBYTES = 1 << 20
#: The address space a worker needs to start (Python, NumPy with one BLAS thread, the worker's
#: modules): VmPeak measured at about 97 MiB on Linux x86-64 with NumPy 2.
START_MEMORY_MB = 100
#: Defaults of ``--timeout``, ``--total-timeout`` and ``--memory``: an honest call takes
#: milliseconds (a mini-batch of [784, 30, 10]); network2.py's 164 cases take a few seconds; the
#: worker with NumPy and a book-sized network needs well under 200 MiB of address space.
CALL_LIMIT_S = 10.0
TOTAL_LIMIT_S = 300.0
MEMORY_LIMIT_MB = 2048


@dataclass(frozen=True)
class Limits:
    """Per call into the learner's code and per implementation (wall clock, s); memory (MiB);
    the isolation asked for (:data:`checker.isolation.MODES`)."""

    call_s: float = CALL_LIMIT_S
    total_s: float = TOTAL_LIMIT_S
    memory_mb: int = MEMORY_LIMIT_MB
    isolation: str = "auto"


class ConfigurationError(Exception):
    """The checker cannot run as configured (it is no fault of the implementation under test).

    ``limit``: the :class:`Limits` field it is about, if one is; :meth:`said` leads the message
    with the option that set it, as the front end in use names it."""

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit

    def said(self, flags: Mapping[str, str]) -> str:
        """The one line to print: ``--memory 1 MiB is too small …`` (``flags``: field → option)."""
        flag = flags.get(self.limit or "")
        return f"{flag} {self}" if flag else str(self)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, > 0 and at most :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"expected seconds, a number > 0 and at most {MAX_SECONDS:g}, got {text!r}"
        )
    return value


def mebibytes(text: str) -> int:
    """An argparse type: a whole number of MiB, > 0 and at most :data:`MAX_MEBIBYTES`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_MEBIBYTES:
        raise argparse.ArgumentTypeError(
            f"expected MiB, a whole number > 0 and at most {MAX_MEBIBYTES}, got {text!r}"
        )
    return value


def too_little_memory(memory_mb: int) -> ConfigurationError:
    return ConfigurationError(
        f"{memory_mb} MiB is too small to start the worker (Python + NumPy need about "
        f"{START_MEMORY_MB} MiB)",
        "memory_mb",
    )


@dataclass(frozen=True)
class Option:
    """One limit's option: its :class:`Limits` field, its name under ``python -m checker`` and
    under ``pytest --impl`` (prefixed, so that it meets no other plugin's ``--timeout``), and
    argparse's arguments (type, default, help) shared by both."""

    field: str
    cli: str
    pytest: str
    kwargs: dict[str, Any]


OPTIONS = (
    Option(
        "call_s",
        "--timeout",
        "--impl-timeout",
        {
            "type": seconds,
            "default": CALL_LIMIT_S,
            "metavar": "S",
            "help": f"wall-clock seconds one call into the implementation may take (default "
            f"{CALL_LIMIT_S:g}); past it the process is killed and the verdict is HANG",
        },
    ),
    Option(
        "total_s",
        "--total-timeout",
        "--impl-total-timeout",
        {
            "type": seconds,
            "default": TOTAL_LIMIT_S,
            "metavar": "S",
            "help": f"wall-clock (and CPU) seconds for all of one implementation's cases "
            f"(default {TOTAL_LIMIT_S:g})",
        },
    ),
    Option(
        "memory_mb",
        "--memory",
        "--impl-memory",
        {
            "type": mebibytes,
            "default": MEMORY_LIMIT_MB,
            "metavar": "MIB",
            "help": f"address-space limit of the implementation's process in MiB (default "
            f"{MEMORY_LIMIT_MB}); a MemoryError under it is the verdict MEMORY",
        },
    ),
    Option(
        "isolation",
        "--isolation",
        "--impl-isolation",
        {
            "choices": MODES,
            "default": "auto",
            "help": "auto (default): run each implementation in bubblewrap's namespaces where "
            "the kernel allows it; none: rlimits only (the benchmark's baseline)",
        },
    ),
)
CLI_FLAGS = {o.field: o.cli for o in OPTIONS}
PYTEST_FLAGS = {o.field: o.pytest for o in OPTIONS}


def limits(value: Callable[[Option], Any]) -> Limits:
    """The :class:`Limits` the parsed options say (``value``: an option's parsed value)."""
    return Limits(**{o.field: value(o) for o in OPTIONS})
