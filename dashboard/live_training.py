"""The Train page's live view of a running `fit`: progress with time left, loss curves, codes.

`LiveTraining` is the progress callback. It owns the placeholders it draws into, so the page
only creates one and hands it to `fit`. Each report rewrites the progress text (elapsed time
and the time left, rescaled by the speed seen so far); each latent snapshot redraws the
scatter of the recorded test digits' codes on axes that only ever grow, so a moving digit
really moved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from jlml_core.analysis import comparison
from jlml_core.config import TrainConfig
from jlml_core.figures import history_scatter, loss_curves
from jlml_core.training import calibration
from jlml_core.training.calibration import Throughput
from jlml_core.training.latent_history import LatentSnapshot
from jlml_core.training.train import Progress

from .charts import show_chart


def snapshot_title(snapshot: LatentSnapshot) -> str:
    """ "Epoch 0.25 · train loss 201.3 · test loss 187.9" (test: the recorded digits)."""
    if snapshot.train_loss is None:
        return f"Before training · test loss {snapshot.test_loss:.1f}"
    return (
        f"Epoch {snapshot.epoch:.2f} · train loss {snapshot.train_loss:.1f} · "
        f"test loss {snapshot.test_loss:.1f}"
    )


class LiveTraining:
    """Progress callback for `fit` that draws into placeholders on the page.

    Args:
        config: the configuration being trained.
        label: the model's display label.
        speed: the calibration behind the estimate.
        labels: test-set labels; the first N belong to the recorded digits.
        class_names: legend names of the classes.
        evaluate_every_epoch: whether every epoch is evaluated (else the last only).
    """

    def __init__(
        self,
        config: TrainConfig,
        label: str,
        speed: Throughput,
        labels: np.ndarray,
        class_names: Sequence[str],
        *,
        evaluate_every_epoch: bool = True,
    ) -> None:
        self.config, self.label, self.speed = config, label, speed
        self.labels, self.class_names = labels, class_names
        self.evaluate_every_epoch = evaluate_every_epoch
        self.estimate = calibration.estimate_training_seconds(
            config, speed, evaluate_every_epoch=evaluate_every_epoch
        )
        self.started = time.perf_counter()
        # Axes fit the first snapshot and only grow: early codes of a VAE are a small blob that
        # a fixed +-3 prior box would shrink to a dot.
        self.extent = None
        self.latent_figure: go.Figure | None = None
        self.loss_figure: go.Figure | None = None
        self.snapshots = 0
        self.bar = st.progress(0.0, text="Loading the data…")
        scatter_column, loss_column = st.columns([3, 2], gap="medium")
        self.scatter = scatter_column.empty()
        self.curves = loss_column.empty()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _time_text(self, progress: Progress) -> str:
        done = calibration.estimated_seconds_done(
            self.config,
            self.speed,
            progress.epoch,
            progress.step,
            progress.steps_per_epoch,
            epoch_done=progress.epoch_done,
            evaluate_every_epoch=self.evaluate_every_epoch,
        )
        elapsed = self.elapsed()
        left = calibration.remaining_seconds(self.estimate, done, elapsed)
        return f"{calibration.format_clock(elapsed)} elapsed · {_left(left)}"

    def __call__(self, progress: Progress) -> None:
        loss = "" if np.isnan(progress.loss) else f" · running loss {progress.loss:.2f}"
        self.bar.progress(
            min(progress.fraction, 1.0),
            text=f"Epoch {progress.epoch} of {progress.epochs} · step {progress.step} of "
            f"{progress.steps_per_epoch}{loss} · {self._time_text(progress)}",
        )
        if progress.snapshot is not None:
            self._draw_snapshot(progress.snapshot)
        if progress.epoch_done:
            history = {self.label: progress.history}
            self.loss_figure = loss_curves.training_curves_figure(history, epochs=progress.epochs)
            show_chart(
                self.loss_figure,
                name="training_curves",
                model=self.config,
                where=self.curves,
                key=f"train_live_{progress.epoch}",
                alt=f"Training curves so far: loss per epoch up to epoch {progress.epoch}",
            )

    def _draw_snapshot(self, snapshot: LatentSnapshot) -> None:
        wide = snapshot.mu.shape[1] > 2
        # No later snapshot is known yet, so a wide code is drawn in the PCA plane of its own
        # snapshot (`fit_projection` fixes the signs, so the picture does not flip).
        points = history_scatter.plane_points(snapshot.mu)  # (N, 2)
        self.extent = history_scatter.grow_extent(self.extent, points)
        self.snapshots += 1
        self.latent_figure = history_scatter.snapshot_scatter(
            points,
            self.labels[: len(points)],
            self.class_names,
            title=snapshot_title(snapshot),
            x_range=self.extent[0],
            y_range=self.extent[1],
            logvar=snapshot.logvar,
            axis_titles=("PC 1", "PC 2") if wide else ("z₁", "z₂"),
        )
        show_chart(
            self.latent_figure,
            name="latent_space",
            model=self.config,
            where=self.scatter,
            key=f"train_latent_{self.snapshots}",
            alt=f"Scatter of test digits' codes in the latent plane at snapshot "
            f"{self.snapshots} of training, coloured by class",
        )


def _left(seconds: float) -> str:
    return "finishing" if seconds < 0.5 else f"{comparison.format_duration(seconds)} left"
