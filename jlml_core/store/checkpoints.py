"""A checkpoint store: one folder per config, keyed by a stable hash of it.

Each entry holds ``model.safetensors`` (tensors only — no pickle anywhere), ``config.json``,
``metrics.json`` and ``history.json``; optionally ``latent_history.safetensors`` (codes recorded
while it trained) and ``test_codes.safetensors`` (what the model makes of its test split,
precomputed for the dashboard and ignored once stale). An entry is written into a temporary
folder and renamed into place, so a crash never leaves half an entry; a lock file stops two
processes from training the same config at once. Nobody else in the package reads or writes
these files; which stores exist and what to do when a model is missing is `model_cache`'s
business.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from jlml_core.config import ConfigError, TrainConfig
from jlml_core.nn.models import DEFAULT_IMAGE_SHAPE, Autoencoder, build_model
from jlml_core.training.latent_history import LatentHistory
from jlml_core.training.train import FitResult

try:  # POSIX advisory locks; on Windows concurrent training is simply not guarded.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"
LATENT_HISTORY_FILE = "latent_history.safetensors"
ENTRY_FILES = (MODEL_FILE, CONFIG_FILE, METRICS_FILE, HISTORY_FILE)  # the ones every entry has
# The latent history file holds one tensor per LatentHistory field; the codes in float16.
_LATENT_FIELDS = tuple(field.name for field in dataclasses.fields(LatentHistory))
_FLOAT16_FIELDS = frozenset({"mu", "logvar"})


class CheckpointError(RuntimeError):
    """A cache entry that cannot be used; the message names the folder and what to do."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cached model, as listed (nothing loaded but its small JSON files)."""

    path: Path
    config: TrainConfig
    metrics: dict[str, Any]

    @property
    def key(self) -> str:
        return self.config.key()

    @property
    def label(self) -> str:
        """Short human name for menus: kind, architecture, latent size, loss, weights, epochs."""
        c = self.config
        text = f"{c.kind.upper()} · {c.arch} · z={c.latent_dim} · {c.loss}"
        if c.dataset != "mnist":
            text = f"{c.dataset} · {text}"
        if c.kl_weight != 1.0 or c.reconstruction_weight != 1.0 or c.loss_reduction != "sum":
            text += f" · w={c.reconstruction_weight:g}/{c.kl_weight:g} ({c.loss_reduction})"
        if c.hidden_dim is not None:
            text += f" · h={c.hidden_dim}"
        if c.init != "pytorch":
            text += f" · {c.init} init"
        if c.noise_std or c.mask_fraction:  # denoising (#18): else it reads as its plain twin
            text += f" · denoising σ={c.noise_std:g}, mask={c.mask_fraction:g}"
        # Two models alike in all of the above (the zoo has some) differ in training length.
        return f"{text} · {c.epochs} ep"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"{path.parent}: {path.name} is missing.") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from error


