"""Tests for store.checkpoints: exact round-trips, atomic writes, damage, locking."""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import multiprocessing
import os
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import jlml_core
from jlml_core.config import TrainConfig
from jlml_core.data.batches import uses_channels_last
from jlml_core.nn.models import Autoencoder, build_model
from jlml_core.store import checkpoints, model_cache, test_codes
from jlml_core.store.checkpoints import (
    LATENT_HISTORY_FILE,
    MODEL_FILE,
    CheckpointError,
    CheckpointStore,
    Entry,
    load_model,
    read_latent_history,
)
from jlml_core.store.model_cache import get_or_train
from jlml_core.training.latent_history import LatentHistory
from jlml_core.training.train import FitResult, Progress, TrainingCancelled, fit

KINDS = ["ae", "vae"]
ARCHS = ["dense", "cnn_shallow", "cnn_deep"]
# Trains in well under a second: used wherever a real `fit` has to run.
TINY = TrainConfig(arch="dense", hidden_dim=16, epochs=1, batch_size=100, train_subset=500)


def _fake_result(config: TrainConfig, image_shape=(1, 28, 28)) -> FitResult:
    """An untrained model whose batch-norm statistics have moved, so buffers must round-trip."""
    model = build_model(config, image_shape)
    with torch.no_grad():
        model.train()(torch.rand(8, *image_shape, generator=torch.Generator().manual_seed(1)))
    history = [{"epoch": 1, "train_loss": 200.0, "test_loss": 190.0}]
    return FitResult(model.eval(), history, {"test_loss": 190.0, "train_seconds": 1.5}, 1.5)


def _in_loaded_layout(model: Autoencoder) -> Autoencoder:
    """A copy in the memory layout `load_model` gives conv models (channels_last), so outputs
    are compared computation for computation: the layout picks different (equally valid)
    convolution kernels, whose float sums differ in the last bits."""
    copy = deepcopy(model)
    if uses_channels_last(copy):
        copy = copy.to(memory_format=torch.channels_last)
    return copy


def _fixed_codes(latent_dim: int) -> torch.Tensor:
    return torch.randn(5, latent_dim, generator=torch.Generator().manual_seed(2))


def _fixed_images(image_shape=(1, 28, 28)) -> torch.Tensor:
    return torch.rand(5, *image_shape, generator=torch.Generator().manual_seed(3))


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_reproduces_outputs_exactly(tmp_path: Path, kind: str, arch: str) -> None:
    config = TrainConfig(kind=kind, arch=arch, latent_dim=3)
    result = _fake_result(config)
    store = CheckpointStore(tmp_path)
    folder = store.save(config, result)
    loaded = store.load(config)
    assert isinstance(loaded, Autoencoder) and not loaded.training
    codes, images = _fixed_codes(3), _fixed_images()
    reference = _in_loaded_layout(result.model)
    with torch.no_grad():
        assert torch.equal(loaded.decode(codes), reference.decode(codes))
        assert torch.equal(loaded(images).logits, reference(images).logits)
    for name, tensor in result.model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert store.history(config) == result.history
    assert store.read_entry(folder).metrics == result.metrics
    assert folder.name == config.slug()


def test_round_trip_keeps_the_image_shape(tmp_path: Path) -> None:
    config = TrainConfig(arch="cnn_shallow", latent_dim=2)
    result = _fake_result(config, image_shape=(3, 16, 16))
    folder = CheckpointStore(tmp_path).save(config, result)
    loaded = load_model(folder)
    assert loaded.image_shape == (3, 16, 16)
    images = _fixed_images((3, 16, 16))
    with torch.no_grad():
        assert torch.equal(loaded(images).logits, _in_loaded_layout(result.model)(images).logits)


def test_extra_facts_go_into_metrics(tmp_path: Path) -> None:
    config = TrainConfig(arch="dense")
    store = CheckpointStore(tmp_path)
    store.save(config, _fake_result(config), extra={"data_sha256": "abc"})
    store.update_metrics(config, {"fid": 12.5})
    (entry,) = store.entries()
    assert entry.metrics == {
        "test_loss": 190.0,
        "train_seconds": 1.5,
        "data_sha256": "abc",
        "fid": 12.5,
    }
    assert not list(entry.path.glob("*.tmp"))


