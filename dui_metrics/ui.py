"""One of the two library modules importing Streamlit (`dui_metrics.server` is the other): the
cached store, cached results, formats.

The app opens the store read-only and takes one cursor per session (DuckDB connections are
not thread-safe; Streamlit serves sessions on threads). Results are cached on their
arguments plus the store file's modification time, so a new ingestion shows at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import numbers
import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import streamlit as st
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype

from dui_metrics import access, formats, masking, spreadsheet, va
from dui_metrics import referentiel as referentiel_mod
from dui_metrics.indicators import esms_dimensions
from dui_metrics.store import (
    DEFAULT_PATH,
    DEMO_MIXED,
    DEMO_ONLY,
    ENV_VAR,
    Store,
    StoreError,
    StoreFault,
    default_path,
    version_key,
)
from dui_metrics.text import escape_markdown, normalize_key
from dui_metrics.writer import writable_copy

DEMO_FOLDER = Path("data") / "demo"
LOG = logging.getLogger(__name__)
# Set (to anything) by developers and the tests: a page's unexpected error is raised with its
# traceback instead of the French message of `run_page`.
DEBUG_ENV = "DUI_METRICS_DEBUG"
PAGE_FAULT = (
    "Cette page n'a pas pu s'afficher : erreur inattendue, consignée dans le journal du "
    "serveur (référence {reference}). Rechargez la page ; si l'erreur revient, transmettez "
    "cette référence à l'administrateur du tableau de bord."
)

# On screen, a symbol and a word (never colour alone). A zero blocks exactly like a missing
# value: both red. In files, words only (`file_words`).
STATUS_LABELS = {
    va.OK: "✅ ok",
    va.ZERO: "❌ zéro",
    va.MISSING: "❌ manquant",
    va.BLOCKED: "❌ bloqué",
}
OUTCOME_LABELS = {
    va.READY: "✅ prêt",
    va.BLOCKED_ZERO: "❌ bloqué par un zéro",
    va.BLOCKED_MISSING: "❌ bloqué faute de données",
}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Screen label → the word written in CSV and XLSX downloads.
FILE_WORDS = {
    **{STATUS_LABELS[k]: va.STATUS_WORDS.get(k, "bloqué") for k in STATUS_LABELS},
    **{OUTCOME_LABELS[k]: va.OUTCOME_WORDS[k] for k in OUTCOME_LABELS},
}
CRITERION_HEADERS = va.CRITERION_HEADERS


SHORT_LABELS = {
    "personnes_accompagnees": "Personnes accompagnées",
    "dossiers_actifs": "Dossiers actifs",
    "dossiers_actifs_avec_pp": "Dossiers avec PP",
    "dossiers_actifs_avec_evenement": "Dossiers avec événement",
    "ins_qualifiees": "INS qualifiées",
    "dmp_documents_envoyes": "Documents DMP",
    "mss_messages_envoyes": "Messages MSSanté envoyés",
    "mss_messages_recus": "Messages MSSanté reçus",
    "taux_dossiers_actifs": "Taux de dossiers actifs",
    "taux_dossiers_actifs_avec_pp": "Taux avec projet personnalisé",
    "taux_dossiers_actifs_avec_evenement": "Taux avec événement",
    "taux_ins_qualifiees": "Taux d'INS qualifiées",
}


def store_path() -> Path:
    return default_path()


def _build_demo(path: Path) -> None:
    from dui_metrics.demo import write_demo_exports
    from dui_metrics.ingest import ingest_paths

    with writable_copy(path) as store:
        ingest_paths(store, write_demo_exports(DEMO_FOLDER), demo=True)


_SNAPSHOTS: dict[str, Store] = {}
_SNAPSHOTS_LOCK = threading.Lock()
# Stores this process has opened: one of them that disappears is missing, not to be created.
_SEEN: set[str] = set()


def may_create_demo(path: Path) -> bool:
    """Whether the dashboard may write the demo into a missing store at ``path``: only on its
    very first start, at the default path, when nothing exists yet. A store path chosen by
    the user (``DUI_METRICS_STORE``) never receives demo data, nor does a store that
    disappears while the dashboard runs (deleted, a disk unmounted): both are « introuvable »."""
    return (
        not os.environ.get(ENV_VAR)
        and Path(path) == DEFAULT_PATH
        and os.path.abspath(path) not in _SEEN
        and not Path(path).exists()
    )


def _snapshot(path: Path) -> Store:
    """The read-only snapshot of the store's current version, shared by all sessions."""
    with _SNAPSHOTS_LOCK:
        if may_create_demo(path):
            with st.spinner("Premier démarrage : création des données de démonstration…"):
                _build_demo(path)
        snap = _SNAPSHOTS.get(str(path))
        # A newer version was written: readers move to it. A store gone: Store.snapshot
        # raises the explanatory StoreError (« magasin introuvable »).
        if snap is None or not path.exists() or snap.version_key != version_key(path):
            snap = Store.snapshot(path)
            _SNAPSHOTS[str(path)] = snap
        _SEEN.add(os.path.abspath(path))
        return snap


