"""Record-level files through `ingest_paths` into a real store file (issue 14): counted into
``usage`` by the rules of domain.md §6.1, replaced per table and per ESMS, winning over
precomputed values, and refused whole when wrong. Every expected count is worked out by hand
next to its case."""

from __future__ import annotations

import datetime as dt

import pytest

from dui_metrics.ingest import LOADED, REJECTED, ingest_paths
from dui_metrics.store import Store

A, B = "690000013", "690000021"  # two ESMS of one OG
REFERENCE = (
    "finess_et;finess_ej;raison_sociale\n"
    f"{A};690000005;EHPAD Les Tilleuls\n{B};690000005;SSIAD Rhône\n"
)
# D-001: enters on 31/01 (the last day of January: open in January), INS qualified on 15/02.
# D-002: 01/12/2024 → 01/03/2025 (leaves on the first day of March: open in March).
DOSSIERS = """\
FINESS ET;N° dossier;Date d'entrée;Date de sortie;Statut INS;Date statut INS
690000013;D-001;31/01/2025;;Qualifiée;15/02/2025
690000013;D-002;01/12/2024;01/03/2025;provisoire;01/12/2024
"""
# D-001's event is on 15/03 (10:30+01:00); D-002's on 10/01 (no status: carried out).
EVENTS = """\
finess_et;dossier_id;Date de l'événement;Type;Statut
690000013;D-001;2025-03-15T10:30:00+01:00;Intervention;réalisé
690000013;D-002;10/01/2025 09:00;Rendez-vous;
"""
PP = "finess_et;dossier_id;date_pp\n690000013;D-001;01/04/2024\n"
USAGE = "finess_et;periode;indicateur;valeur\n690000013;2025-01;dossiers_actifs;99\n"


def usage_of(store: Store, finess_et: str = A) -> dict[tuple[str, str], tuple[int, str]]:
    """(month AAAA-MM, indicator) → (value, kind of its import)."""
    rows = store.execute(
        "select strftime(u.periode, '%Y-%m'), u.indicateur, u.valeur, i.kind "
        "from usage u join imports i using (import_id) where u.finess_et = ? order by all",
        [finess_et],
    ).fetchall()
    return {(m, ind): (v, kind) for m, ind, v, kind in rows}


def values(store: Store, indicator: str, finess_et: str = A) -> dict[str, int]:
    return {m: v for (m, ind), (v, _) in usage_of(store, finess_et).items() if ind == indicator}


@pytest.fixture
def loaded(store_path, write_file):
    """A store with the reference, a precomputed January value, then the record tables."""
    files = [
        write_file("ref.csv", REFERENCE),
        write_file("usage.csv", USAGE),
        write_file("evenements.csv", EVENTS),  # given before the dossiers: sorted after them
        write_file("pp.csv", PP),
        write_file("dossiers.csv", DOSSIERS),
    ]
    with Store(store_path) as store:
        results = ingest_paths(store, files)
    assert [r.status for r in results] == [LOADED] * 5, [r.error for r in results]
    return store_path


def test_record_tables_are_counted_by_the_rules(loaded) -> None:
    with Store(loaded, read_only=True) as store:
        got = usage_of(store)
    # Coverage: January (D-002's event) to March (D-001's event). DMP and MSSanté are not
    # carried by these files: no row, never zero.
    assert {m for m, _ in got} == {"2025-01", "2025-02", "2025-03"}
    assert {ind for _, ind in got} == {
        "personnes_accompagnees", "dossiers_actifs", "dossiers_actifs_avec_pp",
        "dossiers_actifs_avec_evenement", "ins_qualifiees",
    }  # fmt: skip
    assert all(kind.startswith("dossiers:") for _, kind in got.values())
    with Store(loaded, read_only=True) as store:
        # both open in every month (D-001 from 31/01, D-002 until 01/03)
        assert values(store, "personnes_accompagnees") == {
            "2025-01": 2, "2025-02": 2, "2025-03": 2,
        }  # fmt: skip
        # January: D-002 (event 10/01); D-001's only trace is its PP of 04/2024, 9 months
        # before: outside the 3-month window. February: D-002 (event of January). March:
        # D-001 (event 15/03) and D-002 (event of January, 2 months before).
        assert values(store, "dossiers_actifs") == {"2025-01": 1, "2025-02": 1, "2025-03": 2}
        assert values(store, "dossiers_actifs_avec_evenement") == {
            "2025-01": 1, "2025-02": 0, "2025-03": 1,
        }  # fmt: skip
        # D-001's PP of 01/04/2024 counts until 03/2025 (12 months ending with March)
        assert values(store, "dossiers_actifs_avec_pp") == {
            "2025-01": 0, "2025-02": 0, "2025-03": 1,
        }  # fmt: skip
        # D-001 qualified on 15/02 but active only in March; D-002 provisoire
        assert values(store, "ins_qualifiees") == {"2025-01": 0, "2025-02": 0, "2025-03": 1}


