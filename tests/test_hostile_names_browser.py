"""Text from input files is shown as text in a real browser (issue 16, « Hardening »): an
establishment named ``<img src=x onerror=alert(1)>``, an OG named ``**x**`` and an editor
named ``:red[x]`` read literally on every page of a real ``streamlit run app.py`` in Chromium,
and nothing runs: no image element, no dialog. (tests/test_text_rendering.py checks what the
pages send, under AppTest; this checks what the browser makes of it.)"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest

from dui_metrics.ingest import ingest_paths
from dui_metrics.store import Store
from tests.e2e_support import ROOT, StreamlitServer, app_pages, chromium_page, open_and_wait

E1, E2, EJ = "690000013", "690000021", "690000005"
NAME = "<img src=x onerror=alert(1)>"
OG = "**x**"
EDITOR = ":red[x]"
REFERENCE = (
    "finess_et;finess_ej;raison_sociale;og_nom;editeur;commande;date_deploiement\n"
    f"{E1};{EJ};{NAME};{OG};{EDITOR};BC-1;01/01/2025\n"
    f"{E2};{EJ};EHPAD Deux;{OG};{EDITOR};BC-1;01/01/2025\n"
)
USAGE = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
    + "".join(f"{e};2025-0{m};40;30;20;25;28;10;5\n" for m in (1, 2, 3) for e in (E1, E2))
)
# Page → (query, the names its main area must show as written). Select boxes bound to the
# address carry their option's label.
PAGES = {
    "accueil": ({}, (EDITOR,)),  # the editors' table (st.table: Markdown in its cells)
    "organisme_gestionnaire": ({"og": f"{OG} ({EJ})"}, (OG,)),
    "etablissement": ({"finess_et": f"{NAME} ({E1})"}, (NAME, OG, EDITOR)),
    "comparaison": ({}, ()),
    "editeur": ({"editeur": EDITOR}, (EDITOR,)),
    "donnees": ({}, ()),
    "methode": ({}, ()),
}


def test_every_page_is_listed() -> None:
    assert sorted(PAGES) == sorted(app_pages())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "ref.csv").write_text(REFERENCE, encoding="utf-8")
    (folder / "usage.csv").write_text(USAGE, encoding="utf-8")
    store = folder / "store.duckdb"
    with Store(store) as s:
        results = ingest_paths(s, [folder / "ref.csv", folder / "usage.csv"])
        assert [r.status for r in results] == ["chargé", "chargé"]
        assert s.execute(
            "select distinct raison_sociale, og_nom, editeur from establishments "
            "where finess_et = $e",
            {"e": E1},
        ).fetchall() == [(NAME, OG, EDITOR)]
    log = ROOT / "test-artefacts" / "streamlit-hostile-names.log"
    app = StreamlitServer(ROOT / "app.py", store, cwd=folder, log=log).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser_page(server: StreamlitServer) -> Iterator:
    with chromium_page() as page:
        # every alert/confirm the page opens, dismissed and noted
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        yield page


@pytest.mark.parametrize("name", list(PAGES))
def test_names_read_as_written_and_nothing_runs(
    name: str, server: StreamlitServer, browser_page
) -> None:
    query, names = PAGES[name]
    page = browser_page
    url = f"{server.url}/{'' if name == 'accueil' else name}"  # the default page: the root
    if query:
        url += "?" + urllib.parse.urlencode(query)
    open_and_wait(page, url)
    page.wait_for_timeout(300)  # an onerror handler fires as soon as the image fails
    main = page.locator('[data-testid="stMain"]')
    assert page.locator('[data-testid="stException"]').count() == 0, main.inner_text()[:1500]
    # the main area's text, and what its select boxes show (the chosen option is the value
    # of the box's input, or its title)
    text = main.inner_text() + "\n".join(
        main.locator('[data-testid="stSelectbox"]').evaluate_all(
            """boxes => boxes.map(b => [b.innerText,
                ...[...b.querySelectorAll('input')].map(i => i.value),
                ...[...b.querySelectorAll('[title]')].map(e => e.title)].join(' '))"""
        )
    )
    for written in names:
        assert written in text, f"{name}: {written!r} not shown as written:\n{text[:1500]}"
    # Nothing of the names became markup: no image, no bold « x », no red « x ».
    assert page.locator('img[src="x"]').count() == 0
    assert (
        page.evaluate(
            """() => [...document.querySelectorAll('strong, b, span[class*="red"], [style*="red"]')]
                  .filter(e => e.textContent.trim() === 'x').length"""
        )
        == 0
    )
    assert page.dialogs == []
    assert page.get_by_text("Page not found").count() == 0
