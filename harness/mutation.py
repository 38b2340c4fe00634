"""The mutation session's figures (``nox -s mutation``): how many planted bugs the tests catch.

mutmut (pinned in pyproject's ``mutation`` group; configured under ``[tool.mutmut]``) mutates
``reference/`` and runs the reference's own tests and the fast gate (tests/test_mutation.py)
against each mutant. This reads ``mutmut results --all true`` and prints mutants, killed,
survived, timed out and untested, and the kill rate over non-equivalent mutants: a survivor
listed in :data:`EQUIVALENTS` (one line each, ``name: why it cannot change a result``) is left
out. The target is every non-equivalent mutant of the equations, backprop, the forward pass,
activations (the σ classes), costs and SGD killed; the process exits 1 if one survives there.

    python -m harness.mutation            # after mutmut run
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

EQUIVALENTS = Path("tests/mutation_equivalents.txt")
#: The modules the target is about (reference/<name>.py).
TARGET = ("equations", "backprop", "forward", "activations", "costs", "sgd")
KILLED = {"killed", "caught by type check"}


def read_results(text: str) -> dict[str, str]:
    """mutant name → status, from ``mutmut results --all true``'s ``name: status`` lines."""
    found = {}
    for line in text.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and name.startswith("reference."):
            found[name] = status.strip()
    return found


def read_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """mutant name → the one-line reason it is equivalent (``#`` starts a comment line)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        name, sep, reason = line.partition(":")
        if sep and not line.lstrip().startswith("#"):
            found[name.strip()] = reason.strip()
    return found


def module(name: str) -> str:
    """``reference.sgd.xǁ…`` → ``sgd``."""
    return name.split(".")[1]


def in_target(name: str) -> bool:
    """A mutant of a :data:`TARGET` module, but not of reference/activations.py's module-level
    functions: the σ there are classes (mutants ``xǁSigmoidǁfn…``), its functions are the error
    model's facts on the activation records (``x__sigmoid_derivatives…``), which the error
    model's tests judge, not the reference's."""
    if module(name) == "activations":
        return "ǁ" in name
    return module(name) in TARGET


def summary(results: dict[str, str], equivalents: dict[str, str]) -> tuple[str, bool]:
    """The figures as text, overall and for the target modules; and whether the target is met."""
    lines, met = [], True
    for label, names in (
        ("reference/", list(results)),
        ("target: " + ", ".join(TARGET), [n for n in results if in_target(n)]),
    ):
        counts = Counter("killed" if results[n] in KILLED else results[n] for n in names)
        equivalent = [n for n in names if n in equivalents and results[n] not in KILLED]
        considered = len(names) - len(equivalent)
        rate = counts["killed"] / considered if considered else 1.0
        lines.append(
            f"{label}: {len(names)} mutants, {counts['killed']} killed, "
            f"{counts['survived']} survived ({len(equivalent)} of them equivalent), "
            f"{counts['timeout']} timed out, {counts['no tests']} untested, "
            f"{counts['suspicious']} suspicious; kill rate over non-equivalent mutants "
            f"{100 * rate:.1f}%"
        )
        if label.startswith("target"):
            met = counts["killed"] == considered
    alive = [n for n, s in sorted(results.items()) if s not in KILLED and n not in equivalents]
    lines += [f"  not killed: {n} ({results[n]})" for n in alive]
    # a stale line (the mutant is gone, or renumbered onto one the tests kill) is reported, since
    # its reason no longer describes the mutant of that name
    stale = sorted(set(equivalents) - set(results))
    lines += [f"  listed as equivalent but no such mutant: {n}" for n in stale]
    killed = sorted(n for n in equivalents if results.get(n) in KILLED)
    lines += [f"  listed as equivalent but killed: {n}" for n in killed]
    return "\n".join(lines), met


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    text, met = summary(read_results(out), read_equivalents())
    print(text)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
