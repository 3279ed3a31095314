"""Column names: header synonyms, and the kind of a file recognised from its columns.

Headers match whatever their case, accents, spaces or underscores (see ``text.normalize_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dui_metrics.errors import Problem
from dui_metrics.referentiel import Referentiel
from dui_metrics.text import normalize_key

REFERENCE = "etablissements"
LONG = "usages_long"
WIDE = "usages_large"

KIND_LABELS = {
    REFERENCE: "référentiel des établissements",
    LONG: "usages (format long)",
    WIDE: "usages (format large)",
}

# Canonical column → accepted headers (normalized by normalize_key before comparison).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "finess_et": (
        "finess_et",
        "finess geographique",
        "finess etablissement",
        "n finess et",
        "numero finess et",
        "nofinesset",
        "finess",
    ),
    "finess_ej": (
        "finess_ej",
        "finess juridique",
        "n finess ej",
        "numero finess ej",
        "nofinessej",
    ),
    "raison_sociale": ("raison_sociale", "nom etablissement", "rs"),
    "og_nom": ("og_nom", "organisme gestionnaire", "nom og", "nom organisme gestionnaire"),
    "categorie": ("categorie", "categorie etablissement", "code categorie", "categetab"),
    "departement": ("departement", "code departement"),
    "region": ("region", "code region"),
    "editeur": ("editeur",),
    "logiciel": ("logiciel", "logiciel dui"),
    "commande": ("commande", "bon de commande", "numero de commande", "n commande"),
    "date_deploiement": ("date_deploiement", "date de deploiement"),
    "periode": ("periode", "mois"),
    "indicateur": ("indicateur", "code indicateur"),
    "valeur": ("valeur",),
}

REFERENCE_REQUIRED = ("finess_et", "finess_ej", "raison_sociale")
REFERENCE_COLUMNS = (
    "finess_et",
    "finess_ej",
    "raison_sociale",
    "og_nom",
    "categorie",
    "departement",
    "region",
    "editeur",
    "logiciel",
    "commande",
    "date_deploiement",
)
LONG_COLUMNS = ("finess_et", "periode", "indicateur", "valeur")
FINESS_COLUMNS = ("finess_et", "finess_ej")

_LOOKUP = {normalize_key(s): canon for canon, names in SYNONYMS.items() for s in names}


def canonical(header: str) -> str | None:
    """The canonical column name of a header, or None if it is not a known column."""
    return _LOOKUP.get(normalize_key(header))


def is_finess_header(header: str) -> bool:
    return canonical(header) in FINESS_COLUMNS


@dataclass(frozen=True)
class Layout:
    """What a file is and which of its columns (by position) hold what."""

    kind: str
    columns: dict[str, int]  # canonical name (or count code for wide files) → position
    ignored: tuple[int, ...] = ()  # positions of columns that are not used


def detect_layout(file: str, headers: list[str], ref: Referentiel) -> tuple[Layout, list[Problem]]:
    """Recognise the kind of a file from its header. Problems are errors on ``ligne 1``."""
    problems: list[Problem] = []
    names: dict[str, int] = {}
    unknown: list[int] = []
    indicator_lookup = ref.name_lookup()
    for pos, header in enumerate(headers):
        if not str(header).strip():
            unknown.append(pos)
            continue
        name = canonical(header) or indicator_lookup.get(normalize_key(header))
        if name is None:
            unknown.append(pos)
        elif name in names:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    f"colonne en double : « {headers[names[name]]} » et « {header} » "
                    f"désignent toutes deux {name}",
                )
            )
        else:
            names[name] = pos

    if "finess_ej" in names or "raison_sociale" in names:
        kind = REFERENCE
        missing = [c for c in REFERENCE_REQUIRED if c not in names]
        extra = [p for p in names if p not in REFERENCE_COLUMNS]
    elif "indicateur" in names or "valeur" in names:
        kind = LONG
        missing = [c for c in LONG_COLUMNS if c not in names]
        extra = [p for p in names if p not in LONG_COLUMNS]
    elif "finess_et" in names and "periode" in names:
        kind = WIDE
        missing = []
        extra = [p for p in names if p not in ("finess_et", "periode") and p not in ref.count_codes]
    else:
        expected = (
            "référentiel (finess_et, finess_ej, raison_sociale), usages au format long "
            "(finess_et, periode, indicateur, valeur) ou au format large "
            "(finess_et, periode, une colonne par comptage)"
        )
        return Layout("", {}), problems + [
            Problem(
                file,
                1,
                None,
                f"type de fichier non reconnu d'après ses colonnes ; attendu : {expected}",
            )
        ]

    for col in missing:
        problems.append(Problem(file, 1, None, f"colonne obligatoire absente : {col}"))
    rate_codes = set(ref.rate_codes)
    for name in extra:
        header = headers[names[name]]
        if name in rate_codes:
            problems.append(
                Problem(
                    file, 1, header, f"{name} est un taux : les taux sont calculés, pas importés"
                )
            )
        else:
            problems.append(
                Problem(
                    file, 1, header, f"colonne inattendue pour un fichier de {KIND_LABELS[kind]}"
                )
            )
    if kind == WIDE:
        for pos in unknown:
            problems.append(
                Problem(
                    file,
                    1,
                    headers[pos] or f"n° {pos + 1}",
                    "colonne inconnue ; colonnes de comptage connues : "
                    + ", ".join(ref.count_codes),
                )
            )
        unknown = []
    columns = {name: pos for name, pos in names.items() if name not in extra}
    return Layout(kind, columns, tuple(unknown)), problems
