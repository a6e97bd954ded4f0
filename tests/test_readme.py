"""The README's user-architecture example works as written: it registers, trains through the
CLI, lands in the cache, and reloads from it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jlml_core.nn import architectures
from jlml_core.store.checkpoints import CheckpointStore

ROOT = Path(__file__).resolve().parent.parent


def _readme_block(first_line: str) -> str:
    """The fenced python block of the README that starts with `first_line`."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(block for block in blocks if block.startswith(first_line))


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
