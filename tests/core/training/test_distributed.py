"""Data-parallel training: two real processes on gloo end with identical weights, and the
training lowers the test loss."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from jlml_core.config import TrainConfig
from jlml_core.data.datasets import load_split
from jlml_core.nn.models import build_model
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.training.distributed import fit_data_parallel
from jlml_core.training.objective import evaluate

CONFIG = TrainConfig(arch="dense", hidden_dim=32, train_subset=1024, epochs=2, batch_size=64)
WORLD_SIZE = 2
ROOT = Path(__file__).resolve().parents[3]


def _train_rank(rank: int, folder: str) -> None:
    """One process: join the group, train, save this rank's weights and history."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD_SIZE
    )
    try:
        test = load_split("mnist", "test").subset(500)
        result = fit_data_parallel(CONFIG, test=test)
        losses = torch.tensor([record["train_loss"] for record in result.history])
        save_file({**result.model.state_dict(), "train_loss": losses}, f"{folder}/rank{rank}.st")
    finally:
        dist.destroy_process_group()


def spawn_ranks(folder: str) -> None:
    """Train WORLD_SIZE ranks into `folder` (run in a fresh interpreter by the test)."""
    mp.spawn(_train_rank, args=(folder,), nprocs=WORLD_SIZE, join=True)


@pytest.mark.slow
def test_two_ranks_end_identical_and_learn(tmp_path: Path) -> None:
    # The ranks start from a fresh interpreter: started from pytest's own process after the
    # page tests (Streamlit and its threads loaded), a rank aborted inside gloo.
    module = "tests.core.training.test_distributed"
    code = f"from {module} import spawn_ranks; spawn_ranks({str(tmp_path)!r})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=600)
    first, second = (load_file(tmp_path / f"rank{rank}.st") for rank in range(WORLD_SIZE))
    losses = [state.pop("train_loss") for state in (first, second)]
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), f"{name} differs between the ranks"
    assert all(loss[1] < loss[0] for loss in losses)  # each rank's share of the data
    test = load_split("mnist", "test").subset(500)
    untrained = build_model(CONFIG)
    trained = build_model(CONFIG)
    trained.load_state_dict(first)
    before, after = evaluate(untrained, test, CONFIG), evaluate(trained, test, CONFIG)
    assert after.neg_elbo < before.neg_elbo - 100  # measured: 553.7 -> 406.4 nats


@pytest.mark.slow
def test_torchrun_entry_point_trains_the_flags_config_into_the_store(tmp_path: Path) -> None:
    flags = "--arch dense --hidden-dim 16 --train-subset 256 --epochs 1 --lr 0.01"
    config = TrainConfig(
        arch="dense", hidden_dim=16, train_subset=256, epochs=1, learning_rate=0.01
    )
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, f"--nproc_per_node={WORLD_SIZE}", "-m", "jlml_core.jobs.torchrun"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path), *flags.split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (entry,) = CheckpointStore(tmp_path).entries()  # rank 0 saved it, once
    assert entry.config == config and entry.path.name == config.slug()
    assert entry.metrics["world_size"] == WORLD_SIZE
