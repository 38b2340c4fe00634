"""A max-pool's windows where rounding could move the argmax: ties and near ties, counted.

BP2 through a max-pool routes each window's δ^{l+1} to the entry of a^{l−1} that holds the
window's maximum. Where two entries hold it exactly (a tie) the route is a kink of the max, as
relu's at 0: implementations may route to either. Where the maximum and another entry are within
the error model's forward bound of each other, ε·(α_top + α_i) (α^{l−1} bounds |Δa^{l−1}| / ε,
:mod:`errormodel.rounding`), an implementation's own rounding of a^{l−1} could swap them: a near
tie (the same test as the ground truth's, oracles/exact.py's ``_route``, with the error model's α
for its slack). The gate puts both counts on every δ^l record of a pool layer, so a failed pool
comparison can say that its argmax may have moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.map_equations import windows
from reference.types import Array


@dataclass(frozen=True)
class PoolTies:
    """One pool layer's windows (over every map, position and sample): those whose maximum is
    held more than once, and those not tied whose maximum another entry could overtake."""

    ties: int
    near_ties: int


def count_pool_ties(
    a_prev: Array, alpha_prev: Array, window: int, stride: int, eps: float
) -> PoolTies:
    """Ties and near ties of the pool's windows of a^{l−1} (C, H, W, m), given α^{l−1} (the
    error model's bound on its error in units of ε, same shape) and ε of the judged dtype."""
    if a_prev.shape != alpha_prev.shape:
        raise ValueError(f"α^(l−1) has shape {alpha_prev.shape}, a^(l−1) has {a_prev.shape}")
    k = window * window
    values = windows(np.asarray(a_prev, np.float64), (window, window), stride)
    values = values.reshape(-1, k)
    slack = eps * windows(np.asarray(alpha_prev, np.float64), (window, window), stride)
    slack = slack.reshape(-1, k)
    first = values.argmax(axis=1)
    rows = np.arange(len(values))
    top, top_slack = values[rows, first], slack[rows, first]
    tied = (values == top[:, None]).sum(axis=1) > 1
    others = np.ones_like(values, dtype=bool)
    others[rows, first] = False
    within = (top[:, None] - values <= top_slack[:, None] + slack) & others
    near = within.any(axis=1) & ~tied
    return PoolTies(ties=int(tied.sum()), near_ties=int(near.sum()))
