"""Keep freed memory in the process, for batch runs that allocate and free a block at a time.

glibc's ``malloc`` gives the top of its heap back to the kernel as soon as more than 128 KiB
of it is free (``M_TRIM_THRESHOLD``) and serves each request of 128 KiB or more with an
``mmap`` of its own, unmapped when freed. The verifier parses, replays and compares one block
at a time: every block it frees what the previous one allocated, the heap shrinks, and the
next block's allocations fault the same pages back in, zeroed by the kernel. Measured on a
20,000-record chain: about 16,000 page faults per run (0.8 per record) and 15-20% of the
main process's CPU time; with freed memory kept, about 300.

The peak resident size does not grow (the memory kept is memory the run already used), but
it is only returned at exit: for one run of a command, not for a long-lived server.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("jifentong.memory")

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Free memory kept at the top of the heap before any is given back.
trim_threshold_bytes = 512 << 20
#: Extra room asked of the kernel whenever the heap grows (fewer, larger growths).
top_pad_bytes = 64 << 20
#: Requests from this size on get their own mapping (the default is 128 KiB).
mmap_threshold_bytes = 32 << 20


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for a batch run (see the module doc). Returns False, and changes
    nothing, where the C library is not glibc (macOS, musl: their allocators differ)."""
    import ctypes  # here: every process that imports this module does not need it

    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    # gnu_get_libc_version: glibc only (musl has a mallopt that does nothing)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    done = all(mallopt(param, value) == 1 for param, value in (
        (_M_TRIM_THRESHOLD, trim_threshold_bytes), (_M_TOP_PAD, top_pad_bytes),
        (_M_MMAP_THRESHOLD, mmap_threshold_bytes)))
    if not done:
        log.debug("mallopt refused a setting; the allocator keeps its defaults for it")
    return done


def peak_rss_mb(pid: int | None = None) -> float | None:
    """The peak resident memory of a process's current program (Linux ``VmHWM``), in MB;
    None where /proc does not say. Unlike ``getrusage``'s ``ru_maxrss``, it starts again at
    ``exec``: a command started by a large process does not report that process's size."""
    try:
        status = Path(f"/proc/{'self' if pid is None else pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None
