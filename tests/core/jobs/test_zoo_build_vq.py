"""The zoo build ships no encoded test set for a VQ-VAE (its codes are 784 numbers per digit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jlml_core.config import TrainConfig
from jlml_core.jobs import zoo_build
from jlml_core.store import test_codes, zoo
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.train import fit


def test_zoo_codes_skip_a_vq_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = TrainConfig(kind="vq", latent_dim=2, codebook_size=4, epochs=1, train_subset=300)
    monkeypatch.setitem(zoo.ZOO, "tiny-vq", config)
    folder = CheckpointStore(tmp_path).save(config, fit(config, record_latents=False))
    assert zoo_build.write_zoo_codes(["tiny-vq"], tmp_path) == []
    assert not (folder / test_codes.TEST_CODES_FILE).exists()
