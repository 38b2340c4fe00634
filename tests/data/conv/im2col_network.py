"""A network3.py-style conv net in NumPy, written apart from checker/mutants/conv_network.py: the
convolution as im2col (every window a row of one matrix) and one matrix product, its backward as
col2im; the pool by reshaping into blocks. Correct: it passes."""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def tanh(z):
    return np.tanh(z)


DERIVATIVE = {sigmoid: lambda a: a * (1 - a), tanh: lambda a: 1 - a**2}


def im2col(x, kh, kw, s):
    """Rows (n, i, j), columns (c, u, v): the window at (i, j) of sample n."""
    n, c, h, w = x.shape
    ho, wo = (h - kh) // s + 1, (w - kw) // s + 1
    cols = np.empty((n, ho, wo, c, kh, kw), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            cols[:, :, :, :, u, v] = x[:, :, u : u + s * ho : s, v : v + s * wo : s].transpose(
                0, 2, 3, 1
            )
    return cols.reshape(n * ho * wo, c * kh * kw), ho, wo


def col2im(cols, shape, kh, kw, s, ho, wo):
    n, c = shape[:2]
    out = np.zeros(shape, dtype=cols.dtype)
    cols = cols.reshape(n, ho, wo, c, kh, kw)
    for u in range(kh):
        for v in range(kw):
            out[:, :, u : u + s * ho : s, v : v + s * wo : s] += cols[:, :, :, :, u, v].transpose(
                0, 3, 1, 2
            )
    return out


class ConvPoolLayer:
    def __init__(
        self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid, stride=1, padding=0
    ):
        self.filter_shape, self.image_shape, self.poolsize = filter_shape, image_shape, poolsize
        self.activation_fn, self.stride, self.padding = activation_fn, stride, padding
        self.w = np.random.randn(*filter_shape) * 0.1
        self.b = np.random.randn(filter_shape[0])

    def forward(self, x):
        x = x.reshape(self.image_shape)
        p, s = self.padding, self.stride
        f, _, kh, kw = self.w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        cols, ho, wo = im2col(xp, kh, kw, s)
        z = (cols @ self.w.reshape(f, -1).T).reshape(x.shape[0], ho, wo, f).transpose(0, 3, 1, 2)
        k = self.poolsize[0]
        hp, wp = ho // k, wo // k
        blocks = z[:, :, : hp * k, : wp * k].reshape(x.shape[0], f, hp, k, wp, k)
        blocks = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(x.shape[0], f, hp, wp, k * k)
        self.arg = blocks.argmax(axis=-1)
        pooled = blocks.max(axis=-1)
        self.cache = (xp.shape, cols, ho, wo, z.shape)
        self.a = self.activation_fn(pooled + self.b.reshape(1, -1, 1, 1))
        return self.a

    def backward(self, grad):
        delta = grad.reshape(self.a.shape) * DERIVATIVE[self.activation_fn](self.a)
        xp_shape, cols, ho, wo, z_shape = self.cache
        n, f, hp, wp = delta.shape
        k = self.poolsize[0]
        blocks = np.zeros((n, f, hp, wp, k * k))
        np.put_along_axis(blocks, self.arg[..., None], delta[..., None], axis=-1)
        dz = np.zeros(z_shape)
        dz[:, :, : hp * k, : wp * k] = (
            blocks.reshape(n, f, hp, wp, k, k)
            .transpose(0, 1, 2, 4, 3, 5)
            .reshape(n, f, hp * k, wp * k)
        )
        rows = dz.transpose(0, 2, 3, 1).reshape(-1, f)
        nabla_w = (rows.T @ cols).reshape(self.w.shape)
        nabla_b = rows.sum(axis=0)
        kh, kw = self.w.shape[2:]
        dxp = col2im(rows @ self.w.reshape(f, -1), xp_shape, kh, kw, self.stride, ho, wo)
        p = self.padding
        dx = dxp[:, :, p : xp_shape[2] - p, p : xp_shape[3] - p]
        return nabla_b, nabla_w, dx


class FullyConnectedLayer:
    def __init__(self, n_in, n_out, activation_fn=sigmoid):
        self.activation_fn = activation_fn
        self.w = np.random.randn(n_in, n_out) / np.sqrt(n_in)
        self.b = np.random.randn(n_out)

    def forward(self, x):
        self.x = x.reshape(x.shape[0], -1)
        self.a = self.activation_fn(self.x @ self.w + self.b)
        return self.a

    def backward(self, grad):
        delta = grad * DERIVATIVE[self.activation_fn](self.a)
        return delta.sum(axis=0), self.x.T @ delta, delta @ self.w.T


class SoftmaxLayer:
    def __init__(self, n_in, n_out):
        self.w = np.zeros((n_in, n_out))
        self.b = np.zeros(n_out)

    def forward(self, x):
        self.x = x.reshape(x.shape[0], -1)
        z = self.x @ self.w + self.b
        z = z - z.max(axis=1, keepdims=True)
        self.a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return self.a


class Network:
    def __init__(self, layers, mini_batch_size):
        self.layers = layers
        self.mini_batch_size = mini_batch_size

    def backprop(self, x, y):
        a = x
        for layer in self.layers:
            a = layer.forward(a)
        m = len(y)
        delta = a.copy()
        delta[np.arange(m), y] -= 1
        delta /= m
        out = self.layers[-1]
        nabla_b, nabla_w = [delta.sum(axis=0)], [out.x.T @ delta]
        grad = delta @ out.w.T
        for layer in reversed(self.layers[:-1]):
            b, w, grad = layer.backward(grad)
            nabla_b.insert(0, b)
            nabla_w.insert(0, w)
        return nabla_b, nabla_w
