"""The VQ-VAE's numbers for docs/families/vq.md: codebook use and reconstruction error beside
the zoo's conv autoencoders.

    .venv/bin/python bench/vq_codebook.py            # the zoo in checkpoints/ (~1 min)
    .venv/bin/python bench/vq_codebook.py --subset 1000

Prints, for the zoo's VQ-VAE, the codebook perplexity, used and dead codes of K on the MNIST
test set, and, for it and the conv models it is compared with, the per-image test MSE and BCE
of the shown reconstructions (sigmoid of the logits, summed over 784 pixels), the numbers
stored (weights and the codebook) and the model file size. Also the VQ-VAE's negative ELBO
under a uniform prior over codes: its posterior is one code per position, so KL = 49 log K
and -ELBO = BCE + 49 log K.
"""

from __future__ import annotations

import argparse
import math
import platform

import torch

from jlml_core.analysis import codebook
from jlml_core.analysis.evaluation import reconstruction_errors
from jlml_core.data.datasets import load_split
from jlml_core.store.checkpoints import MODEL_FILE, CheckpointStore, load_model
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO

VQ_MODEL = "vq-cnn"
# The conv autoencoders in the zoo: the plain AE of the same convolutions (z = 2, no dense
# bottleneck of 49 codes) and the z = 16 VAE of the 64-unit recipe.
COMPARED = ("ae-cnn-z2", "vae-cnn-z16-h64-bce")


def _weights(model: torch.nn.Module) -> int:
    """Numbers stored for the model: parameters and the VQ-VAE's codebook (a buffer)."""
    return sum(t.numel() for t in model.state_dict().values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None, help="first N test images only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    store = CheckpointStore(zoo_dir())
    test = load_split("mnist", "test").subset(args.subset)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, 1 thread")
    print(f"MNIST test images: {len(test)}")
    print(f"{'model':<22}{'weights':>9}{'file KB':>9}{'MSE':>8}{'BCE':>8}")
    for name in (VQ_MODEL, *COMPARED):
        config = ZOO[name]
        if not store.contains(config):
            print(f"{name:<22} not built in {zoo_dir()}")
            continue
        folder = store.path_for(config)
        model = load_model(folder)
        bce, mse = reconstruction_errors(model, test.images)
        size = (folder / MODEL_FILE).stat().st_size / 1024
        print(f"{name:<22}{_weights(model):>9,}{size:>9.0f}{mse:>8.2f}{bce:>8.2f}")
        if codebook.is_vq(model):
            usage = codebook.codebook_usage(model, test.images)
            positions = model.grid[1] * model.grid[2]
            kl = positions * math.log(model.codebook_size)
            print(
                f"  codebook: K = {model.codebook_size}, used {usage.used}, dead {usage.dead}, "
                f"perplexity {usage.perplexity:.1f}; {positions} positions x "
                f"log2 K = {positions * math.log2(model.codebook_size):.0f} bits per image"
            )
            print(f"  -ELBO under a uniform prior: {bce:.2f} + {kl:.2f} = {bce + kl:.2f} nats")


if __name__ == "__main__":
    main()
