"""Bad-input corpus, through the real console script `dui-metrics ingest`.

Each bad file is given in the same command as a valid file (``ok.csv``), on a store that already
holds data. For every case: exit code 1, the exact French problem line (file, line and column
where they make sense), no traceback, the valid file loaded, and the store otherwise untouched:
``dui-metrics indicators`` prints exactly what the store prints after loading ``ok.csv`` alone,
and ``dui-metrics historique`` keeps its earlier lines byte for byte, plus one line for ok.csv.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
TODAY = "2025-06-15"  # current month 06/2025: 07/2025 is in the future

E1 = "690000013"  # Rhône, Luhn key OK: the ESMS of the bad files
E2 = "010780914"  # Ain, Luhn key OK: the ESMS of ok.csv
LONG = "finess_et;periode;indicateur;valeur\n"
BASELINE = LONG + f"{E1};2025-04;personnes_accompagnees;40\n{E1};2025-04;dossiers_actifs;30\n"
OK = LONG + f"{E2};2025-05;ins_qualifiees;7\n"
KNOWN_COUNTS = (
    "personnes_accompagnees, dossiers_actifs, dossiers_actifs_avec_pp, "
    "dossiers_actifs_avec_evenement, ins_qualifiees, dmp_documents_envoyes, "
    "mss_messages_envoyes, mss_messages_recus"
)


def _env(env: dict | None) -> dict:
    full_env = {**os.environ, "DUI_METRICS_TODAY": TODAY}
    for name in ("DUI_METRICS_STORE", "DUI_METRICS_MAX_FILE_MB"):
        full_env.pop(name, None)
    return {**full_env, **(env or {})}


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=_env(env), capture_output=True, text=True, timeout=120
    )


def outputs(folder: Path) -> tuple[str, str]:
    """What the store shows: `indicators` and `historique` outputs (run side by side: both
    only read the store)."""
    commands = [[SCRIPT, name, "--store", "store.duckdb"] for name in ("indicators", "historique")]
    procs = [
        subprocess.Popen(c, cwd=folder, env=_env(None), stdout=subprocess.PIPE, text=True)
        for c in commands
    ]
    texts = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    return texts[0], texts[1]


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> dict:
    """A store holding BASELINE, its outputs, and the indicators once ok.csv is added."""
    folder = tmp_path_factory.mktemp("baseline")
    (folder / "baseline.csv").write_text(BASELINE, encoding="utf-8")
    (folder / "ok.csv").write_text(OK, encoding="utf-8")
    assert run("ingest", "--store", "store.duckdb", "baseline.csv", cwd=folder).returncode == 0
    shutil.copyfile(folder / "store.duckdb", folder / "baseline.duckdb")
    before = outputs(folder)
    assert run("ingest", "--store", "store.duckdb", "ok.csv", cwd=folder).returncode == 0
    after_ok, _ = outputs(folder)
    assert after_ok != before[0]
    return {"store": folder / "baseline.duckdb", "before": before, "after_ok": after_ok}


# --- builders: each writes one bad file at `path` --------------------------------------------
def text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def xlsx(*sheets: tuple[str, list[list]], merge: str = "") -> Callable[[Path], None]:
    """A workbook with these (title, rows) sheets; ``merge``: a range merged on the first one."""

    def write(path: Path) -> None:
        workbook = openpyxl.Workbook()
        workbook.remove(workbook.active)
        for title, rows in sheets:
            sheet = workbook.create_sheet(title)
            for row in rows:
                sheet.append(row)
        if merge:
            workbook.worksheets[0].merge_cells(merge)
        workbook.save(path)

    return write


def parquet(columns: dict[str, list]) -> Callable[[Path], None]:
    return lambda path: pq.write_table(pa.table(columns), path)


def bigger_than(size: int) -> Callable[[Path], None]:
    """A valid usage CSV of more than ``size`` bytes: only its size is wrong."""
    rows = "".join(f"{E1};2025-{m:02d};ins_qualifiees;5\n" for m in range(1, 6))
    assert len(LONG + rows) > size
    return text(LONG + rows)


HEADER = ["finess_et", "periode", "indicateur", "valeur"]
ROW = [E1, "2025-05", "ins_qualifiees", 5]
ROW_TEXT = f"{E1};2025-05;ins_qualifiees;5\n"  # 35 bytes
FORMATS = "formats acceptés AAAA-MM, MM/AAAA, MM-AAAA, AAAA/MM, AAAA-MM-JJ, JJ/MM/AAAA, mars-25, mars 2025"
# A PNG image named .csv: bytes 1-8 are \x89 P N G \r \n \x1a \n (two line ends), so its first
# NUL byte is byte 9, on line 3.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(20251125).randbytes(2048)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # what an encrypted .xlsx (or a .xls) starts with
REFUSED_SIZE = "la limite est de 0,0001 Mo par fichier (option --taille-max ou variable " + (
    "DUI_METRICS_MAX_FILE_MB)"
)
FIX_QUOTE = '(doublez un guillemet dans une valeur : "")'
# Personal data in the bad files: never printed back (issue 12, item 5).
NIR = "1 40 02 75 123 456 78"  # a NIR as written by hand: 15 digits in groups
EMAIL = "jeanne.dupont@example.org"
PERSONAL_TAIL = (
    " : dui-metrics ne garde aucune donnée identifiante ; retirez-la du fichier (la valeur "
    "n'est pas reprise ici)"
)


def zip_of_a_csv(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("usages.csv", LONG + ROW_TEXT)


def far_cell(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Feuil1"
    for row in (HEADER, ROW):
        sheet.append(row)
    sheet["XFD1048576"] = 1
    workbook.save(path)


def xlsx_bytes_named_csv(path: Path) -> None:
    xlsx(("Feuil1", [HEADER, ROW]))(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)


def xlsx_bomb(path: Path) -> None:
    """An .xlsx whose members declare 8 + 300,000 = 300,008 bytes once unpacked (a sheet of
    spaces: a few hundred bytes compressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 300_000)


