"""jlml_core/figures/exports.py and replay_gif.py: file names, CSV, the mosaic PNG, the GIF."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.figures import replay_gif
from jlml_core.figures.colors import class_color
from jlml_core.figures.exports import (
    codes_csv,
    file_name,
    file_stem,
    model_name,
    safe_name,
    table_csv,
)
from jlml_core.figures.images import png_bytes, to_uint8
from jlml_core.figures.replay import replay_plane
from jlml_core.inference import latent
from jlml_core.store import checkpoints
from jlml_core.store.zoo import DEFAULT_MODEL, ZOO
from jlml_core.training.latent_history import LatentHistory
from tests.apptest_helpers import entry_for

# --- File names --------------------------------------------------------------------------------


def test_a_zoo_model_is_named_by_its_zoo_name() -> None:
    assert file_name("latent_codes", "csv", ZOO[DEFAULT_MODEL]) == "vae-cnn-z2_latent_codes.csv"
    assert file_stem("latent_scatter", ZOO["sweep-vae-cnn-z2-w10"]) == (
        "sweep-vae-cnn-z2-w10_latent_scatter"
    )
    # an equal config built anew is still the zoo's model
    assert model_name(TrainConfig.from_dict(ZOO["vae-dense-z2"].to_dict())) == "vae-dense-z2"


def test_any_other_model_is_named_by_its_folder_name() -> None:
    config = TrainConfig(kind="vae", arch="dense", latent_dim=3, epochs=1, seed=7)
    assert file_name("latent_replay", ".gif", config) == f"{config.slug()}_latent_replay.gif"
    assert config.slug().startswith("mnist-vae-dense-z3-bce-")


def test_a_file_of_many_models_and_odd_characters() -> None:
    assert file_name("model_zoo_metrics", "csv") == "jlml_model_zoo_metrics.csv"
    assert file_stem("model_zoo_test −ELBO") == "jlml_model_zoo_test-ELBO"
    assert safe_name("../../etc/passwd") == "etc-passwd"  # no folder part survives
    assert safe_name("z = 2: the default model's recipe") == "z-2-the-default-model-s-recipe"
    assert safe_name("···") == "jlml"
    assert len(safe_name("x" * 500)) == 100


# --- CSV ---------------------------------------------------------------------------------------


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_codes_csv_reads_back_as_the_encodings_of_a_real_model(tiny_cache: Path) -> None:
    entry = entry_for(tiny_cache, "vae", latent_dim=4)
    test = load_split("mnist", "test")
    mu = latent.encode_images(checkpoints.load_model(entry.path), test.images).mu  # (10000, 4)
    header, *rows = _parse(codes_csv(mu, test.labels.numpy()))
    assert header == ["index", "label", "z1", "z2", "z3", "z4"]
    assert [int(r[0]) for r in rows] == list(range(10_000))
    assert [int(r[1]) for r in rows] == test.labels.tolist()
    read = np.array([[float(v) for v in r[2:]] for r in rows], np.float32)
    assert np.array_equal(read, mu)  # 9 significant digits: float32 reads back exactly


def test_codes_csv_takes_test_set_rows_and_refuses_mismatched_shapes() -> None:
    mu = np.array([[0.5, -1.25], [1e-8, 3.0]], np.float32)
    text = codes_csv(mu, np.array([7, 1]), rows=np.array([40, 2]))
    assert _parse(text) == [["index", "label", "z1", "z2"], ["40", "7", "0.5", "-1.25"],
                            ["2", "1", "9.99999994e-09", "3"]]  # fmt: skip
    with pytest.raises(ValueError, match="N labels"):
        codes_csv(mu, np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        codes_csv(mu[0], np.array([1]))


def test_table_csv_keeps_columns_numbers_and_gaps() -> None:
    rows = [
        {"model": "VAE · dense, z=2", "test −ELBO": np.float64(146.8125), "kNN acc": 0.9},
        {"model": 'say "hi"', "test −ELBO": math.nan, "kNN acc": None, "extra": 1},
    ]
    header, first, second = _parse(table_csv(rows, ["model", "test −ELBO", "kNN acc"]))
    assert header == ["model", "test −ELBO", "kNN acc"]
    assert first == ["VAE · dense, z=2", "146.8125", "0.9"]
    assert second == ['say "hi"', "", ""]  # missing and NaN: empty cells
    assert _parse(table_csv(rows[:1]))[0] == ["model", "test −ELBO", "kNN acc"]
    assert table_csv([], ["a", "b"]) == "a,b\n"


# --- The mosaic PNG ----------------------------------------------------------------------------


def test_a_mosaic_png_decodes_to_the_mosaic() -> None:
    digits = np.random.default_rng(0).random((9, 28, 28), dtype=np.float32)
    mosaic = latent.tile(digits, 3)  # (86, 86): 3 x 28 and the gaps
    picture = np.asarray(Image.open(io.BytesIO(png_bytes(mosaic, scale=4))))
    assert picture.shape == (4 * mosaic.shape[0], 4 * mosaic.shape[1]) == (344, 344)
    assert np.array_equal(picture[::4, ::4], to_uint8(mosaic))
    assert np.array_equal(picture[3::4, 3::4], to_uint8(mosaic))  # whole 4x4 blocks, no blur


# --- The replay GIF ----------------------------------------------------------------------------


def _history(snapshots: int, dim: int = 2) -> LatentHistory:
    """Point 0 stays at (1, 1) while the others spread out; classes 9, 0, 1, ... in turn (the
    fixed point is of the class drawn last, on top)."""
    rng = np.random.default_rng(1)
    count = 60
    mu = np.stack([rng.normal(0, 0.2 + t, (count, dim)) for t in range(snapshots)])
    mu[:, 0, :] = 0.0
    mu[:, 0, :2] = 1.0
    return LatentHistory(
        rows=np.arange(count),
        labels=(np.arange(count) + 9) % 10,
        steps=np.arange(snapshots) * 10,
        epochs=np.arange(snapshots, dtype=np.float32) / 4,
        mu=mu.astype(np.float32),
        logvar=None,
        train_loss=np.r_[np.nan, np.linspace(200, 150, snapshots - 1)].astype(np.float32),
        test_loss=np.linspace(210, 140, snapshots).astype(np.float32),
    )


def _frames(gif: bytes) -> list[Image.Image]:
    picture = Image.open(io.BytesIO(gif))
    frames = []
    for t in range(picture.n_frames):
        picture.seek(t)
        frames.append(picture.convert("RGB"))
    return frames


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def test_the_gif_has_a_frame_per_snapshot_on_fixed_axes() -> None:
    history = _history(5)
    frames = _frames(replay_gif.history_gif(history, [str(i) for i in range(10)], plot_size=300))
    assert len(frames) == len(history)
    width = replay_gif.MARGIN * 2 + 300 + replay_gif.LEGEND_WIDTH
    height = replay_gif.TITLE_HEIGHT + 300 + replay_gif.FOOTER_HEIGHT
    assert {frame.size for frame in frames} == {(width, height)}
    # Point 0 (class 9) never moves, so it sits on the same pixel in every frame: fixed axes.
    plane = replay_plane(history)
    (x0, x1), (y0, y1) = plane.x_range, plane.y_range
    column = replay_gif.MARGIN + round((1.0 - x0) / (x1 - x0) * 299)
    row = replay_gif.TITLE_HEIGHT + round((1.0 - (1.0 - y0) / (y1 - y0)) * 299)
    for frame in frames:
        assert frame.getpixel((column, row)) == _rgb(class_color(9))
    # Every class shows in its own colour; each frame's label (epoch, losses) differs.
    colours = {tuple(pixel) for pixel in np.asarray(frames[-1]).reshape(-1, 3).tolist()}
    assert {_rgb(class_color(label)) for label in range(10)} <= colours
    assert len({frame.tobytes() for frame in frames}) == len(frames)


def test_the_gif_of_wider_codes_and_its_timing() -> None:
    history = _history(3, dim=5)
    gif = replay_gif.history_gif(history, [f"class {i}" for i in range(10)], frame_milliseconds=300)
    picture = Image.open(io.BytesIO(gif))
    durations = []
    for t in range(picture.n_frames):
        picture.seek(t)
        durations.append(picture.info["duration"])
    assert durations == [300, 300, replay_gif.LAST_FRAME_MILLISECONDS]
    assert picture.info.get("loop") == 0  # plays forever
    none = np.zeros(0)
    empty = LatentHistory(none, none, none, none, np.zeros((0, 0, 2)), None, none, none)
    with pytest.raises(ValueError, match="no snapshots"):
        replay_gif.history_gif(empty, ["0"])


def test_the_gif_of_a_real_recording(tiny_cache: Path) -> None:
    entry = entry_for(tiny_cache, "vae")
    history = checkpoints.read_latent_history(entry.path)
    gif = replay_gif.history_gif(history, load_split("mnist", "test").class_names)
    picture = Image.open(io.BytesIO(gif))
    assert picture.format == "GIF" and picture.n_frames == len(history) > 5
    assert len(gif) < 1_000_000
