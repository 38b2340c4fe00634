"""A convolutional network in network3.py's shape, in NumPy with a hand-written backprop, written
for this project as a learner would: the correct net every conv-network mutant varies.

network3.py's classes: ``ConvPoolLayer(filter_shape, image_shape, poolsize=(2, 2),
activation_fn=sigmoid)`` (with ``stride`` and ``padding`` as extra keywords), whose output is
σ(max-pool(w ⋆ x) + b); ``FullyConnectedLayer(n_in, n_out, activation_fn=sigmoid)`` and
``SoftmaxLayer(n_in, n_out)``, whose w is (n_in, n_out) and acts on samples as rows; and
``Network(layers, mini_batch_size)``, whose ``backprop(x, y)`` takes a mini-batch of images x (m,
C, H, W) and labels y (m,) and returns (nabla_b, nabla_w), one array per layer, of the mean
log-likelihood cost. The convolution is written as loops over the output positions; each step
a classic bug gets wrong is one small static method of :class:`ConvPoolLayer`, so that a mutant
(:mod:`checker.mutants.conv_catalogue`) overrides one of them. Nothing here imports the
project's reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]


def sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def tanh(z: Array) -> Array:
    return np.tanh(z)


def prime(fn: Any, a: Array) -> Array:
    """σ'(z) from a = σ(z), for the two activations the net knows."""
    if fn is tanh:
        return 1.0 - a * a
    return a * (1.0 - a)


