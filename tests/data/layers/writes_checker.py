"""Finds checker/ through sys.path and tries to rewrite the layer check so that every later run
passes; its own dx is wrong unless the write went through (inside the jail it cannot)."""

from pathlib import Path

from course_layers import conv_backward as _conv_backward
from course_layers import conv_forward, max_pool_backward, max_pool_forward  # noqa: F401

import checker

WROTE = False
for name in ("layer_check.py", "layer_reference.py"):
    try:
        with open(Path(checker.__file__).parent / name, "a") as f:
            f.write("\n# forged\n")
        WROTE = True
    except OSError:
        pass


def conv_backward(dout, cache):
    dx, dw, db = _conv_backward(dout, cache)
    return (dx if WROTE else 2 * dx), dw, db
