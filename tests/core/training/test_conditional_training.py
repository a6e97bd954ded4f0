"""Labels flow through training: `train_one_epoch`, `evaluate`, `fit`'s latent history, the
time estimate and data-parallel training all give a conditional model its images' classes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from jlml_core.config import TrainConfig
from jlml_core.data.batches import prepare_batch
from jlml_core.data.datasets import load_split
from jlml_core.inference import latent
from jlml_core.nn import losses
from jlml_core.nn.models import build_model
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training import calibration
from jlml_core.training.objective import evaluate
from jlml_core.training.train import fit, make_optimizer, train_one_epoch
from tests.tiny_configs import TINY_CVAE

CVAE = TINY_CVAE
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data():
    return load_split("mnist", "train").subset(3000), load_split("mnist", "test").subset(500)


@pytest.fixture(scope="module")
def trained(data):
    train, test = data
    return fit(CVAE, train, test)


def test_train_one_epoch_without_labels_names_them() -> None:
    model = build_model(CVAE)
    images = load_split("mnist", "test").subset(64).images
    with pytest.raises(ValueError, match="labelled images"):
        train_one_epoch(model, make_optimizer(model, CVAE), images, CVAE, torch.Generator())


def test_evaluate_scores_each_image_given_its_own_label(trained, data) -> None:
    _, test = data
    model = trained.model
    result = evaluate(model, test, CVAE)
    x = prepare_batch(test.images, torch.device("cpu"), False)
    with torch.no_grad():
        mu, logvar = model.encode(x, test.labels)
        logits = model.decode(mu, test.labels)
    bce = losses.reconstruction_loss("bce", logits, x, reduction="none").mean()
    kl = losses.kl_standard_normal(mu, logvar)
    assert result.reconstruction == pytest.approx(float(bce), rel=1e-4)
    assert result.kl == pytest.approx(float(kl), rel=1e-4)
    # Under wrong labels the same model reconstructs worse: the label carries information.
    with torch.no_grad():
        wrong = (test.labels + 5) % 10
        logits = model.decode(model.encode(x, wrong)[0], wrong)
    wrong_bce = losses.reconstruction_loss("bce", logits, x, reduction="none").mean()
    assert float(wrong_bce) > float(bce) + 5  # nats per image


def test_the_label_buys_likelihood_over_the_same_vae(trained, data) -> None:
    """log p(x|y) >= what the unconditional twin reaches: the class is information z need not
    carry (measured: 189.7 against 193.2 nats after 2 epochs on 3,000 digits)."""
    train, test = data
    plain = fit(CVAE.replace(conditional=False), train, test, record_latents=False)
    assert trained.metrics["test_neg_elbo"] < plain.metrics["test_neg_elbo"] - 2


def test_fit_records_the_latent_history_with_labels(trained, data) -> None:
    _, test = data
    history = trained.latent_history
    assert history is not None and len(history) >= 3
    assert history.test_loss[-1] < history.test_loss[0]  # the recorded digits' loss fell
    # The last snapshot holds q(z|x, y) of the recorded digits under the trained model.
    rows = torch.from_numpy(history.rows)
    codes = latent.encode_images(trained.model, test.images[rows], labels=test.labels[rows])
    np.testing.assert_allclose(history.mu[-1], codes.mu, atol=1e-4)
    np.testing.assert_array_equal(history.labels, test.labels[rows].numpy())


def test_the_time_estimate_measures_a_conditional_model(data) -> None:
    train, test = data
    speed = calibration.measure_throughput(CVAE, steps=3, test_images=200, train=train, test=test)
    assert speed.train_images_per_second > 0 and speed.snapshot_images_per_second > 0


@pytest.mark.slow
def test_torchrun_trains_a_conditional_model_on_two_ranks(tmp_path: Path) -> None:
    flags = "--arch dense --hidden-dim 16 --train-subset 256 --epochs 1 --conditional true"
    config = TrainConfig(arch="dense", hidden_dim=16, train_subset=256, epochs=1, conditional=True)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, "--nproc_per_node=2", "-m", "jlml_core.jobs.torchrun"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path), *flags.split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (entry,) = CheckpointStore(tmp_path).entries()
    assert entry.config == config and entry.metrics["world_size"] == 2
    model = CheckpointStore(tmp_path).load(config)
    assert model.conditional and model.to_mu.in_features == 16 + 10
