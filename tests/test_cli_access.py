"""`--acces FICHIER --utilisateur EMAIL` on indicators, va, preuves and dossiers, through the
real console script on a real DuckDB file: each role's output holds exactly the FINESS of its
perimeter (worked out by hand in tests/test_access.py), an ESMS of another OG never appears,
and every fault exits with code 2 and a French message."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dui_metrics.store import Store
from tests.test_access import (
    E1,
    E2,
    E3,
    E4,
    E5,
    E6,
    E7,
    EXPECTED,
    OG_A,
    OG_B,
    REFERENCE,
    ROLE_FILE,
    usage_csv,
)

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
EVERY = {E1, E2, E3, E4, E5, E6, E7}
ADMIN = "admin@grades.example"
USERS = {**EXPECTED, ADMIN: EVERY}
FINESS = re.compile(r"\b[0-9]{2}[0-9AB][0-9]{6}\b")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUI_METRICS_TODAY": "2025-06-15", "DUI_METRICS_STORE": "store.duckdb"}
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of tests/test_access.py, plus records for E1 (dossier d1) and E4 (d4): each
    open since 2024, one event in March 2025, no projet personnalisé."""
    folder = tmp_path_factory.mktemp("acces")
    (folder / "ref.csv").write_text(REFERENCE, encoding="utf-8")
    (folder / "usage.csv").write_text(usage_csv(), encoding="utf-8")
    (folder / "acces.toml").write_text(ROLE_FILE, encoding="utf-8")
    out = run("ingest", "ref.csv", "usage.csv", cwd=folder)
    assert out.returncode == 0, out.stderr
    with Store(folder / "store.duckdb") as store:
        for code, dossier in ((E1, "d1"), (E4, "d4")):
            store.execute(
                "insert into records_sejours values (?, ?, date '2024-01-01', null, 1, null)",
                [code, dossier],
            )
            store.execute(
                "insert into records_evenements values (?, ?, date '2025-03-10', null, 1, null)",
                [code, dossier],
            )
    return folder


def as_user(email: str) -> tuple[str, ...]:
    return ("--acces", "acces.toml", "--utilisateur", email)


def user_id(email: str) -> str:
    return email.split("@")[0]


@pytest.mark.parametrize("email", [pytest.param(e, id=user_id(e)) for e in USERS])
def test_indicators_and_va_hold_exactly_the_perimeter(workdir: Path, email: str) -> None:
    expected = USERS[email]
    out = run("indicators", *as_user(email), cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert {line.split(",")[0] for line in out.stdout.splitlines()[1:]} == expected
    # nothing else that looks like a FINESS anywhere in the output
    assert set(FINESS.findall(out.stdout)) == expected
    out = run("indicators", "--format", "json", *as_user(email), cwd=workdir)
    assert {row["finess_et"] for row in json.loads(out.stdout)} == expected
    out = run("indicators", "--format", "parquet", "--sortie", f"{user_id(email)}.parquet",
              *as_user(email), cwd=workdir)  # fmt: skip
    assert out.returncode == 0, out.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(workdir / f"{user_id(email)}.parquet")
    assert set(table.column("finess_et").to_pylist()) == expected
    out = run("va", "--au", "2025-03", *as_user(email), cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert {line.split(",")[0] for line in out.stdout.splitlines()[1:]} == expected
    assert set(FINESS.findall(out.stdout)) == expected
    out = run("va", "--au", "2025-03", "--format", "json", *as_user(email), cwd=workdir)
    assert {row["finess_et"] for row in json.loads(out.stdout)} == expected


@pytest.mark.parametrize("email", [pytest.param(e, id=user_id(e)) for e in USERS])
def test_va_xlsx_holds_exactly_the_perimeter(workdir: Path, email: str) -> None:
    import openpyxl

    name = f"va-{user_id(email)}.xlsx"
    out = run("va", "--au", "2025-03", "--format", "xlsx", "--sortie", name, *as_user(email),
              cwd=workdir)  # fmt: skip
    assert out.returncode == 0, out.stderr
    cells = _workbook_text(openpyxl.load_workbook(workdir / name))
    assert set(FINESS.findall(cells)) == USERS[email]


def _workbook_text(book) -> str:
    return "\n".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    )


def test_an_og_filter_of_another_og_gives_nothing(workdir: Path) -> None:
    out = run("va", "--au", "2025-03", "--og", OG_B, *as_user("directrice@og-a.example"),
              cwd=workdir)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1:] == []
    out = run("indicators", "--finess-et", E4, *as_user("directrice@og-a.example"), cwd=workdir)
    assert out.returncode == 0 and out.stdout.splitlines()[1:] == []


