"""One line per cause: findings that differ only in numbers share a cause, and each cause is
shown from its most informative net.

A bug gives the same finding on every case, up to the numbers in it (sizes, layer numbers,
values, the sample): masked, those findings are one cause, counted. Nets differ in how much they
can show: on a 1-1-1-1 net w^l and its transpose, nabla_b and nabla_w all have shape (1, 1), and
on square layers w^l and (w^l)ᵀ are alike, so a cause is shown, and a verdict's headline chosen,
from the earliest case whose net has no width-1 layer and not only square ones.
"""

from __future__ import annotations

import re

from reference import Architecture

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|\bnan\b|\binf\b", re.IGNORECASE)


_SAMPLE = re.compile(r" \(sample \d+ of \d+\)")


def cause(label: str, message: str) -> tuple[str, str]:
    """A finding's cause: its label and its message with every number masked (and the sample
    it was seen in dropped)."""
    return label, _NUMBER.sub("#", _SAMPLE.sub("", message))


def informativeness(arch: Architecture) -> tuple[int, int]:
    """Whether a net can tell shapes apart (higher is more): no width-1 layer (where nabla_b and
    nabla_w, a row and a column look alike), and not all widths equal (square layers hide a
    missing transpose). Among nets alike in this, the earlier case is shown (the curated first,
    the book's 784-30-10 net at their head)."""
    sizes = tuple(arch.sizes)
    return int(min(sizes) > 1), int(len(set(sizes)) > 1)
