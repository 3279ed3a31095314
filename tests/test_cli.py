"""The real console script `dui-metrics`, run as a user would, on a real DuckDB file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dui_metrics.demo import DEMO_BLOCKERS

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
README = Path(__file__).resolve().parent.parent / "README.md"


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DUI_METRICS_TODAY": "2025-06-15"}
    full_env.pop("DUI_METRICS_STORE", None)
    full_env.update(env or {})
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


# E1 = 690000013 (Luhn ok). 2025-01: 40 accompanied, 30 active, 0 INS; 2025-02: 40, 0 active.
USAGES = """FINESS ET;Période;Indicateur;Valeur
690000013;01/2025;Personnes accompagnées;40
690000013;01/2025;Dossiers actifs;30
690000013;01/2025;ins_qualifiees;0
690000013;02/2025;Personnes accompagnées;40
690000013;02/2025;Dossiers actifs;0
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "usages.csv").write_text(USAGES, encoding="utf-8")
    return tmp_path


def test_indicators_csv_is_exact(workdir: Path) -> None:
    assert run("ingest", "usages.csv", cwd=workdir).returncode == 0
    out = run("indicators", cwd=workdir)
    assert out.returncode == 0, out.stderr
    # 2025-01: taux_dossiers_actifs = 30/40 = 0.75; taux_ins_qualifiees = 0/30 = 0.0.
    # 2025-02: taux_dossiers_actifs = 0/40 = 0.0; taux_ins needs ins_qualifiees: no row.
    assert out.stdout == (
        "finess_et,periode,indicateur,valeur,numerateur,denominateur\n"
        "690000013,2025-01,dossiers_actifs,30,,\n"
        "690000013,2025-01,ins_qualifiees,0,,\n"
        "690000013,2025-01,personnes_accompagnees,40,,\n"
        "690000013,2025-01,taux_dossiers_actifs,0.75,30,40\n"
        "690000013,2025-01,taux_ins_qualifiees,0.0,0,30\n"
        "690000013,2025-02,dossiers_actifs,0,,\n"
        "690000013,2025-02,personnes_accompagnees,40,,\n"
        "690000013,2025-02,taux_dossiers_actifs,0.0,0,40\n"
    )


def test_indicators_csv_is_sorted_like_json_whatever_the_loading_order(tmp_path: Path) -> None:
    # Loaded last-first: 690000013, then Corsican 2A0000001, then 010000016; in text order
    # 010000016 < 2A0000001 ("2" < "6") < 690000013. The CSV export sorts on integer ids,
    # the JSON output on the text: both must give the same rows in the same order.
    (tmp_path / "u.csv").write_text(
        "finess_et;periode;indicateur;valeur\n"
        "690000013;2025-02;dossiers_actifs;3\n"
        "690000013;2025-01;personnes_accompagnees;4\n"
        "690000013;2025-01;dossiers_actifs;1\n"
        "2A0000001;2025-01;mss_messages_envoyes;7\n"
        "010000016;2025-01;personnes_accompagnees;8\n"
        "010000016;2025-01;dossiers_actifs;2\n",
        encoding="utf-8",
    )
    assert run("ingest", "u.csv", cwd=tmp_path).returncode == 0
    lines = run("indicators", cwd=tmp_path).stdout.splitlines()
    # rates: 2/8 = 0.25 (010000016), 1/4 = 0.25 (690000013, January only)
    assert lines[1:] == [
        "010000016,2025-01,dossiers_actifs,2,,",
        "010000016,2025-01,personnes_accompagnees,8,,",
        "010000016,2025-01,taux_dossiers_actifs,0.25,2,8",
        "2A0000001,2025-01,mss_messages_envoyes,7,,",
        "690000013,2025-01,dossiers_actifs,1,,",
        "690000013,2025-01,personnes_accompagnees,4,,",
        "690000013,2025-01,taux_dossiers_actifs,0.25,1,4",
        "690000013,2025-02,dossiers_actifs,3,,",
    ]
    rows = json.loads(run("indicators", "--format", "json", cwd=tmp_path).stdout)
    assert [f"{r['finess_et']},{r['periode']},{r['indicateur']}" for r in rows] == [
        ",".join(line.split(",")[:3]) for line in lines[1:]
    ]
    only = run("indicators", "--finess-et", "2A0000001", cwd=tmp_path).stdout.splitlines()
    assert only[1:] == ["2A0000001,2025-01,mss_messages_envoyes,7,,"]