def run_page(navigation) -> None:
    """Run the page chosen in ``navigation``; an unexpected error shows `PAGE_FAULT` with a
    reference, and its traceback goes to the server's log only: no server path, file name
    or code reaches the browser. (Streamlit's stop and rerun are not errors: they pass.)"""
    try:
        navigation.run()
    except Exception:
        if os.environ.get(DEBUG_ENV):
            raise
        reference = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        LOG.exception("erreur inattendue sur une page (référence %s)", reference)
        st.error(PAGE_FAULT.format(reference=reference), icon="⛔")


def without_folders(message: str, path: str | Path) -> str:
    """``message`` with the folders of ``path`` left out (the file's name stays): what the
    browser may read of a server path."""
    path = Path(path)
    for written in sorted({str(path), str(path.absolute()), str(path.resolve())}, key=len)[::-1]:
        message = message.replace(written, path.name)
    return message


def fault_text(exc: BaseException, *paths: str | Path) -> str:
    """What the browser may read of ``exc``: its message without the folders of ``paths``
    (the store, a temporary folder), Markdown-escaped; the whole message goes to the log."""
    LOG.error("%s", exc)
    message = str(exc)
    for path in paths:
        for folder in {str(Path(path)), str(Path(path).resolve())}:
            message = message.replace(folder + os.sep, "")  # a file inside it: its name
        message = without_folders(message, path)
    return escape_markdown(message)


def current_snapshot() -> Store:
    """`_snapshot` of the store, or, when it cannot be read (missing, unreadable, not a
    dui-metrics store), the reason in French on the page, and the page stops there."""
    path = store_path()
    try:
        return _snapshot(path)
    except StoreError as exc:
        # A path may hold Markdown characters (« _ », « * »): shown as written.
        LOG.error("magasin indisponible : %s", exc)
        shown = without_folders(str(exc), path)
        st.error(f"Magasin de données indisponible : {escape_markdown(shown)}", icon="⛔")
        if isinstance(exc, StoreFault):
            st.caption("Le tableau de bord reprendra dès que le magasin sera de nouveau lisible.")
        else:
            st.caption(
                "Aucun magasin n'est créé à la place : importez vos exports avec "
                "« dui-metrics ingest --store CHEMIN FICHIERS… », ou corrigez le chemin "
                f"({ENV_VAR}) puis rechargez la page."
            )
        st.stop()


def base_store() -> Store:
    """This session's cursor on the current snapshot of the store, every ESMS in view: only
    for computing the session's perimeter (`login`). Pages read through `store`."""
    snap = current_snapshot()
    key = "_dui_metrics_cursor"
    current = st.session_state.get(key)
    if current is None or current[0] is not snap:
        if current is not None:
            current[1].close()
        st.session_state[key] = (snap, snap.cursor())
    return st.session_state[key][1]


def perimeter() -> access.Perimeter:
    """The session's perimeter (`login.current_perimeter`: everything in local mode)."""
    from dui_metrics import login  # login imports this module

    return login.current_perimeter()


def store() -> Store:
    """This session's cursor on the current snapshot of the store, seen through the session's
    perimeter (`access.scoped`: the tables hold only its ESMS), one per session: DuckDB
    connections are not thread-safe and Streamlit serves sessions on threads."""
    seen = perimeter()
    if seen.finess is None:
        return base_store()
    snap = current_snapshot()
    key = "_dui_metrics_scoped_cursor"
    current = st.session_state.get(key)
    if current is None or current[0] is not snap or current[1] != seen.key:
        if current is not None:
            current[2].close()
        st.session_state[key] = (snap, seen.key, access.scoped_cursor(snap, seen))
    return st.session_state[key][2]


def referentiel() -> referentiel_mod.Referentiel:
    return referentiel_mod.default()


def store_version() -> tuple[int, int]:
    """Changes whenever the store is rewritten: part of every cache key."""
    return current_snapshot().version_key


def _demo_state(store: Store, ref: referentiel_mod.Referentiel) -> str:
    return store.demo_state()


def demo_state() -> str:
    """`Store.demo_state` of the store: ``DEMO_ONLY``, ``DEMO_MIXED`` or "" (cached)."""
    return cached(_demo_state)()


def demo_banner() -> None:
    state = demo_state()
    if state == DEMO_ONLY:
        st.info(
            "Données de démonstration (fictives). Pour suivre vos établissements, importez vos "
            "exports sur la page Données ou avec `dui-metrics ingest VOS_FICHIERS…`.",
            icon="ℹ️",
        )
    elif state == DEMO_MIXED:
        st.warning(
            "Ce magasin mélange les données de démonstration (fictives) et des imports réels : "
            "les chiffres affichés ne sont pas ceux de vos seuls établissements. Importez vos "
            "exports dans un magasin à part (variable `DUI_METRICS_STORE`, ou "
            "`dui-metrics ingest --store AUTRE_FICHIER`).",
            icon="⚠️",
        )


def establishments() -> pd.DataFrame:
    """Every ESMS known to the store with its reference dimensions (cached)."""
    return cached(esms_dimensions)()


