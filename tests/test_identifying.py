"""Identifying data (domain.md §7, issue 12 item 5): headers naming a person's data refuse the
file, whatever their spelling; headers of known columns, indicators, counts and organisations'
names do not. Both lists are checked whole, at the header and through a real ingest."""

from __future__ import annotations

import pytest

from dui_metrics.ingest import ingest_file
from dui_metrics.ingest.columns import REFERENCE, SYNONYMS, detect_layout, identifying

E1, E2 = "690000013", "690000005"  # Luhn keys OK
REFERENCE_HEADER = ["finess_et", "finess_ej", "raison_sociale"]

# header → what the message calls it (the kind of ``IDENTIFYING``), worked out by hand from its
# words: "nom_usage" → nom + usage → a person's name; "Prénom(s)" → prenom + s; ...
REFUSED = {
    # names
    "Nom": "nom",
    "nom_usage": "nom",
    "Nom d'usage": "nom",
    "Nom de naissance": "nom",
    "nom_naissance": "nom",
    "Nom de famille": "nom",
    "NOM PATIENT": "nom",
    "Nom de l'usager": "nom",
    "nom et prénom": "nom",  # nom + prénom: the first kind in IDENTIFYING's order
    "nom_prenom": "nom",
    "NomPrenom": "nom",
    "last_name": "nom",
    "lastname": "nom",
    "LastName": "nom",
    "surname": "nom",
    "family name": "nom",
    "full_name": "nom",
    "name": "nom",
    "Nom du directeur de l'établissement": "nom",  # a person, even beside « établissement »
    # capitals without separators: one word for text.words, read as the words it is made of
    "NOMUSAGER": "nom",
    "NOMPATIENT": "nom",
    "NOMNAIS": "nom",  # nom + nais(sance)
    "NOMJF": "nom",  # nom de jeune fille
    "PRENOMUSAGER": "prénom",
    "PRENOMPATIENT": "prénom",
    # first names
    "prénom": "prénom",
    "prenoms": "prénom",
    "Prénom(s)": "prénom",
    "first_name": "prénom",
    "firstname": "prénom",
    "FirstName": "prénom",
    "given name": "prénom",
    # birth
    "date_naiss": "date de naissance",
    "date de naissance": "date de naissance",
    "Date naissance": "date de naissance",
    "DDN": "date de naissance",
    "dob": "date de naissance",
    "DOB": "date de naissance",
    "birthdate": "date de naissance",
    "birth_date": "date de naissance",
    "date_of_birth": "date de naissance",
    "dateOfBirth": "date de naissance",
    "né le": "date de naissance",
    "Né(e) le": "date de naissance",
    "naissance": "date de naissance",
    "DATENAIS": "date de naissance",
    "DATE_NAIS": "date de naissance",
    "DDNAISS": "date de naissance",
    "DNAIS": "date de naissance",
    "lieu de naissance": "lieu de naissance",
    "Commune de naissance": "lieu de naissance",
    # NIR, matricule INS
    "nir": "NIR / matricule INS",
    "NIR usager": "NIR / matricule INS",
    "nir_usager": "NIR / matricule INS",
    "NIRUsager": "NIR / matricule INS",
    "num_secu": "NIR / matricule INS",
    "n° sécu": "NIR / matricule INS",
    "numéro de sécurité sociale": "NIR / matricule INS",
    "nss": "NIR / matricule INS",
    "ssn": "NIR / matricule INS",
    "social security number": "NIR / matricule INS",
    "matricule INS": "NIR / matricule INS",
    "numéro INS": "NIR / matricule INS",
    "n° INS": "NIR / matricule INS",
    "INS": "NIR / matricule INS",
    "INS-NIR": "NIR / matricule INS",
    "INS-NIA": "NIR / matricule INS",
    "ins_nir": "NIR / matricule INS",
    "matricule": "NIR / matricule INS",
    "N° SS": "NIR / matricule INS",
    "numero_ss": "NIR / matricule INS",
    "NUM_SS": "NIR / matricule INS",
    "NO_SS": "NIR / matricule INS",
    "NUMSS": "NIR / matricule INS",
    "Identifiant national de santé": "NIR / matricule INS",
    # addresses
    "adresse": "adresse",
    "Adresse postale": "adresse",
    "adresse du domicile": "adresse",
    "address": "adresse",
    "street address": "adresse",
    "StreetAddress": "adresse",
    "ADR": "adresse",
    "ADR1": "adresse",
    "adresse_commune": "adresse",  # a part of a person's address: a town is no organisation
    # e-mail
    "email": "adresse e-mail",
    "e-mail": "adresse e-mail",
    "E-Mail": "adresse e-mail",
    "mail": "adresse e-mail",
    "courriel": "adresse e-mail",
    "adresse mail": "adresse e-mail",
    "adresse électronique": "adresse e-mail",
    "email_address": "adresse e-mail",
    "Mél.": "adresse e-mail",
    "MAILUSAGER": "adresse e-mail",
    "EMAILUSAGER": "adresse e-mail",
    "Email contact éditeur": "adresse e-mail",  # a person's, even beside « éditeur »
    # telephone
    "téléphone": "téléphone",
    "telephone": "téléphone",
    "tél": "téléphone",
    "Tél.": "téléphone",
    "tel": "téléphone",
    "phone": "téléphone",
    "phone_number": "téléphone",
    "PhoneNumber": "téléphone",
    "téléphone portable": "téléphone",
    "portable": "téléphone",
    "mobile": "téléphone",
    "mobile phone": "téléphone",
    "n° de téléphone": "téléphone",
    "TELEPHONEFIXE": "téléphone",
    "TELPORT": "téléphone",
}

