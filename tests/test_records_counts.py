"""Counting the base counts from records (domain.md §6.1), edge by edge, on a real DuckDB
store. Référentiel defaults: activity window 3 months, PP validity 12 months. Every expected
value is worked out in the comment next to it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dui_metrics import records
from dui_metrics.records import Records, canonical, count_base, local_date

A, B = "690000013", "690000021"
D = dt.date
A = "690000013"


def counts(store, ref, recs: Records) -> dict[tuple[str, str, str], int]:
    frame = count_base(store, ref, recs)
    return {
        (f, p.strftime("%Y-%m"), i): v
        for f, p, i, v in zip(
            frame["finess_et"], frame["periode"], frame["indicateur"], frame["valeur"], strict=True
        )
    }


def test_sejour_open_on_the_last_day_of_entry_and_the_first_day_of_exit(store, ref) -> None:
    recs = Records(
        sejours=[
            (A, "d1", D(2025, 1, 31), None),  # entry on January's last day: counts in January
            (A, "d2", D(2024, 12, 1), D(2025, 3, 1)),  # exit on March's first day: counts in March
            (A, "d4", D(2025, 1, 1), D(2025, 2, 28)),  # exit 28/02: not in March
        ],
        evenements=[
            (A, "d2", D(2025, 1, 10), None),
            (A, "d1", D(2025, 3, 15), "réalisé"),
        ],
    )
    got = counts(store, ref, recs)
    # coverage: January (d2's event) to March (d1's event)
    assert {k[1] for k in got} == {"2025-01", "2025-02", "2025-03"}
    people = [got[(A, m, "personnes_accompagnees")] for m in ("2025-01", "2025-02", "2025-03")]
    assert people == [3, 3, 2]  # d1 d2 d4 | d1 d2 d4 | d1 d2
    # d2 active Jan–Mar (its January event is within the 3 months ending with each);
    # d1 active in March only (its event); d4 never (no trace)
    active = [got[(A, m, "dossiers_actifs")] for m in ("2025-01", "2025-02", "2025-03")]
    assert active == [1, 1, 2]
    with_event = [got[(A, m, "dossiers_actifs_avec_evenement")] for m in ("2025-01", "2025-02", "2025-03")]  # fmt: skip
    assert with_event == [1, 0, 1]
    assert got[(A, "2025-02", "dossiers_actifs_avec_pp")] == 0
    assert got[(A, "2025-02", "ins_qualifiees")] == 0
    # no DMP document nor MSSanté message in the input: those counts are missing, not zero
    assert not [k for k in got if k[2].startswith(("dmp_", "mss_"))]


def test_a_pp_counts_for_twelve_months_not_thirteen(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2024, 1, 1), None), (A, "d2", D(2024, 1, 1), None)],
        evenements=[(A, "d1", D(2025, 3, 5), None), (A, "d2", D(2025, 3, 6), None)],
        projets=[
            (A, "d1", D(2024, 3, 31)),  # 03/2024 → 03/2025: the 13th month, no longer counts
            (A, "d2", D(2024, 4, 1)),  # 04/2024 → 03/2025: the 12th month, counts
        ],
    )
    got = counts(store, ref, recs)
    assert {k[1] for k in got} == {"2025-03"}  # a PP is not an activity: coverage is March
    assert got[(A, "2025-03", "dossiers_actifs")] == 2
    assert got[(A, "2025-03", "dossiers_actifs_avec_pp")] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2025-04-01T00:30:00+02:00", D(2025, 4, 1), id="fhir-after-midnight-paris"),
        pytest.param("2025-03-31T23:30:00-05:00", D(2025, 3, 31), id="fhir-west-not-utc"),
        pytest.param("2025-04-01T00:30:00Z", D(2025, 4, 1), id="fhir-utc"),
        pytest.param("2025-04-01", D(2025, 4, 1), id="iso-date"),
        pytest.param("01/04/2025", D(2025, 4, 1), id="french-date"),
        pytest.param("1/4/2025 00:30", D(2025, 4, 1), id="french-date-time"),
        pytest.param("31/02/2025", None, id="no-such-day"),
        pytest.param("avril 2025", None, id="not-a-date"),
    ],
)
def test_local_date_is_the_date_as_written(text, expected) -> None:
    assert local_date(text) == expected


def test_an_event_at_0030_plus_0200_on_the_first_is_in_that_month(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None)],
        evenements=[(A, "d1", "2025-04-01T00:30:00+02:00", None)],
    )
    got = counts(store, ref, recs)
    # April, not March (UTC would say 2025-03-31T22:30)
    assert {k[1] for k in got} == {"2025-04"}
    assert got[(A, "2025-04", "dossiers_actifs_avec_evenement")] == 1


def test_ins_status_at_the_end_of_the_month(store, ref) -> None:
    recs = Records(
        sejours=[(A, d, D(2025, 1, 1), None) for d in ("d1", "d2", "d3")],
        evenements=[(A, d, D(2025, m, 2), None) for d in ("d1", "d2", "d3") for m in (3, 4)],
        ins=[
            (A, "d1", "Provisoire", D(2025, 1, 10)),
            (A, "d1", "Qualifiée", D(2025, 4, 15)),  # qualified mid-April
            (A, "d2", "validée", D(2025, 2, 1)),  # validated is not qualified
            # d3: no status known: not qualified
        ],
    )
    got = counts(store, ref, recs)
    assert got[(A, "2025-03", "ins_qualifiees")] == 0  # d1 still provisoire on 31/03
    assert got[(A, "2025-04", "ins_qualifiees")] == 1  # d1 qualified on 15/04, so at 30/04
    assert got[(A, "2025-04", "dossiers_actifs")] == 3


def test_cancelled_and_planned_events_do_not_count(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None), (A, "d2", D(2025, 1, 1), None)],
        evenements=[
            (A, "d1", D(2025, 3, 3), "Annulé"),
            (A, "d1", D(2025, 3, 4), "PLANIFIÉ"),
            (A, "d2", D(2025, 3, 5), "réalisé"),
        ],
    )
    got = counts(store, ref, recs)
    assert got[(A, "2025-03", "personnes_accompagnees")] == 2
    assert got[(A, "2025-03", "dossiers_actifs")] == 1  # d1's only events don't count
    assert got[(A, "2025-03", "dossiers_actifs_avec_evenement")] == 1


def test_only_cancelled_events_give_no_coverage_and_no_row(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None)],
        evenements=[(A, "d1", D(2025, 3, 3), "annule")],
    )
    assert counts(store, ref, recs) == {}


def test_a_dossier_moving_between_two_esms_counts_in_each_for_its_own_dates(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2025, 1, 1), D(2025, 2, 14)), (B, "d1", D(2025, 2, 15), None)],
        evenements=[(A, "d1", D(2025, 1, 20), None), (B, "d1", D(2025, 3, 10), None)],
    )
    got = counts(store, ref, recs)
    # A: from January; open Jan and Feb; its January event keeps it active in February
    assert [got[(A, m, "personnes_accompagnees")] for m in ("2025-01", "2025-02", "2025-03")] == [
        1,
        1,
        0,
    ]
    assert [got[(A, m, "dossiers_actifs")] for m in ("2025-01", "2025-02", "2025-03")] == [1, 1, 0]
    # B: from February (its first open séjour); no row for January (missing, not zero);
    # an event in A is no trace of use in B: inactive in February, active in March
    assert (B, "2025-01", "personnes_accompagnees") not in got
    assert [got[(B, m, "personnes_accompagnees")] for m in ("2025-02", "2025-03")] == [1, 1]
    assert [got[(B, m, "dossiers_actifs")] for m in ("2025-02", "2025-03")] == [0, 1]


def test_dmp_documents_and_messages_when_the_input_carries_them(store, ref) -> None:
    recs = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None)],
        documents=[
            (A, "d1", D(2025, 3, 1), "envoye"),
            (A, "d1", D(2025, 3, 2), "accepte"),
            (A, "d1", D(2025, 3, 3), "erreur"),
            (A, "d1", D(2025, 3, 4), "refuse"),
        ],
        messages=[
            (A, D(2025, 3, 5), "envoye"),
            (A, D(2025, 3, 6), "envoye"),
            (A, D(2025, 3, 7), "recu"),
            (B, D(2025, 3, 8), "recu"),  # B: an activity, no séjour
        ],
    )
    got = counts(store, ref, recs)
    assert got[(A, "2025-03", "dmp_documents_envoyes")] == 2  # sent and accepted only
    assert got[(A, "2025-03", "mss_messages_envoyes")] == 2
    assert got[(A, "2025-03", "mss_messages_recus")] == 1
    # a counted DMP document is a trace of use: d1 is active
    assert got[(A, "2025-03", "dossiers_actifs")] == 1
    # B is known from its message only: every count, zero but the one message
    assert got[(B, "2025-03", "mss_messages_recus")] == 1
    assert got[(B, "2025-03", "personnes_accompagnees")] == 0
    assert got[(B, "2025-03", "dmp_documents_envoyes")] == 0


def test_a_tddui_like_input_has_dmp_and_mss_missing_not_zero(store, ref) -> None:
    carried = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None)],
        evenements=[(A, "d1", D(2025, 3, 3), None)],
        documents=[],
        messages=[],
    )
    without = Records(
        sejours=[(A, "d1", D(2025, 1, 1), None)], evenements=[(A, "d1", D(2025, 3, 3), None)]
    )
    assert counts(store, ref, carried)[(A, "2025-03", "dmp_documents_envoyes")] == 0
    assert counts(store, ref, carried)[(A, "2025-03", "mss_messages_recus")] == 0
    assert sorted(k[2] for k in counts(store, ref, without)) == [
        "dossiers_actifs",
        "dossiers_actifs_avec_evenement",
        "dossiers_actifs_avec_pp",
        "ins_qualifiees",
        "personnes_accompagnees",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Qualifiée", "qualifiee", id="accent-case"),
        pytest.param(" QUAL ", "qualifiee", id="fhir-code"),
        pytest.param("récupérée", "recuperee", id="recuperee"),
        pytest.param("inconnu", None, id="unknown"),
        pytest.param(None, None, id="none"),
    ],
)
def test_ins_statuses_are_canonical(value, expected) -> None:
    assert canonical(value, records.INS_STATUSES) == expected


def test_a_frame_with_gaps_in_its_index_is_read_by_position(store, ref) -> None:
    # INS statuses given as a frame whose first row was dropped (index 1, 2): each status
    # must keep its own date. D-1 qualified on 05/02, D-2 provisoire since 06/01; realigned by
    # index, D-1 would get D-2's date and count as qualified in January.
    ins = pd.DataFrame(
        [
            (A, "D-1", None, None),
            (A, "D-1", "qualifiee", D(2025, 2, 5)),
            (A, "D-2", "provisoire", D(2025, 1, 6)),
        ],
        columns=["finess_et", "dossier_id", "statut", "date_statut"],
    ).dropna()
    recs = Records(
        sejours=[(A, "D-1", D(2025, 1, 1), None), (A, "D-2", D(2025, 1, 1), None)],
        ins=ins,
        evenements=[(A, "D-1", D(2025, 1, 9), None), (A, "D-1", D(2025, 2, 9), None)],
    )
    got = counts(store, ref, recs)
    assert got[(A, "2025-01", "ins_qualifiees")] == 0
    assert got[(A, "2025-02", "ins_qualifiees")] == 1
