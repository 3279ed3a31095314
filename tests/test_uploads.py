"""Uploads: saved under safe names, checked by a dry run that writes nothing and predicts the
import exactly, then ingested for real; files named as uploaded in every message and in the log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dui_metrics import indicators, uploads
from dui_metrics.store import Store

E1, E2 = "330000001", "010780914"  # Luhn keys OK
REFERENCE = (
    f"finess_et;finess_ej;raison_sociale\n{E1};330000019;EHPAD Un\n{E2};010000024;IME Deux\n"
)
LONG = "finess_et;periode;indicateur;valeur\n"


def state(path: Path, ref) -> tuple:
    """Bytes of the store file and what a reader computes from it."""
    with Store.snapshot(path) as s:
        seen = (indicators.monthly(s, ref), s.imports())
    return path.read_bytes(), seen


def outcome(results) -> list[tuple]:
    return [
        (r.file, r.status, r.kind, r.rows_loaded, r.rows_replaced, r.warnings, r.note)
        + ((r.error.problems,) if r.error else ())
        for r in results
    ]


def save(tmp_path: Path, *files: tuple[str, str], folder: str = "upload") -> list[Path]:
    return uploads.save_uploads(
        [(name, text.encode("utf-8")) for name, text in files], tmp_path / folder
    )


@pytest.fixture
def seeded(store_path: Path, tmp_path: Path, ref) -> Path:
    """Store with the reference (E1, E2) and E1 2025-04 ins_qualifiees = 5."""
    paths = save(
        tmp_path,
        ("ref.csv", REFERENCE),
        ("a.csv", LONG + f"{E1};2025-04;ins_qualifiees;5\n"),
        folder="seed",
    )
    results = uploads.ingest_uploads(store_path, paths, ref)
    assert [r.status for r in results] == ["chargé", "chargé"]
    return store_path


def test_a_dry_run_predicts_the_import_and_writes_nothing(seeded: Path, tmp_path: Path, ref):
    paths = save(
        tmp_path,
        # replaces E1 2025-04 (5 → 7) and adds E2 2025-04: 2 loaded, 1 replaced
        ("b.csv", LONG + f"{E1};2025-04;ins_qualifiees;7\n{E2};2025-04;ins_qualifiees;3\n"),
        # E1 2025-05 and an ESMS absent from the reference (warning, still loads): 2 loaded
        ("c.csv", LONG + f"{E1};2025-05;ins_qualifiees;8\n690000013;2025-05;ins_qualifiees;1\n"),
    )
    before = state(seeded, ref)
    checked = uploads.check_uploads(seeded, paths, ref)
    assert state(seeded, ref) == before  # byte-identical file, same indicators and log
    assert [(r.status, r.rows_loaded, r.rows_replaced) for r in checked] == [
        ("chargé", 2, 1),
        ("chargé", 2, 0),
    ]
    assert [str(w) for w in checked[1].warnings] == [
        "c.csv, ligne 3 : ESMS 690000013 absent du référentiel des établissements"
    ]
    assert not list(seeded.parent.glob("*.tmp*"))

    ingested = uploads.ingest_uploads(seeded, paths, ref)
    assert outcome(ingested) == outcome(checked)
    with Store.snapshot(seeded) as s:
        assert s.execute(
            "select finess_et, strftime(periode, '%Y-%m'), valeur from usage order by all"
        ).fetchall() == [
            (E2, "2025-04", 3),
            (E1, "2025-04", 7),
            (E1, "2025-05", 8),
            ("690000013", "2025-05", 1),
        ]
        # The log names files as uploaded, not by their temporary folder.
        assert [row["file_name"] for row in s.imports()] == ["ref.csv", "a.csv", "b.csv", "c.csv"]


def test_a_rejected_file_names_line_and_column_and_the_others_load(seeded, tmp_path, ref):
    paths = save(
        tmp_path,
        (
            "bad.csv",
            LONG + f"{E1};2025-05;ins_qualifiees;8\n{E1};2025-05;dmp_documents_envoyes;x\n",
        ),
        ("good.csv", LONG + f"{E2};2025-05;dmp_documents_envoyes;4\n"),
    )
    checked = uploads.check_uploads(seeded, paths, ref)
    ingested = uploads.ingest_uploads(seeded, paths, ref)
    assert outcome(ingested) == outcome(checked)
    bad, good = ingested
    assert bad.status == "refusé"
    # header = ligne 1: the "x" is on line 3, column valeur
    assert [str(p) for p in bad.error.problems] == [
        "bad.csv, ligne 3, colonne valeur : valeur non numérique « x » pour dmp_documents_envoyes"
    ]
    assert (good.status, good.rows_loaded) == ("chargé", 1)
    with Store.snapshot(seeded) as s:
        # E1 2025-05 from bad.csv's valid line 2 did not land: all or nothing per file.
        assert s.execute(
            "select finess_et, valeur from usage where periode = '2025-05-01'"
        ).fetchall() == [(E2, 4)]
    problems = uploads.problems_frame(ingested)
    assert problems.iloc[0].to_dict() == {
        "Gravité": "erreur",
        "Fichier": "bad.csv",
        "Ligne": 3,
        "Colonne": "valeur",
        "Problème": "valeur non numérique « x » pour dmp_documents_envoyes",
    }


def test_the_dry_run_makes_the_cross_file_checks_of_the_import(store_path, tmp_path, ref):
    usage = LONG + f"{E1};2025-05;ins_qualifiees;8\n"
    paths = save(
        tmp_path,
        ("usages.csv", usage),
        ("copie.csv", usage),  # same content: skipped once the first one is in
        ("ref.csv", REFERENCE),  # read first: the ESMS is known, no warning on usages.csv
    )
    checked = uploads.check_uploads(store_path, paths, ref)
    assert [(r.file, r.status, r.warnings) for r in checked] == [
        ("ref.csv", "chargé", []),
        ("usages.csv", "chargé", []),
        ("copie.csv", "déjà importé", []),
    ]
    assert "fichier usages.csv" in checked[2].note
    assert outcome(uploads.ingest_uploads(store_path, paths, ref)) == outcome(checked)


def test_files_may_be_named_explicitly(store_path, tmp_path, ref):
    [path] = save(tmp_path, ("x.csv", LONG + f"{E1};2025-05;ins_qualifiees;x\n"))
    [result] = uploads.check_uploads(store_path, [path], ref, names=["Mon export.csv"])
    assert str(result.error.problems[0]).startswith("Mon export.csv, ligne 2, colonne valeur")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("usages.csv", "usages.csv", id="plain"),
        pytest.param("../../etc/x.csv", "x.csv", id="parent-folders"),
        pytest.param("/etc/passwd", "passwd", id="absolute"),
        pytest.param("C:\\Exports\\Usages mai.xlsx", "Usages mai.xlsx", id="windows-path"),
        pytest.param("Établissements été.csv", "Établissements été.csv", id="accents-kept"),
        # a line break between words becomes a space; NUL and a right-to-left override go
        pytest.param("a\nb\x00.csv", "a b.csv", id="control-characters"),
        pytest.param("mai\r\n\t2025\u202e.csv", "mai 2025.csv", id="line-breaks-and-bidi"),
        pytest.param("..", "fichier", id="dots-only"),
        pytest.param("dir/", "fichier", id="empty-base"),
    ],
)
def test_safe_name(given: str, expected: str) -> None:
    assert uploads.safe_name(given) == expected


def test_save_uploads_keeps_every_file_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "upload"
    paths = uploads.save_uploads(
        [
            ("../../x.csv", b"1"),
            ("x.csv", b"2"),
            ("X.CSV", b"3"),  # same name on a case-insensitive disk
            ("sub/x.csv", b"4"),
            ("..", b"5"),
        ],
        folder,
    )
    assert [p.name for p in paths] == ["x.csv", "x (2).csv", "X (3).CSV", "x (4).csv", "fichier"]
    assert [p.read_bytes() for p in paths] == [b"1", b"2", b"3", b"4", b"5"]
    assert all(p.parent == folder for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload"]


def test_history_is_french_newest_first(seeded: Path) -> None:
    with Store.snapshot(seeded) as s:
        log = uploads.history(s)
    assert list(log.columns) == [
        "Fichier",
        "Type",
        "Importé le",
        "Importé par",
        "Lignes chargées",
        "Lignes remplacées",
        "Version du référentiel",
        "SHA-256",
    ]
    assert list(log["Fichier"]) == ["a.csv", "ref.csv"]
    # imported without a perimeter nor an importer (local mode): nobody named
    assert list(log["Importé par"]) == ["—", "—"]
    assert list(log["Type"]) == ["usages (format long)", "référentiel des établissements"]
    assert list(log["Lignes chargées"]) == [1, 2]
    assert log["Importé le"].str.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d").all()
    assert log["SHA-256"].str.len().eq(64).all()
    assert uploads.short_sha(log)["SHA-256"].str.len().eq(uploads.SHORT_SHA + 1).all()


def test_quality_flags_in_french_with_counts(seeded: Path) -> None:
    with Store.snapshot(seeded) as s:
        flags = uploads.quality_flags(s)
    # E2 is in the reference without any usage data; E1 has data for its only month.
    assert flags.to_dict("records") == [
        {
            "Contrôle": "Aucune donnée d'usage",
            "FINESS ET": E2,
            "Établissement": "IME Deux",
            "Détail": "dans le référentiel, aucune donnée d'usage reçue",
        }
    ]
    assert uploads.flag_counts(flags) == {"Aucune donnée d'usage": 1}


def test_summary_sentences(seeded: Path, tmp_path: Path, ref) -> None:
    paths = save(
        tmp_path,
        ("b.csv", LONG + f"{E1};2025-04;ins_qualifiees;7\n{E2};2025-04;ins_qualifiees;3\n"),
        ("bad.csv", LONG + f"{E1};2025-13;ins_qualifiees;1\n"),
    )
    checked = uploads.check_uploads(seeded, paths, ref)
    assert uploads.summary(checked, dry_run=True) == (
        "1 fichier prêt à importer (2 lignes à charger, dont 1 remplaçant des valeurs "
        "existantes), 1 refusé."
    )
    ingested = uploads.ingest_uploads(seeded, paths, ref)
    assert uploads.summary(ingested, dry_run=False) == (
        "1 fichier chargé (2 lignes chargées, dont 1 remplaçant des valeurs existantes), 1 refusé."
    )


def test_progress_is_reported_per_file_in_processing_order(store_path, tmp_path, ref):
    paths = save(
        tmp_path,
        ("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;8\n"),
        ("ref.csv", REFERENCE),
    )
    calls = []
    uploads.ingest_uploads(
        store_path, paths, ref, progress=lambda done, total, r: calls.append((done, total, r.file))
    )
    # The reference file goes first, whatever the upload order.
    assert calls == [(1, 2, "ref.csv"), (2, 2, "usages.csv")]


def test_warnings_are_listed_by_line(store_path, tmp_path, ref):
    # Line 1: unknown column; line 2: E1 absent from the (empty) reference; line 3: 330000002
    # fails the Luhn key and is absent too.
    [path] = save(
        tmp_path,
        (
            "w.csv",
            "finess_et;periode;indicateur;valeur;commentaire\n"
            f"{E1};2025-05;ins_qualifiees;4;x\n330000002;2025-05;ins_qualifiees;2;y\n",
        ),
    )
    problems = uploads.problems_frame(uploads.check_uploads(store_path, [path], ref))
    assert problems["Gravité"].eq("avertissement").all()
    assert list(problems["Ligne"]) == [1, 2, 3, 3]
    assert list(problems["Colonne"]) == ["commentaire", "", "", ""]


def test_an_uploaded_workbook_keeps_its_suffix_and_loads(store_path, tmp_path, ref):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["FINESS ET", "Période", "Indicateur", "Valeur"])
    book.active.append([E1, "05/2025", "ins_qualifiees", 4])
    content = io.BytesIO()
    book.save(content)
    [path] = uploads.save_uploads([("Export mai.xlsx", content.getvalue())], tmp_path / "up")
    [result] = uploads.ingest_uploads(store_path, [path], ref)
    assert (result.file, result.status, result.rows_loaded) == ("Export mai.xlsx", "chargé", 1)


def test_long_or_multi_line_names_are_saved_shortened_with_a_warning(store_path, tmp_path, ref):
    # Names as a browser may send them: 304 bytes (over the 255 a file name may have), two of
    # 405 bytes differing only at their end, a line break. Saving 304 bytes failed before
    # (OSError: File name too long) and the line break went without a word.
    content = (LONG + f"{E1};2025-05;ins_qualifiees;1\n").encode()
    long_ascii = "x" * 300 + ".csv"
    long_accents = ["é" * 200 + "1.csv", "é" * 200 + "2.csv"]
    given = [long_ascii, *long_accents, "mai\n2025.csv"]
    folder = tmp_path / "upload"
    paths = uploads.save_uploads([(name, content) for name in given], folder)
    assert all(p.parent == folder and p.read_bytes() == content for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload"]
    names = [p.name for p in paths]
    assert all(len(n.encode()) <= 255 for n in names)
    # cut at 240 bytes with « … » before the extension; the second é…-name gets « (2) »
    assert names[0] == "x" * 233 + "….csv"
    assert names[1] == "é" * 116 + "….csv" and names[2] == "é" * 116 + "… (2).csv"
    assert names[3] == "mai 2025.csv"

    results = uploads.check_uploads(store_path, paths, ref, given=given)
    assert [r.file for r in results] == names
    first = [str(r.warnings[0]) for r in results]
    assert first[0] == (
        f"{names[0]} : nom de fichier modifié (nom de 304 octets, raccourci à 240 au plus (un "
        f"nom de fichier ne peut dépasser 255 octets)) : enregistré et affiché sous « {names[0]} »"
    )
    assert "nom de 405 octets" in first[1]
    assert first[3] == (
        "mai 2025.csv : nom de fichier modifié (retour à la ligne, tabulation ou caractère "
        "invisible retiré) : enregistré et affiché sous « mai 2025.csv »"
    )
    # the import logs the files under the names shown
    uploads.ingest_uploads(store_path, paths[3:], ref, given=given[3:])
    with Store.snapshot(store_path) as s:
        assert [row["file_name"] for row in s.imports()] == ["mai 2025.csv"]


def test_a_name_kept_as_uploaded_gets_no_warning(store_path, tmp_path, ref):
    [path] = save(tmp_path, ("b.csv", LONG + f"{E1};2025-05;ins_qualifiees;1\n"))
    [result] = uploads.check_uploads(store_path, [path], ref, given=["b.csv"])
    assert result.warnings  # E1 absent from the reference: a warning, but not about the name
    assert not any("nom de fichier" in str(w) for w in result.warnings)
