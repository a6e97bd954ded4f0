"""Data-parallel training of one model with PyTorch's DistributedDataParallel on gloo (CPU).

    torchrun --nproc_per_node=2 -m jlml_core.jobs.torchrun --out /tmp/ddp --arch dense --epochs 2

torchrun starts the processes and sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; with
``--nnodes`` and ``--rdzv-endpoint`` the same command spans machines (docs/cluster.md). Every
process builds the same seeded model and walks the same shuffle; of each batch of
``batch_size`` images it takes every world_size-th one, and DDP averages the gradients, so
one optimiser step still sees one batch of ``batch_size`` images. Each process draws its own
VAE noise (seed + rank). The loop reuses `train.train_one_epoch` and `objective.evaluate`, and
`history.record_epochs` writes the same records as `fit`'s.

The weights differ from a single-process `fit` with the same config (other noise, other sum
order), so they are saved into a store of their own (``--out``), never into the cache, whose
keys promise that one config gives one model.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from jlml_core.config import ConfigError, TrainConfig
from jlml_core.data.batches import uses_channels_last
from jlml_core.data.datasets import ImageDataset, load_split
from jlml_core.training.history import record_epochs
from jlml_core.training.objective import evaluate
from jlml_core.training.train import FitResult, make_scheduler, train_one_epoch


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

    def train_shard(epoch: int) -> dict[str, float]:
        """This rank's share of every batch; DDP averages the gradients over the ranks."""
        return train_one_epoch(
            ddp_model,
            optimizer,
            images=train.images,  # all of them: `shard` takes this rank's share of each batch
            config=config,
            generator=order_generator,
            noise_generator=noise_generator,
            shard=(rank, world),
            epoch=epoch,
            scheduler=scheduler,
            labels=train.labels,  # a conditional model's classes, sharded with the images
        )

    evaluate_epoch = functools.partial(evaluate, model, test, config)
    # len(train) counts the images of all ranks, so the throughput is theirs together.
    history, metrics = record_epochs(config.epochs, train_shard, evaluate_epoch, len(train))
    model = model.to(memory_format=torch.contiguous_format).eval()
    metrics["world_size"] = world
    return FitResult(model, history, metrics, metrics["train_seconds"])


def _build_on_cpu(config: TrainConfig, train: ImageDataset) -> torch.nn.Module:
    from jlml_core.nn.models import build_model

    model = build_model(config, train.image_shape)
    if uses_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    return model
