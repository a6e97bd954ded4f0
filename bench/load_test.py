"""Load test: many real browser sessions clicking the dashboard at the same moment.

    python bench/load_test.py --sessions 30                  # the capacity run (~15 min, 2 cores)
    python bench/load_test.py --sessions 3 --bursts 1        # a smoke run (~1 min)
    python bench/load_test.py --sessions 30 --out bench/results/load_test_machine_c_30_sessions.json
    python bench/load_test.py --sessions 1 --bursts 12 --pages "" --profile /tmp/spy
                                    # one session's clicks, py-spy samples of each burst

Starts the dashboard in demo mode (JLML_DEMO=1) on a free local port with the shipped zoo (the
sidebar's default model), opens N sessions in ONE headless Chromium (one browser context each,
so every session has its own cookies and websocket) and then, in simultaneous bursts:

* Latent Explorer: every session clicks its scatter at once (alternately a test digit and an
  empty place in the plane); a click is answered when the detail panel's new image has loaded;
* Generation: every session types a new seed for the prior samples and presses Enter;
* Reconstructions: every session types a new seed for the random digits.

Per phase it prints the server's CPU per click/change (utime + stime of the server process from
/proc/PID/stat, which counts all its threads, over the burst, divided by the answers), the
p50/p90 time from the click to the new image (timed inside each page), the server's RSS after
opening the sessions and after every burst (VmRSS), and the exceptions the pages show. The
browser runs on the same cores and competes with the server for CPU: that slows the answers
(p50/p90), not the server CPU figures, which count the server process only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.latent_probes import TARGETS_JS, panel_image_probe_js  # noqa: E402
from tools.screenshots import (  # noqa: E402
    _BUSY_JS,
    _MAIN_CONTENT,
    CHROMIUM,
    CHROMIUM_ARGS,
    StreamlitServer,
    browser_available,
)

# Smaller than the screenshots' viewport: 30 pages share one software-WebGL renderer.
LOAD_VIEWPORT = {"width": 1100, "height": 800}
TARGETS_MS = {"latent_explorer": 35.0, "generation": 150.0, "reconstructions": 150.0}
ANSWER_TIMEOUT_S = 120.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

LATENT_INSTRUMENT_JS = panel_image_probe_js("__load")

# For a whole-page rerun: t0 when the new value is typed, t1 at the frame after the
# app has run and gone idle again with every visible image of the main area loaded.
RERUN_INSTRUMENT_JS = """() => {
    const app = () => document.querySelector('[data-testid="stApp"]');
    const mainImages = () => [...document.querySelectorAll('[data-testid="stMain"] img')];
    const state = window.__load = {t0: null, t1: null, ran: false, srcs: null};
    // t0 at the first keystroke of the new value: a number input may also commit on blur, and
    // a rerun that started before an Enter-only t0 would never be seen as this answer.
    const arm = () => {
        if (state.t0 !== null) return;
        state.t0 = performance.now(); state.t1 = null; state.ran = false;
        state.srcs = mainImages().map(img => img.src).join("|");
    };
    window.addEventListener("input", arm, true);
    window.addEventListener("keydown", (e) => { if (e.key === "Enter") arm(); }, true);
    const inView = (img) => {
        const r = img.getBoundingClientRect();
        return r.bottom > 0 && r.top < window.innerHeight && r.width > 0;
    };  // images below the fold may load lazily, i.e. never in a page nobody scrolls
    const settled = () => mainImages()
        .every(img => !inView(img) || (img.complete && img.naturalWidth > 0));
    const check = (records = []) => {
        if (state.t0 === null || state.t1 !== null) return;
        // A quick run can flip running -> notRunning within one batch of mutation records; and
        // new pictures are proof of a run whatever the state attribute did meanwhile.
        if (records.some(r => r.oldValue === "running")) state.ran = true;
        if (mainImages().map(img => img.src).join("|") !== state.srcs) state.ran = true;
        const st = app()?.getAttribute("data-test-script-state");
        if (st === "running") { state.ran = true; return; }
        if (state.ran && st === "notRunning") {
            const finish = () => requestAnimationFrame(() => { state.t1 = performance.now(); });
            if (settled()) finish();
            else setTimeout(check, 20);
        }
    };
    // The whole document: the app's root element may be replaced while the page lives.
    new MutationObserver(check).observe(document.body, {subtree: true, childList: true,
        attributes: true, attributeOldValue: true,
        attributeFilter: ["data-test-script-state", "src"]});
}"""


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU of a process, all threads included (fields 14 and 15 of stat), or of
    one of its threads."""
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def machine() -> str:
    """CPU model, core count and memory of this machine, for the results file."""
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor())  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{model}, {os.cpu_count()} CPUs, {memory_kb / 2**20:.0f} GiB"


