"""Column names: header synonyms, and the kind of a file recognised from its columns.

Headers match whatever their case, accents, spaces or underscores (see ``text.normalize_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dui_metrics.errors import Problem
from dui_metrics.referentiel import Referentiel
from dui_metrics.text import normalize_key, words

REFERENCE = "etablissements"
LONG = "usages_long"
WIDE = "usages_large"

KIND_LABELS = {
    REFERENCE: "référentiel des établissements",
    LONG: "usages (format long)",
    WIDE: "usages (format large)",
    # record-level files (issue 14): imports.kind of records_store
    "dossiers:dossiers": "dossiers (séjours et statuts INS)",
    "dossiers:projets_personnalises": "dossiers : projets personnalisés",
    "dossiers:evenements": "dossiers : événements",
    "dossiers:documents_dmp": "dossiers : documents DMP",
    "dossiers:messages_mss": "dossiers : messages MSSanté",
    "tddui": "dossiers TDDUI (FHIR)",
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


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Data that identify a person (domain.md §7): names, birth dates, addresses, e-mail addresses,
# telephone numbers, NIR / matricule INS. A header is matched by its words (``text.words``:
# split on case, underscores, spaces and punctuation, folded) and their usual stems, never by
# a bare prefix: « Nombre de … » is not « nom », ``ins_qualifiees`` is not a matricule INS.
# What each kind is, as the message says it → the words that name it. A file with such a
# column is refused: the store keeps aggregated counts only.
IDENTIFYING: dict[str, frozenset[str]] = {
    "nom": _word_set(
        """
        nom noms name names surname lastname familyname fullname middlename maidenname birthname
        username nomprenom prenomnom nomusage nomnaissance nomfamille patronyme
    """
    ),
    "prénom": _word_set("""prenom prenoms firstname givenname forename forenames"""),
    "date de naissance": _word_set(
        """
        naissance naiss nais naissances ddn dob birth birthdate birthday dateofbirth
        datenaissance datenaiss datedenaissance
    """
    ),
    "adresse": _word_set(
        """
        adresse adresses adress address addresses adr domicile adressepostale streetaddress
        street
    """
    ),
    "adresse e-mail": _word_set(
        """
        mail mails email emails courriel courriels mel emailaddress adressemail adresseemail
    """
    ),
    "téléphone": _word_set(
        """
        tel telephone telephones phone phones phonenumber telephonenumber mobilephone cellphone
        numtel telportable gsm
    """
    ),
    "NIR / matricule INS": _word_set(
        """
        nir nirpp secu nss ssn matricule numsecu numerosecu nosecu insnir insnia matriculeins
        numins numeroins
    """
    ),
}
_KIND_OF_WORD = {word: kind for kind, names in IDENTIFYING.items() for word in names}
# « Nom OG », « Nom établissement », « Adresse de l'établissement », « Téléphone accueil »: the
# name or the contact details of something other than a person, unless a word says it is a
# person's all the same (« Nom du directeur de l'établissement », « Email contact éditeur »).
_NOT_A_PERSON = _word_set(
    """
        og organisme organismes gestionnaire gestionnaires etablissement etablissements etab
        esms ej structure structures association entite societe raison sociale service services
        pole site unite equipe groupe editeur editeurs logiciel logiciels application solution
        produit fichier indicateur indicateurs commande commune ville departement region
        categorie organisation organization facility establishment provider company commercial
        enseigne software vendor file accueil standard secretariat siege
    """
)
# Places: the name of a town is not a person's, but « Adresse commune » or « adresse_ville »
# may be a part of a person's address: they do not make an address an organisation's.
_PLACE = _word_set("""commune ville departement region""")
_PERSON = _word_set(
    """
        prenom prenoms naissance usage famille patient patients usager usagers personne
        personnes beneficiaire resident residente client directeur directrice responsable
        referent referente contact medecin salarie agent professionnel first last family given
        middle maiden full user person domicile perso personnel personnelle prive privee
    """
)
# The kinds that an organisation also has: its name and its contact details.
_ORGANISATION_KINDS = frozenset({"nom", "adresse", "adresse e-mail", "téléphone"})
# Words that make a header a count or a rate of something (« Nombre d'adresses mail »,
# « Taux d'INS qualifiées »): aggregated, never identifying.
_AGGREGATE = _word_set(
    """
        nombre nb nbr nbre taux total totaux somme pourcentage proportion part ratio moyenne
        count percent percentage rate share
    """
)
_NUMBER = _word_set("""n no nr num numero number id identifiant matricule""")
# « Mails envoyés », « Courriels reçus »: messages (a count), not an address.
_MESSAGES = _word_set(
    """envoye envoyes envoyee envoyees recu recus recue recues echange echanges sent received"""
)
# A place, with a birth word: « Commune de naissance » is a place of birth, not a date.
_BIRTH_PLACE = _word_set("""lieu commune ville pays departement localite place city country town""")
# Headers written in capitals without separators (« NOMUSAGER », « DATENAIS », « NUMSS »,
# « TELPORT ») are one word for ``text.words``: such a word is read as the words it is made of
# when it is made, whole, of the words below: a stem of ``IDENTIFYING``, the words that say
# whose it is or which one (usager, patient, naiss, fixe, port, jf…) and the words that come
# before a birth date or a number (d, dd, date, n, no, num, numero). Never a bare prefix:
# « NOMBREUSAGERS », « TELETRANSMISSION », « ADRESSAGE » are made of no such words and stay
# one unknown word.
_GLUED = frozenset(
    _KIND_OF_WORD.keys()
    | _PERSON
    | _word_set(
        """
        d dd dt date n no nr num numero ss jf fixe port portable mobile pro principal secondaire
    """
    )
)
_GLUED_LONGEST = max(len(w) for w in _GLUED)


def _unglue(word: str) -> list[str]:
    """``word`` as two or more words of ``_GLUED`` (the fewest), or as itself."""
    if word in _KIND_OF_WORD or not word.isalpha():
        return [word]
    # best[i]: the fewest words of _GLUED making word[:i], or None
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _GLUED_LONGEST), end):
            head, piece, current = best[start], word[start:end], best[end]
            if (
                head is not None
                and piece in _GLUED
                and (current is None or len(head) + 1 < len(current))
            ):
                best[end] = [*head, piece]
    found = best[-1]
    return found if found is not None and len(found) >= 2 else [word]


def _words(header: str) -> list[str]:
    """The words of a header, glued words taken apart, « identifiant national de santé »
    read as « ins »."""
    found = [piece for word in words(header) for piece in _unglue(word)]
    for i in range(len(found) - 2):
        if found[i : i + 2] == ["identifiant", "national"] and "sante" in found[i + 2 : i + 4]:
            end = found.index("sante", i + 2) + 1
            found[i:end] = ["ins"]
            break
    return found


def identifying(header: str) -> str | None:
    """What identifying data a header names (a key of ``IDENTIFYING``, or « lieu de
    naissance »), or None.

    Known columns and indicators are never asked about (``detect_layout``)."""
    found = _words(header)
    if not found or found[0] in _AGGREGATE or found[:2] == ["number", "of"]:
        return None
    seen = set(found)
    kinds = {_KIND_OF_WORD[w] for w in found if w in _KIND_OF_WORD}
    if (
        ("ins" in seen and ("nir" in seen or "nia" in seen or seen & _NUMBER or seen == {"ins"}))
        or ("ss" in seen and seen & _NUMBER)  # « N° SS », « numero_ss », « NUMSS »
        or ("securite" in seen and "sociale" in seen)
        or ("social" in seen and "security" in seen)
    ):
        kinds.add("NIR / matricule INS")
    if any(w in ("ne", "nee") and "le" in found[i + 1 : i + 3] for i, w in enumerate(found)):
        kinds.add("date de naissance")  # « né le », « né(e) le »
    if "nom" in kinds and seen & {"first", "given", "fore"}:
        kinds.discard("nom")  # « first name »
        kinds.add("prénom")
    if seen in ({"portable"}, {"mobile"}):
        kinds.add("téléphone")
    if "adresse e-mail" in kinds or ("electronique" in seen and "adresse" in kinds):
        kinds.discard("adresse")
        kinds.add("adresse e-mail")
    if seen & _BIRTH_PLACE and "date de naissance" in kinds and "date" not in seen:
        kinds.discard("date de naissance")
        kinds.add("lieu de naissance")
    if (
        kinds == {"adresse e-mail"}
        and seen & _MESSAGES
        and not seen & {"adresse", "adresses", "address", "addresses"}
    ):
        return None  # « Mails envoyés »: a count of messages
    organisation = seen & _NOT_A_PERSON if kinds == {"nom"} else seen & _NOT_A_PERSON - _PLACE
    if kinds and kinds <= _ORGANISATION_KINDS and organisation and not seen & _PERSON:
        return None  # the name or the contact details of an organisation, a software, a file…
    for kind in (*IDENTIFYING, "lieu de naissance"):  # the first kind, in a stable order
        if kind in kinds:
            return kind
    return None


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


AGGREGATES_ONLY = "ne garde que des comptages agrégés"


def map_headers(
    file: str, headers: list[str], name_of, kept: str = AGGREGATES_ONLY, line: int = 1
) -> tuple[dict[str, int], list[int], list[Problem]]:
    """Each header's column by ``name_of(header)`` (None: not a known column): the known
    columns by position, the positions of the others (blank headers included), and the
    header's problems on its ``line`` (1, or the line below a title): an identifying column
    (what dui-metrics ``kept`` says what it keeps instead), a column named twice."""
    problems: list[Problem] = []
    names: dict[str, int] = {}
    unknown: list[int] = []
    for pos, header in enumerate(headers):
        if not str(header).strip():
            unknown.append(pos)
            continue
        name = name_of(header)
        personal = identifying(header) if name is None else None
        if personal:
            problems.append(
                Problem(
                    file,
                    line,
                    header,
                    f"donnée identifiante ({personal}) refusée : dui-metrics {kept}, "
                    "sans nom, date de naissance, adresse, e-mail, téléphone ni NIR / "
                    "matricule INS ; retirez cette colonne de l'export",
                )
            )
        elif name is None:
            unknown.append(pos)
        elif name in names:
            problems.append(
                Problem(
                    file,
                    line,
                    header,
                    f"colonne en double : « {headers[names[name]]} » et « {header} » "
                    f"désignent toutes deux {name}",
                )
            )
        else:
            names[name] = pos
    return names, unknown, problems


def detect_layout(
    file: str, headers: list[str], ref: Referentiel, line: int = 1
) -> tuple[Layout, list[Problem]]:
    """Recognise the kind of a file from its header. Problems are errors on the header's ``line``."""
    indicator_lookup = ref.name_lookup()
    names, unknown, problems = map_headers(
        file,
        headers,
        lambda h: canonical(h) or indicator_lookup.get(normalize_key(h)),
        line=line,
    )

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
                line,
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
            problems.append(Problem(file, line, None, f"colonne obligatoire absente : {col}"))
    if kind == WIDE and not any(code in names for code in ref.count_codes):
        problems.append(
            Problem(
                file,
                line,
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
                    file, line, header, f"{name} est un taux : les taux sont calculés, pas importés"
                )
            )
        elif kind == LONG and name in ref.count_codes:
            problems.append(
                Problem(
                    file,
                    line,
                    header,
                    "colonne de comptage dans un fichier au format long (finess_et, periode, "
                    "indicateur, valeur) : choisissez l'un ou l'autre format",
                )
            )
        else:
            warnings.append(
                Problem(
                    file, line, header, f"colonne ignorée dans un fichier de {KIND_LABELS[kind]}"
                )
            )
    for pos in unknown:
        header = headers[pos]
        if not str(header).strip():
            warnings.append(Problem(file, line, f"n° {pos + 1}", "colonne sans en-tête ignorée"))
        elif kind == WIDE:
            problems.append(
                Problem(
                    file,
                    line,
                    header,
                    "colonne inconnue ; colonnes de comptage connues : "
                    + ", ".join(ref.count_codes),
                )
            )
        else:
            warnings.append(
                Problem(file, line, header, f"colonne inconnue ignorée ({KIND_LABELS[kind]})")
            )
    columns = {name: pos for name, pos in names.items() if name not in extra}
    return Layout(kind, columns, tuple(warnings)), problems
