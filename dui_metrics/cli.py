"""Command line: parse arguments → one library call → print, and an exit code.

Exit codes: 0 success, 1 rejected input (or no input file found), 2 usage error, 3 fault of
the store or the machine (unreadable store, write-protected, disk full). Human messages (French) go to stderr,
machine-readable outputs (CSV, JSON) to stdout, sorted so that the same store prints the same
bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import queue
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

from dui_metrics import access, drilldown, indicators, va
from dui_metrics import referentiel as referentiel_mod
from dui_metrics.errors import MAX_LISTED, UsageError
from dui_metrics.finess import is_valid_finess, normalize_finess
from dui_metrics.ingest import (
    IGNORED,
    LOADED,
    REJECTED,
    SKIPPED,
    describe,
    ingest_scanned,
    scan,
)
from dui_metrics.ingest.usage import parse_month
from dui_metrics.referentiel import ReferentielError
from dui_metrics.store import (
    DEMO_ONLY,
    IMPORT_COLUMNS,
    Store,
    StoreError,
    StoreFault,
    default_path,
    fault,
)
from dui_metrics.text import neutralise_formula, shown
from dui_metrics.writer import writable_copy

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


def _month(text: str) -> dt.date:
    month = parse_month(text)
    if month is None:
        raise argparse.ArgumentTypeError(f"mois illisible « {text} » : AAAA-MM attendu")
    return month


def _megabytes(text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"taille illisible « {text} » : nombre de Mo positif attendu"
        )
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with French usage errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog} : erreur : {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        type=Path,
        default=None,
        help="fichier DuckDB du magasin (défaut : $DUI_METRICS_STORE ou data/dui-metrics.duckdb)",
    )
    common.add_argument(
        "--referentiel",
        type=Path,
        default=None,
        help="fichier TOML de référentiel remplaçant celui fourni (fenêtres, cibles…)",
    )
    # --acces and --utilisateur: the output is what that user sees in the app (issue 16).
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument(
        "--acces",
        type=Path,
        metavar="FICHIER",
        help="fichier d'accès (acces.toml) : avec --utilisateur, ne sortir que le périmètre "
        "de cet utilisateur",
    )
    scoped.add_argument(
        "--utilisateur",
        metavar="EMAIL",
        help="adresse e-mail d'une entrée [[acces]] du fichier --acces",
    )
    parser = _Parser(
        prog="dui-metrics",
        description="Suivi des usages du DUI Ségur : indicateurs TBB.1, taux ESMS numérique, "
        "préparation de la vérification d'aptitude (VA).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "ingest",
        parents=[common],
        help="importer des exports (fichiers ou dossiers)",
        description="Importe des référentiels d'établissements et des exports d'usages (CSV, "
        "XLSX, Parquet). Chaque fichier est accepté en entier ou refusé en entier.",
    )
    p.add_argument("paths", nargs="+", metavar="CHEMIN", help="fichier ou dossier")
    p.add_argument(
        "--taille-max",
        type=_megabytes,
        metavar="MO",
        default=None,
        help="taille maximale d'un fichier, en Mo (1 Mo = 1 048 576 octets) ; un fichier plus "
        "gros est refusé sans être lu (défaut : $DUI_METRICS_MAX_FILE_MB ou 500)",
    )

    p = sub.add_parser(
        "indicators",
        parents=[common, scoped],
        help="comptages et taux par ESMS et par mois",
        description="Une ligne par ESMS, mois et indicateur (comptages et taux).",
    )
    p.add_argument("--du", type=_month, metavar="AAAA-MM", help="premier mois")
    p.add_argument("--au", type=_month, metavar="AAAA-MM", help="dernier mois")
    p.add_argument(
        "--finess-et", action="append", metavar="FINESS", help="limiter à cet ESMS (répétable)"
    )
    p.add_argument(
        "--format",
        choices=("csv", "json", "parquet", "xlsx"),
        default="csv",
        help="csv (défaut), json, parquet : colonnes typées (mois en date, taux et "
        "comptages en nombres), pour l'échelle nationale, ou xlsx : classeur pour un "
        "tableur (en-têtes en français, taux en %%, mois MM/AAAA), au plus "
        "1\u202f048\u202f575 lignes ; parquet et xlsx exigent --sortie",
    )
    _add_output(p)

    p = sub.add_parser(
        "va",
        parents=[common, scoped],
        help="préparation de la vérification d'aptitude par ESMS",
        description="Critères de la VA par ESMS sur la fenêtre se terminant au mois --au.",
    )
    p.add_argument(
        "--au", type=_month, metavar="AAAA-MM", help="mois de la VA (défaut : dernier mois en base)"
    )
    p.add_argument("--og", metavar="FINESS_EJ", help="limiter à un organisme gestionnaire")
    p.add_argument("--commande", metavar="ID", help="limiter à un bon de commande")
    p.add_argument(
        "--format",
        choices=("csv", "json", "xlsx"),
        default="csv",
        help="csv (défaut), json, ou xlsx : classeur pour un tableur (en-têtes en français, "
        "nom de l'établissement, taux en %%) ; xlsx exige --sortie",
    )
    _add_output(p)

    p = sub.add_parser(
        "preuves",
        parents=[common, scoped],
        help="dossier de preuves de la VA : un PDF à signer et un classeur",
        description="Écrit dans DOSSIER le dossier de preuves de la vérification d'aptitude "
        "d'un organisme gestionnaire (un bon de commande, des ESMS) : un PDF (attestation à "
        "signer, une page par ESMS avec ses graphiques, définitions et fichiers sources) et "
        "un classeur XLSX (synthèse, une feuille par critère, sources, définitions), nommés "
        "preuves-VA_<FINESS EJ>_<commande>_<AAAA-MM>.",
    )
    p.add_argument(
        "--og", required=True, metavar="FINESS_EJ", help="organisme gestionnaire (FINESS juridique)"
    )
    p.add_argument("--commande", metavar="ID", help="un bon de commande de cet organisme")
    p.add_argument(
        "--finess-et",
        action="append",
        metavar="FINESS",
        help="limiter à cet ESMS de l'organisme (répétable)",
    )
    p.add_argument(
        "--au", type=_month, metavar="AAAA-MM", help="mois de la VA (défaut : dernier mois en base)"
    )
    p.add_argument(
        "--sortie",
        type=Path,
        required=True,
        metavar="DOSSIER",
        help="dossier où écrire le PDF et le classeur (créé s'il n'existe pas)",
    )

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="écrire et importer les données de démonstration",
        description="Écrit des exports de démonstration déterministes puis les importe.",
    )
    p.add_argument(
        "--dossier",
        type=Path,
        default=Path("data") / "demo",
        help="dossier des exports de démonstration (défaut : data/demo)",
    )

    p = sub.add_parser(
        "dossiers",
        parents=[common, scoped],
        help="dossiers actifs sans projet personnalisé, sans événement ou sans INS qualifiée",
        description="Les dossiers actifs d'un ESMS pour un mois (règles des comptages calculés "
        "depuis les dossiers) auxquels il manque un projet personnalisé en cours de validité "
        "(pp), un événement dans le mois (evenement) ou une INS qualifiée à la fin du mois "
        "(ins) : identifiant pseudonymisé, séjour, dernier projet personnalisé, dernier "
        "événement, statut de l'INS. Une ligne par dossier, triées par identifiant.",
    )
    p.add_argument("--finess-et", required=True, metavar="FINESS", help="l'ESMS")
    p.add_argument("--periode", required=True, type=_month, metavar="AAAA-MM", help="le mois")
    p.add_argument(
        "--manque",
        required=True,
        choices=drilldown.MISSING,
        help="ce qui manque au dossier : pp, evenement ou ins",
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv")

    sub.add_parser(
        "historique",
        parents=[common],
        help="journal des imports",
        description="Journal des imports (CSV) : fichier, SHA-256, date, lignes chargées et remplacées.",
    )
    return parser


def _store_path(args: argparse.Namespace) -> Path:
    return args.store or default_path()


def _csv_writer():
    """A ``csv.writer`` to stdout, rows ending with "\\n", that also quotes a field holding a
    lone carriage return: a spreadsheet starts a new row at an unquoted CR, and the text after
    it would begin a cell, read as a formula ("x\\r=cmd"). The writer quotes fields holding a
    character of its line terminator: "\\r\\n" here, written as "\\n" (about 0.2 s more for
    the 320,000 rows of a national `va`)."""
    write = sys.stdout.write
    return csv.writer(
        SimpleNamespace(write=lambda line: write(line[:-2] + "\n")), lineterminator="\r\n"
    )


def _write(rows: list[dict], columns: Sequence[str], fmt: str) -> None:
    if fmt == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    # Text cells neutralised for spreadsheets (a file may be named "=cmd.csv"); not in JSON.
    writer = _csv_writer()
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else neutralise_formula(row[c]) for c in columns])


def _number(value: object, integer: bool) -> int | float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if integer else float(value)


# DuckDB's memory limit for the `indicators` export (beyond it, its sort spills to disk).
# National export (40,000 ESMS × 36 months, 17 M lines), when chosen: 2 GB gave 2.1 GB peak
# RSS in 8.8 s; 1 GB, 1.2 GB in 11.0 s; no limit, 2.5 GB in 8.0 s. With the later SQL
# changes, 2 GB gives 1.4-1.5 GB in 7.5 s (Parquet) to 8.4 s (CSV).
SORT_MEMORY = "2GB"


def _check_sortie(args: argparse.Namespace) -> None:
    """``--sortie`` given for a binary format, and a file in an existing folder."""
    if args.format in ("parquet", "xlsx") and args.sortie is None:
        raise UsageError(
            f"--format {args.format} écrit un fichier binaire : indiquez-le avec --sortie FICHIER"
        )
    if args.sortie is not None and not args.sortie.parent.is_dir():
        raise UsageError(f"dossier introuvable pour --sortie : {args.sortie.parent}")
    if args.sortie is not None and args.sortie.is_dir():
        raise UsageError(f"--sortie désigne un dossier, pas un fichier : {args.sortie}")


def _too_many_rows(narrow: str) -> UsageError:
    """The refusal of an xlsx export longer than a sheet; ``narrow``: what to do instead."""
    from dui_metrics.formats import fr_int
    from dui_metrics.spreadsheet import MAX_DATA_ROWS

    return UsageError(
        f"plus de {fr_int(MAX_DATA_ROWS)} lignes : trop pour une feuille de tableur, rien "
        f"n'a été écrit ; {narrow}"
    )


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sortie",
        type=Path,
        metavar="FICHIER",
        help="écrire dans ce fichier, remplacé seulement une fois écrit en entier, plutôt "
        "que sur la sortie standard",
    )


def _check_access(args: argparse.Namespace) -> None:
    """``--acces`` and ``--utilisateur`` go together."""
    if (args.acces is None) != (args.utilisateur is None):
        given, missing = ("--acces", "--utilisateur")[:: 1 if args.acces else -1]
        raise UsageError(f"{given} exige {missing} : les deux options vont ensemble")


def _perimeter(args: argparse.Namespace, store: Store) -> access.Perimeter | None:
    """The perimeter of ``--utilisateur`` in ``--acces``, or None (everything) without them."""
    if args.acces is None:
        return None
    return access.for_user(store, args.acces, args.utilisateur)


def cmd_indicators(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    _check_access(args)
    _check_sortie(args)
    with Store(_store_path(args), read_only=True) as store:
        perimeter = _perimeter(args, store)
        if args.format == "json":
            rows = indicators.monthly(
                store, ref, du=args.du, au=args.au, finess=args.finess_et, perimeter=perimeter
            )
            out = [
                {
                    "finess_et": f,
                    "periode": p.strftime("%Y-%m"),
                    "indicateur": i,
                    "valeur": _number(v, not is_rate),
                    "numerateur": _number(n, True),
                    "denominateur": _number(d, True),
                }
                for f, p, i, v, n, d, is_rate in rows
            ]
            text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
            with _output(args.sortie) as handle:
                handle.write(text.encode("utf-8"))
            return EXIT_OK
        # The rows are sorted before they stream out: at national scale (17 M rows) the sort
        # would hold ~2.5 GB. Bounded, DuckDB spills it to a temporary folder instead.
        with tempfile.TemporaryDirectory(prefix="dui-metrics-") as spill:
            store.execute(f"set memory_limit = '{SORT_MEMORY}'")
            store.execute("set temp_directory = ?", [spill])
            batches = indicators.monthly_export_batches(
                store,
                ref,
                du=args.du,
                au=args.au,
                finess=args.finess_et,
                as_text=args.format == "csv",
                perimeter=perimeter,
            )
            if args.format == "xlsx":
                from dui_metrics import spreadsheet

                # Counted before anything is written: read up to the limit, no further.
                table = spreadsheet.at_most(batches, spreadsheet.MAX_DATA_ROWS)
                if table is None:
                    raise _too_many_rows(
                        "réduisez l'export avec --du, --au ou --finess-et, ou utilisez "
                        "--format parquet"
                    )
                if table.num_rows >= 100_000:  # ~11 µs a row (bench/xlsx_export.py): said
                    from dui_metrics.formats import fr_int

                    print(
                        f"classeur de {fr_int(table.num_rows)} lignes : environ 3 secondes "
                        "par 250\u202f000 lignes",
                        file=sys.stderr,
                    )
                rows = spreadsheet.indicator_rows(table, ref)
                with _output(args.sortie) as handle:
                    spreadsheet.write_table(
                        handle, spreadsheet.INDICATOR_COLUMNS, rows, title="Indicateurs"
                    )
                return EXIT_OK
            with _output(args.sortie) as handle:
                _write_batches(batches, handle, args.format)
    return EXIT_OK


@contextlib.contextmanager
def _output(path: Path | None):
    """A binary handle on ``path``, or on the standard output when None. A file is written
    under a temporary name beside it and renamed once complete: an interrupted command never
    leaves a truncated file under the name asked for (nor replaces an earlier one)."""
    if path is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partiel")
    try:
        with partial.open("wb") as handle:
            yield handle
        os.replace(partial, path)
    except OSError as exc:  # no permission, disk full…: said in French, nothing left behind
        raise UsageError(f"écriture impossible dans {path} : {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _write_batches(batches, handle, fmt: str) -> None:
    """Stream Arrow batches to ``handle``: CSV of text columns (values never need quotes:
    FINESS, month, indicator codes and numbers), or Parquet of typed columns. The next
    batches are produced meanwhile (`_ahead`): national export 8.2-9.5 s -> 7.8 s (CSV),
    6.4-6.9 s -> 5.5-6.1 s (Parquet)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(handle, batches.schema) as writer:
            for batch in _ahead(batches):
                writer.write_batch(batch)
        return
    import pyarrow.csv as pacsv

    # Not neutralised for spreadsheets (text.neutralise_formula): FINESS numbers checked at
    # ingest, months, the référentiel's indicator codes and numbers; no text from the files.
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    with pacsv.CSVWriter(handle, batches.schema, write_options=options) as writer:
        for batch in _ahead(batches):
            writer.write_batch(batch)