# Options of a selectbox: beyond, the browser takes seconds to receive and draw the list
# (40,000 national ESMS) and the page offers a search field that narrows it.
CHOICES_LIMIT = 500


def esms_labels() -> pd.DataFrame:
    """Every ESMS, indexed by finess_et, in the order of a list (by name, then FINESS):
    ``libelle`` « Raison sociale (FINESS ET) » and ``cle``, the label folded for searching
    (`text.normalize_key`) (cached)."""
    return cached(_esms_labels)()


def _esms_labels(store: Store, ref: referentiel_mod.Referentiel) -> pd.DataFrame:
    esms = esms_dimensions(store)
    names = esms["raison_sociale"].fillna("(sans nom)").tolist()
    codes = esms["finess_et"].tolist()
    order = sorted(range(len(codes)), key=lambda i: (names[i], codes[i]))
    labels = [f"{names[i]} ({codes[i]})" for i in order]
    return pd.DataFrame(
        {"libelle": labels, "cle": [normalize_key(label) for label in labels]},
        index=pd.Index([codes[i] for i in order], name="finess_et"),
    )


def search_choices(
    labels: pd.DataFrame, search: str | None, keep: str | None = None, limit: int | None = None
) -> tuple[list[str], int]:
    """Codes of ``labels`` (`esms_labels`) whose label holds every word of ``search`` (case,
    accents and punctuation ignored), the first ``limit`` of them in list order, with
    ``keep`` (the current choice) first if it is not among them; and how many match.
    An empty search matches every code; ``limit`` defaults to `CHOICES_LIMIT`."""
    limit = CHOICES_LIMIT if limit is None else limit
    match = pd.Series(True, index=labels.index)
    for word in filter(None, normalize_key(search or "").split("_")):
        match &= labels["cle"].str.contains(word, regex=False)
    codes = list(labels.index[match.to_numpy()][:limit])
    if keep is not None and keep in labels.index and keep not in codes:
        codes.insert(0, keep)
    return codes, int(match.sum())


def months() -> list[dt.date]:
    """Months with usage data, oldest first (cached)."""
    return cached(_months)()


def _months(store: Store, ref: referentiel_mod.Referentiel) -> list[dt.date]:
    return store.months()


def status_matrix(checks: pd.DataFrame, esms: pd.DataFrame) -> pd.DataFrame:
    """ESMS × criterion table with symbol-and-word statuses (never colour alone); the VA
    column (first after the name) says prêt, bloqué par un zéro or bloqué faute de données."""
    if checks.empty:
        return pd.DataFrame()
    criteria = checks[checks["critere"] != va.VERDICT]
    wide = criteria.pivot(index="finess_et", columns="critere", values="statut")
    wide = wide[[c for c in CRITERION_HEADERS if c in wide.columns]]
    labels = wide.apply(lambda col: col.map(STATUS_LABELS))
    labels.insert(0, va.VERDICT, va.outcomes(checks).map(OUTCOME_LABELS))
    labels = labels.rename(columns=CRITERION_HEADERS).reset_index()
    info = esms[["finess_et", "raison_sociale", "og_nom", "commande"]]
    table = info.merge(labels, on="finess_et", how="right")
    first = [CRITERION_HEADERS["va"], "raison_sociale", "finess_et"]
    table = table[first + [c for c in table.columns if c not in first]]
    table = table.rename(
        columns={
            "finess_et": "FINESS ET",
            "raison_sociale": "Établissement",
            "og_nom": "Organisme gestionnaire",
            "commande": "Bon de commande",
        }
    )
    # Blocked ESMS first: they are what the reader came for.
    order = table["VA"].eq(OUTCOME_LABELS[va.READY])
    return (
        table.assign(_ready=order)
        .sort_values(["_ready", "Établissement"], ignore_index=True)
        .drop(columns="_ready")
    )


# --- VA readiness, computed once per store version and shared --------------------------------
def readiness(**question) -> tuple[va.Check, ...]:
    """`va.readiness` for ``question`` (its keyword arguments ``au``, ``og``, ``commande``,
    ``editeur``, ``window_months``), computed once per store version and shared by every
    session without a copy: never mutate it (the checks themselves are frozen). National
    readiness holds 320,000 checks; unpickling a copy at every run, as ``st.cache_data``
    does, would cost seconds. Built from `readiness_table`: pages that only need frames,
    counts or verdicts read that table and never build these Python objects."""
    return _shared_checks(
        str(store_path()), store_version(), perimeter().key, **_question(**question)
    )


def readiness_table(**question):
    """`va.readiness_table` for ``question`` (see `readiness`), computed once per store
    version and shared by every session (an immutable Arrow table: no copy)."""
    return _shared_readiness(
        str(store_path()), store_version(), perimeter().key, **_question(**question)
    )


def _question(
    au: dt.date | None = None,
    og: str | None = None,
    commande: str | None = None,
    editeur: str | None = None,
    window_months: int | None = None,
) -> dict:
    """Readiness arguments with their defaults made explicit (``au``: the latest month;
    window: the référentiel's), so that pages asking the same question share one result."""
    latest = months()
    return {
        "au": au or (latest[-1] if latest else None),
        "og": og or None,
        "commande": commande or None,
        "editeur": editeur or None,
        "window_months": int(window_months or referentiel().va_window_months),
    }