def _latent_history(variational: bool) -> LatentHistory:
    """Three snapshots of five digits in two dimensions, from fixed random numbers."""
    rng = np.random.default_rng(3)
    codes = rng.normal(size=(3, 5, 2)).astype(np.float32)  # (T, N, D)
    return LatentHistory(
        rows=np.arange(5) * 7,
        labels=np.array([3, 1, 4, 1, 5]),
        steps=np.array([0, 10, 20]),
        epochs=np.array([0.0, 0.5, 1.0]),
        mu=codes,
        logvar=-np.abs(codes) if variational else None,
        train_loss=np.array([np.nan, 201.5, 180.25]),
        test_loss=np.array([543.0, 199.0, 177.5]),
    )


@pytest.mark.parametrize("variational", [True, False])
def test_latent_history_round_trips_codes_in_float16(tmp_path: Path, variational: bool) -> None:
    history = _latent_history(variational)
    checkpoints.write_latent_history(tmp_path / LATENT_HISTORY_FILE, history)
    loaded = read_latent_history(tmp_path)
    for name in ("rows", "labels", "steps", "epochs", "train_loss", "test_loss"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(history, name))
    np.testing.assert_array_equal(loaded.mu, history.mu.astype(np.float16).astype(np.float32))
    assert loaded.mu.dtype == np.float32
    if variational:
        np.testing.assert_allclose(loaded.logvar, history.logvar, rtol=1e-3)
    else:
        assert loaded.logvar is None


def test_latent_history_without_its_codes_is_damaged(tmp_path: Path) -> None:
    history = _latent_history(variational=False)
    checkpoints.write_latent_history(tmp_path / LATENT_HISTORY_FILE, history)
    tensors = load_file(str(tmp_path / LATENT_HISTORY_FILE))
    del tensors["mu"]
    save_file(tensors, str(tmp_path / LATENT_HISTORY_FILE))
    with pytest.raises(CheckpointError, match="damaged.*mu"):
        read_latent_history(tmp_path)


# --- the encoded test set shipped beside a checkpoint ---------------------------------------


def _test_images(rows: int = 40, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (rows, 28, 28), dtype=torch.uint8, generator=generator)


def _encoded(rows: int, variational: bool) -> test_codes.EncodedTestSet:
    rng = np.random.default_rng(0)
    mu = (3 * rng.standard_normal((rows, 2))).astype(np.float32)
    return test_codes.EncodedTestSet(
        mu=mu,
        logvar=(-4 + rng.standard_normal((rows, 2))).astype(np.float32) if variational else None,
        losses=rng.normal(-5600.0, 300.0, rows).astype(np.float32),  # a CB model's magnitudes
        pixel_errors={"sigmoid": {"mse": 0.0391, "mae": 0.093, "sharpness": 0.27}},
        mutual_information=1.2345678901234567 if variational else None,
    )


def _entry_with_codes(root: Path, variational: bool = True) -> tuple[Path, torch.Tensor]:
    config = TINY.replace(kind="vae" if variational else "ae")
    folder = CheckpointStore(root).save(config, _fake_result(config))
    images = _test_images()
    encoded = _encoded(len(images), variational)
    test_codes.write_encoded_test_set(folder, encoded, test_codes.images_digest(images))
    return folder, images


@pytest.mark.parametrize("variational", [True, False])
def test_encoded_test_set_round_trips_means_and_losses_exactly_log_variances_in_float16(
    tmp_path: Path, variational: bool
) -> None:
    folder, images = _entry_with_codes(tmp_path, variational)
    written = _encoded(len(images), variational)
    loaded = test_codes.read_encoded_test_set(folder, test_codes.images_digest(images))
    assert loaded is not None
    np.testing.assert_array_equal(loaded.mu, written.mu)  # a click decodes from these
    assert loaded.mu.dtype == loaded.losses.dtype == np.float32
    np.testing.assert_array_equal(loaded.losses, written.losses)  # float32 as computed
    assert loaded.pixel_errors == written.pixel_errors
    assert loaded.mutual_information == written.mutual_information  # to the last bit
    if variational:
        np.testing.assert_array_equal(
            loaded.logvar, written.logvar.astype(np.float16).astype(np.float32)
        )
        assert loaded.logvar.dtype == np.float32
    else:
        assert loaded.logvar is None
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_an_encoded_test_set_of_other_images_or_weights_is_ignored(tmp_path: Path) -> None:
    folder, images = _entry_with_codes(tmp_path)
    digest = test_codes.images_digest(images)
    assert test_codes.read_encoded_test_set(folder, digest) is not None
    other = images.clone()
    other[0, 0, 0] ^= 1  # one pixel of one test image
    assert test_codes.read_encoded_test_set(folder, test_codes.images_digest(other)) is None
    assert test_codes.images_digest(images[:-1]) != digest  # fewer images: another key
    # Retrained: the same config with other weights, the old file put back beside them.
    shipped = (folder / test_codes.TEST_CODES_FILE).read_bytes()
    config = CheckpointStore(tmp_path).read_entry(folder).config
    retrained = _fake_result(config)
    with torch.no_grad():
        next(retrained.model.parameters()).add_(1e-3)
    CheckpointStore(tmp_path).save(config, retrained)
    assert not (folder / test_codes.TEST_CODES_FILE).exists()  # a new entry starts without one
    (folder / test_codes.TEST_CODES_FILE).write_bytes(shipped)
    assert test_codes.read_encoded_test_set(folder, digest) is None


