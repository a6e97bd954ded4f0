"""Click latency of the Latent Explorer: server time per click and click-to-image in a browser.

    python bench/click_latency.py                         # your model cache, 20 clicks
    python bench/click_latency.py --cache-dir /tmp/devcache --clicks 40 --out bench/results/x.json

Starts the dashboard on a free port, opens the Latent Explorer in headless chromium with the
sidebar's default model (all 10,000 test digits plotted) and clicks, alternately, a random test
digit and a random place in the plane. For every click it records

* server ms: the fragment's own wall time, from its start to the end of the detail panel, as
  the page prints it ("Updated in N ms on the server");
* browser ms: from the mouse-down event to the frame after the panel's new image has loaded,
  timed inside the page with `performance.now()` (a MutationObserver watches the image).

and prints the median, 90th percentile and worst of both against the budgets (50 ms server,
400 ms browser). It also prints the server process's CPU per click, digit and place apart: its
utime + stime from /proc over each click until the page is idle again, less what the idle
server used over the same wall time (measured before the clicks). The clock ticks every 10 ms,
so only sums over many clicks mean anything. About a minute on an idle laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.latent_probes import DETAIL, TARGETS_JS, panel_image_probe_js  # noqa: E402
from bench.load_test import cpu_seconds  # noqa: E402
from tools.screenshots import (  # noqa: E402
    VIEWPORT,
    StreamlitServer,
    browser_available,
    launch_browser,
    wait_until_idle,
)

BUDGET_MS = {"server": 50.0, "browser": 400.0}

INSTRUMENT_JS = panel_image_probe_js("__latency")

# Where the browser time went: Plotly's selection, until the image is requested, its download.
TIMES_JS = """() => {
    const s = window.__latency;
    const img = document.querySelector('DETAIL img');
    const fetch = performance.getEntriesByName(img.src).pop();
    return {browser_ms: s.t1 - s.t0,
            plotly_select_ms: s.selected === null ? null : s.selected - s.t0,
            image_requested_ms: fetch ? fetch.startTime - s.t0 : null,
            image_loaded_ms: fetch ? fetch.responseEnd - s.t0 : null};
}""".replace("DETAIL", DETAIL)


def summarise(values: list[float], budget: float) -> dict[str, float]:
    """Median, 90th percentile and worst of `values`, and the median's share of `budget`."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    median = statistics.median(ordered)
    return {"median": median, "p90": p90, "max": ordered[-1], "budget": budget,
            "median_over_budget": median / budget, "p90_over_budget": p90 / budget}  # fmt: skip


WARM_UP_CLICKS = 4  # not counted: a model's first clicks fill its caches


def idle_cpu_per_s(pid: int, seconds: float = 15.0) -> float:
    """CPU seconds per second the server uses while nobody clicks."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def cpu_per_click(samples: list[dict], idle_per_s: float) -> dict[str, float]:
    """Server CPU ms per click of each kind, the idle server's share of the wall time removed."""
    result = {}
    for kind in ("digit", "plane"):
        done = [s for s in samples if s["shown"] == kind]
        if done:
            cpu = sum(s["server_cpu_s"] for s in done) - idle_per_s * sum(s["wall_s"] for s in done)
            result[kind] = 1000 * cpu / len(done)
    return result


def measure(base_url: str, pid: int, clicks: int, seed: int) -> dict:
    """Click the Latent Explorer `clicks` times; returns per-click and summary numbers."""
    rng = random.Random(seed)
    samples = []
    with launch_browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(base_url)  # the router first: it registers the pages
        wait_until_idle(page)
        page.goto(f"{base_url}/latent_explorer")
        wait_until_idle(page)
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData")
        model = page.locator('[data-testid="stSidebar"] code').last.inner_text()  # entry folder
        page.evaluate(INSTRUMENT_JS)
        idle_per_s = idle_cpu_per_s(pid)
        for i in range(-WARM_UP_CLICKS, clicks):
            kind = "digit" if i % 2 == 0 else "plane"
            where = [rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95), rng.random()]
            target = page.evaluate(TARGETS_JS, where)[kind]
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            page.mouse.click(*target)
            try:
                page.wait_for_function("() => window.__latency.t1 !== null", timeout=20_000)
            except Exception:  # noqa: BLE001 - a click that selected the same point again
                print(f"click {i}: no new image (same point selected twice?)", file=sys.stderr)
                continue
            times = page.evaluate(TIMES_JS)
            wait_until_idle(page, quiet=0.3)
            cpu, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - wall_before
            text = page.inner_text(DETAIL)
            server = re.search(r"Updated in (\d+) ms", text)
            shown = "digit" if "Test digit" in text else "plane"
            if i < 0:
                continue
            samples.append({"aimed_at": kind, "shown": shown, **times,
                            "server_ms": float(server.group(1)) if server else None,
                            "server_cpu_s": cpu, "wall_s": wall})  # fmt: skip
    server = [s["server_ms"] for s in samples if s["server_ms"] is not None]
    browser_ms = [s["browser_ms"] for s in samples]
    return {
        "model": model.strip(),
        "clicks": samples,
        "idle_server_cpu_ms_per_s": 1000 * idle_per_s,
        "server_cpu_ms_per_click": cpu_per_click(samples, idle_per_s),
        "server_ms": summarise(server, BUDGET_MS["server"]) if server else None,
        "browser_ms": summarise(browser_ms, BUDGET_MS["browser"]) if browser_ms else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", help="checkpoint cache (sets JLML_CACHE_DIR)")
    parser.add_argument("--zoo-dir", help="model zoo folder (sets JLML_ZOO_DIR)")
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads in the server (OMP_NUM_THREADS)")
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    if not browser_available():
        print("Needs /usr/bin/chromium and the playwright package.", file=sys.stderr)
        return 1
    env = {}
    if args.cache_dir:
        env["JLML_CACHE_DIR"] = args.cache_dir
    if args.zoo_dir is not None:
        env["JLML_ZOO_DIR"] = args.zoo_dir
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    load_before = os.getloadavg()[0]
    with StreamlitServer(env) as server:
        result = measure(server.url, server.process.pid, args.clicks, args.seed)
    result["threads"] = args.threads
    load_after = os.getloadavg()[0]
    result["load_average"] = [load_before, load_after]  # a busy machine is slower
    print(
        f"model: {result['model']}, {len(result['clicks'])} clicks, "
        f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} CPUs"
    )
    for name in ("plotly_select_ms", "image_requested_ms", "image_loaded_ms"):
        values = [c[name] for c in result["clicks"] if c.get(name) is not None]
        if values:
            print(f"  {name}: median {statistics.median(values):.0f} ms after the mouse-down")
    for name in ("server_ms", "browser_ms"):
        if (s := result[name]) is None:
            print(f"{name}: no measurements")
            continue
        print(f"{name:>10}: median {s['median']:6.0f}  p90 {s['p90']:6.0f}  max {s['max']:6.0f}"
              f"   budget {s['budget']:.0f} ms: median at {s['median_over_budget']:.0%},"
              f" p90 at {s['p90_over_budget']:.0%}")  # fmt: skip
    cpu = result["server_cpu_ms_per_click"]
    print(
        "server CPU per click (idle "
        f"{result['idle_server_cpu_ms_per_s']:.0f} ms/s removed): "
        + ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in cpu.items())
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
