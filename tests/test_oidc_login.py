"""OpenID Connect login and per-user perimeters in real Chromium (issue 16).

One OpenID provider (`oidc-provider-mock`, on loopback) and one `streamlit run app.py` server
for the module, on the demo store, with ``[auth]`` pointing at the provider in a secrets file
of a scratch folder (``secrets.files`` through STREAMLIT_SECRETS_FILES: never the
repository's .streamlit/secrets.toml) and an access file with three identities. Each identity
logs in through the provider's own form, in a browser context of its own.

What is checked, for every page URL:
- before login: the login page only, nothing of the store;
- an identity absent from the access file: the no-access page with the file's contact;
- the OG, ARS and editor users: no FINESS ET, FINESS EJ, ESMS name or OG name outside their
  perimeter in what the page shows, in what the server sent to the page (every message: the
  Arrow tables of st.dataframe, the Plotly figures, widget options), in the Plotly data of the
  DOM, nor in any visible download (CSV, XLSX, PDF); and their own ESMS where a page lists
  ESMS. URL filters pointing outside the perimeter show nothing of what they point at.

Needs Debian's /usr/bin/chromium, like tests/test_browser.py: without it the test fails.
"""

from __future__ import annotations

import urllib.parse
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pytest
from e2e_support import (
    ROOT,
    StreamlitServer,
    app_pages,
    build_demo_store,
    chromium,
    click_and_wait,
    full_page_screenshot,
    new_context,
    open_and_wait,
)
from oidc_support import (
    app_text,
    capture_server_messages,
    download_text,
    login,
    oidc_provider,
    plotly_data,
    server_text,
    write_secrets,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dui_metrics.login import LOGIN_LABEL, LOGIN_SENTENCE, NO_ACCESS_TITLE

SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"  # a failing page, as it was
CONTACT = "Équipe régionale : support@grades.example"
UNKNOWN = "inconnu@ailleurs.example"  # logs in at the provider, absent from the access file


@dataclass(frozen=True)
class Who:
    """A user of the access file and, as a condition on the establishments table (a code
    constant), the ESMS of the demo store its rule opens."""

    email: str
    rule: str  # the lines of its [[acces]] entry after the e-mail
    esms_where: str


# Demo store (dui_metrics/demo.py): 40 ESMS of 4 OG. Association Les Tilleuls (699169546):
# 10 ESMS, all Logidom, Auvergne-Rhône-Alpes. Hauts-de-France is the CCAS de Roubaix
# (595102112, 6 ESMS); the Bouches-du-Rhône (13) are 6 of the 14 ESMS of the OG 135662815,
# whose others are in 06 and 33: the ARS user sees part of an OG. Logidom equips the 10
# Tilleuls ESMS and the 5 of 135662815 in Gironde (33).
USERS: dict[str, Who] = {
    "og": Who(
        "directrice@og-a.example", 'role = "og"\nog = ["699169546"]', "finess_ej = '699169546'"
    ),
    "ars": Who(
        "analyste@ars.example",
        'role = "ars"\nregions = ["Hauts-de-France"]\ndepartements = ["13"]',
        "region = '32' or departement = '13'",
    ),
    "editeur": Who(
        "support@editeur.example",
        'role = "editeur"\nediteurs = ["Logidom"]',
        "editeur = 'Logidom'",
    ),
}


@dataclass(frozen=True)
class Perimeter:
    """What a user may and may not see, from the establishments table."""

    own_et: frozenset[str]
    own_ej: frozenset[str]
    own_names: frozenset[str]
    own_editors: frozenset[str]
    outsiders: tuple[str, ...]  # FINESS ET and EJ, ESMS and OG names outside it

    def leaks(self, text: str) -> list[str]:
        # Plain substrings: Arrow puts a column's strings end to end, without separator.
        return [token for token in self.outsiders if token in text]

    def shows_own(self, text: str) -> bool:
        return any(token in text for token in self.own_et | self.own_names)


def perimeter(rows: list[tuple], own_codes: set[str]) -> Perimeter:
    """``rows``: (finess_et, finess_ej, raison_sociale, og_nom, departement, editeur) of every
    ESMS; ``own_codes``: the FINESS ET the user may see. An OG is an outsider when none of its
    ESMS is the user's (an ARS user sees part of an OG, and its name and EJ with it)."""
    own = [r for r in rows if r[0] in own_codes]
    other = [r for r in rows if r[0] not in own_codes]
    own_ej = {r[1] for r in own}
    own_words = {r[2] for r in own} | {r[3] for r in own if r[3]}
    # A name that is part of a name the user may see would be found legitimately.
    names = {r[2] for r in other} | {r[3] for r in other if r[3] and r[1] not in own_ej}
    names = {n for n in names if not any(n in w for w in own_words)}
    codes = {r[0] for r in other} | {r[1] for r in other if r[1] not in own_ej}
    return Perimeter(
        own_et=frozenset(r[0] for r in own),
        own_ej=frozenset(own_ej),
        own_names=frozenset(r[2] for r in own),
        own_editors=frozenset(r[5] for r in own if r[5]),
        outsiders=tuple(sorted(codes) + sorted(names)),
    )


@dataclass
class Setup:
    url: str  # the dashboard, at localhost (the host of the login cookie)
    issuer: str
    store_words: tuple[str, ...]  # every FINESS ET and EJ and ESMS name of the store
    perimeters: dict[str, Perimeter]
    og_labels: dict[str, str]  # FINESS EJ -> "OG name (EJ)", the OG page's option label
    esms_labels: dict[str, str]  # FINESS ET -> its label on the Établissement page


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("oidc")
    store = build_demo_store(folder)
    with duckdb.connect(str(store), read_only=True) as db:
        columns = "finess_et, finess_ej, raison_sociale, og_nom, departement, editeur"
        rows = db.execute(f"select {columns} from establishments").fetchall()
        perimeters = {}
        for role, who in USERS.items():
            own = {r[0] for r in db.execute(f"select finess_et from establishments where {who.esms_where}").fetchall()}  # fmt: skip
            perimeters[role] = perimeter(rows, own)
    assert all(0 < len(p.own_et) < len(rows) for p in perimeters.values())
    access = folder / "acces.toml"
    access.write_text(
        f'contact = "{CONTACT}"\n'
        + "".join(f'[[acces]]\nemail = "{w.email}"\n{w.rule}\n' for w in USERS.values()),
        encoding="utf-8",
    )
    with oidc_provider() as issuer:
        log = ROOT / "test-artefacts" / "streamlit-oidc-server.log"
        app = StreamlitServer(ROOT / "app.py", store, cwd=folder, log=log)
        secrets = write_secrets(
            folder / "secrets-oidc.toml", issuer=issuer, app_port=app.port, access_file=access
        )
        app.env = {"STREAMLIT_SECRETS_FILES": str(secrets)}
        app.start()
        try:
            yield Setup(
                url=f"http://localhost:{app.port}",
                issuer=issuer,
                store_words=tuple(sorted({w for r in rows for w in r[:3]})),
                perimeters=perimeters,
                og_labels={r[1]: f"{r[3]} ({r[1]})" for r in rows},
                esms_labels={r[0]: f"{r[2]} ({r[0]})" for r in rows},
            )
        finally:
            app.stop()


@pytest.fixture(scope="module")
def browser(setup: Setup) -> Iterator:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def pages(setup: Setup, browser) -> Iterator:
    """``pages(sub)``: a page of a browser context of its own, logged in as ``sub`` (None:
    not logged in); one context per identity for the module."""
    opened: dict[str | None, object] = {}

    def page_of(sub: str | None):
        if sub not in opened:
            context = new_context(browser)
            capture_server_messages(context)
            page = context.new_page()
            if sub is not None:
                login(page, setup.url, setup.issuer, sub)
            opened[sub] = page
        return opened[sub]

    yield page_of
    for page in opened.values():
        page.context.close()


def open_page(page, url: str) -> None:
    open_and_wait(page, url)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{url}: exception on screen:\n{exceptions.first.inner_text()}"


PAGES = app_pages()
# Page name -> URL path: the default page (Accueil) is served at "/"; "/accueil" gets
# Streamlit's « Page not found » dialog over it, which makes the page inert.
URL_PATHS = {name: "" if name == "accueil" else name for name in PAGES}


def test_the_pages_are_the_seven_of_app_py() -> None:
    assert PAGES == [
        "accueil",
        "organisme_gestionnaire",
        "etablissement",
        "comparaison",
        "editeur",
        "donnees",
        "methode",
    ]


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in PAGES])
def test_before_login_every_url_serves_the_login_page_only(name: str, setup: Setup, pages):
    page = pages(None)
    open_page(page, f"{setup.url}/{URL_PATHS[name]}")
    text = app_text(page)
    assert LOGIN_SENTENCE in text
    assert page.get_by_role("button", name=LOGIN_LABEL).count() == 1
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0, "navigation before login"
    found = [w for w in setup.store_words if w in text or w in server_text(page)]
    assert not found, f"/{name} before login: {found}"


