"""Heavy work in the dashboard's server (model computations, big PNGs): two at a time.

A class changing a control at the same moment starts one script thread per student. Each
Generation or Reconstructions rerun decodes up to a few hundred codes, ~7 MB of activations;
30 of them at once grew the server by ~200 MB that malloc then kept, where two at a time grew
it by ~30 MB, which the trim at the end of each run (app.py) gave back (30 threads decoding 380
codes, machine C). Two cores run no more than two at once anyway; the others wait their turn.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

SLOTS = 2
_slots = threading.BoundedSemaphore(SLOTS)


@contextlib.contextmanager
def heavy_compute() -> Iterator[None]:
    """Hold one of the server's `SLOTS` for a model computation.

    Fetch every cached input (model, test set) before entering: a thread that waited inside
    for a value another thread is building, while that thread waits for a slot, would
    deadlock. Small, latency-bound work (one click's decode) needs no slot.
    """
    with _slots:
        yield