class CheckpointStore:
    """A folder of cached models.

    Args:
        root: the folder; created on first write.
        read_only: refuse to write (used for the shipped zoo).
    """

    def __init__(self, root: Path | str, *, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only

    def __repr__(self) -> str:
        return f"CheckpointStore({str(self.root)!r}, read_only={self.read_only})"

    def path_for(self, config: TrainConfig) -> Path:
        """Folder an entry for `config` lives in (whether or not it exists)."""
        return self.root / config.slug()

    def contains(self, config: TrainConfig) -> bool:
        return (self.path_for(config) / MODEL_FILE).is_file()

    def save(
        self, config: TrainConfig, result: FitResult, extra: dict[str, Any] | None = None
    ) -> Path:
        """Write an entry atomically: all files into a temp folder, then one rename.

        Args:
            config: the config the model was trained with.
            result: output of `fit`.
            extra: more JSON-ready facts for metrics.json (e.g. data checksums).

        Returns:
            The entry's folder.
        """
        staging = self._staging(config)
        try:
            state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
            metadata = {
                "config": config.to_json(),
                "image_shape": json.dumps(list(result.model.image_shape)),
            }
            save_file(state, str(staging / MODEL_FILE), metadata=metadata)
            canonicalize_safetensors_header(staging / MODEL_FILE)
            _write_json(staging / CONFIG_FILE, config.to_dict())
            _write_json(staging / METRICS_FILE, {**result.metrics, **(extra or {})})
            _write_json(staging / HISTORY_FILE, result.history)
            if result.latent_history is not None:
                write_latent_history(staging / LATENT_HISTORY_FILE, result.latent_history)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._commit(staging, config)

    def save_files(self, config: TrainConfig, files: dict[str, bytes]) -> Path:
        """Write an entry from its files' bytes (as `entry_files` read them), atomically.

        How a model trained on another machine (a Ray worker without this folder) lands here:
        the bytes are the worker's own files, so the weights stay bit-for-bit its weights.

        Raises:
            CheckpointError: a file every entry needs is missing, or a name is not a file name.
        """
        missing = [name for name in ENTRY_FILES if name not in files]
        if missing:
            raise CheckpointError(f"Entry for {config.key()} lacks {', '.join(missing)}.")
        if any(Path(name).name != name or name.startswith(".") for name in files):
            raise CheckpointError(f"Entry for {config.key()} has a file name with a path in it.")
        staging = self._staging(config)
        try:
            for name, data in files.items():
                (staging / name).write_bytes(data)
            if TrainConfig.from_dict(_read_json(staging / CONFIG_FILE)) != config:
                raise CheckpointError(f"The files sent for {config.key()} hold another config.")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._commit(staging, config)

    def _staging(self, config: TrainConfig) -> Path:
        """A fresh private folder inside the store for an entry being written."""
        if self.read_only:
            raise CheckpointError(f"{self.root} is read-only.")
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{config.key()}-", dir=self.root))

    def _commit(self, staging: Path, config: TrainConfig) -> Path:
        """Rename a complete staging folder into the entry's place; returns the entry folder."""
        final = self.path_for(config)
        try:
            # An old entry is moved aside (not deleted) first, so a crash leaves one of them.
            retired = None
            if final.exists():
                retired = Path(tempfile.mkdtemp(prefix=".retired-", dir=self.root))
                os.replace(final, retired / final.name)
            staging.chmod(0o755)  # mkdtemp makes it private; entries are shared read-only
            os.replace(staging, final)
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def update_metrics(self, config: TrainConfig, metrics: dict[str, Any]) -> None:
        """Merge `metrics` into an entry's metrics.json (atomically)."""
        if self.read_only:
            raise CheckpointError(f"{self.root} is read-only.")
        path = self.path_for(config) / METRICS_FILE
        merged = {**_read_json(path), **metrics}
        tmp = path.with_suffix(".json.tmp")
        _write_json(tmp, merged)
        os.replace(tmp, path)

    def entries(self) -> list[Entry]:
        """Every readable entry, sorted by folder name; damaged ones are skipped."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith(".") or not (folder / MODEL_FILE).is_file():
                continue
            with contextlib.suppress(CheckpointError, ConfigError, TypeError):
                found.append(self.read_entry(folder))
        return found

    def read_entry(self, folder: Path) -> Entry:
        """Config and metrics of the entry in `folder`."""
        try:
            config = TrainConfig.from_dict(_read_json(folder / CONFIG_FILE))
        except (ConfigError, TypeError) as error:
            raise CheckpointError(
                f"{folder}: config.json is not a valid config ({error})."
            ) from error
        metrics_path = folder / METRICS_FILE
        metrics = _read_json(metrics_path) if metrics_path.exists() else {}
        return Entry(folder, config, metrics)

    def load(self, config: TrainConfig) -> Autoencoder:
        """Rebuild the model from its config and load its weights (eval mode, CPU)."""
        return load_model(self.path_for(config))

    def history(self, config: TrainConfig) -> list[dict[str, float]]:
        """Per-epoch training history of the entry for `config`."""
        return read_history(self.path_for(config))

    def delete(self, config: TrainConfig) -> bool:
        """Remove an entry; returns False if there was none."""
        if self.read_only:
            raise CheckpointError(f"{self.root} is read-only.")
        path = self.path_for(config)
        if not path.exists():
            return False
        trash = Path(tempfile.mkdtemp(prefix=".deleted-", dir=self.root))
        os.replace(path, trash / path.name)  # vanish atomically, then clean up
        shutil.rmtree(trash, ignore_errors=True)
        return True

    @contextlib.contextmanager
    def lock(self, config: TrainConfig) -> Iterator[None]:
        """Hold an exclusive lock for `config` across processes (POSIX)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / f".{config.key()}.lock"
        with open(lock_path, "a+") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)


def read_history(folder: Path | str) -> list[dict[str, float]]:
    """Per-epoch history of the entry in `folder` ([] if it has none)."""
    path = Path(folder) / HISTORY_FILE
    return _read_json(path) if path.exists() else []