def test_an_identity_without_access_sees_the_contact_and_no_esms(setup: Setup, pages) -> None:
    page = pages(UNKNOWN)
    for name in PAGES:
        open_page(page, f"{setup.url}/{URL_PATHS[name]}")
        text = app_text(page)
        assert NO_ACCESS_TITLE in text, f"/{name}: {text[:500]}"
        assert CONTACT in text
        assert UNKNOWN in text  # « Vous êtes connecté(e) en tant que … »
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        found = [w for w in setup.store_words if w in text or w in server_text(page)]
        assert not found, f"/{name} without access: {found}"


def leaks_on_page(page, who: Perimeter) -> dict[str, list[str]]:
    """Outsiders in the page's text, in the server's messages and in the Plotly data."""
    found = {
        "texte de la page": who.leaks(app_text(page)),
        "messages du serveur": who.leaks(server_text(page)),
        "graphiques (Plotly)": who.leaks("\n".join(plotly_data(page))),
    }
    return {where: tokens for where, tokens in found.items() if tokens}


# ui.download_buttons' XLSX: the same frame as the CSV beside it (ui.to_xlsx of it).
TABLE_XLSX = "⬇️ XLSX"


def leaks_in_downloads(page, who: Perimeter, tmp_path, *, table_xlsx: bool) -> dict[str, list[str]]:
    """Outsiders in each visible download of the page, clicked one after the other (a click
    reruns the page: wait for it before the next). Without ``table_xlsx``, a table's XLSX is
    left out: its CSV twin holds the same rows (one user clicks both, to keep time down)."""
    found = {}
    url = page.url
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    for i in range(buttons.count()):
        if not buttons.nth(i).is_visible():  # in a closed expander or another tab
            continue
        if not table_xlsx and buttons.nth(i).inner_text().strip() == TABLE_XLSX:
            continue
        try:
            download = click_download(buttons.nth(i), timeout_s=20)
        except PlaywrightTimeout:
            # Seen about once in 30 clicks on the CSV/XLSX pairs of ui.download_buttons (a
            # deferred file, and a click that reruns the page): the button spins, no file
            # is ever requested, the server logs nothing. A person clicks again: so does the
            # test, once, on a fresh load of the page, and says so.
            label = buttons.nth(i).inner_text().strip()
            warnings.warn(f"{url}: download {i} ({label}) never came; clicked again", stacklevel=1)
            open_page(page, url)
            download = click_download(buttons.nth(i), timeout_s=90)
        name = download.suggested_filename
        path = tmp_path / name
        download.save_as(path)
        found[f"téléchargement {name}"] = who.leaks(download_text(name, path.read_bytes()))
    return {where: tokens for where, tokens in found.items() if tokens}


