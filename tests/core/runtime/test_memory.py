"""Tests for runtime.memory: glibc malloc settings for training and for the dashboard server."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from jlml_core.runtime import memory

glibc_only = pytest.mark.skipif(memory._libc() is None, reason="needs glibc's malloc")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@glibc_only
def test_release_freed_memory_hands_freed_heap_pages_back_to_the_kernel() -> None:
    libc = memory._libc()
    libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    assert memory.keep_freed_memory()  # what training sets: free() alone gives nothing back
    blocks = [libc.malloc(16 * 1024) for _ in range(6000)]  # ~94 MB of heap, under mmap size
    for block in blocks:
        ctypes.memset(block, 1, 16 * 1024)  # touch every page
    filled = _rss_mb()
    for block in blocks:
        libc.free(block)
    assert _rss_mb() > filled - 20  # kept by malloc for reuse
    assert memory.release_freed_memory()
    assert _rss_mb() < filled - 60


@glibc_only
def test_limit_malloc_arenas_applies_and_rejects_nonsense() -> None:
    assert memory.limit_malloc_arenas(64)  # more than glibc's default here: changes nothing
    with pytest.raises(ValueError, match="at least one"):
        memory.limit_malloc_arenas(0)


def test_a_trim_threshold_under_the_mmap_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="trim threshold"):
        memory.keep_freed_memory(memory.MMAP_THRESHOLD // 2)


def test_off_glibc_every_setting_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.limit_malloc_arenas(2) is False
    assert memory.release_freed_memory() is False
    assert memory.keep_freed_memory() is False
