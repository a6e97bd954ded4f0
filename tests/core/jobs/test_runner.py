"""The job runner: a tiny sweep trained through Ray (a real local instance, real worker
processes) gives the same bytes as the local backend, both ways a model can reach the store."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jlml_core import cli
from jlml_core.config import TrainConfig
from jlml_core.jobs import runner, zoo_build
from jlml_core.jobs.sweep import run_sweep, sweep_configs
from jlml_core.store import zoo
from jlml_core.store.checkpoints import MODEL_FILE, CheckpointError, CheckpointStore, entry_files

ROOT = Path(__file__).resolve().parents[3]
# Four models that train in about a second each: kl_weight x latent_dim.
BASE = TrainConfig(arch="dense", hidden_dim=16, train_subset=1000, epochs=1, seed=3)
GRID = {"kl_weight": [0.5, 2.0], "latent_dim": [2, 16]}


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep trained by the local backend (in this process, single-threaded)."""
    root = tmp_path_factory.mktemp("local_store")
    run_sweep(sweep_configs(BASE, GRID), root, workers=1)
    return root


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    """One local Ray instance for the module: 2 CPUs, no dashboard, no network.

    Its workers import this checkout's jlml_core (PYTHONPATH), as a cluster's nodes import
    their installed one. A short temp folder: Ray's socket paths must stay under 108 bytes.
    """
    ray = pytest.importorskip("ray")
    temp_dir = tempfile.mkdtemp(prefix="jlml-ray-")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        _temp_dir=temp_dir,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _model_bytes(root: Path) -> dict[str, bytes]:
    return {
        entry.path.name: (entry.path / MODEL_FILE).read_bytes()
        for entry in CheckpointStore(root).entries()
    }


@pytest.mark.slow
@pytest.mark.parametrize("transfer", ["shared", "return"])
def test_ray_sweep_matches_the_local_run_bit_for_bit(
    transfer: str, ray_cluster: object, local_store: Path, tmp_path: Path
) -> None:
    configs = sweep_configs(BASE, GRID)
    records = run_sweep(configs, tmp_path, ray_address="auto", transfer=transfer)
    # What the dashboard lists: every model, with its config and test metrics.
    entries = CheckpointStore(tmp_path).entries()
    assert sorted(e.config.key() for e in entries) == sorted(c.key() for c in configs)
    assert all(e.metrics["test_neg_elbo"] > 0 for e in entries)
    assert [r["folder"] for r in records] == [c.slug() for c in configs]
    local, remote = _model_bytes(local_store), _model_bytes(tmp_path)
    assert len(local) == 4 and local.keys() == remote.keys()
    for name in local:
        assert remote[name] == local[name], f"{name}: Ray's weights differ from the local run's"
    # The probe that told the tasks whether they see the store is gone.
    assert not list(tmp_path.glob(".ray-probe-*"))


def test_present_models_are_not_sent_to_ray(local_store: Path, monkeypatch) -> None:
    # Everything is in the store already, so the run needs no cluster: ray.init must not run.
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "init", lambda **_: pytest.fail("ray.init was called"))
    before = _model_bytes(local_store)
    records = run_sweep(sweep_configs(BASE, GRID), local_store, ray_address="local")
    assert len(records) == 4
    assert _model_bytes(local_store) == before


def test_missing_ray_says_how_to_install_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install jlml\[cluster\]"):
        run_sweep([BASE], tmp_path, ray_address="auto")
    assert not any(tmp_path.iterdir())  # failed before training anything


def test_ray_init_arguments_for_a_private_instance_need_no_dashboard() -> None:
    assert runner.ray_init_arguments("local", 3) == {"num_cpus": 3, "include_dashboard": False}
    assert runner.ray_init_arguments("auto", 3) == {"address": "auto"}


def test_save_files_copies_an_entry_byte_for_byte(local_store: Path, tmp_path: Path) -> None:
    source = CheckpointStore(local_store).entries()[0]
    files = entry_files(source.path)
    target = CheckpointStore(tmp_path)
    folder = target.save_files(source.config, files)
    assert folder == target.path_for(source.config)
    assert entry_files(folder) == files
    assert target.entries()[0].metrics == source.metrics


def test_save_files_refuses_incomplete_or_foreign_entries(
    local_store: Path, tmp_path: Path
) -> None:
    first, second = CheckpointStore(local_store).entries()[:2]
    files = entry_files(first.path)
    target = CheckpointStore(tmp_path)
    with pytest.raises(CheckpointError, match="lacks model.safetensors"):
        target.save_files(first.config, {k: v for k, v in files.items() if k != MODEL_FILE})
    with pytest.raises(CheckpointError, match="another config"):
        target.save_files(second.config, files)
    with pytest.raises(CheckpointError, match="path"):
        target.save_files(first.config, {**files, "../escape": b""})
    assert target.entries() == []
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")]


def test_job_names_must_be_unique(tmp_path: Path) -> None:
    job = runner.TrainJob("same", BASE)
    with pytest.raises(ValueError, match="unique"):
        runner.run_jobs([job, job], tmp_path)


@pytest.mark.slow
def test_zoo_builds_through_ray_and_records_its_manifest(
    ray_cluster: object, local_store: Path, tmp_path: Path, monkeypatch
) -> None:
    config = sweep_configs(BASE, GRID)[0]
    monkeypatch.setitem(zoo.ZOO, "tiny", config)
    manifest = zoo_build.build_zoo(["tiny"], tmp_path, evaluate=False, ray_address="auto")
    assert zoo.read_manifest(tmp_path) == manifest
    assert manifest["tiny"]["folder"] == config.slug()
    assert manifest["tiny"]["command"] == "python -m jlml_core zoo --only tiny"
    built = (tmp_path / config.slug() / MODEL_FILE).read_bytes()
    assert built == (local_store / config.slug() / MODEL_FILE).read_bytes()


def test_zoo_and_sweep_commands_take_a_ray_address() -> None:
    parser = cli.build_parser()
    zoo_args = parser.parse_args(["zoo", "--ray", "auto", "--ray-transfer", "return"])
    assert (zoo_args.ray, zoo_args.ray_transfer) == ("auto", "return")
    sweep_args = parser.parse_args(["sweep", "--ray", "10.0.0.1:6379"])
    assert (sweep_args.ray, sweep_args.ray_transfer) == ("10.0.0.1:6379", "auto")
