"""How far one training run's trajectory is from the reference's: per step, max |Δθ| and ‖Δθ‖₂,
absolute and relative (the bound they are judged by is :mod:`harness.drift_model`'s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.training_runs import flatten
from reference import Params
from reference.types import Array


@dataclass(frozen=True)
class Drift:
    """Per step t = 0…k, a trajectory's distance from the reference's (see the module schema)."""

    max_abs: Array
    max_rel: Array
    l2: Array
    l2_rel: Array


def drift(reference: Sequence[Params], other: Sequence[Params]) -> Drift:
    """max |Δθ| and ‖Δθ‖₂ over all parameters, absolute and relative to the reference's size."""
    if len(reference) != len(other):
        raise ValueError(f"trajectories of {len(reference)} and {len(other)} parameter sets")
    ref = np.array([flatten(p) for p in reference])
    diff = ref - np.array([flatten(p) for p in other])
    max_abs, l2 = np.abs(diff).max(axis=1), np.linalg.norm(diff, axis=1)
    return Drift(max_abs, max_abs / np.abs(ref).max(axis=1), l2, l2 / np.linalg.norm(ref, axis=1))
