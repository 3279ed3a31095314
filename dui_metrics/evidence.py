"""The VA evidence pack: what an OG director signs and an editor files with its balance request.

This module assembles the pack's data from the library's own functions, and computes no
number a second time: the checks are `va.readiness_table`'s (those of ``dui-metrics va``),
the monthly values `indicators.monthly`'s (those of ``dui-metrics indicators``). It adds
what a signed document needs around them: the provenance of every value (which imported
file supplied it), the list of those files with their SHA-256, the rules as applied, and a
fingerprint of the store content used, so that anyone holding the same files can reproduce
every number. `evidence_xlsx` and `evidence_pdf` write the pack; `write_pack` writes both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath

import pandas as pd

from dui_metrics import formats, indicators, va
from dui_metrics.access import OutsidePerimeter, Perimeter, takes_perimeter
from dui_metrics.errors import UsageError
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import (
    DISK_FULL,
    IMPORT_COLUMNS,
    IO,
    READ_ONLY,
    Store,
    StoreFault,
    fault_cause,
)
from dui_metrics.text import clean_name, mask_personal

CHART_MONTHS = 12  # months drawn in the PDF's charts, ending with the VA month
STATUS_WORDS = {va.OK: "ok", va.ZERO: "zéro", va.MISSING: "manquant"}
VERDICT_WORDS = {va.OK: "prêt", va.BLOCKED: "bloqué"}
FROM_RECORDS = "calculé depuis les dossiers"


def dui_metrics_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dui-metrics")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "inconnue"


@dataclass(frozen=True)
class Pack:
    """Everything the pack shows, for one OG, optionally one of its orders and some of its
    ESMS, at one VA month. Frames are sorted by finess_et (then periode, indicateur)."""

    og: str  # FINESS EJ
    og_name: str
    commande: str | None
    au: dt.date
    window: va.Window
    chart_start: dt.date
    referentiel: Referentiel
    # finess_et, finess_ej, raison_sociale, og_nom, commande, categorie, departement,
    # region, editeur, logiciel, date_deploiement, import_id
    esms: pd.DataFrame
    # va.readiness_frame: finess_et, critere, statut, valeur, detail
    checks: pd.DataFrame
    # indicators.monthly over chart_start..au: finess_et, periode, indicateur, valeur,
    # numerateur, denominateur, est_taux
    monthly: pd.DataFrame
    # usage rows up to au: finess_et, periode, indicateur, valeur, import_id
    rows: pd.DataFrame
    # imports behind the pack: import_id, file_name, sha256, kind, imported_at, rows_loaded,
    # lignes_utilisees
    sources: pd.DataFrame
    fingerprint: str
    generated_at: dt.datetime
    selection: tuple[str, ...] = ()  # the ESMS asked for (--finess-et), if any
    version: str = field(default_factory=dui_metrics_version)

    @property
    def finess(self) -> list[str]:
        return list(self.esms["finess_et"])

    @property
    def criteria(self) -> list[str]:
        return [c.code for c in self.referentiel.criteria]

    # --- lookups, built once per pack (a pack of 300 ESMS asks them thousands of times) ---
    @cached_property
    def _checks_by_key(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(finess_et, critere) → (statut, detail)."""
        c = self.checks
        keys = zip(c["finess_et"].tolist(), c["critere"].tolist(), strict=True)
        values = zip(c["statut"].tolist(), c["detail"].tolist(), strict=True)
        return dict(zip(keys, values, strict=True))

    @cached_property
    def verdicts(self) -> dict[str, str]:
        return {f: s for (f, c), (s, _) in self._checks_by_key.items() if c == va.VERDICT}

    @cached_property
    def source_labels(self) -> dict[int, str]:
        """import_id → how the pack names that import (`source_label`)."""
        return {
            r.import_id: source_label(r.kind, r.file_name, r.imported_at)
            for r in self.sources.itertuples(index=False)
        }

    @cached_property
    def provenance(self) -> dict[tuple[str, dt.date, str], str]:
        """(finess_et, periode, indicateur) → source label of that count."""
        labels = self.source_labels
        rows = self.rows
        periods = pd.to_datetime(rows["periode"]).dt.date.tolist()
        keys = zip(rows["finess_et"].tolist(), periods, rows["indicateur"].tolist(), strict=True)
        return {
            key: labels.get(i, "") for key, i in zip(keys, rows["import_id"].tolist(), strict=True)
        }

    @cached_property
    def monthly_values(self) -> dict[str, dict[str, dict[dt.date, tuple]]]:
        """finess_et → indicateur → month → (valeur, numerateur, denominateur), None for a
        value or part that is NULL (a rate that cannot be computed)."""
        m = self.monthly
        out: dict[str, dict[str, dict[dt.date, tuple]]] = {}
        months = pd.to_datetime(m["periode"]).dt.date.tolist()
        columns = [m[c].astype(object).where(m[c].notna(), None).tolist()
                   for c in ("valeur", "numerateur", "denominateur")]  # fmt: skip
        for f, code, month, *parts in zip(
            m["finess_et"].tolist(), m["indicateur"].tolist(), months, *columns, strict=True
        ):
            out.setdefault(f, {}).setdefault(code, {})[month] = tuple(parts)
        return out

    @property
    def blocking(self) -> list[str]:
        """The ESMS that block the VA, sorted."""
        return sorted(f for f, s in self.verdicts.items() if s != va.OK)

    @property
    def ready(self) -> bool:
        return not self.blocking

    @property
    def verdict_text(self) -> str:
        total = len(self.esms)
        if self.ready:
            return (
                f"prêt pour la VA : les {formats.fr_int(total)} ESMS remplissent tous les critères"
            )
        n = len(self.blocking)
        return f"bloqué par {formats.fr_int(n)} ESMS sur {formats.fr_int(total)}"

    @property
    def scope_text(self) -> str:
        """The order as a reader names it."""
        return self.commande if self.commande else "tous les bons de commande"

    @property
    def window_length(self) -> int:
        return len(indicators.month_range(self.window.start, self.window.end))

    @property
    def command(self) -> str:
        """The command that writes this pack again (with the référentiel's window)."""
        text = f"dui-metrics preuves --og {self.og}"
        if self.commande:
            text += f" --commande {self.commande}"
        text += "".join(f" --finess-et {f}" for f in self.selection)
        return text + f" --au {self.au:%Y-%m} --sortie DOSSIER"

    @property
    def file_stem(self) -> str:
        return file_stem(self.og, self.commande, self.au)

    def status(self, finess: str, critere: str) -> str:
        return self._checks_by_key.get((finess, critere), (va.MISSING, ""))[0]

    def outcome(self, finess: str) -> str:
        """`va.READY`, `va.BLOCKED_MISSING` (a criterion missing) or `va.BLOCKED_ZERO`, as
        `va.outcomes` classes the ESMS."""
        statuses = {self.status(finess, c) for c in self.criteria}
        if statuses <= {va.OK}:
            return va.READY
        return va.BLOCKED_MISSING if va.MISSING in statuses else va.BLOCKED_ZERO

    def detail(self, finess: str, critere: str) -> str:
        return self._checks_by_key.get((finess, critere), (va.MISSING, ""))[1]

    def gaps(self, finess: str) -> str:
        """What the ESMS lacks, in words: the detail of each criterion not ok."""
        gaps = [
            f"{va.CRITERION_HEADERS.get(c, c)} : {self.detail(finess, c)}"
            for c in self.criteria
            if self.status(finess, c) != va.OK
        ]
        return " ; ".join(gaps) if gaps else "aucun écart"


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(og: str, commande: str | None, au: dt.date) -> str:
    """``preuves-VA_560000127_CMD-R-1_2025-04``: the OG, the order (characters other than
    letters, digits, ``.``, ``_`` and ``-`` replaced by ``-``) and the month."""
    parts = ["preuves-VA", _UNSAFE_IN_NAME.sub("-", og).strip("-.")]
    if commande:
        parts.append(_UNSAFE_IN_NAME.sub("-", commande).strip("-.")[:60] or "commande")
    parts.append(au.strftime("%Y-%m"))
    return "_".join(parts)


