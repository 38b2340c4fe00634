"""Kills every process it may (kill(-1)) and its parent's process group (killpg): the checker and
its caller with them, outside a PID namespace; its gradients are wrong."""

import contextlib
import json
import os
import signal
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())


class Network(Book):
    def backprop(self, x, y):
        for kill in (
            lambda: os.killpg(os.getpgid(TARGET["caller"]), signal.SIGKILL),
            lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),
            lambda: os.kill(-1, signal.SIGKILL),
        ):
            with contextlib.suppress(OSError):
                kill()
        nabla_b, nabla_w = super().backprop(x, y)
        return [1.5 * b for b in nabla_b], nabla_w
