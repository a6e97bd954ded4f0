"""The dashboard server's process-wide settings and speed and memory tricks, all in one place.

Streamlit serves every visitor from one long-lived process and runs each script (each page
run, each fragment rerun) on a new thread. What that process needs beyond the pages:

- `configure()`: one torch thread, two malloc arenas that keep a decode's freed buffers; app.py
  calls it at the top of every run (the first applies it, the rest change nothing).
- `heavy_compute()`: at most `SLOTS` model computations (and big PNG encodes) at a time.
- `long_lived`: a cached builder's result, and all alive before it, leaves the GC's scans
  (with `runner.postScriptGC = false` in .streamlit/config.toml).
- `sent_unchanged`: a cached figure hands Streamlit one prebuilt dict instead of a copy.
- `warm_up_in_background()`: a demo fills the costly caches before any visitor asks.
- `after_run()`: app.py hands back what a page run left behind when the run ends.

Importing this module changes nothing. docs/benchmarks.md ("Where the server's tricks live")
keeps the measurements behind each trick.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import plotly.graph_objects as go
import streamlit as st
import torch

from jlml_core.runtime import memory

if TYPE_CHECKING:
    from jlml_core.inference.decoder import DecodeSetting

T = TypeVar("T")

# A click decodes one tiny image, where a second OpenMP thread only adds synchronisation (a
# single-image decode takes ~0.6 ms with one thread), and Streamlit serves sessions in parallel.
TORCH_THREADS = 1
# glibc gives busy threads up to 8 arenas per core, each keeping what was freed in it; with every
# run on a new thread the server's garbage spread over all of them (~1.1 GB with 30 sessions).
MALLOC_ARENAS = 2
# Each arena keeps up to this much freed memory for reuse instead of trimming it: a 400-point
# decode's activations (~20 MB in chunks of 200) then reuse the pages the last one freed rather
# than fault in fresh ones, 29-33 ms -> ~15 ms on one thread (docs/benchmarks.md, "Session 12").
# after_run() still hands everything back when a whole page run ends.
MALLOC_KEEP = 64 * 1024 * 1024
# Two cores run no more than two computations at once anyway, and each one holds a few MB of
# activations that malloc keeps: 30 at once grew the server by ~200 MB.
SLOTS = 2
_slots = threading.BoundedSemaphore(SLOTS)
_configured = False
_configure_lock = threading.Lock()


def configure() -> None:
    """Apply the server's process-wide settings: `TORCH_THREADS`, `MALLOC_ARENAS`, `MALLOC_KEEP`.

    app.py calls it at the top of every run; only the first call in a process changes anything
    (Streamlit re-executes app.py per run, so "once" is kept here). Nothing else changes these
    at import. The arena limit holds for arenas made from then on, hence before any page runs.
    """
    global _configured
    with _configure_lock:
        if _configured:
            return
        torch.set_num_threads(TORCH_THREADS)
        memory.limit_malloc_arenas(MALLOC_ARENAS)
        memory.keep_freed_memory(MALLOC_KEEP)
        _configured = True


def tune_decoding() -> DecodeSetting:
    """Measure the decode chunk size and last convolution this machine runs best
    (`decoder.tune_decode_setting`) with the server's thread count, malloc settings and the
    precision pages decode in; returns them.

    ``python -m dashboard`` runs it before its health check answers (~0.4 s), so no visitor
    waits for it. Measured on an untrained default-architecture model: only speed depends on
    the setting, and the built-in conv decoders share their convolutions.
    """
    from jlml_core.config import TrainConfig  # deferred: only the launcher calls this
    from jlml_core.inference.decoder import tune_decode_setting
    from jlml_core.nn.models import build_model
    from jlml_core.runtime.precision import resolve_precision

    configure()
    model = build_model(TrainConfig()).to(memory_format=torch.channels_last).eval()
    return tune_decode_setting(model, resolve_precision("auto"))


def after_run() -> None:
    """Hand back what a page run left behind; app.py calls it when each run ends.

    A whole-page run (a Generation or Reconstructions change) frees its pictures' buffers;
    returning them keeps the server's memory flat when a class changes controls together. It
    costs ~0.2 ms when there is nothing to give back (Latent Explorer clicks rerun only a
    fragment, which does not end here).
    """
    forget_parsed_urls()
    memory.release_freed_memory()


def forget_parsed_urls() -> None:
    """Empty urllib's cache of parsed URLs, which holds our inline pictures.

    st.image checks every picture's URL with urllib.parse.urlparse, whose cache (Python 3.11+)
    keeps the last 128 URLs parsed together with their parts: a data URL and a copy of it. With
    Generation's mosaics a class changing seeds filled it by ~4 MB per burst of changes, plus
    the holes it left in the heap. Nothing gains from the cache here: each picture is parsed once.
    """
    if (clear := getattr(urllib.parse, "clear_cache", None)) is not None:  # undocumented
        clear()


@contextlib.contextmanager
def heavy_compute() -> Iterator[None]:
    """Hold one of the server's `SLOTS` for a model computation or a big PNG encode.

    A class changing a control at the same moment starts one script thread per student; the
    slots make them take turns, so malloc keeps two computations' buffers, not thirty.
    Fetch every cached input (model, test set) before entering: a thread that waited inside
    for a value another thread is building, while that thread waits for a slot, would
    deadlock. Small, latency-bound work (one click's decode) needs no slot.
    """
    with _slots:
        yield


def long_lived(build: Callable[..., T]) -> Callable[..., T]:
    """Decorate a cached builder: what it returns, and all loaded so far, leaves the GC's scans.

    A full garbage collection walks every container object the process holds, nearly all alive
    until the process ends (the modules of torch, plotly and streamlit, the cached models, test
    sets and 10,000-point figures); Streamlit's collection after every run made a Latent
    Explorer click cost ~190 ms of server CPU. `gc.freeze()` moves every object alive at that
    moment into a generation the collector never scans, so a collection only visits what is new
    since the last cache build. Frozen objects are still freed by reference counting; a
    reference cycle among them would never be collected, which is why this runs once per cache
    build (right after a collection), never per run.
    """

    @functools.wraps(build)
    def build_then_freeze(*args, **kwargs) -> T:
        value = build(*args, **kwargs)
        gc.collect()  # garbage alive now would be frozen with the rest
        gc.freeze()
        return value

    return build_then_freeze


def sent_unchanged(figure: go.Figure) -> go.Figure:
    """Let a cached, never-mutated figure hand st.plotly_chart one prebuilt dict, not a copy.

    st.plotly_chart asks a figure for `to_dict()`, a deep copy of every trace, on each rerun;
    for the Latent Explorer's 10,000-point scatter that copy cost ~1 ms of server CPU per click.
    What Streamlit sends is unchanged. Only for figures nobody mutates: the dashboard's cached
    figures, whose overlays go on copies (`posterior_traces.with_traces`).
    """
    prebuilt = figure.to_dict()
    figure.to_dict = lambda: prebuilt  # plotly allows setting existing attributes
    return figure


@st.cache_resource(show_spinner=False)
def warm_up_in_background(_warm_up: Callable[[], None]) -> threading.Thread:
    """Run `_warm_up` once per server, in a thread, then hand back the memory it freed.

    For a demo: each model's first visitor would otherwise wait for its test codes and losses.
    The zoo ships them (test_codes.safetensors), so for the zoo this reads files: 0.9 s of CPU
    for all 17 models, where encoding and scoring them took 58 s. Cached without hashing
    `_warm_up`, so any later call returns the thread the first call started.

    Returns:
        The warm-up thread (joinable; a daemon, so it never holds the server open).
    """

    def run() -> None:
        _warm_up()
        # The warm-up is no script run, so the hand-back at the end of each run misses it.
        memory.release_freed_memory()

    thread = threading.Thread(target=run, name="jlml-warm-up", daemon=True)
    thread.start()
    return thread