def _shown(value: str) -> str:
    """A value typed by the user, fit for a message."""
    return mask_personal(str(value))


def _check_request(store: Store, og: str, commande: str | None, finess: Sequence[str]) -> None:
    """Usage errors: an unknown OG, an order unknown or of another OG, an ESMS outside the
    OG (or outside the order)."""
    if not store.scalar("select count(*) from establishments where finess_ej = ?", [og]):
        raise UsageError(
            f"organisme gestionnaire inconnu : {_shown(og)} (aucun établissement de ce FINESS "
            "juridique dans le référentiel des établissements)"
        )
    if commande:
        owners = [
            r[0]
            for r in store.execute(
                "select distinct finess_ej from establishments where commande = ? order by 1",
                [commande],
            ).fetchall()
        ]
        if not owners:
            raise UsageError(f"bon de commande inconnu : {_shown(commande)}")
        if og not in owners:
            raise UsageError(
                f"le bon de commande {_shown(commande)} n'est pas un bon de commande de "
                f"l'organisme gestionnaire {_shown(og)} (il relève de {', '.join(owners)})"
            )
    for code in finess:
        row = store.one(
            "select finess_ej, commande from establishments where finess_et = ?", [code]
        )
        if row is None or row[0] != og:
            raise UsageError(
                f"l'ESMS {_shown(code)} n'est pas un établissement de l'organisme "
                f"gestionnaire {_shown(og)}"
            )
        if commande and row[1] != commande:
            raise UsageError(
                f"l'ESMS {_shown(code)} n'est pas dans le bon de commande {_shown(commande)}"
            )


