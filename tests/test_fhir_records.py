"""TDDUI FHIR bundles → records (`ingest.fhir.parse_bundle`), on the official ANS examples
(CC0, copied in ``tests/data/tddui``), with every expected value worked out by hand from the
JSON, then counted on a real DuckDB store (référentiel defaults: activity window 3 months, PP
validity 12 months)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dui_metrics.errors import ExportError
from dui_metrics.ingest.fhir import iter_chunks, parse_bundle, parse_bundles
from dui_metrics.records import count_base

TDDUI = Path(__file__).resolve().parent / "data" / "tddui"  # see its SOURCES.md
BUNDLE = TDDUI / "Bundle-tddui-bundle-example.json"
FINESS = "480787529"  # Organization idNatSt "1480787529" minus its first digit
DOSSIER = "3480787529/194704032"  # the Patient's PI identifier, as written
SEJOUR = "Encounter/tddui-encounter-sejour-example"
D = dt.date


def load(name: str) -> dict:
    return json.loads((TDDUI / name).read_text(encoding="utf-8"))


def official() -> dict:
    return load(BUNDLE.name)


def resource(bundle: dict, ident: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == ident)


def rows(recs, table: str) -> list[tuple]:
    frame = recs.tables[table]
    return [tuple(r) for r in frame.itertuples(index=False)]


def counts(store, ref, recs) -> dict[tuple[str, str, str], int]:
    frame = count_base(store, ref, recs)
    return {
        (f, p.strftime("%Y-%m"), i): v
        for f, p, i, v in zip(
            frame["finess_et"], frame["periode"], frame["indicateur"], frame["valeur"], strict=True
        )
    }


def messages(error: pytest.ExceptionInfo) -> list[str]:
    """Each problem as « resource : message » (the resource is the problem's column)."""
    return [f"{p.column} : {p.message}" if p.column else p.message for p in error.value.problems]


# --- the official bundle ----------------------------------------------------------------------


def test_official_bundle_gives_exact_tables(store, ref) -> None:
    recs = parse_bundle(official(), "Bundle-tddui-bundle-example.json")
    # séjour: period.start 2023-04-14, no period.end (status in-progress: still open)
    assert rows(recs, "rec_sejours") == [(FINESS, DOSSIER, D(2023, 4, 14), None)]
    # identityStatus VALI with an official INS-NIR identifier: qualifiée (README's reading);
    # no validationDate: dated by the séjour's entry
    assert rows(recs, "rec_ins") == [(FINESS, DOSSIER, "qualifiee", D(2023, 4, 14))]
    # événement 2023-04-14T10:30:00+02:00, status finished; its ESMS is its own serviceProvider
    # (the same Organization as the séjour's)
    assert rows(recs, "rec_evenements") == [(FINESS, DOSSIER, D(2023, 4, 14), "realise")]
    assert rows(recs, "rec_pp") == []  # no CarePlan in the bundle
    assert recs.documents is None and recs.messages is None  # TDDUI carries neither

    got = counts(store, ref, recs)
    # coverage: April 2023, the month of the only activity (the événement); the ESMS from
    # April 2023 (its séjour's entry). d = the one dossier:
    #   personnes_accompagnees 1 (séjour open), dossiers_actifs 1 (its event in April),
    #   avec_evenement 1, avec_pp 0 (no PP), ins_qualifiees 1 (qualifiée since 14/04 ≤ 30/04);
    #   DMP and MSSanté: no row (missing, not zero)
    assert got == {
        (FINESS, "2023-04", "personnes_accompagnees"): 1,
        (FINESS, "2023-04", "dossiers_actifs"): 1,
        (FINESS, "2023-04", "dossiers_actifs_avec_pp"): 0,
        (FINESS, "2023-04", "dossiers_actifs_avec_evenement"): 1,
        (FINESS, "2023-04", "ins_qualifiees"): 1,
    }


def personal_values(data: dict) -> set[str]:
    """What the official bundle's Patient holds that must never come out (domain.md §7)."""
    patient = resource(data, "tddui-patient-ins-example")
    official_name = patient["name"][0]
    return {
        official_name["family"],  # DUPONT
        *official_name["given"],  # Jean
        official_name["extension"][0]["valueString"],  # Jean Stéphane Patrick
        patient["birthDate"],  # 1947-04-03
        next(
            i["value"] for i in patient["identifier"] if i["type"]["coding"][0]["code"] == "INS-NIR"
        ),
        patient["address"][0]["text"],
        *patient["address"][0]["line"],
        patient["address"][0]["city"],
        patient["address"][0]["postalCode"],
        patient["extension"][1]["valueAddress"]["city"],  # birth place
    }


def assert_none_in(values: list[str], personal: set[str]) -> None:
    assert values  # something was looked at
    for value in values:
        for secret in personal:
            assert secret.lower() not in value.lower(), (value, secret)


def test_no_direct_identifier_in_any_table(tmp_path) -> None:
    data = official()
    recs = parse_bundle(data, "b.json")
    values = [
        str(v)
        for table in recs.tables.values()
        for column in table.columns
        for v in table[column]
    ]  # fmt: skip
    assert_none_in(values, personal_values(data))
    # the same bundle read as a file, in chunks (`iter_chunks`): every cell of every table
    path = tmp_path / "b.ndjson"
    path.write_text(json.dumps(data) + "\n" + json.dumps(data) + "\n", encoding="utf-8")
    cells = [
        str(v)
        for chunk in iter_chunks(path, "b.ndjson", 1)
        for table in chunk.values()
        for column in table.columns
        for v in column.to_pylist()
    ]  # fmt: skip
    assert_none_in(cells, personal_values(data))


def test_no_direct_identifier_in_any_message(tmp_path) -> None:
    data = official()
    # every resource that reads the Patient gets a problem: the séjour's dates swapped, the
    # identity status unknown, the événement's date unreadable, a reference to nothing
    resource(data, "tddui-encounter-sejour-example")["period"] = {
        "start": "2023-04-14",
        "end": "2023-04-13",
    }
    patient = resource(data, "tddui-patient-ins-example")
    patient["extension"][0]["extension"][0]["valueCoding"]["code"] = "ZZZ"
    resource(data, "tddui-encounter-evenement-example")["period"]["start"] = "1947-04-33"
    resource(data, "tddui-encounter-evenement-example")["partOf"] = {"reference": "Encounter/x"}
    del resource(data, "tddui-encounter-evenement-example")["serviceProvider"]
    path = tmp_path / "b.ndjson"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    with pytest.raises(ExportError) as error:
        list(iter_chunks(path, "b.ndjson"))
    assert len(error.value.problems) == 4
    assert_none_in([str(error.value)], personal_values(data) | {"1947"})


def test_vali_without_official_ins_is_validee_and_validation_date_dates_it() -> None:
    data = official()
    patient = resource(data, "tddui-patient-ins-example")
    patient["identifier"] = [i for i in patient["identifier"] if i["system"].endswith("localusager.esante.gouv.fr")]  # fmt: skip
    patient["extension"][0]["extension"].append(
        {"url": "validationDate", "valueDate": "2023-05-02"}
    )
    recs = parse_bundle(data, "b.json")
    assert rows(recs, "rec_ins") == [(FINESS, DOSSIER, "validee", D(2023, 5, 2))]


def test_an_event_at_0030_plus_0200_on_the_first_lands_in_that_month(store, ref) -> None:
    data = official()
    resource(data, "tddui-encounter-evenement-example")["period"] = {
        "start": "2025-04-01T00:30:00+02:00",  # 2025-03-31T22:30Z in UTC
        "end": "2025-04-01T01:15:00+02:00",
    }
    recs = parse_bundle(data, "b.json")
    assert rows(recs, "rec_evenements") == [(FINESS, DOSSIER, D(2025, 4, 1), "realise")]
    got = counts(store, ref, recs)
    assert {k[1] for k in got} == {"2025-04"}  # coverage: April only, not March
    assert got[(FINESS, "2025-04", "dossiers_actifs_avec_evenement")] == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("cancelled", "annule"),
        ("planned", "planifie"),
        ("finished", "realise"),
        ("triaged", "realise"),
    ],  # fmt: skip
)
def test_event_status(status, expected) -> None:
    data = official()
    resource(data, "tddui-encounter-evenement-example")["status"] = status
    assert rows(parse_bundle(data, "b.json"), "rec_evenements")[0][3] == expected


