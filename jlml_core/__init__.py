"""JL-ML Autoencoder Lab: train, cache and explore autoencoders and VAEs on handwritten digits.

The package holds all computation; the Streamlit dashboard (``app.py`` + ``views/``) only lays
it out. Its subpackages are layers, each importing only from its own or a lower one
(``tests/core/test_import_rules.py`` enforces it)::

    config, runtime/        L0  TrainConfig (the cache key); device, precision, memory
    data/, nn/              L1  images and batches; architectures, models, losses
    training/, inference/   L2  fit and what it records; encode, decode, posteriors
    store/                  L3  the checkpoint cache and the zoo list
    analysis/, figures/     L4  metrics and comparisons; every figure, pure
    jobs/, cli              L5  pools, sweeps, the zoo build; the command line

The names a user needs most are importable from here (``from jlml_core import TrainConfig,
get_or_train, load_split``), lazily, so ``import jlml_core`` stays cheap. So are the modules
under their names from before the subpackages (``from jlml_core import latent``), a
compatibility shim for code written against 0.1.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module that defines it.
_API = {
    "TrainConfig": "jlml_core.config",
    "ConfigError": "jlml_core.config",
    "load_split": "jlml_core.data",
    "build_model": "jlml_core.nn.models",
    "register_architecture": "jlml_core.nn.architectures",
    "fit": "jlml_core.training.train",
    "get_or_train": "jlml_core.store.model_cache",
    "load_model": "jlml_core.store.checkpoints",
}

# Module names of 0.1 (one flat package) -> where the module lives now.
_MOVED_MODULES = {
    "architectures": "jlml_core.nn.architectures",
    "calibration": "jlml_core.training.calibration",
    "checkpoints": "jlml_core.store.checkpoints",
    "classifier": "jlml_core.analysis.classifier",
    "comparison": "jlml_core.analysis.comparison",
    "diagram": "jlml_core.figures.diagram",
    "digit_input": "jlml_core.data.digit_input",
    "evaluation": "jlml_core.analysis.evaluation",
    "images": "jlml_core.figures.images",
    "latent": "jlml_core.inference.latent",
    "latent_history": "jlml_core.training.latent_history",
    "latent_history_plots": "jlml_core.figures.history_scatter",
    "latent_plots": "jlml_core.figures.latent_scatter",
    "latent_replay": "jlml_core.figures.replay",
    "layers": "jlml_core.nn.layers",
    "likelihood_comparison": "jlml_core.analysis.likelihood",
    "loss_plots": "jlml_core.figures.loss_curves",
    "losses": "jlml_core.nn.losses",
    "memory": "jlml_core.runtime.memory",
    "metrics": "jlml_core.analysis.metrics",
    "models": "jlml_core.nn.models",
    "plots": "jlml_core.figures.colors",
    "posterior": "jlml_core.inference.posterior",
    "posterior_picture": "jlml_core.figures.posterior_picture",
    "precision": "jlml_core.runtime.precision",
    "reconstruction": "jlml_core.inference.reconstruction",
    "runner": "jlml_core.jobs.runner",
    "sweep": "jlml_core.jobs.sweep",
    "train": "jlml_core.training.train",
    "zoo": "jlml_core.store.zoo",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    if name in _MOVED_MODULES:
        return importlib.import_module(_MOVED_MODULES[name])
    raise AttributeError(f"module 'jlml_core' has no attribute {name!r}")
