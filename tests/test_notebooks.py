"""The notebooks in notebooks/ run from top to bottom on the public `jlml_core` API, and git keeps
them without outputs.

Each notebook runs in a fresh IPython kernel of this very interpreter, started from a private
kernelspec (so an activated venv, or kernels installed elsewhere on the machine, change
nothing), with ``JLML_NOTEBOOK_SMALL=1`` (tiny trainings) and an empty model cache; the real
zoo in checkpoints/ is used. A failure names the notebook's cell and its first line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from jlml_core.store.checkpoints import CheckpointStore

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "jlml-notebook-tests"
CELL_TIMEOUT = 600  # seconds; the cells take seconds, this only stops a hung kernel
# Top-level modules of this repository that are not the library: notebooks show the core alone.
NOT_THE_LIBRARY = frozenset({"app", "dashboard", "views", "tests", "tools", "bench", "deploy"})
PLOTLY = "application/vnd.plotly.v1+json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # IPython colours its tracebacks


def _first_line(cell: nbformat.NotebookNode) -> str:
    return next((line for line in cell.source.splitlines() if line.strip()), "")


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def _imported_modules(source: str) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import in a cell; magics become Python first."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernelspec that starts `sys.executable` (this venv's python, activated or not)."""
    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / KERNEL)
    return KernelSpecManager(kernel_dirs=[str(folder)])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model cache and the settings CI runs the notebooks with (the kernel inherits
    them); Jupyter's and IPython's own files go to the temporary folder too."""
    monkeypatch.setenv("JLML_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("JLML_CACHE_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.delenv("JLML_ZOO_DIR", raising=False)  # the real zoo in checkpoints/
    monkeypatch.delenv("JLML_PLUGINS", raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter_runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return tmp_path / "checkpoints"


def execute(path: Path, specs: KernelSpecManager) -> nbformat.NotebookNode:
    """Run every cell of a notebook from its own folder, as Jupyter does; return it executed.

    Raises:
        AssertionError: naming the first cell that failed, its first line and the error.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        km=AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    failure = None
    with client.setup_kernel(cleanup_kc=True):  # shuts the kernel down afterwards
        for index, cell in enumerate(notebook.cells):
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                failure = (
                    f"{path.name}: cell {index + 1} of {len(notebook.cells)} failed, the one "
                    f"starting {_first_line(cell)!r}:\n{_ANSI.sub('', str(error))}"
                )
                break
    assert failure is None, failure
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def _shown(notebook: nbformat.NotebookNode, mimetype: str) -> list[str]:
    """Every displayed value of one type (images, figures, Markdown...) as text."""
    return [str(o.data[mimetype]) for o in _outputs(notebook) if mimetype in o.get("data", {})]


def _printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in _outputs(notebook) if o.output_type == "stream")


def _check_train_and_explore(notebook: nbformat.NotebookNode, cache: Path) -> None:
    (trained,) = CheckpointStore(cache).entries()  # the small VAE; the default only loaded
    assert (trained.config.arch, trained.config.train_subset, trained.config.epochs) == (
        "dense",
        2000,
        1,
    )
    assert len(_shown(notebook, PLOTLY)) == 1  # the latent scatter
    assert len(_shown(notebook, "image/png")) == 4  # grid, interpolation, reconstructions, samples
    assert "test -ELBO" in _printed(notebook) and "reconstruction loss (nats)" in _printed(notebook)


def _check_compare_the_losses(notebook: nbformat.NotebookNode, cache: Path) -> None:
    assert CheckpointStore(cache).entries() == []  # every model came from checkpoints/
    (verdict,) = _shown(notebook, "text/markdown")
    assert "continuous Bernoulli" in verdict and "Against the paper" in verdict
    tables = [html for html in _shown(notebook, "text/html") if 'class="dataframe"' in html]
    assert len(tables) == 2  # the manifest's metrics and the comparable scores
    assert len(_shown(notebook, PLOTLY)) >= 4  # two metric bars, training and loss curves
    assert "test digits | BCE | continuous Bernoulli (λ)" in _printed(notebook)


def _check_your_own_autoencoder(notebook: nbformat.NotebookNode, cache: Path) -> None:
    (trained,) = CheckpointStore(cache).entries()
    assert trained.config.arch == "my_mlp"
    assert (cache.parent / "plugins" / "my_arch.py").is_file()
    printed = _printed(notebook)
    assert "JLML_PLUGINS=my_arch" in printed and "streamlit run app.py" in printed
    assert "a fresh process rebuilt it: my_mlp" in printed


CHECKS: dict[str, Callable[[nbformat.NotebookNode, Path], None]] = {
    "01_train_and_explore.ipynb": _check_train_and_explore,
    "02_compare_the_losses.ipynb": _check_compare_the_losses,
    "03_your_own_autoencoder.ipynb": _check_your_own_autoencoder,
}


def test_every_notebook_is_executed_here() -> None:
    assert sorted(CHECKS) == [path.name for path in PATHS]


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs_top_to_bottom(
    name: str, kernel_specs: KernelSpecManager, cache: Path
) -> None:
    executed = execute(NOTEBOOKS / name, kernel_specs)
    CHECKS[name](executed, cache)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nbformat.validate(nbformat.read(path, as_version=4))
    for index, cell in enumerate(_code_cells(path)):
        where = f"{path.name}, code cell {index + 1} ({_first_line(cell)!r})"
        assert cell.outputs == [], f"{where} has outputs: clear them before committing"
        assert cell.execution_count is None, f"{where} has an execution count"


def test_notebooks_start_with_the_same_setup_cell() -> None:
    """The first cell sets up Colab or a clone; one text for all, so they cannot drift."""
    setups = {path.name: nbformat.read(path, as_version=4).cells[0] for path in PATHS}
    first = setups[PATHS[0].name]
    assert first.cell_type == "code"
    for needed in ('"google.colab" in sys.modules', "REPO = ", "JLML_NOTEBOOK_SMALL"):
        assert needed in first.source
    assert all(cell.source == first.source for cell in setups.values()), sorted(setups)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.name)
def test_notebook_imports_only_the_library(path: Path) -> None:
    for cell in _code_cells(path):
        for module, names in _imported_modules(cell.source):
            where = f"{path.name}, cell starting {_first_line(cell)!r}: {module}"
            assert module.split(".")[0] not in NOT_THE_LIBRARY, where
            if module.startswith("jlml_core"):
                private = [n for n in (*module.split("."), *names) if n.startswith("_")]
                assert not private, f"{where} imports private names {private}"


def test_readme_describes_every_notebook() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Notebooks\n")
    section = text[start : text.index("\n## ", start + 1)]
    named = set(re.findall(r"notebooks/([\w.-]+\.ipynb)", section))
    assert named == {path.name for path in PATHS}
    assert "colab.research.google.com/github/" in section and "REPO" in section
