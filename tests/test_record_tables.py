"""Record tables read from real files (French headers, `;`, dates JJ/MM/AAAA), checked cell by
cell, then counted (domain.md §6.1). Expected values are worked out next to each case."""

from __future__ import annotations

import datetime as dt

import pytest

from dui_metrics.errors import ExportError
from dui_metrics.ingest.record_tables import (
    DMP,
    DOSSIERS,
    EVENTS,
    MSS,
    PP,
    read_record_table,
    records_of,
)
from dui_metrics.records import count_base

A = "690000013"

DOSSIERS_CSV = """\
FINESS ET;N° dossier;Date d'entrée;Date de sortie;Statut INS;Date statut INS
690000013;D-001;31/01/2025;;Qualifiée;15/02/2025
690000013;D-002;01/12/2024;01/03/2025;provisoire;01/12/2024
69000013;D-003;01/01/2025;;;
"""
EVENTS_CSV = """\
finess_et;dossier_id;Date de l'événement;Type;Statut
690000013;D-001;2025-03-15T10:30:00+01:00;Intervention;réalisé
690000013;D-002;10/01/2025 09:00;Rendez-vous;
690000013;D-003;12/03/2025;Rendez-vous;annulé
"""
PP_CSV = "finess_et;dossier_id;date_pp\n690000013;D-001;01/04/2024\n"
DMP_CSV = (
    "finess_et;dossier_id;Date d'envoi;Statut\n"
    "690000013;D-001;03/03/2025;envoyé\n690000013;D-001;04/03/2025;refusé\n"
)
MSS_CSV = "finess_et;Date du message;Sens\n690000013;05/03/2025;envoyé\n690000013;06/03/2025;reçu\n"


def test_each_table_is_recognised_and_typed(write_file) -> None:
    kind, frame = read_record_table(write_file("dossiers.csv", DOSSIERS_CSV), "dossiers.csv")
    assert kind == DOSSIERS
    assert list(frame.columns) == [
        "finess_et", "dossier_id", "date_entree", "date_sortie", "ins_statut", "date_statut_ins",
    ]  # fmt: skip
    # a FINESS read as a number (8 digits) gets its leading zero back
    assert list(frame["finess_et"]) == [A, A, "069000013"]
    assert frame["date_entree"][0] == dt.date(2025, 1, 31)
    assert frame["date_sortie"][1] == dt.date(2025, 3, 1)
    assert list(frame["ins_statut"]) == ["qualifiee", "provisoire", None]
    kind, events = read_record_table(write_file("ev.csv", EVENTS_CSV), "ev.csv")
    assert kind == EVENTS
    # the local date as written, and canonical statuses (empty: realised)
    assert list(events["date_evenement"]) == [
        dt.date(2025, 3, 15), dt.date(2025, 1, 10), dt.date(2025, 3, 12),
    ]  # fmt: skip
    assert list(events["statut"]) == ["realise", None, "annule"]
    assert read_record_table(write_file("pp.csv", PP_CSV), "pp.csv")[0] == PP
    assert read_record_table(write_file("dmp.csv", DMP_CSV), "dmp.csv")[0] == DMP
    assert read_record_table(write_file("mss.csv", MSS_CSV), "mss.csv")[0] == MSS