# Shared by the sessions of one perimeter (``seen``, `access.Perimeter.key`): `store` is the
# calling session's, seen through that perimeter.
@st.cache_resource(show_spinner=False, max_entries=32)
def _shared_readiness(path: str, version: tuple, seen: str, **question):
    return va.readiness_table(store(), referentiel(), **question)


@st.cache_resource(show_spinner=False, max_entries=32)
def _shared_checks(path: str, version: tuple, seen: str, **question) -> tuple[va.Check, ...]:
    return tuple(va.checks_of(_shared_readiness(path, version, seen, **question)))


def _from_readiness(build):
    """A page helper derived from `readiness`: ``helper(**question)`` runs
    ``build(store, referentiel, **question)`` with the question's defaults made explicit
    (`_question`), cached per store version (`cached`). ``build`` reads `readiness` itself."""

    def helper(**question):
        return cached(build)(**_question(**question))

    helper.__doc__ = build.__doc__
    return helper


def _readiness_summary(store: Store, ref: referentiel_mod.Referentiel, **question) -> dict:
    """`va.summary` of `readiness` (cached)."""
    return va.summary(readiness_table(**question))


def _verdicts(store: Store, ref: referentiel_mod.Referentiel, **question) -> dict[str, str]:
    """finess_et → VA verdict of `readiness` (`compare.verdicts`, cached)."""
    from dui_metrics.compare import verdicts

    return verdicts(readiness_table(**question))


def _readiness_frame(store: Store, ref: referentiel_mod.Referentiel, **question):
    """`va.readiness_frame` of `readiness` (cached)."""
    return va.readiness_frame(readiness_table(**question))


def _readiness_ranking(store: Store, ref: referentiel_mod.Referentiel, **question):
    """`va.ranking` of `readiness` (cached)."""
    return va.ranking(readiness_table(**question))


def _readiness_matrix(store: Store, ref: referentiel_mod.Referentiel, **question):
    """`status_matrix` of `readiness_frame` (cached: a national matrix has 40,000 rows)."""
    return status_matrix(readiness_frame(**question), establishments())


GAP_COLUMNS = [
    "Statut",
    "Établissement",
    "À faire",
    "Fiche",
    "Critère",
    "Écart",
    "Éditeur",
    "Bon de commande",
    "FINESS ET",
]


def _gap_table(store: Store, ref: referentiel_mod.Referentiel, **question):
    """The criteria that are not ok (the verdict aside), for the screen and the files:
    `GAP_COLUMNS`, one row per ESMS and thing to do (the criteria sharing one action and one
    gap, as the six of an ESMS that never sent anything, on one row, named in référentiel
    order), « À faire » saying what to do (`va.gap_action`) and « Fiche » the address of
    the ESMS's Établissement page on the same month (a relative link: it works under any
    base path) (cached)."""
    frame = readiness_frame(**question)
    gaps = frame[(frame["statut"] != va.OK) & (frame["critere"] != va.VERDICT)]
    info = establishments().set_index("finess_et")
    editors = gaps["finess_et"].map(info["editeur"])
    editors = editors.astype(object).where(editors.notna(), None)
    actions = [
        va.gap_action(*row)
        for row in zip(gaps["critere"], gaps["statut"], gaps["detail"], editors, strict=True)
    ]
    au = question["au"]
    month = f"&au={au:%Y-%m-%d}" if au else ""
    table = pd.DataFrame(
        {
            "Statut": gaps["statut"].map(STATUS_LABELS),
            "Établissement": gaps["finess_et"].map(info["raison_sociale"]),
            "Critère": gaps["critere"].map(CRITERION_HEADERS),
            "À faire": actions,
            "Écart": gaps["detail"],
            "Éditeur": editors,
            "Bon de commande": gaps["finess_et"].map(info["commande"]),
            "FINESS ET": gaps["finess_et"],
            "Fiche": "etablissement?finess_et=" + gaps["finess_et"] + month,
        }
    )
    keys = [c for c in GAP_COLUMNS if c != "Critère"]
    grouped = (
        table.fillna({"Éditeur": "", "Bon de commande": "", "Établissement": ""})
        .groupby(keys, sort=False)["Critère"]
        .agg(", ".join)
        .reset_index()
    )
    grouped = grouped.replace({"Éditeur": {"": None}, "Bon de commande": {"": None}})
    return grouped[GAP_COLUMNS]


