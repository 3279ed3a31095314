"""Tolerant matching of names written by people: headers, indicator names."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_key(text: str) -> str:
    """Fold case, accents, spaces, punctuation and underscores: "Période " → "periode".

    "FINESS ET", "finess_et" and "Finess-ET" all give "finess_et".
    """
    decomposed = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_text = ascii_text.replace("œ", "oe").replace("Œ", "oe").lower()
    return _NON_ALNUM.sub("_", ascii_text).strip("_")
