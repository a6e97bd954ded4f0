"""The marks every real-browser test module carries: browser, slow, and skipped without one.

A module sets `pytestmark = BROWSER_TEST`; CI installs Debian's chromium and playwright, so
there these tests run.
"""

from __future__ import annotations

import pytest

from tools.screenshots import browser_available

BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not browser_available(), reason="needs /usr/bin/chromium and playwright"),
]
