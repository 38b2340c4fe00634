"""Small hand-made results files for the report's tests, in the gate's record format.

Numbers are chosen by hand (an allowed error, an error at a chosen fraction of it), so a test can
assert that exactly these numbers, ids and commands reach the page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from suite import diffmap

QUANTITIES = ("delta", "nabla_b", "nabla_w")
ENV = {
    "python": "3.11.7",
    "numpy": "2.4.6",
    "torch": "2.13.0+cpu",
    "jax": "0.10.2",
    "blas": "openblas 0.3.31",
    "platform": "Linux-test",
    "random_seed": 7,
    "random_count": 60,
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
}


def arch(sizes: list[int], activations: Any = "sigmoid", batch: int = 2) -> dict[str, Any]:
    acts = activations if isinstance(activations, str) else ",".join(activations)
    return {
        "id": f"{'-'.join(map(str, sizes))}_{acts}_quadratic_m{batch}_s0",
        "sizes": sizes,
        "activations": activations,
        "cost": "quadratic",
        "batch": batch,
        "seed": 0,
        "init": "scaled",
        "entry": f"Architecture({tuple(sizes)!r}, {activations!r}, batch={batch})",
    }


def node(a: dict[str, Any], oracle: str, tail: str) -> str:
    return f"tests/test_gate.py::test_oracle_agrees_with_reference[{a['id']}-{oracle}-{tail}]"


def comparison(
    a: dict[str, Any],
    oracle: str,
    quantity: str,
    layer: int,
    ratio: float,
    *,
    allowed: float = 1e-12,
    excluded: int | None = None,
    wrong: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """One comparison at error = ratio × allowed; a ∂C/∂w one gets a diff map whose largest
    difference sits at ``wrong`` (default: the last element)."""
    rows = a["sizes"][layer - 1]
    cols = {"delta": a["batch"], "nabla_b": 1, "nabla_w": a["sizes"][layer - 2]}[quantity]
    worst = wrong or (rows - 1, cols - 1)
    rec: dict[str, Any] = {
        "kind": "comparison",
        "test": node(a, oracle, f"{quantity}-layer{layer}"),
        "arch": a,
        "dtype": "float64",
        "oracle": oracle,
        "quantity": quantity,
        "layer": layer,
        "shape": [rows, cols],
        "max_abs": ratio * allowed,
        "max_rel": ratio * allowed / 0.5,
        "worst_index": list(worst),
        "allowed": allowed,
        "ratio": ratio,
        "passed": ratio <= 1,
        "problem": "",
        "reference_norm": 0.5 / layer,
    }
    if quantity == "nabla_w":
        reference = np.zeros((rows, cols))
        other = np.full((rows, cols), ratio * allowed / 1000)
        other[worst] = ratio * allowed
        rec["diff_map"] = diffmap.encode(reference, other)
    if excluded is not None:
        rec["excluded"] = excluded
    return rec


def every_comparison(a: dict[str, Any], oracle: str, ratio: float) -> list[dict[str, Any]]:
    """Every quantity of every layer at the same ratio."""
    return [
        comparison(a, oracle, q, layer, ratio)
        for q in QUANTITIES
        for layer in range(2, len(a["sizes"]) + 1)
    ]


def error(a: dict[str, Any], oracle: str, message: str, tail: str) -> dict[str, Any]:
    return {
        "kind": "error",
        "test": node(a, oracle, tail),
        "arch": a,
        "oracle": oracle,
        "message": message,
    }


def results(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": 1,
        "environment": ENV,
        "records": sorted(records, key=lambda r: r["test"]),
    }


SMALL = arch([3, 4, 2])
DEEP = arch([5, 4, 4, 3], ["tanh", "relu", "sigmoid"], batch=3)
WIDE = arch([40, 70, 2], batch=4)  # ∂C/∂w^2 is 70×40: pooled to 24×20 in 3×2 blocks


def passing() -> dict[str, Any]:
    records = []
    for oracle, ratio in (("torch", 0.02), ("jax", 0.03), ("fd", 0.4)):
        records += every_comparison(SMALL, oracle, ratio) + every_comparison(DEEP, oracle, ratio)
    return results(records)


def with_failures() -> dict[str, Any]:
    """DEEP's ∂C/∂w^3 is 3e6 × allowed from every oracle at (2, 1); SMALL passes."""
    data = passing()
    records = [
        r
        for r in data["records"]
        if not (r["arch"] is DEEP and r.get("layer") == 3 and r.get("quantity") == "nabla_w")
    ]
    for oracle in ("torch", "jax", "fd"):
        records.append(comparison(DEEP, oracle, "nabla_w", 3, 3e6, wrong=(2, 1)))
    return results(records)


TORCH_CRASH = "oracle torch raised RuntimeError: mat1 and mat2 shapes cannot be multiplied"
MALFORMED = arch([3, 0, 2])
MALFORMED_MESSAGE = (
    f"malformed architecture {MALFORMED['id']}: layer sizes must be positive integers, "
    "got [0] in [3, 0, 2]"
)


def with_crash() -> dict[str, Any]:
    """torch crashes on SMALL (an error record for each of its 6 comparisons), and a malformed
    architecture fails alone for every oracle; DEEP passes."""
    data = passing()
    records = [r for r in data["records"] if not (r["arch"] is SMALL and r["oracle"] == "torch")]
    for q in QUANTITIES:
        for layer in (2, 3):
            records.append(
                error(SMALL, "torch", f"{SMALL['id']}: {TORCH_CRASH}", f"{q}-layer{layer}")
            )
    for oracle in ("torch", "jax", "fd"):
        records.append(error(MALFORMED, oracle, MALFORMED_MESSAGE, "malformed"))
    return results(records)
