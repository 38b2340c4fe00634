"""Connects to a port on 127.0.0.1 that the test listens on (to send the gradients it is given
out, or fetch right ones); its gradients are right only if the connection was made."""

import json
import socket
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())
try:
    socket.create_connection(("127.0.0.1", TARGET["port"]), timeout=2).close()
    CONNECTED = True
except OSError:
    CONNECTED = False


class Network(Book):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return (nabla_b if CONNECTED else [1.5 * b for b in nabla_b]), nabla_w