def test_indicators_parquet_is_typed_and_in_the_csv_order(workdir: Path) -> None:
    import datetime as dt

    import pyarrow.parquet as pq

    assert run("ingest", "usages.csv", cwd=workdir).returncode == 0
    out = run("indicators", "--format", "parquet", "--sortie", "ind.parquet", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    table = pq.read_table(workdir / "ind.parquet")
    assert [str(f.type) for f in table.schema] == [
        "string",
        "date32[day]",
        "string",
        "double",
        "int64",
        "int64",
        "bool",
    ]
    jan, feb = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
    # the rows of test_indicators_csv_is_exact, typed: 30/40 = 0.75, 0/30 = 0.0, 0/40 = 0.0
    assert [tuple(r.values()) for r in table.to_pylist()] == [
        ("690000013", jan, "dossiers_actifs", 30.0, None, None, False),
        ("690000013", jan, "ins_qualifiees", 0.0, None, None, False),
        ("690000013", jan, "personnes_accompagnees", 40.0, None, None, False),
        ("690000013", jan, "taux_dossiers_actifs", 0.75, 30, 40, True),
        ("690000013", jan, "taux_ins_qualifiees", 0.0, 0, 30, True),
        ("690000013", feb, "dossiers_actifs", 0.0, None, None, False),
        ("690000013", feb, "personnes_accompagnees", 40.0, None, None, False),
        ("690000013", feb, "taux_dossiers_actifs", 0.0, 0, 40, True),
    ]
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith(".")) == []


def test_indicators_output_file_holds_what_stdout_prints(workdir: Path) -> None:
    run("ingest", "usages.csv", cwd=workdir)
    printed = run("indicators", cwd=workdir).stdout
    assert run("indicators", "--sortie", "ind.csv", cwd=workdir).stdout == ""
    assert (workdir / "ind.csv").read_text(encoding="utf-8") == printed
    as_json = run("indicators", "--format", "json", cwd=workdir).stdout
    run("indicators", "--format", "json", "--sortie", "ind.json", cwd=workdir)
    assert (workdir / "ind.json").read_text(encoding="utf-8") == as_json


def test_indicators_parquet_needs_an_output_file(workdir: Path) -> None:
    run("ingest", "usages.csv", cwd=workdir)
    out = run("indicators", "--format", "parquet", cwd=workdir)
    assert out.returncode == 2 and out.stdout == ""
    assert (
        "--format parquet écrit un fichier binaire : indiquez-le avec --sortie FICHIER"
        in out.stderr
    )
    out = run("indicators", "--sortie", "absent/ind.csv", cwd=workdir)
    assert out.returncode == 2
    assert "dossier introuvable pour --sortie : absent" in out.stderr
    (workdir / "sorties").mkdir()
    out = run("indicators", "--sortie", "sorties", cwd=workdir)
    assert out.returncode == 2
    assert "--sortie désigne un dossier, pas un fichier : sorties" in out.stderr
    # /proc takes no new file, even from root: the open fails, said in French, exit 2
    out = run("indicators", "--sortie", "/proc/ind.csv", cwd=workdir)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "dui-metrics : erreur : écriture impossible dans /proc/ind.csv : " in out.stderr