def test_counts_from_records_win_over_precomputed_values(loaded, write_file) -> None:
    with Store(loaded, read_only=True) as store:
        # the precomputed 99 is hidden by the count from records, and kept aside
        assert usage_of(store)[("2025-01", "dossiers_actifs")] == (
            1,
            "dossiers:projets_personnalises",
        )
        assert store.execute("select valeur from usage_shadowed").fetchall() == [(99,)]
    # A later precomputed export for the same key does not win either.
    later = write_file("usage-2.csv", USAGE.replace(";99", ";2"))  # ≤ the 2 accompanied
    with Store(loaded) as store:
        assert [r.status for r in ingest_paths(store, [later])] == [LOADED]
        assert values(store, "dossiers_actifs")["2025-01"] == 1
        assert store.execute("select valeur from usage_shadowed").fetchall() == [(2,)]


def test_replaced_records_give_back_the_precomputed_values_they_no_longer_cover(
    loaded, write_file
) -> None:
    # A new extract of A: the same dossiers, events in March only, a new PP. Every stored
    # table of A now comes from it: coverage March only.
    files = [
        write_file("dossiers-2.csv", DOSSIERS.replace("Qualifiée", "qualifiee")),
        write_file("ev-2.csv", EVENTS.replace("10/01/2025 09:00", "20/03/2025")),
        write_file("pp-2.csv", PP.replace("01/04/2024", "02/04/2024")),
    ]
    with Store(loaded) as store:
        results = ingest_paths(store, files)
        assert [(r.status, r.rows_loaded, r.rows_replaced) for r in results] == [
            (LOADED, 4, 4),  # 2 séjours + 2 INS statuses, replacing as many
            (LOADED, 2, 2),
            (LOADED, 1, 1),
        ]
        got = usage_of(store)
        # January is no longer covered by records: the precomputed 99 is back; February
        # has no value at all (missing).
        assert got[("2025-01", "dossiers_actifs")] == (99, "usages_long")
        assert not [key for key in got if key[0] == "2025-02"]
        # March: both active (events on 15/03 and 20/03), both with an event
        assert values(store, "dossiers_actifs") == {"2025-01": 99, "2025-03": 2}
        assert values(store, "dossiers_actifs_avec_evenement") == {"2025-03": 2}
        assert store.scalar("select count(*) from usage_shadowed") == 0


def test_only_the_esms_touched_are_counted_again(loaded, write_file) -> None:
    with Store(loaded, read_only=True) as store:
        before = usage_of(store, A)
    dossiers_b = "finess_et;dossier_id;date_entree\n690000021;X-1;01/05/2025\n"
    events_b = "finess_et;dossier_id;date_evenement\n690000021;X-1;02/05/2025\n"
    with Store(loaded) as store:
        results = ingest_paths(
            store, [write_file("ev-b.csv", events_b), write_file("dossiers-b.csv", dossiers_b)]
        )
        assert [r.status for r in results] == [LOADED, LOADED]
        # A's rows, counts and sources, are untouched
        assert usage_of(store, A) == before
        # B: one dossier open and active in May, its own extract's only month
        assert values(store, "personnes_accompagnees", B) == {"2025-05": 1}
        assert values(store, "dossiers_actifs", B) == {"2025-05": 1}