RECORDS_HEADER = "finess_et;dossier_id;date_entree;date_sortie;ins_statut;date_statut_ins"


def tddui_with_a_dangling_reference(path: Path) -> None:
    """The official TDDUI bundle whose séjour points to an Organization not in the bundle."""
    import json

    bundle = json.loads(
        (Path(__file__).parent / "data" / "tddui" / "Bundle-tddui-bundle-example.json").read_text(
            encoding="utf-8"
        )
    )
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == "tddui-encounter-sejour-example":
            entry["resource"]["serviceProvider"] = {"reference": "Organization/absente"}
    path.write_text(json.dumps(bundle), encoding="utf-8")


def case(name, write, expected, args=(), env=None, *, id):  # noqa: A002 - as pytest.param
    """One bad input: file name, builder, expected problem lines, CLI arguments, environment."""
    return pytest.param(name, write, expected, list(args), env or {}, id=id)


CASES = [
    # --- empty or cut files
    case("vide.csv", raw(b""), ["vide.csv : fichier vide"], id="empty-0-bytes"),
    case("blanc.csv", text(" \n\n;;;\n"), ["blanc.csv : fichier vide"], id="blank-lines"),
    case(
        "entete.csv",
        text(LONG),
        ["entete.csv : aucune ligne de données sous l'en-tête"],
        id="header-only",
    ),
    case(
        "entete.xlsx",
        xlsx(("Feuil1", [HEADER])),
        ["entete.xlsx : aucune ligne de données sous l'en-tête"],
        id="xlsx-header-only",
    ),
    case(
        "tronque.csv",
        text(LONG + ROW_TEXT + f"{E1};2025-0"),  # the export stopped in the middle of line 3
        [
            "tronque.csv, ligne 3 : 2 champs au lieu de 4 (ligne tronquée ou séparateur autre "
            "que « ; » ?)"
        ],
        id="truncated-last-line",
    ),
    # --- not text, wrong encoding
    case(
        "image.csv",
        raw(PNG),
        [
            "image.csv, ligne 3 : octet nul (0x00, octet 9) : fichier binaire ou abîmé, ce n'est "
            "pas un CSV lisible"
        ],
        id="binary-junk-named-csv",
    ),
    case(
        "nul.csv",
        # 36 (header) + 35 (line 2) + 27 ("690000013;2025-05;dossiers_") bytes before the NUL
        text(LONG + ROW_TEXT + f"{E1};2025-05;dossiers_\x00actifs;3\n"),
        [
            "nul.csv, ligne 3 : octet nul (0x00, octet 99) : fichier binaire ou abîmé, ce n'est "
            "pas un CSV lisible"
        ],
        id="nul-byte-in-the-middle",
    ),
    case(
        "bom.csv",
        # "FINESS ET;P" is 11 bytes after the 3-byte BOM: "é" (0xE9 in Windows-1252) is byte 15
        lambda path: path.write_bytes(
            b"\xef\xbb\xbf" + ("FINESS ET;Période;Indicateur;Valeur\n" + ROW_TEXT).encode("cp1252")
        ),
        [
            "bom.csv, ligne 1 : le fichier s'annonce en UTF-8 (BOM) mais contient des octets "
            "invalides en UTF-8 (octet 15) : réenregistrez-le en UTF-8"
        ],
        id="windows-1252-with-utf8-bom",
    ),
    case(
        "usages.txt",
        text(LONG + ROW_TEXT, encoding="utf-16"),
        [
            "usages.txt : fichier texte en UTF-16 (« Texte Unicode » d'Excel) : réenregistrez-le "
            "en UTF-8 (dans Excel : « CSV UTF-8 »)"
        ],
        id="utf16-txt",
    ),
    case(
        "usages.txt",
        text(LONG + ROW_TEXT, encoding="utf-16-le"),
        [
            "usages.txt : fichier texte en UTF-16 (« Texte Unicode » d'Excel) : réenregistrez-le "
            "en UTF-8 (dans Excel : « CSV UTF-8 »)"
        ],
        id="utf16-without-bom",
    ),
    case(
        "classeur.csv",
        xlsx_bytes_named_csv,
        ["classeur.csv : classeur Excel (.xlsx) ou archive zip renommé : ce n'est pas un CSV"],
        id="xlsx-named-csv",
    ),
    # --- CSV structure
    case(
        "separateurs.csv",
        text(LONG + ROW_TEXT + f"{E1},2025-05,dossiers_actifs,3\n"),
        [
            "separateurs.csv, ligne 3 : 1 champ au lieu de 4 (ligne tronquée ou séparateur autre "
            "que « ; » ?)"
        ],
        id="mixed-separators",
    ),
    case(
        "patients.xlsx",
        # Record-level rows with a person's birth date: refused on the header (domain.md §7)
        xlsx(("Feuil1", [[*HEADER, "Date de naissance"], [*ROW, "01/02/1940"]])),
        [
            "patients.xlsx, ligne 1, colonne Date de naissance : donnée identifiante (date de "
            "naissance) refusée : dui-metrics ne garde que des comptages agrégés, sans nom, date "
            "de naissance, adresse, e-mail, téléphone ni NIR / matricule INS ; retirez cette "
            "colonne de l'export"
        ],
        id="identifying-column",
    ),
    case(
        "courriels.csv",
        # "Courriel" → the word courriel: an e-mail address column (issue 12)
        text(LONG.rstrip("\n") + ";Courriel\n" + ROW_TEXT.rstrip("\n") + f";{EMAIL}\n"),
        [
            "courriels.csv, ligne 1, colonne Courriel : donnée identifiante (adresse e-mail) "
            "refusée : dui-metrics ne garde que des comptages agrégés, sans nom, date de "
            "naissance, adresse, e-mail, téléphone ni NIR / matricule INS ; retirez cette "
            "colonne de l'export"
        ],
        id="identifying-column-email",
    ),
    case(
        "large.csv",
        # wide file, "nir_usager" → nir + usager (issue 12: accepted with a warning before)
        text(f"finess_et;periode;ins_qualifiees;nir_usager\n{E1};2025-05;5;{NIR}\n"),
        [
            "large.csv, ligne 1, colonne nir_usager : donnée identifiante (NIR / matricule INS) "
            "refusée : dui-metrics ne garde que des comptages agrégés, sans nom, date de "
            "naissance, adresse, e-mail, téléphone ni NIR / matricule INS ; retirez cette "
            "colonne de l'export"
        ],
        id="identifying-column-nir-usager",
    ),
    case(
        "etab.csv",
        # a NIR typed in the OG's name, an e-mail address as the editor (line 3): the values
        # themselves never appear in the messages
        text(
            "FINESS ET;FINESS EJ;Raison sociale;Organisme gestionnaire;Éditeur\n"
            f"{E1};{E2};EHPAD A;{NIR};Logidom\n"
            f"690000021;{E2};EHPAD B;OG B;{EMAIL}\n"
        ),
        [
            "etab.csv, ligne 2, colonne Organisme gestionnaire : ressemble à un NIR (13 ou 15 "
            f"chiffres){PERSONAL_TAIL}",
            f"etab.csv, ligne 3, colonne Éditeur : ressemble à une adresse e-mail{PERSONAL_TAIL}",
        ],
        id="reference-values-like-nir-or-email",
    ),
    case(
        "champs.csv",
        text(LONG + f"{E1};2025-05;ins_qualifiees;5;voir mail du 3/06\n"),
        [
            "champs.csv, ligne 2 : 5 champs au lieu de 4 (séparateur « ; » dans une valeur non "
            "entourée de guillemets ?)"
        ],
        id="extra-field",
    ),
    case(
        "guillemet.csv",
        text(LONG + f'{E1};2025-05;"ins_qualifiees;5\n{E1};2025-05;dossiers_actifs;3\n'),
        [
            "guillemet.csv, ligne 2 : guillemet ouvert jamais refermé : tout le reste du fichier "
            f"serait une seule valeur {FIX_QUOTE}"
        ],
        id="unclosed-quote",
    ),
    case(
        "guillemet.csv",
        text(LONG + f'{E1};2025-05;"ins_qualifiees"s;5\n'),
        [
            "guillemet.csv, ligne 2 : guillemet mal placé : après un guillemet fermant, « ; » ou "
            f"une fin de ligne est attendu {FIX_QUOTE}"
        ],
        id="misplaced-quote",
    ),
    # --- columns
    case(
        "double.csv",
        text(
            f"FINESS ET;finess_et;periode;indicateur;valeur\n{E1};{E1};2025-05;ins_qualifiees;5\n"
        ),
        [
            "double.csv, ligne 1, colonne finess_et : colonne en double : « FINESS ET » et "
            "« finess_et » désignent toutes deux finess_et"
        ],
        id="two-headers-same-column",
    ),
    case(
        "contacts.csv",
        # (a « Nom », « Adresse » or « Téléphone » column would be refused as identifying data)
        text("Service;Commentaire;Horaires\nAccueil;RAS;9h-17h\n"),
        [
            "contacts.csv, ligne 1 : type de fichier non reconnu d'après ses colonnes "
            "(« Service », « Commentaire », « Horaires ») ; attendu : référentiel (finess_et, "
            "finess_ej, raison_sociale), usages au format long (finess_et, periode, indicateur, "
            "valeur) ou au format large (finess_et, periode, une colonne par comptage)"
        ],
        id="only-unknown-columns",
    ),
    case(
        "sans_valeur.csv",
        text(f"finess_et;periode;indicateur\n{E1};2025-05;ins_qualifiees\n"),
        ["sans_valeur.csv, ligne 1 : colonne obligatoire absente : valeur"],
        id="missing-required-column",
    ),
    case(
        "etab.csv",
        text(f"finess_et;finess_ej\n{E1};{E2}\n"),
        ["etab.csv, ligne 1 : colonne obligatoire absente : raison_sociale"],
        id="reference-without-raison-sociale",
    ),
    # --- values
    case(
        "doublon.csv",
        text(LONG + ROW_TEXT + f"{E1};05/2025;INS qualifiées;6\n"),
        [
            f"doublon.csv, ligne 3, colonne valeur : doublon : même ESMS ({E1}), mois (05/2025) "
            "et indicateur (ins_qualifiees) qu'à la ligne 2, avec une autre valeur (6 au lieu de 5)"
        ],
        id="duplicate-key",
    ),
    case(
        "negatif.csv",
        text(LONG + f"{E1};2025-05;ins_qualifiees;-3\n"),
        ["negatif.csv, ligne 2, colonne valeur : valeur négative (-3) pour ins_qualifiees"],
        id="negative",
    ),
    case(
        "decimal.csv",
        text(LONG + f"{E1};2025-05;ins_qualifiees;2,5\n"),
        [
            "decimal.csv, ligne 2, colonne valeur : valeur non entière (2,5) pour ins_qualifiees "
            ": un comptage est un nombre entier"
        ],
        id="non-integer",
    ),
    case(
        "enorme.csv",
        text(LONG + f"{E1};2025-05;mss_messages_envoyes;1000000000000000\n"),  # 10^15
        [
            "enorme.csv, ligne 2, colonne valeur : valeur hors limites (1000000000000000) pour "
            "mss_messages_envoyes"
        ],
        id="huge-value",
    ),
    case(
        "ratio.csv",
        # The store holds 40 personnes_accompagnees for E1 in 04/2025 (BASELINE).
        text(LONG + f"{E1};2025-04;dossiers_actifs;45\n"),
        [
            "ratio.csv, ligne 2, colonne valeur : « Dossiers actifs » (45) supérieur à "
            f"« Personnes accompagnées » (40) pour {E1} en 04/2025, « Personnes accompagnées » venant "
            "du magasin"
        ],
        id="numerator-above-denominator",
    ),
    case(
        "futur.csv",
        text(LONG + f"{E1};07/2025;ins_qualifiees;5\n"),
        [
            "futur.csv, ligne 2, colonne periode : mois 07/2025 postérieur au mois en cours "
            "(06/2025)"
        ],
        id="future-month",
    ),
    case(
        "mois.csv",
        text(LONG + f"{E1};13/2025;ins_qualifiees;5\n"),
        [f"mois.csv, ligne 2, colonne periode : période illisible « 13/2025 » : {FORMATS}"],
        id="month-13",
    ),
    case(
        "indicateur.csv",
        text(LONG + f"{E1};2025-05;Fax envoyés;5\n"),
        [
            "indicateur.csv, ligne 2, colonne indicateur : indicateur inconnu « Fax envoyés » ; "
            f"indicateurs connus : {KNOWN_COUNTS}"
        ],
        id="unknown-indicator",
    ),
    case(
        "lettres.csv",
        text(LONG + "69000A013;2025-05;ins_qualifiees;5\n"),
        [
            "lettres.csv, ligne 2, colonne finess_et : FINESS invalide « 69000A013 » : "
            "9 caractères attendus (9 lus), chiffres, 2A ou 2B pour la Corse"
        ],
        id="finess-with-letters",
    ),
    case(
        # 8 digits get their leading zero back (issue 15); 8 characters with a letter do not
        "huit.csv",
        text(LONG + "6900A001;2025-05;ins_qualifiees;5\n"),
        [
            "huit.csv, ligne 2, colonne finess_et : FINESS invalide « 6900A001 » : "
            "8 caractères dont au moins un n'est pas un chiffre ; un FINESS en compte 9 "
            "(chiffres, 2A ou 2B pour la Corse) : recopiez-le depuis le répertoire FINESS "
            "(finess.sante.gouv.fr)"
        ],
        id="finess-8-characters",
    ),
    case(
        # below a title, the header's own problems are said on the header's line (3)
        "titre-sans-periode.csv",
        text("Usages DUI mars 2025\n\nfiness_et;indicateur;valeur\n" + f"{E1};ins_qualifiees;4\n"),
        ["titre-sans-periode.csv, ligne 3 : colonne obligatoire absente : periode"],
        id="title-then-header-missing-a-column",
    ),
    case(
        # a title line without separators, then a header of no known column: the title is
        # read as the header
        "titre.csv",
        text("Usages DUI mars 2025\nÉtablissement;Mois;Nb INS\n" + f"{E1};2025-03;4\n"),
        [
            "titre.csv, ligne 2 : 3 champs au lieu de 1 (l'en-tête lu, ligne 1, n'a que 1 "
            "champ : l'en-tête est-il sur la ligne 1 ? Supprimez les lignes de titre au-dessus "
            "de l'en-tête)",
            "titre.csv, ligne 3 : 3 champs au lieu de 1 (l'en-tête lu, ligne 1, n'a que 1 "
            "champ : l'en-tête est-il sur la ligne 1 ? Supprimez les lignes de titre au-dessus "
            "de l'en-tête)",
        ],
        id="title-above-unknown-header",
    ),
    # --- XLSX
    case(
        "classeur.xlsx",
        xlsx(
            ("Janvier", [HEADER, ROW]), ("Février", [HEADER, [E1, "2025-02", "ins_qualifiees", 4]])
        ),
        [
            "classeur.xlsx : 2 feuilles contiennent des données (« Janvier », « Février ») : un "
            "classeur importé ne doit en avoir qu'une ; enregistrez chaque feuille dans son "
            "propre fichier ou supprimez les autres"
        ],
        id="xlsx-several-sheets-with-data",
    ),
    case(
        "fusion.xlsx",
        xlsx(("Feuil1", [["Usages DUI, mai 2025"], HEADER, ROW]), merge="A1:D1"),
        [
            "fusion.xlsx, ligne 1 : titre fusionné sur plusieurs cellules (A1:D1) au-dessus de "
            "l'en-tête : défusionnez ces cellules (ou supprimez la ligne de titre) avant l'import"
        ],
        id="xlsx-merged-title",
    ),
    case(
        "fusion-donnees.xlsx",
        xlsx(("Feuil1", [HEADER, ROW]), merge="C2:D2"),
        [
            "fusion-donnees.xlsx, ligne 2 : cellules fusionnées (C2:D2) : chaque valeur doit "
            "occuper sa propre cellule (un en-tête par colonne, sur une seule ligne) ; "
            "défusionnez-les avant l'import"
        ],
        id="xlsx-merged-data-cells",
    ),
    case(
        # one value in the last cell of a sheet: a reader holding the rectangle from A1 would
        # take 17 G cells (calamine aborts on the allocation)
        "loin.xlsx",
        far_cell,
        [
            "loin.xlsx : feuille « Feuil1 » : une cellule en colonne XFD et des lignes jusqu'à "
            "la 1\u202f048\u202f576e : la feuille couvrirait plus de 50\u202f000\u202f000 cellules "
            "; supprimez les lignes et les colonnes au-delà des données (une cellule vide mais "
            "mise en forme compte aussi), ou le fichier est abîmé"
        ],
        id="xlsx-far-cell",
    ),
    case(
        "formule.xlsx",
        # openpyxl writes formulas without their value, as a program that never computed them
        xlsx(("Feuil1", [HEADER, ROW, [E1, "2025-05", "dossiers_actifs", "=2+3"]])),
        [
            "formule.xlsx, ligne 3, colonne valeur : formule jamais calculée en D3 : le classeur "
            "n'en contient pas la valeur ; ouvrez-le dans Excel ou LibreOffice puis enregistrez-le"
        ],
        id="xlsx-formula-never-computed",
    ),
    case(
        "protege.xlsx",
        raw(OLE_MAGIC + random.Random(7).randbytes(4096)),
        [
            "protege.xlsx : classeur protégé par mot de passe ou au format .xls (Excel 97-2003) "
            "renommé : enregistrez-le sans mot de passe, au format .xlsx"
        ],
        id="xlsx-password-protected",
    ),
    case(
        "texte.xlsx",
        text(LONG + ROW_TEXT),
        [
            "texte.xlsx : ce n'est pas un classeur .xlsx (fichier d'un autre format renommé, par "
            "exemple un CSV ?)"
        ],
        id="csv-named-xlsx",
    ),
    case(
        # an OLE header and nothing else: not a readable Excel 97-2003 workbook
        "ancien.xls",
        raw(OLE_MAGIC + bytes(504)),
        [
            "ancien.xls : classeur illisible (fichier abîmé, protégé par mot de passe ou d'un "
            "autre format que .xls) : CalamineError"
        ],
        id="xls-damaged",
    ),
    case(
        "renomme.xls",
        text(LONG + ROW_TEXT),
        [
            "renomme.xls : ce n'est pas un classeur .xls (Excel 97-2003) : fichier renommé (un CSV ?)"
        ],
        id="csv-named-xls",
    ),
    # --- Parquet
    case(
        "types.parquet",
        parquet(
            {
                "finess_et": [E1, E1],
                "periode": [True, False],
                "indicateur": ["ins_qualifiees", "dossiers_actifs"],
                "valeur": ["abc", "5"],
            }
        ),
        [
            f"types.parquet, ligne 2, colonne periode : période illisible « VRAI » : {FORMATS}",
            "types.parquet, ligne 2, colonne valeur : valeur non numérique « abc » pour "
            "ins_qualifiees",
            f"types.parquet, ligne 3, colonne periode : période illisible « FAUX » : {FORMATS}",
        ],
        id="parquet-wrong-types",
    ),
    case(
        "abime.parquet",
        raw(b"PAR1" + bytes(64)),
        [
            "abime.parquet : fichier Parquet illisible (abîmé ou pas au format Parquet) : "
            "Parquet magic bytes not found in footer. Either the file is corrupted or this is "
            "not a parquet file."
        ],
        id="parquet-corrupt",
    ),
    # --- size limit, archives
    case(
        "gros.csv",
        bigger_than(105),  # 0,0001 Mo = 104,9 bytes; ok.csv (71 bytes) stays under the limit
        [f"gros.csv : fichier trop volumineux (211 octets) : {REFUSED_SIZE}"],
        ["--taille-max", "0,0001"],
        id="above-size-limit-option",
    ),
    case(
        "gros.csv",
        bigger_than(105),
        [f"gros.csv : fichier trop volumineux (211 octets) : {REFUSED_SIZE}"],
        [],
        {"DUI_METRICS_MAX_FILE_MB": "0.0001"},
        id="above-size-limit-environment",
    ),
    case(
        # Archives are refused unopened, so an archive bomb is never expanded.
        "usages.zip",
        zip_of_a_csv,
        [
            "usages.zip : archive .zip non acceptée : extrayez-en les fichiers et importez-les un "
            "par un (formats acceptés : CSV, XLSX, ODS, XLS, Parquet ; dossiers TDDUI en JSON ou "
            "NDJSON)"
        ],
        id="zip-archive",
    ),
    case(
        # --taille-max 0,01 Mo: an XLSX may unpack to 10 × 10 485,76 = 104 857,6 bytes.
        "bombe.xlsx",
        xlsx_bomb,
        [
            "bombe.xlsx : classeur refusé sans être ouvert : son contenu décompressé ferait "
            "300\u202f008 octets, plus de 10 fois la taille maximale d'un fichier (bombe de "
            "décompression ?) ; exportez les données en CSV"
        ],
        ["--taille-max", "0,01"],
        id="xlsx-decompression-bomb",
    ),
    # --- record-level files (issue 14): the DUI's pseudonymised records, TDDUI bundles
    case(
        "dossiers-statut.csv",
        text(f"{RECORDS_HEADER}\n{E1};D-1;01/02/2025;;douteuse;01/02/2025\n"),
        [
            "dossiers-statut.csv, ligne 2, colonne ins_statut : valeur inconnue « douteuse » ; "
            "attendues : provisoire, qualifiee, recuperee, validee"
        ],
        id="records-unknown-status",
    ),
    case(
        "dossiers-sortie.csv",
        text(f"{RECORDS_HEADER}\n{E1};D-1;01/02/2025;31/01/2025;;\n"),
        [
            "dossiers-sortie.csv, ligne 2, colonne date_sortie : sortie le 31/01/2025 avant "
            "l'entrée le 01/02/2025"
        ],
        id="records-exit-before-entry",
    ),
    case(
        "evenements.csv",
        text(f"finess_et;dossier_id;date_evenement\n{E1};D-9;03/02/2025\n"),
        [
            f"evenements.csv, ligne 2, colonne dossier_id : dossier inconnu dans l'ESMS {E1} : "
            "aucun séjour de ce dossier dans la table dossiers importée ; importez d'abord (ou "
            "dans la même commande) la table dossiers"
        ],
        id="records-event-of-an-unknown-dossier",
    ),
    case(
        "lot.json",
        text('{"resourceType": "Bundle", "entry": [\n  {"resource": {"id": "p1"}\n]}\n'),
        ["lot.json, ligne 3, colonne 1 : JSON illisible : « , » attendue"],
        id="tddui-malformed-json",
    ),
    case(
        "lots.ndjson",
        text('{"resourceType": "Bundle",\n'),
        [
            "lots.ndjson, ligne 1, colonne 27 : JSON illisible : nom de propriété entre guillemets "
            "attendu"
        ],
        id="tddui-malformed-ndjson-line",
    ),  # fmt: skip
    case(
        "autre.json",
        text(
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
            '{"resourceType": "Observation", "id": "o1"}}]}'
        ),
        [
            "autre.json, colonne Bundle : ce Bundle n'est pas un export TDDUI : aucune ressource "
            "n'a de profil « https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/… »"
        ],
        id="tddui-bundle-that-is-not-tddui",
    ),
    case(
        "reference.json",
        tddui_with_a_dangling_reference,
        [
            "reference.json, colonne Encounter/tddui-encounter-sejour-example : référence "
            "serviceProvider « Organization/absente » introuvable dans le bundle"
        ],
        id="tddui-reference-to-nothing",
    ),
]