def _ranking_table(store: Store, ref: referentiel_mod.Referentiel, **question):
    """`readiness_ranking` for the screen and the files (Établissement, FINESS ET, VA,
    Critères ok, then one column per rate criterion, as fractions), and the headers of those
    rate columns (cached)."""
    ranked = readiness_ranking(**question)
    if ranked.empty:
        return ranked, ()
    esms = establishments()
    ranked = ranked.merge(esms[["finess_et", "raison_sociale"]], on="finess_et", how="left")
    outcome = va.outcomes(readiness_frame(**question))
    shown = ranked.assign(
        criteres=ranked["nb_ok"].astype(str) + " / " + ranked["nb_criteres"].astype(str),
        va=ranked["finess_et"].map(outcome).map(OUTCOME_LABELS),
    )
    rate_columns = [c for c in ranked.columns if c.startswith("taux_")]
    shown = shown[["va", "raison_sociale", "finess_et", "criteres", *rate_columns]]
    rate_headers = tuple(CRITERION_HEADERS.get(c, c) for c in rate_columns)
    shown.columns = ["VA", "Établissement", "FINESS ET", "Critères ok", *rate_headers]
    return shown, rate_headers


def readiness_metrics(counts: dict, *, clients: int | None = None) -> None:
    """The three counts of `va.summary` under the same words on every page
    (`va.OUTCOME_COUNTS`), after « ESMS clients » when ``clients`` is given (Éditeur)."""
    from dui_metrics.formats import fr_int

    cards = [] if clients is None else [("ESMS clients", clients, None)]
    cards += [
        (va.OUTCOME_COUNTS[va.READY], counts["pretes"], "tous les critères sont ok"),
        (
            va.OUTCOME_COUNTS[va.BLOCKED_ZERO],
            counts["bloquees_zero"],
            "toutes les données reçues, au moins un critère à zéro",
        ),
        (
            va.OUTCOME_COUNTS[va.BLOCKED_MISSING],
            counts["bloquees_donnees"],
            "au moins un critère sans aucune donnée sur la fenêtre",
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(label, fr_int(value), help=help_text, border=True)


def blocked_sentence(counts: dict, window_text: str) -> str | None:
    """« 2 établissements sur 14 bloquent la VA sur 08/2026–10/2026 : 1 par un zéro, 1 faute
    de données. » (None when none blocks)."""
    from dui_metrics.formats import fr_int

    zero, missing = counts["bloquees_zero"], counts["bloquees_donnees"]
    blocked = zero + missing
    if not blocked:
        return None
    total = blocked + counts["pretes"]
    many = blocked > 1
    return (
        f"{fr_int(blocked)} établissement{'s' if many else ''} sur {fr_int(total)} "
        f"bloque{'nt' if many else ''} la VA sur {window_text} : {fr_int(zero)} par un zéro, "
        f"{fr_int(missing)} faute de données."
    )


readiness_summary = _from_readiness(_readiness_summary)
verdicts = _from_readiness(_verdicts)
readiness_frame = _from_readiness(_readiness_frame)
readiness_ranking = _from_readiness(_readiness_ranking)
readiness_matrix = _from_readiness(_readiness_matrix)
gap_table = _from_readiness(_gap_table)
ranking_table = _from_readiness(_ranking_table)


# --- shared page furniture ----------------------------------------------------------------
# Colours and figures: dui_metrics/charts.py.


def cached(func):
    """``func(store, referentiel, *args, **kwargs)`` cached on its arguments and the store
    version: pages call ``ui.cached(indicators.rollup)("og", du, au)``."""
    name = f"{func.__module__}.{func.__qualname__}"

    def wrapper(*args, **kwargs):
        return _cached_call(name, str(store_path()), store_version(), perimeter().key, args, kwargs)

    _FUNCTIONS[name] = func
    return wrapper


_FUNCTIONS: dict[str, object] = {}


# ``seen``: the session's perimeter key (`access.Perimeter.key`); `store` applies it.
@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(name: str, path: str, version: tuple, seen: str, args: tuple, kwargs: dict):
    return _FUNCTIONS[name](store(), referentiel(), *args, **kwargs)


def _ensure_navigation() -> None:
    """Run pages through app.py's ``st.navigation``, even on a fresh server's first request.

    Streamlit keeps an old mode for apps with a ``pages/`` folder: until some run calls
    ``st.navigation``, a page URL runs the page file alone (no sections, no wide layout), and
    when a fresh server's first request is a page URL, app.py never runs at all. This switches
    the server to ``st.navigation`` once and reruns through app.py. (Streamlit internals: the
    flag is what ``st.navigation`` itself sets.) The rerun drops a button click made in that
    run (under AppTest: every run after switch_page), so pages act on buttons through
    ``on_click`` callbacks, which run before the script and survive the rerun.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_title(title: str, caption: str | None = None) -> None:
    """Title, optional caption, and the demo banner when demo data are shown."""
    _ensure_navigation()
    st.title(title)
    if caption:
        st.caption(caption)
    demo_banner()


def choose_from_address(key: str, options) -> str | None:
    """Streamlit binds a select box to the address by its label (« EHPAD Un (690000013) »)
    and drops any other value; a link from another page or written by hand names the option
    by its code (``?finess_et=690000013``, ``?og=699169546``). Such a code, one of
    ``options``, becomes the choice of the widget ``key`` (call before drawing it). Returns
    the address's value, None without one. A code outside ``options`` (another perimeter's)
    is left for Streamlit to drop."""
    value = st.query_params.get(key)
    if value in options:
        st.session_state[key] = value
    return value


def va_month(container, months: list[dt.date]) -> dt.date | None:
    """The « Mois de la VA » select box, the same on every page that has one: the latest
    month first, key « au » in the address (shared by the pages: the month follows the
    user from one page to the next)."""
    from dui_metrics.formats import month_short

    return container.selectbox(
        "Mois de la VA",
        list(reversed(months)),
        format_func=month_short,
        key="au",
        placeholder="Choisir…",
        bind="query-params",
        help="La VA regarde les mois civils de la fenêtre se terminant par ce mois.",
    )


def stop_unless(condition: bool, message: str) -> None:
    """An empty state that says what to do: the message, a link to the Données page, stop."""
    if not condition:
        st.info(message, icon="ℹ️")
        st.page_link("pages/donnees.py", label="Aller à la page Données", icon="📥")
        st.stop()


def download_buttons(
    frame: pd.DataFrame, basename: str, key: str, *, percent: tuple[str, ...] = ()
) -> None:
    """CSV (``;``, UTF-8 with BOM, for Excel) and XLSX (`to_xlsx`: rates as percentages,
    months and dates as dates, FINESS as text) of a table; statuses as words, no symbol
    (`FILE_WORDS`). ``percent``: the columns holding rates (fractions), besides the known
    rate headers.

    The files are written when a button is clicked, not at every run: an XLSX of a national
    table takes seconds to write."""
    file_buttons(
        basename,
        key,
        csv=lambda: to_csv(file_frame(frame)),
        xlsx=lambda: to_xlsx(file_frame(frame), percent=percent),
    )


def file_buttons(
    basename: str,
    key: str,
    *,
    csv: Callable[[], bytes],
    xlsx: Callable[[], bytes],
    what: str = "",
) -> None:
    """Two buttons side by side, « ⬇️ {what}CSV » and « ⬇️ {what}XLSX », whose files
    ``basename``.csv / .xlsx are built by ``csv()`` / ``xlsx()`` when clicked (keys
    ``{key}_csv``, ``{key}_xlsx``)."""
    left, right = st.columns(2)
    left.download_button(
        f"⬇️ {what}CSV",
        csv,
        file_name=f"{basename}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        # No rerun on click: the file is built when asked; a rerun raced with it and about
        # one click in 30 left the button spinning (seen in tests/test_oidc_login.py).
        on_click="ignore",
    )
    right.download_button(
        f"⬇️ {what}XLSX",
        xlsx,
        file_name=f"{basename}.xlsx",
        mime=XLSX_MIME,
        key=f"{key}_xlsx",
        on_click="ignore",
    )


def metric_arrow(delta: str | None) -> str:
    """``st.metric``'s ``delta_arrow`` for a change written by `formats.fr_signed` or
    `formats.fr_signed_points`: « down » after a true minus (st.metric's own guess knows only
    the hyphen), « off » for no change or a change shown as zero (``+0``, ``+0,0 pts``),
    else « up »."""
    if delta is None or not any(c in "123456789" for c in delta):
        return "off"
    return "down" if delta.startswith(formats.MINUS) else "up"


def file_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for a file: the screen's status labels as words (« ❌ zéro » → « zéro »)."""
    out = frame.copy(deep=False)
    for i, dtype in enumerate(frame.dtypes):
        if is_object_dtype(dtype) or is_string_dtype(dtype):
            column = frame.iloc[:, i]
            if column.isin(list(FILE_WORDS)).any():
                out.isetitem(i, column.map(lambda v: FILE_WORDS.get(v, v)))
    return out


def on_request(label: str, key: str = "courbes"):
    """An expander, closed at first, whose content the page builds only once it is open
    (``if box.open: with box: …``): Plotly's script (4.6 MB) waits for it, as a first visit
    is otherwise twice as long (bench/pages.py). Open or closed is in the address
    (``?courbes=…``), to share a view."""
    return st.expander(label, key=key, on_change="rerun", bind="query-params")


# A table of at most this many rows (two screens) is text (`text_table`): every word of it
# reads, nothing is cut, the browser's search (Ctrl+F) and screen readers find its cells (the
# grid draws on a canvas), and a first visit skips the grid's scripts (1.7 MB, about 0.85 s
# on the bench's 2 cores: bench/elements.py). Beyond, the grid (`st.dataframe`) keeps the
# page short, and sorts and searches.
TEXT_ROWS = 50
# A cell of text that is a number: right-aligned in a text table (« 1 234 », « 91,3 % »,
# « +2,5 pts », « −12 »).
_NUMBER_TEXT = re.compile(r"[+\-\u2212]?\d[\d\u202f\u00a0 ]*(?:,\d+)?(?:[ \u202f\u00a0]?%| pts)?")
SHORT_CELL = 12  # characters, escapes included: a cell this short never wraps
NBSP = "\u00a0"
# What a column of numbers may also hold: a missing or masked value (« — », « < 5 », « masqué »).
_NOT_A_NUMBER = frozenset({"", "—", masking.SMALL, masking.HIDDEN, "non calculable"})


def markdown_table(frame: pd.DataFrame, links: dict[str, str] | None = None) -> str:
    """``frame`` as a Markdown (GFM) table, shown literally: every header and cell goes
    through `escape_markdown` (a name from a file reads as written: no link, emphasis, HTML
    nor Streamlit directive; ``|`` is escaped too), a missing value reads « — », numbers in
    French (``1 234``, ``12,5``). ``links`` maps a column of addresses (built by the app,
    never from a file) to the word the link shows (« Ouvrir »). Numbers, and columns whose
    every cell is a number written in French, are right-aligned; FINESS numbers are
    identifiers, left-aligned."""
    from dui_metrics.formats import fr_int, fr_number

    links = links or {}

    def cell(value: object) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return "—"
        if isinstance(value, bool):
            return "oui" if value else "non"
        if isinstance(value, numbers.Integral):
            return fr_int(int(value))
        if isinstance(value, numbers.Real):
            return fr_number(float(value), 2)
        if isinstance(value, (dt.date, pd.Timestamp)):
            return f"{value:%d/%m/%Y}"
        if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
            return value  # digits, spaces, « , % + − pts »: nothing Markdown reads
        text = escape_markdown(value) or "—"
        # a short value stays on one line (« ✅ ok », « oct. 2026 »), only long text wraps
        return text.replace(" ", NBSP) if len(text) <= SHORT_CELL else text

    def link(url: object, word: str) -> str:
        if not isinstance(url, str) or not url:
            return "—"
        return f"[{escape_markdown(word)}]({quote(url, safe='/?&=:%#-_.~')})"

    columns, aligns = [], []
    for name in frame.columns:
        column = frame[name]
        if name in links:
            columns.append([link(v, links[name]) for v in column])
            aligns.append(":--")
            continue
        columns.append([cell(v) for v in column])
        text = column.dropna().astype(str)
        numeric = (is_numeric_dtype(column) and not is_bool_dtype(column)) or (
            not text.empty
            and "FINESS" not in str(name)
            and all(_NUMBER_TEXT.fullmatch(t) or t in _NOT_A_NUMBER for t in text)
            and not text.isin(_NOT_A_NUMBER).all()
        )
        aligns.append("--:" if numeric else ":--")
    lines = [
        "| " + " | ".join(escape_markdown(c) for c in frame.columns) + " |",
        "|" + "|".join(aligns) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*columns, strict=True)]
    return "\n".join(lines)


