"""FINESS numbers and the reference tables hung on them.

This module owns:
- the text form of a FINESS number (`normalize_finess`: spreadsheets turn ``010780914`` into the
  number 10780914) and its checks (`is_valid_finess` for the format, `luhn_ok` for the 9th digit);
- the département read from a FINESS prefix, and the département → région table
  (``data/departements.csv``, INSEE codes, régions of the 2016 reform);
- the labels of FINESS catégories d'établissement (``data/categories.csv``, nomenclature TRE_R66).

Sources and licences of the data files: ``data/SOURCES.md``. The CSV files are read on first use,
never at import time.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa

_FINESS_RE = re.compile(r"(?:[0-9]{2}|2[AB])[0-9]{7}")
_DECIMAL_ZERO_RE = re.compile(r"([0-9]+)\.0*")

# Overseas FINESS numbers do not start with the INSEE code (971...): they start with "970" + the
# DOM digit; Mayotte uses "9805" (likely its pre-2008 INSEE code 985). Observed in lines of
# the public extract etalab-cs1100502-stock-20260512, quoted verbatim in a public parser's test
# fixture (sister-software/mailwoman, FINESS overseas adapter): e.g. 970102018 in Guadeloupe,
# 970210126 Martinique, 970300026 Guyane, 970400024 La Réunion, 980501506 Mayotte, whose
# `departement` fields are 9A, 9B, 9C, 9D, 9F. No official text states the rule.
_OVERSEAS_PREFIXES = {
    "9701": "971",  # Guadeloupe (FINESS département 9A)
    "9702": "972",  # Martinique (9B)
    "9703": "973",  # Guyane (9C)
    "9704": "974",  # La Réunion (9D)
    "9805": "976",  # Mayotte (9F)
}


def normalize_finess(value: object) -> str | None:
    """Return the 9-character text form of a FINESS number as found in an input cell.

    None, NaN, empty or blank → None. Numbers (``10780914``, ``10780914.0``) and digit strings
    (``"10780914"``, ``"10780914.0"``, ``" 010780914 "``) shorter than 9 digits are left-padded
    with zeros, undoing a spreadsheet's numeric conversion. Other strings are stripped and
    upper-cased (``"2a0000012"`` → ``"2A0000012"``). Does not validate: see `is_valid_finess`.
    """
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if math.isnan(value):
            return None  # a blank cell in a numeric pandas column
        if float(value).is_integer():
            value = int(value)
    text = str(value).strip().upper()
    if not text:
        return None
    match = _DECIMAL_ZERO_RE.fullmatch(text)
    if match:
        text = match.group(1)
    if text.isascii() and text.isdigit() and len(text) < 9:
        text = text.zfill(9)
    return text


def is_valid_finess(s: str) -> bool:
    """True when `s` has the FINESS format: 9 characters, digits, ``2A``/``2B`` for Corsica."""
    return _FINESS_RE.fullmatch(s) is not None


def invalid_message(value: str) -> str:
    """Why ``value`` is not a FINESS, and what to do (the same words as
    sql/usage_row_problems.sql). Eight characters that are all digits lost their leading zero
    (padded back by ingest); with a letter among them, a character was mistyped or lost."""
    if len(value) == 8 and not (value.isascii() and value.isdigit()):
        return (
            f"FINESS invalide « {value} » : 8 caractères dont au moins un n'est pas un chiffre ; "
            "un FINESS en compte 9 (chiffres, 2A ou 2B pour la Corse) : recopiez-le depuis le "
            "répertoire FINESS (finess.sante.gouv.fr)"
        )
    return (
        f"FINESS invalide « {value} » : 9 caractères attendus ({len(value)} lus), chiffres, "
        "2A ou 2B pour la Corse"
    )


def _luhn_sum(digits: str, *, double_last: bool) -> int:
    """Luhn sum, doubling every second digit from the right, starting with the last one if asked."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if (i % 2 == 0) == double_last:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def nine_bytes(codes: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """FINESS numbers (in the FINESS format, as checked on ingest) as 9-byte numpy strings:
    sorted and searched in bulk, or checked by `luhn_ok_array`."""
    return np.asarray(codes.to_numpy(zero_copy_only=False), dtype="S9")


def luhn_ok_array(codes: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    """`luhn_ok` of each FINESS of ``codes`` (Arrow, or `nine_bytes` already), at once: True
    or False, null for Corsican numbers. For the warnings of a usage file, which asks for
    thousands of numbers (a loop in Python held the GIL for a second per national ingest)."""
    if len(codes) == 0:
        return pa.array([], pa.bool_())
    text = codes if isinstance(codes, np.ndarray) else nine_bytes(codes)
    digits = text.view(np.uint8).reshape(len(text), 9).astype(np.int16) - ord("0")
    corsica = digits[:, 1] > 9  # 2A, 2B
    # From the right, the check digit is position 0: odd positions are doubled (luhn_ok).
    doubled = digits[:, 1::2] * 2
    digits[:, 1::2] = np.where(doubled > 9, doubled - 9, doubled)
    ok = digits.sum(axis=1) % 10 == 0
    return pa.array(ok, mask=corsica)


@cache  # asked once per distinct FINESS of every file: national ingests repeat them a lot
def luhn_ok(s: str) -> bool | None:
    """Luhn check of a FINESS number, the 9th character being the check digit.

    Returns None for Corsican numbers (``2A``/``2B``): Luhn is defined on digits only and no
    public text says how FINESS turns A/B into digits, so they cannot be checked. Public code
    validates FINESS with Luhn but no official text confirms it: treat a failure as a warning.
    Raises ValueError when `s` is not in the FINESS format.
    """
    if not is_valid_finess(s):
        raise ValueError(f"not a FINESS number: {s!r}")
    if not s.isdigit():
        return None
    return _luhn_sum(s, double_last=False) % 10 == 0


def luhn_check_digit(first8: str) -> str:
    """The 9th digit that makes ``first8 + digit`` pass `luhn_ok` (8 digits expected)."""
    if len(first8) != 8 or not (first8.isascii() and first8.isdigit()):
        raise ValueError(f"expected 8 digits, got {first8!r}")
    return str(-_luhn_sum(first8, double_last=True) % 10)


def departement_of_finess(s: str) -> str | None:
    """INSEE département code of a (normalized) FINESS number, from its prefix.

    ``01``…``95`` and ``2A``/``2B``: the first two characters. Overseas: ``9701``→``971``
    Guadeloupe, ``9702``→``972`` Martinique, ``9703``→``973`` Guyane, ``9704``→``974`` La Réunion,
    ``9805``→``976`` Mayotte, as observed in the public extract (not an official rule). None for
    an invalid number or any other prefix (e.g. ``9806`` Wallis-et-Futuna, outside the 101
    départements). For an EJ number this is the département where the legal entity is registered,
    which may differ from its establishments'.
    """
    if not is_valid_finess(s):
        return None
    if s.startswith(("97", "98")):
        return _OVERSEAS_PREFIXES.get(s[:4])
    code = s[:2]
    return code if code in _departements() else None


def departement_name(code: str) -> str | None:
    """Name of a département from its INSEE code (``"01"`` or ``"1"``, ``"2A"``, ``"974"``)."""
    row = _departements().get(_departement_key(code))
    return row["nom"] if row else None


def region_of_departement(code: str) -> tuple[str, str] | None:
    """(région code, région name) of a département, régions as of the 2016 reform."""
    row = _departements().get(_departement_key(code))
    return (row["region_code"], row["region_nom"]) if row else None


def region_name(code: str) -> str | None:
    """Name of a région from its INSEE code (``"84"`` Auvergne-Rhône-Alpes, ``"04"`` La Réunion)."""
    return _regions().get(_departement_key(code))


def category_label(code: str) -> str | None:
    """TRE_R66 label of a FINESS catégorie d'établissement (``"500"`` → EHPAD label).

    A code that lost its leading zeros in a spreadsheet (``"1"``) is padded back to 3 digits.
    """
    key = str(code).strip()
    if key.isascii() and key.isdigit():
        key = key.zfill(3)
    return _categories().get(key)


def _departement_key(code: str) -> str:
    """Lookup key for a département or région code: stripped, upper-cased, ``"1"`` → ``"01"``."""
    key = code.strip().upper()
    return key.zfill(2) if key.isdigit() else key


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (resources.files("dui_metrics") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


@cache
def _departements() -> dict[str, dict[str, str]]:
    return {row["code"]: row for row in _read_csv("departements.csv")}


@cache
def _regions() -> dict[str, str]:
    return {row["region_code"]: row["region_nom"] for row in _departements().values()}


@cache
def _categories() -> dict[str, str]:
    return {row["code"]: row["libelle"] for row in _read_csv("categories.csv")}


def regions() -> dict[str, str]:
    """All régions: INSEE code → name."""
    return dict(_regions())
