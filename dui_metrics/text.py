"""Text written by people: tolerant matching of headers and indicator names, cleaning of names
read from files, and escaping of such text for Markdown and Plotly (no Streamlit here)."""

from __future__ import annotations

import html
import re
import string
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    """Lower case, without accents (``œ`` → ``oe``) or byte order mark."""
    decomposed = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return ascii_text.replace("œ", "oe").replace("Œ", "oe").lower()


def normalize_key(text: str) -> str:
    """Fold case, accents, spaces, punctuation and underscores: "Période " → "periode".

    "FINESS ET", "finess_et" and "Finess-ET" all give "finess_et".
    """
    return _NON_ALNUM.sub("_", _fold(text)).strip("_")


# A word boundary inside a run of letters: "firstName" → "first Name", "NIRUsager" → "NIR Usager",
# and between letters and digits: "prenom2" → "prenom 2".
_CASE_BOUNDARY = re.compile(
    r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])|(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])|(?<=[A-ZÀ-Þ])(?=[A-ZÀ-Þ][a-zà-ÿ])"
)


def words(text: str) -> list[str]:
    """The words of a header, folded as ``normalize_key`` does, split on case changes,
    underscores, spaces, punctuation and between letters and digits:
    "Prénom(s)" → ["prenom", "s"], "dateOfBirth" → ["date", "of", "birth"],
    "n° sécu" → ["n", "secu"]."""
    spaced = _CASE_BOUNDARY.sub(" ", str(text).replace("\ufeff", ""))
    return [w for w in _NON_ALNUM.split(_fold(spaced)) if w]


# --- names read from files ---------------------------------------------------------------
# Bidirectional controls: an override (U+202E) turns "691128813" into "318821196" on screen.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# Line breaks and other control characters (C0, DEL, C1, line and paragraph separators).
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_RUN = re.compile(f" *(?:[{_CONTROLS}] *)+")


def has_bidi_controls(text: str) -> bool:
    return any(c in text for c in BIDI_CONTROLS)  # 12 substring scans: faster than a regex


def has_controls(text: str) -> bool:
    """Line breaks, tabs or other control characters (bidirectional controls aside)."""
    return _CONTROL.search(text) is not None


def clean_name(text: str) -> str:
    """A name fit for one line of a screen: bidirectional controls removed, line breaks and
    other control characters replaced by a space, runs of such spaces made one, ends
    stripped. "EHPAD\\r\\nLes Tilleuls" → "EHPAD Les Tilleuls"."""
    return _CONTROL_RUN.sub(" ", _BIDI.sub("", text)).strip()


# --- personal data in text -----------------------------------------------------------------
# What must never be stored nor repeated in a message (domain.md §7). A NIR is 13 characters,
# or 15 with its key: sex, year, month, département (two digits, or 2A / 2B in Corsica:
# "185072A12345678"), commune, order number, key. One space is allowed inside a group, and
# between groups any run of spaces, a dot or a hyphen: "1 40 02 75 123 456 78",
# "1.85.07.75.123.456.78", "1-85-07-2A-123-456-78". 14 digits (a SIRET) or 9 (a FINESS) are
# not a NIR; any other 13-digit number is (an order number "1400275123456" refuses its file:
# a conservative false positive, a NIR let through would be worse). The patterns are also
# RE2's (``ingest.reference`` scans whole columns with them).
_D2, _D3 = "[0-9] ?[0-9]", "[0-9] ?[0-9] ?[0-9]"
# Between groups: nothing, spaces, a dot or a hyphen (with spaces around); written so that a
# run of spaces is read one way only (no backtracking over its splits).
_SEP = "(?:[.-] *| +(?:[.-] *)?)?"
NIR_PATTERN = (
    f"[0-9]{_SEP}{_D2}{_SEP}{_D2}{_SEP}(?:{_D2}|2 ?[AaBb]){_SEP}{_D3}{_SEP}{_D3}"
    f"(?:{_SEP}[0-9]{{2}})?"
)
# A dossier id shaped like a NIR, once its spaces are removed (domain.md §7, issue 14): 13
# digits (15 with the key), the first 1 or 2 (7 or 8 for a temporary number). Stricter than
# NIR_PATTERN (a local id may hold letters and separators), and enough to refuse a file that
# would store NIRs as dossier ids.
NIR_SHAPED_ID = re.compile(r"[1278]\d{12}(?:\d{2})?")
EMAIL_PATTERN = r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+"
_NIR_LIKE = re.compile(rf"(?<![0-9]){NIR_PATTERN}(?![0-9])")
_EMAIL_LIKE = re.compile(EMAIL_PATTERN)
# A French phone number: 0X or +33 X, then four pairs of digits, separated or not.
_PHONE_LIKE = re.compile(r"(?<![\w+])(?:\+33[ .-]?|0)[1-9](?:[ .-]?\d{2}){4}(?![\w])")


