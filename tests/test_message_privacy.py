"""No personal value read from a file is ever repeated in a message (issue 12, domain.md §7):
the refusal of a usage file quotes its bad cells and headers, and an e-mail address, a phone
number or a NIR written where a count, a month, a FINESS or an indicator was expected is
masked; bidirectional controls are removed from quoted values (they reordered the message)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dui_metrics.errors import Problem
from dui_metrics.text import mask_personal

SCRIPT = shutil.which("dui-metrics", path=str(Path(sys.executable).parent)) or "dui-metrics"
E1 = "690000013"
EMAIL = "jean.dupont@example.org"
NIR = "185077512345678"
PHONE = "06 12 34 56 78"


def ingest(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess:
    (tmp_path / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "DUI_METRICS_TODAY": "2025-06-15"}
    env.pop("DUI_METRICS_STORE", None)
    return subprocess.run(
        [SCRIPT, "ingest", "--store", "s.duckdb", name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


LONG = "finess_et;periode;indicateur;valeur\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            LONG + f"{E1};2025-04;{EMAIL};3\n",
            "u.csv, ligne 2, colonne indicateur : indicateur inconnu « (valeur masquée : "
            "adresse e-mail) »",
            id="indicateur-email",
        ),
        pytest.param(
            LONG + f"{E1};{NIR};ins_qualifiees;3\n",
            "u.csv, ligne 2, colonne periode : ",
            id="periode-nir",
        ),
        pytest.param(LONG + f"{NIR};2025-04;ins_qualifiees;3\n", "u.csv, ligne 2", id="finess-nir"),
        pytest.param(
            LONG + f"{E1};2025-04;ins_qualifiees;{NIR}\n", "u.csv, ligne 2", id="valeur-nir"
        ),
        pytest.param(
            LONG + f"{E1};2025-04;Tél {PHONE};3\n",
            "u.csv, ligne 2, colonne indicateur : indicateur inconnu « Tél (valeur masquée : "
            "numéro de téléphone) »",
            id="indicateur-tel",
        ),
        pytest.param(
            f"finess_et;periode;ins_qualifiees;{EMAIL}\n{E1};2025-04;3;4\n",
            "u.csv, ligne 1, colonne (valeur masquée : adresse e-mail) : colonne inconnue",
            id="entete-email",
        ),
    ],
)
def test_a_refusal_never_repeats_a_personal_value(tmp_path: Path, text: str, expected: str) -> None:
    out = ingest(tmp_path, "u.csv", text)
    assert out.returncode == 1, out.stderr
    assert expected in out.stderr
    for value in (EMAIL, NIR, PHONE, PHONE.replace(" ", "")):
        assert value not in out.stderr and value not in out.stdout
    assert "valeur masquée" in out.stderr


def test_a_quoted_finess_with_a_bidi_override_reads_in_order(tmp_path: Path) -> None:
    out = ingest(tmp_path, "u.csv", LONG + "\u202e69112881;2025-04;ins_qualifiees;3\n")
    assert out.returncode == 1, out.stderr
    assert "\u202e" not in out.stderr
    assert "« 69112881 »" in out.stderr


def test_mask_personal_by_hand() -> None:
    # 13 or 15 digits (NIR), with spaces, dots, dashes, Corsica; e-mails; French phones.
    assert mask_personal("« 1 85 07 2A 123 456 78 »") == "« (valeur masquée : ressemble à un NIR) »"
    assert mask_personal("1.85.07.75.123.456.78") == "(valeur masquée : ressemble à un NIR)"
    assert mask_personal("+33 6 12 34 56 78") == "(valeur masquée : numéro de téléphone)"
    assert mask_personal("a\nb\u202ec") == "a bc"
    # Not personal: a FINESS (9 digits), 14 digits, a month, counts, a 10-digit count.
    for text in ("FINESS 010780914", "12345678901234", "07/2025", "2 000 000 lignes", "1234567890"):
        assert mask_personal(text) == text
    assert Problem("f.csv", 1, f"x {EMAIL}", "m").column == "x (valeur masquée : adresse e-mail)"
