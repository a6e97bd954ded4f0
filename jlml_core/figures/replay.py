"""Replaying the latent space as it formed: a stored `LatentHistory` on one fixed plane.

Every snapshot is drawn with `latent_history_plots.snapshot_scatter` on the same axes and, for
codes wider than 2-D, the same PCA plane, fitted on the final snapshot: the plane the trained
model ends in, so the replay shows the classes moving into it rather than the plane turning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from jlml_core.figures.history_scatter import Range, history_extent, plane_points, snapshot_scatter
from jlml_core.inference import latent
from jlml_core.store.checkpoints import LATENT_HISTORY_FILE
from jlml_core.training.latent_history import LatentHistory

FRAME_MILLISECONDS = 600


def has_latent_history(folder: Path | str) -> bool:
    """Whether the entry in `folder` recorded its codes while it trained."""
    return (Path(folder) / LATENT_HISTORY_FILE).is_file()


def snapshot_label(epoch: float) -> str:
    """ "epoch 0", "epoch 0.05", "epoch 0.25", "epoch 3": fractional inside the first epoch."""
    return f"epoch {float(epoch):.2f}".rstrip("0").rstrip(".")


def snapshot_numbers(history: LatentHistory, index: int) -> dict[str, str]:
    """When snapshot `index` was taken and the losses then, formatted for display.

    The train loss is "–" before the first step (nothing has been trained on yet).
    """
    train = float(history.train_loss[index])
    return {
        "moment": snapshot_label(history.epochs[index]),
        "optimiser steps": f"{int(history.steps[index]):,}",
        "train loss": f"{train:.4g}" if np.isfinite(train) else "–",
        "test loss": f"{float(history.test_loss[index]):.4g}",
    }


def loss_text(history: LatentHistory, index: int) -> str:
    """The train and test loss at snapshot `index`, e.g. "train loss 151.2 · test loss 149.8"."""
    numbers = snapshot_numbers(history, index)
    return f"train loss {numbers['train loss']} · test loss {numbers['test loss']}"


class ReplayPlane(NamedTuple):
    """Every snapshot's codes in one plane, with the axes that hold them all.

    Attributes:
        points: (T, N, 2) plane coordinates.
        x_range, y_range: axis ranges over all snapshots.
        axis_titles: ("z₁", "z₂"), or the principal components for wider codes.
    """

    points: np.ndarray
    x_range: Range
    y_range: Range
    axis_titles: tuple[str, str]


def replay_plane(history: LatentHistory) -> ReplayPlane:
    """Project all snapshots into one plane: as they are for D <= 2, else the 2-D PCA of the
    final snapshot's codes."""
    dim = history.mu.shape[2]
    projection = None if dim <= 2 else latent.fit_projection(history.mu[-1])
    points = np.stack([plane_points(mu, projection) for mu in history.mu])  # (T, N, 2)
    x_range, y_range = history_extent(points)
    titles = ("z₁", "z₂") if projection is None else ("PC 1", "PC 2")
    return ReplayPlane(points.astype(np.float32), x_range, y_range, titles)


def snapshot_figure(
    history: LatentHistory,
    plane: ReplayPlane,
    index: int,
    class_names: Sequence[str],
    height: int = 520,
    show_sigma: bool = True,
) -> go.Figure:
    """Snapshot `index` of a history on its replay plane, titled with its epoch and losses.

    With `show_sigma` (and a VAE's history) the hover gives each digit's posterior σ.
    """
    return snapshot_scatter(
        plane.points[index],
        history.labels,
        class_names,
        title=f"{snapshot_label(history.epochs[index])} · {loss_text(history, index)}",
        x_range=plane.x_range,
        y_range=plane.y_range,
        logvar=history.logvar[index] if show_sigma and history.logvar is not None else None,
        axis_titles=plane.axis_titles,
        height=height,
    )


def history_animation(
    history: LatentHistory, class_names: Sequence[str], height: int = 560
) -> go.Figure:
    """The whole history as a Plotly animation: one frame per snapshot, a play button and a
    slider labelled with the epoch; each frame's title gives the train and test loss.

    Args:
        history: a recorded history (at least one snapshot).
        class_names: legend name of each class index.
        height: figure height in pixels.
    """
    if len(history) == 0:
        raise ValueError("The history holds no snapshots.")
    plane = replay_plane(history)
    # Without the per-digit σ in the hover: it would add half again to the data of every frame.
    pictures = [
        snapshot_figure(history, plane, t, class_names, height, show_sigma=False)
        for t in range(len(history))
    ]
    names = [snapshot_label(epoch) for epoch in history.epochs]
    figure = go.Figure(pictures[0])
    figure.frames = [
        go.Frame(data=picture.data, layout=dict(title=picture.layout.title), name=name)
        for picture, name in zip(pictures, names, strict=True)
    ]
    play = dict(frame=dict(duration=FRAME_MILLISECONDS, redraw=False), fromcurrent=True,
                transition=dict(duration=FRAME_MILLISECONDS // 2))  # fmt: skip
    pause = dict(frame=dict(duration=0, redraw=False), mode="immediate")
    figure.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.08,
                xanchor="left",
                yanchor="top",
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.18,
                len=0.82,
                y=-0.04,
                yanchor="top",
                currentvalue=dict(prefix="epoch ", font=dict(size=13)),
                # Bare numbers under the slider: 25 "epoch …" labels would overlap.
                steps=[
                    dict(label=name.removeprefix("epoch "), method="animate", args=[[name], pause])
                    for name in names
                ],
            )
        ],
        margin=dict(l=10, r=10, t=50, b=90),
    )
    return figure
