"""Every page of the dashboard in real headless Chromium, served by `streamlit run app.py`.

One server and one browser for the module, on the demo store (`dui-metrics demo`, today
pinned to 2026-11-25: VA window 08/2026–10/2026). Each page is opened through its URL, waited
for until Streamlit is idle, checked against `EXPECTED` below, checked for exception boxes,
and saved as test-artefacts/screenshots/<page>.png. Then every page again at 1440 and 390 px
wide (issue 17): no English left by Streamlit or Plotly, nothing wider than a phone, no card
label cut; screenshots in test-artefacts/screenshots/issue17/. Needs Debian's
/usr/bin/chromium (.ci/run installs it); without it the test fails, it is never skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from e2e_support import (
    ROOT,
    TODAY,
    StreamlitServer,
    app_pages,
    build_demo_store,
    chromium_page,
    click_and_wait,
    full_page_screenshot,
    open_and_wait,
)

from dui_metrics.demo import DEMO_ESMS
from dui_metrics.server import POLL_S, READY_LINE

SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"


@dataclass(frozen=True)
class Screen:
    """What must be on screen once Streamlit is idle."""

    title: str  # the page's h1
    query: dict[str, str] = field(default_factory=dict)  # URL query parameters
    texts: tuple[str, ...] = ()  # each appears in the main area's text
    metrics: dict[str, str] = field(default_factory=dict)  # st.metric label -> shown value


def demo_esms(name: str):
    return next(e for e in DEMO_ESMS if e.raison_sociale == name)


# Demo facts (dui_metrics/demo.py), VA window 08/2026–10/2026: 40 ESMS, 4 OG, 24 months
# (11/2024–10/2026). Blocked with data: EHPAD Le Clos Fleuri (0 MSSanté message), ESAT Les
# Ateliers du Rhône (0 DMP document), SSIAD de Vitré (0 projet personnalisé); without data in
# the window: MAS Les Oliviers (nothing since 08/2026), ESAT de la Siagne (never any usage).
# -> 35 ready, 3 blocked by a zero, 2 blocked for want of data (issue 17's one vocabulary).
# Association Les Tilleuls: 10 ESMS, Clos Fleuri and Ateliers du Rhône blocked -> 8 / 2 / 0.
# Médisoc: 9 Saint-Roch + 6 Roubaix + 10 Ker Avel = 25 clients; Vitré blocks by a zero,
# Oliviers and Siagne for want of data.
# Missing months: Oliviers 08–10/2026, Saint-Roch Les Jalles 10/2026 (late export), SSIAD de
# Vaulx-en-Velin 09/2025 (gap) -> 3 alerts; feed dropped to zero: Ateliers du Rhône (DMP).
TILLEULS = demo_esms("EHPAD Le Clos Fleuri").finess_ej
CLOS_FLEURI = demo_esms("EHPAD Le Clos Fleuri").finess_et
DEMO_BANNER = "Données de démonstration (fictives)"
WINDOW = "08/2026–10/2026"

# page (file name = URL path) -> what it must show. Select boxes bound to the URL with a
# format_func take their displayed label as the query value ("Nom (FINESS)"): that is what the
# page writes into the address bar when the user picks one.
EXPECTED: dict[str, Screen] = {
    "accueil": Screen(
        title="Suivi des usages du DUI Ségur",
        texts=(DEMO_BANNER,),
        metrics={
            "Établissements (ESMS)": "40",
            "Organismes gestionnaires": "4",
            "Mois de données": "24",
            "ESMS prêts": "35",
            "ESMS bloqués par un zéro": "3",
            "ESMS bloqués faute de données": "2",
        },
    ),
    "organisme_gestionnaire": Screen(
        title="Organisme gestionnaire",
        query={"og": f"Association Les Tilleuls ({TILLEULS})"},
        texts=(DEMO_BANNER, f"2 établissements sur 10 bloquent la VA sur {WINDOW}"),
        metrics={
            "ESMS prêts": "8",
            "ESMS bloqués par un zéro": "2",
            "ESMS bloqués faute de données": "0",
        },
    ),
    "etablissement": Screen(
        title="Établissement",
        query={"finess_et": f"EHPAD Le Clos Fleuri ({CLOS_FLEURI})"},
        # Deployed 25/11/2024: every month 11/2024–10/2026 received.
        texts=(DEMO_BANNER, f"Bloque la VA sur {WINDOW} : bloqué par un zéro (MSSanté)."),
        metrics={"Mois renseignés": "24 / 24", "Dernier mois reçu": "oct. 2026"},
    ),
    "comparaison": Screen(
        title="Comparaison des établissements",
        texts=(DEMO_BANNER,),
        metrics={"ESMS comparés": "40", "ESMS prêts": "35 sur 40"},
    ),
    "editeur": Screen(
        title="Éditeur",
        query={"editeur": "Médisoc"},
        texts=(DEMO_BANNER, f"Fenêtre de la VA : {WINDOW}."),
        metrics={
            "ESMS clients": "25",
            "ESMS prêts": "22",
            "ESMS bloqués par un zéro": "1",
            "ESMS bloqués faute de données": "2",
        },
    ),
    "donnees": Screen(
        title="Données",
        texts=(
            DEMO_BANNER,
            "7 fichier(s) importé(s)",
            "Mois manquants (3)",
            "Chute à zéro (1)",
            "Aucune donnée d'usage (1)",
        ),
    ),
    "methode": Screen(title="Méthode", texts=("Référentiel 2026.11-v1",)),
}


def test_every_page_has_expectations() -> None:
    assert list(EXPECTED) == app_pages()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    folder = tmp_path_factory.mktemp("e2e")
    store = build_demo_store(folder)
    log = ROOT / "test-artefacts" / "streamlit-server.log"
    app = StreamlitServer(ROOT / "app.py", store, cwd=folder, log=log).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser_page(server: StreamlitServer) -> Iterator:
    with chromium_page() as page:
        yield page


def on_screen(page) -> tuple[str, str, dict[str, str]]:
    """(h1 text, main area text, {metric label: value}) of the page as displayed."""
    main = page.locator('[data-testid="stMain"]')
    h1 = main.locator("h1")
    title = h1.first.inner_text().strip() if h1.count() else ""
    metrics: dict[str, str] = {}
    for m in main.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        metrics.setdefault(label, m.locator('[data-testid="stMetricValue"]').inner_text().strip())
    return title, main.inner_text(), metrics


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in EXPECTED])
def test_page_in_chromium(name: str, server: StreamlitServer, browser_page) -> None:
    expected = EXPECTED[name]
    query = f"?{urllib.parse.urlencode(expected.query)}" if expected.query else ""
    page = browser_page
    # The default page is served at the site's root: « /accueil » is Streamlit's « Page not
    # found » dialog over the page.
    path = "" if name == "accueil" else name
    open_and_wait(page, f"{server.url}/{path}{query}")
    assert page.get_by_text("Page not found").count() == 0, name
    full_page_screenshot(page, SCREENSHOTS / f"{name}.png")

    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: exception on screen:\n{exceptions.first.inner_text()}"
    title, text, metrics = on_screen(page)
    assert title == expected.title, f"{name}: title {title!r}"
    # app.py's sections, not the file list Streamlit shows when the page ran without app.py.
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Pilotage" in nav, f"{name}: sidebar is not app.py's navigation:\n{nav}"
    missing = [t for t in expected.texts if t not in text]
    assert not missing, f"{name}: not on screen: {missing}\n--- screen text ---\n{text[:2000]}"
    assert {label: metrics.get(label) for label in expected.metrics} == expected.metrics


def test_og_tabs_compute_the_table_the_user_opens(server: StreamlitServer, browser_page) -> None:
    # The per-ESMS tables are lazy tabs: a click reruns the page with the tab in the address,
    # and only that tab's table is drawn. Association Les Tilleuls: 10 ESMS, 2 blocking.
    page = browser_page
    query = urllib.parse.urlencode(EXPECTED["organisme_gestionnaire"].query)
    open_and_wait(page, f"{server.url}/organisme_gestionnaire?{query}")
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_role("tab", name="Écarts à combler").get_attribute("aria-selected") == "true"
    # the gaps only, as a text table (up to 50 rows: ui.text_table), no grid
    tables = main.locator('[data-testid="stMarkdownContainer"] table')
    assert tables.count() == 1 and main.locator('[data-testid="stDataFrame"]').count() == 0
    assert tables.locator("a", has_text="Ouvrir").count() >= 2  # each gap's « Fiche »
    click_and_wait(page.get_by_role("tab", name="Critères par établissement"))
    assert "vue=Crit" in page.url, page.url
    assert tables.count() == 1
    # the matrix: 10 ESMS of the OG; its caption tells the three statuses apart
    assert "❌ manquant : aucune donnée sur la fenêtre" in main.inner_text()
    assert "Chaque critère non rempli" not in main.inner_text()


def test_og_and_editor_pages_hand_out_the_evidence_pack(
    server: StreamlitServer, browser_page, tmp_path
) -> None:
    # The two downloads are built on the server when clicked (evidence.build_pack), the same
    # files as `dui-metrics preuves`: Association Les Tilleuls, 10 ESMS, 2 blocking; no order
    # chosen; VA month 10/2026 (the latest).
    import openpyxl
    from pypdf import PdfReader

    page = browser_page
    query = urllib.parse.urlencode(EXPECTED["organisme_gestionnaire"].query)
    open_and_wait(page, f"{server.url}/organisme_gestionnaire?{query}")
    main = page.locator('[data-testid="stMain"]')
    stem = f"preuves-VA_{TILLEULS}_2026-10"
    with page.expect_download(timeout=60_000) as pdf_download:
        main.get_by_role("button", name="PDF à signer").click()
    assert pdf_download.value.suggested_filename == f"{stem}.pdf"
    pdf_path = tmp_path / f"{stem}.pdf"
    pdf_download.value.save_as(pdf_path)
    first = PdfReader(pdf_path).pages[0].extract_text()
    assert "Verdict : bloqué par 2 ESMS sur 10" in first
    assert WINDOW in first
    with page.expect_download(timeout=60_000) as xlsx_download:
        main.get_by_role("button", name="Classeur XLSX").click()
    assert xlsx_download.value.suggested_filename == f"{stem}.xlsx"
    xlsx_path = tmp_path / f"{stem}.xlsx"
    xlsx_download.value.save_as(xlsx_path)
    summary = openpyxl.load_workbook(xlsx_path)["Synthèse"]
    verdicts = [row[10].value for row in summary.iter_rows(min_row=2)]
    assert sorted(verdicts) == ["bloqué"] * 2 + ["prêt"] * 8

    # Éditeur page: one pack per order; Médisoc's first order (sorted) is BC-2024-0045, of
    # the CCAS de Roubaix (595102112).
    open_and_wait(page, f"{server.url}/editeur?editeur=M%C3%A9disoc")
    main = page.locator('[data-testid="stMain"]')
    with page.expect_download(timeout=60_000) as order_download:
        main.get_by_role("button", name="PDF à signer").click()
    name = order_download.value.suggested_filename
    assert name == "preuves-VA_595102112_BC-2024-0045_2026-10.pdf"
    order_path = tmp_path / name
    order_download.value.save_as(order_path)
    assert "BC-2024-0045" in PdfReader(order_path).pages[0].extract_text()


WARM_LINE = f"{READY_LINE} (7 en "  # dui_metrics.server, after opening app.py's 7 pages


def test_server_prepares_the_pages_at_start_and_after_each_import(tmp_path, browser_page) -> None:
    # `streamlit run app.py` serves app.py through its st.App, whose warm-up opens every page
    # once the server starts, and again when the store gets a new version (here an ingest
    # by the command line while the server runs). A page opened afterwards shows the new
    # version: Clos Fleuri, blocked by 0 MSSanté message, gets 3 in 10/2026 and is ready.
    store = build_demo_store(tmp_path)
    log = tmp_path / "server.log"
    with StreamlitServer(ROOT / "app.py", store, cwd=tmp_path, log=log) as server:
        server.wait_for_output(WARM_LINE, timeout=300)
        update = tmp_path / "maj.csv"
        update.write_text(
            f"FINESS ET;Période;Indicateur;Valeur\n{CLOS_FLEURI};10/2026;mss_messages_envoyes;3\n",
            encoding="utf-8",
        )
        cli = os.path.join(os.path.dirname(sys.executable), "dui-metrics")
        done = subprocess.run(
            [cli, "ingest", "--store", str(store), str(update)],
            capture_output=True,
            text=True,
            env={**os.environ, "DUI_METRICS_TODAY": TODAY},
        )
        assert done.returncode == 0, done.stderr
        server.wait_for_output(WARM_LINE, timeout=120, count=2)
        second = time.monotonic()
        query = urllib.parse.urlencode(EXPECTED["etablissement"].query)
        open_and_wait(browser_page, f"{server.url}/etablissement?{query}")
        assert browser_page.locator('[data-testid="stException"]').count() == 0
        text = browser_page.locator('[data-testid="stMain"]').inner_text()
        assert f"Prêt pour la VA sur {WINDOW} : tous les critères sont remplis." in text
        # two looks at the store's version later, still two warm-ups: none without a new version
        time.sleep(max(0.0, second + 2 * POLL_S - time.monotonic()))
        assert log.read_text().count(WARM_LINE) == 2


def test_a_desktop_server_opens_the_browser_once_the_pages_are_ready(tmp_path) -> None:
    # Without --server.headless, `streamlit run` opens the dashboard in the user's browser,
    # but not for an st.App: dui_metrics.server does it, after the first warm-up. A stand-in
    # xdg-open (what Streamlit calls on Linux) notes the address it gets and how many warm-up
    # lines the server had written by then.
    store = build_demo_store(tmp_path)
    log = tmp_path / "server.log"
    opened = tmp_path / "opened.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "xdg-open"
    stand_in.write_text(
        f"#!/bin/sh\necho \"$1 $(grep -c '{READY_LINE}' '{log}')\" >> '{opened}'\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    path = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    with StreamlitServer(
        ROOT / "app.py", store, cwd=tmp_path, log=log, headless=False, env=path
    ) as server:
        server.wait_for_output(WARM_LINE, timeout=300)
        for _ in range(100):
            if opened.exists():
                break
            time.sleep(0.1)
        assert opened.read_text().split() == [server.url, "1"]


# --- Issue 17: French only, nothing cut, nothing wider than a phone --------------------------

WIDTHS = (1440, 390)  # a desktop screen, a phone (iPhone 12–15: 390 CSS px)
# English that Streamlit 1.67's frontend (streamlit/static/static/js: FileUploader,
# Multiselect, Selectbox, DataFrame, utils) and Plotly's modebar can print, by what prints it.
# Case-sensitive: French words and the material icons' ligature names (« upload ») are lower
# case or accented.
ENGLISH: dict[str, str] = {
    "toolbar": r"\bDeploy\b|\bRerun\b|\bRunning\.\.\.|Made with Streamlit|Page not found"
    r"|^Print$|Record (?:a )?screen|^Settings$|^About$|Clear cache|Developer options",
    "select box": r"\bChoose (?:an option|options)\b|\bChoose or add\b|\bAdd (?:an option|options)\b"
    r"|\bNo options to select\b|\bNo results\b|\bSelect all\b|\bSelect \d+ matches\b"
    r"|\bYou can only select\b|\bAdd: ",
    "missing value": r"(?<![\w-])(?:None|NaN|nan|NaT|null|undefined|<NA>)(?![\w-])",
    "file uploader": r"\bDrag and drop\b|\bper file\b|\bBrowse files\b|\bUpload\b|\bAdd files\b"
    r"|Upload failed|File is too large|files are not allowed|Only one file|\badd icon\b",
    "byte size": r"\b\d+(?:\.\d+)?\s?(?:B|KB|MB|GB|TB)\b",
    "Plotly modebar": r"Download plot|\bZoom\b|\bPan\b|\bAutoscale\b|Reset axes|\bReset\b"
    r"|Box Select|Lasso Select|Produced with Plotly",
    "element toolbar": r"Download as CSV|\bSearch\b|\bFullscreen\b|Show/hide columns|\bClear all\b"
    r"|Clear selection",
    "widget aria-label": r"\bHelp for\b|\bIncrement\b|\bDecrement\b|\bOpen\b|\bClear value\b"
    r"|Collapse sidebar|Expand sidebar|Main menu|App pages|^Sidebar$|Link to heading"
    r"|Scroll tabs|^file upload$|^Add files$|Vega visualization| — (?:start|end)$"
    r"|View (?:more|less)"
    r"|^Remove ",
}
# Words only a screen reader gets (aria-label, no text on screen), fixed in Streamlit's
# frontend with no parameter nor setting to change them: listed here (and in the README's
# « Ce qui reste en anglais »), reported, not failed on. Anything else English fails.
STREAMLIT_ONLY = re.compile(
    r"^(?:Help for .*|Increment|Decrement|Open|Clear value|Clear all|Collapse sidebar"
    r"|Expand sidebar|Main menu|App pages|Sidebar|Link to heading|Scroll tabs (?:left|right)"
    r"|file upload|Add files|Vega visualization|.+ — (?:start|end)|Remove .+"
    r"|.+, \d+(?:\.\d+)?\s?[KMGT]?B"
    r"|Download as CSV|Search|Fullscreen|Show/hide columns)$"
)
LEFTOVERS = ROOT / "test-artefacts" / "issue17-leftovers.md"

# Every piece of text a user can meet on the page as loaded: what is displayed, placeholders,
# inputs' values, titles and aria-labels (a tooltip, a screen reader), the cells of the
# dataframes (drawn on a canvas; the grid keeps an accessible table of its visible cells).
_TEXTS = r"""() => {
  const out = [];
  const name = (e) => {
    const tag = e.tagName.toLowerCase() + (e.dataset.testid ? `[data-testid="${e.dataset.testid}"]` : '');
    const holder = e.closest('[data-testid]');
    const where = holder && !e.dataset.testid ? ` in ${holder.dataset.testid}` : '';
    const label = e.closest('[data-testid="stElementContainer"]')
      ?.querySelector('[data-testid="stWidgetLabel"]')?.innerText.trim();
    return tag + where + (label ? ` « ${label} »` : '');
  };
  const app = document.querySelector('[data-testid="stApp"]');
  out.push(['text', 'stApp', app.innerText]);
  for (const e of app.querySelectorAll('input, textarea')) {
    if (e.placeholder) out.push(['placeholder', name(e), e.placeholder]);
    if (e.value && e.type !== 'file') out.push(['value', name(e), e.value]);
  }
  for (const a of ['title', 'aria-label', 'data-title', 'alt', 'aria-placeholder'])
    for (const e of app.querySelectorAll(`[${a}]`)) {
      const v = e.getAttribute(a);
      if (v && !/^x: .*; y: /.test(v)) out.push([a, name(e), v]);  // Vega's point labels: data
    }
  for (const t of app.querySelectorAll('[data-testid="stDataFrame"] table'))
    for (const c of t.querySelectorAll('th, td')) out.push(['cell', 'stDataFrame', c.textContent]);
  return out;
}"""

# At 390 px: the document scrolls sideways, or an element of the main area (not inside
# something that scrolls or clips on its own, like a dataframe or the tabs' bar) spills out.
_OVERFLOW = r"""() => {
  const vw = window.innerWidth, out = [];
  const doc = document.documentElement.scrollWidth;
  if (doc > vw) out.push(`document.documentElement.scrollWidth ${doc} > ${vw}`);
  const main = document.querySelector('[data-testid="stMain"]');
  if (main && main.scrollWidth > main.clientWidth + 1)
    out.push(`stMain scrolls sideways: scrollWidth ${main.scrollWidth} > ${main.clientWidth}`);
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  const clipped = (e) => {
    for (let p = e.parentElement; p && p !== block; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o !== 'visible') return true;
    }
    return false;
  };
  const over = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > vw + 1 || r.left < -1 || r.width > vw + 1); };
  for (const e of block ? block.querySelectorAll('*') : []) {
    if (!over(e) || clipped(e) || (e.parentElement !== block && over(e.parentElement))) continue;
    const r = e.getBoundingClientRect();
    const where = e.closest('[data-testid^="st"]:not([data-testid="stElementContainer"])');
    out.push(`${e.tagName.toLowerCase()}${e.dataset.testid ? '[' + e.dataset.testid + ']' : ''}`
      + ` in ${where ? where.dataset.testid : '?'} spans ${Math.round(r.left)}–${Math.round(r.right)} px`
      + ` « ${(e.innerText || e.getAttribute('aria-label') || '').trim().slice(0, 60)} »`);
  }
  return out;
}"""

# At 1440 px: a card's label cut (an ellipsis with text behind it).
_CUT_LABELS = r"""() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
  .filter(l => [l, ...l.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1
      && getComputedStyle(e).overflowX !== 'visible'))
  .map(l => l.innerText.trim())"""


def english_in(texts: list[list[str]]) -> tuple[list[str], list[str]]:
    """(leftovers, Streamlit-only aria-labels) found in `_TEXTS`' output, one line each."""
    found, fixed = [], []
    for kind, where, value in texts:
        lines = value.splitlines() if kind == "text" else [value]
        for line in lines:
            for what, pattern in ENGLISH.items():
                match = re.search(pattern, line)
                if not match:
                    continue
                entry = (
                    f"{what}: « {match.group(0)} » in {kind} of {where}: « {line.strip()[:90]} »"
                )
                if kind == "aria-label" and STREAMLIT_ONLY.match(value):
                    fixed.append(f"« {value} » ({where.split(' « ')[0]})")
                else:
                    found.append(entry)
    return sorted(set(found)), sorted(set(fixed))