def _check_perimeter(
    store: Store,
    og: str,
    commande: str | None,
    finess: Sequence[str],
    perimeter: Perimeter | None,
) -> list[str] | None:
    """The OG's ESMS (of the order, when given) inside ``perimeter``, sorted; None without a
    perimeter restriction. Raises `OutsidePerimeter` when there is none, or when an ESMS of
    ``finess`` is outside."""
    if perimeter is None or perimeter.finess is None:
        return None
    where = f"{perimeter.label}"
    for code in finess:
        if not perimeter.allows(code):
            raise OutsidePerimeter(f"l'ESMS {_shown(code)} est hors de votre périmètre ({where})")
    rows = store.execute(
        "select finess_et from establishments where finess_ej = $og "
        "and ($commande is null or commande = $commande) "
        "and list_contains($finess, finess_et) order by finess_et",
        {"og": og, "commande": commande, "finess": sorted(perimeter.finess)},
    ).fetchall()
    if not rows:
        asked = f"le bon de commande {_shown(commande)} de " if commande else ""
        raise OutsidePerimeter(
            f"{asked}l'organisme gestionnaire {_shown(og)} est hors de votre périmètre ({where})"
        )
    return [r[0] for r in rows]


@takes_perimeter
def build_pack(
    store: Store,
    ref: Referentiel,
    og: str,
    commande: str | None = None,
    finess: Sequence[str] | None = None,
    au: dt.date | None = None,
    window_months: int | None = None,
    now: dt.datetime | None = None,
    *,
    perimeter: Perimeter | None = None,
) -> Pack:
    """The pack of the OG ``og`` (FINESS EJ), of its order ``commande`` (default: all its
    orders) and of its ESMS ``finess`` (default: all of them, or all of the order), at the
    VA month ``au`` (default: the latest month of the store). Raises `UsageError` for an
    unknown OG, an order unknown or of another OG, an ESMS outside the OG or the order.

    With a ``perimeter`` (None: everything), the pack holds only the OG's ESMS in it;
    `OutsidePerimeter` (a `UsageError`) when the OG, the order or an ESMS asked for has none
    in it, checked first, so that the refusal tells nothing of what lies outside."""
    og = og.strip()
    commande = commande.strip() if commande else None
    wanted = sorted({f.strip() for f in finess}) if finess else []
    allowed = _check_perimeter(store, og, commande, wanted, perimeter)
    _check_request(store, og, commande, wanted)
    au = (au or store.latest_month() or _empty_store()).replace(day=1)
    window = va.va_window(store, ref, au, window_months)
    chart_start = min(window.start, indicators.add_months(au, -(CHART_MONTHS - 1)))

    params = {"og": og, "commande": commande, "finess": wanted or allowed}
    esms = store.query("evidence_establishments", params).df()
    codes = list(esms["finess_et"])
    checks = va.readiness_frame(
        va.readiness_table(
            store,
            ref,
            au,
            og=og,
            commande=commande,
            window_months=window_months,
            perimeter=perimeter,
        )
    )
    checks = checks[checks["finess_et"].isin(codes)].reset_index(drop=True)
    monthly = indicators.monthly_frame(store, ref, du=chart_start, au=au, finess=codes)
    rows = store.query("evidence_rows", {"finess": codes, "au": au}).df()
    sources = _sources(store, rows, esms)
    og_name = next((clean_name(n) for n in esms["og_nom"].dropna()), "") or og
    return Pack(
        og=og,
        og_name=og_name,
        commande=commande,
        au=au,
        window=window,
        chart_start=chart_start,
        referentiel=ref,
        esms=esms,
        checks=checks,
        monthly=monthly,
        rows=rows,
        sources=sources,
        fingerprint=fingerprint(ref, esms, rows),
        generated_at=(now or dt.datetime.now()).replace(microsecond=0),
        selection=tuple(wanted),
    )


