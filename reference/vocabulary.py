"""The one vocabulary of names: every activation and cost table in the project is keyed by these.

The tables themselves stay independent (the reference, each oracle, the error model, the
generated-architecture strategies each write their own σ and C; ``tests/test_vocabulary.py``
checks that they all name this set). The orders are append-only: seeded random architectures
(:func:`suite.architectures.random_architectures`) draw by position in them, so a new name goes
at the end and every earlier draw keeps its meaning. The activation names are the order of the
activation records (:data:`reference.activations.ACTIVATION_INFO`), the cost names the order of
the cost records (:data:`reference.costs.COST_INFO`); both are re-exported here with leaky_relu's
α, a constant several independent implementations must agree on.
"""

from __future__ import annotations

from reference.activations import ACTIVATION_NAMES, LEAKY_RELU_ALPHA
from reference.costs import COST_NAMES

__all__ = ["ACTIVATION_NAMES", "COST_NAMES", "LEAKY_RELU_ALPHA"]
