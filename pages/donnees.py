"""Données: upload exports, read the validation report, import; the import log; quality flags."""

import tempfile
from pathlib import Path

import streamlit as st

from dui_metrics import ui, uploads
from dui_metrics.access import Perimeter
from dui_metrics.errors import UsageError
from dui_metrics.formats import fr_int, fr_size
from dui_metrics.ingest import LOADED
from dui_metrics.store import StoreError
from dui_metrics.text import escape_markdown

ROUND, CHECK, IMPORTED = "donnees_round", "donnees_check", "donnees_imported"
ACTION = "donnees_action"
WIDE_TEXT = st.column_config.TextColumn(width="large")
NUMBER = st.column_config.TextColumn(alignment="right")  # counts shown as French text

ui.page_title(
    "Données",
    "Importer des exports, vérifier ce qu'ils contiennent avant d'écrire quoi que ce soit, "
    "retrouver l'historique des imports et les contrôles de qualité.",
)


def show_report(results, *, dry_run: bool, key: str) -> None:
    """Per-file outcome, then every error and « avertissement » with file, line, column."""
    report = uploads.report_frame(results, dry_run=dry_run)
    counts = tuple(report.columns[3:6])  # rows loaded, rows replaced, warnings
    st.dataframe(
        ui.french_display(report, integer=counts),
        hide_index=True,
        column_config={"Remarque": WIDE_TEXT} | dict.fromkeys(counts, NUMBER),
    )
    ui.download_buttons(report, "verification" if dry_run else "import", key=f"{key}_report")
    problems = uploads.problems_frame(results)
    errors = problems[problems["Gravité"] == "erreur"]
    warnings = problems[problems["Gravité"] == "avertissement"]
    if len(errors):
        st.error(
            "Fichier(s) refusé(s) en entier : corrigez les lignes ci-dessous puis déposez le "
            "fichier à nouveau. Les numéros de ligne sont ceux du fichier, comme dans un tableur.",
            icon="⛔",
        )
        st.dataframe(errors, hide_index=True, column_config={"Problème": WIDE_TEXT})
        for name, hidden in uploads.unlisted_problems(results).items():
            st.caption(f"{escape_markdown(name)} : … et {hidden} autres problèmes non listés.")
    if len(warnings):
        with st.expander(f"{len(warnings)} avertissement(s) : le fichier se charge quand même"):
            # The first ones per file on screen (a file may have thousands); all in the download.
            shown = uploads.problems_frame(results, max_warnings=uploads.MAX_WARNINGS_SHOWN)
            st.dataframe(
                shown[shown["Gravité"] == "avertissement"],
                hide_index=True,
                column_config={"Problème": WIDE_TEXT},
            )
            hidden = uploads.unlisted_warnings(results, uploads.MAX_WARNINGS_SHOWN)
            for name, count in hidden.items():
                st.caption(
                    f"{escape_markdown(name)} : les {uploads.MAX_WARNINGS_SHOWN} premiers avertissements ci-dessus, "
                    f"… et {fr_int(count)} autres avertissements (tous dans le téléchargement)."
                )
    if len(problems):
        ui.download_buttons(problems, "problemes", key=f"{key}_problems")


def uploaded(files) -> list[tuple[str, bytes]]:
    return [(f.name, f.getvalue()) for f in files]


def given_names(files) -> list[str]:
    """The names as uploaded: a file saved under another name is warned about."""
    return [f.name for f in files]


def request(action: str) -> None:
    """Button callback: the click is kept in the session, so it survives a rerun that
    Streamlit (or ``ui.page_title``) may start before this page reads it."""
    st.session_state[ACTION] = action


