"""TDDUI files read in chunks (`ingest.fhir.iter_chunks`): the official ANS examples (CC0,
``tests/data/tddui``) written to real ``.json`` / ``.ndjson`` files, every expected row worked
out by hand from the JSON, and every bad input refused with its exact French message, file,
line and resource."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fhir_records import (
    BUNDLE,
    DOSSIER,
    FINESS,
    SEJOUR,
    TDDUI,
    built,
    load,
    official,
    resource,
)

from dui_metrics.errors import ExportError
from dui_metrics.ingest.fhir import is_fhir, iter_chunks

D = dt.date
SCHEMAS = {
    "sejours": "finess_et: string, dossier_id: string, date_entree: date32[day], "
    "date_sortie: date32[day], line: int32",
    "ins": "finess_et: string, dossier_id: string, statut: string, date_statut: date32[day], "
    "line: int32",
    "projets": "finess_et: string, dossier_id: string, date_pp: date32[day], line: int32",
    "evenements": "finess_et: string, dossier_id: string, date_evenement: date32[day], "
    "statut: string, line: int32",
}
EVENT = "Encounter/tddui-encounter-evenement-example"
PATIENT = "Patient/tddui-patient-ins-example"
OTHER_FINESS = "750000010"  # a second ESMS (Luhn key 0)


def schema(table: pa.Table) -> str:
    return ", ".join(f"{f.name}: {f.type}" for f in table.schema)


def read(path: Path, per_chunk: int = 2000) -> list[dict[str, list[tuple]]]:
    """The chunks of ``path`` as rows (tuples), each table's columns checked."""
    out = []
    for chunk in iter_chunks(path, path.name, per_chunk):
        assert list(chunk) == list(SCHEMAS)
        for name, table in chunk.items():
            assert schema(table) == SCHEMAS[name]
        out.append({n: [tuple(r.values()) for r in t.to_pylist()] for n, t in chunk.items()})
    return out


def refused(path: Path, per_chunk: int = 2000) -> ExportError:
    with pytest.raises(ExportError) as error:
        for _ in iter_chunks(path, path.name, per_chunk):
            pass
    assert error.value.kind == "tddui"
    return error.value


def said(error: ExportError) -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.column, p.message) for p in error.problems]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def write_ndjson(path: Path, lines: list[object | str]) -> Path:
    """One line per item: JSON of a bundle, or a string written as it is (blank, broken)."""
    text = "\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def elsewhere(data: dict, finess: str, local: str) -> dict:
    """``data`` (the official bundle) in another ESMS, for another dossier: the Organization's
    idNatSt and the Patient's PI changed, nothing else."""
    data = copy.deepcopy(data)
    org = resource(data, "tddui-organization-example")
    org["identifier"][0]["value"] = "1" + finess
    patient = resource(data, "tddui-patient-ins-example")
    pi = next(
        i for i in patient["identifier"] if i["system"].endswith("localusager.esante.gouv.fr")
    )
    pi["value"] = f"3{finess}/{local}"
    return data


# --- the official examples ------------------------------------------------------------------


def test_official_bundle_file(tmp_path) -> None:
    path = tmp_path / BUNDLE.name
    path.write_bytes(BUNDLE.read_bytes())  # the file as published
    # one bundle (line 1): the séjour from 14/04/2023, open (no period.end); identityStatus
    # VALI with an INS-NIR: qualifiée, dated by the séjour's entry (no validationDate); the
    # événement 2023-04-14T10:30:00+02:00, finished → réalisé; no CarePlan
    assert read(path) == [
        {
            "sejours": [(FINESS, DOSSIER, D(2023, 4, 14), None, 1)],
            "ins": [(FINESS, DOSSIER, "qualifiee", D(2023, 4, 14), 1)],
            "projets": [],
            "evenements": [(FINESS, DOSSIER, D(2023, 4, 14), "realise", 1)],
        }
    ]