@pytest.mark.parametrize(("name", "write", "expected", "args", "env"), CASES)
def test_bad_input_is_refused_with_its_reason_and_nothing_else_changes(
    tmp_path, states, name, write, expected, args, env
):
    shutil.copyfile(states["store"], tmp_path / "store.duckdb")
    (tmp_path / "ok.csv").write_text(OK, encoding="utf-8")
    write(tmp_path / name)
    out = run("ingest", "--store", "store.duckdb", name, "ok.csv", *args, cwd=tmp_path, env=env)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert NIR not in out.stderr + out.stdout and EMAIL not in out.stderr + out.stdout
    assert f"{name} : fichier refusé, {len(expected)} problème" in out.stderr
    for message in expected:
        assert f"\n  {message}\n" in out.stderr
    assert "ok.csv : 1 ligne chargée" in out.stdout
    indicators, history = outputs(tmp_path)
    assert indicators == states["after_ok"]
    before = states["before"][1].splitlines(keepends=True)
    lines = history.splitlines(keepends=True)
    assert lines[:-1] == before and len(lines) == len(before) + 1
    row = lines[-1].rstrip("\n").split(",")
    assert (row[1], row[3], row[5], row[6]) == ("ok.csv", "usages_long", "1", "0")


# --- the other side of the boundaries: these load ----------------------------------------
def test_the_one_sheet_holding_data_is_read_even_if_not_the_first(tmp_path):
    xlsx(("Feuil1", []), ("Données", [HEADER, ROW]))(tmp_path / "classeur.xlsx")
    out = run("ingest", "--store", "store.duckdb", "classeur.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "classeur.xlsx : 1 ligne chargée" in out.stdout
    indicators, _ = outputs(tmp_path)
    assert indicators.splitlines()[1:] == [f"{E1},2025-05,ins_qualifiees,5,,"]


def test_an_xlsx_unpacking_within_ten_times_the_size_limit_loads(tmp_path):
    path = tmp_path / "classeur.xlsx"
    xlsx(("Feuil1", [HEADER, ROW]))(path)
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    assert unpacked < 104_857  # the limit for --taille-max 0,01 (see xlsx-decompression-bomb)
    out = run(
        "ingest", "--store", "store.duckdb", "classeur.xlsx", "--taille-max", "0,01", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "classeur.xlsx : 1 ligne chargée" in out.stdout


def test_xlsx_formulas_are_read_through_their_cached_values(tmp_path):
    path = tmp_path / "formule.xlsx"
    xlsx(("Feuil1", [HEADER, [E1, "2025-05", "ins_qualifiees", "=2+3"]]))(path)
    # As Excel saves it: the formula with its computed value (openpyxl writes none).
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<f>2+3</f><v />" in members[sheet]
    members[sheet] = members[sheet].replace(b"<f>2+3</f><v />", b"<f>2+3</f><v>5</v>")
    with zipfile.ZipFile(path, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    out = run("ingest", "--store", "store.duckdb", "formule.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    indicators, _ = outputs(tmp_path)
    assert indicators.splitlines()[1:] == [f"{E1},2025-05,ins_qualifiees,5,,"]


def test_a_file_at_the_size_limit_loads(tmp_path):
    (tmp_path / "ok.csv").write_text(OK, encoding="utf-8")  # 71 bytes
    out = run(
        "ingest",
        "--store",
        "store.duckdb",
        "ok.csv",
        cwd=tmp_path,
        env={"DUI_METRICS_MAX_FILE_MB": str(71 / 1024 / 1024)},
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(
            ["--taille-max", "zéro"],
            {},
            "argument --taille-max: taille illisible « zéro » : nombre de Mo positif attendu",
            id="option",
        ),
        pytest.param(
            [],
            {"DUI_METRICS_MAX_FILE_MB": "-5"},
            "dui-metrics : erreur : DUI_METRICS_MAX_FILE_MB invalide « -5 » : nombre de Mo "
            "positif attendu",
            id="environment",
        ),
    ],
)
def test_a_bad_size_limit_is_a_usage_error_and_ingests_nothing(tmp_path, args, env, message):
    (tmp_path / "ok.csv").write_text(OK, encoding="utf-8")
    out = run("ingest", "--store", "store.duckdb", "ok.csv", *args, cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert message in out.stderr
    assert not (tmp_path / "store.duckdb").exists()  # nothing was written, not even a store