def test_indicators_json_numbers_and_nulls(workdir: Path) -> None:
    run("ingest", "usages.csv", cwd=workdir)
    out = run("indicators", "--au", "2025-01", "--format", "json", cwd=workdir)
    rows = json.loads(out.stdout)
    assert rows[0] == {
        "finess_et": "690000013",
        "periode": "2025-01",
        "indicateur": "dossiers_actifs",
        "valeur": 30,
        "numerateur": None,
        "denominateur": None,
    }
    # 30 / 40 = 0.75, a JSON number, not a string
    assert rows[3]["valeur"] == 0.75 and rows[3]["indicateur"] == "taux_dossiers_actifs"
    assert len(rows) == 5  # --au 2025-01 keeps January only


def test_zero_denominator_prints_empty_value(tmp_path: Path) -> None:
    (tmp_path / "z.csv").write_text(
        "finess_et;periode;personnes_accompagnees;dossiers_actifs\n690000013;2025-03;0;0\n",
        encoding="utf-8",
    )
    run("ingest", "z.csv", cwd=tmp_path)
    out = run("indicators", cwd=tmp_path).stdout.splitlines()
    # 0 / 0: the rate row exists (both parts exist) with an empty value
    assert "690000013,2025-03,taux_dossiers_actifs,,0,0" in out


def test_rejected_file_names_line_and_leaves_output_identical(workdir: Path) -> None:
    run("ingest", "usages.csv", cwd=workdir)
    before = run("indicators", cwd=workdir).stdout
    (workdir / "bad.csv").write_text(
        "finess_et;periode;indicateur;valeur\n"
        "690000013;03/2025;personnes_accompagnees;50\n"
        "690000013;03/2025;dossiers_actifs;20\n"
        "690000013;03/2025;ins_qualifiees;-3\n",
        encoding="utf-8",
    )
    out = run("ingest", "bad.csv", cwd=workdir)
    assert out.returncode == 1
    assert (
        "bad.csv, ligne 4, colonne valeur : valeur négative (-3) pour ins_qualifiees" in out.stderr
    )
    assert run("indicators", cwd=workdir).stdout == before


def test_valid_files_still_load_beside_a_rejected_one(workdir: Path) -> None:
    (workdir / "bad.csv").write_text(
        "finess_et;periode;indicateur;valeur\n12345;01/2025;dossiers_actifs;1\n"
    )
    out = run("ingest", "bad.csv", "usages.csv", cwd=workdir)
    assert out.returncode == 1
    assert "bad.csv, ligne 2, colonne finess_et : FINESS invalide « 12345 »" in out.stderr
    assert "usages.csv : 5 lignes chargées" in out.stdout


def test_missing_path_is_usage_error_and_ingests_nothing(workdir: Path) -> None:
    out = run("ingest", "usages.csv", "absent.csv", cwd=workdir)
    assert out.returncode == 2
    assert "chemin introuvable : absent.csv" in out.stderr
    assert run("historique", cwd=workdir).stdout.splitlines()[1:] == []


