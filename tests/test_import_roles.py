"""Who may import what on the Données page (issue 16), on real store files: ``og`` and
``editeur`` users import only files whose every ESMS is in their perimeter (any other refuses
the file whole, with the list, and leaves the store as it was); ``ars`` users read only;
``admin`` and local mode import anything. The import log says who imported each file.

The store (tests/test_app.py's reference): OG A (EJ 690000005, editor EdA) holds E1 690000013
and E2 690000021; OG B (EJ 330000001, editor EdB) holds E3 330000019. 690000039 is in no
store: a new ESMS.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from table_support import screen_tables

from dui_metrics import access, uploads
from dui_metrics import store as store_mod
from dui_metrics.ingest import outside_perimeter_message
from dui_metrics.store import Store
from tests.test_app import REFERENCE
from tests.test_login import APP, AUTH

E1, E2, E3, NEW = "690000013", "690000021", "330000019", "690000039"
OG_A, OG_B = "690000005", "330000001"
LONG = "finess_et;periode;indicateur;valeur\n"
REF_HEADER = "finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement\n"
BUNDLE = Path(__file__).parent / "data" / "tddui" / "Bundle-tddui-bundle-example.json"
BUNDLE_ESMS = "480787529"  # the official TDDUI example's establishment

OG_EMAIL, ADMIN_EMAIL = "directrice@og-a.example", "admin@grades.example"
ARS_EMAIL, EDITEUR_EMAIL = "ars@ars-ara.example", "support@edb.example"
OG_USER = {"is_logged_in": True, "email": OG_EMAIL, "sub": "og-a-1", "name": "Dominique A"}
ADMIN_USER = {"is_logged_in": True, "email": ADMIN_EMAIL, "sub": "admin-1"}
ARS_USER = {"is_logged_in": True, "email": ARS_EMAIL, "sub": "ars-1"}
ACCES = f"""contact = "Équipe régionale : support@grades.example"
[[acces]]
email = "{OG_EMAIL}"
role = "og"
og = ["{OG_A}"]
[[acces]]
email = "{ADMIN_EMAIL}"
role = "admin"
[[acces]]
email = "{ARS_EMAIL}"
role = "ars"
departements = ["69"]
[[acces]]
email = "{EDITEUR_EMAIL}"
role = "editeur"
editeurs = ["EdB"]
"""
ARS_SENTENCE = (
    "Votre rôle (ARS) permet la consultation seulement : les imports sont faits par les "
    "organismes gestionnaires, les éditeurs et l'administrateur du tableau de bord."
)
ASK_THE_ADMIN = (
    " ; ce fichier est refusé en entier. Seuls les ESMS de votre périmètre peuvent être "
    "importés : pour un ESMS nouveau, ou qui change d'organisme gestionnaire ou d'éditeur, "
    "demandez à l'administrateur de mettre à jour le référentiel des établissements"
)


@pytest.fixture
def seeded(tmp_path: Path, store_from) -> Path:
    """The reference and E1, E2, E3 dossiers_actifs = 30 in 2025-01, imported by the command
    line (nobody named in the log)."""
    usage = LONG + "".join(f"{code};2025-01;dossiers_actifs;30\n" for code in (E1, E2, E3))
    return store_from(REFERENCE, usage)


@pytest.fixture
def acces_file(tmp_path: Path) -> Path:
    path = tmp_path / "acces.toml"
    path.write_text(ACCES, encoding="utf-8")
    return path


def perimeter(store_path: Path, acces_file: Path, email: str) -> access.Perimeter:
    with Store.snapshot(store_path) as s:
        return access.for_user(s, acces_file, email)


def save(tmp_path: Path, *files: tuple[str, str]) -> list[Path]:
    return uploads.save_uploads(
        [(name, text.encode("utf-8")) for name, text in files], tmp_path / "upload"
    )


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the store file, ordered."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}


def log_of(path: Path) -> list[tuple[str, str | None]]:
    """(file name without its folder, imported_by) of each import, oldest first."""
    with Store.snapshot(path) as s:
        rows = s.execute("select file_name, imported_by from imports order by import_id")
        return [(Path(name).name, who) for name, who in rows.fetchall()]


def refusal(result) -> list[str]:
    return [p.message for p in result.error.problems]


# --- og ------------------------------------------------------------------------------------


def test_og_user_imports_its_esms_and_the_log_names_it(
    seeded: Path, acces_file: Path, tmp_path, ref
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    assert og.finess == frozenset({E1, E2})
    paths = save(tmp_path, ("mars.csv", LONG + f"{E1};2025-03;dossiers_actifs;12\n{E2};2025-03;dossiers_actifs;9\n"))  # fmt: skip
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert (result.status, result.rows_loaded) == ("chargé", 2)
    # the two imports of the fixture (command line) name nobody; the OG's names its e-mail
    assert log_of(seeded) == [("ref.csv", None), ("usage.csv", None), ("mars.csv", OG_EMAIL)]
    with Store.snapshot(seeded) as s:
        log = uploads.history(s, perimeter=og)
    assert list(log["Fichier"]) == ["mars.csv", "usage.csv", "ref.csv"]
    assert list(log["Importé par"]) == [OG_EMAIL, "—", "—"]


def test_one_outsider_refuses_the_file_whole_and_leaves_the_store_as_it_was(
    seeded: Path, acces_file: Path, tmp_path, ref
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    # E1 is the OG's; E3 is OG B's and 690000039 is new: both listed, sorted
    text = LONG + f"{NEW};2025-03;dossiers_actifs;1\n{E1};2025-03;dossiers_actifs;12\n{E3};2025-03;dossiers_actifs;5\n"  # fmt: skip
    paths = save(tmp_path, ("mixte.csv", text))
    before, dumped = seeded.read_bytes(), dump(seeded)
    [checked] = uploads.check_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    for r in (checked, result):
        assert r.status == "refusé"
        assert r.rows_loaded == 0
        assert refusal(r) == [f"2 ESMS hors de votre périmètre : {E3}, {NEW}" + ASK_THE_ADMIN]
    assert seeded.read_bytes() == before  # nothing loaded: the store file is not replaced
    assert dump(seeded) == dumped
    report = uploads.report_frame([result], dry_run=False)
    assert report["Remarque"].tolist() == ["1 problème : fichier refusé en entier"]


def test_a_good_and_a_bad_file_in_one_batch_the_good_one_loads(
    seeded: Path, acces_file: Path, tmp_path, ref
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    paths = save(
        tmp_path,
        ("bon.csv", LONG + f"{E2};2025-02;dossiers_actifs;31\n"),
        ("autre.csv", LONG + f"{E3};2025-02;dossiers_actifs;7\n"),
    )
    results = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert [(r.file, r.status) for r in results] == [("bon.csv", "chargé"), ("autre.csv", "refusé")]
    assert refusal(results[1]) == [f"1 ESMS hors de votre périmètre : {E3}" + ASK_THE_ADMIN]
    with Store.snapshot(seeded) as s:
        # 2025-02: only bon.csv's row; E3 keeps its one month
        assert s.execute(
            "select finess_et, valeur from usage where periode = '2025-02-01'"
        ).fetchall() == [(E2, 31)]
        assert s.scalar("select count(*) from usage where finess_et = ?", [E3]) == 1
    assert log_of(seeded)[-1] == ("bon.csv", OG_EMAIL)
    assert len(log_of(seeded)) == 3  # the refused file is not in the log


@pytest.mark.parametrize(
    ("rows", "outsiders"),
    [
        # its own ESMS renamed, and OG B's E3 claimed under its EJ: E3 is outside
        pytest.param(
            f"{E1};{OG_A};EHPAD Un bis;OG A;BC-A;EdA;01/01/2025\n"
            f"{E3};{OG_A};SSIAD Trois;OG A;BC-A;EdA;01/01/2025\n",
            [E3],
            id="another-og-esms",
        ),
        # a new ESMS under its own EJ: not in the store's reference, so outside (the admin
        # adds it)
        pytest.param(f"{NEW};{OG_A};Foyer Neuf;OG A;BC-A;EdA;01/01/2025\n", [NEW], id="new-esms"),
    ],
)
def test_og_reference_file_with_an_esms_outside_is_refused(
    seeded: Path, acces_file: Path, tmp_path, ref, rows: str, outsiders: list[str]
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    dumped = dump(seeded)
    paths = save(tmp_path, ("etablissements.csv", REF_HEADER + rows))
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert (result.status, result.kind) == ("refusé", "etablissements")
    assert refusal(result) == [
        f"{len(outsiders)} ESMS hors de votre périmètre : {', '.join(outsiders)}" + ASK_THE_ADMIN
    ]
    assert dump(seeded) == dumped


def test_og_reference_file_of_its_own_esms_loads(seeded: Path, acces_file: Path, tmp_path, ref):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    rows = f"{E1};{OG_A};EHPAD Un (nouveau nom);OG A;BC-A;EdA;01/01/2025\n"
    paths = save(tmp_path, ("etablissements.csv", REF_HEADER + rows))
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert (result.status, result.rows_loaded, result.rows_replaced) == ("chargé", 1, 1)
    with Store.snapshot(seeded) as s:
        assert s.scalar("select raison_sociale from establishments where finess_et = ?", [E1]) == (
            "EHPAD Un (nouveau nom)"
        )


def test_og_record_files_with_an_esms_outside_are_refused(
    seeded: Path, acces_file: Path, tmp_path, ref
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    dossiers = (
        "finess_et;dossier_id;date_entree;date_sortie\n"
        f"{E1};D-1;01/01/2025;\n{E3};D-2;15/02/2025;\n"
    )
    before, dumped = seeded.read_bytes(), dump(seeded)
    paths = save(tmp_path, ("dossiers.csv", dossiers), ("lot.json", BUNDLE.read_text("utf-8")))
    results = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    by_file = {r.file: r for r in results}
    assert {name: r.status for name, r in by_file.items()} == {
        "dossiers.csv": "refusé",
        "lot.json": "refusé",
    }
    assert refusal(by_file["dossiers.csv"]) == [
        f"1 ESMS hors de votre périmètre : {E3}" + ASK_THE_ADMIN
    ]
    # the TDDUI file's ESMS are known once it is read: its writing is rolled back
    assert refusal(by_file["lot.json"]) == [
        f"1 ESMS hors de votre périmètre : {BUNDLE_ESMS}" + ASK_THE_ADMIN
    ]
    assert seeded.read_bytes() == before
    assert dump(seeded) == dumped


def test_og_record_file_of_its_own_esms_loads(seeded: Path, acces_file: Path, tmp_path, ref):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    dossiers = "finess_et;dossier_id;date_entree;date_sortie\n" + f"{E1};D-1;01/01/2025;\n"
    paths = save(tmp_path, ("dossiers.csv", dossiers))
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert result.status == "chargé"
    assert log_of(seeded)[-1] == ("dossiers.csv", OG_EMAIL)


# --- editeur, ars, admin, local mode ---------------------------------------------------------


def test_editeur_imports_the_esms_of_its_editor_only(seeded: Path, acces_file: Path, tmp_path, ref):
    editeur = perimeter(seeded, acces_file, EDITEUR_EMAIL)
    assert editeur.finess == frozenset({E3})  # EdB: OG B's E3
    paths = save(
        tmp_path,
        ("edb.csv", LONG + f"{E3};2025-02;dossiers_actifs;8\n"),
        ("eda.csv", LONG + f"{E1};2025-02;dossiers_actifs;8\n"),
    )
    results = uploads.ingest_uploads(seeded, paths, ref, perimeter=editeur, importer=EDITEUR_EMAIL)
    assert [(r.file, r.status) for r in results] == [("edb.csv", "chargé"), ("eda.csv", "refusé")]
    assert refusal(results[1]) == [f"1 ESMS hors de votre périmètre : {E1}" + ASK_THE_ADMIN]


def test_ars_user_reads_only_the_library_refuses(seeded: Path, acces_file: Path, tmp_path, ref):
    ars = perimeter(seeded, acces_file, ARS_EMAIL)
    assert ars.finess == frozenset({E1, E2})  # département 69: it sees, it does not import
    assert not uploads.may_import(ars)
    paths = save(tmp_path, ("mars.csv", LONG + f"{E1};2025-03;dossiers_actifs;12\n"))
    before = seeded.read_bytes()
    for run in (uploads.check_uploads, uploads.ingest_uploads):
        with pytest.raises(uploads.ReadOnlyRole) as refused:
            run(seeded, paths, ref, perimeter=ars, importer=ARS_EMAIL)
        assert str(refused.value) == ARS_SENTENCE
    assert seeded.read_bytes() == before


def test_admin_imports_anything_and_is_named(seeded: Path, acces_file: Path, tmp_path, ref):
    admin = perimeter(seeded, acces_file, ADMIN_EMAIL)
    assert admin is access.EVERYTHING
    paths = save(
        tmp_path,
        ("etablissements.csv", REF_HEADER + f"{NEW};{OG_A};Foyer Neuf;OG A;BC-A;EdA;01/01/2025\n"),
        ("tout.csv", LONG + "".join(f"{c};2025-02;dossiers_actifs;4\n" for c in (E1, E3, NEW))),
        ("lot.json", BUNDLE.read_text("utf-8")),
    )
    results = uploads.ingest_uploads(seeded, paths, ref, perimeter=admin, importer=ADMIN_EMAIL)
    assert {r.file: r.status for r in results} == dict.fromkeys(
        ("etablissements.csv", "tout.csv", "lot.json"), "chargé"
    )
    assert [who for _, who in log_of(seeded)[2:]] == [ADMIN_EMAIL] * 3
    # the new ESMS is now OG A's: in the OG user's perimeter from now on
    assert NEW in perimeter(seeded, acces_file, OG_EMAIL).finess


def test_local_mode_imports_anything_and_names_nobody(seeded: Path, tmp_path, ref):
    paths = save(tmp_path, ("tout.csv", LONG + f"{E3};2025-02;dossiers_actifs;4\n{NEW};2025-02;dossiers_actifs;4\n"))  # fmt: skip
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=access.EVERYTHING)
    assert result.status == "chargé"
    with Store.snapshot(seeded) as s:
        assert uploads.history(s)["Importé par"].tolist() == ["—", "—", "—"]


# --- pieces ----------------------------------------------------------------------------------


def test_outsiders_listed_sorted_then_counted() -> None:
    codes = [f"{n:09d}" for n in range(25, 0, -1)]  # 25 FINESS, given in reverse order
    message = outside_perimeter_message(codes)
    first = ", ".join(f"{n:09d}" for n in range(1, 21))
    assert message == f"25 ESMS hors de votre périmètre : {first} … et 5 autres" + ASK_THE_ADMIN


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param(OG_USER, OG_EMAIL, id="e-mail-not-name"),
        pytest.param({"is_logged_in": True, "sub": "abc-123", "name": "X"}, "abc-123", id="sub"),
        pytest.param({"is_logged_in": False, "email": OG_EMAIL}, None, id="logged-out"),
        # AppTest's default user, and local mode: no login flag
        pytest.param({"email": "test@example.com"}, None, id="no-flag"),
    ],
)
def test_importer_is_the_e_mail_or_the_sub_only(user: dict, expected: str | None) -> None:
    assert uploads.importer_of(user) == expected


def test_version_2_store_migrates_and_old_imports_name_nobody(tmp_path: Path) -> None:
    # A store written by a release of schema 2 (schema_v1.sql then migrate_v2.sql), one import.
    path = tmp_path / "v2.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(store_mod.sql("schema_v1"))
        con.execute(store_mod.sql("migrate_v2"))
        con.execute("insert into meta values ('schema_version', '2'), ('demo_sha256', '')")
        con.execute(
            "insert into imports (file_name, sha256, kind, imported_at, rows_loaded, "
            "rows_replaced) values ('ancien.csv', 'ab', 'usages_long', "
            "timestamp '2025-02-03 10:04:00', 4, 0)"
        )
    with Store.snapshot(path) as s:  # as the app opens it: read-only, upgraded first
        assert s.schema_version == 3
        log = uploads.history(s)
    assert log[["Fichier", "Importé le", "Importé par"]].to_dict("records") == [
        {"Fichier": "ancien.csv", "Importé le": "03/02/2025 10:04", "Importé par": "—"}
    ]


# --- the page --------------------------------------------------------------------------------


def donnees(store: Path, acces_file: Path, user: dict, monkeypatch) -> AppTest:
    monkeypatch.setenv("DUI_METRICS_STORE", str(store))
    monkeypatch.delenv(access.ENV_VAR, raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update({"auth": AUTH, "acces": str(acces_file)})
    at.user = user
    at.run()
    at.switch_page("pages/donnees.py").run()
    assert not at.exception
    return at


def table(at: AppTest, column: str):
    return next(f for f in screen_tables(at) if column in f.columns)


def test_page_og_user_good_file_loads_bad_file_refused_log_names_it(
    seeded: Path, acces_file: Path, monkeypatch
):
    at = donnees(seeded, acces_file, OG_USER, monkeypatch)
    assert any("Vous importez pour votre périmètre" in c.value for c in at.caption)
    good = LONG + f"{E1};2025-03;dossiers_actifs;12\n"
    bad = LONG + f"{E2};2025-03;dossiers_actifs;3\n{E3};2025-03;dossiers_actifs;5\n"
    at.file_uploader[0].set_value(
        [("bon.csv", good.encode(), "text/csv"), ("autre.csv", bad.encode(), "text/csv")]
    ).run()
    at.button(key="donnees_verifier").click().run()
    assert not at.exception
    report = table(at, "Résultat")
    assert report[["Fichier", "Résultat"]].values.tolist() == [
        ["bon.csv", "✅ prêt à importer"],
        ["autre.csv", "⛔ refusé"],
    ]
    assert table(at, "Gravité")["Problème"].tolist() == [
        f"1 ESMS hors de votre périmètre : {E3}" + ASK_THE_ADMIN
    ]
    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Import terminé : 1 fichier chargé (1 ligne chargée), 1 refusé.")  # fmt: skip
    log = table(at, "Importé le")
    # the OG user sees the imports holding its ESMS: its own, named, and the command line's
    assert log[["Fichier", "Importé par"]].values.tolist() == [
        ["bon.csv", OG_EMAIL],
        ["usage.csv", "—"],
        ["ref.csv", "—"],
    ]
    assert log_of(seeded)[-1] == ("bon.csv", OG_EMAIL)


def test_page_ars_user_has_no_uploader(seeded: Path, acces_file: Path, monkeypatch):
    at = donnees(seeded, acces_file, ARS_USER, monkeypatch)
    assert not at.file_uploader
    # no « Vérifier » nor « Importer » button either
    assert [b.key for b in at.button if b.key and b.key.startswith("donnees_")] == []
    assert ARS_SENTENCE in [i.value for i in at.info]
    # it still reads the log of its perimeter
    assert table(at, "Importé le")["Fichier"].tolist() == ["usage.csv", "ref.csv"]


def test_page_admin_imports_anything(seeded: Path, acces_file: Path, monkeypatch):
    at = donnees(seeded, acces_file, ADMIN_USER, monkeypatch)
    assert not any("Vous importez pour votre périmètre" in c.value for c in at.caption)
    text = LONG + f"{E3};2025-03;dossiers_actifs;5\n{NEW};2025-03;dossiers_actifs;2\n"
    at.file_uploader[0].set_value([("tout.csv", text.encode(), "text/csv")]).run()
    at.button(key="donnees_verifier").click().run()
    at.button(key="donnees_importer").click().run()
    assert not at.exception
    assert table(at, "Résultat")["Résultat"].tolist() == ["✅ chargé"]
    assert table(at, "Importé le")["Importé par"].tolist()[0] == ADMIN_EMAIL


@pytest.mark.parametrize(
    ("row", "changed"),
    [
        # E1 handed to OG B: OG B's users would see it, and its data
        (f"{E1};{OG_B};EHPAD Un;OG B;BC-A;EdA;01/01/2025\n", "organisme gestionnaire"),
        # E1 handed to another editor: that editor's users would see it
        (f"{E1};{OG_A};EHPAD Un;OG A;BC-A;EdB;01/01/2025\n", "éditeur"),
    ],
    ids=["other-og", "other-editor"],
)
def test_og_reference_file_moving_its_esms_elsewhere_is_refused(
    seeded: Path, acces_file: Path, tmp_path, ref, row: str, changed: str
):
    og = perimeter(seeded, acces_file, OG_EMAIL)
    dumped = dump(seeded)
    paths = save(tmp_path, ("etablissements.csv", REF_HEADER + row))
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=og, importer=OG_EMAIL)
    assert (result.status, result.kind) == ("refusé", "etablissements")
    assert refusal(result) == [
        "1 ESMS changerait d'organisme gestionnaire, d'éditeur, de région ou de département : "
        f"{E1} ({changed}) ; ce fichier est refusé en entier. Ces colonnes décident de qui voit "
        "l'ESMS : demandez à l'administrateur de mettre à jour le référentiel des établissements"
    ]
    assert dump(seeded) == dumped
    # The administrator may.
    admin = perimeter(seeded, acces_file, ADMIN_EMAIL)
    [result] = uploads.ingest_uploads(seeded, paths, ref, perimeter=admin, importer=ADMIN_EMAIL)
    assert result.status == "chargé"
