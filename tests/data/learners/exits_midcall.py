"""Ends its process with status 0 in the middle of backprop: a CRASH, never a pass."""

import os

from checker.mutants.book_network import Network as Book


class Network(Book):
    def backprop(self, x, y):
        os._exit(0)