def test_windows_1252_export_with_french_headers_loads(tmp_path: Path) -> None:
    text = (
        "FINESS géographique;Période;Indicateur;Valeur\r\n"
        "690000013;2025-04-01;Messages MSSanté envoyés;12\r\n"
        "690000013;01/04/2025;Documents envoyés au DMP;1 234\r\n"
    )
    (tmp_path / "export.csv").write_bytes(text.encode("cp1252"))
    out = run("ingest", "export.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = run("indicators", cwd=tmp_path).stdout.splitlines()
    assert rows[1:] == [
        "690000013,2025-04,dmp_documents_envoyes,1234,,",
        "690000013,2025-04,mss_messages_envoyes,12,,",
    ]


def test_store_option_and_environment_variable(workdir: Path) -> None:
    run("ingest", "--store", "a.duckdb", "usages.csv", cwd=workdir)
    assert (workdir / "a.duckdb").exists() and not (workdir / "data").exists()
    env = {"DUI_METRICS_STORE": str(workdir / "a.duckdb")}
    out = run("indicators", "--au", "2025-01", cwd=workdir, env=env)
    assert len(out.stdout.splitlines()) == 6  # header + 5 rows of January


def test_read_command_without_store_is_a_usage_error(tmp_path: Path) -> None:
    out = run("va", cwd=tmp_path)
    assert out.returncode == 2
    assert "magasin introuvable : data/dui-metrics.duckdb" in out.stderr


@pytest.mark.parametrize(
    "command", ["ingest", "indicators", "va", "preuves", "dossiers", "demo", "historique"]
)
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    out = run(command, "--help", cwd=tmp_path)
    assert out.returncode == 0 and "--store" in out.stdout


def test_bad_option_value_is_usage_error(tmp_path: Path) -> None:
    out = run("indicators", "--au", "2025-13", cwd=tmp_path)
    assert out.returncode == 2 and "mois illisible" in out.stderr


def test_demo_then_va_shows_each_blocking_reason(tmp_path: Path) -> None:
    env = {"DUI_METRICS_TODAY": "2026-11-25"}
    demo = run("demo", cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    assert "avertissement" not in demo.stderr
    # each demo file is named once (the report), not also by a progress line
    for name in ("etablissements.xlsx", "medisoc_export_2026.parquet"):
        assert (demo.stdout + demo.stderr).count(name) == 1, name
    out = run("va", "--format", "csv", cwd=tmp_path, env=env)
    rows = [line.split(",", 4) for line in out.stdout.splitlines()[1:]]
    blocked = {r[0] for r in rows if r[1] == "va" and r[2] == "bloque"}
    assert blocked == set(DEMO_BLOCKERS)
    by_key = {(r[0], r[1]): (r[2], r[4]) for r in rows}
    reasons = {v: k for k, v in DEMO_BLOCKERS.items()}
    # The window is 08/2026–10/2026 (3 months ending with the latest month, 10/2026).
    assert by_key[(reasons["mss"], "mss")] == (
        "zero",
        "0 message MSSanté envoyé sur 08/2026–10/2026",
    )
    assert by_key[(reasons["dmp"], "dmp")] == ("zero", "0 document DMP sur 08/2026–10/2026")
    assert by_key[(reasons["pp"], "taux_dossiers_actifs_avec_pp")][0] == "zero"
    assert by_key[(reasons["donnees_recentes"], "ins")] == (
        "manquant",
        "aucune donnée depuis 08/2026",
    )
    assert by_key[(reasons["aucune_donnee"], "ins")] == ("manquant", "aucune donnée reçue")
    # Running the demo again imports nothing new: every file is already in the log.
    again = run("demo", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "7 déjà importé(s)" in again.stderr


def _readme_blocks() -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_input_examples_load(tmp_path: Path) -> None:
    examples = [b for b in _readme_blocks() if b.lower().startswith(("finess et;", "finess_et;"))]
    assert len(examples) == 3  # reference, long form, wide form
    for i, text in enumerate(examples):
        (tmp_path / f"exemple_{i}.csv").write_text(text, encoding="utf-8")
    out = run("ingest", *[f"exemple_{i}.csv" for i in range(3)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "avertissement" not in out.stderr
    assert "3 chargé(s)" in out.stderr


def test_export_batches_produced_ahead_keep_order_and_errors() -> None:
    import threading

    from dui_metrics.cli import _ahead

    def failing():
        yield from range(3)
        raise ValueError("lecture interrompue")

    seen = []
    with pytest.raises(ValueError, match="lecture interrompue"):
        for item in _ahead(failing(), depth=1):
            seen.append(item)
    assert seen == [0, 1, 2]  # every item before the error, in order
    items = _ahead(iter(range(1000)), depth=2)
    assert [next(items), next(items)] == [0, 1]
    items.close()  # the caller leaves early (a closed pipe): the thread stops
    assert not [t for t in threading.enumerate() if t.name == "dui-export"]