def text_table(frame: pd.DataFrame, links: dict[str, str] | None = None) -> None:
    """A short table (at most `TEXT_ROWS` rows) as text: a
    Markdown table (`markdown_table`), wrapped to the page's width, that scrolls inside its
    own box on a phone. It costs a first visit about 0.1 s over an empty script, where
    ``st.table`` costs 0.4 s and ``st.dataframe``'s grid 0.96 s (bench/elements.py,
    2026-12-03). Numbers should come formatted (French text) or as numbers."""
    st.markdown(markdown_table(frame, links))


# Rows of a table sent to the browser: beyond, the screen shows the first rows and says so;
# the downloads hold every row. A national table (40,000 ESMS) would cost seconds per run,
# and even 1,000-row tables slow the browser down; 500 rows hold the largest OGs.
SCREEN_ROWS = 500


def table(
    frame: pd.DataFrame,
    screen=None,
    *,
    limit: int | None = None,
    links: dict[str, str] | None = None,
    **kwargs,
) -> None:
    """The rows of ``frame`` on screen (made screen-ready by ``screen``, e.g. French number
    formats, applied to the shown rows only), without index: up to `TEXT_ROWS` rows, a text
    table (`text_table`: every word reads, and the grid's scripts wait); beyond, the grid
    (``st.dataframe``, ``kwargs`` its options) of the first ``limit`` rows (default
    `SCREEN_ROWS`), and a caption saying how many rows are left out, if any. ``links`` maps a
    column of addresses to the word its links show."""
    limit = SCREEN_ROWS if limit is None else limit
    if len(frame) <= min(TEXT_ROWS, limit):
        text_table(screen(frame) if screen else frame, links)
        return
    head = frame.head(limit)
    kwargs.setdefault("placeholder", "—")  # a missing value reads « — », never « None »
    config = dict(kwargs.pop("column_config", None) or {})
    for column, word in (links or {}).items():
        config[column] = st.column_config.LinkColumn(column, display_text=word, width="small")
    st.dataframe(
        screen(head) if screen else head, hide_index=True, column_config=config or None, **kwargs
    )
    if len(frame) > limit:
        from dui_metrics.formats import fr_int

        st.caption(
            f"{fr_int(limit)} premières lignes affichées sur {fr_int(len(frame))} : les "
            "téléchargements CSV et XLSX contiennent le tableau complet."
        )