def test_standalone_examples_in_one_bundle(tmp_path) -> None:
    # built(): the standalone Patient INS, Organization, séjour, événement and both CarePlans
    # (PA given period.start 2023-05-10, IME none) with urn:uuid fullUrls
    path = write_json(tmp_path / "built.json", built())
    assert read(path) == [
        {
            "sejours": [(FINESS, DOSSIER, D(2023, 4, 14), None, 1)],
            "ins": [(FINESS, DOSSIER, "qualifiee", D(2023, 4, 14), 1)],
            "projets": [(FINESS, DOSSIER, D(2023, 5, 10), 1)],  # PA only: IME has no date
            "evenements": [(FINESS, DOSSIER, D(2023, 5, 3), "realise", 1)],  # ESMS of partOf
        }
    ]


def test_patient_without_ins_example(tmp_path) -> None:
    data = built()
    data["entry"][0]["resource"] = load("Patient-tddui-patient-example.json")  # same PI
    data["entry"][5]["resource"]["subject"] = {"reference": data["entry"][0]["fullUrl"]}
    (chunk,) = read(write_json(tmp_path / "b.json", data))
    assert chunk["ins"] == []  # no identityReliability: not qualified, no row
    assert chunk["sejours"] == [(FINESS, DOSSIER, D(2023, 4, 14), None, 1)]


@pytest.mark.parametrize(
    "name", sorted(p.name for p in TDDUI.glob("*.json") if not p.name.startswith("Bundle"))
)
def test_a_standalone_resource_is_not_a_bundle(tmp_path, name) -> None:
    path = tmp_path / name
    path.write_bytes((TDDUI / name).read_bytes())
    error = refused(path)
    assert said(error) == [
        (None, None, "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)")
    ]
    assert str(error) == (
        f"{name} : fichier refusé, 1 problème\n  {name} : ce contenu n'est pas un Bundle FHIR "
        "(resourceType « Bundle » attendu)"
    )


def test_a_json_array_of_bundles(tmp_path) -> None:
    path = write_json(tmp_path / "two.json", [official(), built()])
    (chunk,) = read(path)
    # bundle 1 (official) and bundle 2 (built): the same séjour in each, once per bundle
    assert chunk["sejours"] == [
        (FINESS, DOSSIER, D(2023, 4, 14), None, 1),
        (FINESS, DOSSIER, D(2023, 4, 14), None, 2),
    ]
    assert chunk["evenements"] == [
        (FINESS, DOSSIER, D(2023, 4, 14), "realise", 1),
        (FINESS, DOSSIER, D(2023, 5, 3), "realise", 2),
    ]
    assert chunk["projets"] == [(FINESS, DOSSIER, D(2023, 5, 10), 2)]


# --- NDJSON -------------------------------------------------------------------------------


def test_ndjson_of_several_bundles_in_chunks(tmp_path) -> None:
    other = elsewhere(official(), OTHER_FINESS, "D42")
    resource(other, "tddui-encounter-evenement-example")["status"] = "cancelled"
    third = elsewhere(official(), OTHER_FINESS, "D43")
    patient = resource(third, "tddui-patient-ins-example")
    patient["extension"][0]["extension"][0]["valueCoding"]["code"] = "PROV"
    resource(third, "tddui-encounter-sejour-example")["period"] = {
        "start": "2024-12-31T23:30:00+01:00",  # 2024-12-31 as written (not 2025 in UTC+2…)
        "end": "2025-02-28",
    }
    resource(third, "tddui-encounter-evenement-example")["period"]["start"] = "2025-01-01"
    path = write_ndjson(tmp_path / "export.ndjson", [official(), "", other, "   ", third, ""])
    chunks = read(path, per_chunk=2)
    # lines 1, 3 and 5 (2, 4 and 6 blank); 2 bundles per chunk: lines 1 and 3, then line 5
    assert chunks == [
        {
            "sejours": [
                (FINESS, DOSSIER, D(2023, 4, 14), None, 1),
                (OTHER_FINESS, f"3{OTHER_FINESS}/D42", D(2023, 4, 14), None, 3),
            ],
            "ins": [
                (FINESS, DOSSIER, "qualifiee", D(2023, 4, 14), 1),
                (OTHER_FINESS, f"3{OTHER_FINESS}/D42", "qualifiee", D(2023, 4, 14), 3),
            ],
            "projets": [],
            "evenements": [
                (FINESS, DOSSIER, D(2023, 4, 14), "realise", 1),
                (OTHER_FINESS, f"3{OTHER_FINESS}/D42", D(2023, 4, 14), "annule", 3),
            ],
        },
        {
            "sejours": [(OTHER_FINESS, f"3{OTHER_FINESS}/D43", D(2024, 12, 31), D(2025, 2, 28), 5)],
            # PROV: provisoire (an INS-NIR present changes nothing but VALI), dated by entry
            "ins": [(OTHER_FINESS, f"3{OTHER_FINESS}/D43", "provisoire", D(2024, 12, 31), 5)],
            "projets": [],
            "evenements": [(OTHER_FINESS, f"3{OTHER_FINESS}/D43", D(2025, 1, 1), "realise", 5)],
        },
    ]
    # the same file in one chunk: the same rows
    (whole,) = read(path)
    assert {n: r for n, r in whole.items()} == {
        n: chunks[0][n] + chunks[1][n] for n in SCHEMAS
    }  # fmt: skip


