"""The messages between the checker and the process that runs an implementation under test.

A message is a length-prefixed JSON header followed by the raw bytes of the arrays it carries;
the header lists each array's dtype and shape. Nothing received is ever unpickled (no pickle, no
``.npy`` header parsed by ``literal_eval``): an array is ``np.frombuffer`` of its bytes with a
dtype that must be a plain number (bool, integer, float), so a reply cannot run code in the
checker. The reader bounds every length before buffering; what a header says beyond that is
validated where it is used. Only the standard library and NumPy are imported here (the worker
imports this module).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

#: Upper bounds on what one message may hold: far above any honest reply (the largest array of a
#: case is a 30 × 784 weight matrix, 188 kB), far below what would exhaust the checker's memory.
MAX_HEADER_BYTES = 1 << 20
MAX_ARRAY_BYTES = 64 << 20
MAX_ARRAYS = 4096
MAX_MESSAGE_BYTES = 256 << 20
#: Array kinds accepted: booleans, integers, floats (complex, strings, objects are refused).
NUMERIC_KINDS = "biuf"

#: The progress record the worker keeps in a file: when the current call into the learner's code
#: started (time.monotonic, system-wide on Linux), a count of calls, the call's name (UTF-8, at
#: most PROGRESS_TEXT bytes, follows).
PROGRESS = struct.Struct(">dIH")
PROGRESS_TEXT = 200

_HEAD = struct.Struct(">I")

Message = tuple[dict[str, Any], list[np.ndarray[Any, Any]]]


class ProtocolError(Exception):
    """A message that breaks the format or a bound: the sender is not a well-behaved worker."""


def encode(header: dict[str, Any], arrays: Sequence[np.ndarray[Any, Any]] = ()) -> bytes:
    """One message as bytes: the header (with ``arrays``: each one's dtype and shape), then the
    arrays' bytes in C order."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    specs = [[a.dtype.str, list(a.shape)] for a in arrays]
    head = json.dumps({**header, "arrays": specs}).encode()
    return b"".join([_HEAD.pack(len(head)), head, *(a.tobytes() for a in arrays)])


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking descriptor."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Reader:
    """Messages from a byte stream fed in pieces; every length is checked before it is kept."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Message]:
        """Add bytes; yield each message they complete."""
        self.buffer += data
        while (message := self._next()) is not None:
            yield message

    def _next(self) -> Message | None:
        buf = self.buffer
        if len(buf) < _HEAD.size:
            return None
        (size,) = _HEAD.unpack_from(buf)
        if size > MAX_HEADER_BYTES:
            raise ProtocolError(f"a header of {size} bytes (at most {MAX_HEADER_BYTES})")
        if len(buf) < _HEAD.size + size:
            return None
        header = _header(bytes(buf[_HEAD.size : _HEAD.size + size]))
        specs = header.pop("arrays", [])
        if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
            raise ProtocolError(f"an array list that is not a list of at most {MAX_ARRAYS}")
        kinds = [_spec(spec) for spec in specs]
        at = _HEAD.size + size
        total = sum(dtype.itemsize * count for dtype, _, count in kinds)
        if total > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"arrays of {total} bytes in all (at most {MAX_MESSAGE_BYTES})")
        if len(buf) < at + total:
            return None
        arrays = []
        for dtype, shape, count in kinds:
            end = at + dtype.itemsize * count
            arrays.append(np.frombuffer(bytes(buf[at:end]), dtype=dtype).reshape(shape))
            at = end
        del buf[:at]
        return header, arrays


def _header(data: bytes) -> dict[str, Any]:
    try:
        header = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"a header that is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"a header that is a {type(header).__name__}, not an object")
    return header


def _spec(spec: Any) -> tuple[np.dtype[Any], tuple[int, ...], int]:
    """An array's [dtype, shape] from a header: a plain numeric dtype, a bounded shape."""
    if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str)):
        raise ProtocolError(f"an array description {str(spec)[:80]!r}")
    dtype_text, shape = spec
    if len(dtype_text) > 8:
        raise ProtocolError(f"an array dtype {dtype_text[:20]!r}")
    try:
        dtype = np.dtype(dtype_text)
    except (TypeError, ValueError):
        raise ProtocolError(f"an array dtype {dtype_text!r}") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"an array of dtype {dtype} (numeric arrays only)")
    if not (
        isinstance(shape, list)
        and len(shape) <= 32
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ProtocolError(f"an array shape {str(shape)[:80]!r}")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize > MAX_ARRAY_BYTES:
        raise ProtocolError(
            f"an array of {count * dtype.itemsize} bytes (at most {MAX_ARRAY_BYTES})"
        )
    return dtype, tuple(shape), count
