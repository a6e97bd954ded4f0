"""Tests for figures.replay: labels, one plane for all snapshots, the animation."""

from __future__ import annotations

import numpy as np
import pytest

from jlml_core.figures import replay
from jlml_core.inference import latent
from jlml_core.training.latent_history import LatentHistory

CLASSES = tuple(str(i) for i in range(10))


def _history(dim: int = 2, snapshots: int = 5, digits: int = 60) -> LatentHistory:
    rng = np.random.default_rng(0)
    labels = np.arange(digits) % 10
    # Classes drift apart as training goes on: snapshot t has class centres t times wider.
    centres = rng.normal(size=(10, dim))
    mu = np.stack(
        [t * centres[labels] + 0.1 * rng.normal(size=(digits, dim)) for t in range(snapshots)]
    ).astype(np.float32)
    return LatentHistory(
        rows=np.arange(digits),
        labels=labels,
        steps=np.array([0, 23, 117, 469, 938][:snapshots]),
        epochs=np.array([0.0, 0.05, 0.25, 1.0, 2.0][:snapshots], np.float32),
        mu=mu,
        logvar=np.full_like(mu, -2.0),
        train_loss=np.array([np.nan, 200.0, 170.0, 160.0, 150.0][:snapshots], np.float32),
        test_loss=np.array([540.0, 210.0, 172.0, 158.0, 149.5][:snapshots], np.float32),
    )


@pytest.mark.parametrize(
    ("epoch", "label"),
    [
        (0.0, "epoch 0"),
        (0.049, "epoch 0.05"),
        (0.25, "epoch 0.25"),
        (1.0, "epoch 1"),
        (12.0, "epoch 12"),
    ],  # fmt: skip
)
def test_snapshot_label(epoch: float, label: str) -> None:
    assert replay.snapshot_label(epoch) == label


def test_snapshot_numbers_show_no_train_loss_before_the_first_step() -> None:
    history = _history()
    assert replay.snapshot_numbers(history, 0)["train loss"] == "–"
    assert replay.snapshot_numbers(history, 2) == {
        "moment": "epoch 0.25",
        "optimiser steps": "117",
        "train loss": "170",
        "test loss": "172",
    }


def test_wide_codes_use_the_pca_plane_of_the_final_snapshot_for_every_snapshot() -> None:
    history = _history(dim=5)
    plane = replay.replay_plane(history)
    assert plane.points.shape == (5, 60, 2)
    assert plane.axis_titles == ("PC 1", "PC 2")
    projection = latent.fit_projection(history.mu[-1])
    np.testing.assert_allclose(plane.points[1], projection.project(history.mu[1]), atol=1e-5)
    low, high = plane.x_range
    assert low <= plane.points[..., 0].min() and plane.points[..., 0].max() <= high


def test_two_dimensional_codes_are_drawn_as_they_are() -> None:
    history = _history(dim=2)
    plane = replay.replay_plane(history)
    np.testing.assert_array_equal(plane.points, history.mu)
    assert plane.axis_titles == ("z₁", "z₂")


def test_animation_has_a_frame_and_a_slider_step_per_snapshot_on_fixed_axes() -> None:
    history = _history(dim=3)
    figure = replay.history_animation(history, CLASSES)
    assert len(figure.frames) == len(history) == 5
    names = [frame.name for frame in figure.frames]
    assert names == ["epoch 0", "epoch 0.05", "epoch 0.25", "epoch 1", "epoch 2"]
    steps = figure.layout.sliders[0].steps
    assert [step.label for step in steps] == ["0", "0.05", "0.25", "1", "2"]
    assert [list(step.args[0]) for step in steps] == [[name] for name in names]
    assert [b.label for b in figure.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    assert "train loss 150 · test loss 149.5" in figure.frames[-1].layout.title.text
    for frame in figure.frames:  # one trace per class in every frame, as in the first
        assert [t.name for t in frame.data] == [t.name for t in figure.data] == list(CLASSES)
    plane = replay.replay_plane(history)
    assert tuple(figure.layout.xaxis.range) == pytest.approx(plane.x_range)
    last = np.concatenate([t.x for t in figure.frames[-1].data])
    assert len(last) == 60


def test_animation_of_an_empty_history_is_an_error() -> None:
    history = _history(snapshots=1)
    empty = history.__class__(**{**history.__dict__, "steps": history.steps[:0],
                                 "epochs": history.epochs[:0], "mu": history.mu[:0]})  # fmt: skip
    with pytest.raises(ValueError, match="no snapshots"):
        replay.history_animation(empty, CLASSES)
