"""The VA evidence pack (`dui-metrics preuves`): the workbook and the PDF read back (openpyxl,
pypdf) and compared with `dui-metrics va` and `dui-metrics indicators` on a hand-made store.

OG 010000099 « Association Œuvre d’Avenir », order CMD-R-1, VA month 04/2025, window
02/2025–04/2025 (3 months, the référentiel's default):
- E_READY 010000016: every criterion ok.
    02/2025: 40 accompanied, 30 active, 12 with PP, 27 with event, 20 INS, 100 DMP, 3 MSS
    03/2025: 40, 32, 16, 30, 22 INS, 234 DMP, 0 MSS
    04/2025: 50, 40, 20, 30, 25 INS, 1 000 DMP, 2 MSS
    → INS 25 (stock, 04/2025); DMP 100 + 234 + 1 000 = 1 334; MSS 3 + 0 + 2 = 5;
      taux actifs 40/50 = 80,0 %; avec PP 20/40 = 50,0 %; avec événement 30/40 = 75,0 %.
- E_ZERO 010000024: no data in 02/2025 (missing month); DMP 0 in 03 and 04 → « zéro »,
    « 0 document DMP sur 02/2025–04/2025 »; the rest ok in 04/2025 (10, 8, 4, 6, 5 INS, 1 MSS).
- E_NONE 130000029: no deployment date, no usage data → every criterion « manquant ».
The order is blocked by 2 ESMS out of 3. The OG's other order CMD-R-2 holds 130000011;
OG 750001000 holds 690000013 and order CMD-X-9.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from dui_metrics import cli, evidence

OG, OTHER_OG = "010000099", "750001000"
E_READY, E_ZERO, E_NONE, E_OTHER = "010000016", "010000024", "130000029", "690000013"
STEM = "preuves-VA_010000099_CMD-R-1_2025-04"
WINDOW = "02/2025–04/2025"
NNBSP = "\u202f"

REFERENCE = """\
finess_et;finess_ej;raison_sociale;og_nom;commande;editeur;date_deploiement
010000016;010000099;EHPAD Prêt;Association Œuvre d’Avenir;CMD-R-1;Éditeur A;15/01/2025
010000024;010000099;EHPAD Zéro;Association Œuvre d’Avenir;CMD-R-1;Éditeur A;01/03/2025
130000029;010000099;IME Sans données;Association Œuvre d’Avenir;CMD-R-1;Éditeur A;
690000013;750001000;MAS Autre;Autre OG;CMD-X-9;Éditeur B;
130000011;010000099;SAMSAH Autre commande;Association Œuvre d’Avenir;CMD-R-2;Éditeur A;
"""
COLUMNS = (
    "personnes_accompagnees",
    "dossiers_actifs",
    "dossiers_actifs_avec_pp",
    "dossiers_actifs_avec_evenement",
    "ins_qualifiees",
    "dmp_documents_envoyes",
    "mss_messages_envoyes",
)
WIDE = {
    (E_READY, "2025-02"): (40, 30, 12, 27, 20, 100, 3),
    (E_READY, "2025-03"): (40, 32, 16, 30, 22, 234, 0),
    (E_READY, "2025-04"): (50, 40, 20, 30, 25, 1000, 2),
    (E_ZERO, "2025-03"): (10, 8, 4, 6, 5, 0, 1),
    (E_ZERO, "2025-04"): (10, 8, 4, 6, 5, 0, 1),
}
USAGE = (
    "finess_et;periode;"
    + ";".join(COLUMNS)
    + "\n"
    + "".join(f"{f};{m};" + ";".join(map(str, values)) + "\n" for (f, m), values in WIDE.items())
)


@pytest.fixture
def pack_store(store_from) -> Path:
    return store_from(REFERENCE, USAGE)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def va_json(capsys, store: Path) -> dict[tuple[str, str], dict]:
    code, out, _ = run_cli(
        capsys, "va", "--store", str(store), "--og", OG, "--commande", "CMD-R-1", "--au",
        "2025-04", "--format", "json",
    )  # fmt: skip
    assert code == 0
    return {(c["finess_et"], c["critere"]): c for c in json.loads(out)}


def indicators_json(capsys, store: Path) -> dict[tuple[str, str, str], dict]:
    args = ["indicators", "--store", str(store), "--du", "2025-02", "--au", "2025-04"]
    for f in (E_READY, E_ZERO, E_NONE):
        args += ["--finess-et", f]
    code, out, _ = run_cli(capsys, *args, "--format", "json")
    assert code == 0
    return {(r["finess_et"], r["periode"], r["indicateur"]): r for r in json.loads(out)}


@pytest.fixture
def pack_files(pack_store: Path, tmp_path: Path, capsys) -> tuple[Path, Path]:
    folder = tmp_path / "preuves"
    code, out, err = run_cli(
        capsys, "preuves", "--store", str(pack_store), "--og", OG, "--commande", "CMD-R-1",
        "--au", "2025-04", "--sortie", str(folder),
    )  # fmt: skip
    assert code == 0, err
    return folder / f"{STEM}.xlsx", folder / f"{STEM}.pdf"


def test_the_command_writes_one_workbook_and_one_pdf_named_after_og_order_month(
    pack_files, capsys
) -> None:
    xlsx, pdf = pack_files
    assert sorted(p.name for p in xlsx.parent.iterdir()) == [f"{STEM}.pdf", f"{STEM}.xlsx"]
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert openpyxl.load_workbook(xlsx).sheetnames == [
        "Synthèse",
        "Déployé",
        "INS",
        "DMP",
        "MSSanté",
        "Dossiers actifs",
        "Avec projet perso.",
        "Avec événement",
        "Sources",
        "Définitions",
    ]


def rows_of(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_summary_sheet_statuses_verdicts_and_gaps_equal_the_va_command(
    pack_store, pack_files, capsys
) -> None:
    checks = va_json(capsys, pack_store)
    sheet = openpyxl.load_workbook(pack_files[0])["Synthèse"]
    rows = rows_of(sheet)
    assert rows[0] == [
        "FINESS ET", "Établissement", "Bon de commande", "Déployé", "INS", "DMP", "MSSanté",
        "Dossiers actifs", "Avec projet perso.", "Avec événement", "VA",
        "Écarts à combler",
    ]  # fmt: skip
    ok7 = ["ok"] * 7
    assert [r[:11] for r in rows[1:]] == [
        [E_READY, "EHPAD Prêt", "CMD-R-1", *ok7, "prêt"],
        [E_ZERO, "EHPAD Zéro", "CMD-R-1", "ok", "ok", "zéro", "ok", "ok", "ok", "ok", "bloqué"],
        [E_NONE, "IME Sans données", "CMD-R-1", *(["manquant"] * 7), "bloqué"],
    ]
    words = {"ok": "ok", "zero": "zéro", "manquant": "manquant"}
    criteria = rows[0][3:10]
    codes = ["deploye", "ins", "dmp", "mss", "taux_dossiers_actifs",
             "taux_dossiers_actifs_avec_pp", "taux_dossiers_actifs_avec_evenement"]  # fmt: skip
    assert len(criteria) == len(codes)
    for row in rows[1:]:
        for header, code, shown in zip(criteria, codes, row[3:10], strict=True):
            assert shown == words[checks[(row[0], code)]["statut"]], (row[0], header)
    # The gap in words is the va command's detail of each criterion not ok.
    assert rows[1][11] == "aucun écart"
    assert rows[2][11] == f"DMP : {checks[(E_ZERO, 'dmp')]['detail']}"
    assert rows[2][11] == f"DMP : 0 document DMP sur {WINDOW}"
    assert rows[3][11].startswith("Déployé : ni date de déploiement ni donnée d'usage")
    # Statuses are also a fill colour; the header row is frozen.
    assert sheet["F3"].value == "zéro" and sheet["F3"].fill.start_color.rgb.endswith("FFC7CE")
    assert sheet["D2"].fill.start_color.rgb.endswith("C6EFCE")
    assert sheet["K4"].fill.start_color.rgb.endswith("FFC7CE")
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 30


def test_criterion_sheets_hold_every_window_month_with_the_indicators_numbers(
    pack_store, pack_files, capsys
) -> None:
    values = indicators_json(capsys, pack_store)
    checks = va_json(capsys, pack_store)
    book = openpyxl.load_workbook(pack_files[0])
    for sheet_name, code, criterion in (
        ("INS", "ins_qualifiees", "ins"),
        ("DMP", "dmp_documents_envoyes", "dmp"),
        ("MSSanté", "mss_messages_envoyes", "mss"),
        ("Dossiers actifs", "taux_dossiers_actifs", "taux_dossiers_actifs"),
        ("Avec projet perso.", "taux_dossiers_actifs_avec_pp", "taux_dossiers_actifs_avec_pp"),
        ("Avec événement", "taux_dossiers_actifs_avec_evenement", "taux_dossiers_actifs_avec_evenement"),
    ):  # fmt: skip
        sheet = book[sheet_name]
        assert sheet.freeze_panes == "A2"
        rows = list(sheet.iter_rows(min_row=2))
        # 3 ESMS × 3 months, every month of the window, missing ones included
        assert len(rows) == 9
        for row in rows:
            finess, month = row[0].value, row[2].value
            assert row[2].number_format == "mm/yyyy"
            key = (finess, month.strftime("%Y-%m"), code)
            expected = values.get(key)
            if expected is None:
                assert row[3].value == "manquant" and row[4].value is None, key
                assert row[7].value == "aucune donnée"
            else:
                assert row[3].value == "reçu"
                assert row[4].value == pytest.approx(expected["valeur"]), key
                assert row[4].data_type == "n"
                assert row[5].value == expected["numerateur"]
                assert row[6].value == expected["denominateur"]
                assert row[7].value.startswith("usage.csv (importé le ")
            assert row[9].value == checks[(finess, criterion)]["detail"]
    # By hand: E_READY DMP months 100, 234, 1 000; the criterion: 1 334 over the window.
    dmp = {(r[0], r[2].strftime("%Y-%m")): r[4] for r in rows_of(book["DMP"])[1:]}
    assert [dmp[(E_READY, m)] for m in ("2025-02", "2025-03", "2025-04")] == [100, 234, 1000]
    assert [dmp[(E_ZERO, m)] for m in ("2025-02", "2025-03", "2025-04")] == [None, 0, 0]
    assert rows_of(book["DMP"])[1][9] == f"1{NNBSP}334 documents DMP sur {WINDOW}"
    active = {(r[0], r[2].strftime("%Y-%m")): r[4:7] for r in rows_of(book["Dossiers actifs"])[1:]}
    assert active[(E_READY, "2025-04")] == [pytest.approx(0.8), 40, 50]
    assert book["Dossiers actifs"]["E2"].number_format == "0.0%"


def test_sources_sheet_lists_the_files_with_their_sha256(pack_store, pack_files, tmp_path) -> None:
    book = openpyxl.load_workbook(pack_files[0])
    rows = rows_of(book["Sources"])
    assert rows[0] == [
        "Fichier",
        "SHA-256",
        "Type",
        "Importé le",
        "Lignes chargées",
        "Lignes utilisées dans ce dossier",
    ]
    digests = {
        name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        for name in ("ref.csv", "usage.csv")
    }
    # ref.csv: 5 rows, 3 of this order; usage.csv: 5 wide rows × 7 counts = 35 loaded, all used.
    assert [(r[0], r[1], r[4], r[5]) for r in rows[1:]] == [
        ("ref.csv", digests["ref.csv"], 5, 3),
        ("usage.csv", digests["usage.csv"], 35, 35),
    ]
    definitions = dict(rows_of(book["Définitions"])[1:])
    assert definitions["Organisme gestionnaire"] == "Association Œuvre d’Avenir"
    assert definitions["Bon de commande"] == "CMD-R-1"
    assert definitions["Fenêtre de la VA"] == WINDOW
    assert definitions["Verdict"] == "bloqué par 2 ESMS sur 3"
    assert definitions["Référentiel"] == "2026.11-v1"
    assert definitions["Empreinte du magasin (SHA-256)"] == expected_fingerprint()


def expected_fingerprint() -> str:
    """The fingerprint written by hand from the input rows, following FINGERPRINT_RULE."""
    lines = ["referentiel;2026.11-v1"]
    lines += [
        f"E;{E_READY};{OG};EHPAD Prêt;CMD-R-1;2025-01-15",
        f"E;{E_ZERO};{OG};EHPAD Zéro;CMD-R-1;2025-03-01",
        f"E;{E_NONE};{OG};IME Sans données;CMD-R-1;",
    ]
    usage = sorted(
        (f, m, code, value)
        for (f, m), values in WIDE.items()
        for code, value in zip(COLUMNS, values, strict=True)
    )
    lines += [f"U;{f};{m};{code};{value}" for f, m, code, value in usage]
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


def pdf_text(path: Path) -> tuple[PdfReader, str]:
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, text


def flat(text: str) -> str:
    """Text with every run of spaces and line breaks (wrapped cells) made one space; narrow
    no-break spaces are kept."""
    return re.sub(r"[ \t\r\n]+", " ", text)


def test_pdf_text_holds_the_attestation_every_detail_and_the_sources(
    pack_store, pack_files, capsys, tmp_path
) -> None:
    checks = va_json(capsys, pack_store)
    reader, text = pdf_text(pack_files[1])
    # A4 portrait: 210 × 297 mm = 595.28 × 841.89 pt
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.1)
        assert float(page.mediabox.height) == pytest.approx(841.89, abs=0.1)
    # attestation, 3 ESMS pages, definitions and sources
    assert len(reader.pages) >= 5
    first = flat(reader.pages[0].extract_text())
    for expected in (
        "Vérification d’aptitude – dossier de preuves",
        "Association Œuvre d’Avenir",
        OG,
        "CMD-R-1",
        "04/2025",
        WINDOW,
        "Verdict : bloqué par 2 ESMS sur 3",
        "Nom et fonction du directeur ou de la directrice",
        "Date",
        "Signature",
    ):
        assert expected in first, expected
    # the table ESMS × criterion: E_ZERO's row reads ok ok zéro ok ok ok ok bloqué
    assert f"{E_ZERO} EHPAD Zéro ok ok zéro ok ok ok ok bloqué" in first
    assert f"{E_NONE} IME Sans données" + " manquant" * 7 + " bloqué" in first
    assert f"{E_READY} EHPAD Prêt" + " ok" * 7 + " prêt" in first
    # every check's detail, as `dui-metrics va` words it (typographic apostrophe in the PDF)
    body = flat(text)
    for (finess, criterion), check in checks.items():
        if criterion == "va":
            continue
        assert flat(check["detail"].replace("'", "’")) in body, (finess, criterion)
    assert f"1{NNBSP}334 documents DMP sur {WINDOW}" in body
    assert f"80,0{NNBSP}% en 04/2025 (40 / 50)" in body
    # the charts' captions: the latest month's value as text
    assert f"04/2025 : 80,0{NNBSP}%" in body
    assert "04/2025 : 1\u202f000" in body  # DMP documents of E_READY in 04/2025
    assert "aucune donnée sur ces 12 mois" in body  # E_NONE
    # definitions, fingerprint and the source files with their SHA-256
    assert "Référentiel 2026.11-v1" in body
    assert expected_fingerprint() in body
    for name in ("ref.csv", "usage.csv"):
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() in body
    assert "dui-metrics preuves --og 010000099 --commande CMD-R-1 --au 2025-04" in body
    # French typography survives the font: narrow no-break space, œ, ’, –
    for character in (NNBSP, "Œ", "’", "–"):
        assert character in text


def test_same_store_and_arguments_give_the_same_numbers(pack_store, tmp_path, capsys) -> None:
    texts, sheets = [], []
    for run in ("a", "b"):
        code, _, err = run_cli(
            capsys, "preuves", "--store", str(pack_store), "--og", OG, "--commande", "CMD-R-1",
            "--au", "2025-04", "--sortie", str(tmp_path / run),
        )  # fmt: skip
        assert code == 0, err
        _, text = pdf_text(tmp_path / run / f"{STEM}.pdf")
        texts.append(re.sub(r"Généré le.*", "", text))
        book = openpyxl.load_workbook(tmp_path / run / f"{STEM}.xlsx")
        sheets.append(
            {ws.title: [r for r in rows_of(ws) if r[0] != "Généré le"] for ws in book.worksheets}
        )
    assert texts[0] == texts[1]
    assert sheets[0] == sheets[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--og", OG, "--finess-et", E_OTHER], "n'est pas un établissement", id="esms-other-og"
        ),
        pytest.param(
            ["--og", OG, "--commande", "CMD-X-9"], "n'est pas un bon de commande", id="order-other-og"
        ),
        pytest.param(["--og", OG, "--commande", "CMD-NONE"], "bon de commande inconnu", id="unknown-order"),
        pytest.param(["--og", "999999999"], "organisme gestionnaire inconnu", id="unknown-og"),
        pytest.param(
            ["--og", OG, "--commande", "CMD-R-1", "--finess-et", "130000011"],
            "n'est pas dans le bon de commande CMD-R-1",
            id="esms-other-order",
        ),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_and_write_nothing(pack_store, tmp_path, capsys, args, message) -> None:
    folder = tmp_path / "preuves"
    code, out, err = run_cli(
        capsys, "preuves", "--store", str(pack_store), *args, "--au", "2025-04",
        "--sortie", str(folder),
    )  # fmt: skip
    assert code == 2
    assert message in err
    assert not folder.exists()


def test_month_defaults_to_the_latest_and_esms_subset_is_kept(pack_store, tmp_path, capsys) -> None:
    folder = tmp_path / "out"
    code, out, err = run_cli(
        capsys, "preuves", "--store", str(pack_store), "--og", OG, "--finess-et", E_READY,
        "--sortie", str(folder),
    )  # fmt: skip
    assert code == 0, err
    # latest month of the store: 04/2025; no order given: no order in the name
    assert sorted(p.name for p in folder.iterdir()) == [
        "preuves-VA_010000099_2025-04.pdf",
        "preuves-VA_010000099_2025-04.xlsx",
    ]
    rows = rows_of(openpyxl.load_workbook(folder / "preuves-VA_010000099_2025-04.xlsx")["Synthèse"])
    assert [r[0] for r in rows[1:]] == [E_READY]
    _, text = pdf_text(folder / "preuves-VA_010000099_2025-04.pdf")
    assert "Verdict : prêt pour la VA : les 1 ESMS remplissent tous les critères" in flat(text)
    assert "tous les bons de commande" in flat(text)


HOSTILE = {
    '=HYPERLINK("http://example.invalid","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
}


def test_pack_workbook_never_holds_a_formula(store_from, tmp_path, capsys) -> None:
    reference = (
        "finess_et;finess_ej;raison_sociale;og_nom;commande\n"
        '010000016;010000099;"=HYPERLINK(""http://example.invalid"",""x"")";"@SUM(1+1)";"-2+3"\n'
        "010000024;010000099;+cmd|' /C calc'!A0;@SUM(1+1);-2+3\n"
    )
    store = store_from(reference, USAGE)
    code, _, err = run_cli(
        capsys, "preuves", "--store", str(store), "--og", OG, "--commande=-2+3",
        "--sortie", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0, err
    [xlsx] = (tmp_path / "out").glob("*.xlsx")
    assert xlsx.name == "preuves-VA_010000099_2-3_2025-04.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes()))
    seen = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[1:] in HOSTILE:
                    assert cell.value.startswith("'")
                    seen.add(cell.value[1:])
    assert seen == HOSTILE


def test_pack_of_a_library_call_equals_the_files(pack_store) -> None:
    """The page's downloads use `evidence.build_pack` + the two renderers: same stem."""
    from dui_metrics import referentiel
    from dui_metrics.store import Store

    with Store(pack_store, read_only=True) as store:
        pack = evidence.build_pack(store, referentiel.default(), OG, "CMD-R-1")
    assert pack.file_stem == STEM
    assert pack.blocking == [E_ZERO, E_NONE]
    assert pack.au.isoformat() == "2025-04-01"


