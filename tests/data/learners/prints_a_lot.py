"""Prints 100 MB without a newline when imported, and has a BP1 bug (no σ'(z^L)): the verdict
line must still start a line of the checker's output, and the tail shown must be short."""

import sys

from checker.mutants.book_network import Network as Book

sys.stdout.write("x" * 100_000_000)
sys.stdout.flush()


class Network(Book):
    def output_error(self, z, a, y):
        print("computing the output error", end="")
        return self.cost_derivative(a[self.L], y)
