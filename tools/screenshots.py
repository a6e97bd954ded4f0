"""Start the dashboard, save a screenshot of every page, stop the dashboard.

    python tools/screenshots.py --out /tmp/shots                  # every page, your cache
    python tools/screenshots.py --out /tmp/shots --cache-dir /tmp/devcache --pages latent_explorer

The same pieces drive the browser test and the click-latency benchmark: `free_port`,
`StreamlitServer` (a context manager that starts `python -m dashboard`, i.e. `streamlit run app.py`
with its imports done first, on a free local port,
waits until it answers, and kills its process group on exit), `launch_browser` (Debian's
chromium, headless) and `wait_until_idle` (waits for the page's main content and until
Streamlit has stopped running the script and showing spinners). Takes about 5 s per page.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 1000}
MAX_SHOT_HEIGHT = 6000

# The app root carries the script-run state; spinners and the skeleton mean content is coming.
_BUSY_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app ? app.getAttribute("data-test-script-state") : "initial";
    const running = !["notRunning", "compilationError"].includes(state);
    const spinning = document.querySelector('[data-testid="stSpinner"]') !== null;
    const skeleton = document.querySelector('[data-testid="stAppSkeleton"]') !== null;
    return running || spinning || skeleton;
}"""
_MAIN_CONTENT = '[data-testid="stMain"] [data-testid="stElementContainer"]'


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamlitServer(contextlib.AbstractContextManager):
    """`python -m dashboard` (`streamlit run app.py`, imports done first, as `make run` starts it)
    in its own process group, on a free port, for the duration.

    Args:
        env: extra environment variables (e.g. JLML_CACHE_DIR).
        timeout: seconds to wait for the server to answer its health check.
    """

    def __init__(self, env: dict[str, str] | None = None, timeout: float = 90.0) -> None:
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StreamlitServer:
        for _ in range(3):  # another program may grab the port between probe and bind
            self.port = free_port()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dashboard",
                 "--server.port", str(self.port), "--server.address", "127.0.0.1",
                 "--server.headless", "true", "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false"],
                cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            if self._wait_healthy():
                return self
            self.stop()
        raise RuntimeError(f"Streamlit did not start; its output:\n{self.output()}")

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.3)
        return False

    def output(self) -> str:
        """Everything the server printed so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Terminate the server's process group (only the processes this object started)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def __exit__(self, *exc_info) -> None:
        self.stop()
        self._log.close()


def browser_available() -> bool:
    """True when chromium and the playwright package are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


@contextlib.contextmanager
def launch_browser() -> Iterator:
    """A headless Debian chromium driven by Playwright (never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def wait_until_idle(page, timeout: float = 120.0, quiet: float = 1.0) -> None:
    """Wait for main content, then until Streamlit has been idle for `quiet` seconds."""
    page.wait_for_selector(_MAIN_CONTENT, timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if page.evaluate(_BUSY_JS):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= quiet:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"{page.url} was still running after {timeout:.0f} s")


def page_paths(page, base_url: str) -> list[str]:
    """URL paths of the pages in the sidebar navigation, in menu order ("" is Home)."""
    page.goto(base_url)
    wait_until_idle(page)
    hrefs = page.eval_on_selector_all(
        '[data-testid="stSidebarNav"] a', "links => links.map(a => a.href)"
    )  # absolute URLs; Home is the bare root
    paths = [urllib.parse.urlsplit(href).path.strip("/") for href in hrefs]
    return list(dict.fromkeys(paths)) or [""]


def screenshot(page, path: Path) -> Path:
    """Save the whole page: the viewport is stretched to the main area's scroll height."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0"
    )
    width = page.viewport_size["width"] if page.viewport_size else VIEWPORT["width"]
    page.set_viewport_size(
        {"width": width, "height": max(VIEWPORT["height"], min(height, MAX_SHOT_HEIGHT))}
    )
    page.wait_for_timeout(400)  # let charts re-layout to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
    return path


def screenshot_pages(
    browser,
    base_url: str,
    out_dir: Path,
    only: Sequence[str] | None = None,
    check: Callable[[object, str], None] | None = None,
    on_request: Callable[[str], None] | None = None,
) -> list[Path]:
    """Open every page of the running app (or those named in `only`) and screenshot it.

    `check(page, name)`, if given, runs on each loaded page before its screenshot;
    `on_request(url)` sees the URL of every request the browser makes meanwhile.
    """
    page = browser.new_page(viewport=VIEWPORT)
    if on_request is not None:
        page.on("request", lambda request: on_request(request.url))
    page.set_default_timeout(120_000)
    try:
        paths = page_paths(page, base_url)
        if only:
            paths = [p for p in paths if (p or "home") in only]
        saved = []
        for path in paths:
            name = path or "home"
            page.goto(f"{base_url}/{path}")
            wait_until_idle(page)
            if check is not None:
                check(page, name)
            saved.append(screenshot(page, out_dir / f"{name}.png"))
        return saved
    finally:
        page.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"), help="folder for PNGs")
    parser.add_argument("--cache-dir", help="checkpoint cache to show (sets JLML_CACHE_DIR)")
    parser.add_argument("--zoo-dir", help="model zoo folder (sets JLML_ZOO_DIR)")
    parser.add_argument("--pages", help="comma-separated page names, e.g. home,latent_explorer")
    args = parser.parse_args(argv)
    if not browser_available():
        print("Needs /usr/bin/chromium and the playwright package.", file=sys.stderr)
        return 1
    env = {"JLML_CACHE_DIR": args.cache_dir} if args.cache_dir else {}
    if args.zoo_dir is not None:
        env["JLML_ZOO_DIR"] = args.zoo_dir
    only = args.pages.split(",") if args.pages else None
    with StreamlitServer(env) as server, launch_browser() as browser:
        for path in screenshot_pages(browser, server.url, args.out, only):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