@pytest.mark.parametrize(
    ("size_kb", "read_only", "message"),
    [
        # the workbook (~10 KB) fits in 40 KB, the PDF (~60 KB, fonts embedded) does not
        pytest.param(40, False, "disque plein : plus de place dans", id="disk-full"),
        pytest.param(1_000, True, "dossier protégé en écriture :", id="read-only"),
    ],
)
def test_a_pack_that_cannot_be_written_is_exit_3_and_leaves_nothing(
    pack_store, tmp_path, capsys, size_kb, read_only, message
) -> None:
    from test_store_faults import remount_read_only, tmpfs

    with tmpfs(tmp_path / "mnt", size_kb) as folder:
        (folder / "preuves").mkdir()
        if read_only:
            remount_read_only(folder)
        code, out, err = run_cli(
            capsys, "preuves", "--store", str(pack_store), "--og", OG, "--au", "2025-04",
            "--sortie", str(folder / "preuves"),
        )  # fmt: skip
        assert code == 3, err
        assert message in err
        assert "aucun fichier du dossier de preuves n'a été écrit" in err
        assert "Traceback" not in err and out == ""
        assert list((folder / "preuves").iterdir()) == []


def test_og_page_offers_the_pack_for_the_chosen_og_and_order(
    pack_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    monkeypatch.setenv("DUI_METRICS_STORE", str(pack_store))
    at = AppTest.from_file(app, default_timeout=60).run()
    at = at.switch_page("pages/organisme_gestionnaire.py").run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "📄 PDF à signer" not in labels  # « Tous les organismes »: no pack
    assert any("Choisissez un organisme gestionnaire" in c.value for c in at.caption)
    at = at.selectbox(key="og").set_value(OG).run()
    at = at.selectbox(key="commande").set_value("CMD-R-1").run()
    assert not at.exception
    pack = [b.proto for b in at.get("download_button") if b.proto.label.startswith("📄")]
    assert [p.label for p in pack] == ["📄 PDF à signer"]
    assert pack[0].deferred_file_id  # built on the server when clicked
    labels = [b.proto.label for b in at.get("download_button")]
    assert "⬇️ Classeur XLSX" in labels
    caption = next(c.value for c in at.caption if "bon de commande CMD" in c.value)
    assert f"fenêtre {WINDOW}" in caption
