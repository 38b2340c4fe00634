"""Course-style layer functions written for this project: the correct set every layer mutant
varies.

The interface is the course assignments' (samples on the leading axis): ``conv_forward(x, w, b,
conv_param)`` → (out, cache), ``conv_backward(dout, cache)`` → (dx, dw, db),
``max_pool_forward(x, pool_param)`` → (out, cache), ``max_pool_backward(dout, cache)`` → dx. They
are class methods of :class:`CourseLayers`, checked as ``course_layers.py:CourseLayers``; the
code is this project's own, a sum over the kernel's taps (u, v) rather than over output
positions, and each step that a classic bug gets wrong is one small method, so a mutant in
:mod:`checker.mutants.layer_catalogue` overrides one of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]


class CourseLayers:
    """A convolution (stride, zero padding, a bias per kernel) and a max-pool, forward and back."""

    # --- convolution --------------------------------------------------------------------------

    @classmethod
    def conv_forward(
        cls, x: Array, w: Array, b: Array, conv_param: dict[str, int]
    ) -> tuple[Array, Any]:
        """out[n, f, i, j] = Σ_{c,u,v} w[f, c, u, v] x̂[n, c, s·i + u, s·j + v] + b[f]."""
        s, p = conv_param["stride"], conv_param["pad"]
        n, _, h, w_in = x.shape
        f, _, hh, ww = w.shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        h_out, w_out = (h + 2 * p - hh) // s + 1, (w_in + 2 * p - ww) // s + 1
        out = np.zeros((n, f, h_out, w_out))
        for u in range(hh):
            for v in range(ww):
                taps = x_pad[:, :, cls.rows(u, s, h_out), cls.rows(v, s, w_out)]
                out += np.einsum("nchw,fc->nfhw", taps, w[:, :, u, v])
        return cls.add_bias(out, b), (x, w, b, conv_param)

    @classmethod
    def conv_backward(cls, dout: Array, cache: Any) -> tuple[Array, Array, Array]:
        """dx̂ gathers each tap's w[:, :, u, v]ᵀ dout at its positions (the flipped kernel's full
        correlation, written as a scatter); dw[:, :, u, v] correlates x̂ with dout; db sums dout."""
        x, w, _, conv_param = cache
        s, p = cls.backward_stride(conv_param["stride"]), conv_param["pad"]
        _, _, h, w_in = x.shape
        _, _, hh, ww = w.shape
        _, _, h_out, w_out = dout.shape
        x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        dx_pad = np.zeros_like(x_pad)
        dw = np.zeros_like(w)
        for u in range(hh):
            for v in range(ww):
                at = (slice(None), slice(None), cls.rows(u, s, h_out), cls.rows(v, s, w_out))
                dx_pad[at] += np.einsum("nfhw,fc->nchw", dout, cls.tap(w, u, v))
                dw[:, :, u, v] = np.einsum("nfhw,nchw->fc", dout, x_pad[at])
        return cls.crop(dx_pad, p, h, w_in), dw, cls.bias_gradient(dout)

    @staticmethod
    def rows(u: int, s: int, count: int) -> slice:
        """The rows tap u of the kernel meets: u, u + s, …, ``count`` of them."""
        return slice(u, u + s * (count - 1) + 1, s)

    @staticmethod
    def add_bias(out: Array, b: Array) -> Array:
        return out + b[None, :, None, None]

    @staticmethod
    def backward_stride(stride: int) -> int:
        return stride

    @staticmethod
    def tap(w: Array, u: int, v: int) -> Array:
        """The kernel's entry (u, v) for every (f, c): the one tap u, v of dx̂ receives."""
        return w[:, :, u, v]

    @staticmethod
    def crop(dx_pad: Array, p: int, h: int, w: int) -> Array:
        """dx: the padded gradient without its p rows and columns of padding on each side."""
        return dx_pad[:, :, p : p + h, p : p + w]

    @staticmethod
    def bias_gradient(dout: Array) -> Array:
        """db[f] = Σ_{n,i,j} dout[n, f, i, j]."""
        return dout.sum(axis=(0, 2, 3))

    # --- max-pool -----------------------------------------------------------------------------

    @classmethod
    def max_pool_forward(cls, x: Array, pool_param: dict[str, int]) -> tuple[Array, Any]:
        """out[n, c, i, j] = the maximum of the window at (s·i, s·j)."""
        k, s = pool_param["pool_height"], pool_param["stride"]
        n, c, h, w = x.shape
        h_out, w_out = (h - k) // s + 1, (w - pool_param["pool_width"]) // s + 1
        out = np.zeros((n, c, h_out, w_out))
        for i, j, at in cls.windows(k, pool_param["pool_width"], s, h_out, w_out):
            out[:, :, i, j] = cls.pool(x[at])
        return out, (x, pool_param)

    @classmethod
    def max_pool_backward(cls, dout: Array, cache: Any) -> Array:
        """Each window's dout to its maximum (the first in row-major order at a tie), summed where
        windows overlap."""
        x, pool_param = cache
        k, kw = pool_param["pool_height"], pool_param["pool_width"]
        s = cls.backward_stride(pool_param["stride"])
        _, _, h_out, w_out = dout.shape
        dx = np.zeros_like(x)
        for i, j, at in cls.windows(k, kw, s, h_out, w_out):
            cls.accumulate(dx, at, cls.maximum(x[at]), dout[:, :, i : i + 1, j : j + 1])
        return dx

    @staticmethod
    def windows(
        kh: int, kw: int, s: int, h_out: int, w_out: int
    ) -> list[tuple[int, int, tuple[slice, ...]]]:
        """Each window's (i, j) and where it lies, in row-major order."""
        return [
            (i, j, (slice(None), slice(None), slice(s * i, s * i + kh), slice(s * j, s * j + kw)))
            for i in range(h_out)
            for j in range(w_out)
        ]

    @staticmethod
    def pool(window: Array) -> Array:
        return window.max(axis=(2, 3))

    @staticmethod
    def maximum(window: Array) -> Array:
        """A one-hot mask (N, C, kh, kw) of each window's first maximum in row-major order."""
        n, c, kh, kw = window.shape
        first = window.reshape(n, c, kh * kw).argmax(axis=-1)
        return (np.arange(kh * kw) == first[..., None]).reshape(window.shape)

    @staticmethod
    def accumulate(dx: Array, at: tuple[slice, ...], mask: Array, d: Array) -> None:
        dx[at] += mask * d
