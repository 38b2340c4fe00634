"""network.py's interface (no cost=), with the cross-entropy's output error δ^L = a − y.

Judged with the quadratic cost (the book's network.py) it is BP1, and the finding must say that
δ^L and every gradient match the cross-entropy cost; with ``--cost cross_entropy`` it passes.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network(object):
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]

    def backprop(self, x, y):
        activations, zs = [x], []
        for b, w in zip(self.biases, self.weights):
            zs.append(np.dot(w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = activations[-1] - y
        for l in range(1, self.num_layers):
            if l > 1:
                sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
                delta = np.dot(self.weights[-l + 1].T, delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w