def dropdown_texts(page) -> list[list[str]]:
    """Open each select box and multiselect of the page (a click on its input) and read the
    list it shows (« Select all », « No results »…), then close it (Escape)."""
    texts = []
    boxes = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]')
    for box in boxes.all():
        label = (
            box.locator("label").first.inner_text().strip() if box.locator("label").count() else "?"
        )
        if not box.is_visible() or box.locator("input").first.is_disabled():
            continue
        # centred first: a list opening below the fold scrolls the page, which closes it
        box.evaluate("e => e.scrollIntoView({block: 'center'})")
        box.locator("input").first.click()
        listbox = page.locator('[role="listbox"]').last
        try:
            listbox.wait_for(state="visible", timeout=5_000)
            texts.append(["text", f"list of « {label} »", listbox.inner_text()])
        finally:
            page.keyboard.press("Escape")
            page.wait_for_timeout(200)
    return texts


def chosen_file_texts(page, folder) -> list[list[str]]:
    """Choose a small CSV in the Données page's uploader (nothing is checked nor imported
    before a click on « Vérifier ») and read the page again."""
    export = folder / "choisi.csv"
    export.write_text("FINESS ET;Période;Indicateur;Valeur\n", encoding="utf-8")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(export))
    page.locator('[data-testid="stFileChip"]').wait_for(timeout=10_000)
    page.wait_for_timeout(1_000)  # the page's rerun with the file
    return page.evaluate(_TEXTS)