# --- a bundle built from the standalone examples, urn:uuid references -------------------------

P, ORG, S, E, PA, IME = (f"urn:uuid:0000000{n}-0000-4000-8000-000000000000" for n in range(1, 7))


def built() -> dict:
    """Patient INS, Organization, séjour, événement and both projets personnalisés, with
    ``urn:uuid:`` fullUrls. The séjour and the PA CarePlan reference by urn:uuid; the
    événement has no serviceProvider and a relative ``partOf`` (resolved by type and id: an
    urn:uuid fullUrl has no base); the PA CarePlan gets a ``period.start`` (the official one
    has none), the IME one keeps none."""
    patient = load("Patient-tddui-patient-ins-example.json")
    org = load("Organization-tddui-organization-example.json")
    sejour = load("Encounter-tddui-encounter-sejour-example.json")
    sejour["subject"] = {"reference": P}
    sejour["serviceProvider"] = {"reference": ORG}
    event = load("Encounter-tddui-encounter-evenement-example.json")
    del event["serviceProvider"]
    event["partOf"] = {"reference": "Encounter/tddui-encounter-sejour-example"}
    event["subject"] = {"reference": P}
    event["period"] = {"start": "2023-05-03T09:00:00+02:00", "end": "2023-05-03T10:00:00+02:00"}
    pa = load("CarePlan-tddui-pp-pa-careplan-example.json")
    pa["subject"] = {"reference": P}
    pa["period"] = {"start": "2023-05-10"}
    ime = load("CarePlan-tddui-pp-ime-careplan-example.json")
    ime["subject"] = {"reference": "Patient/tddui-patient-ins-example"}
    entries = zip((P, ORG, S, E, PA, IME), (patient, org, sejour, event, pa, ime), strict=True)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": r} for url, r in entries],
    }


