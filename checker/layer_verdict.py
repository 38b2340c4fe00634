"""What the checker says about a learner's layer functions: findings per case, one verdict.

A finding names the equation and the layer it breaks — FORWARD (out), BP2 (dx), BP3 (db), BP4
(dw), of ``conv`` or ``max-pool``; for a conv network (:mod:`checker.conv_check`) also BP1, and
the layer numbered, ``conv 1``, ``pool 2``, ``dense 3`` — and, where a classic bug's answer
matches, the cause ("BP2 (conv): kernel not flipped"); or what is wrong with the form of what
came back (INTERFACE, SHAPE, NONFINITE, CRASH, MEMORY, HANG, as for a network:
:mod:`checker.verdict`). Each output of a case is judged on its own, so a case may hold several
findings. :data:`LABELS` is the order in which the headline is chosen: the earliest equation,
then the most basic fault of form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from checker.causes import cause
from checker.quoting import visible
from checker.verdict import FORMS

EQUATIONS = ("FORWARD", "BP1", "BP2", "BP3", "BP4")
LABELS = EQUATIONS + FORMS
#: The equation each output is judged by.
EQUATION_OF = {"out": "FORWARD", "dx": "BP2", "db": "BP3", "dw": "BP4"}


@dataclass(frozen=True)
class LayerFinding:
    """One thing wrong: the label, the layer (``conv``, ``max-pool``), the cause in a few words
    (the same for every case a bug shows on), and the detail (which function, where, how far)."""

    label: str
    layer: str
    cause: str
    detail: str = ""
    max_abs: float | None = None
    allowed: float | None = None

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}; known: {LABELS}")

    @property
    def heading(self) -> str:
        """``BP2 (conv)``."""
        return f"{self.label} ({self.layer})"

    @property
    def message(self) -> str:
        return f"{self.cause}: {self.detail}" if self.detail else self.cause

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "layer": self.layer,
            "cause": self.cause,
            "message": self.message,
            "max_abs": self.max_abs,
            "allowed": self.allowed,
        }


@dataclass(frozen=True)
class LayerCaseVerdict:
    """One case: its findings (none: every output agrees), and whether it ran at all."""

    case: str
    layer: str
    findings: tuple[LayerFinding, ...] = ()
    ran: bool = True
    precision: str = "float64"  # the coarsest dtype its outputs came in, and were judged at
    subject: str = ""  # what a pass says agrees; "" for the layer's outputs

    @property
    def passed(self) -> bool:
        return self.ran and not self.findings

    def line(self) -> str:
        if not self.ran:
            why = self.findings[0].message if self.findings else ""
            return f"NOT RUN [{self.case}]: {why}"
        if not self.findings:
            at = f" at {self.precision} precision" if self.precision != "float64" else ""
            subject = self.subject or f"the {self.layer} layer's outputs"
            return f"PASS [{self.case}]: {subject} agree with the reference{at}"
        return (
            "; ".join(f"FAIL {f.heading}: {f.message}" for f in self.findings) + f" [{self.case}]"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "layer": self.layer,
            "passed": self.passed,
            "ran": self.ran,
            "findings": [f.as_dict() for f in self.findings],
            "precision": self.precision,
            "line": self.line(),
        }


@dataclass(frozen=True)
class LayerVerdict:
    """A file's layer functions over every case (or the one finding that it cannot load)."""

    impl: str
    cases: tuple[LayerCaseVerdict, ...] = ()
    load_failure: LayerFinding | None = None
    notes: tuple[str, ...] = ()
    output: str = ""  # the end of what the learner's code printed (shown on failure)
    outputs: str = "output"  # what a pass says agrees: each "output" (layer functions), "gradient"

    @property
    def failures(self) -> list[LayerCaseVerdict]:
        return [c for c in self.cases if c.ran and c.findings]

    @property
    def not_run(self) -> list[LayerCaseVerdict]:
        return [c for c in self.cases if not c.ran]

    @property
    def passed(self) -> bool:
        return self.load_failure is None and bool(self.cases) and all(c.passed for c in self.cases)

    def causes(self) -> list[tuple[int, str, LayerFinding]]:
        """(count, first case, finding) per distinct (label, layer, cause: its numbers masked),
        the headline's first: in label order, then the order of the cases."""
        found: dict[tuple[str, str, str], list[tuple[str, LayerFinding]]] = {}
        for c in self.failures:
            for f in c.findings:
                key = (f.label, f.layer, cause(f.label, f.cause)[1])
                found.setdefault(key, []).append((c.case, f))
        groups = sorted(found.values(), key=lambda g: LABELS.index(g[0][1].label))
        return [(len(g), g[0][0], g[0][1]) for g in groups]

    @property
    def label(self) -> str:
        if self.load_failure is not None:
            return self.load_failure.label
        causes = self.causes()
        if causes:
            return causes[0][2].label
        if self.not_run:
            first = self.not_run[0].findings
            return first[0].label if first else "CRASH"
        return "PASS" if self.cases else "CRASH"

    def line(self) -> str:
        """``FAIL BP2 (conv): layers.py: kernel not flipped: … [case]; 3 of 9 cases fail (…)``."""
        shown = visible(self.impl)
        if self.load_failure is not None:
            return (
                f"FAIL {self.load_failure.heading}: {shown}: {visible(self.load_failure.message)}"
            )
        notes = "".join(f"; {n}" for n in self.notes)
        if self.passed:
            layers = Counter(c.layer for c in self.cases)
            counted = ", ".join(f"{n} {layer}" for layer, n in layers.items())
            coarse = sorted({c.precision for c in self.cases} - {"float64"})
            at = f" at {', '.join(coarse)} precision" if coarse else ""
            return (
                f"PASS {shown}: every {self.outputs} agrees with the reference{at} on "
                f"{len(self.cases)} cases ({counted}){notes}"
            )
        causes = self.causes()
        if causes:
            _, case, finding = causes[0]
        elif self.not_run and self.not_run[0].findings:
            case, finding = self.not_run[0].case, self.not_run[0].findings[0]
        else:
            return f"FAIL CRASH: {shown}: no case was checked"
        tally = Counter(f.label for c in self.failures for f in c.findings)
        counts = ", ".join(f"{k} ×{n}" for k, n in sorted(tally.items(), key=_rank))
        line = (
            f"FAIL {finding.heading}: {shown}: {visible(finding.message)} [{case}]; "
            f"{len(self.failures)} of {len(self.cases)} cases fail ({counts})"
        )
        if self.not_run:
            line += f"; {len(self.not_run)} not run"
        return line + notes

    def cause_lines(self, most: int = 8) -> list[str]:
        """A line per cause other than the headline's, with its count and first case."""
        others = self.causes()[1:]
        lines = [f"also {f.heading} ×{n}: {f.message} [{case}]" for n, case, f in others[:most]]
        if len(others) > most:
            lines.append(f"… {len(others) - most} more causes (--cases prints every case)")
        return lines

    def as_dict(self, expected: str = "PASS") -> dict[str, Any]:
        return {
            "impl": self.impl,
            "label": self.label,
            "passed": self.passed,
            "expected": expected,
            "as_expected": self.label == expected,
            "causes": [{"count": n, "case": case, **f.as_dict()} for n, case, f in self.causes()],
            "load_failure": self.load_failure.as_dict() if self.load_failure else None,
            "cases": [c.as_dict() for c in self.cases],
            "notes": list(self.notes),
            "line": self.line(),
        }


def _rank(item: tuple[str, int]) -> int:
    return LABELS.index(item[0])
