"""Record tables read from real files (French headers, `;`, dates JJ/MM/AAAA), checked cell by
cell, then counted (domain.md §6.1). Expected values are worked out next to each case."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dui_metrics.errors import MAX_LISTED, ExportError
from dui_metrics.ingest.readers import RawTable
from dui_metrics.ingest.record_tables import (
    DMP,
    DOSSIERS,
    EVENTS,
    MSS,
    PP,
    check,
    detect_kind,
    read_record_table,
    records_of,
)
from dui_metrics.records import count_base, local_date

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
    assert frame.column_names == [
        "finess_et", "dossier_id", "date_entree", "date_sortie", "ins_statut", "date_statut_ins",
        "line",
    ]  # fmt: skip
    # a FINESS read as a number (8 digits) gets its leading zero back
    assert frame["finess_et"].to_pylist() == [A, A, "069000013"]
    assert frame["date_entree"][0].as_py() == dt.date(2025, 1, 31)
    assert frame["date_sortie"].to_pylist() == [None, dt.date(2025, 3, 1), None]
    assert frame["ins_statut"].to_pylist() == ["qualifiee", "provisoire", None]
    assert frame["line"].to_pylist() == [2, 3, 4]
    kind, events = read_record_table(write_file("ev.csv", EVENTS_CSV), "ev.csv")
    assert kind == EVENTS
    # the local date as written, and canonical statuses (empty: realised)
    assert events["date_evenement"].to_pylist() == [
        dt.date(2025, 3, 15), dt.date(2025, 1, 10), dt.date(2025, 3, 12),
    ]  # fmt: skip
    assert events["statut"].to_pylist() == ["realise", None, "annule"]
    # the free-text type is read, never returned
    assert events.column_names == ["finess_et", "dossier_id", "date_evenement", "statut", "line"]
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


# --- the column-by-column check, against the rules cell by cell ------------------------------


def raw_table(file: str, headers: list[str], rows: list[tuple]) -> RawTable:
    """A table as `readers.read` gives it (text cells, blanks null, lines from 2)."""
    columns = {f"c{i}": pa.array([r[i] for r in rows], pa.string()) for i in range(len(headers))}
    columns["_line"] = pa.array(range(2, len(rows) + 2), pa.int64())
    return RawTable(file, headers, pa.table(columns))


def checked(file: str, headers: list[str], rows: list[tuple]) -> pa.Table:
    raw = raw_table(file, headers, rows)
    kind, names, problems = detect_kind(file, headers)
    assert not problems
    return check(raw, kind, names)


def problems_of(file: str, headers: list[str], rows: list[tuple]) -> ExportError:
    with pytest.raises(ExportError) as caught:
        checked(file, headers, rows)
    return caught.value


DATES = [
    "31/01/2025",
    "2025-04-01T00:30:00+02:00",  # the local date as written: April, not March (UTC)
    "2025-04-01T00:30:00.250Z",
    "2025-04-01 00:30",
    "01/04/2025 09h05",
    "01/04/2025 9:05:07",
    "1/4/2025",  # one-digit day and month: read by records.local_date itself
    "1/4/2025 10:00",
    "29/02/2024",  # leap day
    "2025-04-01T25:99",  # the time is not checked, only its shape
    "\u0663\u0661/\u0660\u0661/\u0662\u0660\u0662\u0665",  # Arabic-Indic digits: Python's \d
]
BAD_DATES = ["31/02/2025", "29/02/2025", "2025-13-01", "0000-01-01", "2025-04-01Z", "mars 2025",
             "31/01/25", "2025-04-01T10", "01/04/2025 09.05", "31/01/2025 10:00:5"]  # fmt: skip


def test_dates_are_read_as_records_local_date_reads_them() -> None:
    rows = [(A, "D-1", value) for value in DATES]
    table = checked("p.csv", ["finess_et", "dossier_id", "date_pp"], rows)
    assert table["date_pp"].to_pylist() == [local_date(v) for v in DATES]
    assert table["date_pp"][1].as_py() == dt.date(2025, 4, 1)
    assert table["date_pp"][10].as_py() == dt.date(2025, 1, 31)
    # every unreadable or impossible date is refused with its line, none read
    assert all(local_date(v) is None for v in BAD_DATES)
    error = problems_of("p.csv", ["finess_et", "dossier_id", "date_pp"],
                        [(A, "D-1", v) for v in BAD_DATES])  # fmt: skip
    assert [(p.line, p.column) for p in error.problems] == [
        (line, "date_pp") for line in range(2, 2 + len(BAD_DATES))
    ]
    assert str(error.problems[0]) == (
        "p.csv, ligne 2, colonne date_pp : date illisible « 31/02/2025 » : JJ/MM/AAAA, "
        "JJ/MM/AAAA HH:MM ou AAAA-MM-JJ attendu"
    )


@given(
    st.lists(
        st.one_of(
            st.from_regex(r"\A[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}( [0-9]{1,2}[:h][0-9]{2})?\Z"),
            st.from_regex(
                r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?"
                r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?\Z"
            ),
            st.text(alphabet="0123456789/-:hTZ+ ", max_size=26),
        ),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=150, deadline=None)
def test_any_date_text_is_judged_as_records_local_date_judges_it(values: list[str]) -> None:
    values = [v.strip() or "x" for v in values]  # readers give trimmed cells, blanks null
    rows = [(A, "D-1", v) for v in values]
    headers = ["finess_et", "dossier_id", "date_pp"]
    expected = [local_date(v) for v in values]
    unreadable = [line for line, day in enumerate(expected, start=2) if day is None]
    if not unreadable:
        assert checked("p.csv", headers, rows)["date_pp"].to_pylist() == expected
        return
    error = problems_of("p.csv", headers, rows)
    assert error.total == len(unreadable)
    assert [p.line for p in error.problems] == unreadable[:MAX_LISTED]


def test_finess_numbers_are_normalised_as_normalize_finess_does() -> None:
    values = ["690000013", "69000013", "2a0000012", "10780914.0", "2B0000012"]
    table = checked("m.csv", ["finess_et", "date_message", "sens"],
                    [(v, "05/03/2025", "envoyé") for v in values])  # fmt: skip
    # 8 digits: the leading zero back; Corsica in capitals; a spreadsheet's ".0" cut
    assert table["finess_et"].to_pylist() == [
        "690000013", "069000013", "2A0000012", "010780914", "2B0000012",
    ]  # fmt: skip
    assert table.column_names == ["finess_et", "date_message", "sens", "line"]
    assert table["sens"].to_pylist() == ["envoye"] * 5
    # FINESS numbers all of 9 digits (read on their bytes) but a missing one; canonical sens
    error = problems_of("m.csv", ["finess_et", "date_message", "sens"],
                        [(A, "05/03/2025", "recu"), (None, "05/03/2025", "envoye")])  # fmt: skip
    assert [str(p) for p in error.problems] == [
        "m.csv, ligne 3, colonne finess_et : valeur manquante"
    ]
    table = checked("m.csv", ["finess_et", "date_message", "sens"], [(A, "05/03/2025", "recu")])
    assert table["finess_et"].to_pylist() == [A]
    assert table["sens"].to_pylist() == ["recu"]
    bad = [("6900001300", "05/03/2025", "reçu"), ("69-000013", "05/03/2025", "reçu")]
    error = problems_of("m.csv", ["finess_et", "date_message", "sens"], bad)
    assert [str(p) for p in error.problems] == [
        "m.csv, ligne 2, colonne finess_et : FINESS invalide « 6900001300 » : 9 caractères attendus",
        "m.csv, ligne 3, colonne finess_et : FINESS invalide « 69-000013 » : 9 caractères attendus",
    ]


def test_problems_come_by_line_then_column_the_first_ones_and_their_total() -> None:
    headers = ["finess_et", "dossier_id", "date_evenement", "Type", "statut"]
    rows = [(A, "D-1", "10/03/2025", "Soin", "réalisé")] * 5
    rows += [("1A", None, "31/02/2025", None, "reporté")] * 30  # 4 problems per row
    rows += [(A, "1 85 07 75 123 456", "10/03/2025", None, None)]
    error = problems_of("e.csv", headers, rows)
    assert error.total == 30 * 4 + 1
    assert len(error.problems) == MAX_LISTED
    # line 7 (the 6th row) first, its columns in order
    assert [(p.line, p.column) for p in error.problems[:5]] == [
        (7, "date_evenement"), (7, "dossier_id"), (7, "finess_et"), (7, "statut"),
        (8, "date_evenement"),
    ]  # fmt: skip
    assert [p.message for p in error.problems[:4]] == [
        "date illisible « 31/02/2025 » : JJ/MM/AAAA, JJ/MM/AAAA HH:MM ou AAAA-MM-JJ attendu",
        "valeur manquante",
        "FINESS invalide « 1A » : 9 caractères attendus",
        "valeur inconnue « reporté » ; attendues : annule, planifie, realise",
    ]
    # the last line (a NIR with spaces) is counted, beyond the first 20
    assert error.problems[-1].line == 11


def test_a_nir_is_refused_with_or_without_spaces_never_quoted() -> None:
    headers = ["finess_et", "dossier_id", "date_entree"]
    rows = [(A, "1 85 07 75 123 456 78", "10/03/2025"), (A, "2850775123456", "10/03/2025"),
            (A, "3850775123456", "10/03/2025"), (A, "1850775123456X", "10/03/2025")]  # fmt: skip
    error = problems_of("d.csv", headers, rows)
    assert [(p.line, p.column) for p in error.problems] == [(2, "dossier_id"), (3, "dossier_id")]
    assert "123" not in str(error)
    # 3…: not a NIR's first digit; a letter: not a NIR
    table = checked("d.csv", headers, rows[2:])
    assert table["dossier_id"].to_pylist() == ["3850775123456", "1850775123456X"]


def test_dossiers_rules_between_columns_and_absent_optional_columns() -> None:
    headers = ["finess_et", "dossier_id", "date_entree", "date_sortie", "ins_statut",
               "date_statut_ins"]  # fmt: skip
    rows = [
        (A, "D-1", "10/03/2025", "10/03/2025", None, None),  # exit on entry day: fine
        (A, "D-2", "10/03/2025", "09/03/2025", "QUAL", "10/03/2025"),  # exit before entry
        (A, "D-3", "10/03/2025", None, "Validée", "mars"),  # unreadable date, said once
        (A, "D-4", "10/03/2025", None, "validée", None),  # status without its date
        (A, "D-5", "bad", "09/03/2025", None, None),  # no entry: no comparison
    ]
    error = problems_of("d.csv", headers, rows)
    assert [str(p).removeprefix("d.csv, ") for p in error.problems] == [
        "ligne 3, colonne date_sortie : sortie le 09/03/2025 avant l'entrée le 10/03/2025",
        "ligne 4, colonne date_statut_ins : date illisible « mars » : JJ/MM/AAAA, "
        "JJ/MM/AAAA HH:MM ou AAAA-MM-JJ attendu",
        "ligne 5, colonne date_statut_ins : statut INS sans la date à laquelle il a pris effet",
        "ligne 6, colonne date_entree : date illisible « bad » : JJ/MM/AAAA, JJ/MM/AAAA HH:MM ou "
        "AAAA-MM-JJ attendu",
    ]
    table = checked("d.csv", headers[:3], [(A, "D-1", "10/03/2025")])
    # optional columns absent: all null, of their type
    assert table.schema.field("date_sortie").type == pa.date32()
    assert table.schema.field("ins_statut").type == pa.string()
    assert table["date_sortie"].to_pylist() == [None]
    assert table.schema.field("line").type == pa.int32()


def test_records_of_frames_and_tables_count_alike(write_file, store, ref) -> None:
    # D-000 has no INS status, D-001 is qualified: 1 qualified INS (a frame whose rows without
    # status are dropped kept its gaps in `records.Records`, which put D-001's date elsewhere)
    text = (
        "finess_et;dossier_id;date_entree;ins_statut;date_statut_ins\n"
        "690000013;D-000;01/01/2025;;\n690000013;D-001;01/01/2025;qualifiée;02/01/2025\n"
    )
    _, dossiers = read_record_table(write_file("d.csv", text), "d.csv")
    _, events = read_record_table(write_file("e.csv", EVENTS_CSV), "e.csv")
    tables = {DOSSIERS: dossiers, EVENTS: events}
    got = count_base(store, ref, records_of(tables))
    frames = count_base(store, ref, records_of({k: t.to_pandas() for k, t in tables.items()}))
    assert got.equals(frames)
    qualified = got[(got["indicateur"] == "ins_qualifiees") & (got["finess_et"] == A)]
    # D-001 is active in March (its event of 15/03) and qualified since 02/01
    assert qualified.set_index("periode")["valeur"][dt.date(2025, 3, 1)] == 1
