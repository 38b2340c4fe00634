"""A correct backprop that returns the pair the other way round: (nabla_w, nabla_b)."""

from checker.mutants.book_network import Network as Book


class Network(Book):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return nabla_w, nabla_b