def test_chunk_boundaries_and_empty_tables(tmp_path) -> None:
    # 5 bundles, 2 per chunk: 2 + 2 + 1; a chunk keeps every table, empty ones too
    path = write_ndjson(
        tmp_path / "five.ndjson", [elsewhere(official(), FINESS, f"D{n}") for n in range(5)]
    )
    chunks = read(path, per_chunk=2)
    assert [[r[-1] for r in c["sejours"]] for c in chunks] == [[1, 2], [3, 4], [5]]
    assert all(c["projets"] == [] for c in chunks)
    # 4 bundles, 2 per chunk: no empty third chunk
    path = write_ndjson(tmp_path / "four.ndjson", [official()] * 4)
    assert len(read(path, per_chunk=2)) == 2


def test_crlf_and_bom(tmp_path) -> None:
    path = tmp_path / "win.ndjson"
    line = json.dumps(official()).encode()
    path.write_bytes(b"\xef\xbb\xbf" + line + b"\r\n\r\n" + line + b"\r\n")
    (chunk,) = read(path)
    assert [r[-1] for r in chunk["sejours"]] == [1, 3]


# --- refused inputs -----------------------------------------------------------------------


def test_malformed_json_in_ndjson_names_line_and_column(tmp_path) -> None:
    good = json.dumps(official())
    path = write_ndjson(
        tmp_path / "x.ndjson", [good, '{"resourceType": "Bundle", "entry": [}', good, '{"a": 1']
    )
    error = refused(path)
    # line 2: « } » where a value is expected (column 38); line 4: the line ends inside the
    # object (column 8, after « 1 »)
    assert said(error) == [
        (2, "38", "JSON illisible : valeur attendue"),
        (4, "8", "JSON illisible : « , » attendue"),
    ]
    assert str(error) == (
        "x.ndjson : fichier refusé, 2 problèmes\n"
        "  x.ndjson, ligne 2, colonne 38 : JSON illisible : valeur attendue\n"
        "  x.ndjson, ligne 4, colonne 8 : JSON illisible : « , » attendue"
    )