@dataclass
class Phase:
    """One page's bursts: what the server spent and how fast the browsers saw answers."""

    page: str
    cpu_ms_per_answer: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    asked: int = 0
    answered: int = 0
    rss_mb_after_burst: list[float] = field(default_factory=list)
    exceptions: int = 0
    idle_cpu_ms_per_s: list[float] = field(default_factory=list)
    unanswered: list[dict] = field(default_factory=list)
    # The server's event loop (websockets, sessions), the rest being script runs and timers.
    main_thread_cpu_ms_per_answer: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        answered_cpu = [c for c in self.cpu_ms_per_answer if c is not None]
        return {
            "page": self.page,
            "asked": self.asked,
            "answered": self.answered,
            "server_cpu_ms_per_answer": statistics.mean(answered_cpu) if answered_cpu else None,
            "server_cpu_ms_per_answer_by_burst": self.cpu_ms_per_answer,
            "target_cpu_ms": TARGETS_MS[self.page],
            "answer_ms_p50": percentile(self.answer_ms, 50),
            "answer_ms_p90": percentile(self.answer_ms, 90),
            "rss_mb_after_burst": self.rss_mb_after_burst,
            "exceptions": self.exceptions,
            "idle_server_cpu_ms_per_s_before_burst": self.idle_cpu_ms_per_s,
            "unanswered_pages": self.unanswered,
            "main_thread_cpu_ms_per_answer_by_burst": self.main_thread_cpu_ms_per_answer,
        }


async def wait_idle(page, quiet: float = 0.5, timeout: float = ANSWER_TIMEOUT_S) -> None:
    """Main content shown and no script run or spinner for `quiet` seconds."""
    await page.wait_for_selector(_MAIN_CONTENT, timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await page.wait_for_function(f"() => !({_BUSY_JS})()", timeout=timeout * 1000)
        await asyncio.sleep(quiet)
        if not await page.evaluate(_BUSY_JS):
            return
    raise TimeoutError(f"{page.url} did not go idle in {timeout:.0f} s")


async def open_page(context, url: str, path: str):
    """A page of the app in `context`, opened at its own URL (st.navigation routes it), idle."""
    page = await context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_S * 1000)
    # Only the navigation's commit: on a starved machine the "load" event of 30 pages that share
    # two cores can take minutes; wait_idle then waits for the app itself.
    await page.goto(f"{url}/{path}", wait_until="commit", timeout=3 * ANSWER_TIMEOUT_S * 1000)
    await wait_idle(page, timeout=3 * ANSWER_TIMEOUT_S)
    return page


async def navigate(page, path: str) -> None:
    """Switch the session to another page with the sidebar menu (same session, no reload)."""
    await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').click()
    # The page keeps its model and choices in the query string (dashboard/links.py).
    await page.wait_for_url(re.compile(rf"/{re.escape(path)}(\?.*)?$"))
    await wait_idle(page)


async def count_exceptions(pages) -> int:
    counts = await asyncio.gather(
        *(p.locator('[data-testid="stException"]').count() for p in pages)
    )
    return sum(counts)


# What a page looks like when its answer never came: enough to tell a lost rerun from a slow one.
UNANSWERED_STATE_JS = """() => ({
    load: window.__load,
    script: document.querySelector('[data-testid="stApp"]')?.getAttribute(
        "data-test-script-state"),
    pendingImages: [...document.querySelectorAll('[data-testid="stMain"] img')]
        .filter(img => !(img.complete && img.naturalWidth > 0)).length,
    seed: document.querySelector('input[aria-label="Seed"]')?.value ?? null,
    imagesChanged: window.__load.srcs === undefined ? null : [...document.querySelectorAll(
        '[data-testid="stMain"] img')].map(img => img.src).join("|") !== window.__load.srcs,
    url: location.href,
})"""


async def wait_answered(page, unanswered: list[dict]) -> float | None:
    """Milliseconds from the action to the new image, or None if none came in time.

    An unanswered page's state goes into `unanswered`.
    """
    try:
        await page.wait_for_function(
            "() => window.__load.t1 !== null", timeout=ANSWER_TIMEOUT_S * 1000
        )
    except Exception:  # noqa: BLE001 - a Playwright timeout: this action was not answered
        unanswered.append(await page.evaluate(UNANSWERED_STATE_JS))
        return None
    return await page.evaluate("() => window.__load.t1 - window.__load.t0")


