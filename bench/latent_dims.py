"""How the zoo's VAEs use their latent dimensions: KL per dimension, active units, I(x; z).

For each model: its test -ELBO and KL (from training's record), the KL of each dimension
(largest first, inactive ones marked), active units (Burda et al. 2016) and the I(x; z)
estimate over all 10,000 test images (He et al. 2019), plus what training recorded after its
last epoch (2,000 samples). The numbers of docs/families/latents.md.

    nice -n 5 .venv/bin/python bench/latent_dims.py                 # the beta and remedy trio
    nice -n 5 .venv/bin/python bench/latent_dims.py vae-cnn-z16     # any zoo VAE by name
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's jlml_core

from jlml_core.analysis.latent_dims import measure_model
from jlml_core.data.datasets import load_split
from jlml_core.jobs.zoo_build import machine_description
from jlml_core.store import checkpoints
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO

DEFAULT_MODELS = ("vae-cnn-z10-h64-beta1", "vae-cnn-z10-h64-beta4", "vae-cnn-z10-h64-beta4-fb05")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(DEFAULT_MODELS), help="zoo names")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    store = checkpoints.CheckpointStore(zoo_dir())
    print(f"machine: {machine_description()}")
    for name in args.models:
        config = ZOO[name]
        if not store.contains(config):
            print(f"\n{name}: not built in {zoo_dir()}; run python -m jlml_core zoo --only {name}")
            continue
        folder = store.path_for(config)
        entry = store.read_entry(folder)
        model = checkpoints.load_model(folder)
        test = load_split(config.dataset, "test")
        dims = measure_model(model, test.images)
        last = checkpoints.read_history(folder)[-1]
        metrics = entry.metrics
        print(
            f"\n{name}: beta {config.kl_weight:g}, free bits {config.free_bits:g}, "
            f"z = {config.latent_dim}, {config.epochs} epochs"
        )
        print(
            f"  test -ELBO {metrics['test_neg_elbo']:.2f} nats, KL {metrics['test_kl']:.2f}, "
            f"reconstruction {metrics['test_reconstruction']:.2f}"
        )
        print(
            f"  active units {dims.active_units} of {config.latent_dim}; "
            f"I(x; z) {dims.mutual_information:.3f} nats (all 10,000; ceiling ln N = 9.21)"
        )
        cells = [
            f"z{d + 1} {dims.kl_per_dim[d]:.3f}{'' if dims.active[d] else '*'}" for d in dims.order
        ]
        print("  KL per dimension, largest first (* inactive): " + ", ".join(cells))
        if "test_kl_per_dim" in last:
            print(
                f"  recorded after epoch {last['epoch']}: active units "
                f"{last['test_active_units']}, I(x; z) {last['test_mutual_information']:.3f} "
                "nats (2,000 samples)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
