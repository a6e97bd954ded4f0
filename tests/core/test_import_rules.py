"""The import rules of the layered core, checked on the source: a wrong arrow fails CI.

Every .py file of the project is parsed (no module is imported) and every import is collected:
top-level and inside functions, absolute and relative (`from . import x`, `from .mod import y`),
and `importlib.import_module("...")` calls with a literal name. The rules:

- no import cycle among the project's modules (jlml_core, dashboard, views, app);
- jlml_core never imports Streamlit, dashboard or views;
- jlml_core.inference never imports jlml_core.training;
- a jlml_core layer imports only from its own or a lower layer (`LAYERS`);
- nothing imports views (app.py routes to the pages by file path);
- dashboard/inputs.py (untrusted link values) does not import Streamlit.

jlml_core/__init__.py is a lazy compatibility shim: its `importlib.import_module` calls run only
when an old name is looked up, so they are not edges and the file is exempt from the layer rule.
Code elsewhere that imports a name through it (`from jlml_core import latent`) gets the edge to
where the name really lives, read from the shim's `_API` and `_MOVED_MODULES` tables.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the walk reads: every Python file of the project, tests included.
SOURCE_ROOTS = ("jlml_core", "dashboard", "views", "app.py", "bench", "tools", "deploy", "tests")
# Modules that take part in the cycle rule (scripts, benchmarks and tests are leaves).
GRAPH_PACKAGES = ("jlml_core", "dashboard", "views", "app")
SHIM = "jlml_core"

# jlml_core's layers: a module may import only from its own layer or a lower one.
LAYERS = {
    "jlml_core.config": 0,
    "jlml_core.runtime": 0,
    "jlml_core.data": 1,
    "jlml_core.nn": 1,
    "jlml_core.training": 2,
    "jlml_core.inference": 2,
    "jlml_core.store": 3,
    "jlml_core.analysis": 4,
    "jlml_core.figures": 4,
    "jlml_core.jobs": 5,
    "jlml_core.cli": 5,
    "jlml_core.cli_args": 5,  # the config flags, derived from TrainConfig (sweeps use them too)
    "jlml_core.cli_commands": 5,
    "jlml_core.__main__": 5,
}


@dataclass(frozen=True)
class Import:
    """One import statement (or `import_module` call), resolved to the module it loads."""

    importer: str
    path: Path  # the importer's file, relative to the walked root
    line: int
    target: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Violation:
    """A broken rule at one import."""

    rule: str
    imp: Import

    def __str__(self) -> str:
        return f"{self.imp.where}: {self.rule}: {self.imp.importer} imports {self.imp.target}"


def within(module: str, package: str) -> bool:
    """Whether `module` is `package` or one of its submodules."""
    return module == package or module.startswith(package + ".")


def module_name(relative: Path) -> str:
    """The dotted name of a file (`jlml_core/data/__init__.py` -> `jlml_core.data`)."""
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(root: Path) -> dict[str, Path]:
    """Module name -> file, for every .py file under `SOURCE_ROOTS` of `root`."""
    files: list[Path] = []
    for name in SOURCE_ROOTS:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return {module_name(p.relative_to(root)): p.relative_to(root) for p in sorted(files)}


def shim_names(root: Path) -> dict[str, str]:
    """Name -> module that defines it, from the shim's `_API` and `_MOVED_MODULES` tables."""
    shim = root / SHIM / "__init__.py"
    if not shim.is_file():
        return {}
    names: dict[str, str] = {}
    for node in ast.parse(shim.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("_API", "_MOVED_MODULES") for t in node.targets
        ):
            names.update(ast.literal_eval(node.value))
    return names


