"""Data-parallel training of one model with PyTorch's DistributedDataParallel on gloo (CPU).

    torchrun --nproc_per_node=2 -m jlml_core.jobs.torchrun --out /tmp/ddp --arch dense --epochs 2

torchrun starts the processes and sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; with
``--nnodes`` and ``--rdzv-endpoint`` the same command spans machines (docs/cluster.md). Every
process builds the same seeded model and walks the same shuffle; of each batch of
``batch_size`` images it takes every world_size-th one, and DDP averages the gradients, so
one optimiser step still sees one batch of ``batch_size`` images. Each process draws its own
VAE noise (seed + rank). The loop reuses `train.train_one_epoch` and `train.evaluate`.

The weights differ from a single-process `fit` with the same config (other noise, other sum
order), so they are saved into a store of their own (``--out``), never into the cache, whose
keys promise that one config gives one model.
"""

from __future__ import annotations

import math
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.batches import uses_channels_last
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.training.train import FitResult, evaluate, make_scheduler, train_one_epoch


def fit_data_parallel(
    config: TrainConfig, train: ImageDataset | None = None, test: ImageDataset | None = None
) -> FitResult:
    """Train `config` across the processes of the initialised default process group.

    Every rank returns the same trained model; history and metrics are rank 0's view
    (training means over this rank's images, test metrics on the whole test set).

    Raises:
        ConfigError: the batch size does not split evenly across the processes.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    if config.batch_size % world:
        raise ConfigError(f"batch_size {config.batch_size} must split evenly over {world} ranks.")
    train = train if train is not None else load_split(config.dataset, "train")
    test = test if test is not None else load_split(config.dataset, "test")
    train = train.subset(config.train_subset)
    # Whole batches only: a short last batch could leave a rank without an image.
    train = train.subset(len(train) - len(train) % config.batch_size or len(train))
    model = _build_on_cpu(config, train)
    ddp_model = DistributedDataParallel(model)  # also broadcasts rank 0's weights
    optimizer = torch.optim.Adam(ddp_model.parameters(), lr=config.learning_rate)
    scheduler = make_scheduler(optimizer, config, math.ceil(len(train) / config.batch_size))
    order_generator = torch.Generator().manual_seed(config.seed)  # the same on every rank
    noise_generator = torch.Generator().manual_seed(config.seed + rank)
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        record: dict[str, float] = {"epoch": epoch}
        record |= train_one_epoch(
            ddp_model,
            optimizer,
            train.images,
            config,
            order_generator,
            epoch=epoch,
            scheduler=scheduler,
            shard=(rank, world),
            noise_generator=noise_generator,
        )
        train_seconds = time.perf_counter() - epoch_start
        result = evaluate(model, test, config)
        record |= {
            "test_loss": result.loss,
            "test_reconstruction": result.reconstruction,
            "test_kl": result.kl,
            "images_per_second": len(train) / train_seconds,  # all ranks together
            "seconds": time.perf_counter() - epoch_start,
        }
        if result.neg_elbo is not None:
            record["test_neg_elbo"] = result.neg_elbo
        history.append(record)
    seconds = time.perf_counter() - started
    model = model.to(memory_format=torch.contiguous_format).eval()
    metrics = {k: v for k, v in history[-1].items() if k.startswith("test_")}
    metrics |= {
        "train_seconds": seconds,
        "images_per_second": history[-1]["images_per_second"],
        "world_size": world,
    }
    return FitResult(model, history, metrics, seconds)


def _build_on_cpu(config: TrainConfig, train: ImageDataset) -> torch.nn.Module:
    from jlml_core.nn.models import build_model

    model = build_model(config, train.image_shape)
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    return model