@pytest.mark.parametrize(
    ("email", "og", "expected"),
    [
        pytest.param("directrice@og-a.example", OG_A, {E1, E2, E3}, id="og"),
        pytest.param("support@editeur.example", OG_A, {E1, E3}, id="editeur-og-a"),
        pytest.param("support@editeur.example", OG_B, {E5}, id="editeur-og-b"),
        pytest.param("rhone@ars.example", OG_A, {E2, E3}, id="ars-og-a"),
        pytest.param(ADMIN, OG_B, {E4, E5, E6}, id="admin"),
    ],
)
def test_evidence_pack_holds_exactly_the_perimeter(
    workdir: Path, email: str, og: str, expected: set[str]
) -> None:
    import openpyxl

    folder = workdir / f"preuves-{user_id(email)}-{og}"
    out = run("preuves", "--og", og, "--au", "2025-03", "--sortie", str(folder),
              *as_user(email), cwd=workdir)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"{len(expected)} ESMS" in out.stderr
    (xlsx,) = folder.glob("*.xlsx")
    found = set(FINESS.findall(_workbook_text(openpyxl.load_workbook(xlsx))))
    # the OG's own FINESS EJ is in the pack too; no FINESS ET outside the perimeter
    assert found - {OG_A, OG_B} == expected


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--og", OG_B), id="other-og"),
        pytest.param(("--og", OG_B, "--commande", "CMD-B"), id="other-order"),
        pytest.param(("--og", OG_A, "--finess-et", E4), id="esms-of-other-og"),
        pytest.param(("--og", "130000011"), id="unknown-og"),
    ],
)
def test_evidence_outside_the_perimeter_is_refused(workdir: Path, args: tuple[str, ...]) -> None:
    folder = workdir / "refus"
    out = run("preuves", *args, "--au", "2025-03", "--sortie", str(folder),
              *as_user("directrice@og-a.example"), cwd=workdir)  # fmt: skip
    assert out.returncode == 2
    assert "hors de votre périmètre" in out.stderr
    assert not folder.exists()


DOSSIERS = ("dossiers", "--periode", "2025-03", "--manque", "pp")


def test_dossiers_inside_and_outside_the_perimeter(workdir: Path) -> None:
    og_a = as_user("directrice@og-a.example")
    out = run(*DOSSIERS, "--finess-et", E1, *og_a, cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert [line.split(",")[0] for line in out.stdout.splitlines()[1:]] == ["d1"]
    # E4 (OG B) and a FINESS nobody has: the same refusal, nothing said of whether it exists
    for code in (E4, "130000011"):
        out = run(*DOSSIERS, "--finess-et", code, *og_a, cwd=workdir)
        assert out.returncode == 2
        assert f"l'ESMS {code} est hors de votre périmètre" in out.stderr
        assert out.stdout == ""
    out = run(*DOSSIERS, "--finess-et", E4, *as_user(ADMIN), cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert [line.split(",")[0] for line in out.stdout.splitlines()[1:]] == ["d4"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(("--acces", "acces.toml"), "--acces exige --utilisateur", id="acces-alone"),
        pytest.param(("--utilisateur", ADMIN), "--utilisateur exige --acces", id="user-alone"),
        pytest.param(
            as_user("intrus@example.org"),
            "intrus@example.org n'a pas d'accès dans acces.toml ; contact : Équipe régionale",
            id="unknown-user",
        ),
        pytest.param(
            ("--acces", "absent.toml", "--utilisateur", ADMIN),
            "fichier d'accès introuvable : absent.toml",
            id="missing-file",
        ),
        pytest.param(
            ("--acces", "casse.toml", "--utilisateur", ADMIN),
            "casse.toml, ligne 4 : rôle inconnu « chef »",
            id="malformed-file",
        ),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("indicators",), id="indicators"),
        pytest.param(("va",), id="va"),
        pytest.param(("preuves", "--og", OG_A, "--sortie", "p"), id="preuves"),
        pytest.param(DOSSIERS + ("--finess-et", E1), id="dossiers"),
    ],
)
def test_faults_exit_2_with_a_french_message(
    workdir: Path, command: tuple[str, ...], args: tuple[str, ...], words: str
) -> None:
    (workdir / "casse.toml").write_text(
        'contact = "x"\n[[acces]]\nemail = "admin@grades.example"\nrole = "chef"\n',
        encoding="utf-8",
    )
    out = run(*command, *args, cwd=workdir)
    assert out.returncode == 2, out.stderr
    assert words in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