def _empty_store() -> dt.date:
    raise UsageError("le magasin ne contient aucune donnée d'usage : indiquez --au AAAA-MM")


def _sources(store: Store, rows: pd.DataFrame, esms: pd.DataFrame) -> pd.DataFrame:
    """The imports behind the pack, oldest first, with the rows of each that the pack uses
    (usage rows up to the VA month, reference rows of its ESMS, and the stored records of
    its ESMS: every file of the extracts its counts from records come from)."""
    used = pd.concat([rows["import_id"], esms["import_id"]]).value_counts()
    records = _record_rows(store, esms["finess_et"].tolist())
    if len(records):  # a record file's rows used: its records (the counts derive from them)
        used = pd.concat([used[~used.index.isin(records.index)], records])
    imports = pd.DataFrame(store.imports(), columns=list(IMPORT_COLUMNS))
    imports = imports[imports["import_id"].isin(used.index)].copy()
    imports["lignes_utilisees"] = imports["import_id"].map(used).astype("int64")
    return imports.drop(columns=["rows_replaced", "referentiel_version"]).reset_index(drop=True)


def _record_rows(store: Store, finess: list[str]) -> pd.Series:
    """Stored record rows of the ESMS ``finess`` per import (import_id → rows)."""
    from dui_metrics.records_store import RECORD_TABLES

    if not finess:
        return pd.Series(dtype="int64")
    store.register("pack_esms", pd.DataFrame({"finess_et": finess}))
    try:
        counted = store.execute(
            "select import_id, sum(n) from ("
            + " union all ".join(
                f"select import_id, count(*) as n from {table} "
                "where finess_et in (select finess_et from pack_esms) group by import_id"
                for table in RECORD_TABLES
            )
            + ") group by import_id"
        ).fetchall()
    finally:
        store.unregister("pack_esms")
    return pd.Series({i: int(n) for i, n in counted}, dtype="int64")


def fingerprint(ref: Referentiel, esms: pd.DataFrame, rows: pd.DataFrame) -> str:
    """SHA-256 of the store content the pack uses, written as `FINGERPRINT_RULE` says."""
    digest = hashlib.sha256()
    digest.update(f"referentiel;{ref.version}\n".encode())
    for r in esms.itertuples(index=False):
        deployed = "" if pd.isna(r.date_deploiement) else pd.Timestamp(r.date_deploiement).date()
        line = f"E;{r.finess_et};{r.finess_ej};{r.raison_sociale};{r.commande or ''};{deployed}\n"
        digest.update(line.encode())
    periods = pd.to_datetime(rows["periode"]).dt.strftime("%Y-%m")
    lines = (
        "U;" + rows["finess_et"] + ";" + periods + ";" + rows["indicateur"] + ";"
        + rows["valeur"].astype("int64").astype(str) + "\n"
    )  # fmt: skip
    digest.update("".join(lines).encode())
    return digest.hexdigest()


FINGERPRINT_RULE = (
    "SHA-256 du texte UTF-8 formé de la ligne « referentiel;VERSION », puis, par FINESS ET "
    "croissant, d'une ligne « E;finess_et;finess_ej;raison_sociale;commande;date_deploiement "
    "(AAAA-MM-JJ) » par établissement, puis, triées par FINESS ET, mois et indicateur, d'une "
    "ligne « U;finess_et;AAAA-MM;indicateur;valeur » par comptage reçu jusqu'au mois de la "
    "VA ; chaque ligne terminée par un saut de ligne."
)


# --- what the writers show --------------------------------------------------------------------
def file_label(name: str) -> str:
    """A file's name without the folders it was imported from."""
    return PurePath(str(name)).name or str(name)


