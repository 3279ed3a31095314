"""VA readiness (domain.md §4): per ESMS checks, statuses, human details and verdict.

One hand-made reference file and one usage export, ingested into the real store, give ESMS
that each exercise a rule; expected statuses and details are worked out next to each case.
Default window: the 3 calendar months ending with the latest month in the store (04/2025),
i.e. 02/2025–04/2025.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dui_metrics import referentiel, va
from dui_metrics.finess import luhn_ok
from dui_metrics.ingest import LOADED, describe, ingest_paths

NNBSP = "\u202f"  # thousands separator and space before "%" on screen
WINDOW = "02/2025–04/2025"

OG1, OG2 = "010000099", "750001000"
V_OK = "010000016"  # every criterion ok
V_ZERO = "010000024"  # zero values, zero numerator, zero denominator
V_USAGE_ONLY = "130000011"  # not in the reference: known from usage data only
V_DEPLOY_AU = "130000029"  # deployed during the au month, no data
V_NOTHING = "690000013"  # no deployment date, no data
V_STOPPED = "750000010"  # data until 12/2024, deployment date after au
V_LATER = "750000028"  # deployment planned after au, no data

CRITERIA = [
    "deploye",
    "ins",
    "dmp",
    "mss",
    "taux_dossiers_actifs",
    "taux_dossiers_actifs_avec_pp",
    "taux_dossiers_actifs_avec_evenement",
    "va",
]
INDICATOR_CRITERIA = CRITERIA[1:7]
ALL_COUNTS = [
    ("personnes_accompagnees", 40),
    ("dossiers_actifs", 30),
    ("dossiers_actifs_avec_pp", 12),
    ("dossiers_actifs_avec_evenement", 27),
    ("ins_qualifiees", 25),
    ("dmp_documents_envoyes", 7),
    ("mss_messages_envoyes", 5),
]

REFERENCE = """\
finess_et;finess_ej;raison_sociale;commande;editeur;categorie;departement;date_deploiement
010000016;010000099;EHPAD OK;BC-1;Editeur A;500;01;15/01/2025
010000024;010000099;EHPAD Zéro;BC-1;Editeur A;500;01;01/03/2025
130000029;010000099;IME Déployé fin avril;BC-2;Editeur A;183;13;30/04/2025
690000013;750001000;MAS Sans date;BC-2;Editeur B;255;69;
750000010;750001000;SSIAD Arrêté;BC-2;Editeur B;354;75;01/06/2025
750000028;750001000;SSIAD Plus tard;BC-2;Editeur B;354;75;10/05/2025
"""

USAGE = [
    # V_OK
    (V_OK, "2025-03", "ins_qualifiees", 20),
    (V_OK, "2025-04", "ins_qualifiees", 25),
    (V_OK, "2025-01", "dmp_documents_envoyes", 50),  # before the window: not summed
    (V_OK, "2025-02", "dmp_documents_envoyes", 1000),
    (V_OK, "2025-03", "dmp_documents_envoyes", 234),
    (V_OK, "2025-04", "mss_messages_envoyes", 1),
    (V_OK, "2025-02", "personnes_accompagnees", 2000),  # superseded by 04
    (V_OK, "2025-02", "dossiers_actifs", 1500),
    (V_OK, "2025-04", "personnes_accompagnees", 40),
    (V_OK, "2025-04", "dossiers_actifs", 30),
    (V_OK, "2025-04", "dossiers_actifs_avec_pp", 12),
    (V_OK, "2025-04", "dossiers_actifs_avec_evenement", 27),
    # V_ZERO
    (V_ZERO, "2025-02", "mss_messages_envoyes", 0),
    (V_ZERO, "2025-03", "mss_messages_envoyes", 0),
    (V_ZERO, "2025-04", "mss_messages_envoyes", 0),
    (V_ZERO, "2025-03", "dmp_documents_envoyes", 5),
    (V_ZERO, "2025-03", "ins_qualifiees", 7),
    (V_ZERO, "2025-04", "ins_qualifiees", 0),
    (V_ZERO, "2025-03", "personnes_accompagnees", 40),
    (V_ZERO, "2025-03", "dossiers_actifs", 10),
    (V_ZERO, "2025-03", "dossiers_actifs_avec_pp", 5),
    (V_ZERO, "2025-03", "dossiers_actifs_avec_evenement", 5),
    (V_ZERO, "2025-04", "personnes_accompagnees", 40),
    (V_ZERO, "2025-04", "dossiers_actifs", 0),
    (V_ZERO, "2025-04", "dossiers_actifs_avec_pp", 0),
    (V_ZERO, "2025-04", "dossiers_actifs_avec_evenement", 0),
    # V_USAGE_ONLY: MSSanté in 03 only
    (V_USAGE_ONLY, "2025-03", "mss_messages_envoyes", 3),
    # V_STOPPED: everything in 12/2024, nothing since
    *((V_STOPPED, "2024-12", code, value) for code, value in ALL_COUNTS),
]


def long_csv(rows) -> str:
    lines = ["finess_et;periode;indicateur;valeur", *(";".join(map(str, r)) for r in rows)]
    return "\n".join(lines) + "\n"


def load(store, ref, *paths: Path) -> None:
    results = ingest_paths(store, list(paths), ref)
    assert [r.status for r in results] == [LOADED] * len(paths), [describe(r) for r in results]


def by_key(checks) -> dict[tuple[str, str], va.Check]:
    return {(c.finess_et, c.critere): c for c in checks}


@pytest.fixture
def loaded(store, ref, write_file):
    load(
        store,
        ref,
        write_file("etablissements.csv", REFERENCE),
        write_file("usages.csv", long_csv(USAGE)),
    )
    return store


@pytest.fixture
def checks(loaded, ref):
    return by_key(va.readiness(loaded, ref))


def test_fixture_finess_numbers_pass_luhn():
    codes = [OG1, OG2, V_OK, V_ZERO, V_USAGE_ONLY, V_DEPLOY_AU, V_NOTHING, V_STOPPED, V_LATER]
    assert all(luhn_ok(code) for code in codes)


def test_every_esms_in_order_with_criteria_in_order(loaded, ref):
    got = [(c.finess_et, c.critere) for c in va.readiness(loaded, ref)]
    # sorted by finess_et; per ESMS the 7 criteria in référentiel order, then the verdict.
    # V_USAGE_ONLY comes from usage data only; V_DEPLOY_AU, V_NOTHING, V_LATER from the
    # reference only.
    esms = [V_OK, V_ZERO, V_USAGE_ONLY, V_DEPLOY_AU, V_NOTHING, V_STOPPED, V_LATER]
    assert got == [(e, c) for e in esms for c in CRITERIA]


@pytest.mark.parametrize(
    ("finess_et", "critere", "statut", "valeur", "detail"),
    [
        # --- deploye
        pytest.param(
            V_OK, "deploye", "ok", None, "déployé le 15/01/2025", id="deploye-date-before-au"
        ),
        # 30/04/2025 lies in the au month 04/2025: deployed on or before it
        pytest.param(
            V_DEPLOY_AU, "deploye", "ok", None, "déployé le 30/04/2025", id="deploye-date-in-au"
        ),
        # deployment date 01/06/2025 is after 04/2025, but usage data since 12/2024
        pytest.param(
            V_STOPPED,
            "deploye",
            "ok",
            None,
            "données d'usage depuis 12/2024",
            id="deploye-date-after-au-but-usage",
        ),
        pytest.param(
            V_USAGE_ONLY,
            "deploye",
            "ok",
            None,
            "données d'usage depuis 03/2025",
            id="deploye-usage-no-reference",
        ),
        pytest.param(
            V_LATER,
            "deploye",
            "manquant",
            None,
            "déploiement prévu le 10/05/2025, après 04/2025",
            id="deploye-date-after-au",
        ),
        pytest.param(
            V_NOTHING,
            "deploye",
            "manquant",
            None,
            "ni date de déploiement ni donnée d'usage jusqu'à 04/2025",
            id="deploye-nothing",
        ),
        # --- flows: sum of the months present in the window
        # DMP 02: 1000 + 03: 234 (04 missing; 01: 50 is outside) = 1234
        pytest.param(
            V_OK,
            "dmp",
            "ok",
            1234,
            f"1{NNBSP}234 documents DMP sur {WINDOW}",
            id="flow-ok-summed-thousands",
        ),
        pytest.param(
            V_OK, "mss", "ok", 1, f"1 message MSSanté envoyé sur {WINDOW}", id="flow-ok-singular"
        ),
        # MSS 02: 0 + 03: 0 + 04: 0 = 0 -> zero (data present), not missing
        pytest.param(
            V_ZERO,
            "mss",
            "zero",
            0,
            f"0 message MSSanté envoyé sur {WINDOW}",
            id="flow-zero",
        ),
        pytest.param(
            V_ZERO, "dmp", "ok", 5, f"5 documents DMP sur {WINDOW}", id="flow-ok-one-month"
        ),
        # --- stocks: last month present in the window
        # INS 03: 20, 04: 25 -> 25 (04)
        pytest.param(
            V_OK, "ins", "ok", 25, "25 INS qualifiées en 04/2025", id="stock-ok-last-month"
        ),
        # INS 03: 7, 04: 0 -> 0 (04): zero even though 03 was non-zero
        pytest.param(
            V_ZERO, "ins", "zero", 0, "0 INS qualifiée en 04/2025", id="stock-zero-last-month"
        ),
        # --- rates: last month present in the window
        # 04: 30 / 40 = 0.75 (02: 1500 / 2000 is superseded)
        pytest.param(
            V_OK,
            "taux_dossiers_actifs",
            "ok",
            0.75,
            f"75,0{NNBSP}% en 04/2025 (30 / 40)",
            id="rate-ok",
        ),
        # 04: 12 / 30 = 0.4
        pytest.param(
            V_OK,
            "taux_dossiers_actifs_avec_pp",
            "ok",
            0.4,
            f"40,0{NNBSP}% en 04/2025 (12 / 30)",
            id="rate-ok-pp",
        ),
        # 04: 27 / 30 = 0.9
        pytest.param(
            V_OK,
            "taux_dossiers_actifs_avec_evenement",
            "ok",
            0.9,
            f"90,0{NNBSP}% en 04/2025 (27 / 30)",
            id="rate-ok-evenement",
        ),
        # 04: 0 / 40 = 0 -> zero numerator (03 was 10 / 40 = 0.25, superseded)
        pytest.param(
            V_ZERO,
            "taux_dossiers_actifs",
            "zero",
            0.0,
            f"0,0{NNBSP}% en 04/2025 (0 / 40)",
            id="rate-zero-numerator",
        ),
        # 04: 0 PP / 0 active -> cannot be computed: zero, "non calculable"
        pytest.param(
            V_ZERO,
            "taux_dossiers_actifs_avec_pp",
            "zero",
            None,
            "non calculable en 04/2025 : 0 dossier actif",
            id="rate-zero-denominator",
        ),
        pytest.param(
            V_ZERO,
            "taux_dossiers_actifs_avec_evenement",
            "zero",
            None,
            "non calculable en 04/2025 : 0 dossier actif",
            id="rate-zero-denominator-evenement",
        ),
        # --- missing
        # data in the window (MSS in 03) but never INS
        pytest.param(
            V_USAGE_ONLY,
            "ins",
            "manquant",
            None,
            f"aucune donnée « INS qualifiées » sur {WINDOW}",
            id="missing-indicator-in-window",
        ),
        pytest.param(
            V_USAGE_ONLY,
            "mss",
            "ok",
            3,
            f"3 messages MSSanté envoyés sur {WINDOW}",
            id="flow-ok-usage-only-esms",
        ),
        # last data 12/2024, before the window: nothing from 01/2025 on
        pytest.param(
            V_STOPPED,
            "dmp",
            "manquant",
            None,
            "aucune donnée depuis 01/2025",
            id="missing-stopped-flow",
        ),
        pytest.param(
            V_STOPPED,
            "taux_dossiers_actifs",
            "manquant",
            None,
            "aucune donnée depuis 01/2025",
            id="missing-stopped-rate",
        ),
        pytest.param(
            V_LATER, "mss", "manquant", None, "aucune donnée reçue", id="missing-never-received"
        ),
    ],
)
def test_check(checks, finess_et, critere, statut, valeur, detail):
    check = checks[(finess_et, critere)]
    assert (check.statut, check.detail) == (statut, detail)
    if isinstance(valeur, float):
        assert check.valeur == pytest.approx(valeur, rel=1e-12)
    else:
        assert check.valeur == valeur


@pytest.mark.parametrize(
    ("finess_et", "missing_detail"),
    [
        pytest.param(V_STOPPED, "aucune donnée depuis 01/2025", id="stopped-before-window"),
        pytest.param(V_LATER, "aucune donnée reçue", id="reference-only"),
        pytest.param(V_DEPLOY_AU, "aucune donnée reçue", id="deployed-no-data"),
        pytest.param(V_NOTHING, "aucune donnée reçue", id="nothing"),
    ],
)
def test_missing_everywhere(checks, finess_et, missing_detail):
    for critere in INDICATOR_CRITERIA:
        check = checks[(finess_et, critere)]
        assert (check.statut, check.valeur, check.detail) == ("manquant", None, missing_detail)


@pytest.mark.parametrize(
    ("finess_et", "statut", "detail"),
    [
        pytest.param(V_OK, "ok", "tous les critères sont remplis", id="all-ok"),
        # ins, mss zero; taux_dossiers_actifs 0 / 40; pp and evenement not computable
        pytest.param(
            V_ZERO,
            "bloque",
            "bloqué par un zéro : INS, MSSanté, taux de dossiers actifs, "
            "taux avec projet personnalisé, taux avec événement",
            id="zeros",
        ),
        # only mss is ok
        pytest.param(
            V_USAGE_ONLY,
            "bloque",
            "bloqué faute de données : INS, DMP, taux de dossiers actifs, "
            "taux avec projet personnalisé, taux avec événement",
            id="usage-only",
        ),
        # deployed (usage data) but every indicator missing
        pytest.param(
            V_STOPPED,
            "bloque",
            "bloqué faute de données : INS, DMP, MSSanté, taux de dossiers actifs, "
            "taux avec projet personnalisé, taux avec événement",
            id="stopped",
        ),
        # not deployed by 04/2025 and no data: all 7 criteria block
        pytest.param(
            V_LATER,
            "bloque",
            "bloqué faute de données : déploiement, INS, DMP, MSSanté, taux de dossiers "
            "actifs, taux avec projet personnalisé, taux avec événement",
            id="not-deployed",
        ),
    ],
)
def test_verdict(checks, finess_et, statut, detail):
    verdict = checks[(finess_et, "va")]
    assert (verdict.statut, verdict.valeur, verdict.detail) == (statut, None, detail)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"og": OG1}, [V_OK, V_ZERO, V_DEPLOY_AU], id="og-1"),
        pytest.param({"og": OG2}, [V_NOTHING, V_STOPPED, V_LATER], id="og-2"),
        pytest.param({"commande": "BC-1"}, [V_OK, V_ZERO], id="commande-BC-1"),
        pytest.param(
            {"commande": "BC-2"}, [V_DEPLOY_AU, V_NOTHING, V_STOPPED, V_LATER], id="commande-BC-2"
        ),
        pytest.param({"og": OG1, "commande": "BC-2"}, [V_DEPLOY_AU], id="og-1-and-BC-2"),
        pytest.param({"og": "999999999"}, [], id="unknown-og"),
        pytest.param({"editeur": "Editeur A"}, [V_OK, V_ZERO, V_DEPLOY_AU], id="editeur-A"),
        # V_USAGE_ONLY has no editor: an editor filter drops it
        pytest.param(
            {"editeur": "Editeur B", "commande": "BC-2"},
            [V_NOTHING, V_STOPPED, V_LATER],
            id="editeur-B-and-BC-2",
        ),
        pytest.param({"editeur": "Editeur C"}, [], id="unknown-editeur"),
        # an empty filter is no filter: every ESMS, V_USAGE_ONLY included
        pytest.param(
            {"og": "", "commande": ""},
            [V_OK, V_ZERO, V_USAGE_ONLY, V_DEPLOY_AU, V_NOTHING, V_STOPPED, V_LATER],
            id="empty-filters",
        ),
    ],
)
def test_filters(loaded, ref, filters, expected):
    checks = va.readiness(loaded, ref, **filters)
    assert [c.finess_et for c in checks if c.critere == "va"] == expected
    # the filter does not change the checks of the ESMS kept: V_OK stays ok under OG1
    if V_OK in expected:
        assert by_key(checks)[(V_OK, "va")].statut == "ok"


def test_window_default_is_latest_month_in_store(loaded, ref):
    window = va.va_window(loaded, ref)
    # latest month with usage data: 04/2025 -> 3 months 02/2025..04/2025
    assert (window.start, window.end, window.text) == (
        dt.date(2025, 2, 1),
        dt.date(2025, 4, 1),
        "02/2025–04/2025",
    )


AU_USAGE = [
    ("010000016", "2025-01", "mss_messages_envoyes", 4),
    ("010000016", "2025-05", "ins_qualifiees", 3),
]


@pytest.mark.parametrize(
    ("au", "statut", "detail"),
    [
        # default au = latest month 05/2025: window 03..05 has no MSS (01 is outside)
        pytest.param(
            None,
            "manquant",
            "aucune donnée « Messages MSSanté envoyés » sur 03/2025–05/2025",
            id="default-au-05",
        ),
        # au 03/2025: window 01..03 -> 4 messages (01)
        pytest.param(
            dt.date(2025, 3, 1),
            "ok",
            "4 messages MSSanté envoyés sur 01/2025–03/2025",
            id="explicit-au-03",
        ),
        # a day in the month means its month
        pytest.param(
            dt.date(2025, 3, 17),
            "ok",
            "4 messages MSSanté envoyés sur 01/2025–03/2025",
            id="explicit-au-mid-month",
        ),
        # au 12/2024: window 10/2024..12/2024, before any data
        pytest.param(dt.date(2024, 12, 1), "manquant", "aucune donnée reçue", id="au-before-data"),
        # au 06/2025: window 04..06 ; the last data (05) is inside the window
        pytest.param(
            dt.date(2025, 6, 1),
            "manquant",
            "aucune donnée « Messages MSSanté envoyés » sur 04/2025–06/2025",
            id="explicit-au-after-latest",
        ),
    ],
)
def test_au_explicit_vs_default(store, ref, write_file, au, statut, detail):
    load(store, ref, write_file("usages.csv", long_csv(AU_USAGE)))
    check = by_key(va.readiness(store, ref, au=au))[("010000016", "mss")]
    assert (check.statut, check.detail) == (statut, detail)


def test_deploye_missing_when_usage_only_after_au(store, ref, write_file):
    load(store, ref, write_file("usages.csv", long_csv(AU_USAGE)))
    # au 12/2024: usage starts 01/2025, after it, and no deployment date
    check = by_key(va.readiness(store, ref, au=dt.date(2024, 12, 1)))[("010000016", "deploye")]
    assert (check.statut, check.detail) == (
        "manquant",
        "ni date de déploiement ni donnée d'usage jusqu'à 12/2024",
    )


# An ESMS whose only MSSanté messages are in 02/2025, two months before au (04/2025).
WINDOW_ESMS = "010000016"
WINDOW_USAGE = [
    (WINDOW_ESMS, "2025-02", "mss_messages_envoyes", 3),
    (WINDOW_ESMS, "2025-04", "ins_qualifiees", 5),
    (WINDOW_ESMS, "2025-04", "dmp_documents_envoyes", 2),
    (WINDOW_ESMS, "2025-04", "personnes_accompagnees", 10),
    (WINDOW_ESMS, "2025-04", "dossiers_actifs", 8),
    (WINDOW_ESMS, "2025-04", "dossiers_actifs_avec_pp", 6),
    (WINDOW_ESMS, "2025-04", "dossiers_actifs_avec_evenement", 4),
]


def one_month_referentiel(tmp_path: Path) -> referentiel.Referentiel:
    text = (Path(referentiel.__file__).with_name("referentiel.toml")).read_text("utf-8")
    assert "va_mois = 3" in text
    path = tmp_path / "referentiel-1-mois.toml"
    path.write_text(text.replace("va_mois = 3", "va_mois = 1"), encoding="utf-8")
    return referentiel.load(path)


@pytest.mark.parametrize(
    ("one_month", "mss", "verdict"),
    [
        # window 02..04 (3 months): 3 messages in 02 -> ok, every criterion ok
        pytest.param(
            False,
            ("ok", "3 messages MSSanté envoyés sur 02/2025–04/2025"),
            ("ok", "tous les critères sont remplis"),
            id="default-3-months",
        ),
        # window 04 only: no MSS in 04 -> manquant, and the ESMS is blocked by mss alone
        pytest.param(
            True,
            ("manquant", "aucune donnée « Messages MSSanté envoyés » sur 04/2025"),
            ("bloque", "bloqué faute de données : MSSanté"),
            id="custom-1-month",
        ),
    ],
)
def test_custom_referentiel_window(store, ref, write_file, tmp_path, one_month, mss, verdict):
    used = one_month_referentiel(tmp_path) if one_month else ref
    assert used.va_window_months == (1 if one_month else 3)
    load(store, used, write_file("usages.csv", long_csv(WINDOW_USAGE)))
    checks = by_key(va.readiness(store, used, au=dt.date(2025, 4, 1)))
    got_mss = checks[(WINDOW_ESMS, "mss")]
    got_va = checks[(WINDOW_ESMS, "va")]
    assert (got_mss.statut, got_mss.detail) == mss
    assert (got_va.statut, got_va.detail) == verdict


def test_empty_store_has_no_checks(store, ref):
    assert va.readiness(store, ref) == []


# Large counts and a rate whose parts are not both in the last month of the window (au 04/2025).
LARGE_ESMS = "010000016"
LARGE_USAGE = [
    (LARGE_ESMS, "2025-03", "personnes_accompagnees", 1600),
    (LARGE_ESMS, "2025-03", "dossiers_actifs", 100),
    (LARGE_ESMS, "2025-04", "dossiers_actifs", 1234),  # no personnes_accompagnees in 04
    (LARGE_ESMS, "2025-04", "dossiers_actifs_avec_pp", 1000),
    (LARGE_ESMS, "2025-04", "dossiers_actifs_avec_evenement", 1234),
    (LARGE_ESMS, "2025-04", "ins_qualifiees", 1234),
]


@pytest.mark.parametrize(
    ("critere", "valeur", "detail"),
    [
        # last month with both parts is 03: 100 / 1 600 = 0.0625 -> 6.25 %, exactly half-way:
        # rounded up, as a spreadsheet shows the file's 0.0625 and as the screen's
        # formats.fr_percent -> 6,3 % (it read 6,2: the binary half to even of a double)
        pytest.param(
            "taux_dossiers_actifs",
            0.0625,
            f"6,3{NNBSP}% en 03/2025 (100 / 1{NNBSP}600)",
            id="rate-last-month-with-both-parts",
        ),
        # 04: 1 000 / 1 234 = 0.81037... -> 81,0 %
        pytest.param(
            "taux_dossiers_actifs_avec_pp",
            1000 / 1234,
            f"81,0{NNBSP}% en 04/2025 (1{NNBSP}000 / 1{NNBSP}234)",
            id="rate-thousands",
        ),
        # 04: 1 234 / 1 234 = 1 -> 100,0 %
        pytest.param(
            "taux_dossiers_actifs_avec_evenement",
            1.0,
            f"100,0{NNBSP}% en 04/2025 (1{NNBSP}234 / 1{NNBSP}234)",
            id="rate-full",
        ),
        pytest.param("ins", 1234, f"1{NNBSP}234 INS qualifiées en 04/2025", id="stock-thousands"),
    ],
)
def test_large_counts_and_rate_parts(store, ref, write_file, critere, valeur, detail):
    load(store, ref, write_file("usages.csv", long_csv(LARGE_USAGE)))
    check = by_key(va.readiness(store, ref, au=dt.date(2025, 4, 1)))[(LARGE_ESMS, critere)]
    assert (check.statut, check.detail) == ("ok", detail)
    assert check.valeur == pytest.approx(valeur, rel=1e-12)


def test_blank_unit_shows_the_bare_number(store, ref, write_file, tmp_path):
    text = (Path(referentiel.__file__).with_name("referentiel.toml")).read_text("utf-8")
    units = 'unite = "message MSSanté envoyé"\nunite_pluriel = "messages MSSanté envoyés"'
    assert units in text
    path = tmp_path / "referentiel-sans-unite.toml"
    path.write_text(text.replace(units, 'unite = ""'), encoding="utf-8")
    used = referentiel.load(path)
    load(store, used, write_file("usages.csv", long_csv(WINDOW_USAGE)))
    check = by_key(va.readiness(store, used, au=dt.date(2025, 4, 1)))[(WINDOW_ESMS, "mss")]
    # 3 messages in 02, no unit: "3", then the window
    assert (check.statut, check.valeur, check.detail) == ("ok", 3, "3 sur 02/2025–04/2025")


@pytest.mark.parametrize("form", ["checks", "table", "frame"])
def test_summary_counts_ready_blocked_by_a_zero_and_for_want_of_data(loaded, ref, form):
    # Window 02/2025–04/2025. Ready: V_OK. Every criterion with data, some zero: V_ZERO.
    # A criterion missing: V_USAGE_ONLY (MSSanté in 03 only), V_DEPLOY_AU, V_NOTHING,
    # V_STOPPED (data in 12/2024 only), V_LATER. The three add up to the 7 ESMS.
    table = va.readiness_table(loaded, ref)
    checks = {"checks": va.checks_of(table), "table": table, "frame": va.readiness_frame(table)}
    assert va.summary(checks[form]) == {"pretes": 1, "bloquees_zero": 1, "bloquees_donnees": 5}


def test_outcome_of_each_esms(loaded, ref):
    outcomes = va.outcomes(va.readiness_table(loaded, ref)).to_dict()
    assert outcomes == {
        V_OK: va.READY,
        V_ZERO: va.BLOCKED_ZERO,
        V_USAGE_ONLY: va.BLOCKED_MISSING,
        V_DEPLOY_AU: va.BLOCKED_MISSING,
        V_NOTHING: va.BLOCKED_MISSING,
        V_STOPPED: va.BLOCKED_MISSING,
        V_LATER: va.BLOCKED_MISSING,
    }


def test_frame_of_the_table_is_the_frame_of_the_checks(loaded, ref):
    import pandas as pd

    from_table = va.readiness_frame(va.readiness_table(loaded, ref))
    from_checks = va.readiness_frame(va.readiness(loaded, ref))
    pd.testing.assert_frame_equal(from_table, from_checks)
    # counts and rates share the float column: 25 INS (count), 30 / 40 = 0.75 (rate)
    row = from_table.set_index(["finess_et", "critere"])["valeur"]
    assert row[(V_OK, "ins")] == 25.0 and row[(V_OK, "taux_dossiers_actifs")] == 0.75
    assert pd.isna(row[(V_OK, "va")])


def test_verdict_names_missing_then_zero_criteria(store, ref, write_file):
    # WINDOW_USAGE without its DMP documents and with 0 INS: DMP missing, INS zero, the rest
    # ok. Missing comes first (the export is the first thing to get); the outcome follows it.
    rows = [r for r in WINDOW_USAGE if r[2] != "dmp_documents_envoyes"]
    rows = [(*r[:3], 0) if r[2] == "ins_qualifiees" else r for r in rows]
    load(store, ref, write_file("usages.csv", long_csv(rows)))
    table = va.readiness_table(store, ref, au=dt.date(2025, 4, 1))
    verdict = by_key(va.checks_of(table))[(WINDOW_ESMS, "va")]
    assert (verdict.statut, verdict.detail) == (
        "bloque",
        "bloqué faute de données : DMP ; à zéro : INS",
    )
    assert va.outcomes(table).to_dict() == {WINDOW_ESMS: va.BLOCKED_MISSING}