def click_download(button, timeout_s: float):
    with button.page.expect_download(timeout=timeout_s * 1000) as download:
        click_and_wait(button)
    return download.value


def metric(page, label: str) -> str | None:
    """The value shown by the st.metric ``label`` (waited for a while), or None."""
    labels = page.locator('[data-testid="stMain"] [data-testid="stMetricLabel"]')
    try:
        labels.filter(has_text=label).first.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        return None
    for m in page.locator('[data-testid="stMain"] [data-testid="stMetric"]').all():
        if m.locator('[data-testid="stMetricLabel"]').inner_text().strip() == label:
            return m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return None


# Pages that list ESMS by default: the user's own are in what the server sent.
LISTS_OWN_ESMS = {"organisme_gestionnaire", "etablissement", "comparaison", "editeur", "donnees"}


@pytest.mark.parametrize(
    "role, name", [pytest.param(r, n, id=f"{r}-{n}") for r in USERS for n in PAGES]
)
def test_each_user_sees_only_its_perimeter(role: str, name: str, setup: Setup, pages, tmp_path):
    who = setup.perimeters[role]
    page = pages(USERS[role].email)
    open_page(page, f"{setup.url}/{URL_PATHS[name]}")
    problems = []
    leaks = leaks_on_page(page, who)
    if name in LISTS_OWN_ESMS and not who.shows_own(server_text(page)):
        problems.append("aucun ESMS du périmètre envoyé à la page")
    if name == "accueil":
        counts = (metric(page, "Établissements (ESMS)"), metric(page, "Organismes gestionnaires"))
        if counts != (str(len(who.own_et)), str(len(who.own_ej))):
            problems.append(f"Accueil : ESMS, OG = {counts}, attendu {len(who.own_et)}, {len(who.own_ej)}")  # fmt: skip
    if name == "comparaison" and metric(page, "ESMS comparés") != str(len(who.own_et)):
        problems.append(f"ESMS comparés : {metric(page, 'ESMS comparés')}, attendu {len(who.own_et)}")  # fmt: skip
    if name == "comparaison":  # the figures wait for their tab: each one opened by its URL
        for tab in ("Répartition des ESMS", "Carte par département"):
            open_page(page, f"{setup.url}/{URL_PATHS[name]}?vue={urllib.parse.quote(tab)}")
            if not plotly_data(page):
                problems.append(f"aucun graphique dans l'onglet « {tab} »")
            leaks |= leaks_on_page(page, who)
    leaks |= leaks_in_downloads(page, who, tmp_path, table_xlsx=role == "og")
    if leaks:
        problems.append(f"hors périmètre : {leaks}")
    if problems:
        full_page_screenshot(page, SCREENSHOTS / f"oidc-{role}-{name}.png")
    assert not problems, f"{role} sur /{name} :\n" + "\n".join(problems)