def test_built_bundle_resolves_urn_uuid_and_relative_references(store, ref) -> None:
    recs = parse_bundle(built(), "built.json")
    assert rows(recs, "rec_sejours") == [(FINESS, DOSSIER, D(2023, 4, 14), None)]
    # no serviceProvider: the ESMS of the séjour it is partOf
    assert rows(recs, "rec_evenements") == [(FINESS, DOSSIER, D(2023, 5, 3), "realise")]
    # PA: period.start 2023-05-10, in the ESMS of the patient's séjour; IME: no period, no row
    assert rows(recs, "rec_pp") == [(FINESS, DOSSIER, D(2023, 5, 10))]
    got = counts(store, ref, recs)
    # coverage: May 2023 only (the événement; a PP is no activity); the dossier open since
    # 14/04, active (event 03/05), with a PP (10/05) and an event in May; VALI + INS-NIR dated
    # 14/04: qualifiée at 31/05
    assert got == {
        (FINESS, "2023-05", "personnes_accompagnees"): 1,
        (FINESS, "2023-05", "dossiers_actifs"): 1,
        (FINESS, "2023-05", "dossiers_actifs_avec_pp"): 1,
        (FINESS, "2023-05", "dossiers_actifs_avec_evenement"): 1,
        (FINESS, "2023-05", "ins_qualifiees"): 1,
    }


def test_event_without_service_provider_nor_part_of_takes_the_patients_only_esms() -> None:
    data = built()
    del data["entry"][3]["resource"]["partOf"]
    assert rows(parse_bundle(data, "b.json"), "rec_evenements") == [
        (FINESS, DOSSIER, D(2023, 5, 3), "realise")
    ]


def test_patient_without_ins_has_no_ins_row() -> None:
    data = built()
    data["entry"][0]["resource"] = load("Patient-tddui-patient-example.json")
    data["entry"][5]["resource"]["subject"] = {"reference": P}  # IME: was by the INS patient's id
    recs = parse_bundle(data, "b.json")
    assert rows(recs, "rec_ins") == []  # no identityReliability: not qualified
    assert rows(recs, "rec_sejours") == [(FINESS, DOSSIER, D(2023, 4, 14), None)]


def test_parse_bundles_merges_and_names_the_bundle_in_errors() -> None:
    recs = parse_bundles([official(), built()], "export.ndjson")
    assert rows(recs, "rec_sejours") == [(FINESS, DOSSIER, D(2023, 4, 14), None)]  # once
    assert sorted(r[2] for r in rows(recs, "rec_evenements")) == [D(2023, 4, 14), D(2023, 5, 3)]
    assert recs.documents is None and recs.messages is None
    with pytest.raises(ExportError) as error:
        parse_bundles([official(), {"resourceType": "Patient"}], "export.ndjson")
    assert error.value.file == "export.ndjson, bundle 2"


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [{"resourceType": "Patient", "id": "x"}, [], "Bundle"])
def test_not_a_bundle(data) -> None:
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)"
    ]
    assert str(error.value).startswith("x.json : fichier refusé, 1 problème")


