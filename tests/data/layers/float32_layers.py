"""A correct set computing in float32 and returning float32 arrays: judged at float32 precision
by the error model (its ε), it passes."""

import course_layers as exact
import numpy as np


def single(*arrays):
    return [a.astype(np.float32) for a in arrays]


def conv_forward(x, w, b, conv_param):
    out, cache = exact.conv_forward(*single(x, w, b), conv_param)
    return out.astype(np.float32), cache


def conv_backward(dout, cache):
    return tuple(single(*exact.conv_backward(*single(dout), cache)))


def max_pool_forward(x, pool_param):
    out, cache = exact.max_pool_forward(*single(x), pool_param)
    return out.astype(np.float32), cache


def max_pool_backward(dout, cache):
    return exact.max_pool_backward(*single(dout), cache).astype(np.float32)
