"""The access file (`access.load`): the exact example of issue 16, each fault with its line,
which rule an identity gets, and the perimeter of each role (`access.perimeter_of`) on a real
DuckDB store built from a hand-made reference of 6 ESMS over 2 OGs, 2 régions, 2 editors; then
the library functions the CLI calls, given a perimeter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dui_metrics import access, drilldown, evidence, indicators, va
from dui_metrics.access import AccessError, OutsidePerimeter, Rule
from dui_metrics.store import Store

# The example of issue 16, byte for byte (line numbers in the comments of the tests).
ISSUE_EXAMPLE = """\
contact = "Équipe régionale : support@grades.example"   # shown to identities without access
[[acces]]
email = "directrice@og-a.example"   # or sub = "…", or claim = "name", valeur = "…"
role = "og"
og = ["750000127"]                  # FINESS EJ
[[acces]]
email = "analyste@ars.example"
role = "ars"
regions = ["Île-de-France"]         # and/or departements = ["75", "92"]
[[acces]]
email = "support@editeur.example"
role = "editeur"
editeurs = ["Éditeur Alpha"]        # as in the reference's editeur column
[[acces]]
email = "admin@grades.example"
role = "admin"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acces.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_parses(tmp_path: Path) -> None:
    parsed = access.load(write(tmp_path, ISSUE_EXAMPLE))
    assert parsed.contact == "Équipe régionale : support@grades.example"
    # lines of the four [[acces]] headers: 2, 6, 10, 14; Île-de-France is région 11
    assert parsed.rules == (
        Rule(role="og", line=2, email="directrice@og-a.example", og=("750000127",)),
        Rule(role="ars", line=6, email="analyste@ars.example", regions=("11",)),
        Rule(role="editeur", line=10, email="support@editeur.example", editeurs=("Éditeur Alpha",)),
        Rule(role="admin", line=14, email="admin@grades.example"),
    )


HEAD = 'contact = "support@grades.example"\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = og\n', 4, "syntaxe TOML", id="syntax"
        ),  # fmt: skip
        pytest.param(
            HEAD + 'titre = \'x\'\n[[acces]]\nemail = "a@b.fr"\nrole = "admin"\n',
            2,
            "clé inconnue « titre »",
            id="top-key",
        ),  # fmt: skip
        pytest.param(
            '[[acces]]\nemail = "a@b.fr"\nrole = "admin"\n',
            1,
            "« contact » manquant",
            id="no-contact",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "admin"\nperimetre = \'x\'\n',
            5,
            "clé inconnue « perimetre »",
            id="rule-key",
        ),  # fmt: skip
        pytest.param(
            HEAD
            + '[[acces]]\nemail = "a@b.fr"\nrole = "admin"\n[[acces]]\nemail = "c@d.fr"\nrole = "directeur"\n',
            7,
            "rôle inconnu « directeur »",
            id="role",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\n', 2, "« role » manquant", id="no-role"
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "admin"\n\n[[acces]]\nrole = "admin"\n',
            6,
            "identité manquante",
            id="no-identity",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nsub = "123"\nrole = "admin"\n',
            4,
            "une seule identité",
            id="two-identities",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nclaim = "name"\nrole = "admin"\n',
            3,
            "« claim » et « valeur » vont ensemble",
            id="claim-alone",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "og"\n', 2, "exige og", id="og-without-og"
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "og"\nog = []\n',
            2,
            "exige og",
            id="og-empty",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "ars"\n',
            2,
            "exige regions et/ou departements",
            id="ars-without",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "editeur"\n',
            2,
            "exige editeurs",
            id="editeur-without",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "og"\nog = ["75000012"]\n',
            5,
            "FINESS EJ invalide « 75000012 » : 9 caractères attendus (8 lus)",
            id="ej-8-chars",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "og"\nog = [750000127]\n',
            5,
            "liste de textes",
            id="ej-number",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "ars"\nregions = ["Atlantide"]\n',
            5,
            "région inconnue « Atlantide »",
            id="region",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "ars"\ndepartements = ["99"]\n',
            5,
            "département inconnu « 99 »",
            id="departement",
        ),  # fmt: skip
        pytest.param(
            HEAD + '[[acces]]\nemail = "a@b.fr"\nrole = "admin"\nog = ["750000127"]\n',
            5,
            "« og » ne s'applique pas au rôle « admin »",
            id="scope-of-another-role",
        ),  # fmt: skip
    ],
)
def test_each_fault_names_the_file_and_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AccessError) as caught:
        access.load(path)
    assert str(caught.value).startswith(f"{path}, ligne {line} : ")
    assert words in str(caught.value)


