"""First open of every page: a new visitor on a freshly started dashboard, timed in Chromium.

    python bench/first_open.py                                    # every page, ~2 min on 2 cores
    python bench/first_open.py --pages home,loss_comparison       # some pages
    python bench/first_open.py --demo --out bench/results/first_open.json

For each page it starts a FRESH server (`streamlit run app.py` with an empty checkpoint cache
and the shipped zoo, as `make run` leaves it; `--demo` adds JLML_DEMO=1), so no page profits
from another page's caches, waits for the health check, then opens the page's URL in a new
headless Chromium context and times from `page.goto` until the page has rendered:

* the page's own markers are on screen (`MARKERS`: its main chart or picture, a last heading),
  every picture of the main area has loaded, and every Plotly chart has drawn its SVG;
* Streamlit is idle: the script is not running, no spinner, no skeleton, no "Running..." status;
* and all of that has held for `--settle` seconds (a page that reruns itself is not done).

The time printed is when that last streak began. The server's CPU seconds over the same span
(utime + stime from /proc) are printed beside it: on a machine shared with other jobs they move
less than the wall time. The server includes the first run's imports (torch, Plotly, the app),
since a real first visitor waits for them too; the table also gives the seconds from starting
the server to its health check, which no visitor waits for. The load average is printed at each
page's start: compare runs made under similar load only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.load_test import cpu_seconds  # noqa: E402
from jlml_core.jobs.runner import machine_description  # noqa: E402
from tools.screenshots import (  # noqa: E402
    _BUSY_JS,
    VIEWPORT,
    StreamlitServer,
    browser_available,
    launch_browser,
)

MAIN = '[data-testid="stMain"]'
PLOT = f'{MAIN} [data-testid="stPlotlyChart"]'
PICTURE = f"{MAIN} img"
# page -> (CSS selectors that must all match, texts the main area must show) once it is done.
MARKERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "home": ((PLOT, f'{MAIN} [data-testid="stPageLink"]'), ("At a glance", "Explore")),
    "reconstructions": ((PICTURE,), ("Reconstructions",)),
    "latent_explorer": ((PLOT, ".st-key-latent_detail img"), ("How clicking works",)),
    "your_digit": ((), ("How your picture is prepared", "Draw a digit in the box")),
    "generation": ((PICTURE,), ("Samples from the prior",)),
    "loss_comparison": (
        (PLOT, f'{MAIN} [data-testid="stTable"]', PICTURE),
        ("What this comparison shows", "Training curves"),
    ),  # fmt: skip
    "model_zoo": ((PLOT,), ("Latent spaces side by side",)),  # its pictures: a lazy tab
    "train": ((f'{MAIN} [data-testid="stBaseButton-primary"]',), ("Train",)),
}
DEMO_PAGES = tuple(page for page in MARKERS if page != "train")

# True when the markers are there, every picture loaded and every Plotly chart drawn.
_RENDERED_JS = """([selectors, texts]) => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main) return false;
    if (!selectors.every(s => document.querySelector(s) !== null)) return false;
    const shown = main.innerText;
    if (!texts.every(t => shown.includes(t))) return false;
    if (![...main.querySelectorAll("img")].every(img => img.complete)) return false;
    const charts = [...main.querySelectorAll('[data-testid="stPlotlyChart"]')];
    if (!charts.every(c => c.querySelector(".main-svg") !== null)) return false;
    return document.querySelector('[data-testid="stStatusWidget"]') === null
        || !document.querySelector('[data-testid="stStatusWidget"]').innerText.includes("Running");
}"""


@dataclass
class Opening:
    """One page's first open on a fresh server."""

    page: str
    seconds: float  # page.goto to rendered
    server_cpu_seconds: float  # the server process's CPU over the same span
    startup_seconds: float  # server start to health check (no visitor waits for it)
    load_average: float  # 1-minute load average when the page was opened


def _url_path(page: str) -> str:
    return "" if page == "home" else page