def entry_files(folder: Path | str) -> dict[str, bytes]:
    """The bytes of every file in an entry folder, for `CheckpointStore.save_files` elsewhere."""
    folder = Path(folder)
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def write_latent_history(path: Path, history: LatentHistory) -> None:
    """Store a latent history as safetensors, one tensor per field: codes in float16 (a third of
    a pixel at the plot's scale is far below what the eye sees), everything else exact."""
    tensors = {}
    for name in _LATENT_FIELDS:
        if (values := getattr(history, name)) is not None:
            tensor = torch.from_numpy(values)
            tensors[name] = (tensor.half() if name in _FLOAT16_FIELDS else tensor).contiguous()
    save_file(tensors, str(path))
    canonicalize_safetensors_header(path)


def read_latent_history(folder: Path | str) -> LatentHistory | None:
    """The latent history recorded while the entry in `folder` trained (None if none was).

    Raises:
        CheckpointError: the file exists but is damaged or incomplete.
    """
    path = Path(folder) / LATENT_HISTORY_FILE
    if not path.is_file():
        return None
    try:
        tensors = load_file(str(path))
        arrays = {
            name: (tensors[name].float() if name in _FLOAT16_FIELDS else tensors[name]).numpy()
            for name in _LATENT_FIELDS
            if name in tensors
        }
        history = LatentHistory(**{"logvar": None, **arrays})  # an AE stores no logvar
    except (SafetensorError, OSError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} is damaged ({error}); delete that file.") from error
    snapshots, digits = len(history.steps), len(history.rows)
    if history.mu.ndim != 3 or history.mu.shape[:2] != (snapshots, digits):
        raise CheckpointError(f"{path}: codes of shape {history.mu.shape} do not fit its rows.")
    return history


def load_model(folder: Path | str) -> Autoencoder:
    """Load the model stored in an entry folder, checking every tensor's name and shape.

    Raises:
        CheckpointError: missing or damaged files, or weights that do not fit the config.
    """
    folder = Path(folder)
    config = CheckpointStore(folder.parent).read_entry(folder).config
    try:
        state = load_file(str(folder / MODEL_FILE))
        image_shape = _image_shape_of(folder / MODEL_FILE)
    except FileNotFoundError as error:
        raise CheckpointError(f"{folder}: {MODEL_FILE} is missing; delete the folder.") from error
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{folder}/{MODEL_FILE} is damaged ({error}); delete the folder and train again."
        ) from error
    try:
        model = build_model(config, image_shape)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{folder}: cannot rebuild the model ({error}).") from error
    expected = model.state_dict()
    problems = [
        f"{name}: expected {tuple(t.shape)}, found "
        + (str(tuple(state[name].shape)) if name in state else "nothing")
        for name, t in expected.items()
        if name not in state or state[name].shape != t.shape
    ]
    problems += [f"{name}: unexpected tensor" for name in state.keys() - expected.keys()]
    if problems:
        raise CheckpointError(
            f"{folder}: weights do not match the config: " + "; ".join(problems[:5])
        )
    model.load_state_dict(state)
    if any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules()):
        # oneDNN's (transposed) convolutions decode 2-3x faster in NHWC on CPU.
        model = model.to(memory_format=torch.channels_last)
    return model.eval()


def canonicalize_safetensors_header(model_file: Path) -> None:
    """Rewrite a safetensors header with sorted keys, so equal weights give equal bytes.

    safetensors serialises the metadata from a hash map whose order changes from process to
    process; the tensors and their offsets are already deterministic. Sorting the header's keys
    keeps its length, so the tensor bytes after it stay where they are.
    """
    raw = model_file.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(text) <= length:  # always true for our ASCII headers; otherwise leave the file alone
        tmp = model_file.with_suffix(".tmp")
        tmp.write_bytes(raw[:8] + text.ljust(length, b" ") + raw[8 + length :])
        os.replace(tmp, model_file)


def _image_shape_of(model_file: Path) -> tuple[int, int, int]:
    """The (C, H, W) image shape recorded in a checkpoint's safetensors metadata."""
    with safe_open(str(model_file), framework="pt") as handle:
        metadata = handle.metadata() or {}
    try:
        shape = json.loads(metadata.get("image_shape", "null")) or DEFAULT_IMAGE_SHAPE
        channels, height, width = (int(side) for side in shape)
    except (ValueError, TypeError) as error:
        raise CheckpointError(
            f"{model_file}: its image_shape metadata is unreadable ({error}); train it again."
        ) from error
    return (channels, height, width)