def test_malformed_json_file_names_line_and_column(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{\n  "resourceType": "Bundle",\n  "entry": [\n    {"resource" "x"}\n]}\n')
    error = refused(path)
    # line 4: a « : » expected after "resource" (column 17)
    assert said(error) == [(4, "17", "JSON illisible : « : » attendu")]


def test_not_utf8(tmp_path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_bytes(json.dumps(official()).encode() + b"\n" + '{"a": "é"}\n'.encode("cp1252"))
    assert said(refused(path)) == [(2, None, "texte illisible : UTF-8 attendu")]


def test_empty_file(tmp_path) -> None:
    path = write_ndjson(tmp_path / "x.ndjson", [""])
    assert said(refused(path)) == [(None, None, "fichier vide : aucun Bundle FHIR")]


def test_not_a_bundle_and_not_tddui_in_ndjson(tmp_path) -> None:
    no_profiles = official()
    for entry in no_profiles["entry"]:
        del entry["resource"]["meta"]
    path = write_ndjson(
        tmp_path / "x.ndjson", [official(), load("Patient-tddui-patient-example.json"), no_profiles]
    )
    assert said(refused(path)) == [
        (2, None, "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)"),
        (
            3,
            "Bundle/tddui-bundle-example",
            "ce Bundle n'est pas un export TDDUI : aucune ressource n'a de profil "
            "« https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/… »",
        ),
    ]


def test_dangling_references(tmp_path) -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["subject"] = {"reference": "Patient/x"}
    resource(data, "tddui-encounter-evenement-example")["serviceProvider"] = {
        "reference": "https://test-server.fr/Organization/y"
    }
    path = write_ndjson(tmp_path / "x.ndjson", [official(), data])
    error = refused(path)
    assert said(error) == [
        (2, EVENT, "référence serviceProvider « https://test-server.fr/Organization/y » "
         "introuvable dans le bundle"),
        (2, SEJOUR, "référence subject « Patient/x » introuvable dans le bundle"),
    ]  # fmt: skip
    assert f"x.ndjson, ligne 2, colonne {SEJOUR} : référence subject" in str(error)


@pytest.mark.parametrize(
    ("target", "element", "value", "expected"),
    [
        pytest.param(
            "tddui-encounter-sejour-example", "start", "14/04/2023 à 10h", SEJOUR, id="sejour"
        ),
        pytest.param(
            "tddui-encounter-evenement-example", "start", "2023-02-30T10:00:00+01:00", EVENT,
            id="event-30-february",
        ),
        pytest.param("tddui-encounter-sejour-example", "end", "2023-04", SEJOUR, id="partial"),
    ],
)  # fmt: skip
def test_unreadable_dates_are_named_not_quoted(tmp_path, target, element, value, expected) -> None:
    data = official()
    resource(data, target)["period"][element] = value
    error = refused(write_ndjson(tmp_path / "x.ndjson", [data]))
    assert said(error) == [
        (
            1,
            expected,
            f"period.{element} n'est pas une date (AAAA-MM-JJ ou date-heure FHIR attendue)",
        )
    ]
    assert value not in str(error)


def test_unknown_identity_status(tmp_path) -> None:
    data = official()
    resource(data, "tddui-patient-ins-example")["extension"][0]["extension"][0]["valueCoding"][
        "code"
    ] = "SUSP"
    assert said(refused(write_ndjson(tmp_path / "x.ndjson", [data]))) == [
        (1, PATIENT, "statut d'identité « SUSP » inconnu (PROV, RECUP, VALI, QUAL)")
    ]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("147720425367411", id="15-digits"),
        pytest.param("2 84 12 75 123 456", id="13-digits-spaced"),
        pytest.param("3480787529/7 84 12 75 123 456 12", id="after-finess-prefix"),
    ],
)
def test_a_nir_shaped_dossier_id_is_refused_never_quoted(tmp_path, value) -> None:
    data = official()
    patient = resource(data, "tddui-patient-ins-example")
    pi = next(
        i for i in patient["identifier"] if i["system"].endswith("localusager.esante.gouv.fr")
    )
    pi["value"] = value
    error = refused(write_ndjson(tmp_path / "x.ndjson", [official(), data]))
    # said once, on the Patient (the séjour and the événement that point to it give no row)
    assert said(error) == [
        (
            2,
            PATIENT,
            "identifiant de dossier refusé : il a la forme d'un NIR (13 ou 15 chiffres) ; "
            "exportez l'identifiant local du dossier dans le DUI",
        )
    ]
    digits = value.replace(" ", "").split("/")[-1]
    assert digits not in str(error).replace(" ", "")


def test_exit_before_entry(tmp_path) -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["period"]["end"] = "2023-04-13T23:59:00+02:00"
    assert said(refused(write_ndjson(tmp_path / "x.ndjson", [data]))) == [
        (1, SEJOUR, "la sortie (period.end) précède l'entrée (period.start)")
    ]


def test_problems_in_a_json_array_name_the_bundle(tmp_path) -> None:
    data = official()
    resource(data, "tddui-encounter-sejour-example")["period"]["end"] = "2023-04-13"
    error = refused(write_json(tmp_path / "x.json", [official(), data, {"resourceType": "x"}]))
    assert said(error) == [
        (None, "bundle 2, " + SEJOUR, "la sortie (period.end) précède l'entrée (period.start)"),
        (None, "bundle 3", "ce contenu n'est pas un Bundle FHIR (resourceType « Bundle » attendu)"),
    ]


