"""The DUI's records in the store (issue 14, domain.md §6.1): written per table and per ESMS,
then counted into ``usage``, where the counts computed from records win.

- A record table file (``dossiers``, ``projets_personnalises``, ``evenements``,
  ``documents_dmp``, ``messages_mss``) replaces that table's stored rows for each ESMS it
  holds; a TDDUI FHIR file replaces the séjours, INS statuses, PP and events of its ESMS
  (`write_table`). Events, PP and DMP documents of a dossier without a stored séjour in that
  ESMS refuse the file (`unknown_dossiers`).
- The record files of one command form one extract (`finish_extract`): its coverage (first
  and last month with an activity) and whether it carried DMP documents and MSSanté messages
  are kept per import in ``record_imports``.
- `recount` counts the ESMS touched again with ``sql/records_counts.sql`` and stores the
  counts in ``usage`` under the ESMS's latest record import (the source says « calculé
  depuis les dossiers »). A precomputed value for the same ESMS, month and indicator moves to
  ``usage_shadowed``, and comes back if the records stop covering it. Only the ESMS touched
  are counted: their rows are read through views filtered on them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import pyarrow as pa

from dui_metrics.clock import current_month
from dui_metrics.errors import ExportError, Problem
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store, sql

# Import kinds (imports.kind) of record files: `dossiers:<table>` and `tddui`.
TABLE_PREFIX = "dossiers:"
TDDUI = "tddui"

# record table kind (record_tables) → [(stored table, {stored column: file column})]
_TARGETS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "dossiers": [
        (
            "records_sejours",
            {"finess_et": "finess_et", "dossier_id": "dossier_id",
             "date_entree": "date_entree", "date_sortie": "date_sortie"},
        ),
        (
            "records_ins",
            {"finess_et": "finess_et", "dossier_id": "dossier_id",
             "statut": "ins_statut", "date_statut": "date_statut_ins"},
        ),
    ],
    "projets_personnalises": [
        ("records_pp", {"finess_et": "finess_et", "dossier_id": "dossier_id", "date_pp": "date_pp"})
    ],
    "evenements": [
        (
            "records_evenements",
            {"finess_et": "finess_et", "dossier_id": "dossier_id",
             "date_evenement": "date_evenement", "statut": "statut"},
        )
    ],
    "documents_dmp": [
        (
            "records_dmp",
            {"finess_et": "finess_et", "dossier_id": "dossier_id",
             "date_envoi": "date_envoi", "statut": "statut"},
        )
    ],
    "messages_mss": [
        ("records_mss", {"finess_et": "finess_et", "date_message": "date_message", "sens": "sens"})
    ],
}  # fmt: skip
# TDDUI chunk table (fhir.iter_chunks) → stored table; columns are the stored ones.
FHIR_TARGETS = {
    "sejours": "records_sejours",
    "ins": "records_ins",
    "projets": "records_pp",
    "evenements": "records_evenements",
}
RECORD_TABLES = (
    "records_sejours",
    "records_ins",
    "records_pp",
    "records_evenements",
    "records_dmp",
    "records_mss",
)
# stored table → the name records_counts.sql reads
_COUNTED_AS = {
    "records_sejours": "rec_sejours",
    "records_ins": "rec_ins",
    "records_pp": "rec_pp",
    "records_evenements": "rec_evenements",
    "records_dmp": "rec_dmp",
    "records_mss": "rec_mss",
}
# Tables whose rows name a dossier that must have a séjour in the same ESMS.
_NEEDS_SEJOUR = {"projets_personnalises", "evenements", "documents_dmp"}
MAX_UNKNOWN_SHOWN = 20


def import_kind(table_kind: str) -> str:
    """imports.kind of a record table file: ``dossiers:evenements``…"""
    return TABLE_PREFIX + table_kind


def is_record_kind(kind: str) -> bool:
    return str(kind).startswith(TABLE_PREFIX) or kind == TDDUI


def unknown_dossiers(cur: Store, file: str, table_kind: str, table: pa.Table) -> ExportError | None:
    """The error of a table whose rows name a dossier without a stored séjour in their ESMS
    (events, PP, DMP documents: the dossiers file comes first, in this command or before);
    None when every dossier is known."""
    if table_kind not in _NEEDS_SEJOUR or table.num_rows == 0:
        return None
    cur.register("incoming_records", table.select(["finess_et", "dossier_id", "line"]))
    try:
        rows = cur.execute(
            """
            select i.line, i.finess_et, count(*) over () as n
            from incoming_records i
            anti join records_sejours s
                on s.finess_et = i.finess_et and s.dossier_id = i.dossier_id
            order by i.line
            limit ?
            """,
            [MAX_UNKNOWN_SHOWN],
        ).fetchall()
    finally:
        cur.unregister("incoming_records")
    if not rows:
        return None
    problems = [
        Problem(
            file,
            line,
            "dossier_id",
            f"dossier inconnu dans l'ESMS {finess} : aucun séjour de ce dossier dans la table "
            "dossiers importée ; importez d'abord (ou dans la même commande) la table dossiers",
        )
        for line, finess, _ in rows
    ]
    return ExportError(problems, total=rows[0][2], kind=import_kind(table_kind))


def write_table(
    cur: Store, import_id: int, table_kind: str, table: pa.Table
) -> tuple[int, int, list[str]]:
    """Store a checked record table (`record_tables.check`) as import ``import_id``: for each
    ESMS it holds, its rows replace that table's stored rows. Inside the caller's
    transaction. Returns (rows written, rows replaced, ESMS written)."""
    loaded = replaced = 0
    cur.register("incoming_records", table)
    try:
        esms = [r for (r,) in cur.execute(
            "select distinct finess_et from incoming_records order by 1"
        ).fetchall()]  # fmt: skip
        for stored, columns in _TARGETS[table_kind]:
            replaced += _delete_for(cur, stored, "incoming_records")
            _hold(cur, stored, import_id, "incoming_records")
            where = " where ins_statut is not null" if stored == "records_ins" else ""
            selected = ", ".join(f"{source} as {name}" for name, source in columns.items())
            loaded += cur.execute(
                f"insert into {stored} by name "
                f"select {selected}, ?::integer as import_id, line::integer as line "
                f"from incoming_records{where}",
                [import_id],
            ).fetchone()[0]
    finally:
        cur.unregister("incoming_records")
    return loaded, replaced, esms


def _hold(cur: Store, stored: str, import_id: int, incoming: str) -> None:
    """Record that the rows of ``stored`` of the ESMS of ``incoming`` now come from
    ``import_id`` (`record_holders`)."""
    cur.execute(
        "delete from record_holders where stored_table = ? "
        f"and finess_et in (select distinct finess_et from {incoming})",
        [stored],
    )
    cur.execute(
        f"insert into record_holders select distinct finess_et, ?, ? from {incoming}",
        [stored, import_id],
    )


def _delete_for(cur: Store, stored: str, incoming: str) -> int:
    """Delete the stored rows of ``stored`` for the ESMS of the relation ``incoming``."""
    return cur.execute(
        f"delete from {stored} where finess_et in (select distinct finess_et from {incoming})"
    ).fetchone()[0]


def write_fhir(
    cur: Store, import_id: int, chunks: Iterable[dict[str, pa.Table]]
) -> tuple[int, int, list[str]]:
    """Store the chunks of a TDDUI file (`fhir.iter_chunks`) as import ``import_id``: its
    séjours, INS statuses, PP and events replace those stored for each ESMS it holds. The
    chunks wait in temporary tables until the file is read whole (an error in its last
    bundle refuses it all): inside the caller's transaction."""
    staged = {name: f"staged_{name}" for name in FHIR_TARGETS}
    created = []
    try:
        for name, temp in staged.items():
            cur.execute(
                f"create or replace temp table {temp} as "
                f"select * exclude (import_id) from {FHIR_TARGETS[name]} limit 0"
            )
            created.append(temp)
        for chunk in chunks:
            for name, table in chunk.items():
                if name not in staged or table.num_rows == 0:
                    continue
                cur.register("incoming_chunk", table)
                try:
                    cur.execute(f"insert into {staged[name]} by name select * from incoming_chunk")
                finally:
                    cur.unregister("incoming_chunk")
        cur.execute(
            "create or replace temp table staged_esms as "
            + " union ".join(f"select finess_et from {temp}" for temp in staged.values())
        )
        created.append("staged_esms")
        loaded = replaced = 0
        for name, temp in staged.items():
            replaced += _delete_for(cur, FHIR_TARGETS[name], "staged_esms")
            _hold(cur, FHIR_TARGETS[name], import_id, "staged_esms")
            loaded += cur.execute(
                f"insert into {FHIR_TARGETS[name]} by name "
                f"select *, ?::integer as import_id from {temp}",
                [import_id],
            ).fetchone()[0]
        esms = [r for (r,) in cur.execute(
            "select distinct finess_et from staged_esms order by 1"
        ).fetchall()]  # fmt: skip
    finally:
        for temp in created:
            with contextlib.suppress(Exception):
                cur.execute(f"drop table if exists {temp}")
    return loaded, replaced, esms