def test_a_bundle_without_tddui_resources() -> None:
    data = official()
    for entry in data["entry"]:
        del entry["resource"]["meta"]
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        "Bundle/tddui-bundle-example : ce Bundle n'est pas un export TDDUI : aucune ressource "
        "n'a de profil "
        "« https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/… »"
    ]
    assert error.value.problems[0].column == "Bundle/tddui-bundle-example"


def test_a_dangling_reference() -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["serviceProvider"] = {
        "reference": "Organization/x"
    }
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        f"{SEJOUR} : référence serviceProvider « Organization/x » introuvable dans le bundle"
    ]
    assert error.value.problems[0].column == SEJOUR
    assert f"x.json, colonne {SEJOUR} : " in str(error.value)


def test_a_dangling_urn_uuid_reference() -> None:
    data = built()
    data["entry"][2]["resource"]["subject"] = {"reference": "urn:uuid:nothing"}
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        f"{SEJOUR} : référence subject « urn:uuid:nothing » introuvable dans le bundle"
    ]


def test_a_sejour_without_finess_nor_dossier_id() -> None:
    data = official()
    resource(data, "tddui-organization-example")["identifier"] = []
    patient = resource(data, "tddui-patient-ins-example")
    patient["identifier"] = [i for i in patient["identifier"] if i.get("use") == "official"]
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert sorted(messages(error)) == [
        "Encounter/tddui-encounter-evenement-example : Organization/tddui-organization-example "
        "n'a pas d'identifiant idNatSt (FINESS)",
        "Encounter/tddui-encounter-evenement-example : Patient/tddui-patient-ins-example n'a pas "
        "d'identifiant local PI (système https://identifiant-medicosocial-localusager.esante.gouv.fr)"
        " : pas d'identifiant de dossier",
        f"{SEJOUR} : Organization/tddui-organization-example n'a pas d'identifiant idNatSt (FINESS)",
        f"{SEJOUR} : Patient/tddui-patient-ins-example n'a pas d'identifiant local PI (système "
        "https://identifiant-medicosocial-localusager.esante.gouv.fr) : pas d'identifiant de dossier",
    ]


def test_an_unreadable_date_is_named_not_quoted() -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["period"] = {"start": "1947-04-33"}
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        f"{SEJOUR} : period.start n'est pas une date (AAAA-MM-JJ ou date-heure FHIR attendue)"
    ]
    assert "1947" not in str(error.value)


def test_exit_before_entry() -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["period"]["end"] = "2023-04-13"
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [f"{SEJOUR} : la sortie (period.end) précède l'entrée (period.start)"]


def test_an_event_part_of_something_else_than_a_sejour() -> None:
    data = built()
    data["entry"][3]["resource"]["partOf"] = {"reference": E}  # itself, an événement
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        "Encounter/tddui-encounter-evenement-example : partOf "
        "« Encounter/tddui-encounter-evenement-example » n'est pas un séjour TDDUI"
    ]


def test_an_event_whose_esms_cannot_be_told() -> None:
    data = built()
    del data["entry"][3]["resource"]["partOf"]
    del data["entry"][2]  # the séjour: the patient has none
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        "Encounter/tddui-encounter-evenement-example : ni serviceProvider ni partOf, et "
        "l'usager n'a aucun séjour dans le bundle : ESMS de l'événement inconnu"
    ]


def test_identity_status_codes() -> None:
    data = official()
    status = resource(data, "tddui-patient-ins-example")["extension"][0]["extension"][0]
    status["valueCoding"]["code"] = "DOUT"  # table 0445, no RNIV status: no row
    assert rows(parse_bundle(data, "b.json"), "rec_ins") == []
    status["valueCoding"]["code"] = "PROV"
    assert rows(parse_bundle(data, "b.json"), "rec_ins")[0][2] == "provisoire"
    status["valueCoding"]["code"] = "XYZ"
    with pytest.raises(ExportError) as error:
        parse_bundle(data, "x.json")
    assert messages(error) == [
        "Patient/tddui-patient-ins-example : statut d'identité « XYZ » inconnu "
        "(PROV, RECUP, VALI, QUAL)"
    ]