def outsider_urls(setup: Setup, role: str) -> list[tuple[str, tuple[str, ...]]]:
    """URL filters naming something outside ``role``'s perimeter, each with what must not
    appear: another OG and an ESMS (as the page writes them, "Nom (code)"; for the OG user
    also the bare codes), another editor."""
    who = setup.perimeters[role]
    other_ej = next(ej for ej in sorted(setup.og_labels) if ej not in who.own_ej)
    et = next(et for et in sorted(setup.esms_labels) if et not in who.own_et)
    og_name = setup.og_labels[other_ej].rsplit(" (", 1)[0]
    urls = [
        (f"organisme_gestionnaire?og={urllib.parse.quote(setup.og_labels[other_ej])}", (other_ej, og_name)),
        (f"etablissement?finess_et={urllib.parse.quote(setup.esms_labels[et])}", (et, setup.esms_labels[et].rsplit(" (", 1)[0])),
    ]  # fmt: skip
    if role == "og":  # the bare codes too, as someone would type them
        urls += [
            (f"organisme_gestionnaire?og={other_ej}", (other_ej, og_name)),
            (f"etablissement?finess_et={et}", (et,)),
        ]
    for editor in ("Médisoc", "Logidom"):
        if editor not in who.own_editors:
            urls.append((f"editeur?editeur={urllib.parse.quote(editor)}", ()))
    return urls


@pytest.mark.parametrize("role", list(USERS))
def test_url_filters_outside_the_perimeter_show_nothing_of_it(role: str, setup: Setup, pages):
    who = setup.perimeters[role]
    page = pages(USERS[role].email)
    problems = []
    for query, named in outsider_urls(setup, role):
        open_page(page, f"{setup.url}/{query}")
        text, sent = app_text(page), server_text(page)
        shown = [t for t in named if t in text or t in sent]
        leaks = who.leaks(text) + who.leaks(sent)
        if shown or leaks:
            problems.append(f"/{query} : {sorted(set(shown + leaks))}")
    assert not problems, f"{role} :\n" + "\n".join(problems)
