"""float32, with a BP1 bug (σ'(a^L) for σ'(z^L)) far beyond float32 rounding: BP1."""

from float32_network import Network as Float32

from checker.mutants.book_network import sigmoid_prime


class Network(Float32):
    def output_error(self, z, a, y):
        return self.cost_derivative(a[self.L], y) * sigmoid_prime(a[self.L])
