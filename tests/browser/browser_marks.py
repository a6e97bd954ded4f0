"""The marks every real-browser test module carries (browser, slow, skipped without one), and
where its screenshots may be kept.

A module sets `pytestmark = BROWSER_TEST`; CI installs Debian's chromium and playwright, so
there these tests run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tools.screenshots import ROOT, browser_available

BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not browser_available(), reason="needs /usr/bin/chromium and playwright"),
]


def keep_screenshots(*paths: Path) -> None:
    """Copy a test's screenshots into docs/screenshots/ when JLML_SAVE_SCREENSHOTS=1."""
    if os.environ.get("JLML_SAVE_SCREENSHOTS") != "1":
        return
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy(path, target / path.name)
