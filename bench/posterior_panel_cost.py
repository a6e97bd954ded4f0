"""CPU cost of the Latent Explorer's posterior panel per click, against the rest of the panel.

    python bench/posterior_panel_cost.py            # the zoo's default model, 200 test digits

Times, per clicked test digit, in CPU milliseconds of this thread (`time.thread_time`, so a
busy shared machine inflates it far less than wall time): the digit panel the page had
before (decode the code, score the loss, two PNGs) and what a VAE's posterior adds (8 samples
from q(z|x), their 8 decodes, and the one SVG picture that holds the ellipses and the decodes,
as an inline data URL). Prints medians and 90th percentiles.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import numpy as np  # noqa: E402
import torch  # noqa: E402

from jlml_core.data.datasets import load_split  # noqa: E402
from jlml_core.figures.images import png_bytes  # noqa: E402
from jlml_core.figures.posterior_picture import posterior_svg, svg_data_url  # noqa: E402
from jlml_core.inference import latent, posterior, reconstruction
from jlml_core.store import checkpoints, model_cache, zoo  # noqa: E402


def _cpu_ms(work) -> float:
    start = time.thread_time()
    work()
    return 1000 * (time.thread_time() - start)


def main() -> int:
    torch.set_num_threads(1)  # as dashboard/cache.py does
    config = zoo.ZOO[zoo.DEFAULT_MODEL]
    entry = next(e for s in model_cache.default_stores() for e in s.entries() if e.config == config)
    model = checkpoints.load_model(entry.path)
    test = load_split(config.dataset, "test")
    codes = latent.encode_images(model, test.images)
    projection = latent.fit_projection(codes.mu)
    rows = np.random.default_rng(0).choice(len(test.images), 200, replace=False)

    def digit_panel(row: int) -> None:
        decoded = latent.decode_points(model, codes.mu[row : row + 1])[0]
        reconstruction.per_image_loss(model, test.images[row : row + 1], config.loss)
        png_bytes(test.images[row].numpy() / 255.0, 5), png_bytes(decoded, 5)

    def posterior_panel(row: int) -> None:
        mu, logvar = codes.mu[row], codes.logvar[row]
        samples = posterior.sample_posterior(mu, logvar, 8)
        decoded = latent.decode_points(model, samples)
        svg_data_url(posterior_svg(mu, logvar, projection, samples, decoded))

    for work in (digit_panel, posterior_panel):  # warm up imports and caches
        work(int(rows[0]))
    for name, work in (("digit panel (before)", digit_panel), ("posterior adds", posterior_panel)):
        times = [_cpu_ms(lambda r=int(r), work=work: work(r)) for r in rows]
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{name:22s} median {statistics.median(times):5.1f} ms  p90 {p90:5.1f} ms CPU")
    print(f"model {entry.path.name}, {len(rows)} test digits, torch threads 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