def test_an_entry_without_an_encoded_test_set_has_none(tmp_path: Path) -> None:
    folder = CheckpointStore(tmp_path).save(TINY, _fake_result(TINY))
    assert test_codes.read_encoded_test_set(folder, "0" * 64) is None


def test_a_damaged_encoded_test_set_raises_checkpoint_error(tmp_path: Path) -> None:
    folder, images = _entry_with_codes(tmp_path)
    (folder / test_codes.TEST_CODES_FILE).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="test_codes.safetensors is damaged"):
        test_codes.read_encoded_test_set(folder, test_codes.images_digest(images))


# --- the cache: get_or_train ----------------------------------------------------------------


def test_get_or_train_trains_once_then_returns_the_cached_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fit = model_cache.fit
    calls: list[TrainConfig] = []

    def fit_once(config: TrainConfig, **kwargs) -> FitResult:
        if calls:
            raise AssertionError("fit was called for a cached config")
        calls.append(config)
        return real_fit(config, **kwargs)

    monkeypatch.setattr(model_cache, "fit", fit_once)
    stores = [CheckpointStore(tmp_path)]
    first = get_or_train(TINY, stores=stores)
    second = get_or_train(TINY, stores=stores)
    assert calls == [TINY]
    codes = _fixed_codes(TINY.latent_dim)
    with torch.no_grad():
        assert torch.equal(first.decode(codes), second.decode(codes))
    assert stores[0].history(TINY)[0]["epoch"] == 1


def test_get_or_train_prefers_earlier_stores_and_writes_to_the_last_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoo = CheckpointStore(tmp_path / "zoo")
    zoo.save(TINY, _fake_result(TINY))
    zoo.read_only = True
    cache = CheckpointStore(tmp_path / "cache")
    monkeypatch.setattr(model_cache, "fit", _must_not_train)
    get_or_train(TINY, stores=[zoo, cache])
    assert not cache.root.exists()

    other = TINY.replace(seed=1)
    monkeypatch.setattr(model_cache, "fit", lambda config, **_: _fake_result(config))
    get_or_train(other, stores=[zoo, cache])
    assert cache.contains(other) and not zoo.contains(other)


def _must_not_train(config: TrainConfig, **_) -> FitResult:
    raise AssertionError("fit was called for a cached config")


def test_get_or_train_needs_a_writable_store(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="writable"):
        get_or_train(TINY, stores=[CheckpointStore(tmp_path, read_only=True)])


