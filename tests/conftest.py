"""Shared fixtures: tiny real models trained once per test session into a temporary cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """One CPU thread for torch here and in every subprocess the tests start.

    The test machine is shared: OpenMP threads spinning against other jobs cost several times
    the CPU of a single thread on these tiny tensors. Export OMP_NUM_THREADS to override.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


# Small enough to train in about a second each, real enough to give digit-like decodes.
TINY_CONFIGS = {
    "vae": TrainConfig(
        arch="dense", kind="vae", latent_dim=2, hidden_dim=64, epochs=2, train_subset=3000, seed=1
    ),
    "ae": TrainConfig(
        arch="dense", kind="ae", latent_dim=2, hidden_dim=64, epochs=2, train_subset=3000, seed=1
    ),
    "vae_cb_4d": TrainConfig(
        arch="dense",
        kind="vae",
        latent_dim=4,
        hidden_dim=64,
        loss="cb",
        epochs=2,
        train_subset=3000,
        seed=1,
    ),
}


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint cache folder holding the TINY_CONFIGS models."""
    root = tmp_path_factory.mktemp("tiny_cache")
    store = CheckpointStore(root)
    for config in TINY_CONFIGS.values():
        store.save(config, fit(config))
    return root


@pytest.fixture
def app_env(tiny_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the dashboard at the tiny cache and an empty zoo, and run from the repo root."""
    empty_zoo = tmp_path / "empty_zoo"
    empty_zoo.mkdir()
    monkeypatch.setenv("JLML_CACHE_DIR", str(tiny_cache))
    monkeypatch.setenv("JLML_ZOO_DIR", str(empty_zoo))
    monkeypatch.chdir(ROOT)
    return tiny_cache


@pytest.fixture(scope="module")
def server(tiny_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    """`streamlit run app.py` over the tiny models and an empty zoo, for one browser test module.

    A module that needs another cache (the Train page's empty one) defines its own `server`.
    """
    from tools.screenshots import StreamlitServer  # deferred: only browser tests start one

    empty_zoo = tmp_path_factory.mktemp("empty_zoo")
    env = {"JLML_CACHE_DIR": str(tiny_cache), "JLML_ZOO_DIR": str(empty_zoo)}
    with StreamlitServer(env) as running:
        yield running
