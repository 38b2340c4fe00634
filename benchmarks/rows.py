"""One printed figure of ``nox -s bench``: what, the figure, its target, met or not."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    measure: str
    figure: str
    target: str
    met: bool | None  # None: printed for information, no target


def table(rows: list[Row]) -> str:
    head = ("measure", "figure", "target", "met")
    cells = [head] + [
        (r.measure, r.figure, r.target, "-" if r.met is None else "met" if r.met else "NOT MET")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3] for c in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