def test_tables_read_from_files_give_the_hand_worked_counts(write_file, store, ref) -> None:
    tables = {}
    for name, text in (
        ("dossiers.csv", DOSSIERS_CSV),
        ("ev.csv", EVENTS_CSV),
        ("pp.csv", PP_CSV),
        ("dmp.csv", DMP_CSV),
        ("mss.csv", MSS_CSV),
    ):
        kind, frame = read_record_table(write_file(name, text), name)
        tables[kind] = frame
    frame = count_base(store, ref, records_of(tables))
    got = {
        (f, p.strftime("%Y-%m"), i): v
        for f, p, i, v in zip(
            frame["finess_et"], frame["periode"], frame["indicateur"], frame["valeur"], strict=True
        )
    }
    # Coverage: January (D-002's event) to March (D-001's event, the DMP document, messages).
    # ESMS 690000013: D-001 open from 31/01, D-002 01/12/2024–01/03/2025.
    assert [got[(A, m, "personnes_accompagnees")] for m in ("2025-01", "2025-02", "2025-03")] == [
        2,
        2,
        2,
    ]
    # D-002 active Jan–Mar (its January event); D-001 active in March (event, DMP document)
    assert [got[(A, m, "dossiers_actifs")] for m in ("2025-01", "2025-02", "2025-03")] == [1, 1, 2]
    # D-001's PP of 01/04/2024 is within the 12 months ending with 03/2025
    assert got[(A, "2025-03", "dossiers_actifs_avec_pp")] == 1
    # D-001 qualified on 15/02/2025 (active in March only); D-002 provisoire
    assert got[(A, "2025-03", "ins_qualifiees")] == 1
    assert got[(A, "2025-03", "dmp_documents_envoyes")] == 1  # refused one left out
    assert got[(A, "2025-03", "mss_messages_envoyes")] == 1
    assert got[(A, "2025-03", "mss_messages_recus")] == 1
    # ESMS 069000013: D-003 open from January, its only event cancelled: never active
    assert got[("069000013", "2025-03", "personnes_accompagnees")] == 1
    assert got[("069000013", "2025-03", "dossiers_actifs")] == 0


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param(
            "d.csv",
            "finess_et;dossier_id;date_entree;date_sortie\n690000013;D-1;10/03/2025;09/03/2025\n",
            "d.csv, ligne 2, colonne date_sortie : sortie le 09/03/2025 avant l'entrée le "
            "10/03/2025",
            id="exit-before-entry",
        ),
        pytest.param(
            "e.csv",
            "finess_et;dossier_id;date_evenement;statut\n690000013;D-1;10/03/2025;reporté\n",
            "e.csv, ligne 2, colonne statut : valeur inconnue « reporté » ; attendues : "
            "annule, planifie, realise",
            id="unknown-status",
        ),
        pytest.param(
            "d.csv",
            "finess_et;dossier_id;date_entree\n690000013;185077512345678;10/03/2025\n",
            "d.csv, ligne 2, colonne dossier_id : identifiant de dossier refusé : il a la "
            "forme d'un NIR",
            id="nir-shaped-dossier-id",
        ),
        pytest.param(
            "d.csv",
            "finess_et;dossier_id;date_entree;Nom de naissance\n690000013;D-1;10/03/2025;X\n",
            "d.csv, ligne 1, colonne Nom de naissance : donnée identifiante",
            id="identifying-column",
        ),
        pytest.param(
            "p.csv",
            "finess_et;dossier_id;date_pp\n690000013;D-1;mars 2025\n",
            "p.csv, ligne 2, colonne date_pp : date illisible « mars 2025 »",
            id="unreadable-date",
        ),
        pytest.param(
            "d.csv",
            "finess_et;dossier_id;date_entree;ins_statut\n690000013;D-1;10/03/2025;qualifiée\n",
            "d.csv, ligne 2, colonne date_statut_ins : statut INS sans la date",
            id="ins-status-without-date",
        ),
        pytest.param(
            "x.csv",
            "finess_et;dossier_id;date_evenement;date_envoi\n690000013;D-1;10/03/2025;10/03/2025\n",
            "x.csv, ligne 1 : colonnes de plusieurs tables de dossiers",
            id="two-tables-in-one",
        ),
    ],
)
def test_bad_record_tables_are_refused_with_line_and_column(
    write_file, name, text, expected
) -> None:
    with pytest.raises(ExportError) as caught:
        read_record_table(write_file(name, text), name)
    assert expected in str(caught.value)
    # never a personal value repeated: the NIR-shaped id is not in the message
    assert "185077512345678" not in str(caught.value)
