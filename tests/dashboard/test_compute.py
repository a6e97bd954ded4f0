"""Tests for dashboard.compute: no more than SLOTS model computations at once, none lost."""

from __future__ import annotations

import threading
import time

from dashboard.compute import SLOTS, heavy_compute


def test_at_most_slots_computations_run_at_once_and_every_one_finishes() -> None:
    running, most, done = 0, 0, []
    lock = threading.Lock()

    def compute(index: int) -> None:
        nonlocal running, most
        with heavy_compute():
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)  # long enough for the other threads to pile up at the door
            with lock:
                running -= 1
        done.append(index)

    threads = [threading.Thread(target=compute, args=(i,)) for i in range(4 * SLOTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(done) == list(range(4 * SLOTS))
    assert most == SLOTS


def test_a_failing_computation_gives_its_slot_back() -> None:
    for _ in range(SLOTS + 1):  # would block forever if a slot leaked
        try:
            with heavy_compute():
                raise ValueError("bad input")
        except ValueError:
            pass
    acquired = threading.Event()

    def take() -> None:
        with heavy_compute():
            acquired.set()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(timeout=10)
    assert acquired.is_set()
