"""The Données page under AppTest: import log, quality flags, and the upload flow (check writes
nothing, import loads and empties the uploader) on a tiny hand-made store."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics.ingest import ingest_paths
from dui_metrics.store import Store
from dui_metrics.writer import writers_lock

APP = str(Path(__file__).resolve().parent.parent / "app.py")

# E1 and E2 send usage for 01–03/2025; E3 is in the reference without any usage data.
REFERENCE = """finess_et;finess_ej;raison_sociale;og_nom
690000013;690000005;EHPAD Un;OG A
690000021;690000005;IME Deux;OG A
330000019;330000001;SSIAD Trois;OG B
"""
USAGE = "finess_et;periode;indicateur;valeur\n" + "".join(
    f"{finess};2025-0{m};dossiers_actifs;30\n"
    for m in (1, 2, 3)
    for finess in ("690000013", "690000021")
)
LONG = "finess_et;periode;indicateur;valeur\n"


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ref.csv").write_text(REFERENCE, encoding="utf-8")
    (tmp_path / "usage.csv").write_text(USAGE, encoding="utf-8")
    path = tmp_path / "store.duckdb"
    # Relative paths: the log names the files "ref.csv" and "usage.csv".
    with contextlib.chdir(tmp_path), Store(path) as store:
        results = ingest_paths(store, ["ref.csv", "usage.csv"])
    assert [r.status for r in results] == ["chargé", "chargé"]
    monkeypatch.setenv("DUI_METRICS_STORE", str(path))
    return path


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/donnees.py").run()
    assert not at.exception
    return at


def table(at: AppTest, column: str):
    """The first table on the page having ``column``: « Importé le » for the import log,
    « Résultat » for a check or import report, « Gravité » for problems, « Contrôle » for
    quality flags."""
    for frame in screen_tables(at):
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a column {column!r}")


def test_empty_state_history_and_quality_flags(tiny_store: Path) -> None:
    at = page()
    assert at.title[0].value == "Données"
    assert at.file_uploader[0].accept_multiple_files
    # the extensions of the command line (issue 15: ODS and XLS too), no other
    assert sorted(at.file_uploader[0].allowed_type) == [
        ".csv", ".json", ".ndjson", ".ods", ".parquet", ".pq", ".tsv", ".txt", ".xls", ".xlsm",
        ".xlsx",
    ]  # fmt: skip
    assert (
        "Formats : CSV, TXT, TSV, XLSX, XLSM, ODS, XLS, Parquet, JSON, NDJSON" in at.info[0].value
    )
    assert at.page_link[0].proto.page.endswith("methode")
    log = table(at, "Importé le")
    # Two hand-made imports, newest first; 6 usage rows (2 ESMS × 3 months), 3 reference rows.
    assert list(log["Fichier"]) == ["usage.csv", "ref.csv"]
    assert list(log["Lignes chargées"]) == ["6", "3"]  # counts shown French style (text)
    assert log["SHA-256"].str.len().eq(13).all()  # 12 characters and "…"
    flags = table(at, "Contrôle")
    assert flags.to_dict("records") == [
        {
            "Contrôle": "Aucune donnée d'usage",
            "FINESS ET": "330000019",
            "Établissement": "SSIAD Trois",
            "Détail": "dans le référentiel, aucune donnée d'usage reçue",
        }
    ]
    assert at.pills[0].options and "(1)" in at.pills[0].proto.options[0].content


def test_quality_flags_filter_by_control(tiny_store: Path) -> None:
    at = page()
    at.pills[0].set_value([]).run()
    assert table(at, "Contrôle").empty
    assert "0 alerte(s) affichée(s) sur 1." in [c.value for c in at.caption]


def test_check_writes_nothing_then_import_loads(tiny_store: Path) -> None:
    at = page()
    before = tiny_store.read_bytes()
    good = LONG + "330000019;2025-03;dossiers_actifs;12\n690000013;2025-03;dossiers_actifs;31\n"
    bad = LONG + "690000021;2025-04;dossiers_actifs;-3\n"
    at.file_uploader[0].set_value(
        [("../mai/bon.csv", good.encode(), "text/csv"), ("mauvais.csv", bad.encode(), "text/csv")]
    ).run()
    assert not at.exception
    assert at.button(key="donnees_importer").disabled  # not checked yet

    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    assert tiny_store.read_bytes() == before  # the check wrote nothing
    report = table(at, "Résultat")
    # bon.csv: 2 rows, of which 690000013 2025-03 (30 → 31) replaces a stored value.
    assert report[["Fichier", "Résultat", "Lignes à charger", "dont remplaçant une valeur"]].to_dict(
        "records"
    ) == [
        {"Fichier": "bon.csv", "Résultat": "✅ prêt à importer", "Lignes à charger": "2",
         "dont remplaçant une valeur": "1"},
        {"Fichier": "mauvais.csv", "Résultat": "⛔ refusé", "Lignes à charger": "0",
         "dont remplaçant une valeur": "0"},
    ]  # fmt: skip
    errors = table(at, "Gravité")
    assert errors[["Gravité", "Fichier", "Ligne", "Colonne"]].to_dict("records") == [
        {"Gravité": "erreur", "Fichier": "mauvais.csv", "Ligne": 2, "Colonne": "valeur"}
    ]
    assert not at.button(key="donnees_importer").disabled

    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(
        "Import terminé : 1 fichier chargé (2 lignes chargées, dont 1 remplaçant des valeurs "
        "existantes), 1 refusé."
    )
    assert not at.file_uploader[0].value  # a fresh uploader for the next files
    assert list(table(at, "Résultat")["Résultat"]) == ["✅ chargé", "⛔ refusé"]
    # The newest import first, under its uploaded name; the refused file is not in the log.
    assert list(table(at, "Importé le")["Fichier"]) == ["bon.csv", "usage.csv", "ref.csv"]
    with Store.snapshot(tiny_store) as store:
        assert store.execute(
            "select finess_et, valeur from usage where periode = '2025-03-01' order by 1"
        ).fetchall() == [("330000019", 12), ("690000013", 31), ("690000021", 30)]
    # E3 now has usage data (2025-03, the latest month): no flag left.
    assert at.success[1].value.startswith("Aucune alerte")
    assert not any("Contrôle" in frame.columns for frame in screen_tables(at))


def test_changing_the_files_asks_for_a_new_check(tiny_store: Path) -> None:
    at = page()
    one = ("a.csv", (LONG + "690000013;2025-04;dossiers_actifs;1\n").encode(), "text/csv")
    at.file_uploader[0].set_value([one]).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.button(key="donnees_importer").disabled
    two = ("b.csv", (LONG + "690000013;2025-05;dossiers_actifs;1\n").encode(), "text/csv")
    at.file_uploader[0].set_value([one, two]).run()
    assert at.button(key="donnees_importer").disabled


def test_at_most_fifty_warnings_per_file_on_screen_with_the_total(tiny_store: Path) -> None:
    # 60 ESMS absent from the reference: at least 60 warnings (one each; more where the FINESS
    # key is wrong). The page lists the first 50 and says how many more; the report keeps the
    # total.
    rows = "".join(f"69{n:07d};2025-03;dossiers_actifs;1\n" for n in range(100, 160))
    at = page()
    at.file_uploader[0].set_value([("beaucoup.csv", (LONG + rows).encode(), "text/csv")]).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    total = int(table(at, "Résultat")["Avertissements"][0].replace("\u202f", ""))
    assert total >= 60
    shown = [
        frame.value
        for frame in at.dataframe
        if "Gravité" in frame.value.columns and (frame.value["Gravité"] == "avertissement").all()
    ]
    assert len(shown) == 1 and len(shown[0]) == 50
    captions = [c.value for c in at.caption]
    assert (
        rf"beaucoup\.csv : les 50 premiers avertissements ci-dessus, … et {total - 50} autres "
        "avertissements (tous dans le téléchargement)."
    ) in captions


def test_check_does_not_wait_for_the_writers_lock(tiny_store: Path) -> None:
    # Another writer (a thread here: flock excludes a second open of the lock file even in
    # this process) takes the lock and keeps it for up to HOLD_S seconds. « Vérifier » works on
    # a private copy: it answers while the lock is still held. With the lock it would wait
    # until the holder lets go (then the assertion fails; nothing hangs).
    hold_s = 60.0
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with writers_lock(tiny_store):
            taken.set()
            done.wait(hold_s)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        at = page()
        good = LONG + "690000013;2025-04;dossiers_actifs;1\n"
        at.file_uploader[0].set_value([("a.csv", good.encode(), "text/csv")]).run()
        at.button(key="donnees_verifier").click().run(timeout=hold_s + 60)
        assert holder.is_alive(), "the check waited for the lock"
    finally:
        done.set()
        holder.join()
    assert not at.exception
    assert list(table(at, "Résultat")["Résultat"]) == ["✅ prêt à importer"]


def test_long_and_multi_line_upload_names(tiny_store: Path) -> None:
    # A 304-byte name (saving it failed with a traceback before) and a name with a line break:
    # both checked and imported under a shortened or cleaned name, with a warning each.
    good = LONG + "690000013;2025-04;dossiers_actifs;1\n"
    other = LONG + "690000021;2025-04;dossiers_actifs;1\n"
    long_name = "x" * 300 + ".csv"
    at = page()
    at.file_uploader[0].set_value(
        [(long_name, good.encode(), "text/csv"), ("avril\n2025.csv", other.encode(), "text/csv")]
    ).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    shortened = "x" * 233 + "….csv"
    assert list(table(at, "Résultat")["Fichier"]) == [shortened, "avril 2025.csv"]
    warnings = table(at, "Gravité")
    assert list(warnings["Fichier"]) == [shortened, "avril 2025.csv"]
    assert warnings["Problème"].str.startswith("nom de fichier modifié (").all()
    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert list(table(at, "Importé le")["Fichier"])[:2] == ["avril 2025.csv", shortened]


def test_record_files_and_a_tddui_bundle_through_the_uploader(tiny_store: Path) -> None:
    """Issue 14: the DUI's records, uploaded like any export, are counted on import; the
    precomputed 2025-03 value of 690000013 (30) is replaced by the count from records."""
    import json

    bundle = Path(__file__).parent / "data" / "tddui" / "Bundle-tddui-bundle-example.json"
    official = json.loads(bundle.read_text(encoding="utf-8"))
    dossiers = (
        "finess_et;dossier_id;date_entree;date_sortie\n"
        "690000013;D-1;01/01/2025;\n690000013;D-2;15/02/2025;\n"
    )
    # D-1: an event in March; D-2: a cancelled one in March (not a trace: not active)
    events = (
        "finess_et;dossier_id;date_evenement;statut\n"
        "690000013;D-1;2025-03-10T09:00:00+01:00;réalisé\n690000013;D-2;12/03/2025;annulé\n"
    )
    at = page()
    at.file_uploader[0].set_value(
        [
            ("evenements.csv", events.encode(), "text/csv"),
            ("dossiers.csv", dossiers.encode(), "text/csv"),
            ("lot.json", json.dumps(official).encode(), "application/json"),
        ]
    ).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    report = table(at, "Résultat")
    assert dict(zip(report["Fichier"], report["Type"], strict=True)) == {
        "dossiers.csv": "dossiers (séjours et statuts INS)",
        "lot.json": "dossiers TDDUI (FHIR)",
        "evenements.csv": "dossiers : événements",
    }
    assert set(report["Résultat"]) == {"✅ prêt à importer"}
    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert set(table(at, "Résultat")["Résultat"]) == {"✅ chargé"}
    with Store.snapshot(tiny_store) as store:
        # March 2025, the extract's only month of activity: 2 open, 1 active, with its event
        assert store.execute(
            "select indicateur, valeur from usage where finess_et = '690000013' "
            "and periode = '2025-03-01' order by 1"
        ).fetchall() == [
            ("dossiers_actifs", 1),
            ("dossiers_actifs_avec_evenement", 1),
            ("dossiers_actifs_avec_pp", 0),
            ("ins_qualifiees", 0),
            ("personnes_accompagnees", 2),
        ]
        # the bundle's ESMS (April 2023), counted too
        assert (
            store.scalar(
                "select valeur from usage where finess_et = '480787529' "
                "and indicateur = 'dossiers_actifs'"
            )
            == 1
        )
