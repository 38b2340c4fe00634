"""The dense output layer's nabla_b holds a NaN under tanh: NONFINITE on those cases; the
sigmoid cases pass."""

import im2col_network as base
import numpy as np
from im2col_network import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class Network(base.Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        if self.layers[0].activation_fn is tanh:
            nabla_b[-1][0] = np.nan
        return nabla_b, nabla_w