# Not identifying: organisations' names, counts, indicators, every known column. The known
# columns' and indicators' own spellings are added below from SYNONYMS and the référentiel.
ACCEPTED = [
    "Nom OG",
    "Nom établissement",
    "Nom de l'établissement",
    "Nom organisme gestionnaire",
    "og_nom",
    "nom_og",
    "raison_sociale",
    "Raison sociale",
    "Organisme gestionnaire",
    "Nom du logiciel",
    "Nom de l'éditeur",
    "Nom du fichier",
    "Nombre de personnes accompagnées",
    "Nombre de dossiers",
    "Nombre d'adresses mail envoyées",
    "nombre",
    "nb_naissances",
    "ins_qualifiees",
    "INS qualifiées",
    "Taux d'INS qualifiées",
    "Taux de dossiers actifs",
    "Statut INS",
    "finess",
    "editeur",
    "logiciel",
    "commande",
    "n° commande",
    "Messages MSSanté envoyés",
    "Équipe mobile",
    "Connaissance du dispositif",  # holds "naiss", but as a part of a word
    "Hôtel",  # holds "tel", as a part of a word
    "Service",
    "Commentaire",
    "Horaires",
    "Date de déploiement",
    "Sécurité des données",
    "Numéro de commande",
    # an organisation's contact details (unknown columns: see the test below)
    "Adresse MSSanté de l'établissement",
    "Adresse de l'établissement",
    "Adresse OG",
    "Téléphone de l'établissement",
    "Email établissement",
    "Courriel de l'établissement",
    "Téléphone accueil",
    "MAILS_ENVOYES",  # a count of messages
    # words in capitals that begin like an identifying word but are made of other words
    "Nombre d'usagers",
    "NB_USAGERS",
    "NOMBRE_USAGERS",
    "NOMBREUSAGERS",
    "Nombre de mails envoyés",
    "mss_messages_envoyes",
    "Télétransmission",
    "TELETRANSMISSION",
    "ADRESSAGE",
    "Identifiant national de santé qualifié",  # « INS qualifiées »
]


@pytest.fixture(scope="module")
def known(ref_module) -> list[str]:
    """Every spelling of a known column or indicator: never identifying."""
    names = [name for names in SYNONYMS.values() for name in names]
    for ind in ref_module.indicators:
        names += [ind.code, ind.label, *ind.synonyms]
    return names


@pytest.fixture(scope="module")
def ref_module():
    from dui_metrics import referentiel

    return referentiel.default()


def test_the_lists_are_long_enough() -> None:
    assert len(REFUSED) >= 57 and len(ACCEPTED) >= 30


@pytest.mark.parametrize(("header", "kind"), REFUSED.items(), ids=list(REFUSED))
def test_an_identifying_header_is_named_and_refuses_the_file(
    header, kind, ref_module, store, write_file, ref
) -> None:
    assert identifying(header) == kind
    _, problems = detect_layout("etab.csv", [*REFERENCE_HEADER, header], ref_module)
    assert [str(p) for p in problems] == [
        f"etab.csv, ligne 1, colonne {header} : donnée identifiante ({kind}) refusée : "
        "dui-metrics ne garde que des comptages agrégés, sans nom, date de naissance, adresse, "
        "e-mail, téléphone ni NIR / matricule INS ; retirez cette colonne de l'export"
    ]
    # Through a real ingest, in a usage file: refused whole, nothing stored.
    path = write_file(
        "usages.csv", f"finess_et;periode;ins_qualifiees;{header}\n{E1};2025-05;4;x\n"
    )
    result = ingest_file(store, path, ref)
    assert result.status == "refusé"
    assert f"donnée identifiante ({kind})" in str(result.error)
    assert store.execute("select count(*) from usage").fetchall() == [(0,)]


@pytest.mark.parametrize("header", ACCEPTED)
def test_a_header_that_is_not_identifying_is_accepted(header, ref_module, known) -> None:
    assert identifying(header) is None
    layout, problems = detect_layout("etab.csv", [*REFERENCE_HEADER, header], ref_module)
    assert not [p for p in problems if "identifiante" in p.message]


def test_no_known_column_or_indicator_is_refused_as_identifying(ref_module, known) -> None:
    # A known column or indicator is never identifying, whatever identifying() says of it.
    refused = []
    for header in known:
        _, problems = detect_layout("f.csv", ["finess_et", "periode", header], ref_module)
        refused += [header for p in problems if "identifiante" in p.message]
    assert refused == []
    # and identifying() itself names none of them
    assert [h for h in known if identifying(h)] == []