class ConvPoolLayer:
    """A convolution (stride, zero padding), a max-pool of ``poolsize``, then σ(· + b)."""

    def __init__(
        self,
        filter_shape: tuple[int, int, int, int],
        image_shape: tuple[int, int, int, int],
        poolsize: tuple[int, int] = (2, 2),
        activation_fn: Any = sigmoid,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        self.filter_shape, self.image_shape, self.poolsize = filter_shape, image_shape, poolsize
        self.activation_fn, self.stride, self.padding = activation_fn, stride, padding
        n_out = filter_shape[0] * np.prod(filter_shape[2:]) / np.prod(poolsize)
        self.w = np.random.normal(0.0, np.sqrt(1.0 / n_out), filter_shape)
        self.b = np.random.normal(0.0, 1.0, (filter_shape[0],))

    # --- the steps a mutant may change --------------------------------------------------------

    @staticmethod
    def forward_kernel(w: Array) -> Array:
        """The kernel the forward correlates with."""
        return w

    @staticmethod
    def dx_tap(w: Array, u: int, v: int) -> Array:
        """w[:, :, u, v]: the tap that carries δ back from output (i, j) to input (s·i+u, s·j+v)."""
        return w[:, :, u, v]

    @staticmethod
    def backward_stride(stride: int) -> int:
        return stride

    @staticmethod
    def crop(dx_pad: Array, p: int, h: int, w: int) -> Array:
        """The padded input's gradient, its padding cut away."""
        return dx_pad[:, :, p : p + h, p : p + w]

    @staticmethod
    def bias_gradient(dz: Array) -> Array:
        """Σ over the samples and the positions."""
        return dz.sum(axis=(0, 2, 3))

    @staticmethod
    def finish_dw(dw: Array) -> Array:
        return dw

    @staticmethod
    def window_mask(window: Array) -> Array:
        """True at each window's first maximum in row-major order, (m, F, k, k) windows."""
        m, f, kh, kw = window.shape
        first = window.reshape(m, f, kh * kw).argmax(axis=-1)
        return (np.arange(kh * kw) == first[..., None]).reshape(window.shape)

    # --- forward and backward -----------------------------------------------------------------

    def feedforward(self, x: Array) -> Array:
        x = x.reshape(self.image_shape)
        s, p = self.stride, self.padding
        m, _, h, w_in = x.shape
        f, _, kh, kw = self.filter_shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        h_out, w_out = (h + 2 * p - kh) // s + 1, (w_in + 2 * p - kw) // s + 1
        kernel = self.forward_kernel(self.w)
        z = np.zeros((m, f, h_out, w_out))
        for i in range(h_out):
            for j in range(w_out):
                patch = x_pad[:, :, s * i : s * i + kh, s * j : s * j + kw]
                z[:, :, i, j] = np.tensordot(patch, kernel, axes=([1, 2, 3], [1, 2, 3]))
        k = self.poolsize[0]
        hp, wp = h_out // k, w_out // k
        pooled = np.zeros((m, f, hp, wp))
        mask = np.zeros_like(z, dtype=bool)
        for i in range(hp):
            for j in range(wp):
                window = z[:, :, k * i : k * i + k, k * j : k * j + k]
                pooled[:, :, i, j] = window.max(axis=(2, 3))
                mask[:, :, k * i : k * i + k, k * j : k * j + k] = self.window_mask(window)
        self.x_pad, self.mask = x_pad, mask
        self.z_shape: tuple[int, ...] = tuple(z.shape)
        self.a = self.activation_fn(pooled + self.b[None, :, None, None])
        return self.a

    def backprop(self, grad_a: Array) -> tuple[Array, Array, Array]:
        """From ∂C/∂a of this layer's output: (∂C/∂b, ∂C/∂w, ∂C/∂x)."""
        d_pooled = grad_a.reshape(self.a.shape) * prime(self.activation_fn, self.a)
        k = self.poolsize[0]
        dz = np.zeros(self.z_shape)
        _, _, hp, wp = d_pooled.shape
        for i in range(hp):
            for j in range(wp):
                at = (slice(None), slice(None), slice(k * i, k * i + k), slice(k * j, k * j + k))
                dz[at] += self.mask[at] * d_pooled[:, :, i : i + 1, j : j + 1]
        s, p = self.backward_stride(self.stride), self.padding
        _, _, kh, kw = self.filter_shape
        h_out, w_out = dz.shape[2:]
        dw = np.zeros(self.filter_shape)
        dx_pad = np.zeros_like(self.x_pad)
        for i in range(h_out):
            for j in range(w_out):
                patch = self.x_pad[:, :, s * i : s * i + kh, s * j : s * j + kw]
                dw += np.tensordot(dz[:, :, i, j], patch, axes=([0], [0]))
                for u in range(kh):
                    for v in range(kw):
                        dx_pad[:, :, s * i + u, s * j + v] += dz[:, :, i, j] @ self.dx_tap(
                            self.w, u, v
                        )
        _, _, h, w_in = self.image_shape
        return self.bias_gradient(dz), self.finish_dw(dw), self.crop(dx_pad, p, h, w_in)


class FullyConnectedLayer:
    """a = σ(x w + b), samples as rows, w of (n_in, n_out)."""

    def __init__(self, n_in: int, n_out: int, activation_fn: Any = sigmoid) -> None:
        self.n_in, self.n_out, self.activation_fn = n_in, n_out, activation_fn
        self.w = np.random.normal(0.0, np.sqrt(1.0 / n_out), (n_in, n_out))
        self.b = np.random.normal(0.0, 1.0, (n_out,))

    def feedforward(self, x: Array) -> Array:
        self.x = x.reshape(x.shape[0], self.n_in)
        self.a = self.activation_fn(self.x @ self.w + self.b)
        return self.a

    def backprop(self, grad_a: Array) -> tuple[Array, Array, Array]:
        delta = grad_a * prime(self.activation_fn, self.a)
        return delta.sum(axis=0), self.x.T @ delta, delta @ self.w.T


class SoftmaxLayer:
    """a = softmax(x w + b); under the log-likelihood δ = a − y."""

    def __init__(self, n_in: int, n_out: int) -> None:
        self.n_in, self.n_out = n_in, n_out
        self.w = np.zeros((n_in, n_out))
        self.b = np.zeros((n_out,))

    def feedforward(self, x: Array) -> Array:
        self.x = x.reshape(x.shape[0], self.n_in)
        z = self.x @ self.w + self.b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.a = e / e.sum(axis=1, keepdims=True)
        return self.a

    def output_delta(self, y: Array) -> Array:
        """δ^L of the mean cost: (a − onehot(y)) / m."""
        m = self.a.shape[0]
        onehot = np.zeros_like(self.a)
        onehot[np.arange(m), y] = 1.0
        return (self.a - onehot) / m

    def backprop_delta(self, delta: Array) -> tuple[Array, Array, Array]:
        return delta.sum(axis=0), self.x.T @ delta, delta @ self.w.T


class Network:
    """network3.py's Network: the layers in order, the last a SoftmaxLayer."""

    def __init__(self, layers: list[Any], mini_batch_size: int) -> None:
        self.layers, self.mini_batch_size = layers, mini_batch_size

    def backprop(self, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """(nabla_b, nabla_w) of the mean log-likelihood of the mini-batch (x, y)."""
        a = x
        for layer in self.layers:
            a = layer.feedforward(a)
        last = self.layers[-1]
        nabla_b: list[Array] = [np.empty(0)] * len(self.layers)
        nabla_w: list[Array] = [np.empty(0)] * len(self.layers)
        nabla_b[-1], nabla_w[-1], grad = last.backprop_delta(last.output_delta(y))
        for i in range(len(self.layers) - 2, -1, -1):
            nabla_b[i], nabla_w[i], grad = self.layers[i].backprop(grad)
        return nabla_b, nabla_w