def test_a_missing_file_is_an_error_never_everything(tmp_path: Path) -> None:
    with pytest.raises(AccessError, match="fichier d'accès introuvable"):
        access.load(tmp_path / "absent.toml")


def test_rule_for_email_without_case_sub_and_claim(tmp_path: Path) -> None:
    parsed = access.load(
        write(
            tmp_path,
            HEAD
            + '[[acces]]\nemail = "Directrice@OG-A.example"\nrole = "og"\nog = ["750000127"]\n'
            + '[[acces]]\nsub = "f:550e8400:123"\nrole = "admin"\n'
            + '[[acces]]\nclaim = "name"\nvaleur = "Analyste ARS"\nrole = "ars"\n'
            + 'departements = ["69"]\n'
            + '[[acces]]\nclaim = "groups"\nvaleur = "editeurs-alpha"\nrole = "editeur"\n'
            + 'editeurs = ["Éditeur Alpha"]\n'
            + '[[acces]]\nemail = "directrice@og-a.example"\nrole = "admin"\n',
        )
    )
    first, by_sub, by_name, by_group, shadowed = parsed.rules
    # e-mail: case ignored on both sides; the first matching rule wins over the last one
    assert parsed.rule_for({"email": "directrice@og-a.EXAMPLE", "sub": "x"}) is first
    assert shadowed.line == 19  # the fifth [[acces]]: never reached for this e-mail
    assert parsed.rule_for({"sub": "f:550e8400:123"}) is by_sub
    assert parsed.rule_for({"sub": "F:550E8400:123"}) is None  # sub is exact
    assert parsed.rule_for({"name": "Analyste ARS", "email": "autre@ars.example"}) is by_name
    assert parsed.rule_for({"groups": ["autres", "editeurs-alpha"]}) is by_group
    assert parsed.rule_for({"email": "inconnu@example.org", "name": "Quelqu'un"}) is None
    assert parsed.rule_for({}) is None


def test_path_from_secrets_then_environment(tmp_path: Path) -> None:
    env = {access.ENV_VAR: "/srv/acces.toml"}
    assert access.path_from({"acces": "/etc/dui/acces.toml"}, env) == Path("/etc/dui/acces.toml")
    assert access.path_from({}, env) == Path("/srv/acces.toml")
    assert access.path_from(None, env) == Path("/srv/acces.toml")
    assert access.path_from(None, {}) is None


# --- perimeters on a real store ----------------------------------------------------------
OG_A, OG_B = "750000127", "690000120"
E1, E2, E3 = "750000010", "920000015", "690000013"  # OG A: Paris, Hauts-de-Seine, Rhône
E4, E5, E6 = "750000028", "690000021", "690000039"  # OG B: Paris, Rhône, Rhône
E7 = "330000019"  # usage data only: in no reference row
# Île-de-France (11): E1, E2, E4; Auvergne-Rhône-Alpes (84): E3, E5, E6.
# Éditeur Alpha: E1, E3, E5; Éditeur Beta: E2, E4, E6.
REFERENCE = f"""FINESS ET;FINESS EJ;Raison sociale;Organisme gestionnaire;Département;Région;Éditeur;Commande
{E1};{OG_A};EHPAD Un;OG A;75;Île-de-France;Éditeur Alpha;CMD-A
{E2};{OG_A};IME Deux;OG A;92;Ile-de-France;Éditeur Beta;CMD-A
{E3};{OG_A};SSIAD Trois;OG A;69;Auvergne-Rhône-Alpes;Editeur alpha;CMD-A2
{E4};{OG_B};EHPAD Quatre;OG B;75;11;Éditeur Beta;CMD-B
{E5};{OG_B};MAS Cinq;OG B;69;84;Éditeur Alpha;CMD-B
{E6};{OG_B};FAM Six;OG B;69;;Éditeur Beta;CMD-B
"""


