"""What the checker says about an implementation: a labelled finding per case, a verdict overall.

A finding's label is the first equation that breaks — BP1, BP2, BP3, BP4 (backprop for one
sample), SGD (``update_mini_batch``), COST (network2's ``total_cost``) — or, when the
implementation's output cannot be judged as numbers, what is wrong with its form: LOAD,
INTERFACE, SHAPE, NONFINITE, CRASH, MEMORY, HANG (a call that did not return in time). A case not
run (after a HANG or a crash ended the implementation's process) is counted apart, as not run.
:data:`LABELS` is
also the order in which a verdict prefers one case's finding to another's: the earliest equation
in the chain that any case shows broken (a bug that crashes on most shapes but is wrong on square
layers is named by the equation), then the most basic fault of form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from checker.causes import cause, informativeness
from checker.quoting import visible
from reference import Architecture

EQUATIONS = ("BP1", "BP2", "BP3", "BP4", "SGD", "COST")
FORMS = ("LOAD", "INTERFACE", "SHAPE", "NONFINITE", "CRASH", "MEMORY", "HANG")
LABELS = EQUATIONS + FORMS


@dataclass(frozen=True)
class Finding:
    """One thing wrong, in one line: the label, the book layer, what and how far."""

    label: str
    message: str
    layer: int | None = None
    worst_index: tuple[int, ...] = ()
    max_abs: float | None = None
    allowed: float | None = None

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}; known: {LABELS}")

    @property
    def heading(self) -> str:
        """``BP2 at layer 3``, or ``CRASH``."""
        return self.label + (f" at layer {self.layer}" if self.layer is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "layer": self.layer,
            "message": self.message,
            "worst_index": list(self.worst_index),
            "max_abs": self.max_abs,
            "allowed": self.allowed,
        }


def fields(finding: Finding | None) -> dict[str, Any]:
    """A finding's fields for a record; a pass has the same keys, labelled PASS."""
    if finding is not None:
        return finding.as_dict()
    return {
        "label": "PASS",
        "layer": None,
        "message": "",
        "worst_index": [],
        "max_abs": None,
        "allowed": None,
    }


class ImplementationError(Exception):
    """Raised where an implementation's form is found wrong; carries the finding to report."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.heading}: {finding.message}")
        self.finding = finding
        self.output = ""  # the end of the implementation's output, when it is known


@dataclass(frozen=True)
class CaseVerdict:
    """One case (an architecture and cost): the finding, or None when every check passed;
    ``ran`` False when it was not run (its finding says why)."""

    arch: Architecture
    finding: Finding | None
    checked: tuple[str, ...] = ()  # what was compared: "backprop", "update_mini_batch", ...
    notes: tuple[str, ...] = ()  # what was not checked, and why
    precision: str = "float64"  # the dtype backprop's results came in, and were judged at
    ran: bool = True

    @property
    def case(self) -> str:
        return self.arch.id

    @property
    def passed(self) -> bool:
        return self.finding is None

    def as_dict(self) -> dict[str, Any]:
        """The case's verdict as plain data (suite.results.verdict_record adds the case)."""
        return {
            **fields(self.finding),
            "passed": self.passed,
            "checked": list(self.checked),
            "ran": self.ran,
            "precision": self.precision,
            "line": self.line(),
        }

    def line(self) -> str:
        if not self.ran:
            why = self.finding.message if self.finding else ""
            return f"NOT RUN [{self.case}]: {why}"
        if self.finding is None:
            at = f" at {self.precision} precision" if self.precision != "float64" else ""
            return f"PASS [{self.case}]: {', '.join(self.checked)} agree with the reference{at}"
        return f"FAIL {self.finding.heading}: {self.finding.message} [{self.case}]"


