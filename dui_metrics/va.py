"""VA readiness: each criterion of the vérification d'aptitude per ESMS, with the human gap.

Rules (domain.md §4, windows and criteria from the référentiel): the VA window is the
``va_mois`` calendar months ending with the ``au`` month. Flow checks sum the months of the
window that have data; stock and rate checks use the last month of the window that has data
for that indicator. A check is ``manquant`` with no month in the window, ``zero`` with data
but a zero value (or a rate that cannot be computed: "non calculable"), else ``ok``.
``deploye`` is ``ok`` when a deployment date on or before the ``au`` month is known or usage
data exist on or before it. The ESMS verdict ``va`` is ``ok`` when every check is ``ok``.

DuckDB applies these rules and writes the details (``sql/va_checks.sql``) for every ESMS at
once; Python only turns the result into ``Check`` values (320,000 on the national store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dui_metrics import formats
from dui_metrics.access import Perimeter, restrict, takes_perimeter
from dui_metrics.indicators import add_months
from dui_metrics.referentiel import Referentiel
from dui_metrics.store import Store, sql

OK, ZERO, MISSING, BLOCKED = "ok", "zero", "manquant", "bloque"
VERDICT = "va"

# The one vocabulary of the verdict (issue 17), on every page, file, the CLI and Méthode. An
# ESMS is ready when every criterion is ok; else it is blocked *faute de données* when a
# criterion is missing (nothing to judge: the export comes first), else *par un zéro*. Both
# block alike: red on screen, never a warning.
READY, BLOCKED_ZERO, BLOCKED_MISSING = "pret", "bloque_zero", "bloque_manquant"
OUTCOMES = (READY, BLOCKED_ZERO, BLOCKED_MISSING)
OUTCOME_WORDS = {  # one ESMS, as a word in files and tables
    READY: "prêt",
    BLOCKED_ZERO: "bloqué par un zéro",
    BLOCKED_MISSING: "bloqué faute de données",
}
OUTCOME_COUNTS = {  # counted ESMS, headings of counts on every page
    READY: "ESMS prêts",
    BLOCKED_ZERO: "ESMS bloqués par un zéro",
    BLOCKED_MISSING: "ESMS bloqués faute de données",
}
STATUS_WORDS = {OK: "ok", ZERO: "zéro", MISSING: "manquant"}  # a criterion, in files

# What to do about a criterion at zero (a missing one asks the editor for the export).
ZERO_ACTIONS = {  # short: a table cell at 1440 px holds about 60 characters
    "ins": "vérifier l'appel INSi et la qualification des identités",
    "dmp": "vérifier l'alimentation du DMP depuis le DUI",
    "mss": "vérifier le paramétrage MSSanté",
    "taux_dossiers_actifs": "ouvrir un dossier DUI par personne accompagnée",
    "taux_dossiers_actifs_avec_pp": "saisir les projets personnalisés dans le DUI",
    "taux_dossiers_actifs_avec_evenement": "saisir les événements des dossiers dans le DUI",
}
# Short headers of the criteria and the verdict, in tables, on screen and in the evidence pack
# (also the pack's sheet names: at most 31 characters, none of : \ / ? * [ ]).
CRITERION_HEADERS = {
    "deploye": "Déployé",
    "ins": "INS",
    "dmp": "DMP",
    "mss": "MSSanté",
    "taux_dossiers_actifs": "Dossiers actifs",
    "taux_dossiers_actifs_avec_pp": "Avec projet perso.",
    "taux_dossiers_actifs_avec_evenement": "Avec événement",
    VERDICT: "VA",
}
# The criteria named in a sentence (the verdict's detail, banners, gap actions).
CRITERION_NAMES = {
    "deploye": "déploiement",
    "ins": "INS",
    "dmp": "DMP",
    "mss": "MSSanté",
    "taux_dossiers_actifs": "taux de dossiers actifs",
    "taux_dossiers_actifs_avec_pp": "taux avec projet personnalisé",
    "taux_dossiers_actifs_avec_evenement": "taux avec événement",
}


class Check(NamedTuple):
    """One check of one ESMS, or its verdict (``critere == VERDICT``). Immutable; a named tuple
    rather than a frozen dataclass, which took twice as long to build 320,000 times (about as
    long as the whole query)."""

    finess_et: str
    critere: str
    statut: str
    valeur: float | int | None
    detail: str


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date  # the "au" month

    @property
    def text(self) -> str:
        return formats.month_range(self.start, self.end)


def va_window(
    store: Store, ref: Referentiel, au: dt.date | None = None, months: int | None = None
) -> Window:
    """The VA window ending with ``au`` (default: latest month in the store, else this month),
    ``months`` long (default: the référentiel's ``va_mois``)."""
    from dui_metrics import clock

    end = (au or store.latest_month() or clock.current_month()).replace(day=1)
    length = months or ref.va_window_months
    if length < 1:
        raise ValueError("la fenêtre de la VA compte au moins 1 mois")
    return Window(add_months(end, -(length - 1)), end)


@takes_perimeter
def readiness(
    store: Store,
    ref: Referentiel,
    au: dt.date | None = None,
    og: str | None = None,
    commande: str | None = None,
    editeur: str | None = None,
    window_months: int | None = None,
    *,
    perimeter: Perimeter | None = None,
) -> list[Check]:
    """Checks per ESMS in criterion order, then the ``va`` verdict, sorted by finess_et.

    ESMS are every ESMS known to the store (reference or usage data), filtered by OG
    (``finess_ej``), order (``commande``) or editor (``editeur``) when given, and by
    ``perimeter`` (None: every ESMS). Statuses, values and details are computed by DuckDB
    (``sql/va_checks.sql``): no Python work per ESMS.
    """
    return checks_of(
        readiness_table(store, ref, au, og, commande, editeur, window_months, perimeter=perimeter)
    )


@takes_perimeter
def readiness_table(
    store: Store,
    ref: Referentiel,
    au: dt.date | None = None,
    og: str | None = None,
    commande: str | None = None,
    editeur: str | None = None,
    window_months: int | None = None,
    *,
    perimeter: Perimeter | None = None,
) -> pa.Table:
    """The checks of `readiness` (same arguments, same order) as the Arrow table DuckDB
    returns: finess_et, critere, statut, nombre (a count's value), taux (a rate's value),
    detail. `readiness_frame`, `summary`, `ranking` and `group_readiness` read it without a
    Python object per check: the dashboard's national pages use it so. With a
    ``perimeter``, only its ESMS: DuckDB filters the checks on ``finess_et`` (a bound list),
    keeping their order (tests/test_access.py compares them with every check filtered
    afterwards). The filter is only partly pushed down: on the national store (40,000 ESMS)
    the checks of a 50-ESMS perimeter took 0.98 s, against 1.66 s for every ESMS and 0.50 s
    with ``og`` (a ``$finess`` condition in ``sql/va_checks.sql``'s ESMS list would match it)."""
    window = va_window(store, ref, au, window_months)
    store.register("va_criteria", _criteria_table(ref))
    params = {
        "du": window.start,
        "au": window.end,
        "fenetre": window.text,
        "au_texte": formats.month_numeric(window.end),
        "og": og or None,
        "commande": commande or None,
        "editeur": editeur or None,
    }
    finess = restrict(None, perimeter)
    if finess is None:
        return store.arrow("va_checks", params)
    query = f"select * from ({sql('va_checks')}) where list_contains($finess, finess_et)"
    return store.arrow_of(query, params | {"finess": finess})


def checks_of(table: pa.Table) -> list[Check]:
    """The `Check` values of a `readiness_table`."""
    # Column-wise conversion (C loops); a check's value is its count or its rate.
    codes, criteria, statuses, details = (
        table.column(name).to_numpy(zero_copy_only=False)
        for name in ("finess_et", "critere", "statut", "detail")
    )
    counts, rates = table.column("nombre").to_pylist(), table.column("taux").to_pylist()
    values = [rate if count is None else count for count, rate in zip(counts, rates, strict=True)]
    return list(map(Check, codes, criteria, statuses, values, details))


_CRITERIA_SCHEMA = pa.schema(
    [
        ("rang", pa.int32()),
        ("critere", pa.string()),
        ("indicateur", pa.string()),
        ("nature", pa.string()),
        ("libelle", pa.string()),
        ("suffixe_un", pa.string()),
        ("suffixe_plusieurs", pa.string()),
        ("numerateur", pa.string()),
        ("denominateur", pa.string()),
        ("nom", pa.string()),
        ("denominateur_nul", pa.string()),
    ]
)


def _criteria_table(ref: Referentiel) -> pa.Table:
    """The référentiel's VA criteria as ``va_checks`` reads them, in display order.

    The suffixes are what ``Referentiel.quantity`` writes after a count: a space and the unit
    (singular for 0 and 1), nothing for a blank unit.
    """
    rows = []
    for rank, crit in enumerate(ref.criteria):
        row = {
            "rang": rank,
            "critere": crit.code,
            "indicateur": crit.indicator,
            "nom": CRITERION_NAMES.get(crit.code, crit.code),
        }
        if crit.indicator is not None:
            ind = ref.indicator(crit.indicator)
            row |= {
                "nature": ind.kind,
                "libelle": ind.label,
                "suffixe_un": f" {ind.unit}".rstrip(),
                "suffixe_plusieurs": f" {ind.unit_plural}".rstrip(),
                "numerateur": ind.numerator,
                "denominateur": ind.denominator,
                # why a rate is not computable, in words: « 0 dossier actif »
                "denominateur_nul": (
                    f"0 {ref.indicator(ind.denominator).unit}".rstrip() if ind.denominator else None
                ),
            }
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=_CRITERIA_SCHEMA)


