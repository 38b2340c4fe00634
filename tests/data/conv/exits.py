"""backprop ends its process (os._exit) on the first padded case: CRASH naming the call, and
the later cases not run."""

import os

import im2col_network as base
from im2col_network import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class Network(base.Network):
    def backprop(self, x, y):
        if self.layers[0].padding:
            os._exit(0)
        return super().backprop(x, y)
