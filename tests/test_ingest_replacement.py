"""Ingestion order and replacement: files in the order given (a folder in name order),
reference files first; a later file replaces earlier values; already-ingested content is
skipped; the ingestion log; a missing path stops everything before anything is ingested.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from dui_metrics.errors import UsageError
from dui_metrics.ingest import ingest_paths
from dui_metrics.store import Store

E1 = "330000001"  # Gironde, Luhn key OK
E2 = "010780914"  # Ain, Luhn key OK
LONG = "finess_et;periode;indicateur;valeur\n"


@pytest.fixture
def ingest(store, ref, tmp_path, monkeypatch):
    """ingest("a.csv", ...) → FileResults, file names as given, relative to the input folder."""
    (tmp_path / "in").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "in")
    return lambda *names: ingest_paths(store, list(names), ref)


def loaded_values(store) -> list[tuple]:
    return store.execute(
        "select finess_et, strftime(periode, '%Y-%m'), indicateur, valeur from usage order by all"
    ).fetchall()


def test_later_file_replaces_earlier_values_for_the_same_key(store, write_file, ingest):
    write_file("a.csv", LONG + f"{E1};2025-04;ins_qualifiees;5\n{E1};2025-05;ins_qualifiees;6\n")
    # b.csv: same key (E1, 2025-05, ins_qualifiees) → replaced; 2025-04 untouched; one new key.
    write_file(
        "b.csv", LONG + f"{E1};05/2025;INS qualifiées;9\n{E1};2025-05;mss_messages_envoyes;2\n"
    )
    a, b = ingest("a.csv", "b.csv")
    assert (a.rows_loaded, a.rows_replaced) == (2, 0)
    assert (b.rows_loaded, b.rows_replaced) == (2, 1)
    assert loaded_values(store) == [
        (E1, "2025-04", "ins_qualifiees", 5),
        (E1, "2025-05", "ins_qualifiees", 9),
        (E1, "2025-05", "mss_messages_envoyes", 2),
    ]
    assert [(i["file_name"], i["rows_loaded"], i["rows_replaced"]) for i in store.imports()] == [
        ("a.csv", 2, 0),
        ("b.csv", 2, 1),
    ]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        pytest.param(("a.csv", "b.csv"), 7, id="a-then-b"),
        pytest.param(("b.csv", "a.csv"), 5, id="b-then-a"),
    ],
)
def test_files_are_taken_in_the_order_given(store, write_file, ingest, order, expected):
    write_file("a.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    write_file("b.csv", LONG + f"{E1};2025-05;ins_qualifiees;7\n")
    results = ingest(*order)
    assert [r.file for r in results] == list(order)
    # The last file given wins: a = 5, b = 7.
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", expected)]


def test_a_folder_gives_its_files_in_name_order(store, write_file, ingest):
    # Written z first so that creation order differs from name order.
    write_file("z_juin.csv", LONG + f"{E1};2025-05;ins_qualifiees;7\n")
    write_file("a_mai.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    write_file("notes.md", "pas un export\n")  # not a supported format: listed, not read
    results = ingest(".")
    assert [(r.file, r.status) for r in results] == [
        ("notes.md", "ignoré"),
        ("a_mai.csv", "chargé"),
        ("z_juin.csv", "chargé"),
    ]
    # z_juin.csv comes last and replaces a_mai.csv's 5 by 7.
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", 7)]
    assert results[2].rows_replaced == 1


def test_reference_files_are_ingested_before_usage_files(store, write_file, ingest):
    write_file("usages.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    write_file("etab.csv", f"finess_et;finess_ej;raison_sociale\n{E1};{E2};EHPAD A\n")
    results = ingest("usages.csv", "etab.csv")
    assert [(r.file, r.kind, r.status) for r in results] == [
        ("etab.csv", "etablissements", "chargé"),
        ("usages.csv", "usages_long", "chargé"),
    ]
    # The reference was there when the usage file was checked: no "absent du référentiel".
    assert results[1].warnings == []


def test_already_ingested_content_is_skipped_with_a_note_saying_when(store, write_file, ingest):
    write_file("mai.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    [first] = ingest("mai.csv")
    [again] = ingest("mai.csv")
    when = store.imports()[0]["imported_at"]
    assert (first.status, again.status) == ("chargé", "déjà importé")
    assert (again.rows_loaded, again.rows_replaced) == (0, 0)
    assert again.note == (
        f"contenu déjà importé le {when:%d/%m/%Y à %H:%M} (fichier mai.csv) ; ignoré"
    )
    assert len(store.imports()) == 1


def test_already_ingested_is_remembered_by_the_store_file_across_sessions(
    store_path, ref, write_file
):
    path = write_file("mai.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    with Store(store_path) as first_session:
        assert [r.status for r in ingest_paths(first_session, [path], ref)] == ["chargé"]
    with Store(store_path) as second_session:
        assert [r.status for r in ingest_paths(second_session, [path], ref)] == ["déjà importé"]
        assert loaded_values(second_session) == [(E1, "2025-05", "ins_qualifiees", 5)]


def test_same_content_under_another_name_is_skipped(store, write_file, ingest):
    text = LONG + f"{E1};2025-05;ins_qualifiees;5\n"
    write_file("mai.csv", text)
    write_file("copie de mai.csv", text)
    results = ingest("mai.csv", "copie de mai.csv")
    assert [r.status for r in results] == ["chargé", "déjà importé"]
    assert "(fichier mai.csv)" in results[1].note


def test_reingesting_an_older_file_does_not_restore_its_values(store, write_file, ingest):
    write_file("a.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    write_file("b.csv", LONG + f"{E1};2025-05;ins_qualifiees;7\n")
    ingest("a.csv", "b.csv")
    [again] = ingest("a.csv")
    assert again.status == "déjà importé"
    # A (5) then B (7) then A again (skipped): B's 7 stays.
    assert loaded_values(store) == [(E1, "2025-05", "ins_qualifiees", 7)]
    assert [i["file_name"] for i in store.imports()] == ["a.csv", "b.csv"]


def test_the_ingestion_log_keeps_name_sha256_time_and_row_counts(store, write_file, ingest):
    text = LONG + f"{E1};2025-05;ins_qualifiees;5\n{E1};2025-05;mss_messages_envoyes;3\n"
    path = write_file("mai.csv", text)
    before = dt.datetime.now()
    ingest("mai.csv")
    after = dt.datetime.now()
    [log] = store.imports()
    assert log["file_name"] == "mai.csv"
    assert log["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert before <= log["imported_at"] <= after
    assert (log["kind"], log["rows_loaded"], log["rows_replaced"]) == ("usages_long", 2, 0)


def test_a_rejected_file_is_not_logged(store, write_file, ingest):
    write_file("mai.csv", LONG + f"{E1};2025-05;ins_qualifiees;-5\n")
    assert [r.status for r in ingest("mai.csv")] == ["refusé"]
    assert store.imports() == []


def test_a_missing_path_raises_usage_error_and_nothing_is_ingested(store, write_file, ingest):
    write_file("mai.csv", LONG + f"{E1};2025-05;ins_qualifiees;5\n")
    with pytest.raises(UsageError, match="introuvable.*absent.csv"):
        ingest("mai.csv", "absent.csv")
    assert store.imports() == []
    assert loaded_values(store) == []


def test_an_empty_cell_does_not_replace_a_stored_value(store, write_file, ingest):
    write_file(
        "mai.csv", "finess_et;periode;ins_qualifiees;mss_messages_envoyes\n" + f"{E1};2025-05;5;3\n"
    )
    # The ins_qualifiees cell is empty: missing, not zero; only mss_messages_envoyes changes.
    write_file(
        "mai_bis.csv",
        "finess_et;periode;ins_qualifiees;mss_messages_envoyes\n" + f"{E1};2025-05;;8\n",
    )
    first, second = ingest("mai.csv", "mai_bis.csv")
    assert (second.status, second.rows_loaded, second.rows_replaced) == ("chargé", 1, 1)
    assert loaded_values(store) == [
        (E1, "2025-05", "ins_qualifiees", 5),
        (E1, "2025-05", "mss_messages_envoyes", 8),
    ]


def test_a_later_reference_file_replaces_an_establishment(store, write_file, ingest):
    write_file("etab.csv", f"finess_et;finess_ej;raison_sociale\n{E1};{E2};EHPAD A\n")
    write_file("etab_2.csv", f"finess_et;finess_ej;raison_sociale\n{E1};{E2};EHPAD Les Pins\n")
    first, second = ingest("etab.csv", "etab_2.csv")
    assert (second.rows_loaded, second.rows_replaced) == (1, 1)
    assert store.execute("select finess_et, raison_sociale from establishments").fetchall() == [
        (E1, "EHPAD Les Pins")
    ]


# --- Files whose keys are all new are written together (ingest.Session.flush) ------------------
def usage_by_file(store) -> list[tuple]:
    """(file, finess_et, month, indicator, value) of every stored value, by import order."""
    return store.execute(
        "select i.import_id, i.file_name, u.finess_et, strftime(u.periode, '%Y-%m'), "
        "u.indicateur, u.valeur, u.line from usage u join imports i using (import_id) "
        "order by all"
    ).fetchall()


@pytest.mark.parametrize("batch_rows", [1, 3, 2_000_000], ids=["each-file", "two-files", "one"])
def test_waiting_files_are_written_in_order_with_their_own_log_line(
    store, write_file, ingest, monkeypatch, batch_rows
):
    # a (2 rows) and b (1 row) hold new keys: they wait; c replaces a value of a: what waits is
    # written first, then c alone; d (new) waits until the end. Whatever the batch size, the
    # log and the values are those of writing the files one by one.
    monkeypatch.setattr("dui_metrics.ingest.BATCH_ROWS", batch_rows)
    write_file("a.csv", LONG + f"{E1};2025-04;ins_qualifiees;5\n{E1};2025-05;ins_qualifiees;6\n")
    write_file("b.csv", LONG + f"{E2};2025-05;ins_qualifiees;3\n")
    write_file("c.csv", LONG + f"{E1};2025-05;ins_qualifiees;8\n")
    write_file("d.csv", LONG + f"{E2};2025-06;ins_qualifiees;4\n")
    results = ingest("a.csv", "b.csv", "c.csv", "d.csv")
    assert [(r.status, r.rows_loaded, r.rows_replaced) for r in results] == [
        ("chargé", 2, 0),
        ("chargé", 1, 0),
        ("chargé", 1, 1),
        ("chargé", 1, 0),
    ]
    assert [
        (i["import_id"], i["file_name"], i["rows_loaded"], i["rows_replaced"])
        for i in store.imports()
    ] == [
        (1, "a.csv", 2, 0),
        (2, "b.csv", 1, 0),
        (3, "c.csv", 1, 1),
        (4, "d.csv", 1, 0),
    ]
    # Each value carries the import and the line it came from (line 2 = first after header).
    assert usage_by_file(store) == [
        (1, "a.csv", E1, "2025-04", "ins_qualifiees", 5, 2),
        (2, "b.csv", E2, "2025-05", "ins_qualifiees", 3, 2),
        (3, "c.csv", E1, "2025-05", "ins_qualifiees", 8, 2),
        (4, "d.csv", E2, "2025-06", "ins_qualifiees", 4, 2),
    ]


def test_a_failed_batch_write_fails_the_command_and_names_its_files(
    store_path, ref, write_file, tmp_path, monkeypatch
):
    # Writing what waits fails (simulated: the insert of the waiting rows raises, as a full
    # disk would). The command stops with a French error naming the files not written, and
    # the store, written through a copy, is exactly as before.
    from dui_metrics.store import DISK_FULL, StoreError, StoreFault
    from dui_metrics.store import Store as RealStore
    from dui_metrics.writer import writable_copy

    write_file("a.csv", LONG + f"{E1};2025-04;ins_qualifiees;5\n")
    with writable_copy(store_path) as s:
        ingest_paths(s, [tmp_path / "in" / "a.csv"], ref)
    before = store_path.read_bytes()
    write_file("b.csv", LONG + f"{E2};2025-05;ins_qualifiees;3\n")
    write_file("c.csv", LONG + f"{E2};2025-06;ins_qualifiees;4\n")
    real_execute = RealStore.execute

    def execute(self, statement, params=None):
        if statement.startswith("insert into usage select * from pending_usage"):
            raise OSError(28, "No space left on device")
        return real_execute(self, statement, params)

    monkeypatch.setattr(RealStore, "execute", execute)
    with pytest.raises(StoreError) as raised, writable_copy(store_path) as s:
        ingest_paths(s, [tmp_path / "in" / "b.csv", tmp_path / "in" / "c.csv"], ref)
    # A fault of the machine (exit code 3 in the CLI, which names the files not saved).
    assert isinstance(raised.value, StoreFault) and raised.value.cause == DISK_FULL
    assert str(raised.value) == (
        f"disque plein : plus de place pour écrire le magasin {store_path} (écriture) ; "
        "libérez de l'espace puis relancez la commande"
    )
    monkeypatch.undo()
    assert store_path.read_bytes() == before
    with RealStore(store_path, read_only=True) as s:
        assert [i["file_name"] for i in s.imports()] == [str(tmp_path / "in" / "a.csv")]
