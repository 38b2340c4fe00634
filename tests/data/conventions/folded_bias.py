"""The bias folded into the weights: w^l of shape (n_l, n_{l−1} + 1) acting on [a; 1], and no
biases list. No mapping to the book's (w^l, b^l) is unambiguous for the checker: INTERFACE, naming
the shapes found and the book's, never a CRASH at this file's line.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network(object):
    def __init__(self, sizes):
        self.weights = [np.random.randn(y, x + 1) for x, y in zip(sizes[:-1], sizes[1:])]

    def backprop(self, x, y):
        acts = [np.vstack([x, [[1.0]]])]
        for w in self.weights:
            acts.append(np.vstack([sigmoid(w @ acts[-1]), [[1.0]]]))
        delta = (acts[-1][:-1] - y) * acts[-1][:-1] * (1 - acts[-1][:-1])
        nabla_w = [None] * len(self.weights)
        for i in reversed(range(len(self.weights))):
            nabla_w[i] = delta @ acts[i].T
            if i:
                a = acts[i][:-1]
                delta = (self.weights[i][:, :-1].T @ delta) * a * (1 - a)
        return [g[:, -1:] for g in nabla_w], nabla_w