@dataclass(frozen=True)
class Verdict:
    """An implementation's verdict over all its cases (or the one finding that it cannot load)."""

    impl: str
    cases: tuple[CaseVerdict, ...] = ()
    load_failure: Finding | None = None
    notes: tuple[str, ...] = field(default=())  # e.g. which optional methods were not found
    output: str = ""  # the end of what the implementation printed (shown on failure)

    @property
    def failures(self) -> list[CaseVerdict]:
        """The cases that ran and failed."""
        return [c for c in self.cases if c.ran and not c.passed]

    @property
    def not_run(self) -> list[CaseVerdict]:
        return [c for c in self.cases if not c.ran]

    @property
    def all_notes(self) -> tuple[str, ...]:
        """The verdict's notes and its cases', each once, in order."""
        return tuple(dict.fromkeys([*self.notes, *(n for c in self.cases for n in c.notes)]))

    @property
    def worst(self) -> tuple[str, Finding] | None:
        """(case, finding) whose label comes first in :data:`LABELS`; of those, the case with the
        most informative net (:func:`checker.causes.informativeness`), the first such."""
        if self.load_failure is not None:
            return "", self.load_failure
        found = [c for c in self.failures if c.finding is not None]
        if not found and not self.cases:  # a PASS needs every case run and judged
            return "", Finding("CRASH", "no case was checked")
        if not found and self.not_run:
            not_run = self.not_run[0]
            assert not_run.finding is not None
            return not_run.case, not_run.finding
        if not found:
            return None
        best = min(found, key=_headline_rank)
        assert best.finding is not None
        return best.case, best.finding

    def causes(self) -> list[tuple[int, CaseVerdict]]:
        """One (count, case) per distinct cause among the failures (findings alike up to their
        numbers), the case its most informative; in label order, then the most frequent first."""
        groups: dict[tuple[str, str], list[CaseVerdict]] = {}
        for c in self.failures:
            if c.finding is not None:
                groups.setdefault(cause(c.finding.label, c.finding.message), []).append(c)
        shown = [(len(cs), min(cs, key=_headline_rank)) for cs in groups.values()]
        return sorted(shown, key=lambda nc: (_headline_rank(nc[1])[0], -nc[0]))

    @property
    def passed(self) -> bool:
        """Every case ran and was judged (its backprop compared), and none failed."""
        return (
            self.worst is None
            and bool(self.cases)
            and all(c.ran and c.passed and "backprop" in c.checked for c in self.cases)
        )

    @property
    def label(self) -> str:
        """``PASS`` or the label of the worst finding."""
        worst = self.worst
        if worst is None and not self.passed:
            return "CRASH"  # a case with no finding that was not judged
        return "PASS" if worst is None else worst[1].label

    def as_dict(self, expected: str = "PASS") -> dict[str, Any]:
        """The overall verdict as plain data; ``expected`` is the label it should have."""
        worst = self.worst
        return {
            **fields(worst[1] if worst else None),
            "case": worst[0] if worst else None,
            "passed": self.passed,
            "expected": expected,
            "as_expected": self.label == expected,
            "cases": len(self.cases),
            "failed_cases": len(self.failures),
            "not_run_cases": len(self.not_run),
            "line": self.line(),
        }

    def line(self) -> str:
        """One line: ``FAIL BP2 at layer 3: impl: … [case]; 4 of 24 cases fail (…)`` or ``PASS``."""
        worst = self.worst
        if worst is None and not self.passed:
            return f"FAIL CRASH: {visible(self.impl)}: a case was not judged (no backprop compared)"
        if worst is None:
            checked = sorted({c for v in self.cases for c in v.checked}, key=CHECK_ORDER.index)
            notes = "".join(f"; {n}" for n in self.all_notes)
            coarse = sorted({c.precision for c in self.cases} - {"float64"})
            at = f" at {', '.join(coarse)} precision (backprop computes in it)" if coarse else ""
            return (
                f"PASS {visible(self.impl)}: {', '.join(checked)} agree with the reference{at} on "
                f"{len(self.cases)} cases{notes}"
            )
        case, finding = worst
        line = f"FAIL {finding.heading}: {visible(self.impl)}: {visible(finding.message)}"
        if self.load_failure is not None:
            return line
        counts = Counter(c.finding.label for c in self.failures if c.finding is not None)
        tally = ", ".join(f"{label} ×{n}" for label, n in sorted(counts.items(), key=_rank))
        line += f" [{case}]; {len(self.failures)} of {len(self.cases)} cases fail ({tally})"
        if self.not_run:
            line += f"; {len(self.not_run)} not run"
        return line + "".join(f"; {n}" for n in self.notes)

    def cause_lines(self, most: int = 6) -> list[str]:
        """Under a failing verdict, a line per cause other than the headline's, with its count
        and the case it is shown from (at most ``most``; the rest counted)."""
        worst = self.worst
        if worst is None or self.load_failure is not None:
            return []
        headline = cause(worst[1].label, worst[1].message)
        others = [
            (n, c)
            for n, c in self.causes()
            if c.finding is not None and cause(c.finding.label, c.finding.message) != headline
        ]
        lines = [
            f"also {c.finding.heading} ×{n}: {c.finding.message} [{c.case}]"
            for n, c in others[:most]
            if c.finding is not None
        ]
        if len(others) > most:
            lines.append(f"… {len(others) - most} more causes (--cases prints every case)")
        return lines


#: The checks a case can run, in the order they run.
CHECK_ORDER = ("backprop", "update_mini_batch", "total_cost")


def _headline_rank(case: CaseVerdict) -> tuple[int, tuple[int, ...]]:
    """Sorts the headline first: the earliest label, then the most informative net."""
    label = case.finding.label if case.finding is not None else "LOAD"
    return LABELS.index(label), tuple(-v for v in informativeness(case.arch))


def _rank(item: tuple[str, int]) -> int:
    return LABELS.index(item[0])
