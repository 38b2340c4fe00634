"""A correct backprop that computes in float32 (its parameters, inputs and results)."""

import numpy as np

from checker.mutants.book_network import Network as Book


class Network(Book):
    def backprop(self, x, y):
        weights, biases = self.weights, self.biases
        self.weights = [w.astype(np.float32) for w in weights]
        self.biases = [b.astype(np.float32) for b in biases]
        try:
            return super().backprop(x.astype(np.float32), y.astype(np.float32))
        finally:
            self.weights, self.biases = weights, biases
