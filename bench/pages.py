"""Page timings on the demo store (or any store): AppTest reruns and real-browser loads,
cold and warm.

Usage (from the repository root, after `pip install -e '.[test]'`; the browser part needs
Debian's /usr/bin/chromium, see .ci/run):

    .venv/bin/python bench/pages.py                 # every page, 5 warm runs each
    .venv/bin/python bench/pages.py --repeat 9 --pages accueil etablissement
    .venv/bin/python bench/pages.py --no-browser    # AppTest only
    .venv/bin/python bench/pages.py --store /tmp/dui-national.store.duckdb   # national scale

With ``--store`` the pages read that store instead of a freshly built demo store. The store is
only read (the app opens read-only snapshots of it); the bench checks that its identity,
size and modification time are unchanged at the end, and that no demo store was written in
its scratch folders (the app builds one only where no store exists). "Today" is pinned to
2026-11-25 (DUI_METRICS_TODAY) for both stores: the demo's and the national generator's date.

Prints figures, asserts nothing. For each page of app.py:
- AppTest (in this process, the app's own script runner without a browser):
  cold = first run of the page after `st.cache_data.clear()` and `st.cache_resource.clear()`
  (modules already imported, the store's DuckDB snapshot already open); warm = median of
  --repeat reruns of the same session.
- Browser (Debian's headless Chromium; two fresh `streamlit run app.py` per page):
  at once = first navigation to /<page> as soon as the server answers, while its warm-up
  (`dui_metrics.server`) runs: imports, store snapshot, empty caches, static files;
  server warm-up = seconds from the server's first answer to its « pages prêtes » line, on a
  second fresh server; first visit = the first navigation to /<page> after that line (what
  the first visitor of a server started beforehand waits); new visitor = median of --repeat
  more first visits to that page, each in a new browser context (its cache empty, like a
  first visit; one sample is too noisy on a shared machine); then, on that server, reload =
  median of --repeat further navigations (each a new page load and session) and rerun =
  median of --repeat reruns in the same session (the "r" shortcut: what a widget change or a
  sidebar click costs); cold rerun = the same after emptying the server's caches (the "c"
  shortcut's « Clear caches »: what a rerun costs when nothing it needs was computed before,
  a never-seen selection). Times run from navigation start (or the key press) to the last
  DOM change before Streamlit went idle.
- Memory: this process's peak RSS after the page's AppTest runs (getrusage maxrss, a running
  peak) and the server's peak RSS after its browser loads (VmHWM, per fresh server).
Baselines measured in the same run: an empty script (one st.title) under AppTest and in its
own server, so the page's own cost is what exceeds them (« first visit − empty »: issue 17
wants a first visit under 3 s on the demo store, under 4 s on the national one). After each
page, what its first visit fetched (files, bytes, the largest and when each had arrived). Each warm figure (AppTest warm,
browser reload, browser rerun) above the 1 s target, and each cold one above 3 s, is marked.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import e2e_support as e2e  # noqa: E402

from dui_metrics.server import READY_LINE  # noqa: E402

TARGET_S = 1.0  # warm: a rerun, a reload
COLD_TARGET_S = 3.0  # cold: empty caches
EMPTY_SCRIPT = 'import streamlit as st\n\nst.title("vide")\n'
# Streamlit reads STREAMLIT_<SECTION>_<OPTION> from the environment over config.toml.
DEVELOPER_TOOLBAR = {"STREAMLIT_CLIENT_TOOLBAR_MODE": "developer"}


@dataclass
class Row:
    name: str
    app_cold: float | None = None
    app_warm: list[float] = field(default_factory=list)
    browser_at_once: float | None = None
    warm_up: float | None = None
    browser_first: float | None = None
    browser_new: list[float] = field(default_factory=list)  # new visitors (empty cache)
    browser_reload: list[float] = field(default_factory=list)
    browser_rerun: list[float] = field(default_factory=list)
    browser_cold_rerun: list[float] = field(default_factory=list)
    bench_rss: float | None = None
    server_rss: float | None = None
    first_loads: list[dict] = field(default_factory=list)  # `_RESOURCES` of the first visit
    notes: list[str] = field(default_factory=list)


# What the browser fetched for the first visit (the Performance API's resource entries, the
# page's own cache empty: a new context per server): the largest files with their size on
# the wire, decoded size and when they had arrived (ms since navigation start).
_RESOURCES = """() => performance.getEntriesByType('resource').map(e => ({
    name: e.name.split('/').pop().split('?')[0] || e.name,
    wire: e.encodedBodySize, size: e.decodedBodySize, end: e.responseEnd}))
  .sort((a, b) => b.size - a.size)"""


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def quiet_streamlit_logs() -> None:
    for name, log in logging.root.manager.loggerDict.items():
        if name.startswith("streamlit") and isinstance(log, logging.Logger):
            log.setLevel(logging.ERROR)


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench_apptest(pages: list[str], repeat: int) -> dict[str, Row]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    rows: dict[str, Row] = {}

    def clear_caches() -> None:
        quiet_streamlit_logs()  # "missing ScriptRunContext": clearing outside a script run
        st.cache_data.clear()
        st.cache_resource.clear()

    # Imports and the store snapshot happen once per process: measured apart, then excluded.
    at = AppTest.from_file(str(e2e.APP), default_timeout=600)
    first = timed(at.run)
    print(f"AppTest: first run of app.py (imports, store snapshot, default page): {first:.2f} s")

    base = Row("(empty script)")
    at = AppTest.from_string(EMPTY_SCRIPT, default_timeout=600)
    clear_caches()
    base.app_cold = timed(at.run)
    base.app_warm = [timed(at.run) for _ in range(repeat)]
    base.bench_rss = maxrss_mib()
    rows[base.name] = base

    for name in pages:
        row = Row(name)
        at = AppTest.from_file(str(e2e.APP), default_timeout=600)
        at.run()  # AppTest switches pages only after a first run
        at.switch_page(f"pages/{name}.py")
        clear_caches()
        row.app_cold = timed(at.run)
        row.app_warm = [timed(at.run) for _ in range(repeat)]
        if at.exception:
            row.notes.append("AppTest exception")
        row.bench_rss = maxrss_mib()
        rows[name] = row
        print(f"AppTest: {name} cold {row.app_cold:.2f} s, warm {median(row.app_warm)}")
    return rows


def bench_browser(pages: list[str], repeat: int, store: Path, work: Path, rows: dict) -> None:
    from playwright.sync_api import sync_playwright

    empty = work / "empty.py"
    empty.write_text(EMPTY_SCRIPT, encoding="utf-8")
    # The default page is served at the root (« /accueil » is a « Page not found » dialog).
    targets = [("(empty script)", empty, "")] + [
        (n, e2e.APP, "" if n == "accueil" else n) for n in pages
    ]
    with sync_playwright() as p:
        browser = e2e.launch_chromium(p)
        for name, script, path in targets:
            row = rows.setdefault(name, Row(name))
            cwd = work / f"server-{name.strip('()').replace(' ', '_')}"
            cwd.mkdir(exist_ok=True)
            with e2e.StreamlitServer(script, store, cwd=cwd, log=cwd / "at-once.log") as server:
                context = e2e.new_context(browser)
                row.browser_at_once = e2e.open_and_wait(
                    context.new_page(), f"{server.url}/{path}", timeout_s=300
                )
                context.close()
            # Developer toolbar on this one: the « c » shortcut (Clear caches) of the cold
            # reruns exists only there, and the project's config says viewer.
            with e2e.StreamlitServer(
                script, store, cwd=cwd, log=cwd / "streamlit.log", env=DEVELOPER_TOOLBAR
            ) as server:
                if script == e2e.APP:
                    row.warm_up = server.wait_for_output(READY_LINE)
                context = e2e.new_context(browser)
                page = context.new_page()
                url = f"{server.url}/{path}"
                row.browser_first = e2e.open_and_wait(page, url, timeout_s=300)
                row.first_loads = page.evaluate(_RESOURCES)
                for _ in range(repeat):  # other first visitors: each its own empty cache
                    other = e2e.new_context(browser)
                    row.browser_new.append(e2e.open_and_wait(other.new_page(), url, timeout_s=300))
                    other.close()
                row.browser_reload = [
                    e2e.open_and_wait(page, url, timeout_s=300) for _ in range(repeat)
                ]
                row.browser_rerun = [e2e.rerun_and_wait(page, timeout_s=300) for _ in range(repeat)]
                row.browser_cold_rerun = [
                    e2e.cold_rerun_and_wait(page, timeout_s=300) for _ in range(repeat)
                ]
                if page.locator('[data-testid="stException"]').count():
                    row.notes.append("exception on screen")
                row.server_rss = server.peak_rss_mib()
                context.close()
            print(
                f"browser: {name} at once {row.browser_at_once:.2f} s, warm-up {fmt(row.warm_up)} s, "
                f"first visit {row.browser_first:.2f} s, new visitors "
                f"{' '.join(f'{x:.2f}' for x in row.browser_new)} s, reload "
                f"{median(row.browser_reload)}, rerun {median(row.browser_rerun)}, cold rerun "
                f"{median(row.browser_cold_rerun)}"
            )
            print(f"  first visit fetched {loads_summary(row.first_loads)}")
        browser.close()


def loads_summary(loads: list[dict], top: int = 5) -> str:
    """« N files, X KiB on the wire (Y KiB decoded); largest: name size (arrived at t s)… »"""
    wire = sum(x["wire"] for x in loads) / 1024
    size = sum(x["size"] for x in loads) / 1024
    largest = ", ".join(
        f"{x['name']} {x['size'] / 1024:.0f} KiB (at {x['end'] / 1000:.2f} s)" for x in loads[:top]
    )
    return f"{len(loads)} files, {wire:.0f} KiB on the wire ({size:.0f} KiB decoded); largest: {largest}"


def store_identity(path: Path) -> tuple[int, int, int]:
    """(inode, size, modification time in ns): any write, or replacement, changes it."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "—"


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def print_table(rows: dict[str, Row], repeat: int) -> None:
    base = rows.get("(empty script)")
    base_app = statistics.median(base.app_warm) if base and base.app_warm else 0.0
    base_reload = statistics.median(base.browser_reload) if base and base.browser_reload else 0.0
    base_rerun = statistics.median(base.browser_rerun) if base and base.browser_rerun else 0.0
    base_first = base.browser_first if base and base.browser_first is not None else None
    base_new = statistics.median(base.browser_new) if base and base.browser_new else None
    header = (
        "page",
        "AppTest cold s",
        f"AppTest warm s (med {repeat})",
        "browser at once s",
        "server warm-up s",
        "browser first visit s",
        "first visit − empty s",
        f"new visitor s (med {repeat})",
        "new visitor − empty s",
        f"reload s (med {repeat})",
        f"rerun s (med {repeat})",
        f"cold rerun s (med {repeat})",
        "bench peak RSS MiB",
        "server peak RSS MiB",
        f"> {TARGET_S:g} s warm / > {COLD_TARGET_S:g} s cold",
    )
    lines = []
    for row in rows.values():
        over = []
        if row.app_warm and statistics.median(row.app_warm) > TARGET_S:
            over.append("AppTest")
        if row.browser_rerun and statistics.median(row.browser_rerun) > TARGET_S:
            over.append("rerun")
        if row.browser_reload and statistics.median(row.browser_reload) > TARGET_S:
            over.append("reload")
        if row.app_cold is not None and row.app_cold > COLD_TARGET_S:
            over.append("AppTest cold")
        if row.browser_cold_rerun and statistics.median(row.browser_cold_rerun) > COLD_TARGET_S:
            over.append("cold rerun")
        if row.browser_at_once is not None and row.browser_at_once > COLD_TARGET_S:
            over.append("at once")
        if row.browser_first is not None and row.browser_first > COLD_TARGET_S:
            over.append("first visit")
        if row.browser_new and statistics.median(row.browser_new) > COLD_TARGET_S:
            over.append("new visitor")
        flag = ("⚠ " + " + ".join(over)) if over else "ok"
        if row.notes:
            flag += " · " + ", ".join(row.notes)
        lines.append(
            (
                row.name,
                fmt(row.app_cold),
                median(row.app_warm),
                fmt(row.browser_at_once),
                fmt(row.warm_up),
                fmt(row.browser_first),
                fmt(
                    None
                    if row.browser_first is None or base_first is None
                    else row.browser_first - base_first
                ),
                median(row.browser_new),
                fmt(
                    None
                    if not row.browser_new or base_new is None
                    else statistics.median(row.browser_new) - base_new
                ),
                median(row.browser_reload),
                median(row.browser_rerun),
                median(row.browser_cold_rerun),
                fmt(row.bench_rss, 0),
                fmt(row.server_rss, 0),
                flag,
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    print()
    print(
        f"Baseline (empty script): first visit {fmt(base_first)} s; warm medians: AppTest "
        f"{base_app:.2f} s, browser reload {base_reload:.2f} s, rerun {base_rerun:.2f} s; a "
        "page's own cost is its figure minus "
        f"these. Target: every warm figure ≤ {TARGET_S:g} s (AppTest warm, rerun, reload), every "
        f"cold one ≤ {COLD_TARGET_S:g} s."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per page (median)")
    parser.add_argument("--pages", nargs="*", help="page names (default: every page of app.py)")
    parser.add_argument("--no-browser", action="store_true", help="AppTest figures only")
    parser.add_argument(
        "--store",
        type=Path,
        help="read this existing store instead of building the demo store (never written)",
    )
    args = parser.parse_args()
    pages = args.pages or e2e.app_pages()
    if args.store is not None:
        args.store = args.store.resolve()
        if not args.store.is_file():
            parser.error(f"--store {args.store}: no such file")

    import streamlit

    print(
        f"dui-metrics page bench · Python {platform.python_version()} · Streamlit "
        f"{streamlit.__version__} · {os.cpu_count()} CPU · {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"load average (1, 5, 15 min) at start: {load_average()}")
    today = e2e.TODAY  # as the browser's servers (e2e.StreamlitServer) pin it
    with tempfile.TemporaryDirectory(prefix="dui-bench-") as tmp:
        work = Path(tmp)
        if args.store is None:
            start = time.perf_counter()
            store = e2e.build_demo_store(work)
            print(
                f"demo store: {store.stat().st_size / 2**20:.1f} MiB, built in "
                f"{time.perf_counter() - start:.1f} s (dui-metrics demo, today {today})"
            )
        else:
            store = args.store
            print(
                f"store: {store} ({store.stat().st_size / 2**20:.1f} MiB, read only), today {today}"
            )
        before = store_identity(store)
        os.environ["DUI_METRICS_STORE"] = str(store)
        os.environ["DUI_METRICS_TODAY"] = today
        os.chdir(work)  # the app writes data/demo here if it ever misses its store
        rows = bench_apptest(pages, args.repeat)
        if not args.no_browser:
            bench_browser(pages, args.repeat, store, work, rows)
        written = sorted(str(p.relative_to(work)) for p in work.rglob("data") if p.is_dir())
        unchanged = store_identity(store) == before
    print_table(rows, args.repeat)
    print(f"load average (1, 5, 15 min) at end: {load_average()}")
    print(
        "store unchanged (inode, size, mtime)" if unchanged else "⚠ THE STORE WAS WRITTEN",
        "· no demo data written" if not written else f"· ⚠ demo data written in {written}",
    )
    return 0 if unchanged and not written else 1


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
