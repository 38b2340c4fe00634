"""The learner's conventions for arrays, and the mapping between them and the book's.

The book (network.py) stores w^l as (n_l, n_{l−1}) and b^l as (n_l, 1), feeds a sample as a
column (n, 1), and ``backprop(x, y)`` returns ``(nabla_b, nabla_w)``. Course code also stores
weights transposed, (n_{l−1}, n_l), with samples as rows (z = x w + b), biases as rows or flat
vectors, or feeds a 3-D batch (m, n, 1) of columns. :class:`Layout` names one such convention and
maps the checker's arrays into it (transpose in) and the learner's results back (transpose out),
so an implementation is judged in its own convention where the mapping is unambiguous.

Storage is read from what the constructor builds on a probe net whose widths all differ
(:data:`PROBE`), so that every axis is told apart; the sample form and the order of backprop's
pair are found by calling backprop on that net (:mod:`checker.adapter`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from checker.quoting import visible
from checker.verdict import Finding
from reference import Params
from reference.types import Array

#: The probe net's widths: every layer non-square and every width > 1, so that w^l, its
#: transpose, b^l as a column, a row or a vector all have different shapes.
PROBE = (4, 3, 2)

WEIGHT_FORMS = {"book": "(n_l, n_{l−1})", "transposed": "(n_{l−1}, n_l)"}
BIAS_FORMS = {"column": "(n_l, 1)", "row": "(1, n_l)", "flat": "(n_l,)"}
#: How a sample x of n numbers goes in: the book's column, a row, a flat vector, a 3-D batch of one.
SAMPLE_FORMS = {"column": "(n, 1)", "row": "(1, n)", "flat": "(n,)", "batch": "(1, n, 1)"}


@dataclass(frozen=True)
class Layout:
    """One convention: how weights and biases are stored, how a sample goes in, the pair's order."""

    weights: str = "book"
    biases: str = "column"
    samples: str = "column"
    swapped: bool = False  # backprop returns (nabla_w, nabla_b)

    @property
    def is_book_arrays(self) -> bool:
        """The book's shapes for everything (the pair's order aside): nothing is mapped."""
        return (self.weights, self.biases, self.samples) == ("book", "column", "column")

    def note(self) -> str | None:
        """One line saying how the implementation was judged, or None for the book's shapes."""
        if self.is_book_arrays:
            return None
        parts = []
        if self.weights == "transposed":
            parts.append("weights are stored as (n_in, n_out)")
        if self.biases != "column":
            parts.append(f"biases as {BIAS_FORMS[self.biases].replace('n_l', 'n_out')}")
        if self.samples == "row":
            parts.append("samples as rows (1, n)")
        elif self.samples == "flat":
            parts.append("samples as vectors (n,)")
        elif self.samples == "batch":
            parts.append("samples go in as a 3-D batch (m, n, 1)")
        how = "judged transposed" if self.weights == "transposed" else "judged in that form"
        if self.samples == "batch":
            how = "judged with batches of one, (1, n, 1)"
        return f"{', '.join(parts)}: {how} (the book's: w^l (n_l, n_(l−1)), b^l and x columns)"

    # --- into the learner's convention ---------------------------------------------------------

    def params(self, params: Params) -> list[Array]:
        """Weights then biases as the learner stores them."""
        transposed = self.weights == "transposed"
        weights = [np.ascontiguousarray(w.T) if transposed else w for w in params.weights]
        return [*weights, *(_vector(b, self.biases) for b in params.biases)]

    def sample(self, v: Array, *, update: bool = False) -> Array:
        """A column (n, 1) in the learner's sample form. ``update``: for ``update_mini_batch`` and
        ``total_cost``, which take the book's list of (x, y): there a 3-D batch's x is a column."""
        form = "column" if update and self.samples == "batch" else self.samples
        n = v.shape[0]
        shapes = {"column": (n, 1), "row": (1, n), "flat": (n,), "batch": (1, n, 1)}
        return np.ascontiguousarray(v.reshape(shapes[form]))

    def entry(self, name: str, entry: Sequence[int]) -> list[int]:
        """A book index into w^l or b^l as an index into the learner's array."""
        if name == "weights":
            return list(reversed(entry)) if self.weights == "transposed" else list(entry)
        j = entry[0]
        return {"column": [j, 0], "row": [0, j], "flat": [j]}[self.biases]

    # --- back into the book's ------------------------------------------------------------------

    def to_book(self, sizes: Sequence[int], nodes: Sequence[Any], arrays: list[Any]) -> list[Any]:
        """The reply's arrays with every per-layer array that ``nodes`` describe (backprop's pair,
        or a list of parameters) mapped to the book's shape; the rest as they came."""
        if self.is_book_arrays:
            return arrays
        out = list(arrays)
        for node in nodes:
            for items in _lists(node):
                if len(items) != len(sizes) - 1:
                    continue
                for i, item in enumerate(items):
                    index = item.get("array") if isinstance(item, dict) else None
                    if isinstance(index, int) and 0 <= index < len(out):
                        out[index] = self._array_to_book(out[index], sizes[i + 1], sizes[i])
        return out

    def _array_to_book(self, a: Any, n_out: int, n_in: int) -> Any:
        if self.samples == "batch" and a.ndim == 3 and a.shape[0] == 1:
            a = a[0]
        if self.weights == "transposed" and a.shape == (n_in, n_out):
            return a.T
        if (self.biases != "column" or self.samples in ("row", "flat")) and a.shape in (
            (n_out,),
            (1, n_out),
        ):
            return a.reshape(n_out, 1)
        return a