def _ahead(batches, depth: int = 8):
    """The items of ``batches``, the next ``depth`` produced by a thread while the caller
    uses the current one (DuckDB and Arrow release the GIL). The thread's exception is raised
    here; leaving early (a closed pipe) stops the thread after its current item."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            put(exc)
            return
        put(done)

    thread = threading.Thread(target=produce, name="dui-export", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def cmd_va(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    _check_access(args)
    _check_sortie(args)
    if args.format == "xlsx":
        return _va_xlsx(args, ref)
    with Store(_store_path(args), read_only=True) as store:
        perimeter = _perimeter(args, store)
        checks = va.readiness(
            store, ref, au=args.au, og=args.og, commande=args.commande, perimeter=perimeter
        )
    if args.sortie is None:
        _write_va(checks, args.format)
        return EXIT_OK
    with _output(args.sortie) as handle, _stdout_to(handle):
        _write_va(checks, args.format)
    return EXIT_OK


@contextlib.contextmanager
def _stdout_to(handle):
    """The standard output sent to the binary ``handle`` (UTF-8): the text writers of
    `_write` and `_csv_writer` then write to a --sortie file the bytes they print."""
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    try:
        with contextlib.redirect_stdout(text):
            yield
        text.flush()
    finally:
        text.detach()  # the handle stays open: `_output` closes and renames it


def _va_xlsx(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    from dui_metrics import spreadsheet

    with Store(_store_path(args), read_only=True) as store:
        perimeter = _perimeter(args, store)
        checks = va.readiness_table(
            store, ref, au=args.au, og=args.og, commande=args.commande, perimeter=perimeter
        )
        esms = indicators.esms_dimensions(store, perimeter=perimeter)
    if checks.num_rows > spreadsheet.MAX_DATA_ROWS:
        raise _too_many_rows("réduisez l'export avec --og ou --commande, ou utilisez --format csv")
    # an ESMS known only from usage data has no name: an empty cell (never "nan")
    names = {
        code: name
        for code, name in zip(esms["finess_et"], esms["raison_sociale"], strict=True)
        if isinstance(name, str)
    }
    rows = spreadsheet.va_rows(checks, names)
    with _output(args.sortie) as handle:
        spreadsheet.write_table(handle, spreadsheet.VA_COLUMNS, rows, title="VA")
    return EXIT_OK


def _write_va(checks: list[va.Check], fmt: str) -> None:
    if fmt == "csv":  # straight from the checks: no dict per row (320,000 nationally)
        # Text cells neutralised for spreadsheets (details quote référentiel labels); valeur
        # is a number. csv writes None as "".
        n = neutralise_formula
        writer = _csv_writer()
        writer.writerow(va.Check._fields)
        writer.writerows((n(f), n(k), n(s), v, n(d)) for f, k, s, v, d in checks)
        return
    out = [
        {
            "finess_et": c.finess_et,
            "critere": c.critere,
            "statut": c.statut,
            "valeur": c.valeur,
            "detail": c.detail,
        }
        for c in checks
    ]
    _write(out, ("finess_et", "critere", "statut", "valeur", "detail"), fmt)


def cmd_evidence(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    from dui_metrics import evidence
    from dui_metrics.formats import fr_int

    _check_access(args)
    if args.sortie.exists() and not args.sortie.is_dir():
        raise UsageError(f"--sortie désigne un fichier, pas un dossier : {args.sortie}")
    with Store(_store_path(args), read_only=True) as store:
        pack = evidence.build_pack(
            store,
            ref,
            args.og,
            args.commande,
            args.finess_et,
            args.au,
            perimeter=_perimeter(args, store),
        )
    print(
        f"dossier de preuves : {pack.og_name} ({pack.og}), {pack.scope_text}, "
        f"{fr_int(len(pack.esms))} ESMS, fenêtre {pack.window.text} : {pack.verdict_text}",
        file=sys.stderr,
    )
    paths = evidence.write_pack(
        pack, args.sortie, progress=lambda text: print(text, file=sys.stderr)
    )
    for path in paths:
        print(path)
    return EXIT_OK


def _report(results) -> int:
    code = EXIT_OK
    for result in results:
        if result.status == REJECTED:
            code = EXIT_REJECTED
            print(shown(describe(result)), file=sys.stderr)
        else:
            print(shown(describe(result)))
        for warning in result.warnings[:MAX_LISTED]:
            print(shown(f"avertissement : {warning}"), file=sys.stderr)
        hidden = len(result.warnings) - MAX_LISTED
        if hidden > 0:
            print(
                f"avertissement : {result.file} : … et {hidden} autres avertissements",
                file=sys.stderr,
            )
    counts = {
        status: sum(1 for r in results if r.status == status)
        for status in (LOADED, SKIPPED, REJECTED, IGNORED)
    }
    read = len(results) - counts[IGNORED]
    line = (
        f"{read} fichier(s) : {counts[LOADED]} chargé(s), {counts[SKIPPED]} déjà importé(s), "
        f"{counts[REJECTED]} refusé(s)"
    )
    if counts[IGNORED]:
        line += f" ; {counts[IGNORED]} autre(s) fichier(s) ignoré(s)"
    print(line, file=sys.stderr)
    if not read:
        print(
            "dui-metrics : aucun fichier à importer (CSV, XLSX ou Parquet) dans les chemins donnés",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    return code


def _ingest(args: argparse.Namespace, paths, ref, max_mb=None, demo: bool = False) -> int:
    """Ingest ``paths`` into the store in one copy-on-write command and report. On a fault of
    the machine (disk full…) nothing of the command is saved, and the message says so, with
    the files that had been accepted before it."""
    path = _store_path(args)
    scanned = scan(paths)
    if not scanned[0]:  # nothing to read: the store is not even opened
        return _report(scanned[1])
    accepted: list[str] = []

    def progress(done: int, total: int, result) -> None:
        if result.status == LOADED:
            accepted.append(result.file)
        if demo:  # seven small files: each is named once, by the report below
            return
        # « accepté »: checked, written into the store only when the command ends well
        status = "accepté" if result.status == LOADED else result.status
        print(shown(f"[{done}/{total}] {result.file} : {status}"), file=sys.stderr)

    try:
        with writable_copy(path) as store:
            state = store.demo_state()
            if demo and state != DEMO_ONLY and store.imports():
                print(
                    f"avertissement : le magasin {path} contient déjà des imports réels : la "
                    "démo s'y ajoute et chaque page le signalera ; pour une démo à part, "
                    "utilisez un autre magasin (--store ou DUI_METRICS_STORE)",
                    file=sys.stderr,
                )
            if state and not demo and not _demo_files(store, scanned[0]):
                print(
                    f"avertissement : le magasin {path} contient les données de "
                    "démonstration (fictives) : vos fichiers s'y ajoutent ; pour vos données "
                    "réelles, utilisez un autre magasin (--store ou DUI_METRICS_STORE)",
                    file=sys.stderr,
                )
            results = ingest_scanned(
                store, scanned, ref, progress, max_mb, demo=demo, on_count=_counting
            )
    except StoreFault as exc:
        print(shown(f"dui-metrics : erreur : {exc}"), file=sys.stderr)
        saved = "aucun fichier n'a été enregistré : le magasin est resté tel qu'il était"
        if accepted:
            saved += " ; fichiers acceptés mais non enregistrés, à importer de nouveau : "
            saved += ", ".join(accepted)
        print(shown(f"dui-metrics : {saved}"), file=sys.stderr)
        return EXIT_FAULT
    return _report(results)


def _demo_files(store, files) -> bool:
    """Whether every file to ingest is a demo file (`dui-metrics demo` writes record files
    that the README imports): small files only, hashed once more."""
    from dui_metrics.ingest import sha256_of

    digests = store.demo_digests() or set()
    if not digests or sum(path.stat().st_size for path, _ in files) > 50 * 2**20:
        return False
    return all(sha256_of(path) in digests for path, _ in files)


def _counting(esms: int, written: int | None) -> None:
    """Progress of the counts from records, at the end of an ingest."""
    if written is None:
        print(f"comptage depuis les dossiers : {esms} ESMS…", file=sys.stderr)
    else:
        print(
            f"comptage depuis les dossiers : {written} valeur{'s' if written > 1 else ''} "
            f"calculée{'s' if written > 1 else ''} pour {esms} ESMS",
            file=sys.stderr,
        )


def cmd_ingest(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    # A missing path is a usage error raised by scan, before the store is opened.
    return _ingest(args, args.paths, ref, max_mb=args.taille_max)


def cmd_demo(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    from dui_metrics.demo import write_demo_exports
    from dui_metrics.demo_records import write_record_examples
    from dui_metrics.ingest import sha256_of

    paths = write_demo_exports(args.dossier)
    print(f"{len(paths)} exports de démonstration écrits dans {args.dossier}", file=sys.stderr)
    code = _ingest(args, paths, ref, demo=True)
    # Demo records, not imported: the README shows how to import them. Recorded as demo data,
    # so that importing them does not make the store a mix of demo and real data.
    examples = write_record_examples(Path(args.dossier))
    if code == EXIT_OK:
        with writable_copy(_store_path(args)) as store:
            store.add_demo_digests({sha256_of(p) for p in examples})
    print(
        f"dossiers de démonstration (non importés) : {Path(args.dossier) / 'dossiers'} "
        f"(tables) et {Path(args.dossier) / 'tddui'} (TDDUI FHIR) ; importez-les avec "
        "« dui-metrics ingest » pour voir leurs comptages",
        file=sys.stderr,
    )
    print(f"magasin : {_store_path(args)}", file=sys.stderr)
    return code


def cmd_history(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    with Store(_store_path(args), read_only=True) as store:
        rows = store.imports()
    for row in rows:
        row["imported_at"] = row["imported_at"].isoformat(timespec="seconds")
    _write(rows, IMPORT_COLUMNS, "csv")
    return EXIT_OK


def cmd_dossiers(args: argparse.Namespace, ref: referentiel_mod.Referentiel) -> int:
    _check_access(args)
    code = normalize_finess(args.finess_et)
    if code is None or not is_valid_finess(code):
        raise UsageError(
            f"FINESS invalide « {args.finess_et} » : 9 caractères attendus (chiffres, 2A ou 2B)"
        )
    with Store(_store_path(args), read_only=True) as store:
        perimeter = _perimeter(args, store)
        if perimeter is not None:  # before anything that would tell whether the ESMS exists
            perimeter.require(code)
        if not drilldown.has_records(store, code):
            if not drilldown.known_esms(store, code):
                raise UsageError(f"ESMS inconnu : {code} n'est pas dans le magasin")
            print(
                f"dui-metrics : aucun dossier enregistré pour l'ESMS {code} dans le magasin "
                "(ses comptages, s'il en a, viennent d'exports précalculés) : importez ses "
                "fichiers de dossiers ou TDDUI avec « dui-metrics ingest »",
                file=sys.stderr,
            )
            return EXIT_REJECTED
        frame = drilldown.missing_dossiers(
            store, ref, code, args.periode, args.manque, perimeter=perimeter
        )
        if not drilldown.record_status(store, ref, code).computed(args.periode):
            print(
                f"avertissement : les comptages de {args.periode:%m/%Y} de l'ESMS {code} ne sont "
                "pas calculés depuis ses dossiers (mois hors de leur couverture, ou exports "
                "précalculés) : cette liste ne correspond pas aux taux de ce mois",
                file=sys.stderr,
            )
    columns = drilldown.MISSING_COLUMNS
    # Dates as ISO text (AAAA-MM-JJ), as the import log prints its times; None stays empty.
    rows = [
        {
            c: v.isoformat() if isinstance(v, dt.date) else v
            for c, v in zip(columns, row, strict=True)
        }
        for row in frame.itertuples(index=False, name=None)
    ]
    _write(rows, columns, args.format)
    return EXIT_OK


COMMANDS = {
    "ingest": cmd_ingest,
    "indicators": cmd_indicators,
    "va": cmd_va,
    "preuves": cmd_evidence,
    "demo": cmd_demo,
    "historique": cmd_history,
    "dossiers": cmd_dossiers,
}


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A stop asked by the system (kill, timeout, service manager): unwind like Ctrl-C, so that
    # the private copy of the store is removed at once rather than by the next writer.
    with contextlib.suppress(ValueError):  # not the main thread (tests): left as it is
        signal.signal(signal.SIGTERM, _stop)
    try:
        ref = referentiel_mod.load(args.referentiel)
        code = COMMANDS[args.command](args, ref)
        sys.stdout.flush()  # an output that cannot be written fails here, not at exit
        return code
    except StoreFault as exc:
        print(shown(f"dui-metrics : erreur : {exc}"), file=sys.stderr)
        return EXIT_FAULT
    except (UsageError, StoreError, ReferentielError, access.AccessError) as exc:
        print(shown(f"dui-metrics : erreur : {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        # Faults of the store are StoreFault by now (writer, Store): this one is of the
        # output (standard output on a full disk, a closed terminal…).
        where = exc.filename or "la sortie standard"
        print(
            f"dui-metrics : erreur : écriture impossible dans {where} : {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_FAULT
    except Exception as exc:
        # A fault met while reading the store (a corrupt block found by a query): said in
        # French, never a traceback. Anything else is a bug: raised.
        found = fault(exc, _store_path(args), "lecture")
        if found is None:
            raise
        print(shown(f"dui-metrics : erreur : {found}"), file=sys.stderr)
        return EXIT_FAULT


if __name__ == "__main__":
    sys.exit(main())
