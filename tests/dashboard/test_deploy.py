"""The deploy recipes agree with the project: Dockerfile, .dockerignore, hosting requirements, the
Community Cloud entry point and the Hugging Face Space's card (docs/deploy.md).

These check consistency (a COPY of a renamed folder, a torch pin bumped in one file only); they
do not build the image. What was built and run, and how, is in docs/deploy.md.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml  # PyYAML, which Ray (requirements-dev.txt) depends on
from streamlit.testing.v1 import AppTest

from dashboard import cache

ROOT = Path(__file__).resolve().parents[2]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SPACE_CARD = ROOT / "deploy" / "huggingface" / "README.md"
# Hugging Face's thumbnail gradient colours (Spaces configuration reference).
SPACE_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    )
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            pairs.append((instruction.upper(), args.strip()))
    return pairs


def _args(instruction: str) -> list[str]:
    return [args for name, args in _instructions() if name == instruction]


def _pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file (following -r includes)."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins = {**_pins(path.parent / line[3:].strip()), **pins}
        elif "==" in line:
            name, version = line.split("==")
            pins.setdefault(name.strip().lower(), version.strip())
    return pins


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip().strip("/") for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` (or a folder above it) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        assert not pattern.startswith("!"), "negated patterns are not modelled here"
        forms = {pattern, pattern.removeprefix("**/")}  # Docker's **/ also matches zero folders
        if any(fnmatch.fnmatchcase(c, f) for c in candidates for f in forms):
            return True
    return False


def test_dockerfile_has_the_required_parts() -> None:
    base = _args("FROM")
    assert len(base) == 1 and re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base[0])
    assert _args("WORKDIR") == ["/app"]
    assert _args("EXPOSE") == ["8501"]
    users = _args("USER")
    assert users and users[-1] not in {"root", "0"}
    # USER comes after every RUN, so the server never runs as root.
    names = [name for name, _ in _instructions()]
    assert max(i for i, n in enumerate(names) if n == "RUN") < names.index("USER")
    (healthcheck,) = _args("HEALTHCHECK")
    assert "http://localhost:8501/_stcore/health" in healthcheck
    env = " ".join(_args("ENV"))
    assert re.search(r"\bJLML_DEMO=1\b", env)
    (command,) = _args("CMD")
    # `python -m dashboard`: `streamlit run app.py` with the imports done before it answers
    assert '"-m", "dashboard"' in command and "--server.port=8501" in command
    (install,) = [a for a in _args("RUN") if "pip install" in a]
    assert "-r deploy/requirements.txt" in install


def test_every_file_the_dockerfile_copies_exists_and_reaches_the_build() -> None:
    patterns = _dockerignore()
    copies = [shlex.split(args) for args in _args("COPY")]
    assert copies
    sources = [src for *srcs, _dest in copies for src in srcs if not src.startswith("--")]
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
        assert not _ignored(source.rstrip("/"), patterns), f".dockerignore drops {source}"
    # The image carries the zoo and the data; the dependency file the RUN installs is copied.
    assert {"checkpoints/", "data/", "deploy/requirements.txt", "requirements.txt"} <= set(sources)


@pytest.mark.parametrize("folder", ["checkpoints", "data"])
def test_dockerignore_keeps_the_zoo_and_the_data(folder: str) -> None:
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()]
    files = [f for f in files if "__pycache__" not in f and not Path(f).name.startswith(".")]
    assert files
    patterns = _dockerignore()
    assert not [f for f in files if _ignored(f, patterns)]


@pytest.mark.parametrize(
    "path", [".git", ".venv", "jlml_core/__pycache__", ".pytest_cache", ".ruff_cache", "tests"]
)
def test_dockerignore_drops_environments_caches_and_vcs(path: str) -> None:
    assert _ignored(path, _dockerignore())


def test_hosting_requirements_pin_the_cpu_builds_of_the_local_pins() -> None:
    local = _pins(ROOT / "requirements.txt")
    hosting_file = ROOT / "deploy" / "requirements.txt"
    hosting = _pins(hosting_file)
    for package in ("torch", "torchvision"):
        assert "+" not in local[package]  # the local install keeps PyPI's exact pins
        assert hosting[package] == f"{local[package]}+cpu"
    text = hosting_file.read_text()
    assert f"--extra-index-url {CPU_INDEX}" in text
    assert "-r ../requirements.txt" in text  # everything else exactly as the local install
    assert CPU_INDEX not in (ROOT / "requirements.txt").read_text()


def test_community_cloud_entry_sits_beside_its_requirements() -> None:
    # Community Cloud reads the dependency file in the entry point's folder before the root's.
    entry = ROOT / "deploy" / "streamlit_app.py"
    assert entry.is_file() and (entry.parent / "requirements.txt").is_file()
    assert not (entry.parent / "uv.lock").exists()  # it would win over requirements.txt


def test_community_cloud_entry_runs_the_dashboard_in_demo_mode(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unset JLML_DEMO for the run and restore it afterwards (the entry point sets it).
    monkeypatch.setenv("JLML_DEMO", "")
    monkeypatch.delenv("JLML_DEMO")
    cache.refresh_entries()
    at = AppTest.from_file(str(ROOT / "deploy" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title][:1] == ["JL-ML Autoencoder Lab"]
    assert "Train" not in {link.proto.label for link in at.get("page_link")}  # demo mode
    # Pages resolve from the subfolder entry point too (app.py gives them absolute paths).
    at.switch_page("../views/model_zoo.py").run()
    assert not at.exception
    assert any("zoo" in t.value.lower() for t in [*at.title, *at.header, *at.markdown])


def _front_matter(path: Path) -> dict:
    """The YAML block between the leading '---' lines of a Hub card."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path} does not open with front matter"
    block, closed, _body = text[4:].partition("\n---\n")
    assert closed, f"{path}: the front matter is not closed"
    return yaml.safe_load(block)


def test_hugging_face_space_builds_the_dockerfile_and_routes_to_its_port() -> None:
    card = _front_matter(SPACE_CARD)
    assert card["sdk"] == "docker"
    (exposed,) = _args("EXPOSE")
    (command,) = _args("CMD")
    assert card["app_port"] == int(exposed)  # an int in YAML, the port visitors reach
    assert f"--server.port={card['app_port']}" in command  # ...and Streamlit listens on
    assert "--server.address=0.0.0.0" in command  # reachable from outside the container
    assert card["title"] and card["emoji"] and isinstance(card["pinned"], bool)
    assert {card["colorFrom"], card["colorTo"]} <= SPACE_COLOURS
    assert 0 < len(card["short_description"]) <= 60  # the Hub's limit
    # The recipe in docs/deploy.md shows this very front matter.
    block = SPACE_CARD.read_text(encoding="utf-8").split("---\n")[1]
    assert block in (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
