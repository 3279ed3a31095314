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

# Headers of data that identify a person (domain.md §7): names, birth dates, addresses, NIR /
# matricule INS. What each is, as the message says it → headers (normalized before comparison).
# A file with such a column is refused: the store keeps aggregated counts only.
IDENTIFYING: dict[str, tuple[str, ...]] = {
    "nom": (
        "nom",
        "nom de naissance",
        "nom d'usage",
        "nom usage",
        "nom de famille",
        "nom patient",
        "nom usager",
        "nom du patient",
        "nom de l'usager",
        "nom prenom",
    ),
    "prénom": ("prenom", "prenoms", "prenom patient", "prenom usager", "premier prenom"),
    "date de naissance": ("date de naissance", "date naissance", "ddn", "naissance", "ne le"),
    "adresse": ("adresse", "adresse postale", "adresse du domicile", "domicile"),
    "NIR / matricule INS": (
        "nir",
        "matricule ins",
        "numero de securite sociale",
        "n securite sociale",
        "numero secu",
        "n secu",
        "nss",
        "ins nir",
        "identifiant ins",
        "numero ins",
    ),
}
_IDENTIFYING = {normalize_key(h): what for what, heads in IDENTIFYING.items() for h in heads}


def identifying(header: str) -> str | None:
    """What identifying data a header names (``IDENTIFYING``), or None."""
    return _IDENTIFYING.get(normalize_key(header))


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
    warnings: tuple[Problem, ...] = ()  # columns ignored, said to the user


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
        personal = identifying(header) if name is None else None
        if personal:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    f"donnée identifiante ({personal}) refusée : dui-metrics ne "
                    "garde que des comptages agrégés, sans nom, date de naissance, adresse ni "
                    "NIR / matricule INS ; retirez cette colonne de l'export",
                )
            )
        elif name is None:
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

    has_long = "indicateur" in names or "valeur" in names
    if "periode" in names:
        kind = LONG if has_long else WIDE
    elif "finess_ej" in names or "raison_sociale" in names:
        kind = REFERENCE
    elif has_long:
        kind = LONG
    else:
        expected = (
            "référentiel (finess_et, finess_ej, raison_sociale), usages au format long "
            "(finess_et, periode, indicateur, valeur) ou au format large "
            "(finess_et, periode, une colonne par comptage)"
        )
        shown = [f"« {h} »" for h in headers[:8] if str(h).strip()]
        read = ", ".join(shown) + (", …" if len(headers) > 8 else "")
        return Layout("", {}), problems + [
            Problem(
                file,
                1,
                None,
                f"type de fichier non reconnu d'après ses colonnes ({read or 'aucune'}) ; "
                f"attendu : {expected}",
            )
        ]

    wanted = {
        REFERENCE: REFERENCE_COLUMNS,
        LONG: LONG_COLUMNS,
        WIDE: ("finess_et", "periode", *ref.count_codes),
    }[kind]
    required = {REFERENCE: REFERENCE_REQUIRED, LONG: LONG_COLUMNS, WIDE: ("finess_et", "periode")}
    for col in required[kind]:
        if col not in names:
            problems.append(Problem(file, 1, None, f"colonne obligatoire absente : {col}"))
    if kind == WIDE and not any(code in names for code in ref.count_codes):
        problems.append(
            Problem(
                file,
                1,
                None,
                "aucune colonne de comptage ; colonnes de comptage connues : "
                + ", ".join(ref.count_codes),
            )
        )
    extra = [name for name in names if name not in wanted]
    rate_codes = set(ref.rate_codes)
    warnings: list[Problem] = []
    for name in extra:
        header = headers[names[name]]
        if name in rate_codes:
            problems.append(
                Problem(
                    file, 1, header, f"{name} est un taux : les taux sont calculés, pas importés"
                )
            )
        elif kind == LONG and name in ref.count_codes:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    "colonne de comptage dans un fichier au format long (finess_et, periode, "
                    "indicateur, valeur) : choisissez l'un ou l'autre format",
                )
            )
        else:
            warnings.append(
                Problem(file, 1, header, f"colonne ignorée dans un fichier de {KIND_LABELS[kind]}")
            )
    for pos in unknown:
        header = headers[pos]
        if not str(header).strip():
            warnings.append(Problem(file, 1, f"n° {pos + 1}", "colonne sans en-tête ignorée"))
        elif kind == WIDE:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    "colonne inconnue ; colonnes de comptage connues : "
                    + ", ".join(ref.count_codes),
                )
            )
        else:
            warnings.append(
                Problem(file, 1, header, f"colonne inconnue ignorée ({KIND_LABELS[kind]})")
            )
    columns = {name: pos for name, pos in names.items() if name not in extra}
    return Layout(kind, columns, tuple(warnings)), problems