class _Resolver:
    """Turns the import nodes of one file into the modules they load."""

    def __init__(self, module: str, path: Path, modules: set[str], shim: dict[str, str]):
        self.module, self.path, self.modules, self.shim = module, path, modules, shim
        is_package = path.name == "__init__.py"
        self.package = module if is_package else module.rpartition(".")[0]

    def _import(self, node: ast.AST, target: str) -> Import:
        return Import(self.module, self.path, node.lineno, target)

    def _base(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        # `from .. import x` in package a.b.c climbs level - 1 packages.
        parts = self.package.split(".") if self.package else []
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        return ".".join(filter(None, [base, node.module]))

    def _member(self, base: str, name: str) -> str:
        """What `from base import name` loads: the submodule if there is one, else `base`."""
        if f"{base}.{name}" in self.modules:
            return f"{base}.{name}"
        if base == SHIM and name in self.shim and self.module != SHIM:
            return self.shim[name]
        return base

    def imports(self, tree: ast.AST) -> Iterator[Import]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield self._import(node, alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = self._base(node)
                for alias in node.names:
                    yield self._import(node, self._member(base, alias.name))
            elif self._is_import_module(node):
                yield self._import(node, node.args[0].value)  # type: ignore[attr-defined]

    def _is_import_module(self, node: ast.AST) -> bool:
        if self.module == SHIM or not isinstance(node, ast.Call) or not node.args:
            return False
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0]
        return (
            name == "import_module"
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and not first.value.startswith(".")
        )


def collect_imports(root: Path) -> tuple[dict[str, Path], list[Import]]:
    """Every module under `root` and every import in them."""
    files = project_files(root)
    modules, shim = set(files), shim_names(root)
    imports: list[Import] = []
    for module, path in files.items():
        tree = ast.parse((root / path).read_text(), filename=str(path))
        imports.extend(_Resolver(module, path, modules, shim).imports(tree))
    return files, imports


def layer_of(module: str) -> int | None:
    """The layer of a jlml_core module, by its longest matching prefix in `LAYERS`."""
    matches = [prefix for prefix in LAYERS if within(module, prefix)]
    return LAYERS[max(matches, key=len)] if matches else None


def is_streamlit(module: str) -> bool:
    """Streamlit itself or a Streamlit component package (streamlit_drawable_canvas)."""
    top = module.partition(".")[0]
    return top == "streamlit" or top.startswith("streamlit_")


def rule_violations(imports: Iterable[Import]) -> list[Violation]:
    """Every import that breaks a rule other than the cycle rule."""
    found: list[Violation] = []
    for imp in imports:
        source, target = imp.importer, imp.target
        in_core = within(source, "jlml_core")
        if in_core and (is_streamlit(target) or within(target, "dashboard")):
            found.append(Violation("jlml_core never imports Streamlit or dashboard", imp))
        if within(target, "views"):
            found.append(Violation("nothing imports views (app.py routes by file path)", imp))
        if within(source, "jlml_core.inference") and within(target, "jlml_core.training"):
            found.append(Violation("jlml_core.inference never imports jlml_core.training", imp))
        if source == "dashboard.inputs" and is_streamlit(target):
            found.append(Violation("dashboard/inputs.py does not import Streamlit", imp))
        if in_core and source != SHIM:
            source_layer, target_layer = layer_of(source), layer_of(target)
            if source_layer is None:
                found.append(Violation("every jlml_core module belongs to a layer", imp))
            elif target_layer is not None and target_layer > source_layer:
                rule = f"layer L{source_layer} imports from higher layer L{target_layer}"
                found.append(Violation(rule, imp))
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of `graph`."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def import_cycles(imports: Iterable[Import]) -> list[list[Import]]:
    """The imports inside each cycle among `GRAPH_PACKAGES`: one list per strongly connected
    component of more than one module (or a module importing itself)."""
    edges = [
        imp
        for imp in imports
        if any(within(imp.importer, p) for p in GRAPH_PACKAGES)
        and any(within(imp.target, p) for p in GRAPH_PACKAGES)
    ]
    graph: dict[str, set[str]] = {}
    for imp in edges:
        graph.setdefault(imp.importer, set()).add(imp.target)
    cycles = []
    for component in strongly_connected(graph):
        members = set(component)
        inside = [e for e in edges if e.importer in members and e.target in members]
        if len(component) > 1 or inside:
            cycles.append(sorted(inside, key=lambda e: (str(e.path), e.line)))
    return cycles


def check(root: Path) -> tuple[int, list[str]]:
    """How many modules the walk read under `root`, and one message per broken rule."""
    files, imports = collect_imports(root)
    messages = [str(v) for v in rule_violations(imports)]
    for cycle in import_cycles(imports):
        modules = sorted({e.importer for e in cycle})
        messages.append(
            f"import cycle among {', '.join(modules)}:\n"
            + "\n".join(f"    {e.where}: {e.importer} imports {e.target}" for e in cycle)
        )
    return len(files), messages


def test_the_project_keeps_its_import_rules() -> None:
    walked, messages = check(ROOT)
    assert walked > 100, f"the walk read only {walked} modules: is SOURCE_ROOTS right?"
    assert not messages, f"{len(messages)} broken import rule(s):\n" + "\n".join(messages)


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_reports_each_kind_of_violation(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            # The shim's lazy imports are not edges; a name taken through it is.
            "jlml_core/__init__.py": (
                "import importlib\n"
                "_MOVED_MODULES = {'checkpoints': 'jlml_core.store.checkpoints'}\n"
                "def __getattr__(name):\n"
                "    return importlib.import_module(_MOVED_MODULES[name])\n"
            ),
            "jlml_core/config.py": "from jlml_core import checkpoints\n",
            "jlml_core/store/__init__.py": "",
            "jlml_core/store/checkpoints.py": "from ..config import Config\n",
            "jlml_core/training/__init__.py": "",
            "jlml_core/training/train.py": "def fit():\n    from ..inference import latent\n",
            "jlml_core/inference/__init__.py": "",
            "jlml_core/inference/latent.py": "from jlml_core.training.train import fit\n",
            "jlml_core/nn/models.py": "import importlib\nimportlib.import_module('dashboard.x')\n",
            "jlml_core/stray.py": "from . import config\n",
            "dashboard/__init__.py": "",
            "dashboard/cache.py": "import streamlit as st\nfrom views import home\n",
            "dashboard/inputs.py": "def parse():\n    import streamlit\n",
            "views/home.py": "",
            "app.py": "import streamlit\nfrom dashboard import cache\n",
        },
    )
    walked, messages = check(tmp_path)
    assert walked == 15
    report = "\n".join(messages)
    expected = [
        # config -> store (through the shim) -> config
        "jlml_core/config.py:1: layer L0 imports from higher layer L3: "
        "jlml_core.config imports jlml_core.store.checkpoints",
        "jlml_core/inference/latent.py:1: jlml_core.inference never imports jlml_core.training",
        "jlml_core/nn/models.py:2: jlml_core never imports Streamlit or dashboard: "
        "jlml_core.nn.models imports dashboard.x",
        "jlml_core/stray.py:1: every jlml_core module belongs to a layer",
        "dashboard/cache.py:2: nothing imports views",
        "dashboard/inputs.py:2: dashboard/inputs.py does not import Streamlit",
    ]
    for line in expected:
        assert line in report, f"missing {line!r} in:\n{report}"
    cycles = [m for m in messages if m.startswith("import cycle")]
    assert cycles == [
        "import cycle among jlml_core.config, jlml_core.store.checkpoints:\n"
        "    jlml_core/config.py:1: jlml_core.config imports jlml_core.store.checkpoints\n"
        "    jlml_core/store/checkpoints.py:1: jlml_core.store.checkpoints imports "
        "jlml_core.config",
        "import cycle among jlml_core.inference.latent, jlml_core.training.train:\n"
        "    jlml_core/inference/latent.py:1: jlml_core.inference.latent imports "
        "jlml_core.training.train\n"
        "    jlml_core/training/train.py:2: jlml_core.training.train imports "
        "jlml_core.inference.latent",
    ]
    # Nothing else: app.py may import dashboard and Streamlit, the shim's own calls are lazy.
    assert len(messages) == len(expected) + len(cycles), report