def source_label(kind: str, file_name: str, imported_at: dt.datetime) -> str:
    """``usages-2025-04.csv (importé le 12/05/2025)``, or `FROM_RECORDS` for counts computed
    from record-level files."""
    day = formats.fr_date(pd.Timestamp(imported_at).date())
    file_name = file_label(file_name)
    if str(kind).startswith("dossiers") or str(kind).startswith("tddui"):
        # the ESMS's latest record import: one file of the extract the counts come from
        return f"{FROM_RECORDS} (extrait importé le {day}, dernier fichier {file_name})"
    return f"{file_name} (importé le {day})"


CRITERION_COLUMNS = [
    "finess_et",
    "raison_sociale",
    "periode",
    "etat",
    "valeur",
    "numerateur",
    "denominateur",
    "source",
]


def criterion_months(pack: Pack, critere: str) -> pd.DataFrame:
    """Per ESMS and month of the VA window, the value of the criterion's indicator (a count,
    or a rate with its numerator and denominator), its state (``reçu``, ``manquant``,
    ``non calculable``) and its source. Columns `CRITERION_COLUMNS`; empty for ``deploye``."""
    crit = next(c for c in pack.referentiel.criteria if c.code == critere)
    if crit.indicator is None:
        return pd.DataFrame(columns=CRITERION_COLUMNS)
    indicator = pack.referentiel.indicator(crit.indicator)
    months = indicators.month_range(pack.window.start, pack.window.end)
    provenance = pack.provenance
    parts = (
        [indicator.numerator, indicator.denominator]
        if indicator.kind == "taux"
        else [indicator.code]
    )
    out = []
    for finess, name in zip(pack.esms["finess_et"], pack.esms["raison_sociale"], strict=True):
        own = pack.monthly_values.get(finess, {}).get(indicator.code, {})
        for month in months:
            found = own.get(month)
            if found is None:
                out.append((finess, name, month, "manquant", None, None, None, "aucune donnée"))
                continue
            value, num, den = found
            sources = []
            for part in parts:
                label = provenance.get((finess, month, part), "")
                if label and label not in sources:
                    sources.append(label)
            state = "non calculable" if indicator.kind == "taux" and value is None else "reçu"
            out.append(
                (
                    finess,
                    name,
                    month,
                    state,
                    None
                    if value is None
                    else (float(value) if indicator.kind == "taux" else int(value)),
                    None if num is None else int(num),
                    None if den is None else int(den),
                    " + ".join(sources),
                )
            )
    return pd.DataFrame(out, columns=CRITERION_COLUMNS)


def deployment_rows(pack: Pack) -> pd.DataFrame:
    """Per ESMS: deployment date, first month with usage data up to the VA month, the
    ``deploye`` check (status and detail) and the reference file that gave the date."""
    first = pack.rows.groupby("finess_et")["periode"].min()
    labels = pack.source_labels
    checks = pack.checks[pack.checks["critere"] == "deploye"].set_index("finess_et")
    out = []
    for r in pack.esms.itertuples(index=False):
        deployed = None if pd.isna(r.date_deploiement) else pd.Timestamp(r.date_deploiement).date()
        month = first.get(r.finess_et)
        out.append(
            (
                r.finess_et,
                r.raison_sociale,
                deployed,
                None if month is None or pd.isna(month) else pd.Timestamp(month).date(),
                checks["statut"].get(r.finess_et, va.MISSING),
                checks["detail"].get(r.finess_et, ""),
                labels.get(r.import_id, ""),
            )
        )
    return pd.DataFrame(
        out,
        columns=[
            "finess_et",
            "raison_sociale",
            "date_deploiement",
            "premier_mois",
            "statut",
            "detail",
            "source",
        ],
    )