def menu_texts(page) -> list[list[str]]:
    """The ⋮ menu's items, when Streamlit shows the menu (« Print », « Record screen »… in
    viewer mode; the project's minimal mode shows no menu)."""
    button = page.locator('[data-testid="stMainMenuButton"]')
    if not button.count() or not button.first.is_visible():
        return []
    button.first.click()
    menu = page.locator('[data-testid="stMainMenuPopover"]')
    try:
        menu.first.wait_for(state="visible", timeout=5_000)
        return [["text", "stMainMenuPopover", t] for t in menu.all_inner_texts()]
    finally:
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)


@dataclass
class Leftovers:
    """What the tests below found: « page · width · what · where » lines (what each page's
    owner fixes) and the Streamlit-only aria-labels with the pages showing them."""

    lines: list[str] = field(default_factory=list)
    streamlit_only: dict[str, set[str]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def leftovers() -> Iterator[Leftovers]:
    """Written to test-artefacts/issue17-leftovers.md when the module ends."""
    found = Leftovers()
    yield found
    LEFTOVERS.parent.mkdir(parents=True, exist_ok=True)
    LEFTOVERS.write_text(
        "# Issue 17: English, overflow and cut labels left on screen (tests/test_browser.py)\n\n"
        + "".join(f"- {line}\n" for line in found.lines)
        + "\n## Streamlit only (aria-labels with no setting; reported, not failed)\n\n"
        + "".join(
            f"- {label} ({', '.join(sorted(pages))})\n"
            for label, pages in sorted(found.streamlit_only.items())
        ),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    "name, width",
    [pytest.param(n, w, id=f"{n}-{w}") for n in EXPECTED for w in WIDTHS],
)
def test_page_is_french_and_fits(
    name: str, width: int, server: StreamlitServer, browser_page, leftovers: Leftovers, tmp_path
) -> None:
    expected = EXPECTED[name]
    query = f"?{urllib.parse.urlencode(expected.query)}" if expected.query else ""
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    try:
        open_and_wait(page, f"{server.url}/{'' if name == 'accueil' else name}{query}")
        full_page_screenshot(page, SCREENSHOTS / "issue17" / f"{name}-{width}.png")
        assert page.locator('[data-testid="stException"]').count() == 0, name
        texts = page.evaluate(_TEXTS) + dropdown_texts(page) + menu_texts(page)
        if name == "donnees":  # what the uploader shows of a chosen file (« 131.0B »…)
            texts += chosen_file_texts(page, tmp_path)
            full_page_screenshot(page, SCREENSHOTS / "issue17" / f"{name}-{width}-fichier.png")
        problems, fixed = english_in(texts)
        lang = page.evaluate("document.documentElement.lang")
        if lang != "fr":  # screen readers, Chromium's « translate from English » offer
            problems.append(f'<html lang="{lang}">')
        if width < 600:
            problems += [f"overflow: {o}" for o in page.evaluate(_OVERFLOW)]
        else:
            problems += [f"card label cut: « {label} »" for label in page.evaluate(_CUT_LABELS)]
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})
    leftovers.lines.extend(f"{name} · {width} px · {p}" for p in problems)
    for label in fixed:
        leftovers.streamlit_only.setdefault(label, set()).add(name)
    assert not problems, f"{name} at {width} px:\n" + "\n".join(problems)
