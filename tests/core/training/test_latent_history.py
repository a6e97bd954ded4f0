"""Recording the latent space during training: same weights, right snapshots, safe storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.store.checkpoints import (
    LATENT_HISTORY_FILE,
    CheckpointError,
    CheckpointStore,
    read_latent_history,
)
from jlml_core.training import latent_history
from jlml_core.training.train import Progress, fit

TINY = {
    "dense": dict(arch="dense", hidden_dim=32),
    "cnn_shallow": dict(arch="cnn_shallow", hidden_dim=16),
}


@pytest.fixture(scope="module")
def small_splits():
    return load_split("mnist", "train").subset(1024), load_split("mnist", "test").subset(600)


@pytest.mark.parametrize("kind", ["vae", "ae"])
@pytest.mark.parametrize("arch", sorted(TINY))
def test_recording_leaves_the_weights_byte_identical(arch: str, kind: str, small_splits) -> None:
    train, test = small_splits
    config = TrainConfig(kind=kind, epochs=2, batch_size=128, seed=5, **TINY[arch])
    recorded = fit(config, train, test, record_latents=True)
    plain = fit(config, train, test, record_latents=False)
    assert plain.latent_history is None
    for name, tensor in recorded.model.state_dict().items():
        other = plain.model.state_dict()[name]
        assert tensor.numpy().tobytes() == other.numpy().tobytes(), name
    history = recorded.latent_history
    steps_per_epoch = 1024 // 128
    # before training, at 5 %, 10 %, 25 % and 50 % of epoch 1 (8 steps: 0, 1, 2, 4; 5 % and
    # 0 coincide), and after each of the 2 epochs
    assert history.steps.tolist() == [0, 1, 2, 4, steps_per_epoch, 2 * steps_per_epoch]
    assert history.epochs.tolist() == pytest.approx([0, 0.125, 0.25, 0.5, 1, 2])
    assert history.mu.shape == (len(history.steps), 600, 2)
    assert (history.logvar is None) == (kind == "ae")
    assert np.isnan(history.train_loss[0]) and np.isfinite(history.train_loss[1:]).all()
    # the last snapshot is the trained model's encoding of the same digits
    final = recorded.model.encode(test.images[:600].float().div(255).unsqueeze(1))[0]
    np.testing.assert_allclose(history.mu[-1], final.detach().numpy(), atol=1e-4)
    # training lowers the loss on the recorded digits
    assert history.test_loss[-1] < history.test_loss[0]


def test_progress_reports_carry_each_snapshot(small_splits) -> None:
    train, test = small_splits
    config = TrainConfig(arch="dense", hidden_dim=16, epochs=2, seed=1)
    reports: list[Progress] = []
    result = fit(config, train, test, on_progress=reports.append)
    with_snapshot = [r.snapshot for r in reports if r.snapshot is not None]
    assert len(with_snapshot) == len(result.latent_history)
    assert [s.step for s in with_snapshot] == result.latent_history.steps.tolist()
    assert [r.epoch_done for r in reports if r.snapshot is not None][-2:] == [True, True]


def test_snapshot_restores_the_training_mode(small_splits) -> None:
    _, test = small_splits
    config = TrainConfig(arch="dense", hidden_dim=16)
    from jlml_core.nn.models import build_model
    from jlml_core.training.objective import compute_loss

    model = build_model(config).train()
    snapshot = latent_history.take_snapshot(
        model, test.subset(50), lambda o, x: compute_loss(o, x, config).total,
        step=0, epoch=0.0, train_loss=None,
    )  # fmt: skip
    assert model.training
    assert snapshot.mu.shape == (50, 2) and snapshot.logvar.shape == (50, 2)


@pytest.mark.parametrize(("latent_dim", "epochs"), [(2, 20), (16, 24), (64, 200), (256, 1000)])
def test_recording_stays_near_its_size_budget(latent_dim: int, epochs: int) -> None:
    count = latent_history.recorded_digit_count(latent_dim, epochs, True, 10_000)
    snapshots = len(latent_history.FIRST_EPOCH_FRACTIONS) + epochs
    size = count * snapshots * latent_dim * 2 * 2
    assert latent_history.MIN_RECORDED_DIGITS <= count <= latent_history.RECORDED_DIGITS
    assert (
        size <= latent_history.HISTORY_BYTES_BUDGET or count == latent_history.MIN_RECORDED_DIGITS
    )
    if latent_dim == 2 and epochs == 20:
        assert count == 2000


def test_history_round_trips_through_the_checkpoint(small_splits, tmp_path: Path) -> None:
    train, test = small_splits
    config = TrainConfig(arch="dense", hidden_dim=16, epochs=1, seed=2)
    result = fit(config, train, test)
    folder = CheckpointStore(tmp_path).save(config, result)
    loaded = read_latent_history(folder)
    original = result.latent_history
    np.testing.assert_array_equal(loaded.steps, original.steps)
    np.testing.assert_array_equal(loaded.labels, test.labels[:600].numpy())
    np.testing.assert_allclose(loaded.mu, original.mu, rtol=1e-3, atol=1e-3)  # float16
    np.testing.assert_allclose(loaded.logvar, original.logvar, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(loaded.test_loss, original.test_loss)


def test_entry_without_history_reads_as_none_and_damage_is_reported(tmp_path: Path) -> None:
    assert read_latent_history(tmp_path) is None
    (tmp_path / LATENT_HISTORY_FILE).write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="damaged"):
        read_latent_history(tmp_path)


def test_torch_random_state_is_untouched_by_recording(small_splits) -> None:
    train, test = small_splits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(TrainConfig(arch="dense", hidden_dim=16, epochs=1), train, test)
    assert torch.equal(torch.rand(3), expected)
