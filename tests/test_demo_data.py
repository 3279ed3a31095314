"""Demo data: deterministic bytes, realistic shape, invariants and the VA blockers it promises.

The files are read back with pandas only (not with the project's ingesters) so that these tests
check the generator against the domain definitions, independently of the ingest code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dui_metrics import demo
from dui_metrics.demo import (
    BLOCKER_REASONS,
    DEMO_BLOCKERS,
    DEMO_GAP,
    DEMO_NUMERIC_FINESS_ET,
    write_demo_exports,
)

BASE = list(demo.BASE_COUNTS)
FIRST_MONTH = pd.Timestamp("2024-11-01")
LAST_MONTH = pd.Timestamp("2026-10-01")
WINDOW_START = pd.Timestamp("2026-08-01")
REGION_OF_DEPARTEMENT = {"01": "84", "69": "84", "06": "93", "13": "93", "33": "75", "59": "32"}
REGION_OF_DEPARTEMENT |= {"35": "53"}
REFERENCE_COLUMNS = {
    "FINESS ET": "finess_et",
    "FINESS EJ": "finess_ej",
    "Raison sociale": "raison_sociale",
    "Organisme gestionnaire": "og_nom",
    "Catégorie": "categorie",
    "Département": "departement",
    "Région": "region",
    "Éditeur": "editeur",
    "Logiciel": "logiciel",
    "Bon de commande": "commande",
    "Date de déploiement": "date_deploiement",
}


def _code_of_label() -> dict[str, str]:
    text = Path(demo.__file__).with_name("referentiel.toml").read_text(encoding="utf-8")
    return {i["libelle"]: i["code"] for i in tomllib.loads(text)["indicateurs"]}


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        d = int(char) * (2 if i % 2 == 1 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param("79927398713", True, id="textbook-luhn-example"),
        pytest.param("79927398710", False, id="wrong-check-digit"),
    ],
)
def test_luhn_helper_of_this_test(number: str, expected: bool) -> None:
    assert _luhn_ok(number) is expected


# --- reading the files back -------------------------------------------------------------------


def _read_reference(path: Path) -> pd.DataFrame:
    df = pd.read_excel(path, dtype=object, engine="calamine").rename(columns=REFERENCE_COLUMNS)
    # A FINESS cell the spreadsheet turned into a number is padded back to 9 digits.
    for column in ("finess_et", "finess_ej"):
        df[column] = df[column].map(lambda v: str(v).zfill(9))
    df["date_deploiement"] = pd.to_datetime(df["date_deploiement"])
    return df


def _read_logidom(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str)
    long = pd.DataFrame(
        {
            "finess_et": raw["FINESS ET"],
            "periode": pd.to_datetime(raw["Période"], format="%m/%Y"),
            "code": raw["Indicateur"].map(_code_of_label()),
            "valeur": pd.to_numeric(raw["Valeur"]),
        }
    )
    assert long["code"].notna().all(), "every indicator name is a référentiel label"
    wide = long.pivot(index=["finess_et", "periode"], columns="code", values="valeur")
    return wide.reset_index()


def _read_medisoc_csv(path: Path, sep: str, encoding: str, period_format: str) -> pd.DataFrame:
    raw = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, keep_default_na=False)
    raw = raw.rename(columns={"FINESS ET": "finess_et", "Période": "periode", **_code_of_label()})
    df = pd.DataFrame({"finess_et": raw["finess_et"]})
    df["periode"] = pd.to_datetime(raw["periode"], format=period_format)
    for code in BASE:
        df[code] = pd.to_numeric(raw[code].replace("", None))
    return df


def _read_usage_file(path: Path) -> pd.DataFrame:
    if path.name.startswith("logidom"):
        df = _read_logidom(path)
    elif path.suffix == ".parquet":
        df = pd.read_parquet(path)
        df["periode"] = pd.to_datetime(df["periode"])
    elif path.name == "medisoc_export_2024-11_2025-06.csv":
        df = _read_medisoc_csv(path, "\t", "utf-8-sig", "%Y-%m")
    else:
        df = _read_medisoc_csv(path, ";", "utf-8", "%d/%m/%Y")
    df["editeur"] = "Logidom" if path.name.startswith("logidom") else "Médisoc"
    df["fichier"] = path.name
    return df[["finess_et", "periode", *BASE, "editeur", "fichier"]]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo_exports(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def reference(demo_files: list[Path]) -> pd.DataFrame:
    return _read_reference(demo_files[0])


@pytest.fixture(scope="module")
def usage(demo_files: list[Path]) -> pd.DataFrame:
    frames = [_read_usage_file(p) for p in demo_files[1:]]
    return pd.concat(frames, ignore_index=True).sort_values(["finess_et", "periode"])


# --- determinism and files --------------------------------------------------------------------


def test_two_runs_write_identical_bytes(tmp_path: Path) -> None:
    first = write_demo_exports(tmp_path / "a")
    second = write_demo_exports(tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_rewrite_replaces_own_files_only(tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in write_demo_exports(tmp_path)}
    (tmp_path / "notes.txt").write_text("à garder")
    (tmp_path / demo.DEMO_FILES[1]).write_text("ancienne version")
    after = {p.name: p.read_bytes() for p in write_demo_exports(tmp_path)}
    assert after == before
    assert (tmp_path / "notes.txt").read_text() == "à garder"


def test_files_are_few_small_and_reference_first(demo_files: list[Path]) -> None:
    assert 6 <= len(demo_files) <= 10
    assert demo_files[0].name == "etablissements.xlsx"
    assert sum(p.stat().st_size for p in demo_files) < 1_000_000


def test_files_use_the_announced_formats(demo_files: list[Path]) -> None:
    by_name = {p.name: p.read_bytes() for p in demo_files}
    logidom = by_name["logidom_usages_2025.csv"]
    assert logidom.startswith("FINESS ET;Période;".encode("cp1252"))
    assert logidom.count(b"\r\n") == logidom.count(b"\n")
    tab = by_name["medisoc_export_2024-11_2025-06.csv"]
    assert tab.startswith(b"\xef\xbb\xbfFINESS ET\tP\xc3\xa9riode\t")
    semicolon = by_name["medisoc_export_2025-07_2025-12.csv"]
    assert semicolon.startswith(b"finess_et;periode;") and b"\r\n" not in semicolon
    schema = pq.read_schema(demo_files[-1])
    assert schema.field("finess_et").type == pa.string()
    assert schema.field("periode").type == pa.date32()
    assert all(schema.field(code).type == pa.int64() for code in BASE)


def test_workbook_has_fixed_properties_and_one_numeric_finess(demo_files: list[Path]) -> None:
    wb = openpyxl.load_workbook(demo_files[0])
    assert wb.properties.created == wb.properties.modified == dt.datetime(2026, 11, 2, 9, 0)
    ws = wb.worksheets[0]
    finess_cells = [row[0] for row in ws.iter_rows(min_row=2, max_col=1, values_only=True)]
    numeric = [v for v in finess_cells if isinstance(v, int)]
    # The only numeric cell is the département-01 FINESS that lost its leading zero.
    assert numeric == [int(DEMO_NUMERIC_FINESS_ET)]
    assert DEMO_NUMERIC_FINESS_ET.startswith("0")
    dates = [row[0] for row in ws.iter_rows(min_row=2, min_col=11, values_only=True)]
    assert all(isinstance(d, dt.datetime) for d in dates), "real Excel dates"


# --- shape of the data set --------------------------------------------------------------------


def test_reference_shape(reference: pd.DataFrame) -> None:
    assert len(reference) == 40
    assert reference["finess_et"].is_unique
    assert reference["finess_ej"].nunique() >= 3
    regions = reference["finess_et"].str[:2].map(REGION_OF_DEPARTEMENT)
    assert regions.notna().all() and regions.nunique() >= 3
    assert set(reference["editeur"]) == {"Logidom", "Médisoc"}
    assert reference["categorie"].nunique() >= 6
    # One order per OG and editor; the OG using both editors has two orders.
    orders = reference.groupby(["finess_ej", "editeur"])["commande"].nunique()
    assert (orders == 1).all()
    assert reference.groupby("finess_ej")["commande"].nunique().max() == 2
    assert reference["commande"].nunique() == len(orders)
    assert reference["region"].isna().any() and reference["region"].notna().any()


def test_every_finess_is_nine_digits_and_passes_luhn(
    reference: pd.DataFrame, usage: pd.DataFrame
) -> None:
    numbers = set(reference["finess_et"]) | set(reference["finess_ej"]) | set(usage["finess_et"])
    assert all(len(n) == 9 and n.isdigit() and _luhn_ok(n) for n in numbers), numbers
    assert not set(reference["finess_et"]) & set(reference["finess_ej"])


def test_usage_covers_24_months(usage: pd.DataFrame) -> None:
    months = sorted(usage["periode"].unique())
    assert len(months) == 24
    assert (months[0], months[-1]) == (FIRST_MONTH, LAST_MONTH)
    assert not usage.duplicated(["finess_et", "periode"]).any()


def test_usage_matches_reference(reference: pd.DataFrame, usage: pd.DataFrame) -> None:
    ref = reference.set_index("finess_et")
    assert set(usage["finess_et"]) <= set(ref.index)
    # Each ESMS's usage comes from its own editor's files only.
    assert (usage["editeur"] == ref.loc[usage["finess_et"], "editeur"].to_numpy()).all()
    deployed = ref.loc[usage["finess_et"], "date_deploiement"].dt.to_period("M").dt.start_time
    assert (usage["periode"].to_numpy() >= deployed.to_numpy()).all()


def test_counts_respect_invariants(usage: pd.DataFrame) -> None:
    counts = usage[BASE]
    present = counts.notna()
    assert ((counts >= 0) | ~present).all().all()
    assert ((counts == counts.round()) | ~present).all().all()
    for part in ("dossiers_actifs_avec_pp", "dossiers_actifs_avec_evenement", "ins_qualifiees"):
        assert (usage[part] <= usage["dossiers_actifs"]).all(), part
    assert (usage["dossiers_actifs"] <= usage["personnes_accompagnees"]).all()


def test_usage_ramps_up(usage: pd.DataFrame) -> None:
    rates = usage["dossiers_actifs"] / usage["personnes_accompagnees"]
    first = rates.groupby(usage["finess_et"]).first()
    last = rates.groupby(usage["finess_et"]).last()
    assert first.median() < 0.35 < 0.85 < last.median()
    assert usage["dmp_documents_envoyes"].max() >= 100


def test_missing_counts_are_empty_not_zero(usage: pd.DataFrame) -> None:
    # Médisoc exported "Messages MSSanté reçus" only from 2025-03: missing before, never 0.
    medisoc = usage[usage["editeur"] == "Médisoc"]
    early = medisoc["periode"] < pd.Timestamp("2025-03-01")
    assert medisoc.loc[early, "mss_messages_recus"].isna().all()
    assert medisoc.loc[~early, "mss_messages_recus"].notna().all()


def test_one_month_gap(usage: pd.DataFrame) -> None:
    finess, month = DEMO_GAP
    months = set(usage.loc[usage["finess_et"] == finess, "periode"])
    gap = pd.Timestamp(month)
    assert gap not in months
    assert min(months) < gap < max(months)


# --- VA blockers ------------------------------------------------------------------------------


def _ready(rows: pd.DataFrame) -> bool:
    """VA verdict of domain.md §4 over the window 2026-08..2026-10 for one ESMS."""
    window = rows[rows["periode"] >= WINDOW_START].sort_values("periode")
    if window.empty:
        return False

    def last(code: str) -> float:
        values = window[code].dropna()
        return values.iloc[-1] if len(values) else 0

    flows_ok = window["dmp_documents_envoyes"].sum() > 0 < window["mss_messages_envoyes"].sum()
    stocks = ("personnes_accompagnees", "dossiers_actifs", "ins_qualifiees")
    stocks += ("dossiers_actifs_avec_pp", "dossiers_actifs_avec_evenement")
    return bool(flows_ok and all(last(code) > 0 for code in stocks))


def test_each_blocker_reason_is_present() -> None:
    assert sorted(DEMO_BLOCKERS.values()) == sorted(BLOCKER_REASONS)


def test_blockers_span_ogs_and_one_og_is_ready(reference: pd.DataFrame) -> None:
    blocked = reference["finess_et"].isin(list(DEMO_BLOCKERS))
    ogs_with_blockers = set(reference.loc[blocked, "finess_ej"])
    assert len(ogs_with_blockers) >= 2
    assert set(reference["finess_ej"]) - ogs_with_blockers


def test_every_other_esms_is_ready(reference: pd.DataFrame, usage: pd.DataFrame) -> None:
    by_esms = dict(tuple(usage.groupby("finess_et")))
    for finess in reference["finess_et"]:
        expected = finess not in DEMO_BLOCKERS
        assert _ready(by_esms.get(finess, usage.iloc[:0])) is expected, finess


def _blocker(reason: str) -> str:
    return next(f for f, r in DEMO_BLOCKERS.items() if r == reason)


@pytest.mark.parametrize("reason", [pytest.param(r, id=r) for r in BLOCKER_REASONS])
def test_blocker_has_the_property_it_claims(
    reason: str, reference: pd.DataFrame, usage: pd.DataFrame
) -> None:
    finess = _blocker(reason)
    rows = usage[usage["finess_et"] == finess]
    window = rows[rows["periode"] >= WINDOW_START]
    if reason == "aucune_donnee":
        deployed = reference.set_index("finess_et").loc[finess, "date_deploiement"]
        assert rows.empty and deployed.strftime("%Y-%m") == "2026-10"
        return
    assert len(rows) > 3
    if reason == "donnees_recentes":
        # No rows at all in the window: every check is "manquant".
        assert window.empty and rows["periode"].max() == pd.Timestamp("2026-07-01")
        return
    assert len(window) == 3
    if reason == "mss":
        assert (rows["mss_messages_envoyes"] == 0).all()
        assert rows["mss_messages_recus"].sum() > 0
    elif reason == "pp":
        assert (rows["dossiers_actifs_avec_pp"] == 0).all()
        assert (rows["dossiers_actifs"] > 0).all()
    elif reason == "dmp":
        assert (window["dmp_documents_envoyes"] == 0).all()
        assert rows.loc[rows["periode"] < WINDOW_START, "dmp_documents_envoyes"].sum() > 0
