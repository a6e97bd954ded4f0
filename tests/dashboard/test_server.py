"""Tests for dashboard/server.py: the one module whose calls change the server process.

Importing the dashboard must change nothing process-wide; `configure()` sets the server's
options and may run again; `after_run()` hands back what a run left; the compute slots let no
more than `SLOTS` computations run at once; `long_lived` and `sent_unchanged` keep cached
objects out of the collector's scans and out of per-rerun copies.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools
import pytest

from dashboard import server
from dashboard.server import SLOTS, heavy_compute, long_lived, sent_unchanged
from jlml_core.runtime import memory
from tests.apptest_helpers import ROOT

# Run in a fresh interpreter: spies on torch's thread setter and on every mallopt / malloc_trim
# (through jlml_core.runtime.memory's libc handle), imports every dashboard module, then calls
# server.configure() twice; prints what happened at each step as JSON.
FRESH_SERVER = """
import gc, importlib, json, pkgutil
import torch
import dashboard
from jlml_core.runtime import memory

calls = []
libc = memory._libc()


class Spy:
    def mallopt(self, parameter, value):
        calls.append(["mallopt", parameter, value])
        return 0 if libc is None else libc.mallopt(parameter, value)

    def malloc_trim(self, pad):
        calls.append(["malloc_trim", pad])
        return 0 if libc is None else libc.malloc_trim(pad)


memory._libc = Spy
set_num_threads = torch.set_num_threads
torch.set_num_threads = lambda n: calls.append(["set_num_threads", n]) or set_num_threads(n)

report = {"threads_before": torch.get_num_threads()}
modules = [name for _, name, _ in pkgutil.iter_modules(dashboard.__path__, "dashboard.")]
for name in modules:
    importlib.import_module(name)
report |= {"modules": modules, "import_calls": list(calls), "threads_after_import":
           torch.get_num_threads(), "frozen_after_import": gc.get_freeze_count()}
calls.clear()
from dashboard import server
server.configure()
report["threads_after_configure"] = torch.get_num_threads()
server.configure()
report |= {"threads_after_second_configure": torch.get_num_threads(), "configure_calls": calls}

# A page's 400-point decode, seven times on a script thread as Streamlit runs it: the minor page
# faults of each (fresh pages from the kernel).
import resource, threading
import numpy as np
from jlml_core.config import TrainConfig
from jlml_core.inference import latent
from jlml_core.nn.models import build_model

model = build_model(TrainConfig()).to(memory_format=torch.channels_last).eval()
faults = []


def decode_seven_times():
    for _ in range(7):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        latent.decode_points(model, np.zeros((400, 2), np.float32), batch_size=200)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)


thread = threading.Thread(target=decode_seven_times)
thread.start()
thread.join()
report["decode_faults"] = faults
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def fresh_server() -> dict:
    """What importing the dashboard, then configuring the server, did in a fresh process."""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}  # torch's default: 2
    done = subprocess.run(
        [sys.executable, "-c", FRESH_SERVER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_dashboard_changes_nothing_process_wide(fresh_server: dict) -> None:
    assert {"dashboard.cache", "dashboard.figure_cache", "dashboard.server"} <= set(
        fresh_server["modules"]
    )
    assert fresh_server["import_calls"] == []  # no set_num_threads, no mallopt, no trim
    assert fresh_server["threads_before"] == fresh_server["threads_after_import"] == 2
    assert fresh_server["frozen_after_import"] == 0  # nothing left the collector's scans


def test_configure_sets_one_torch_thread_and_two_keeping_arenas_once_per_process(
    fresh_server: dict,
) -> None:
    once = [
        ["set_num_threads", server.TORCH_THREADS],
        ["mallopt", memory._M_ARENA_MAX, 2],
        ["mallopt", memory._M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD],
        ["mallopt", memory._M_TRIM_THRESHOLD, server.MALLOC_KEEP],
    ]
    assert server.TORCH_THREADS == 1 and server.MALLOC_ARENAS == 2
    assert fresh_server["configure_calls"] == once  # the second call changes nothing
    assert fresh_server["threads_after_configure"] == 1
    assert fresh_server["threads_after_second_configure"] == 1


@pytest.mark.skipif(memory._libc() is None, reason="needs glibc's malloc")
def test_a_configured_server_decodes_again_into_the_pages_it_freed(fresh_server: dict) -> None:
    # Unconfigured, each 400-point decode faulted in ~10,000 fresh pages (half its time).
    first, *later = faults = fresh_server["decode_faults"]
    assert first > 1000  # the first decode's activations are new memory
    # Later decodes reuse them: most fault in none. In about one process of ten one later decode,
    # at no fixed place, faults in 300-1,100 pages: the same with Python's cyclic garbage
    # collector off, so it comes from outside the decode (we did not find what).
    assert sorted(later)[len(later) // 2] < 200, faults
    assert sum(later) < first, faults


def test_after_run_empties_urllibs_parse_cache() -> None:
    picture = "data:image/png;base64," + "A" * 4096
    urllib.parse.urlparse(picture)
    assert urllib.parse.urlsplit.cache_info().currsize > 0  # Python 3.11+ keeps parsed URLs
    server.after_run()
    assert urllib.parse.urlsplit.cache_info().currsize == 0


def test_warm_up_runs_once_per_server_in_a_thread() -> None:
    server.warm_up_in_background.clear()
    runs = []
    try:
        first = server.warm_up_in_background(lambda: runs.append(threading.current_thread().name))
        again = server.warm_up_in_background(lambda: runs.append("a second warm-up"))
        first.join(timeout=30)
        assert again is first
        assert runs == ["jlml-warm-up"]
    finally:
        server.warm_up_in_background.clear()


# --- compute slots ----------------------------------------------------------------------------


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


# --- what cached objects skip -----------------------------------------------------------------


def _tracked(value: object) -> bool:
    """True when `value` sits in a generation the collector scans (frozen ones are left out)."""
    return any(candidate is value for candidate in gc.get_objects())


def test_long_lived_moves_what_it_built_out_of_the_collectors_scans() -> None:
    gc.unfreeze()

    @long_lived
    def build() -> dict[str, list[int]]:
        return {"weights": list(range(10))}

    try:
        built = build()
        assert built == {"weights": list(range(10))}
        assert gc.get_freeze_count() > 0
        assert not _tracked(built)  # a full collection no longer walks it
    finally:
        gc.unfreeze()
    assert _tracked(built)


def test_long_lived_keeps_the_builders_name_and_docstring() -> None:
    def build_model() -> int:
        """Docstring."""
        return 1

    wrapped = long_lived(build_model)
    assert wrapped.__name__ == "build_model" and wrapped.__doc__ == "Docstring."
    gc.unfreeze()
    assert wrapped() == 1
    gc.unfreeze()


def test_sent_unchanged_hands_out_one_dict_equal_to_plotlys_own() -> None:
    def build() -> go.Figure:
        x = np.arange(500, dtype=np.float32)
        return go.Figure(go.Scattergl(x=x, y=x**2, mode="markers"), layout={"height": 300})

    plain, frozen = build(), sent_unchanged(build())
    sent = plotly.tools.return_figure_from_figure_or_data(frozen, validate_figure=True)
    assert sent is frozen.to_dict()  # no copy per rerun
    assert pio.to_json(sent, validate=False) == pio.to_json(plain.to_dict(), validate=False)
