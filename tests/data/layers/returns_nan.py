"""conv_backward's dw holds a NaN: NONFINITE (conv) naming dw and the call; dx, db still judged."""

import numpy as np
from course_layers import conv_backward as _conv_backward
from course_layers import conv_forward, max_pool_backward, max_pool_forward  # noqa: F401


def conv_backward(dout, cache):
    dx, dw, db = _conv_backward(dout, cache)
    dw[0, 0, 0, 0] = np.nan
    return dx, dw, db