def test_cancelled_training_caches_nothing(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    with pytest.raises(TrainingCancelled):
        get_or_train(TINY, stores=[store], on_progress=lambda progress: False)
    assert not store.contains(TINY) and store.entries() == []
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_the_cache_helpers_live_in_model_cache_and_the_package_exports_get_or_train() -> None:
    assert jlml_core.get_or_train is get_or_train
    for name in model_cache.__all__:
        assert not hasattr(checkpoints, name), name  # one home per name
    assert not hasattr(checkpoints, "fit")  # training is model_cache's business


# --- atomic writes --------------------------------------------------------------------------


def _half_written_save_file(tensors, filename, metadata=None) -> None:
    Path(filename).write_bytes(b"\x00" * 100)  # part of a file, then the disk fills up
    raise OSError("No space left on device")


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_failed_save_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    def failing_save_file(tensors, filename, metadata=None) -> None:
        Path(filename).write_bytes(b"\x00" * 100)
        raise error("interrupted halfway")

    monkeypatch.setattr(checkpoints, "save_file", failing_save_file)
    config = TrainConfig(arch="dense")
    store = CheckpointStore(tmp_path)
    with pytest.raises(error):
        store.save(config, _fake_result(config))
    assert list(tmp_path.iterdir()) == []
    assert not store.contains(config) and store.entries() == []


def test_failed_overwrite_keeps_the_old_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(arch="dense")
    store = CheckpointStore(tmp_path)
    old = _fake_result(config)
    store.save(config, old)
    monkeypatch.setattr(checkpoints, "save_file", _half_written_save_file)
    with pytest.raises(OSError):
        store.save(config, _fake_result(config.replace(seed=1)))
    assert [p.name for p in tmp_path.iterdir()] == [config.slug()]
    codes = _fixed_codes(config.latent_dim)
    with torch.no_grad():
        assert torch.equal(store.load(config).decode(codes), old.model.decode(codes))


# --- damaged entries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a safetensors file", id="garbage"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_corrupt_weights_raise_checkpoint_error_naming_the_folder(tmp_path: Path, damage) -> None:
    config = TrainConfig(arch="dense")
    folder = CheckpointStore(tmp_path).save(config, _fake_result(config))
    model_file = folder / MODEL_FILE
    model_file.write_bytes(damage(model_file.read_bytes()))
    with pytest.raises(CheckpointError, match=folder.name):
        load_model(folder)


def test_missing_weights_raise_checkpoint_error(tmp_path: Path) -> None:
    config = TrainConfig(arch="dense")
    folder = CheckpointStore(tmp_path).save(config, _fake_result(config))
    (folder / MODEL_FILE).unlink()
    with pytest.raises(CheckpointError, match=folder.name):
        load_model(folder)


def test_config_that_does_not_fit_the_weights_names_the_shapes(tmp_path: Path) -> None:
    config = TrainConfig(arch="dense", latent_dim=2, hidden_dim=32)
    folder = CheckpointStore(tmp_path).save(config, _fake_result(config))
    (folder / "config.json").write_text(json.dumps(config.replace(latent_dim=16).to_dict()))
    with pytest.raises(CheckpointError) as error:
        load_model(folder)
    message = str(error.value)
    assert str(folder) in message
    assert "to_mu.weight: expected (16, 32), found (2, 32)" in message


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda folder: (folder / "config.json").write_text("{not json"), id="json"),
        pytest.param(lambda folder: (folder / "config.json").unlink(), id="no-config"),
        pytest.param(
            lambda folder: (folder / "config.json").write_text('{"latent_dim": 0}'), id="invalid"
        ),
        pytest.param(
            lambda folder: (folder / "config.json").write_text('{"beta": 4}'), id="unknown-field"
        ),
        pytest.param(lambda folder: (folder / "config.json").write_text("[1, 2]"), id="not-dict"),
        pytest.param(lambda folder: (folder / "metrics.json").write_text("{"), id="metrics"),
    ],
)
def test_entries_skip_damaged_ones(tmp_path: Path, damage) -> None:
    store = CheckpointStore(tmp_path)
    good, bad = TrainConfig(arch="dense"), TrainConfig(arch="dense", seed=1)
    store.save(good, _fake_result(good))
    damage(store.save(bad, _fake_result(bad)))
    assert [e.config for e in store.entries()] == [good]
    with pytest.raises(CheckpointError):
        store.read_entry(store.path_for(bad))


def test_entries_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert CheckpointStore(tmp_path / "nowhere").entries() == []


# --- delete and read-only -------------------------------------------------------------------