def test_an_organisation_name_column_loads_in_a_reference_file(store, write_file, ref) -> None:
    # « Nom de l'éditeur » is not a known column: ignored with a warning, the file loads.
    path = write_file(
        "etab.csv",
        "FINESS ET;FINESS EJ;Nom établissement;Nom OG;Nom de l'éditeur;Nombre de places\n"
        f"{E1};{E2};EHPAD A;Association B;Logidom;80\n",
    )
    result = ingest_file(store, path, ref)
    assert result.status == "chargé", result.error
    assert [str(w) for w in result.warnings] == [
        f"{path}, ligne 1, colonne Nom de l'éditeur : colonne inconnue ignorée "
        "(référentiel des établissements)",
        f"{path}, ligne 1, colonne Nombre de places : colonne inconnue ignorée "
        "(référentiel des établissements)",
    ]
    assert result.kind == REFERENCE


def test_an_organisation_contact_column_is_an_unknown_column(store, write_file, ref) -> None:
    # Not identifying, but not a known column either: a reference file ignores it with a
    # warning, a wide usage file refuses it as it refuses any unknown column.
    headers = ["Adresse MSSanté de l'établissement", "Téléphone accueil", "Email établissement"]
    path = write_file(
        "etab.csv",
        "finess_et;finess_ej;raison_sociale;" + ";".join(headers) + "\n"
        f"{E1};{E2};EHPAD A;ehpad-a@ehpad.mssante.fr;01 02 03 04 05;accueil@ehpad-a.fr\n",
    )
    result = ingest_file(store, path, ref)  # ignored columns: their values are not kept
    assert result.status == "chargé", result.error
    assert [str(w) for w in result.warnings] == [
        f"{path}, ligne 1, colonne {h} : colonne inconnue ignorée (référentiel des établissements)"
        for h in headers
    ]
    path = write_file(
        "usages.csv",
        "finess_et;periode;ins_qualifiees;" + ";".join(headers) + f"\n{E1};2025-05;4;x;y;z\n",
    )
    result = ingest_file(store, path, ref)
    assert result.status == "refusé"
    assert [p.message.split(" ;")[0] for p in result.error.problems] == ["colonne inconnue"] * 3
    assert store.execute("select count(*) from usage").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("value", "looks"),
    [
        pytest.param("1400275123456", "un NIR", id="nir-13-digits"),
        pytest.param("140027512345678", "un NIR", id="nir-15-digits"),
        pytest.param("1 40 02 75 123 456 78", "un NIR", id="nir-in-groups"),
        pytest.param("1 85 07 2A 123 456 78", "un NIR", id="nir-corsica-in-groups"),
        pytest.param("185072A12345678", "un NIR", id="nir-corsica"),
        pytest.param("285072B123456", "un NIR", id="nir-corsica-13"),
        pytest.param("1.85.07.75.123.456.78", "un NIR", id="nir-dots"),
        pytest.param("1-85-07-75-123-456-78", "un NIR", id="nir-hyphens"),
        pytest.param("1  85  07  75  123  456  78", "un NIR", id="nir-spaces"),
        pytest.param("OG 1400275123456 bis", "un NIR", id="nir-inside-text"),
        pytest.param("jeanne.dupont@example.org", "une adresse e-mail", id="email"),
        pytest.param("14002751234567", None, id="14-digits-siret"),
        pytest.param("BC-2024-0012", None, id="order-id"),
        pytest.param("690000013", None, id="finess"),
        pytest.param("140-027-512-345-67", None, id="14-digits-in-groups"),
        pytest.param("01.23.45.67.89", None, id="phone-number"),
        pytest.param("support@", None, id="at-sign-alone"),
    ],
)
def test_values_that_look_like_personal_data(value, looks) -> None:
    from dui_metrics.ingest.reference import personal_value

    found = personal_value(value)
    assert (found and found.removeprefix("ressemble à ").split(" (")[0]) == looks


def test_a_reference_value_like_a_nir_refuses_the_file_without_showing_it(
    store, write_file, ref
) -> None:
    path = write_file(
        "etab.csv",
        "finess_et;finess_ej;raison_sociale;commande\n"
        f"{E1};{E2};EHPAD A;1400275123456\n"
        f"690000021;{E2};EHPAD B;14002751234567\n",  # 14 digits: not a NIR, loads
    )
    result = ingest_file(store, path, ref)
    assert result.status == "refusé"
    assert [str(p) for p in result.error.problems] == [
        f"{path}, ligne 2, colonne commande : ressemble à un NIR (13 ou 15 chiffres) : "
        "dui-metrics ne garde aucune donnée identifiante ; retirez-la du fichier (la valeur "
        "n'est pas reprise ici)"
    ]
    assert "1400275123456" not in str(result.error)
    assert store.execute("select count(*) from establishments").fetchall() == [(0,)]
