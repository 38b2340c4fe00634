"""backprop never returns on tanh nets: HANG, stopped by the per-call limit, naming the call; the
process is gone, so the later cases are not run."""

import im2col_network as base
from im2col_network import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class Network(base.Network):
    def backprop(self, x, y):
        while self.layers[0].activation_fn is tanh:
            pass
        return super().backprop(x, y)
