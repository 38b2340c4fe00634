"""Installs its own SIGALRM handler, ignores SIGTERM, and in backprop loops forever catching
BaseException: only killing its process stops it. Verdict HANG, later cases not run."""

import signal
import time

from checker.mutants.book_network import Network as Book

signal.signal(signal.SIGALRM, lambda signum, frame: None)
signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Network(Book):
    def backprop(self, x, y):
        while True:
            try:  # noqa: SIM105 — the misbehaviour under test
                time.sleep(0.01)
            except BaseException:
                pass
