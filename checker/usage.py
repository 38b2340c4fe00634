"""What the caller got wrong, said in one line: a limit that is not a positive finite number, a
configuration under which the worker cannot start (``--memory 1``). These are the checker's
usage errors (exit 2), never the learner's verdict."""

from __future__ import annotations

import argparse
import math

#: The largest limits accepted: a week of seconds, a tebibyte of address space (both far above
#: any honest run, and within what setrlimit takes).
MAX_SECONDS = 7 * 24 * 3600.0
MAX_MEBIBYTES = 1 << 20
#: The address space a worker needs to start (Python, NumPy with one BLAS thread, the worker's
#: modules): VmPeak measured at about 97 MiB on Linux x86-64 with NumPy 2.
START_MEMORY_MB = 100


class ConfigurationError(Exception):
    """The checker cannot run as configured (it is no fault of the implementation under test)."""


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
        f"--memory {memory_mb} MiB is too small to start the worker (Python + NumPy need about "
        f"{START_MEMORY_MB} MiB)"
    )
