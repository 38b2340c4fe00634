"""The mutation self-test: classic backprop bugs, one per class, each naming the equation it breaks.

Every mutant overrides one method of a correct network (:class:`Network`, network.py's form,
or :class:`Network2`, network2.py's) and declares ``intended``: the label the checker must give.
``checker.mutants.list_mutants()`` lists them in the order written here. Docstrings say when a
bug can only show: on square layers, on nets of 3 or more weight layers, on batches of 2 or more.
"""

from __future__ import annotations

import numpy as np

from checker.mutants import book_softmax
from checker.mutants.book_network import Array, Layers, Network, sigmoid, sigmoid_prime
from checker.mutants.book_network2 import Network2

# --- BP1: the output error -------------------------------------------------------------------


class OutputErrorPrimeOfActivation(Network):
    """BP1 with σ'(a^L) instead of σ'(z^L): the derivative applied to the wrong quantity."""

    intended = "BP1"

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        return self.cost_derivative(a[self.L], y) * sigmoid_prime(a[self.L])


class OutputErrorWithoutPrime(Network):
    """BP1 without its σ'(z^L) factor (right for cross-entropy, wrong for the quadratic cost)."""

    intended = "BP1"

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        return self.cost_derivative(a[self.L], y)


class CrossEntropyDeltaTimesPrime(Network2):
    """network2: the cost's δ^L multiplied by σ'(z^L) again, as if BP1 always needed it."""

    intended = "BP1"

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        return super().output_error(z, a, y) * sigmoid_prime(z[self.L])


class SoftmaxDeltaTimesElementwisePrime(book_softmax.SoftmaxNetwork2):
    """softmax: δ^L = a − y multiplied by an elementwise σ' = a(1 − a), the Jacobian's diagonal."""

    intended = "BP1"

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        if self.cost is not book_softmax.LogLikelihoodCost:
            return super().output_error(z, a, y)
        out = a[self.L]
        return super().output_error(z, a, y) * out * (1.0 - out)


class SoftmaxStrayTermInNormaliser(book_softmax.SoftmaxNetwork2):
    """softmax: a stray e^0 = 1 in the output's normaliser, so a^L sums to less than 1."""

    intended = "BP1"

    def activation(self, l: int, z: Array) -> Array:
        if l == self.L and self.cost is book_softmax.LogLikelihoodCost:
            return np.exp(z) / (np.sum(np.exp(z)) + 1.0)  # a stray e^0 in the normaliser
        return super().activation(l, z)


# --- BP2: the error of a hidden layer ----------------------------------------------------------


class HiddenErrorPrimeOfActivation(Network):
    """BP2 with σ'(a^l) instead of σ'(z^l)."""

    intended = "BP2"

    def hidden_error(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return (self.w(l + 1).T @ delta[l + 1]) * sigmoid_prime(a[l])


class HiddenErrorWithoutTranspose(Network):
    """BP2 with w^{l+1} for (w^{l+1})^T: wrong only on square layers, a shape error elsewhere."""

    intended = "BP2"

    def hidden_error(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return (self.w(l + 1) @ delta[l + 1]) * sigmoid_prime(z[l])


class HiddenErrorFromOutputLayer(Network):
    """BP2 fed δ^L instead of δ^{l+1}: the same on 2 weight layers, wrong from 3 on."""

    intended = "BP2"

    def hidden_error(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return (self.w(l + 1).T @ delta[self.L]) * sigmoid_prime(z[l])


class LayerLoopStopsEarly(Network):
    """An off-by-one in BP2's loop bound: layer 2 is never reached, so δ^2 stays zero."""

    intended = "BP2"

    def hidden_layers(self) -> range:
        return range(self.L - 1, 2, -1)


# --- BP3: the bias gradient ----------------------------------------------------------------------


class BiasGradientTimesPrime(Network):
    """BP3 as δ^l ⊙ σ'(z^l): σ' applied a second time to the bias gradient."""

    intended = "BP3"

    def bias_gradient(self, delta: Layers, z: Layers, l: int) -> Array:
        return delta[l] * sigmoid_prime(z[l])


# --- BP4: the weight gradient --------------------------------------------------------------------


class WeightGradientTransposed(Network):
    """BP4 as a^{l−1} (δ^l)^T, the transposed outer product: a wrong shape unless square."""

    intended = "BP4"

    def weight_gradient(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return a[l - 1] @ delta[l].T


class WeightGradientOutputActivation(Network):
    """BP4 with a^L (network.py's activations[-1]) instead of a^{l−1}."""

    intended = "BP4"

    def weight_gradient(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return delta[l] @ a[self.L].T


class WeightGradientSquashedTwice(Network):
    """BP4 with σ(a^{l−1}) for a^{l−1}: the previous layer's activation squashed twice."""

    intended = "BP4"

    def weight_gradient(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        return delta[l] @ sigmoid(a[l - 1]).T


# --- SGD: the update -----------------------------------------------------------------------------


class StepWithoutAveraging(Network):
    """The step uses η instead of η/m: right only for mini-batches of one sample."""

    intended = "SGD"

    def step_size(self, eta: float, m: int) -> float:
        return eta


class StepUphill(Network):
    """A sign error: w ← w + (η/m) Σ ∂C_x/∂w climbs the cost."""

    intended = "SGD"

    def step_size(self, eta: float, m: int) -> float:
        return -eta / m


class GradientsOverwrittenNotSummed(Network):
    """nabla_b and nabla_w keep only the last sample's gradient: right only for one sample."""

    intended = "SGD"

    def accumulate(self, total: list[Array], one: list[Array]) -> list[Array]:
        return one


class WeightDecayOnBiases(Network2):
    """network2: the L2 term shrinks the biases as well as the weights."""

    intended = "SGD"

    def descend(
        self, nabla_b: list[Array], nabla_w: list[Array], rate: float, decay: float
    ) -> None:
        self.biases = [decay * b for b in self.biases]
        super().descend(nabla_b, nabla_w, rate, decay)


class WeightDecayWithBatchSize(Network2):
    """network2: the L2 term divided by the mini-batch size m instead of the training-set size n."""

    intended = "SGD"

    def weight_decay(self, eta: float, lmbda: float, n: int, m: int) -> float:
        return 1.0 - eta * lmbda / m


# --- COST: network2's total_cost -----------------------------------------------------------------


class TotalCostL2WithoutHalf(Network2):
    """network2: total_cost's L2 term without its ½, (λ/n) Σ‖w‖², twice what SGD descends."""

    intended = "COST"

    def l2_term(self, lmbda: float, n: int) -> float:
        return 2.0 * super().l2_term(lmbda, n)


class TotalCostOfLastSample(Network2):
    """network2: total_cost reports the last sample's cost, not the mean over the data."""

    intended = "COST"

    def total_cost(self, data: list[tuple[Array, Array]], lmbda: float) -> float:  # type: ignore[override]
        x, y = data[-1]
        return float(self.cost.fn(self.feedforward(x), y) + self.l2_term(lmbda, len(data)))


class LogLikelihoodOfEveryOutput(book_softmax.SoftmaxNetwork2):
    """softmax: total_cost's log-likelihood sums −ln a_j over every output, not just the target."""

    intended = "COST"

    def total_cost(self, data: list[tuple[Array, Array]], lmbda: float) -> float:  # type: ignore[override]
        if self.cost is not book_softmax.LogLikelihoodCost:
            return super().total_cost(data, lmbda)
        n = len(data)
        costs = sum(-float(np.sum(np.log(self.feedforward(x)))) for x, _ in data)
        return costs / n + self.l2_term(lmbda, n)
