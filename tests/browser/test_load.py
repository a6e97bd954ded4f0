"""The load benchmark in small: 3 browser sessions click every page at the same moment.

Runs bench/load_test.py's bursts (demo mode, one Chromium with a context per session) over the
tiny test models: every click and control change must be answered without an exception, and
the benchmark must produce its server CPU and memory figures. No timing is asserted: this is a
shared machine. About 40 s; skipped without chromium and playwright.
"""

from __future__ import annotations

from pathlib import Path

from bench.load_test import load_test
from tests.browser.browser_marks import BROWSER_TEST

pytestmark = BROWSER_TEST


def test_three_sessions_clicking_at_once_are_all_answered(tiny_cache: Path, tmp_path: Path) -> None:
    empty_zoo = tmp_path / "empty_zoo"
    empty_zoo.mkdir()
    env = {"JLML_CACHE_DIR": str(tiny_cache), "JLML_ZOO_DIR": str(empty_zoo)}
    result = load_test(env, sessions=3, bursts=1, parallel=3)

    pages = {phase["page"]: phase for phase in result["phases"]}
    assert set(pages) == {"latent_explorer", "generation", "reconstructions"}
    for name, phase in pages.items():
        assert phase["asked"] == 3, name
        assert phase["answered"] == 3, f"{name}: unanswered clicks\n{result['server_output_tail']}"
        assert phase["exceptions"] == 0, name
        assert phase["server_cpu_ms_per_answer"] > 0, name
        assert phase["answer_ms_p50"] > 0, name
        assert len(phase["rss_mb_after_burst"]) == 1 and phase["rss_mb_after_burst"][0] > 50
    assert result["rss_mb_after_open"] > 50