async def settle(pid: int, pages, quiet_s: float = 1.0, timeout_s: float = 600.0) -> float:
    """Wait until every page is idle and the server has spent (almost) no CPU for `quiet_s`.

    The server's warm-up thread encodes every model's test set after the first session starts;
    a burst measured while it still runs would count its CPU as the clicks'. Returns the
    server's CPU in ms per second over the last quiet interval (its idle cost with every
    session open); raises if it never settles.
    """
    await asyncio.gather(*(wait_idle(p, quiet=0.3) for p in pages))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(quiet_s)
        used = cpu_seconds(pid) - before
        if used < 0.02 * quiet_s:
            return 1000 * used / quiet_s
    raise TimeoutError(f"the server kept using CPU for {timeout_s:.0f} s with the pages idle")


class Profiler:
    """py-spy sampling the server during each burst (collapsed stacks), when asked for."""

    def __init__(self, pid: int, folder: Path | None) -> None:
        self.pid, self.folder, self.process, self.count = pid, folder, None, 0

    def start(self, name: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count += 1
        out = self.folder / f"{self.count:02d}_{name}.txt"
        self.process = subprocess.Popen(
            ["py-spy", "record", "--pid", str(self.pid), "--format", "raw", "--rate", "200",
             "--nonblocking", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)
            self.process = None


PROFILER: Profiler = Profiler(0, None)


async def burst(pid: int, pages, act, phase: Phase) -> None:
    """Run `act(page, i)` on every page at once; account server CPU and answer times."""
    phase.idle_cpu_ms_per_s.append(await settle(pid, pages))
    PROFILER.start(f"{phase.page}_{len(phase.rss_mb_after_burst) + 1}")
    cpu_before, main_before = cpu_seconds(pid), cpu_seconds(pid, thread=pid)
    await asyncio.gather(*(act(page, i) for i, page in enumerate(pages)))
    times = await asyncio.gather(*(wait_answered(p, phase.unanswered) for p in pages))
    await asyncio.gather(*(wait_idle(p, quiet=0.2) for p in pages))
    cpu = cpu_seconds(pid) - cpu_before
    main_cpu = cpu_seconds(pid, thread=pid) - main_before
    PROFILER.stop()
    answered = [t for t in times if t is not None]
    phase.asked += len(pages)
    phase.answered += len(answered)
    phase.answer_ms += answered
    phase.cpu_ms_per_answer.append(1000 * cpu / len(answered) if answered else None)
    phase.main_thread_cpu_ms_per_answer.append(
        1000 * main_cpu / len(answered) if answered else None
    )
    phase.rss_mb_after_burst.append(rss_mb(pid))
    phase.exceptions += await count_exceptions(pages)
    cpu_ms = phase.cpu_ms_per_answer[-1]
    print(
        f"  {phase.page}: burst {len(phase.rss_mb_after_burst)}, {len(answered)}/{len(pages)} "
        f"answered, {cpu_ms or 0:.0f} ms server CPU each, "
        f"RSS {phase.rss_mb_after_burst[-1]:.0f} MB",
        file=sys.stderr,
        flush=True,
    )


async def latent_phase(pid: int, pages, bursts: int, rng: random.Random) -> Phase:
    phase = Phase("latent_explorer")
    await asyncio.gather(
        *(p.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData")
          for p in pages))  # fmt: skip
    await asyncio.gather(*(p.evaluate(LATENT_INSTRUMENT_JS) for p in pages))
    for b in range(bursts):
        kind = "digit" if b % 2 == 0 else "plane"
        wheres = [[rng.random(), rng.random(), rng.random()] for _ in pages]
        targets = await asyncio.gather(
            *(p.evaluate(TARGETS_JS, w) for p, w in zip(pages, wheres, strict=True))
        )

        async def click(page, i, targets=targets, kind=kind):
            await page.mouse.click(*targets[i][kind])

        await burst(pid, pages, click, phase)
    return phase


async def seed_phase(name: str, pid: int, pages, bursts: int) -> Phase:
    """Every session types a new seed into the page's 'Seed' box and presses Enter, all at once."""
    phase = Phase(name)
    await asyncio.gather(*(p.evaluate(RERUN_INSTRUMENT_JS) for p in pages))
    for b in range(bursts):
        boxes = [p.get_by_label("Seed", exact=True).first for p in pages]
        await asyncio.gather(*(p.evaluate("() => { window.__load.t0 = null; }") for p in pages))

        async def commit(page, i, boxes=boxes, b=b):
            await boxes[i].fill(str(1000 * (b + 1) + i))
            await boxes[i].press("Enter")

        await burst(pid, pages, commit, phase)
    return phase


SEED_PAGES = ("generation", "reconstructions")


async def run(
    url: str, pid: int, sessions: int, bursts: int, seed: int, parallel: int, seed_pages=SEED_PAGES
) -> dict:
    from playwright.async_api import async_playwright

    rng = random.Random(seed)
    result: dict = {"phases": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            contexts = [await browser.new_context(viewport=LOAD_VIEWPORT) for _ in range(sessions)]
            gate = asyncio.Semaphore(parallel)  # opening 30 WebGL pages at once starves 2 cores

            async def open_one(context, path):
                async with gate:
                    return await open_page(context, url, path)

            started = time.monotonic()
            pages = await asyncio.gather(*(open_one(c, "latent_explorer") for c in contexts))
            result["open_s"] = time.monotonic() - started
            print(f"  {sessions} sessions open after {result['open_s']:.0f} s", file=sys.stderr)
            started = time.monotonic()
            await settle(pid, pages)
            result["settle_after_open_s"] = time.monotonic() - started
            print(f"  server settled {result['settle_after_open_s']:.0f} s later", file=sys.stderr)
            result["rss_mb_after_open"] = rss_mb(pid)
            result["phases"].append((await latent_phase(pid, pages, bursts, rng)).summary())
            for name in seed_pages:

                async def go(page, name=name):
                    async with gate:
                        await navigate(page, name)

                await asyncio.gather(*(go(p) for p in pages))
                result["phases"].append((await seed_phase(name, pid, pages, bursts)).summary())
            result["rss_mb_end"] = rss_mb(pid)
        finally:
            await browser.close()
    return result


def load_test(
    env: dict[str, str],
    sessions: int,
    bursts: int = 3,
    seed: int = 0,
    parallel: int = 4,
    seed_pages: tuple[str, ...] = SEED_PAGES,
    profile: Path | None = None,
) -> dict:
    """Start the app in demo mode with `env`, run the bursts, return every number.

    Args:
        env: extra environment for the server (e.g. JLML_CACHE_DIR, JLML_ZOO_DIR).
        sessions: browser sessions (one context each, all in one Chromium).
        bursts: simultaneous bursts per page.
        seed: seed of the click positions.
        parallel: sessions opened at a time.
        seed_pages: the pages whose seed is changed after the Latent Explorer's bursts.
        profile: a folder for py-spy's samples of the server during each burst.
    """
    global PROFILER
    load_before = os.getloadavg()[0]
    with StreamlitServer({**env, "JLML_DEMO": "1"}) as server:
        PROFILER = Profiler(server.process.pid, profile)
        result = asyncio.run(
            run(server.url, server.process.pid, sessions, bursts, seed, parallel, seed_pages)
        )
        result["server_output_tail"] = server.output()[-2000:]
    result.update(sessions=sessions, bursts=bursts, machine=machine(),
                  load_average=[load_before, os.getloadavg()[0]])  # fmt: skip
    return result


def print_table(result: dict) -> None:
    print(
        f"{result['sessions']} sessions, {result['bursts']} bursts per page, "
        f"server RSS after opening {result['rss_mb_after_open']:.0f} MB ({result['machine']})"
    )
    print(
        f"{'page':<16} {'answered':>9} {'CPU ms/answer':>14} {'target':>7} {'p50 ms':>7} "
        f"{'p90 ms':>7} {'exceptions':>10}  RSS MB after each burst"
    )
    nan = float("nan")
    for p in result["phases"]:
        cpu = p["server_cpu_ms_per_answer"]
        p50, p90 = p["answer_ms_p50"] or nan, p["answer_ms_p90"] or nan
        print(
            f"{p['page']:<16} {p['answered']:>4}/{p['asked']:<4} "
            f"{cpu if cpu is not None else nan:>14.1f} {p['target_cpu_ms']:>7.0f} "
            f"{p50:>7.0f} {p90:>7.0f} "
            f"{p['exceptions']:>10}  {', '.join(f'{r:.0f}' for r in p['rss_mb_after_burst'])}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--bursts", type=int, default=3, help="bursts per page")
    parser.add_argument("--parallel", type=int, default=4, help="sessions opened at a time")
    parser.add_argument("--cache-dir", help="checkpoint cache (default: an empty one)")
    parser.add_argument("--zoo-dir", help="model zoo folder (sets JLML_ZOO_DIR)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pages", default="latent_explorer,generation,reconstructions",
        help="comma-separated; the Latent Explorer always runs first",
    )  # fmt: skip
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument("--out", type=Path, help="also write the numbers to this JSON file")
    parser.add_argument(
        "--profile", type=Path, help="record each burst with py-spy (collapsed stacks) here"
    )
    args = parser.parse_args(argv)
    if not browser_available():
        print("Needs /usr/bin/chromium and the playwright package.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as empty_cache:
        env = {"JLML_CACHE_DIR": args.cache_dir or empty_cache}
        if args.zoo_dir is not None:
            env["JLML_ZOO_DIR"] = args.zoo_dir
        pages = tuple(p for p in args.pages.split(",") if p in SEED_PAGES)
        result = load_test(
            env, args.sessions, args.bursts, args.seed, args.parallel, pages, args.profile
        )
    result["label"] = args.label
    print_table(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