def test_a_dossier_moving_between_two_esms_counts_in_each(store_path, write_file) -> None:
    dossiers = (
        "finess_et;dossier_id;date_entree;date_sortie\n"
        f"{A};M-1;01/01/2025;10/02/2025\n{B};M-1;10/02/2025;\n"
    )
    events = f"finess_et;dossier_id;date_evenement\n{A};M-1;05/01/2025\n{B};M-1;15/03/2025\n"
    with Store(store_path) as store:
        results = ingest_paths(
            store,
            [write_file("ref.csv", REFERENCE), write_file("d.csv", dossiers),
             write_file("e.csv", events)],
        )  # fmt: skip
        assert [r.status for r in results] == [LOADED] * 3
        # Coverage January–March. A: open January and February (leaves 10/02); its event
        # of January makes it active in January to March while open. B: open from February.
        assert values(store, "personnes_accompagnees", A) == {
            "2025-01": 1, "2025-02": 1, "2025-03": 0,
        }  # fmt: skip
        assert values(store, "dossiers_actifs", A) == {"2025-01": 1, "2025-02": 1, "2025-03": 0}
        # B's first month is February (its first open séjour): no January row.
        assert values(store, "personnes_accompagnees", B) == {"2025-02": 1, "2025-03": 1}
        assert values(store, "dossiers_actifs", B) == {"2025-02": 0, "2025-03": 1}


def test_dmp_and_mss_are_counted_when_the_extract_carries_them(store_path, write_file) -> None:
    dossiers = f"finess_et;dossier_id;date_entree\n{A};D-1;01/01/2025\n"
    dmp = (
        "finess_et;dossier_id;Date d'envoi;Statut\n"
        f"{A};D-1;03/02/2025;envoyé\n{A};D-1;04/02/2025;refusé\n{A};D-1;05/03/2025;accepté\n"
    )
    mss = f"finess_et;Date du message;Sens\n{A};05/03/2025;envoyé\n{A};06/03/2025;reçu\n"
    with Store(store_path) as store:
        files = [write_file(n, t) for n, t in
                 (("d.csv", dossiers), ("dmp.csv", dmp), ("mss.csv", mss))]  # fmt: skip
        assert [r.status for r in ingest_paths(store, files)] == [LOADED] * 3
        # coverage February (first DMP document) to March; refused documents do not count
        assert values(store, "dmp_documents_envoyes") == {"2025-02": 1, "2025-03": 1}
        assert values(store, "mss_messages_envoyes") == {"2025-02": 0, "2025-03": 1}
        assert values(store, "mss_messages_recus") == {"2025-02": 0, "2025-03": 1}
        # the document of February makes D-1 active
        assert values(store, "dossiers_actifs") == {"2025-02": 1, "2025-03": 1}


