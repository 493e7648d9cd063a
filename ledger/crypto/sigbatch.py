"""Batches of Ed25519 signatures as plain bytes, and the loop of a worker that checks them.

Every signature the chain holds is over a 32-byte message (record id, header hash or
checkpoint digest) by a 32-byte key, so a batch is ``key || signature || message`` per
signature, 128 bytes each: cheap to send to another process. The node's signature pool and
the chain verifier send such batches to worker processes (:mod:`ledger.crypto.sigworker`) that run
:func:`serve`; this module imports only :mod:`ledger.crypto.ed25519`, so a worker starts quickly.

Frames, both directions over a pair of pipes: a 4-byte big-endian length, then that many
bytes. A task is packed signatures; an answer is the indexes of the ones that fail, as
unsigned 32-bit integers in native order, in the order tasks came.
"""

from __future__ import annotations

from array import array
from struct import iter_unpack
from typing import BinaryIO

from ledger.crypto.ed25519 import verify

PACKED_BYTES = 128
#: Largest task or answer a worker accepts: 64 MiB (half a million signatures).
frame_bytes_max = 64 << 20


def pack(key_hex: str, signature: bytes, message: bytes) -> bytes | None:
    """128 packed bytes, or None when the key or signature cannot be a valid one."""
    if len(signature) != 64 or len(message) != 32:
        return None
    try:
        key = bytes.fromhex(key_hex)
    except (ValueError, TypeError):
        return None
    return key + signature + message if len(key) == 32 else None


def verify_packed(packed: bytes) -> list[int]:
    """Indexes of the signatures in ``packed`` (key, signature, message) that do not verify."""
    whole = len(packed) - len(packed) % PACKED_BYTES  # a partial item is ignored
    items = iter_unpack("32s64s32s", memoryview(packed)[:whole])
    return [n for n, (key, signature, message) in enumerate(items)
            if not verify(key, signature, message)]


def write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(len(data).to_bytes(4, "big"))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame, or None at a clean end of input; ValueError when malformed."""
    head = stream.read(4)
    if not head:
        return None
    size = int.from_bytes(head, "big")
    if len(head) != 4 or size > frame_bytes_max:
        raise ValueError("malformed frame")
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("truncated frame")
    return data


def serve(argv: list[str]) -> int:
    """A worker's loop: packed signatures in, indexes of the bad ones out, until the end of
    input (so it never outlives its parent's pipe). ``argv``: the task and answer pipe file
    descriptors. It ignores Ctrl-C: the parent decides when it stops."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(int(argv[0]), "rb") as tasks, open(int(argv[1]), "wb") as answers:
        while True:
            try:
                packed = read_frame(tasks)
            except ValueError:
                return 2
            if packed is None:
                return 0
            try:
                write_frame(answers, array("I", verify_packed(packed)).tobytes())
            except BrokenPipeError:
                return 0