def usage_csv() -> str:
    """March 2025 for every ESMS (E7 too): 10 accompanied, 8 active, 4 INS, 2 DMP, 1 MSS."""
    lines = ["finess_et;periode;indicateur;valeur"]
    for code in (E1, E2, E3, E4, E5, E6, E7):
        for indicator, value in (
            ("personnes_accompagnees", 10),
            ("dossiers_actifs", 8),
            ("ins_qualifiees", 4),
            ("dmp_documents_envoyes", 2),
            ("mss_messages_envoyes", 1),
        ):
            lines.append(f"{code};2025-03;{indicator};{value}")
    return "\n".join(lines) + "\n"


ROLE_FILE = f"""contact = "Équipe régionale : support@grades.example"
[[acces]]
email = "directrice@og-a.example"
role = "og"
og = ["{OG_A}"]
[[acces]]
email = "analyste@ars.example"
role = "ars"
regions = ["Île-de-France"]
[[acces]]
email = "rhone@ars.example"
role = "ars"
departements = ["92", "69"]
[[acces]]
email = "support@editeur.example"
role = "editeur"
editeurs = ["editeur ALPHA"]
[[acces]]
email = "admin@grades.example"
role = "admin"
[[acces]]
email = "nulle-part@og-c.example"
role = "og"
og = ["130000011"]
"""

# Expected perimeters, by hand from the reference above.
EXPECTED = {
    "directrice@og-a.example": {E1, E2, E3},  # FINESS EJ 750000127
    "analyste@ars.example": {E1, E2, E4},  # région 11 (written 11, by name, without accent)
    "rhone@ars.example": {E2, E3, E5, E6},  # 92: E2; 69: E3, E5, E6
    "support@editeur.example": {E1, E3, E5},  # Éditeur Alpha, however written
    "nulle-part@og-c.example": set(),  # an OG with no ESMS in the reference: nothing
}


@pytest.fixture
def scoped_store(store_from) -> Path:
    return store_from(REFERENCE, usage_csv())


@pytest.mark.parametrize("email", [pytest.param(e, id=e.split("@")[0]) for e in EXPECTED])
def test_perimeter_of_each_role(scoped_store: Path, tmp_path: Path, email: str) -> None:
    with Store(scoped_store, read_only=True) as store:
        perimeter = access.for_user(store, write(tmp_path, ROLE_FILE), email)
    assert perimeter.finess == frozenset(EXPECTED[email])
    assert E7 not in perimeter.finess  # known from usage only: no one's but admin's
    assert perimeter.label.endswith(f", {len(EXPECTED[email])} ESMS")


def test_admin_sees_everything_and_an_unknown_user_nothing(
    scoped_store: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, ROLE_FILE)
    with Store(scoped_store, read_only=True) as store:
        assert access.for_user(store, path, "ADMIN@grades.example") is access.EVERYTHING
        with pytest.raises(AccessError) as caught:
            access.for_user(store, path, "intrus@example.org")
    assert str(caught.value) == (
        f"intrus@example.org n'a pas d'accès dans {path} ; contact : "
        "Équipe régionale : support@grades.example"
    )
    assert access.EVERYTHING.allows(E7) and access.EVERYTHING.finess is None


@pytest.fixture
def perimeters(scoped_store: Path, tmp_path: Path) -> dict[str, access.Perimeter]:
    path = write(tmp_path, ROLE_FILE)
    with Store(scoped_store, read_only=True) as store:
        return {email: access.for_user(store, path, email) for email in EXPECTED}


MARCH = dt.date(2025, 3, 1)


