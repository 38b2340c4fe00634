"""A correct backprop whose update_mini_batch has the matrix form (X, Y, eta), not the book's."""

from checker.mutants.book_network import Network as Book


class Network(Book):
    def update_mini_batch(self, X, Y, eta):
        batch = [(X[:, i : i + 1], Y[:, i : i + 1]) for i in range(X.shape[1])]
        super().update_mini_batch(batch, eta)
