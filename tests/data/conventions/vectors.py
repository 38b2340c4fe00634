"""Samples and biases as flat vectors (n,), weights the book's (n_out, n_in); nabla_w as an
outer product. ``Network`` is right (judged in that form, passes); ``SquashedTwice``
takes σ(a^{l−1}) for a^{l−1} in nabla_w: BP4, found behind the convention.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes):
        self.sizes = sizes
        self.weights = [np.random.randn(n, k) for k, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.random.randn(n) for n in sizes[1:]]

    def previous(self, acts, i):
        return acts[i]

    def backprop(self, x, y):
        acts, zs = [x], []
        for w, b in zip(self.weights, self.biases):
            zs.append(w @ acts[-1] + b)
            acts.append(sigmoid(zs[-1]))
        nabla_b, nabla_w = [], []
        delta = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
        for i in reversed(range(len(self.weights))):
            if i < len(self.weights) - 1:
                delta = (self.weights[i + 1].T @ delta) * acts[i + 1] * (1 - acts[i + 1])
            nabla_b.insert(0, delta)
            nabla_w.insert(0, np.outer(delta, self.previous(acts, i)))
        return nabla_b, nabla_w


class SquashedTwice(Network):
    def previous(self, acts, i):
        return sigmoid(acts[i])
