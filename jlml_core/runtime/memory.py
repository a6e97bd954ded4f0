"""How the process uses glibc's malloc: keep freed buffers for reuse, and give memory back.

`keep_freed_memory`: a training step, or a decode of the Latent Explorer's 400 points,
allocates and frees activations of several MB each, which glibc's malloc serves with mmap, or
trims from the heap once freed, so the next step gets fresh pages from the kernel and faults on
every one. Fixing the mmap threshold at its maximum and raising the trim threshold keeps those
pages for reuse: a `cnn_shallow` training step took about a fifth less time, a 400-point decode
about half. The same trick as running PyTorch with jemalloc or tcmalloc, which PyTorch's CPU
performance guide recommends. Nothing computed changes; each malloc arena keeps up to the trim
threshold of freed memory (`TRIM_THRESHOLD` for training, less for the server).

Left alone, glibc moves its mmap threshold up to the largest block freed so far, so the same
decode ran at either speed depending on what the process had done before (docs/benchmarks.md,
"Session 12"); fixing the thresholds makes the speed the same in every process.

Serving (`limit_malloc_arenas`, `release_freed_memory`): the dashboard's one process lives for
days and serves every visitor, so it caps malloc's per-thread arenas and hands big freed
buffers (encoding a test set, say) back to the kernel; `dashboard/server.py` decides when.
The measurements behind both are in docs/benchmarks.md ("Where the server's tricks live").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, or None off Linux or with a C library without mallopt (musl and others)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory(trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Tell glibc's malloc to reuse large freed blocks instead of returning them to the kernel.

    For training, where the same activation buffers come back every step, and for the
    dashboard's server with a smaller `trim_threshold` (it also gives memory back after each
    page run: see `release_freed_memory`). Process-wide; the last call's threshold holds. A
    no-op (False) off Linux or with another C library.

    Args:
        trim_threshold: bytes of freed memory an arena may keep before it trims.

    Returns:
        True if both settings were applied.
    """
    if trim_threshold < MMAP_THRESHOLD:
        raise ValueError(
            f"a trim threshold under the mmap threshold ({MMAP_THRESHOLD} bytes) would trim "
            f"the blocks it should keep, got {trim_threshold}"
        )
    libc = _libc()
    if libc is None:
        return False
    applied = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1 and applied


def limit_malloc_arenas(count: int) -> bool:
    """Let glibc's malloc keep at most `count` arenas (pools of memory) for all threads.

    glibc gives busy threads arenas of their own, up to 8 per core, and each keeps what its
    threads freed. A server that runs every request on a new thread (Streamlit's script
    runs) spreads its garbage over all of them. Takes effect for arenas made from now on.

    Returns:
        True if applied (False off glibc).
    """
    if count < 1:
        raise ValueError(f"need at least one malloc arena, got {count}")
    libc = _libc()
    return libc is not None and libc.mallopt(_M_ARENA_MAX, count) == 1


def release_freed_memory() -> bool:
    """Return the free pages inside malloc's arenas to the kernel (glibc's malloc_trim).

    Costs a walk over the free blocks (about a millisecond for a server's heap), so call it
    after a big temporary allocation is gone, not per request.

    Returns:
        True if any memory was returned (False off glibc).
    """
    libc = _libc()
    return libc is not None and libc.malloc_trim(0) == 1
