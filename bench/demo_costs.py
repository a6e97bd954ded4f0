"""CPU cost of every bounded control at its laptop and its demo limit (process time, 1 thread).

    python bench/demo_costs.py            # the shipped zoo's heaviest models, ~1 min

For each control the page's own core calls run at the bound (decoding and PNG-encoding the
images a request shows), timed with time.process_time: CPU seconds of this process, so a busy
machine does not inflate them. Costs paid once per model and server (encoding the 10,000 test
images, scoring them for "worst reconstructed") are reported separately: they are cached.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dashboard.settings import DEMO_LIMITS, LAPTOP_LIMITS, Limits  # noqa: E402
from jlml_core.data.datasets import load_split  # noqa: E402
from jlml_core.figures import latent_scatter, loss_curves
from jlml_core.figures.images import png_bytes  # noqa: E402
from jlml_core.inference import latent, reconstruction
from jlml_core.store import (
    checkpoints,  # noqa: E402
    model_cache,
)

MODELS = ("vae-cnn_deep-z2", "vae-cnn_shallow-z16-bce")  # slowest decoder; widest code


def cpu(call: Callable[[], object], repeats: int = 3) -> float:
    """Least CPU seconds of `repeats` runs (the others include one-off warm-up)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def controls(model, test, codes: np.ndarray, limits: Limits) -> dict[str, Callable[[], object]]:
    projection = latent.fit_projection(codes)
    dim = model.latent_dim
    images = test.images

    def show(decoded: np.ndarray, columns: int) -> bytes:  # what the page sends: one PNG
        return png_bytes(latent.tile(decoded, columns), 2)

    def prior() -> bytes:
        n = limits.prior_grid
        return show(latent.decode_points(model, latent.sample_prior(n * n, dim, 0)), n)

    def interpolation() -> bytes:
        path = latent.interpolate(codes[0], codes[1], limits.interpolation_steps, "spherical")
        return show(latent.decode_points(model, path), limits.interpolation_steps)

    def plane() -> bytes:
        n = limits.plane_grid
        points = projection.lift(latent.grid_points((-3, 3), (-3, 3), n))
        return show(latent.decode_points(model, points), n)

    def mosaic() -> bytes:
        n = limits.mosaic_grid
        grid = latent.plane_grid(codes[0], codes[1], codes[2], n, 0.5).reshape(-1, dim)
        return show(latent.decode_points(model, grid), n)

    def manifold() -> object:
        points = projection.project(codes)
        x_range, y_range = plane.plane_extent(points)
        n = limits.manifold_digits
        background = plane.manifold_image(model, projection, x_range, y_range, n)
        return latent_scatter.latent_scatter(
            points, test.labels.numpy(), test.class_names, x_range, y_range, background=background
        ).to_json()

    def reconstructions() -> list[bytes]:  # two models' rows with pixel errors: 2 x 3 rows
        picked = images[: limits.shown_digits]
        shown = []
        for _ in range(2):
            decoded = latent.reconstruct(model, picked)
            reconstruction.per_image_loss(model, picked, "bce")
            error = reconstruction.pixel_error(picked.numpy() / 255.0, decoded)
            shown += [png_bytes(i, 4) for i in (*decoded, *reconstruction.error_colors(error))]
        return shown

    def zoo_scatters() -> list[str]:  # every compared model's scatter at the point limit
        n = limits.zoo_points
        figure = loss_curves.latent_scatter_figure(
            projection.project(codes[:n]), test.labels[:n].numpy(), test.class_names, "m"
        )
        return [figure.to_json() for _ in range(limits.compared_models)]

    return {
        "Generation: prior grid": prior,
        "Generation: interpolation": interpolation,
        "Generation: plane grid": plane,
        "Generation: three-digit mosaic": mosaic,
        "Generation: all four tabs (one rerun)": lambda: (
            prior(),
            interpolation(),
            plane(),
            mosaic(),
        ),
        "Latent Explorer: manifold background": manifold,
        "Reconstructions: two models + errors": reconstructions,
        "Model Zoo: scatters of compared models": zoo_scatters,
    }


def main() -> int:
    torch.set_num_threads(1)  # as dashboard/cache.py
    test = load_split("mnist", "test")
    entries = {e.path.name: e for e in checkpoints.CheckpointStore(model_cache.zoo_dir()).entries()}
    for wanted in MODELS:
        name = next(n for n in entries if wanted in n)
        model = checkpoints.load_model(entries[name].path)
        start = time.process_time()
        codes = latent.encode_images(model, test.images).mu
        encode = time.process_time() - start
        start = time.process_time()
        reconstruction.per_image_loss(model, test.images, "bce")
        score = time.process_time() - start
        print(f"\n{name}: once per server, cached: encode test set {encode:.2f} s, "
              f"score test set {score:.2f} s")  # fmt: skip
        laptop = controls(model, test, codes, LAPTOP_LIMITS)
        demo = controls(model, test, codes, DEMO_LIMITS)
        print(f"{'control':42s} {'laptop bound':>13s} {'demo bound':>11s}  (CPU s)")
        for label in laptop:
            print(f"{label:42s} {cpu(laptop[label]):13.3f} {cpu(demo[label]):11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