def personal_value(text: str) -> str | None:
    """What personal data a cell looks like (``« ressemble à … »``), or None."""
    if _NIR_LIKE.search(text):
        return "ressemble à un NIR (13 ou 15 chiffres)"
    if _EMAIL_LIKE.search(text):
        return "ressemble à une adresse e-mail"
    return None


def mask_personal(text: str) -> str:
    """``text`` fit for a message or a log: on one line (`clean_name`), and every e-mail
    address, NIR-like or phone number in it replaced by what it looks like."""
    text = _EMAIL_LIKE.sub("(valeur masquée : adresse e-mail)", clean_name(text))
    text = _NIR_LIKE.sub("(valeur masquée : ressemble à un NIR)", text)
    return _PHONE_LIKE.sub("(valeur masquée : numéro de téléphone)", text)


# --- text from files, in a terminal --------------------------------------------------------
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]"
)


def shown(text: object) -> str:
    """A message for a terminal: line breaks kept, every other control character (escape
    sequences that recolour or rewrite the terminal, carriage returns, tabs) and bidirectional
    control shown as ``?``. File names are the user's, and may hold anything."""
    return _TERMINAL_UNSAFE.sub("?", str(text))


# --- text from files, on screen ----------------------------------------------------------
_MARKDOWN_SPECIALS = re.compile("([" + re.escape(string.punctuation) + "])")


def escape_markdown(value: object) -> str:
    """``value`` as text that Streamlit's Markdown shows literally (st.markdown, captions,
    titles, labels, tooltips, metric values): every ASCII punctuation character is
    backslash-escaped (CommonMark shows "\\X" as "X" for all of them), which disarms
    headings, emphasis, links and images, HTML, tables, LaTeX (``$``) and Streamlit's
    directives and shortcodes (``:red[…]``, ``:smile:``). The name is cleaned first
    (`clean_name`): a stored name may predate the cleaning at ingest."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", clean_name(str(value)))


def escape_plotly(value: object) -> str:
    """``value`` as text that Plotly shows literally in titles, labels, legends and hovers
    (Plotly reads ``<b>``, ``<br>``, ``<a href>`` and HTML entities there)."""
    return html.escape(clean_name(str(value)), quote=False)


# --- text from files, in spreadsheets ------------------------------------------------------
# A cell beginning with one of these is read as a formula by spreadsheet software (OWASP
# "CSV injection"): "=HYPERLINK(…)", "+cmd|…", "-2+3", "@SUM(…)"; tab and carriage return
# precede them to slip past naive checks.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A number written as text: sign, digits with French or plain group separators, decimals.
_NUMBER = re.compile(r"[+-]?\d[\d\u202f\u00a0 ]*(?:[.,]\d+)?(?:[eE][+-]?\d+)?|[+-]?[.,]\d+")


def neutralise_formula(value: object) -> object:
    """``value`` fit for a spreadsheet cell: a text beginning with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading ``'`` (shown as text, never run),
    unless it is a real number written as text ("-12", "+3,5"). Anything else (numbers,
    dates, None, other texts) is returned as it is."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and _NUMBER.fullmatch(value) is None
    ):
        return "'" + value
    return value
