"""The conv layers' nabla_w comes back flattened, (F, C·k_h·k_w): SHAPE, naming the layer."""

import im2col_network as base
from im2col_network import FullyConnectedLayer, Network, SoftmaxLayer, sigmoid, tanh  # noqa: F401


class ConvPoolLayer(base.ConvPoolLayer):
    def backward(self, grad):
        nabla_b, nabla_w, dx = super().backward(grad)
        return nabla_b, nabla_w.reshape(nabla_w.shape[0], -1), dx
