"""Names are text (issue 12, item 7): names read from files are cleaned at ingest (bidirectional
controls removed, line breaks replaced, with a warning) and shown literally on every page, never
as Markdown (Streamlit) or HTML (Plotly)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from table_support import is_markdown_table, parse_markdown_table, screen_tables

from dui_metrics.ingest import ingest_file
from dui_metrics.store import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
E1, EJ = "690000013", "690000005"  # Luhn keys OK

# A raison sociale that Markdown would turn into a heading, red text and an image fetched from
# the network; an OG name that would be bold in Markdown and in Plotly; an editor's name with a
# Streamlit directive and an HTML link.
NAME = "# TITRE :red[x] ![i](http://example.invalid/i.png)"
OG = "**gras** <b>OG</b>"
EDITOR = 'Éd :blue[x] <a href="http://example.invalid">y</a>'
REFERENCE = (
    "finess_et;finess_ej;raison_sociale;og_nom;editeur;commande;date_deploiement\n"
    f'{E1};{EJ};{NAME};{OG};"{EDITOR.replace(chr(34), chr(34) * 2)}";BC-1;01/01/2025\n'
)
# E1 ready for the VA in 01–03/2025: every count non-zero every month.
USAGE = (
    "finess_et;periode;personnes_accompagnees;dossiers_actifs;dossiers_actifs_avec_pp;"
    "dossiers_actifs_avec_evenement;ins_qualifiees;dmp_documents_envoyes;mss_messages_envoyes\n"
    + "".join(f"{E1};2025-0{m};40;30;20;25;28;10;5\n" for m in (1, 2, 3))
)

# Markdown of the names as the pages must send it: every ASCII punctuation character
# backslash-escaped, worked out by hand (CommonMark shows "\X" as "X").
NAME_MD = r"\# TITRE \:red\[x\] \!\[i\]\(http\:\/\/example\.invalid\/i\.png\)"
OG_MD = r"\*\*gras\*\* \<b\>OG\<\/b\>"
EDITOR_MD = r"Éd \:blue\[x\] \<a href\=\"http\:\/\/example\.invalid\"\>y\<\/a\>"


@pytest.fixture
def odd_names_store(store_from, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = store_from(REFERENCE, USAGE)
    with Store(path, read_only=True) as store:
        assert store.execute(
            "select raison_sociale, og_nom, editeur from establishments"
        ).fetchall() == [
            (NAME, OG, EDITOR)  # stored as written: only the screen escapes
        ]
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    return at.switch_page(page).run()


def markdown_texts(at: AppTest) -> list[str]:
    """Every text Streamlit reads as Markdown: markdown, captions, alerts, metric labels,
    values and tooltips, titles and headers."""
    texts = [
        e.value
        for kind in ("markdown", "caption", "title", "subheader", "header")
        for e in at.get(kind)
    ]
    texts += [e.value for kind in ("success", "error", "info", "warning") for e in at.get(kind)]
    for metric in at.metric:
        texts += [metric.label, metric.value, metric.proto.help]
    for table in at.table:  # st.table reads Markdown in its cells and headers
        frame = table.value
        texts += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    return texts


def raw_names_in(texts: list[str]) -> list[str]:
    """The names' Markdown-active parts found in ``texts`` with their first character not
    backslash-escaped (an escaped character is masked before searching)."""
    parts = ("# TITRE", ":red[", "![i]", "**gras**", "<b>OG", ":blue[", "<a href")
    masked = [re.sub(r"\\.", "\x00", text) for text in texts if text]
    return [p for text in masked for p in parts if p in text]


def test_establishment_page_shows_names_as_text(odd_names_store: Path) -> None:
    at = open_page("pages/etablissement.py")
    assert not at.exception
    (header,) = [m.value for m in at.markdown if f"FINESS {E1}" in m.value]
    assert header.startswith(f"**{NAME_MD}** · FINESS {E1} · {OG_MD} (FINESS EJ {EJ})")
    assert f"Éditeur {EDITOR_MD} · Logiciel — · Bon de commande BC\\-1" in header
    assert raw_names_in(markdown_texts(at)) == []
    # The selectbox shows its options as plain text (no Markdown there): the name as written.
    assert at.selectbox(key="finess_et").options == [f"{NAME} ({E1})"]


def test_og_page_shows_names_as_text(odd_names_store: Path) -> None:
    at = open_page("pages/organisme_gestionnaire.py")
    at.selectbox(key="og").set_value(EJ).run()
    assert not at.exception
    # E1, the OG's one ESMS, meets every criterion over 01–03/2025
    assert at.success[0].value == (
        f"Les 1 établissements de {OG_MD} remplissent tous les critères sur 01/2025–03/2025 : "
        "la VA peut être signée."
    )
    assert raw_names_in(markdown_texts(at)) == []


@pytest.mark.parametrize("grouping", ["ensemble", "og", "editeur"])
def test_comparison_figure_shows_names_as_text(odd_names_store: Path, grouping: str) -> None:
    at = open_page("pages/comparaison.py")
    at.session_state["vue"] = "Répartition des ESMS"  # the tab of the figure
    at.run()
    at.radio(key="regroupement").set_value(grouping).run()
    assert not at.exception
    (box,) = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    # Plotly reads HTML in hovers and axis labels: names come escaped, the page's own <b> stays
    hover = box["customdata"][0]
    assert hover.startswith(f"<b>{NAME}</b> ({E1})<br>")
    assert hover.endswith("<br>**gras** &lt;b&gt;OG&lt;/b&gt; · 69 – Rhône")
    expected_y = {
        "ensemble": "Ensemble des ESMS",
        "og": "**gras** &lt;b&gt;OG&lt;/b&gt;",
        # 'Éd :blue[x] <a href="http://example.invalid">y</a>' is 50 characters: the first 39
        # ('Éd' 2, ' :blue[x] ' 12, '<a href="' 21, 'http://' 28, 'example.' 36, 'inv' 39)
        # and "…", then escaped
        "editeur": 'Éd :blue[x] &lt;a href="http://example.inv…',
    }[grouping]
    assert box["y"] == [expected_y]
    assert raw_names_in(markdown_texts(at)) == []


def test_home_page_editor_table_shows_names_as_text(odd_names_store: Path) -> None:
    at = open_page("pages/accueil.py")
    assert not at.exception
    # a text table (Markdown): the name escaped in it, read back as written
    (table,) = [m.value for m in at.markdown if is_markdown_table(m.value)]
    assert f"| {EDITOR_MD} |" in table
    assert list(parse_markdown_table(table)["Éditeur"]) == [EDITOR]
    assert raw_names_in(markdown_texts(at)) == []


def test_editor_page_shows_names_as_text(odd_names_store: Path) -> None:
    at = open_page("pages/editeur.py")
    assert not at.exception
    assert at.selectbox(key="editeur").options == [EDITOR]  # plain text options
    orders = screen_tables(at)[0]  # a text table: the name escaped, read back as written
    assert list(orders["Organisme gestionnaire"]) == [OG]
    assert raw_names_in(markdown_texts(at)) == []


def test_bidi_controls_and_line_breaks_are_removed_at_ingest_with_a_warning(
    store, write_file, ref
) -> None:
    # Line 2: a right-to-left override before the FINESS (a browser shows "318821196") and
    # in the OG's name; line 3: a name on two lines (quoted), an editor with a tab.
    path = write_file(
        "etab.csv",
        "finess_et;finess_ej;raison_sociale;og_nom;editeur\n"
        f"\u202e691128813;{EJ};EHPAD Un;\u202eOG A\u202c;Ed\n"
        f'{E1};{EJ};"EHPAD\r\nLes Tilleuls";OG A;Ed\tB\n',
    )
    result = ingest_file(store, path, ref)
    assert result.status == "chargé", result.error
    assert [str(w) for w in result.warnings] == [
        # bidi: finess_et and og_nom of line 2 → 2 values, the first at line 2, finess_et
        f"{path}, ligne 2, colonne finess_et : caractères de contrôle de direction du texte "
        "retirés (ils peuvent inverser l'affichage d'un nom ou d'un numéro) : 2 valeurs "
        "concernées dans le fichier, la première ici",
        # line breaks: raison_sociale and editeur of line 3 → 2 values
        f"{path}, ligne 3, colonne raison_sociale : retours à la ligne ou caractères de "
        "contrôle remplacés par une espace : 2 valeurs concernées dans le fichier, la "
        "première ici",
    ]
    rows = store.execute(
        "select finess_et, raison_sociale, og_nom, editeur from establishments order by 1"
    ).fetchall()
    assert rows == [
        ("690000013", "EHPAD Les Tilleuls", "OG A", "Ed B"),
        ("691128813", "EHPAD Un", "OG A", "Ed"),
    ]