BOOK = Layout()


def storage(name: str, sizes: Sequence[int], built: Any) -> tuple[str, str] | Finding | None:
    """(weight form, bias form) of what ``Class(sizes)`` built (``built``: the worker's
    ``{"weights": shapes, "biases": shapes}``); None when it built no lists of arrays to read (the
    book's form is assumed); INTERFACE when they fit no form the checker can map."""
    if not isinstance(built, dict):
        return None
    weights, biases = built.get("weights"), built.get("biases")
    absent = built.get("absent")
    if isinstance(absent, list) and "weights" in absent:
        names = [visible(str(n)[:80]) for n in built.get("attributes") or []][:20]
        return Finding(
            "INTERFACE",
            f"{name}({list(sizes)}) has no {' and no '.join(map(str, absent))} attribute (its "
            f"attributes: {', '.join(names) or 'none'}): the checker sets net.weights and "
            "net.biases, the book's lists of w^l and b^l, and the class must compute with them",
        )
    if not _shape_list(weights):
        return None
    if not _shape_list(biases):
        biases = None
    pairs = list(itertools.pairwise(sizes))
    w_forms = {"book": [[o, i] for i, o in pairs], "transposed": [[i, o] for i, o in pairs]}
    b_forms = {
        "column": [[o, 1] for _, o in pairs],
        "row": [[1, o] for _, o in pairs],
        "flat": [[o] for _, o in pairs],
    }
    w = next((f for f, want in w_forms.items() if weights == want), None)
    b = next((f for f, want in b_forms.items() if biases == want), None)
    if w is not None and b is not None:
        return w, b
    return Finding(
        "INTERFACE",
        f"{name}({list(sizes)}) builds weights of shapes {_shown(weights)} and biases of shapes "
        f"{_shown(biases)}: the checker can map w^l as (n_l, n_(l−1)) {_shown(w_forms['book'])} or "
        f"its transpose, and b^l as (n_l, 1) {_shown(b_forms['column'])}, a row or a vector; "
        "store them in one of those forms (one array per layer 2…L)",
    )


def sample_forms(weights: str, biases: str) -> list[str]:
    """The sample forms to try for this storage, the likeliest first."""
    if biases == "row":
        return ["row"]
    if biases == "flat":
        return ["row", "flat"] if weights == "transposed" else ["flat"]
    return ["row", "column"] if weights == "transposed" else ["column", "batch"]


def layouts(weights: str, biases: str) -> list[Layout]:
    return [Layout(weights, biases, s) for s in sample_forms(weights, biases)]


def swapped(layout: Layout) -> Layout:
    return replace(layout, swapped=True)


def _vector(b: Array, form: str) -> Array:
    n = b.shape[0]
    return np.ascontiguousarray(b.reshape({"column": (n, 1), "row": (1, n), "flat": (n,)}[form]))


def _lists(node: Any) -> list[list[Any]]:
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("pair"), list):
        return [h["items"] for h in node["pair"] if isinstance(h, dict) and "items" in h]
    items = node.get("items")
    return [items] if isinstance(items, list) else []


def _shape_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(s, list) and all(isinstance(n, int) for n in s) for s in value
    )


def _shown(shapes: list[list[int]] | None) -> str:
    if shapes is None:
        return "(none: no list of arrays)"
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"
