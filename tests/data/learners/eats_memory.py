"""Allocates 1 GiB in backprop: under a smaller address-space limit, MEMORY."""

import numpy as np

from checker.mutants.book_network import Network as Book


class Network(Book):
    def backprop(self, x, y):
        np.ones(1 << 27)  # 1 GiB of float64
        return super().backprop(x, y)
