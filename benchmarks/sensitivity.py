"""The gate's power as one figure: the smallest planted error each oracle flags.

On the book's [784, 30, 10] net, one element of one quantity of the reference's result is
multiplied by 1 + r (the largest-magnitude element of δ^l, ∂C/∂b^l or ∂C/∂w^l), and r is
bisected (in log scale, both signs) to the smallest value the oracle's comparison fails on. An
autograd oracle should see about ε·B / |element| (≈1e-13); finite differences only their
truncation and rounding (≈1e-7); torch.autograd.gradcheck's default rtol is 1e-3.

    python -m benchmarks.sensitivity        # also printed by nox -s bench
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from harness.cases import Case, assemble_case, compare_one
from oracles import ORACLES, get_oracle
from reference import QUANTITIES, Architecture, Gradients, make_case

ARCH = Architecture((784, 30, 10), "sigmoid", "quadratic", batch=10, init="normal")
#: Bisection range of r (log scale) and its steps: 60 halvings of 17 decades, far below 1%.
LOW, HIGH, STEPS = 1e-17, 1.0, 60


def planted(grads: Gradients, quantity: str, layer: int, r: float) -> Gradients:
    """``grads`` with the largest-magnitude element of one quantity of one layer × (1 + r)."""
    arrays = {q: [a.copy() for a in getattr(grads, attr)] for q, attr in _ATTRS.items()}
    target = arrays[quantity][layer - 2]
    where = np.unravel_index(int(np.argmax(np.abs(target))), target.shape)
    target[where] *= 1 + r
    return Gradients.from_lists(arrays["delta"], arrays["nabla_b"], arrays["nabla_w"])


_ATTRS = {"delta": "deltas", "nabla_b": "nabla_b", "nabla_w": "nabla_w"}


def smallest_flagged(arch: Architecture = ARCH, layer: int = 2) -> dict[tuple[str, str], float]:
    """(oracle, quantity) → the smallest r (either sign) whose planted error the oracle flags."""
    params, batch = make_case(arch)
    honest = assemble_case(arch, params, batch, np.float64)
    outputs = {name: get_oracle(name).run(arch, params, batch) for name in ORACLES}
    found: dict[tuple[str, str], float] = {}
    for quantity in QUANTITIES:
        for name, output in outputs.items():
            found[name, quantity] = min(
                _edge(honest, output.gradients, name, quantity, layer, sign) for sign in (1, -1)
            )
    return found


def _edge(
    case: Case, theirs: Gradients, oracle: str, quantity: str, layer: int, sign: int
) -> float:
    """The smallest r of one sign the comparison fails on (bisection in log r; HIGH if none)."""

    def flags(log_r: float) -> bool:
        ref = planted(case.reference, quantity, layer, sign * 10**log_r)
        planted_case = dataclasses.replace(case, reference=ref)
        return not compare_one(planted_case, theirs, oracle, quantity, layer).passed

    lo, hi = np.log10(LOW), np.log10(HIGH)
    if not flags(hi):
        return HIGH
    for _ in range(STEPS):  # flags(hi) holds: shrink [lo, hi] around the edge
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if flags(mid) else (mid, hi)
    return float(10**hi)


def table(found: dict[tuple[str, str], float], layer: int = 2) -> str:
    oracles = sorted({o for o, _ in found})
    head = f"{'oracle':<14}" + "".join(f"{q + '^' + str(layer):>14}" for q in QUANTITIES)
    lines = [
        f"smallest relative error r flagged in one element (the largest) of layer {layer}, "
        f"{ARCH.id}:",
        head,
    ]
    for o in oracles:
        lines.append(f"{o:<14}" + "".join(f"{found[o, q]:>14.2g}" for q in QUANTITIES))
    return "\n".join(lines)


def main() -> int:
    print(table(smallest_flagged()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
