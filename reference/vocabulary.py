"""The one vocabulary of names: every activation and cost table in the project is keyed by these.

The tables themselves stay independent (the reference, each oracle, the error model, the
generated-architecture strategies each write their own σ and C; ``tests/test_vocabulary.py``
checks that they all name this set). The orders are append-only: seeded random architectures
(:func:`suite.architectures.random_architectures`) draw by position in them, so a new name goes
at the end and every earlier draw keeps its meaning. Constants that several independent
implementations must agree on live here too.
"""

from __future__ import annotations

#: Activation names, append-only (a new one goes last; never reorder or remove).
ACTIVATION_NAMES = ("identity", "leaky_relu", "relu", "sigmoid", "softplus", "tanh", "softmax")
#: Cost names, append-only.
COST_NAMES = ("cross_entropy", "quadratic", "log_likelihood")

#: leaky_relu's slope for z ≤ 0: σ(z) = αz there, σ'(z) = α (σ'(0) = α). Every source reads it.
LEAKY_RELU_ALPHA = 0.01