@pytest.mark.parametrize("email", [pytest.param(e, id=e.split("@")[0]) for e in EXPECTED])
def test_library_functions_return_only_the_perimeter(
    scoped_store: Path, perimeters, ref, email: str
) -> None:
    perimeter, expected = perimeters[email], EXPECTED[email]
    with Store(scoped_store, read_only=True) as store:
        assert {r[0] for r in indicators.monthly(store, ref, perimeter=perimeter)} == expected
        # --finess-et of another OG's ESMS with an OG perimeter: nothing (intersection)
        assert {
            r[0] for r in indicators.monthly(store, ref, finess=[E4, E1], perimeter=perimeter)
        } == expected & {E1, E4}
        batches = indicators.monthly_export_batches(store, ref, perimeter=perimeter)
        assert set(batches.read_all().column("finess_et").to_pylist()) == expected
        dims = indicators.esms_dimensions(store, perimeter=perimeter)
        assert list(dims["finess_et"]) == sorted(expected)
        scoped = va.readiness_table(store, ref, au=MARCH, perimeter=perimeter)
        everything = va.readiness_table(store, ref, au=MARCH)
        assert set(scoped.column("finess_et").to_pylist()) == expected
        # the same checks, in the same order, as every ESMS's checks filtered afterwards
        kept = [r for r in everything.to_pylist() if r["finess_et"] in expected]
        assert scoped.to_pylist() == kept
        assert {c.finess_et for c in va.readiness(store, ref, MARCH, perimeter=perimeter)} == (
            expected
        )


def test_without_perimeter_everything_including_usage_only(scoped_store: Path, ref) -> None:
    everything = {E1, E2, E3, E4, E5, E6, E7}
    with Store(scoped_store, read_only=True) as store:
        assert {r[0] for r in indicators.monthly(store, ref)} == everything
        assert {r[0] for r in indicators.monthly(store, ref, perimeter=access.EVERYTHING)} == (
            everything
        )
        checks = va.readiness_table(store, ref, au=MARCH, perimeter=access.EVERYTHING)
        assert set(checks.column("finess_et").to_pylist()) == everything


def test_evidence_pack_keeps_to_the_perimeter(scoped_store: Path, perimeters, ref) -> None:
    editor = perimeters["support@editeur.example"]  # E1, E3, E5
    og_a = perimeters["directrice@og-a.example"]  # E1, E2, E3
    with Store(scoped_store, read_only=True) as store:
        # the editor's clients of OG A only: E1 and E3, not E2 (Éditeur Beta)
        pack = evidence.build_pack(store, ref, OG_A, au=MARCH, perimeter=editor)
        assert pack.finess == [E3, E1]  # sorted by FINESS ET
        assert set(pack.checks["finess_et"]) == {E1, E3}
        assert set(pack.monthly["finess_et"]) == {E1, E3}
        assert set(pack.rows["finess_et"]) == {E1, E3}
        pack = evidence.build_pack(store, ref, OG_A, au=MARCH, perimeter=og_a)
        assert pack.finess == [E3, E1, E2]
        # OG B, an order of OG B, an ESMS of OG B, an OG that does not exist: one same answer
        for og, commande, finess in (
            (OG_B, None, None),
            (OG_B, "CMD-B", None),
            (OG_A, None, [E4]),
            ("130000011", None, None),
        ):
            with pytest.raises(OutsidePerimeter, match="hors de votre périmètre"):
                evidence.build_pack(store, ref, og, commande, finess, MARCH, perimeter=og_a)
        # the editor's order CMD-A2 of OG A (E3) is in; E2's order CMD-A holds E1 for it
        assert evidence.build_pack(store, ref, OG_A, "CMD-A2", au=MARCH, perimeter=editor).finess == [E3]  # fmt: skip


def test_drilldown_refuses_an_esms_outside(scoped_store: Path, perimeters, ref) -> None:
    og_a = perimeters["directrice@og-a.example"]
    with Store(scoped_store, read_only=True) as store:
        assert drilldown.missing_dossiers(store, ref, E1, MARCH, "pp", perimeter=og_a).empty
        for call in (
            lambda: drilldown.missing_dossiers(store, ref, E4, MARCH, "pp", perimeter=og_a),
            lambda: drilldown.month_sources(store, E4, perimeter=og_a),
            lambda: drilldown.record_status(store, ref, E4, perimeter=og_a),
        ):
            with pytest.raises(OutsidePerimeter, match=f"l'ESMS {E4} est hors de votre périmètre"):
                call()