def rules(pack: Pack) -> list[tuple[str, str]]:
    """The VA rules as applied, in words (référentiel windows and criteria)."""
    ref = pack.referentiel
    out = [
        (
            "Fenêtre de la VA",
            f"les {pack.window_length} mois civils se terminant par le mois de la VA : "
            f"{pack.window.text}"
            + (
                ""
                if pack.window_length == ref.va_window_months
                else f" (choisie à l'écran ; référentiel : {ref.va_window_months} mois)"
            ),
        ),
        (
            "Comptages sur la fenêtre",
            "les flux (documents DMP, messages MSSanté) sont additionnés sur les mois de la "
            "fenêtre qui ont des données ; les stocks (INS qualifiées) et les taux prennent le "
            "dernier mois de la fenêtre qui a des données",
        ),
        (
            "Statuts",
            "ok : valeur non nulle ; zéro : données reçues mais nulles (ou taux non calculable, "
            "dénominateur nul) ; manquant : aucune donnée sur la fenêtre. Un ESMS est prêt quand "
            "tous ses critères sont ok ; un bon de commande (un organisme) est prêt quand tous "
            "ses ESMS le sont",
        ),
        (
            "Déploiement",
            "ok quand une date de déploiement au plus tard le mois de la VA est connue, ou que "
            "des données d'usage existent jusqu'à ce mois",
        ),
        (
            "Dossiers actifs",
            f"au moins une saisie datée dans les {ref.activity_window_months} mois civils se "
            "terminant par le mois",
        ),
        (
            "Projet personnalisé",
            f"un projet personnalisé compte s'il est daté des {ref.pp_window_months} mois civils "
            "se terminant par le mois",
        ),
        (
            "Manquant n'est pas zéro",
            "un mois sans donnée est manquant ; un mois reçu à 0 est zéro ; les deux restent "
            "distincts partout",
        ),
    ]
    for crit in ref.criteria:
        if crit.indicator is None:
            continue
        ind = ref.indicator(crit.indicator)
        text = crit.label
        if ind.kind == "taux":
            text += (
                f" : {ind.label} = {ref.indicator(ind.numerator).label} / "
                f"{ref.indicator(ind.denominator).label}"
            )
        else:
            text += f" : {ind.label} ({'flux' if ind.kind == 'flux' else 'stock'}) > 0"
        target = ref.targets.get(ind.code)
        if target is not None:
            text += f" ; cible d'usage {formats.fr_percent(target)}"
        out.append((va.CRITERION_HEADERS.get(crit.code, crit.code), text))
    return out


def output_fault(exc: OSError, folder: Path) -> StoreFault:
    """A French `StoreFault` (exit code 3) for a pack that could not be written."""
    cause = fault_cause(exc) or IO
    lost = "aucun fichier du dossier de preuves n'a été écrit"
    messages = {
        DISK_FULL: f"disque plein : plus de place dans {folder} ; {lost} ; libérez de "
        "l'espace puis relancez la commande",
        READ_ONLY: f"dossier protégé en écriture : {folder} ; {lost} ; choisissez un dossier "
        "modifiable par cet utilisateur (--sortie)",
    }
    detail = exc.strerror or str(exc).splitlines()[0][:200]
    return StoreFault(
        messages.get(cause, f"écriture impossible dans {folder} : {detail} ; {lost}"), cause
    )


# --- both files -----------------------------------------------------------------------------
def write_pack(pack: Pack, folder: Path, progress=None) -> tuple[Path, Path]:
    """Write the pack's workbook and PDF into ``folder`` (created if missing), named after
    `Pack.file_stem`. Both are written under temporary names first, then renamed: an
    interrupted or failed command leaves neither half a file nor one file without the
    other (an earlier pack of the same name stays until both new files are complete).
    ``progress(text)``, when given, hears of each step (a PDF of 300 ESMS takes seconds).
    Returns (xlsx path, pdf path)."""
    from dui_metrics import evidence_pdf, evidence_xlsx

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--sortie désigne un fichier, pas un dossier : {folder}")
    targets = (folder / f"{pack.file_stem}.xlsx", folder / f"{pack.file_stem}.pdf")
    say = progress or (lambda text: None)
    say("classeur…")
    workbook = evidence_xlsx.render(pack)
    say(f"PDF : attestation et {len(pack.esms)} pages d'établissement…")
    contents = (workbook, evidence_pdf.render(pack))
    partials = [t.with_name(f".{t.name}.{os.getpid()}.partiel") for t in targets]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for partial, data in zip(partials, contents, strict=True):
            with partial.open("wb") as handle:
                handle.write(data)
        for partial, target in zip(partials, targets, strict=True):
            os.replace(partial, target)
    except OSError as exc:
        raise output_fault(exc, folder) from exc
    finally:
        for partial in partials:
            # a read-only file system refuses even to look (EROFS): nothing to remove there
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
    return targets
