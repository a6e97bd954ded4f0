"""`python -m dashboard`: Streamlit's own `run app.py`, with the app's imports done first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dashboard.__main__ as launcher

ROOT = Path(__file__).resolve().parents[2]


def test_preload_imports_every_dashboard_module_and_what_the_pages_need() -> None:
    code = (
        "import sys, dashboard.__main__ as m; names = m.preload(); "
        "print(len(names), all(k in sys.modules for k in "
        "('torch', 'plotly.graph_objects', 'dashboard.cache', 'jlml_core.inference.latent')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    count, everything = done.stdout.split()
    modules = [
        p for p in (ROOT / "dashboard").glob("*.py") if p.stem not in {"__init__", "__main__"}
    ]
    assert (int(count), everything) == (len(modules), "True")
    assert "No runtime found" not in done.stderr  # the decorators' storage warning is hushed


def test_warming_up_leaves_plotly_s_default_template_alone() -> None:
    import plotly.io as pio

    before = pio.templates.default
    launcher.warm_up()
    assert pio.templates.default == before


def test_main_hands_streamlit_run_app_py_and_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.web import cli

    seen = []
    from dashboard import server

    monkeypatch.setattr(launcher, "preload", lambda: [])
    monkeypatch.setattr(launcher, "warm_up", lambda: seen.append("warm"))
    monkeypatch.setattr(server, "tune_decoding", lambda: seen.append("tuned"))
    monkeypatch.setattr(cli, "main", lambda: seen.append(list(sys.argv)) or 0)
    monkeypatch.setattr(sys, "argv", ["dashboard"])
    with pytest.raises(SystemExit) as exit_info:
        launcher.main(["--server.port", "8599"])
    assert exit_info.value.code == 0
    command = ["streamlit", "run", str(ROOT / "app.py"), "--server.port", "8599"]
    assert seen == ["warm", "tuned", command]


def test_the_server_measures_its_decode_setting_with_its_own_thread_count() -> None:
    code = (
        "import torch; from dashboard import server; from jlml_core.inference import decoder; "
        "chosen = server.tune_decoding(); "
        "print(*chosen, torch.get_num_threads(), *decoder.decode_setting('fp32'), "
        "*decoder.decode_setting('bf16'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    size, taps, threads, *settings = done.stdout.split()
    assert threads == "1"  # the server's TORCH_THREADS, set before measuring
    # The precision pages decode in now uses what was measured.
    assert [size, taps] in (settings[:2], settings[2:])