def _contents(store: Store) -> list:
    return [
        store.execute(f"select * from {t} order by all").fetchall()
        for t in ("imports", "usage", "usage_shadowed", "records_sejours", "records_ins",
                  "records_pp", "records_evenements", "record_imports")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "dossiers-statut.csv",
            DOSSIERS.replace("provisoire", "douteuse"),
            "dossiers-statut.csv, ligne 3, colonne ins_statut : valeur inconnue « douteuse » ; "
            "attendues : provisoire, qualifiee, recuperee, validee",
        ),
        (
            "dossiers-sortie.csv",
            DOSSIERS.replace("01/12/2024;01/03/2025", "01/12/2024;01/11/2024"),
            "dossiers-sortie.csv, ligne 3, colonne date_sortie : sortie le 01/11/2024 avant "
            "l'entrée le 01/12/2024",
        ),
        (
            "ev-inconnu.csv",
            EVENTS.replace("D-002", "D-999"),
            "ev-inconnu.csv, ligne 3, colonne dossier_id : dossier inconnu dans l'ESMS "
            "690000013 : aucun séjour de ce dossier dans la table dossiers importée ; "
            "importez d'abord (ou dans la même commande) la table dossiers",
        ),
        (
            "dossiers-nir.csv",
            DOSSIERS.replace("D-002", "1 85 05 78 006 084"),
            "dossiers-nir.csv, ligne 3, colonne dossier_id : identifiant de dossier refusé : il "
            "a la forme d'un NIR (13 ou 15 chiffres) ; exportez l'identifiant local du dossier "
            "dans le DUI",
        ),
    ],
)
def test_a_wrong_record_file_is_refused_whole_and_the_store_is_unchanged(
    loaded, write_file, name, text, message
) -> None:
    with Store(loaded, read_only=True) as store:
        before = _contents(store)
    with Store(loaded) as store:
        given = write_file(name, text)
        (result,) = ingest_paths(store, [given])
        assert result.status == REJECTED
        folder = f"{given.parent}/"
        assert [str(p).replace(folder, "") for p in result.error.problems] == [message]
        assert "85 05" not in result.error.summary()  # a NIR-shaped id is never quoted
        assert _contents(store) == before


def test_the_same_extract_again_is_skipped(loaded, write_file) -> None:
    with Store(loaded) as store:
        (result,) = ingest_paths(store, [write_file("dossiers.csv", DOSSIERS)])
        assert result.status == "déjà importé"
        assert values(store, "dossiers_actifs") == {"2025-01": 1, "2025-02": 1, "2025-03": 2}


def test_record_counts_reach_the_commands(loaded, capsys) -> None:
    from dui_metrics.cli import main

    assert main(["indicators", "--store", str(loaded), "--au", "2025-03"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # March: 2 accompanied, 2 active, 1 with a PP, 1 with an event, 1 qualified INS
    assert f"{A},2025-03,taux_dossiers_actifs,1.0,2,2" in lines
    assert f"{A},2025-03,taux_dossiers_actifs_avec_pp,0.5,1,2" in lines
    assert f"{A},2025-03,taux_ins_qualifiees,0.5,1,2" in lines


def test_the_evidence_pack_names_the_records_behind_the_counts(loaded, ref) -> None:
    from dui_metrics.evidence import build_pack

    with Store(loaded, read_only=True) as store:
        pack = build_pack(store, ref, "690000005", au=dt.date(2025, 3, 1))
        label = pack.provenance[(A, dt.date(2025, 3, 1), "dossiers_actifs")]
        # every file of the extract is a source, with its record rows: 2 séjours + 2 INS
        # statuses, 2 events, 1 PP; the reference for A and B; not the precomputed file, whose
        # only value is hidden by the count from records
        sources = dict(zip(pack.sources["file_name"].map(lambda n: n.rsplit("/", 1)[-1]),
                           pack.sources["lignes_utilisees"], strict=True))  # fmt: skip
    assert label.startswith("calculé depuis les dossiers (extrait importé le ")
    assert label.endswith(", dernier fichier pp.csv)")
    assert sources == {"ref.csv": 2, "dossiers.csv": 4, "evenements.csv": 2, "pp.csv": 1}


def test_an_activity_after_the_current_month_opens_no_future_month(store_path, write_file) -> None:
    # Today is 15/06/2025 (conftest): an event typed 2052 instead of 2025 counts in no month,
    # and the coverage stops at June 2025.
    dossiers = f"finess_et;dossier_id;date_entree\n{A};D-1;01/05/2025\n"
    events = f"finess_et;dossier_id;date_evenement\n{A};D-1;02/05/2025\n{A};D-1;03/06/2052\n"
    with Store(store_path) as store:
        files = [write_file("d.csv", dossiers), write_file("e.csv", events)]
        assert [r.status for r in ingest_paths(store, files)] == [LOADED, LOADED]
        assert values(store, "personnes_accompagnees") == {"2025-05": 1, "2025-06": 1}
        assert values(store, "dossiers_actifs_avec_evenement") == {"2025-05": 1, "2025-06": 0}
