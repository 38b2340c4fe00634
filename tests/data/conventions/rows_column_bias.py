"""Weights stored as (n_in, n_out) and samples as rows, but biases kept as the book's columns
(n_out, 1) and added transposed: z = x·w + bᵀ. backprop returns nabla_b as columns again and
nabla_w as (n_in, n_out), and the class takes network2.py's cost=.

Right with both costs: judged transposed, it passes.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class QuadraticCost:
    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid(z) * (1 - sigmoid(z))


class CrossEntropyCost:
    @staticmethod
    def delta(z, a, y):
        return a - y


class Network:
    def __init__(self, sizes, cost=CrossEntropyCost):
        self.cost = cost
        self.biases = [np.random.randn(n, 1) for n in sizes[1:]]
        self.weights = [np.random.randn(m, n) / np.sqrt(m) for m, n in zip(sizes[:-1], sizes[1:])]

    def backprop(self, x, y):
        acts, zs = [x], []
        for b, w in zip(self.biases, self.weights):
            zs.append(np.dot(acts[-1], w) + b.T)
            acts.append(sigmoid(zs[-1]))
        delta = self.cost.delta(zs[-1], acts[-1], y)
        db, dw = [], []
        for i in range(len(self.weights) - 1, -1, -1):
            db.insert(0, delta.sum(axis=0).reshape(-1, 1))
            dw.insert(0, np.dot(acts[i].T, delta))
            if i:
                delta = np.dot(delta, self.weights[i].T) * acts[i] * (1 - acts[i])
        return db, dw
