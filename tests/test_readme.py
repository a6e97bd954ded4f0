"""The README works as written: its Python examples run, its file map names real paths, and the
paths it and docs/cluster.md mention exist."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jlml_core.config import TrainConfig
from jlml_core.nn import architectures
from jlml_core.store.checkpoints import CheckpointStore
from jlml_core.store.model_cache import zoo_dir
from jlml_core.store.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# Backticked words that name a file: a folder path, or a file with one of these endings.
FILE_SUFFIXES = (".py", ".md", ".txt", ".toml", ".json", ".sh", ".yaml", ".conf")
ROOT_FILES = ("Makefile", "Dockerfile")
# Top-level folders whose paths the prose may mention (in commands too: `python bench/x.py`).
PROJECT_FOLDERS = (
    "jlml_core/",
    "dashboard/",
    "views/",
    "tests/",
    "bench/",
    "tools/",
    "deploy/",
    "docs/",
    "scripts/",
    "data/",
    "checkpoints/",
)


def _readme_block(first_line: str) -> str:
    """The fenced python block of the README that starts with `first_line`."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(block for block in blocks if block.startswith(first_line))


def _section(heading: str) -> str:
    """The README's text from `## heading` to the next `## ` heading."""
    text = README.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _is_path(token: str) -> bool:
    return "/" in token or token.endswith(FILE_SUFFIXES) or token in ROOT_FILES


def _missing(paths: list[str]) -> list[str]:
    return [
        p for p in paths if not (ROOT / p).exists() or (p.endswith("/") and not (ROOT / p).is_dir())
    ]


def test_file_map_names_only_paths_that_exist() -> None:
    tokens = re.findall(r"`([^`\n]+)`", _section("File map"))
    paths = [t for t in tokens if _is_path(t)]
    assert len(paths) > 60, f"the file map names only {len(paths)} paths: {paths}"
    assert not _missing(paths), f"the README's file map names missing paths: {_missing(paths)}"


def test_file_map_has_a_line_for_every_subpackage_and_test_folder() -> None:
    named = set(re.findall(r"`([^`\n]+/)`", _section("File map")))
    folders = [p.parent for p in (ROOT / "jlml_core").glob("*/__init__.py")]
    folders += [p for p in (ROOT / "tests").iterdir() if any(p.glob("test_*.py"))]
    expected = {f"{folder.relative_to(ROOT).as_posix()}/" for folder in folders}
    assert len(expected) >= 12
    assert expected <= named, f"folders missing from the file map: {sorted(expected - named)}"


@pytest.mark.parametrize("document", ["README.md", "docs/cluster.md"])
def test_paths_in_the_docs_exist(document: str) -> None:
    words = [
        word.rstrip(".,:;)")
        for span in re.findall(r"`([^`\n]+)`", (ROOT / document).read_text())
        for word in span.split()
    ]
    paths = [w for w in words if w.startswith(PROJECT_FOLDERS) and not set(w) & set("*<>{}")]
    assert len(paths) > 5, f"{document} names only {paths}"
    assert not _missing(paths), f"{document} names missing paths: {_missing(paths)}"


@pytest.mark.slow
def test_readme_python_api_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Python API in one screen" block, executed: it loads the shipped default model and
    trains one small model (a few seconds) into a fresh cache."""
    monkeypatch.setenv("JLML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("JLML_ZOO_DIR", raising=False)  # the real zoo in checkpoints/
    block = _readme_block("from jlml_core.config import TrainConfig")
    # Run up to the first model in two steps: a config that is not in the zoo would train the
    # default recipe for the better part of an hour instead of failing.
    head, loads_default, rest = block.partition("model = get_or_train(config)\n")
    assert loads_default, "the block no longer loads `config` as written"
    namespace: dict = {}
    exec(compile(head, "README.md", "exec"), namespace)
    assert namespace["config"] in ZOO.values()
    assert CheckpointStore(zoo_dir(), read_only=True).contains(namespace["config"])
    exec(compile(loads_default + rest, "README.md", "exec"), namespace)

    (trained,) = CheckpointStore(tmp_path / "cache").entries()  # only the small model trained
    assert trained.config == TrainConfig(kind="vae", arch="dense", latent_dim=2, epochs=1)
    assert namespace["small"].latent_dim == 2
    codes, digit = namespace["codes"], namespace["digit"]
    assert codes.shape == (10000, 2)
    assert digit.shape == (1, 28, 28) and digit.min() >= 0 and digit.max() <= 1
    assert np.allclose(namespace["path"][[0, -1]], codes[:2], atol=1e-5)
    samples = namespace["samples"]
    assert samples.shape == (64, 28, 28) and samples.std() > 0.1  # digits, not a blank


def test_old_module_names_work_through_the_shim_but_not_as_dotted_paths() -> None:
    """What "Moved in the layered core" promises."""
    assert "Moved in the layered core" in README.read_text()
    from jlml_core import get_or_train, latent

    assert latent.__name__ == "jlml_core.inference.latent"
    assert get_or_train.__module__ == "jlml_core.store.model_cache"
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("jlml_core.checkpoints")


@pytest.mark.slow
def test_readme_user_architecture_trains_caches_and_reloads(tmp_path: Path) -> None:
    (tmp_path / "my_arch.py").write_text(_readme_block("# my_arch.py"))
    env = {
        **os.environ,
        "JLML_PLUGINS": "my_arch",
        "JLML_CACHE_DIR": str(tmp_path / "cache"),
        "JLML_ZOO_DIR": str(tmp_path / "no_zoo"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    command = [
        sys.executable,
        "-m",
        "jlml_core",
        "train",
        "--arch",
        "tanh_mlp",
        "--epochs",
        "1",
        "--train-subset",
        "1000",
        "--latent-dim",
        "2",
    ]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "trained and saved" in first.stdout and "test_neg_elbo" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.startswith("cached:")

    # In this process too: the plugin registers and the cached entry rebuilds from its config.
    sys.path.insert(0, str(tmp_path))
    try:
        import my_arch  # noqa: F401

        (entry,) = CheckpointStore(tmp_path / "cache").entries()
        assert entry.config.arch == "tanh_mlp"
        model = CheckpointStore(tmp_path / "cache").load(entry.config)
        assert model.latent_dim == 2
    finally:
        sys.path.remove(str(tmp_path))
        architectures.ARCHITECTURES.pop("tanh_mlp", None)
        sys.modules.pop("my_arch", None)