Checks = Sequence[Check] | pa.Table | pd.DataFrame
"""Readiness checks in any of their forms: `readiness`'s list, `readiness_table`, or the
frame `readiness_frame` makes of either."""

FRAME_COLUMNS = ["finess_et", "critere", "statut", "valeur", "detail"]


def readiness_frame(checks: Checks) -> pd.DataFrame:
    """Checks as a long DataFrame: finess_et, critere, statut, valeur (float), detail.
    From a `readiness_table`, built column-wise (~0.1 s for 320,000 national checks, against
    ~0.7 s from `Check` values). A frame is returned as it is."""
    if isinstance(checks, pd.DataFrame):
        return checks
    if isinstance(checks, pa.Table):
        values = pc.coalesce(pc.cast(checks.column("nombre"), pa.float64()), checks.column("taux"))
        table = pa.table(
            [*(checks.column(n) for n in FRAME_COLUMNS[:3]), values, checks.column("detail")],
            names=FRAME_COLUMNS,
        )
        return table.to_pandas()
    return pd.DataFrame(
        [(c.finess_et, c.critere, c.statut, c.valeur, c.detail) for c in checks],
        columns=FRAME_COLUMNS,
    )


def gap_action(critere: str, statut: str, detail: str, editeur: str | None) -> str:
    """What to do about a criterion that is not ok, in French, naming the editor (text
    from the reference file: the caller shows it as text)."""
    who = f"l'éditeur {editeur}" if editeur else "l'éditeur du DUI"
    if critere == "deploye":
        return "renseigner la date de déploiement (référentiel)"
    if statut == MISSING:
        if detail.startswith("aucune donnée reçue"):
            return f"demander le premier export à {who}"
        if detail.startswith("aucune donnée depuis"):
            return f"demander l'export des mois manquants à {who}"
        return f"demander à {who} un export avec cet indicateur"
    if detail.startswith("non calculable"):
        return f"vérifier le dénominateur dans l'export ({detail.split(' : ')[-1]})"
    return ZERO_ACTIONS.get(critere, "vérifier la saisie dans le DUI")