def finish_extract(cur: Store, imports: list[tuple[int, str]]) -> None:
    """Record the extract made of the record imports ``imports`` ((import_id, kind), one
    command) in ``record_imports``: its coverage, read from its own rows, and whether it
    carried DMP documents and MSSanté messages. A TDDUI import never carries them (the
    standard has no such resource), even beside record tables that do: its ESMS keep them
    missing."""
    if not imports:
        return
    import_ids = [i for i, _ in imports]
    kinds = {k for _, k in imports}
    carried = {
        "dmp": import_kind("documents_dmp") in kinds,
        "mss": import_kind("messages_mss") in kinds,
    }
    cur.register("extract_imports", pa.table({"import_id": pa.array(import_ids, pa.int32())}))
    try:
        with _counted_views(cur, "import_id in (select import_id from extract_imports)"):
            debut, fin = cur.one(
                "select min(debut), max(fin) from (" + sql("records_scope_extract") + ")", carried
            ) or (None, None)
    finally:
        cur.unregister("extract_imports")
    # An activity dated after the current month (a typing slip, an event planned but marked
    # done) never opens future months: the coverage stops at the current month, as usage
    # exports cannot hold a later month.
    now = current_month()
    if fin is not None and fin > now:
        fin = now
    if debut is not None and debut > now:
        debut = fin = None
    for import_id, kind in imports:
        tables = kind != TDDUI
        cur.execute(
            "insert or replace into record_imports values (?, ?, ?, ?, ?, ?)",
            [import_id, min(import_ids), debut, fin, carried["dmp"] and tables,
             carried["mss"] and tables],
        )  # fmt: skip


