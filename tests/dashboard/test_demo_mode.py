"""AppTest for demo mode: no training or writes, every costly control bounded, no paths shown.

The bounds are DEMO_LIMITS in dashboard/settings.py; bench/demo_costs.py measures what a
request costs at each of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import cache, server
from dashboard.settings import DEMO_LIMITS, LAPTOP_LIMITS, public_error
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.jobs.zoo_build import encode_test_set
from jlml_core.store import test_codes
from jlml_core.store.checkpoints import MODEL_FILE, CheckpointStore
from jlml_core.store.model_cache import CACHE_ENV
from tests.apptest_helpers import ROOT, entry_for, open_link, open_page, texts

SAFE_OPTIONS = ("client.showErrorDetails", "client.toolbarMode")


@pytest.fixture
def demo(app_env: Path, monkeypatch: pytest.MonkeyPatch):
    """Demo mode over the tiny cache; the server options the app sets are restored after."""
    saved = {name: st.get_option(name) for name in SAFE_OPTIONS}
    monkeypatch.setenv("JLML_DEMO", "1")
    yield app_env
    for name, value in saved.items():
        st.set_option(name, value)


def _every_text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "code", "info", "warning", "error", "success", "title")
    return " ".join(str(e.value) for kind in kinds for e in at.get(kind))


def test_demo_bounds_are_tighter_than_the_laptop_ones() -> None:
    for field, demo_value in vars(DEMO_LIMITS).items():
        assert 0 < demo_value <= getattr(LAPTOP_LIMITS, field), field


def test_no_train_page_no_deploy_button_no_tracebacks(demo: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert st.get_option("client.showErrorDetails") == "none"
    assert st.get_option("client.toolbarMode") == "viewer"  # hides Deploy and the dev menu
    assert "Train" not in [link.label for link in at.get("page_link")]
    assert not any(b.label.startswith("Train") for b in at.button)
    with pytest.raises(Exception, match="train"):  # not a page of this app
        at.switch_page("views/train.py").run()


def test_generation_grids_are_bounded(demo: Path) -> None:
    at = open_page("generation", entry_for(demo, "vae").key)
    assert not at.exception
    assert at.slider(key="gen_grid").max == DEMO_LIMITS.prior_grid
    assert at.slider(key="gen_steps").max == DEMO_LIMITS.interpolation_steps
    assert at.slider(key="gen_plane_grid").max == DEMO_LIMITS.plane_grid
    assert at.slider(key="gen_mosaic_grid").max == DEMO_LIMITS.mosaic_grid


def test_a_link_cannot_ask_a_demo_for_more(demo: Path) -> None:
    at = open_link("generation", {"gen_grid": "16", "gen_plane_grid": "25", "gen_steps": "20"})
    assert at.slider(key="gen_grid").value == DEMO_LIMITS.prior_grid
    assert at.slider(key="gen_plane_grid").value == DEMO_LIMITS.plane_grid
    assert at.slider(key="gen_steps").value == DEMO_LIMITS.interpolation_steps
    n = DEMO_LIMITS.prior_grid
    assert any(c.startswith(f"{n * n} samples") for i in at.image for c in i.captions)
    at = open_link("latent_explorer", {"latent_background": "true",
                                       "latent_background_size": "30"})  # fmt: skip
    slider = at.slider(key="latent_background_size")
    assert slider.max == slider.value == DEMO_LIMITS.manifold_digits


def test_reconstruction_counts_are_bounded(demo: Path) -> None:
    at = open_page("reconstructions", entry_for(demo, "vae").key)
    assert at.slider(key="recon_count").max == DEMO_LIMITS.shown_digits
    at.radio(key="recon_method").set_value("By index").run()
    assert at.text_input(key="recon_indices").max_chars == 8 * DEMO_LIMITS.typed_indices
    many = ", ".join(str(i) for i in range(DEMO_LIMITS.typed_indices + 1))
    at.text_input(key="recon_indices").set_value(many).run()
    assert not at.exception
    assert f"show at most {DEMO_LIMITS.typed_indices} at a time" in texts(at.error)


def test_model_zoo_comparisons_are_bounded(demo: Path) -> None:
    at = open_page("model_zoo", entry_for(demo, "vae").key)
    assert not at.exception
    assert at.slider(key="zoo_points").max == DEMO_LIMITS.zoo_points
    assert at.multiselect(key="zoo_models").max_selections == DEMO_LIMITS.compared_models


def test_no_page_shows_a_file_system_path(demo: Path) -> None:
    key = entry_for(demo, "vae").key
    for page in ("home", "reconstructions", "latent_explorer", "generation", "model_zoo",
                 "loss_comparison"):  # fmt: skip
        at = open_page(page, key)
        assert not at.exception, page
        assert str(demo) not in _every_text(at) + texts(at.sidebar.caption), page


def test_a_broken_model_is_reported_without_its_path(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "broken_cache"
    shutil.copytree(demo, folder)
    entry = entry_for(folder, "vae")
    (entry.path / MODEL_FILE).write_bytes(b"not safetensors")
    monkeypatch.setenv(CACHE_ENV, str(folder))
    cache.load_model.clear()
    at = open_page("reconstructions", entry.key)
    assert not at.exception
    assert at.error and "Could not load" in texts(at.error)
    assert str(tmp_path) not in texts(at.error)
    assert CheckpointStore(folder).entries()  # nothing was deleted or rewritten


def test_public_error_cuts_paths_only_in_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    message = "No such file: '/srv/jlml/cache/mnist-vae-8e67622f7f41/model.safetensors'"
    monkeypatch.delenv("JLML_DEMO", raising=False)
    assert public_error(message) == message
    monkeypatch.setenv("JLML_DEMO", "1")
    assert public_error(FileNotFoundError(message)) == "No such file: '…/model.safetensors'"
    assert public_error(r"C:\Users\me\x.pt missing") == "…/x.pt missing"


def test_the_demo_encodes_and_scores_every_model_before_a_visitor_asks(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st.cache_resource.clear()  # a fresh server: no thread started, nothing encoded
    st.cache_data.clear()
    calls = []
    encode = latent.encode_images
    monkeypatch.setattr(latent, "encode_images", lambda *a, **k: calls.append(1) or encode(*a, **k))
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    thread = server.warm_up_in_background(cache.warm_up)  # the one the app started
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(calls) == len(cache.list_entries()) == 3  # every tiny model, once
    for entry in cache.list_entries():
        cache.encodings_for(entry)
        cache.test_losses_for(entry)
    assert len(calls) == 3  # served from the cache


def test_with_shipped_test_codes_the_demo_warm_up_encodes_nothing(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "zoo_like"
    shutil.copytree(demo, folder)
    for entry in CheckpointStore(folder).entries():  # as `python -m jlml_core zoo --codes` does
        digest = test_codes.images_digest(load_split(entry.config.dataset, "test").images)
        test_codes.write_encoded_test_set(entry.path, encode_test_set(entry.path), digest)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    st.cache_resource.clear()  # a fresh server
    st.cache_data.clear()
    calls = []
    encode = latent.encode_images
    monkeypatch.setattr(latent, "encode_images", lambda *a, **k: calls.append(1) or encode(*a, **k))
    loads = []
    load = cache.load_model
    monkeypatch.setattr(cache, "load_model", lambda *a, **k: loads.append(a) or load(*a, **k))
    cache.warm_up()  # what the demo's background thread runs
    assert calls == [] and loads == []  # no model even loaded
    at = open_page("latent_explorer", entry_for(folder, "vae").key)
    assert not at.exception
    assert calls == []  # the page drew the shipped codes