def outcomes(checks: Checks) -> pd.Series:
    """Each ESMS's outcome (`READY`, `BLOCKED_ZERO` or `BLOCKED_MISSING`), by finess_et in
    the checks' order: ready when its verdict is ok; else blocked *faute de données* when a
    criterion (deployment included) is `manquant`, else *par un zéro*."""
    frame = readiness_frame(checks)
    verdicts = frame.loc[frame["critere"] == VERDICT, ["finess_et", "statut"]]
    criteria = frame[frame["critere"] != VERDICT]
    missing = criteria["statut"].eq(MISSING).groupby(criteria["finess_et"]).any()
    missing = missing.reindex(verdicts["finess_et"], fill_value=False).to_numpy(dtype=bool)
    ready = verdicts["statut"].eq(OK).to_numpy()
    words = pd.Series(BLOCKED_ZERO, index=pd.Index(verdicts["finess_et"], name="finess_et"))
    words[missing] = BLOCKED_MISSING
    words[ready] = READY
    return words.rename("issue")


def summary(checks: Checks) -> dict[str, int]:
    """Counts of ESMS ready (``pretes``), blocked by a zero (``bloquees_zero``) and blocked
    for want of data (``bloquees_donnees``), as `outcomes` classes them: they add up to the
    number of ESMS."""
    counts = outcomes(checks).value_counts()
    return {
        "pretes": int(counts.get(READY, 0)),
        "bloquees_zero": int(counts.get(BLOCKED_ZERO, 0)),
        "bloquees_donnees": int(counts.get(BLOCKED_MISSING, 0)),
    }


