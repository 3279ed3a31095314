"""What Comparaison's first visit is made of: the page with one part cut at a time, each in
its own server, against the whole page in the same run.

Usage (from the repository root, after `pip install -e '.[test]'`; needs Debian's
/usr/bin/chromium, see .ci/run):

    .venv/bin/python bench/comparaison_parts.py                # 7 rounds, demo store
    .venv/bin/python bench/comparaison_parts.py --rounds 9 --store /tmp/dui-national.store.duckdb

Each variant is a scratch copy of app.py and pages/ where pages/comparaison.py has lost one
part (the filter widgets, three of the five filters, the four figures, the ranking table,
the downloads, the tabs). After every server's warm-up and one visit each, every round opens
each server's /comparaison once in a new browser context (an empty cache: a first visit), in
alternating order. Prints the median per variant and its difference to the whole page. A cut
that no longer matches the page's text fails loudly (an AssertionError naming it). Prints
figures, asserts nothing about them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import _first_visits as first_visits  # noqa: E402
import e2e_support as e2e  # noqa: E402

from dui_metrics.server import READY_LINE  # noqa: E402

PAGE = ROOT / "pages" / "comparaison.py"


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"no longer in pages/comparaison.py: {old[:60]!r}"
    return text.replace(old, new)


def between(text: str, start: str, end: str, new: str = "") -> str:
    """``text`` with what runs from ``start`` up to ``end`` (excluded) replaced by ``new``."""
    assert start in text and end in text, f"no longer in pages/comparaison.py: {start!r}"
    i = text.index(start)
    return text[:i] + new + text[text.index(end, i) :]


# The page's defaults, without a widget.
FIXED = """
chosen = {name: [] for name in FILTERS}
rate_labels = {r.code: r.label for r in ref.rates}
rate = list(rate_labels)[0]
du, au = compare.default_period(months, ref.va_window_months)
several_ogs = ui.cached(compare.perimeter_spans_several_ogs)()
mask = several_ogs

"""
TABS = """ranking_tab, spread_tab, map_tab = st.tabs(
    ["Classement", "Répartition des ESMS", "Carte par département"],
    key="vue",
    on_change="rerun",
    bind="query-params",
)"""
NO_TABS = """class _Open:
    open = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Closed(_Open):
    open = False


ranking_tab, spread_tab, map_tab = _Open(), _Closed(), _Closed()"""


def without_three_filters(text: str) -> str:
    """Région and Département kept; Catégorie, Éditeur and Organisme gestionnaire cut."""
    for line in (
        '    "categorie": ("Catégorie d\'établissement", "Toutes les catégories"),\n',
        '    "editeur": ("Éditeur", "Tous les éditeurs"),\n',
        '    "og": ("Organisme gestionnaire", "Tous les organismes"),\n',
    ):
        text = replace(text, line, "")
    text = replace(text, "slots = st.columns(3) + st.columns(3)", "slots = st.columns(3)")
    text = replace(text, "rate = slots[5].selectbox", "rate = slots[2].selectbox")
    return replace(text, "view = (", "chosen.update(categorie=[], editeur=[], og=[])\nview = (")


VARIANTS: dict[str, Callable[[str], str]] = {
    "whole page": lambda text: text,
    "no filter widgets": lambda text: between(
        text, "# --- filters", "# --- one computation", FIXED
    ),
    "three filters of five cut": without_three_filters,
    "no four figures": lambda text: between(
        text, "a, b, c, d = st.columns(4)", 'st.caption(\n    f"{rate_label} · période'
    ),
    "no ranking table": lambda text: replace(
        text,
        "        ui.table(\n            ranking,",
        "        0 and ui.table(\n            ranking,",
    ),
    "no downloads": lambda text: replace(
        text, "        ui.download_buttons(", "        0 and ui.download_buttons("
    ),
    "no tabs": lambda text: replace(text, TABS, NO_TABS),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--store", type=Path, help="an existing store (read only)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="dui-comparaison-parts-"))
    store = args.store.resolve() if args.store else e2e.build_demo_store(work / "demo")
    source = PAGE.read_text(encoding="utf-8")
    servers: dict[str, e2e.StreamlitServer] = {}
    try:
        for i, (name, cut) in enumerate(VARIANTS.items()):
            folder = work / f"v{i}"
            shutil.copytree(ROOT / "pages", folder / "pages")
            shutil.copy(ROOT / "app.py", folder / "app.py")
            (folder / "pages" / "comparaison.py").write_text(cut(source), encoding="utf-8")
            server = e2e.StreamlitServer(folder / "app.py", store, cwd=folder, log=folder / "log")
            servers[name] = server.start()
            server.wait_for_output(READY_LINE)
        with sync_playwright() as p:
            browser = e2e.launch_chromium(p)
            for name, server in servers.items():  # one visit each: the servers' caches
                context = e2e.new_context(browser)
                page = context.new_page()
                e2e.open_and_wait(page, server.url + "/comparaison", timeout_s=300)
                if page.locator('[data-testid="stException"]').count():
                    print(f"⚠ {name}: an exception on the page")
                context.close()
            urls = {name: server.url + "/comparaison" for name, server in servers.items()}
            times = first_visits.alternate(browser, urls, args.rounds)
            browser.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    first_visits.report(
        f"Comparaison, first visit, median of {args.rounds} (new browser context each):",
        times,
        "whole page",
        "against the whole page",
    )


if __name__ == "__main__":
    main()
