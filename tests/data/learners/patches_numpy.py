"""Replaces np.exp when imported, so its σ is wrong; a checker sharing its NumPy would compute the
reference with the same wrong σ and agree (PASS). Isolated: an equation label."""

import numpy as np

from checker.mutants.book_network import Network as Book

_exp = np.exp
np.exp = lambda z: _exp(z) * 1.5


class Network(Book):
    pass