def test_delete(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    keep, drop = TrainConfig(arch="dense"), TrainConfig(arch="dense", seed=1)
    store.save(keep, _fake_result(keep))
    store.save(drop, _fake_result(drop))
    assert store.delete(drop) is True
    assert not store.contains(drop) and store.contains(keep)
    assert [p.name for p in tmp_path.iterdir()] == [keep.slug()]  # no trash left behind
    assert store.delete(drop) is False


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    config = TrainConfig(arch="dense")
    CheckpointStore(tmp_path).save(config, _fake_result(config))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    store = CheckpointStore(tmp_path, read_only=True)
    with pytest.raises(CheckpointError, match="read-only"):
        store.save(config.replace(seed=1), _fake_result(config))
    with pytest.raises(CheckpointError, match="read-only"):
        store.delete(config)
    with pytest.raises(CheckpointError, match="read-only"):
        store.update_metrics(config, {"fid": 1.0})
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert store.load(config).latent_dim == config.latent_dim  # reading still works


# --- two processes, one training ------------------------------------------------------------


def _record_training(marker: str, progress: Progress) -> None:
    with open(marker, "a") as handle:  # appends of one short line are atomic
        handle.write(f"{os.getpid()}\n")


def _train_in_child(root: str, marker: str, digest_file: str, barrier) -> None:
    barrier.wait(timeout=120)  # both processes ask at the same moment
    model = get_or_train(
        TINY,
        stores=[CheckpointStore(root)],
        on_progress=functools.partial(_record_training, marker),
    )
    Path(digest_file).write_text(_digest(model))


def _digest(model: torch.nn.Module) -> str:
    hasher = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        hasher.update(name.encode() + tensor.numpy().tobytes())
    return hasher.hexdigest()


def test_two_processes_train_the_same_config_only_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    marker = tmp_path / "trainings.txt"
    root = tmp_path / "cache"
    processes = [
        context.Process(
            target=_train_in_child,
            args=(str(root), str(marker), str(tmp_path / f"{i}.sha"), barrier),
        )
        for i in range(2)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(timeout=300)
    finally:
        for process in processes:
            if process.is_alive():  # hung on the lock: fail, but leave no orphans
                process.kill()
    assert [p.exitcode for p in processes] == [0, 0]
    trainers = set(marker.read_text().split())
    assert len(trainers) == 1  # exactly one process reported training progress
    assert (tmp_path / "0.sha").read_text() == (tmp_path / "1.sha").read_text()
    store = CheckpointStore(root)
    assert [e.config for e in store.entries()] == [TINY]
    assert (tmp_path / "0.sha").read_text() == _digest(store.load(TINY))
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == [TINY.slug()]


# --- no pickle ------------------------------------------------------------------------------

PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve"}


def _unsafe_uses(source: str) -> list[str]:
    """Imports of pickle-based modules and calls of torch.load / torch.save in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            PICKLE_MODULES
        ):
            found.append(node.module)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in {"load", "save"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "torch"
        ):
            found.append(f"torch.{node.attr}")
    return found


def test_unsafe_use_detector_finds_them() -> None:
    source = "import pickle\nfrom joblib import dump\nimport torch\ntorch.load('x')\n"
    assert _unsafe_uses(source) == ["pickle", "joblib", "torch.load"]
    assert _unsafe_uses('"""No pickle anywhere; never torch.load."""') == []


def test_package_never_uses_pickle() -> None:
    package = Path(jlml_core.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 30
    for path in sources:
        assert _unsafe_uses(path.read_text()) == [], path.name


def test_checkpoint_file_is_plain_safetensors(tmp_path: Path) -> None:
    config = TrainConfig(arch="dense")
    folder = CheckpointStore(tmp_path).save(config, _fake_result(config))
    data = (folder / MODEL_FILE).read_bytes()
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_size])  # a JSON header, then raw tensor bytes
    assert TrainConfig.from_dict(json.loads(header["__metadata__"]["config"])) == config
    assert json.loads((folder / "config.json").read_text()) == config.to_dict()


def test_saved_weights_file_is_byte_identical_across_saves(tmp_path: Path) -> None:
    # safetensors orders its metadata differently in each process; the store sorts it so a
    # rebuild of a zoo model can be compared byte for byte.
    from jlml_core.store.checkpoints import canonicalize_safetensors_header

    tensors = {"b": torch.arange(3.0), "a": torch.ones(2, 2)}
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    save_file(tensors, str(first), metadata={"zeta": "1", "alpha": "2", "mid": "3"})
    save_file(tensors, str(second), metadata={"mid": "3", "alpha": "2", "zeta": "1"})
    for path in (first, second):
        canonicalize_safetensors_header(path)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_file(str(first))
    assert torch.equal(loaded["a"], tensors["a"]) and torch.equal(loaded["b"], tensors["b"])
    with safe_open(str(first), framework="pt") as handle:
        assert handle.metadata() == {"zeta": "1", "alpha": "2", "mid": "3"}


def test_label_names_what_tells_two_models_apart(tmp_path: Path) -> None:
    plain = Entry(tmp_path, TrainConfig(epochs=4), {})
    assert plain.label == "VAE · cnn_shallow · z=2 · bce · 4 ep"
    wide = Entry(tmp_path, TrainConfig(hidden_dim=128, init="glorot", epochs=20), {})
    assert wide.label == "VAE · cnn_shallow · z=2 · bce · h=128 · glorot init · 20 ep"


def test_find_entry_by_key_or_folder_name_never_by_path(tmp_path: Path) -> None:
    from jlml_core.store.model_cache import find_entry

    config = TrainConfig(arch="dense", hidden_dim=8, epochs=1, train_subset=256)
    store = CheckpointStore(tmp_path / "store")
    folder = store.save(config, fit(config, record_latents=False))
    assert find_entry(config.key(), [store]).path == folder
    assert find_entry(folder.name, [store]).config == config
    for name in ("nothing", str(folder), "../store/" + folder.name):
        with pytest.raises(CheckpointError, match="No cached model"):
            find_entry(name, [store])