# --- upload, check, import ------------------------------------------------------------------
def import_section(seen: Perimeter, importer: str | None) -> None:
    """Upload, check, import: ``seen`` the importer's perimeter (files holding other ESMS are
    refused whole), ``importer`` who imports, for the log."""
    round_ = st.session_state.setdefault(ROUND, 0)
    files = st.file_uploader(
        "Déposez vos fichiers ici (plusieurs à la fois possible)",
        type=list(uploads.ACCEPTED_TYPES),
        accept_multiple_files=True,
        key=f"donnees_files_{round_}",
        help="CSV (séparateur ; , ou tabulation, UTF-8 ou Windows-1252), TXT, TSV ; classeurs "
        "XLSX, XLSM, ODS (LibreOffice), XLS (Excel 97-2003) ; Parquet ; dossiers TDDUI (FHIR) en "
        "JSON ou NDJSON.",
    )
    # Streamlit writes the limit, the formats and each file's size in English (« 500MB per
    # file », « 131.0B ») with no option to change them: dui_metrics.theme hides them, and
    # they are said here in French.
    st.caption(
        f"{fr_int(st.get_option('server.maxUploadSize'))} Mo par fichier · "
        + ", ".join(t.upper() for t in uploads.ACCEPTED_TYPES)
    )
    if files:
        st.caption(
            "Fichiers choisis : "
            + " · ".join(f"{escape_markdown(f.name)} ({fr_size(f.size)})" for f in files)
        )
    signature = tuple((f.name, f.size) for f in files or [])
    action = st.session_state.pop(ACTION, None)

    if not files:
        if IMPORTED in st.session_state:
            results = st.session_state[IMPORTED]
            loaded = any(r.status == LOADED for r in results)
            (st.success if loaded else st.warning)(
                "Import terminé : "
                + uploads.summary(results, dry_run=False)
                + (" Le tableau de bord montre les nouvelles données." if loaded else "")
            )
            show_report(results, dry_run=False, key="imported")
        else:
            st.info(
                "Déposez un ou plusieurs exports : référentiel des établissements (FINESS ET, "
                "FINESS EJ, raison sociale…) ou usages mensuels par ESMS, au format long "
                "(finess_et ; periode ; indicateur ; valeur) ou large (une colonne par "
                "comptage), ou les dossiers du DUI pour les compter ici : tables pseudonymisées "
                "(dossiers, projets personnalisés, événements, documents DMP, messages MSSanté) "
                "ou lots TDDUI (FHIR). Formats : CSV, TXT, TSV, XLSX, XLSM, ODS, XLS, Parquet, "
                "JSON, NDJSON. Rien n'est écrit avant « Importer ».",
                icon="📥",
            )
        st.page_link("pages/methode.py", label="Colonnes attendues et définitions", icon="📖")
    else:
        store_path = ui.store_path()
        checked = st.session_state.get(CHECK)
        if checked is not None and checked[0] != signature:
            checked = None  # other files since the last check
        left, right, _ = st.columns([1, 1, 4])
        left.button(
            "Vérifier",
            icon="🔎",
            type="secondary" if checked else "primary",
            key="donnees_verifier",
            on_click=request,
            args=("check",),
        )
        if action == "check":
            with (
                st.spinner("Vérification des fichiers (rien n'est écrit)…"),
                tempfile.TemporaryDirectory(prefix="dui-metrics-upload-") as folder,
            ):
                try:
                    paths = uploads.save_uploads(uploaded(files), Path(folder))
                    results = uploads.check_uploads(
                        store_path,
                        paths,
                        ui.referentiel(),
                        given=given_names(files),
                        perimeter=seen,
                        importer=importer,
                    )
                    checked = (signature, results)
                except (UsageError, StoreError, OSError) as exc:
                    shown = ui.fault_text(exc, store_path, folder)
                    st.error(f"Vérification impossible : {shown}")
                    checked = None
            st.session_state[CHECK] = checked
        ready = checked is not None and any(r.status == LOADED for r in checked[1])
        right.button(
            "Importer",
            icon="📥",
            type="primary",
            disabled=not ready,
            key="donnees_importer",
            on_click=request,
            args=("import",),
        )
        if action == "import" and ready:
            bar = st.progress(0.0, text="Import en cours…")

            def progress(done: int, total: int, result) -> None:
                # « accepté »: checked; the store is saved only when every file is done
                status = "accepté" if result.status == LOADED else result.status
                bar.progress(
                    done / total, text=f"{done}/{total} · {escape_markdown(result.file)} : {status}"
                )

            with tempfile.TemporaryDirectory(prefix="dui-metrics-upload-") as folder:
                try:
                    paths = uploads.save_uploads(uploaded(files), Path(folder))
                    results = uploads.ingest_uploads(
                        store_path,
                        paths,
                        ui.referentiel(),
                        progress,
                        given=given_names(files),
                        perimeter=seen,
                        importer=importer,
                    )
                except (UsageError, StoreError, OSError) as exc:
                    # One copy of the store for the whole import: on a failure nothing is saved.
                    st.error(
                        f"Import impossible : {ui.fault_text(exc, store_path, folder)}. "
                        "Aucun fichier n'a été "
                        "enregistré : le magasin est resté tel qu'il était.",
                        icon="⛔",
                    )
                    st.stop()
            st.session_state[IMPORTED] = results
            st.session_state.pop(CHECK, None)
            st.session_state[ROUND] = round_ + 1  # a fresh, empty uploader
            st.rerun()
        if checked is None:
            st.info(
                "Cliquez sur « Vérifier » : chaque fichier est contrôlé comme pour un import, "
                "sans rien écrire. « Importer » s'active ensuite."
            )
        else:
            results = checked[1]
            text = "Vérification : " + uploads.summary(results, dry_run=True)
            if ready:
                st.info(text + " Rien n'est encore écrit : cliquez sur « Importer ».", icon="🔎")
            else:
                st.warning(text + " Aucun fichier à importer.", icon="⚠️")
            show_report(results, dry_run=True, key="check")