@contextlib.contextmanager
def _counted_views(cur: Store, where: str):
    """The stored record tables under the names records_counts.sql reads, filtered by
    ``where`` (temporary views, dropped on exit)."""
    try:
        for stored, name in _COUNTED_AS.items():
            cur.execute(
                f"create or replace temp view {name} as "
                f"select * exclude (import_id, line) from {stored} where {where}"
            )
        yield
    finally:
        for name in _COUNTED_AS.values():
            with contextlib.suppress(Exception):
                cur.execute(f"drop view if exists {name}")


def recount(cur: Store, ref: Referentiel, esms: Iterable[str]) -> int:
    """Count the ESMS ``esms`` again from their stored records and store the counts in
    ``usage`` (records win; see the module). Inside the caller's transaction. Returns the
    number of counts written."""
    esms = sorted(set(esms))
    if not esms:
        return 0
    cur.register("touched_esms", pa.table({"finess_et": pa.array(esms, pa.string())}))
    try:
        touched = "finess_et in (select finess_et from touched_esms)"
        # Each ESMS's scope: the coverage of the extracts its rows come from, the DMP/MSSanté
        # carried by any of them, and its latest record import (the counts' source).
        cur.execute(
            f"""
            create or replace temp table rec_scope as
            select h.finess_et, min(r.debut) as debut, max(r.fin) as fin,
                bool_or(r.dmp) as dmp, bool_or(r.mss) as mss, max(h.import_id) as import_id
            from record_holders h
            join record_imports r using (import_id)
            where h.{touched}
            group by h.finess_et
            """
        )
        with _counted_views(cur, touched):
            cur.execute(
                "create or replace temp table computed as " + sql("records_counts"),
                {"activite": ref.activity_window_months, "validite_pp": ref.pp_window_months},
            )
        # The counts computed before go...
        cur.execute(
            f"delete from usage where {touched} "
            "and import_id in (select import_id from record_imports)"
        )
        # ...precomputed values hidden earlier come back, unless a newer file replaced them...
        cur.execute(
            f"""
            insert into usage
            select s.* from usage_shadowed s
            where s.{touched}
              and not exists (
                select 1 from usage u
                where u.finess_et = s.finess_et and u.periode = s.periode
                  and u.indicateur = s.indicateur
              )
            """
        )
        cur.execute(f"delete from usage_shadowed where {touched}")
        # ...and the precomputed values of the keys counted now are hidden.
        keys = "u.finess_et = c.finess_et and u.periode = c.periode and u.indicateur = c.indicateur"
        cur.execute(
            f"insert into usage_shadowed select u.* from usage u semi join computed c on {keys}"
        )
        cur.execute(f"delete from usage u using computed c where {keys}")
        written = cur.execute(
            """
            insert into usage
            select c.finess_et, c.periode, c.indicateur, c.valeur, s.import_id, null
            from computed c join rec_scope s using (finess_et)
            """
        ).fetchone()[0]
    finally:
        cur.unregister("touched_esms")
        for temp in ("rec_scope", "computed"):
            with contextlib.suppress(Exception):
                cur.execute(f"drop table if exists {temp}")
    return written


def esms_with_records(cur: Store, esms: Iterable[str]) -> list[str]:
    """The ESMS of ``esms`` that have stored records (their precomputed values may be
    hidden by counts from records)."""
    esms = sorted(set(esms))
    if not esms:
        return []
    cur.register("asked_esms", pa.table({"finess_et": pa.array(esms, pa.string())}))
    try:
        found = cur.execute(
            "select distinct finess_et from asked_esms a "
            "where exists (select 1 from records_sejours s where s.finess_et = a.finess_et) "
            "or exists (select 1 from records_mss m where m.finess_et = a.finess_et) "
            "order by 1"
        ).fetchall()
    finally:
        cur.unregister("asked_esms")
    return [f for (f,) in found]
