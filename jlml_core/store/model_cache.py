"""The model cache: where models are kept, finding one, and training the one that is missing.

Two stores are searched in order: the zoo shipped in ``checkpoints/`` (read-only) and the
user's cache (``~/.cache/jlml/checkpoints``), each a `checkpoints.CheckpointStore`. Everything
here goes through a store; the files themselves are `checkpoints`' business.
"""

from __future__ import annotations

import os
from pathlib import Path

from jlml_core.config import PROJECT_DIR, TrainConfig
from jlml_core.nn.models import Autoencoder
from jlml_core.store.checkpoints import CheckpointError, CheckpointStore, Entry
from jlml_core.training.train import ProgressCallback, fit

__all__ = [
    "CACHE_ENV",
    "ZOO_ENV",
    "default_cache_dir",
    "default_stores",
    "find",
    "find_entry",
    "get_or_train",
    "zoo_dir",
]

CACHE_ENV = "JLML_CACHE_DIR"
ZOO_ENV = "JLML_ZOO_DIR"


def default_cache_dir() -> Path:
    """$JLML_CACHE_DIR, else ~/.cache/jlml/checkpoints — where user-trained models go."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    return Path.home() / ".cache" / "jlml" / "checkpoints"


def zoo_dir() -> Path:
    """The pre-trained model zoo shipped with the project (read-only at run time).

    $JLML_ZOO_DIR points elsewhere (tests use it to isolate themselves).
    """
    if env := os.environ.get(ZOO_ENV):
        return Path(env)
    return PROJECT_DIR / "checkpoints"


def default_stores() -> list[CheckpointStore]:
    """Where models are looked up, in order: the shipped zoo, then the user's cache."""
    return [CheckpointStore(zoo_dir(), read_only=True), CheckpointStore(default_cache_dir())]


def find(
    config: TrainConfig, stores: list[CheckpointStore] | None = None
) -> CheckpointStore | None:
    """The first store that holds a model for `config`, or None."""
    return next((s for s in stores or default_stores() if s.contains(config)), None)


def find_entry(name: str, stores: list[CheckpointStore] | None = None) -> Entry:
    """The cached model whose config key (e.g. "8e67622f7f41") or folder name is `name`.

    Only listed entries can match, so a name is never used as a path.

    Raises:
        CheckpointError: no store holds such a model.
    """
    for store in stores if stores is not None else default_stores():
        for entry in store.entries():
            if name in (entry.key, entry.path.name):
                return entry
    raise CheckpointError(f"No cached model {name!r}; see `python -m jlml_core list`.")


def get_or_train(
    config: TrainConfig,
    *,
    stores: list[CheckpointStore] | None = None,
    on_progress: ProgressCallback | None = None,
    evaluate_every_epoch: bool = True,
    record_latents: bool = True,
) -> Autoencoder:
    """The cached model for `config`, training and caching it first if nobody has.

    Args:
        config: what to load or train.
        stores: where to look, in order; the last writable one receives new models.
            Defaults to `default_stores()`.
        on_progress: passed to `fit` if training is needed.
        evaluate_every_epoch: passed to `fit` (False: evaluate after the last epoch only).
        record_latents: passed to `fit` (False: no latent history is saved).

    Returns:
        The model in eval mode on the CPU.
    """
    stores = stores if stores is not None else default_stores()
    if (store := find(config, stores)) is not None:
        return store.load(config)
    writable = [s for s in stores if not s.read_only]
    if not writable:
        raise CheckpointError("No writable checkpoint store to train into.")
    target = writable[-1]
    with target.lock(config):
        if target.contains(config):  # another process finished it while we waited
            return target.load(config)
        result = fit(
            config,
            on_progress=on_progress,
            evaluate_every_epoch=evaluate_every_epoch,
            record_latents=record_latents,
        )
        target.save(config, result)
    return target.load(config)