st.subheader("Importer des exports")
seen = ui.perimeter()
if not uploads.may_import(seen):
    st.info(uploads.read_only_message(seen), icon="👁️")
else:
    st.caption(
        "Chaque fichier est accepté en entier ou refusé en entier. Les imports passent un par "
        "un : si quelqu'un importe en même temps, le vôtre commence quand le sien est terminé."
    )
    if seen.finess is not None:
        st.caption(
            f"Vous importez pour votre périmètre ({escape_markdown(seen.label)}) : un fichier "
            "qui contient un autre ESMS est refusé en entier."
        )
    import_section(seen, uploads.importer_of(st.user.to_dict()))

# --- import log -----------------------------------------------------------------------------
st.subheader("Historique des imports")
log = ui.cached(uploads.history)()
if log.empty:
    st.info("Aucun import pour l'instant.")
else:
    st.caption(
        f"{len(log)} fichier(s) importé(s), le plus récent en premier. SHA-256 : empreinte du "
        f"contenu ({uploads.SHORT_SHA} premiers caractères ; complète dans les téléchargements)."
    )
    shown_log = ui.french_display(
        uploads.short_sha(log), integer=("Lignes chargées", "Lignes remplacées")
    )
    ui.table(
        shown_log, column_config=dict.fromkeys(("Lignes chargées", "Lignes remplacées"), NUMBER)
    )
    ui.download_buttons(log, "historique_imports", key="history")

# --- quality flags --------------------------------------------------------------------------
st.subheader("Contrôles de qualité")
flags = ui.cached(uploads.quality_flags)()
if flags.empty:
    st.success("Aucune alerte : pas de mois manquant, de chute à zéro ni d'ESMS incomplet.")
else:
    counts = uploads.flag_counts(flags)
    shown = st.pills(
        "Contrôle",
        list(counts),
        selection_mode="multi",
        default=list(counts),
        format_func=lambda label: f"{label} ({counts[label]})",
        help="Cliquez pour masquer ou afficher un contrôle. Entre parenthèses : nombre d'alertes.",
    )
    table = flags[flags["Contrôle"].isin(shown)]
    st.caption(f"{len(table)} alerte(s) affichée(s) sur {len(flags)}.")
    ui.table(table, column_config={"Détail": WIDE_TEXT})
    ui.download_buttons(table, "controles_qualite", key="flags")
