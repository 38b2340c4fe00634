"""A network2.py-style network with the book's ch. 3 softmax output and log-likelihood cost.

``SoftmaxNetwork2(sizes, cost=LogLikelihoodCost)``: sigmoid hidden layers; with the
log-likelihood cost the output layer is a softmax, a^L_j = e^{z^L_j} / Σ_k e^{z^L_k}, and
C_x = −ln a^L_y with δ^L = a^L − y (book eqs. 78–81). With network2's other costs it is
:class:`Network2`. The checker finds out from the name: a class whose module defines
``LogLikelihoodCost`` is also checked with that cost on softmax-output architectures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from checker.mutants.book_network import Array, sigmoid
from checker.mutants.book_network2 import Cost, Network2


def softmax(z: Array) -> Array:
    """e^{z_j} / Σ_k e^{z_k} over the column, shifted by max z so no e^z overflows."""
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


class LogLikelihoodCost:
    """C_x = −ln a_y for a softmax output and one-hot y, so δ^L = a − y (book eq. 81)."""

    @staticmethod
    def fn(a: Array, y: Array) -> float:
        return -float(np.log(a[int(np.argmax(y)), 0]))

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array:
        return a - y


class SoftmaxNetwork2(Network2):
    """network2 with a softmax output layer under the log-likelihood cost (book ch. 3)."""

    def __init__(self, sizes: Sequence[int], cost: type[Cost] = LogLikelihoodCost) -> None:
        super().__init__(sizes, cost)

    def activation(self, l: int, z: Array) -> Array:
        """Softmax at the output layer when the cost is the log-likelihood; σ elsewhere."""
        if l == self.L and self.cost is LogLikelihoodCost:
            return softmax(z)
        return sigmoid(z)
