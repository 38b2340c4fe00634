"""im2col_network.py with one bug: the conv layer's bias gradient is the mean of δ over the
output positions instead of its sum: BP3 (conv), "bias gradient averaged over positions"."""

import im2col_network as base
from im2col_network import FullyConnectedLayer, Network, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class ConvPoolLayer(base.ConvPoolLayer):
    def backward(self, grad):
        nabla_b, nabla_w, dx = super().backward(grad)
        _, _, ho, wo, _ = self.cache
        return nabla_b / (ho * wo), nabla_w, dx
