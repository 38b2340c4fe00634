"""Stops its parent and the caller (SIGSTOP) to freeze the checker; its gradients are wrong."""

import contextlib
import json
import os
import signal
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())


class Network(Book):
    def backprop(self, x, y):
        for pid in (os.getppid(), TARGET["caller"]):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        nabla_b, nabla_w = super().backprop(x, y)
        return [1.5 * b for b in nabla_b], nabla_w