def group_readiness(checks: Checks, esms: pd.DataFrame, by: str) -> pd.DataFrame:
    """Readiness per order (``by="commande"``) or OG (``by="finess_ej"``): a group is ready
    when all its ESMS are. Columns: the group key, nb_esms, nb_prets, pret."""
    frame = readiness_frame(checks)
    own = frame[frame["critere"] == VERDICT]
    verdicts = pd.DataFrame(
        {"finess_et": own["finess_et"].to_numpy(), "pret_esms": own["statut"].eq(OK).to_numpy()}
    )
    merged = verdicts.merge(esms[["finess_et", by]], on="finess_et", how="left")
    grouped = merged.groupby(by, dropna=False).agg(
        nb_esms=("finess_et", "count"), nb_prets=("pret_esms", "sum")
    )
    grouped["nb_prets"] = grouped["nb_prets"].astype(int)
    grouped["pret"] = grouped["nb_esms"] == grouped["nb_prets"]
    return grouped.reset_index().sort_values(by, na_position="last", ignore_index=True)


def ranking(checks: Checks) -> pd.DataFrame:
    """ESMS weakest first: fewest criteria ok, then lowest active-records rate.

    Columns: finess_et, nb_ok (criteria ok out of nb_criteres), nb_criteres, va, and the
    value of each rate criterion (NULL when missing or not computable).
    """
    frame = readiness_frame(checks)
    if frame.empty:
        return pd.DataFrame(columns=["finess_et", "nb_ok", "nb_criteres", "va"])
    criteria = frame[frame["critere"] != VERDICT]
    # Vectorised (a Python lambda per ESMS took 10 s over 40,000 ESMS).
    table = (
        criteria.assign(ok=criteria["statut"].eq(OK))
        .groupby("finess_et")
        .agg(nb_ok=("ok", "sum"), nb_criteres=("ok", "size"))
    )
    verdicts = frame[frame["critere"] == VERDICT].set_index("finess_et")["statut"]
    table["va"] = verdicts
    rates = criteria[criteria["critere"].str.startswith("taux_")]
    table = table.join(rates.pivot(index="finess_et", columns="critere", values="valeur"))
    sort = ["nb_ok"] + (["taux_dossiers_actifs"] if "taux_dossiers_actifs" in table else [])
    return table.reset_index().sort_values(sort, na_position="first", ignore_index=True)