def french_display(
    frame: pd.DataFrame, percent: tuple[str, ...] = (), integer: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A copy for the screen: rates as ``12,5 %``, counts as ``1 234`` (text, French style).
    Downloads keep the numbers (``download_buttons`` on the original frame)."""
    from dui_metrics.formats import fr_int, fr_percent

    shown = frame.copy()
    for column in percent:
        shown[column] = shown[column].map(lambda v: fr_percent(v) if pd.notna(v) else "")
    for column in integer:
        shown[column] = shown[column].map(
            lambda v: fr_int(v) if isinstance(v, numbers.Real) and pd.notna(v) else v
        )
    return shown


# The CSV files of every download: `spreadsheet.to_csv` (also the Éditeur page's proof file).
to_csv = spreadsheet.to_csv


# Headers of rate columns (fractions) wherever they appear in a download.
RATE_HEADERS = frozenset(
    [CRITERION_HEADERS[c] for c in CRITERION_HEADERS if c.startswith("taux_")]
    + [label for code, label in SHORT_LABELS.items() if code.startswith("taux_")]
)


def xlsx_columns(frame: pd.DataFrame, percent: tuple[str, ...] = ()) -> list:
    """The `spreadsheet.Column` of each column of ``frame``: FINESS numbers as text, rates
    (``percent`` or `RATE_HEADERS`, float) as percentages, dates of a month column (« mois »
    in its header, every date a 1st) as ``mm/yyyy``, other dates ``dd/mm/yyyy``, integers as
    counts."""
    from pandas.api.types import is_datetime64_any_dtype, is_float_dtype, is_integer_dtype

    from dui_metrics import spreadsheet as xl

    columns = []
    for header, dtype in zip(frame.columns, frame.dtypes, strict=True):
        values = frame[header]
        name = str(header)
        if name.startswith("FINESS"):
            kind = xl.FINESS
        elif name in percent or (name in RATE_HEADERS and _fractions(values)):
            kind = xl.RATE
        elif is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            kind = xl.COUNT
        elif is_float_dtype(dtype):
            kind = xl.NUMBER
        else:
            days = None
            if is_datetime64_any_dtype(dtype):
                days = values.dropna().dt.day
            elif is_object_dtype(dtype):
                dates = values.dropna()
                if len(dates) and dates.map(lambda v: isinstance(v, dt.date)).all():
                    days = dates.map(lambda v: v.day)
            if days is None or not len(days):
                kind = xl.TEXT
            else:
                monthly = "mois" in name.lower() or name == "Période"
                kind = xl.MONTH if monthly and (days == 1).all() else xl.DATE
        columns.append(xl.Column(name, kind))
    return columns


def _fractions(values: pd.Series) -> bool:
    """Whether every number of a column is a float in [0, 1] (a rate), texts such as
    « masqué » aside: « Dossiers actifs » heads a rate in one table and a count in another
    (12 must not read 1 200 %)."""
    numbers_ = [v for v in values.dropna() if isinstance(v, numbers.Real)]
    return bool(numbers_) and all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in numbers_)


def to_xlsx(frame: pd.DataFrame, percent: tuple[str, ...] = ()) -> bytes:
    """``frame`` as a one-sheet workbook (`spreadsheet.write_table`, which neutralises text
    cells against formulas); kinds of column from `xlsx_columns`."""
    import io

    from dui_metrics import spreadsheet

    columns = xlsx_columns(frame, percent)
    objects = frame.astype(object)
    rows = objects.where(objects.notna(), None).itertuples(index=False, name=None)
    buffer = io.BytesIO()
    spreadsheet.write_table(buffer, columns, rows, title="dui-metrics")
    return buffer.getvalue()


def evidence_downloads(
    og: str, commande: str | None, au: dt.date, window_months: int | None, key: str
) -> None:
    """The VA evidence pack of an OG (and of one of its orders) as two downloads, the PDF to
    sign and the workbook, each built on the server when its button is clicked, by the same
    library calls as ``dui-metrics preuves`` (`evidence.build_pack`, then the writer)."""
    from dui_metrics import evidence, evidence_pdf, evidence_xlsx

    # The data callables run outside the script's thread and context: they get what they
    # need now, and read through a cursor of their own.
    snap, ref, seen = current_snapshot(), referentiel(), perimeter()
    if window_months == ref.va_window_months:
        window_months = None  # the référentiel's window: the pack says so

    def built(render):
        def data() -> bytes:
            cursor = snap.cursor()
            try:
                pack = evidence.build_pack(
                    cursor, ref, og, commande, au=au, window_months=window_months, perimeter=seen
                )
            finally:
                cursor.close()
            return render(pack)

        return data

    stem = evidence.file_stem(og, commande, au)
    left, right = st.columns(2)
    left.download_button(
        "📄 PDF à signer",
        built(evidence_pdf.render),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        key=f"{key}_pdf",
        on_click="ignore",
        type="primary",
        help="Attestation (verdict, établissements × critères, signature), une page par "
        "établissement avec ses graphiques, définitions et fichiers sources.",
    )
    right.download_button(
        "⬇️ Classeur XLSX",
        built(evidence_xlsx.render),
        file_name=f"{stem}.xlsx",
        mime=XLSX_MIME,
        key=f"{key}_xlsx",
        on_click="ignore",
        help="Synthèse, une feuille par critère (valeur, numérateur, dénominateur et source "
        "de chaque mois de la fenêtre), fichiers sources et définitions.",
    )