def _rendered(page, selectors: tuple[str, ...], texts: tuple[str, ...]) -> bool:
    from playwright.sync_api import Error as PlaywrightError

    try:
        busy = page.evaluate(_BUSY_JS)
        return not busy and page.evaluate(_RENDERED_JS, [list(selectors), list(texts)])
    except PlaywrightError:  # the document is still being replaced by the page's own
        return False


def time_first_open(
    browser, page_name: str, env: dict[str, str], settle: float, timeout: float
) -> Opening:
    """Start a fresh server, open `page_name` once and time it until rendered and idle."""
    selectors, texts = MARKERS[page_name]
    started = time.perf_counter()
    with StreamlitServer(env) as server:
        startup = time.perf_counter() - started
        load = os.getloadavg()[0]
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        try:
            cpu_before = cpu_seconds(server.process.pid)
            t0 = time.perf_counter()
            page.goto(f"{server.url}/{_url_path(page_name)}", wait_until="commit")
            done_since = None
            while True:
                now = time.perf_counter()
                if now - t0 > timeout:  # reported as not rendered; the other pages go on
                    print(f"{page_name}: not rendered after {timeout:.0f} s", file=sys.stderr)
                    return Opening(page_name, float("nan"), float("nan"), startup, load)
                ready = _rendered(page, selectors, texts)
                if not ready:
                    done_since = None
                elif done_since is None:
                    done_since = (now, cpu_seconds(server.process.pid))
                elif now - done_since[0] >= settle:
                    break
                page.wait_for_timeout(50)
            seconds = done_since[0] - t0
            cpu = done_since[1] - cpu_before
        finally:
            context.close()
    return Opening(page_name, seconds, cpu, startup, load)


def format_table(openings: list[Opening]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| page | first open, s | server CPU, s | server start, s | load avg (1 min) |",
        "|---|---:|---:|---:|---:|",
    ]
    for o in openings:
        lines.append(
            f"| {o.page} | {o.seconds:.2f} | {o.server_cpu_seconds:.2f} | "
            f"{o.startup_seconds:.1f} | {o.load_average:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", help=f"comma-separated, of: {', '.join(MARKERS)}")
    parser.add_argument("--demo", action="store_true", help="JLML_DEMO=1 (no Train page)")
    parser.add_argument("--zoo-dir", help="another model zoo folder (default: checkpoints/)")
    parser.add_argument(
        "--settle", type=float, default=0.5, help="seconds the rendered state must hold"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per page")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if not browser_available():
        print("Needs /usr/bin/chromium and the playwright package.", file=sys.stderr)
        return 1
    pages = args.pages.split(",") if args.pages else list(DEMO_PAGES if args.demo else MARKERS)
    if unknown := [p for p in pages if p not in MARKERS]:
        parser.error(f"unknown page(s) {', '.join(unknown)}; pages: {', '.join(MARKERS)}")
    if args.demo and "train" in pages:
        parser.error("a demo has no Train page")
    print(f"CPU: {machine_description()}")
    print(f"load average at start (1/5/15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    openings = []
    with tempfile.TemporaryDirectory(prefix="jlml-empty-cache-") as empty_cache:
        env = {"JLML_CACHE_DIR": empty_cache, "JLML_DEMO": "1" if args.demo else ""}
        if args.zoo_dir:
            env["JLML_ZOO_DIR"] = str(Path(args.zoo_dir).resolve())
        else:
            os.environ.pop("JLML_ZOO_DIR", None)  # the shipped zoo
        with launch_browser() as browser:
            for page in pages:
                opening = time_first_open(browser, page, env, args.settle, args.timeout)
                print(f"{page}: {opening.seconds:.2f} s", file=sys.stderr, flush=True)
                openings.append(opening)
    print(format_table(openings))
    print(f"load average at end (1/5/15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.out:
        record = {
            "machine": machine_description(),
            "demo": args.demo,
            "openings": [asdict(o) for o in openings],
        }
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
