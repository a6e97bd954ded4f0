"""Open a running deployment in headless Chromium like a visitor and check every page.

    python tools/check_deploy.py http://localhost:8501 --demo --out /tmp/deploy-shots
    python tools/check_deploy.py http://localhost:8080 --visitors 4     # behind a load balancer

For each visitor (a fresh browser context: its own cookies, so its own sticky replica): checks
`/_stcore/health`, opens Home, follows the Home page's link to the Latent Explorer (a click, over
the app's WebSocket), then opens every page in the sidebar and fails on any Streamlit exception
box. `--demo` also requires the Train page to be hidden. Screenshots of the first visitor's pages
go to `--out`. Exits 1 on the first failure, with the reason.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.screenshots import (  # noqa: E402 - after the path fix, so it runs from anywhere
    VIEWPORT,
    browser_available,
    launch_browser,
    page_paths,
    screenshot,
    wait_until_idle,
)

_EXCEPTION = '[data-testid="stException"]'


def check_health(base_url: str) -> None:
    """Raise unless the server answers its health endpoint with 200."""
    with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=10) as reply:
        if reply.status != 200:
            raise RuntimeError(f"/_stcore/health answered {reply.status}")


def visit(browser, base_url: str, demo: bool, out: Path | None) -> list[str]:
    """One visitor's walk through the app; returns a line per page with its load time."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    lines = []
    try:
        paths = page_paths(page, base_url)  # loads Home
        if demo and "train" in paths:
            raise RuntimeError("demo mode is off: the Train page is in the sidebar")
        page.get_by_role("link", name="Latent Explorer").last.click()
        page.wait_for_url(re.compile(r"/latent_explorer(\?.*)?$"), timeout=60_000)
        wait_until_idle(page)
        for path in paths:
            name = path or "home"
            started = time.monotonic()
            page.goto(f"{base_url}/{path}")
            wait_until_idle(page)
            if page.locator(_EXCEPTION).count():
                raise RuntimeError(f"{name}: {page.locator(_EXCEPTION).first.inner_text()}")
            lines.append(f"{name}: ok in {time.monotonic() - started:.1f} s")
            if out is not None:
                screenshot(page, out / f"{name}.png")
        return lines
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the deployment's address, e.g. http://localhost:8501")
    parser.add_argument("--demo", action="store_true", help="require the Train page hidden")
    parser.add_argument("--visitors", type=int, default=1, help="fresh browser sessions")
    parser.add_argument("--out", type=Path, help="folder for the first visitor's screenshots")
    args = parser.parse_args(argv)
    if not browser_available():
        print("Needs /usr/bin/chromium and the playwright package.", file=sys.stderr)
        return 1
    base_url = args.url.rstrip("/")
    try:
        check_health(base_url)
        print("health: ok")
        with launch_browser() as browser:
            for visitor in range(args.visitors):
                out = args.out if visitor == 0 else None
                for line in visit(browser, base_url, args.demo, out):
                    print(f"visitor {visitor + 1}, {line}")
    except (OSError, RuntimeError, TimeoutError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