def test_every_bundle_is_read_problems_capped_no_chunk_after_the_first(tmp_path) -> None:
    bad = official()
    resource(bad, "tddui-encounter-sejour-example")["period"]["end"] = "2023-04-13"
    # line 1 good, then 25 bad bundles, then a good one; one bundle per chunk
    path = write_ndjson(tmp_path / "x.ndjson", [official()] + [bad] * 25 + [official()])
    seen = []
    with pytest.raises(ExportError) as error:
        for chunk in iter_chunks(path, "x.ndjson", 1):
            seen.append(chunk["sejours"]["line"].to_pylist())
    assert seen == [[1]]  # the first chunk only: the file is refused from line 2 on
    assert error.value.total == 25
    assert [p.line for p in error.value.problems] == list(range(2, 22))  # the first 20
    assert str(error.value).startswith(
        "x.ndjson : fichier refusé, 25 problèmes (les 20 premiers ci-dessous)"
    )


# --- the scanner ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.json", True), ("A.NDJSON", True), ("a.ndjson", True), ("a.csv", False), ("json", False)],
)
def test_is_fhir(name, expected) -> None:
    assert is_fhir(Path(name)) is expected


def test_same_type_and_id_on_two_servers_resolved_against_the_referrers_base(tmp_path) -> None:
    data = official()
    twin = copy.deepcopy(resource(data, "tddui-patient-ins-example"))
    next(i for i in twin["identifier"] if i["system"].endswith("localusager.esante.gouv.fr"))[
        "value"
    ] = "3480787529/AUTRE"
    # listed last: « any entry of that type and id » would find it
    data["entry"].append(
        {"fullUrl": "https://autre-serveur.fr/Patient/tddui-patient-ins-example", "resource": twin}
    )
    (chunk,) = read(write_json(tmp_path / "b.json", data))
    # the séjour and the événement are on https://test-server.fr/: « Patient/tddui-patient-ins-
    # example » is that server's Patient, whose PI is DOSSIER
    assert chunk["sejours"] == [(FINESS, DOSSIER, D(2023, 4, 14), None, 1)]
    assert chunk["evenements"] == [(FINESS, DOSSIER, D(2023, 4, 14), "realise", 1)]


def test_json_nested_too_deep_is_refused_not_a_crash(tmp_path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    path = write_ndjson(tmp_path / "x.ndjson", [official(), deep])
    assert said(refused(path)) == [(2, None, "JSON illisible : imbrication trop profonde")]
    path = tmp_path / "x.json"
    path.write_text(deep)
    assert said(refused(path)) == [(None, None, "JSON illisible : imbrication trop profonde")]


def test_a_json_file_not_in_utf8(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes('{"resourceType": "Bundle", "id": "é"}'.encode("cp1252"))
    assert said(refused(path)) == [(None, None, "texte illisible : UTF-8 attendu")]


# --- any damage: rows or a refusal, never a crash --------------------------------------------


def _paths(node: object, path: tuple = ()) -> list[tuple]:
    """Every place in ``node`` (keys of objects, items of lists)."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


_OFFICIAL = official()
_PLACES = _paths(_OFFICIAL)[1:]
_ODD = st.sampled_from(
    [None, 0, 1.5, True, "", "x", "Patient/x", "2023-04-33", [], [1], {}, {"reference": 1}]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PLACES), _ODD), min_size=1, max_size=3))
def test_any_damage_gives_rows_or_a_refusal(tmp_path_factory, damages) -> None:
    data = copy.deepcopy(_OFFICIAL)
    for place, odd in damages:
        node = data
        try:
            for step in place[:-1]:
                node = node[step]
            node[place[-1]] = copy.deepcopy(odd)  # never the same list or object twice
        except (KeyError, IndexError, TypeError):
            continue  # an earlier damage removed that place
    path = tmp_path_factory.mktemp("d") / "x.ndjson"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    try:
        chunks = list(iter_chunks(path, "x.ndjson"))
    except ExportError as error:
        assert error.problems and all(p.line == 1 for p in error.problems)
        return
    assert len(chunks) == 1
